"""Clip mastering: each clip is measured on its own, and peaky clips are limited (real ffmpeg, fake voices)."""

from __future__ import annotations

import json
import math
import wave
from array import array
from pathlib import Path

from footaudio.audio.loudness import gated_loudness
from footaudio.speech.mastering import MAX_PEAK_TO_LOUDNESS_DB

from ..conftest import FAKE_RATE, FakeSynthesizer


class LevelledSynthesizer(FakeSynthesizer):
    """Speaks each text as a 2-second 440 Hz tone at the level (dBFS) the text names, e.g. "-20"."""

    engine_id = "levelled"

    def synthesize(self, text: str, voice: str | None, rate: int, path: Path) -> None:
        amplitude = 32767 * 10 ** (float(text) / 20)
        tone = array(
            "h", (round(amplitude * math.sin(2 * math.pi * 440 * i / FAKE_RATE)) for i in range(2 * FAKE_RATE))
        )
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
    # Quiet tones stay under the compressor's threshold, so their levels keep their differences.
    levels = [-40, -36, -44, -38, -42]
    clips = cache.get_many(LevelledSynthesizer(), [(str(level), 140) for level in levels], None)
    measured = [clip.lufs for clip, _ in clips]
    first = measured[0] - levels[0]
    assert [round(lufs - level - first, 1) for lufs, level in zip(measured, levels, strict=True)] == [0.0] * 5
    # The stored gating blocks, gated as EBU R128 does, give the loudness ffmpeg measured.
    for clip, _ in clips:
        assert len(clip.blocks) >= 20 and abs(gated_loudness(clip.blocks) - clip.lufs) <= 0.1, clip


def test_a_clip_with_peaks_far_above_its_loudness_is_limited(cache):
    ((clip, made),) = cache.get_many(ClickSynthesizer(), [("clicks", 140)], None)
    true_peak = json.loads(clip.path.with_suffix(".json").read_text())["true_peak"]
    assert made and true_peak - clip.lufs <= MAX_PEAK_TO_LOUDNESS_DB + 1.0, (true_peak, clip.lufs)
