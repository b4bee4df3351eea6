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
from footaudio.script.ssml import SSML_NS

from .conftest import FakeSynthesizer, decode

TOO_LONG = (
    "is longer than the guided content fills without repeating itself (at most 90 minutes); use --minutes 90 or less."
)
"""The message for a length past MAX_MINUTES, after the length itself."""


@pytest.fixture(autouse=True)
def fake_engine(monkeypatch, tmp_path):
    fake = FakeSynthesizer()
    monkeypatch.setattr("footaudio.pipeline.default_synthesizer", lambda engine="pyttsx3": fake)
    # "auto" resolves to Piper when the natural voice is installed: the batch runner must get the fake too.
    monkeypatch.setattr("footaudio.speech.engine._synthesizers", {"pyttsx3": fake, "piper": fake})
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


def test_script_ssml_shows_the_lexicon_as_standard_sub_elements(capsys, monkeypatch):
    from footaudio.script import lexicon

    monkeypatch.setitem(lexicon.LEXICON, "fake", {"giver": "giv-er"})
    code, out, _ = run(capsys, "script", "-m", "7", "--mode", "partner", "--format", "ssml")
    assert code == 0
    root = ET.fromstring(out)
    subs = list(root.iter(f"{{{SSML_NS}}}sub"))
    assert subs and all(el.get("alias").lower() == "giv-er" and el.text.lower() == "giver" for el in subs)
    # SSML 1.1: <sub> holds text only, with its alias, inside a sentence.
    assert all(not len(el) and set(el.attrib) == {"alias"} for el in subs)
    parents = {child: parent for parent in root.iter() for child in parent}
    assert {parents[el].tag for el in subs} == {f"{{{SSML_NS}}}s"}
    code, text, _ = run(capsys, "script", "-m", "7", "--mode", "partner")
    assert "Giver," in text and "giv-er" not in text.lower()


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
    lines = out.splitlines()
    assert lines[0].startswith("Routines use ") and "auto picks" in lines[0]
    assert lines[1:4] == [
        "Engine pyttsx3 (fake): 2 voices; * marks the default",
        "* fake/a  Fake A  [en]",
        "  fake/b  Fake B  [en]",
    ]
    assert lines[4].startswith("Engine piper ")


def test_render_creates_missing_output_folders(capsys, tmp_path):
    code, out, err = run(capsys, "render", "-m", "3", "-o", "evening/calm/x.mp3")
    assert (code, err) == (0, "")
    assert out.startswith("Wrote evening/calm/x.mp3 ")
    assert (tmp_path / "evening" / "calm" / "x.mp3").is_file()


def test_a_failed_render_removes_the_folders_it_made(capsys, tmp_path):
    code, _, err = run(capsys, "render", "-m", "3", "--voice", "nobody", "-o", "evening/calm/x.mp3")
    assert code == 2 and err.startswith("Error: unknown voice 'nobody'")
    assert not (tmp_path / "evening").exists()


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
            "unknown voice 'fake/c'; did you mean 'fake/b'? run 'footaudio voices' to list the voices; "
            "Piper voices need --engine piper.",
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
            "footaudio.audio.mp3.os.access", lambda p, m: False if str(p) == str(locked) else real_access(p, m)
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


def test_render_with_captions_lists_every_file_it_wrote(capsys, tmp_path):
    code, out, err = run(capsys, "render", "-m", "3", "--captions", "-o", "evening.mp3")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert re.fullmatch(r"Wrote evening\.mp3 \(Solo foot massage, light, 3 min; 180\.000 s, \d+ steps, \d+ sentences\)",
                        lines[0])  # fmt: skip
    assert lines[1:] == ["Wrote evening.vtt (WebVTT captions)", "Wrote evening.lrc (LRC lyrics)"]
    assert (tmp_path / "evening.vtt").is_file() and (tmp_path / "evening.lrc").is_file()


