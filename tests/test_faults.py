"""Fault injection: shared folders, broken encoders, untrusted files, signals and stuck tools (issue 13).

Real processes, real signals, real encoders (and fake ones: garbage, hanging, crashing).
Each case checks the exit code, the whole message, that no traceback was printed and
which files are left on disk.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from footaudio.audio.mp3 import read_stream
from footaudio.files import TEMP_PREFIX, machine_tag, remove_stale_temporaries, temporary_file

from .conftest import ffmpeg_path, held_encoder

pytestmark = pytest.mark.usefixtures("real_engines")


def footaudio(
    *args: str, env: dict | None = None, prefix: tuple[str, ...] = (), **kwargs
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*prefix, sys.executable, "-m", "footaudio", *args], capture_output=True, text=True, env=env, **kwargs
    )


def spawn(*args: str, env: dict | None = None, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "footaudio", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kwargs,
    )


def wait_for(condition, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def names(folder: Path) -> list[str]:
    """Every entry in ``folder``, hidden ones (temporary files, locks) included."""
    return sorted(path.name for path in folder.iterdir())


def temporaries(folder: Path) -> list[str]:
    return sorted(name for name in names(folder) if name.startswith(TEMP_PREFIX))


def fake_encoder(tmp_path: Path, body: str, name: str = "ffmpeg") -> dict:
    """An environment whose FOOTAUDIO_FFMPEG runs ``body`` (sh) when asked to encode an MP3, real ffmpeg otherwise."""
    (tmp_path / "bin").mkdir(exist_ok=True)
    script = tmp_path / "bin" / name
    script.write_text(
        f'#!/bin/sh\nfor last; do :; done\ncase "$*" in *libmp3lame*) {body};; esac\nexec "{ffmpeg_path()}" "$@"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return {**os.environ, "FOOTAUDIO_FFMPEG": str(script)}


def no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1, result.stderr


@pytest.fixture(scope="module")
def rendered(real_engines, tmp_path_factory) -> Path:
    """A 3-minute routine rendered once through the CLI.

    Tests that need some good footaudio MP3 to start from (to keep, or to forge the tags of)
    take a copy of it: each still works on a file of its own, without a render of its own.
    """
    target = tmp_path_factory.mktemp("rendered") / "routine.mp3"
    result = footaudio("render", "-m", "3", "-o", str(target))
    assert result.returncode == 0, result.stderr
    return target


# 1. Shared output folders: temporary files of live writers are never removed ---------------------


def test_temporary_names_carry_the_machine_and_are_unique(tmp_path):
    with temporary_file(tmp_path / "a.mp3") as first, temporary_file(tmp_path / "a.mp3") as second:
        assert first != second
        assert first.name.startswith(f"{TEMP_PREFIX}{machine_tag()}-{os.getpid()}-")
        assert first.name.endswith("-a.mp3.part") and first.exists() and second.exists()
    assert names(tmp_path) == []


HOLD = """
import fcntl, os, sys, time
handle = os.open(sys.argv[1], os.O_RDONLY)
fcntl.flock(handle, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(60)
"""


def test_a_stale_sweep_removes_only_unlocked_files_and_trusts_no_process_id(tmp_path):
    other_machine = tmp_path / f"{TEMP_PREFIX}0123456789-4242-abcd-x.mp3.part"
    ours_dead = tmp_path / f"{TEMP_PREFIX}{machine_tag()}-999999-abcd-y.mp3.part"
    ours_live = tmp_path / f"{TEMP_PREFIX}{machine_tag()}-999998-abcd-z.mp3.part"
    for path in (other_machine, ours_dead, ours_live):
        path.write_bytes(b"half an mp3")
    # A live owner elsewhere (its process id means nothing here) holds its lock.
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(ours_live)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        # Unlocked and made on this kernel: provably dead. Another machine's fresh file is kept.
        assert remove_stale_temporaries(tmp_path) == 1
        assert names(tmp_path) == sorted([other_machine.name, ours_live.name])
        # An hour later, another machine's unlocked file is stale; a locked one never is.
        assert remove_stale_temporaries(tmp_path, now=time.time() + 2 * 3600) == 1
        assert names(tmp_path) == [ours_live.name]
    finally:
        holder.kill()
        holder.wait()
    assert remove_stale_temporaries(tmp_path) == 1 and names(tmp_path) == []


def _unshare_works() -> bool:
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    return subprocess.run([unshare, "--pid", "--fork", "--uts", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _unshare_works(), reason="needs unshare with PID and UTS namespaces (root)")
def test_a_render_in_another_pid_namespace_and_host_leaves_a_live_render_alone(tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    long = out_dir / "long.mp3"
    # The writer's encoder waits for a go-ahead, so it is surely alive, its temporary file in place,
    # while the other render runs (no race against how fast the writer would finish). It says when it
    # started: before that, the temporary may still be under the name it is made with (".new", renamed
    # to ".part" once locked), and a name read then is gone a moment later.
    go, started = tmp_path / "go", tmp_path / "started"
    wait = f'case "$last" in *{TEMP_PREFIX}*) touch "{started}"; while [ ! -e "{go}" ]; do sleep 0.05; done;; esac'
    env = fake_encoder(tmp_path, wait)
    writer = spawn("render", "-m", "4", "-o", str(long), env=env)
    wait_for(lambda: started.exists() and writer.poll() is None)
    part = temporaries(out_dir)
    assert part and all(name.endswith(".part") for name in part)
    # The writer's process id does not exist in the new namespace; the hostname differs too.
    other = footaudio(
        "render", "-m", "3", "-o", str(out_dir / "short.mp3"),
        prefix=("unshare", "--pid", "--fork", "--uts", "sh", "-c", 'hostname other-machine; exec "$0" "$@"'),
    )  # fmt: skip
    assert other.returncode == 0, other.stderr
    assert writer.poll() is None and all((out_dir / name).exists() for name in part)
    go.touch()
    out, err = writer.communicate(timeout=600)
    assert (writer.returncode, err) == (0, "")
    assert out.startswith(f"Wrote {long} (") and "240.000 s" in out
    found = read_stream(long)
    assert found is not None and found.samples == 240 * 44_100
    assert names(out_dir) == ["long.mp3", "short.mp3"]


# 2. A broken encoder never replaces a good file ---------------------------------------------------


PASS_MEASUREMENT = 'case "$last" in pipe:*) exec "{ffmpeg}" "$@";; esac; '
"""Fake encoder bodies start with this: the loudness measurement (written to pipe:1) runs the real ffmpeg."""


@pytest.mark.parametrize(
    ("body", "what"),
    [
        # Only the encoder's file is broken: a loudness measurement writes to pipe:1 and passes through
        # (random bytes written "to pipe:1" would land in a file of that name in the working folder).
        (PASS_MEASUREMENT + 'cat >/dev/null; head -c 500000 /dev/urandom > "$last"; exit 0', "no valid MP3"),
        (PASS_MEASUREMENT + "cat >/dev/null; exit 0", "no valid MP3"),
        (
            '"' + "{ffmpeg}" + '" "$@" || exit 1; case "$last" in pipe:*) exit 0;; esac; '
            'head -c 20000 "$last" > "$last.cut"; mv "$last.cut" "$last"; exit 0',
            "no valid MP3",
        ),
    ],
    ids=["random-bytes", "writes-nothing", "truncated"],
)
def test_an_encoder_that_exits_0_with_bad_output_leaves_the_good_file(tmp_path, rendered, body, what):
    target = tmp_path / "out" / "routine.mp3"
    target.parent.mkdir()
    shutil.copyfile(rendered, target)  # the good file a first render wrote
    good = target.read_bytes()
    env = fake_encoder(tmp_path, body.replace("{ffmpeg}", ffmpeg_path()))
    result = footaudio("render", "-m", "3", "-o", str(target), env=env)
    assert (result.returncode, result.stderr) == (
        1,
        f"Error: ffmpeg reported success but wrote {what}, so {target} was left as it was; "
        "reinstall imageio-ffmpeg or check FOOTAUDIO_FFMPEG.\n",
    )
    assert target.read_bytes() == good and names(target.parent) == ["routine.mp3"]
    assert not Path("pipe:1").exists()


# The up-to-date check looks at what is on disk ----------------------------------------------------


def test_a_batch_renders_a_damaged_file_again_instead_of_calling_it_up_to_date(tmp_path):
    out = tmp_path / "set"
    args = ["batch", "--minutes", "3", "-o", str(out), "--jobs", "1"]
    assert footaudio(*args).returncode == 0
    (target,) = out.glob("*.mp3")
    whole = target.read_bytes()
    found = read_stream(target)
    assert found is not None
    # What a deleted temporary file used to become: the tags (with the right inputs digest) and no audio.
    from mutagen.mp3 import MP3

    tag_size = MP3(str(target)).info.frame_offset
    target.write_bytes(whole[:tag_size])
    again = footaudio(*args)
    assert again.returncode == 0, again.stderr
    assert "1 rendered, 0 up to date, 0 failed." in again.stdout
    repaired = read_stream(target)
    assert repaired is not None and repaired.samples == 180 * 44_100
    # A cut file (audio shorter than its tag says) is rendered again too.
    target.write_bytes(target.read_bytes()[: len(whole) // 2])
    third = footaudio(*args)
    assert "1 rendered, 0 up to date, 0 failed." in third.stdout
    assert footaudio(*args).stdout.count("1 up to date") == 1


# 4. Security: nothing runs from the cache folder, nothing raw reaches the terminal -----------------


def test_a_planted_compiled_template_in_the_cache_folder_is_never_loaded(tmp_path):
    """The old bytecode cache unpickled ``<cache>/.templates/__jinja2_*.cache``: plant every such file."""
    import pickle
    from importlib import resources

    from jinja2 import FileSystemBytecodeCache, bccache

    cache = tmp_path / "cache"
    marker = tmp_path / "pwned"

    class Payload:
        def __init__(self, path: Path) -> None:
            self.path = path

        def __reduce__(self):
            return (os.system, (f"touch {self.path}",))

    # Such a file does run code when Jinja unpickles it: the test can fail.
    probe = tmp_path / "probe"
    pickle.loads(pickle.dumps(Payload(probe), protocol=2))
    assert probe.exists()
    planted = bccache.bc_magic + pickle.dumps(Payload(marker), protocol=2)
    keys = FileSystemBytecodeCache()
    shipped = resources.files("footaudio.script") / "templates"
    for folder in (cache / ".templates", cache, cache / ".jinja"):
        folder.mkdir(parents=True, exist_ok=True)
        for template in shipped.iterdir():
            for name in (template.name, f"builtin/{template.name}"):
                for filename in (str(template), None):
                    (folder / f"__jinja2_{keys.get_cache_key(name, filename)}.cache").write_bytes(planted)
    result = footaudio("script", "-m", "3", "--engine", "pyttsx3", env={**os.environ, "FOOTAUDIO_CACHE": str(cache)})
    assert result.returncode == 0, result.stderr
    assert not marker.exists()
    # What footaudio keeps in the cache is data only: clips, their records and chime samples.
    kept = {path.suffix for path in cache.rglob("*") if path.is_file() and not path.name.startswith("__jinja2_")}
    assert kept <= {".wav", ".json", ".pcm"}


def forged_routine(rendered: Path, tmp_path: Path, **changes) -> Path:
    """A footaudio MP3 (a copy of ``rendered``) whose tags were then rewritten by someone else."""
    import json

    from mutagen.id3 import ID3, TIT2

    from footaudio.audio.tags import SETTINGS_TAG

    target = tmp_path / "forged.mp3"
    shutil.copyfile(rendered, target)
    tags = ID3(str(target))
    if "title" in changes:
        tags.delall("TIT2")
        tags.add(TIT2(encoding=3, text=changes["title"]))
    frame = tags.getall(f"TXXX:{SETTINGS_TAG}")[0]
    payload = json.loads(frame.text[0])
    payload["settings"].update(changes.get("settings", {}))
    payload["audio"].update(changes.get("audio", {}))
    frame.text = [json.dumps(payload)]
    if "chapter" in changes:
        first = sorted(tags.getall("CHAP"), key=lambda chapter: chapter.start_time)[0]
        first.sub_frames.delall("TIT2")
        first.sub_frames.add(TIT2(encoding=3, text=changes["chapter"]))
    tags.save(str(target))
    return target


def test_info_shows_forged_tags_with_control_characters_escaped(tmp_path, rendered):
    evil = "\x1b[2K\rRender again: footaudio render --cover /etc/shadow\x1b]0;x\x07"
    target = forged_routine(
        rendered, tmp_path, title=f"Nice{evil}", chapter=f"Step{evil}", settings={"voice": f"v{evil}"}
    )
    result = footaudio("info", str(target))
    assert result.returncode == 0, result.stderr
    escaped = "\\x1b[2K\\x0dRender again: footaudio render --cover /etc/shadow\\x1b]0;x\\x07"
    assert "\x1b" not in result.stdout and "\r" not in result.stdout and "\x07" not in result.stdout
    lines = result.stdout.splitlines()
    assert f"Title:      Nice{escaped}" in lines
    assert any(line.endswith(f"Step{escaped}") for line in lines)
    assert sum(line.startswith("Render again:") for line in lines) == 1
    assert lines[-1] == f"Render again: footaudio render --minutes 3 --voice 'v{escaped}' -o {target}"


@pytest.mark.parametrize("cover", ["/dev/zero", "FIFO", "BIG"])
def test_info_never_suggests_a_harmful_cover(tmp_path, rendered, cover):
    if cover == "FIFO":
        cover = str(tmp_path / "fifo")
        os.mkfifo(cover)
    elif cover == "BIG":
        cover = str(tmp_path / "big.jpg")
        Path(cover).write_bytes(b"\xff\xd8\xff" + bytes(6_000_000))
    target = forged_routine(rendered, tmp_path, audio={"cover": cover})
    result = subprocess.run(
        [sys.executable, "-m", "footaudio", "info", str(target)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"Render again: footaudio render --minutes 3 -o {target}"


def test_a_template_symlink_out_of_the_templates_folder_is_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "routine.ssml.j2").write_text('{% extends "builtin/routine.ssml.j2" %}{% include "leak.j2" %}')
    (templates / "leak.j2").symlink_to(secret)
    result = footaudio("script", "-m", "3", "--templates", str(templates))
    assert (result.returncode, result.stderr) == (
        2,
        f"Error: {templates / 'routine.ssml.j2'}, line 1: template 'leak.j2' is a symbolic link that leads out "
        f"of the templates folder {templates}; copy the file into the folder instead.\n",
    )
    assert "top secret" not in result.stdout
    # A linked folder leads out just the same; a link that stays inside is fine.
    (templates / "leak.j2").unlink()
    (templates / "inside.j2").write_text("")
    (templates / "leak.j2").symlink_to(templates / "inside.j2")
    assert footaudio("script", "-m", "3", "--templates", str(templates)).returncode == 0


# 5. Interrupted batches: workers stop at once, die with the batch, leave no temporary files -------


class Stop(BaseException):
    """What the test's SIGTERM handler raises, as footaudio's own handlers raise ``Interrupted``."""


@pytest.fixture
def stop_now():
    """Deliver SIGTERM now as a batch worker receives it: to another thread of a process that has some.

    The kernel hands a process's signal to any thread that does not block it, and Python then
    runs the handler in the main thread wherever it is. Returns a function that sends the signal
    to an idle thread and waits until it arrived, so the handler runs at the caller's very next step.
    """
    arrived, wakeup = os.pipe()
    os.set_blocking(wakeup, False)
    previous_wakeup = signal.set_wakeup_fd(wakeup, warn_on_full_buffer=False)

    def stop(signum: int, frame: object) -> None:
        raise Stop

    previous = signal.signal(signal.SIGTERM, stop)
    idle = threading.Event()
    other = threading.Thread(target=idle.wait)
    other.start()

    def now() -> None:
        signal.pthread_kill(other.ident, signal.SIGTERM)
        os.read(arrived, 1)  # Python's C-level handler has run (in the other thread)

    try:
        yield now
    finally:
        idle.set()
        other.join()
        signal.signal(signal.SIGTERM, previous)
        signal.set_wakeup_fd(previous_wakeup)
        os.close(arrived)
        os.close(wakeup)


def test_a_stop_just_as_a_temporary_file_is_made_leaves_nothing(tmp_path, monkeypatch, stop_now):
    real_rename = os.rename

    def rename_then_stop(source, target):
        real_rename(source, target)
        stop_now()  # before the block that removes the file is entered

    monkeypatch.setattr(os, "rename", rename_then_stop)
    with pytest.raises(Stop), temporary_file(tmp_path / "x.mp3"):
        pass
    assert names(tmp_path) == []


def test_a_stop_just_as_ffmpeg_starts_stops_ffmpeg_and_leaves_nothing(tmp_path, monkeypatch, stop_now):
    from footaudio.audio.mp3 import write_mp3
    from footaudio.tools import find_ffmpeg

    find_ffmpeg()
    real_popen = subprocess.Popen
    started: list[subprocess.Popen] = []

    def popen_then_stop(*args, **kwargs):
        started.append(real_popen(*args, **kwargs))
        stop_now()  # as if it came inside Popen: the render has not seen the process yet
        return started[-1]

    monkeypatch.setattr(subprocess, "Popen", popen_then_stop)
    with pytest.raises(Stop):
        write_mp3([bytes(44_100 * 2)], tmp_path / "x.mp3")
    # Had ffmpeg been left running, it would make its output file again once its input ends.
    if started[0].stdin is not None:
        with contextlib.suppress(OSError):
            started[0].stdin.close()
    ended = started[0].wait(30)
    assert names(tmp_path) == [] and ended == -signal.SIGKILL


def session_processes(session: int) -> list[int]:
    """Processes still alive in ``session`` (the batch and its workers), zombies excluded."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[3]) == session:
            found.append(int(entry.name))
    return found


# eSpeak NG speaks a cold set ten times faster than Piper; what is tested here happens while files are encoded.
# The encoder holds back every file but the first (then encodes it with the real ffmpeg), so the routines
# can be short: the batch stays with one file finished and both workers encoding their next one until the
# test acts, instead of long files making that likely (and making the rerun of the killed batch long).
BATCH = ("--minutes", "3,4,5,6", "--engine", "pyttsx3")


@pytest.fixture
def held_batch(tmp_path):
    """A two-worker batch in its own session (so a signal to its group reaches nothing else), and its folder."""
    out = tmp_path / "out"
    env = held_encoder(tmp_path, f"*/{TEMP_PREFIX}*-0[2-9]-*")
    batch = spawn("batch", *BATCH, "-o", str(out), "--jobs", "2", env=env, start_new_session=True)
    try:
        # Wait until a file is finished and both workers are writing their next one.
        wait_for(lambda: len(list(out.glob("*.mp3"))) >= 1 and len(temporaries(out)) >= 2, 300)
        yield batch, out
    finally:
        (tmp_path / "go").touch()  # only after a failure is an encoder still held: it ends with its input
        if batch.poll() is None:
            batch.kill()
            batch.communicate()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to find the workers")
@pytest.mark.parametrize("how", ["ctrl-c to the group", "sigterm to the batch"])
def test_an_interrupted_batch_stops_at_once_and_tells_the_truth(held_batch, how):
    batch, out = held_batch
    signalled = time.monotonic()
    if how == "ctrl-c to the group":
        os.killpg(batch.pid, signal.SIGINT)
    else:
        batch.send_signal(signal.SIGTERM)
    _, err = batch.communicate(timeout=60)
    took = time.monotonic() - signalled
    finished = sorted(path.name for path in out.glob("*.mp3"))
    assert batch.returncode == 130 and took < 5, (took, err)
    # Progress lines come first; the last line is the whole message.
    assert err.splitlines(keepends=True)[-1] == (
        f"Error: interrupted; {len(finished)} finished file{' was' if len(finished) == 1 else 's were'} kept "
        "and nothing half-written was left; run the same command again to render the rest.\n"
    )
    # Its helpers (the multiprocessing resource tracker) exit as it exits; no worker lives on.
    wait_for(lambda: session_processes(batch.pid) == [], 3)
    time.sleep(2)  # nothing is published after the stop
    assert names(out) == finished and "01-solo-light-3min-pyttsx3.mp3" in finished
    for name in finished:
        assert read_stream(out / name) is not None


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to find the workers")
def test_workers_die_with_a_killed_batch_and_leave_no_temporary_files(held_batch):
    batch, out = held_batch
    assert len(session_processes(batch.pid)) >= 3  # the batch and two workers
    batch.send_signal(signal.SIGKILL)
    batch.communicate(timeout=60)
    wait_for(lambda: session_processes(batch.pid) == [], 10)
    # The workers removed their temporary files; only the lock of the killed batch is left (it is not held).
    finished = sorted(path.name for path in out.glob("*.mp3"))
    assert names(out) == sorted([".footaudio.lock", *finished])
    rerun = footaudio("batch", *BATCH, "-o", str(out), "--jobs", "2")  # with the real encoder
    assert rerun.returncode == 0, rerun.stderr
    assert f"{4 - len(finished)} rendered, {len(finished)} up to date, 0 failed." in rerun.stdout
    assert names(out) == sorted(
        [
            *(f"0{n}-solo-light-{n + 2}min-pyttsx3.mp3" for n in range(1, 5)),
            "manifest.json",
            "playlist.m3u8",
        ]
    )


# 3. Files footaudio did not write are only replaced with --force ----------------------------------


def test_captions_never_replace_the_users_own_vtt_and_lrc(tmp_path):
    target = tmp_path / "routine.mp3"
    (tmp_path / "routine.lrc").write_text("[ar:me]\nmy own lyrics\n")
    result = footaudio("render", "-m", "3", "--captions", "-o", str(target))
    assert (result.returncode, result.stderr) == (
        2,
        f"Error: {tmp_path / 'routine.lrc'} exists and was not written by footaudio; use --force to replace it, "
        "or choose another output path.\n",
    )
    assert names(tmp_path) == ["routine.lrc"] and (tmp_path / "routine.lrc").read_text() == "[ar:me]\nmy own lyrics\n"
    forced = footaudio("render", "-m", "3", "--captions", "--force", "-o", str(target))
    assert forced.returncode == 0, forced.stderr
    assert names(tmp_path) == ["routine.lrc", "routine.mp3", "routine.vtt"]
    # footaudio's own captions are replaced by the next render without --force.
    again = footaudio("render", "-m", "4", "--captions", "-o", str(target))
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize("name", ["playlist.m3u8", "manifest.json", "feed.xml"])
def test_a_batch_never_replaces_the_users_own_index_files(tmp_path, name):
    out = tmp_path / "out"
    out.mkdir()
    (out / name).write_text("mine\n")
    args = ["batch", "--minutes", "3", "-o", str(out), "--feed-url", "https://example.org/f"]
    result = footaudio(*args)
    assert (result.returncode, result.stderr) == (
        2,
        f"Error: {out / name} exists and was not written by footaudio; use --force to replace it, "
        "or choose another output folder.\n",
    )
    assert names(out) == [name] and (out / name).read_text() == "mine\n"
    index_only = footaudio(*args, "--index-only")
    assert index_only.returncode == 2 and (out / name).read_text() == "mine\n"
    forced = footaudio(*args, "--force")
    assert forced.returncode == 0, forced.stderr
    assert names(out) == [
        "01-solo-light-3min.chapters.json",  # the feed's chapters file and default cover
        "01-solo-light-3min.mp3",
        "cover.png",
        "feed.xml",
        "manifest.json",
        "playlist.m3u8",
    ]
    # Once footaudio wrote them, a rerun refreshes them without --force.
    assert footaudio(*args).returncode == 0


def test_a_file_that_appears_during_a_render_is_not_replaced(tmp_path):
    target = tmp_path / "out" / "routine.mp3"
    # The encoder waits until the user's file is in place: it surely appears while footaudio is writing.
    env = held_encoder(tmp_path, f"*/{TEMP_PREFIX}*")
    writer = spawn("render", "-m", "3", "--engine", "pyttsx3", "-o", str(target), env=env)
    wait_for(lambda: (tmp_path / "started").exists() and writer.poll() is None)
    assert temporaries(target.parent)
    target.write_bytes(b"my recording, saved meanwhile")
    (tmp_path / "go").touch()
    _, err = writer.communicate(timeout=600)
    assert (writer.returncode, err) == (
        2,
        f"Error: {target} appeared while footaudio was writing and footaudio did not write it; "
        "use --force to replace it, or choose another output path.\n",
    )
    assert (tmp_path / "ended").exists()  # the real ffmpeg encoded the routine before footaudio looked
    assert target.read_bytes() == b"my recording, saved meanwhile" and names(target.parent) == ["routine.mp3"]


def test_a_dangling_symlink_at_the_destination_needs_force(tmp_path):
    target = tmp_path / "routine.mp3"
    target.symlink_to(tmp_path / "elsewhere.mp3")
    result = footaudio("render", "-m", "3", "-o", str(target))
    assert (result.returncode, result.stderr) == (
        2,
        f"Error: {target} exists and was not written by footaudio; use --force to replace it, "
        "or choose another output path.\n",
    )
    assert target.is_symlink() and names(tmp_path) == ["routine.mp3"]
    forced = footaudio("render", "-m", "3", "--force", "-o", str(target))
    assert forced.returncode == 0, forced.stderr
    assert not target.is_symlink() and read_stream(target) is not None and names(tmp_path) == ["routine.mp3"]


# 6. Shards share a folder; a render does not slip into a batch's folder ---------------------------


def test_four_shards_at_once_write_one_folder_and_index_only_indexes_them(tmp_path):
    out = tmp_path / "out"
    args = ["batch", "--minutes", "3,4,5,6", "--engine", "pyttsx3", "-o", str(out), "--jobs", "1"]
    shards = [spawn(*args, "--shard", f"{k}/4") for k in range(1, 5)]
    results = [(shard.returncode, *shard.communicate(timeout=600)) for shard in shards]
    results = [(shard.returncode, out_, err) for shard, (_, out_, err) in zip(shards, results, strict=True)]
    for code, stdout, stderr in results:
        assert code == 0 and "Error" not in stderr, stderr  # progress lines only
        assert stdout.endswith(
            "0 up to date, 0 failed.\nThis was one shard: when all shards are done, run the same command "
            "with --index-only.\n"
        )
    files = [f"0{n}-solo-light-{n + 2}min-pyttsx3.mp3" for n in range(1, 5)]
    assert names(out) == files
    indexed = footaudio(*args, "--index-only")
    assert indexed.returncode == 0 and indexed.stdout.startswith(f"Indexed 4 of 4 routines in {out}.\n")
    assert names(out) == sorted([*files, "manifest.json", "playlist.m3u8"])


def test_a_render_into_a_folder_a_batch_is_writing_is_refused(tmp_path):
    out = tmp_path / "out"
    # Its encoder waits until the test is done: the batch is surely still writing meanwhile.
    env = held_encoder(tmp_path, f"*/{TEMP_PREFIX}*")
    batch = spawn("batch", "--minutes", "3,4", "--engine", "pyttsx3", "-o", str(out), "--jobs", "1", env=env)
    try:
        wait_for(lambda: out.exists() and temporaries(out))
        result = footaudio("render", "-m", "3", "-o", str(out / "extra.mp3"))
        index_only = footaudio("batch", "--minutes", "3,4", "--engine", "pyttsx3", "-o", str(out), "--index-only")
    finally:
        batch.send_signal(signal.SIGTERM)
        batch.communicate(timeout=60)
        (tmp_path / "go").touch()  # never leave an encoder waiting, whatever happened above
    assert (result.returncode, result.stderr) == (
        2,
        f"Error: a footaudio batch is writing to {out}; wait for it to finish, or render into another folder.\n",
    )
    assert index_only.returncode == 2 and index_only.stderr.startswith("Error: another footaudio batch (process ")
    assert not (out / "extra.mp3").exists()


# 7. Hangs and unbounded reads ---------------------------------------------------------------------


def test_an_encoder_that_never_finishes_is_stopped_with_a_clear_error(tmp_path):
    env = {**fake_encoder(tmp_path, "exec sleep 600"), "FOOTAUDIO_FFMPEG_TIMEOUT": "2"}
    target = tmp_path / "out" / "x.mp3"
    started = time.monotonic()
    result = footaudio("render", "-m", "3", "-o", str(target), env=env, timeout=120)
    assert (result.returncode, result.stderr) == (
        1,
        f"Error: ffmpeg made no progress for 2 s while encoding {target} and was stopped; "
        "check FOOTAUDIO_FFMPEG, or raise FOOTAUDIO_FFMPEG_TIMEOUT.\n",
    )
    assert time.monotonic() - started < 60 and not target.parent.exists()


def test_doctor_reports_an_ffmpeg_that_hangs_instead_of_hanging(tmp_path):
    (tmp_path / "bin").mkdir()
    script = tmp_path / "bin" / "ffmpeg"
    script.write_text("#!/bin/sh\nexec sleep 600\n")
    script.chmod(0o755)
    env = {**os.environ, "FOOTAUDIO_FFMPEG": str(script), "FOOTAUDIO_FFMPEG_TIMEOUT": "2"}
    result = footaudio("doctor", env=env, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"FAIL  ffmpeg: FOOTAUDIO_FFMPEG='{script}' did not answer '-version' within 2 s; " in result.stdout


@pytest.mark.parametrize(
    ("cover", "problem"),
    [("/dev/zero", "not a regular file"), ("FIFO", "not a regular file"), ("BIG", "larger than 5 MB")],
)
def test_a_cover_must_be_a_regular_file_of_a_few_mb(tmp_path, cover, problem):
    if cover == "FIFO":
        cover = str(tmp_path / "fifo")
        os.mkfifo(cover)
    elif cover == "BIG":
        cover = str(tmp_path / "big.jpg")
        Path(cover).write_bytes(b"\xff\xd8\xff" + bytes(6_000_000))
    result = footaudio("render", "-m", "3", "--cover", cover, "-o", str(tmp_path / "out" / "x.mp3"), timeout=60)
    assert (result.returncode, result.stderr) == (
        2,
        f"Error: cover image {cover} is {problem}; use --cover with a JPEG or PNG file of at most 5 MB.\n",
    )
    assert not (tmp_path / "out").exists()


def test_a_set_file_that_is_a_fifo_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "set.toml"
    os.mkfifo(fifo)
    result = footaudio("batch", str(fifo), "-o", str(tmp_path / "out"), timeout=60)
    assert (result.returncode, result.stderr) == (
        2,
        f"Error: set file {fifo} is not a regular file; give a TOML file of at most 1 MB.\n",
    )
    assert names(tmp_path) == ["set.toml"]


def test_cache_entries_that_are_fifos_devices_or_folders_do_not_hang_a_run(tmp_path):
    cache = tmp_path / "cache"
    env = {**os.environ, "FOOTAUDIO_CACHE": str(cache)}
    first = footaudio("script", "-m", "3", "--engine", "pyttsx3", env=env)
    assert first.returncode == 0, first.stderr
    wavs = sorted(cache.rglob("*.wav"))
    os.unlink(wavs[0])
    os.mkfifo(wavs[0])
    wavs[1].with_suffix(".json").unlink()
    wavs[1].with_suffix(".json").symlink_to("/dev/zero")
    again = footaudio("script", "-m", "3", "--engine", "pyttsx3", env=env, timeout=120)
    assert (again.returncode, again.stdout) == (0, first.stdout)
    assert wavs[0].is_file() and wavs[1].with_suffix(".json").is_file()
    # A folder where a clip belongs cannot be replaced: one clear line.
    os.unlink(wavs[2])
    wavs[2].mkdir()
    third = footaudio("script", "-m", "3", "--engine", "pyttsx3", env=env, timeout=120)
    assert (third.returncode, third.stderr) == (
        1,
        f"Error: the clip cache entry {wavs[2]} is a folder; remove it, or set FOOTAUDIO_CACHE to another folder.\n",
    )


def _mount_tmpfs(folder: Path, size: str) -> bool:
    folder.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)]).returncode == 0


