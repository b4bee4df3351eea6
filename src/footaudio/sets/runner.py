"""Rendering a routine set: parallel workers, a shared clip cache, resumable and idempotent.

Each file records a digest of everything it was made from (settings, sound options,
templates, engine, footaudio version, album and track), so a rerun renders only what
changed. Every file is written atomically; the index files are rebuilt afterwards.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .._version import __version__
from ..audio.tags import SetContext
from ..errors import FootaudioError, Interrupted, UsageError
from ..files import folder_lock, remove_stale_temporaries
from .index import check_feed_url, check_index_files, write_index
from .setfile import RoutineSet, RoutineSpec

__all__ = ["BatchReport", "RoutineOutcome", "inputs_digest", "parse_shard", "run_batch"]


@dataclass(frozen=True)
class RoutineOutcome:
    """What happened to one routine of the set in this run."""

    spec: RoutineSpec
    status: str
    """``rendered``, ``up to date`` or ``failed``."""

    seconds: float = 0.0
    """Wall time spent rendering it."""

    error: str | None = None
    """Why it failed."""


@dataclass
class BatchReport:
    """The outcome of a batch run."""

    folder: Path
    outcomes: list[RoutineOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        """How many routines ended with ``status``."""
        return sum(outcome.status == status for outcome in self.outcomes)

    @property
    def failed(self) -> list[RoutineOutcome]:
        """The routines that failed."""
        return [outcome for outcome in self.outcomes if outcome.status == "failed"]


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"2/4"`` -> ``(2, 4)``; ``None`` stays ``None``."""
    if text is None:
        return None
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        index = count = 0
    if not 1 <= index <= count:
        raise UsageError(f"--shard {text!r} is not K/N with 1 <= K <= N; use e.g. --shard 1/4.")
    return index, count


def _templates_digest(templates: Path | None) -> str:
    digest = hashlib.sha256()
    shipped = resources.files("footaudio.script") / "templates"
    folders: list[Any] = [shipped]
    if templates is not None:
        folders.append(Path(templates))
    for folder in folders:
        for entry in sorted(_walk(folder), key=lambda item: item[0]):
            digest.update(entry[0].encode())
            digest.update(entry[1])
    return digest.hexdigest()


def _walk(folder: Any, prefix: str = "") -> list[tuple[str, bytes]]:
    found = []
    for child in folder.iterdir():
        name = f"{prefix}{child.name}"
        if child.is_dir():
            found.extend(_walk(child, f"{name}/"))
        elif child.is_file():
            found.append((name, child.read_bytes()))
    return found


