"""Length-aware planning that the templates use: how many steps, rounds and check-ins.

Pure arithmetic on the settings; the exact hold lengths are fitted later by the
timeline, so the figures here are nominal shares, not final times.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any

from ..settings import Settings

__all__ = ["HoldSpec", "Round", "RoutinePlan", "StepPlan"]

ROUND_SECONDS = 40
"""Nominal length of one round of a step: a spoken cue and the hold in which it is done."""

STEP_ROUND_SECONDS = 30
"""A step's time after its first question is cut into rounds this long, so a cue comes every half minute or so
(up to an hour; longer routines use ``ROUND_SECONDS``, so the cues do not run out)."""

WALK_TAIL_MIN_SECONDS = 8
"""The least quiet after a walk-through's last place (the last toe needs its time too)."""

SHORT_WALK_SHARE = 0.75
"""Under 30 minutes (``VARIED_RHYTHM_FROM_MINUTES``) a walk-through's places get this share of their written
quiet (``[12s]``: 9 s): a shorter routine moves through the toes sooner."""

HELD_COUNT = re.compile(r"\bbreaths\b", re.IGNORECASE)
"""A point held for a count of breaths ("hold it there, steady, for three calm breaths"): in a walk-through's place
its quiet is not drawn out (``LONG_WALK_SHARE``); in a one-sentence cue it gets ``breaths_hold`` ("for a breath" is
a pause, not a count)."""

LONG_WALK_SHARE = 1.25
"""From 45 minutes (``SECOND_FOOT_VARIES_FROM_MINUTES``) a walk-through's places get more than their written
quiet (``[12s]``: 15 s): time for a beginner to follow each toe by ear."""

LINE_HOLD_SECONDS = 14
"""Short routines from 10 minutes: the least quiet after a cue to walk a line of the arch in full (``line_hold``)."""

SPREAD_HOLD_SECONDS = 18
"""Solo: the least quiet for the strokes that spread the lotion after the ball, the foot crossed over the knee as
they begin (``spread_hold``; read 103: 12 s was too little to cover and warm a foot before firm work)."""

COMPACT_SPREAD_HOLD_SECONDS = 13
"""The same under 15 minutes, where the foot crosses and the lotion warms in a pause of their own before (read 112;
read 117: 15 s, when that pause was too short, can be 12; reads 129 to 133: 12 s was a short warm-up before firm
work; read 134: the soft fist needed the seconds more)."""

CLOSING_STILL_SECONDS = 15
"""From 30 minutes: the least quiet of each stillness in a partner closing (``closing_hold``)."""

SOLO_CLOSING_STILL_SECONDS = 16.5
"""The same in a solo closing, which has no thanks or towel to fill it: its 90 s need the longer floor."""

LONG_CLOSING_STILL_SECONDS = 30
"""From an hour: the least quiet of each stillness in the closing (``closing_hold``; read 119: 16 s of hands at rest
after an hour's work was short)."""

LONG_THANKS_SECONDS = 24
"""From an hour: the least quiet for the partners' thanks (``thanks_hold``)."""

COMPACT_STILL_HOLD_SECONDS = 12
"""Under 15 minutes (both modes): the least stillness that ends a foot (``still_hold``)."""

LONG_FIRM_ROUND_STRETCH = 1.05
"""From 45 minutes (``SECOND_FOOT_VARIES_FROM_MINUTES``) firm steps are planned in rounds this much longer than
``ROUND_SECONDS``, so fewer of them: the quiet's floors rise there (a round's 12 s, a held point's 24 s), and with
the rounds of shorter routines partner firm 45 to 50 minutes planned within seconds of the time (46 minutes did
not fit). Light and medium steps, whose holds have no such floors, keep the nominal rounds."""

BREATHS_HOLD_SECONDS = 24
"""From 45 minutes, the least quiet after a point held for a count of breaths in one sentence (``breaths_hold``)."""

PREP_MIDWAY_SECONDS = 5
"""About what the soft word in the middle of the washing hold takes to say ("If you are still washing or drying,
take your time; the quiet goes on a little longer.")."""

SHORT_WALK_TAIL_MIN_SECONDS = 6
"""The same for the quiet after the last place."""

WALK_TAIL_SHARE = 0.3
"""At least this share of a round's quiet follows a walk-through's last place (the work goes on)."""

DENSE_ROUND_SECONDS = 48
"""From 20 to 30 minutes (solo: from 15), where a step's fixed talk (instructions, question) takes the
largest share, a round runs longer so the hands get quiet stretches."""

ROUND_HOLD_MAX_SECONDS = 45
"""Longest quiet stretch within a step; with the cue around it no silence passes a minute."""

FIRST_HOLD_SECONDS = (15, 24)
"""Quiet after a step's instructions before its first check-in: the technique runs 15 to 30 s first."""

FIRST_HOLD_MOST_SECONDS = 25
"""The longest that a step may ask to be quiet before its first check-in (the question comes within 30 s)."""

STEP_SECONDS = 115
"""Each this much time on a foot adds one more distinct step, until the list is used up."""

DEEP_STEP_SECONDS = 200
"""When the distinct steps would each run longer than this, deeper passes of the main steps are added."""

MAX_DEEP_PASSES = 3
"""At most this many deeper passes per foot: the pressure's signature steps, never a replay of the sequence."""

HOLD_SCALES = (1.0, 0.7, 1.3, 0.85, 1.15, 0.75, 1.25)
"""Shares of a step's quiet given to its rounds in turn, so no two steps have the same rhythm."""

RECEIVER_SECONDS = 175
"""Nominal time between the receiver's own lines (rule: every 3 to 5 minutes)."""

LONG_RECEIVER_SECONDS = 185
"""The same beyond an hour, so fewer lines name a role and the pool lasts."""

