"""Pacing rules of a guided routine, checked on a planned timeline (``footaudio script --check``).

The same checks back the tests, so the report and the test suite cannot disagree.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass

from ..settings import Settings
from .timeline import Timeline
from .views import clock

__all__ = ["PacingReport", "check_pacing"]

SPEECH_SHARE = (0.15, 0.45)
LONGEST_SILENCE_MS = 60_000
CHECK_IN_GAP_MS = {"partner": 150_000, "solo": 180_000}
FOOT_BALANCE = 0.10
EXEMPT_SILENCE_STEPS = ("preparation",)
FIXED_LINE_STEPS = ("safety",)
FEET = ("right", "left")
RULES_FROM_MINUTES = 3
"""The rules are made for routines of 3 minutes and more; shorter ones are reported, not judged."""


@dataclass(frozen=True)
class PacingReport:
    """Pacing figures of one routine and the rules it breaks."""

    settings: Settings
    total_ms: int
    speech_ms: int
    longest_silence_ms: int
    longest_silence_at_ms: int
    check_in_count: int
    longest_check_in_gap_ms: int
    foot_ms: dict[str, int]
    techniques: int
    steps: int
    repeated: tuple[str, ...]
    problems: tuple[str, ...]

    @property
    def speech_share(self) -> float:
        """Fraction of the routine spent speaking."""
        return self.speech_ms / self.total_ms

    @property
    def ok(self) -> bool:
        """Whether every rule holds."""
        return not self.problems

    def to_text(self) -> str:
        """The report as a person reads it."""
        right, left = (self.foot_ms.get(foot, 0) for foot in FEET)
        apart = abs(right - left) / max(right, left, 1)
        gap_limit = CHECK_IN_GAP_MS[self.settings.mode] // 1000
        lines = [
            f"Pacing report: {self.settings.title}",
            f"  total              {clock(self.total_ms)} ({self.total_ms / 1000:.1f} s)",
            f"  speech             {self.speech_share:.0%} of the time ({self.speech_ms / 1000:.1f} s); "
            f"rule: {SPEECH_SHARE[0]:.0%} to {SPEECH_SHARE[1]:.0%}",
            f"  longest silence    {self.longest_silence_ms / 1000:.1f} s at {clock(self.longest_silence_at_ms)} "
            f"(preparation excluded); rule: at most {LONGEST_SILENCE_MS // 1000} s",
            f"  check-ins          {self.check_in_count}, longest gap {self.longest_check_in_gap_ms / 1000:.1f} s; "
            f"rule: at most {gap_limit} s apart",
            f"  time per foot      right {right / 1000:.1f} s, left {left / 1000:.1f} s ({apart:.1%} apart); "
            f"rule: within {FOOT_BALANCE:.0%}",
            f"  steps              {self.steps} in all, {self.techniques} distinct techniques per foot",
            f"  repeated sentences {len(self.repeated) or 'none'}",
        ]
        if self.problems:
            lines.append(f"Broken rules ({len(self.problems)}):")
            lines.extend(f"  - {problem}" for problem in self.problems)
        else:
            lines.append("All pacing rules hold.")
        return "\n".join(lines) + "\n"


def _foot(step: str) -> str | None:
    head = step.split("-", 1)[0]
    return head if head in FEET else None


def check_pacing(timeline: Timeline, settings: Settings) -> PacingReport:
    """Measure ``timeline`` against the pacing rules for ``settings``."""
    items = timeline.items
    # Longest run of consecutive silent items, outside the preparation step.
    longest = longest_at = run = run_start = 0
    for item in items:
        if item.silent and item.step not in EXEMPT_SILENCE_STEPS:
            if run == 0:
                run_start = item.start_ms
            run += item.ms
            if run > longest:
                longest, longest_at = run, run_start
        else:
            run = 0

    feet_items = [item for item in items if _foot(item.step)]
    check_ins = [item.start_ms for item in feet_items if item.kind == "sound" and item.sound == "check-in"]
    gap = 0
    if feet_items:
        marks = [feet_items[0].start_ms, *check_ins, feet_items[-1].end_ms]
        gap = max(b - a for a, b in itertools.pairwise(marks))

    foot_ms = {foot: 0 for foot in FEET}
    for step in timeline.steps:
        foot = _foot(step.name)
        if foot:
            foot_ms[foot] += step.end_ms - step.start_ms
    technique_ids = {step.name.split("-", 3)[-1] for step in timeline.steps if _foot(step.name) == FEET[0]}

    said = Counter(item.text for item in items if item.kind == "speech" and item.step not in FIXED_LINE_STEPS)
    repeated = tuple(sorted(text for text, count in said.items() if count > 1 and text))

    problems: list[str] = []
    if settings.minutes >= RULES_FROM_MINUTES:
        share = timeline.speech_ms / timeline.total_ms
        if not SPEECH_SHARE[0] <= share <= SPEECH_SHARE[1]:
            problems.append(
                f"speech is {share:.0%} of the time, outside {SPEECH_SHARE[0]:.0%} to {SPEECH_SHARE[1]:.0%}"
            )
        if longest > LONGEST_SILENCE_MS:
            problems.append(f"a silence of {longest / 1000:.1f} s at {clock(longest_at)} is longer than 60 s")
        limit = CHECK_IN_GAP_MS[settings.mode]
        if gap > limit:
            problems.append(f"check-ins are up to {gap / 1000:.1f} s apart, more than {limit // 1000} s")
        for foot in FEET:
            first = next((item for item in feet_items if _foot(item.step) == foot), None)
            starts = [item for item in feet_items if _foot(item.step) == foot][:8]
            if first is None:
                problems.append(f"the {foot} foot has no steps")
            elif not any(item.kind == "sound" and item.sound == "check-in" for item in starts):
                problems.append(f"the {foot} foot does not start with a check-in")
        right, left = foot_ms[FEET[0]], foot_ms[FEET[1]]
        if abs(right - left) > FOOT_BALANCE * max(right, left, 1):
            problems.append(
                f"time per foot differs by more than 10% (right {right / 1000:.1f} s, left {left / 1000:.1f} s)"
            )
        for text in repeated:
            problems.append(f"sentence said {said[text]} times: {text!r}")
        names = [step.name for step in timeline.steps]
        for needed in ("welcome", "safety", "preparation", "closing"):
            if needed not in names:
                problems.append(f"the routine has no {needed} step")
    return PacingReport(
        settings=settings,
        total_ms=timeline.total_ms,
        speech_ms=timeline.speech_ms,
        longest_silence_ms=longest,
        longest_silence_at_ms=longest_at,
        check_in_count=len(check_ins),
        longest_check_in_gap_ms=gap,
        foot_ms=foot_ms,
        techniques=len(technique_ids),
        steps=len(timeline.steps),
        repeated=repeated,
        problems=tuple(problems),
    )
