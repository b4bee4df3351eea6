"""The pronunciation lexicon: whole-word respellings per engine and voice."""

import pytest

from footaudio.script import lexicon
from footaudio.script.lexicon import lexicon_for, respell, substitute


def test_substitute_cuts_text_into_written_pieces_and_aliases():
    assert substitute("Giver, rest the giver's sole.", {"giver": "givver", "sole": "soal"}) == [
        ("Giver", "Givver"),
        (", rest the ", None),
        ("giver", "givver"),
        ("'s ", None),
        ("sole", "soal"),
        (".", None),
    ]
    assert substitute("nothing here", {"giver": "givver"}) == [("nothing here", None)]
    assert substitute("rest", {}) == [("rest", None)]


def test_respell_matches_whole_words_only():
    entries = {"giver": "givver", "Uncross": "un-cross"}
    assert respell("givers, forgiver, self-giver, giver-led, GIVER; uncross", entries) == (
        "givers, forgiver, self-giver, giver-led, Givver; un-cross"
    )


def test_a_voice_adds_to_and_overrides_its_engine(monkeypatch):
    monkeypatch.setitem(lexicon.LEXICON, "eng", {"giver": "givver", "sole": "soal"})
    monkeypatch.setitem(lexicon.LEXICON, "eng v/1", {"giver": "guiver", "inch": "insh"})
    assert lexicon_for("eng", None) == {"giver": "givver", "sole": "soal"}
    assert lexicon_for("eng", "v/2") == {"giver": "givver", "sole": "soal"}
    assert lexicon_for("eng", "v/1") == {"giver": "guiver", "sole": "soal", "inch": "insh"}
    assert lexicon_for("other", "v/1") == {}


@pytest.mark.parametrize("key", sorted(lexicon.LEXICON))
def test_shipped_entries_are_lower_case_words_with_plain_aliases(key):
    for word, alias in lexicon.LEXICON[key].items():
        assert word == word.lower() and word.isalpha(), word
        assert alias and "<" not in alias and "&" not in alias and alias.strip() == alias, alias
