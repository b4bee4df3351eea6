"""The whole pipeline with the fake synthesizer and the real ffmpeg."""

import json

import pytest

from footaudio import Settings, UsageError, build_script, plan, render
from footaudio.audio.tags import read_settings_tag
from footaudio.files import TEMP_PREFIX
from footaudio.script.pacing import check_pacing
from footaudio.script.ssml import Mark
from footaudio.script.timeline import NarrationDoesNotFit, build_timeline

from .conftest import FakeSynthesizer, decode, fake_clip_ms, rms

# Real ffmpeg encodes every file here.
pytestmark = pytest.mark.engine


def test_render_writes_an_mp3_of_exactly_the_requested_length(tmp_path, fake_synth, shared_cache):
    (tmp_path / "out").mkdir()
    destination = tmp_path / "out" / "routine.mp3"
    result = render(Settings(minutes=3), destination, synthesizer=fake_synth, cache=shared_cache)
    assert result.path == destination
    pcm = decode(destination)
    assert len(pcm) // 2 == 3 * 60 * 44_100
    timeline = result.routine.timeline
    for item in timeline.items:
        if item.ms < 400:
            continue
        level = rms(pcm, item.start_ms + 100, item.end_ms - 100)
        if item.kind == "speech":
            assert level > 1000, item
        elif item.kind == "hold":
            assert level < 30, item
    assert list(destination.parent.iterdir()) == [destination]
    assert read_settings_tag(destination)["settings"]["minutes"] == 3.0


def test_each_sentence_is_synthesized_once_and_then_cached(tmp_path, fake_synth, cache):
    render(Settings(minutes=3), tmp_path / "a.mp3", synthesizer=fake_synth, cache=cache)
    first = len(fake_synth.calls)
    assert first == len(set(fake_synth.calls))
    routine = render(Settings(minutes=3), tmp_path / "b.mp3", synthesizer=fake_synth, cache=cache).routine
    assert len(fake_synth.calls) == first
    assert routine.clips.synthesized == 0


def test_clips_made_with_another_speech_mapping_are_made_again(tmp_path, fake_synth, cache, monkeypatch):
    import footaudio.speech.cache

    render(Settings(minutes=3), tmp_path / "a.mp3", synthesizer=fake_synth, cache=cache)
    first = len(fake_synth.calls)
    monkeypatch.setattr(footaudio.speech.cache, "SPEECH_MAPPING", footaudio.speech.cache.SPEECH_MAPPING + 1)
    routine = render(Settings(minutes=3), tmp_path / "b.mp3", synthesizer=fake_synth, cache=cache).routine
    assert len(fake_synth.calls) == 2 * first
    assert routine.clips.synthesized == first


def test_too_short_names_the_smallest_length_that_works(tmp_path, fake_synth, cache):
    with pytest.raises(UsageError) as caught:
        render(
            Settings(minutes=1, mode="partner", pressure="firm"),
            tmp_path / "x.mp3",
            synthesizer=fake_synth,
            cache=cache,
        )
    message = str(caught.value)
    assert message.startswith("1 minute is too short for a partner firm routine (the narration needs at least ")
    needed = float(message.split("use --minutes ")[1].split(" ")[0])
    # The same length travels as data, for callers that retry (scripts/listen.py).
    assert caught.value.needed_ms == needed * 60000
    render(
        Settings(minutes=needed, mode="partner", pressure="firm"),
        tmp_path / "x.mp3",
        synthesizer=fake_synth,
        cache=cache,
    )
    # Half a minute less fits, but only by saying too much for its time (over 45% speech): not suggested.
    below = plan(Settings(minutes=needed - 0.5, mode="partner", pressure="firm"), synthesizer=fake_synth, cache=cache)
    assert below.timeline.speech_ms > 0.45 * below.timeline.total_ms
    with pytest.raises(UsageError):
        render(
            Settings(minutes=needed - 1, mode="partner", pressure="firm"),
            tmp_path / "y.mp3",
            synthesizer=fake_synth,
            cache=cache,
        )
    assert not (tmp_path / "y.mp3").exists()


def test_a_voice_slower_than_planning_assumes_gets_a_leaner_plan_that_keeps_every_rule(tmp_path, cache):
    """Clips 12% longer than the fake's: the usual 8-minute plan would not fit (or say too much); a leaner one does."""
    settings = Settings(minutes=8, mode="partner", pressure="firm")
    slow = FakeSynthesizer(slowness=1.12)
    _, usual = build_script(settings)
    # The usual plan, said by this voice, does not fit, or is more than 45% speech.
    try:
        usual_timeline = build_timeline(usual, lambda s: round(fake_clip_ms(s.text) * 1.12), settings.total_ms)
    except NarrationDoesNotFit:
        pass
    else:
        assert usual_timeline.speech_ms > 0.45 * settings.total_ms

    result = render(settings, tmp_path / "lean.mp3", synthesizer=slow, cache=cache)
    assert check_pacing(result.routine.timeline, settings).problems == ()
    assert len(result.routine.script.sentences) < len(usual.sentences)
    assert len(decode(result.path)) // 2 == 8 * 60 * 44_100
    # The usual voice keeps the usual plan.
    assert plan(settings, synthesizer=FakeSynthesizer(), cache=cache).script == usual


