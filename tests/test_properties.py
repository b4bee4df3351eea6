"""Property tests: whatever the input, footaudio either works or raises a clean, one-line FootaudioError.

Settings and sound options are built from arbitrary values; user templates get arbitrary sentence
text and arbitrary source. (The timeline's own properties are in test_timeline.py.) Inputs that
once crashed footaudio are pinned as examples at the end, and kept in the strategies
so that the properties guard everything else.
"""

from __future__ import annotations

import math
import re
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from footaudio import AudioOptions, FootaudioError, Settings, TemplateError, UsageError, build_script
from footaudio.settings import AMBIENCES, BITRATES, CHIMES, ENGINES, MODES, PRESSURES

SPEAK = '<speak version="1.1" xmlns="http://www.w3.org/2001/10/synthesis" xmlns:fa="urn:footaudio:ssml:1">'

# Whole numbers of any size, including ones too large for a float (they once crashed footaudio).
WHOLE = st.one_of(st.integers(min_value=-(2**1000), max_value=2**1000), st.integers().map(lambda n: n * 10**400))
SOME = (st.none(), st.booleans(), WHOLE, st.floats(), st.lists(st.integers(), max_size=2))
ANYTHING = st.one_of(*SOME, st.text())
# Any text, line breaks included: messages quote values with repr(), so they stay on one line.
ONE_LINE = st.text()
ANYTHING_ONE_LINE = st.one_of(*SOME, ONE_LINE)


def assert_clean(exc: FootaudioError) -> None:
    """A message fit for the CLI's single ``Error: ...`` line."""
    assert isinstance(exc.message, str) and exc.message.strip(), repr(exc.message)
    assert len(exc.message.splitlines()) == 1, repr(exc.message)
    assert str(exc) == exc.message


def around(low: float, high: float) -> st.SearchStrategy:
    """Numbers near the edges of a valid range, inside and out."""
    return st.one_of(
        st.floats(min_value=low - 1, max_value=low + 1),
        st.floats(min_value=high - 1, max_value=high + 1),
        st.integers(min_value=math.floor(low) - 2, max_value=math.ceil(high) + 2),
    )


@st.composite
def some_wild(draw, valid: dict[str, st.SearchStrategy], wild: dict[str, st.SearchStrategy]) -> dict:
    """Keyword arguments: a random subset of them (none to all) wild, the rest valid.

    Drawing every argument wild at once would mostly test the first check; this reaches each
    check on its own, and the success path too.
    """
    chosen = draw(st.sets(st.sampled_from(sorted(valid))))
    return {name: draw(wild[name] if name in chosen else valid[name]) for name in valid}


def choice(options: tuple) -> st.SearchStrategy:
    return st.one_of(st.sampled_from(options), st.sampled_from(options).map(str.upper))


SETTINGS_VALID = {
    "minutes": st.one_of(st.floats(min_value=1, max_value=90), st.integers(min_value=1, max_value=90)),
    "mode": choice(MODES),
    "pressure": choice(PRESSURES),
    "voice": st.one_of(st.none(), st.text().filter(str.strip)),
    "rate": st.integers(min_value=80, max_value=260),
    "seed": st.integers(),
    "engine": st.sampled_from(ENGINES),
}
SETTINGS_WILD = {
    "minutes": st.one_of(around(1, 90), ANYTHING),
    "mode": ANYTHING,
    "pressure": ANYTHING,
    "voice": st.one_of(st.text(), st.just(" \t")),
    "rate": st.one_of(around(80, 260), ANYTHING),
    "seed": ANYTHING,
    "engine": ANYTHING,
}


@hyp_settings(max_examples=500)
@given(arguments=some_wild(SETTINGS_VALID, SETTINGS_WILD))
def test_settings_are_valid_or_refused_in_one_line(arguments):
    try:
        settings = Settings(**arguments)
    except UsageError as exc:
        assert_clean(exc)
        return
    assert type(settings.minutes) is float and 1 <= settings.minutes <= 90
    assert settings.total_ms == round(settings.minutes * 6000) * 10
    assert settings.mode in MODES and settings.pressure in PRESSURES and settings.engine in ENGINES
    assert type(settings.rate) is int and 80 <= settings.rate <= 260
    assert type(settings.seed) is int
    assert settings.voice is None or settings.voice.strip()
    assert settings.name and "/" not in settings.name and settings.title


