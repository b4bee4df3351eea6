"""Finds ffmpeg and eSpeak NG, once and on first use, and says how to fix a missing one.

The product, ``footaudio doctor`` and the tests' skip marks all ask this module.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from .errors import EngineError

__all__ = [
    "Tool",
    "configure_pydub",
    "ffmpeg_time_limit",
    "ffmpeg_version",
    "find_espeak",
    "find_ffmpeg",
    "load_espeak",
    "run_ffmpeg",
]

FFMPEG_ENV = "FOOTAUDIO_FFMPEG"
FFMPEG_TIMEOUT_ENV = "FOOTAUDIO_FFMPEG_TIMEOUT"
DEFAULT_FFMPEG_TIMEOUT_S = 300.0
"""How long ffmpeg may go without progress (an encoder reading no audio, a measurement not finishing)."""


def ffmpeg_time_limit() -> float:
    """Seconds ffmpeg may make no progress before it is stopped (``FOOTAUDIO_FFMPEG_TIMEOUT``)."""
    from .errors import UsageError

    configured = os.environ.get(FFMPEG_TIMEOUT_ENV)
    if not configured:
        return DEFAULT_FFMPEG_TIMEOUT_S
    try:
        seconds = float(configured)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < 1e9:
        raise UsageError(
            f"{FFMPEG_TIMEOUT_ENV}={configured!r} is not a number of seconds; set it to e.g. 300, or unset it."
        )
    return seconds


def run_ffmpeg(arguments: list[str], *, what: str, text: bool = True) -> subprocess.CompletedProcess:
    """Run ffmpeg to completion with a time limit; its output is decoded leniently (never a traceback).

    ``what`` says what ffmpeg was doing, for the error if it hangs or does not run.
    """
    tool = find_ffmpeg()
    limit = ffmpeg_time_limit()
    try:
        result = subprocess.run([tool.path, *arguments], capture_output=True, timeout=limit)
    except subprocess.TimeoutExpired:
        raise EngineError(
            f"ffmpeg did not finish {what} within {limit:g} s and was stopped; "
            f"check {FFMPEG_ENV}, or raise {FFMPEG_TIMEOUT_ENV}."
        ) from None
    except OSError as exc:
        raise EngineError(
            f"ffmpeg at {tool.path} does not run ({exc.strerror}); reinstall it or set {FFMPEG_ENV}."
        ) from None
    if text:
        result.stdout = result.stdout.decode("utf-8", "replace")
        result.stderr = result.stderr.decode("utf-8", "replace")
    return result


@dataclass(frozen=True)
class Tool:
    """An external component and where it was found."""

    path: str
    """Executable or shared library path (or a driver name)."""

    source: str
    """Where it came from, e.g. ``FOOTAUDIO_FFMPEG``, ``system`` or ``imageio-ffmpeg wheel``."""


@functools.cache
def find_ffmpeg() -> Tool:
    """Return ffmpeg: ``FOOTAUDIO_FFMPEG``, else the system's, else the imageio-ffmpeg wheel's."""
    configured = os.environ.get(FFMPEG_ENV)
    if configured:
        path = shutil.which(configured)
        if path is None:
            raise EngineError(
                f"{FFMPEG_ENV}={configured!r} is not an executable ffmpeg; fix the path or unset {FFMPEG_ENV}."
            )
        return Tool(path, FFMPEG_ENV)
    system = shutil.which("ffmpeg")
    if system:
        return Tool(system, "system")
    try:
        import imageio_ffmpeg
    except ImportError:
        imageio_ffmpeg = None
    if imageio_ffmpeg is not None:
        try:
            return Tool(imageio_ffmpeg.get_ffmpeg_exe(), "imageio-ffmpeg wheel")
        except RuntimeError:
            pass
    raise EngineError(
        f"ffmpeg was not found; run 'pip install imageio-ffmpeg' or set {FFMPEG_ENV} to an ffmpeg executable."
    )


def ffmpeg_version(tool: Tool) -> str:
    """First line of ``ffmpeg -version``."""
    try:
        out = subprocess.run(
            [tool.path, "-hide_banner", "-version"], capture_output=True, text=True, errors="replace", timeout=20
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EngineError(f"ffmpeg at {tool.path} does not run ({exc}); reinstall it.") from exc
    return (out.stdout.splitlines() or ["unknown"])[0]


@functools.cache
def configure_pydub() -> None:
    """Import pydub quietly and point it at our ffmpeg.

    pydub warns at import time when no ffmpeg is on PATH, and on Python 3.12+ its
    regexes raise SyntaxWarnings; neither means anything for us, so both are muted.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pydub import AudioSegment
    AudioSegment.converter = find_ffmpeg().path


@functools.cache
def find_espeak() -> Tool:
    """Where eSpeak NG is, without loading it: a system eSpeak NG, else the ``espeakng-loader`` wheel's.

    Only meaningful on Linux; other platforms use pyttsx3's native drivers.
    """
    if not sys.platform.startswith("linux"):
        return Tool("pyttsx3 native driver", "system")
    system = ctypes.util.find_library("espeak-ng")
    if system:
        return Tool(system, "system")
    try:
        import espeakng_loader
    except ImportError as exc:
        raise EngineError(
            "eSpeak NG was not found; run 'pip install espeakng-loader' "
            "(or install eSpeak NG with your system's package manager)."
        ) from exc
    library = Path(espeakng_loader.get_library_path())
    soname = library.with_name("libespeak-ng.so.1")
    if soname.exists():
        library = soname
    if not library.is_file():
        raise EngineError(
            f"the espeakng-loader wheel has no eSpeak NG library at {library}; "
            "run 'pip install --force-reinstall espeakng-loader'."
        )
    return Tool(str(library), "espeakng-loader wheel")


@functools.cache
def load_espeak() -> Tool:
    """Make eSpeak NG loadable for pyttsx3, before pyttsx3's espeak driver is imported.

    The wheel's library is loaded with ``RTLD_GLOBAL``: pyttsx3 then finds it by its
    soname ``libespeak-ng.so.1``, and ``ESPEAK_DATA_PATH`` tells it where its voices are.
    Only the pyttsx3 worker process calls this: a globally loaded eSpeak NG clashes with
    the one Piper links in, so it must never be loaded in a process that may run Piper.
    """
    tool = find_espeak()
    if tool.source != "espeakng-loader wheel":
        return tool
    import espeakng_loader

    try:
        ctypes.CDLL(tool.path, mode=ctypes.RTLD_GLOBAL)
        data = espeakng_loader.get_data_path()
    except (OSError, RuntimeError) as exc:
        raise EngineError(
            f"the espeakng-loader wheel's eSpeak NG does not load ({exc}); "
            "run 'pip install --force-reinstall espeakng-loader'."
        ) from exc
    os.environ["ESPEAK_DATA_PATH"] = data
    return tool