def test_batch_lists_the_index_files_it_wrote(capsys, tmp_path):
    code, out, err = run(capsys, "batch", "--minutes", "3", "--name", "Calm", "-j", "1",
                         "--feed-url", "https://example.org/feet")  # fmt: skip
    assert code == 0, err
    assert out.splitlines()[-2:] == [
        "Set 'Calm' in out/calm: 1 rendered, 0 up to date, 0 failed.",
        "Wrote out/calm/manifest.json, out/calm/playlist.m3u8, out/calm/feed.xml",
    ]
    code, out, err = run(capsys, "batch", "--minutes", "3", "--name", "Calm", "--index-only")
    assert (code, err) == (0, "")
    assert out == "Indexed 1 of 1 routines in out/calm.\nWrote out/calm/manifest.json, out/calm/playlist.m3u8\n"


def test_bare_batch_shows_the_usage_with_examples(capsys, tmp_path):
    for args in ([], ["--voice", "fake/b", "-j", "1"]):
        code, out, err = run(capsys, "batch", *args)
        assert (code, out) == (2, "")
        assert err == (
            "Usage: footaudio batch [OPTIONS] [SET.toml]\n\n"
            "Give a set file or comma-separated lists of the routines to render, e.g.\n"
            "  footaudio batch scripts/sets/week.toml\n"
            "  footaudio batch --minutes 5,10,20 --mode solo,partner -o out/starter\n\n"
            "See 'footaudio batch --help' for every option.\n"
        )
    assert not (tmp_path / "out").exists()


def test_a_set_name_in_another_alphabet_keeps_its_letters(capsys, tmp_path):
    (tmp_path / "abend.toml").write_text(
        'name = "Füße am Abend & more"\n[[routine]]\nminutes = 3\nname = "Füße, sanft"\n', encoding="utf-8"
    )
    code, out, err = run(capsys, "batch", "abend.toml", "-j", "1", "--feed-url", "https://example.org/feet")
    assert code == 0, err
    assert out.splitlines()[-2:] == [
        "Set 'Füße am Abend & more' in out/füße-am-abend-more: 1 rendered, 0 up to date, 0 failed.",
        "Wrote out/füße-am-abend-more/manifest.json, out/füße-am-abend-more/playlist.m3u8, "
        "out/füße-am-abend-more/feed.xml",
    ]
    folder = tmp_path / "out" / "füße-am-abend-more"
    assert (folder / "01-füße-sanft.mp3").is_file()
    feed = (folder / "feed.xml").read_text(encoding="utf-8")
    assert 'url="https://example.org/feet/01-f%C3%BC%C3%9Fe-sanft.mp3"' in feed


@pytest.fixture
def no_closing(tmp_path):
    """Templates whose routine has no closing step: a broken pacing rule at any length."""
    folder = tmp_path / "no-closing"
    folder.mkdir()
    (folder / "routine.ssml.j2").write_text(
        '{% extends "builtin/routine.ssml.j2" %}\n{% block closing %}{% endblock %}\n', encoding="utf-8"
    )
    return folder


def test_render_warns_about_broken_pacing_rules(capsys, tmp_path, no_closing):
    code, out, err = run(capsys, "render", "-m", "3", "--seed", "4", "--templates", str(no_closing), "-o", "x.mp3")
    assert code == 0 and out.startswith("Wrote x.mp3 ")
    assert err == (
        "Warning: this routine breaks 1 pacing rule: the routine has no closing step; "
        f"see 'footaudio script --minutes 3 --seed 4 --templates {no_closing} --check'.\n"
    )
    code, out, err = run(capsys, "script", "-m", "3", "--seed", "4", "--templates", str(no_closing), "--check")
    assert code == 1 and err == "" and "  - the routine has no closing step\n" in out


