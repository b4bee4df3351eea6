"""Runs the stages in order: Settings -> Script -> Clips -> Timeline -> audio -> MP3 file."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from ._version import __version__
from .audio.mp3 import check_destination
from .audio.tags import SetContext
from .errors import UsageError
from .files import folder_busy, remove_stale_temporaries
from .script.lexicon import lexicon_for
from .script.pacing import SPEECH_SHARE, check_pacing
from .script.ssml import Script, parse_ssml
from .script.templating import render_ssml
from .script.timeline import NarrationDoesNotFit, Timeline, build_timeline
from .settings import DEFAULT_RATE, MAX_MINUTES, AudioOptions, Settings, minutes_phrase
from .speech.cache import ClipCache, Clips, synthesize_clips
from .speech.engine import Synthesizer, choose_voice, default_synthesizer

__all__ = [
    "DEFAULT_OUTPUT_DIR",
    "RenderResult",
    "Routine",
    "build_script",
    "default_output",
    "make_folders",
    "plan",
    "render",
]

DEFAULT_OUTPUT_DIR = Path("out")
Progress = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)``."""


@dataclass(frozen=True)
class Routine:
    """A fully planned routine: its script, clips and timeline."""

    settings: Settings
    """The settings it was planned for."""

    ssml: str
    """The footaudio SSML the templates produced."""

    script: Script
    """The parsed script."""

    clips: Clips
    """A clip for every sentence."""

    timeline: Timeline
    """Every item placed in time."""

    engine_id: str = ""
    """The engine that spoke it, e.g. ``piper-en_US-joe-medium`` (``auto`` resolved)."""

    pace: float = 1.0
    """The pace it was planned for: above 1, a leaner plan for a voice slower than planning assumes; below 1,
    a richer one for a faster voice."""


@dataclass(frozen=True)
class RenderResult:
    """What ``render`` wrote."""

    path: Path
    """The MP3 file."""

    routine: Routine
    """The routine it contains."""

    companions: tuple[Path, ...] = ()
    """Files written beside the MP3: the ``.vtt`` and ``.lrc`` captions, if asked for."""


def default_output(settings: Settings) -> Path:
    """``out/<mode>-<pressure>-<minutes>min.mp3``."""
    return DEFAULT_OUTPUT_DIR / f"{settings.name}.mp3"


def build_script(
    settings: Settings,
    templates: Path | None = None,
    lexicon: Mapping[str, str] | None = None,
    pace: float = 1.0,
) -> tuple[str, Script]:
    """Render the templates for ``settings`` and parse the result.

    ``lexicon`` (word -> alias, e.g. ``lexicon_for(engine_id, voice)``) makes the engine say
    each listed word as its alias, as ``<sub alias>`` would; the script's text keeps the word.
    ``pace``: how much longer the voice takes than planning assumes (a leaner plan above 1).
    """
    ssml = render_ssml(settings, templates, pace)
    return ssml, parse_ssml(ssml, source="the routine template's output", lexicon=lexicon)


def _fit(settings: Settings, script: Script, clips: Clips) -> Timeline:
    return build_timeline(script, clips.ms, settings.total_ms)


PACE_STEPS = (1.05, 1.1, 1.15, 1.2, 1.25, 1.3)
"""Leaner plans, in turn, for a voice slower than planning assumes: the least lean plan that keeps the
narration to its share of the time keeps the most of the routine."""

RICHER_PACE_STEPS = (0.95, 0.9, 0.85, 0.8, 0.75, 0.7)
"""Richer plans, in turn, for a voice so fast that the narration falls below its share of the time."""


def _speech_share_kept(timeline: Timeline) -> bool:
    return SPEECH_SHARE[0] * timeline.total_ms <= timeline.speech_ms <= SPEECH_SHARE[1] * timeline.total_ms


def _paces(settings: Settings, timeline: Timeline | None) -> list[float]:
    """The paces to plan with when the usual plan does not fit or breaks a rule: leaner, or richer when it
    says too little for its time.

    A slower rate than the default is known to take longer to say: its plans start from that ratio.
    """
    if timeline is not None and timeline.speech_ms < SPEECH_SHARE[0] * timeline.total_ms:
        return list(RICHER_PACE_STEPS)
    start = max(1.0, DEFAULT_RATE / settings.rate)
    return ([start] if start > 1.0 else []) + [round(start * step, 3) for step in PACE_STEPS]