@pytest.mark.parametrize(("minutes", "mode", "pressure"), [(25, "partner", "firm"), (30, "partner", "medium")])
def test_a_voice_slower_than_planning_assumes_keeps_every_step_and_says_less_on_each(cache, minutes, mode, pressure):
    """Clips 12% longer than the fake's: the leaner plan keeps the steps of the length asked (it once left out the
    toes or the ball of the foot) and says fewer cues on them."""
    settings = Settings(minutes=minutes, mode=mode, pressure=pressure)
    _, usual = build_script(settings)
    routine = plan(settings, synthesizer=FakeSynthesizer(slowness=1.12), cache=cache)

    def steps(script):
        return [item.title for item in script.items if isinstance(item, Mark)]

    assert routine.pace > 1
    assert check_pacing(routine.timeline, settings).problems == ()
    assert steps(routine.script) == steps(usual)
    assert len(routine.script.sentences) < len(usual.sentences)


def test_a_voice_faster_than_planning_assumes_gets_a_richer_plan(tmp_path, cache):
    """Clips at 60% of the fake's length: the usual 5-minute solo plan is under 15% speech; a richer one is not."""
    settings = Settings(minutes=5, mode="solo", pressure="light")
    _, usual = build_script(settings)
    usual_timeline = build_timeline(usual, lambda s: round(fake_clip_ms(s.text) * 0.6), settings.total_ms)
    assert usual_timeline.speech_ms < 0.15 * settings.total_ms

    routine = plan(settings, synthesizer=FakeSynthesizer(slowness=0.6), cache=cache)
    assert routine.pace < 1
    assert check_pacing(routine.timeline, settings).problems == ()
    assert len(routine.script.sentences) > len(usual.sentences)


def test_a_slow_rate_plans_from_the_time_it_is_known_to_take():
    from footaudio.pipeline import _paces

    # 80 words a minute takes 130 / 80 = 1.625 times as long as the default rate: the first try starts there.
    assert _paces(Settings(rate=80), None)[:2] == [1.625, 1.706]
    assert _paces(Settings(), None)[0] == 1.05
    assert _paces(Settings(rate=200), None)[0] == 1.05


@pytest.mark.parametrize("minutes", [3, 10])
def test_a_suggested_length_keeps_the_speech_share(shared_cache, minutes):
    """A voice 1.6 times as slow as planned for: the length suggested is one whose plan keeps speech to 45%
    (the first length that merely fit was 48% and 52% speech), and the nearest such length: the usual plan's
    need is not taken for it where a leaner plan fits (from 16 minutes it once suggested 57.5; 10 minutes
    ran out of tries and suggested no length at all)."""
    slow = FakeSynthesizer(slowness=1.6)
    with pytest.raises(UsageError) as caught:
        plan(Settings(minutes=minutes, mode="partner", pressure="firm"), synthesizer=slow, cache=shared_cache)
    needed = float(str(caught.value).split("use --minutes ")[1].split(" ")[0])
    assert needed <= 25
    routine = plan(Settings(minutes=needed, mode="partner", pressure="firm"), synthesizer=slow, cache=shared_cache)
    assert routine.timeline.speech_ms <= 0.45 * routine.timeline.total_ms


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("x.wav", "{tmp}/x.wav does not end in .mp3; footaudio writes MP3 files."),
        (".", "{tmp} is a folder; give a file name such as {tmp}/routine.mp3."),
    ],
)
def test_bad_destinations_fail_before_any_work(tmp_path, fake_synth, cache, name, message):
    with pytest.raises(UsageError) as caught:
        render(Settings(minutes=3), tmp_path / name if name != "." else tmp_path, synthesizer=fake_synth, cache=cache)
    assert str(caught.value) == message.format(tmp=tmp_path)
    assert fake_synth.calls == []


def test_a_failure_mid_render_leaves_the_previous_file_untouched(tmp_path, fake_synth, shared_cache, monkeypatch):
    destination = tmp_path / "keep.mp3"
    destination.write_bytes(b"previous")

    def broken(*args, **kwargs):
        yield b"\0\0" * 1000
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("footaudio.audio.mixing.pcm_blocks", broken)
    with pytest.raises(RuntimeError):
        render(Settings(minutes=3), destination, synthesizer=fake_synth, cache=shared_cache, force=True)
    assert destination.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.mp3"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_settings_tag_holds_the_exact_settings(tmp_path, fake_synth, cache):
    settings = Settings(minutes=4.5, mode="partner", pressure="medium", seed=9)
    render(settings, tmp_path / "x.mp3", synthesizer=fake_synth, cache=cache)
    stored = read_settings_tag(tmp_path / "x.mp3")
    assert Settings(**stored["settings"]) == settings
    assert json.dumps(stored)  # plain JSON values
