import math

import pytest

from footaudio import Settings, UsageError

TOO_LONG = (
    "is longer than the guided content fills without repeating itself (at most 90 minutes); use --minutes 90 or less."
)
"""The message for a length past MAX_MINUTES, after the length itself."""


def test_defaults_are_a_ten_minute_solo_light_routine():
    settings = Settings()
    assert (settings.minutes, settings.mode, settings.pressure, settings.rate) == (10.0, "solo", "light", 130)
    assert settings.total_ms == 600_000
    assert settings.engine == "auto"
    assert settings.name == "solo-light-10min"
    assert settings.title == "Solo foot massage, light, 10 min"


def test_half_minutes_and_case_are_accepted():
    settings = Settings(minutes=7.5, mode="Partner", pressure="FIRM", seed=3)
    assert settings.total_ms == 450_000
    assert (settings.mode, settings.pressure) == ("partner", "firm")
    assert settings.name == "partner-firm-7.5min-seed3"


def test_total_is_a_whole_number_of_centiseconds():
    assert Settings(minutes=1.0001).total_ms % 10 == 0


@pytest.mark.parametrize(
    ("minutes", "message"),
    [
        (0, "0 minutes is out of range; use --minutes from 1 to 90."),
        (-5, "-5 minutes is out of range; use --minutes from 1 to 90."),
        (
            120,
            "120 minutes " + TOO_LONG,
        ),
        (
            1e9,
            "1e+09 minutes " + TOO_LONG,
        ),
        (math.nan, "nan is not a length; use --minutes with a number from 1 to 90."),
        (math.inf, "inf is not a length; use --minutes with a number from 1 to 90."),
        ("10", "minutes must be a number, not '10'; use e.g. --minutes 10."),
    ],
)
def test_bad_minutes(minutes, message):
    with pytest.raises(UsageError) as caught:
        Settings(minutes=minutes)
    assert str(caught.value) == message


def test_unknown_mode_suggests_the_closest():
    with pytest.raises(
        UsageError, match=r"^unknown mode 'partnr'; did you mean 'partner'\? use --mode solo or partner\.$"
    ):
        Settings(mode="partnr")


def test_unknown_pressure_lists_the_choices():
    with pytest.raises(UsageError, match=r"^unknown pressure 'hard'; use --pressure light, medium or firm\.$"):
        Settings(pressure="hard")


@pytest.mark.parametrize("rate", [10, 1000])
def test_rate_out_of_range(rate):
    with pytest.raises(UsageError, match="use --rate from 80 to 260"):
        Settings(rate=rate)


def test_settings_are_frozen():
    with pytest.raises(AttributeError):
        Settings().minutes = 3  # type: ignore[misc]
