"""Bad input wherever it enters footaudio: one clear line on stderr, the right exit code, nothing written.

Input enters through the options of ``render``, ``script``, ``batch`` and ``info``, through set files,
through user templates (``--templates DIR``) and through environment variables. Each case gives one
bad input and footaudio's whole answer. Speech is faked (see conftest.py); ffmpeg is real.

A case marked xfail shows a known defect: its message is the one a user should get.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from footaudio.cli import main
from footaudio.tools import find_ffmpeg

from .conftest import FakeSynthesizer

TOO_LONG = (
    "is longer than the guided content fills without repeating itself (at most 90 minutes); use --minutes 90 or less."
)
"""The message for a length past MAX_MINUTES, after the length itself."""

SPEAK = '<speak version="1.1" xmlns="http://www.w3.org/2001/10/synthesis" xmlns:fa="urn:footaudio:ssml:1">'
SET = "set.toml"
MATRIX = '[matrix]\nminutes = [5]\nmode = ["solo"]\n'
TPL_FILE = "{tmp}/tpl/routine.ssml.j2"
OUTPUT = "the routine template's output"
MP3_RATES = "use --bitrate 64, 96, 112, 128, 160, 192, 224, 256 or 320."


@dataclass(frozen=True)
class Case:
    """One bad input: the command line, what to prepare, and footaudio's answer."""

    args: tuple[str, ...]
    """Command-line arguments; ``{tmp}`` stands for the test's folder (also the working directory)."""

    code: int
    """Expected exit code: 2 for a usage mistake, 1 for a failure."""

    message: str
    """The whole message after ``Error: ``; with ``suffix``, only its start."""

    suffix: str | None = None
    """Set when the middle of the message is third-party wording: then only start and end are fixed."""

    contains: str = ""
    """With ``suffix``: text the third-party middle must still contain (the bad value)."""

    files: dict[str, str | bytes] = field(default_factory=dict)
    """Files to create first, relative to the test's folder."""

    folders: tuple[str, ...] = ()
    """Empty folders to create first."""

    env: dict[str, str] = field(default_factory=dict)
    """Environment variables to set (``{tmp}`` is replaced)."""

    setup: str | None = None
    """A special preparation; see ``prepare``."""

    tag: str | None = None
    """With setup ``foreign_mp3``: the text of a footaudio settings tag to put into that MP3."""


def case(name: str, command: str, *, message: str, code: int = 2, xfail: str | None = None, **more):
    """A table row: ``command`` is the footaudio command line, split as a shell would."""
    marks = [pytest.mark.xfail(reason=xfail)] if xfail else []
    return pytest.param(Case(tuple(shlex.split(command)), code, message, **more), id=name, marks=marks)


def routine(body: str) -> dict[str, str | bytes]:
    """A user template folder ``tpl`` whose routine is ``body`` inside a proper <speak> root."""
    return {"tpl/routine.ssml.j2": f"{SPEAK}\n{body}\n</speak>\n"}


def set_file(text: str) -> dict[str, str | bytes]:
    return {SET: text}


