"""pyttsx3 (eSpeak NG, SAPI5 or NSSpeechSynthesizer), driven in a worker process.

Only this module and its worker (``_pyttsx3_worker``) touch pyttsx3.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import math
import os
import queue
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO

from ..errors import EngineError, UsageError
from .engine import Voice

__all__ = ["TIMEOUT_ENV", "Pyttsx3Synthesizer", "pyttsx3_engine_id", "speech_timeout"]

TIMEOUT_ENV = "FOOTAUDIO_SPEECH_TIMEOUT"
DEFAULT_TIMEOUT_S = 30.0
ESPEAK_SLOWEST_RATE = 85  # eSpeak NG (through pyttsx3) speaks anything slower at this rate: 73 to 84 gave the same clip
ESPEAK_RATE_SCALE = 0.915
"""eSpeak NG speaks routine sentences about 9% faster than the rate it is given: 130 gave 143 words a
minute as heard, 120 gave 131 and 115 gave 125 (scripts/listen.py, words over the clips as cached).
It is given the asked rate times this, so what is heard is what was asked."""
ESPEAK_PREFERRED_VOICE = "gmw/en-us"


def speech_timeout() -> float:
    """Seconds a sentence may take: ``FOOTAUDIO_SPEECH_TIMEOUT``, else the default."""
    configured = os.environ.get(TIMEOUT_ENV)
    if configured is None:
        return DEFAULT_TIMEOUT_S
    try:
        seconds = float(configured)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds < 86_400:
        raise UsageError(f"{TIMEOUT_ENV}={configured!r} is not a number of seconds; set it to e.g. 30, or unset it.")
    return seconds


def pyttsx3_engine_id() -> str:
    """The engine id pyttsx3 has on this platform (its default driver)."""
    if sys.platform == "win32":
        return "pyttsx3-sapi5"
    if sys.platform == "darwin":
        return "pyttsx3-nsss"
    return "pyttsx3-espeak"


def _read_replies(process: subprocess.Popen[str], replies: queue.Queue[dict | None]) -> None:
    """Put each JSON reply of one worker process into that process's queue; ``None`` at its end."""
    for line in process.stdout:  # type: ignore[union-attr]
        with contextlib.suppress(json.JSONDecodeError):
            replies.put(json.loads(line))
    replies.put(None)


