"""The podcast feed: what podcast apps (gPodder's podcastparser, feedparser) read from it, and its stability."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from footaudio import SetContext, render
from footaudio.cli import main
from footaudio.sets.feed import CHAPTERS_SUFFIX, default_cover_png
from footaudio.sets.index import write_index
from footaudio.sets.setfile import set_from_lists

from ..conftest import FakeSynthesizer

pytestmark = pytest.mark.usefixtures("real_engines")

FEED_URL = "http://192.0.2.7:8765/my feet"


def render_set(folder: Path, cache_folder: Path):
    """A two-routine set rendered with the fake synthesizer (exact, fast) into ``folder``."""
    from footaudio.speech.cache import ClipCache

    routine_set = set_from_lists("Week one", {"minutes": [3], "mode": ["solo", "partner"]}, {"captions": True})
    folder.mkdir(parents=True, exist_ok=True)
    results = [
        render(
            spec.settings, folder / spec.filename, options=spec.options, synthesizer=FakeSynthesizer(),
            cache=ClipCache(cache_folder), set_context=SetContext(routine_set.name, (spec.track, 2)),
        )
        for spec in routine_set.routines
    ]  # fmt: skip
    return routine_set, results


@pytest.fixture(scope="module")
def feed_set(tmp_path_factory):
    folder = tmp_path_factory.mktemp("feed") / "week one"
    routine_set, results = render_set(folder, folder.parent / "clips")
    write_index(routine_set, folder, FEED_URL)
    return routine_set, results, folder


def test_podcastparser_reads_chapters_images_durations_and_transcripts(feed_set):
    import podcastparser

    routine_set, results, folder = feed_set
    with (folder / "feed.xml").open("rb") as stream:
        parsed = podcastparser.parse(FEED_URL + "/feed.xml", stream)
    base = "http://192.0.2.7:8765/my%20feet"
    assert parsed["title"] == "Week one" and parsed["cover_url"] == f"{base}/cover.png"
    episodes = sorted(parsed["episodes"], key=lambda episode: episode["enclosures"][0]["url"])
    assert len(episodes) == 2
    for episode, spec, result in zip(episodes, routine_set.routines, results, strict=True):
        steps = result.routine.timeline.steps
        assert episode["title"] == spec.settings.title
        assert episode["total_time"] == 180
        assert episode["enclosures"][0] == {
            "url": f"{base}/{spec.stem}.mp3", "file_size": (folder / spec.filename).stat().st_size,
            "mime_type": "audio/mpeg",
        }  # fmt: skip
        assert episode["episode_art_url"] == f"{base}/cover.png"
        assert [(c["start"], c["title"]) for c in episode["chapters"]] == [(s.start_ms // 1000, s.title) for s in steps]
        # podcastparser 0.6 knows the Podcasting 2.0 namespace only by its old GitHub address, not the
        # official https://podcastindex.org/namespace/1.0 the feed uses; feedparser reads those tags below.
        assert "Steps:" in episode["description"] and all(s.title in episode["description"] for s in steps)
        assert episode["published"] == int((folder / spec.filename).stat().st_mtime)
        # The JSON chapters file the feed points at holds the same steps.
        chapters = json.loads((folder / f"{spec.stem}{CHAPTERS_SUFFIX}").read_text())
        assert [(c["startTime"], c["title"]) for c in chapters["chapters"]] == [
            (s.start_ms / 1000, s.title) for s in steps
        ]
    assert (folder / "cover.png").read_bytes() == default_cover_png()


def test_feedparser_reads_the_same_feed(feed_set):
    import feedparser

    routine_set, _, folder = feed_set
    parsed = feedparser.parse((folder / "feed.xml").read_bytes())
    base = "http://192.0.2.7:8765/my%20feet"
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.title == "Week one" and parsed.feed.image.href.endswith("/my%20feet/cover.png")
    assert [entry.itunes_duration for entry in parsed.entries] == ["0:03:00", "0:03:00"]
    for entry, spec in zip(parsed.entries, routine_set.routines, strict=True):
        assert entry.enclosures[0].href.endswith(f"/my%20feet/{spec.stem}.mp3")
        assert entry.image.href.endswith("/cover.png")
        assert entry.guid and entry.published_parsed is not None
        assert entry.podcast_transcript == {"url": f"{base}/{spec.stem}.vtt", "type": "text/vtt", "language": "en"}
        assert entry.podcast_chapters == {
            "url": f"{base}/{spec.stem}{CHAPTERS_SUFFIX}", "type": "application/json+chapters"
        }  # fmt: skip
        assert [chapter["title"] for chapter in entry.psc_chapters["chapters"]][-1] == "Closing"


def test_default_cover_is_a_square_png_podcast_directories_accept():
    import struct

    data = default_cover_png()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", data[16:24])
    assert width == height >= 1400 and len(data) < 100_000


def test_rerunning_index_only_leaves_the_feed_byte_identical(tmp_path, capsys):
    folder = tmp_path / "out"
    render_set(folder, tmp_path / "clips")
    argv = ["batch", "--minutes", "3", "--mode", "solo,partner", "--captions", "--name", "Week one", "-o",
            str(folder), "--index-only", "--feed-url", FEED_URL]  # fmt: skip
    for _ in range(2):
        with pytest.raises(SystemExit) as caught:
            main(argv)
        assert caught.value.code == 0
    first = (folder / "feed.xml").read_bytes()
    stamps = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    with pytest.raises(SystemExit):
        main(argv)
    assert (folder / "feed.xml").read_bytes() == first
    # The cover and chapters files are only rewritten when they change, so apps need not fetch them again.
    companions = ("cover.png", CHAPTERS_SUFFIX)
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir() if p.name.endswith(companions)} == {
        name: stamp for name, stamp in stamps.items() if name.endswith(companions)
    }
    assert b"<pubDate>" in first and first.count(b"<item>") == 2


def test_the_sets_own_cover_is_copied_in(tmp_path):
    from ..audio.test_player import tiny_png

    cover = tmp_path / "art.png"
    cover.write_bytes(tiny_png())
    folder = tmp_path / "out"
    routine_set, _ = render_set(folder, tmp_path / "clips")
    with_cover = set_from_lists("Week one", {"minutes": [3], "mode": ["solo", "partner"]},
                                {"captions": True, "cover": str(cover)})  # fmt: skip
    write_index(with_cover, folder, "https://example.org/feet")
    assert (folder / "cover.png").read_bytes() == tiny_png()
    assert 'href="https://example.org/feet/cover.png"' in (folder / "feed.xml").read_text()
    assert routine_set.name == with_cover.name
