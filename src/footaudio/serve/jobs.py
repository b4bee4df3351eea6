"""Routines made from the phone: the form checked like the CLI's options, then one render at a time.

A render runs in a worker thread with the same library call as ``footaudio render``; the
page polls its progress. The queue is short: past ``limit`` waiting routines a new one is
refused with a message, not queued.
"""

from __future__ import annotations

import itertools
import signal
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import FootaudioError, Interrupted, UsageError
from ..settings import AudioOptions, Settings
from ..speech.cache import ClipCache
from ..speech.engine import Synthesizer

__all__ = ["QUEUE_LIMIT", "Job", "QueueFull", "RenderQueue", "parse_form"]

QUEUE_LIMIT = 3
"""Routines that may wait behind the one being rendered."""


class QueueFull(UsageError):
    """Too many routines are waiting to be made."""


def _number(value: str, option: str, example: str) -> float:
    # Same wording as the CLI's option parsing, so the page and the terminal say the same thing.
    try:
        return float(value)
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a number; use e.g. {option} {example}.") from None


def parse_form(form: Mapping[str, str]) -> tuple[Settings, AudioOptions]:
    """Settings and sound options from the page's form; bad values raise the CLI's ``UsageError``."""
    voice = (form.get("voice") or "").strip() or None
    settings = Settings(
        minutes=_number(str(form.get("minutes", "10")).strip(), "--minutes", "10"),
        mode=str(form.get("mode", "solo")),
        pressure=str(form.get("pressure", "light")),
        voice=voice,
        engine=str(form.get("engine", "auto")),
    )
    options = AudioOptions(
        chime=str(form.get("chime", "soft")), ambience=str(form.get("ambience", "none")), captions=True
    )
    return settings, options


def file_name(settings: Settings, options: AudioOptions) -> str:
    """``solo-light-10min.mp3``, with the sound choices that differ from the defaults added."""
    stem = settings.name
    if options.ambience != "none":
        stem += f"-{options.ambience}"
    if options.chime != "soft":
        stem += f"-{options.chime}chime"
    return f"{stem}.mp3"


@dataclass
class Job:
    """One routine asked for from the page."""

    id: str
    settings: Settings
    options: AudioOptions
    file: str
    """Where it goes, relative to the served folder."""

    state: str = "queued"
    """``queued``, ``rendering``, ``done`` or ``failed``."""

    stage: str = ""
    done: int = 0
    total: int = 0
    error: str | None = None
    started: float = field(default_factory=time.monotonic)

    def to_dict(self, position: int | None = None) -> dict:
        """The job's state for the page."""
        fraction = 0.0
        if self.state == "done":
            fraction = 1.0
        elif self.total:
            # Speech is about a third of a render's time, mixing and encoding the rest.
            share = self.done / self.total
            fraction = share / 3 if self.stage == "speech" else 1 / 3 + share * 2 / 3
        return {
            "id": self.id,
            "title": self.settings.title,
            "file": self.file,
            "state": self.state,
            "stage": self.stage,
            "progress": round(fraction, 3),
            "position": position,
            "error": self.error,
        }


class RenderQueue:
    """Renders routines into ``folder`` one at a time, in a worker thread."""

    def __init__(
        self,
        folder: Path,
        *,
        synthesizer: Synthesizer | None = None,
        cache: ClipCache | None = None,
        limit: int = QUEUE_LIMIT,
    ) -> None:
        self.folder = folder
        self.synthesizer = synthesizer
        self.cache = cache
        self.limit = limit
        self._jobs: dict[str, Job] = {}
        self._waiting: deque[Job] = deque()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._worker: threading.Thread | None = None

    def check_voice(self, settings: Settings) -> None:
        """Fail now, not in the queue, when the voice does not exist (this may start the engine)."""
        if settings.voice is None:
            return
        from ..speech.engine import choose_voice, default_synthesizer

        choose_voice(self.synthesizer or default_synthesizer(settings.engine), settings.voice)

    def submit(self, settings: Settings, options: AudioOptions) -> Job:
        """Queue a checked routine; refuse with a message when the queue is full or the server stops."""
        name = file_name(settings, options)
        with self._lock:
            if self._stopping.is_set():
                raise UsageError("the server is stopping; start it again and retry.")
            busy = [job for job in self._jobs.values() if job.file == name and job.state in ("queued", "rendering")]
            if busy:
                return busy[0]
            waiting = len(self._waiting)
            if waiting >= self.limit:
                raise QueueFull(
                    f"the queue is full ({waiting} routine{'s' if waiting != 1 else ''} waiting to be made); "
                    "try again when one is done."
                )
            job = Job(str(next(self._ids)), settings, options, name)
            self._jobs[job.id] = job
            self._waiting.append(job)
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="footaudio-render", daemon=True)
                self._worker.start()
            self._wake.notify()
        return job

    def status(self, job_id: str) -> dict | None:
        """A job's state for the page, with its place in the queue while it waits."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            position = next((i + 1 for i, waiting in enumerate(self._waiting) if waiting is job), None)
            return job.to_dict(position)

    def stop(self, timeout: float = 0.8) -> None:
        """Stop the worker: the running render is interrupted (it cleans up its temporary file)."""
        with self._lock:
            self._stopping.set()
            self._waiting.clear()
            self._wake.notify_all()
            worker = self._worker
        if worker is not None:
            worker.join(timeout)

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._waiting and not self._stopping.is_set():
                    self._wake.wait()
                if self._stopping.is_set():
                    return
                job = self._waiting.popleft()
                job.state = "rendering"
            self._render(job)

    def _render(self, job: Job) -> None:
        from ..pipeline import render

        def progress(stage: str, done: int, total: int) -> None:
            if self._stopping.is_set():
                raise Interrupted(signal.SIGTERM)
            job.stage, job.done, job.total = stage, done, total

        try:
            render(
                job.settings,
                self.folder / job.file,
                options=job.options,
                synthesizer=self.synthesizer,
                cache=self.cache,
                progress=progress,
            )
        except FootaudioError as exc:
            job.state, job.error = "failed", exc.message
        except Interrupted:
            job.state, job.error = "failed", "the server stopped before the routine was finished."
        except Exception as exc:
            job.state, job.error = "failed", f"{type(exc).__name__}: {exc}"
        else:
            job.state = "done"