def test_script_and_batch_warn_about_broken_pacing_rules_too(capsys, tmp_path, no_closing):
    warning = (
        "breaks 1 pacing rule: the routine has no closing step; "
        f"see 'footaudio script --minutes 3 --mode partner --templates {no_closing} --check'.\n"
    )
    code, out, err = run(capsys, "script", "-m", "3", "--mode", "partner", "--templates", str(no_closing))
    assert code == 0 and out.startswith("# Partner foot massage, light, 3 min\n")
    assert err == "Warning: this routine " + warning
    code, out, err = run(capsys, "batch", "-m", "3", "--mode", "partner", "--templates", str(no_closing), "-j", "1")
    assert code == 0 and "1 rendered, 0 up to date, 0 failed." in out
    assert "\nWarning: 01-partner-light-3min.mp3 " + warning in err


def test_batch_shows_progress_in_every_stage(capsys, monkeypatch):
    from footaudio.cli import _BatchProgress

    monkeypatch.setattr(_BatchProgress, "PLAIN_EVERY_S", float("inf"))  # only each stage's first and last line
    code, out, err = run(capsys, "batch", "-m", "3,4", "-j", "1", "-o", "set")
    assert code == 0
    assert re.match(r"\[1/2\] rendered   01-solo-light-3min\.mp3 in \d+\.\d s\n\[2/2\] rendered   02-solo", out)
    sentences = re.search(r"Speaking sentences: 0/(\d+) sentences\n", err)
    assert sentences is not None and int(sentences.group(1)) >= 10
    n = sentences.group(1)
    assert re.fullmatch(
        r"Planning routines: 2/2 routines, done in \d+\.\d s\n"
        rf"Speaking sentences: 0/{n} sentences\n"
        rf"Speaking sentences: {n}/{n} sentences, done in \d+\.\d s\n"
        r"Encoding audio: 0/2 routines, 00:00 of 07:00 audio\n"
        r"Encoding audio: 2/2 routines, 07:00 of 07:00 audio, done in \d+\.\d s\n",
        err,
    ), err
    # Again with every sentence in the clip cache: nothing to speak, so no speaking stage.
    code, out, err = run(capsys, "batch", "-m", "3,4", "-j", "1", "-o", "set", "--force")
    assert code == 0 and "Speaking" not in err and "Encoding audio: 2/2 routines, 07:00 of 07:00 audio" in err


def test_batch_progress_estimates_from_the_work_left(capsys, monkeypatch):
    from footaudio.cli import _BatchProgress

    clock = iter([0.0, 1.0, 1.0, 11.0, 12.0, 13.0, 15.0])
    monkeypatch.setattr("time.monotonic", lambda: next(clock))
    progress = _BatchProgress(terminal=False)
    progress.PLAIN_EVERY_S = 0.0
    progress("plan", 0, 2)
    progress("plan", 2, 2)
    progress("audio", 0, 600_000)  # start-up: nothing encoded for 10 s
    progress("audio", 60_000, 600_000)
    progress("audio", 120_000, 600_000)  # 60 s of audio a second since the first work came in
    progress.routine_ended("rendered")
    progress("audio", 240_000, 600_000)  # 180 s of audio in 2 s: the 360 s left take 4 s
    progress("audio", 600_000, 600_000)
    assert capsys.readouterr().err.splitlines() == [
        "Planning routines: 2/2 routines, done in 1.0 s",
        "Encoding audio: 0/2 routines, 00:00 of 10:00 audio",
        "Encoding audio: 0/2 routines, 01:00 of 10:00 audio",
        "Encoding audio: 0/2 routines, 02:00 of 10:00 audio, about 00:00:08 left",
        "Encoding audio: 1/2 routines, 04:00 of 10:00 audio, about 00:00:04 left",
        "Encoding audio: 1/2 routines, 10:00 of 10:00 audio, done in 14.0 s",
    ]


HALF_INSTALLED = (
    "#!/bin/sh\necho 'ffmpeg: error while loading shared libraries: libavdevice.so.59: "
    "cannot open shared object file: No such file or directory' >&2\nexit 127\n"
)


