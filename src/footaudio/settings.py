"""The settings of one routine, validated once so later stages can trust them."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from difflib import get_close_matches

from .errors import UsageError

__all__ = [
    "AMBIENCES",
    "BITRATES",
    "CHIMES",
    "DEFAULT_MINUTES",
    "DEFAULT_RATE",
    "ENGINES",
    "MAX_MINUTES",
    "MIN_MINUTES",
    "MODES",
    "PRESSURES",
    "AudioOptions",
    "Settings",
]

MODES = ("solo", "partner")
ENGINES = ("auto", "pyttsx3", "piper")
"""``auto`` (the default) is the natural voice when ``footaudio[neural]`` is installed, else pyttsx3."""
PRESSURES = ("light", "medium", "firm")
MIN_MINUTES = 1.0
MAX_MINUTES = 90.0
"""Longest routine: the guided content (distinct steps and wording) fills up to 90 minutes without replaying itself."""
DEFAULT_MINUTES = 10.0
DEFAULT_RATE = 130
"""Relaxation narration is slow; 130 is also where both engines are heard best (scripts/listen.py)."""
MIN_RATE = 80
MAX_RATE = 260
DEFAULT_SEED = 1


def _suggest(value: str, choices: tuple[str, ...]) -> str:
    close = get_close_matches(value.lower(), choices, n=1, cutoff=0.5)
    return f"did you mean {close[0]!r}? " if close else ""


def _format_minutes(minutes: float) -> str:
    return f"{minutes:g}"


def minutes_phrase(minutes: float) -> str:
    """``1 minute``, ``7.5 minutes``: a length as the messages say it."""
    return f"{minutes:g} minute" + ("" if minutes == 1 else "s")


@dataclass(frozen=True)
class Settings:
    """Everything that decides what a routine says and how long it lasts."""

    minutes: float = DEFAULT_MINUTES
    """Length of the routine in minutes; the MP3 lasts exactly this long."""

    mode: str = "solo"
    """``solo`` (self-massage) or ``partner`` (a giver and a receiver)."""

    pressure: str = "light"
    """``light``, ``medium`` or ``firm``: picks the techniques and pacing."""

    voice: str | None = None
    """Speech engine voice id or name; ``None`` uses the engine's default voice."""

    rate: int = DEFAULT_RATE
    """Speech rate in words per minute; relaxation narration sits around 120 to 150."""

    seed: int = DEFAULT_SEED
    """Chooses among wordings; the same settings and seed give the same script."""

    engine: str = "auto"
    """Speech engine: ``auto`` (the best installed), ``pyttsx3`` (eSpeak NG, SAPI5, NSSpeechSynthesizer)
    or ``piper`` (the natural voice, from ``footaudio[neural]``)."""

    total_ms: int = field(init=False, repr=False, compare=False)
    """Requested length in milliseconds, a multiple of 10 so it is a whole number of samples."""

    def __post_init__(self) -> None:
        minutes = self.minutes
        if isinstance(minutes, bool) or not isinstance(minutes, int | float):
            raise UsageError(f"minutes must be a number, not {minutes!r}; use e.g. --minutes 10.")
        try:
            minutes = float(minutes)
        except OverflowError:
            raise UsageError(
                f"minutes must be a number from {MIN_MINUTES:g} to {MAX_MINUTES:g}; use e.g. --minutes 10."
            ) from None
        if not math.isfinite(minutes):
            raise UsageError(
                f"{minutes} is not a length; use --minutes with a number from {MIN_MINUTES:g} to {MAX_MINUTES:g}."
            )
        if minutes > MAX_MINUTES:
            raise UsageError(
                f"{minutes_phrase(minutes)} is longer than the guided content fills without repeating itself "
                f"(at most {MAX_MINUTES:g} minutes); use --minutes {MAX_MINUTES:g} or less."
            )
        if not MIN_MINUTES <= minutes <= MAX_MINUTES:
            raise UsageError(
                f"{minutes_phrase(minutes)} is out of range; use --minutes from {MIN_MINUTES:g} to {MAX_MINUTES:g}."
            )
        mode = str(self.mode).lower()
        if mode not in MODES:
            raise UsageError(
                f"unknown mode {self.mode!r}; {_suggest(str(self.mode), MODES)}use --mode {' or '.join(MODES)}."
            )
        pressure = str(self.pressure).lower()
        if pressure not in PRESSURES:
            raise UsageError(
                f"unknown pressure {self.pressure!r}; {_suggest(str(self.pressure), PRESSURES)}"
                f"use --pressure {', '.join(PRESSURES[:-1])} or {PRESSURES[-1]}."
            )
        if isinstance(self.rate, bool) or not isinstance(self.rate, int):
            raise UsageError(f"rate must be a whole number of words per minute, not {self.rate!r}.")
        if not MIN_RATE <= self.rate <= MAX_RATE:
            raise UsageError(
                f"a rate of {self.rate} words per minute is out of range; use --rate from {MIN_RATE} to {MAX_RATE}."
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise UsageError(f"seed must be a whole number, not {self.seed!r}; use e.g. --seed 3.")
        if self.voice is not None and not isinstance(self.voice, str):
            raise UsageError(f"voice must be a voice id or name in quotes, not {self.voice!r}.")
        if self.voice is not None and not self.voice.strip():
            raise UsageError("the voice name is empty; leave out --voice or run 'footaudio voices'.")
        if self.engine not in ENGINES:
            raise UsageError(
                f"unknown engine {self.engine!r}; {_suggest(str(self.engine), ENGINES)}"
                f"use --engine {', '.join(ENGINES[:-1])} or {ENGINES[-1]}."
            )
        object.__setattr__(self, "mode", mode)
        object.__setattr__(self, "pressure", pressure)
        object.__setattr__(self, "minutes", float(minutes))
        # Whole centiseconds keep the sample count at 44.1 kHz an integer.
        object.__setattr__(self, "total_ms", round(minutes * 6000) * 10)

    @property
    def name(self) -> str:
        """A file-name stem such as ``partner-firm-7min`` (seed added when not the default)."""
        stem = f"{self.mode}-{self.pressure}-{_format_minutes(self.minutes)}min"
        if self.seed != DEFAULT_SEED:
            stem += f"-seed{self.seed}"
        return stem if self.engine == ENGINES[0] else f"{stem}-{self.engine}"

    @property
    def title(self) -> str:
        """A human title such as ``Partner foot massage, firm, 7 min``."""
        return f"{self.mode.capitalize()} foot massage, {self.pressure}, {_format_minutes(self.minutes)} min"

    def to_dict(self) -> dict[str, object]:
        """The settings as plain values (for JSON and tags)."""
        values = asdict(self)
        values.pop("total_ms", None)
        return values


BITRATES = (64, 96, 112, 128, 160, 192, 224, 256, 320)
CHIMES = ("soft", "bell", "none")
AMBIENCES = ("none", "rain", "ocean", "brown")
LOUDNESS_RANGE = (-30.0, -15.0)
COVER_LIMIT = 5_000_000
"""Largest cover image accepted, in bytes: players show a few hundred pixels."""
COVER_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}


