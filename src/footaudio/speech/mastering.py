"""Clip mastering at cache time, with ffmpeg's own filters, and reading ffmpeg's EBU R128 summary.

Every synthesized sentence is mastered once, when it enters the clip cache: a gentle
compressor evens out the engine's peaks, and ffmpeg's ``ebur128`` measures the result.
The clip is stored with its measured loudness, so a render sets each sentence's gain
exactly, whatever the engine's own level, and warm renders pay nothing for it. The
loudness of each of its 400 ms gating blocks is stored too, so the loudness of a whole
routine can be worked out from its clips (``footaudio.audio.loudness``) without measuring it.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import EngineError
from ..tools import find_ffmpeg

__all__ = ["MASTERING", "SILENT_LUFS", "Loudness", "master_clips", "parse_summary"]

MASTERING = "m4"
"""Version of the mastering chain; part of the clip cache key, so a change re-masters."""

# Clips are stored at the routine's rate (44.1 kHz), so renders never resample.
_COMPRESSOR = "acompressor=threshold=-24dB:ratio=4:attack=3:release=80:makeup=4"
_BATCH = 16
# The measuring branch gets silence before and after the clip, so the blocks that reach over
# its edges (as they do in a routine, where pauses surround it) are measured too.
_PAD_MS = 300

SILENT_LUFS = -60.0
"""Clips measuring below this (too short for a 400 ms gating block) are left at unit gain."""

STORED_LUFS = -16.0
"""Loudness a limited clip is stored at (any other clip keeps the compressor's level)."""

MAX_PEAK_TO_LOUDNESS_DB = 12.0
"""Most a clip's true peak may stand over its loudness. At a -16 LUFS target that leaves peaks
at -4 dBTP, under the encoder's limiter (-2.5 dBFS) even after a correction of a dB or so."""

_LIMITER_MARGIN_DB = 0.5
"""The limiter works on samples; true peaks between samples stand up to about this much higher."""
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

    A gentle compressor evens the level out. A clip whose peaks then stand more than
    ``MAX_PEAK_TO_LOUDNESS_DB`` over its loudness is levelled to ``STORED_LUFS`` and limited
    in a second run, so at any loudness target its peaks stay under the encoder's limiter,
    which then hardly acts and leaves the routine's loudness as its clips predict.
    """
    measured: list[Loudness] = []
    for start in range(0, len(jobs), _BATCH):
        batch = jobs[start : start + _BATCH]
        found = _run(batch, [_COMPRESSOR] * len(batch))
        peaky = [
            index for index, loudness in enumerate(found)
            if loudness.integrated > SILENT_LUFS and loudness.true_peak - loudness.integrated > MAX_PEAK_TO_LOUDNESS_DB
        ]  # fmt: skip
        if peaky:
            ceiling = 10 ** ((STORED_LUFS + MAX_PEAK_TO_LOUDNESS_DB - _LIMITER_MARGIN_DB) / 20)
            limited = _run(
                [(batch[index][1], batch[index][1]) for index in peaky],
                [
                    f"volume={STORED_LUFS - found[index].integrated:.2f}dB,"
                    f"alimiter=limit={ceiling:.4f}:level=false:latency=1"
                    for index in peaky
                ],
            )
            for index, loudness in zip(peaky, limited, strict=True):
                found[index] = loudness
        measured.extend(found)
    return measured


def _run(batch: Sequence[tuple[Path, Path]], chains: Sequence[str]) -> list[Loudness]:
    """Filter each source through its chain into its destination, and measure each result."""
    ffmpeg = find_ffmpeg().path
    command = [ffmpeg, "-hide_banner", "-nostdin", "-nostats"]
    graph = []
    for index, ((source, _), chain) in enumerate(zip(batch, chains, strict=True)):
        command += ["-i", str(source)]
        # Named ebur128 instances, so each summary in the log can be told apart.
        graph.append(f"[{index}:a]{chain},aresample=44100,asplit[c{index}][m{index}]")
        graph.append(
            f"[m{index}]adelay={_PAD_MS}:all=1,apad=pad_dur={_PAD_MS / 1000},ebur128@clip{index}=peak=true,anullsink"
        )
    command += ["-filter_complex", ";".join(graph)]
    outputs = []
    for index, (source, destination) in enumerate(batch):
        # Filtering a clip in place: write beside it, then replace it.
        output = destination.with_name(f"{destination.stem}.limited.wav") if source == destination else destination
        outputs.append(output)
        command += ["-map", f"[c{index}]", "-c:a", "pcm_s16le", "-f", "wav", "-y", str(output)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or [f"exit code {result.returncode}"])[-1]
        raise EngineError(f"ffmpeg could not master the speech clips ({detail}); check FOOTAUDIO_FFMPEG.")
    for output, (_, destination) in zip(outputs, batch, strict=True):
        if output != destination:
            output.replace(destination)
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
