"""Renders the narration templates (Jinja2, sandboxed) into footaudio SSML text.

The shipped templates live in ``footaudio/templates``; ``--templates DIR`` puts a
user's folder in front of them (same-name override) and keeps the shipped ones
reachable as ``builtin/NAME`` for ``{% extends %}``.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import random
import re
import signal
import threading
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from ..errors import TemplateError
from ..settings import Settings
from .planning import WALK_GAP, HoldSpec, RoutinePlan, walk_parts

__all__ = ["ENTRY_TEMPLATE", "Wording", "render_ssml"]

_T = TypeVar("_T")

ENTRY_TEMPLATE = "routine.ssml.j2"
RENDER_TIME_LIMIT_S = 10.0
"""A template that takes longer than this (an endless loop, say) is stopped with an error."""


class _TimeUp(Exception):
    """Raised by the alarm when a template runs past its time limit."""


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Interrupt the block after ``seconds`` (where the platform has interval timers).

    A timer signal is the one way to stop a runaway Jinja loop without running the
    template in another process; it is only available in the main thread on POSIX.
    """
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise _TimeUp

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


RECEIVER_NAMES = ("Receiver, ", "If you're receiving, ")
"""How a partner routine turns to the receiver, in turn, before a sentence that asks them to do something."""

GIVER_NAMES = ("Giver, ", "Giver, ", "Now, giver, ")
"""How a partner routine of 30 minutes or more turns back to the giver after a line for the receiver, in turn
(read 79: a steady "Receiver, ..." then "Giver, ..." ping-pong)."""

NOW_SPACING = 8
"""A sentence keeps its opening "Now" only when none of the last 8 sentences opened with one (read 112: about 20
"Now..." openers in an hour were heard as a tic); a closer one drops it ("Now the middle toe" -> "The middle toe")."""

_NOW = re.compile(r"^Now,? (?!and then\b|that\b|the\b|a\b|an\b|this\b|each\b)")
"""A sentence opening with "Now" that reads as well without it: not "Now and then", not "Now that ...", and not "Now
the middle toe: ..." (read 113: without it, "The ball of this foot: small circles ..." had no verb)."""

_JOINED = re.compile(r"(And|Then) (?=\S+ )")
"""A walk-through's place that joins on to the one before ("And let go, ..."): named after a line for the receiver,
it drops the joining word ("Giver, let go, ..."; this stop's review and read 114: "Giver, and let go" does not read)."""

_GIVER_PLAIN_AFTER = frozenset(["then", "and", "if", "when", "as", "once"])
"""Sentences opening with one of these keep the plain name ("Now, giver, then ..." does not read)."""

_INVITING_VERBS = frozenset(
    [
        "notice",
        "say",
        "tell",
        "rest",
        "feel",
        "enjoy",
        "check",
        "breathe",
        "take",
        "compare",
        "settle",
        "find",
        "rub",
        "wash",
        "leave",
        "speak",
    ]
)
"""Sentences that open with one of these read well after either way of naming the receiver."""


_QUESTION_OPENER = re.compile(r"^(?:Ask(?: your partner| quietly| gently)?|Check (?:with your partner|in)): ")
"""How the giver's questions open; the same question with another opener is still the same question."""


