"""Pacing rules of a guided routine, checked on a planned timeline (``footaudio script --check``).

The same checks back the tests, so the report and the test suite cannot disagree.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..settings import Settings
from .timeline import Timeline, TimelineItem
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
ROLE_SHARE = 0.25
"""Partner: at most this share of sentences opens by naming a role ("Giver, ...")."""
DISTINCT_SHARE = 0.90
"""At least this share of sentences stays distinct once short openers are dropped."""
ANSWER_MS = 6000
"""Quiet after a check-in question, for the answer."""
CHECK_IN_AFTER_MS = (15_000, 30_000)
"""A step's first check-in comes this long after its instructions end (the technique has started)."""
BRIEF_CHECK_IN_MINUTES = 5
BRIEF_CHECK_IN_AFTER_MS = 8_000
"""Under 5 minutes a technique runs at least 8 s (not 15 s) before its check-in: there is no time for more."""
FIRST_CHECK_IN_MS = 90_000
"""Each foot has its first check-in within this long of its start."""
RECEIVER_GAP_MS = 300_000
"""Partner: the receiver hears a line of their own at least every 5 minutes."""
RECEIVER_REPEAT_MS = 3_600_000
"""Partner: no receiver line repeats within an hour."""
WATCH_GAP_MS = 360_000
WATCH_FROM_MINUTES = 15
"""Partner: the giver hears what to watch for at least every 6 minutes."""
PREP_HOLD_MS = 60_000
"""Preparation holds this long, or invites pausing the audio."""
BOUNDARIES_MS = (20_000, 30_000)
"""Partner: quiet to agree on boundaries."""
CLOSING_MS = 90_000
CLOSING_FROM_MINUTES = 30
"""Routines of 30 minutes or more close in 90 s or more."""
STEPS_PER_FOOT = ((60, 7), (30, 5), (10, 3))
"""Distinct steps per foot, from a length on."""
PHASES = ("warm", "main", "deep", "finish")
LANDMARKS = ("ball of the", "top of the", "sides of the", "centre of the", "heel of your", "pad of your")
"""Names of places on the foot and parts of the hand (the ball of the foot, the heel of your hand, ...):
naming a place again is not a repeated phrase."""
_ROLE_OPENING = re.compile(r"^(giver|receiver|partners?|if you(?: are|'re) (receiving|giving))\b", re.IGNORECASE)
_RECEIVER_OPENING = re.compile(r"^(receiver|if you(?: are|'re) receiving)\b", re.IGNORECASE)
_OPENER = re.compile(r"^(?:[A-Za-z']+(?: [A-Za-z']+){0,2}, )+")
_WATCH = re.compile(
    r"\b(watch\w*|tens\w*|pull\w* away|curl\w*|flinch|sighs?|breath\w*|stiffen\w*|wince|face|brow|grip\w*"
    r"|heav\w*|shoulders)\b",
    re.I,
)
_WORD = re.compile(r"[a-z']+")


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
    figures: dict[str, str] = field(default_factory=dict)
    """Figures of the narration rules, by name, as the report prints them."""

    @property
    def speech_share(self) -> float:
        """Fraction of the routine spent speaking."""
        return self.speech_ms / self.total_ms

    @property
    def ok(self) -> bool:
        """Whether every rule holds."""
        return not self.problems

    def warning(self) -> str:
        """One line naming the broken rules, e.g. for ``render`` to print when a user's templates break them."""
        if not self.problems:
            return ""
        count = len(self.problems)
        return (
            f"the narration breaks {count} pacing rule{'' if count == 1 else 's'} "
            f"(see footaudio script --check): {'; '.join(self.problems)}."
        )

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
            f"  steps              {self.steps} in all, {self.techniques} distinct technique"
            f"{'' if self.techniques == 1 else 's'} per foot",
            f"  repeated sentences {len(self.repeated) or 'none'}",
        ]
        lines.extend(f"  {name:<18} {value}" for name, value in self.figures.items())
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
    gap = 0
    if feet_items:
        # Every check-in while the feet are worked on counts, the one at the change of feet too.
        span = (feet_items[0].start_ms, feet_items[-1].end_ms)
        check_ins = [item.start_ms for item in items if item.check_in and span[0] <= item.start_ms <= span[1]]
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
                f"speech is {share:.1%} of the time, outside {SPEECH_SHARE[0]:.0%} to {SPEECH_SHARE[1]:.0%}"
            )
        if longest > LONGEST_SILENCE_MS:
            problems.append(f"a silence of {longest / 1000:.1f} s at {clock(longest_at)} is longer than 60 s")
        limit = CHECK_IN_GAP_MS[settings.mode]
        if gap > limit:
            problems.append(f"check-ins are up to {gap / 1000:.1f} s apart, more than {limit // 1000} s")
        for foot in FEET:
            on_foot = [item for item in feet_items if _foot(item.step) == foot]
            if not on_foot:
                problems.append(f"the {foot} foot has no steps")
                continue
            first_check = next((i.start_ms for i in on_foot if i.check_in), None)
            if first_check is None or first_check - on_foot[0].start_ms > FIRST_CHECK_IN_MS:
                problems.append(f"the {foot} foot has no check-in within {FIRST_CHECK_IN_MS // 1000} s of its start")
        right, left = foot_ms[FEET[0]], foot_ms[FEET[1]]
        if abs(right - left) > FOOT_BALANCE * max(right, left, 1):
            problems.append(
                f"time per foot differs by more than 10% (right {right / 1000:.1f} s, left {left / 1000:.1f} s)"
            )
        names = [step.name for step in timeline.steps]
        for needed in ("welcome", "safety", "preparation", "closing"):
            if needed not in names:
                problems.append(f"the routine has no {needed} step")
    figures, narration_problems = _narration(timeline, settings)
    if settings.minutes >= RULES_FROM_MINUTES:
        problems.extend(narration_problems)
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
        figures=figures,
    )


