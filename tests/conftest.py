"""Shared fixtures: a fake synthesizer with exact clip lengths, and helpers that decode MP3s."""

from __future__ import annotations

import math
import os
import subprocess
import wave
from array import array
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from footaudio.errors import FootaudioError
from footaudio.settings import Settings
from footaudio.speech.cache import ClipCache
from footaudio.speech.engine import Voice

# Hypothesis's per-example deadline measures the shared machine's load, not the code: a
# property either holds or it does not, so no deadline (a flaky test is a defect).
hypothesis_settings.register_profile("footaudio", deadline=None)
hypothesis_settings.load_profile("footaudio")

FAKE_RATE = 22_050
# Calibrated on eSpeak NG at 140 words a minute: about 0.6 s per clip plus 67 ms per character.
MS_PER_CHAR = 67
MS_BASE = 600


# One period of a 225 Hz tone (exactly 98 samples at 22.05 kHz), repeated to any length.
_PERIOD = array("h", (int(8000 * math.sin(2 * math.pi * i / 98)) for i in range(98)))


def fake_clip_ms(text: str) -> int:
    """The fake engine's clip length: it depends on the text only."""
    return MS_BASE + MS_PER_CHAR * len(text)


class FakeSynthesizer:
    """Writes a soft tone whose length depends only on the text (exact timing in tests)."""

    engine_id = "fake"
    default_voice = "fake/a"

    def __init__(self, slowness: float = 1.0) -> None:
        self.calls: list[tuple[str, str | None, int]] = []
        self.slowness = slowness
        """Clips this many times longer than ``fake_clip_ms``: a voice slower than planning assumes."""
        if slowness != 1.0:
            # Its clips are not the usual fake's: they are cached under their own engine.
            self.engine_id = f"fake-slow-{slowness:g}"

    def voices(self) -> list[Voice]:
        return [Voice("fake/a", "Fake A", ("en",)), Voice("fake/b", "Fake B", ("en",))]

    def synthesize(self, text: str, voice: str | None, rate: int, path: Path) -> None:
        self.calls.append((text, voice, rate))
        frames = round(fake_clip_ms(text) * self.slowness) * FAKE_RATE // 1000
        tone = (_PERIOD * (frames // len(_PERIOD) + 1))[:frames]
        with wave.open(str(path), "wb") as clip:
            clip.setnchannels(1)
            clip.setsampwidth(2)
            clip.setframerate(FAKE_RATE)
            clip.writeframes(tone.tobytes())


@pytest.fixture
def fake_synth() -> FakeSynthesizer:
    return FakeSynthesizer()


@pytest.fixture
def cache(tmp_path: Path) -> ClipCache:
    return ClipCache(tmp_path / "clips")


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> ClipCache:
    """One clip cache for the session, for tests that render with a fake engine but count no synthesis.

    A fake engine's clip depends on its text alone, so the clip one test made (and mastered with
    ffmpeg) serves the next as it is. Tests that count what is synthesized keep a fresh ``cache``.
    """
    return ClipCache(tmp_path_factory.mktemp("shared-clips"))


@pytest.fixture
def settings() -> Settings:
    return Settings(minutes=7, mode="partner", pressure="firm")


@pytest.fixture(autouse=True, scope="session")
def _own_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Real-engine clips go to a cache of the test session's own, never the user's."""
    os.environ["FOOTAUDIO_CACHE"] = str(tmp_path_factory.mktemp("footaudio-cache"))


def _engines_missing() -> str | None:
    from footaudio.tools import find_espeak, find_ffmpeg

    try:
        find_ffmpeg()
        find_espeak()
    except FootaudioError as exc:
        return str(exc)
    return None


@pytest.fixture(scope="session")
def real_engines() -> None:
    """Skip when this machine has no speech engine or ffmpeg (never the case after pip install)."""
    missing = _engines_missing()
    if missing:
        pytest.skip(missing)


def ffmpeg_path() -> str:
    from footaudio.tools import find_ffmpeg

    return find_ffmpeg().path


def held_encoder(folder: Path, names: str) -> dict[str, str]:
    """An environment whose ffmpeg holds back the encoding of any file whose path matches ``names`` (a shell pattern).

    Such an encode touches ``folder/started``, waits for ``folder/go`` (at most 10 minutes, so no
    encoder is left waiting after a failed test), then runs the real ffmpeg and touches
    ``folder/ended`` when it is done; every other ffmpeg run is the real one at once.
    A test then acts while a render is surely encoding, its temporary file in place, instead of
    racing a long render whose length only guesses how fast (or loaded) the machine is.
    """
    (folder / "bin").mkdir(exist_ok=True)
    script = folder / "bin" / "ffmpeg"
    script.write_text(
        f'#!/bin/sh\nfor last; do :; done\ncase "$last" in\n  {names})\n'
        f'    touch "{folder / "started"}"; waited=0\n'
        f'    while [ ! -e "{folder / "go"}" ] && [ $waited -lt 12000 ]; do sleep 0.05; waited=$((waited + 1)); done\n'
        f'    "{ffmpeg_path()}" "$@"; status=$?\n'
        f'    touch "{folder / "ended"}"\n'
        "    exit $status;;\nesac\n"
        f'exec "{ffmpeg_path()}" "$@"\n'
    )
    script.chmod(0o755)
    return {**os.environ, "FOOTAUDIO_FFMPEG": str(script)}


def decode(path: Path, sample_rate: int = 44_100) -> bytes:
    """Decode an MP3 with ffmpeg to 16-bit mono PCM (gapless: encoder delay and padding removed)."""
    result = subprocess.run(
        [ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-i", str(path), "-f", "s16le", "-ac", "1",
         "-ar", str(sample_rate), "-"],
        capture_output=True, check=True,
    )  # fmt: skip
    return result.stdout


def rms(pcm: bytes, start_ms: int, end_ms: int, sample_rate: int = 44_100) -> float:
    """Root mean square level of a stretch of 16-bit mono PCM."""
    first = start_ms * sample_rate // 1000
    last = end_ms * sample_rate // 1000
    stretch = pcm[first * 2 : last * 2]
    if not stretch:
        return 0.0
    return math.sqrt(_sum_of_squares(stretch) / (len(stretch) // 2))


def _sum_of_squares(stretch: bytes) -> int:
    """The exact sum of the squared samples of 16-bit PCM.

    numpy (installed with Piper's onnxruntime) sums them some 20 times faster than a Python loop:
    seconds over a half-hour render. Both sums are exact integers, so both give the same level.
    """
    try:
        import numpy
    except ImportError:
        samples = array("h")
        samples.frombytes(stretch)
        return sum(s * s for s in samples)
    samples = numpy.frombuffer(stretch, dtype=numpy.int16).astype(numpy.int64)
    return int(samples @ samples)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses the real engines carries the ``engine`` mark, so ``-m "not engine"`` skips it."""
    for item in items:
        if "real_engines" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.engine)
