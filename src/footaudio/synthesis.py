"""The clips stage: every sentence synthesized once, checked, and cached on disk.

Only this module (and its worker process) touches pyttsx3. The cache key is the
engine, voice, rate and text, so a clip is reused across routines and runs.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import io
import json
import math
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import wave
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path
from typing import IO, Protocol

from .errors import EngineError, UsageError
from .loudness import MASTERING, Loudness, master_clips
from .script import Script, Speech
from .settings import Settings

__all__ = [
    "CACHE_ENV",
    "Clip",
    "ClipCache",
    "Clips",
    "Pyttsx3Synthesizer",
    "Synthesizer",
    "Voice",
    "default_cache_dir",
    "synthesize_clips",
]

CACHE_ENV = "FOOTAUDIO_CACHE"
TIMEOUT_ENV = "FOOTAUDIO_SPEECH_TIMEOUT"
DEFAULT_TIMEOUT_S = 30.0
MASTERING_BATCH = 16
MASTERING_WORKERS = 2
ESPEAK_SLOWEST_RATE = 80  # eSpeak NG speaks anything slower at this rate


@dataclass(frozen=True)
class Voice:
    """A voice of a speech engine."""

    id: str
    """What ``--voice`` takes, e.g. ``gmw/en-us``."""

    name: str
    """Human name, e.g. ``English (America)``."""

    languages: tuple[str, ...] = ()
    """Language tags the voice speaks."""


@dataclass(frozen=True)
class Clip:
    """One synthesized sentence, as a WAV file in the cache."""

    path: Path
    """The WAV file (16-bit mono PCM)."""

    frames: int
    """Number of samples in the file."""

    sample_rate: int
    """Sample rate of the file in Hz."""

    lufs: float
    """Integrated loudness of the clip as mastered, measured by ffmpeg's ebur128."""

    @property
    def ms(self) -> int:
        """Length in whole milliseconds, rounded up so the clip always fits its slot."""
        return -(-self.frames * 1000 // self.sample_rate)


class Synthesizer(Protocol):
    """A speech engine that writes one sentence to a WAV file."""

    @property
    def engine_id(self) -> str:
        """Identifies engine and driver in the clip cache key."""
        ...

    @property
    def default_voice(self) -> str | None:
        """The id of the voice used when none is chosen."""
        ...

    def voices(self) -> list[Voice]:
        """The voices the engine offers."""
        ...

    def synthesize(self, text: str, voice: str | None, rate: int, path: Path) -> None:
        """Speak ``text`` into a WAV file at ``path`` (voice id, words per minute)."""
        ...


def default_cache_dir() -> Path:
    """``FOOTAUDIO_CACHE`` if set, else the platform's user cache folder."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("footaudio", appauthor=False)) / "clips"


def _read_clip(path: Path) -> Clip | None:
    """A cached clip, or ``None`` if its WAV or its record (loudness, checksum) is missing or damaged."""
    try:
        record = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        lufs = float(record["lufs"])
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != record["sha256"]:
            return None  # damaged since it was cached: synthesize it again
    except (OSError, ValueError, KeyError, TypeError):
        return None
    clip = _read_wav(path, data)
    if clip is None:
        return None
    return Clip(path, clip.frames, clip.sample_rate, lufs)


def _read_wav(path: Path, data: bytes | None = None) -> Clip | None:
    """Check a WAV clip (``data``: its bytes, if already read) and return its shape."""
    try:
        with wave.open(io.BytesIO(data) if data is not None else str(path), "rb") as clip:
            if clip.getnchannels() != 1 or clip.getsampwidth() != 2:
                return None
            frames, rate = clip.getnframes(), clip.getframerate()
            # A truncated file reports frames its data cannot back.
            samples = clip.readframes(frames)
    except (OSError, EOFError, wave.Error):
        return None
    if frames == 0 or len(samples) != frames * 2 or rate <= 0:
        return None
    return Clip(path, frames, rate, math.nan)


class ClipCache:
    """Synthesized and mastered sentences on disk, one WAV per engine, voice, rate and text."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_cache_dir()

    def path_for(self, engine_id: str, voice: str | None, rate: int, text: str) -> Path:
        """Where the clip for these inputs lives."""
        key = json.dumps([engine_id, voice, rate, text, MASTERING], ensure_ascii=False)
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        return self.folder / digest[:2] / f"{digest}.wav"

    def get_or_make(self, synthesizer: Synthesizer, text: str, voice: str | None, rate: int) -> tuple[Clip, bool]:
        """The cached clip, synthesizing it first if missing or unreadable; and whether it was made."""
        ((clip, made),) = self.get_many(synthesizer, [(text, rate)], voice)
        return clip, made

    def get_many(
        self,
        synthesizer: Synthesizer,
        requests: list[tuple[str, int]],
        voice: str | None,
        progress: Callable[[int], None] | None = None,
    ) -> list[tuple[Clip, bool]]:
        """Clips for ``(text, rate)`` requests: cached ones as they are, missing or broken ones made.

        New sentences are synthesized one by one, then mastered in batches, then moved
        into the cache atomically, so a concurrent run sees either no clip or a whole one.
        """
        engine = synthesizer.engine_id
        results: list[tuple[Clip, bool] | None] = []
        missing: list[tuple[int, str, int, Path]] = []
        for text, rate in requests:
            path = self.path_for(engine, voice, rate, text)
            cached = _read_clip(path) if path.exists() else None
            results.append((cached, False) if cached is not None else None)
            if cached is None:
                missing.append((len(results) - 1, text, rate, path))
            elif progress is not None:
                progress(1)
        if not missing:
            return results  # type: ignore[return-value]
        with (
            tempfile.TemporaryDirectory(prefix=".clips-", dir=self._writable_folder()) as work,
            ThreadPoolExecutor(max_workers=MASTERING_WORKERS) as mastering,
        ):
            # Mastering (ffmpeg) runs on finished batches while the engine speaks the next ones.
            pending: list[tuple[list[tuple[int, str, int, Path]], Future[list[Loudness]], list[Path]]] = []
            for offset in range(0, len(missing), MASTERING_BATCH):
                batch = missing[offset : offset + MASTERING_BATCH]
                jobs = []
                for index, text, rate, _ in batch:
                    raw = Path(work) / f"{index}-raw.wav"
                    _synthesize_plausibly(synthesizer, text, voice, rate, raw)
                    jobs.append((raw, Path(work) / f"{index}.wav"))
                    if progress is not None:
                        progress(1)
                pending.append((batch, mastering.submit(master_clips, jobs), [out for _, out in jobs]))
            for batch, future, outputs in pending:
                for (index, text, _, path), loudness, mastered in zip(batch, future.result(), outputs, strict=True):
                    clip = _read_wav(mastered)
                    if clip is None:
                        raise EngineError(f"mastering left no audio for {text[:60]!r}; check FOOTAUDIO_FFMPEG.")
                    path.parent.mkdir(parents=True, exist_ok=True)
                    record = path.with_suffix(".json")
                    staged = Path(work) / f"{index}.json"
                    checksum = hashlib.sha256(mastered.read_bytes()).hexdigest()
                    staged.write_text(
                        json.dumps({"lufs": loudness.integrated, "true_peak": loudness.true_peak, "sha256": checksum})
                    )
                    # The record goes in first: a WAV in the cache always has its record beside it.
                    os.replace(staged, record)
                    os.replace(mastered, path)
                    results[index] = (Clip(path, clip.frames, clip.sample_rate, loudness.integrated), True)
        return results  # type: ignore[return-value]

    def _writable_folder(self) -> Path:
        if self.folder.exists() and not self.folder.is_dir():
            raise EngineError(
                f"the clip cache {self.folder} is a file, not a folder; set {CACHE_ENV} to a writable folder."
            )
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EngineError(
                f"cannot write to the clip cache {self.folder} ({exc.strerror}); set {CACHE_ENV} to a writable folder."
            ) from exc
        if not os.access(self.folder, os.W_OK):
            raise EngineError(f"cannot write to the clip cache {self.folder}; set {CACHE_ENV} to a writable folder.")
        return self.folder


# Clip length against words / rate, measured on routine sentences (4 to 27 words; all 205 of
# the six 10-minute routines with eSpeak, every tenth with Piper) at 40 to 390 words a minute,
# plus one-word sentences. eSpeak NG (default voice): 0.60 to 1.28 times words / rate, at
# least 0.41 (letters spelled at 390 wpm), up to 2.4 for a single word (lead-in and tail).
# Piper (en_US joe-medium): 0.68 to 1.25, up to 2.9 for a single word. A voice that spells
# English out letter by letter (eSpeak's Japanese) takes 3.9 times, one that skips it
# (eSpeak's Faroese) 0.1 times.
PLAUSIBLE_SHORTEST = 0.3
"""A clip shorter than this times words / rate is cut short or empty."""

PLAUSIBLE_LONGEST = 2.5
"""A clip longer than this times words / rate, plus PLAUSIBLE_LEAD_S, is not this text spoken."""

PLAUSIBLE_LEAD_S = 1.0
"""Seconds of lead-in, tail and pauses a clip may have on top of its words."""

_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
_TAG = re.compile(r"<[^>]*>")


def _implausible(seconds: float, text: str, rate: int, slowest_rate: int | None) -> str | None:
    """Why a clip of ``seconds`` cannot be ``text`` spoken at ``rate`` words a minute; ``None`` if it can."""
    words = len(_WORD.findall(_TAG.sub(" ", text)))
    if words == 0:
        return None
    spoken = max(rate, slowest_rate or 0)  # an engine that cannot speak slower speaks faster
    expected = words * 60 / spoken
    plural = "s" * (words != 1)
    about = f"{text[:60]!r}, {words} word{plural} that take about {expected:.1f} s at {spoken} words a minute"
    if seconds < PLAUSIBLE_SHORTEST * expected:
        return f"took only {seconds:.1f} s to say {about}"
    if seconds > PLAUSIBLE_LONGEST * expected + PLAUSIBLE_LEAD_S:
        return f"took {seconds:.1f} s to say {about}"
    return None


def _synthesize_plausibly(synthesizer: Synthesizer, text: str, voice: str | None, rate: int, path: Path) -> None:
    """Speak ``text`` into ``path``; a clip far too long or short for its words is made once more, then refused."""
    problem = None
    for _ in range(2):
        synthesizer.synthesize(text, voice, rate, path)
        clip = _read_wav(path)
        if clip is None:
            raise EngineError(
                f"the speech engine produced no usable audio for {text[:60]!r}; "
                "run 'footaudio voices' to check the engine, or try another --voice."
            )
        problem = _implausible(clip.frames / clip.sample_rate, text, rate, getattr(synthesizer, "slowest_rate", None))
        if problem is None:
            return
    name = voice or synthesizer.default_voice
    raise EngineError(
        f"the voice {name!r} {problem} (twice); it does not seem to speak this text: "
        "choose another --voice ('footaudio voices' lists them)."
    )


@dataclass(frozen=True)
class Clips:
    """The clip of every sentence of a script."""

    by_sentence: dict[Speech, Clip]
    """Clip for each distinct sentence (text and rate)."""

    synthesized: int
    """How many clips had to be synthesized (the rest came from the cache)."""

    def ms(self, sentence: Speech) -> int:
        """Length of a sentence's clip in milliseconds."""
        return self.by_sentence[sentence].ms


def sentence_rate(settings: Settings, sentence: Speech) -> int:
    """Words per minute for one sentence: the routine's rate scaled by its prosody."""
    return max(40, round(settings.rate * sentence.rate))


def synthesize_clips(
    script: Script,
    settings: Settings,
    synthesizer: Synthesizer,
    voice: str | None,
    cache: ClipCache | None = None,
    progress: Callable[[int], None] | None = None,
) -> Clips:
    """Synthesize (or fetch from the cache) every distinct sentence of ``script``."""
    cache = cache or ClipCache()
    sentences = list(dict.fromkeys(script.sentences))
    requests = [(sentence.text, sentence_rate(settings, sentence)) for sentence in sentences]
    results = cache.get_many(synthesizer, requests, voice, progress)
    by_sentence = {sentence: clip for sentence, (clip, _) in zip(sentences, results, strict=True)}
    return Clips(by_sentence, sum(made for _, made in results))


def resolve_voice(voices: Iterable[Voice], wanted: str | None) -> str | None:
    """The voice id for ``--voice`` (an id or a name, any case); ``None`` keeps the default."""
    if wanted is None:
        return None
    voices = list(voices)
    lowered = wanted.strip().lower()
    for voice in voices:
        if lowered in (voice.id.lower(), voice.name.lower()):
            return voice.id
    names = [voice.id for voice in voices] + [voice.name for voice in voices]
    close = get_close_matches(wanted, names, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise UsageError(f"unknown voice {wanted!r}; {hint}run 'footaudio voices' to list the voices.")


def speech_timeout() -> float:
    """Seconds a sentence may take: ``FOOTAUDIO_SPEECH_TIMEOUT``, else the default."""
    configured = os.environ.get(TIMEOUT_ENV)
    if configured is None:
        return DEFAULT_TIMEOUT_S
    try:
        seconds = float(configured)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds < 86_400:
        raise UsageError(f"{TIMEOUT_ENV}={configured!r} is not a number of seconds; set it to e.g. 30, or unset it.")
    return seconds


def pyttsx3_engine_id() -> str:
    """The engine id pyttsx3 has on this platform (its default driver)."""
    if sys.platform == "win32":
        return "pyttsx3-sapi5"
    if sys.platform == "darwin":
        return "pyttsx3-nsss"
    return "pyttsx3-espeak"


def _read_replies(process: subprocess.Popen[str], replies: queue.Queue[dict | None]) -> None:
    """Put each JSON reply of one worker process into that process's queue; ``None`` at its end."""
    for line in process.stdout:  # type: ignore[union-attr]
        with contextlib.suppress(json.JSONDecodeError):
            replies.put(json.loads(line))
    replies.put(None)


class Pyttsx3Synthesizer:
    """pyttsx3 (eSpeak NG, SAPI5 or NSSpeechSynthesizer) in a worker process.

    A worker process sidesteps pyttsx3's known traps: a second ``runAndWait`` that
    hangs or refuses to run, queued ``save_to_file`` calls that keep one file, and
    prints on stdout. Each sentence has a time limit; a stuck worker is killed.
    """

    worker_command: tuple[str, ...] = (sys.executable, "-m", "footaudio._speech_worker")

    def __init__(self, timeout_s: float | None = None) -> None:
        if timeout_s is None:
            timeout_s = speech_timeout()
        self.timeout_s = timeout_s
        self._process: subprocess.Popen[str] | None = None
        # The replies of the running worker process; each process has a queue of its own.
        self._replies: queue.Queue[dict | None] = queue.Queue()
        self._log: IO[str] | None = None
        self._closes_at_exit = False
        self.info: dict = {}

    @property
    def engine_id(self) -> str:
        """``pyttsx3-<driver>``, e.g. ``pyttsx3-espeak``; known without starting the engine."""
        return pyttsx3_engine_id()

    @property
    def slowest_rate(self) -> int | None:
        """Words per minute below which the engine speaks no slower (eSpeak NG: 80), if known."""
        return ESPEAK_SLOWEST_RATE if self.engine_id == "pyttsx3-espeak" else None

    @property
    def default_voice(self) -> str | None:
        """The engine's own default voice id."""
        self._ensure_started()
        return self.info.get("default_voice")

    def voices(self) -> list[Voice]:
        reply = self._request({"op": "voices"}, self.timeout_s)
        return [Voice(v["id"], v["name"], tuple(v.get("languages", ()))) for v in reply["voices"]]

    def synthesize(self, text: str, voice: str | None, rate: int, path: Path) -> None:
        limit = self.timeout_s + len(text) / 20
        try:
            self._request({"op": "say", "text": text, "voice": voice, "rate": rate, "path": str(path)}, limit)
        except EngineError:
            # A fresh worker gets one more try: engines sometimes wedge after a bad sentence.
            self.close()
            self._request({"op": "say", "text": text, "voice": voice, "rate": rate, "path": str(path)}, limit)

    def close(self) -> None:
        """Stop the worker process."""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(OSError, ValueError):
            process.stdin.write(json.dumps({"op": "quit"}) + "\n")  # type: ignore[union-attr]
            process.stdin.flush()  # type: ignore[union-attr]
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def _ensure_started(self) -> None:
        if self._process is not None and self._process.poll() is None:
            return
        # A new queue per worker process, handed to its own reader thread: the reader of a
        # killed worker may still be reading (a helper process of the engine can hold its
        # stdout open), and whatever it gets then, its end-of-output marker included, goes
        # into the dead worker's queue, never into the new worker's.
        replies: queue.Queue[dict | None] = queue.Queue()
        self._replies = replies
        if self._log is not None:
            self._log.close()  # a killed worker's
        # Lives as long as the worker (closed in close()), to quote its last words on a crash.
        self._log = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        try:
            self._process = subprocess.Popen(
                self.worker_command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._log,
                text=True,
                encoding="utf-8",
                bufsize=1,
            )
        except OSError as exc:
            raise EngineError(f"cannot start the speech engine ({exc}); reinstall footaudio.") from exc
        if not self._closes_at_exit:
            atexit.register(self.close)
            self._closes_at_exit = True
        threading.Thread(target=_read_replies, args=(self._process, replies), daemon=True).start()
        hello = self._wait(self.timeout_s, "starting the speech engine")
        if "error" in hello:
            self.close()
            raise EngineError(
                f"the speech engine pyttsx3 does not start ({hello['error']}); "
                "run 'pip install pyttsx3 espeakng-loader' or install eSpeak NG."
            )
        self.info = hello

    def _request(self, message: dict, limit: float) -> dict:
        self._ensure_started()
        process = self._process
        try:
            process.stdin.write(json.dumps(message) + "\n")  # type: ignore[union-attr]
            process.stdin.flush()  # type: ignore[union-attr]
        except (OSError, ValueError) as exc:
            self.close()
            raise EngineError(f"the speech engine stopped unexpectedly ({exc}); try again.") from exc
        what = f"speaking {message['text'][:50]!r}" if "text" in message else "listing voices"
        reply = self._wait(limit, what)
        if "error" in reply:
            raise EngineError(f"the speech engine failed while {what}: {reply['error']}.")
        return reply

    def _wait(self, limit: float, what: str) -> dict:
        try:
            reply = self._replies.get(timeout=limit)
        except queue.Empty:
            self._kill()
            raise EngineError(
                f"the speech engine did not finish {what} within {limit:.0f} s and was stopped; "
                f"try again, or raise {TIMEOUT_ENV}."
            ) from None
        if reply is None:
            detail = self._log_tail()
            self._kill()
            raise EngineError(f"the speech engine exited while {what}{detail}; run 'footaudio voices' to check it.")
        return reply

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def _log_tail(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        lines = [line.strip() for line in self._log.read().splitlines() if line.strip()]
        return f" ({lines[-1][:200]})" if lines else ""
