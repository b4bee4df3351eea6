"""Loudness of a routine: the gain offset a routine needs, and EBU R128 measurement of a file."""

from __future__ import annotations

from pathlib import Path

from ..errors import EngineError
from ..speech.mastering import Loudness, parse_summary
from ..tools import run_ffmpeg

__all__ = ["PROGRAM_OFFSET_DB", "SILENT_LUFS", "Loudness", "measure"]

PROGRAM_OFFSET_DB = 0.9
"""Gain a routine needs on top of ``target - clip loudness`` to land on its target.

Each clip alone measures its stored loudness; joined into a routine, the short pauses
inside and between sentences pull the integrated loudness down by about this much.
Measured on renders of every mode and pressure, with and without ambience, and
checked by the test suite.
"""

SILENT_LUFS = -60.0
"""Clips measuring below this (too short for a 400 ms gating block) are left at unit gain."""


def measure(path: Path) -> Loudness:
    """Integrated loudness, true peak and loudness range of an audio file (ffmpeg ``ebur128``)."""
    command = [
        "-hide_banner", "-nostdin", "-nostats", "-i", str(path), "-af", "ebur128=peak=true", "-f", "null", "-",
    ]  # fmt: skip
    result = run_ffmpeg(command, what=f"measuring the loudness of {path}")
    if result.returncode != 0:
        raise EngineError(f"ffmpeg could not read {path}; is it an audio file?")
    return parse_summary(result.stderr[result.stderr.rfind("Summary:") :], str(path))
