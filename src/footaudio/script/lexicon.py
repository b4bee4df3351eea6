"""The pronunciation lexicon: words an engine says badly, and what to make it say instead.

Each entry works as ``<sub alias="...">word</sub>`` in the SSML: the engine speaks the alias,
every text view (captions, chapters, ``script``) shows the word, and ``script --format ssml``
shows the ``<sub>``. Entries are kept only where ``scripts/listen.py`` measured fewer word
errors with them than without, per engine and voice: a respelling that helps one voice can
hurt another.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["LEXICON", "lexicon_for", "respell", "substitute"]

LEXICON: dict[str, dict[str, str]] = {
    # Key: an engine id (every voice of it), or "engine-id voice-id" (that voice, on top).
    # Value: word (any case, whole words only) -> what the engine says instead.
    "pyttsx3-espeak": {},
    # eSpeak NG's American English, the default voice, measured with scripts/listen.py (Whisper base,
    # the default 10-minute routines), each respelling alone on the sentences holding its word (errors
    # before -> after), at 130 words a minute as heard (eSpeak given 120, see ESPEAK_RATE_SCALE):
    # - "giver" is heard as "give her": "giv-er" (9 -> 4; 6 -> 2 or 4 earlier).
    # - "notice" is heard as "know this": "noh-tiss" (21 -> 6; 17 -> 6); the hyphen keeps eSpeak from
    #   turning the t into a flap. The earlier "nohtiss" gave eSpeak the very same phonemes.
    # - a sentence-opening "Ask:" lasts about 70 ms of vowel and is heard as a filler: "aaask" (15 -> 8
    #   or 11). Padding the clip, a fade-in or another stop after it did not help.
    # - "then" is heard as "and": "the-en" (18 -> 9).
    # - "lotion" is heard as "ocean": "loh-shun" (14 -> 11).
    # The last three help only at this rate: when eSpeak spoke faster (143 words a minute as heard),
    # "aaask" took 15 errors to 22, and "the-en" and "loh-shun" changed nothing. "sole" is heard as
    # "soul", its homophone: "soal" has the same phonemes, so it is gone. No help: "cup'p", "kup-p",
    # "guh-lide", "glyyde", "eeeze", "un-cross" (7 -> 4), "kneeding", "thenn", "thhen", "soals", "strohks".
    "pyttsx3-espeak gmw/en-us": {
        "giver": "giv-er",
        "notice": "noh-tiss",
        "ask": "aaask",
        "then": "the-en",
        "lotion": "loh-shun",
    },
    # The natural voice, measured the same way: "giver" is heard as "give her" here too, and "giv-er"
    # helps it as well (9 -> 4 in the three sentences holding it). "soal", "fut" for "foot", "kneeding"
    # and "inn" did not help it.
    "piper-en_US-joe-medium": {"giver": "giv-er"},
}
"""Respellings per engine id and voice; measured by ``scripts/listen.py``."""


def lexicon_for(engine_id: str, voice: str | None) -> dict[str, str]:
    """The respellings for ``voice`` of the engine ``engine_id`` (the engine's, then the voice's own)."""
    entries = dict(LEXICON.get(engine_id, {}))
    if voice is not None:
        entries.update(LEXICON.get(f"{engine_id} {voice}", {}))
    return entries


def _pattern(lexicon: Mapping[str, str]) -> re.Pattern[str] | None:
    if not lexicon:
        return None
    words = sorted(lexicon, key=len, reverse=True)
    # Whole words: "giver's" holds giver, "givers" and "forgiver" do not.
    return re.compile(r"(?<![\w'-])(" + "|".join(map(re.escape, words)) + r")(?![\w-])", re.IGNORECASE)


def _alias(word: str, lexicon: Mapping[str, str]) -> str:
    alias = lexicon[word.lower()]
    return alias[:1].upper() + alias[1:] if word[:1].isupper() else alias


def substitute(text: str, lexicon: Mapping[str, str]) -> list[tuple[str, str | None]]:
    """``text`` cut into ``(written, alias)`` pieces: an alias for each lexicon word, ``None`` between."""
    lexicon = {word.lower(): alias for word, alias in lexicon.items()}
    pattern = _pattern(lexicon)
    if pattern is None:
        return [(text, None)]
    pieces: list[tuple[str, str | None]] = []
    at = 0
    for match in pattern.finditer(text):
        if match.start() > at:
            pieces.append((text[at : match.start()], None))
        pieces.append((match.group(), _alias(match.group(), lexicon)))
        at = match.end()
    if at < len(text) or not pieces:
        pieces.append((text[at:], None))
    return pieces


def respell(text: str, lexicon: Mapping[str, str]) -> str:
    """What the engine says for ``text`` with ``lexicon`` applied (as plain text)."""
    return "".join(alias if alias is not None else written for written, alias in substitute(text, lexicon))
