import itertools
import re
from pathlib import Path

import pytest

from footaudio import Settings, TemplateError, build_script
from footaudio.script.ssml import Hold, Sound
from footaudio.script.templating import NOW_SPACING, Wording, render_ssml, spoken_length


def test_same_settings_and_seed_give_the_identical_script():
    settings = Settings(minutes=20, mode="partner", pressure="medium", seed=5)
    assert render_ssml(settings) == render_ssml(settings)


def test_different_seeds_give_different_wording():
    first = build_script(Settings(minutes=20, seed=1))[1].sentences
    second = build_script(Settings(minutes=20, seed=2))[1].sentences
    assert first != second
    assert len(first) == len(second)  # the same structure, other words


@pytest.mark.parametrize("mode", ["solo", "partner"])
@pytest.mark.parametrize("pressure", ["light", "medium", "firm"])
def test_every_cell_is_a_complete_session(mode, pressure):
    _, script = build_script(Settings(minutes=10, mode=mode, pressure=pressure))
    names = [mark.name for mark in script.steps]
    assert names[:3] == ["welcome", "safety", "preparation"]
    assert names[-1] == "closing"
    right = [n for n in names if n.startswith("right-")]
    left = [n for n in names if n.startswith("left-")]
    assert right and [n.replace("right-", "") for n in right] == [n.replace("left-", "") for n in left]
    assert any(isinstance(item, Hold) for item in script.items)
    assert any(isinstance(item, Sound) and item.name == "check-in" for item in script.items)
    text = " ".join(s.text for s in script.sentences)
    assert "not medical treatment" in text
    assert "diabetes, neuropathy" in text
    if mode == "partner":
        assert "stop means stop" in text
        assert "Giver" in text
    else:
        assert "Giver" not in text


def test_spoken_length():
    assert [spoken_length(m) for m in (1, 10, 7.5, 0.5, 12.2)] == [
        "1 minute",
        "10 minutes",
        "7 and a half minutes",
        "half a minute",
        "about 12 minutes",
    ]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return folder


def test_user_template_overrides_the_shipped_one_by_name(tmp_path):
    write(tmp_path, "routine.ssml.j2", (
        '<speak version="1.1" xmlns="http://www.w3.org/2001/10/synthesis">'
        "<s>{{ say('Only this & that, for ' ~ length ~ '.') }}</s></speak>"
    ))  # fmt: skip
    _, script = build_script(Settings(minutes=3), tmp_path)
    assert [s.text for s in script.sentences] == ["Only this & that, for 3 minutes."]


def test_user_template_can_extend_the_shipped_one(tmp_path):
    write(tmp_path, "routine.ssml.j2", (
        '{% extends "builtin/routine.ssml.j2" %}'
        '{% block closing %}<mark name="closing" fa:title="Bye"/><s>A "custom" goodbye &lt;3.</s>{% endblock %}'
    ))  # fmt: skip
    _, script = build_script(Settings(minutes=5), tmp_path)
    assert script.sentences[-1].text == 'A "custom" goodbye <3.'
    assert script.steps[0].name == "welcome"


STOP_RULE = r"says stop\b.*\bpauses? the audio"


@pytest.mark.parametrize(
    ("ask", "expected"),
    [
        # The giver asks: the receiver first hears how to answer, then what stop means, then the question.
        ("giver", [r"^Receiver, .*(a word or a hum|just hum)", STOP_RULE, r"^Giver, ask: is this okay\?$"]),
        # The question goes to the receiver: what stop means, then the question with how to answer.
        ("receiver", [STOP_RULE, r"^Receiver, is this okay\? .*(any time)\.$"]),
    ],
)
def test_the_first_check_in_of_a_user_template_says_what_stop_means_before_its_question(tmp_path, ask, expected):
    question = "Ask: is this okay?" if ask == "giver" else "is this okay?"
    write(tmp_path, "routine.ssml.j2", (
        '<speak version="1.1" xmlns="http://www.w3.org/2001/10/synthesis">'
        '{% import "builtin/_macros.ssml.j2" as m with context %}'
        "<p>{{ m.giver(['Hold the foot.']) }}"
        f"{{{{ m.check_in(remind=true, question=[['{question}']], ask='{ask}') }}}}</p></speak>"
    ))  # fmt: skip
    _, script = build_script(Settings(minutes=30, mode="partner"), tmp_path)
    said = [s.text for s in script.sentences][1:]
    assert len(said) == len(expected), said
    for text, pattern in zip(said, expected, strict=True):
        assert re.search(pattern, text), (text, pattern)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("<speak>{% if %}</speak>", r"template syntax error in .*routine\.ssml\.j2, line 1: Expected an expression"),
        (
            "<speak>\n\n{{ minuets }}</speak>",
            r"routine\.ssml\.j2, line 3: 'minuets' is undefined; check the variable name\.",
        ),
        (
            "<speak>{{ settings.__class__.__mro__ }}</speak>",
            r"routine\.ssml\.j2, line 1: .*unsafe|routine\.ssml\.j2, line 1: .*sandbox",
        ),
        ('<speak>{% include "nowhere.j2" %}</speak>', r"template 'nowhere\.j2' was not found"),
    ],
)
def test_template_errors_name_the_file_and_line(tmp_path, template, message):
    write(tmp_path, "routine.ssml.j2", template)
    with pytest.raises(TemplateError, match=message):
        build_script(Settings(minutes=3), tmp_path)


