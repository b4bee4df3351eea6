"""The MP3 stage: PCM piped through ffmpeg (libmp3lame), tagged, then moved into place.

The MP3 is written to a hidden temporary file beside the destination and renamed
only when complete, so a failed or interrupted render leaves the destination as it was.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from ..errors import EngineError, RenderError, UsageError
from ..files import temporary_path
from ..speech.mastering import SILENT_LUFS
from ..tools import find_ffmpeg
from .mixing import CHANNELS, SAMPLE_RATE

__all__ = ["DEFAULT_BITRATE", "check_destination", "encoding_loss", "write_mp3", "written_by_footaudio"]

DEFAULT_BITRATE = 128
LAME_QUALITY = 7
"""LAME's -q: 7 encodes about 40% faster than the default, and for mono speech at 128 kbit/s
(twice what a mono voice needs) the difference is not audible; measured in scripts/bench.py."""
PEAK_LIMIT = 10 ** (-2.5 / 20)
"""Sample-peak ceiling of the limiter: -2.5 dBFS keeps true peaks of the MP3 at or below -1 dBTP."""


def _limiter() -> str:
    # latency=1 compensates the look-ahead, so the sample count stays exact.
    return f"alimiter=limit={PEAK_LIMIT:.4f}:level=false:latency=1"


def _encoder(bitrate: int) -> list[str]:
    return ["-c:a", "libmp3lame", "-b:a", f"{bitrate}k", "-compression_level", str(LAME_QUALITY)]


MAX_ENCODING_LOSS_LU = 3.0
_INTEGRATED = re.compile(r"\] Summary:\s+Integrated loudness:\s+I:\s+(-?[\d.]+|-inf) LUFS")


def encoding_loss(excerpt: bytes, bitrate: int) -> float:
    """How many LU the limiter and the MP3 encoder take off ``excerpt`` (16-bit mono 44.1 kHz PCM); 0 if unmeasurable.

    Both lower the loudness a little (the limiter by taming peaks, LAME by dropping detail
    it deems inaudible, more so at low bit rates), by an amount that depends on the voice;
    measured on a short excerpt through the same chain, then decoded, it is cheap and exact enough.
    """
    if len(excerpt) < SAMPLE_RATE * 2:  # under a second: nothing EBU R128 can measure
        return 0.0
    ffmpeg = find_ffmpeg().path
    encode = [
        ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", "1",
        "-i", "pipe:0", "-filter_complex", f"[0:a]asplit[a][b];[a]ebur128=framelog=verbose,anullsink;[b]{_limiter()}",
        *_encoder(bitrate), "-f", "mp3", "pipe:1",
    ]  # fmt: skip
    decode = [
        ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-f", "mp3", "-i", "pipe:0",
        "-af", "ebur128=framelog=verbose", "-f", "null", "-",
    ]  # fmt: skip
    with subprocess.Popen(decode, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as second:
        first = subprocess.run(encode, input=excerpt, stdout=second.stdin, stderr=subprocess.PIPE)
        assert second.stdin is not None
        second.stdin.close()
        after = second.stderr.read() if second.stderr else b""
    found = [_INTEGRATED.search(log.decode("utf-8", "replace")) for log in (first.stderr, after)]
    if first.returncode != 0 or second.returncode != 0 or None in found:
        # The render's own encode meets the same fault next and reports it with its cause
        # (a full disk, a broken ffmpeg); if it succeeds, the file is only a few tenths of an LU low.
        return 0.0
    before_lufs, after_lufs = (float(match.group(1)) for match in found)  # type: ignore[union-attr]
    if before_lufs <= SILENT_LUFS or after_lufs <= SILENT_LUFS:
        return 0.0
    # A few tenths of an LU in practice; a wild figure would be a measuring fault, not worth trusting.
    return max(-MAX_ENCODING_LOSS_LU, min(MAX_ENCODING_LOSS_LU, before_lufs - after_lufs))


def check_destination(destination: Path, *, force: bool = False, create_folder: bool = False) -> None:
    """Fail before any work when the MP3 could not or should not be written at ``destination``.

    A file footaudio did not write (it has no footaudio settings tag) is only replaced with
    ``force``. With ``create_folder``, a missing folder is fine (the caller creates it).
    """
    if destination.exists() and destination.is_dir():
        raise UsageError(f"{destination} is a folder; give a file name such as {destination / 'routine.mp3'}.")
    if destination.suffix.lower() != ".mp3":
        raise UsageError(f"{destination} does not end in .mp3; footaudio writes MP3 files.")
    folder = destination.parent
    existing = folder
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{existing} is a file, not a folder; choose another output path.")
    if existing != folder and not create_folder:
        raise UsageError(f"folder {folder} does not exist; create it first or choose another output path.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"folder {existing} is not writable; choose another output path.")
    if not force and destination.exists() and not written_by_footaudio(destination):
        raise UsageError(
            f"{destination} exists and was not written by footaudio; use --force to replace it, "
            "or choose another output path."
        )


def written_by_footaudio(path: Path) -> bool:
    """Whether ``path`` carries footaudio's settings tag."""
    from .tags import read_settings_tag

    return read_settings_tag(path) is not None


