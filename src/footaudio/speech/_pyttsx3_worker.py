"""Child process that drives pyttsx3, one sentence per request.

pyttsx3 runs here, not in the footaudio process, so that a stuck engine can be
killed after a time limit, and its prints cannot reach footaudio's output.
Protocol: one JSON object per line on stdin, one JSON reply per line on stdout.
"""

from __future__ import annotations

import contextlib
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


def _say(engine, text: str, path: str) -> tuple[int, int]:
    """Speak ``text`` into ``path``; returns (frames, sample rate), frames 0 if it stayed empty.

    pyttsx3's eSpeak driver now and then writes a WAV with no samples (about one
    sentence in forty here, seemingly when its callback races the end of the
    utterance); saying it again works, so a few quiet retries happen here.
    """
    frames, rate = 0, 0
    for _ in range(EMPTY_RETRIES):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        engine.save_to_file(text, path)
        engine.runAndWait()
        _wait_until_spoken(engine)
        if os.path.exists(path) and os.path.getsize(path) > 44:
            frames, rate = _check_wav(path)
            if frames > 0:
                break
    return frames, rate


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
                if request.get("voice"):
                    engine.setProperty("voice", request["voice"])
                engine.setProperty("rate", int(request["rate"]))
                frames, rate = _say(engine, request["text"], path)
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
