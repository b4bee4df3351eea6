"""ID3 tags (v2.3, for the widest player support): title, artist, settings and chapters."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ..script.timeline import Timeline
from ..settings import AudioOptions, Settings

__all__ = [
    "DEFAULT_ALBUM",
    "SETTINGS_TAG",
    "RoutineTags",
    "SetContext",
    "StoredChapter",
    "order_chapters",
    "read_chapters",
    "read_settings_tag",
    "settings_payload",
    "write_tags",
    "written_length_ms",
]

SETTINGS_TAG = "footaudio-settings"
"""TXXX description of the frame that holds the exact settings as JSON."""

DEFAULT_ALBUM = "footaudio routines"


@dataclass(frozen=True)
class SetContext:
    """A routine's place in a routine set: what its tags say about the set."""

    album: str
    """The set's name, the album tag of every file in it."""

    track: tuple[int, int]
    """Track number and total number of routines in the set."""

    inputs: str | None = None
    """Digest of everything the file is made from; the set uses it to skip up-to-date files."""


@dataclass(frozen=True)
class RoutineTags:
    """What goes into a routine's ID3 tag besides the timeline."""

    settings: Settings
    """The routine's settings (title and the settings frame come from them)."""

    version: str
    """footaudio version that rendered the file."""

    options: AudioOptions = field(default_factory=AudioOptions)
    """How it was produced (stored with the settings; decides captions and cover)."""

    album: str = DEFAULT_ALBUM
    """Album: the routine set's name, or a default."""

    track: tuple[int, int] | None = None
    """Track number and total when the routine is part of a set."""

    inputs: str | None = None
    """Digest of everything the file was made from (routine sets use it to skip unchanged files)."""

    engine_id: str | None = None
    """The engine that spoke it (``auto`` resolved), e.g. ``piper-en_US-joe-medium``."""


def write_tags(path: Path, tags: RoutineTags, timeline: Timeline) -> None:
    """Write title, artist, album, genre, year, settings and one chapter per step."""
    from mutagen.id3 import (
        APIC,
        CHAP,
        COMM,
        CTOC,
        ID3,
        SYLT,
        TALB,
        TCON,
        TIT2,
        TLEN,
        TPE1,
        TRCK,
        TSSE,
        TXXX,
        TYER,
        USLT,
        CTOCFlags,
    )

    id3 = ID3()
    settings = tags.settings
    id3.add(TIT2(encoding=1, text=settings.title))
    id3.add(TPE1(encoding=1, text="footaudio"))
    id3.add(TALB(encoding=1, text=tags.album))
    id3.add(TCON(encoding=1, text="Meditation"))
    id3.add(TYER(encoding=1, text=str(date.today().year)))
    id3.add(TSSE(encoding=1, text=f"footaudio {tags.version}"))
    id3.add(TLEN(encoding=1, text=str(timeline.total_ms)))
    if tags.track is not None:
        id3.add(TRCK(encoding=1, text=f"{tags.track[0]}/{tags.track[1]}"))
    cover = tags.options.cover_image()
    if cover is not None:
        data, mime = cover
        id3.add(APIC(encoding=1, mime=mime, type=3, desc="Cover", data=data))
    if tags.options.captions:
        speech = [item for item in timeline.items if item.kind == "speech"]
        id3.add(SYLT(encoding=1, lang="eng", format=2, type=1, desc="", text=[(i.text, i.start_ms) for i in speech]))
        id3.add(USLT(encoding=1, lang="eng", desc="", text="\n".join(item.text or "" for item in speech)))
    id3.add(
        COMM(
            encoding=1, lang="eng", desc="", text=f"Guided {settings.mode} foot massage, {settings.pressure} pressure."
        )
    )
    payload = {"footaudio": tags.version, "settings": settings.to_dict(), "audio": tags.options.to_dict()}
    if tags.inputs is not None:
        payload["inputs"] = tags.inputs
    if tags.engine_id:
        payload["engine"] = tags.engine_id
    id3.add(TXXX(encoding=1, desc=SETTINGS_TAG, text=json.dumps(payload, sort_keys=True)))
    chapter_ids = []
    for index, step in enumerate(timeline.steps):
        element_id = f"chp{index:03d}"
        chapter_ids.append(element_id)
        id3.add(
            CHAP(
                element_id=element_id,
                start_time=step.start_ms,
                end_time=step.end_ms,
                start_offset=0xFFFFFFFF,
                end_offset=0xFFFFFFFF,
                sub_frames=[TIT2(encoding=1, text=step.title)],
            )
        )
    if chapter_ids:
        id3.add(
            CTOC(
                element_id="toc",
                flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                child_element_ids=chapter_ids,
                sub_frames=[TIT2(encoding=1, text="Steps")],
            )
        )
    id3.save(str(path), v2_version=3)
    order_chapters(path)