class Pyttsx3Synthesizer:
    """pyttsx3 (eSpeak NG, SAPI5 or NSSpeechSynthesizer) in a worker process.

    A worker process sidesteps pyttsx3's known traps: a second ``runAndWait`` that
    hangs or refuses to run, queued ``save_to_file`` calls that keep one file, and
    prints on stdout. Each sentence has a time limit; a stuck worker is killed.
    """

    worker_command: tuple[str, ...] = (sys.executable, "-m", "footaudio.speech._pyttsx3_worker")

    def __init__(self, timeout_s: float | None = None) -> None:
        if timeout_s is None:
            timeout_s = speech_timeout()
        self.timeout_s = timeout_s
        self._process: subprocess.Popen[str] | None = None
        # The replies of the running worker process; each process has a queue of its own.
        self._replies: queue.Queue[dict | None] = queue.Queue()
        self._log: IO[str] | None = None
        self._closes_at_exit = False
        self.info: dict = {}

    @property
    def engine_id(self) -> str:
        """``pyttsx3-<driver>``, e.g. ``pyttsx3-espeak``; known without starting the engine."""
        return pyttsx3_engine_id()

    @property
    def preferred_voice(self) -> str | None:
        """The voice used when none is chosen: eSpeak NG's American English (scripts/listen.py).

        With Whisper base its British voices are heard about as well, within the run-to-run noise;
        the pronunciation lexicon (script/lexicon.py) is measured for this voice.
        """
        return ESPEAK_PREFERRED_VOICE if self.engine_id == "pyttsx3-espeak" else None

    @property
    def slowest_rate(self) -> int | None:
        """Words per minute asked below which the engine speaks no slower (eSpeak NG: 93), if known."""
        return math.ceil(ESPEAK_SLOWEST_RATE / ESPEAK_RATE_SCALE) if self.engine_id == "pyttsx3-espeak" else None

    def engine_rate(self, rate: int) -> int:
        """The rate the engine is given for ``rate`` words a minute as heard (eSpeak NG: scaled)."""
        return round(rate * ESPEAK_RATE_SCALE) if self.engine_id == "pyttsx3-espeak" else rate

    @property
    def default_voice(self) -> str | None:
        """The voice used when none is chosen: the preferred one, else the engine's own default."""
        if self.preferred_voice is not None:
            return self.preferred_voice
        self._ensure_started()
        return self.info.get("default_voice")

    def voices(self) -> list[Voice]:
        reply = self._request({"op": "voices"}, self.timeout_s)
        return [Voice(v["id"], v["name"], tuple(v.get("languages", ()))) for v in reply["voices"]]

    def synthesize(self, text: str, voice: str | None, rate: int, path: Path) -> None:
        limit = self.timeout_s + len(text) / 20
        # The preferred voice may be missing from an older system eSpeak: then the engine's own default speaks.
        request = {"op": "say", "text": text, "voice": voice, "rate": self.engine_rate(rate), "path": str(path)}
        request["fallback"] = voice is not None and voice == self.preferred_voice
        try:
            self._request(request, limit)
        except EngineError:
            # A fresh worker gets one more try: engines sometimes wedge after a bad sentence.
            self.close()
            self._request(request, limit)

    def close(self) -> None:
        """Stop the worker process."""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(OSError, ValueError):
            process.stdin.write(json.dumps({"op": "quit"}) + "\n")  # type: ignore[union-attr]
            process.stdin.flush()  # type: ignore[union-attr]
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def _ensure_started(self) -> None:
        if self._process is not None and self._process.poll() is None:
            return
        # A new queue per worker process, handed to its own reader thread: the reader of a
        # killed worker may still be reading (a helper process of the engine can hold its
        # stdout open), and whatever it gets then, its end-of-output marker included, goes
        # into the dead worker's queue, never into the new worker's.
        replies: queue.Queue[dict | None] = queue.Queue()
        self._replies = replies
        if self._log is not None:
            self._log.close()  # a killed worker's
        # Lives as long as the worker (closed in close()), to quote its last words on a crash.
        self._log = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        try:
            self._process = subprocess.Popen(
                self.worker_command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._log,
                text=True,
                encoding="utf-8",
                bufsize=1,
            )
        except OSError as exc:
            raise EngineError(f"cannot start the speech engine ({exc}); reinstall footaudio.") from exc
        if not self._closes_at_exit:
            atexit.register(self.close)
            self._closes_at_exit = True
        threading.Thread(target=_read_replies, args=(self._process, replies), daemon=True).start()
        hello = self._wait(self.timeout_s, "starting the speech engine")
        if "error" in hello:
            self.close()
            raise EngineError(
                f"the speech engine pyttsx3 does not start ({hello['error']}); "
                "run 'pip install pyttsx3 espeakng-loader' or install eSpeak NG."
            )
        self.info = hello

    def _request(self, message: dict, limit: float) -> dict:
        self._ensure_started()
        process = self._process
        try:
            process.stdin.write(json.dumps(message) + "\n")  # type: ignore[union-attr]
            process.stdin.flush()  # type: ignore[union-attr]
        except (OSError, ValueError) as exc:
            self.close()
            raise EngineError(f"the speech engine stopped unexpectedly ({exc}); try again.") from exc
        what = f"speaking {message['text'][:50]!r}" if "text" in message else "listing voices"
        reply = self._wait(limit, what)
        if "error" in reply:
            raise EngineError(f"the speech engine failed while {what}: {reply['error']}.")
        return reply

    def _wait(self, limit: float, what: str) -> dict:
        try:
            reply = self._replies.get(timeout=limit)
        except queue.Empty:
            self._kill()
            raise EngineError(
                f"the speech engine did not finish {what} within {limit:.0f} s and was stopped; "
                f"try again, or raise {TIMEOUT_ENV}."
            ) from None
        if reply is None:
            detail = self._log_tail()
            self._kill()
            raise EngineError(f"the speech engine exited while {what}{detail}; run 'footaudio voices' to check it.")
        return reply

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def _log_tail(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        lines = [line.strip() for line in self._log.read().splitlines() if line.strip()]
        return f" ({lines[-1][:200]})" if lines else ""