class Wording:
    """Seeded choice of wording that never says the same sentence twice in a routine."""

    def __init__(self, settings: Settings) -> None:
        # The length is part of the seed: a 30- and a 60-minute routine do not open and close word for word alike.
        self._random = random.Random(f"{settings.seed}:{settings.mode}:{settings.pressure}:{settings.minutes:g}")
        self._used: set[str] = set()
        self._role = ""
        self._receiver_named = -1
        self._giver_named = -1
        # From 30 minutes, where the names come often enough to be heard as a pattern.
        self._giver_turns = settings.minutes >= 30
        self._turns: dict[str, tuple[tuple[int, ...], int]] = {}
        self._since_now = NOW_SPACING
        self._mirrored: dict[str, list[int]] = {}

    def pick(self, options: Sequence[object]) -> object:
        """One of ``options``, chosen by the seed (repeats allowed)."""
        if isinstance(options, str) or not options:
            return options
        return self._random.choice(list(options))

    def shuffle(self, options: Sequence[_T]) -> list[_T]:
        """``options`` in a seeded order."""
        shuffled = list(options)
        self._random.shuffle(shuffled)
        return shuffled

    def unused(self, options: Sequence[str]) -> list[str]:
        """The whole-sentence ``options`` not said yet in this routine."""
        return [option for option in options if self._fresh(option)]

    def in_order(self, options: Sequence[str], count: int) -> list[str]:
        """``count`` of the unused whole-sentence ``options``, chosen by the seed, kept in their written order.

        A step's cues build on each other (the inner line of the arch, then the next line, then all
        three again), so the ones a step uses are said in the order they were written.
        """
        fresh = self.unused(options)
        chosen = set(self._random.sample(range(len(fresh)), min(max(count, 0), len(fresh))))
        return [option for index, option in enumerate(fresh) if index in chosen]

    def mirrored(self, key: str, cues: Sequence[str | Sequence[str]], count: int, foot: int) -> list[str]:
        """``count`` of a step's ``cues`` for ``foot`` (0: the first, 1: the second), kept in their written order.

        A cue is a sentence or a pair, [first foot's wording, second foot's]. The first foot's cues are chosen by the
        seed among those not said yet; the second foot gets the same ones where they are pairs, in their second
        wording (CONTENT.md: the same sequence, mirrored; read 112: the receiver, asked to compare their feet, was
        given other work on each), and cues not said yet in place of the others. It gets no more cues than the first
        foot did: a round more there is a plain one (reads 119 and 120: the second heel alone was squeezed).
        ``key`` names the step (its technique and pass).
        """
        count = max(count, 0)

        def wording(index: int, second: bool) -> str:
            cue = cues[index]
            return cue if isinstance(cue, str) else cue[-1 if second else 0]

        second = foot > 0 and key in self._mirrored
        first_foot = self._mirrored.get(key, []) if second else []
        if second:
            count = min(count, len(first_foot))
        kept = [index for index in first_foot if not isinstance(cues[index], str) and self._fresh(wording(index, True))]
        kept = kept[:count]
        others = [
            index for index in range(len(cues)) if index not in first_foot and self._fresh(wording(index, second))
        ]
        chosen = sorted(kept + self._random.sample(others, min(count - len(kept), len(others))))
        if not second:
            self._mirrored[key] = chosen
        return [wording(index, second) for index in chosen]

    def walk(self, cue: str | Sequence[str]) -> list[tuple[str, int]]:
        """A walk-through cue's sentences, each with the quiet after it in ms; ``[]`` for another cue.

        A walk-through guides the hands place by place ("Now the second toe. [6s] Then the middle
        toe."): each alternative is its sentences with ``[Ns]`` of quiet between them. The first one
        written with no sentence said yet in this routine is chosen: the first foot hears the first
        wording, the second foot the next (a shorter walk, once the hands know the way).
        """
        options = [cue] if isinstance(cue, str) else list(cue)
        if not any(WALK_GAP.search(option) for option in options):
            return []
        walks = [walk_parts(option) for option in options]
        fresh = [parts for parts in walks if all(self._fresh(sentence) for sentence, _ in parts)]
        if not fresh:
            raise TemplateError(f"every wording of the walk-through {options[0][:40]!r}... was said already.")
        return fresh[0]

    def turn(self, key: str, options: Sequence[str]) -> str:
        """The next of ``options`` in a seeded order that goes through all of them before any comes again,
        and never says the same one twice in a row (a new round does not start with the last one said)."""
        order, said = self._turns.get(key, ((), 0))
        if not options:
            return ""
        if said % len(options) == 0:
            last = options[order[-1]] if order else None
            order = tuple(self.shuffle(range(len(options))))
            if len(order) > 1 and options[order[0]] == last:
                order = (order[1], order[0], *order[2:])
        self._turns[key] = (order, said + 1)
        return options[order[said % len(options)]]

    def say(self, *parts: str | Sequence[str]) -> str:
        """A sentence made of one choice from each part, not used before in this routine.

        Each part is a string or a list of alternatives; choices are joined with spaces.
        """
        families = [[part] if isinstance(part, str) else list(part) for part in parts]
        if not all(families):
            raise TemplateError("say() was given an empty list of alternatives.")
        for _ in range(64):
            choice = [self._random.choice(family) for family in families]
            if self._fresh(_join(choice)):
                return self._remember_said(choice)
        unused = [combo for combo in itertools.islice(itertools.product(*families), 20000) if self._fresh(_join(combo))]
        return self._remember_said(list(self._random.choice(unused)) if unused else choice)

    def _remember_said(self, parts: Sequence[str]) -> str:
        """The sentence ``parts`` make, remembered; so is a whole question among them, which a later line does not ask
        again on its own (read 148: the first foot's "do these long strokes feel good?", said with how to answer, came
        back word for word on the second)."""
        for part in parts if len(parts) > 1 else ():
            if part.endswith("?"):
                self._remember(part)
        return self._remember(_join(parts))

    def address(self, role: str, *parts: str | Sequence[str], named: bool = False) -> str:
        """A sentence for ``role`` (``giver``, ``receiver``, ``both`` or ``self``), named only on a change.

        Partner routines name who is addressed ("Giver, ...") only when the listener changes;
        ``both`` and ``self`` lines never name anyone. A line for both leaves the current listener
        as it was: it speaks to them too. ``named`` names the listener even without a change (a
        question to the receiver after a check-in sound).
        """
        sentence = self.say(*parts)
        if role in ("giver", "receiver") and (role != self._role or named) and sentence:
            joined = _JOINED.match(sentence)
            if joined:
                sentence = sentence[joined.end() :][:1].upper() + sentence[joined.end() + 1 :]
            first = sentence.split(" ", 1)[0]
            keep = first in ("I", "I'm") or (first[:1].isupper() and first[1:2].isupper())
            name = f"{role.capitalize()}, "
            if role == "receiver" and first.lower() in _INVITING_VERBS:
                # A teacher turns to the receiver in more than one way: every other time, "If you're receiving".
                self._receiver_named += 1
                name = RECEIVER_NAMES[self._receiver_named % len(RECEIVER_NAMES)]
            elif (
                role == "giver"
                and self._giver_turns
                and self._role == "receiver"
                and not named
                and first.lower() not in _GIVER_PLAIN_AFTER
            ):
                # And back to the giver in more than one way: every third time, "Now, giver, ..." (read 82: more
                # often, it was heard as a tic).
                self._giver_named += 1
                name = GIVER_NAMES[self._giver_named % len(GIVER_NAMES)]
                if name != GIVER_NAMES[0] and first.rstrip(",:") == "Now":
                    sentence = sentence.split(" ", 1)[1]
            sentence = f"{name}{sentence if keep else sentence[:1].lower() + sentence[1:]}"
        else:
            # A question written for after a name ("is this deep enough?") still opens a sentence.
            sentence = sentence[:1].upper() + sentence[1:]
        if role != "both":
            self._role = role
        return self._thin_now(sentence)

    def _thin_now(self, sentence: str) -> str:
        """``sentence`` without its opening "Now" when another sentence opened with one a moment ago
        (``NOW_SPACING``), unless the shorter sentence was said already."""
        if _NOW.match(sentence) and self._since_now < NOW_SPACING:
            rest = _NOW.sub("", sentence, count=1)
            rest = rest[:1].upper() + rest[1:]
            if self._fresh(rest):
                sentence = self._remember(rest)
        self._since_now = 0 if _NOW.match(sentence) else self._since_now + 1
        return sentence

    def _fresh(self, sentence: str) -> bool:
        """Not said yet, also not as the same question with another opener ("Ask: " or "Ask quietly: ")."""
        return sentence not in self._used and _QUESTION_OPENER.sub("", sentence) not in self._used

    def _remember(self, sentence: str) -> str:
        self._used.add(sentence)
        self._used.add(_QUESTION_OPENER.sub("", sentence))
        return sentence


