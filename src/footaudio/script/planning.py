"""Length-aware planning that the templates use: how many steps, rounds and check-ins.

Pure arithmetic on the settings; the exact hold lengths are fitted later by the
timeline, so the figures here are nominal shares, not final times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..settings import Settings

__all__ = ["HoldSpec", "Round", "RoutinePlan", "StepPlan"]

ROUND_SECONDS = 45
"""Nominal length of one round of a step: a spoken cue and the hold in which it is done."""

ROUND_HOLD_MAX_SECONDS = 45
"""Longest quiet stretch within a step; with the cue around it no silence passes a minute."""

STEP_SECONDS = 100
"""Each this much time on a foot adds one more distinct technique, until the list is used up."""

STEP_PASS_SECONDS = 240
"""A step longer than this is split over several passes through the whole sequence."""

BRIEF_BELOW_MINUTES = 8
"""Routines shorter than this use the compact wording for welcome, safety and closing."""

MINI_BELOW_MINUTES = 3
"""Routines shorter than this use the compact wording for welcome, safety and closing."""


def _get(technique: Any, key: str) -> Any:
    return technique.get(key) if hasattr(technique, "get") else getattr(technique, key, None)


@dataclass(frozen=True)
class HoldSpec:
    """Weight and bounds of one kind of hold, as written into ``<fa:hold>``."""

    weight: float
    """Relative share of the flexible time."""

    min_s: float
    """Shortest allowed length in seconds."""

    max_s: float | None
    """Longest allowed length in seconds, or ``None``."""


@dataclass(frozen=True)
class Round:
    """One cue-and-do cycle within a step."""

    number: int
    """1-based position within its step."""

    check_in: bool
    """Whether a check-in (partner) or awareness prompt (solo) comes before it."""


@dataclass(frozen=True)
class StepPlan:
    """One technique done on one foot in one pass."""

    technique: Any
    """The technique as the template defined it (a mapping with at least ``id``)."""

    number: int
    """1-based position on its foot."""

    pass_number: int
    """1 for the first pass through the sequence, 2 for the second, and so on."""

    rounds: tuple[Round, ...]
    """The rounds of this step, the first one right after the step's introduction."""


@dataclass(frozen=True)
class RoutinePlan:
    """The shape of a routine for given settings; templates read it as ``plan``."""

    settings: Settings

    @property
    def total_seconds(self) -> float:
        """Requested length in seconds."""
        return self.settings.total_ms / 1000

    @property
    def brief(self) -> bool:
        """Short routines use compact wording so narration stays a minority of the time."""
        return self.settings.minutes < BRIEF_BELOW_MINUTES

    @property
    def mini(self) -> bool:
        """Routines under 3 minutes keep only the essentials: one step per foot, no check-ins."""
        return self.settings.minutes < MINI_BELOW_MINUTES

    @property
    def prep_seconds(self) -> float:
        """Nominal preparation hold: time to wash, dry and warm the lotion."""
        if self.mini:
            return 6
        return min(max(0.08 * self.total_seconds, 20), 240)

    @property
    def prep_hold(self) -> HoldSpec:
        """Hold in which the listener prepares."""
        nominal = self.prep_seconds
        return HoldSpec(nominal / ROUND_SECONDS, 3 if self.mini else min(nominal, 20), max(nominal * 1.5, 30))

    @property
    def round_hold(self) -> HoldSpec:
        """Hold in which one round of a step is done."""
        return HoldSpec(1.0, 3 if self.mini else 12, ROUND_HOLD_MAX_SECONDS)

    @property
    def settle_hold(self) -> HoldSpec:
        """Short holds around the welcome and the closing stillness."""
        return HoldSpec(0.25, 1 if self.mini else 2, 20)

    @property
    def check_in_every(self) -> int:
        """Rounds between check-ins: partner at least every 150 s, solo every 180 s."""
        return 2

    @property
    def overhead_seconds(self) -> float:
        """Nominal time outside the feet: welcome, safety, preparation, closing."""
        talk = 45 if self.brief else 80
        if self.settings.mode == "partner":
            talk += 15 if self.brief else 25
        return talk + self.prep_seconds

    @property
    def foot_seconds(self) -> float:
        """Nominal time on each foot."""
        return max((self.total_seconds - self.overhead_seconds) / 2, 10)

    def steps(self, techniques: list[Any]) -> list[StepPlan]:
        """The steps for one foot: more distinct techniques and rounds as the routine grows.

        The same list is used on both feet, so the second mirrors the first.
        """
        if not techniques:
            return []
        count = min(len(techniques), max(1, math.floor(self.foot_seconds / STEP_SECONDS)))
        # A technique marked "finish" (a soothing last step) stays in even when others are left out.
        finish = [t for t in techniques if _get(t, "finish")]
        others = [t for t in techniques if not _get(t, "finish")]
        if count >= len(techniques):
            chosen = list(techniques)
        elif count > len(finish):
            chosen = others[: count - len(finish)] + finish
        else:
            chosen = others[:count]
        step_seconds = self.foot_seconds / count
        passes = max(1, math.ceil(step_seconds / STEP_PASS_SECONDS))
        rounds = max(1, round(step_seconds / passes / ROUND_SECONDS))
        every = self.check_in_every
        plan: list[StepPlan] = []
        since_check_in = 0
        for pass_number in range(1, passes + 1):
            for number, technique in enumerate(chosen, start=1):
                step_rounds = []
                for round_number in range(1, rounds + 1):
                    # The step introduction itself carries a check-in, so count from it.
                    if round_number == 1:
                        since_check_in = 0
                    check_in = round_number > 1 and since_check_in >= every
                    if check_in:
                        since_check_in = 0
                    since_check_in += 1
                    step_rounds.append(Round(round_number, check_in))
                plan.append(StepPlan(technique, number, pass_number, tuple(step_rounds)))
        return plan
