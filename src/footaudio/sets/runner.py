"""Rendering a routine set: parallel workers, a shared clip cache, resumable and idempotent.

Each file records a digest of everything it was made from (settings, sound options,
templates, engine, ffmpeg version, footaudio version, album and track), so a rerun renders only what
changed. Every file is written atomically; the index files are rebuilt afterwards.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import queue
import sys
import threading
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
from .index import check_feed_url, check_index_files, index_files, write_index
from .setfile import RoutineSet, RoutineSpec

__all__ = ["BatchProgress", "BatchReport", "RoutineOutcome", "inputs_digest", "parse_shard", "run_batch"]

BatchProgress = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)`` while a set renders, from the main process:

- ``check``: routines compared with the files already there;
- ``plan``: routines scripted, of those to render;
- ``speech``: sentences synthesized, of those not in the clip cache;
- ``audio``: milliseconds of audio encoded, summed over the routines to render
  (a finished or failed routine counts whole).
"""

_AUDIO_REPORT_S = 0.25
"""How often a worker reports how far its encoding has got."""

_STOP_AGAIN_S = 2.0
"""A worker still rendering this long after a stop is stopped again (see ``_worker_started``)."""

_STOP_WAIT_S = 10.0
"""How long stopped workers get to clean up and exit before they are killed."""


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

    broken_rules: tuple[str, ...] = ()
    """The pacing rules the rendered routine breaks (see ``footaudio script --check``)."""


@dataclass
class BatchReport:
    """The outcome of a batch run."""

    folder: Path
    outcomes: list[RoutineOutcome] = field(default_factory=list)
    index: tuple[Path, ...] = ()
    """The index files written (none for a shard)."""

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
    from ..script.lexicon import LEXICON
    from ..speech.cache import SPEECH_MAPPING
    from ..speech.engine import default_synthesizer
    from ..tools import find_ffmpeg

    engine_id = default_synthesizer(spec.settings.engine).engine_id
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
        "engine": engine_id,
        # How engines turn sentences and settings into speech: a new mapping speaks every sentence anew.
        "speech mapping": SPEECH_MAPPING,
        "ffmpeg": find_ffmpeg().version,
        "footaudio": __version__,
    }
    # The engine's respellings (all its voices'): a changed entry changes what is spoken.
    lexicon = {key: entries for key, entries in LEXICON.items() if key.split(" ")[0] == engine_id and entries}
    if lexicon:
        material["lexicon"] = lexicon
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def _stored_inputs(path: Path) -> str | None:
    """The inputs digest of a whole file footaudio wrote; ``None`` if missing, damaged or cut.

    Up to date means the tag matches and the audio on disk is whole and as long as
    footaudio wrote it, so a damaged or truncated file is rendered again.
    """
    from mutagen import MutagenError
    from mutagen.id3 import ID3

    from ..audio.mp3 import read_stream
    from ..audio.tags import settings_payload, written_length_ms

    if not path.is_file() or path.is_symlink():
        return None
    try:
        tags = ID3(str(path))
    except (MutagenError, OSError):
        return None
    stored = settings_payload(tags)
    written_ms = written_length_ms(tags)
    if not stored or written_ms is None:
        return None
    stream = read_stream(path)
    if stream is None or abs(stream.ms - written_ms) > 1:
        return None
    inputs = stored.get("inputs")
    return inputs if isinstance(inputs, str) else None


_progress_queue: Any = None
"""In a worker process: where it reports ``(track, audio ms encoded)`` to the main process."""


_busy = False
"""In a worker process: whether it is rendering right now."""


def _worker_started(parent: int, progress_queue: Any = None) -> None:
    """In each worker process: stop at once on a signal, and never outlive the batch.

    SIGINT or SIGTERM during a render unwinds it (its temporary files are removed) and the
    worker exits instead of taking the next routine; between renders it exits at once.
    On Linux the kernel sends SIGTERM when the batch process dies (even by SIGKILL);
    elsewhere a watchdog thread notices the parent is gone.
    """
    import signal
    import threading

    stopped_at: float | None = None

    global _progress_queue
    _progress_queue = progress_queue

    def stop(signum: int, frame: object) -> None:
        nonlocal stopped_at
        if not _busy:
            os._exit(130)
        # A signal soon after the first (Ctrl-C reaching the group, then the pool stopping its
        # workers; the parent's death, then the watchdog) must not cut short the cleanup the first
        # one started, which takes milliseconds. A worker still rendering long after lost the first:
        # Python drops an exception raised where the handler happened to run inside a finalizer.
        now = time.monotonic()
        if stopped_at is None or now - stopped_at > _STOP_AGAIN_S:
            stopped_at = now
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
        while True:  # until the worker has exited (see ``stop``)
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(_STOP_AGAIN_S / 2)

    threading.Thread(target=watchdog, name="footaudio-watchdog", daemon=True).start()


