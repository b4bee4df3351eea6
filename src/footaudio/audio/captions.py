"""Captions from the timeline: WebVTT and LRC files, each sentence at its exact time."""

from __future__ import annotations

from ..script.timeline import Timeline
from ..settings import Settings

__all__ = ["lrc", "webvtt"]

LRC_CLEAR_AFTER_MS = 2000
"""A sentence followed by at least this much quiet gets an empty LRC line, so players clear it."""


def _vtt_time(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _lrc_time(ms: int) -> str:
    minutes, rest = divmod(ms, 60_000)
    return f"{minutes:02d}:{rest // 1000:02d}.{rest % 1000 // 10:02d}"


def webvtt(timeline: Timeline, settings: Settings) -> str:
    """WebVTT cues, one per sentence, timed to the millisecond."""
    lines = ["WEBVTT", f"NOTE {settings.title}, made by footaudio", ""]
    speech = [item for item in timeline.items if item.kind == "speech"]
    for number, item in enumerate(speech, start=1):
        text = (item.text or "").replace("-->", "->")
        lines += [str(number), f"{_vtt_time(item.start_ms)} --> {_vtt_time(item.end_ms)}", text, ""]
    return "\n".join(lines)


def lrc(timeline: Timeline, settings: Settings) -> str:
    """LRC lyrics: a line per sentence, cleared when a long quiet stretch follows."""
    total_s = timeline.total_ms // 1000
    lines = [f"[ti:{settings.title}]", "[ar:footaudio]", f"[length:{total_s // 60:02d}:{total_s % 60:02d}]"]
    items = timeline.items
    for index, item in enumerate(items):
        if item.kind != "speech":
            continue
        lines.append(f"[{_lrc_time(item.start_ms)}]{item.text}")
        quiet_until = item.end_ms
        for later in items[index + 1 :]:
            if not later.silent:
                break
            quiet_until = later.end_ms
        if quiet_until - item.end_ms >= LRC_CLEAR_AFTER_MS:
            lines.append(f"[{_lrc_time(item.end_ms)}]")
    return "\n".join(lines) + "\n"
