import pytest

from footaudio.errors import TemplateError
from footaudio.script.ssml import Break, Hold, Mark, Sound, Speech, Sub, parse_ssml, parse_time_ms

HEAD = '<speak version="1.1" xmlns="http://www.w3.org/2001/10/synthesis" xmlns:fa="urn:footaudio:ssml:1">'


def parse(body: str):
    return parse_ssml(HEAD + body + "</speak>")


def test_every_supported_element_becomes_a_typed_item():
    script = parse(
        '<mark name="welcome" fa:title="Welcome"/>'
        '<p><s>Hello there.</s><break time="1.5s"/>'
        '<prosody rate="slow"><s>Slowly now.</s></prosody></p>'
        '<audio src="chime"/><break strength="weak"/>'
        '<fa:hold weight="2" min="10s" max="1m"/>'
        "<p>Bare text splits. Into sentences!</p>"
    )
    assert script.items == (
        Mark("welcome", "Welcome"),
        Speech("Hello there."),
        Break(1500),
        Speech("Slowly now.", 0.8),
        Sound("chime"),
        Break(300),
        Hold(2.0, 10_000, 60_000),
        Speech("Bare text splits."),
        Speech("Into sentences!"),
    )
    assert script.steps == (Mark("welcome", "Welcome"),)


def test_nested_prosody_multiplies_and_percentages_work():
    script = parse('<prosody rate="50%"><prosody rate="x-fast"><s>Quick.</s></prosody></prosody>')
    assert script.sentences == (Speech("Quick.", 0.7),)


def test_mark_without_title_gets_one_from_its_name():
    assert parse('<mark name="left-kneading"/><s>Go.</s>').steps == (Mark("left-kneading", "Left kneading"),)


def test_escaped_text_comes_back_as_plain_text():
    assert parse("<s>Toes &amp; heel &lt;gently&gt; &quot;now&quot;.</s>").sentences == (
        Speech('Toes & heel <gently> "now".'),
    )


@pytest.mark.parametrize(("value", "ms"), [("500ms", 500), ("2s", 2000), ("1.5s", 1500), ("3m", 180_000)])
def test_times(value, ms):
    assert parse_time_ms(value) == ms


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<s>Unclosed", "is not well-formed SSML (line 1)"),
        (
            "<voice>x</voice>",
            "SSML element <voice> is not supported by footaudio; "
            "use speak, p, s, sub, break, mark, audio, prosody or fa:hold.",
        ),
        ('<mark name="a"/><s>x</s><mark name="a"/>', "mark name 'a' is used twice; step names must be unique."),
        ('<fa:hold weight="0"/><s>x</s>', "hold weight '0' must be a positive number."),
        ('<fa:hold min="9s" max="2s"/><s>x</s>', "hold max '2s' is shorter than its min '9s'."),
        ('<break time="soon"/><s>x</s>', "break time 'soon' is not a time"),
        ('<audio src="gong"/><s>x</s>', "audio src 'gong' is not a built-in sound; use one of check-in, chime."),
        ('<prosody rate="warp"><s>x</s></prosody>', "prosody rate 'warp' is not supported"),
        ("<p></p>", "contains no sentences"),
        ("<s>Rest the <sub>sole</sub>.</s>", 'a <sub> has no alias; write <sub alias="what to say">sole</sub>.'),
        ('<s>Rest the <sub alias="  ">sole</sub>.</s>', "a <sub> has no alias"),
        ('<s>Rest the <sub alias="soul"> </sub>.</s>', "the <sub alias='soul'> holds no text"),
        ('<p>Rest <sub alias="x"><break/>y</sub>.</p>', "<sub> must hold plain text only, not markup: 'y'."),
        ("<s>Rest <break/> now.</s>", "<s> must hold plain text and <sub> only, not other markup: 'Rest now.'."),
        ('<s fa:check="look">Is the face calm?</s>', "fa:check='look' is not supported; write fa:check=\"watch\"."),
    ],
)
def test_bad_ssml_is_a_template_error(body, message):
    with pytest.raises(TemplateError) as caught:
        parse(body)
    assert message in str(caught.value)


def test_a_check_in_answered_by_watching_is_a_marked_sentence():
    script = parse('<audio src="check-in"/><s>Ask: is this okay?</s><s fa:check="watch">Is the face calm?</s>')
    assert [(item.text, item.check) for item in script.sentences] == [
        ("Ask: is this okay?", False),
        ("Is the face calm?", True),
    ]


def test_root_must_be_ssml_speak():
    with pytest.raises(TemplateError, match="must have <speak"):
        parse_ssml("<speak><s>Hi.</s></speak>")


def test_sub_in_a_sentence_keeps_the_written_word_and_speaks_the_alias():
    (sentence,) = parse('<s>Giver, rest the <sub alias="soul">sole</sub> here.</s>').sentences
    assert sentence == Speech("Giver, rest the sole here.", 1.0, (Sub(16, 20, "soul"),))
    assert sentence.text[16:20] == "sole"
    assert sentence.spoken == "Giver, rest the soul here."


def test_subs_in_bare_text_split_into_sentences_with_their_own_offsets():
    script = parse(
        '<p>Rest, <sub alias="givver">giver</sub>.  Now   <sub alias="uhn cross">Uncross</sub> the '
        '<sub alias="feet">toes</sub>! <prosody rate="slow">Slow <sub alias="a">b</sub>.</prosody></p>'
    )
    assert script.sentences == (
        Speech("Rest, giver.", 1.0, (Sub(6, 11, "givver"),)),
        Speech("Now Uncross the toes!", 1.0, (Sub(4, 11, "uhn cross"), Sub(16, 20, "feet"))),
        Speech("Slow b.", 0.8, (Sub(5, 6, "a"),)),
    )
    assert [s.spoken for s in script.sentences] == ["Rest, givver.", "Now uhn cross the feet!", "Slow a."]


def test_a_sentence_without_subs_is_spoken_as_written():
    (sentence,) = parse("<s>Breathe out.</s>").sentences
    assert sentence.subs == () and sentence.spoken == "Breathe out."


def test_the_lexicon_wraps_whole_words_in_any_case_and_leaves_written_subs_alone():
    text = (
        HEAD + "<p>Giver, the giver's hands; givers and forgiver. "
        '<s>The <sub alias="guide">giver</sub> and the GIVER rest.</s></p></speak>'
    )
    script = parse_ssml(text, lexicon={"giver": "givver"})
    assert [s.text for s in script.sentences] == [
        "Giver, the giver's hands; givers and forgiver.",
        "The giver and the GIVER rest.",
    ]
    assert [s.spoken for s in script.sentences] == [
        "Givver, the givver's hands; givers and forgiver.",
        "The guide and the Givver rest.",
    ]
    assert parse_ssml(text).sentences[0].spoken == "Giver, the giver's hands; givers and forgiver."


def test_private_use_characters_next_to_a_sub_come_back_as_written():
    (sentence,) = parse('<s>Rest \ue000 the <sub alias="soal">sole</sub> \ue001.</s>').sentences
    assert sentence.text == "Rest \ue000 the sole \ue001."
    assert sentence.spoken == "Rest \ue000 the soal \ue001."