def test_missing_templates_folder(tmp_path):
    with pytest.raises(TemplateError, match=r"templates folder '.*nope' does not exist; check --templates\."):
        build_script(Settings(), tmp_path / "nope")


def test_the_example_templates_in_scripts_work():
    folder = Path(__file__).parents[2] / "scripts" / "example-templates"
    _, script = build_script(Settings(minutes=10, mode="partner"), folder)
    assert script.sentences[-1].text == "Thank you for taking this time together."
    assert script.steps[-1].name == "closing"


def test_partner_lines_name_the_listener_only_when_it_changes():
    wording = Wording(Settings(mode="partner"))
    said = [
        wording.address("giver", "Walk your thumbs up the arch."),
        wording.address("giver", "Keep the steps small."),
        wording.address("both", "Breathe out together."),
        wording.address("giver", "Go on a little slower."),
        wording.address("receiver", "Let your foot grow heavy."),
        wording.address("giver", "Ask: is this okay?"),
        wording.address("receiver", "I would like less pressure, you might say."),
        # A question to the receiver after a check-in sound names them even when the last line was theirs.
        wording.address("receiver", "Would you like this slower?", named=True),
    ]
    assert said == [
        "Giver, walk your thumbs up the arch.",
        "Keep the steps small.",
        "Breathe out together.",
        "Go on a little slower.",
        "Receiver, let your foot grow heavy.",
        "Giver, ask: is this okay?",
        "Receiver, I would like less pressure, you might say.",
        "Receiver, would you like this slower?",
    ]


def test_the_receiver_is_turned_to_in_more_than_one_way():
    wording = Wording(Settings(mode="partner"))
    said = []
    for text in ("Notice your jaw.", "Notice your breath.", "Are you warm enough?", "Tell your partner."):
        said.append(wording.address("receiver", text))
        wording.address("giver", f"Keep going {len(said)}.")
    # Sentences that ask the receiver to do something alternate between the two namings; others keep the plain one.
    assert said == [
        "Receiver, notice your jaw.",
        "If you're receiving, notice your breath.",
        "Receiver, are you warm enough?",
        "Receiver, tell your partner.",
    ]


def test_a_leading_now_is_not_heard_again_within_a_few_sentences():
    # Read 112: about 20 sentences an hour opened with "Now". One said within NOW_SPACING sentences of the last
    # drops it; "Now and then", "Now that" and "Now the ..." keep it, and so does a sentence whose shorter form was
    # said already.
    wording = Wording(Settings(mode="solo", minutes=30))
    assert wording.address("self", "Now cross your leg.") == "Now cross your leg."
    assert wording.address("self", "Now cup the heel.") == "Cup the heel."
    assert wording.address("self", "Now and then, glide back.") == "Now and then, glide back."
    # Nor before a noun phrase: "The middle toe: a stroke to the tip." would have no verb (read 113).
    assert (
        wording.address("self", "Now the middle toe: a stroke to the tip.")
        == "Now the middle toe: a stroke to the tip."
    )
    assert wording.address("self", "Now that the foot is warm, go deeper.") == "Now that the foot is warm, go deeper."
    wording.address("self", "Rest.")
    assert wording.address("self", "Now rest.") == "Now rest."
    for number in range(NOW_SPACING - 1):
        wording.address("self", f"Breathe {number}.")
    assert wording.address("self", "Now, slowly, lift it.") == "Slowly, lift it."
    for number in range(NOW_SPACING):
        wording.address("self", f"Glide {number}.")
    assert wording.address("self", "Now lift it.") == "Now lift it."


