"""Child process that drives pyttsx3, one sentence per request.

pyttsx3 runs here, not in the footaudio process, so that a stuck engine can be
killed after a time limit, and its prints cannot reach footaudio's output.
Protocol: one JSON object per line on stdin, one JSON reply per line on stdout.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import sys
import time
import wave


def _reply(channel, message: dict) -> None:
    channel.write(json.dumps(message) + "\n")
    channel.flush()


def _check_wav(path: str) -> tuple[int, int]:
    with wave.open(path, "rb") as clip:
        return clip.getnframes(), clip.getframerate()


EMPTY_RETRIES = 4


def _wait_until_spoken(engine) -> None:
    """Wait until the driver has really finished the utterance and written its file.

    pyttsx3's eSpeak driver can return from ``runAndWait`` while eSpeak is still
    producing audio (always for a fresh engine's first long sentence); the file is
    written later, from eSpeak's callback. The parent's time limit still applies.
    """
    driver = getattr(getattr(engine, "proxy", None), "_driver", None)
    while getattr(driver, "_speaking", False):
        time.sleep(0.005)


class _Espeak:
    """Sets voice and rate on eSpeak NG so that they hold for the next utterance.

    eSpeak NG runs in asynchronous mode under pyttsx3: ``espeak_SetParameter`` only
    queues the new rate for eSpeak's own thread. pyttsx3's ``runAndWait`` then stops
    its loop, and that calls ``espeak_Cancel`` whenever eSpeak's queue is busy, with
    the queued rate or the end of the previous sentence. Cancel drops the queued rate
    and restores the last applied one, so the sentence came out at the previous rate.
    Here eSpeak's queue is drained before and after setting the rate (nothing is
    left to cancel), and the rate eSpeak holds is read back before speaking.
    """

    def __init__(self, engine) -> None:
        from pyttsx3.drivers import _espeak

        self._espeak = _espeak
        self._driver = engine.proxy._driver
        # pyttsx3's GetParameter wrapper leaves out the "current value" argument.
        self._get_parameter = _espeak.dll.espeak_GetParameter
        self._get_parameter.argtypes = [ctypes.c_int, ctypes.c_int]
        self._get_parameter.restype = ctypes.c_int

    def settle(self) -> None:
        """Wait until eSpeak's queue is empty and its thread idle."""
        self._espeak.Synchronize()

    def apply(self, voice: str | None, rate: int) -> None:
        """Voice and rate, in force when this returns (the driver's setters, not pyttsx3's queue)."""
        self.settle()
        if voice:
            self._driver.setProperty("voice", voice)  # synchronous in eSpeak NG
        self._driver.setProperty("rate", rate)  # queued in eSpeak NG
        self.settle()
        applied = self._get_parameter(self._espeak.RATE, 1)
        if applied != rate:
            raise RuntimeError(f"eSpeak NG holds a rate of {applied} words a minute, not {rate}")


def _say(engine, text: str, path: str, espeak: _Espeak | None = None) -> tuple[int, int]:
    """Speak ``text`` into ``path``; returns (frames, sample rate), frames 0 if it stayed empty.

    pyttsx3's eSpeak driver used to write a WAV with no samples now and then (3 of
    300 sentences), when a stray ``espeak_Cancel`` (see ``_Espeak``) cut the utterance;
    with eSpeak settled first none of 300 came out empty. Saying it again works, so
    a few quiet retries stay here as a safety net.
    """
    frames, rate = 0, 0
    for _ in range(EMPTY_RETRIES):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        engine.save_to_file(text, path)
        engine.runAndWait()
        _wait_until_spoken(engine)
        if espeak is not None:
            espeak.settle()  # the utterance's last callback has returned
        if os.path.exists(path) and os.path.getsize(path) > 44:
            frames, rate = _check_wav(path)
            if frames > 0:
                break
    return frames, rate


_VOICE_IDS: set[str] = set()


def known_voices(engine) -> set[str]:
    """The ids of the engine's voices (read once)."""
    if not _VOICE_IDS:
        _VOICE_IDS.update(str(v.id) for v in engine.getProperty("voices"))
    return _VOICE_IDS


def main() -> int:
    # Keep the real stdout for replies; pyttsx3's own prints go to stderr.
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        from footaudio.tools import load_espeak

        espeak = load_espeak()
        import pyttsx3

        engine = pyttsx3.init()
        driver = type(engine.proxy._driver).__module__.rsplit(".", 1)[-1]
        default_voice = engine.getProperty("voice")
        synced = _Espeak(engine) if driver == "espeak" else None
    except Exception as exc:
        _reply(channel, {"error": f"{type(exc).__name__}: {exc}"})
        return 1
    _reply(
        channel,
        {
            "ready": True,
            "driver": driver,
            "library": espeak.path,
            "library_source": espeak.source,
            "default_voice": default_voice,
        },
    )
    for line in sys.stdin:
        request = json.loads(line)
        op = request.get("op")
        try:
            if op == "quit":
                break
            if op == "voices":
                voices = [
                    {"id": str(v.id), "name": str(v.name or v.id), "languages": [str(x) for x in (v.languages or [])]}
                    for v in engine.getProperty("voices")
                ]
                _reply(channel, {"voices": voices})
            elif op == "say":
                path = request["path"]
                voice = request.get("voice")
                if voice and request.get("fallback") and voice not in known_voices(engine):
                    voice = None  # a preferred voice this eSpeak lacks: its own default speaks
                if synced is not None:
                    synced.apply(voice, int(request["rate"]))
                else:
                    if voice:
                        engine.setProperty("voice", voice)
                    engine.setProperty("rate", int(request["rate"]))
                frames, rate = _say(engine, request["text"], path, synced)
                if frames == 0:
                    _reply(channel, {"error": "the engine wrote no audio"})
                    continue
                _reply(channel, {"frames": frames, "rate": rate})
            else:
                _reply(channel, {"error": f"unknown request {op!r}"})
        except Exception as exc:
            _reply(channel, {"error": f"{type(exc).__name__}: {exc}"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
