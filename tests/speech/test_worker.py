"""The pyttsx3 worker: clips at the rate asked, clean restarts after a time-out, plausible clip lengths."""

from __future__ import annotations

import re
import sys
import time
import wave
from collections import defaultdict
from pathlib import Path

import pytest

from footaudio import EngineError, Settings
from footaudio.pipeline import build_script
from footaudio.speech.cache import ClipCache
from footaudio.speech.pyttsx3_engine import Pyttsx3Synthesizer

from ..conftest import _PERIOD, FAKE_RATE, FakeSynthesizer

SLOW, FAST = 90, 200  # eSpeak NG speaks the same sentence about 2.2 times longer at 90 than at 200
TEXTS = (
    "Rest your foot.",
    "Slowly press the heel with both thumbs and breathe out.",
    "Let your breath slow down.",
)


def seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as clip:
        return clip.getnframes() / clip.getframerate()


@pytest.mark.engine
@pytest.mark.usefixtures("real_engines")
def test_alternating_rates_give_every_clip_its_own_rate(tmp_path):
    """60 alternations with one sentence, then 60 with the sentence changing too, through one worker."""
    synthesizer = Pyttsx3Synthesizer()
    lengths: dict[tuple[str, int], list[float]] = defaultdict(list)
    try:
        for i in range(120):
            rate = SLOW if i % 2 else FAST
            text = TEXTS[0] if i < 60 else TEXTS[i % 3]
            path = tmp_path / f"{i}.wav"
            synthesizer.synthesize(text, None, rate, path)
            lengths[text, rate].append(seconds(path))
    finally:
        synthesizer.close()
    for text in TEXTS:
        slow, fast = lengths[text, SLOW], lengths[text, FAST]
        assert len(slow) >= 10 and len(fast) >= 10
        # Every clip of a sentence at one rate is as long as the others (eSpeak NG is not
        # bit-exact, a few samples differ), and the two rates are far apart.
        assert max(slow) - min(slow) < 0.05, f"{text!r} at {SLOW} wpm: {sorted(slow)}"
        assert max(fast) - min(fast) < 0.05, f"{text!r} at {FAST} wpm: {sorted(fast)}"
        assert min(slow) > 1.6 * max(fast), f"{text!r}: {SLOW} wpm {sorted(slow)}, {FAST} wpm {sorted(fast)}"


@pytest.mark.engine
@pytest.mark.usefixtures("real_engines")
def test_the_clip_cache_keeps_every_clip_under_its_own_rate(tmp_path):
    """30 routine sentences, each asked at 90 and then 200 wpm: 60 rate changes in one batch."""
    _, script = build_script(Settings(minutes=10, mode="partner", pressure="medium"))
    texts = list(dict.fromkeys(sentence.text for sentence in script.sentences))[:30]
    assert len(texts) == 30
    requests = [(text, rate) for text in texts for rate in (SLOW, FAST)]
    cache = ClipCache(tmp_path / "clips")
    synthesizer = Pyttsx3Synthesizer()
    try:
        made = cache.get_many(synthesizer, requests, None)
        again = cache.get_many(synthesizer, requests, None)
    finally:
        synthesizer.close()
    assert all(fresh for _, fresh in made) and not any(fresh for _, fresh in again)
    assert [clip for clip, _ in again] == [clip for clip, _ in made]
    clips = dict(zip(requests, (clip for clip, _ in again), strict=True))
    for text in texts:
        slow, fast = clips[text, SLOW], clips[text, FAST]
        assert slow.path == cache.path_for(synthesizer.engine_id, None, SLOW, text)
        assert slow.ms > 1.6 * fast.ms, f"{text!r}: {slow.ms} ms at {SLOW} wpm, {fast.ms} ms at {FAST} wpm"


def stub_worker(tmp_path: Path) -> tuple[str, ...]:
    """A worker that hangs on any text with 'hang' in it and says anything else as a short tone.

    It leaves a child behind that keeps the worker's stdout open for half a second after the
    worker is killed, as a helper process of a real engine might: the footaudio side then sees
    the end of that worker's output only after the next worker has started.
    """
    script = tmp_path / "worker.py"
    script.write_text(
        f"""\
import json, os, sys, time, wave
worker = os.getpid()
if os.fork() == 0:
    while os.getppid() == worker:
        time.sleep(0.01)
    time.sleep(0.5)
    os._exit(0)
print(json.dumps({{"ready": True, "driver": "stub"}}), flush=True)
tone = bytes({list(_PERIOD.tobytes())}) * 120
for line in sys.stdin:
    request = json.loads(line)
    if request["op"] == "quit":
        break
    if "hang" in request["text"]:
        time.sleep(60)
    with wave.open(request["path"], "wb") as clip:
        clip.setnchannels(1)
        clip.setsampwidth(2)
        clip.setframerate({FAKE_RATE})
        clip.writeframes(tone)
    print(json.dumps({{"frames": len(tone) // 2, "rate": {FAKE_RATE}}}), flush=True)
""",
        encoding="utf-8",
    )
    return (sys.executable, str(script))


@pytest.mark.skipif(sys.platform == "win32", reason="the stub worker forks")
def test_repeated_time_outs_each_end_cleanly_and_the_next_sentence_is_spoken(tmp_path):
    # 3 s leaves a loaded machine time to start the stub worker; a hanging sentence never ends.
    synthesizer = Pyttsx3Synthesizer(timeout_s=3)
    synthesizer.worker_command = stub_worker(tmp_path)
    try:
        timed_out = r"^the speech engine did not finish speaking 'Now hang\.' within 3 s"
        for round_ in range(2):  # the second time-out comes after a clean end of the first
            started = time.monotonic()
            with pytest.raises(EngineError, match=timed_out):
                synthesizer.synthesize("Now hang.", None, 140, tmp_path / f"hang-{round_}.wav")
            assert time.monotonic() - started < 20  # two tries (a fresh worker gets one more)
            synthesizer.synthesize("Rest your foot.", None, 140, tmp_path / f"rest-{round_}.wav")
            assert seconds(tmp_path / f"rest-{round_}.wav") == pytest.approx(120 * len(_PERIOD) / FAKE_RATE)
            assert not (tmp_path / f"hang-{round_}.wav").exists()
    finally:
        synthesizer.close()


