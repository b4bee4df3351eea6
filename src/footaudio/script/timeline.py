"""The timeline stage: measured clips, fixed breaks and fitted holds, in whole milliseconds.

Holds share the time left after speech, breaks and sounds by weight, within their
bounds, so the routine lasts exactly the requested length.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import UsageError
from .ssml import Break, Hold, Mark, Script, Sound, Speech

__all__ = ["NarrationDoesNotFit", "Step", "Timeline", "TimelineItem", "build_timeline", "fit_holds"]


class NarrationDoesNotFit(UsageError):
    """The script cannot be stretched or squeezed to the requested length."""

    def __init__(self, message: str, needed_ms: int | None = None, limit_ms: int | None = None) -> None:
        super().__init__(message)
        self.needed_ms = needed_ms
        """Shortest total that fits (when the request was too short)."""
        self.limit_ms = limit_ms
        """Longest total that fits (when the request was too long)."""


@dataclass(frozen=True)
class TimelineItem:
    """One placed item of the routine."""

    kind: str
    """``speech``, ``break``, ``sound`` or ``hold``."""

    start_ms: int
    """Start, from the beginning of the routine."""

    end_ms: int
    """End (exclusive)."""

    step: str
    """Name of the step (mark) the item belongs to."""

    text: str | None = None
    """The sentence, for speech."""

    sound: str | None = None
    """The built-in sound name, for sounds."""

    speech: Speech | None = None
    """The script sentence, for speech (to find its clip)."""

    @property
    def ms(self) -> int:
        """Length in milliseconds."""
        return self.end_ms - self.start_ms

    @property
    def check_in(self) -> bool:
        """A check-in: its sound, or a question with no sound that the giver answers by watching."""
        return (self.kind == "sound" and self.sound == "check-in") or (self.speech is not None and self.speech.check)

    @property
    def silent(self) -> bool:
        """Breaks and holds are silence."""
        return self.kind in ("break", "hold")

    def to_dict(self) -> dict[str, object]:
        """Plain values for JSON."""
        entry: dict[str, object] = {
            "kind": self.kind,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "step": self.step,
        }
        if self.text is not None:
            entry["text"] = self.text
        if self.sound is not None:
            entry["sound"] = self.sound
        if self.speech is not None and self.speech.check:
            entry["check_in"] = True
        return entry


@dataclass(frozen=True)
class Step:
    """A named stretch of the routine: a chapter."""

    name: str
    """Machine name from the mark."""

    title: str
    """Human title (chapter title)."""

    start_ms: int
    """Start of the step."""

    end_ms: int
    """End of the step (start of the next one, or the end of the routine)."""

    def to_dict(self) -> dict[str, object]:
        """Plain values for JSON."""
        return {"name": self.name, "title": self.title, "start_ms": self.start_ms, "end_ms": self.end_ms}


@dataclass(frozen=True)
class Timeline:
    """Every item of a routine placed in time; items tile ``[0, total_ms)`` exactly."""

    items: tuple[TimelineItem, ...]
    """Placed items in order, without gaps or overlaps."""

    steps: tuple[Step, ...]
    """Steps in order, tiling the routine."""

    total_ms: int
    """Length of the routine."""

    @property
    def speech_ms(self) -> int:
        """Time spent speaking."""
        return sum(item.ms for item in self.items if item.kind == "speech")

    def to_dict(self) -> dict[str, object]:
        """Plain values for JSON."""
        return {
            "total_ms": self.total_ms,
            "speech_ms": self.speech_ms,
            "steps": [step.to_dict() for step in self.steps],
            "items": [item.to_dict() for item in self.items],
        }


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def fit_holds(holds: Sequence[Hold], available_ms: int) -> list[int]:
    """Share ``available_ms`` among ``holds`` by weight within their bounds, summing exactly.

    Raises :class:`ValueError` when the bounds make it impossible; callers turn that
    into a message with the length that would work.
    """
    if not holds:
        if available_ms != 0:
            raise ValueError("no holds to fill")
        return []
    lows = [hold.min_ms for hold in holds]
    highs = [math.inf if hold.max_ms is None else hold.max_ms for hold in holds]
    if sum(lows) > available_ms or sum(highs) < available_ms:
        raise ValueError("bounds do not admit the total")
    weights = [hold.weight for hold in holds]

    def filled(level: float) -> float:
        return sum(_clamp(level * w, lo, hi) for w, lo, hi in zip(weights, lows, highs, strict=True))

    # Water-filling: the level at which the clamped shares add up to the total.
    low_level, high_level = 0.0, 1.0
    while filled(high_level) < available_ms:
        high_level *= 2
    for _ in range(200):
        middle = (low_level + high_level) / 2
        if filled(middle) < available_ms:
            low_level = middle
        else:
            high_level = middle
    shares = [_clamp(high_level * w, lo, hi) for w, lo, hi in zip(weights, lows, highs, strict=True)]
    lengths = [int(_clamp(math.floor(share), lo, hi)) for share, lo, hi in zip(shares, lows, highs, strict=True)]
    # Hand out the rounding leftovers one millisecond at a time, largest remainder first.
    order = sorted(range(len(holds)), key=lambda i: shares[i] - lengths[i], reverse=True)
    left = available_ms - sum(lengths)
    while left != 0:
        moved = False
        for i in order:
            if left > 0 and lengths[i] < highs[i]:
                lengths[i] += 1
                left -= 1
                moved = True
            elif left < 0 and lengths[i] > lows[i]:
                lengths[i] -= 1
                left += 1
                moved = True
            if left == 0:
                break
        if not moved:  # pragma: no cover - excluded by the bounds check above
            raise ValueError("cannot distribute the remainder")
    return lengths


def build_timeline(script: Script, speech_ms: Callable[[Speech], int], total_ms: int) -> Timeline:
    """Place every item of ``script`` so the routine lasts exactly ``total_ms``."""
    holds = [item for item in script.items if isinstance(item, Hold)]
    fixed_ms = 0
    for item in script.items:
        if isinstance(item, Speech):
            fixed_ms += speech_ms(item)
        elif isinstance(item, Break | Sound):
            fixed_ms += item.ms
    minimum = fixed_ms + sum(hold.min_ms for hold in holds)
    maximum = (
        math.inf if any(hold.max_ms is None for hold in holds) else fixed_ms + sum(hold.max_ms or 0 for hold in holds)
    )
    if not holds:
        maximum = fixed_ms
    if minimum > total_ms:
        raise NarrationDoesNotFit(
            f"the narration needs at least {minimum / 1000:.1f} s but only {total_ms / 1000:.1f} s were asked for",
            needed_ms=minimum,
        )
    if maximum < total_ms:
        raise NarrationDoesNotFit(
            f"the narration can fill at most {maximum / 1000:.1f} s but {total_ms / 1000:.1f} s were asked for",
            limit_ms=int(maximum),
        )
    hold_lengths = iter(fit_holds(holds, total_ms - fixed_ms))

    items: list[TimelineItem] = []
    marks: list[tuple[Mark, int]] = []
    step = "start"
    now = 0
    for item in script.items:
        if isinstance(item, Mark):
            step = item.name
            marks.append((item, now))
            continue
        if isinstance(item, Speech):
            length, kind = speech_ms(item), "speech"
        elif isinstance(item, Hold):
            length, kind = next(hold_lengths), "hold"
        else:
            length, kind = item.ms, "sound" if isinstance(item, Sound) else "break"
        if length <= 0:
            continue
        items.append(
            TimelineItem(
                kind,
                now,
                now + length,
                step,
                text=item.text if isinstance(item, Speech) else None,
                sound=item.name if isinstance(item, Sound) else None,
                speech=item if isinstance(item, Speech) else None,
            )
        )
        now += length
    if not marks or marks[0][1] > 0:
        marks.insert(0, (Mark("start", "Start"), 0))
    steps = tuple(
        Step(mark.name, mark.title, start, marks[index + 1][1] if index + 1 < len(marks) else now)
        for index, (mark, start) in enumerate(marks)
    )
    # Steps that start where the next one starts carry no time; keep chapters meaningful.
    steps = tuple(step for step in steps if step.end_ms > step.start_ms)
    return Timeline(tuple(items), steps, now)
