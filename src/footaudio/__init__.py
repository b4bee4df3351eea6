"""footaudio: narrated, exactly timed MP3 routines that guide a foot massage.

Use it from Python as ``footaudio.render(Settings(minutes=7, mode="partner"), "out/x.mp3")``.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import EngineError, ExitStatus, FootaudioError, RenderError, TemplateError, UsageError
from .pipeline import RenderResult, Routine, build_script, plan, render
from .settings import MODES, PRESSURES, AudioOptions, Settings

__all__ = [
    "MODES",
    "PRESSURES",
    "AudioOptions",
    "EngineError",
    "ExitStatus",
    "FootaudioError",
    "RenderError",
    "RenderResult",
    "Routine",
    "Settings",
    "TemplateError",
    "UsageError",
    "__version__",
    "build_script",
    "plan",
    "render",
]
