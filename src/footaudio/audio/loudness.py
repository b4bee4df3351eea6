"""Loudness of a routine: worked out from its clips' gating blocks, and measured (EBU R128) on PCM or a file.

EBU R128's integrated loudness is the energy mean of 400 ms blocks, 100 ms apart, after two
gates: blocks under -70 LUFS are dropped, then blocks more than 10 LU under the mean of the
rest. A routine's blocks are its clips' blocks (stored with each clip) shifted by each clip's
gain, plus its chimes', plus the ambience's in pauses and holds (from its measured spread,
``ambience.BLOCK_SPREAD``); silence is gated out. So the routine's loudness follows from the
timeline without rendering it.
"""

from __future__ import annotations

import math
import re
import subprocess
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import EngineError
from ..speech.mastering import SILENT_LUFS, Loudness, parse_summary
from ..tools import find_ffmpeg, run_ffmpeg

__all__ = [
    "SILENT_LUFS",
    "Loudness",
    "gain_to_target",
    "gated_loudness",
    "integrated_loudness",
    "measure",
    "pcm_blocks_loudness",
]

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
_K = -0.691
"""BS.1770's offset between K-weighted mean square (in dB) and LUFS."""


def measure(path: Path) -> Loudness:
    """Integrated loudness, true peak and loudness range of an audio file (ffmpeg ``ebur128``)."""
    command = [
        "-hide_banner", "-nostdin", "-nostats", "-i", str(path), "-af", "ebur128=peak=true", "-f", "null", "-",
    ]  # fmt: skip
    result = run_ffmpeg(command, what=f"measuring the loudness of {path}")
    if result.returncode != 0:
        raise EngineError(f"ffmpeg could not read {path}; is it an audio file?")
    return parse_summary(result.stderr[result.stderr.rfind("Summary:") :], str(path))


_INTEGRATED = re.compile(r"^\s*I:\s+(-?[\d.]+|-inf)\s+LUFS", re.MULTILINE)


def integrated_loudness(blocks: Iterable[bytes], sample_rate: int) -> float:
    """Integrated loudness in LUFS of 16-bit mono PCM ``blocks`` (ffmpeg ``ebur128``, no true peak: cheaper)."""
    ffmpeg = find_ffmpeg().path
    command = [
        ffmpeg, "-hide_banner", "-nostdin", "-nostats",
        "-f", "s16le", "-ar", str(sample_rate), "-ac", "1", "-i", "pipe:0",
        "-af", "ebur128=framelog=verbose", "-f", "null", "-",
    ]  # fmt: skip
    try:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except OSError as exc:
        raise EngineError(
            f"ffmpeg at {ffmpeg} does not run ({exc.strerror}); reinstall it or set FOOTAUDIO_FFMPEG."
        ) from exc
    assert process.stdin is not None and process.stderr is not None
    # The log is read on a thread, so a full stderr pipe can never stall the writes.
    log: list[bytes] = []
    reader = threading.Thread(target=lambda: log.append(process.stderr.read()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        for block in blocks:
            process.stdin.write(block)
        process.stdin.close()
    except BrokenPipeError:
        pass  # ffmpeg quit early; its exit code says so
    finally:
        if process.poll() is None and not process.stdin.closed:
            process.kill()
        process.wait()
        reader.join()
        process.stderr.close()
    text = b"".join(log).decode("utf-8", "replace")
    found = _INTEGRATED.findall(text[text.rfind("Summary:") :])
    if process.returncode != 0 or not found:
        raise EngineError("ffmpeg could not measure the routine's loudness; check FOOTAUDIO_FFMPEG.")
    return float(found[0])


def _power(lufs: float) -> float:
    return 10 ** ((lufs - _K) / 10)


def _lufs(power: float) -> float:
    return _K + 10 * math.log10(power) if power > 0 else -math.inf


def gated_loudness(blocks: Iterable[float], fixed: Iterable[float] = (), gain_db: float = 0.0) -> float:
    """Integrated loudness (LUFS) of 400 ms block loudnesses, gated as EBU R128 does; -inf for silence.

    ``gain_db`` is added to ``blocks`` but not to the ``fixed`` ones.
    """
    return _gated([_power(block) for block in blocks], [_power(block) for block in fixed], 10 ** (gain_db / 10))


def _gated(powers: Sequence[float], fixed: Sequence[float], scale: float) -> float:
    floor = _power(ABSOLUTE_GATE_LUFS)
    kept = [power * scale for power in powers if power * scale > floor]
    kept += [power for power in fixed if power > floor]
    if not kept:
        return -math.inf
    threshold = sum(kept) / len(kept) * 10 ** (RELATIVE_GATE_LU / 10)
    loud = [power for power in kept if power > threshold]
    return _lufs(sum(loud) / len(loud))


def gain_to_target(blocks: Sequence[float], fixed: Sequence[float], target_lufs: float) -> float:
    """The gain for ``blocks`` (not for ``fixed``) that puts their gated loudness on ``target_lufs``.

    Without ``fixed`` blocks the gain is exact in one step; with them (ambience, which stays tied
    to the target) the gates move a little with the gain, so a few steps settle it.
    """
    powers = [_power(block) for block in blocks]
    fixed_powers = [_power(block) for block in fixed]
    gain = 0.0
    for _ in range(8):
        measured = _gated(powers, fixed_powers, 10 ** (gain / 10))
        if measured == -math.inf:
            return 0.0
        step = target_lufs - measured
        gain += step
        if abs(step) < 0.01:
            break
    return gain


_FRAME = re.compile(r"\bt: .*?M: *(-?[\d.]+|-inf) ")


def pcm_blocks_loudness(pcm: bytes, sample_rate: int) -> tuple[float, ...]:
    """Loudness (LUFS) of each complete 400 ms block of 16-bit mono ``pcm`` followed by 300 ms of silence."""
    command = [
        find_ffmpeg().path, "-hide_banner", "-nostdin", "-nostats",
        "-f", "s16le", "-ar", str(sample_rate), "-ac", "1", "-i", "pipe:0",
        "-af", "apad=pad_dur=0.3,ebur128", "-f", "null", "-",
    ]  # fmt: skip
    result = subprocess.run(command, input=pcm, capture_output=True)
    if result.returncode != 0:
        raise EngineError("ffmpeg could not measure a chime's loudness; check FOOTAUDIO_FFMPEG.")
    values = _FRAME.findall(result.stderr.decode("utf-8", "replace"))
    return tuple(float(value) for value in values[3:])  # the first three blocks are incomplete
