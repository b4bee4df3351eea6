"""footaudio batch with the real engine and ffmpeg: files, index, reruns, failures, kills, shards."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from footaudio.cli import main
from footaudio.files import TEMP_PREFIX

from ..conftest import decode, held_encoder

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("real_engines")]

SET = """
name = "Test set"
[defaults]
captions = true
[matrix]
minutes = [3, 4]
mode = ["solo", "partner"]
"""


def run(capsys, *args):
    with pytest.raises(SystemExit) as caught:
        main(list(args))
    out, err = capsys.readouterr()
    return caught.value.code, out, err


@pytest.fixture(scope="module")
def rendered_set(tmp_path_factory):
    """A 4-routine set rendered once with two workers."""
    folder = tmp_path_factory.mktemp("set")
    set_file = folder / "set.toml"
    set_file.write_text(SET, encoding="utf-8")
    out = folder / "out"
    result = subprocess.run(
        [sys.executable, "-m", "footaudio", "batch", str(set_file), "-o", str(out), "--jobs", "2",
         "--feed-url", "https://example.org/feet"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return set_file, out, result.stdout


def test_every_file_is_complete_tagged_and_indexed(rendered_set):
    from mutagen.id3 import ID3

    _, out, stdout = rendered_set
    names = ["01-solo-light-3min", "02-partner-light-3min", "03-solo-light-4min", "04-partner-light-4min"]
    assert sorted(p.name for p in out.glob("*.mp3")) == [f"{n}.mp3" for n in names]
    assert "Set 'Test set' in " in stdout and ": 4 rendered, 0 up to date, 0 failed." in stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["set"] == "Test set" and manifest["missing"] == []
    for number, (name, entry) in enumerate(zip(names, manifest["routines"], strict=True), start=1):
        path = out / f"{name}.mp3"
        minutes = 3 if "3min" in name else 4
        assert len(decode(path)) // 2 == minutes * 60 * 44_100
        tags = ID3(str(path))
        assert (str(tags["TALB"]), str(tags["TRCK"])) == ("Test set", f"{number}/4")
        assert entry["file"] == path.name and entry["length_ms"] == minutes * 60_000
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert [c["start_ms"] for c in entry["chapters"]] == sorted(f.start_time for f in tags.getall("CHAP"))
        assert (out / f"{name}.vtt").exists() and (out / f"{name}.lrc").exists()
    playlist = (out / "playlist.m3u8").read_text().splitlines()
    assert playlist[:4] == [
        "#EXTM3U",
        "#PLAYLIST:Test set",
        "#EXTINF:180,Solo foot massage, light, 3 min",
        f"{names[0]}.mp3",
    ]
    assert [line for line in playlist if line.endswith(".mp3")] == [f"{n}.mp3" for n in names]
    feed = (out / "feed.xml").read_text()
    assert f'url="https://example.org/feet/{names[0]}.mp3"' in feed and feed.count("<item>") == 4
    assert "<itunes:duration>0:03:00</itunes:duration>" in feed
    assert not list(out.glob(".footaudio*"))


def test_a_second_run_renders_nothing_and_is_fast(rendered_set, capsys):
    set_file, out, _ = rendered_set
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.mp3")}
    started = time.monotonic()
    code, stdout, _ = run(capsys, "batch", str(set_file), "-o", str(out), "--feed-url", "https://example.org/feet")
    elapsed = time.monotonic() - started
    assert code == 0 and stdout.count("] up to date") == 4
    assert ": 0 rendered, 4 up to date, 0 failed." in stdout
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.mp3")} == before
    assert elapsed < 2.0  # measured well under a second; generous for a loaded machine


def test_changing_one_routine_rerenders_only_that_one(tmp_path, capsys):
    set_file = tmp_path / "set.toml"
    set_file.write_text('[[routine]]\nminutes = 3\n[[routine]]\nminutes = 3\nmode = "partner"\n', encoding="utf-8")
    out = tmp_path / "out"
    assert run(capsys, "batch", str(set_file), "-o", str(out), "--jobs", "1")[0] == 0
    first = (out / "01-solo-light-3min.mp3").stat().st_mtime_ns
    set_file.write_text('[[routine]]\nminutes = 3\n[[routine]]\nminutes = 3\nmode = "partner"\nseed = 5\n')
    code, stdout, _ = run(capsys, "batch", str(set_file), "-o", str(out), "--jobs", "1")
    assert code == 0
    assert ": 1 rendered, 1 up to date, 0 failed." in stdout
    assert (out / "01-solo-light-3min.mp3").stat().st_mtime_ns == first
    assert (out / "02-partner-light-3min-seed5.mp3").exists()


def test_a_failing_routine_leaves_the_others_done(tmp_path, capsys):
    set_file = tmp_path / "set.toml"
    # A one-minute partner firm routine cannot hold its narration: that routine fails.
    set_file.write_text(
        '[[routine]]\nminutes = 3\n[[routine]]\nminutes = 1\nmode = "partner"\npressure = "firm"\n'
        '[[routine]]\nminutes = 3\nmode = "partner"\n',
        encoding="utf-8",
    )
    out = tmp_path / "out"
    code, stdout, err = run(capsys, "batch", str(set_file), "-o", str(out), "--jobs", "2")
    assert code == 1
    assert ": 2 rendered, 0 up to date, 1 failed." in stdout
    assert err.splitlines()[-1].startswith(
        "  failed 02-partner-firm-1min.mp3: 1 minute is too short for a partner firm routine"
    )
    assert len(decode(out / "01-solo-light-3min.mp3")) == len(decode(out / "03-partner-light-3min.mp3"))
    assert not (out / "02-partner-firm-1min.mp3").exists()
    assert json.loads((out / "manifest.json").read_text())["missing"] == ["02-partner-firm-1min.mp3"]


def test_a_killed_batch_completes_on_the_next_run(tmp_path):
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "footaudio",
        "batch",
        "--minutes",
        "3,4",
        "--mode",
        "solo,partner",
        "--engine",
        "pyttsx3",
        "-o",
        str(out),
        "--jobs",
        "1",
    ]
    # The encoder of the third routine waits for a go-ahead, so the batch is surely writing it when
    # it is killed (however fast the machine); the first two are encoded at once.
    env = held_encoder(tmp_path, f"*/{TEMP_PREFIX}*-03-*")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and process.poll() is None and not (tmp_path / "started").exists():
            time.sleep(0.02)
        assert process.poll() is None, "the batch ended before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait()
    finally:
        (tmp_path / "go").touch()
    # The killed batch's encoder goes on alone, as ffmpeg does: it encodes the audio it got into the
    # partial file, and holds the batch's output open until it ends.
    process.communicate(timeout=60)
    assert (tmp_path / "ended").exists()
    assert len(list(out.glob("*.mp3"))) == 2 and list(out.glob(".footaudio-*"))  # the lock and a partial file
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert ": 2 rendered, 2 up to date, 0 failed." in result.stdout
    assert sorted(p.name for p in out.glob(".footaudio*")) == []
    for path in sorted(out.glob("*.mp3")):
        minutes = 3 if "-3min" in path.name else 4
        assert len(decode(path)) // 2 == minutes * 60 * 44_100


def test_shards_cover_the_set_exactly_once(tmp_path, capsys, monkeypatch):
    import footaudio.sets.runner as batch

    rendered: list[str] = []
    monkeypatch.setattr(batch, "_presynthesize", lambda routines, templates, jobs=1, progress=None: None)
    monkeypatch.setattr(batch, "_render_all", lambda todo, *args: rendered.extend(spec.filename for spec, _ in todo))
    args = ["--minutes", "5,10,20", "--mode", "solo,partner", "--pressure", "light,firm", "-o", str(tmp_path)]
    for index in range(1, 5):
        code, stdout, _ = run(capsys, "batch", *args, "--shard", f"{index}/4")
        assert code == 0 and "--index-only" in stdout
    assert sorted(rendered) == sorted(set(rendered)) and len(rendered) == 12


def test_index_only_rebuilds_the_manifest_from_the_files(rendered_set, capsys):
    set_file, out, _ = rendered_set
    (out / "manifest.json").unlink()
    (out / "playlist.m3u8").unlink()
    code, stdout, _ = run(capsys, "batch", str(set_file), "-o", str(out), "--index-only")
    assert (code, stdout) == (0, f"Indexed 4 of 4 routines in {out}.\nWrote {out}/manifest.json, {out}/playlist.m3u8\n")
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["routines"]) == 4 and (out / "playlist.m3u8").exists()


HOLD_LOCK = """
import fcntl, os, sys, time
handle = os.open(sys.argv[1], os.O_RDWR)
fcntl.flock(handle, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(60)
"""


def test_a_second_batch_into_the_same_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    lock = out / ".footaudio.lock"
    lock.write_text(f"{os.getppid()} elsewhere\n")
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        code, _, err = run(capsys, "batch", "--minutes", "3", "-o", str(out))
    finally:
        holder.kill()
        holder.wait()
    assert code == 2
    assert err == (
        f"Error: another footaudio batch (process {os.getppid()}) is writing to {out}; "
        "wait for it to finish or choose another output folder.\n"
    )
    assert sorted(path.name for path in out.iterdir()) == [".footaudio.lock"]


def test_a_lock_file_nobody_holds_is_taken_over_whatever_process_id_it_names(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".footaudio.lock").write_text(str(os.getppid()))  # a live process id, but no lock held
    code, _, err = run(capsys, "batch", "--minutes", "3", "-o", str(out))
    assert code == 0 and "Error" not in err
    assert "Encoding audio: 1/1 routines, 03:00 of 03:00 audio, done in " in err  # progress lines only
    assert sorted(path.name for path in out.iterdir()) == [
        "01-solo-light-3min.mp3",
        "manifest.json",
        "playlist.m3u8",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-m", "3", "--shard", "5/4"], "--shard '5/4' is not K/N with 1 <= K <= N; use e.g. --shard 1/4."),
        (["-m", "3", "--jobs", "0"], "--jobs 0 must be 1 or more."),
        (["--minutes", ","], "--minutes is empty; give one value or a comma-separated list."),
        (["--mode", "solo,duo"], "unknown mode 'duo'; use --mode solo or partner."),
    ],
)
def test_bad_batch_options(tmp_path, capsys, args, message):
    code, _, err = run(capsys, "batch", "-o", str(tmp_path / "out"), *args)
    assert (code, err) == (2, f"Error: {message}\n")
    assert not list((tmp_path / "out").glob("*.mp3")) if (tmp_path / "out").exists() else True


def test_set_file_and_lists_do_not_mix(tmp_path, capsys):
    set_file = tmp_path / "s.toml"
    set_file.write_text("[matrix]\nminutes = [3]\n")
    code, _, err = run(capsys, "batch", str(set_file), "--minutes", "5")
    assert (code, err) == (2, f"Error: --minutes cannot be combined with a set file; put them in {set_file} instead.\n")
