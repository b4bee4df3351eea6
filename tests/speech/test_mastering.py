"""Clip mastering: each clip is measured on its own, and peaky clips are limited (real ffmpeg, fake voices)."""

from __future__ import annotations

import json
import math
import wave
from array import array
from pathlib import Path

from footaudio.audio.loudness import gated_loudness, measure
from footaudio.speech.mastering import MAX_PEAK_TO_LOUDNESS_DB

from ..conftest import FAKE_RATE, FakeSynthesizer

FREQUENCIES = ["60", "150", "1000", "4000", "250"]


class ToneSynthesizer(FakeSynthesizer):
    """Speaks each text as a 2-second tone at the frequency (Hz) the text names, e.g. "440"."""

    engine_id = "tones"

    def synthesize(self, text: str, voice: str | None, rate: int, path: Path) -> None:
        step = 2 * math.pi * float(text) / FAKE_RATE
        tone = array("h", (round(6000 * math.sin(step * i)) for i in range(2 * FAKE_RATE)))
        with wave.open(str(path), "wb") as clip:
            clip.setnchannels(1)
            clip.setsampwidth(2)
            clip.setframerate(FAKE_RATE)
            clip.writeframes(tone.tobytes())


class ClickSynthesizer(FakeSynthesizer):
    """A quiet tone with a full-scale blip every half second: peaks far above its loudness."""

    engine_id = "clicks"

    def synthesize(self, text: str, voice: str | None, rate: int, path: Path) -> None:
        tone = array("h", (round(1500 * math.sin(2 * math.pi * 300 * i / FAKE_RATE)) for i in range(3 * FAKE_RATE)))
        for start in range(0, len(tone), FAKE_RATE // 2):
            for offset in range(FAKE_RATE // 100):  # 10 ms of a full-scale 1 kHz tone
                tone[start + offset] = round(32000 * math.sin(2 * math.pi * 1000 * offset / FAKE_RATE))
        with wave.open(str(path), "wb") as clip:
            clip.setnchannels(1)
            clip.setsampwidth(2)
            clip.setframerate(FAKE_RATE)
            clip.writeframes(tone.tobytes())


def test_each_clip_of_a_mastering_batch_is_measured_on_its_own(cache):
    # Equal levels, but EBU R128's K-weighting hears low tones as quieter: the clips differ.
    clips = [clip for clip, _ in cache.get_many(ToneSynthesizer(), [(hz, 140) for hz in FREQUENCIES], None)]
    assert max(clip.lufs for clip in clips) - min(clip.lufs for clip in clips) > 3
    # Each record holds its own clip's loudness: measured again, the clips differ as their records do
    # (the records count the clip's edges against the pauses around it, the same for every tone).
    offsets = [measure(clip.path).integrated - clip.lufs for clip in clips]
    assert max(offsets) - min(offsets) <= 0.15, offsets
    for clip in clips:
        # The stored gating blocks, gated as EBU R128 does, give the stored loudness.
        assert len(clip.blocks) >= 20 and abs(gated_loudness(clip.blocks) - clip.lufs) <= 0.1, clip


def test_a_clip_with_peaks_far_above_its_loudness_is_limited(cache):
    # Seven words take about 3 s at 140 words a minute: as long as the clip, so it is plausible speech.
    ((clip, made),) = cache.get_many(ClickSynthesizer(), [("clicks on the sole, then a pause.", 140)], None)
    true_peak = json.loads(clip.path.with_suffix(".json").read_text())["true_peak"]
    assert made and true_peak - clip.lufs <= MAX_PEAK_TO_LOUDNESS_DB, (true_peak, clip.lufs)
