"""Files the server may hand out: only plain files inside the served folder, never hidden or temporary ones.

Every request path goes through ``resolve``; anything it refuses is answered like a missing
file, so a refusal reveals nothing about what exists.
"""

from __future__ import annotations

from email.utils import parsedate
from pathlib import Path

__all__ = ["CHAPTERS_TYPE", "MEDIA_TYPES", "media_type", "not_modified", "resolve"]

MEDIA_TYPES = {
    ".mp3": "audio/mpeg",
    ".vtt": "text/vtt; charset=utf-8",
    ".lrc": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".m3u8": "application/vnd.apple.mpegurl",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}
"""The only kinds of file served, by suffix."""

CHAPTERS_TYPE = "application/json+chapters"


def media_type(path: Path) -> str:
    """The Content-Type of a servable file (JSON chapters files get their own)."""
    if path.name.endswith(".chapters.json"):
        return CHAPTERS_TYPE
    return MEDIA_TYPES[path.suffix.lower()]


def resolve(folder: Path, relative: str) -> Path | None:
    """The file ``relative`` names inside ``folder``, or ``None`` if it may not be served.

    ``relative`` is the decoded request path. Refused: empty, absolute or backslashed paths,
    ``.`` and ``..`` parts, hidden names (which covers footaudio's ``.footaudio-*.part``
    temporaries and ``.footaudio.lock``), unknown suffixes, folders, and symlinks that lead
    outside the folder.
    """
    if not relative or "\\" in relative or "\0" in relative or relative.startswith("/"):
        return None
    parts = relative.split("/")
    if any(not part or part.startswith(".") for part in parts):
        return None
    if Path(parts[-1]).suffix.lower() not in MEDIA_TYPES:
        return None
    root = folder.resolve()
    try:
        target = root.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not target.is_relative_to(root) or not target.is_file():
        return None
    # A symlink inside the folder may point at another file inside it, but the name served is checked too.
    inside = target.relative_to(root).parts
    if any(part.startswith(".") for part in inside) or target.suffix.lower() not in MEDIA_TYPES:
        return None
    return target


def not_modified(etag: str, last_modified: str, if_none_match: str | None, if_modified_since: str | None) -> bool:
    """Whether a conditional GET may be answered with 304 (If-None-Match wins over If-Modified-Since)."""
    if if_none_match is not None:
        if if_none_match.strip() == "*":
            return True
        return etag in [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    if if_modified_since is not None:
        since, modified = parsedate(if_modified_since), parsedate(last_modified)
        return since is not None and modified is not None and since >= modified
    return False
