"""Routine sets: a TOML set file (or option lists) expanded into named, numbered routines.

Everything is validated before anything is rendered; an error names the file, the
line where it can be found, and the key.
"""

from __future__ import annotations

import itertools
import re
import tomllib
import unicodedata
from dataclasses import dataclass, fields
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..script.templating import check_templates_dir
from ..settings import AudioOptions, Settings

__all__ = ["RoutineSet", "RoutineSpec", "load_set_file", "set_from_lists"]

SETTING_KEYS = tuple(f.name for f in fields(Settings) if f.init)
AUDIO_KEYS = tuple(f.name for f in fields(AudioOptions))
ROUTINE_KEYS = (*SETTING_KEYS, *AUDIO_KEYS, "name")
MATRIX_KEYS = ("minutes", "mode", "pressure", "seed", "voice", "rate", "engine")
TOP_KEYS = ("name", "output", "templates", "defaults", "matrix", "routine")
DEFAULT_SET_NAME = "footaudio routines"


@dataclass(frozen=True)
class RoutineSpec:
    """One routine of a set, with its place and file name."""

    track: int
    """1-based position in the set (the track number)."""

    settings: Settings
    """What the routine says and how long it lasts."""

    options: AudioOptions
    """How it sounds and is packaged."""

    stem: str
    """File name without ``.mp3``, e.g. ``03-partner-firm-20min``."""

    @property
    def filename(self) -> str:
        """The MP3's file name."""
        return f"{self.stem}.mp3"


@dataclass(frozen=True)
class RoutineSet:
    """A named, ordered set of routines."""

    name: str
    """The set's name: the album tag of every file."""

    routines: tuple[RoutineSpec, ...]
    """The routines in playing order."""

    output: Path | None = None
    """Output folder named by the set file, if any."""

    templates: Path | None = None
    """Templates folder named by the set file, if any."""

    @property
    def folder(self) -> Path:
        """Where the set goes unless told otherwise: the set file's ``output``, else ``out/<name>``."""
        return self.output or Path("out") / _slug(self.name)


_SLUG_BYTES = 120
"""Longest slug in UTF-8 bytes: well inside every file system's 255-byte name limit."""

_RESERVED = {"con", "prn", "aux", "nul", *(f"com{n}" for n in range(10)), *(f"lpt{n}" for n in range(10))}
"""Names Windows refuses for files and folders, whatever the extension."""


def _slug(text: str) -> str:
    """A file and folder name that keeps the letters of every alphabet: ``Füße am Abend`` -> ``füße-am-abend``.

    Letters, marks and digits stay (lower-cased, NFC); every other run of characters becomes
    one ``-``, so no slash, dot, quote or control character reaches the file system.
    """
    kept = "".join(
        char if unicodedata.category(char)[0] in "LMN" else " " for char in unicodedata.normalize("NFC", text.lower())
    )
    slug = "-".join(kept.split())
    while len(slug.encode()) > _SLUG_BYTES:
        slug = slug[:-1]
    slug = unicodedata.normalize("NFC", slug.strip("-"))
    if slug in _RESERVED:
        slug += "-set"
    return slug or "routine"


def _line_of(text: str, table: str | None, key: str, occurrence: int = 0) -> int | None:
    """Best-effort line number of ``key`` in ``[table]`` (or the ``occurrence``-th ``[[table]]``)."""
    current: str | None = None
    seen: dict[str, int] = {}
    key_line = re.compile(rf"^\s*(\"{re.escape(key)}\"|{re.escape(key)})\s*=")
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?", line)
        if header:
            current = header.group(1)
            seen[current] = seen.get(current, -1) + 1
            continue
        in_table = current == table and (table is None or seen.get(table, 0) == occurrence)
        if (in_table or (table is None and current is None)) and key_line.match(line):
            return number
    return None


SET_FILE_LIMIT = 1_000_000
"""Largest set file read, in bytes."""


class _SetFile:
    """Reads one set file and turns its problems into located, one-line errors."""

    def __init__(self, path: Path) -> None:
        self.path = path
        from ..files import read_regular

        try:
            self.text = read_regular(path, SET_FILE_LIMIT).decode("utf-8")
        except FileNotFoundError:
            raise UsageError(f"set file {path} does not exist; check the path.") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read set file {path} ({exc}); check the file.") from None
        except ValueError as exc:  # a FIFO, a device, a folder, a huge file
            raise UsageError(
                f"set file {path} is {exc}; give a TOML file of at most {SET_FILE_LIMIT // 1_000_000} MB."
            ) from None
        try:
            self.data = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"{path} is not valid TOML ({exc}); fix the syntax.") from None
        except RecursionError:
            raise UsageError(f"{path} nests tables or arrays too deeply; flatten it.") from None

    def error(self, message: str, table: str | None = None, key: str | None = None, occurrence: int = 0) -> UsageError:
        line = _line_of(self.text, table, key, occurrence) if key else None
        where = f"{self.path}, line {line}" if line else str(self.path)
        return UsageError(f"{where}: {message}")

    def check_keys(self, mapping: dict, allowed: tuple[str, ...], table: str | None, occurrence: int = 0) -> None:
        for key in mapping:
            if key not in allowed:
                close = get_close_matches(key, allowed, n=1, cutoff=0.6)
                hint = f"did you mean {close[0]!r}? " if close else ""
                label = f"[{table}]" if table else "the top level"
                raise self.error(
                    f"unknown key {key!r} in {label}; {hint}allowed: {', '.join(allowed)}.", table, key, occurrence
                )

    def table(self, key: str) -> dict[str, Any]:
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            raise self.error(f"{key!r} must be a table ([{key}]).", None, key)
        return value

    def path_value(self, key: str) -> Path | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise self.error(f"{key!r} must be a folder path in quotes.", None, key)
        return (self.path.parent / value).resolve()


