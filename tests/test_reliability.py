"""Faults lose nothing: overwrites, interruptions, concurrent runs, failing engines, doctor."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from footaudio import Settings, UsageError, render
from footaudio.speech.cache import ClipCache

from .conftest import decode, ffmpeg_path

pytestmark = pytest.mark.usefixtures("real_engines")

# Interrupting, resuming and sharing the clip cache do not depend on the voice: eSpeak NG speaks a cold
# routine about ten times faster than the natural voice (tests/speech/test_piper.py renders with that).
ESPEAK = ("--engine", "pyttsx3")


def footaudio(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "footaudio", *args], capture_output=True, text=True, env=env, **kwargs)


def spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "footaudio", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for(condition, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def leftovers(folder: Path) -> list[str]:
    """Hidden files footaudio made: temporary files and the batch lock."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith((".footaudio-", ".footaudio.")))


# Overwriting ---------------------------------------------------------------------------------


def test_a_file_footaudio_did_not_write_is_only_replaced_with_force(tmp_path, fake_synth, cache):
    precious = tmp_path / "song.mp3"
    precious.write_bytes(b"my own recording")
    with pytest.raises(UsageError) as caught:
        render(Settings(minutes=3), precious, synthesizer=fake_synth, cache=cache)
    assert str(caught.value) == (
        f"{precious} exists and was not written by footaudio; use --force to replace it, or choose another output path."
    )
    assert precious.read_bytes() == b"my own recording" and fake_synth.calls == []
    render(Settings(minutes=3), precious, synthesizer=fake_synth, cache=cache, force=True)
    assert len(decode(precious)) // 2 == 180 * 44_100


def test_rendering_over_a_footaudio_file_replaces_it_and_an_interrupted_one_keeps_it(tmp_path):
    target = tmp_path / "routine.mp3"
    first = footaudio("render", "-m", "3", "-o", str(target))
    assert first.returncode == 0, first.stderr
    original = target.read_bytes()
    # Replace it with a long render and interrupt that one mid-way: the old file must survive intact.
    process = spawn("render", "-m", "60", *ESPEAK, "-o", str(target))
    wait_for(lambda: leftovers(tmp_path) and process.poll() is None)
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and err == "Error: interrupted; nothing was written.\n"
    assert target.read_bytes() == original and leftovers(tmp_path) == []
    # And a completed render over it replaces it.
    again = footaudio("render", "-m", "4", "-o", str(target))
    assert again.returncode == 0 and len(decode(target)) // 2 == 240 * 44_100


# Interruptions -------------------------------------------------------------------------------


