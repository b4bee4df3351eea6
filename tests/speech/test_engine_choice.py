"""Which engine and voice a routine uses: ``auto``, explicit engines, and English voices only."""

from __future__ import annotations

import sys

import pytest

from footaudio.errors import UsageError
from footaudio.speech import engine
from footaudio.speech.engine import Voice, engine_choice, resolve_voice

VOICES = [
    Voice("gmw/en", "English (Great Britain)", ("en-gb",)),
    Voice("gmw/en-us", "English (America)", ("en-us",)),
    Voice("gmw/de", "German", ("de",)),
    Voice("art/piqd", "Klingon", ("piqd",)),
    Voice("custom", "No language given"),
]


def test_auto_is_the_natural_voice_when_it_is_installed():
    pytest.importorskip("piper")
    assert engine_choice("auto") == ("piper", "auto picks the natural voice, which is installed")


def test_auto_falls_back_to_pyttsx3_without_the_natural_voice(monkeypatch):
    monkeypatch.setitem(sys.modules, "piper", None)
    chosen, why = engine_choice("auto")
    assert chosen == "pyttsx3"
    assert why == "auto picks pyttsx3: the natural voice is not installed (pip install 'footaudio[neural]')"


def test_auto_with_no_engine_at_all_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "piper", None)
    monkeypatch.setattr(engine, "_pyttsx3_usable", lambda: False)
    with pytest.raises(UsageError) as caught:
        engine_choice("auto")
    assert str(caught.value) == (
        "no speech engine is installed (neither the natural voice nor pyttsx3 with eSpeak NG); "
        "run: pip install 'footaudio[neural]'"
    )


@pytest.mark.parametrize("name", ["pyttsx3", "piper"])
def test_an_explicit_engine_is_kept(name):
    assert engine_choice(name) == (name, f"chosen with --engine {name}")


@pytest.mark.parametrize(("wanted", "found"), [("gmw/en-us", "gmw/en-us"), ("english (great britain)", "gmw/en")])
def test_english_voices_by_id_or_name(wanted, found):
    assert resolve_voice(VOICES, wanted) == found


def test_a_voice_without_a_language_is_allowed():
    assert resolve_voice(VOICES, "custom") == "custom"


@pytest.mark.parametrize(("wanted", "language"), [("German", "de"), ("art/piqd", "piqd")])
def test_voices_of_other_languages_are_refused_with_english_ones_named(wanted, language):
    with pytest.raises(UsageError) as caught:
        resolve_voice(VOICES, wanted)
    assert str(caught.value) == (
        f"voice {wanted!r} speaks {language}, but the narration is English; "
        "choose an English voice such as gmw/en, gmw/en-us (see 'footaudio voices')."
    )


@pytest.mark.usefixtures("real_engines")
def test_without_the_natural_voice_a_render_speaks_with_pyttsx3(monkeypatch, tmp_path):
    from footaudio import Settings, info, render

    monkeypatch.setitem(sys.modules, "piper", None)
    monkeypatch.setattr(engine, "_synthesizers", {})
    result = render(Settings(minutes=1.5), tmp_path / "plain.mp3")
    assert result.routine.engine_id == "pyttsx3-espeak"
    found = info(result.path)
    assert (found.settings.engine, found.engine_id, found.length_ms) == ("auto", "pyttsx3-espeak", 90_000)


@pytest.mark.usefixtures("real_engines")
def test_the_cli_refuses_a_german_voice_and_writes_nothing(tmp_path, monkeypatch, capsys):
    from footaudio.cli import main

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as caught:
        main(["render", "--engine", "pyttsx3", "--voice", "german", "-m", "3"])
    assert caught.value.code == 2
    assert capsys.readouterr().err == (
        "Error: voice 'german' speaks de, but the narration is English; choose an English voice such as "
        "gmw/en, gmw/en-us, gmw/en-029 (see 'footaudio voices').\n"
    )
    assert list(tmp_path.iterdir()) == []
