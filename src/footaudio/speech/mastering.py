"""Clip mastering at cache time, with ffmpeg's own filters, and reading ffmpeg's EBU R128 summary.

Every synthesized sentence is mastered once, when it enters the clip cache: a gentle
compressor evens out the engine's peaks, and ffmpeg's ``ebur128`` measures the result.
The clip is stored with its measured loudness, so a render sets each sentence's gain
exactly, whatever the engine's own level, and warm renders pay nothing for it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import EngineError
from ..tools import find_ffmpeg, run_ffmpeg

__all__ = ["MASTERING", "Loudness", "master_clips", "parse_summary"]

MASTERING = "m3"
"""Version of the mastering chain; part of the clip cache key, so a change re-masters."""

# Clips are stored at the routine's rate (44.1 kHz), so renders never resample.
_COMPRESSOR = "acompressor=threshold=-24dB:ratio=4:attack=3:release=80:makeup=4,aresample=44100"
_BATCH = 16
_SUMMARY = re.compile(r"^\s*(I|LRA|Peak):\s+(-?[\d.]+|-inf)\s", re.MULTILINE)


@dataclass(frozen=True)
class Loudness:
    """EBU R128 figures of a piece of audio."""

    integrated: float
    """Integrated loudness in LUFS."""

    true_peak: float
    """True peak in dBTP."""

    loudness_range: float
    """Loudness range in LU."""


def master_clips(jobs: Sequence[tuple[Path, Path]]) -> list[Loudness]:
    """Compress raw clips ``(source, destination)`` and measure each result, a batch per ffmpeg run."""
    ffmpeg = find_ffmpeg().path
    measured: list[Loudness] = []
    for start in range(0, len(jobs), _BATCH):
        batch = jobs[start : start + _BATCH]
        command = [ffmpeg, "-hide_banner", "-nostdin", "-nostats"]
        graph = []
        for index, (source, _) in enumerate(batch):
            command += ["-i", str(source)]
            # Named ebur128 instances, so each summary in the log can be told apart.
            graph.append(f"[{index}:a]{_COMPRESSOR},asplit[c{index}][m{index}]")
            graph.append(f"[m{index}]ebur128@clip{index}=peak=true,anullsink")
        command += ["-filter_complex", ";".join(graph)]
        for index, (_, destination) in enumerate(batch):
            command += ["-map", f"[c{index}]", "-c:a", "pcm_s16le", "-f", "wav", "-y", str(destination)]
        result = run_ffmpeg(command[1:], what="mastering the speech clips")
        if result.returncode != 0:
            detail = (result.stderr.strip().splitlines() or [f"exit code {result.returncode}"])[-1]
            raise EngineError(f"ffmpeg could not master the speech clips ({detail}); check FOOTAUDIO_FFMPEG.")
        for index in range(len(batch)):
            marker = result.stderr.find(f"[ebur128@clip{index} @")
            measured.append(
                parse_summary(result.stderr[result.stderr.find("Summary:", marker) :], str(batch[index][0]))
            )
    return measured


def parse_summary(log: str, source: str) -> Loudness:
    """The figures of the first ebur128 summary in ``log`` (``source`` names the audio in errors)."""
    values: dict[str, float] = {}
    for key, value in _SUMMARY.findall(log):
        values.setdefault(key, float(value))
    if not {"I", "LRA", "Peak"} <= values.keys():
        raise EngineError(f"ffmpeg gave no loudness summary for {source}; check FOOTAUDIO_FFMPEG.")
    return Loudness(values["I"], values["Peak"], values["LRA"])
