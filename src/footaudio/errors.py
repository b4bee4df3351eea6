"""The one error family footaudio raises, and the exit statuses the CLI maps it to."""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "EngineError",
    "ExitStatus",
    "FootaudioError",
    "Interrupted",
    "RenderError",
    "TemplateError",
    "UsageError",
]


class ExitStatus(IntEnum):
    """Process exit codes of the ``footaudio`` command."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    INTERRUPTED = 130


class FootaudioError(Exception):
    """Base of every error footaudio raises on purpose.

    The message is a single line meant for a person: what is wrong and what to do.
    """

    exit_status: ExitStatus = ExitStatus.FAILURE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(FootaudioError):
    """The user asked for something that cannot work (bad settings, paths, voices)."""

    exit_status = ExitStatus.USAGE


class TemplateError(UsageError):
    """A narration template could not be rendered or did not produce a valid script."""


class EngineError(FootaudioError):
    """A speech engine or ffmpeg is missing, failed, hung or produced no audio."""


class RenderError(FootaudioError):
    """Writing the routine failed (disk, permissions, encoder)."""


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM arrived; raised from the signal handler so cleanup code runs.

    A ``BaseException`` so that code catching failures (``FootaudioError``, ``Exception``)
    never swallows a user's request to stop.
    """

    def __init__(self, signum: int, message: str = "interrupted; nothing was written.") -> None:
        super().__init__(signum)
        self.signum = signum
        self.message = message
        """What the user is told: the truth about what was written before the stop."""