def test_a_full_disk_under_the_cache_is_reported_as_such(tmp_path):
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "2m"):
        pytest.skip("mounting a small tmpfs needs root and mount(8)")
    try:
        with (disk / "filler").open("wb") as filler, pytest.raises(OSError):
            while True:
                filler.write(bytes(65536))
                filler.flush()
        started = time.monotonic()
        result = footaudio("script", "-m", "3", env={**os.environ, "FOOTAUDIO_CACHE": str(disk / "cache")})
        assert (result.returncode, result.stderr) == (
            1,
            f"Error: the disk of the clip cache {disk / 'cache'} is full; free some space, "
            "or set FOOTAUDIO_CACHE to another folder.\n",
        )
        assert time.monotonic() - started < 30
    finally:
        subprocess.run(["umount", str(disk)])


def test_a_full_disk_while_tagging_is_one_error_line_and_keeps_the_previous_file(tmp_path):
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "16m"):
        pytest.skip("mounting a small tmpfs needs root and mount(8)")
    try:
        target = disk / "routine.mp3"
        first = footaudio("render", "-m", "3", "-o", str(target))
        assert first.returncode == 0, first.stderr
        good = target.read_bytes()
        # A real full disk at the right moment: the encoder writes the whole temporary file, then
        # the disk fills up (the kernel's own ENOSPC, no injection), so the first write that fails
        # is mutagen's, growing the file for the ID3 tag and its chapters.
        encoded = tmp_path / "encoded"
        wrapper = tmp_path / "ffmpeg"
        wrapper.write_text(
            f'#!/bin/sh\nfor last; do :; done\ncase "$last" in *.part)\n'
            f'  "{ffmpeg_path()}" "$@" || exit $?\n'
            f'  touch "{encoded}"; cat /dev/zero > "{disk / "filler"}" 2>/dev/null; exit 0;;\nesac\n'
            f'exec "{ffmpeg_path()}" "$@"\n'
        )
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
        result = footaudio("render", "-m", "3", "-o", str(target), env={**os.environ, "FOOTAUDIO_FFMPEG": str(wrapper)})
        assert (result.returncode, result.stderr) == (
            1,
            f"Error: the disk is full while writing {target}; free some space and try again.\n",
        )
        assert encoded.exists()  # the encoder finished: the write that met the full disk was the tagging
        assert names(disk) == ["filler", "routine.mp3"] and target.read_bytes() == good
    finally:
        subprocess.run(["umount", str(disk)])


