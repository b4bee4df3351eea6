import pytest

from footaudio.errors import TemplateError
from footaudio.script.ssml import Break, Hold, Mark, Sound, Speech, parse_ssml, parse_time_ms

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
            "use speak, p, s, break, mark, audio, prosody or fa:hold.",
        ),
        ('<mark name="a"/><s>x</s><mark name="a"/>', "mark name 'a' is used twice; step names must be unique."),
        ('<fa:hold weight="0"/><s>x</s>', "hold weight '0' must be a positive number."),
        ('<fa:hold min="9s" max="2s"/><s>x</s>', "hold max '2s' is shorter than its min '9s'."),
        ('<break time="soon"/><s>x</s>', "break time 'soon' is not a time"),
        ('<audio src="gong"/><s>x</s>', "audio src 'gong' is not a built-in sound; use one of check-in, chime."),
        ('<prosody rate="warp"><s>x</s></prosody>', "prosody rate 'warp' is not supported"),
        ("<p></p>", "contains no sentences"),
    ],
)
def test_bad_ssml_is_a_template_error(body, message):
    with pytest.raises(TemplateError) as caught:
        parse(body)
    assert message in str(caught.value)


def test_root_must_be_ssml_speak():
    with pytest.raises(TemplateError, match="must have <speak"):
        parse_ssml("<speak><s>Hi.</s></speak>")