def test_the_giver_is_turned_back_to_in_more_than_one_way():
    # Read 79: a steady "Receiver, ..." then "Giver, ..." ping-pong. Back from the receiver, every third naming
    # is "Now, giver, ..." from 30 minutes (a leading "Now" is not said twice, nor within NOW_SPACING sentences of the
    # last); a sentence opening with "Then" drops it after the name. Shorter routines name the giver less often, and
    # keep one naming.
    wording = Wording(Settings(mode="partner", minutes=30))
    said = []
    texts = ("Walk the next line.", "Ask: is this okay?", "Now circle the other way.", "Then press once more.", "Rest.")
    for text in (*texts, "Glide back.", "Now rest."):
        if text == "Glide back.":
            for number in range(NOW_SPACING):
                wording.address("both", f"Breathe {number}.")
        wording.address("receiver", "Let your foot grow heavy.")
        said.append(wording.address("giver", text))
    assert said == [
        "Giver, walk the next line.",
        "Giver, ask: is this okay?",
        "Now, giver, circle the other way.",
        "Giver, press once more.",
        "Giver, rest.",
        "Now, giver, glide back.",
        "Giver, now rest.",
    ]
    # A walk-through's "And let go" after a line for the receiver: named without its "And".
    wording.address("receiver", "Let your legs grow heavy.")
    assert wording.address("giver", "And let go, slowly.") == "Giver, let go, slowly."
    # A forced name (the change of feet) stays plain.
    wording.address("receiver", "Rest.")
    assert wording.address("giver", "Set this foot down.", named=True) == "Giver, set this foot down."
    short = Wording(Settings(mode="partner", minutes=20))
    for _ in range(2):
        short.address("receiver", "Let your foot grow heavy.")
        assert short.address("giver", "Walk the next line.").startswith("Giver, ")


def test_a_question_is_not_asked_again_with_another_opener():
    for seed in range(1, 21):
        wording = Wording(Settings(mode="partner", seed=seed))
        assert wording.say(["Ask: do the circles feel easy?"]) == "Ask: do the circles feel easy?"
        # The left foot asks its own question, not the right foot's with "Ask quietly:" in front.
        again = wording.say(["Ask quietly: do the circles feel easy?", "Ask quietly: slower circles?"])
        assert again == "Ask quietly: slower circles?", seed


def test_only_whole_questions_not_in_the_givers_voice_go_to_the_receiver_directly():
    from footaudio.script.templating import _direct_questions

    asked = [
        "Ask: is this deep enough on the heel, or too much?",
        "Ask: should I go slower?",
        "Ask: firmer or lighter circles here?",
        "Ask: does the warmth of my hands feel good?",
        "Ask: how do these strokes feel?",
    ]
    assert _direct_questions(asked) == ["is this deep enough on the heel, or too much?", "how do these strokes feel?"]


@pytest.mark.parametrize("seed", range(1, 21))
def test_turns_go_through_every_option_and_never_say_one_twice_in_a_row(seed):
    wording = Wording(Settings(mode="partner", seed=seed))
    options = ["Ask: ", "Check with your partner: ", "Ask your partner: ", "Ask quietly: "]
    said = [wording.turn("openers", options) for _ in range(len(options) * 6)]
    for start in range(0, len(said), len(options)):
        assert sorted(said[start : start + len(options)]) == sorted(options), said
    assert all(a != b for a, b in itertools.pairwise(said)), said
    assert wording.turn("none", []) == ""


def test_a_walk_through_names_each_place_with_quiet_between_and_is_not_said_twice():
    wording = Wording(Settings(mode="partner", seed=3))
    cue = [
        "Now the second toe. [6s] Then the middle toe. [4.5s] And the little toe.",
        "Move to the second toe. [6s] Now the middle toe. [6s] Last, the little toe.",
    ]
    first = wording.walk(cue)
    assert first == [("Now the second toe.", 6000), ("Then the middle toe.", 4500), ("And the little toe.", 0)]
    for sentence, _ in first:
        wording.say([sentence])
    # The second foot hears the next wording: the first one's sentences were said already.
    second = wording.walk(cue)
    assert second == [("Move to the second toe.", 6000), ("Now the middle toe.", 6000), ("Last, the little toe.", 0)]
    for sentence, _ in second:
        wording.say([sentence])
    with pytest.raises(TemplateError, match="walk-through"):
        wording.walk(cue)
    assert wording.walk(["Change direction now.", "Now circle the other way."]) == []
    assert wording.walk("Change direction now.") == []