def plan(
    settings: Settings,
    *,
    templates: Path | None = None,
    synthesizer: Synthesizer | None = None,
    cache: ClipCache | None = None,
    progress: Progress | None = None,
    lexicon: Mapping[str, str] | None = None,
) -> Routine:
    """Script, synthesize and time a routine without writing audio.

    ``lexicon``: the respellings the engine speaks; by default the pronunciation lexicon's
    entries for the resolved engine and voice (``{}``: none).
    """
    synthesizer = synthesizer or default_synthesizer(settings.engine)
    cache = cache or ClipCache()
    voice = choose_voice(synthesizer, settings.voice)
    if lexicon is None:
        lexicon = lexicon_for(synthesizer.engine_id, voice)

    def clips_for(candidate: Settings, pace: float = 1.0) -> tuple[str, Script, Clips]:
        ssml, script = build_script(candidate, templates, lexicon, pace)
        sentences = len(dict.fromkeys(script.sentences))
        done = 0

        def tick(count: int) -> None:
            nonlocal done
            done += count
            if progress is not None:
                progress("speech", done, sentences)

        return ssml, script, synthesize_clips(script, candidate, synthesizer, voice, cache, tick)

    def fitted(candidate: Settings) -> tuple[str, Script, Clips, Timeline, float]:
        """The plan for ``candidate``: leaner or richer if the voice is slower or faster than planned for.

        When the narration does not fit, or breaks a pacing rule (most often: speech outside its share of
        the time), plans for other paces are tried in turn (``_paces``); the first that fits, keeps speech
        to its share and breaks fewer pacing rules (none, where the first plan did not fit at all) is used.
        """
        ssml, script, clips = clips_for(candidate)
        timeline: Timeline | None
        try:
            timeline = _fit(candidate, script, clips)
        except NarrationDoesNotFit as exc:
            timeline, misfit, allowed = None, exc, 0
        else:
            problems = check_pacing(timeline, candidate).problems
            if not problems:
                return ssml, script, clips, timeline, 1.0
            allowed = len(problems) - 1
        for pace in _paces(candidate, timeline):
            other = clips_for(candidate, pace)
            try:
                other_timeline = _fit(candidate, *other[1:])
            except NarrationDoesNotFit:
                continue
            if _speech_share_kept(other_timeline) and len(check_pacing(other_timeline, candidate).problems) <= allowed:
                return (*other, other_timeline, pace)
        if timeline is None:
            raise misfit
        return ssml, script, clips, timeline, 1.0

    try:
        ssml, script, clips, timeline, pace = fitted(settings)
    except NarrationDoesNotFit as exc:
        raise _explain(settings, exc, lambda s: fitted(s)[3]) from None
    return Routine(settings, ssml, script, clips, timeline, synthesizer.engine_id, pace)


SUGGEST_TRIES = 16
"""Lengths tried, at most, for the shortest one that works when the asked length is too short."""

SUGGEST_STEP_MINUTES = 2.0
"""The furthest one try moves on from the last (a slow voice's usual plan needs far more than a leaner one)."""


def _explain(settings: Settings, exc: NarrationDoesNotFit, attempt: Callable[[Settings], Timeline]) -> UsageError:
    """Turn a misfit into a message naming the nearest length that works."""
    what = f"a {settings.mode} {settings.pressure} routine"
    if exc.needed_ms is None:
        limit_s = (exc.limit_ms or 0) / 1000
        most = math.floor(limit_s / 30) / 2
        if most >= 1:
            return UsageError(
                f"{minutes_phrase(settings.minutes)} is longer than the templates can fill for {what} "
                f"(at most {minutes_phrase(most)}); use --minutes {most:g} or fewer, "
                "or add steps or holds without a max to the templates."
            )
        return UsageError(
            f"{minutes_phrase(settings.minutes)} is longer than the templates can fill for {what} "
            f"(at most {limit_s:.1f} seconds); add steps or holds without a max to the templates."
        )
    # The script changes with length, so try half-minute steps until one fits.
    minutes = max(settings.minutes, math.ceil(exc.needed_ms / 30000) / 2)
    for _ in range(SUGGEST_TRIES):
        if minutes > MAX_MINUTES:
            break
        try:
            timeline = attempt(replace(settings, minutes=minutes))
        except NarrationDoesNotFit as retry:
            if retry.needed_ms is None:
                break
            # What the usual plan needs overshoots where a leaner plan would fit (a slow voice): at most
            # SUGGEST_STEP_MINUTES further at a time.
            minutes = max(minutes + 0.5, min(math.ceil(retry.needed_ms / 30000) / 2, minutes + SUGGEST_STEP_MINUTES))
            continue
        if not _speech_share_kept(timeline):
            # It fits, but says too much for its time: not a length to suggest.
            minutes += 0.5
            continue
        # Still a misfit (a usage error), now carrying the shortest length that works.
        return NarrationDoesNotFit(
            f"{minutes_phrase(settings.minutes)} is too short for {what} "
            f"(the narration needs at least {minutes_phrase(minutes)}); use --minutes {minutes:g} or more.",
            needed_ms=round(minutes * 60000),
        )
    return UsageError(f"{minutes_phrase(settings.minutes)} is too short for {what}; use more --minutes.")


