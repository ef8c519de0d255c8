"""The 24 hours a weather market's "day" covers at its station, as UTC instants (pure).

Kalshi's temperature markets settle on the NWS Daily Climatological Report (CLI), which is
kept in LOCAL STANDARD TIME all year: during daylight-saving time the climate day runs from
01:00 to 00:59 clock time of the next date (prediction-markets.md §1.10). A model's maximum
over the clock-time day therefore looks at the wrong hour at each end. Polymarket's markets
resolve on Weather Underground's clock-time day instead.

Both windows are half-open, `[start_utc, end_utc)`: an hourly value stamped `end_utc` belongs
to the next day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from scrapers.weather.stations import DayRule


def standard_offset(day: date, tz: tzinfo | str) -> timedelta:
    """The zone's standard-time UTC offset on `day` (the UTC offset with any DST saving taken out)."""
    zone = _zone(tz)
    noon = datetime.combine(day, time(12), zone)
    offset = noon.utcoffset()
    if offset is None:
        raise ValueError(f"timezone {tz!r} gives no UTC offset")
    return offset - (noon.dst() or timedelta(0))


def climate_day_window(day: date, tz: tzinfo | str) -> tuple[datetime, datetime]:
    """The NWS climate day `day` at a station in `tz`: local standard midnight to the next, in UTC.

    Always 24 hours, DST switch days included (Chicago: 06:00 UTC to 06:00 UTC the next day,
    i.e. 01:00 to 00:59 CDT in summer)."""
    start = datetime.combine(day, time(0), UTC) - standard_offset(day, tz)
    return start, start + timedelta(days=1)


def clock_day_window(day: date, tz: tzinfo | str) -> tuple[datetime, datetime]:
    """The wall-clock day `day` in `tz`, in UTC: 23 hours on the spring-forward day, 25 on fall-back."""
    zone = _zone(tz)
    start = datetime.combine(day, time(0), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end


def settlement_window(day: date, tz: tzinfo | str, rule: DayRule) -> tuple[datetime, datetime]:
    """The window of `day` under a station's day rule."""
    if rule is DayRule.LOCAL_STANDARD:
        return climate_day_window(day, tz)
    return clock_day_window(day, tz)


def _zone(tz: tzinfo | str) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz
