"""The MP3 stage: PCM piped through ffmpeg (libmp3lame), tagged, then moved into place.

The MP3 is written to a hidden temporary file beside the destination and renamed
only when complete, so a failed or interrupted render leaves the destination as it was.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mutagen import MutagenError

from ..errors import EngineError, RenderError, UsageError
from ..files import publish, stop_signals_held, temporary_file, temporary_path
from ..speech.mastering import SILENT_LUFS
from ..tools import FFMPEG_TIMEOUT_ENV, ffmpeg_time_limit, find_ffmpeg
from .mixing import CHANNELS, SAMPLE_RATE

__all__ = [
    "DEFAULT_BITRATE",
    "MpegStream",
    "check_destination",
    "encoding_loss",
    "read_stream",
    "write_mp3",
    "written_by_footaudio",
    "written_by_footaudio_text",
]

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
        try:
            first = subprocess.run(
                encode, input=excerpt, stdout=second.stdin, stderr=subprocess.PIPE, timeout=ffmpeg_time_limit()
            )
        except subprocess.TimeoutExpired:
            second.kill()  # a stuck ffmpeg: the render's own encode meets it next and says so
            return 0.0
        assert second.stdin is not None
        second.stdin.close()
        after = second.stderr.read() if second.stderr else b""
    # The last summary: some ffmpeg builds (Debian's 5.1) configure the graph twice and print an empty one first.
    found = [_last(_INTEGRATED.finditer(log.decode("utf-8", "replace"))) for log in (first.stderr, after)]
    if first.returncode != 0 or second.returncode != 0 or None in found:
        # The render's own encode meets the same fault next and reports it with its cause
        # (a full disk, a broken ffmpeg); if it succeeds, the file is only a few tenths of an LU low.
        return 0.0
    before_lufs, after_lufs = (float(match.group(1)) for match in found)  # type: ignore[union-attr]
    if before_lufs <= SILENT_LUFS or after_lufs <= SILENT_LUFS:
        return 0.0
    # A few tenths of an LU in practice; a wild figure would be a measuring fault, not worth trusting.
    return max(-MAX_ENCODING_LOSS_LU, min(MAX_ENCODING_LOSS_LU, before_lufs - after_lufs))


def _last(matches: Iterable[re.Match[str]]) -> re.Match[str] | None:
    found = None
    for found in matches:  # noqa: B007
        pass
    return found


def check_destination(
    destination: Path, *, force: bool = False, create_folder: bool = False, companions: Iterable[Path] = ()
) -> None:
    """Fail before any work when the MP3 could not or should not be written at ``destination``.

    A file footaudio did not write (it has no footaudio settings tag; for ``companions``
    such as captions, no footaudio mark) is only replaced with ``force``. With
    ``create_folder``, a missing folder is fine (the caller creates it).
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
    try:
        longest = os.pathconf(existing, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        longest = 255
    # The temporary file beside it needs a longer name than the file itself.
    room = longest - (len(os.fsencode(temporary_path(destination).name)) - len(os.fsencode(destination.name)))
    if len(os.fsencode(destination.name)) > room:
        raise UsageError(
            f"the file name {destination.name[:40]}... is too long for this file system "
            f"(at most {room} bytes, leaving room for footaudio's temporary file); choose a shorter name."
        )
    if force:
        return
    for path, ours in (
        (destination, written_by_footaudio),
        *((side, written_by_footaudio_text) for side in companions),
    ):
        # A symbolic link (even a dangling one) is never footaudio's own file.
        if os.path.lexists(path) and (path.is_symlink() or not ours(path)):
            raise UsageError(
                f"{path} exists and was not written by footaudio; use --force to replace it, "
                "or choose another output path."
            )


def written_by_footaudio(path: Path) -> bool:
    """Whether ``path`` carries footaudio's settings tag."""
    from .tags import read_settings_tag

    return read_settings_tag(path) is not None


@dataclass(frozen=True)
class MpegStream:
    """What the MPEG headers of a whole file say (read by :func:`read_stream`)."""

    samples: int
    """Audio samples per channel, less the encoder's delay and padding (the gapless length)."""

    sample_rate: int
    """Samples per second."""

    @property
    def ms(self) -> int:
        """The gapless length in whole milliseconds."""
        return round(self.samples * 1000 / self.sample_rate)


def read_stream(path: Path) -> MpegStream | None:
    """The gapless length of the MP3 at ``path``, or ``None`` if it is not a whole footaudio-encoded MP3.

    The file must have MPEG frames, an Info (Xing) frame with the LAME extension that
    ffmpeg writes, and exactly as many bytes of audio as that frame counts: a cut,
    padded, garbage or tag-only file is not whole.
    """
    from mutagen import MutagenError
    from mutagen.mp3 import MP3

    try:
        stream: Any = MP3(str(path)).info
        size = os.stat(path).st_size
        with path.open("rb") as file:
            file.seek(stream.frame_offset)
            head = file.read(1024)
    except (MutagenError, OSError, ValueError, AttributeError):
        return None
    at = max(head.find(b"Info"), head.find(b"Xing"))
    if at < 0 or len(head) < at + 144 or not stream.sample_rate:
        return None
    flags = int.from_bytes(head[at + 4 : at + 8], "big")
    if flags & 0x0F != 0x0F:  # frames, bytes, table of contents and quality: the LAME extension follows
        return None
    frames = int.from_bytes(head[at + 8 : at + 12], "big")
    audio_bytes = int.from_bytes(head[at + 12 : at + 16], "big")
    if audio_bytes != size - stream.frame_offset:
        return None
    b0, b1, b2 = head[at + 141 : at + 144]
    delay, padding = (b0 << 4) | (b1 >> 4), ((b1 & 0x0F) << 8) | b2
    samples = frames * 1152 - delay - padding
    return MpegStream(samples, stream.sample_rate) if samples > 0 else None


def _check_encoded(path: Path, samples: int, destination: Path) -> None:
    found = read_stream(path)
    if found is None or found.samples != samples or found.sample_rate != SAMPLE_RATE:
        what = "no valid MP3" if found is None else f"{found.samples} samples instead of {samples}"
        raise EngineError(
            f"ffmpeg reported success but wrote {what}, so {destination} was left as it was; "
            "reinstall imageio-ffmpeg or check FOOTAUDIO_FFMPEG."
        )


def write_mp3(
    blocks: Iterable[bytes],
    destination: Path,
    *,
    bitrate: int = DEFAULT_BITRATE,
    finish: Callable[[Path], None] | None = None,
    companions: Mapping[Path, str] | None = None,
    force: bool = False,
) -> None:
    """Encode PCM ``blocks`` to ``destination`` (MPEG-1 Layer III, constant bit rate, gapless header).

    ffmpeg's look-ahead limiter keeps peaks under the true-peak ceiling whatever the
    gain and the ambience add.
    ``finish`` may tag the file before it is moved in; ``companions`` are text files
    (captions) published beside it at the same moment, all or nothing.
    The encoded file is checked (whole MPEG frames, exactly the samples sent) before it
    replaces anything, and a file that appeared at a destination meanwhile is only
    replaced with ``force``.
    """
    ffmpeg = find_ffmpeg().path
    with contextlib.ExitStack() as held:
        try:
            temporary = held.enter_context(temporary_file(destination))
            side_files = {path: held.enter_context(temporary_file(path)) for path in (companions or {})}
        except OSError as exc:
            raise RenderError(
                f"cannot write {destination} ({exc.strerror or exc}); check the folder and free space."
            ) from exc
        _encode(ffmpeg, blocks, temporary, destination, bitrate, finish)
        try:
            for path, text in (companions or {}).items():
                side_files[path].write_text(text, encoding="utf-8")
            for path, side in side_files.items():
                publish(side, path, force=force, ours=written_by_footaudio_text)
            publish(temporary, destination, force=force, ours=written_by_footaudio)
        except OSError as exc:
            raise RenderError(
                f"cannot write {destination} ({exc.strerror or exc}); check the folder and free space."
            ) from exc


def written_by_footaudio_text(path: Path) -> bool:
    """Whether a caption file carries footaudio's mark in its first lines (WebVTT: a NOTE; LRC: the artist)."""
    from ..files import read_regular

    try:
        head = read_regular(path, 50_000_000)[:4096]
    except (OSError, ValueError):
        return False
    return b"made by footaudio" in head or b"[ar:footaudio]" in head


class _Watchdog:
    """Kills ffmpeg when it makes no progress for ``limit`` seconds while footaudio waits on it."""

    def __init__(self, process: subprocess.Popen[bytes], limit: float) -> None:
        self.process = process
        self.limit = limit
        self.fired = False
        self._since: float | None = None
        self._done = threading.Event()
        threading.Thread(target=self._watch, name="footaudio-ffmpeg-watchdog", daemon=True).start()

    @contextlib.contextmanager
    def waiting(self) -> Iterator[None]:
        self._since = time.monotonic()
        try:
            yield
        finally:
            self._since = None

    def _watch(self) -> None:
        while not self._done.wait(min(1.0, self.limit / 4)):
            if self.process.poll() is not None:
                return
            since = self._since
            if since is not None and time.monotonic() - since > self.limit:
                self.fired = True
                self.process.kill()
                return

    def stop(self) -> None:
        self._done.set()


def _encode(
    ffmpeg: str,
    blocks: Iterable[bytes],
    temporary: Path,
    destination: Path,
    bitrate: int,
    finish: Callable[[Path], None] | None,
) -> None:
    command = [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", str(CHANNELS), "-i", "pipe:0", "-af", _limiter(),
        *_encoder(bitrate), "-ar", str(SAMPLE_RATE),
        "-id3v2_version", "3", "-write_xing", "1", "-f", "mp3", str(temporary),
    ]  # fmt: skip
    process: subprocess.Popen[bytes] | None = None
    watchdog: _Watchdog | None = None
    sent = 0
    try:
        # ffmpeg opens the temporary file by name: a stop handled inside Popen, before
        # ``process`` is set, would leave it running, making the file again after it was removed.
        with stop_signals_held():
            try:
                process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
            except OSError as exc:
                raise EngineError(
                    f"ffmpeg at {ffmpeg} does not run ({exc.strerror}); reinstall it or set FOOTAUDIO_FFMPEG."
                ) from exc
        stdin = process.stdin
        assert stdin is not None
        watchdog = _Watchdog(process, ffmpeg_time_limit())
        try:
            for block in blocks:
                with watchdog.waiting():
                    stdin.write(block)
                sent += len(block)
            with watchdog.waiting():
                stdin.close()
        except BrokenPipeError:
            pass  # ffmpeg quit early; its exit code and message tell why
        with watchdog.waiting():
            error = process.stderr.read().decode("utf-8", "replace").strip() if process.stderr else ""
            process.wait()
        if watchdog.fired:
            raise EngineError(
                f"ffmpeg made no progress for {watchdog.limit:g} s while encoding {destination} and was stopped; "
                f"check FOOTAUDIO_FFMPEG, or raise {FFMPEG_TIMEOUT_ENV}."
            )
        if process.returncode != 0:
            detail = error.splitlines()[-1] if error else f"exit code {process.returncode}"
            if "No space left" in error:
                raise RenderError(f"the disk is full while writing {destination}; free some space and try again.")
            raise EngineError(
                f"ffmpeg failed to encode the MP3 ({detail}); reinstall imageio-ffmpeg or check FOOTAUDIO_FFMPEG."
            )
        samples = sent // 2 // CHANNELS
        _check_encoded(temporary, samples, destination)
        if finish is not None:
            try:
                finish(temporary)
            except MutagenError as exc:
                cause = exc.__cause__ if isinstance(exc.__cause__, OSError) else exc.__context__
                raise (
                    cause
                    if isinstance(cause, OSError)
                    else RenderError(f"cannot tag {destination} ({exc}); check the folder and free space.")
                ) from None
            _check_encoded(temporary, samples, destination)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise RenderError(f"the disk is full while writing {destination}; free some space and try again.") from None
        raise RenderError(
            f"cannot write {destination} ({exc.strerror or exc}); check the folder and free space."
        ) from exc
    finally:
        if process is not None:
            with stop_signals_held():  # ffmpeg is gone before the temporary file is removed
                if watchdog is not None:
                    watchdog.stop()
                if process.poll() is None:
                    process.kill()
                    process.wait()
                for stream in (process.stdin, process.stderr):
                    # Unflushed audio meets a closed pipe here; that is expected after a failure.
                    with contextlib.suppress(OSError, ValueError):
                        if stream is not None:
                            stream.close()