def inputs_digest(spec: RoutineSpec, album: str, total: int, template_digest: str) -> str:
    """A digest of everything a routine's file is made from; a change means a new render."""
    from ..speech.engine import default_synthesizer

    options = spec.options.to_dict()
    if spec.options.cover is not None:
        cover = spec.options.cover_image()
        options["cover"] = hashlib.sha256(cover[0]).hexdigest() if cover else None
    material = {
        "settings": spec.settings.to_dict(),
        "audio": options,
        "album": album,
        "track": [spec.track, total],
        "templates": template_digest,
        "engine": default_synthesizer(spec.settings.engine).engine_id,
        "footaudio": __version__,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def _stored_inputs(path: Path) -> str | None:
    """The inputs digest of a whole file footaudio wrote; ``None`` if missing, damaged or cut.

    Up to date means the tag matches and the audio on disk is whole and as long as
    footaudio wrote it, so a damaged or truncated file is rendered again.
    """
    from mutagen import MutagenError
    from mutagen.id3 import ID3

    from ..audio.mp3 import read_stream
    from ..audio.tags import settings_payload

    if not path.is_file() or path.is_symlink():
        return None
    try:
        tags = ID3(str(path))
        written_ms = int(str(tags["TLEN"].text[0]))
    except (MutagenError, OSError, KeyError, IndexError, ValueError):
        return None
    stored = settings_payload(tags)
    stream = read_stream(path)
    if not stored or stream is None or abs(stream.ms - written_ms) > 1:
        return None
    inputs = stored.get("inputs")
    return inputs if isinstance(inputs, str) else None


_busy = False
"""In a worker process: whether it is rendering right now."""


def _worker_started(parent: int) -> None:
    """In each worker process: stop at once on a signal, and never outlive the batch.

    SIGINT or SIGTERM during a render unwinds it (its temporary files are removed) and the
    worker exits instead of taking the next routine; between renders it exits at once.
    On Linux the kernel sends SIGTERM when the batch process dies (even by SIGKILL);
    elsewhere a watchdog thread notices the parent is gone.
    """
    import signal
    import threading

    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        if not _busy:
            os._exit(130)
        # Once: a second signal (Ctrl-C reaching the group and the pool stopping its workers,
        # the parent's death) must not cut short the cleanup the first one started.
        if not stopping:
            stopping = True
            raise Interrupted(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the batch died before the line above
        os._exit(130)

    def watchdog() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watchdog, name="footaudio-watchdog", daemon=True).start()


def _render_job(job: dict[str, Any]) -> dict[str, Any]:
    """Worker process: render one routine; failures come back as messages, not exceptions."""
    from ..pipeline import render

    global _busy
    started = time.monotonic()
    _busy = True
    try:
        render(
            job["settings"],
            job["path"],
            options=job["options"],
            templates=job["templates"],
            set_context=job["set_context"],
            force=job["force"],
        )
    except FootaudioError as exc:
        return {"ok": False, "error": exc.message}
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    except Interrupted:
        if multiprocessing.parent_process() is None:
            raise  # rendering in the batch process itself
        os._exit(130)  # the render's cleanup has run; take no further routine
    finally:
        _busy = False
    return {"ok": True, "seconds": time.monotonic() - started}


def _presynthesize(routines: list[RoutineSpec], templates: Path | None, jobs: int = 1) -> None:
    """Synthesize every distinct sentence of the set once, before the workers start.

    pyttsx3 sentences are shared among ``jobs`` engine processes speaking at once.
    """
    from concurrent.futures import ThreadPoolExecutor

    from ..pipeline import build_script
    from ..speech.cache import ClipCache, sentence_rate
    from ..speech.engine import choose_voice, default_synthesizer
    from ..speech.pyttsx3_engine import Pyttsx3Synthesizer

    wanted: dict[tuple[str, str | None], dict[tuple[str, int], None]] = {}
    for spec in routines:
        engine = spec.settings.engine
        voice = choose_voice(default_synthesizer(engine), spec.settings.voice)
        _, script = build_script(spec.settings, templates)
        requests = wanted.setdefault((engine, voice), {})
        for sentence in script.sentences:
            requests[(sentence.text, sentence_rate(spec.settings, sentence))] = None
    cache = ClipCache()
    for (engine, voice), requests in wanted.items():
        todo = list(requests)
        if engine != "pyttsx3" or jobs < 2 or len(todo) < 2 * jobs:
            cache.get_many(default_synthesizer(engine), todo, voice)
            continue
        # Each share gets its own engine process (started only if a clip is missing); threads just wait.
        shares = [todo[index::jobs] for index in range(jobs)]
        engines = [default_synthesizer(engine)] + [Pyttsx3Synthesizer() for _ in shares[1:]]
        try:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                for future in [
                    pool.submit(cache.get_many, e, share, voice) for e, share in zip(engines, shares, strict=True)
                ]:
                    future.result()
        finally:
            for extra in engines[1:]:
                extra.close()


def run_batch(
    routine_set: RoutineSet,
    folder: Path,
    *,
    jobs: int,
    shard: tuple[int, int] | None = None,
    force: bool = False,
    templates: Path | None = None,
    feed_url: str | None = None,
    report: Callable[[RoutineOutcome, int, int], None] | None = None,
) -> BatchReport:
    """Render the set (or one shard of it) into ``folder`` and refresh its index files."""
    from ..script.templating import check_templates_dir

    templates = templates or routine_set.templates
    check_templates_dir(templates)
    if feed_url is not None:
        check_feed_url(feed_url)
    from ..pipeline import _make_folders

    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is a file, not a folder; choose another --output.")
    created = _make_folders(folder)
    try:
        if not os.access(folder, os.W_OK | os.X_OK):
            raise UsageError(f"folder {folder} is not writable; choose another output folder.")
        outcome_report = _run_in(
            routine_set, folder, jobs=jobs, shard=shard, force=force, templates=templates, feed_url=feed_url,
            report=report,
        )  # fmt: skip
    except BaseException:
        # A failed batch leaves no folders behind that it made and wrote nothing into.
        for made in reversed(created):
            with contextlib.suppress(OSError):
                made.rmdir()
        raise
    outcome_report.outcomes.sort(key=lambda outcome: outcome.spec.track)
    return outcome_report


def _run_in(
    routine_set: RoutineSet,
    folder: Path,
    *,
    jobs: int,
    shard: tuple[int, int] | None,
    force: bool,
    templates: Path | None,
    feed_url: str | None,
    report: Callable[[RoutineOutcome, int, int], None] | None,
) -> BatchReport:
    routines = list(routine_set.routines)
    if shard is not None:
        index, count = shard
        routines = [spec for spec in routines if (spec.track - 1) % count == index - 1]
    total = len(routine_set.routines)
    template_digest = _templates_digest(templates)
    outcome_report = BatchReport(folder)
    if shard is None:
        check_index_files(folder, feed_url, force)
    # Shards (on one machine or many) write one folder together, each its own files; a whole
    # batch, --index-only and a plain render wait until none is running.
    with folder_lock(folder, shared=shard is not None):
        remove_stale_temporaries(folder)
        todo: list[tuple[RoutineSpec, str]] = []
        for spec in routines:
            digest = inputs_digest(spec, routine_set.name, total, template_digest)
            if not force and _stored_inputs(folder / spec.filename) == digest:
                outcome = RoutineOutcome(spec, "up to date")
                outcome_report.outcomes.append(outcome)
                if report:
                    report(outcome, len(outcome_report.outcomes), len(routines))
            else:
                todo.append((spec, digest))
        if todo:
            try:
                _presynthesize([spec for spec, _ in todo], templates, jobs)
                _render_all(todo, folder, routine_set, templates, jobs, outcome_report, len(routines), report, force)
            except (Interrupted, KeyboardInterrupt) as exc:
                # The workers are stopped: whatever temporary file one of them could not remove is
                # unlocked now, so the sweep takes it (a live writer's lock would keep it safe).
                remove_stale_temporaries(folder)
                # Count what is on disk now (workers are stopped): a file may be published before its result arrives.
                written = sum(_stored_inputs(folder / spec.filename) == digest for spec, digest in todo)
                raise Interrupted(getattr(exc, "signum", 2), _interrupted_message(written)) from None
        if shard is None:
            write_index(routine_set, folder, feed_url, force=force)
    return outcome_report


def _interrupted_message(written: int) -> str:
    if not written:
        return "interrupted; nothing was written."
    files = "file was" if written == 1 else "files were"
    return (
        f"interrupted; {written} finished {files} kept and nothing half-written was left; "
        "run the same command again to render the rest."
    )


def _render_all(
    todo: list[tuple[RoutineSpec, str]],
    folder: Path,
    routine_set: RoutineSet,
    templates: Path | None,
    jobs: int,
    outcome_report: BatchReport,
    planned: int,
    report: Callable[[RoutineOutcome, int, int], None] | None,
    force: bool = False,
) -> None:
    total = len(routine_set.routines)
    payloads = [
        {
            "settings": spec.settings,
            "options": spec.options,
            "path": folder / spec.filename,
            "templates": templates,
            "set_context": SetContext(routine_set.name, (spec.track, total), digest),
            "force": force,
        }
        for spec, digest in todo
    ]

    def finish(spec: RoutineSpec, result: dict[str, Any]) -> None:
        if result["ok"]:
            outcome = RoutineOutcome(spec, "rendered", result["seconds"])
        else:
            outcome = RoutineOutcome(spec, "failed", error=result["error"])
        outcome_report.outcomes.append(outcome)
        if report:
            report(outcome, len(outcome_report.outcomes), planned)

    if jobs <= 1 or len(todo) == 1:
        for (spec, _), payload in zip(todo, payloads, strict=True):
            finish(spec, _render_job(payload))
        return
    # Spawned (not forked) workers: each starts clean, with its own speech engine process.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=min(jobs, len(todo)), mp_context=context, initializer=_worker_started, initargs=(os.getpid(),)
    )
    workers: list[Any] = []
    try:
        futures: dict[Future[dict[str, Any]], RoutineSpec] = {
            pool.submit(_render_job, payload): spec for (spec, _), payload in zip(todo, payloads, strict=True)
        }
        # Kept here: the pool forgets workers it sees die, but every one must be waited for.
        workers = list(getattr(pool, "_processes", {}).values())
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                try:
                    result = future.result()
                except BrokenProcessPool:
                    # A worker was killed (out of memory, a signal): its routines fail, the rest are kept.
                    result = {"ok": False, "error": "its worker process died; run the batch again to finish it"}
                finish(futures[future], result)
    except BaseException:
        _stop_workers(pool, workers or list(getattr(pool, "_processes", {}).values()))
        raise
    pool.shutdown(wait=True)


def _stop_workers(pool: ProcessPoolExecutor, workers: list[Any]) -> None:
    """Stop every worker now: each removes its temporary files and exits; none takes another routine."""
    for worker in workers:
        with contextlib.suppress(OSError, ValueError):
            worker.terminate()  # SIGTERM: the worker unwinds its render and exits
    deadline = time.monotonic() + 10
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
        if worker.is_alive():
            worker.kill()
            worker.join(1)
    pool.shutdown(wait=False, cancel_futures=True)