# 8. Tracebacks that were still reachable: each is one Error: line ---------------------------------


def test_a_name_too_long_for_the_temporary_file_is_a_usage_error(tmp_path):
    target = tmp_path / ("x" * 240 + ".mp3")  # fits the file system, but not with footaudio's temporary prefix
    result = footaudio("render", "-m", "3", "-o", str(target))
    assert result.returncode == 2 and result.stderr.startswith(f"Error: the file name {'x' * 40}... is too long")
    no_traceback(result)
    assert names(tmp_path) == []


def test_a_cache_under_an_unknown_users_home_is_a_usage_error():
    result = footaudio("script", "-m", "3", env={**os.environ, "FOOTAUDIO_CACHE": "~nosuchuser-footaudio/x"})
    assert (result.returncode, result.stderr) == (
        2,
        "Error: FOOTAUDIO_CACHE='~nosuchuser-footaudio/x' names a user that does not exist; set it to a folder path.\n",
    )


def test_standard_output_that_cannot_be_written_is_one_error_line():
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "footaudio", "script", "-m", "3"], stdout=full, stderr=subprocess.PIPE, text=True
        )
    assert (result.returncode, result.stderr) == (
        1,
        "Error: cannot write the output (No space left on device); check where standard output goes.\n",
    )


@pytest.mark.parametrize("where", ["/proc/footaudio-out", "FILE/out"])
def test_a_batch_folder_that_cannot_be_created_is_one_error_line(tmp_path, where):
    if where.startswith("FILE"):
        (tmp_path / "FILE").write_text("a file")
        where = str(tmp_path / where)
    result = footaudio("batch", "--minutes", "3", "-o", where)
    assert result.returncode == 2 and result.stderr.startswith(f"Error: cannot create the folder {where} (")
    no_traceback(result)


