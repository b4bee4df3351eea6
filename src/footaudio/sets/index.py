"""The index of a routine set's folder: manifest, playlist and podcast feed, rebuilt from the files."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from .._version import __version__
from ..audio.tags import read_chapters, settings_payload, written_length_ms
from ..errors import RenderError, UsageError
from ..files import read_regular, write_atomic
from .setfile import RoutineSet

__all__ = [
    "FEED",
    "MANIFEST",
    "PLAYLIST",
    "check_feed_url",
    "check_index_files",
    "index_files",
    "index_written_by_footaudio",
    "write_index",
]

MANIFEST = "manifest.json"
PLAYLIST = "playlist.m3u8"
FEED = "feed.xml"


def check_feed_url(url: str) -> None:
    """A feed needs the address the folder is served at."""
    from urllib.parse import urlparse

    parts = urlparse(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--feed-url {url!r} is not an http(s) URL; use e.g. --feed-url https://example.org/feet.")


def index_files(folder: Path, feed_url: str | None = None) -> tuple[Path, ...]:
    """The index files ``write_index`` writes into ``folder``."""
    return tuple(folder / name for name in (MANIFEST, PLAYLIST) + ((FEED,) if feed_url else ()))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


INDEX_LIMIT = 50_000_000
"""Largest index file read back, in bytes."""


def index_written_by_footaudio(path: Path) -> bool:
    """Whether the index file at ``path`` (manifest, playlist or feed) is one footaudio wrote."""
    if path.is_symlink():
        return False
    try:
        data = read_regular(path, INDEX_LIMIT)
    except (OSError, ValueError):
        return False
    if path.name == MANIFEST:
        try:
            document = json.loads(data)
        except (ValueError, RecursionError):
            return False
        return isinstance(document, dict) and "footaudio" in document and "routines" in document
    # Playlists and feeds say so; older playlists did not, but sit beside footaudio's manifest.
    return b"made by footaudio" in data or index_written_by_footaudio(path.parent / MANIFEST)


def check_index_files(folder: Path, feed_url: str | None, force: bool) -> None:
    """Refuse, before any work, to replace index files footaudio did not write (unless ``force``)."""
    if force:
        return
    for name in (MANIFEST, PLAYLIST, *([FEED] if feed_url else [])):
        path = folder / name
        if os.path.lexists(path) and not index_written_by_footaudio(path):
            raise UsageError(
                f"{path} exists and was not written by footaudio; use --force to replace it, "
                "or choose another output folder."
            )


def write_index(
    routine_set: RoutineSet, folder: Path, feed_url: str | None = None, *, force: bool = False
) -> list[str]:
    """Rebuild ``manifest.json``, ``playlist.m3u8`` (and ``feed.xml``) from the files in ``folder``.

    Returns the file names of routines that are not rendered yet. Hashes of files whose
    size and modification time are unchanged are taken from the previous manifest.
    """
    if not folder.is_dir():
        raise UsageError(f"folder {folder} does not exist; render the set first, or check --output.")
    if feed_url is not None:
        check_feed_url(feed_url)
    from mutagen.id3 import ID3, ID3NoHeaderError

    previous: dict[str, dict[str, Any]] = {}
    check_index_files(folder, feed_url, force)
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError, RecursionError):
        old = json.loads(read_regular(folder / MANIFEST, INDEX_LIMIT))
        previous = {entry["file"]: entry for entry in old["routines"]}
    entries = []
    missing = []
    for spec in routine_set.routines:
        path = folder / spec.filename
        if not path.exists():
            missing.append(spec.filename)
            continue
        stat = path.stat()
        known = previous.get(spec.filename, {})
        if known.get("size") == stat.st_size and known.get("mtime_ns") == stat.st_mtime_ns and known.get("sha256"):
            sha256 = known["sha256"]
        else:
            sha256 = _sha256(path)
        try:
            tags = ID3(str(path))
        except ID3NoHeaderError:
            missing.append(spec.filename)
            continue
        stored = settings_payload(tags) or {}
        chapters = [
            {"title": chapter.title, "start_ms": chapter.start_ms, "end_ms": chapter.end_ms}
            for chapter in read_chapters(tags)
        ]
        entries.append(
            {
                "file": spec.filename,
                "track": spec.track,
                "title": str(tags.get("TIT2", spec.settings.title)),
                "length_ms": max(0, written_length_ms(tags) or 0),
                "settings": stored.get("settings", spec.settings.to_dict()),
                "audio": stored.get("audio", spec.options.to_dict()),
                "inputs": stored.get("inputs"),
                "chapters": chapters,
                "sha256": sha256,
                "size": stat.st_size,
                "mtime_ns": stat.st_mtime_ns,
            }
        )
    manifest = {"set": routine_set.name, "footaudio": __version__, "routines": entries, "missing": missing}
    try:
        ours = index_written_by_footaudio
        write_atomic(
            folder / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", ours=ours, force=force
        )
        playlist = ["#EXTM3U", f"#PLAYLIST:{routine_set.name}"]
        for entry in entries:
            playlist += [f"#EXTINF:{round(entry['length_ms'] / 1000)},{entry['title']}", entry["file"]]
        playlist.append("# made by footaudio")
        write_atomic(folder / PLAYLIST, "\n".join(playlist) + "\n", ours=ours, force=force)
        if feed_url:
            write_atomic(folder / FEED, _feed(routine_set, folder, entries, feed_url), ours=ours, force=force)
    except OSError as exc:
        raise RenderError(
            f"cannot write the index files in {folder} ({exc.strerror or exc}); check the folder and free space."
        ) from None
    return missing


def _feed(routine_set: RoutineSet, folder: Path, entries: list[dict[str, Any]], feed_url: str) -> str:
    from .feed import episode_from_manifest, feed_xml, file_url, publish_companions

    episodes = [episode_from_manifest(entry) for entry in entries]
    covers = (spec.options.cover_image("'cover'") for spec in routine_set.routines if spec.options.cover)
    cover = publish_companions(folder, episodes, next(covers, None))
    url = file_url(feed_url)
    return feed_xml(
        routine_set.name, episodes, url, link=feed_url, cover=cover, self_url=url(FEED),
        available=lambda relative: (folder / relative).is_file(),
    )  # fmt: skip
