"""Player-ready MP3s: format, tags, chapters, loudness, chimes, ambience, captions, `info`.

Real renders (real ffmpeg; the real speech engine where levels matter), decoded and measured.
"""

from __future__ import annotations

import re
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from footaudio import AudioOptions, SetContext, Settings, UsageError, render
from footaudio.audio.loudness import measure
from footaudio.audio.tags import SETTINGS_TAG
from footaudio.cli import main

from ..conftest import FakeSynthesizer, decode, fake_clip_ms, ffmpeg_path, rms

pytestmark = pytest.mark.usefixtures("real_engines")


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0\xff\x80\x00"))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def partner_render(tmp_path_factory):
    """One real 6-minute partner render with rain, captions, a cover and a set's album and track.

    Its tests read the file's format, tags, chapters and captions, which do not depend on the voice:
    eSpeak NG speaks its sentences (new ones, with seed 4) about ten times faster than Piper.
    """
    folder = tmp_path_factory.mktemp("player")
    cover = folder / "cover.png"
    cover.write_bytes(tiny_png())
    options = AudioOptions(ambience="rain", captions=True, cover=str(cover), bitrate=192)
    settings = Settings(minutes=6, mode="partner", pressure="medium", seed=4, engine="pyttsx3")
    result = render(settings, folder / "evening.mp3", options=options, set_context=SetContext("Week one", (3, 12)))
    return result, options


def test_format_is_mpeg1_layer3_cbr_with_gapless_header(partner_render):
    from mutagen.mp3 import MP3, BitrateMode

    result, _ = partner_render
    info = MP3(str(result.path)).info
    assert (info.version, info.layer, info.sample_rate, info.bitrate, info.channels) == (1, 3, 44100, 192000, 1)
    assert info.bitrate_mode == BitrateMode.CBR
    # The Info (Xing) header with its LAME extension: frame count, encoder delay and padding.
    data = result.path.read_bytes()
    info_at = data.find(b"Info")
    assert info_at > 0 and data[info_at + 120 : info_at + 124] == b"Lavc"
    frames = int.from_bytes(data[info_at + 8 : info_at + 12], "big")
    b0, b1, b2 = data[info_at + 141 : info_at + 144]
    delay, padding = (b0 << 4) | (b1 >> 4), ((b1 & 0x0F) << 8) | b2
    assert delay > 0 and frames * 1152 - delay - padding == 6 * 60 * 44_100
    assert len(decode(result.path)) // 2 == 6 * 60 * 44_100  # and a gapless decoder gets exactly that


def test_tags_say_what_it_is_and_hold_the_exact_settings(partner_render):
    import json

    from mutagen.id3 import ID3

    result, options = partner_render
    tags = ID3(str(result.path))
    assert tags.version == (2, 3, 0)
    assert str(tags["TIT2"]) == "Partner foot massage, medium, 6 min"
    assert (str(tags["TPE1"]), str(tags["TALB"]), str(tags["TRCK"])) == ("footaudio", "Week one", "3/12")
    assert str(tags["TCON"]) == "Meditation" and str(tags["TDRC"]).isdigit()  # TYER, read as v2.4
    assert str(tags["TLEN"]) == "360000"
    stored = json.loads(str(tags[f"TXXX:{SETTINGS_TAG}"]))
    assert Settings(**stored["settings"]) == result.routine.settings
    assert AudioOptions(**stored["audio"]) == options
    assert tags["APIC:Cover"].mime == "image/png" and tags["APIC:Cover"].data == tiny_png()


