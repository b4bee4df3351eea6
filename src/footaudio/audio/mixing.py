"""The audio stage: the timeline as 44.1 kHz 16-bit mono PCM, produced piece by piece.

Nothing holds the whole routine in memory: each item is made when the encoder needs
it, silence comes in small blocks, and ambience streams from its own ffmpeg process.
Speech and chimes get the gain that puts the routine on its loudness target; the
ambience is lowered (ducked) under them with smooth ramps, planned from the timeline.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

from ..script.timeline import Timeline, TimelineItem
from ..settings import AudioOptions
from ..speech.cache import Clips
from .ambience import DUCK_DB, Ambience
from .chimes import render_sound
from .loudness import PROGRAM_OFFSET_DB, SILENT_LUFS

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # audioop: stdlib up to 3.12, audioop-lts after
    import audioop

__all__ = ["CHANNELS", "SAMPLE_RATE", "SAMPLE_WIDTH", "pcm_blocks", "sample_at"]

SAMPLE_RATE = 44_100
SAMPLE_WIDTH = 2
CHANNELS = 1
BLOCK_FRAMES = SAMPLE_RATE  # one second
RAMP_STEP_FRAMES = SAMPLE_RATE // 100  # gain steps of 10 ms make a smooth ramp
DUCK_RAMP_DOWN_MS = 400
DUCK_RAMP_UP_MS = 700
REFERENCE_LUFS = -16.0
"""Loudness target the chime levels are designed for."""
MIN_UNDUCKED_MS = 2000
"""Quiet stretches shorter than this keep the ambience ducked rather than pumping it up and down."""


def sample_at(ms: int) -> int:
    """The sample index at a millisecond position (exact for multiples of 10 ms)."""
    return ms * SAMPLE_RATE // 1000


def _db(value: float) -> float:
    return 10 ** (value / 20)


def _clip_pcm(clips: Clips, item: TimelineItem, target_lufs: float) -> bytes:
    """The clip at 44.1 kHz, with the gain that puts it on the loudness target."""
    from ..tools import configure_pydub

    configure_pydub()
    from pydub import AudioSegment

    clip = clips.by_sentence[item.speech]  # type: ignore[index]
    segment = AudioSegment.from_wav(str(clip.path))
    if segment.frame_rate != SAMPLE_RATE:  # mastered clips are already at 44.1 kHz
        segment = segment.set_channels(CHANNELS).set_sample_width(SAMPLE_WIDTH).set_frame_rate(SAMPLE_RATE)
    lufs = clip.lufs if clip.lufs > SILENT_LUFS else target_lufs
    return segment.apply_gain(target_lufs - lufs + PROGRAM_OFFSET_DB).raw_data


def _fit(pcm: bytes, frames: int) -> bytes:
    size = frames * SAMPLE_WIDTH
    return pcm[:size] if len(pcm) >= size else pcm + bytes(size - len(pcm))


class _Ducking:
    """The ambience gain over time: full in long quiet stretches, ducked under sound."""

    def __init__(self, timeline: Timeline) -> None:
        self.duck = _db(-DUCK_DB)
        self.runs: dict[int, tuple[int, int]] = {}
        items = timeline.items
        index = 0
        while index < len(items):
            if not items[index].silent:
                index += 1
                continue
            first = index
            while index < len(items) and items[index].silent:
                index += 1
            start, end = items[first].start_ms, items[index - 1].end_ms
            if end - start >= MIN_UNDUCKED_MS:
                for member in range(first, index):
                    self.runs[member] = (start, end)
        self.total_ms = timeline.total_ms

    def gain(self, index: int, frame: int) -> float:
        """Ambience gain at absolute ``frame`` inside item ``index``."""
        run = self.runs.get(index)
        if run is None:
            return self.duck
        start, end = run
        up = 1.0 if start == 0 else min(1.0, (frame - sample_at(start)) / sample_at(DUCK_RAMP_UP_MS))
        down = 1.0 if end == self.total_ms else min(1.0, (sample_at(end) - frame) / sample_at(DUCK_RAMP_DOWN_MS))
        return self.duck + (1 - self.duck) * max(0.0, min(up, down))

    def steady(self, index: int, frame: int, limit: int) -> int:
        """How many frames from ``frame`` the gain stays constant (up to ``limit``)."""
        run = self.runs.get(index)
        if run is None:
            return limit
        start, end = run
        ramp_up_end = sample_at(start) + sample_at(DUCK_RAMP_UP_MS) if start else 0
        ramp_down_start = sample_at(end) - sample_at(DUCK_RAMP_DOWN_MS) if end != self.total_ms else limit + frame
        if frame < ramp_up_end or frame >= ramp_down_start:
            return min(limit, RAMP_STEP_FRAMES)
        return min(limit, ramp_down_start - frame)


def pcm_blocks(timeline: Timeline, clips: Clips, options: AudioOptions | None = None) -> Iterator[bytes]:
    """Yield the routine's PCM in order; the total is exactly ``sample_at(total_ms)`` frames."""
    options = options or AudioOptions()
    # Chimes are made at a fixed level that sits a little under speech at the reference target.
    sound_gain = _db(options.loudness - REFERENCE_LUFS)
    ambience = None
    if options.ambience != "none":
        ambience = Ambience.start(options.ambience, timeline.total_ms, options.loudness, SAMPLE_RATE)
    ducking = _Ducking(timeline)
    try:
        for index, item in enumerate(timeline.items):
            first, last = sample_at(item.start_ms), sample_at(item.end_ms)
            if item.silent:
                voice = None
            elif item.kind == "speech":
                voice = _fit(_clip_pcm(clips, item, options.loudness), last - first)
            else:
                voice = _fit(render_sound(item.sound or "", SAMPLE_RATE, options.chime), last - first)
                if sound_gain != 1.0:
                    voice = audioop.mul(voice, SAMPLE_WIDTH, sound_gain)
            if ambience is None:
                if voice is not None:
                    yield voice
                    continue
                for frame in range(first, last, BLOCK_FRAMES):
                    yield bytes(min(BLOCK_FRAMES, last - frame) * SAMPLE_WIDTH)
                continue
            frame = first
            while frame < last:
                count = ducking.steady(index, frame, min(BLOCK_FRAMES, last - frame))
                background = audioop.mul(
                    ambience.read(count * SAMPLE_WIDTH), SAMPLE_WIDTH, ducking.gain(index, frame + count // 2)
                )
                if voice is not None:
                    offset = (frame - first) * SAMPLE_WIDTH
                    background = audioop.add(voice[offset : offset + count * SAMPLE_WIDTH], background, SAMPLE_WIDTH)
                yield background
                frame += count
    finally:
        if ambience is not None:
            ambience.close()