@dataclass(frozen=True)
class AudioOptions:
    """How a routine sounds and is packaged; the narration does not depend on these."""

    bitrate: int = 128
    """Constant MP3 bit rate in kbit/s."""

    loudness: float = -16.0
    """Integrated loudness target in LUFS (true peak stays at or below -1 dBTP)."""

    chime: str = "soft"
    """Chime style: ``soft``, ``bell`` or ``none`` (silence of the same length)."""

    ambience: str = "none"
    """Background sound under the routine: ``none``, ``rain``, ``ocean`` or ``brown`` noise."""

    captions: bool = False
    """Write WebVTT and LRC captions beside the MP3 and embed synchronized lyrics."""

    cover: str | None = None
    """Path of a JPEG or PNG cover image, or ``None`` for no cover."""

    def __post_init__(self) -> None:
        if isinstance(self.bitrate, bool) or not isinstance(self.bitrate, int):
            raise UsageError(f"bitrate must be a whole number, not {self.bitrate!r}; use e.g. --bitrate 128.")
        if isinstance(self.loudness, bool) or not isinstance(self.loudness, int | float):
            raise UsageError(f"loudness must be a number, not {self.loudness!r}; use e.g. --loudness -16.")
        try:
            loudness = float(self.loudness)
        except OverflowError:
            loudness = math.inf
        if self.bitrate not in BITRATES:
            raise UsageError(
                f"a bit rate of {self.bitrate} kbps is not an MP3 rate; use --bitrate "
                f"{', '.join(map(str, BITRATES[:-1]))} or {BITRATES[-1]}."
            )
        low, high = LOUDNESS_RANGE
        if not math.isfinite(loudness) or not low <= loudness <= high:
            shown = "so many" if isinstance(self.loudness, int) and not math.isfinite(loudness) else f"{loudness:g}"
            raise UsageError(f"a loudness of {shown} LUFS is out of range; use --loudness from {low:g} to {high:g}.")
        for name, value, choices in (("chime", self.chime, CHIMES), ("ambience", self.ambience, AMBIENCES)):
            if value not in choices:
                raise UsageError(
                    f"unknown {name} {value!r}; {_suggest(str(value), choices)}"
                    f"use --{name} {', '.join(choices[:-1])} or {choices[-1]}."
                )
        if not isinstance(self.captions, bool):
            raise UsageError(f"captions must be true or false, not {self.captions!r}.")
        if self.cover is not None and (not isinstance(self.cover, str) or not self.cover or "\0" in self.cover):
            raise UsageError(f"cover must be the path of an image, not {self.cover!r}.")
        object.__setattr__(self, "loudness", loudness)

    def cover_image(self, option: str = "--cover") -> tuple[bytes, str] | None:
        """The cover's bytes and MIME type, checked; ``None`` without a cover.

        ``option`` is how the user gave the cover, for the error message.
        """
        if self.cover is None:
            return None
        from .files import read_regular

        try:
            data = read_regular(self.cover, COVER_LIMIT)
        except OSError as exc:
            raise UsageError(f"cannot read the cover image {self.cover} ({exc.strerror}); check {option}.") from exc
        except ValueError as exc:
            raise UsageError(
                f"cover image {self.cover} is {exc}; use {option} with a JPEG or PNG file of at most "
                f"{COVER_LIMIT // 1_000_000} MB."
            ) from None
        for magic, mime in COVER_TYPES.items():
            if data.startswith(magic):
                return data, mime
        raise UsageError(f"cover image {self.cover} is not a JPEG or PNG file; use {option} with a .jpg or .png.")

    def to_dict(self) -> dict[str, object]:
        """The options as plain values (for JSON and tags)."""
        return asdict(self)