OPTIONS_VALID = {
    "bitrate": st.sampled_from(BITRATES),
    "loudness": st.one_of(st.floats(min_value=-30, max_value=-15), st.integers(min_value=-30, max_value=-15)),
    "chime": st.sampled_from(CHIMES),
    "ambience": st.sampled_from(AMBIENCES),
    "captions": st.booleans(),
    "cover": st.one_of(st.none(), st.text(min_size=1)),
}
OPTIONS_WILD = {
    "bitrate": st.one_of(around(64, 320), ANYTHING_ONE_LINE),
    "loudness": st.one_of(around(-30, -15), ANYTHING_ONE_LINE),
    "chime": st.one_of(choice(CHIMES), ANYTHING),
    "ambience": st.one_of(choice(AMBIENCES), ANYTHING),
    "captions": ANYTHING,
    "cover": ANYTHING,
}


@hyp_settings(max_examples=500)
@given(arguments=some_wild(OPTIONS_VALID, OPTIONS_WILD))
def test_audio_options_are_valid_or_refused_in_one_line(arguments):
    try:
        options = AudioOptions(**arguments)
    except UsageError as exc:
        assert_clean(exc)
        return
    assert options.bitrate in BITRATES
    assert type(options.loudness) is float and -30 <= options.loudness <= -15
    assert options.chime in CHIMES and options.ambience in AMBIENCES
    assert type(options.captions) is bool
    assert options.cover is None or (isinstance(options.cover, str) and options.cover)


def jinja_literal(text: str) -> str:
    """``text`` as a Jinja string literal that carries every character exactly.

    Jinja decodes literals with Python's unicode-escape codec, so escaping every character as
    ``\\UXXXXXXXX`` keeps the template source plain ASCII and needs no quoting rules. (json.dumps
    would write an emoji as a surrogate pair, which that codec turns into two lone surrogates.)
    """
    return "'" + "".join(f"\\U{ord(char):08x}" for char in text) + "'"


def xml_can_carry(text: str) -> bool:
    """Whether XML 1.0 allows every character of ``text`` (st.text() never makes surrogates)."""
    return not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", text)


def build_with_routine(source: str):
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "routine.ssml.j2").write_text(source, encoding="utf-8")
        return build_script(Settings(minutes=3), Path(folder))


@hyp_settings(max_examples=300, deadline=None)
@given(text=st.text())
def test_any_sentence_text_comes_back_exactly_or_is_refused_cleanly(text):
    spoken = " ".join(text.split())  # say() and the SSML reader both normalize whitespace
    try:
        _, script = build_with_routine(f"{SPEAK}<s>{{{{ say({jinja_literal(text)}) }}}}</s></speak>\n")
    except FootaudioError as exc:
        assert_clean(exc)
        assert isinstance(exc, TemplateError)
        # Only two reasons are good ones: nothing to say, or characters XML cannot carry.
        assert not spoken or not xml_can_carry(spoken), exc.message
        return
    assert [sentence.text for sentence in script.sentences] == [spoken]


