"""The podcast feed of a folder of routines: RSS with iTunes, Podcasting 2.0 and Podlove chapters.

``feed_xml`` and ``chapters_json`` are pure (episodes in, text out); ``publish_companions``
writes the files a feed points at (the cover and a JSON chapters file per routine).
Everything in the feed comes from the files, never from the time of the run, so
rebuilding it from the same files gives the same bytes.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from ..files import write_atomic

__all__ = [
    "CHAPTERS_SUFFIX",
    "DEFAULT_COVER",
    "Chapter",
    "Episode",
    "chapters_json",
    "default_cover_png",
    "episode_from_manifest",
    "feed_xml",
    "file_url",
    "publish_companions",
]

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST = "https://podcastindex.org/namespace/1.0"
PSC = "http://podlove.org/simple-chapters"
ATOM = "http://www.w3.org/2005/Atom"
CHAPTERS_SUFFIX = ".chapters.json"
DEFAULT_COVER = "cover.png"
COVER_SIZE = 1400
"""Podcast directories ask for square covers of at least 1400 pixels."""


@dataclass(frozen=True)
class Chapter:
    """One step of a routine, as a chapter."""

    title: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class Episode:
    """One routine as a podcast episode."""

    file: str
    """Path of the MP3 relative to the feed's folder, with ``/`` separators."""

    title: str
    length_ms: int
    size: int
    """File size in bytes."""

    published: float
    """When the file was written (its modification time, in seconds since the epoch)."""

    guid: str
    """Stays the same as long as the file does."""

    summary: str = ""
    """A line about the routine (mode, pressure)."""

    chapters: tuple[Chapter, ...] = ()
    track: int | None = None
    transcript: str | None = None
    """Relative path of the WebVTT captions, if written."""

    @property
    def chapters_file(self) -> str:
        """Relative path of the routine's JSON chapters file."""
        return str(PurePosixPath(self.file).with_suffix(CHAPTERS_SUFFIX))

    @property
    def description(self) -> str:
        """The summary and a list of the steps with their start times."""
        lines = [self.summary] if self.summary else []
        if self.chapters:
            lines.append("Steps:")
            lines += [f"{_clock(chapter.start_ms)} {chapter.title}" for chapter in self.chapters]
        return "\n".join(lines)


def episode_from_manifest(entry: Mapping[str, Any]) -> Episode:
    """An episode from an entry of a routine set's ``manifest.json``."""
    settings = entry.get("settings", {})
    summary = f"Guided {settings.get('mode', '')} foot massage, {settings.get('pressure', '')} pressure."
    return Episode(
        file=entry["file"],
        title=entry["title"],
        length_ms=entry["length_ms"],
        size=entry["size"],
        published=entry["mtime_ns"] / 1e9,
        guid=entry["sha256"],
        summary=summary,
        chapters=tuple(Chapter(c["title"], c["start_ms"], c["end_ms"]) for c in entry.get("chapters", ())),
        track=entry.get("track"),
        transcript=str(PurePosixPath(entry["file"]).with_suffix(".vtt")),
    )