def _silent_run(items, index: int) -> int:
    """Length of the silence starting at ``items[index]``."""
    run = 0
    while index < len(items) and items[index].silent:
        run += items[index].ms
        index += 1
    return run


def _five_grams(text: str) -> list[tuple[str, ...]]:
    """A sentence's 5-word phrases, each once, in the order said (so ties in the report come out the same
    on every run; a set's order changed with Python's hash seed)."""
    words = _WORD.findall(text.lower())
    return list(dict.fromkeys(tuple(words[i : i + 5]) for i in range(len(words) - 4)))


def _strip_opener(text: str) -> str:
    return _OPENER.sub("", text).strip().lower()


def _question_at(items: Sequence[TimelineItem], check: int) -> int:
    """Where the question of the check-in at ``items[check]`` starts: after its sound, or, for a check-in with no
    sound, the question itself."""
    return check + 1 if items[check].kind == "sound" else check


def _lead_in(items: Sequence[TimelineItem], check: int) -> int:
    """The index where the check-in at ``items[check]`` (its sound) begins: the sound, or the lines said right
    before it with no hold between (the routine's first check-in says what stop means before its sound). A check-in
    with no sound begins with its question."""
    if items[check].kind == "speech":
        return check
    start = check
    while start > 0 and items[start - 1].kind in ("speech", "break") and items[start - 1].step == items[check].step:
        start -= 1
    while start < check and items[start].kind != "speech":
        start += 1
    return start


def _gaps(starts: list[int], begin: int, end: int) -> int:
    marks = [begin, *starts, end]
    return max((b - a for a, b in itertools.pairwise(marks)), default=0)