def _render_job(job: dict[str, Any], encoded: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Worker process: render one routine; failures come back as messages, not exceptions.

    ``encoded(track, ms)`` hears how much of the routine's audio is encoded, a few times a second
    (in a worker process, it goes through the queue the pool was started with).
    """
    from ..pipeline import render
    from ..script.pacing import check_pacing

    if encoded is None and _progress_queue is not None:
        encoded = lambda track, ms: _progress_queue.put((track, ms))  # noqa: E731
    total_ms = job["settings"].total_ms
    track = job["set_context"].track[0]
    last = -_AUDIO_REPORT_S

    def progress(stage: str, done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        # The whole routine counts only when it is finished (tagged and in place), so not at done == total.
        if stage == "audio" and encoded is not None and done < total and now - last >= _AUDIO_REPORT_S:
            last = now
            encoded(track, done * total_ms // total)

    global _busy
    started = time.monotonic()
    try:
        _busy = True
        try:
            result = render(
                job["settings"],
                job["path"],
                options=job["options"],
                templates=job["templates"],
                set_context=job["set_context"],
                force=job["force"],
                progress=progress,
            )
        except FootaudioError as exc:
            return {"ok": False, "error": exc.message}
        except Exception as exc:
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        finally:
            _busy = False
    except Interrupted:
        # Wherever the stop met the render (even while a failure was being reported), its
        # cleanup has run. The pool would hand the worker its next routine: exit instead.
        if multiprocessing.parent_process() is None:
            raise  # rendering in the batch process itself
        os._exit(130)
    problems = check_pacing(result.routine.timeline, job["settings"]).problems
    return {"ok": True, "seconds": time.monotonic() - started, "broken_rules": problems}


def _presynthesize(
    routines: list[RoutineSpec], templates: Path | None, jobs: int = 1, progress: BatchProgress | None = None
) -> None:
    """Synthesize every distinct sentence of the set once, before the workers start.

    Routines share their clips whatever the engine; pyttsx3 sentences are shared among
    ``jobs`` engine processes speaking at once. ``progress(done, total)`` follows each sentence.
    """
    from concurrent.futures import ThreadPoolExecutor

    from ..pipeline import build_script
    from ..script.lexicon import lexicon_for
    from ..speech.cache import ClipCache, sentence_rate
    from ..speech.engine import choose_voice, default_synthesizer, engine_choice
    from ..speech.pyttsx3_engine import Pyttsx3Synthesizer

    wanted: dict[tuple[str, str | None], dict[tuple[str, int], None]] = {}
    if progress is not None:
        progress("plan", 0, len(routines))
    for planned, spec in enumerate(routines, start=1):
        engine, _ = engine_choice(spec.settings.engine)
        synthesizer = default_synthesizer(engine)
        voice = choose_voice(synthesizer, spec.settings.voice)
        _, script = build_script(spec.settings, templates, lexicon_for(synthesizer.engine_id, voice))
        requests = wanted.setdefault((engine, voice), {})
        for sentence in script.sentences:
            requests[(sentence.spoken, sentence_rate(spec.settings, sentence))] = None
        if progress is not None:
            progress("plan", planned, len(routines))
    cache = ClipCache()
    # Only sentences missing from the cache are counted: they are the work left.
    missing = {
        key: [
            (text, rate)
            for text, rate in requests
            if not cache.path_for(default_synthesizer(key[0]).engine_id, key[1], rate, text).exists()
        ]
        for key, requests in wanted.items()
    }
    total = sum(len(todo) for todo in missing.values())
    spoken = 0
    lock = threading.Lock()

    def tick(count: int) -> None:
        nonlocal spoken
        with lock:
            spoken = min(total, spoken + count)
            if progress is not None:
                progress("speech", spoken, total)

    if progress is not None:
        progress("speech", 0, total)
    for (engine, voice), todo in missing.items():
        if not todo:
            continue
        if engine != "pyttsx3" or jobs < 2 or len(todo) < 2 * jobs:
            cache.get_many(default_synthesizer(engine), todo, voice, tick)
            continue
        # Each share gets its own engine process (started only if a clip is missing); threads just wait.
        shares = [todo[index::jobs] for index in range(jobs)]
        engines = [default_synthesizer(engine)] + [Pyttsx3Synthesizer() for _ in shares[1:]]
        try:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                for future in [
                    pool.submit(cache.get_many, e, share, voice, tick) for e, share in zip(engines, shares, strict=True)
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
    progress: BatchProgress | None = None,
) -> BatchReport:
    """Render the set (or one shard of it) into ``folder`` and refresh its index files.

    ``report`` hears of each routine as it ends; ``progress`` of the work done within
    each stage (see :data:`BatchProgress`).
    """
    from ..script.templating import check_templates_dir

    templates = templates or routine_set.templates
    check_templates_dir(templates)
    if feed_url is not None:
        check_feed_url(feed_url)
    from ..pipeline import make_folders

    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is a file, not a folder; choose another --output.")
    created = make_folders(folder)
    try:
        if not os.access(folder, os.W_OK | os.X_OK):
            raise UsageError(f"folder {folder} is not writable; choose another output folder.")
        outcome_report = _run_in(
            routine_set, folder, jobs=jobs, shard=shard, force=force, templates=templates, feed_url=feed_url,
            report=report, progress=progress,
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
    progress: BatchProgress | None = None,
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
        for checked, spec in enumerate(routines):
            if progress is not None:
                progress("check", checked, len(routines))
            digest = inputs_digest(spec, routine_set.name, total, template_digest)
            if not force and _stored_inputs(folder / spec.filename) == digest:
                outcome = RoutineOutcome(spec, "up to date")
                outcome_report.outcomes.append(outcome)
                if report:
                    report(outcome, len(outcome_report.outcomes), len(routines))
            else:
                todo.append((spec, digest))
        if progress is not None:
            progress("check", len(routines), len(routines))
        if todo:
            try:
                _presynthesize([spec for spec, _ in todo], templates, jobs, progress)
                _render_all(
                    todo, folder, routine_set, templates, jobs, outcome_report, len(routines), report, force, progress
                )
            except (Interrupted, KeyboardInterrupt) as exc:
                # The workers are stopped: whatever temporary file one of them could not remove is
                # unlocked now, so the sweep takes it (a live writer's lock would keep it safe).
                remove_stale_temporaries(folder)
                # Count what is on disk now (workers are stopped): a file may be published before its result arrives.
                written = sum(_stored_inputs(folder / spec.filename) == digest for spec, digest in todo)
                raise Interrupted(getattr(exc, "signum", 2), _interrupted_message(written)) from None
        if shard is None:
            write_index(routine_set, folder, feed_url, force=force)
            outcome_report.index = index_files(folder, feed_url)
    outcome_report.outcomes.sort(key=lambda outcome: outcome.spec.track)
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
    progress: BatchProgress | None = None,
) -> None:
    total = len(routine_set.routines)
    audio_ms = sum(spec.settings.total_ms for spec, _ in todo)
    encoded: dict[int, int] = {}
    last_sent = -1

    def encoded_so_far(track: int, ms: int) -> None:
        encoded[track] = max(encoded.get(track, 0), ms)

    def tell(routine_ended: bool = False) -> None:
        nonlocal last_sent
        done = min(audio_ms, sum(encoded.values()))
        if progress is not None and (done != last_sent or routine_ended):
            last_sent = done
            progress("audio", done, audio_ms)

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
        encoded[spec.track] = spec.settings.total_ms
        if result["ok"]:
            outcome = RoutineOutcome(spec, "rendered", result["seconds"], broken_rules=result["broken_rules"])
        else:
            outcome = RoutineOutcome(spec, "failed", error=result["error"])
        outcome_report.outcomes.append(outcome)
        if report:
            report(outcome, len(outcome_report.outcomes), planned)
        tell(routine_ended=True)

    tell()
    if jobs <= 1 or len(todo) == 1:

        def heard(track: int, ms: int) -> None:
            encoded_so_far(track, ms)
            tell()

        for (spec, _), payload in zip(todo, payloads, strict=True):
            finish(spec, _render_job(payload, heard))
        return
    # Spawned (not forked) workers: each starts clean, with its own speech engine process.
    context = multiprocessing.get_context("spawn")
    heard_from: Any = context.Queue()

    def listen() -> None:
        while True:
            try:
                encoded_so_far(*heard_from.get_nowait())
            except queue.Empty:
                break
        tell()

    pool = ProcessPoolExecutor(
        max_workers=min(jobs, len(todo)),
        mp_context=context,
        initializer=_worker_started,
        initargs=(os.getpid(), heard_from),
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
            done, pending = wait(pending, timeout=_AUDIO_REPORT_S, return_when=FIRST_COMPLETED)
            listen()
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
    """Stop every worker now: each removes its temporary files and exits; none takes another routine.

    The stop is repeated while a worker lives on, in case it lost the first (see ``_worker_started``).
    """
    from multiprocessing.connection import wait as exits

    deadline = time.monotonic() + _STOP_WAIT_S
    alive = list(workers)
    while alive and time.monotonic() < deadline:
        for worker in alive:
            with contextlib.suppress(OSError, ValueError):
                worker.terminate()  # SIGTERM: the worker unwinds its render and exits
        exits([worker.sentinel for worker in alive], timeout=min(_STOP_AGAIN_S / 2, deadline - time.monotonic()))
        alive = [worker for worker in alive if worker.is_alive()]
    for worker in alive:
        with contextlib.suppress(OSError, ValueError):
            worker.kill()
    for worker in workers:
        worker.join(1)
    pool.shutdown(wait=False, cancel_futures=True)
