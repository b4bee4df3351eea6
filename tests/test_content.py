"""The shipped routines over the whole settings grid: structure, pacing, variety, wording.

Planning only: clip lengths come from the fake engine's formula (close to eSpeak NG's
real pace of about 76 ms per character), so the whole grid runs in seconds.
scripts/check_grid.py runs the same checks with the real engine.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from footaudio import Settings, build_script
from footaudio.formats import as_text
from footaudio.pacing import check_pacing
from footaudio.script import Speech
from footaudio.timeline import build_timeline

from .conftest import fake_clip_ms

GRID_MINUTES = (3, 5, 7.5, 10, 20, 30, 60, 90, 120, 240)
SEEDS = (1, 2, 3)
MODES = ("solo", "partner")
PRESSURES = ("light", "medium", "firm")
GOLDEN = Path(__file__).parent / "golden"

# Issue 11 is not finished: these cells still break a narration rule (too much narration for 3-5 minute
# partner routines, too few distinct sentences past 60 minutes, ...). strict: a fixed cell must leave the list.
KNOWN_BROKEN = {
    ("solo", "light", 90, 1),
    ("solo", "light", 90, 2),
    ("solo", "light", 90, 3),
    ("solo", "light", 120, 1),
    ("solo", "light", 120, 2),
    ("solo", "light", 120, 3),
    ("solo", "light", 240, 1),
    ("solo", "light", 240, 2),
    ("solo", "light", 240, 3),
    ("solo", "medium", 90, 1),
    ("solo", "medium", 90, 2),
    ("solo", "medium", 90, 3),
    ("solo", "medium", 120, 1),
    ("solo", "medium", 120, 2),
    ("solo", "medium", 120, 3),
    ("solo", "medium", 240, 1),
    ("solo", "medium", 240, 2),
    ("solo", "medium", 240, 3),
    ("solo", "firm", 90, 1),
    ("solo", "firm", 90, 2),
    ("solo", "firm", 90, 3),
    ("solo", "firm", 120, 1),
    ("solo", "firm", 120, 2),
    ("solo", "firm", 120, 3),
    ("solo", "firm", 240, 1),
    ("solo", "firm", 240, 2),
    ("solo", "firm", 240, 3),
    ("partner", "light", 90, 1),
    ("partner", "light", 90, 2),
    ("partner", "light", 90, 3),
    ("partner", "light", 120, 1),
    ("partner", "light", 120, 2),
    ("partner", "light", 120, 3),
    ("partner", "light", 240, 1),
    ("partner", "light", 240, 2),
    ("partner", "light", 240, 3),
    ("partner", "medium", 90, 1),
    ("partner", "medium", 90, 2),
    ("partner", "medium", 90, 3),
    ("partner", "medium", 120, 1),
    ("partner", "medium", 120, 2),
    ("partner", "medium", 120, 3),
    ("partner", "medium", 240, 1),
    ("partner", "medium", 240, 2),
    ("partner", "medium", 240, 3),
    ("partner", "firm", 90, 1),
    ("partner", "firm", 90, 2),
    ("partner", "firm", 90, 3),
    ("partner", "firm", 120, 1),
    ("partner", "firm", 120, 2),
    ("partner", "firm", 120, 3),
    ("partner", "firm", 240, 1),
    ("partner", "firm", 240, 2),
    ("partner", "firm", 240, 3),
}


def fake_ms(sentence: Speech) -> int:
    return fake_clip_ms(sentence.text)


def planned(settings: Settings):
    _, script = build_script(settings)
    return script, build_timeline(script, fake_ms, settings.total_ms)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("minutes", GRID_MINUTES)
@pytest.mark.parametrize("pressure", PRESSURES)
@pytest.mark.parametrize("mode", MODES)
def test_every_cell_of_the_grid_keeps_every_pacing_rule(request, mode, pressure, minutes, seed):
    if (mode, pressure, minutes, seed) in KNOWN_BROKEN:
        request.applymarker(pytest.mark.xfail(strict=True, reason="issue 11: narration rules not yet met"))
    settings = Settings(minutes=minutes, mode=mode, pressure=pressure, seed=seed)
    _, timeline = planned(settings)
    report = check_pacing(timeline, settings)
    assert report.problems == ()
    assert timeline.total_ms == settings.total_ms


@pytest.mark.parametrize("pressure", PRESSURES)
@pytest.mark.parametrize("mode", MODES)
def test_longer_routines_add_techniques_until_the_list_is_used_up(mode, pressure):
    counts = []
    lengths = (5, 10, 30, 60)
    for minutes in lengths:
        settings = Settings(minutes=minutes, mode=mode, pressure=pressure)
        counts.append(check_pacing(planned(settings)[1], settings).techniques)
    assert counts == sorted(counts)
    assert counts[1] >= 3 and counts[2] >= 5 and counts[3] >= 7


@pytest.mark.parametrize("mode", MODES)
def test_the_preparation_hold_leaves_time_to_prepare(mode):
    for minutes in (5, 10, 60):
        _, timeline = planned(Settings(minutes=minutes, mode=mode))
        prep = max(item.ms for item in timeline.items if item.step == "preparation" and item.kind == "hold")
        said = " ".join(item.text for item in timeline.items if item.step == "preparation" and item.text)
        assert prep >= 60_000 or "pause the audio" in said


def wording(mode: str, pressure: str) -> str:
    text = []
    for minutes in (5, 10, 60):
        for seed in SEEDS:
            script, _ = planned(Settings(minutes=minutes, mode=mode, pressure=pressure, seed=seed))
            text.extend(sentence.text for sentence in script.sentences)
    return "\n".join(text)


FORBIDDEN = re.compile(
    r"\d|%|\b(percent|stud(y|ies)|research|scientific|proven|statistic\w*|cures?|heal\w*|treat\w*|detox|"
    r"organs?|immun\w*|sex\w*|erotic|arous\w*|sensual|naked|kiss\w*|lovers?|bedroom)\b|just one more",
    re.IGNORECASE,
)
SPOKEN_LENGTH = re.compile(r"\b\d+( and a half)? minutes?\b")


@pytest.mark.parametrize("pressure", PRESSURES)
@pytest.mark.parametrize("mode", MODES)
def test_no_statistics_health_promises_or_sexual_wording(mode, pressure):
    text = SPOKEN_LENGTH.sub("", wording(mode, pressure))
    found = sorted({match.group(0).lower() for match in FORBIDDEN.finditer(text)})
    # "not medical treatment" is the one allowed use of "treat": it says what this is not.
    assert found in ([], ["treatment"])
    assert "not medical treatment" in wording(mode, pressure)


@pytest.mark.parametrize("pressure", PRESSURES)
def test_solo_speaks_to_one_person_and_partner_names_roles(pressure):
    solo = wording("solo", pressure)
    assert not re.search(r"\b(giver|receiver|receiving|partner)\b", solo, re.IGNORECASE)
    assert "ball" in solo
    for minutes in (5, 30):
        _, timeline = planned(Settings(minutes=minutes, mode="partner", pressure=pressure))
        said = [
            item.text
            for item in timeline.items
            if item.kind == "speech" and item.step.startswith(("right", "left", "switch"))
        ]
        assert any(text.startswith("Receiver") for text in said)
        assert any(text.startswith("Giver") for text in said)


def test_firm_steps_carry_a_comfort_check():
    for mode in MODES:
        _, timeline = planned(Settings(minutes=30, mode=mode, pressure="firm"))
        for step in timeline.steps:
            if step.name.startswith(("right-", "left-")):
                inside = [i for i in timeline.items if i.step == step.name]
                assert any(i.kind == "sound" and i.sound == "check-in" for i in inside), step.name


def golden_text(settings: Settings) -> str:
    _, timeline = planned(settings)
    return f"# {settings.title}, seed {settings.seed} (fake engine timing)\n" + as_text(timeline)


@pytest.mark.parametrize(
    "settings",
    [
        Settings(minutes=10, mode="solo", pressure="firm"),
        Settings(minutes=30, mode="partner", pressure="medium"),
        Settings(minutes=60, mode="partner", pressure="firm"),
    ],
    ids=lambda s: s.name,
)
def test_golden_scripts(settings):
    """A wording change shows up as a diff here; set FOOTAUDIO_UPDATE_GOLDEN=1 to accept it."""
    path = GOLDEN / f"{settings.name}.txt"
    text = golden_text(settings)
    if os.environ.get("FOOTAUDIO_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text
