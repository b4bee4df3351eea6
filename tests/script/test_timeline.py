import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from footaudio.script.ssml import Break, Hold, Mark, Script, Sound, Speech
from footaudio.script.timeline import NarrationDoesNotFit, build_timeline, fit_holds

holds_strategy = st.lists(
    st.tuples(
        st.floats(min_value=0.01, max_value=50),
        st.integers(min_value=0, max_value=20_000),
        st.one_of(st.none(), st.integers(min_value=0, max_value=80_000)),
    ),
    min_size=1,
    max_size=40,
).map(lambda rows: [Hold(w, lo, None if hi is None else lo + hi) for w, lo, hi in rows])


@given(holds=holds_strategy, data=st.data())
def test_fitted_holds_add_up_exactly_and_respect_bounds(holds, data):
    low = sum(h.min_ms for h in holds)
    high = low + 10_000_000 if any(h.max_ms is None for h in holds) else sum(h.max_ms for h in holds)
    available = data.draw(st.integers(min_value=low, max_value=high))
    lengths = fit_holds(holds, available)
    assert sum(lengths) == available
    for hold, length in zip(holds, lengths, strict=True):
        assert hold.min_ms <= length <= (hold.max_ms if hold.max_ms is not None else available)


def test_unbounded_holds_share_by_weight():
    assert fit_holds([Hold(1), Hold(3)], 40_000) == [10_000, 30_000]


def test_a_capped_hold_passes_its_share_on():
    assert fit_holds([Hold(1, 0, 5_000), Hold(1), Hold(2)], 35_000) == [5_000, 10_000, 20_000]


def test_impossible_bounds_raise():
    with pytest.raises(ValueError):
        fit_holds([Hold(1, 10_000)], 5_000)
    with pytest.raises(ValueError):
        fit_holds([Hold(1, 0, 1_000)], 5_000)


SCRIPT = Script(
    (
        Mark("welcome", "Welcome"),
        Speech("Hello."),
        Break(700),
        Hold(1, 1_000, 30_000),
        Mark("right-1", "Right foot: strokes"),
        Sound("chime"),
        Speech("Stroke the foot."),
        Hold(2, 2_000),
        Mark("closing", "Closing"),
        Speech("Thank you."),
        Hold(0.5, 0, 20_000),
    )
)


def one_second_per_sentence(sentence: Speech) -> int:
    return 1000


@hyp_settings(max_examples=200)
@given(total_ms=st.integers(min_value=8_500, max_value=4 * 3_600_000).map(lambda ms: ms - ms % 10))
def test_items_tile_the_routine_exactly(total_ms):
    timeline = build_timeline(SCRIPT, one_second_per_sentence, total_ms)
    assert timeline.total_ms == total_ms
    assert timeline.items[0].start_ms == 0
    assert timeline.items[-1].end_ms == total_ms
    for before, after in zip(timeline.items, timeline.items[1:], strict=False):
        assert before.end_ms == after.start_ms
    assert [s.name for s in timeline.steps] == ["welcome", "right-1", "closing"]
    for before, after in zip(timeline.steps, timeline.steps[1:], strict=False):
        assert before.end_ms == after.start_ms
    assert timeline.steps[-1].end_ms == total_ms


def test_timeline_places_items_in_order():
    timeline = build_timeline(SCRIPT, one_second_per_sentence, 60_000)
    kinds = [(i.kind, i.step) for i in timeline.items]
    assert kinds == [
        ("speech", "welcome"),
        ("break", "welcome"),
        ("hold", "welcome"),
        ("sound", "right-1"),
        ("speech", "right-1"),
        ("hold", "right-1"),
        ("speech", "closing"),
        ("hold", "closing"),
    ]
    assert timeline.speech_ms == 3000
    assert timeline.steps[1].start_ms == timeline.items[3].start_ms


def test_too_short_reports_what_is_needed():
    with pytest.raises(NarrationDoesNotFit) as caught:
        build_timeline(SCRIPT, one_second_per_sentence, 5_000)
    # 3 sentences + 700 ms break + 1800 ms chime + 3000 ms of minimum holds
    assert caught.value.needed_ms == 3000 + 700 + 1800 + 3000


def test_too_long_for_capped_holds_reports_the_limit():
    capped = Script((Speech("Hi."), Hold(1, 0, 10_000)))
    with pytest.raises(NarrationDoesNotFit) as caught:
        build_timeline(capped, one_second_per_sentence, 60_000)
    assert caught.value.limit_ms == 11_000
