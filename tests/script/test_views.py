import itertools
import json
import re
import xml.etree.ElementTree as ET

from footaudio import Settings, plan
from footaudio.script.ssml import FA_NS, SSML_NS, parse_time_ms
from footaudio.script.views import as_json, as_ssml, as_text, clock

from ..conftest import fake_clip_ms


def planned(fake_synth, cache, **kwargs):
    settings = Settings(**kwargs)
    return settings, plan(settings, synthesizer=fake_synth, cache=cache)


def test_ssml_export_is_standard_ssml_with_marks_and_resolved_holds(fake_synth, cache):
    settings, routine = planned(fake_synth, cache, minutes=7, mode="partner", pressure="firm")
    text = as_ssml(routine.timeline, settings)
    root = ET.fromstring(text)
    assert root.tag == f"{{{SSML_NS}}}speak"
    assert root.get("version") == "1.1"
    namespaces = {el.tag.partition("}")[0].lstrip("{") for el in root.iter()}
    assert namespaces == {SSML_NS}
    assert FA_NS not in text and "fa:hold" not in text
    marks = [el.get("name") for el in root.iter(f"{{{SSML_NS}}}mark")]
    assert marks == [step.name for step in routine.timeline.steps]
    sentences = [el.text for el in root.iter(f"{{{SSML_NS}}}s")]
    assert sentences == [i.text for i in routine.timeline.items if i.kind == "speech"]
    # Every break (sound fallbacks included) plus the spoken clips add up to the routine.
    breaks = sum(parse_time_ms(el.get("time")) for el in root.iter(f"{{{SSML_NS}}}break"))
    speech = sum(fake_clip_ms(text) for text in sentences)
    assert breaks + speech == routine.timeline.total_ms
    sounds = [el.get("src") for el in root.iter(f"{{{SSML_NS}}}audio")]
    assert set(sounds) == {"chime.wav", "check-in.wav"}


def test_json_timeline_lists_every_item_with_times(fake_synth, cache):
    settings, routine = planned(fake_synth, cache, minutes=5)
    document = json.loads(as_json(routine.timeline, settings))
    assert document["total_ms"] == 300_000
    assert document["settings"]["minutes"] == 5.0
    items = document["items"]
    assert items[0]["start_ms"] == 0 and items[-1]["end_ms"] == 300_000
    assert {item["kind"] for item in items} == {"speech", "break", "sound", "hold"}
    speech = [item for item in items if item["kind"] == "speech"]
    assert all(item["end_ms"] - item["start_ms"] == fake_clip_ms(item["text"]) for item in speech)
    assert next(step["name"] for step in document["steps"]) == "welcome"


def test_text_view_has_times_steps_and_the_end(fake_synth, cache):
    _settings, routine = planned(fake_synth, cache, minutes=5)
    text = as_text(routine.timeline)
    assert text.startswith("== Welcome (00:00.0) ==\n[00:00.0] Welcome")
    assert "(chime sound)" in text and "(quiet, " in text
    assert text.rstrip().endswith("[05:00.0] (end)")


def test_text_view_shows_quiet_that_runs_on_as_one_stretch_with_every_millisecond(fake_synth, cache):
    _settings, routine = planned(fake_synth, cache, minutes=10, mode="solo", pressure="firm")
    lines = as_text(routine.timeline).splitlines()
    assert not any("(quiet, " in a and "(quiet, " in b for a, b in itertools.pairwise(lines))
    # At the change of feet the answer's quiet and the settling hold run on: one line, both lengths.
    switch = lines[lines.index(next(line for line in lines if line.startswith("== Switching feet"))) :]
    quiet = [line for line in switch[: switch.index("")] if "(quiet, " in line]
    items = [i for i in routine.timeline.items if i.step == "switch-feet"]
    last_speech = max(i.end_ms for i in items if i.kind in ("speech", "sound"))
    silent = [i for i in items if i.start_ms >= last_speech and i.ms]
    tail = sum(i.ms for i in silent)
    assert len(silent) >= 2 and quiet[-1].endswith(f"(quiet, {tail / 1000:.0f} s)")


def test_clock():
    assert [clock(ms) for ms in (0, 61_250, 3_600_000 + 5_000)] == ["00:00.0", "01:01.2", "1:00:05.0"]


def test_a_lexicon_word_is_spoken_as_its_alias_and_shown_as_written(fake_synth, cache, monkeypatch):
    from footaudio.script import lexicon

    monkeypatch.setitem(lexicon.LEXICON, "fake", {"giver": "givver"})
    settings, routine = planned(fake_synth, cache, minutes=7, mode="partner", pressure="firm")
    with_giver = [s for s in routine.script.sentences if re.search(r"\bgiver\b", s.text, re.IGNORECASE)]
    assert with_giver, "the partner routine names the giver"
    assert [s for s in routine.script.sentences if s.subs] == with_giver
    for sentence in with_giver:
        assert not re.search(r"\bgiver\b", sentence.spoken, re.IGNORECASE)
        assert re.search(r"\bgivver\b", sentence.spoken, re.IGNORECASE)
        assert routine.clips.ms(sentence) == fake_clip_ms(sentence.spoken)
    spoken = {text for text, _, _ in fake_synth.calls}
    assert all(s.spoken in spoken and s.text not in spoken for s in with_giver)
    # Every text view shows the word as written.
    assert "givver" not in as_text(routine.timeline).lower()
    assert "givver" not in json.dumps([i.get("text") for i in json.loads(as_json(routine.timeline, settings))["items"]])
    # The SSML view says it with <sub alias>, and stays SSML 1.1 with the written text inside.
    root = ET.fromstring(as_ssml(routine.timeline, settings))
    subs = list(root.iter(f"{{{SSML_NS}}}sub"))
    assert subs and {(el.get("alias").lower(), el.text.lower()) for el in subs} == {("givver", "giver")}
    assert all(not len(el) for el in subs)
    sentences = ["".join(el.itertext()) for el in root.iter(f"{{{SSML_NS}}}s")]
    assert sentences == [i.text for i in routine.timeline.items if i.kind == "speech"]
