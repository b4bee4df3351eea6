"""Check the pacing rules over the whole settings grid with the real speech engine.

    python scripts/check_grid.py                 # every mode, pressure, length and 3 seeds
    python scripts/check_grid.py --minutes 7,10  # a part of the grid
    python scripts/check_grid.py --rate 125      # at the slow end of relaxation narration
    python scripts/check_grid.py --engine piper  # with the neural voice

Prints one line per cell (speech share, longest silence, longest check-in gap,
foot balance, techniques, role openings, shortest answer window, closing) and every
broken rule; exits 1 if any cell breaks one.
"""

from __future__ import annotations

import argparse
import sys

from footaudio import FootaudioError, Settings, check_pacing, plan
from footaudio.settings import MAX_MINUTES

GRID_MINUTES = (3, 5, 7.5, 10, 15, 20, 30, 60, MAX_MINUTES)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", default=",".join(f"{m:g}" for m in GRID_MINUTES))
    parser.add_argument("--modes", default="solo,partner")
    parser.add_argument("--pressures", default="light,medium,firm")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--rate", type=int, default=None, help="speech rate in words a minute (default: the default)")
    parser.add_argument("--engine", default=None, help="pyttsx3 or piper (default: the default)")
    args = parser.parse_args()
    failures = 0
    for mode in args.modes.split(","):
        for pressure in args.pressures.split(","):
            for minutes in (float(m) for m in args.minutes.split(",")):
                for seed in (int(s) for s in args.seeds.split(",")):
                    extra = {key: value for key, value in (("rate", args.rate), ("engine", args.engine)) if value}
                    settings = Settings(minutes=minutes, mode=mode, pressure=pressure, seed=seed, **extra)
                    try:
                        report = check_pacing(plan(settings).timeline, settings)
                    except FootaudioError as exc:
                        failures += 1
                        print(f"{settings.name:<28} ERROR {exc}")
                        continue
                    right, left = report.foot_ms["right"], report.foot_ms["left"]
                    print(
                        f"{settings.name:<28} speech {report.speech_share:4.0%}  "
                        f"silence {report.longest_silence_ms / 1000:5.1f} s  "
                        f"check-in gap {report.longest_check_in_gap_ms / 1000:5.1f} s  "
                        f"feet {abs(right - left) / max(right, left):5.1%}  "
                        f"techniques {report.techniques}  {'ok' if report.ok else 'BROKEN'}"
                        f"  | {report.figures.get('role openings', '').split(';')[0]}"
                        f"  answer {report.figures.get('answer window', '').split(';')[0]}"
                        f"  closing {report.figures.get('closing', '').split(';')[0]}"
                    )
                    for problem in report.problems:
                        print(f"    - {problem}")
                    failures += not report.ok
    print(f"{failures} cell(s) break a rule" if failures else "every cell keeps every rule")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