def test_index_files_that_are_folders_or_forged_tags_are_one_error_line_or_ignored(tmp_path):
    from mutagen.id3 import ID3, TLEN

    out = tmp_path / "out"
    args = ["batch", "--minutes", "3", "-o", str(out)]
    assert footaudio(*args).returncode == 0
    (target,) = out.glob("*.mp3")
    tags = ID3(str(target))
    tags.delall("TLEN")
    tags.add(TLEN(encoding=3, text="soon"))
    tags.save(str(target))
    indexed = footaudio(*args, "--index-only")
    assert (indexed.returncode, indexed.stderr) == (0, "")
    (out / "manifest.json").unlink()
    (out / "manifest.json").mkdir()
    result = footaudio(*args, "--index-only", "--force")
    assert result.returncode == 1 and result.stderr.startswith(f"Error: cannot write the index files in {out} (")
    no_traceback(result)


@pytest.mark.parametrize(
    "body",
    ["[matrix]\nminutes = " + "[" * 3000 + "]" * 3000, "[defaults]\nx = " + "{a = " * 500 + "1" + "}" * 500],
    ids=["arrays", "tables"],
)
def test_a_set_file_nested_too_deeply_is_one_error_line(tmp_path, body):
    (tmp_path / "deep.toml").write_text(body + "\n")
    result = footaudio("batch", "deep.toml", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (
        2,
        "Error: deep.toml nests tables or arrays too deeply; flatten it.\n",
    )
    assert names(tmp_path) == ["deep.toml"]


# 9. Bad input accepted --------------------------------------------------------------------------


def test_a_piper_voice_path_with_the_pyttsx3_engine_is_refused(tmp_path):
    result = footaudio(
        "render",
        "-m",
        "3",
        "--engine",
        "pyttsx3",
        "--voice",
        "../../etc/passwd.onnx",
        "-o",
        str(tmp_path / "o" / "x.mp3"),
    )
    assert (result.returncode, result.stderr) == (
        2,
        "Error: voice '../../etc/passwd.onnx' is a Piper voice file, but the engine is pyttsx3-espeak; "
        "add --engine piper, or choose a voice from 'footaudio voices'.\n",
    )
    assert names(tmp_path) == []


def test_a_failed_batch_leaves_no_folder_behind(tmp_path):
    result = footaudio("batch", "--minutes", "3", "--voice", "nosuchvoice", "-o", str(tmp_path / "a" / "b"))
    assert (result.returncode, result.stderr) == (
        2,
        "Error: unknown voice 'nosuchvoice'; run 'footaudio voices' to list the voices; "
        "eSpeak voices need --engine pyttsx3.\n",
    )
    assert names(tmp_path) == []


def test_the_lock_file_as_a_folder_is_one_error_line(tmp_path):
    (tmp_path / ".footaudio.lock").mkdir()
    result = footaudio("batch", "--minutes", "3", "-o", str(tmp_path))
    assert (result.returncode, result.stderr) == (
        2,
        f"Error: {tmp_path / '.footaudio.lock'} is a folder; remove it, it is footaudio's lock file.\n",
    )
    assert names(tmp_path) == [".footaudio.lock"]


def test_undecodable_bytes_in_an_output_path_are_no_traceback(tmp_path):
    target = os.fsencode(tmp_path) + b"/\xff\xfe.mp3"
    result = subprocess.run([sys.executable, "-m", "footaudio", "render", "-m", "3", "-o", target], capture_output=True)
    assert (result.returncode, result.stderr) == (0, b"")
    assert os.path.exists(target) and read_stream(Path(os.fsdecode(target))) is not None
    info = subprocess.run([sys.executable, "-m", "footaudio", "info", target], capture_output=True)
    assert info.returncode == 0 and info.stdout.startswith(
        b"File:       " + os.fsencode(tmp_path) + b"/\\udcff\\udcfe.mp3\n"
    )