Origin = tuple[str, int]
"""Where a value was set in a set file: the table and, for [[routine]], which entry."""


def _culprit(values: dict[str, Any]) -> str | None:
    """The first key whose value is wrong on its own (to point at its line)."""
    for key, value in values.items():
        try:
            if key in SETTING_KEYS:
                Settings(**{key: value})
            elif key in AUDIO_KEYS:
                AudioOptions(**{key: value}).cover_image("'cover'")
        except (UsageError, TypeError):
            return key
    return None


def _build(
    rows: list[tuple[dict[str, Any], dict[str, Origin]]],
    relative_to: Path | None,
    fail: Any,
) -> tuple[RoutineSpec, ...]:
    """Validate each row of values into a RoutineSpec; ``fail(message, table, key, occurrence)`` makes errors."""
    width = max(2, len(str(len(rows))))
    specs: list[RoutineSpec] = []
    stems: dict[str, int] = {}
    cover_option = "'cover'" if relative_to is not None else "--cover"
    for track, (values, origins) in enumerate(rows, start=1):
        values = dict(values)
        if isinstance(values.get("cover"), str) and relative_to is not None and "\0" not in values["cover"]:
            values["cover"] = str((relative_to / values["cover"]).resolve())

        def problem(message: str, key: str | None, track: int = track, origins=origins) -> UsageError:
            key = key if key in origins else next(iter(origins), None)
            table, occurrence = origins.get(key, (None, 0)) if key else (None, 0)
            # From option lists every routine shares the values, so naming one would mislead.
            where = f"routine {track}: " if relative_to is not None else ""
            return fail(f"{where}{message}", table, key, occurrence)

        try:
            settings = Settings(**{k: v for k, v in values.items() if k in SETTING_KEYS})
            options = AudioOptions(**{k: v for k, v in values.items() if k in AUDIO_KEYS})
            options.cover_image(cover_option)
        except (UsageError, TypeError) as exc:
            raise problem(str(exc), _culprit(values)) from None
        label = values.get("name")
        if label is not None and (not isinstance(label, str) or not label.strip()):
            raise problem("'name' must be a non-empty string.", "name")
        stem = f"{track:0{width}d}-{_slug(label) if label else settings.name}"
        key = stem.split("-", 1)[1]
        if key in stems:
            table, occurrence = origins.get("name", next(iter(origins.values()), (None, 0)))
            raise fail(
                f"routines {stems[key]} and {track} would both be named {key}.mp3; "
                "give one of them another setting or a 'name'.",
                table,
                "name" if "name" in origins else next(iter(origins), None),
                occurrence,
            )
        stems[key] = track
        specs.append(RoutineSpec(track, settings, options, stem))
    if not specs:
        raise fail("the set has no routines; add a [matrix] table or [[routine]] entries.", None, None, 0)
    return tuple(specs)


def load_set_file(path: Path) -> RoutineSet:
    """Read and validate a set file; nothing is rendered if anything in it is wrong."""
    source = _SetFile(Path(path))
    data = source.data
    source.check_keys(data, TOP_KEYS, None)
    name = data.get("name", DEFAULT_SET_NAME)
    if not isinstance(name, str) or not name.strip():
        raise source.error("'name' must be a non-empty string.", None, "name")
    defaults = source.table("defaults")
    source.check_keys(defaults, ROUTINE_KEYS[:-1], "defaults")
    matrix = source.table("matrix")
    source.check_keys(matrix, MATRIX_KEYS, "matrix")
    listed = data.get("routine", [])
    if not isinstance(listed, list) or not all(isinstance(entry, dict) for entry in listed):
        raise source.error("'routine' must be a list of tables ([[routine]]).", None, "routine")

    rows: list[tuple[dict[str, Any], dict[str, Origin]]] = []
    default_origins: dict[str, Origin] = {key: ("defaults", 0) for key in defaults}
    if matrix:
        axes = []
        for key, values in matrix.items():
            if not isinstance(values, list):
                values = [values]
            if not values:
                raise source.error(f"matrix {key!r} is empty; give at least one value.", "matrix", key)
            axes.append([(key, value) for value in values])
        origins = {**default_origins, **{key: ("matrix", 0) for key in matrix}}
        for combination in itertools.product(*axes):
            rows.append(({**defaults, **dict(combination)}, origins))
    for occurrence, entry in enumerate(listed):
        source.check_keys(entry, ROUTINE_KEYS, "routine", occurrence)
        rows.append(({**defaults, **entry}, {**default_origins, **{key: ("routine", occurrence) for key in entry}}))

    def fail(message: str, table: str | None, key: str | None, occurrence: int) -> UsageError:
        return source.error(message, table, key, occurrence)

    routines = _build(rows, source.path.parent, fail)
    templates = source.path_value("templates")
    try:
        check_templates_dir(templates, "'templates'")
    except UsageError as exc:
        raise source.error(exc.message, None, "templates") from None
    return RoutineSet(name, routines, source.path_value("output"), templates)


def set_from_lists(
    name: str,
    lists: dict[str, list[Any]],
    defaults: dict[str, Any],
) -> RoutineSet:
    """A set from option lists (``--minutes 5,10 --mode solo,partner``), expanded as a product."""
    axes = [[(key, value) for value in values] for key, values in lists.items()]
    origins: dict[str, Origin] = {}
    rows = [({**defaults, **dict(combination)}, origins) for combination in itertools.product(*axes)]
    return RoutineSet(name, _build(rows, None, lambda message, *where: UsageError(message)))
