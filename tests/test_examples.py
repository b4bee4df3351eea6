"""Every example in every --help and in the README runs as written from the repository root.

Each example is parsed by the real command (unknown options fail), every file it reads
must exist in the repository (or be written by an example before it), and the cheap ones
(script, voices) run for real with the fake engine.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from footaudio.cli import cli, main
from footaudio.pipeline import default_output
from footaudio.settings import Settings

from .conftest import FakeSynthesizer

REPO = Path(__file__).resolve().parents[1]

PLACEHOLDERS = {"path/to/en_GB-alba-medium.onnx"}
"""Files that are the reader's own by nature (a Piper voice downloaded elsewhere)."""


def _help(command: str | None) -> str:
    context = cli.make_context("footaudio", [], resilient_parsing=True)
    target = cli if command is None else cli.get_command(context, command)
    assert target is not None
    with target.make_context(command or "footaudio", [], parent=None if command is None else context,
                             resilient_parsing=True) as inner:  # fmt: skip
        return target.get_help(inner)


def _command_lines(text: str) -> list[str]:
    """Lines that run footaudio, with shell syntax that only a job runner fills in made concrete."""
    lines = []
    for line in text.splitlines():
        at = line.find("footaudio ")
        if at < 0 or line[:at].strip() not in ("", "parallel", "$"):
            continue
        line = line[at:].split(" ::: ")[0].replace("{}", "1")
        line = re.sub(r"\$\(\([^)]*\)\)|\$\{\w+\}", "1", line)
        lines.append(line)
    return lines


def help_examples() -> list[tuple[str, list[str]]]:
    sources = [("footaudio --help", _help(None))]
    sources += [(f"footaudio {name} --help", _help(name)) for name in sorted(cli.commands)]
    found = []
    for source, text in sources:
        block = text[text.index("Example") :].split("\nOptions:")[0] if "Example" in text else ""
        found.append((source, _command_lines(block)))
    return found


def readme_examples() -> list[str]:
    code, inside = [], False
    for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            inside = not inside
        elif inside:
            code.append(line)
    return _command_lines("\n".join(code))


def _parse(line: str) -> tuple[str | None, dict, list[str]]:
    words = shlex.split(line, comments=True)
    if ">" in words:
        words = words[: words.index(">")]
    assert words[0] == "footaudio", line
    args = words[1:]
    if not args or args[0].startswith("-"):
        return None, {}, args
    command = cli.commands.get(args[0])
    assert command is not None, f"{line}: no command {args[0]!r}"
    with command.make_context(args[0], args[1:], resilient_parsing=True) as context:
        return args[0], context.params, args


def _reads_and_writes(command: str | None, params: dict) -> tuple[list[str], list[str]]:
    """The files an example reads (set file, templates, cover, info's MP3) and the MP3 a render writes."""
    reads = [str(params[key]) for key in ("set_file", "templates", "cover", "file") if params.get(key)]
    writes = []
    if command == "render":
        output = params.get("output") or default_output(
            Settings(minutes=float(params["minutes"]), mode=params["mode"], pressure=params["pressure"])
        )
        writes.append(str(output))
    return reads, writes


def _check(lines: list[str], source: str, capsys) -> None:
    written: set[str] = set()
    for line in lines:
        command, params, args = _parse(line)
        # The real parser: an unknown option or a missing value fails here (--help stops before running).
        with pytest.raises(SystemExit) as caught:
            main([*args, "--help"] if command else args)
        assert caught.value.code == 0, f"{source}: {line}: {capsys.readouterr().err}"
        capsys.readouterr()
        reads, writes = _reads_and_writes(command, params)
        for path in reads:
            if path in PLACEHOLDERS:
                continue
            assert path in written or Path(path).exists(), f"{source}: {line}: {path} does not exist"
        written.update(writes)
        if command in ("script", "voices"):
            code, err = _run(args, capsys)
            assert code in (0, 1) and (code == 0 or "--check" in args), f"{source}: {line}: {err}"


def _run(args: list[str], capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as caught:
        main(args)
    return caught.value.code, capsys.readouterr().err


@pytest.fixture
def at_repository_root(monkeypatch, tmp_path):
    """The repository's own folders, but written files land in a temporary copy of its root."""
    fake = FakeSynthesizer()
    monkeypatch.setattr("footaudio.pipeline.default_synthesizer", lambda engine="pyttsx3": fake)
    # "auto" resolves to Piper when the natural voice is installed: the batch runner must get the fake too.
    monkeypatch.setattr("footaudio.speech.engine._synthesizers", {"pyttsx3": fake, "piper": fake})
    monkeypatch.setenv("FOOTAUDIO_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "root"
    root.mkdir()
    for entry in REPO.iterdir():  # a fresh clone: no out/, no virtual environment
        if entry.name not in ("out", ".venv", ".git") and not entry.name.startswith("."):
            (root / entry.name).symlink_to(entry)
    monkeypatch.chdir(root)


@pytest.mark.parametrize(("source", "lines"), help_examples(), ids=[source for source, _ in help_examples()])
def test_every_help_example_runs_from_the_repository_root(source, lines, at_repository_root, capsys):
    _check(lines, source, capsys)


def test_every_help_text_has_examples():
    assert all(lines for _, lines in help_examples())


def test_every_readme_example_runs_from_the_repository_root(at_repository_root, capsys):
    lines = readme_examples()
    assert len(lines) > 20
    _check(lines, "README.md", capsys)


def test_the_readmes_sample_set_file_error_is_the_real_one(tmp_path, monkeypatch, capsys):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    sample = re.search(r"^Error: scripts/sets/week\.toml, line \d+: unknown key 'presure'.*$", readme, re.MULTILINE)
    assert sample is not None
    folder = tmp_path / "scripts" / "sets"
    folder.mkdir(parents=True)
    week = (REPO / "scripts" / "sets" / "week.toml").read_text(encoding="utf-8")
    assert week.count("\npressure = [") == 1
    (folder / "week.toml").write_text(week.replace("\npressure = [", "\npresure = ["), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, err = _run(["batch", "scripts/sets/week.toml"], capsys)
    assert (code, err) == (2, sample.group(0) + "\n")
