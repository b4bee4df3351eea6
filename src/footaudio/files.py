"""Files footaudio writes: the cache folder, atomic publishing, temporary files and folder locks.

Every writer (MP3s, captions, index files, clips, chimes) goes through here, so every
temporary file has one naming scheme and one sweep removes what a killed run left behind.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from .errors import UsageError

__all__ = [
    "CACHE_ENV",
    "LOCK_NAME",
    "TEMP_PREFIX",
    "default_cache_dir",
    "folder_lock",
    "process_alive",
    "remove_stale_temporaries",
    "temporary_path",
    "write_atomic",
]

CACHE_ENV = "FOOTAUDIO_CACHE"
TEMP_PREFIX = ".footaudio-"
LOCK_NAME = ".footaudio.lock"


def default_cache_dir() -> Path:
    """``FOOTAUDIO_CACHE`` if set, else the platform's user cache folder."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("footaudio", appauthor=False)) / "clips"


def temporary_path(destination: Path) -> Path:
    """The hidden file a writer fills before renaming it to ``destination``."""
    return destination.with_name(f"{TEMP_PREFIX}{os.getpid()}-{destination.name}.part")


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write ``content`` to ``path`` through a temporary file, so readers see all or nothing."""
    temporary = temporary_path(path)
    try:
        if isinstance(content, str):
            temporary.write_text(content, encoding="utf-8")
        else:
            temporary.write_bytes(content)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def process_alive(pid: int) -> bool:
    """Whether a process with this id is running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def remove_stale_temporaries(folder: Path) -> int:
    """Delete half-written files that a killed footaudio process left behind; return how many."""
    removed = 0
    for path in folder.glob(f"{TEMP_PREFIX}*.part"):
        pid_text = path.name[len(TEMP_PREFIX) :].split("-", 1)[0]
        if pid_text.isdigit() and int(pid_text) != os.getpid() and not process_alive(int(pid_text)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
    return removed


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """One batch per output folder at a time; a lock left by a killed run is taken over."""
    lock = folder / LOCK_NAME
    for _ in range(2):
        try:
            handle = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                owner = int(lock.read_text().strip() or 0)
            except (OSError, ValueError):
                owner = 0
            if owner and process_alive(owner):
                raise UsageError(
                    f"another footaudio batch (process {owner}) is writing to {folder}; "
                    "wait for it to finish or choose another output folder."
                ) from None
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
            continue
        with os.fdopen(handle, "w") as file:
            file.write(str(os.getpid()))
        try:
            yield
        finally:
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
        return
    raise UsageError(f"cannot lock {folder}; remove {lock} if no footaudio batch is running.")
