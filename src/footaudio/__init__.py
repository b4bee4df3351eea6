"""footaudio: narrated, exactly timed MP3 routines that guide a foot massage.

Everything the ``footaudio`` command does is callable from here, e.g.
``footaudio.render(Settings(minutes=7, mode="partner"), "out/x.mp3")``.
"""

from __future__ import annotations

from ._version import __version__
from .audio.tags import SetContext
from .doctor import Check, doctor
from .errors import EngineError, ExitStatus, FootaudioError, RenderError, TemplateError, UsageError
from .info import RoutineInfo, info
from .pipeline import RenderResult, Routine, build_script, plan, render
from .script.pacing import PacingReport, check_pacing
from .script.views import as_json, as_ssml, as_text
from .sets import BatchReport, RoutineSet, load_set_file, rebuild_index, render_set, set_from_lists
from .settings import MODES, PRESSURES, AudioOptions, Settings
from .speech.engine import EngineVoices, Voice
from .speech.engine import list_voices as voices

__all__ = [
    "MODES",
    "PRESSURES",
    "AudioOptions",
    "BatchReport",
    "Check",
    "EngineError",
    "EngineVoices",
    "ExitStatus",
    "FootaudioError",
    "PacingReport",
    "RenderError",
    "RenderResult",
    "Routine",
    "RoutineInfo",
    "RoutineSet",
    "SetContext",
    "Settings",
    "TemplateError",
    "UsageError",
    "Voice",
    "__version__",
    "as_json",
    "as_ssml",
    "as_text",
    "build_script",
    "check_pacing",
    "doctor",
    "info",
    "load_set_file",
    "plan",
    "rebuild_index",
    "render",
    "render_set",
    "set_from_lists",
    "voices",
]