def spoken_length(minutes: float) -> str:
    """``10 minutes``, ``7 and a half minutes``, ``1 minute``: how the narration says a length."""
    whole, part = divmod(round(minutes * 60), 60)
    if part == 0:
        return f"{whole} minute" + ("" if whole == 1 else "s")
    if part == 30:
        return f"{whole} and a half minutes" if whole else "half a minute"
    return f"about {round(minutes)} minutes"


def _join(words: object) -> str:
    return " ".join(" ".join(str(word) for word in words).split())  # type: ignore[attr-defined]


_MANY_PLACES = re.compile(
    r"\b(in turn|one at a time|one by one|each of|every toe|the other toes|all three|three breaths|three lines"
    r"|whole (foot|sole))\b",
    re.IGNORECASE,
)
"""Cues that ask for work over several places, or a held count of breaths."""

LONG_CUE_SCALE = 1.8
"""Share of quiet after such a cue, against 1 for a cue about one place or the pace."""


def _pace(cue: object) -> float:
    """How much quiet a cue needs, relative to the others: more when it asks for more work."""
    texts = [cue] if isinstance(cue, str) else list(cue) if isinstance(cue, (list, tuple)) else []
    if any(WALK_GAP.search(str(text)) for text in texts):
        return 1.0  # the round's quiet is shared between its places (RoutinePlan.after_walk)
    return LONG_CUE_SCALE if any(_MANY_PLACES.search(str(text)) for text in texts) else 1.0


