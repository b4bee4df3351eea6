"""Files footaudio writes: the cache folder, atomic publishing, temporary files and folder locks.

Every writer (MP3s, captions, index files, clips, chimes) goes through here, so every
temporary file has one naming scheme and one sweep removes what a killed run left behind.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import os
import secrets
import socket
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .errors import RenderError, UsageError

__all__ = [
    "CACHE_ENV",
    "LOCK_NAME",
    "TEMP_PREFIX",
    "default_cache_dir",
    "folder_busy",
    "folder_lock",
    "machine_tag",
    "publish",
    "read_regular",
    "remove_stale_temporaries",
    "stop_signals_held",
    "temporary_file",
    "temporary_path",
    "write_atomic",
]

CACHE_ENV = "FOOTAUDIO_CACHE"
TEMP_PREFIX = ".footaudio-"
LOCK_NAME = ".footaudio.lock"
STALE_AFTER_S = 3600.0
"""A temporary file made on another machine is only removed when unlocked and untouched this long.

On one kernel the owner's lock is proof enough; across machines (NFS, shared volumes) a lock
may not travel, so age is required as well. A live writer touches its file continuously."""


def default_cache_dir() -> Path:
    """``FOOTAUDIO_CACHE`` if set, else the platform's user cache folder."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        try:
            return Path(configured).expanduser()
        except RuntimeError:  # ~nosuchuser/...
            raise UsageError(
                f"{CACHE_ENV}={configured!r} names a user that does not exist; set it to a folder path."
            ) from None
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("footaudio", appauthor=False)) / "clips"


@functools.cache
def machine_tag() -> str:
    """A short name for this kernel and host: temporary names made here carry it.

    Two machines (or two containers with their own kernel view) sharing a folder never
    make the same temporary name, and a sweep knows which files were made on its own kernel,
    where the owner's lock is authoritative.
    """
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = ""
    material = f"{socket.gethostname()}\0{boot}"
    return hashlib.sha256(material.encode("utf-8", "replace")).hexdigest()[:10]


def temporary_path(destination: Path) -> Path:
    """A hidden name, unique across machines and processes, for a file that becomes ``destination``."""
    token = secrets.token_hex(4)
    return destination.with_name(f"{TEMP_PREFIX}{machine_tag()}-{os.getpid()}-{token}-{destination.name}.part")


