"""Speech engines: the synthesizer protocol, voices, and the shared engine of each kind.

Engines start lazily: making a synthesizer starts nothing until it first speaks or lists voices.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path
from typing import Protocol

from ..errors import EngineError, UsageError

__all__ = [
    "ENGINE_NAMES",
    "EngineVoices",
    "Synthesizer",
    "Voice",
    "choose_voice",
    "default_synthesizer",
    "list_voices",
    "resolve_voice",
]


@dataclass(frozen=True)
class Voice:
    """A voice of a speech engine."""

    id: str
    """What ``--voice`` takes, e.g. ``gmw/en-us``."""

    name: str
    """Human name, e.g. ``English (America)``."""

    languages: tuple[str, ...] = ()
    """Language tags the voice speaks."""


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

    def close(self) -> None:
        """Release the engine (stop a worker process, free a loaded model)."""
        ...


ENGINE_NAMES = ("pyttsx3", "piper")
"""The speech engines footaudio knows, in the order ``footaudio voices`` lists them."""


@dataclass(frozen=True)
class EngineVoices:
    """One engine's voices, as ``footaudio voices`` lists them."""

    engine: str
    """``pyttsx3`` or ``piper``."""

    engine_id: str
    """The engine and driver, e.g. ``pyttsx3-espeak``."""

    voices: tuple[Voice, ...] = ()
    """The voices it offers."""

    default: str | None = None
    """The id of the voice used when none is chosen."""

    problem: str | None = None
    """Why the engine is not available (then it has no voices)."""


_synthesizers: dict[str, Synthesizer] = {}


def default_synthesizer(engine: str = "pyttsx3") -> Synthesizer:
    """The shared synthesizer of an engine (``pyttsx3`` or ``piper``), made on first use.

    Making one starts nothing: engines start when they first speak or list voices, and
    ``engine_id`` is known without starting them.
    """
    if engine not in _synthesizers:
        if engine == "piper":
            from .piper_engine import PiperSynthesizer

            _synthesizers[engine] = PiperSynthesizer()
        else:
            from .pyttsx3_engine import Pyttsx3Synthesizer

            _synthesizers[engine] = Pyttsx3Synthesizer()
    return _synthesizers[engine]


def choose_voice(synthesizer: Synthesizer, wanted: str | None) -> str | None:
    """The voice id to synthesize with: a listed voice (by id or name), or a Piper model path."""
    if wanted is None:
        return None
    if wanted.lower().endswith(".onnx"):
        if synthesizer.engine_id.startswith("pyttsx3"):
            raise UsageError(
                f"--voice {wanted!r} is a Piper voice file, which only the piper engine reads; "
                "add --engine piper, or run 'footaudio voices' to list the pyttsx3 voices."
            )
        return wanted  # a voice file; the engine checks it and says what is missing
    return resolve_voice(synthesizer.voices(), wanted)


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


def list_voices() -> list[EngineVoices]:
    """Every engine's voices and default voice; an engine that is not available says why."""
    found = []
    for engine in ENGINE_NAMES:
        synthesizer = default_synthesizer(engine)
        try:
            voices = tuple(synthesizer.voices())
            default = synthesizer.default_voice
        except EngineError as exc:
            found.append(EngineVoices(engine, synthesizer.engine_id, problem=exc.message))
            continue
        found.append(EngineVoices(engine, synthesizer.engine_id, voices, default))
    return found
