"""``footaudio info``: read back what footaudio wrote into an MP3, and measure it now."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .audio.loudness import Loudness, measure
from .audio.mp3 import read_stream
from .audio.tags import SETTINGS_TAG, read_chapters, settings_payload, written_length_ms
from .errors import UsageError
from .settings import AudioOptions, Settings

__all__ = ["Chapter", "RoutineInfo", "info", "printable", "render_command"]

LENGTH_TOLERANCE_MS = 50
"""A file whose real length differs from the length footaudio wrote by more than this was cut or altered."""


@dataclass(frozen=True)
class Chapter:
    """One chapter (step) of a routine, as stored in the file."""

    start_ms: int
    """Where the step starts."""

    title: str
    """The step's title."""


@dataclass(frozen=True)
class RoutineInfo:
    """What a footaudio MP3 holds, read from its tags and measured from its audio."""

    path: Path
    """The file."""

    title: str
    """The title tag."""

    version: str
    """The footaudio version that wrote it."""

    engine_id: str | None
    """The engine that spoke it, e.g. ``piper-en_US-joe-medium`` (files from older versions: ``None``)."""

    settings: Settings
    """The settings it was rendered with."""

    options: AudioOptions
    """The sound options it was rendered with."""

    has_cover: bool
    """Whether cover art is embedded."""

    audio_format: str
    """e.g. ``MPEG-1 Layer 3, 44100 Hz, 128 kbit/s, mono``."""

    length_ms: int
    """The real length, from the MPEG headers (the encoder's frame count)."""

    written_length_ms: int | None
    """The length footaudio wrote into the tag (``TLEN``), if any."""

    loudness: Loudness
    """Measured now with ffmpeg's ebur128."""

    chapters: tuple[Chapter, ...]
    """The chapters in time order."""

    @property
    def altered(self) -> bool:
        """Whether the file is no longer as long as footaudio wrote it (it was cut or changed)."""
        return self.written_length_ms is not None and abs(self.written_length_ms - self.length_ms) > LENGTH_TOLERANCE_MS

    @property
    def render_command(self) -> str:
        """The ``footaudio render`` command that makes the same file again."""
        return render_command(self.settings, self.options, self.path)


def render_command(settings: Settings, options: AudioOptions, output: Path) -> str:
    """The ``footaudio render`` command line that makes the same file again."""
    defaults_settings, defaults_options = Settings(), AudioOptions()
    parts = ["footaudio", "render"]
    for name, value in settings.to_dict().items():
        if value != getattr(defaults_settings, name):
            parts += [f"--{name}", f"{value:g}" if isinstance(value, float) else str(value)]
    for name, value in options.to_dict().items():
        if value == getattr(defaults_options, name):
            continue
        if name == "cover" and not _safe_cover(str(value)):
            continue  # never suggest reading a device, a FIFO or a huge file
        if isinstance(value, bool):
            parts.append(f"--{name}")
        else:
            parts += [f"--{name}", f"{value:g}" if isinstance(value, float) else str(value)]
    parts += ["-o", str(output)]
    return shlex.join(parts)


def _safe_cover(path: str) -> bool:
    """Whether ``path`` is, right now, a regular file small enough to be a cover."""
    import os
    import stat

    from .settings import COVER_LIMIT

    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return False
    return stat.S_ISREG(info.st_mode) and info.st_size <= COVER_LIMIT


def printable(text: str) -> str:
    """``text`` with control characters (escape codes, carriage returns, bidi overrides) shown escaped.

    Tags are written by whoever made the file; printed raw, they could move the cursor
    or rewrite what the terminal shows.
    """
    import unicodedata

    out = []
    for char in text:
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def _gapless_length_ms(path: Path, stream: object) -> int:
    """The length from the MPEG headers (the Info frame's count less the encoder's delay and padding).

    mutagen reads the frame count but not the delay and padding that ffmpeg's LAME
    extension records, so gapless players would hear a few dozen milliseconds less.
    """
    whole = read_stream(path)
    return whole.ms if whole is not None else round(stream.length * 1000)  # type: ignore[attr-defined]


def info(path: Path | str) -> RoutineInfo:
    """Read a footaudio MP3: its settings, format, real length, loudness and chapters."""
    from mutagen import MutagenError
    from mutagen.mp3 import MP3

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path} does not exist; give the path of an MP3 that footaudio wrote.")
    try:
        audio = MP3(str(path))
    except MutagenError as exc:
        raise UsageError(f"{path} is not an MP3 file ({exc}); give an MP3 that footaudio wrote.") from None
    tags: Any = audio.tags or {}
    if audio.tags is None or f"TXXX:{SETTINGS_TAG}" not in audio.tags:
        raise UsageError(f"{path} has no footaudio settings tag; it was not written by footaudio.")
    payload = settings_payload(audio.tags)
    try:
        if payload is None:
            raise ValueError("damaged")
        settings = Settings(**payload["settings"])
        options = AudioOptions(**payload.get("audio", {}))
    except (ValueError, KeyError, TypeError, UsageError):
        raise UsageError(f"{path} has a damaged footaudio settings tag; render it again.") from None
    stream: Any = audio.info
    chapters = [Chapter(chapter.start_ms, chapter.title) for chapter in read_chapters(tags)]
    channels = "mono" if stream.channels == 1 else f"{stream.channels} channels"
    return RoutineInfo(
        path=path,
        title=tags["TIT2"].text[0] if "TIT2" in tags else settings.title,
        version=str(payload.get("footaudio", "?")),
        engine_id=str(payload["engine"]) if payload.get("engine") else None,
        settings=settings,
        options=options,
        has_cover="APIC:Cover" in tags,
        audio_format=f"MPEG-{stream.version:g} Layer {stream.layer}, {stream.sample_rate} Hz, "
        f"{stream.bitrate // 1000} kbit/s, {channels}",
        length_ms=_gapless_length_ms(path, stream),
        written_length_ms=written_length_ms(audio.tags),
        loudness=measure(path),
        chapters=tuple(chapters),
    )