@contextlib.contextmanager
def temporary_file(destination: Path) -> Iterator[Path]:
    """A new temporary file for ``destination``, locked by this process until the block ends.

    The lock (``flock`` on the file itself) is what tells a sweep the owner is alive; the file
    is made under a name the sweep ignores and renamed once locked, so it is never seen unlocked.
    Whatever is left at the temporary name when the block ends is removed.
    """
    temporary = temporary_path(destination)
    unlocked = temporary.with_name(temporary.name[: -len(".part")] + ".new")
    handle = -1
    made: list[Path] = []
    try:
        # A stop (Ctrl-C, SIGTERM) waits until the file is made and this block's cleanup knows it.
        with stop_signals_held():
            handle = os.open(unlocked, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
            made.append(unlocked)
            _lock(handle, blocking=True)
            os.rename(unlocked, temporary)
            made[:] = [temporary]
            _held[temporary] = handle
        yield temporary
    finally:
        with stop_signals_held():  # a second stop must not cut the cleanup short either
            _held.pop(temporary, None)
            for path in made:
                with contextlib.suppress(OSError):
                    path.unlink()  # the name is this process's alone, whatever is there now
            if handle >= 0:
                os.close(handle)


@contextlib.contextmanager
def stop_signals_held() -> Iterator[None]:
    """Hold back SIGINT and SIGTERM until the block ends; then handle them as usual.

    For the few lines that make something only a ``finally`` can undo (a temporary file, a
    child process) and the lines that undo it. Blocking the signals (``pthread_sigmask``) is not
    enough: the kernel hands a process's signal to any thread that does not block it (a watchdog,
    a queue's feeder), and Python then runs the handler in the main thread all the same. So the
    handlers are swapped for one that only notes the signal, and a noted signal is raised again
    once they are back. Python runs handlers in the main thread only, so nothing in any other
    thread can be interrupted: there this holds nothing.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted: list[int] = []

    def note(signum: int, frame: object) -> None:
        if signum not in noted:
            noted.append(signum)

    previous: dict[int, Any] = {}
    try:
        for signum in (int(signal.SIGINT), int(signal.SIGTERM)):
            handler = signal.getsignal(signum)
            if handler is not None:  # None: installed outside Python, cannot be put back
                previous[signum] = handler
                signal.signal(signum, note)
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in noted:
            signal.raise_signal(signum)  # the real handler runs now, with the caller's cleanup armed


_held: dict[Path, int] = {}
"""The open, locked handle of each temporary file this process is writing."""


def publish(temporary: Path, destination: Path, *, force: bool, ours: Callable[[Path], bool]) -> None:
    """Move a finished temporary file (from :func:`temporary_file`) to ``destination``.

    The temporary file must still be the one this process made (nothing removed or replaced
    it meanwhile). Ownership of the destination is checked again now, not only before the
    work started: where nothing is there, a hard link claims the name atomically; anything
    there (a symbolic link too, even a dangling one) is replaced only if ``ours`` says
    footaudio wrote it, or with ``force``.
    """
    handle = _held.get(temporary)
    if handle is not None and not _same_file(handle, temporary):
        raise RenderError(
            f"the temporary file {temporary.name} was removed or replaced by another program while "
            f"it was written, so {destination} was left as it was; run the command again."
        )
    if not force:
        try:
            os.link(temporary, destination, follow_symlinks=False)
        except FileExistsError:
            if destination.is_symlink() or not destination.is_file() or not ours(destination):
                raise UsageError(
                    f"{destination} appeared while footaudio was writing and footaudio did not write it; "
                    "use --force to replace it, or choose another output path."
                ) from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EXDEV, errno.ENOTSUP, errno.EMLINK, errno.EACCES):
                raise
            # No hard links here (some shared file systems): check, then rename.
            if os.path.lexists(destination) and (destination.is_symlink() or not ours(destination)):
                raise UsageError(
                    f"{destination} appeared while footaudio was writing and footaudio did not write it; "
                    "use --force to replace it, or choose another output path."
                ) from None
        else:
            temporary.unlink()
            return
    os.replace(temporary, destination)


def _lock(handle: int, *, blocking: bool) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; the age rule alone protects others
        return True
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    except OSError:
        return False
    return True


def _same_file(handle: int, path: Path) -> bool:
    try:
        mine, there = os.fstat(handle), os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino)


def write_atomic(
    path: Path, content: str | bytes, *, ours: Callable[[Path], bool] | None = None, force: bool = False
) -> None:
    """Write ``content`` to ``path`` through a temporary file, so readers see all or nothing.

    With ``ours``, a file already at ``path`` is replaced only if ``ours`` says footaudio
    wrote it (or with ``force``), checked at the moment of publishing (see :func:`publish`).
    """
    with temporary_file(path) as temporary:
        if isinstance(content, str):
            temporary.write_text(content, encoding="utf-8")
        else:
            temporary.write_bytes(content)
        if ours is None:
            os.replace(temporary, path)
        else:
            publish(temporary, path, force=force, ours=ours)


def remove_stale_temporaries(folder: Path, *, now: float | None = None) -> int:
    """Delete half-written files that a dead footaudio process left behind; return how many.

    A file is removed only when nobody holds its lock, and, unless it was made on this
    kernel (where a held lock is certain), when it has not been touched for ``STALE_AFTER_S``.
    A process id is never trusted: another machine or PID namespace has its own.
    """
    removed = 0
    now = time.time() if now is None else now
    ours = f"{TEMP_PREFIX}{machine_tag()}-"
    for path in folder.glob(f"{TEMP_PREFIX}*.part"):
        try:
            handle = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            continue
        try:
            info = os.fstat(handle)
            if not stat.S_ISREG(info.st_mode):
                continue
            if not path.name.startswith(ours) and now - info.st_mtime < STALE_AFTER_S:
                continue
            if not _lock(handle, blocking=False):
                continue  # its owner is writing it
            if _same_file(handle, path):
                path.unlink()
                removed += 1
        except OSError:
            continue
        finally:
            os.close(handle)
    return removed


def read_regular(path: Path | str, limit: int) -> bytes:
    """The bytes of the regular file at ``path``, at most ``limit`` of them.

    A FIFO, a device (``/dev/zero``), a folder or a file larger than ``limit`` raises
    ``ValueError`` without hanging or reading without end; other failures raise ``OSError``.
    """
    handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file")
        if info.st_size > limit:
            raise ValueError(f"larger than {limit // 1_000_000 or 1} MB" if limit >= 1_000_000 else "too large")
        chunks = []
        remaining = limit + 1
        while remaining > 0:
            chunk = os.read(handle, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
    finally:
        os.close(handle)
    if len(data) > limit:
        raise ValueError(f"larger than {limit // 1_000_000 or 1} MB")
    return data


def _lock_owner(lock: Path) -> str:
    with contextlib.suppress(OSError, UnicodeDecodeError):
        owner = lock.read_text(encoding="utf-8").split()
        if owner and owner[0].isdigit():
            return f" (process {owner[0]})"
    return ""


@contextlib.contextmanager
def folder_lock(folder: Path, *, shared: bool = False) -> Iterator[None]:
    """Hold the folder's batch lock: exclusive for a whole set, ``shared`` for shards.

    Any number of shards (each writing its own files) may hold the lock together; a whole
    batch or a render into the folder is refused while any of them runs. The lock is a
    ``flock`` on ``.footaudio.lock``: a killed holder releases it with its last breath,
    so no process id is ever trusted. The lock file is removed by the last holder.
    """
    import fcntl

    lock = folder / LOCK_NAME
    for _ in range(5):
        try:
            handle = os.open(lock, os.O_CREAT | os.O_RDWR | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except IsADirectoryError:
            raise UsageError(f"{lock} is a folder; remove it, it is footaudio's lock file.") from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UsageError(f"{lock} is a symbolic link; remove it, it is footaudio's lock file.") from None
            raise UsageError(f"cannot create the lock file {lock} ({exc.strerror}); check the folder.") from None
        try:
            fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            raise UsageError(
                f"another footaudio batch{_lock_owner(lock)} is writing to {folder}; "
                "wait for it to finish or choose another output folder."
            ) from None
        if not _same_file(handle, lock):  # removed by its last holder meanwhile: take the new one
            os.close(handle)
            continue
        if not shared:
            os.ftruncate(handle, 0)
            os.write(handle, f"{os.getpid()} {socket.gethostname()}\n".encode())
        try:
            yield
        finally:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if _same_file(handle, lock):
                    lock.unlink()
            except OSError:
                pass  # other shards still hold it; the last one removes it
            os.close(handle)
        return
    raise UsageError(f"cannot lock {folder}; remove {lock} if no footaudio batch is running.")


def folder_busy(folder: Path) -> bool:
    """Whether a batch (or a shard) holds ``folder``'s lock right now."""
    import fcntl

    try:
        handle = os.open(folder / LOCK_NAME, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(handle)
    return False