def write_mp3(
    blocks: Iterable[bytes],
    destination: Path,
    *,
    bitrate: int = DEFAULT_BITRATE,
    finish: Callable[[Path], None] | None = None,
    companions: Mapping[Path, str] | None = None,
) -> None:
    """Encode PCM ``blocks`` to ``destination`` (MPEG-1 Layer III, constant bit rate, gapless header).

    ffmpeg's look-ahead limiter keeps peaks under the true-peak ceiling whatever the
    gain and the ambience add.
    ``finish`` may tag the file before it is moved in; ``companions`` are text files
    (captions) published beside it at the same moment, all or nothing.
    """
    ffmpeg = find_ffmpeg().path
    temporary = temporary_path(destination)
    command = [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", str(CHANNELS), "-i", "pipe:0", "-af", _limiter(),
        *_encoder(bitrate), "-ar", str(SAMPLE_RATE),
        "-id3v2_version", "3", "-write_xing", "1", "-f", "mp3", str(temporary),
    ]  # fmt: skip
    side_files = {path: temporary_path(path) for path in (companions or {})}
    process: subprocess.Popen[bytes] | None = None
    try:
        try:
            process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as exc:
            raise EngineError(
                f"ffmpeg at {ffmpeg} does not run ({exc.strerror}); reinstall it or set FOOTAUDIO_FFMPEG."
            ) from exc
        stdin = process.stdin
        assert stdin is not None
        try:
            for block in blocks:
                stdin.write(block)
            stdin.close()
        except BrokenPipeError:
            pass  # ffmpeg quit early; its exit code and message tell why
        error = process.stderr.read().decode("utf-8", "replace").strip() if process.stderr else ""
        if process.wait() != 0:
            detail = error.splitlines()[-1] if error else f"exit code {process.returncode}"
            if "No space left" in error:
                raise RenderError(f"the disk is full while writing {destination}; free some space and try again.")
            raise EngineError(
                f"ffmpeg failed to encode the MP3 ({detail}); reinstall imageio-ffmpeg or check FOOTAUDIO_FFMPEG."
            )
        if finish is not None:
            finish(temporary)
        for path, text in (companions or {}).items():
            side_files[path].write_text(text, encoding="utf-8")
        for path, side in side_files.items():
            os.replace(side, path)
        os.replace(temporary, destination)
    except OSError as exc:
        raise RenderError(
            f"cannot write {destination} ({exc.strerror or exc}); check the folder and free space."
        ) from exc
    finally:
        if process is not None:
            if process.poll() is None:
                process.kill()
                process.wait()
            for stream in (process.stdin, process.stderr):
                # Unflushed audio meets a closed pipe here; that is expected after a failure.
                with contextlib.suppress(OSError, ValueError):
                    if stream is not None:
                        stream.close()
        for leftover in (temporary, *side_files.values()):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
