"""The script stage: SSML text (from the templates) parsed into a typed, flat script.

footaudio reads a subset of W3C SSML 1.1 (``speak``, ``p``, ``s``, ``break``,
``mark``, ``audio``, ``prosody``, ``sub``) plus one element of its own, ``fa:hold``: the
flexible time in which the listener does a step, and one attribute, ``<s fa:check="watch">``: a
check-in with no sound, a question the giver answers by watching. ``<sub alias="...">word</sub>`` makes the
engine say the alias where every text view shows the word; the pronunciation lexicon
(:mod:`.lexicon`) adds such substitutions to the text nodes as they are read.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TypeAlias

from ..errors import TemplateError
from .lexicon import substitute

__all__ = [
    "FA_NS",
    "SOUND_MS",
    "SSML_NS",
    "Break",
    "Hold",
    "Mark",
    "Script",
    "Sound",
    "Speech",
    "Sub",
    "parse_ssml",
    "parse_time_ms",
]

SOUND_MS: dict[str, int] = {
    "chime": 1800,
    "check-in": 1400,
}
"""Length of each built-in sound in milliseconds (the timeline needs it before any audio)."""

SSML_NS = "http://www.w3.org/2001/10/synthesis"
FA_NS = "urn:footaudio:ssml:1"
XML_NS = "http://www.w3.org/XML/1998/namespace"

BREAK_STRENGTH_MS = {
    "none": 0,
    "x-weak": 150,
    "weak": 300,
    "medium": 600,
    "strong": 1000,
    "x-strong": 1600,
}
PROSODY_RATES = {
    "x-slow": 0.6,
    "slow": 0.8,
    "medium": 1.0,
    "default": 1.0,
    "fast": 1.2,
    "x-fast": 1.4,
}
SUPPORTED = "speak, p, s, sub, break, mark, audio, prosody or fa:hold"
_TIME = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min)\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Mark:
    """Starts a step: every later item belongs to it until the next mark."""

    name: str
    """Machine name of the step, e.g. ``left-kneading``; unique in a script."""

    title: str
    """Human title of the step, e.g. ``Left foot: kneading`` (chapter titles)."""


@dataclass(frozen=True)
class Sub:
    """A stretch of a sentence the engine says differently (``<sub alias="...">``)."""

    start: int
    """Where the written words start in the sentence's text."""

    end: int
    """Where they end (exclusive)."""

    alias: str
    """What the engine says instead."""


@dataclass(frozen=True)
class Speech:
    """One sentence, synthesized as one clip."""

    text: str
    """What is said, plain text as written: what captions, chapters and every view show."""

    rate: float = 1.0
    """Factor on the routine's speech rate (from ``prosody rate``)."""

    subs: tuple[Sub, ...] = ()
    """Substitutions in ``text``, in order (from ``<sub>`` and the lexicon)."""

    check: bool = False
    """A check-in without its sound: a question the giver answers by watching (``<s fa:check="watch">``)."""

    @property
    def spoken(self) -> str:
        """What the engine says: ``text`` with each substitution's alias in place of its words."""
        if not self.subs:
            return self.text
        parts: list[str] = []
        at = 0
        for sub in self.subs:
            parts += [self.text[at : sub.start], sub.alias]
            at = sub.end
        parts.append(self.text[at:])
        return "".join(parts)


@dataclass(frozen=True)
class Break:
    """A fixed pause."""

    ms: int
    """Length in milliseconds."""


@dataclass(frozen=True)
class Sound:
    """A built-in sound such as the chime."""

    name: str
    """Key in :data:`SOUND_MS`."""

    @property
    def ms(self) -> int:
        """Length of the sound in milliseconds."""
        return SOUND_MS[self.name]


@dataclass(frozen=True)
class Hold:
    """Flexible quiet time in which the listener does the step; stretched to fit."""

    weight: float = 1.0
    """Share of the flexible time, relative to the other holds."""

    min_ms: int = 0
    """The hold never gets shorter than this."""

    max_ms: int | None = None
    """The hold never gets longer than this (``None``: no limit)."""


Item: TypeAlias = Mark | Speech | Break | Sound | Hold