_DIRECT_OPENINGS = frozenset(["is", "are", "was", "do", "does", "should", "would", "how"])
"""Questions opening with these can be put to the receiver as they are."""


def _first_wordings(cues: Sequence[str | Sequence[str]]) -> list[str]:
    """Each cue's first foot's wording (a cue is a sentence, or a pair of wordings: see ``Wording.mirrored``)."""
    return [cue if isinstance(cue, str) else cue[0] for cue in cues]


def _direct_questions(questions: Sequence[str]) -> list[str]:
    """The giver's questions ("Ask: is this deep enough?") that the narrator can put to the receiver
    directly: whole questions, not in the giver's own voice ("should I go slower?")."""
    direct = [question.removeprefix("Ask: ") for question in questions]
    return [
        question
        for question in direct
        if question.split(" ", 1)[0] in _DIRECT_OPENINGS and not {"I", "my"} & set(question.split())
    ]


def _hold(spec: HoldSpec, scale: float = 1.0) -> str:
    from markupsafe import Markup

    weight = f"{spec.weight * scale:.4g}"
    text = f'<fa:hold weight="{weight}" min="{round(spec.min_s * 1000)}ms"'
    if spec.max_s is not None:
        text += f' max="{round(spec.max_s * 1000)}ms"'
    return Markup(text + "/>")


TEMPLATE_LIMIT = 1_000_000
"""Largest template file read, in bytes."""


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


