"""The settlement day's window: local standard time for Kalshi (NWS CLI), clock time for Polymarket."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from scrapers.weather.climate_day import climate_day_window, clock_day_window, standard_offset

CHICAGO = "America/Chicago"


def utc(year: int, month: int, day: int, hour: int) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def test_summer_climate_day_runs_from_one_am_to_one_am_daylight_clock_time() -> None:
    start, end = climate_day_window(date(2026, 7, 8), CHICAGO)

    assert (start, end) == (utc(2026, 7, 8, 6), utc(2026, 7, 9, 6))
    local = ZoneInfo(CHICAGO)
    assert start.astimezone(local).hour == 1 and end.astimezone(local).hour == 1


def test_winter_climate_day_is_the_clock_day() -> None:
    assert climate_day_window(date(2026, 1, 23), CHICAGO) == clock_day_window(date(2026, 1, 23), CHICAGO)
    assert climate_day_window(date(2026, 1, 23), CHICAGO) == (utc(2026, 1, 23, 6), utc(2026, 1, 24, 6))


def test_climate_day_is_24_hours_on_the_spring_forward_day() -> None:
    # 2026-03-08: clocks jump 02:00 CST -> 03:00 CDT in Chicago
    start, end = climate_day_window(date(2026, 3, 8), CHICAGO)

    assert (start, end) == (utc(2026, 3, 8, 6), utc(2026, 3, 9, 6))


def test_clock_day_is_23_hours_on_the_spring_forward_day() -> None:
    start, end = clock_day_window(date(2026, 3, 8), CHICAGO)

    assert (start, end) == (utc(2026, 3, 8, 6), utc(2026, 3, 9, 5))
    assert end - start == timedelta(hours=23)


def test_both_days_on_the_fall_back_day() -> None:
    # 2026-11-01: clocks fall back 02:00 CDT -> 01:00 CST
    assert climate_day_window(date(2026, 11, 1), CHICAGO) == (utc(2026, 11, 1, 6), utc(2026, 11, 2, 6))
    start, end = clock_day_window(date(2026, 11, 1), CHICAGO)
    assert (start, end) == (utc(2026, 11, 1, 5), utc(2026, 11, 2, 6))
    assert end - start == timedelta(hours=25)


def test_standard_offset_ignores_daylight_saving() -> None:
    assert standard_offset(date(2026, 7, 8), "America/New_York") == timedelta(hours=-5)
    assert standard_offset(date(2026, 7, 8), "America/Phoenix") == timedelta(hours=-7)
    assert standard_offset(date(2026, 7, 8), ZoneInfo("America/Los_Angeles")) == timedelta(hours=-8)


def test_phoenix_without_dst_has_one_day_for_both_venues() -> None:
    day = date(2026, 7, 8)

    assert climate_day_window(day, "America/Phoenix") == clock_day_window(day, "America/Phoenix")