@dataclass(frozen=True)
class Script:
    """A routine's narration as a flat sequence of items, before any timing."""

    items: tuple[Item, ...]
    """Marks, sentences, breaks, sounds and holds in the order they play."""

    @property
    def sentences(self) -> tuple[Speech, ...]:
        """Every sentence, in order."""
        return tuple(item for item in self.items if isinstance(item, Speech))

    @property
    def steps(self) -> tuple[Mark, ...]:
        """Every step mark, in order."""
        return tuple(item for item in self.items if isinstance(item, Mark))


def parse_time_ms(value: str, what: str = "time") -> int:
    """Parse an SSML time value such as ``500ms``, ``2s``, ``1.5s`` or ``3m``."""
    match = _TIME.match(value)
    if not match:
        raise TemplateError(f"{what} {value!r} is not a time; write e.g. '500ms', '2s' or '3m'.")
    number, unit = float(match.group(1)), match.group(2)
    scale = {"ms": 1, "s": 1000, "m": 60_000, "min": 60_000}[unit]
    return round(number * scale)


def _local(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return "", tag


def _is_sub(element: ET.Element) -> bool:
    namespace, name = _local(element.tag)
    return name == "sub" and namespace in (SSML_NS, "")


def _prosody_rate(value: str) -> float:
    value = value.strip()
    if value in PROSODY_RATES:
        return PROSODY_RATES[value]
    if value.endswith("%"):
        try:
            factor = float(value[:-1]) / 100
        except ValueError:
            factor = 0.0
        if 0.3 <= factor <= 3.0:
            return factor
    raise TemplateError(
        f"prosody rate {value!r} is not supported; use x-slow, slow, medium, fast, x-fast "
        "or a percentage from 30% to 300%."
    )


_FIRST_SLOT = 0xE000
"""Private-use characters (from here, any the text does not use) stand for substitutions while a run
of text is split into sentences."""

Piece: TypeAlias = tuple[str, str | None]
"""Inline text as ``(written, alias)``; the alias is ``None`` for words said as written."""


def _sentences(pieces: list[Piece], rate: float, whole: bool = False) -> list[Speech]:
    """The sentences of a run of inline text; ``whole``: the run is one sentence (an ``<s>``)."""
    slots: list[tuple[str, str]] = []
    joined: list[str] = []
    count = sum(1 for _, alias in pieces if alias is not None)
    # Placeholders the text itself does not use, so any character a sentence holds comes back as written.
    taken = {ord(char) for written, _ in pieces for char in written if ord(char) >= _FIRST_SLOT}
    first = _FIRST_SLOT
    while any(code in taken for code in range(first, first + count)):
        first += count
    for written, alias in pieces:
        if alias is None:
            joined.append(written)
        else:
            joined.append(chr(first + len(slots)))
            slots.append((" ".join(written.split()), alias))
    flat = " ".join("".join(joined).split())
    parts = [flat] if whole else _SENTENCE_END.split(flat)
    found: list[Speech] = []
    for part in parts:
        if not part:
            continue
        text: list[str] = []
        subs: list[Sub] = []
        length = 0
        for char in part:
            index = ord(char) - first
            if 0 <= index < len(slots):
                written, alias = slots[index]
                subs.append(Sub(length, length + len(written), alias))
                char = written
            text.append(char)
            length += len(char)
        found.append(Speech("".join(text), rate, tuple(subs)))
    return found


class _Parser:
    def __init__(self, lexicon: Mapping[str, str]) -> None:
        self.items: list[Item] = []
        self.marks: set[str] = set()
        self.lexicon = lexicon

    def inline(self, text: str | None) -> list[Piece]:
        """Text as written, with the lexicon's substitutions."""
        if not text:
            return []
        return substitute(text, self.lexicon)

    def sub(self, element: ET.Element) -> Piece:
        alias = " ".join(element.get("alias", "").split())
        written = "".join(element.itertext())
        if len(element):
            raise TemplateError(f"<sub> must hold plain text only, not markup: {written.strip()[:60]!r}.")
        if not alias:
            raise TemplateError(f'a <sub> has no alias; write <sub alias="what to say">{written.strip()}</sub>.')
        if not written.strip():
            raise TemplateError(f"the <sub alias={alias!r}> holds no text; put the written word inside it.")
        return written, alias

    def children(self, element: ET.Element, rate: float) -> None:
        pieces = self.inline(element.text)
        for child in element:
            if _is_sub(child):
                pieces.append(self.sub(child))
            else:
                self.items.extend(_sentences(pieces, rate))
                pieces = []
                self.element(child, rate)
            pieces += self.inline(child.tail)
        self.items.extend(_sentences(pieces, rate))

    def element(self, element: ET.Element, rate: float) -> None:
        namespace, name = _local(element.tag)
        if namespace == FA_NS and name == "hold":
            self.items.append(self.hold(element))
        elif namespace not in (SSML_NS, ""):
            raise TemplateError(f"element <{name}> in namespace {namespace} is not supported; use {SUPPORTED}.")
        elif name == "p":
            self.children(element, rate)
        elif name == "s":
            pieces = self.inline(element.text)
            for child in element:
                if not _is_sub(child):
                    text = " ".join("".join(element.itertext()).split())
                    raise TemplateError(f"<s> must hold plain text and <sub> only, not other markup: {text[:60]!r}.")
                pieces += [self.sub(child), *self.inline(child.tail)]
            sentences = _sentences(pieces, rate, whole=True)
            check = element.get(f"{{{FA_NS}}}check")
            if check is not None:
                if check != "watch":
                    raise TemplateError(f'fa:check={check!r} is not supported; write fa:check="watch".')
                sentences = [replace(sentence, check=True) for sentence in sentences]
            self.items.extend(sentences)
        elif name == "prosody":
            factor = _prosody_rate(element.get("rate", "medium"))
            self.children(element, rate * factor)
        elif name == "break":
            if "time" in element.attrib:
                self.items.append(Break(parse_time_ms(element.get("time", ""), "break time")))
            else:
                strength = element.get("strength", "medium")
                if strength not in BREAK_STRENGTH_MS:
                    raise TemplateError(f"break strength {strength!r} is not an SSML strength.")
                self.items.append(Break(BREAK_STRENGTH_MS[strength]))
        elif name == "mark":
            self.items.append(self.mark(element))
        elif name == "audio":
            source = element.get("src", "")
            if source not in SOUND_MS:
                raise TemplateError(
                    f"audio src {source!r} is not a built-in sound; use one of {', '.join(sorted(SOUND_MS))}."
                )
            self.items.append(Sound(source))
        else:
            raise TemplateError(f"SSML element <{name}> is not supported by footaudio; use {SUPPORTED}.")

    def mark(self, element: ET.Element) -> Mark:
        name = element.get("name", "").strip()
        if not name:
            raise TemplateError("a <mark> has no name; give every step a unique name.")
        if name in self.marks:
            raise TemplateError(f"mark name {name!r} is used twice; step names must be unique.")
        self.marks.add(name)
        title = element.get(f"{{{FA_NS}}}title") or name.replace("-", " ").capitalize()
        return Mark(name, title)

    def hold(self, element: ET.Element) -> Hold:
        try:
            weight = float(element.get("weight", "1"))
        except ValueError:
            weight = -1.0
        if not 0 < weight < 1e6:
            raise TemplateError(f"hold weight {element.get('weight')!r} must be a positive number.")
        min_ms = parse_time_ms(element.get("min", "0ms"), "hold min")
        max_text = element.get("max")
        max_ms = parse_time_ms(max_text, "hold max") if max_text is not None else None
        if max_ms is not None and max_ms < min_ms:
            raise TemplateError(f"hold max {max_text!r} is shorter than its min {element.get('min', '0ms')!r}.")
        return Hold(weight, min_ms, max_ms)


def parse_ssml(text: str, source: str = "script", lexicon: Mapping[str, str] | None = None) -> Script:
    """Parse footaudio SSML into a :class:`Script`; errors name the line.

    ``lexicon`` (word -> alias, see :func:`.lexicon.lexicon_for`) wraps each listed word of the
    text nodes as if the template had written ``<sub alias="...">word</sub>``.
    """
    try:
        root = ET.fromstring(text)
    except UnicodeEncodeError as exc:
        raise TemplateError(
            f"{source} contains text that cannot be stored as XML ({exc.reason}); fix the template."
        ) from None
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else "?"
        raise TemplateError(f"{source} is not well-formed SSML (line {line}): {exc.msg}.") from exc
    namespace, name = _local(root.tag)
    if name != "speak" or namespace != SSML_NS:
        raise TemplateError(f'{source} must have <speak xmlns="{SSML_NS}"> as its root element.')
    parser = _Parser(lexicon or {})
    parser.children(root, 1.0)
    if not any(isinstance(item, Speech) for item in parser.items):
        raise TemplateError(f"{source} contains no sentences; a routine needs narration.")
    return Script(tuple(parser.items))
