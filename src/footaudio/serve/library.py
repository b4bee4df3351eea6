"""The routines in the served folder and its set folders, read from their tags and kept while unchanged."""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..audio.tags import read_chapters, settings_payload, written_length_ms
from ..sets.feed import Chapter, Episode

__all__ = ["Library", "RoutineFile"]


@dataclass(frozen=True)
class RoutineFile:
    """One MP3 in the served folder, as the page and the feed show it."""

    file: str
    """Path relative to the served folder, with ``/`` separators."""

    title: str
    length_ms: int
    size: int
    mtime_ns: int
    settings: dict
    """The settings footaudio stored in the tag (empty for other MP3s)."""

    chapters: tuple[Chapter, ...]
    captions: str | None
    """Relative path of the WebVTT captions beside it, if any."""

    album: str | None
    track: int | None
    guid: str

    def episode(self) -> Episode:
        """The routine as a podcast episode."""
        settings = self.settings
        summary = ""
        if settings:
            summary = f"Guided {settings.get('mode')} foot massage, {settings.get('pressure')} pressure."
        return Episode(
            file=self.file,
            title=self.title,
            length_ms=self.length_ms,
            size=self.size,
            published=self.mtime_ns / 1e9,
            guid=self.guid,
            summary=summary,
            chapters=self.chapters,
            track=self.track,
            transcript=self.captions,
        )

    def to_dict(self) -> dict:
        """What the page needs, as JSON values."""
        return {
            "file": self.file,
            "title": self.title,
            "length_ms": self.length_ms,
            "size": self.size,
            "mode": self.settings.get("mode"),
            "pressure": self.settings.get("pressure"),
            "minutes": self.settings.get("minutes"),
            "album": self.album,
            "chapters": [{"title": c.title, "start_ms": c.start_ms, "end_ms": c.end_ms} for c in self.chapters],
            "captions": self.captions,
        }


def _read(root: Path, path: Path, stat: os.stat_result) -> RoutineFile:
    from mutagen import MutagenError
    from mutagen.id3 import ID3

    relative = path.relative_to(root).as_posix()
    try:
        tags = ID3(str(path))
    except (MutagenError, OSError):
        tags = None
    stored: dict = {}
    chapters: tuple[Chapter, ...] = ()
    title, length_ms, album, track = path.stem, 0, None, None
    if tags is not None:
        stored = settings_payload(tags) or {}
        title = str(tags.get("TIT2", title))
        length_ms = written_length_ms(tags) or 0
        album = str(tags["TALB"]) if "TALB" in tags else None
        try:
            track = int(str(tags["TRCK"]).split("/")[0]) if "TRCK" in tags else None
        except ValueError:
            track = None
        chapters = tuple(Chapter(c.title, c.start_ms, c.end_ms) for c in read_chapters(tags))
    if not length_ms:
        from mutagen.mp3 import MP3

        try:
            length_ms = round(getattr(MP3(str(path)).info, "length", 0) * 1000)
        except (MutagenError, OSError):
            length_ms = 0
    vtt = path.with_suffix(".vtt")
    captions = PurePosixPath(relative).with_suffix(".vtt").as_posix() if vtt.is_file() else None
    # Stable while the file is: the digest of its inputs when footaudio wrote it, else its name, size and time.
    identity = stored.get("inputs") or f"{relative}:{stat.st_size}:{stat.st_mtime_ns}"
    return RoutineFile(
        file=relative,
        title=title,
        length_ms=length_ms,
        size=stat.st_size,
        mtime_ns=stat.st_mtime_ns,
        settings=stored.get("settings", {}) if isinstance(stored, dict) else {},
        chapters=chapters,
        captions=captions,
        album=album,
        track=track,
        guid=hashlib.sha256(f"{relative}\0{identity}".encode()).hexdigest()[:32],
    )


class Library:
    """The MP3s in ``folder`` and its direct subfolders (routine sets); tags are read once per file version."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._known: dict[Path, tuple[int, int, RoutineFile]] = {}
        self._lock = threading.Lock()

    def _candidates(self) -> list[Path]:
        found = []
        folders = [self.folder]
        try:
            with os.scandir(self.folder) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(Path(entry.path))
                    elif entry.name.lower().endswith(".mp3") and entry.is_file(follow_symlinks=False):
                        found.append(Path(entry.path))
            for sub in folders[1:]:
                with os.scandir(sub) as entries:
                    found += [
                        Path(entry.path)
                        for entry in entries
                        if not entry.name.startswith(".")
                        and entry.name.lower().endswith(".mp3")
                        and entry.is_file(follow_symlinks=False)
                    ]
        except OSError:
            pass
        return found

    def routines(self) -> list[RoutineFile]:
        """Every routine, sets in name order, each set by track then name."""
        root = self.folder.resolve()
        listed = []
        with self._lock:
            seen = set()
            for path in self._candidates():
                try:
                    stat = path.stat()
                except OSError:
                    continue
                seen.add(path)
                known = self._known.get(path)
                if known is None or known[:2] != (stat.st_mtime_ns, stat.st_size):
                    known = (stat.st_mtime_ns, stat.st_size, _read(root, root / path.relative_to(self.folder), stat))
                    self._known[path] = known
                listed.append(known[2])
            for gone in set(self._known) - seen:
                del self._known[gone]
        return sorted(
            listed,
            key=lambda r: (PurePosixPath(r.file).parent.as_posix(), r.track or 0, r.file),
        )