@pytest.fixture
def fresh_ffmpeg_choice():
    """find_ffmpeg decides once per process; these tests change what it finds."""
    from footaudio.tools import find_ffmpeg

    bundled = find_ffmpeg().path
    find_ffmpeg.cache_clear()
    yield bundled
    find_ffmpeg.cache_clear()


def _program(folder, name, text):
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text)
    path.chmod(0o755)
    return path


def test_a_half_installed_system_ffmpeg_does_not_win_over_the_bundled_one(
    capsys, tmp_path, monkeypatch, fresh_ffmpeg_choice
):
    from footaudio.tools import find_ffmpeg

    _program(tmp_path / "bin", "ffmpeg", HALF_INSTALLED)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    code, out, err = run(capsys, "render", "-m", "3", "-o", "x.mp3")
    assert (code, err) == (0, "") and out.startswith("Wrote x.mp3 ")
    tool = find_ffmpeg()
    assert (tool.path, tool.source) == (fresh_ffmpeg_choice, "imageio-ffmpeg wheel")
    assert tool.why == "the bundled one, for the same audio on every machine"


def test_footaudio_ffmpeg_that_does_not_run_or_lacks_a_filter(capsys, tmp_path, monkeypatch, fresh_ffmpeg_choice):
    broken = _program(tmp_path / "bin", "broken-ffmpeg", HALF_INSTALLED)
    monkeypatch.setenv("FOOTAUDIO_FFMPEG", str(broken))
    code, out, err = run(capsys, "render", "-m", "3", "-o", "x.mp3")
    assert (code, out) == (1, "")
    assert err == (
        f"Error: FOOTAUDIO_FFMPEG='{broken}' does not run (ffmpeg: error while loading shared libraries: "
        "libavdevice.so.59: cannot open shared object file: No such file or directory); use an ffmpeg that runs "
        "and has libmp3lame, ebur128 and alimiter, or unset FOOTAUDIO_FFMPEG to use the bundled ffmpeg.\n"
    )
    from footaudio.tools import find_ffmpeg

    find_ffmpeg.cache_clear()
    no_limiter = _program(
        tmp_path / "bin",
        "old-ffmpeg",
        f'#!/bin/sh\nif [ "$2" = -filters ]; then "{fresh_ffmpeg_choice}" "$@" | grep -v alimiter; '
        f'else exec "{fresh_ffmpeg_choice}" "$@"; fi\n',
    )
    monkeypatch.setenv("FOOTAUDIO_FFMPEG", str(no_limiter))
    code, out, err = run(capsys, "render", "-m", "3", "-o", "x.mp3")
    assert (code, out) == (1, "")
    assert err == (
        f"Error: FOOTAUDIO_FFMPEG='{no_limiter}' lacks alimiter; use an ffmpeg that runs and has libmp3lame, "
        "ebur128 and alimiter, or unset FOOTAUDIO_FFMPEG to use the bundled ffmpeg.\n"
    )
    assert not (tmp_path / "x.mp3").exists()


