"""Finds ffmpeg and eSpeak NG, once and on first use, and says how to fix a missing one.

The product, ``footaudio doctor`` and the tests' skip marks all ask this module.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import re
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
        result: subprocess.CompletedProcess[Any] = subprocess.run(
            [tool.path, *arguments], capture_output=True, timeout=limit
        )
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


FFMPEG_NEEDS = (("encoder", "libmp3lame"), ("filter", "ebur128"), ("filter", "alimiter"))
"""What footaudio uses from ffmpeg: the MP3 encoder, loudness measurement and the peak limiter."""


@dataclass(frozen=True)
class Tool:
    """An external component and where it was found."""

    path: str
    """Executable or shared library path (or a driver name)."""

    source: str
    """Where it came from, e.g. ``FOOTAUDIO_FFMPEG``, ``system`` or ``imageio-ffmpeg wheel``."""

    why: str = ""
    """Why this one is used (ffmpeg), e.g. ``the bundled one, for the same audio on every machine``."""

    version: str = ""
    """The first line of ``ffmpeg -version``, without the copyright (ffmpeg)."""


def _ffmpeg_problem(path: str) -> tuple[str, str | None]:
    """``(version, None)`` for an ffmpeg that runs and has everything in FFMPEG_NEEDS, else ``("", problem)``."""
    listings = {}
    limit = min(30.0, ffmpeg_time_limit())
    for what in ("version", "encoders", "filters"):
        try:
            run = subprocess.run(
                [path, "-hide_banner", f"-{what}"], capture_output=True, text=True, errors="replace", timeout=limit
            )
        except subprocess.TimeoutExpired:
            return "", f"did not answer '-{what}' within {limit:g} s"
        except OSError as exc:
            return "", f"does not run ({exc.strerror or exc})"
        if run.returncode != 0:
            last = (run.stderr.strip().splitlines() or [f"exit code {run.returncode}"])[-1].strip()
            return "", f"does not run ({last})"
        listings[what] = run.stdout
    missing = [
        name
        for kind, name in FFMPEG_NEEDS
        if not re.search(rf"^\s*\S+\s+{name}\s", listings["encoders" if kind == "encoder" else "filters"], re.MULTILINE)
    ]
    if missing:
        return "", f"lacks {' and '.join(missing)}"
    return (listings["version"].splitlines() or ["ffmpeg"])[0].split(" Copyright")[0], None


def _bundled_ffmpeg() -> tuple[str | None, str]:
    """The imageio-ffmpeg wheel's ffmpeg, or ``None`` and why there is none."""
    try:
        import imageio_ffmpeg
    except ImportError:
        return None, "the imageio-ffmpeg wheel is not installed"
    try:
        return imageio_ffmpeg.get_ffmpeg_exe(), ""
    except RuntimeError:
        return None, "the imageio-ffmpeg wheel has no ffmpeg for this platform"


@functools.cache
def find_ffmpeg() -> Tool:
    """Return the ffmpeg to use: the one ``FOOTAUDIO_FFMPEG`` names, else the bundled one, else the system's.

    The bundled ffmpeg (the imageio-ffmpeg wheel's) comes first, so the same settings give
    the same audio on every machine. Any ffmpeg is checked before use: it must run and
    have libmp3lame, ebur128 and alimiter.
    """
    needs = "libmp3lame, ebur128 and alimiter"
    configured = os.environ.get(FFMPEG_ENV)
    if configured:
        path = shutil.which(configured)
        if path is None:
            raise EngineError(
                f"{FFMPEG_ENV}={configured!r} is not an executable ffmpeg; fix the path or unset {FFMPEG_ENV}."
            )
        version, problem = _ffmpeg_problem(path)
        if problem:
            raise EngineError(
                f"{FFMPEG_ENV}={configured!r} {problem}; use an ffmpeg that runs and has {needs}, "
                f"or unset {FFMPEG_ENV} to use the bundled ffmpeg."
            )
        return Tool(path, FFMPEG_ENV, f"{FFMPEG_ENV} names it", version)
    bundled, why_not = _bundled_ffmpeg()
    if bundled is not None:
        version, problem = _ffmpeg_problem(bundled)
        if not problem:
            return Tool(
                bundled, "imageio-ffmpeg wheel", "the bundled one, for the same audio on every machine", version
            )
        why_not = f"the imageio-ffmpeg wheel's ffmpeg {problem}"
    system = shutil.which("ffmpeg")
    if system is None:
        raise EngineError(
            f"ffmpeg was not found ({why_not}); run 'pip install --force-reinstall imageio-ffmpeg' "
            f"or set {FFMPEG_ENV} to an ffmpeg executable with {needs}."
        )
    version, problem = _ffmpeg_problem(system)
    if problem:
        raise EngineError(
            f"no usable ffmpeg: {why_not}, and the system's ffmpeg at {system} {problem}; "
            f"run 'pip install --force-reinstall imageio-ffmpeg' or set {FFMPEG_ENV} to an ffmpeg with {needs}."
        )
    return Tool(system, "system", f"{why_not}, so the system's is used", version)


def ffmpeg_version(tool: Tool) -> str:
    """First line of ``ffmpeg -version`` (without the copyright)."""
    if tool.version:
        return tool.version
    version, problem = _ffmpeg_problem(tool.path)
    if problem:
        raise EngineError(f"ffmpeg at {tool.path} {problem}; reinstall it.")
    return version


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