def render(
    settings: Settings,
    output: Path | str | None = None,
    *,
    options: AudioOptions | None = None,
    templates: Path | None = None,
    synthesizer: Synthesizer | None = None,
    cache: ClipCache | None = None,
    progress: Progress | None = None,
    set_context: SetContext | None = None,
    force: bool = False,
) -> RenderResult:
    """Render ``settings`` to an MP3 of exactly ``settings.minutes`` and return where it went.

    With no ``output``, the file goes to ``out/<name>.mp3``. Missing folders on the way
    to the output are created, and removed again if the render fails.
    ``options`` set bit rate, loudness, chimes, ambience, captions and cover;
    ``set_context`` tags the file as part of a routine set. A file at ``output`` that
    footaudio did not write is only replaced with ``force``.
    """
    destination = Path(output) if output is not None else default_output(settings)
    options = options or AudioOptions()
    captions = (destination.with_suffix(".vtt"), destination.with_suffix(".lrc")) if options.captions else ()
    check_destination(destination, force=force, create_folder=True, companions=captions)
    if set_context is None and folder_busy(destination.parent):
        raise UsageError(
            f"a footaudio batch is writing to {destination.parent}; wait for it to finish, "
            "or render into another folder."
        )
    options.cover_image()  # a bad cover fails now, before any folder is made
    created = make_folders(destination.parent)
    try:
        return _render_into(destination, settings, options, templates, synthesizer, cache, progress, set_context, force)
    except BaseException:
        for folder in reversed(created):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and any missing parents; return the ones made, outermost first.

    A folder that cannot be made raises :class:`UsageError` (and those made on the way are
    removed); the caller removes the returned ones again if its work fails.
    """
    missing = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    created: list[Path] = []
    for path in reversed(missing):
        try:
            path.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            for made in reversed(created):
                with contextlib.suppress(OSError):
                    made.rmdir()
            raise UsageError(f"cannot create the folder {path} ({exc.strerror}); choose another output path.") from None
        created.append(path)
    return created


def _render_into(
    destination: Path,
    settings: Settings,
    options: AudioOptions,
    templates: Path | None,
    synthesizer: Synthesizer | None,
    cache: ClipCache | None,
    progress: Progress | None,
    set_context: SetContext | None,
    force: bool = False,
) -> RenderResult:
    from .audio.captions import lrc, webvtt
    from .audio.mixing import excerpt_pcm, loudness_correction, pcm_blocks, sample_at
    from .audio.mp3 import encoding_loss, write_mp3
    from .audio.tags import DEFAULT_ALBUM, RoutineTags, write_tags

    remove_stale_temporaries(destination.parent)
    routine = plan(settings, templates=templates, synthesizer=synthesizer, cache=cache, progress=progress)
    timeline = routine.timeline
    total_frames = sample_at(timeline.total_ms)
    # The routine's loudness follows from its clips; the limiter and encoder then take a
    # little off, measured on an excerpt. Together they put the written file on target.
    correction_db = loudness_correction(timeline, routine.clips, options)
    correction_db += encoding_loss(excerpt_pcm(timeline, routine.clips, options, correction_db), options.bitrate)

    def counted_blocks() -> Iterator[bytes]:
        written = 0
        for block in pcm_blocks(timeline, routine.clips, options, correction_db):
            written += len(block) // 2
            if progress is not None:
                progress("audio", written, total_frames)
            yield block

    context = set_context or SetContext(DEFAULT_ALBUM, (0, 0))
    tags = RoutineTags(
        settings,
        __version__,
        options,
        context.album,
        set_context.track if set_context else None,
        context.inputs,
        routine.engine_id,
    )
    companions = {}
    if options.captions:
        companions = {
            destination.with_suffix(".vtt"): webvtt(timeline, settings),
            destination.with_suffix(".lrc"): lrc(timeline, settings),
        }
    write_mp3(
        counted_blocks(),
        destination,
        bitrate=options.bitrate,
        finish=lambda path: write_tags(path, tags, timeline),
        companions=companions,
        force=force,
    )
    return RenderResult(destination, routine, tuple(companions))