def test_a_techniques_own_watch_lines_are_said_before_the_signs_that_fit_any_step(tmp_path):
    # A technique may say what to watch for in its own terms ("Watch the toes while you rub: ..."); each
    # of its lines is said once, and the giver then hears the signs that fit any step.
    own = [
        "Watch the toes while you rub: if they curl, rub more lightly.",
        "If the sole stiffens under the thumbs, slow down.",
    ]
    technique = {
        "id": "rub",
        "title": "Rubbing the sole",
        "phase": "main",
        "place": "on the sole",
        "how": ["Rub the sole with both thumbs."],
        "cues": [
            "Keep rubbing the sole.",
            "Rub toward the heel now.",
            "Rub toward the toes now.",
            "Rub the outer edge.",
        ],
        "ask": ["Ask: is this good on the sole?", "Ask: firmer or lighter on the sole?"],
        "deeper": ["Rub the sole once more, a little deeper."],
        "watch": own,
    }
    write(tmp_path, "techniques/firm.ssml.j2", "{% set techniques = [" + repr(technique) + "] %}")
    _, script = build_script(Settings(minutes=30, mode="partner", pressure="firm"), templates=tmp_path)
    said = [sentence.text for sentence in script.sentences]
    assert [sum(text.endswith(line[1:]) for text in said) for line in own] == [1, 1]
    first_own = min(k for k, text in enumerate(said) if any(text.endswith(line[1:]) for line in own))
    later = [text for text in said[first_own + 1 :] if re.search(r"\b(watch|ease off)\b", text, re.I)]
    assert [text for text in later if not any(text.endswith(line[1:]) for line in own)], said


def test_the_second_foot_says_the_first_foots_pairs_in_their_second_wording():
    # A cue is a sentence or a pair [first foot's wording, second foot's]. The second foot gets the first foot's pairs
    # in their second wording, and, for a sentence it cannot say again, another cue not said yet; all in written order.
    cues = [["A one.", "A two."], "B.", ["C one.", "C two."], ["D one.", "D two."], "E.", ["F one.", "F two."]]
    for seed in range(1, 9):
        wording = Wording(Settings(seed=seed))
        first = wording.mirrored("step", cues, 3, 0)
        assert len(first) == 3 and first == sorted(first, key=lambda cue: "ABCDEF".index(cue[0]))
        for sentence in first:
            wording.say([sentence])
        second = wording.mirrored("step", cues, 3, 1)
        assert len(second) == 3 and second == sorted(second, key=lambda cue: "ABCDEF".index(cue[0]))
        assert not set(first) & set(second)
        for sentence in first:
            if sentence.endswith(" one."):
                assert sentence.replace(" one.", " two.") in second, (first, second)
        # A second foot with fewer cue rounds keeps the first of the mirrored ones.
        fewer = Wording(Settings(seed=seed))
        pairs_first = [cue for cue in fewer.mirrored("step", cues, 4, 0) if cue.endswith(" one.")]
        assert fewer.mirrored("step", cues, 1, 1) == [pairs_first[0].replace(" one.", " two.")]
        # One with more cue rounds gets no cue the first foot did not have (reads 119 and 120: the second heel alone
        # was squeezed): its extra round is a plain one.
        more = Wording(Settings(seed=seed))
        said_first = more.mirrored("step", cues, 2, 0)
        for sentence in said_first:
            more.say([sentence])
        assert len(more.mirrored("step", cues, 4, 1)) == 2


def test_a_question_said_with_more_words_is_not_asked_again_on_its_own():
    """Read 148: the first foot's "do these long strokes feel good?", said with how to answer, came back word for word
    on the second foot; a question said as part of a line counts as said."""
    wording = Wording(Settings(mode="partner", minutes=30))
    questions = ["do these long strokes feel good?", "how do these strokes feel?"]
    first = wording.say([questions[0]], ["You can answer in a word, or just hum, any time."])
    assert first.startswith(questions[0])
    assert wording.unused(questions) == [questions[1]]
    assert wording.unused(["Ask: " + q for q in questions]) == ["Ask: " + questions[1]]
    assert wording.say(["Ask: " + q for q in questions]) == "Ask: " + questions[1]