# Pieces of Jinja and SSML, right and wrong, for sources that get past the first syntax check. Constructs
# that once crashed footaudio (hold(1), {% extends 0 %}, xmlattr on text) are pinned as examples below.
FRAGMENTS = [
    SPEAK,
    "</speak>",
    "<p>",
    "</p>",
    "<s>",
    "</s>",
    "Rest now.",
    " ",
    "\n",
    "&",
    "&amp;",
    "<",
    ">",
    '"',
    "'",
    "{{",
    "}}",
    "{%",
    "%}",
    "{#",
    "#}",
    "{{ length }}",
    "{{ minutes }}",
    "{{ settings.title }}",
    "{{ say('Breathe in.', ['Slowly.', 'Gently.']) }}",
    "{{ pick(['one', 'two']) }}",
    "{{ shuffle([1, 2, 3]) }}",
    "{{ hold(plan.prep_hold) }}",
    "{{ hold(plan.round_hold, 2) }}",
    "{{ hold(1) }}",
    "{% extends 0 %}",
    "{{ 'a'|xmlattr }}",
    "{% if solo %}",
    "{% else %}",
    "{% endif %}",
    "{% for i in range(3) %}",
    "{% endfor %}",
    "{% set x = 1 %}",
    "{{ x }}",
    "{% macro m() %}",
    "{% endmacro %}",
    "{{ m() }}",
    '{% extends "builtin/routine.ssml.j2" %}',
    "{% block closing %}",
    "{% endblock %}",
    '{% include "builtin/_macros.ssml.j2" %}',
    '{% include "routine.ssml.j2" %}',
    '{% import "builtin/_macros.ssml.j2" as macros %}',
    "{{ macros.pause(500) }}",
    '<break time="1s"/>',
    '<break strength="weak"/>',
    '<mark name="a" fa:title="A"/>',
    '<audio src="chime"/>',
    '<prosody rate="slow">',
    "</prosody>",
    '<fa:hold weight="1" min="1s" max="5s"/>',
    '<fa:hold weight="0"/>',
    "<emphasis>",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    '<?xml version="1.0"?>',
    "&#10;",
    "&#0;",
    "&#x1F600;",
    "&bogus;",
    '<!DOCTYPE speak [<!ENTITY e "Hello.">]>',
    "&e;",
    '<prosody rate="nan%">',
    '<prosody rate="150%">',
    '<break time="99999999999999999999999m"/>',
    "<break/>",
    '<mark name=""/>',
    '<audio src="">',
    "</audio>",
    '<fa:hold weight="nan"/>',
    '<fa:hold max="1s"/>',
    "<fa:other/>",
    '<x:y xmlns:x="urn:x">',
    "{{ '\\x00' }}",
    "{{ '\\u2028' }}",
    "{{ say('') }}",
    "{{ say(['a', 'a']) }}",
    "{{ pick([]) }}",
    "{{ shuffle('abc') }}",
    "{{ plan.steps([]) }}",
    "{{ 10 ** 20 }}",
    "{{ 1 / 0 }}",
    "{{ [][0] }}",
    "{{ none.x }}",
    "{{ range(200000) }}",
    "{{ lipsum(1) }}",
    "{{ 'x'|int }}",
    "{{ [1, 'a']|sum }}",
    "{{ '%s %s'|format(1) }}",
    "{{ []|random }}",
    "{{ 'a'|map('nofilter')|list }}",
    "{{ 'a' is nosuchtest }}",
    "{% filter nosuchfilter %}",
    "{% endfilter %}",
    "{% from 'builtin/_macros.ssml.j2' import nothing %}",
    "{% raw %}",
    "{% endraw %}",
    "{% break %}",
    "{{ super() }}",
    "{{ caller() }}",
]

TEMPLATE_SOURCE = st.one_of(
    st.text(),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=3)), max_size=25).map("".join),
)


@hyp_settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=TEMPLATE_SOURCE)
def test_any_template_source_builds_or_is_refused_cleanly(source):
    # Nested loops can make a template slow; the time limit (a clean TemplateError) keeps examples short.
    try:
        with mock.patch("footaudio.script.templating.RENDER_TIME_LIMIT_S", 1.0):
            _, script = build_with_routine(source)
    except FootaudioError as exc:
        assert_clean(exc)
        assert isinstance(exc, TemplateError)
        return
    assert script.sentences


# --- Inputs that once crashed footaudio: each must be a clean, one-line FootaudioError. ------------------


def test_huge_whole_minutes_are_refused_cleanly():
    with pytest.raises(UsageError) as caught:
        Settings(minutes=10**400)
    assert_clean(caught.value)


def test_huge_whole_loudness_is_refused_cleanly():
    with pytest.raises(UsageError) as caught:
        AudioOptions(loudness=10**400)
    assert_clean(caught.value)


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"bitrate": "128\nkbps"}, id="bitrate"),
        pytest.param({"loudness": "-16\nLUFS"}, id="loudness"),
    ],
)
def test_a_bit_rate_or_loudness_given_as_text_is_refused_in_one_line(options):
    with pytest.raises(UsageError) as caught:
        AudioOptions(**options)
    assert_clean(caught.value)


def test_a_voice_that_is_not_text_is_refused():
    with pytest.raises(UsageError) as caught:
        Settings(voice=5)
    assert_clean(caught.value)


def test_a_cover_path_with_a_nul_byte_is_refused_cleanly():
    with pytest.raises(UsageError) as caught:
        AudioOptions(cover="cover\x00.jpg").cover_image()
    assert_clean(caught.value)


def crashes(body: str, name: str, reason: str):
    """A template that once crashed footaudio (``reason``); it must now be a clean TemplateError."""
    return pytest.param(body, id=name)


@pytest.mark.parametrize(
    "body",
    [
        crashes("<s>{{ hold(1) }}</s>", "hold-of-a-number", "AttributeError escapes render_ssml as a traceback"),
        crashes("<s>{{ 'abc'|truncate(-1) }}</s>", "truncate-negative", "Jinja's AssertionError escapes render_ssml"),
        crashes("<s>{{ '\\ud800' }}</s>", "lone-surrogate", "UnicodeEncodeError escapes parse_ssml as a traceback"),
    ],
)
def test_template_errors_outside_the_caught_list_are_refused_cleanly(body):
    with pytest.raises(TemplateError) as caught:
        build_with_routine(f"{SPEAK}{body}</speak>")
    assert_clean(caught.value)
