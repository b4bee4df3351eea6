"""Clip mastering at cache time, with ffmpeg's own filters, and reading ffmpeg's EBU R128 summary.

Every synthesized sentence is mastered once, when it enters the clip cache: a gentle
compressor evens out the engine's peaks, and ffmpeg's ``ebur128`` measures the result.
The clip is stored with its measured loudness, so a render sets each sentence's gain
exactly, whatever the engine's own level, and warm renders pay nothing for it. The
loudness of each of its 400 ms gating blocks is stored too, so the loudness of a whole
routine can be worked out from its clips (``footaudio.audio.loudness``) without measuring it.
"""

from __future__ import annotations

import math
import re
import warnings
import wave
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import EngineError
from ..tools import run_ffmpeg

__all__ = ["MASTERING", "SILENT_LUFS", "Loudness", "master_clips", "parse_summary"]

MASTERING = "m4"
"""Version of the mastering chain; part of the clip cache key, so a change re-masters."""

# Clips are stored at the routine's rate (44.1 kHz), so renders never resample.
_SPEECH_RMS_DBFS = -24.0
"""Level each raw clip is brought to before the compressor (whose threshold is at it)."""

_CLIP_PEAK_DBFS = -9.5
"""Sample-peak ceiling of the clip limiter. After the level and the compressor, a clip measures
about -19 to -21 LUFS, so its peaks end about 13 to 14 dB over its loudness (eSpeak NG and Piper
alike); at a -16 LUFS target they then sit near the encoder's limiter, which takes little off."""

MAX_PEAK_TO_LOUDNESS_DB = 14.5
"""The most a clip's true peak stands over its loudness after mastering (measured: 12.4 to 14.0)."""

_CHAIN = (
    "acompressor=threshold=-24dB:ratio=4:attack=3:release=80:makeup=4,"
    f"alimiter=limit={10 ** (_CLIP_PEAK_DBFS / 20):.4f}:level=false:latency=1"
)
_BATCH = 16
# The measuring branch gets silence before and after the clip, so the blocks that reach over
# its edges (as they do in a routine, where pauses surround it) are measured too.
_PAD_MS = 300

SILENT_LUFS = -60.0
"""Clips measuring below this (too short for a 400 ms gating block) are left at unit gain."""

_SUMMARY = re.compile(r"^\s*(I|LRA|Peak):\s+(-?[\d.]+|-inf)\s", re.MULTILINE)
_FRAME = re.compile(r"^\[ebur128@clip(\d+) @ [^\]]+\] t: .*?M: *(-?[\d.]+|-inf) ", re.MULTILINE)
_INCOMPLETE_BLOCKS = 3
"""ebur128 logs a block every 100 ms from the start; the first three (before 400 ms of audio) are not measured."""


@dataclass(frozen=True)
class Loudness:
    """EBU R128 figures of a piece of audio."""

    integrated: float
    """Integrated loudness in LUFS."""

    true_peak: float
    """True peak in dBTP."""

    loudness_range: float
    """Loudness range in LU."""

    blocks: tuple[float, ...] = ()
    """Loudness in LUFS of each 400 ms block, 100 ms apart: the blocks EBU R128 gating uses
    (measured for clips; empty for whole files)."""


def master_clips(jobs: Sequence[tuple[Path, Path]]) -> list[Loudness]:
    """Master raw clips ``(source, destination)`` and measure each result, a batch per ffmpeg run.

    Each clip is first brought to a common speech level (by its RMS, worked out here), so the
    compressor and the limiter after it meet every engine's output alike: the limiter keeps
    peaks within ``MAX_PEAK_TO_LOUDNESS_DB`` of the clip's loudness, so at any loudness target
    the encoder's limiter hardly acts and the routine's loudness stays as its clips predict.
    """
    measured: list[Loudness] = []
    for start in range(0, len(jobs), _BATCH):
        batch = jobs[start : start + _BATCH]
        measured.extend(_run(batch, [f"volume={_level_gain(source):.2f}dB,{_CHAIN}" for source, _ in batch]))
    return measured


def _level_gain(source: Path) -> float:
    """Gain in dB that brings a raw clip's RMS to ``_SPEECH_RMS_DBFS`` (none for silence)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # audioop: stdlib up to 3.12, audioop-lts after
        import audioop

    try:
        with wave.open(str(source), "rb") as clip:
            rms = audioop.rms(clip.readframes(clip.getnframes()), clip.getsampwidth())
    except (OSError, EOFError, wave.Error):
        return 0.0  # ffmpeg reports what is wrong with the file
    return _SPEECH_RMS_DBFS - 20 * math.log10(rms / 32768) if rms > 0 else 0.0


def _run(batch: Sequence[tuple[Path, Path]], chains: Sequence[str]) -> list[Loudness]:
    """Filter each source through its chain into its destination, and measure each result."""
    command = ["-hide_banner", "-nostdin", "-nostats"]
    graph = []
    for index, ((source, _), chain) in enumerate(zip(batch, chains, strict=True)):
        command += ["-i", str(source)]
        # Named ebur128 instances, so each summary in the log can be told apart.
        graph.append(f"[{index}:a]{chain},aresample=44100,asplit[c{index}][m{index}]")
        graph.append(
            f"[m{index}]adelay={_PAD_MS}:all=1,apad=pad_dur={_PAD_MS / 1000},ebur128@clip{index}=peak=true,anullsink"
        )
    command += ["-filter_complex", ";".join(graph)]
    for index, (_, destination) in enumerate(batch):
        command += ["-map", f"[c{index}]", "-c:a", "pcm_s16le", "-f", "wav", "-y", str(destination)]
    result = run_ffmpeg(command, what="mastering the speech clips")
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or [f"exit code {result.returncode}"])[-1]
        raise EngineError(f"ffmpeg could not master the speech clips ({detail}); check FOOTAUDIO_FFMPEG.")
    blocks: dict[int, list[float]] = {index: [] for index in range(len(batch))}
    for index, value in _FRAME.findall(result.stderr):
        blocks[int(index)].append(float(value))
    measured = []
    for index in range(len(batch)):
        # The instances print their summaries in no fixed order: find this clip's own.
        summary = re.search(rf"^\[ebur128@clip{index} @ [^\]]+\] Summary:", result.stderr, re.MULTILINE)
        if summary is None:
            raise EngineError(f"ffmpeg gave no loudness summary for {batch[index][0]}; check FOOTAUDIO_FFMPEG.")
        loudness = parse_summary(result.stderr[summary.end() :], str(batch[index][0]))
        measured.append(replace(loudness, blocks=tuple(blocks[index][_INCOMPLETE_BLOCKS:])))
    return measured


def parse_summary(log: str, source: str) -> Loudness:
    """The figures of the first ebur128 summary in ``log`` (``source`` names the audio in errors)."""
    values: dict[str, float] = {}
    for key, value in _SUMMARY.findall(log):
        values.setdefault(key, float(value))
    if not {"I", "LRA", "Peak"} <= values.keys():
        raise EngineError(f"ffmpeg gave no loudness summary for {source}; check FOOTAUDIO_FFMPEG.")
    return Loudness(values["I"], values["Peak"], values["LRA"])