WATCH_SECONDS = 230
"""Nominal time between the lines that tell the giver what to watch for (the rule allows 360 s)."""

SHORT_WATCH_SECONDS = 250
"""The same under 30 minutes, where check-ins come often and the narration is dense already."""

LONG_WATCH_SECONDS = 160
"""The same beyond an hour, so the pool of watch lines lasts without repeating."""

AGAIN_COMPACT_S = 5.0
"""Short routines: longest quiet right after a recap, before the step's first hold (the question follows)."""

AGAIN_FINISH_MAX_S = 5.0
"""The same after the finishing stillness of a long routine."""

AGAIN_PAUSE_MAX_S = 12.0
"""Longest quiet added at the end of a second-foot step for its shorter instructions (a hold precedes it)."""

VARIED_RHYTHM_FROM_MINUTES = 30
"""From this length, some steps let the work go on after their first question, with no new cue at once,
and every other line on what to watch for comes in the middle of a round's quiet, not right after its cue."""

SECOND_FOOT_VARIES_FROM_MINUTES = 45
"""From this length the second foot does not mirror the first's rhythm: other steps work on after their
question, and the quiets fall in another order (partner templates also check by watching there)."""

CARE_FROM_MINUTES = 20
"""Routines this long or longer stop midway through each foot for the hands of the one doing the work."""

CARE_SECONDS = 14
"""About how long that moment lasts: a sentence, then time to shake out the hands."""

SWITCH_SECONDS = 50
"""Nominal length of the change of feet (partner): set down, cover, the giver's hands, the receiver's line."""

PLAIN_PRIORITY = 50
"""Priority of a technique that names none: after every technique that does, in list order."""

CHECK_IN_SECONDS = {"partner": 140, "solo": 160}
"""Nominal longest time between check-ins; the rules allow 150 s (partner) and 180 s (solo)."""

EXTRA_CHECK_IN_SLACK = {"partner": 10, "solo": 0}
"""A step asks a second question only when it runs this much past the nominal gap: one question per step
(partner steps of about two and a half minutes ask once, up to an hour; solo prompts are already close
to their limit, and so are the longer steps beyond an hour)."""

FINISH_CHECK_IN_SLACK = 40
"""The finishing step may run this much longer before a second question: quiet matters more there."""

WATCH_FROM_MINUTES = 15
"""Routines this long or longer tell the giver what to watch for between the questions."""

ANSWER_MS = {"partner": 7000, "solo": 6000}
"""Quiet after a check-in question, for the answer (or, solo, for noticing)."""

ANSWER_SPREAD_MS = {"partner": (0, 500, 1000), "solo": (0,)}
"""Partner questions leave 7 to 8 s for the answer, in turn, so the check-ins do not keep one fixed beat
(short routines keep 7 s: their steps and feet have no time to spare)."""

BRIEF_BELOW_MINUTES = 8
"""Routines shorter than this use the compact wording for welcome, safety and closing."""

COMPACT_BELOW_MINUTES = 15
"""Routines shorter than this use the compact safety, preparation and closing wording."""

PARTNER_COMPACT_BELOW_MINUTES = 20
"""The same for partner routines: from 15 to 20 minutes the full partner wording did not fit."""

SHORT_BELOW_MINUTES = 6
"""Routines shorter than this do one step per foot, with the warm-up in the same breath as the foot change."""

MINI_BELOW_MINUTES = 3
"""Routines shorter than this keep only the essentials: one step per foot, no check-ins."""

PHASES = ("warm", "main", "deep", "finish")
"""The arc on each foot: warm-up, main work, deeper passes of the main work, finishing."""


def _get(technique: Any, key: str) -> Any:
    return technique.get(key) if hasattr(technique, "get") else getattr(technique, key, None)


def _priority(technique: Any) -> int:
    """Which main steps a shorter routine keeps first: the technique's ``priority``, lower first."""
    priority = _get(technique, "priority")
    return PLAIN_PRIORITY if priority is None else int(priority)


SECONDS_PER_CHARACTER = 0.075
"""Rough pace of narration at about 130 words a minute, to estimate how long instructions take."""


def _spoken_seconds(technique: Any) -> float:
    """About how long a technique's instructions take to say (first alternative of each sentence).

    A line said only the first time (``once``) counts too: the plan is the same on both feet, and the
    first foot's question must not come late.
    """
    how = [*(_get(technique, "how") or []), *([_get(technique, "once")] if _get(technique, "once") else [])]
    return _said_seconds(how)


WALK_GAP = re.compile(r"\s*\[(\d+(?:\.\d+)?)s\]\s*")
"""The quiet between a walk-through's sentences: ``[6s]`` (see ``templating.Wording.walk``)."""


def walk_parts(text: str) -> list[tuple[str, int]]:
    """A walk-through's sentences with the quiet after each in ms: ``"A. [6s] B."`` is ``[("A.", 6000), ("B.", 0)]``.

    A quiet written after the last sentence (``"A. [7s] B. [22s]"``) is the least the round keeps after it
    (``RoutinePlan.walk_tail_hold_at``).
    """
    pieces = WALK_GAP.split(text.strip())
    gaps = [round(float(gap) * 1000) for gap in pieces[1::2]]
    if len(pieces) > 1 and not pieces[-1]:
        return list(zip(pieces[0:-1:2], gaps, strict=True))
    return list(zip(pieces[0::2], [*gaps, 0], strict=True))


ASKS = re.compile(r"^Ask\b")
"""A walk-through's place where the giver asks something ("Ask whether strokes between the toes are welcome. [7s]"):
its quiet is for the answer, neither shortened nor drawn out."""


