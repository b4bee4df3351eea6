"""The phone page in a real headless Chromium: play a routine, jump to a step, see its caption.

Uses Debian's chromium (installed with apt-get when missing and running as root) driven by
playwright; never a downloaded browser. Set FOOTAUDIO_SCREENSHOT=docs/serve-phone.png to keep
the screenshot for the README.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from footaudio.serve import app
from footaudio.speech.cache import ClipCache

from ..audio.test_player import parse_vtt
from ..conftest import FakeSynthesizer
from ..sets.test_feed import render_set
from .test_serve import Served

pytestmark = [pytest.mark.engine, pytest.mark.slow, pytest.mark.usefixtures("real_engines")]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--autoplay-policy=no-user-gesture-required", "--mute-audio"]  # fmt: skip


def chromium() -> str:
    """Debian's Chromium, installed now if missing and possible; otherwise the test is skipped."""
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(f"{CHROMIUM} is missing and cannot be installed here (needs root and apt-get)")
    result = subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], capture_output=True, text=True,
                            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, timeout=900)  # fmt: skip
    if result.returncode != 0 or not os.path.exists(CHROMIUM):
        pytest.skip(f"apt-get install chromium failed: {result.stderr.strip().splitlines()[-1:]}")
    return CHROMIUM


def test_play_jump_to_a_step_and_see_its_caption(tmp_path, shared_cache):
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = chromium()
    folder = tmp_path / "out"
    _, results = render_set(folder / "week one", shared_cache.folder)
    result = results[1]  # the partner routine
    cues = parse_vtt(result.path.with_suffix(".vtt").read_text())
    steps = result.routine.timeline.steps
    server = Served(app(folder, synthesizer=FakeSynthesizer(), cache=ClipCache(tmp_path / "clips")))
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=ARGS)
            page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=1)
            # The narrowest phones in use: nothing sticks out sideways.
            narrow = browser.new_page(viewport={"width": 360, "height": 740})
            narrow.goto(f"http://127.0.0.1:{server.port}/")
            narrow.wait_for_selector("#routines li button")
            assert narrow.evaluate("() => document.documentElement.scrollWidth") <= 360
            narrow.close()
            page.goto(f"http://127.0.0.1:{server.port}/")
            page.get_by_role("button", name=result.routine.settings.title).click()
            page.wait_for_selector("#chapters li")
            titles = page.locator("#chapters li").all_inner_texts()
            assert [title.split(" ", 1)[1] for title in titles] == [step.title for step in steps]
            # Jump to the fourth step: the player seeks there and plays on.
            step = steps[3]
            page.locator("#chapters li button").nth(3).click()
            page.wait_for_function(
                "start => { const a = document.getElementById('audio');"
                " return !a.paused && a.currentTime * 1000 >= start"
                " && document.getElementById('caption').textContent; }",
                arg=step.start_ms, timeout=30_000,
            )  # fmt: skip
            state = page.evaluate(
                "() => ({time: document.getElementById('audio').currentTime * 1000,"
                " caption: document.getElementById('caption').textContent,"
                " current: document.querySelector('#chapters li.current').textContent})"
            )
            assert state["current"].endswith(step.title)
            # The caption shown is a cue of this step, and the one playing (updates come every 250 ms or so).
            cue = next(c for c in cues if c[2] == state["caption"])
            assert step.start_ms <= cue[0] < step.end_ms
            assert cue[0] <= state["time"] < cue[1] + 600
            seekable = page.evaluate("() => { const s = document.getElementById('audio').seekable;"
                                     " return [s.start(0), s.end(0)]; }")  # fmt: skip
            assert seekable[0] == 0 and seekable[1] >= 179
            page.evaluate("() => document.getElementById('audio').pause()")
            page.evaluate("() => window.scrollTo(0, 0)")
            shot = Path(os.environ.get("FOOTAUDIO_SCREENSHOT") or tmp_path / "serve-phone.png")
            page.screenshot(path=str(shot))
            assert shot.stat().st_size > 5_000
            browser.close()
    finally:
        server.close()
