"""Built-in sounds (chimes), made from tones so no binary sound files ship."""

from __future__ import annotations

import functools
import math
import sys
from array import array

from ..files import default_cache_dir, write_atomic
from ..script.ssml import SOUND_MS

__all__ = ["STYLES", "render_sound", "sound_blocks"]


# (frequency in Hz, relative amplitude, decay per second) of each partial, per style and sound.
# soft: near-harmonic sine partials; bell: the inharmonic partials of a struck bell, ringing longer.
_PARTIALS: dict[str, dict[str, tuple[tuple[float, float, float], ...]]] = {
    "soft": {
        "chime": ((880.0, 1.0, 2.2), (1760.0, 0.35, 3.5), (2637.0, 0.15, 5.0)),
        "check-in": ((660.0, 1.0, 3.0), (990.0, 0.5, 3.0), (1320.0, 0.2, 5.0)),
    },
    "bell": {
        "chime": ((523.3, 1.0, 1.2), (1444.0, 0.5, 1.8), (2826.0, 0.25, 2.6), (4290.0, 0.1, 4.0)),
        "check-in": ((784.0, 1.0, 1.8), (2164.0, 0.45, 2.5), (4233.0, 0.2, 3.5)),
    },
}
STYLES = (*_PARTIALS, "none")
_PEAK = 0.25  # of full scale: soft, below the voice


SOUNDS_VERSION = 1
"""Bump when a sound's design changes, so cached copies are made again."""


@functools.cache
def render_sound(name: str, sample_rate: int, style: str = "soft") -> bytes:
    """The sound as 16-bit mono PCM, exactly ``SOUND_MS[name]`` long (silence for style ``none``).

    Made sample by sample once, then kept in the cache folder: each render reads it back.
    """
    frames = SOUND_MS[name] * sample_rate // 1000
    if style == "none":
        return bytes(frames * 2)
    stored = default_cache_dir() / ".sounds" / f"{style}-{name}-{sample_rate}-v{SOUNDS_VERSION}.pcm"
    try:
        data = stored.read_bytes()
        if len(data) == frames * 2:
            return data
    except OSError:
        pass
    data = _synthesize(name, sample_rate, style, frames)
    try:
        stored.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(stored, data)
    except OSError:
        pass  # an unwritable cache only costs the time to make the sound again
    return data


@functools.cache
def sound_blocks(name: str, sample_rate: int, style: str = "soft") -> tuple[float, ...]:
    """Loudness (LUFS) of the sound's 400 ms gating blocks at its own level, kept in the cache folder."""
    import json

    from .loudness import pcm_blocks_loudness

    if style == "none":
        return ()
    stored = default_cache_dir() / ".sounds" / f"{style}-{name}-{sample_rate}-v{SOUNDS_VERSION}.blocks.json"
    try:
        return tuple(float(value) for value in json.loads(stored.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        pass
    blocks = pcm_blocks_loudness(render_sound(name, sample_rate, style), sample_rate)
    try:
        stored.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(stored, json.dumps(blocks).encode())
    except OSError:
        pass  # an unwritable cache only costs measuring the sound again
    return blocks


def _synthesize(name: str, sample_rate: int, style: str, frames: int) -> bytes:
    partials = _PARTIALS[style][name]
    total = sum(amplitude for _, amplitude, _ in partials)
    attack = int(0.008 * sample_rate)
    release = int(0.05 * sample_rate)
    pcm = array("h")
    for index in range(frames):
        t = index / sample_rate
        value = sum(
            amplitude * math.exp(-decay * t) * math.sin(2 * math.pi * frequency * t)
            for frequency, amplitude, decay in partials
        )
        envelope = min(1.0, index / attack if attack else 1.0, (frames - index) / release)
        pcm.append(round(32767 * _PEAK * envelope * value / total))
    if sys.byteorder == "big":
        pcm.byteswap()
    return pcm.tobytes()