def test_chapters_equal_the_timeline_steps(partner_render):
    from mutagen.id3 import ID3

    result, _ = partner_render
    steps = result.routine.timeline.steps
    tags = ID3(str(result.path))
    toc = tags["CTOC:toc"]
    assert toc.flags & 0b11 == 0b11  # top-level and ordered
    chapters = [tags[f"CHAP:{element}"] for element in toc.child_element_ids]
    assert [(c.start_time, c.end_time, str(c.sub_frames["TIT2"])) for c in chapters] == [
        (s.start_ms, s.end_ms, s.title) for s in steps
    ]
    # ffmpeg reads the same chapters (as `ffprobe -show_chapters` would).
    metadata = subprocess.run(
        [ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-i", str(result.path), "-f", "ffmetadata", "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    starts = sorted(int(x) for x in re.findall(r"^START=(\d+)$", metadata, re.MULTILINE))
    titles = re.findall(r"^title=(.*)$", metadata, re.MULTILINE)
    # ffmpeg counts chapter times from before the encoder delay (1105 samples, 25 ms) that gapless
    # players skip; the frames themselves hold the timeline's times, as mutagen shows above.
    assert [step.start_ms - start for step, start in zip(steps, starts, strict=True)][1:] == [25] * (len(steps) - 1)
    assert set(titles) >= {s.title for s in steps}


def test_chapters_are_stored_in_time_order(partner_render):
    from mutagen.id3 import ID3

    result, _ = partner_render
    steps = result.routine.timeline.steps
    # mutagen lists frames in the order they are stored in the file.
    stored = ID3(str(result.path)).getall("CHAP")
    assert [(c.start_time, str(c.sub_frames["TIT2"])) for c in stored] == [(s.start_ms, s.title) for s in steps]
    # ffmpeg's `-i` listing (what ffprobe and most players show) walks the frames in file order too.
    listing = subprocess.run(
        [ffmpeg_path(), "-hide_banner", "-i", str(result.path)], capture_output=True, text=True
    ).stderr
    starts = [float(x) for x in re.findall(r"Chapter #\d+:\d+: start (\d+\.\d+)", listing)]
    titles = re.findall(r"Chapter #\d+:\d+: .*\n\s+Metadata:\n\s+title\s+: (.*)", listing)
    assert len(starts) == len(steps) and starts == sorted(starts) and starts[0] < starts[-1]
    assert titles == [s.title for s in steps]


def parse_vtt(text: str) -> list[tuple[int, int, str]]:
    def ms(stamp: str) -> int:
        hours, minutes, rest = stamp.split(":")
        seconds, millis = rest.split(".")
        return ((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(millis)

    assert text.startswith("WEBVTT\n")
    cues = []
    for block in text.strip().split("\n\n")[1:]:
        _number, timing, *words = block.split("\n")
        start, end = timing.split(" --> ")
        cues.append((ms(start), ms(end), "\n".join(words)))
    return cues


def test_captions_follow_the_voice(partner_render):
    from mutagen.id3 import ID3

    result, _ = partner_render
    speech = [i for i in result.routine.timeline.items if i.kind == "speech"]
    vtt = parse_vtt(result.path.with_suffix(".vtt").read_text(encoding="utf-8"))
    assert vtt == [(i.start_ms, i.end_ms, i.text) for i in speech]
    lrc = result.path.with_suffix(".lrc").read_text(encoding="utf-8")
    lines = re.findall(r"^\[(\d\d):(\d\d)\.(\d\d)\](.+)$", lrc, re.MULTILINE)
    assert [(int(m) * 60_000 + int(s) * 1000 + int(c) * 10, text) for m, s, c, text in lines] == [
        (i.start_ms // 10 * 10, i.text) for i in speech
    ]
    tags = ID3(str(result.path))
    sylt = tags.getall("SYLT")[0]
    assert [(text, ms) for text, ms in sylt.text] == [(i.text, i.start_ms) for i in speech]
    assert tags.getall("USLT")[0].text.splitlines() == [i.text for i in speech]


@pytest.mark.parametrize(
    ("mode", "pressure", "ambience", "bitrate"),
    [
        ("solo", "light", "none", 128),
        ("solo", "medium", "ocean", 128),
        ("solo", "firm", "brown", 192),
        ("partner", "light", "rain", 64),
        ("partner", "medium", "none", 128),
        ("partner", "firm", "ocean", 128),
    ],
)
def test_loudness_is_on_target_with_true_peak_headroom(tmp_path, mode, pressure, ambience, bitrate):
    options = AudioOptions(ambience=ambience, bitrate=bitrate)
    result = render(Settings(minutes=4, mode=mode, pressure=pressure), tmp_path / "x.mp3", options=options)
    loudness = measure(result.path)
    assert abs(loudness.integrated - -16.0) <= 0.5, loudness
    assert loudness.true_peak <= -1.0, loudness


def test_another_loudness_target(tmp_path):
    result = render(Settings(minutes=4), tmp_path / "quiet.mp3", options=AudioOptions(loudness=-23))
    loudness = measure(result.path)
    assert abs(loudness.integrated - -23.0) <= 0.5 and loudness.true_peak <= -1.0


class SilentSynthesizer(FakeSynthesizer):
    """Speaks silence (as long as the fake's speech), so what is left in the MP3 is the ambience alone."""

    engine_id = "silent"

    def synthesize(self, text, voice, rate, path):
        import wave

        with wave.open(str(path), "wb") as clip:
            clip.setnchannels(1)
            clip.setsampwidth(2)
            clip.setframerate(22_050)
            clip.writeframes(bytes(2 * fake_clip_ms(text) * 22_050 // 1000))


@pytest.mark.parametrize("ambience", ["rain", "ocean", "brown"])
def test_ambience_is_ducked_under_speech_and_fills_the_holds(tmp_path, shared_cache, ambience):
    options = AudioOptions(ambience=ambience, chime="none")
    result = render(
        Settings(minutes=5), tmp_path / "a.mp3", options=options, synthesizer=SilentSynthesizer(), cache=shared_cache
    )
    pcm = decode(result.path)
    items = result.routine.timeline.items
    # Skip the fades at both ends; measure well inside each item, away from the ramps.
    inner = [i for i in items if i.start_ms > 10_000 and i.end_ms < result.routine.timeline.total_ms - 10_000]
    speech = [rms(pcm, i.start_ms + 500, i.end_ms - 300) for i in inner if i.kind == "speech" and i.ms > 1500]
    holds = [rms(pcm, i.start_ms + 1000, i.end_ms - 600) for i in inner if i.kind == "hold" and i.ms > 4000]
    assert speech and holds
    import math

    ducked = 20 * math.log10(max(speech) / min(holds))
    assert ducked <= -10, f"ambience under speech only {-ducked:.1f} dB below the holds"
    assert min(holds) > 30  # audible in the holds


def test_chime_styles_differ_and_none_is_silent(tmp_path, shared_cache):
    import hashlib

    from footaudio.audio.chimes import render_sound
    from footaudio.script.ssml import SOUND_MS

    for name in SOUND_MS:
        soft, bell, none = (render_sound(name, 44_100, style) for style in ("soft", "bell", "none"))
        assert len(soft) == len(bell) == len(none) == SOUND_MS[name] * 441 // 10 * 2
        assert hashlib.sha256(soft).digest() != hashlib.sha256(bell).digest()
        assert none == bytes(len(none))
    result = render(
        Settings(minutes=3),
        tmp_path / "c.mp3",
        options=AudioOptions(chime="bell"),
        synthesizer=SilentSynthesizer(),
        cache=shared_cache,
    )
    pcm = decode(result.path)
    sounds = [i for i in result.routine.timeline.items if i.kind == "sound"]
    assert all(rms(pcm, i.start_ms + 20, i.start_ms + 600) > 300 for i in sounds)


def test_info_reads_back_what_footaudio_wrote(partner_render, capsys):
    result, _ = partner_render
    with pytest.raises(SystemExit) as caught:
        main(["info", str(result.path)])
    out = capsys.readouterr().out
    assert caught.value.code == 0
    assert "Title:      Partner foot massage, medium, 6 min\n" in out
    assert "Length:     06:00.0 (360.000 s)\n" in out
    assert re.search(r"Loudness:   -1[5-7]\.\d LUFS integrated, -\d+\.\d dBTP true peak", out)
    assert f"Chapters:   {len(result.routine.timeline.steps)}\n" in out
    assert "  00:00.0  Welcome\n" in out
    assert out.rstrip().endswith(
        f"Render again: footaudio render --minutes 6 --mode partner --pressure medium --seed 4 --engine pyttsx3 "
        f"--bitrate 192 --ambience rain --captions --cover {tmp_cover(result.path)} -o {result.path}"
    )


def tmp_cover(path: Path) -> Path:
    return path.parent / "cover.png"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"bitrate": 100},
            "a bit rate of 100 kbps is not an MP3 rate; use --bitrate 64, 96, 112, 128, 160, 192, 224, 256 or 320.",
        ),
        ({"loudness": -5}, "a loudness of -5 LUFS is out of range; use --loudness from -30 to -15."),
        ({"chime": "loud"}, "unknown chime 'loud'; use --chime soft, bell or none."),
        ({"ambience": "forrest"}, "unknown ambience 'forrest'; use --ambience none, rain, ocean or brown."),
    ],
)
def test_bad_audio_options(kwargs, message):
    with pytest.raises(UsageError) as caught:
        AudioOptions(**kwargs)
    assert str(caught.value) == message


def test_bad_cover_fails_before_any_work(tmp_path, fake_synth, cache):
    (tmp_path / "cover.gif").write_bytes(b"GIF89a")
    for cover, message in [
        (
            tmp_path / "nope.jpg",
            f"cannot read the cover image {tmp_path / 'nope.jpg'} (No such file or directory); check --cover.",
        ),
        (
            tmp_path / "cover.gif",
            f"cover image {tmp_path / 'cover.gif'} is not a JPEG or PNG file; use --cover with a .jpg or .png.",
        ),
    ]:
        with pytest.raises(UsageError) as caught:
            render(
                Settings(minutes=3),
                tmp_path / "x.mp3",
                options=AudioOptions(cover=str(cover)),
                synthesizer=fake_synth,
                cache=cache,
            )
        assert str(caught.value) == message
    assert fake_synth.calls == [] and not (tmp_path / "x.mp3").exists()


def test_info_measures_a_cut_file_and_says_it_was_cut(tmp_path, fake_synth, shared_cache, capsys):
    result = render(Settings(minutes=2), tmp_path / "evening.mp3", synthesizer=fake_synth, cache=shared_cache)
    short = tmp_path / "short.mp3"
    subprocess.run(
        [ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-i", str(result.path), "-t", "5", "-c", "copy",
         str(short)],
        check=True,
    )  # fmt: skip
    with pytest.raises(SystemExit) as caught:
        main(["info", str(short)])
    out = capsys.readouterr().out
    assert caught.value.code == 0
    length = re.search(r"^Length:     (.*)$", out, re.MULTILINE)
    assert length is not None
    # -c copy cuts on whole MPEG frames (26.1 ms), so the cut is 5 s to within a frame.
    assert re.fullmatch(
        r"00:05\.0 \(5\.0\d\d s\); footaudio wrote 02:00\.0 \(120\.000 s\), so the file was cut or altered since",
        length.group(1),
    ), length.group(1)
    seconds = float(re.search(r"\((5\.\d+) s\)", length.group(1)).group(1))
    assert abs(seconds * 1000 - len(decode(short)) / 2 / 44.1) < 30


def _system_ffmpeg() -> str | None:
    import shutil

    from footaudio.tools import _ffmpeg_problem

    system = shutil.which("ffmpeg")
    return system if system and _ffmpeg_problem(system)[1] is None else None


@pytest.mark.skipif(_system_ffmpeg() is None, reason="no working system ffmpeg (e.g. Debian's: apt-get install ffmpeg)")
def test_the_loudness_target_holds_with_the_systems_ffmpeg(tmp_path, fake_synth, cache, monkeypatch):
    from footaudio.tools import find_ffmpeg

    monkeypatch.setenv("FOOTAUDIO_FFMPEG", _system_ffmpeg())
    find_ffmpeg.cache_clear()
    try:
        results = {
            target: render(Settings(minutes=3), tmp_path / f"{-target}.mp3",
                           options=AudioOptions(loudness=target), synthesizer=fake_synth, cache=cache)
            for target in (-16, -23)
        }  # fmt: skip
        assert find_ffmpeg().source == "FOOTAUDIO_FFMPEG"
    finally:
        monkeypatch.delenv("FOOTAUDIO_FFMPEG")
        find_ffmpeg.cache_clear()
    for target, result in results.items():  # measured with the bundled ffmpeg
        assert abs(measure(result.path).integrated - target) <= 0.5
