"""The footaudio command: whole messages and exit codes (fake speech, real ffmpeg)."""

import json
import os
import re
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from footaudio import __version__
from footaudio.cli import main
from footaudio.script import SSML_NS

from .conftest import FakeSynthesizer, decode

TOO_LONG = (
    "is longer than the guided content fills without repeating itself (at most 90 minutes); use --minutes 90 or less."
)
"""The message for a length past MAX_MINUTES, after the length itself."""


@pytest.fixture(autouse=True)
def fake_engine(monkeypatch, tmp_path):
    fake = FakeSynthesizer()
    monkeypatch.setattr("footaudio.pipeline.default_synthesizer", lambda engine="pyttsx3": fake)
    monkeypatch.setenv("FOOTAUDIO_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    return fake


def run(capsys, *args):
    with pytest.raises(SystemExit) as caught:
        main(list(args))
    out, err = capsys.readouterr()
    return caught.value.code, out, err


def test_render_defaults_to_out_folder(capsys, tmp_path):
    code, out, err = run(capsys, "render", "--minutes", "3")
    assert (code, err) == (0, "")
    assert re.fullmatch(
        r"Wrote out/solo-light-3min\.mp3 \(Solo foot massage, light, 3 min; 180\.000 s, \d+ steps, \d+ sentences\)\n",
        out,
    )
    assert len(decode(tmp_path / "out" / "solo-light-3min.mp3")) == 180 * 44_100 * 2


def test_render_to_a_named_file(capsys, tmp_path):
    code, out, _ = run(
        capsys, "render", "-m", "7", "--mode", "partner", "--pressure", "firm", "--seed", "3", "-o", "evening.mp3"
    )
    assert code == 0 and out.startswith("Wrote evening.mp3 (Partner foot massage, firm, 7 min; 420.000 s,")
    assert len(decode(tmp_path / "evening.mp3")) == 420 * 44_100 * 2


def test_script_text(capsys):
    code, out, err = run(capsys, "script", "-m", "5", "--mode", "partner")
    assert (code, err) == (0, "")
    assert out.startswith("# Partner foot massage, light, 5 min\n\n== Welcome (00:00.0) ==\n[00:00.0] Welcome")
    assert out.rstrip().endswith("[05:00.0] (end)")


def test_script_ssml_is_standard(capsys):
    code, out, _ = run(capsys, "script", "-m", "7", "--mode", "partner", "--format", "ssml")
    assert code == 0
    root = ET.fromstring(out)
    assert root.tag == f"{{{SSML_NS}}}speak"
    assert all(el.tag.startswith(f"{{{SSML_NS}}}") for el in root.iter())


def test_script_json_is_the_timeline(capsys):
    code, out, _ = run(capsys, "script", "-m", "7", "--mode", "partner", "--format", "json")
    document = json.loads(out)
    assert code == 0 and document["total_ms"] == 420_000
    assert set(document["items"][0]) >= {"kind", "start_ms", "end_ms", "step"}


def test_script_check_reports_and_sets_the_exit_code(capsys):
    code, out, _ = run(capsys, "script", "-m", "10", "--check")
    assert code == 0 and out.startswith("Pacing report: Solo foot massage, light, 10 min\n")
    assert out.rstrip().endswith("All pacing rules hold.")


def test_voices_lists_the_engine_voices(capsys):
    code, out, _ = run(capsys, "voices")
    assert code == 0
    assert out.splitlines()[:3] == [
        "Engine pyttsx3 (fake): 2 voices; * marks the default",
        "* fake/a  Fake A  [en]",
        "  fake/b  Fake B  [en]",
    ]
    assert out.splitlines()[3].startswith("Engine piper ")


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert (code, out) == (0, f"footaudio, version {__version__}\n")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["render", "-m", "0"], 2, "0 minutes is out of range; use --minutes from 1 to 90."),
        (["render", "-m", "-5"], 2, "-5 minutes is out of range; use --minutes from 1 to 90."),
        (["render", "-m", "abc"], 2, "--minutes 'abc' is not a number; use e.g. --minutes 10."),
        (["render", "-m", "nan"], 2, "nan is not a length; use --minutes with a number from 1 to 90."),
        (["render", "-m", "inf"], 2, "inf is not a length; use --minutes with a number from 1 to 90."),
        (
            ["render", "-m", "1e9"],
            2,
            "1e+09 minutes " + TOO_LONG,
        ),
        (["render", "--mode", "trio"], 2, "unknown mode 'trio'; use --mode solo or partner."),
        (
            ["render", "--pressure", "medum"],
            2,
            "unknown pressure 'medum'; did you mean 'medium'? use --pressure light, medium or firm.",
        ),
        (["render", "--seed", "x"], 2, "--seed 'x' is not a whole number; use e.g. --seed 3."),
        (
            ["render", "--voice", "fake/c"],
            2,
            "unknown voice 'fake/c'; did you mean 'fake/b'? run 'footaudio voices' to list the voices.",
        ),
        (
            ["render", "-o", "nowhere/x.mp3"],
            2,
            "folder nowhere does not exist; create it first or choose another output path.",
        ),
    ],
)
def test_bad_input_is_one_line_with_the_right_exit_code(capsys, tmp_path, args, code, message):
    got_code, out, err = run(capsys, *args)
    assert (got_code, out, err) == (code, "", f"Error: {message}\n")
    assert not list((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else True


@pytest.mark.parametrize(
    ("args", "mentions"),
    [(["render", "--bogus"], "--bogus"), (["script", "--format", "wav"], "'wav'"), (["sing"], "'sing'")],
)
def test_click_usage_errors_are_one_line_too(capsys, args, mentions):
    # click words these itself (and rewords them between versions), so only the shape is fixed.
    code, out, err = run(capsys, *args)
    assert (code, out) == (2, "")
    assert err.startswith("Error: ") and err.endswith("--help'.\n") and err.count("\n") == 1
    assert mentions in err


def test_unwritable_folder(capsys, tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    if os.geteuid() == 0:  # root writes anywhere; make the check see what a user would
        real_access = os.access
        monkeypatch.setattr(
            "footaudio.export.os.access", lambda p, m: False if str(p) == str(locked) else real_access(p, m)
        )
    code, _, err = run(capsys, "render", "-o", str(locked / "x.mp3"))
    assert (code, err) == (2, f"Error: folder {locked} is not writable; choose another output path.\n")


def test_missing_ffmpeg_is_a_failure_with_the_fix(capsys, monkeypatch):
    from footaudio.tools import find_ffmpeg

    find_ffmpeg.cache_clear()
    monkeypatch.setenv("FOOTAUDIO_FFMPEG", "/no/such/ffmpeg")
    try:
        code, _, err = run(capsys, "render", "-m", "3", "-o", "x.mp3")
    finally:
        find_ffmpeg.cache_clear()
    assert (code, err) == (
        1,
        "Error: FOOTAUDIO_FFMPEG='/no/such/ffmpeg' is not an executable ffmpeg; "
        "fix the path or unset FOOTAUDIO_FFMPEG.\n",
    )


def test_console_script_and_module_run(tmp_path):
    for command in (["footaudio", "--version"], [sys.executable, "-m", "footaudio", "--version"]):
        if command[0] == "footaudio":
            command[0] = os.path.join(os.path.dirname(sys.executable), "footaudio")
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        assert result.stdout == f"footaudio, version {__version__}\n"


def test_help_carries_examples(capsys):
    for command in ("render", "script", "voices"):
        code, out, _ = run(capsys, command, "--help")
        assert code == 0 and "Example" in out and f"footaudio {command}" in out