CASES = [
    # --- render: settings ---------------------------------------------------------------------------------
    case("minutes-zero", "render -m 0", message="0 minutes is out of range; use --minutes from 1 to 90."),
    case("minutes-negative", "render -m -5", message="-5 minutes is out of range; use --minutes from 1 to 90."),
    case("minutes-word", "render -m abc", message="--minutes 'abc' is not a number; use e.g. --minutes 10."),
    case("minutes-comma", "render -m 7,5", message="--minutes '7,5' is not a number; use e.g. --minutes 10."),
    case("minutes-empty", "render -m ''", message="--minutes '' is not a number; use e.g. --minutes 10."),
    case("minutes-nan", "render -m nan", message="nan is not a length; use --minutes with a number from 1 to 90."),
    case("minutes-inf", "render -m inf", message="inf is not a length; use --minutes with a number from 1 to 90."),
    case(
        "minutes-1e9",
        "render -m 1e9",
        message="1e+09 minutes " + TOO_LONG,
    ),
    case(
        "minutes-too-short",
        "render -m 1 --mode partner --pressure firm",
        message="1 minute is too short for a partner firm routine (the narration needs at least 2 minutes); "
        "use --minutes 2 or more.",
    ),
    case("mode-unknown", "render --mode trio", message="unknown mode 'trio'; use --mode solo or partner."),
    case(
        "mode-typo",
        "render --mode partnr",
        message="unknown mode 'partnr'; did you mean 'partner'? use --mode solo or partner.",
    ),
    case(
        "pressure-typo",
        "render --pressure medum",
        message="unknown pressure 'medum'; did you mean 'medium'? use --pressure light, medium or firm.",
    ),
    case(
        "voice-unknown",
        "render --voice fake/c",
        message="unknown voice 'fake/c'; did you mean 'fake/b'? run 'footaudio voices' to list the voices; "
        "Piper voices need --engine piper.",
    ),
    case(
        "voice-blank",
        "render --voice ' '",
        message="the voice name is empty; leave out --voice or run 'footaudio voices'.",
    ),
    case(
        "engine-unknown",
        "render --engine espeak",
        message="unknown engine 'espeak'; use --engine auto, pyttsx3 or piper.",
    ),
    case(
        "engine-typo",
        "render --engine pipr",
        message="unknown engine 'pipr'; did you mean 'piper'? use --engine auto, pyttsx3 or piper.",
    ),
    case("seed-word", "render --seed x", message="--seed 'x' is not a whole number; use e.g. --seed 3."),
    case("seed-fraction", "render --seed 1.5", message="--seed '1.5' is not a whole number; use e.g. --seed 3."),
    case("rate-word", "render --rate fast", message="--rate 'fast' is not a whole number; use e.g. --rate 130."),
    case(
        "rate-too-fast",
        "render --rate 500",
        message="a rate of 500 words per minute is out of range; use --rate from 80 to 260.",
    ),
    case(
        "rate-too-slow",
        "render --rate 10",
        message="a rate of 10 words per minute is out of range; use --rate from 80 to 260.",
    ),
    # --- render: sound and packaging ----------------------------------------------------------------------
    case("bitrate-100", "render --bitrate 100", message=f"a bit rate of 100 kbps is not an MP3 rate; {MP3_RATES}"),
    case(
        "bitrate-word",
        "render --bitrate high",
        message="--bitrate 'high' is not a whole number; use e.g. --bitrate 128.",
    ),
    case(
        "loudness-minus-5",
        "render --loudness -5",
        message="a loudness of -5 LUFS is out of range; use --loudness from -30 to -15.",
    ),
    case(
        "loudness-word",
        "render --loudness loud",
        message="--loudness 'loud' is not a number; use e.g. --loudness -16.",
    ),
    case(
        "loudness-nan",
        "render --loudness nan",
        message="a loudness of nan LUFS is out of range; use --loudness from -30 to -15.",
    ),
    case(
        "chime-typo",
        "render --chime bel",
        message="unknown chime 'bel'; did you mean 'bell'? use --chime soft, bell or none.",
    ),
    case(
        "ambience-typo",
        "render --ambience rian",
        message="unknown ambience 'rian'; did you mean 'rain'? use --ambience none, rain, ocean or brown.",
    ),
    case(
        "cover-missing",
        "render --cover {tmp}/nope.jpg",
        message="cannot read the cover image {tmp}/nope.jpg (No such file or directory); check --cover.",
    ),
    case(
        "cover-not-image",
        "render --cover {tmp}/cover.jpg",
        files={"cover.jpg": "not a picture\n"},
        message="cover image {tmp}/cover.jpg is not a JPEG or PNG file; use --cover with a .jpg or .png.",
    ),
    # --- render: output path ------------------------------------------------------------------------------
    case(
        "output-is-folder",
        "render -o {tmp}/folder",
        folders=("folder",),
        message="{tmp}/folder is a folder; give a file name such as {tmp}/folder/routine.mp3.",
    ),
    case(
        "output-folder-under-a-file",
        "render -o {tmp}/notes.txt/deeper/x.mp3",
        files={"notes.txt": "x"},
        message="{tmp}/notes.txt is a file, not a folder; choose another output path.",
    ),
    case(
        "output-folder-is-file",
        "render -o {tmp}/notes.txt/x.mp3",
        files={"notes.txt": "x"},
        message="{tmp}/notes.txt is a file, not a folder; choose another output path.",
    ),
    case(
        "output-not-mp3",
        "render -o {tmp}/x.wav",
        message="{tmp}/x.wav does not end in .mp3; footaudio writes MP3 files.",
    ),
    case(
        "output-foreign-file",
        "render -o {tmp}/song.mp3",
        setup="foreign_mp3",
        message="{tmp}/song.mp3 exists and was not written by footaudio; use --force to replace it, "
        "or choose another output path.",
    ),
    case(
        "output-read-only-folder",
        "render -o {tmp}/locked/x.mp3",
        setup="read_only",
        message="folder {tmp}/locked is not writable; choose another output path.",
    ),
    # click words its own usage errors (and rewords them between versions): for these (message="" and the
    # suffix "; see 'footaudio COMMAND --help'.") only the shape, the exit code and the bad value are fixed.
    case(
        "render-unknown-option",
        "render --bogus",
        message="",
        suffix="; see 'footaudio render --help'.",
        contains="'--bogus'",
    ),
    # --- script -------------------------------------------------------------------------------------------
    case("script-minutes-zero", "script -m 0", message="0 minutes is out of range; use --minutes from 1 to 90."),
    case("script-mode-unknown", "script --mode duo", message="unknown mode 'duo'; use --mode solo or partner."),
    case(
        "script-format",
        "script --format wav",
        message="",
        suffix="; see 'footaudio script --help'.",
        contains="'wav'",
    ),
    case(
        "script-check-too-short",
        "script -m 1 --mode partner --pressure firm --check",
        message="1 minute is too short for a partner firm routine (the narration needs at least 2 minutes); "
        "use --minutes 2 or more.",
    ),
    # --- info ---------------------------------------------------------------------------------------------
    case(
        "info-missing-file",
        "info {tmp}/nope.mp3",
        message="{tmp}/nope.mp3 does not exist; give the path of an MP3 that footaudio wrote.",
    ),
    # The middle is mutagen's reason (e.g. "can't sync to MPEG frame").
    case(
        "info-not-mp3",
        "info {tmp}/notes.mp3",
        files={"notes.mp3": "just text\n"},
        message="{tmp}/notes.mp3 is not an MP3 file (",
        suffix="); give an MP3 that footaudio wrote.",
    ),
    case(
        "info-foreign-mp3",
        "info {tmp}/song.mp3",
        setup="foreign_mp3",
        message="{tmp}/song.mp3 has no footaudio settings tag; it was not written by footaudio.",
    ),
    case(
        "info-tag-not-json",
        "info {tmp}/song.mp3",
        setup="foreign_mp3",
        tag="not json",
        message="{tmp}/song.mp3 has a damaged footaudio settings tag; render it again.",
    ),
    case(
        "info-tag-without-settings",
        "info {tmp}/song.mp3",
        setup="foreign_mp3",
        tag="{}",
        message="{tmp}/song.mp3 has a damaged footaudio settings tag; render it again.",
    ),
    case(
        "info-tag-bad-settings",
        "info {tmp}/song.mp3",
        setup="foreign_mp3",
        tag='{"settings": {"minutes": 0}}',
        message="{tmp}/song.mp3 has a damaged footaudio settings tag; render it again.",
    ),
    case(
        "info-folder",
        "info {tmp}/folder",
        folders=("folder",),
        message="",
        suffix="; see 'footaudio info --help'.",
        contains="'{tmp}/folder'",
    ),
    case("info-no-file", "info", message="", suffix="; see 'footaudio info --help'.", contains="'FILE'"),
    # --- batch: options -----------------------------------------------------------------------------------
    case(
        "batch-shard-0-of-2",
        "batch -m 5 -o {tmp}/set --shard 0/2",
        message="--shard '0/2' is not K/N with 1 <= K <= N; use e.g. --shard 1/4.",
    ),
    case(
        "batch-shard-word",
        "batch -m 5 -o {tmp}/set --shard half",
        message="--shard 'half' is not K/N with 1 <= K <= N; use e.g. --shard 1/4.",
    ),
    case("batch-jobs-0", "batch -m 5 -o {tmp}/set --jobs 0", message="--jobs 0 must be 1 or more."),
    case(
        "batch-jobs-word",
        "batch -m 5 -o {tmp}/set --jobs many",
        message="",
        suffix="; see 'footaudio batch --help'.",
        contains="'many'",
    ),
    case(
        "batch-minutes-word",
        "batch -m 5,abc -o {tmp}/set",
        message="--minutes 'abc' is not a number; use e.g. --minutes 10.",
    ),
    case(
        "batch-minutes-empty",
        "batch -m , -o {tmp}/set",
        message="--minutes is empty; give one value or a comma-separated list.",
    ),
    case(
        "batch-mode-typo",
        "batch --mode solo,partnr -o {tmp}/set",
        message="unknown mode 'partnr'; did you mean 'partner'? use --mode solo or partner.",
    ),
    case(
        "batch-bitrate-100",
        "batch -m 5 --bitrate 100 -o {tmp}/set",
        message=f"a bit rate of 100 kbps is not an MP3 rate; {MP3_RATES}",
    ),
    case(
        "batch-rate-word",
        "batch -m 5 --rate slow -o {tmp}/set",
        message="--rate 'slow' is not a whole number; use e.g. --rate 130.",
    ),
    case(
        "batch-cover-missing",
        "batch -m 5 --cover {tmp}/nope.png -o {tmp}/set",
        message="cannot read the cover image {tmp}/nope.png (No such file or directory); check --cover.",
    ),
    case(
        "batch-output-is-file",
        "batch -m 5 -o {tmp}/notes.txt",
        files={"notes.txt": "x"},
        message="",
        suffix="; see 'footaudio batch --help'.",
        contains="'{tmp}/notes.txt'",
    ),
    case(
        "batch-output-read-only",
        "batch -m 5 -o {tmp}/locked",
        setup="read_only_batch",
        message="folder {tmp}/locked is not writable; choose another output folder.",
    ),
    case(
        "batch-templates-missing",
        "batch -m 5 --templates {tmp}/nope -o {tmp}/set",
        message="templates folder '{tmp}/nope' does not exist; check --templates.",
    ),
    case(
        "batch-index-only-missing-folder",
        "batch -m 5 -o {tmp}/set --index-only",
        message="folder {tmp}/set does not exist; render the set first, or check --output.",
    ),
    case(
        "batch-feed-url-not-url",
        "batch -m 5 -o {tmp}/set --index-only --feed-url 'not a url'",
        folders=("set",),
        message="--feed-url 'not a url' is not an http(s) URL; use e.g. --feed-url https://example.org/feet.",
    ),
    case(
        "batch-set-file-and-minutes",
        "batch {tmp}/set.toml --minutes 5",
        files=set_file(MATRIX),
        message="--minutes cannot be combined with a set file; put them in {tmp}/set.toml instead.",
    ),
    case(
        "batch-set-file-and-name",
        "batch {tmp}/set.toml --name x",
        files=set_file(MATRIX),
        message="--name cannot be combined with a set file; set 'name' in {tmp}/set.toml instead.",
    ),
    case(
        "batch-set-file-is-folder",
        "batch {tmp}/folder",
        folders=("folder",),
        message="",
        suffix="; see 'footaudio batch --help'.",
        contains="'{tmp}/folder'",
    ),
    # --- batch: set files ---------------------------------------------------------------------------------
    case("set-missing", "batch {tmp}/nope.toml", message="set file {tmp}/nope.toml does not exist; check the path."),
    # The middle is tomllib's description of the syntax error.
    case(
        "set-not-toml",
        "batch {tmp}/set.toml",
        files=set_file("minutes = [5\n"),
        message="{tmp}/set.toml is not valid TOML (",
        suffix="); fix the syntax.",
    ),
    # The middle is Python's description of the decoding error.
    case(
        "set-not-utf8",
        "batch {tmp}/set.toml",
        files={SET: b"\xff\xfe name"},
        message="cannot read set file {tmp}/set.toml (",
        suffix="); check the file.",
        contains="utf-8",
    ),
    case(
        "set-unknown-top-key",
        "batch {tmp}/set.toml",
        files=set_file('nmae = "x"\n' + MATRIX),
        message="{tmp}/set.toml, line 1: unknown key 'nmae' in the top level; did you mean 'name'? "
        "allowed: name, output, templates, defaults, matrix, routine.",
    ),
    case(
        "set-unknown-defaults-key",
        "batch {tmp}/set.toml",
        files=set_file("[defaults]\ncaption = true\n" + MATRIX),
        message="{tmp}/set.toml, line 2: unknown key 'caption' in [defaults]; did you mean 'captions'? "
        "allowed: minutes, mode, pressure, voice, rate, seed, engine, bitrate, loudness, chime, ambience, "
        "captions, cover.",
    ),
    case(
        "set-unknown-matrix-key",
        "batch {tmp}/set.toml",
        files=set_file('name = "x"\n\n[matrix]\nminutes = [5]\npresure = ["firm"]\n'),
        message="{tmp}/set.toml, line 5: unknown key 'presure' in [matrix]; did you mean 'pressure'? "
        "allowed: minutes, mode, pressure, seed, voice, rate, engine.",
    ),
    case(
        "set-unknown-routine-key",
        "batch {tmp}/set.toml",
        files=set_file("[[routine]]\nminutes = 5\n\n[[routine]]\nminutes = 6\nvolume = 3\n"),
        message="{tmp}/set.toml, line 6: unknown key 'volume' in [routine]; allowed: minutes, mode, pressure, "
        "voice, rate, seed, engine, bitrate, loudness, chime, ambience, captions, cover, name.",
    ),
    case(
        "set-minutes-string",
        "batch {tmp}/set.toml",
        files=set_file('[[routine]]\nminutes = "ten"\n'),
        message="{tmp}/set.toml, line 2: routine 1: minutes must be a number, not 'ten'; use e.g. --minutes 10.",
    ),
    case(
        "set-seed-float",
        "batch {tmp}/set.toml",
        files=set_file("[[routine]]\nseed = 1.5\n"),
        message="{tmp}/set.toml, line 2: routine 1: seed must be a whole number, not 1.5; use e.g. --seed 3.",
    ),
    case(
        "set-rate-float-in-matrix",
        "batch {tmp}/set.toml",
        files=set_file("[matrix]\nrate = [140.5]\n"),
        message="{tmp}/set.toml, line 2: routine 1: rate must be a whole number of words per minute, not 140.5.",
    ),
    case(
        "set-bitrate-in-defaults",
        "batch {tmp}/set.toml",
        files=set_file("[matrix]\nminutes = [5]\n[defaults]\nbitrate = 100\n"),
        message=f"{{tmp}}/set.toml, line 4: routine 1: a bit rate of 100 kbps is not an MP3 rate; {MP3_RATES}",
    ),
    case(
        "set-captions-string-line",
        "batch {tmp}/set.toml",
        files=set_file('[defaults]\ncaptions = "yes"\n' + MATRIX),
        message="{tmp}/set.toml, line 2: routine 1: captions must be true or false, not 'yes'.",
    ),
    case(
        "set-routine-mode-line",
        "batch {tmp}/set.toml",
        files=set_file('[[routine]]\nminutes = 5\nmode = "trio"\n'),
        message="{tmp}/set.toml, line 3: routine 1: unknown mode 'trio'; use --mode solo or partner.",
    ),
    case(
        "set-defaults-not-table",
        "batch {tmp}/set.toml",
        files=set_file("defaults = 3\n" + MATRIX),
        message="{tmp}/set.toml, line 1: 'defaults' must be a table ([defaults]).",
    ),
    case(
        "set-routine-not-list",
        "batch {tmp}/set.toml",
        files=set_file("routine = 3\n"),
        message="{tmp}/set.toml, line 1: 'routine' must be a list of tables ([[routine]]).",
    ),
    case(
        "set-name-empty",
        "batch {tmp}/set.toml",
        files=set_file('name = ""\n' + MATRIX),
        message="{tmp}/set.toml, line 1: 'name' must be a non-empty string.",
    ),
    case(
        "set-routine-name-number",
        "batch {tmp}/set.toml",
        files=set_file("[[routine]]\nname = 5\n"),
        message="{tmp}/set.toml, line 2: routine 1: 'name' must be a non-empty string.",
    ),
    case(
        "set-output-number",
        "batch {tmp}/set.toml",
        files=set_file("output = 5\n" + MATRIX),
        message="{tmp}/set.toml, line 1: 'output' must be a folder path in quotes.",
    ),
    case(
        "set-empty-matrix",
        "batch {tmp}/set.toml",
        files=set_file("[matrix]\nminutes = []\n"),
        message="{tmp}/set.toml, line 2: matrix 'minutes' is empty; give at least one value.",
    ),
    case(
        "set-duplicate-file-names",
        "batch {tmp}/set.toml",
        files=set_file("[matrix]\nminutes = [5, 5.0]\n"),
        message="{tmp}/set.toml, line 2: routines 1 and 2 would both be named solo-light-5min.mp3; "
        "give one of them another setting or a 'name'.",
    ),
    case(
        "set-duplicate-routine-names",
        "batch {tmp}/set.toml",
        files=set_file('[[routine]]\nname = "a"\n\n[[routine]]\nname = "A!"\n'),
        message="{tmp}/set.toml, line 5: routines 1 and 2 would both be named a.mp3; "
        "give one of them another setting or a 'name'.",
    ),
    case(
        "set-no-routines",
        "batch {tmp}/set.toml",
        files=set_file('name = "Nothing"\n'),
        message="{tmp}/set.toml: the set has no routines; add a [matrix] table or [[routine]] entries.",
    ),
    case(
        "set-cover-missing",
        "batch {tmp}/set.toml",
        files=set_file('[defaults]\ncover = "nope.jpg"\n' + MATRIX),
        message="{tmp}/set.toml, line 2: routine 1: cannot read the cover image {tmp}/nope.jpg "
        "(No such file or directory); check 'cover'.",
    ),
    case(
        "set-templates-missing",
        "batch {tmp}/set.toml",
        files=set_file('templates = "nope"\n' + MATRIX),
        message="{tmp}/set.toml, line 1: templates folder '{tmp}/nope' does not exist; check 'templates'.",
    ),
    case(
        "set-bitrate-quoted",
        "batch {tmp}/set.toml",
        files=set_file('[[routine]]\nbitrate = "128"\n'),
        message="{tmp}/set.toml, line 2: routine 1: bitrate must be a whole number, not '128'; use e.g. --bitrate 128.",
    ),
    case(
        "set-loudness-quoted",
        "batch {tmp}/set.toml",
        files=set_file('[[routine]]\nloudness = "-16"\n'),
        message="{tmp}/set.toml, line 2: routine 1: loudness must be a number, not '-16'; use e.g. --loudness -16.",
    ),
    case(
        "set-bitrate-with-line-break",
        "batch {tmp}/set.toml",
        files=set_file('[[routine]]\nbitrate = "128\\nkbps"\n'),
        message="{tmp}/set.toml, line 2: routine 1: bitrate must be a whole number, not '128\\nkbps'; "
        "use e.g. --bitrate 128.",
    ),
    case(
        "set-minutes-huge-integer",
        "batch {tmp}/set.toml",
        files=set_file("[[routine]]\nminutes = 1" + "0" * 400 + "\n"),
        message="{tmp}/set.toml, line 2: routine 1: minutes must be a number from 1 to 90; use e.g. --minutes 10.",
    ),
    case(
        "set-voice-number",
        "batch {tmp}/set.toml",
        files=set_file("[[routine]]\nvoice = 5\n"),
        message="{tmp}/set.toml, line 2: routine 1: voice must be a voice id or name in quotes, not 5.",
    ),
    case(
        "set-cover-nul",
        "batch {tmp}/set.toml",
        files=set_file('[[routine]]\ncover = "nope\\u0000.jpg"\n'),
        message="{tmp}/set.toml, line 2: routine 1: cover must be the path of an image, not 'nope\\x00.jpg'.",
    ),
    # --- user templates -----------------------------------------------------------------------------------
    case(
        "templates-folder-missing",
        "render --templates {tmp}/nope",
        message="templates folder '{tmp}/nope' does not exist; check --templates.",
    ),
    case(
        "templates-folder-is-file",
        "script --templates {tmp}/notes.txt",
        files={"notes.txt": "x"},
        message="templates folder '{tmp}/notes.txt' is a file, not a folder; check --templates.",
    ),
    case(
        "template-syntax-error",
        "script --templates {tmp}/tpl",
        files=routine("<s>{% if %}</s>"),
        message=f"template syntax error in {TPL_FILE}, line 2: Expected an expression, got 'end of statement block'.",
    ),
    case(
        "template-undefined",
        "script --templates {tmp}/tpl",
        files=routine("<s>{{ say(minuets) }}</s>"),
        message=f"{TPL_FILE}, line 2: 'minuets' is undefined; check the variable name.",
    ),
    case(
        "template-sandbox-escape",
        "script --templates {tmp}/tpl",
        files=routine("<s>{{ settings.__class__ }}</s>"),
        message=f"{TPL_FILE}, line 2: the template sandbox refused: "
        "access to attribute '__class__' of 'Settings' object is unsafe.",
    ),
    case(
        "template-include-missing",
        "script --templates {tmp}/tpl",
        files=routine('<s>Hi.</s>{% include "nowhere.ssml.j2" %}'),
        message="template 'nowhere.ssml.j2' was not found; check --templates and its includes.",
    ),
    case(
        "template-endless-loop",
        "script --templates {tmp}/tpl",
        files=routine("{% for a in range(99999) %}{% for b in range(99999) %}{% endfor %}{% endfor %}"),
        setup="fast_time_limit",
        message=f"{TPL_FILE}, line 2: the template did not finish within 0.5 s (an endless loop?); fix the template.",
    ),
    case(
        "template-endless-recursion",
        "script --templates {tmp}/tpl",
        files=routine("{% macro again() %}{{ again() }}{% endmacro %}<s>{{ again() }}</s>"),
        message=f"{TPL_FILE}, line 2: the template calls itself without end; fix the template.",
    ),
    case(
        "template-root-not-speak",
        "script --templates {tmp}/tpl",
        files={"tpl/routine.ssml.j2": "<root><s>Hi.</s></root>\n"},
        message=f'{OUTPUT} must have <speak xmlns="http://www.w3.org/2001/10/synthesis"> as its root element.',
    ),
    case(
        "template-not-xml",
        "script --templates {tmp}/tpl",
        files=routine("<s>Hi.</p>"),
        message=f"{OUTPUT} is not well-formed SSML (line 2): mismatched tag: line 2, column 8.",
    ),
    case(
        "template-no-sentences",
        "script --templates {tmp}/tpl",
        files=routine("<break time='1s'/>"),
        message=f"{OUTPUT} contains no sentences; a routine needs narration.",
    ),
    case(
        "template-unsupported-element",
        "script --templates {tmp}/tpl",
        files=routine("<s>Hi.</s><emphasis>Now.</emphasis>"),
        message="SSML element <emphasis> is not supported by footaudio; "
        "use speak, p, s, sub, break, mark, audio, prosody or fa:hold.",
    ),
    case(
        "template-foreign-namespace",
        "script --templates {tmp}/tpl",
        files=routine('<x:foo xmlns:x="urn:y"/><s>Hi.</s>'),
        message="element <foo> in namespace urn:y is not supported; "
        "use speak, p, s, sub, break, mark, audio, prosody or fa:hold.",
    ),
    case(
        "template-markup-in-sentence",
        "script --templates {tmp}/tpl",
        files=routine("<s>Hi <break/> there.</s>"),
        message="<s> must hold plain text and <sub> only, not other markup: 'Hi there.'.",
    ),
    case(
        "template-hold-max-below-min",
        "script --templates {tmp}/tpl",
        files=routine('<s>Hi.</s><fa:hold weight="1" min="10s" max="5s"/>'),
        message="hold max '5s' is shorter than its min '10s'.",
    ),
    case(
        "template-hold-line-break",
        "script --templates {tmp}/tpl",
        files=routine('<s>Hi.</s><fa:hold weight="1" min="10s" max="5s&#10;"/>'),
        message="hold max '5s\\n' is shorter than its min '10s'.",
    ),
    case(
        "template-extends-number",
        "script --templates {tmp}/tpl",
        files={"tpl/routine.ssml.j2": "{% extends 0 %}"},
        message="{tmp}/tpl/routine.ssml.j2, line 1: template failed: 'int' object has no attribute 'split'.",
    ),
    case(
        "template-hold-weight",
        "script --templates {tmp}/tpl",
        files=routine('<s>Hi.</s><fa:hold weight="-1"/>'),
        message="hold weight '-1' must be a positive number.",
    ),
    case(
        "template-break-time",
        "script --templates {tmp}/tpl",
        files=routine('<s>Hi.</s><break time="soon"/>'),
        message="break time 'soon' is not a time; write e.g. '500ms', '2s' or '3m'.",
    ),
    case(
        "template-audio-src",
        "script --templates {tmp}/tpl",
        files=routine('<s>Hi.</s><audio src="gong.wav"/>'),
        message="audio src 'gong.wav' is not a built-in sound; use one of check-in, chime.",
    ),
    case(
        "template-mark-twice",
        "script --templates {tmp}/tpl",
        files=routine('<mark name="a"/><s>Hi.</s><mark name="a"/><s>Bye.</s>'),
        message="mark name 'a' is used twice; step names must be unique.",
    ),
    case(
        "template-prosody-rate",
        "script --templates {tmp}/tpl",
        files=routine('<prosody rate="warp"><s>Hi.</s></prosody>'),
        message="prosody rate 'warp' is not supported; use x-slow, slow, medium, fast, x-fast "
        "or a percentage from 30% to 300%.",
    ),
    case(
        "template-say-empty-list",
        "script --templates {tmp}/tpl",
        files=routine("<s>{{ say([]) }}</s>"),
        message="{tmp}/tpl/routine.ssml.j2, line 2: say() was given an empty list of alternatives.",
    ),
    case(
        "template-cannot-fill",
        "script -m 3 --templates {tmp}/tpl",
        files=routine('<s>Hi.</s><fa:hold weight="1" max="5s"/>'),
        message="3 minutes is longer than the templates can fill for a solo light routine "
        "(at most 5.8 seconds); add steps or holds without a max to the templates.",
    ),
    case(
        "template-render",
        "render --templates {tmp}/tpl -o {tmp}/x.mp3",
        files=routine("<s>{{ nothing }}</s>"),
        message=f"{TPL_FILE}, line 2: 'nothing' is undefined; check the variable name.",
    ),
    case(
        "template-batch",
        "batch -m 5 --templates {tmp}/tpl -o {tmp}/set",
        files=routine("<s>{{ say(nothing) }}</s>"),
        message=f"{TPL_FILE}, line 2: 'nothing' is undefined; check the variable name.",
    ),
    # --- environment variables ----------------------------------------------------------------------------
    case(
        "env-ffmpeg-missing",
        "render -m 3 -o {tmp}/x.mp3",
        env={"FOOTAUDIO_FFMPEG": "{tmp}/no/ffmpeg"},
        code=1,
        message="FOOTAUDIO_FFMPEG='{tmp}/no/ffmpeg' is not an executable ffmpeg; "
        "fix the path or unset FOOTAUDIO_FFMPEG.",
    ),
    case(
        "env-ffmpeg-not-executable",
        "script -m 3",
        files={"ffmpeg": "not a program\n"},
        env={"FOOTAUDIO_FFMPEG": "{tmp}/ffmpeg"},
        code=1,
        message="FOOTAUDIO_FFMPEG='{tmp}/ffmpeg' is not an executable ffmpeg; fix the path or unset FOOTAUDIO_FFMPEG.",
    ),
    case(
        "env-cache-is-file",
        "script -m 3",
        files={"cache-file": "x"},
        env={"FOOTAUDIO_CACHE": "{tmp}/cache-file"},
        code=1,
        message="the clip cache {tmp}/cache-file is a file, not a folder; set FOOTAUDIO_CACHE to a writable folder.",
    ),
    case(
        "env-cache-read-only",
        "render -m 3 -o {tmp}/x.mp3",
        setup="read_only_cache",
        env={"FOOTAUDIO_CACHE": "{tmp}/locked"},
        code=1,
        message="cannot write to the clip cache {tmp}/locked; set FOOTAUDIO_CACHE to a writable folder.",
    ),
    case(
        "env-speech-timeout-word",
        "render -m 3 -o {tmp}/x.mp3",
        setup="real_pyttsx3",
        env={"FOOTAUDIO_SPEECH_TIMEOUT": "abc"},
        message="FOOTAUDIO_SPEECH_TIMEOUT='abc' is not a number of seconds; set it to e.g. 30, or unset it.",
    ),
]