def test_without_a_bundled_ffmpeg_the_systems_is_checked_and_named(capsys, tmp_path, monkeypatch, fresh_ffmpeg_choice):
    import imageio_ffmpeg

    from footaudio.doctor import _ffmpeg
    from footaudio.tools import find_ffmpeg

    def no_binary() -> str:
        raise RuntimeError("No ffmpeg exe could be found.")

    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", no_binary)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    _program(tmp_path / "bin", "ffmpeg", HALF_INSTALLED)
    code, out, err = run(capsys, "script", "-m", "3")
    assert (code, out) == (1, "")
    assert err == (
        "Error: no usable ffmpeg: the imageio-ffmpeg wheel has no ffmpeg for this platform, and the system's ffmpeg "
        f"at {tmp_path / 'bin' / 'ffmpeg'} does not run (ffmpeg: error while loading shared libraries: "
        "libavdevice.so.59: cannot open shared object file: No such file or directory); run 'pip install "
        "--force-reinstall imageio-ffmpeg' or set FOOTAUDIO_FFMPEG to an ffmpeg with libmp3lame, ebur128 and "
        "alimiter.\n"
    )
    find_ffmpeg.cache_clear()
    system = _program(tmp_path / "bin", "ffmpeg", f'#!/bin/sh\nexec "{fresh_ffmpeg_choice}" "$@"\n')
    code, out, err = run(capsys, "render", "-m", "3", "-o", "x.mp3")
    assert (code, err) == (0, "") and out.startswith("Wrote x.mp3 ")
    check = _ffmpeg()
    assert check.status == "ok"
    assert re.fullmatch(
        rf"ffmpeg version \S+ at {re.escape(str(system))}: the imageio-ffmpeg wheel has no ffmpeg for this platform, "
        r"so the system's is used; with libmp3lame, ebur128 and alimiter",
        check.message,
    )
    find_ffmpeg.cache_clear()
    (tmp_path / "bin" / "ffmpeg").unlink()
    code, out, err = run(capsys, "render", "-m", "3", "-o", "y.mp3")
    assert (code, out) == (1, "")
    assert err == (
        "Error: ffmpeg was not found (the imageio-ffmpeg wheel has no ffmpeg for this platform); run 'pip install "
        "--force-reinstall imageio-ffmpeg' or set FOOTAUDIO_FFMPEG to an ffmpeg executable with libmp3lame, "
        "ebur128 and alimiter.\n"
    )


def test_a_sets_digest_includes_the_ffmpeg_used(monkeypatch, fresh_ffmpeg_choice):
    import footaudio.tools
    from footaudio.sets.runner import inputs_digest
    from footaudio.sets.setfile import set_from_lists

    spec = set_from_lists("Calm", {"minutes": [5]}, {}).routines[0]
    before = inputs_digest(spec, "Calm", 1, "t")
    real = footaudio.tools.find_ffmpeg()
    other = footaudio.tools.Tool(real.path, real.source, real.why, "ffmpeg version 5.1.9-0+deb12u1")
    monkeypatch.setattr(footaudio.tools, "find_ffmpeg", lambda: other)
    assert inputs_digest(spec, "Calm", 1, "t") != before


def test_a_sets_digest_includes_how_engines_turn_settings_into_speech(monkeypatch):
    import footaudio.speech.cache
    from footaudio.sets.runner import inputs_digest
    from footaudio.sets.setfile import set_from_lists

    spec = set_from_lists("Calm", {"minutes": [5]}, {}).routines[0]
    before = inputs_digest(spec, "Calm", 1, "t")
    monkeypatch.setattr(footaudio.speech.cache, "SPEECH_MAPPING", footaudio.speech.cache.SPEECH_MAPPING + 1)
    assert inputs_digest(spec, "Calm", 1, "t") != before


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_stop_whose_exception_python_swallowed_is_raised_at_the_next_progress_tick(monkeypatch):
    """CI: SIGTERM's exception landed in a weakref callback run inside an import, where Python prints "Exception
    ignored in" and goes on, and a batch rendered on; the next progress tick raises the stop again."""
    import signal
    import weakref

    from footaudio import cli
    from footaudio.errors import Interrupted

    monkeypatch.setattr(cli, "_SIGNALLED", [])

    class Owner:
        pass

    owner = Owner()
    ref = weakref.ref(owner, lambda _: cli._on_signal(signal.SIGTERM, None))
    del owner  # the handler raises inside the callback, and Python ignores it
    assert ref() is None
    for progress in (cli._Progress(), cli._BatchProgress(terminal=False)):
        with pytest.raises(Interrupted) as caught:
            progress("speech", 1, 10)
        assert caught.value.signum == signal.SIGTERM
    # A new run starts with no stop asked for.
    monkeypatch.setattr(sys, "argv", ["footaudio"])
    with pytest.raises(SystemExit):
        main(["--version"])
    assert cli._SIGNALLED == []
