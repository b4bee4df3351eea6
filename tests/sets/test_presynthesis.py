"""A set's sentences are synthesized once for all its routines, with progress per sentence (fake engine)."""

from __future__ import annotations

from footaudio import AudioOptions, Settings, build_script
from footaudio.sets.runner import _presynthesize
from footaudio.sets.setfile import RoutineSpec

from ..conftest import FakeSynthesizer


def test_sentences_are_shared_across_routines_and_each_is_reported(monkeypatch, tmp_path):
    monkeypatch.setenv("FOOTAUDIO_CACHE", str(tmp_path / "clips"))
    fake = FakeSynthesizer()
    monkeypatch.setattr("footaudio.speech.engine.default_synthesizer", lambda engine="pyttsx3": fake)
    specs = [
        RoutineSpec(track, Settings(minutes=minutes, mode=mode), AudioOptions(), f"r{track}")
        for track, (minutes, mode) in enumerate([(4, "solo"), (5, "solo"), (4, "partner")], start=1)
    ]
    distinct = {sentence.text for spec in specs for sentence in build_script(spec.settings)[1].sentences}
    reports: list[tuple[int, int]] = []

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "speech":
            reports.append((done, total))

    _presynthesize(specs, None, 1, progress)
    # Shared sentences are spoken once; progress starts at 0 and counts every sentence up to the total.
    assert sorted(text for text, _, _ in fake.calls) == sorted(distinct)
    total = len(distinct)
    assert reports[0] == (0, total) and reports[-1] == (total, total)
    assert [done for done, _ in reports] == sorted(done for done, _ in reports)  # never backwards