def _narration(timeline: Timeline, settings: Settings) -> tuple[dict[str, str], list[str]]:
    """The rules of what is said and when: roles, variety, check-ins, care, the arc of each foot."""
    items = timeline.items
    partner = settings.mode == "partner"
    minutes = settings.minutes
    figures: dict[str, str] = {}
    problems: list[str] = []
    speech = [item for item in items if item.kind == "speech" and item.text]

    # Roles: name who is addressed only when it changes.
    if partner:
        named = sum(1 for item in speech if _ROLE_OPENING.match(item.text or ""))
        share = named / max(len(speech), 1)
        figures["role openings"] = f"{share:.0%} of sentences open with a role; rule: at most {ROLE_SHARE:.0%}"
        if share > ROLE_SHARE:
            problems.append(f"{share:.0%} of sentences open by naming a role, more than {ROLE_SHARE:.0%}")

    # Variety: 5-word phrases outside the fixed safety lines, and distinct sentences.
    free = [item.text or "" for item in speech if item.step not in FIXED_LINE_STEPS]
    grams: Counter[tuple[str, ...]] = Counter()
    for text in free:
        grams.update(gram for gram in _five_grams(text) if not any(place in " ".join(gram) for place in LANDMARKS))
    limit = max(3, int(minutes // 15))
    top, count = grams.most_common(1)[0] if grams else ((), 0)
    figures["5-word phrases"] = f"most repeated {' '.join(top)!r} x{count}; rule: at most {limit}"
    if count > limit:
        over = [" ".join(gram) for gram, n in grams.most_common(5) if n > limit]
        problems.append(f"5-word phrases said more than {limit} times: {', '.join(repr(o) for o in over)}")
    bodies = [_strip_opener(text) for text in free]
    distinct = len(set(bodies)) / max(len(bodies), 1)
    figures["distinct"] = f"{distinct:.0%} of sentences distinct without openers; rule: at least {DISTINCT_SHARE:.0%}"
    if distinct < DISTINCT_SHARE:
        problems.append(f"only {distinct:.0%} of sentences are distinct once openers are dropped")

    # Check-ins: quiet for the answer, asked once the technique is under way.
    windows: list[int] = []
    check_indexes = [i for i, item in enumerate(items) if item.check_in]
    for index in check_indexes:
        j = _question_at(items, index)
        while j < len(items) and items[j].silent:
            j += 1
        # The question (and a short line before it, with short pauses between) runs until a longer quiet.
        while j < len(items) and (items[j].kind == "speech" or (items[j].silent and _silent_run(items, j) < 2000)):
            j += 1
        windows.append(_silent_run(items, j))
    if windows:
        shortest = min(windows)
        figures["answer window"] = f"shortest {shortest / 1000:.1f} s; rule: at least {ANSWER_MS // 1000} s"
        if shortest < ANSWER_MS:
            problems.append(
                f"a check-in leaves only {shortest / 1000:.1f} s to answer, less than {ANSWER_MS // 1000} s"
            )
    delays: list[int] = []
    for step in timeline.steps:
        if not _foot(step.name):
            continue
        inside = [item for item in items if item.step == step.name]
        first_hold = next((k for k, item in enumerate(inside) if item.kind == "hold"), None)
        first_check = next((k for k, item in enumerate(inside) if item.check_in), None)
        if first_check is None:
            continue
        if first_hold is None or first_check < first_hold:
            problems.append(f"{step.title}: a check-in comes before the technique has started")
            continue
        said_before = [item for item in inside[:first_hold] if item.kind == "speech"]
        start = said_before[-1].end_ms if said_before else inside[first_hold].start_ms
        delays.append(inside[_lead_in(inside, first_check)].start_ms - start)
    if delays:
        low, high = CHECK_IN_AFTER_MS
        if minutes < BRIEF_CHECK_IN_MINUTES:
            low = BRIEF_CHECK_IN_AFTER_MS
        figures["check-in timing"] = (
            f"{min(delays) / 1000:.1f} to {max(delays) / 1000:.1f} s after a technique starts; "
            f"rule: {low // 1000} to {high // 1000} s"
        )
        if min(delays) < low or max(delays) > high:
            problems.append(
                f"check-ins come {min(delays) / 1000:.1f} to {max(delays) / 1000:.1f} s after their technique "
                f"starts, outside {low // 1000} to {high // 1000} s"
            )

    feet = [item for item in items if _foot(item.step)]
    feet_span = (feet[0].start_ms, feet[-1].end_ms) if feet else (0, 0)
    if partner and feet:
        first_check_text = []
        if check_indexes:
            # What stop means may come just before the sound (the sound marks the question).
            first_check_text = [
                (item.text or "").lower()
                for item in items[_lead_in(items, check_indexes[0]) : check_indexes[0]]
                if item.kind == "speech"
            ]
            k = _question_at(items, check_indexes[0])
            while k < len(items) and (items[k].silent or items[k].kind == "speech"):
                if items[k].kind == "speech":
                    first_check_text.append((items[k].text or "").lower())
                elif items[k].ms >= ANSWER_MS:
                    break
                k += 1
        said_first = " ".join(first_check_text)
        if "stop" not in said_first or not re.search(r"\bpauses? the audio\b", said_first):
            problems.append('the first check-in does not say that "stop" means pause the audio and stop')
        receiver = [
            item
            for item in speech
            if _RECEIVER_OPENING.match(item.text or "") and (_foot(item.step) or item.step == "switch-feet")
        ]
        gap = _gaps([item.start_ms for item in receiver], *feet_span)
        repeats = [
            a.text
            for a, b in itertools.combinations(receiver, 2)
            if a.text == b.text and b.start_ms - a.start_ms < RECEIVER_REPEAT_MS
        ]
        figures["receiver lines"] = (
            f"{len(receiver)}, longest gap {gap / 1000:.0f} s, {len(repeats)} repeated within an hour; "
            f"rule: at most {RECEIVER_GAP_MS // 1000} s apart, none repeated"
        )
        if gap > RECEIVER_GAP_MS:
            problems.append(f"the receiver goes {gap / 1000:.0f} s without a line of their own")
        if repeats:
            problems.append(f"a receiver line repeats within an hour: {repeats[0]!r}")
        watch = [
            item.start_ms
            for item in speech
            if _foot(item.step) and _WATCH.search(item.text or "") and not _RECEIVER_OPENING.match(item.text or "")
        ]
        watch_gap = _gaps(watch, *feet_span)
        figures["watch-for lines"] = (
            f"{len(watch)}, longest gap {watch_gap / 1000:.0f} s; rule: at most {WATCH_GAP_MS // 1000} s"
        )
        if watch_gap > WATCH_GAP_MS and minutes >= WATCH_FROM_MINUTES:
            problems.append(f"the giver goes {watch_gap / 1000:.0f} s without being told what to watch for")

    # Pacing of the parts around the feet.
    prep_text = " ".join(item.text or "" for item in speech if item.step == "preparation").lower()
    # From its first quiet to its last: a long wash is broken once by a soft word ("No hurry; ..."), and is no
    # shorter for it.
    prep_quiet = [item for item in items if item.step == "preparation" and item.kind == "hold"]
    prep = prep_quiet[-1].end_ms - prep_quiet[0].start_ms if prep_quiet else 0
    invites = "pause the audio" in prep_text
    figures["preparation"] = (
        f"hold {prep / 1000:.0f} s{', invites pausing the audio' if invites else ''}; "
        f"rule: {PREP_HOLD_MS // 1000} s or more, or an invitation to pause"
    )
    if prep < PREP_HOLD_MS and not invites:
        problems.append(f"the preparation holds {prep / 1000:.0f} s and does not invite pausing the audio")
    if "wash" in prep_text and "pause the audio" not in prep_text and prep < PREP_HOLD_MS:
        problems.append("the preparation asks to wash but leaves less than a minute")
    if partner:
        quiet = [_silent_run(items, k) for k, item in enumerate(items) if item.step == "safety" and item.kind == "hold"]
        longest_quiet = max(quiet, default=0)
        low, high = BOUNDARIES_MS
        figures["boundaries quiet"] = f"{longest_quiet / 1000:.0f} s; rule: {low // 1000} to {high // 1000} s"
        if not low <= longest_quiet <= high:
            problems.append(
                f"the boundaries quiet is {longest_quiet / 1000:.0f} s, not {low // 1000} to {high // 1000} s"
            )
    closing = next((step for step in timeline.steps if step.name == "closing"), None)
    if closing is not None:
        length = closing.end_ms - closing.start_ms
        rule = f"at least {CLOSING_MS // 1000} s" if minutes >= CLOSING_FROM_MINUTES else "none below 30 min"
        figures["closing"] = f"{length / 1000:.0f} s; rule: {rule}"
        if minutes >= CLOSING_FROM_MINUTES and length < CLOSING_MS:
            problems.append(f"the closing lasts {length / 1000:.0f} s, less than {CLOSING_MS // 1000} s")
        closing_text = " ".join(item.text or "" for item in speech if item.step == "closing").lower()
        if not re.search(r"\b(socks|wipe)", closing_text):
            problems.append("the closing does not say to wipe the soles or put on socks before standing")

    # The arc of each foot, and its distinct steps.
    for foot in FEET:
        names = [step.name for step in timeline.steps if _foot(step.name) == foot]
        phases = [name.split("-")[2] if len(name.split("-")) > 3 else "main" for name in names]
        ids = {name.split("-", 3)[-1] for name in names}
        if foot == FEET[0]:
            need = next((n for m, n in STEPS_PER_FOOT if minutes >= m), 1)
            figures["steps per foot"] = f"{len(ids)} distinct; rule: at least {need}"
            figures["arc"] = " > ".join(dict.fromkeys(phases)) or "none"
            if len(ids) < need:
                problems.append(f"the {foot} foot has {len(ids)} distinct steps, fewer than {need}")
        order = [PHASES.index(phase) if phase in PHASES else 1 for phase in phases]
        if order != sorted(order):
            problems.append(f"the {foot} foot's steps are out of order (warm-up, main work, deeper, finishing)")
        if len(names) >= 2 and minutes >= 5 and phases[0] != "warm":
            problems.append(f"the {foot} foot starts its work without a warm-up")

    # Care for both people.
    feet_text = " ".join(item.text or "" for item in speech if _foot(item.step)).lower()
    if settings.pressure == "firm":
        pain = bool(re.search(r"never means pain", feet_text))
        figures["firm, never pain"] = "said during the massage" if pain else "not said during the massage"
        if not pain:
            problems.append("a firm routine does not say during the massage that firm never means pain")
    switch = " ".join(item.text or "" for item in speech if item.step == "switch-feet").lower()
    if minutes >= 5:
        if "shake" not in switch:
            problems.append("the change of feet does not have the hands shaken out")
        left_start = " ".join(item.text or "" for item in speech if _foot(item.step) == FEET[1])[:400].lower()
        if partner and not (
            re.search(r"\b(set|lower)", switch) and re.search(r"\b(cover|fold)", switch) and "lift" in left_start
        ):
            problems.append("the change of feet is not narrated in full (set down, cover, lift the other)")
        if not partner and not (
            "uncross" in switch and re.search(r"cross|over (your|the) (other|left|right) knee", left_start)
        ):
            problems.append("the change of feet is not narrated in full (uncross, rest, cross the other)")
    return figures, problems