def place_quiet_seconds(ms: int, share: float, sentence: str = "") -> float:
    """The quiet a walk-through's place gets: its written quiet times ``share``, but a held count of breaths
    ("hold it there, steady, for three calm breaths") is not drawn out beyond what is written (read 90: the
    "And let go" after it came late), and a question's quiet is for the answer (``ASKS``)."""
    if ASKS.search(sentence):
        return ms / 1000
    return ms / 1000 * (share if share <= 1 or not HELD_COUNT.search(sentence) else 1.0)


def _walk_seconds(technique: Any, rounds: int, skip: int = 0, share: float = 1.0) -> list[float]:
    """About how much longer than a one-sentence cue each round's walk-through takes (0 without one).

    A step's rounds say its technique's cues from ``skip`` on, one each; a walk-through ("Now the second
    toe. [6s] Then the middle toe.") adds its further sentences and its quiet between places, which does
    not give way as the round's other quiet does.
    """
    added = []
    for cue in ((_get(technique, "cues") or []) if _get(technique, "sequence") else [])[skip : skip + rounds]:
        parts = walk_parts(cue if isinstance(cue, str) else (cue[0] if cue else ""))
        # (With the quiet written after its last place: it is the least its round keeps, and does not give way.)
        quiet = sum(place_quiet_seconds(gap, share, sentence) for sentence, gap in parts)
        walk = _said_seconds([sentence for sentence, _ in parts[1:]]) + quiet
        added.append(walk if len(parts) > 1 else 0.0)
    return added + [0.0] * (rounds - len(added))


def _said_seconds(parts: Any) -> float:
    """About how long sentences take to say (the first alternative of each)."""
    sentences = [part if isinstance(part, str) else (part[0] if part else "") for part in parts]
    return SECONDS_PER_CHARACTER * sum(len(sentence) for sentence in sentences)


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

    receiver: bool = False
    """Partner: whether the receiver hears a line of their own in this round."""

    watch: bool = False
    """Partner: whether the giver is told what to watch for in this round."""


@dataclass(frozen=True)
class StepPlan:
    """One technique done on one foot in one pass."""

    technique: Any
    """The technique as the template defined it (a mapping with at least ``id``)."""

    number: int
    """1-based position on its foot."""

    pass_number: int
    """1 for the technique's first pass, 2 for its deeper pass."""

    rounds: tuple[Round, ...]
    """The rounds of this step; the first one starts after the step's introduction and first hold."""

    phase: str = "main"
    """Where the step sits in the foot's arc: ``warm``, ``main``, ``deep`` or ``finish``."""