def _confined_loader(folder: Path):
    """A loader for a user's templates folder that reads only regular files really inside it.

    Jinja refuses ``../`` and absolute names itself; this also refuses a symbolic link (or a
    linked folder) that leads out of the folder, and FIFOs, devices and huge files.
    """
    import posixpath

    from jinja2 import BaseLoader, TemplateNotFound
    from jinja2.loaders import split_template_path

    from ..files import read_regular

    root = Path(folder).resolve()

    class ConfinedLoader(BaseLoader):
        def get_source(self, environment: Any, template: str) -> tuple[str, str | None, Any]:
            filename = posixpath.join(str(folder), *split_template_path(template))
            if not Path(filename).exists():
                raise TemplateNotFound(template)
            real = Path(filename).resolve()
            if not real.is_relative_to(root):
                raise TemplateError(
                    f"template {template!r} is a symbolic link that leads out of the templates folder {folder}; "
                    "copy the file into the folder instead."
                )
            try:
                text = read_regular(real, TEMPLATE_LIMIT).decode("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                if real.is_dir():
                    raise TemplateNotFound(template) from exc
                raise TemplateError(f"template {filename} cannot be read as UTF-8 text; fix the file.") from None
            except ValueError as exc:
                if real.is_dir():
                    raise TemplateNotFound(template) from None
                raise TemplateError(f"template {filename} is {exc}; templates must be text files.") from None
            stamp = _stamp(real)
            return text, filename, lambda: _stamp(real) == stamp

        def list_templates(self) -> list[str]:
            return sorted(str(path.relative_to(folder)) for path in Path(folder).rglob("*") if path.is_file())

    return ConfinedLoader()


@functools.lru_cache(maxsize=8)
def _environment(templates: Path | None):
    """A sandboxed environment per templates folder; it keeps compiled templates in memory.

    Nothing compiled is stored on disk: a cache folder others can write to must never hold
    code that footaudio would load and run.
    """
    from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    shipped = PackageLoader("footaudio.script", "templates")
    loaders = [shipped, PrefixLoader({"builtin": shipped})]
    if templates is not None:
        loaders.insert(0, _confined_loader(Path(templates)))
    environment = SandboxedEnvironment(
        loader=ChoiceLoader(loaders),
        undefined=StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return environment


def _template_location(exc: BaseException) -> str:
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename and frame.filename.endswith((".j2", ".jinja", ".ssml", ".xml", ".txt")):
            return f"{frame.filename}, line {frame.lineno}"
    return ENTRY_TEMPLATE


def _plain(message: object) -> str:
    return str(message).strip().rstrip(".")


def check_templates_dir(templates: Path | None, option: str = "--templates") -> None:
    """Fail early when ``--templates`` does not name a readable folder."""
    if templates is None or Path(templates).is_dir():
        return
    if Path(templates).exists():
        raise TemplateError(f"templates folder {str(templates)!r} is a file, not a folder; check {option}.")
    raise TemplateError(f"templates folder {str(templates)!r} does not exist; check {option}.")


def render_ssml(settings: Settings, templates: Path | None = None, pace: float = 1.0) -> str:
    """Render the routine template for ``settings`` into footaudio SSML text.

    ``pace``: how much longer the voice takes than planning assumes (see ``RoutinePlan.pace``).
    """
    from jinja2 import TemplateNotFound, TemplateSyntaxError, UndefinedError
    from jinja2.exceptions import SecurityError

    check_templates_dir(templates)
    environment = _environment(Path(templates) if templates is not None else None)
    wording = Wording(settings)
    # Jinja's own |random would ignore --seed; the seeded choice keeps scripts reproducible.
    environment.filters["random"] = wording.pick
    environment.filters["pace"] = _pace
    environment.filters["direct"] = _direct_questions
    environment.filters["first_wordings"] = _first_wordings
    plan = RoutinePlan(settings, pace)
    context = {
        "settings": settings,
        "minutes": settings.minutes,
        "mode": settings.mode,
        "pressure": settings.pressure,
        "solo": settings.mode == "solo",
        "partner": settings.mode == "partner",
        "plan": plan,
        "length": spoken_length(settings.minutes),
        "say": wording.say,
        "to": wording.address,
        "pick": wording.pick,
        "shuffle": wording.shuffle,
        "unused": wording.unused,
        "in_order": wording.in_order,
        "mirrored": wording.mirrored,
        "turn": wording.turn,
        "walk": wording.walk,
        "hold": _hold,
        "pace": _pace,
    }
    try:
        with _time_limit(RENDER_TIME_LIMIT_S):
            return environment.get_template(ENTRY_TEMPLATE).render(context)
    except _TimeUp as exc:
        raise TemplateError(
            f"{_template_location(exc)}: the template did not finish within {RENDER_TIME_LIMIT_S:g} s "
            "(an endless loop?); fix the template."
        ) from None
    except RecursionError as exc:
        raise TemplateError(
            f"{_template_location(exc)}: the template calls itself without end; fix the template."
        ) from None
    except TemplateSyntaxError as exc:
        where = exc.filename or exc.name or ENTRY_TEMPLATE
        raise TemplateError(f"template syntax error in {where}, line {exc.lineno}: {_plain(exc.message)}.") from exc
    except TemplateNotFound as exc:
        raise TemplateError(f"template {exc.name!r} was not found; check --templates and its includes.") from exc
    except UndefinedError as exc:
        raise TemplateError(f"{_template_location(exc)}: {_plain(exc.message)}; check the variable name.") from exc
    except SecurityError as exc:
        raise TemplateError(f"{_template_location(exc)}: the template sandbox refused: {_plain(exc)}.") from exc
    except TemplateError as exc:
        raise TemplateError(f"{_template_location(exc)}: {exc.message}") from None
    except MemoryError:
        raise TemplateError(f"{ENTRY_TEMPLATE}: the template made more text than fits in memory; fix it.") from None
    except Exception as exc:  # a user's template can fail in any way Python code can
        detail = _plain(exc) or type(exc).__name__
        raise TemplateError(f"{_template_location(exc)}: template failed: {detail}.") from None