def order_chapters(path: Path) -> None:
    """Store the tag's CHAP frames in time order, in place.

    mutagen writes frames sorted by size, so chapters land scrambled; readers that walk
    the frames (ffmpeg, eyeD3) then list the steps out of order. Only the CHAP frames swap
    places among themselves, so the tag keeps its size and every other frame its offset.
    """
    with open(path, "r+b") as file:
        header = file.read(10)
        if len(header) < 10 or header[:3] != b"ID3" or header[3] not in (3, 4) or header[5] & 0xC0:
            return  # not a plain v2.3/v2.4 tag as mutagen writes it: leave it alone
        size = (header[6] << 21) | (header[7] << 14) | (header[8] << 7) | header[9]
        body = file.read(size)
        frames: list[bytes] = []
        offset = 0
        while offset + 10 <= len(body) and body[offset : offset + 4] != b"\0\0\0\0":
            raw = body[offset + 4 : offset + 8]
            length = int.from_bytes(raw, "big")
            if header[3] == 4:
                length = (raw[0] << 21) | (raw[1] << 14) | (raw[2] << 7) | raw[3]
            frames.append(body[offset : offset + 10 + length])
            offset += 10 + length
        slots = [index for index, frame in enumerate(frames) if frame[:4] == b"CHAP"]

        def start_ms(frame: bytes) -> int:
            end = frame.index(b"\0", 10)
            return int.from_bytes(frame[end + 1 : end + 5], "big")

        ordered = sorted((frames[index] for index in slots), key=start_ms)
        for index, frame in zip(slots, ordered, strict=True):
            frames[index] = frame
        file.seek(10)
        file.write(b"".join(frames))


@dataclass(frozen=True)
class StoredChapter:
    """A chapter as stored in a file's CHAP frame."""

    start_ms: int
    """Start of the step."""

    end_ms: int
    """End of the step."""

    title: str
    """The step's title."""


def read_chapters(id3: Any) -> list[StoredChapter]:
    """The CHAP frames of a loaded ID3 tag, in time order."""
    chapters = [
        StoredChapter(
            frame.start_time,
            frame.end_time,
            frame.sub_frames["TIT2"].text[0] if "TIT2" in frame.sub_frames else frame.element_id,
        )
        for key, frame in id3.items()
        if key.startswith("CHAP:")
    ]
    return sorted(chapters, key=lambda chapter: chapter.start_ms)


def settings_payload(id3: Any) -> dict | None:
    """The settings footaudio stored in a loaded ID3 tag, or ``None`` if it has none (or it is damaged)."""
    frame = id3.get(f"TXXX:{SETTINGS_TAG}") if id3 is not None else None
    if frame is None:
        return None
    try:
        payload = json.loads(frame.text[0])
    except (ValueError, IndexError, RecursionError):
        return None
    return payload if isinstance(payload, dict) else None


def written_length_ms(id3: Any) -> int | None:
    """The routine's length in milliseconds as written into a loaded ID3 tag (``TLEN``).

    ``None`` if there is none or it is not a whole number (a damaged or forged tag).
    """
    frame = id3.get("TLEN") if id3 is not None else None
    if frame is None:
        return None
    try:
        return int(str(frame.text[0]).strip())
    except (ValueError, IndexError, AttributeError):
        return None


def read_settings_tag(path: Path) -> dict | None:
    """The settings footaudio stored in a file, or ``None`` if it has none."""
    from mutagen import MutagenError
    from mutagen.id3 import ID3

    try:
        id3 = ID3(str(path))
    except (MutagenError, OSError):
        return None
    return settings_payload(id3)
