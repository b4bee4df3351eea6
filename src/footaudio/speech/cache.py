"""The clips stage: every sentence synthesized once, checked, mastered and cached on disk.

The cache key is the engine, voice, rate, text and mastering version, so a clip is
reused across routines and runs; clips enter the cache atomically.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import io
import json
import math
import os
import re
import shutil
import tempfile
import wave
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..errors import EngineError
from ..files import CACHE_ENV, default_cache_dir, read_regular
from ..script.ssml import Script, Speech
from ..settings import Settings
from .engine import Synthesizer
from .mastering import MASTERING, Loudness, master_clips

__all__ = ["Clip", "ClipCache", "Clips", "sentence_rate", "synthesize_clips"]

CLIP_LIMIT = 50_000_000
"""Largest cached clip read, in bytes (a sentence is a few hundred kB)."""
RECORD_LIMIT = 100_000
MIN_FREE_BYTES = 5_000_000
"""Below this much free space the cache's disk counts as full."""
SPEECH_MAPPING = 4
"""How engines turn a sentence and its settings into speech (2: eSpeak NG is given a scaled rate, so the rate
heard is the rate asked; 3: Piper's bundled voice samples with less noise; 4: Piper's rate mapping is fitted on
the routines' own sentences); part of each clip's key, so clips made the old way are made again."""

MASTERING_BATCH = 16
MASTERING_WORKERS = 2


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

    blocks: tuple[float, ...] = ()
    """Loudness (LUFS) of the clip's 400 ms gating blocks, 100 ms apart, as mastered."""

    @property
    def ms(self) -> int:
        """Length in whole milliseconds, rounded up so the clip always fits its slot."""
        return -(-self.frames * 1000 // self.sample_rate)


def _read_clip(path: Path) -> Clip | None:
    """A cached clip, or ``None`` if its WAV or its record (loudness, checksum) is missing or damaged."""
    try:
        # Regular files of sane size only: a FIFO or a device planted in the cache must not hang a run.
        record = json.loads(read_regular(path.with_suffix(".json"), RECORD_LIMIT))
        lufs = float(record["lufs"])
        blocks = tuple(float(value) for value in record["blocks"])
        data = read_regular(path, CLIP_LIMIT)
        if hashlib.sha256(data).hexdigest() != record["sha256"]:
            return None  # damaged since it was cached: synthesize it again
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None
    clip = _read_wav(path, data)
    if clip is None:
        return None
    return Clip(path, clip.frames, clip.sample_rate, lufs, blocks)


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
        key = json.dumps([engine_id, voice, rate, text, MASTERING, SPEECH_MAPPING], ensure_ascii=False)
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
        self._check_space()
        try:
            self._make(synthesizer, voice, missing, results, progress)
        except OSError as exc:
            if exc.errno == errno.ENOSPC or self._disk_full():
                raise self._full_error() from None
            raise EngineError(
                f"cannot write to the clip cache {self.folder} ({exc.strerror or exc}); "
                f"check it, or set {CACHE_ENV} to another folder."
            ) from None
        except EngineError:
            if self._disk_full():  # an engine that cannot write its audio blames itself
                raise self._full_error() from None
            raise
        return results  # type: ignore[return-value]

    def _disk_full(self) -> bool:
        try:
            return shutil.disk_usage(self.folder).free < MIN_FREE_BYTES
        except OSError:
            return False

    def _full_error(self) -> EngineError:
        return EngineError(
            f"the disk of the clip cache {self.folder} is full; free some space, or set {CACHE_ENV} to another folder."
        )

    def _check_space(self) -> None:
        self.writable_folder()
        if self._disk_full():
            raise self._full_error()

    def _make(
        self,
        synthesizer: Synthesizer,
        voice: str | None,
        missing: list[tuple[int, str, int, Path]],
        results: list[tuple[Clip, bool] | None],
        progress: Callable[[int], None] | None,
    ) -> None:
        with (
            tempfile.TemporaryDirectory(prefix=".clips-", dir=self.writable_folder()) as work,
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
                mastered_batch = mastering.submit(master_clips, jobs)
                if progress is not None:
                    # A clip is done when mastered, which can lag well behind the speaking.
                    mastered_batch.add_done_callback(functools.partial(_report_mastered, progress, len(jobs)))
                pending.append((batch, mastered_batch, [out for _, out in jobs]))
            for batch, future, outputs in pending:
                for (index, text, _, path), loudness, mastered in zip(batch, future.result(), outputs, strict=True):
                    clip = _read_wav(mastered)
                    if clip is None:
                        raise EngineError(f"mastering left no audio for {text[:60]!r}; check FOOTAUDIO_FFMPEG.")
                    path.parent.mkdir(parents=True, exist_ok=True)
                    for entry in (path, path.with_suffix(".json")):
                        if entry.is_dir() and not entry.is_symlink():
                            raise EngineError(
                                f"the clip cache entry {entry} is a folder; remove it, or set {CACHE_ENV} to "
                                "another folder."
                            )
                    record = path.with_suffix(".json")
                    staged = Path(work) / f"{index}.json"
                    checksum = hashlib.sha256(mastered.read_bytes()).hexdigest()
                    staged.write_text(
                        json.dumps(
                            {
                                "lufs": loudness.integrated,
                                "true_peak": loudness.true_peak,
                                "blocks": loudness.blocks,
                                "sha256": checksum,
                            }
                        )
                    )
                    # The record goes in first: a WAV in the cache always has its record beside it.
                    os.replace(staged, record)
                    os.replace(mastered, path)
                    clip = Clip(path, clip.frames, clip.sample_rate, loudness.integrated, loudness.blocks)
                    results[index] = (clip, True)

    def writable_folder(self) -> Path:
        """The cache folder, created if needed; an error that says what to do if it cannot be written."""
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


def _report_mastered(progress: Callable[[int], None], count: int, future: Future[list[Loudness]]) -> None:
    if future.exception() is None:
        progress(count)


@dataclass(frozen=True)
class Clips:
    """The clip of every sentence of a script."""

    by_sentence: dict[Speech, Clip]
    """Clip for each distinct sentence (text, rate and substitutions)."""

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
    # The clip follows what is spoken: a lexicon alias changes the clip, not the written text.
    requests = [(sentence.spoken, sentence_rate(settings, sentence)) for sentence in sentences]
    results = cache.get_many(synthesizer, requests, voice, progress)
    by_sentence = {sentence: clip for sentence, (clip, _) in zip(sentences, results, strict=True)}
    return Clips(by_sentence, sum(made for _, made in results))