def test_after_a_kill_9_the_next_render_cleans_up_and_completes(tmp_path):
    target = tmp_path / "routine.mp3"
    process = spawn("render", "-m", "60", *ESPEAK, "-o", str(target))
    wait_for(lambda: leftovers(tmp_path))
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert not target.exists() and leftovers(tmp_path)  # a partial file was left behind
    result = footaudio("render", "-m", "3", "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert leftovers(tmp_path) == [] and len(decode(target)) // 2 == 180 * 44_100


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_parallel_batch_keeps_finished_files_and_resumes(tmp_path, how):
    out = tmp_path / "out"
    args = ["batch", "--minutes", "3,15", "--mode", "solo,partner", *ESPEAK, "-o", str(out), "--jobs", "2"]
    process = spawn(*args)
    wait_for(lambda: len(list(out.glob("*.mp3"))) >= 2 and any(name.endswith(".part") for name in leftovers(out)))
    process.send_signal(how)
    _, err = process.communicate(timeout=60)
    finished = sorted(out.glob("*.mp3"))
    # Progress lines come first; the last line is the whole message.
    assert process.returncode == 130 and err.splitlines(keepends=True)[-1] == (
        f"Error: interrupted; {len(finished)} finished files were kept and nothing half-written was left; "
        "run the same command again to render the rest.\n"
    )
    assert len(finished) >= 2 and leftovers(out) == []
    for path in finished:
        assert len(decode(path)) // 2 == (180 if "-3min" in path.name else 900) * 44_100
    result = footaudio(*args)
    assert result.returncode == 0, result.stderr
    assert f"{4 - len(finished)} rendered, {len(finished)} up to date, 0 failed." in result.stdout
    assert len(list(out.glob("*.mp3"))) == 4


# Concurrent runs -----------------------------------------------------------------------------


def test_two_processes_filling_the_clip_cache_at_once_stay_correct(tmp_path):
    env = {**os.environ, "FOOTAUDIO_CACHE": str(tmp_path / "cache")}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "footaudio", "script", "-m", "10", "--mode", "partner", *ESPEAK, "--format", "json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=300) for process in runs]
    assert [process.returncode for process in runs] == [0, 0], outputs
    timelines = [json.loads(out) for out, _ in outputs]
    assert [item["text"] for item in timelines[0]["items"] if "text" in item] == [
        item["text"] for item in timelines[1]["items"] if "text" in item
    ]
    # Every cached clip is whole and carries a matching record; a third run synthesizes nothing new.
    wavs = sorted((tmp_path / "cache").rglob("*.wav"))
    assert wavs and all(path.with_suffix(".json").exists() for path in wavs)
    assert not list((tmp_path / "cache").rglob(".clips-*"))
    stamps = {path: path.stat().st_mtime_ns for path in wavs}
    third = footaudio("script", "-m", "10", "--mode", "partner", *ESPEAK, "--format", "json", env=env)
    assert third.returncode == 0
    assert {path: path.stat().st_mtime_ns for path in sorted((tmp_path / "cache").rglob("*.wav"))} == stamps


def test_a_second_batch_into_the_same_folder_stops_with_a_clear_message(tmp_path):
    out = tmp_path / "out"
    first = spawn("batch", "--minutes", "20,21", "-o", str(out), "--jobs", "1")
    wait_for(lambda: (out / ".footaudio.lock").exists())
    second = footaudio("batch", "--minutes", "3", "-o", str(out))
    first.send_signal(signal.SIGTERM)
    first.communicate(timeout=60)
    assert second.returncode == 2
    assert second.stderr == (
        f"Error: another footaudio batch (process {first.pid}) is writing to {out}; "
        "wait for it to finish or choose another output folder.\n"
    )


# Failing engines -----------------------------------------------------------------------------


def fake_ffmpeg(tmp_path: Path, crash_when: str) -> str:
    """An ffmpeg that behaves like the real one, except that it dies when its arguments contain ``crash_when``."""
    script = tmp_path / "ffmpeg"
    script.write_text(
        "#!/bin/sh\n"
        f'case "$*" in *{crash_when}*) head -c 100000 >/dev/null; echo "Segmentation fault" >&2; kill -SEGV $$;; esac\n'
        f'exec "{ffmpeg_path()}" "$@"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_ffmpeg_crashing_while_encoding_is_a_clear_error_and_leaves_nothing(tmp_path):
    env = {**os.environ, "FOOTAUDIO_FFMPEG": fake_ffmpeg(tmp_path, "libmp3lame")}
    result = footaudio("render", "-m", "3", "-o", str(tmp_path / "x.mp3"), env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: ffmpeg failed to encode the MP3 (")
    assert result.stderr.endswith("); reinstall imageio-ffmpeg or check FOOTAUDIO_FFMPEG.\n")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "x.mp3").exists() and leftovers(tmp_path) == []


def test_a_full_disk_is_a_clear_error_and_leaves_nothing(tmp_path):
    script = tmp_path / "ffmpeg"
    script.write_text(
        "#!/bin/sh\n"
        'case "$*" in *libmp3lame*) head -c 100000 >/dev/null; '
        'echo "Error writing trailer: No space left on device" >&2; exit 1;; esac\n'
        f'exec "{ffmpeg_path()}" "$@"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    target = tmp_path / "x.mp3"
    result = footaudio("render", "-m", "3", "-o", str(target), env={**os.environ, "FOOTAUDIO_FFMPEG": str(script)})
    assert (result.returncode, result.stderr) == (
        1,
        f"Error: the disk is full while writing {target}; free some space and try again.\n",
    )
    assert not target.exists() and leftovers(tmp_path) == []


def test_ffmpeg_missing_is_a_clear_error(tmp_path):
    env = {**os.environ, "FOOTAUDIO_FFMPEG": str(tmp_path / "no-ffmpeg")}
    result = footaudio("render", "-m", "3", "-o", str(tmp_path / "x.mp3"), env=env)
    assert (result.returncode, result.stderr) == (
        1,
        f"Error: FOOTAUDIO_FFMPEG='{tmp_path / 'no-ffmpeg'}' is not an executable ffmpeg; "
        "fix the path or unset FOOTAUDIO_FFMPEG.\n",
    )


def test_a_cache_entry_altered_on_disk_is_caught_by_its_checksum_and_made_again(tmp_path):
    from footaudio.speech.engine import default_synthesizer

    cache = ClipCache(tmp_path)
    clip, _ = cache.get_or_make(default_synthesizer("pyttsx3"), "Let your breath slow down.", None, 140)
    data = bytearray(clip.path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # still a valid WAV, but not the audio that was cached
    clip.path.write_bytes(bytes(data))
    repaired, made = cache.get_or_make(default_synthesizer("pyttsx3"), "Let your breath slow down.", None, 140)
    assert made and repaired.path == clip.path
    record = json.loads(clip.path.with_suffix(".json").read_text())
    assert record["sha256"] == hashlib.sha256(clip.path.read_bytes()).hexdigest()


def test_a_bad_speech_timeout_setting_is_a_usage_error(tmp_path):
    env = {**os.environ, "FOOTAUDIO_SPEECH_TIMEOUT": "soon", "FOOTAUDIO_CACHE": str(tmp_path / "c")}
    result = footaudio("render", "-m", "3", "--engine", "pyttsx3", "-o", str(tmp_path / "x.mp3"), env=env)
    assert (result.returncode, result.stderr) == (
        2,
        "Error: FOOTAUDIO_SPEECH_TIMEOUT='soon' is not a number of seconds; set it to e.g. 30, or unset it.\n",
    )


# Doctor --------------------------------------------------------------------------------------


def test_doctor_checks_every_component():
    result = footaudio("doctor")
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines[:-1]] == ["ok", "ok", "ok", "ok", "ok", lines[5].split()[0], "ok"]
    assert "pyttsx3" in lines[2] and "ffmpeg" in lines[3] and "libmp3lame" in lines[3]
    assert lines[-2] == "ok    a one-second test render (speech, mastering, MP3) decodes to exactly 1.000 s"
    assert lines[-1] == "Everything footaudio needs works."


def test_doctor_reports_a_broken_ffmpeg_with_the_fix(tmp_path):
    env = {**os.environ, "FOOTAUDIO_FFMPEG": str(tmp_path / "no-ffmpeg")}
    result = footaudio("doctor", env=env)
    assert result.returncode == 1
    assert (
        f"FAIL  ffmpeg: FOOTAUDIO_FFMPEG='{tmp_path / 'no-ffmpeg'}' is not an executable ffmpeg; "
        "fix the path or unset FOOTAUDIO_FFMPEG." in result.stdout
    )
    assert result.stdout.rstrip().endswith("problem(s) found; fix them as described above.")
