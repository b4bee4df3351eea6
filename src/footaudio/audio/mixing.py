"""The audio stage: the timeline as 44.1 kHz 16-bit mono PCM, produced piece by piece.

Nothing holds the whole routine in memory: each item is made when the encoder needs
it, silence comes in small blocks, and ambience streams from its own ffmpeg process.
Speech and chimes get the gain that puts the routine on its loudness target: each clip
is levelled by its own measured loudness, then the whole routine by a correction worked out
from its clips' gating blocks (``loudness_correction``); the ambience is lowered (ducked) under
them with smooth ramps, planned from the timeline.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator

from ..script.timeline import Timeline, TimelineItem
from ..settings import AudioOptions
from ..speech.cache import Clip, Clips
from .ambience import DUCK_DB, Ambience, ambience_blocks
from .chimes import render_sound, sound_blocks
from .loudness import SILENT_LUFS, gain_to_target, gated_loudness

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # audioop: stdlib up to 3.12, audioop-lts after
    import audioop

__all__ = [
    "CHANNELS",
    "SAMPLE_RATE",
    "SAMPLE_WIDTH",
    "excerpt_pcm",
    "loudness_correction",
    "pcm_blocks",
    "program_blocks",
    "program_loudness",
    "sample_at",
]

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
EXCERPT_MS = 15_000
"""Length of speech the encoder's effect on loudness is measured on (see ``excerpt_pcm``)."""
EXCERPT_PAUSE_MS = 400
MAX_CORRECTION_DB = 12.0
"""Largest program correction applied; beyond it the measurement is not trusted (e.g. a routine
of clips too short to measure), and the clips' own levels stand."""


def sample_at(ms: int) -> int:
    """The sample index at a millisecond position (exact for multiples of 10 ms)."""
    return ms * SAMPLE_RATE // 1000


def _db(value: float) -> float:
    return 10 ** (value / 20)


def _clip_gain_db(clip: Clip, target_lufs: float) -> float:
    """The gain that puts a clip on the loudness target (none for clips too short to measure)."""
    return target_lufs - clip.lufs if clip.lufs > SILENT_LUFS else 0.0


def _clip_pcm(clips: Clips, item: TimelineItem, target_lufs: float, correction_db: float = 0.0) -> bytes:
    """The clip at 44.1 kHz, levelled to the loudness target, plus the program's ``correction_db``."""
    from ..tools import configure_pydub

    configure_pydub()
    from pydub import AudioSegment

    clip = clips.by_sentence[item.speech]  # type: ignore[index]
    segment = AudioSegment.from_wav(str(clip.path))
    if segment.frame_rate != SAMPLE_RATE:  # mastered clips are already at 44.1 kHz
        segment = segment.set_channels(CHANNELS).set_sample_width(SAMPLE_WIDTH).set_frame_rate(SAMPLE_RATE)
    return segment.apply_gain(_clip_gain_db(clip, target_lufs) + correction_db).raw_data


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


def _sound_pcm(clips: Clips, item: TimelineItem, options: AudioOptions, correction_db: float) -> bytes:
    """A sentence or chime, exactly as long as its slot, at its level in the routine."""
    frames = sample_at(item.end_ms) - sample_at(item.start_ms)
    if item.kind == "speech":
        return _fit(_clip_pcm(clips, item, options.loudness, correction_db), frames)
    sound = _fit(render_sound(item.sound or "", SAMPLE_RATE, options.chime), frames)
    # Chimes are made at a fixed level that sits a little under speech at the reference target.
    gain = _db(options.loudness - REFERENCE_LUFS + correction_db)
    return sound if gain == 1.0 else audioop.mul(sound, SAMPLE_WIDTH, gain)


def program_blocks(timeline: Timeline, clips: Clips, options: AudioOptions) -> tuple[list[float], list[float]]:
    """The routine's 400 ms block loudnesses (LUFS): sentences and chimes, and the ambience.

    Sentences and chimes are at their level before the program correction; the ambience is at
    its level in the routine (full in long quiet stretches, ducked elsewhere), which does not change.
    """
    sounds: list[float] = []
    chime_db = options.loudness - REFERENCE_LUFS
    for item in timeline.items:
        if item.silent:
            continue
        if item.kind == "speech":
            clip = clips.by_sentence[item.speech]  # type: ignore[index]
            gain = _clip_gain_db(clip, options.loudness)
            sounds.extend(block + gain for block in clip.blocks)
        else:
            sounds.extend(block + chime_db for block in sound_blocks(item.sound or "", SAMPLE_RATE, options.chime))
    ambience: list[float] = []
    if options.ambience != "none":
        ducking = _Ducking(timeline)
        for index, item in enumerate(timeline.items):
            # Under a sentence or chime the ducked ambience adds nothing measurable to its blocks.
            if item.silent:
                duck = 0.0 if index in ducking.runs else DUCK_DB
                ambience.extend(ambience_blocks(options.ambience, options.loudness, item.ms // 100, duck))
    return sounds, ambience


def program_loudness(timeline: Timeline, clips: Clips, options: AudioOptions | None = None) -> float:
    """The routine's integrated loudness (LUFS) before the program correction, worked out from its blocks."""
    return gated_loudness(*program_blocks(timeline, clips, options or AudioOptions()))


def loudness_correction(timeline: Timeline, clips: Clips, options: AudioOptions | None = None) -> float:
    """Gain in dB for every sentence and chime that puts the routine on its loudness target.

    Each clip alone is on target, but joined into a routine the pauses inside and between
    sentences, the engine's own lead-in and tail, the chimes and the ambience in the holds
    (which lowers EBU R128's relative gate) move the integrated loudness by up to a few LU,
    differently for each engine, script and ambience; this works it out from the blocks.
    """
    options = options or AudioOptions()
    sounds, ambience = program_blocks(timeline, clips, options)
    gain = gain_to_target(sounds, ambience, options.loudness)
    return max(-MAX_CORRECTION_DB, min(MAX_CORRECTION_DB, gain))


def excerpt_pcm(timeline: Timeline, clips: Clips, options: AudioOptions, correction_db: float) -> bytes:
    """About ``EXCERPT_MS`` of the routine's sentences, spread over it, at their level in the routine.

    Each is followed by a short pause; ``footaudio.audio.mp3.encoding_loss`` measures it.
    """
    speech = [item for item in timeline.items if item.kind == "speech" and item.speech is not None]
    step = max(1.0, sum(item.ms for item in speech) / EXCERPT_MS)
    pause = bytes(sample_at(EXCERPT_PAUSE_MS) * SAMPLE_WIDTH)
    chosen = dict.fromkeys(speech[int(index * step)] for index in range(math.ceil(len(speech) / step)))
    return b"".join(_sound_pcm(clips, item, options, correction_db) + pause for item in chosen)


def pcm_blocks(
    timeline: Timeline, clips: Clips, options: AudioOptions | None = None, correction_db: float = 0.0
) -> Iterator[bytes]:
    """Yield the routine's PCM in order; the total is exactly ``sample_at(total_ms)`` frames.

    ``correction_db`` (from ``loudness_correction``) is added to every sentence and chime.
    """
    options = options or AudioOptions()
    ambience = None
    if options.ambience != "none":
        ambience = Ambience.start(options.ambience, timeline.total_ms, options.loudness, SAMPLE_RATE)
    ducking = _Ducking(timeline)
    try:
        for index, item in enumerate(timeline.items):
            first, last = sample_at(item.start_ms), sample_at(item.end_ms)
            voice = None if item.silent else _sound_pcm(clips, item, options, correction_db)
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