class OddLengths(FakeSynthesizer):
    """Writes clips of the given lengths in seconds, one per call, then the usual fake lengths."""

    def __init__(self, *lengths: float) -> None:
        super().__init__()
        self.lengths = list(lengths)

    def synthesize(self, text: str, voice: str | None, rate: int, path: Path) -> None:
        if not self.lengths:
            super().synthesize(text, voice, rate, path)
            return
        self.calls.append((text, voice, rate))
        frames = int(self.lengths.pop(0) * FAKE_RATE)
        with wave.open(str(path), "wb") as clip:
            clip.setnchannels(1)
            clip.setsampwidth(2)
            clip.setframerate(FAKE_RATE)
            clip.writeframes((_PERIOD * (frames // len(_PERIOD) + 1))[:frames].tobytes())


SENTENCE = "Slowly press the heel with both thumbs and breathe out."  # 10 words: 4.3 s at 140 wpm


@pytest.mark.parametrize(
    ("lengths", "voice", "message"),
    [
        (
            (40.0, 38.0),
            "fake/b",
            "the voice 'fake/b' took 38.0 s to say 'Slowly press the heel with both thumbs and breathe out.', "
            "10 words that take about 4.3 s at 140 words a minute (twice); it does not seem to speak this text: "
            "choose another --voice ('footaudio voices' lists them).",
        ),
        (
            (0.4, 0.5),
            None,  # the engine's default voice is named
            "the voice 'fake/a' took only 0.5 s to say 'Slowly press the heel with both thumbs and breathe out.', "
            "10 words that take about 4.3 s at 140 words a minute (twice); it does not seem to speak this text: "
            "choose another --voice ('footaudio voices' lists them).",
        ),
    ],
    ids=["too-long", "too-short"],
)
def test_an_implausible_clip_is_made_once_more_then_refused(cache, lengths, voice, message):
    synthesizer = OddLengths(*lengths)
    with pytest.raises(EngineError) as caught:
        cache.get_or_make(synthesizer, SENTENCE, voice, 140)
    assert str(caught.value) == message
    assert synthesizer.calls == [(SENTENCE, voice, 140)] * 2
    assert not list(cache.folder.rglob("*.wav")) and not list(cache.folder.rglob("*.json"))


def test_an_implausible_clip_made_well_the_second_time_is_cached(cache):
    synthesizer = OddLengths(40.0)
    clip, made = cache.get_or_make(synthesizer, SENTENCE, None, 140)
    assert made and len(synthesizer.calls) == 2
    assert 3.5 < clip.ms / 1000 < 5  # the fake's usual length, not the 40 s of the first try
    assert cache.get_or_make(synthesizer, SENTENCE, None, 140) == (clip, False)
    assert len(synthesizer.calls) == 2


@pytest.mark.parametrize(
    ("text", "rate", "length"),
    [
        ("Relax.", 40, 4.3),  # Piper: one word, 2.9 times words / rate (lead-in and tail)
        ("Relax.", 390, 0.42),
        ("A, b, c, d, e.", 390, 0.31),  # eSpeak NG spelling letters: 0.41 times
        (SENTENCE, 140, 5.5),  # 1.28 times, the longest routine sentence measured
        (SENTENCE, 140, 2.6),  # 0.60 times, the shortest
    ],
)
def test_clip_lengths_within_the_real_engines_spread_are_accepted(cache, text, rate, length):
    synthesizer = OddLengths(length)
    _, made = cache.get_or_make(synthesizer, text, None, rate)
    assert made and len(synthesizer.calls) == 1


def test_an_engine_that_speaks_no_slower_than_its_slowest_rate_is_judged_at_that_rate(tmp_path):
    # 10 words at 40 wpm take 15 s; eSpeak NG speaks them at 80 wpm, in 7.5 s or less.
    engine = OddLengths(3.5, 3.5)
    with pytest.raises(EngineError, match=r"took only 3\.5 s .* about 15\.0 s at 40 words a minute \(twice\)"):
        ClipCache(tmp_path / "a").get_or_make(engine, SENTENCE, None, 40)
    espeak = OddLengths(3.5)
    espeak.slowest_rate = 80
    clip, made = ClipCache(tmp_path / "b").get_or_make(espeak, SENTENCE, None, 40)
    assert made and len(espeak.calls) == 1 and clip.ms == 3500


@pytest.mark.engine
@pytest.mark.usefixtures("real_engines")
def test_a_voice_that_spells_english_out_is_named_as_the_cause(cache):
    # eSpeak NG's Japanese voice spells an English sentence out letter by letter: 3.9 times its length.
    synthesizer = Pyttsx3Synthesizer()
    try:
        with pytest.raises(EngineError) as caught:
            cache.get_or_make(synthesizer, SENTENCE, "jpx/ja", 140)
    finally:
        synthesizer.close()
    took = re.match(r"^the voice 'jpx/ja' took (\d+\.\d) s to say 'Slowly press", str(caught.value))
    assert took and float(took[1]) > 2.5 * 4.3 + 1
    assert "it does not seem to speak this text: choose another --voice" in str(caught.value)
    assert not list(cache.folder.rglob("*.wav"))