def run(capsys, *args):
    with pytest.raises(SystemExit) as caught:
        main(list(args))
    out, err = capsys.readouterr()
    return caught.value.code, out, err


def prepare(case: Case, tmp_path: Path, monkeypatch) -> None:
    """The preparations a few cases need beyond files and folders."""
    if case.setup == "foreign_mp3":  # a real MP3 that footaudio did not write
        song = tmp_path / "song.mp3"
        subprocess.run(
            [find_ffmpeg().path, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "anullsrc=d=1", str(song)],
            check=True,
        )
        if case.tag is not None:
            from mutagen.id3 import ID3, TXXX

            tags = ID3(str(song))
            tags.add(TXXX(encoding=3, desc="footaudio-settings", text=[case.tag]))
            tags.save(str(song), v2_version=3)
    elif case.setup in ("read_only", "read_only_batch", "read_only_cache"):
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        # root writes anywhere: make footaudio's check (os.access) see what a user would
        real_access = os.access

        def access(path, mode, **kwargs):
            return not (str(path) == str(locked) and mode & os.W_OK) and real_access(path, mode, **kwargs)

        monkeypatch.setattr("footaudio.audio.mp3.os.access", access)  # footaudio's modules share the os module
    elif case.setup == "fast_time_limit":
        monkeypatch.setattr("footaudio.script.templating.RENDER_TIME_LIMIT_S", 0.5)
    elif case.setup == "real_pyttsx3":  # the real engine reads FOOTAUDIO_SPEECH_TIMEOUT before it starts anything
        from footaudio.speech.pyttsx3_engine import Pyttsx3Synthesizer

        monkeypatch.setattr("footaudio.pipeline.default_synthesizer", lambda engine="pyttsx3": Pyttsx3Synthesizer())
    else:
        assert case.setup is None, case.setup


