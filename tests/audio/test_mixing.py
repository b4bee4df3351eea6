"""The audio stage streams: its blocks equal a whole-routine assembly, and long routines stay exact."""

from __future__ import annotations

import math
import wave
from array import array
from pathlib import Path

from footaudio import AudioOptions, Settings, build_script, plan
from footaudio.audio.chimes import render_sound
from footaudio.audio.mixing import SAMPLE_RATE, _clip_pcm, pcm_blocks, sample_at
from footaudio.script.timeline import build_timeline
from footaudio.settings import MAX_MINUTES
from footaudio.speech.cache import Clip, Clips

from ..conftest import fake_clip_ms


def whole_routine(timeline, clips, options: AudioOptions) -> bytes:
    """The routine assembled in memory at once: silence, with each sound written at its sample."""
    pcm = bytearray(sample_at(timeline.total_ms) * 2)
    for item in timeline.items:
        if item.silent:
            continue
        first, last = sample_at(item.start_ms), sample_at(item.end_ms)
        if item.kind == "speech":
            part = _clip_pcm(clips, item, options.loudness)
        else:
            part = render_sound(item.sound, SAMPLE_RATE, options.chime)
        part = part[: (last - first) * 2]
        pcm[first * 2 : first * 2 + len(part)] = part
    return bytes(pcm)


def test_streamed_blocks_equal_the_in_memory_assembly(tmp_path, fake_synth, cache):
    routine = plan(Settings(minutes=3, mode="partner"), synthesizer=fake_synth, cache=cache)
    options = AudioOptions(chime="bell")
    streamed = b"".join(pcm_blocks(routine.timeline, routine.clips, options))
    assert streamed == whole_routine(routine.timeline, routine.clips, options)


def test_the_longest_routine_streams_exactly_its_length_in_small_blocks(tmp_path):
    settings = Settings(minutes=MAX_MINUTES, mode="partner", pressure="firm")
    _, script = build_script(settings)
    timeline = build_timeline(script, lambda sentence: fake_clip_ms(sentence.text), settings.total_ms)
    # One short clip stands in for every sentence: the stream pads each to its planned length.
    clip_path = Path(tmp_path) / "clip.wav"
    with wave.open(str(clip_path), "wb") as clip:
        clip.setnchannels(1)
        clip.setsampwidth(2)
        clip.setframerate(SAMPLE_RATE)
        clip.writeframes(array("h", (int(3000 * math.sin(i / 7)) for i in range(SAMPLE_RATE))).tobytes())
    stand_in = Clip(clip_path, SAMPLE_RATE, SAMPLE_RATE, -18.0)
    clips = Clips({sentence: stand_in for sentence in script.sentences}, 0)
    total = largest = 0
    longest_sound = max(item.ms for item in timeline.items if not item.silent)
    for block in pcm_blocks(timeline, clips, AudioOptions()):
        total += len(block)
        largest = max(largest, len(block))
    assert total == int(MAX_MINUTES) * 60 * SAMPLE_RATE * 2
    # Silence never comes whole: no block is longer than a second or the longest sentence or chime.
    assert largest <= max(SAMPLE_RATE * 2, sample_at(longest_sound + 10) * 2)