@dataclass(frozen=True)
class RoutinePlan:
    """The shape of a routine for given settings; templates read it as ``plan``."""

    settings: Settings
    pace: float = 1.0
    """How much longer the voice takes to say the narration than ``SECONDS_PER_CHARACTER`` assumes (1.1: a
    tenth longer). A slower voice gets a leaner plan: the wording of a shorter routine, fewer cues on each step."""

    @property
    def content_minutes(self) -> float:
        """The length whose wording and number of steps fit this voice: the minutes asked, over the pace."""
        return self.settings.minutes / self.pace

    @property
    def total_seconds(self) -> float:
        """Requested length in seconds."""
        return self.settings.total_ms / 1000

    @property
    def brief(self) -> bool:
        """Short routines use compact wording so narration stays a minority of the time."""
        return self.content_minutes < BRIEF_BELOW_MINUTES

    @property
    def compact(self) -> bool:
        """Routines under 15 minutes (partner: 20): compact safety, preparation and closing, so the feet get the time.

        Partner routines say more (both roles, the boundaries, watch lines), so the full wording waits
        until 20 minutes, where the time to wash comes in too.
        """
        below = COMPACT_BELOW_MINUTES if self.settings.mode == "solo" else PARTNER_COMPACT_BELOW_MINUTES
        return self.content_minutes < below

    @property
    def short(self) -> bool:
        """Routines under 6 minutes: one step per foot, the fewest words that still guide."""
        return self.content_minutes < SHORT_BELOW_MINUTES

    @property
    def mini(self) -> bool:
        """Routines under 3 minutes keep only the essentials: one step per foot, no check-ins."""
        return self.content_minutes < MINI_BELOW_MINUTES

    @property
    def washing(self) -> bool:
        """Whether the preparation asks to wash now (with a hold long enough to do it)."""
        return self.settings.minutes >= 20

    @property
    def prep_seconds(self) -> float:
        """Nominal preparation hold: time to wash, dry and warm the lotion (or to settle)."""
        if self.mini:
            return 6
        if self.washing:
            return min(max(0.05 * self.total_seconds, 75), 150)
        return 20

    @property
    def prep_hold(self) -> HoldSpec:
        """Hold in which the listener prepares: 60 s or more when washing is asked."""
        nominal = self.prep_seconds
        # Compact routines ask to pause the audio to wash: the quiet is for towels and a seat.
        # Solo under 15 minutes asks to pause the audio for all of it (read 103: its 9 s of quiet were
        # better spent on the lotion): the quiet is only for pressing pause, 4 s (the second went to crossing the leg
        # and warming the lotion, reads 117 and 118).
        solo_pauses = self.compact and self.settings.mode == "solo"
        low = 3 if self.mini else (60 if self.washing else (4 if solo_pauses else 5 if self.short else 8))
        return HoldSpec(nominal / ROUND_SECONDS, low, max(nominal * 1.5, 30))

    @property
    def prep_half_hold(self) -> HoldSpec:
        """Half the washing hold, either side of a soft word in its middle (with the word, still 60 s or more)."""
        spec = self.prep_hold
        low = (spec.min_s - PREP_MIDWAY_SECONDS) / 2
        return HoldSpec(spec.weight / 2, low, None if spec.max_s is None else spec.max_s / 2)

    @property
    def boundaries_hold(self) -> HoldSpec:
        """Partner: quiet in which the two agree on boundaries (20 to 30 s)."""
        return HoldSpec(0.6, 25 if self.settings.minutes >= 30 else 20, 30)

    @property
    def first_hold(self) -> HoldSpec:
        """Quiet after a step's instructions, before its first check-in."""
        low, high = FIRST_HOLD_SECONDS
        if self.mini or self.settings.minutes < 5:
            return HoldSpec(0.3, 3 if self.mini else 8, 20)
        return HoldSpec(0.5, low, high)

    def first_hold_at(self, number: int, least: float = 0, foot: int = 0) -> HoldSpec:
        """The quiet before step ``number``'s first check-in, varied from step to step within 15 to 30 s (and
        from foot to foot in long routines).

        ``least``: what the step's instructions take to do before a question fits (a held point: sink in,
        three breaths, a slow release), at most ``FIRST_HOLD_MOST_SECONDS``, from 30 minutes.
        ``foot``: 0 for the first foot, 1 for the second, whose steps vary in another order.
        """
        spec = self.first_hold
        if self.settings.minutes < 10:
            return spec
        # Compact routines have little time to spare: a second or two of variety there.
        low = spec.min_s + ((number * 2) % 3 if self.compact else (number * 5 + self._foot_shift(foot) * 4) % 9)
        if self.varies_rhythm:
            low = max(low, min(least, FIRST_HOLD_MOST_SECONDS))
        return HoldSpec(spec.weight, low, low + 4)

    @property
    def round_hold(self) -> HoldSpec:
        """Hold in which one round of a step is done."""
        minutes = self.settings.minutes
        low = 3 if self.mini else 4 if self.short else 8 if minutes < 15 else 9.5 if minutes < 45 else 12
        return HoldSpec(1.0, low, ROUND_HOLD_MAX_SECONDS)

    @property
    def line_hold(self) -> HoldSpec:
        """The quiet after a cue to walk a line of the arch in full:
        14 s or more in short routines from 10 minutes (reads 87 to 96: 9 to 11 s was too little for a line in
        small steps)."""
        spec = self.round_hold
        if self.settings.minutes < 10 or not self.compact:
            # (Longer routines' rounds run longer anyway; their floors are the routine's to share.)
            return spec
        return replace(spec, min_s=max(spec.min_s, LINE_HOLD_SECONDS))

    @property
    def spread_hold(self) -> HoldSpec:
        """Solo: the strokes that spread the lotion after the ball, before the first step of the main work
        (``SPREAD_HOLD_SECONDS`` or more, ``COMPACT_SPREAD_HOLD_SECONDS`` under 15 minutes; read 95: 8 s was a token
        warm-up)."""
        least = COMPACT_SPREAD_HOLD_SECONDS if self.compact else SPREAD_HOLD_SECONDS
        return replace(self.round_hold, min_s=max(self.round_hold.min_s, least))

    @property
    def breaths_hold(self) -> HoldSpec:
        """The quiet after a cue that holds a point for a count of breaths: sink in, three breaths, a slow release
        (read 94: 18 s was too little an hour in; from 45 minutes 24 s or more, the round's floor below)."""
        if self.settings.minutes < SECOND_FOOT_VARIES_FROM_MINUTES:
            return self.round_hold
        # Not much more: after the release, idle hands wait for the next cue (read 95: 33 s after one hold).
        return HoldSpec(self.round_hold.weight, BREATHS_HOLD_SECONDS, BREATHS_HOLD_SECONDS + 8)

    @staticmethod
    def asks(sentence: str) -> bool:
        """Whether a walk-through's place has the giver ask something (``ASKS``): its quiet is for the answer, and the
        question is a check-in."""
        return bool(ASKS.search(sentence))

    @staticmethod
    def holds_breaths(cue: str) -> bool:
        """Whether a cue holds a point for a count of breaths (``HELD_COUNT``): its quiet is ``breaths_hold``."""
        return bool(HELD_COUNT.search(cue))

    @staticmethod
    def walks_a_line(cue: str) -> bool:
        """Whether a cue of a sequence walks a line of the arch in full ("walk the middle line"), or takes a soft fist
        along it (read 134: 8 s was one pass): its quiet is ``line_hold``."""
        return (" line" in cue and "walk" in cue) or "loose fist" in cue

    @property
    def notice_hold(self) -> HoldSpec:
        """Solo under 15 minutes: the rest of a round whose awareness prompt has no cue after it (the prompt's own
        quiet to notice comes first, so the two together still run 10 s or more)."""
        return replace(self.round_hold, min_s=min(self.round_hold.min_s, 4))

    @property
    def half_round_hold(self) -> HoldSpec:
        """Half a round's hold: a line said in the middle of the round's quiet splits it in two."""
        spec = self.round_hold
        return HoldSpec(spec.weight / 2, spec.min_s / 2, None if spec.max_s is None else spec.max_s / 2)

    @property
    def still_hold(self) -> HoldSpec:
        """The stillness that ends a foot: long enough to feel it (``COMPACT_STILL_HOLD_SECONDS`` or more from 6
        minutes, 15 s from 15, 20 s from 30)."""
        if self.short:
            return self.round_hold
        if self.settings.minutes < COMPACT_BELOW_MINUTES:
            # "Stay there for a few breaths": 12 s, and the warm word after it has quiet of its own; the glides
            # before it 10 s (``finish_hold``; read 105: 8 s of glides, then 12 s still, ended each foot in a hurry;
            # reads 117 and 118: 10 s still was two breaths).
            return replace(self.round_hold, min_s=COMPACT_STILL_HOLD_SECONDS)
        return HoldSpec(1.2, 20 if self.settings.minutes >= 30 else 15, ROUND_HOLD_MAX_SECONDS)

    @property
    def finish_hold(self) -> HoldSpec:
        """The glides that end a foot when no question follows them (solo under 15 minutes): shorter than a
        step's first hold, so the stillness after them gets its breaths."""
        return HoldSpec(self.first_hold.weight, 10, FIRST_HOLD_SECONDS[1])

    @property
    def settle_hold(self) -> HoldSpec:
        """Short holds around the welcome and the switch of feet."""
        if self.settings.minutes >= 30:
            # Long routines change feet unhurried.
            return HoldSpec(0.3, 6, 20)
        return HoldSpec(0.25, 1 if self.mini or self.short else 2, 20)

    @property
    def welcome_hold(self) -> HoldSpec:
        """After the welcome: a few seconds for the breath it asks for (not in the shortest routines; 3 s in compact
        routines, under 15 minutes and partner under 20, whose seconds go to the work)."""
        spec = self.settle_hold
        return spec if self.short else replace(spec, min_s=max(spec.min_s, 3 if self.compact else 4))

    @property
    def closing_hold(self) -> HoldSpec:
        """Stillness in the closing: unhurried (the closing lasts 90 s or more from 30 minutes; from an hour, longer
        still: read 118 found two minutes short after an hour's work)."""
        if self.settings.minutes >= 60:
            return HoldSpec(0.6, LONG_CLOSING_STILL_SECONDS, 60)
        if self.settings.minutes >= 30:
            # Partners' closings have the thanks and the towel too: their two stillness holds give a little, so the
            # natural voice keeps partner medium 30's full plan; a solo closing needs its 16.5 s for 90 s in all.
            partner = self.settings.mode == "partner"
            return HoldSpec(0.6, CLOSING_STILL_SECONDS if partner else SOLO_CLOSING_STILL_SECONDS, 45)
        if self.short:
            return HoldSpec(0.25, 1 if self.mini else 3, 20)
        if self.brief:
            return HoldSpec(0.3, 6, 20)
        # Even a 10-minute closing leaves time for the breaths it asks for (8 s or more: its quiet is the
        # closing's, where a short routine's change of feet needs time to do it).
        return HoldSpec(0.4, 8, 25)

    @property
    def socks_hold(self) -> HoldSpec:
        """The closing's second stillness: a short solo routine's socks go on in it (read 148: 8 s was too little)."""
        if self.compact and not self.brief and self.settings.mode == "solo":
            return HoldSpec(0.4, 10, 25)
        return self.closing_hold

    @property
    def thanks_hold(self) -> HoldSpec:
        """Partner closing: quiet to thank each other and say what felt good (18 to 30 s; from an hour 24 s or
        more)."""
        return HoldSpec(0.4, LONG_THANKS_SECONDS if self.settings.minutes >= 60 else 18, 30)

    def after_walk(self, walked: list[tuple[str, int]]) -> float:
        """Share of a round's quiet left after a walk-through, whose quiet between places is the rest."""
        between = sum(place_quiet_seconds(quiet, self.walk_share, sentence) for sentence, quiet in walked[:-1])
        return max(WALK_TAIL_SHARE, 1 - between / ROUND_SECONDS)

    @property
    def varies_rhythm(self) -> bool:
        """Whether the steps vary their rhythm (see ``VARIED_RHYTHM_FROM_MINUTES``)."""
        return self.settings.minutes >= VARIED_RHYTHM_FROM_MINUTES

    def works_on_after_question(self, step: StepPlan, foot: int = 0) -> bool:
        """Whether the hands simply work on after step ``step``'s first question, with no new cue until the next
        round: one main step in three, from 30 minutes, so not every answer is followed by an instruction.
        The second foot (``foot`` 1) does so in other steps than the first: its steps do not mirror the first's.

        Not a walk-through or a sequence (the toes, the arch in lines): its cues are the steps themselves.
        """
        return (
            self.varies_rhythm
            and step.phase == "main"
            and len(step.rounds) >= 2
            and not _get(step.technique, "sequence")
            and (step.number + self.settings.seed + self._foot_shift(foot)) % 3 == 0
        )

    def round_scale(self, step: int, round_number: int, foot: int = 0) -> float:
        """Share of the step's quiet that round ``round_number`` of step ``step`` gets (about 0.7 to 1.3), in
        another order on the second foot (``foot`` 1)."""
        shift = self._foot_shift(foot) * 2
        return HOLD_SCALES[(step * 3 + round_number + self.settings.seed + shift) % len(HOLD_SCALES)]

    @property
    def second_foot_varies(self) -> bool:
        """Whether the second foot varies its rhythm from the first's (see ``SECOND_FOOT_VARIES_FROM_MINUTES``)."""
        return self.settings.minutes >= SECOND_FOOT_VARIES_FROM_MINUTES

    def _foot_shift(self, foot: int) -> int:
        """How far the second foot's variety is shifted from the first's: none in shorter routines, whose feet
        have the least time to spare for the 10% they may differ by."""
        return foot if self.second_foot_varies else 0

    @property
    def answer_ms(self) -> int:
        """Quiet after a check-in question."""
        return ANSWER_MS[self.settings.mode]

    @property
    def answer_choices_ms(self) -> tuple[str, ...]:
        """The quiets after check-in questions that take turns (in ms, as text for ``turn``)."""
        spreads = (0,) if self.compact else ANSWER_SPREAD_MS[self.settings.mode]
        return tuple(str(self.answer_ms + spread) for spread in spreads)

    @property
    def check_in_every(self) -> int:
        """Rounds between check-ins, roughly (kept for older templates; see ``check_in_seconds``)."""
        return max(1, round(self.check_in_seconds / ROUND_SECONDS))

    @property
    def check_in_seconds(self) -> float:
        """Nominal longest time between check-ins, with a margin below the rules (partner 150 s, solo 180 s)."""
        seconds = CHECK_IN_SECONDS[self.settings.mode]
        if (
            self.settings.mode == "partner"
            and COMPACT_BELOW_MINUTES <= self.content_minutes < PARTNER_COMPACT_BELOW_MINUTES
        ):
            # Compact partner wording with a full-length foot: the steps run longer than their nominal share.
            seconds -= 15
        return seconds

    @property
    def overhead_seconds(self) -> float:
        """Nominal time outside the feet: welcome, safety, preparation, switch, closing."""
        talk = 45 if self.brief else 90
        if self.settings.mode == "partner":
            talk += 15 if self.brief else 50
        if self.settings.minutes >= 30:
            # The longer welcome, closing and change of feet (partners: and the preparation's longer list).
            talk += 66 if self.settings.mode == "partner" else 60
        if self.settings.pressure == "firm" and not self.mini:
            # The safety's word on firm pressure (pregnancy, blood thinners).
            talk += 7
        return talk * self.pace + self.prep_seconds

    @property
    def foot_seconds(self) -> float:
        """Nominal time on each foot."""
        return max((self.total_seconds - self.overhead_seconds) / 2, 10)

    def recaps(self, technique: Any, phase: str) -> bool:
        """Whether the second foot hears this step as its one-line recap (``again``).

        Not in the shortest routines, nor in short routines' warm-up and finish: they say one sentence anyway.
        """
        return bool(_get(technique, "again")) and not self.brief and not (self.compact and phase in ("warm", "finish"))

    def again_pauses_ms(self, technique: Any, phase: str) -> tuple[int, int]:
        """Quiet for a second-foot step whose instructions are its one-line recap (``again``).

        About the time the first foot's full instructions took longer (their pauses included), so the
        feet stay even: at the step's end, where it joins the last hold. Short routines, whose questions
        come close to the longest gap, have it right after the recap instead (before the question, which
        still comes within 30 s of the instructions): ``(after the recap, at the step's end)``. (A quiet
        right after the chime read as dead air.) A ball step keeps the moment to put the ball in place
        right after its recap.
        """
        if not self.recaps(technique, phase):
            return 0, 0
        how = list((self.settings.mode == "solo" and _get(technique, "solo")) or _get(technique, "how") or [])
        if self.compact and not self.brief and _get(technique, "compact"):
            how = [_get(technique, "compact")]
        pauses = sum(self.how_pause_ms(technique, index, len(how)) for index in range(len(how) - 1)) / 1000
        saved = max(0.0, _said_seconds(how) + pauses - _said_seconds([_get(technique, "again")]))
        if self.compact:
            return round(min(saved, AGAIN_COMPACT_S) * 1000), 0
        # A ball has to be put under the second foot too: the moment for it comes right after the recap.
        placing = min(saved, self.how_pause_ms(technique, 0, 2) / 1000) if _get(technique, "hands") is False else 0.0
        saved -= placing
        # Long routines' holds are long already: the quiet stays short enough that no silence passes a minute.
        longest = AGAIN_PAUSE_MAX_S if self.settings.minutes >= 30 else AGAIN_PAUSE_MAX_S * 1.5
        if phase == "finish" and self.settings.minutes >= 30:
            # The finishing stillness is long already: a little more, so no silence passes a minute.
            longest = AGAIN_FINISH_MAX_S
        after = min(saved, longest)
        return round(placing * 1000), round(after * 1000)

    def how_pause_ms(self, technique: Any, index: int, count: int) -> int:
        """The pause after sentence ``index`` of a step's ``count`` instructions.

        After the first (where the hands go) a moment to put them there, longer for a ball; 2.5 s (3.5 s from 30
        minutes) after a middle one (it shapes the hand or places it: read 118, the soft fist's fingers against the
        arch, then at once "Lean in"); a breath after the last.
        """
        if index < count - 1 and not self.compact:
            # From 30 minutes a little longer: finding a landmark (the sides of the heel, mid-arch) takes
            # a beginner a moment.
            return 6000 if _get(technique, "hands") is False and index == 0 else 3500 if self.varies_rhythm else 2500
        return 600

    def quiet_hold(self, ms: int) -> HoldSpec:
        """A quiet of about ``ms`` (a recap's saved time) that gives way when the routine is tight."""
        seconds = ms / 1000
        return HoldSpec(seconds / ROUND_SECONDS, seconds * 0.7, seconds * 1.5)

    @property
    def walk_tail_hold(self) -> HoldSpec:
        """The quiet after a walk-through's last place: a round's hold whose floor the places' quiet has used."""
        least = WALK_TAIL_MIN_SECONDS if self.walk_share >= 1 else SHORT_WALK_TAIL_MIN_SECONDS
        return replace(self.round_hold, min_s=min(self.round_hold.min_s, least))

    def walk_tail_hold_at(self, ms: int) -> HoldSpec:
        """``walk_tail_hold``, or from 30 minutes at least the quiet written after the walk-through's last place (four
        fifths of it under 45 minutes, where partner routines have the least time to spare): the strokes between the
        toes take their time (read 103: 13 s was too little). Shorter routines, whose places are quicker too
        (``walk_share``), keep the round's floor."""
        spec = self.walk_tail_hold
        if not self.varies_rhythm:
            return spec
        share = 1.0 if self.second_foot_varies else 0.8
        return replace(spec, min_s=max(spec.min_s, ms / 1000 * share))

    @property
    def walk_share(self) -> float:
        """The share of a walk-through's written quiet between places that this routine gives them."""
        if self.settings.minutes >= SECOND_FOOT_VARIES_FROM_MINUTES:
            # An hour has time for a beginner to follow each toe by ear (read 86: 10 to 12 s was hurried).
            return LONG_WALK_SHARE
        return 1.0 if self.varies_rhythm else SHORT_WALK_SHARE

    def walk_hold(self, ms: int, sentence: str = "") -> HoldSpec:
        """The quiet between a walk-through's places: at least ``ms`` (a toe needs it), or its share under 30 minutes
        (``walk_share``); longer if there is room."""
        seconds = place_quiet_seconds(ms, self.walk_share, sentence)
        # A held count of breaths gives way little: the next place ("And let go") comes when the count ends; nor
        # does the quiet for an answer.
        held = self.holds_breaths(sentence) or self.asks(sentence)
        return HoldSpec(seconds / ROUND_SECONDS, seconds, seconds * (1.1 if held else 1.5))

    def hands_break_after(self, number: int, steps: int) -> bool:
        """Whether the giver (solo: the listener) shakes out their hands after step ``number`` of ``steps``."""
        return self.settings.minutes >= CARE_FROM_MINUTES and number == (steps + 1) // 2

    def choose(self, techniques: list[Any]) -> list[tuple[Any, str, int]]:
        """The foot's arc: (technique, phase, pass) for warm-up, main work, deeper passes, finishing."""
        warm = [t for t in techniques if _get(t, "phase") == "warm"]
        finish = [t for t in techniques if _get(t, "finish") or _get(t, "phase") == "finish"]
        main = [t for t in techniques if t not in warm and t not in finish]
        if not main:
            main, warm, finish = list(techniques), [], []
        # A technique's priority (lower first) decides which main steps a shorter routine keeps; the
        # list's own order still decides when they come.
        order = sorted(range(len(main)), key=lambda i: (_priority(main[i]), i))
        ranked = [main[i] for i in order]
        if self.mini or self.short:
            return [(ranked[0], "main", 1)]
        # Solo from 10 minutes: two main techniques sit between the warm-up and the finishing.
        # Partner from 15 minutes: two main techniques too, so no single step runs three minutes.
        # The fewest distinct steps are a rule of the length asked, whatever the voice's pace. A voice slower than
        # planned for keeps the usual plan's steps too, with fewer rounds on each (a voice a tenth slower left the toes
        # out of partner 30, where fewer cues on every step keep the whole arc); a faster one may add steps.
        minutes = self.settings.minutes
        least = (4 if self.settings.mode == "solo" or minutes >= 15 else 3) if minutes >= 10 else 2
        paced = self if self.pace <= 1.0 else RoutinePlan(self.settings)
        per_step = STEP_SECONDS * paced.pace
        count = min(len(warm[:1]) + len(main) + len(finish[:1]), max(least, round(paced.foot_seconds / per_step)))
        chosen: list[tuple[Any, str, int]] = [(t, "warm", 1) for t in warm[:1]]
        room = count - len(chosen) - (len(finish[:1]) if count >= 3 else 0)
        kept = sorted(order[: max(1, room)])
        chosen += [(main[i], "main", 1) for i in kept]
        extra = min(MAX_DEEP_PASSES, math.ceil(self.foot_seconds / DEEP_STEP_SECONDS) - count)
        if room >= len(main) and extra > 0:
            # Deeper passes go to the pressure's own steps first, then to the shared ones.
            deep = sorted((t for t in main if _get(t, "deeper")), key=lambda t: bool(_get(t, "shared"))) or main
            chosen += [(t, "deep", 2) for t in deep[:extra]]
        if count >= 3:
            chosen += [(t, "finish", 1) for t in finish[:1]]
        return chosen

    def steps(self, techniques: list[Any]) -> list[StepPlan]:
        """The steps for one foot: more distinct techniques, then deeper passes, as the routine grows.

        The same list is used on both feet, so the second mirrors the first.
        """
        if not techniques:
            return []
        chosen = self.choose(list(techniques))
        # Steps share the foot's time by weight: the pressure's signature steps run longer than the
        # warm-up or the top of the foot (a deeper pass is shorter than the first one).
        weights = [(_get(t, "weight") or 1.0) * (0.8 if pass_number > 1 else 1.0) for t, _, pass_number in chosen]
        partner = self.settings.mode == "partner"
        minutes = self.settings.minutes
        watching = partner and not self.mini and minutes >= WATCH_FROM_MINUTES
        # Beyond an hour the receiver's lines come a little less often (still within 5 minutes).
        receiver_seconds = RECEIVER_SECONDS if minutes <= 60 else LONG_RECEIVER_SECONDS
        watch_seconds = SHORT_WATCH_SECONDS if minutes < 30 else WATCH_SECONDS if minutes <= 60 else LONG_WATCH_SECONDS

        def plan_feet(since_watch: float) -> tuple[list[StepPlan], float]:
            # The first check-in reminds the receiver they can speak up (not in brief routines).
            since_receiver = receiver_seconds * 0.75 if self.brief else 0.0
            plan: list[StepPlan] = []
            # The rounds since the last watch line that could carry one: (step, round, seconds since it).
            since_last: list[tuple[int, int, float]] = []
            # Solo from 15 minutes says everything in full, with no answers to wait for:
            # longer rounds keep it unhurried.
            dense_from = 20 if partner else COMPACT_BELOW_MINUTES
            per_round = self.pace * (
                STEP_ROUND_SECONDS if minutes < dense_from else DENSE_ROUND_SECONDS if minutes < 30 else ROUND_SECONDS
            )
            if self.second_foot_varies and self.settings.pressure == "firm":
                per_round *= LONG_FIRM_ROUND_STRETCH
            for number, (technique, phase, pass_number) in enumerate(chosen, start=1):
                step_seconds = self.foot_seconds * weights[number - 1] / sum(weights)
                # The step's fixed part: chime, instructions and its first check-in, then the first hold.
                intro = (30 if pass_number == 1 else 22) * self.pace
                first = 0 if self.mini else sum(FIRST_HOLD_SECONDS) / 2
                rounds = max(1, round((step_seconds - intro - first) / per_round))
                # The holds stretch to fill the step, so a round lasts what is left, shared out.
                round_seconds = max(per_round, (step_seconds - intro - first) / rounds)
                since_receiver += intro + first
                since_watch += intro + first
                # Walk-throughs (the toes one by one) say more and keep their quiet between places as
                # it is: their rounds run longer, and so does the step.
                walks = _walk_seconds(technique, rounds, 3 if phase == "deep" else 0, self.walk_share)
                walking = sum(walks)
                step_rounds = []
                # Round 1 asks about the step's technique; further check-ins are spread evenly so that
                # no gap (up to the next step's first question) passes the nominal limit.
                if minutes < 30:
                    # Short steps last about their share of the foot: rounds shorter than nominal shorten the step
                    # (counting them as nominal asked a second question 30 s after the first).
                    span = max(step_seconds, intro + first + rounds * 0.75 * per_round)
                else:
                    span = rounds * round_seconds + intro + first
                # Its quiet between places too: those holds do not give way, and one round runs long.
                span += walking
                # The gap to the next question also holds the difference between the next step's
                # instructions and this one's: long instructions next means an earlier question here.
                following = chosen[number][0] if number < len(chosen) else None
                if following is not None:
                    span += _spoken_seconds(following) - _spoken_seconds(technique)
                elif watching:
                    # After the last step, the change of feet speaks before its own question.
                    span += SWITCH_SECONDS / 2
                if self.hands_break_after(number, len(chosen)):
                    # Midway through the foot the giver shakes out their hands before the next step.
                    span += CARE_SECONDS
                # The finishing glides and stillness ask once: the change of feet or the closing comes next.
                slack = EXTRA_CHECK_IN_SLACK[self.settings.mode] if not self.compact and minutes <= 60 else 0
                slack += FINISH_CHECK_IN_SLACK if phase == "finish" else 0
                limit = self.check_in_seconds + slack
                if rounds >= 5:
                    # A long step's later rounds run long (receiver and watch lines, quiet for work over several
                    # places): the question between its first and the next step's needs more margin.
                    limit -= 15
                if walking:
                    # A walk-through's round runs long and its quiet does not give way: 18 s more margin (12 s
                    # under 30 minutes, where its places are quicker; 24 s beyond an hour, with its longer rounds;
                    # 6 s more where its places get more than their written quiet, ``LONG_WALK_SHARE``).
                    longer = 6 if self.walk_share > 1 else 0
                    limit -= 24 + longer if minutes > 60 else 18 + longer if self.walk_share >= 1 else 12
                extra = max(0, math.ceil(span / limit) - 1)
                share = span / (extra + 1) / round_seconds
                asks = {1} | {min(rounds, 1 + round(i * share)) for i in range(1, extra + 1)}
                # Solo under 15 minutes: the finishing glides run straight into the stillness; the prompt
                # at the change of feet (or the closing) follows soon enough.
                quiet_finish = phase == "finish" and not partner and self.compact
                for round_number in range(1, rounds + 1):
                    # A round's watch line comes after its walk-through's places, its receiver line after the first
                    # (read 103: said before them, the giver's next words cut it off); both wait for the places.
                    since_watch += walks[round_number - 1]
                    since_receiver += walks[round_number - 1]
                    check_in = not self.mini and round_number in asks and not quiet_finish
                    # The change of feet and the closing speak to the receiver anyway: spare the foot's last step
                    # (less so beyond an hour, where the last step alone runs three minutes or more).
                    due = receiver_seconds * ((1.4 if minutes <= 60 else 1.2) if number == len(chosen) else 1)
                    receiver = partner and not self.mini and since_receiver >= due
                    # Nothing to watch for in the stillness that ends a foot.
                    still = phase == "finish" and round_number == rounds
                    # A watch line waits for a round without a receiver line, unless it is overdue (sooner in
                    # long routines, whose steps vary their rhythm and run further from the plan's estimate).
                    overdue = since_watch >= watch_seconds * (1.2 if self.varies_rhythm else 1.3)
                    watch = watching and not still and since_watch >= watch_seconds and (overdue or not receiver)
                    if receiver:
                        since_receiver = 0.0
                    if watch:
                        since_watch = 0.0
                        since_last = []
                    elif watching and not still:
                        since_last.append((number - 1, round_number - 1, since_watch))
                    since_receiver += round_seconds
                    since_watch += round_seconds
                    step_rounds.append(Round(round_number, check_in, receiver, watch))
                plan.append(StepPlan(technique, number, pass_number, tuple(step_rounds), phase))
            if since_watch > watch_seconds and since_last:
                # The foot's last steps spoke to the receiver and ended in stillness: the last round that
                # can tell the giver what to watch for does, so the change of feet does not double the gap.
                step_index, round_index, at = since_last[-1]
                step = plan[step_index]
                marked = list(step.rounds)
                marked[round_index] = replace(marked[round_index], watch=True)
                plan[step_index] = replace(step, rounds=tuple(marked))
                since_watch -= at
            return plan, since_watch

        # The same plan serves both feet: it starts part-way to a watch line, then again where the
        # foot's end leaves it (plus the change of feet), so the gap across the change stays short too.
        plan, left = plan_feet(watch_seconds * 0.8)
        if watching and left + SWITCH_SECONDS > watch_seconds * 0.8:
            plan, _ = plan_feet(left + SWITCH_SECONDS)
        return plan