def mp3s(tmp_path: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in tmp_path.rglob("*.mp3") if path.is_file()}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_clear_line_and_writes_nothing(case: Case, tmp_path, monkeypatch, capsys):
    fake = FakeSynthesizer()
    monkeypatch.setattr("footaudio.pipeline.default_synthesizer", lambda engine="pyttsx3": fake)
    monkeypatch.setenv("FOOTAUDIO_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    for name, content in case.files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    for name in case.folders:
        (tmp_path / name).mkdir(parents=True)
    prepare(case, tmp_path, monkeypatch)
    for name, value in case.env.items():
        monkeypatch.setenv(name, value.replace("{tmp}", str(tmp_path)))
    inputs = mp3s(tmp_path)

    find_ffmpeg.cache_clear()  # FOOTAUDIO_FFMPEG is read once, on first use
    try:
        code, out, err = run(capsys, *(arg.replace("{tmp}", str(tmp_path)) for arg in case.args))
    finally:
        find_ffmpeg.cache_clear()

    def expand(text: str) -> str:
        return text.replace("{tmp}", str(tmp_path))

    assert (code, out) == (case.code, ""), err
    if case.suffix is None:
        assert err == f"Error: {expand(case.message)}\n"
    else:
        assert err.startswith(f"Error: {expand(case.message)}"), err
        assert err.endswith(f"{expand(case.suffix)}\n") and err.count("\n") == 1, err
        assert expand(case.contains) in err
    assert mp3s(tmp_path) == inputs, "an MP3 was written, or an input MP3 changed"
    assert not list(tmp_path.rglob(".footaudio-*")), "a temporary file was left behind"
    assert not list(tmp_path.rglob(".footaudio.lock")), "a batch lock was left behind"
