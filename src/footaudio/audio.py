"""The audio stage: the timeline as 44.1 kHz 16-bit mono PCM, produced piece by piece.

Nothing holds the whole routine in memory: each item is made when the encoder
needs it, and silence is produced in small blocks.
"""

from __future__ import annotations

from collections.abc import Iterator

from .sounds import render_sound
from .synthesis import Clips
from .timeline import Timeline, TimelineItem

__all__ = ["CHANNELS", "SAMPLE_RATE", "SAMPLE_WIDTH", "pcm_blocks", "sample_at"]

SAMPLE_RATE = 44_100
SAMPLE_WIDTH = 2
CHANNELS = 1
_SILENCE_BLOCK = bytes(SAMPLE_RATE * SAMPLE_WIDTH)  # one second


def sample_at(ms: int) -> int:
    """The sample index at a millisecond position (exact for multiples of 10 ms)."""
    return ms * SAMPLE_RATE // 1000


def _clip_pcm(clips: Clips, item: TimelineItem) -> bytes:
    from .tools import configure_pydub

    configure_pydub()
    from pydub import AudioSegment

    clip = clips.by_sentence[item.speech]  # type: ignore[index]
    segment = AudioSegment.from_wav(str(clip.path))
    segment = segment.set_channels(CHANNELS).set_sample_width(SAMPLE_WIDTH).set_frame_rate(SAMPLE_RATE)
    return segment.raw_data


def _fit(pcm: bytes, frames: int) -> bytes:
    size = frames * SAMPLE_WIDTH
    return pcm[:size] if len(pcm) >= size else pcm + bytes(size - len(pcm))


def pcm_blocks(timeline: Timeline, clips: Clips) -> Iterator[bytes]:
    """Yield the routine's PCM in order; the total is exactly ``sample_at(total_ms)`` frames."""
    for item in timeline.items:
        frames = sample_at(item.end_ms) - sample_at(item.start_ms)
        if item.kind == "speech":
            yield _fit(_clip_pcm(clips, item), frames)
        elif item.kind == "sound":
            yield _fit(render_sound(item.sound or "", SAMPLE_RATE), frames)
        else:
            whole, rest = divmod(frames * SAMPLE_WIDTH, len(_SILENCE_BLOCK))
            for _ in range(whole):
                yield _SILENCE_BLOCK
            if rest:
                yield bytes(rest)
