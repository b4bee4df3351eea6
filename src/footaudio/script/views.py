"""Views of a planned routine for ``footaudio script``: plain text, standard SSML and JSON."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from ..settings import Settings
from .ssml import SSML_NS, Speech
from .timeline import Timeline

__all__ = ["as_json", "as_ssml", "as_text", "clock"]


def clock(ms: int) -> str:
    """``mm:ss.s`` (or ``h:mm:ss.s``) for a position in the routine."""
    seconds, tenths = divmod(ms // 100, 10)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{seconds:02d}.{tenths}"
    return f"{minutes:02d}:{seconds:02d}.{tenths}"


def as_text(timeline: Timeline) -> str:
    """The narration as readable text, with times, quiet stretches and chimes."""
    lines: list[str] = []
    steps = {step.name: step for step in timeline.steps}
    current = None
    # Quiet stretches that follow each other (an answer's quiet, then a hold) read as one.
    quiet: list[int] = []

    def end_quiet() -> None:
        if quiet:
            lines.append(f"[{clock(quiet[0])}] (quiet, {quiet[1] / 1000:.0f} s)")
            quiet.clear()

    for item in timeline.items:
        if item.step != current:
            end_quiet()
            current = item.step
            step = steps.get(current)
            if step is not None:
                if lines:
                    lines.append("")
                lines.append(f"== {step.title} ({clock(step.start_ms)}) ==")
        if item.kind in ("speech", "sound"):
            end_quiet()
            text = item.text if item.kind == "speech" else f"({item.sound} sound)"
            lines.append(f"[{clock(item.start_ms)}] {text}")
        elif quiet:
            quiet[1] += item.ms
        elif item.kind == "hold" or item.ms >= 2000:
            quiet[:] = [item.start_ms, item.ms]
    end_quiet()
    lines.append("")
    lines.append(f"[{clock(timeline.total_ms)}] (end)")
    return "\n".join(lines).lstrip("\n") + "\n"


def _fill(sentence: ET.Element, speech: Speech) -> None:
    """Set the text around the ``<sub>`` children of ``sentence`` (again after indenting)."""
    sentence.text = speech.text[: speech.subs[0].start]
    for index, (sub, element) in enumerate(zip(speech.subs, sentence, strict=True)):
        following = speech.subs[index + 1].start if index + 1 < len(speech.subs) else len(speech.text)
        element.tail = speech.text[sub.end : following]


def _sentence(parent: ET.Element, text: str, speech: Speech | None) -> ET.Element | None:
    """An ``<s>`` with a ``<sub alias>`` for each substitution (the lexicon's included).

    Returns the ``<s>`` if it holds markup: indenting would add white space to its text.
    """
    sentence = ET.SubElement(parent, f"{{{SSML_NS}}}s")
    if speech is None or not speech.subs:
        sentence.text = text
        return None
    for sub in speech.subs:
        ET.SubElement(sentence, f"{{{SSML_NS}}}sub", {"alias": sub.alias}).text = speech.text[sub.start : sub.end]
    _fill(sentence, speech)
    return sentence


def as_ssml(timeline: Timeline, settings: Settings) -> str:
    """Standard SSML 1.1 for other engines: holds become breaks, each step starts with a mark.

    Built-in sounds become ``<audio>`` whose fallback content is a break of the same
    length, so an engine that cannot fetch the sound still keeps the timing. Words the
    engine says differently (the pronunciation lexicon) are ``<sub alias="...">``.
    """
    ET.register_namespace("", SSML_NS)
    root = ET.Element(f"{{{SSML_NS}}}speak", {"version": "1.1", "{http://www.w3.org/XML/1998/namespace}lang": "en-US"})
    steps = {step.name: step for step in timeline.steps}
    paragraph: ET.Element | None = None
    current = None
    pending_silence = 0
    mixed: list[tuple[ET.Element, Speech]] = []

    def flush_silence() -> None:
        nonlocal pending_silence
        if pending_silence and paragraph is not None:
            ET.SubElement(paragraph, f"{{{SSML_NS}}}break", {"time": f"{pending_silence}ms"})
        pending_silence = 0

    for item in timeline.items:
        if item.step != current:
            flush_silence()
            current = item.step
            if current in steps:
                ET.SubElement(root, f"{{{SSML_NS}}}mark", {"name": current})
            paragraph = ET.SubElement(root, f"{{{SSML_NS}}}p")
        assert paragraph is not None
        if item.silent:
            pending_silence += item.ms
            continue
        flush_silence()
        if item.kind == "speech":
            parent = paragraph
            rate = item.speech.rate if item.speech is not None else 1.0
            if rate != 1.0:
                parent = ET.SubElement(paragraph, f"{{{SSML_NS}}}prosody", {"rate": f"{rate * 100:.0f}%"})
            sentence = _sentence(parent, item.text or "", item.speech)
            if sentence is not None and item.speech is not None:
                mixed.append((sentence, item.speech))
        else:
            audio = ET.SubElement(paragraph, f"{{{SSML_NS}}}audio", {"src": f"{item.sound}.wav"})
            ET.SubElement(audio, f"{{{SSML_NS}}}break", {"time": f"{item.ms}ms"})
    flush_silence()
    ET.indent(root, space="  ")
    for sentence, speech in mixed:
        _fill(sentence, speech)
    comment = f"<!-- {settings.title}; generated by footaudio -->\n"
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + comment + ET.tostring(root, encoding="unicode") + "\n"


def as_json(timeline: Timeline, settings: Settings) -> str:
    """The timeline as JSON: settings, steps and every item with start and end in ms."""
    document = {"settings": settings.to_dict(), "title": settings.title, **timeline.to_dict()}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