def _clock(ms: int) -> str:
    seconds = ms // 1000
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _npt(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    return f"{hours:02d}:{rest // 60_000:02d}:{rest % 60_000 // 1000:02d}.{ms % 1000:03d}"


def file_url(base_url: str) -> Callable[[str], str]:
    """The URL of each relative file path under ``base_url``, percent-encoded."""
    # Characters a URL may hold stay (an escape already in the address too); a space becomes %20.
    base = quote(base_url.rstrip("/"), safe=":/?#[]@!$&'()*+,;=%~")
    return lambda relative: f"{base}/{quote(relative)}"


def chapters_json(episode: Episode) -> str:
    """Podcasting 2.0 JSON chapters (``application/json+chapters``) of a routine."""
    chapters = [
        {"startTime": chapter.start_ms / 1000, "endTime": chapter.end_ms / 1000, "title": chapter.title}
        for chapter in episode.chapters
    ]
    return json.dumps({"version": "1.2.0", "title": episode.title, "chapters": chapters}, indent=2) + "\n"


def feed_xml(
    title: str,
    episodes: Iterable[Episode],
    url: Callable[[str], str],
    *,
    link: str,
    cover: str | None = DEFAULT_COVER,
    self_url: str | None = None,
    available: Callable[[str], bool] | None = None,
) -> str:
    """The RSS feed of ``episodes``; ``url`` turns a relative file path into its absolute URL.

    ``available`` says whether a companion file (captions) exists; by default every
    episode with a ``transcript`` has one.
    """
    import xml.etree.ElementTree as ET
    from email.utils import formatdate

    for prefix, namespace in (("itunes", ITUNES), ("podcast", PODCAST), ("psc", PSC), ("atom", ATOM)):
        ET.register_namespace(prefix, namespace)
    rss = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(rss, "channel")
    ET.SubElement(channel, "title").text = title
    ET.SubElement(channel, "link").text = link
    if self_url:
        ET.SubElement(channel, f"{{{ATOM}}}link", {"href": self_url, "rel": "self", "type": "application/rss+xml"})
    ET.SubElement(channel, "description").text = f"{title}: guided foot massage routines made by footaudio."
    ET.SubElement(channel, "language").text = "en"
    ET.SubElement(channel, "generator").text = "footaudio"
    ET.SubElement(channel, f"{{{ITUNES}}}author").text = "footaudio"
    ET.SubElement(channel, f"{{{ITUNES}}}explicit").text = "false"
    ET.SubElement(channel, f"{{{ITUNES}}}category", {"text": "Health & Fitness"})
    if cover:
        cover_url = url(cover)
        ET.SubElement(channel, f"{{{ITUNES}}}image", {"href": cover_url})
        image = ET.SubElement(channel, "image")
        ET.SubElement(image, "url").text = cover_url
        ET.SubElement(image, "title").text = title
        ET.SubElement(image, "link").text = link
    for episode in episodes:
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = episode.title
        ET.SubElement(item, "description").text = episode.description
        ET.SubElement(item, f"{{{ITUNES}}}summary").text = episode.description
        ET.SubElement(item, "guid", {"isPermaLink": "false"}).text = episode.guid
        ET.SubElement(item, "pubDate").text = formatdate(int(episode.published), usegmt=True)
        ET.SubElement(item, "enclosure", {"url": url(episode.file), "length": str(episode.size), "type": "audio/mpeg"})
        seconds = round(episode.length_ms / 1000)
        ET.SubElement(
            item, f"{{{ITUNES}}}duration"
        ).text = f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
        if episode.track is not None:
            ET.SubElement(item, f"{{{ITUNES}}}episode").text = str(episode.track)
        if cover:
            ET.SubElement(item, f"{{{ITUNES}}}image", {"href": url(cover)})
        if episode.chapters:
            ET.SubElement(
                item, f"{{{PODCAST}}}chapters", {"url": url(episode.chapters_file), "type": "application/json+chapters"}
            )
        if episode.transcript and (available is None or available(episode.transcript)):
            ET.SubElement(
                item, f"{{{PODCAST}}}transcript", {"url": url(episode.transcript), "type": "text/vtt", "language": "en"}
            )
        if episode.chapters:
            simple = ET.SubElement(item, f"{{{PSC}}}chapters", {"version": "1.2"})
            for chapter in episode.chapters:
                ET.SubElement(simple, f"{{{PSC}}}chapter", {"start": _npt(chapter.start_ms), "title": chapter.title})
    ET.indent(rss, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(rss, encoding="unicode") + "\n"


@cache
def default_cover_png() -> bytes:
    """A calm square cover (a dusk gradient with a warm disc) as PNG, made without image libraries."""
    size = COVER_SIZE
    top, bottom, disc = (38, 52, 84), (112, 86, 128), (244, 190, 120)
    centre, radius = size / 2, size * 0.28
    rows = []
    for y in range(size):
        shade = bytes(round(a + (b - a) * y / (size - 1)) for a, b in zip(top, bottom, strict=True))
        dy = y + 0.5 - centre
        if abs(dy) < radius:
            half = int((radius * radius - dy * dy) ** 0.5)
            left = int(centre) - half
            row = shade * left + bytes(disc) * (2 * half) + shade * (size - left - 2 * half)
        else:
            row = shade * size
        rows.append(b"\0" + row)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"".join(rows), 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _publish(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, and only if it differs (so its time stays put)."""
    try:
        if path.read_bytes() == data:
            return
    except OSError:
        pass
    write_atomic(path, data)


def publish_companions(folder: Path, episodes: Iterable[Episode], cover: tuple[bytes, str] | None = None) -> str:
    """Write the cover and each routine's chapters file into ``folder``; return the cover's file name.

    ``cover`` is the set's own image (bytes and MIME type); without one a default cover is written.
    """
    if cover is None:
        name, data = DEFAULT_COVER, default_cover_png()
    else:
        data, mime = cover
        name = "cover.jpg" if mime == "image/jpeg" else "cover.png"
    _publish(folder / name, data)
    for episode in episodes:
        if episode.chapters:
            _publish(folder / episode.chapters_file, chapters_json(episode).encode())
    return name
