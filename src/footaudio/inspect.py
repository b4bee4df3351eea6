"""``footaudio info``: read back what footaudio wrote into an MP3, and measure its loudness."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from .errors import UsageError
from .formats import clock
from .loudness import measure
from .settings import AudioOptions, Settings
from .tags import SETTINGS_TAG

__all__ = ["describe", "render_command"]


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
        if isinstance(value, bool):
            parts.append(f"--{name}")
        else:
            parts += [f"--{name}", f"{value:g}" if isinstance(value, float) else str(value)]
    parts += ["-o", str(output)]
    return shlex.join(parts)


def describe(path: Path) -> str:
    """A readable summary of a footaudio MP3."""
    from mutagen import MutagenError
    from mutagen.mp3 import MP3

    if not path.is_file():
        raise UsageError(f"{path} does not exist; give the path of an MP3 that footaudio wrote.")
    try:
        audio = MP3(str(path))
    except MutagenError as exc:
        raise UsageError(f"{path} is not an MP3 file ({exc}); give an MP3 that footaudio wrote.") from None
    tags = audio.tags or {}
    stored = tags.get(f"TXXX:{SETTINGS_TAG}")
    if stored is None:
        raise UsageError(f"{path} has no footaudio settings tag; it was not written by footaudio.")
    try:
        payload = json.loads(stored.text[0])
        settings = Settings(**payload["settings"])
        options = AudioOptions(**payload.get("audio", {}))
    except (ValueError, KeyError, TypeError, UsageError):
        raise UsageError(f"{path} has a damaged footaudio settings tag; render it again.") from None
    length_ms = int(tags["TLEN"].text[0]) if "TLEN" in tags else round(audio.info.length * 1000)
    loudness = measure(path)
    info = audio.info
    lines = [
        f"File:       {path}",
        f"Title:      {tags['TIT2'].text[0] if 'TIT2' in tags else settings.title}",
        f"Made by:    footaudio {payload.get('footaudio', '?')}",
        f"Settings:   {settings.minutes:g} min, {settings.mode}, {settings.pressure}, "
        f"voice {settings.voice or 'default'}, rate {settings.rate}, seed {settings.seed}, engine {settings.engine}",
        f"Sound:      chime {options.chime}, ambience {options.ambience}, "
        f"captions {'yes' if options.captions else 'no'}, cover {'yes' if 'APIC:Cover' in tags else 'no'}",
        f"Audio:      MPEG-{info.version:g} Layer {info.layer}, {info.sample_rate} Hz, "
        f"{info.bitrate // 1000} kbit/s, {'mono' if info.channels == 1 else f'{info.channels} channels'}",
        f"Length:     {clock(length_ms)} ({length_ms / 1000:.3f} s)",
        f"Loudness:   {loudness.integrated:.1f} LUFS integrated, {loudness.true_peak:.1f} dBTP true peak, "
        f"range {loudness.loudness_range:.1f} LU",
    ]
    chapters = sorted(
        (frame for key, frame in tags.items() if key.startswith("CHAP:")), key=lambda frame: frame.start_time
    )
    lines.append(f"Chapters:   {len(chapters)}")
    for frame in chapters:
        title = frame.sub_frames["TIT2"].text[0] if "TIT2" in frame.sub_frames else frame.element_id
        lines.append(f"  {clock(frame.start_time)}  {title}")
    lines.append(f"Render again: {render_command(settings, options, path)}")
    return "\n".join(lines) + "\n"
