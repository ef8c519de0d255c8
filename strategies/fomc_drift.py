"""Pre-FOMC announcement drift: long an equity index in the hours before a scheduled FOMC statement.

Lucca & Moench (2015), "The Pre-FOMC Announcement Drift", Journal of Finance 70(1): 329-371
(NY Fed Staff Report 512): from Sep 1994 to Mar 2011 the S&P 500 earned about 49 bp of excess
return in the 24 hours before scheduled FOMC announcements, more than 80 % of the equity
premium over the period. (Our reference notes, /work/shared/reference/prediction-markets.md
section 8, take the 49 bp from secondary summaries and cite a follow-up finding that the drift
largely disappeared after 2015: a weak prior, hence the modest fixed confidence below.)

Rules, for each scheduled announcement A (the window of A is [A - hours_before, A - exit_minutes_before)):

- flat and `now` inside a window: enter long, stop `stop_atr_multiple` ATRs under the last close;
- holding long and `now` outside every window: exit (the drift is over; the announcement itself
  is a coin flip, so by default the position is closed at A);
- holding short (this rule never opens one): exit;
- otherwise hold, saying which announcement comes next, or that the schedule has run out.

Only scheduled announcements count: a date missing from the schedule means no trade, never a
guess. Windows are measured in elapsed time (all instants are kept in UTC), so a window
spanning a daylight-saving change still lasts `hours_before` real hours.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from domain.market import BarSeries
from domain.signals import Side
from strategies.decision import (
    BASE_CONFIDENCE,
    MAX_CONFIDENCE,
    SETTLE_BARS,
    StrategyDecision,
    average_true_range,
    enter,
    exit_position,
    float_array,
    hold,
    price_text,
    usable_through,
    value_at,
)
from strategies.params import parse_params, require_finite, require_positive, require_whole_at_least

_NEW_YORK = ZoneInfo("America/New_York")
_EXAMPLE = "'2026-12-09T14:00:00-05:00'"

# The Federal Reserve's published 2026 schedule: the statement is released at 14:00 New York
# time on the second day of each scheduled meeting. The operator must extend this every year
# (the Fed publishes the next year's dates each summer) or pass `announcements` in the
# registry; a date missing here means no trade, never a guess. Unscheduled (emergency)
# meetings are deliberately absent: the paper's drift is before scheduled announcements only.
FOMC_2026_ANNOUNCEMENTS: tuple[datetime, ...] = tuple(
    datetime(2026, month, day, 14, 0, tzinfo=_NEW_YORK).astimezone(UTC)
    for month, day in ((1, 28), (3, 18), (4, 29), (6, 17), (7, 29), (9, 16), (10, 28), (12, 9))
)

# Lucca & Moench (2015): about 49 bp of S&P 500 excess return in the 24 hours before a
# scheduled announcement (1994-2011). The entry's expected return.
LUCCA_MOENCH_DRIFT = 0.0049

# Confidence of every entry: the rule has no strength to grade, and its evidence is a weak
# prior (the drift reportedly faded after 2015), so a fixed 0.6, a little above the 0.5 of a
# bare threshold signal. A heuristic, not a calibrated probability.
ENTRY_CONFIDENCE = 0.6
_ENTRY_STRENGTH = (ENTRY_CONFIDENCE - BASE_CONFIDENCE) / (MAX_CONFIDENCE - BASE_CONFIDENCE)


@dataclass(frozen=True, slots=True)
class FomcDriftParams:
    """`announcements` are timezone-aware, strictly increasing instants (stored in UTC)."""

    announcements: tuple[datetime, ...] = FOMC_2026_ANNOUNCEMENTS
    hours_before: float = 24.0
    exit_minutes_before: float = 0.0
    atr_period: int = 14
    stop_atr_multiple: float = 3.0
    expected_drift: float = LUCCA_MOENCH_DRIFT

    def __post_init__(self) -> None:
        require_positive("hours_before", self.hours_before)
        require_finite("exit_minutes_before", self.exit_minutes_before)
        if not 0 <= self.exit_minutes_before < 60 * self.hours_before:
            raise ValueError(
                f"parameter 'exit_minutes_before' must be 0 or more and under hours_before "
                f"({self.hours_before:g} h = {60 * self.hours_before:g} min), got {self.exit_minutes_before}"
            )
        require_whole_at_least("atr_period", self.atr_period, 1)
        require_positive("stop_atr_multiple", self.stop_atr_multiple)
        require_positive("expected_drift", self.expected_drift)
        object.__setattr__(self, "announcements", _checked_schedule(self.announcements))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> FomcDriftParams:
        """Parse a registry `params` table; `announcements` is a list of ISO 8601 strings with offsets."""
        numbers = {name: value for name, value in values.items() if name != "announcements"}
        params = parse_params(cls, numbers)
        if "announcements" not in values:
            return params
        return dataclasses.replace(params, announcements=parse_announcements(values["announcements"]))

    @property
    def window_before(self) -> timedelta:
        return timedelta(hours=self.hours_before)

    @property
    def exit_before(self) -> timedelta:
        return timedelta(minutes=self.exit_minutes_before)

    @property
    def minimum_bars(self) -> int:
        """Bars needed before ATR has a value at the last one."""
        return self.atr_period + 1

    @property
    def bars_to_fetch(self) -> int:
        return self.minimum_bars + SETTLE_BARS


def parse_announcements(values: object) -> tuple[datetime, ...]:
    """ISO 8601 strings with a UTC offset ("2026-12-09T14:00:00-05:00") as aware datetimes.

    Raises ValueError naming the first value that is not a string, does not parse, or has no offset.
    """
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise ValueError(
            f"parameter 'announcements' must be a list of ISO 8601 times with offsets, got {values!r}"
        )
    parsed: list[datetime] = []
    for value in values:
        if not isinstance(value, str):
            raise ValueError(f"announcement {value!r} is not a string (want e.g. {_EXAMPLE})")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"announcement {value!r} is not an ISO 8601 time (want e.g. {_EXAMPLE})"
            ) from None
        if moment.utcoffset() is None:
            raise ValueError(f"announcement {value!r} has no UTC offset (write it as e.g. {_EXAMPLE})")
        parsed.append(moment)
    return tuple(parsed)


def _checked_schedule(announcements: Sequence[datetime]) -> tuple[datetime, ...]:
    """The schedule in UTC, refusing a naive, unsorted or repeated time.

    UTC, not the caller's zone: arithmetic on a ZoneInfo datetime is wall-clock arithmetic
    (14:00 EDT minus 24 h gives 14:00 EST the day before, 23 real hours across the spring
    change), and comparisons within one ZoneInfo ignore the offset.
    """
    if not announcements:
        raise ValueError("parameter 'announcements' is empty: the bot would never trade")
    in_utc: list[datetime] = []
    for moment in announcements:
        if not isinstance(moment, datetime) or moment.utcoffset() is None:
            raise ValueError(f"announcement {moment!r} must be a timezone-aware datetime")
        in_utc.append(moment.astimezone(UTC))
    for earlier, later in pairwise(in_utc):
        if later == earlier:
            raise ValueError(f"announcement {_when(later)} is listed twice")
        if later < earlier:
            raise ValueError(
                f"announcements must be in time order: {_when(later)} comes after {_when(earlier)}"
            )
    return tuple(in_utc)


def next_window(now: datetime, params: FomcDriftParams) -> tuple[datetime, datetime] | None:
    """The [start, end) trading window containing `now`, or the next one; None when none is left."""
    announcement = _next_announcement(now, params)
    if announcement is None:
        return None
    return announcement - params.window_before, announcement - params.exit_before


def decide(
    now: datetime, series: BarSeries | None, params: FomcDriftParams, holding: Side | None
) -> StrategyDecision:
    """The decision at `now` (aware) from the bars up to it (None: the venue has none), holding `holding`.

    Exits depend on the clock only, so they go out even when the bars are missing or bad.
    """
    announcement = _next_announcement(now, params)
    evidence = _bar_evidence(series, params)
    if announcement is None:
        in_window = False
        schedule = (
            f"no scheduled FOMC announcement after {_when(now)}: the schedule ran out "
            f"(last {_when(params.announcements[-1])}); extend 'announcements'"
        )
    else:
        start, end = announcement - params.window_before, announcement - params.exit_before
        in_window = start <= now < end
        evidence["hours_to_announcement"] = (announcement - now).total_seconds() / 3600
        schedule = f"next FOMC announcement {_when(announcement)}, window {_when(start)} to {_when(end)}"

    if holding is Side.SELL:
        return exit_position(f"short held, but the pre-FOMC drift rule is long only; {schedule}", evidence)
    if holding is Side.BUY:
        if in_window:
            return hold(f"long held inside the pre-announcement window; {schedule}", evidence)
        return exit_position(f"pre-FOMC window over; {schedule}", evidence)
    if not in_window:
        return hold(f"flat outside any pre-FOMC window; {schedule}", evidence)

    close, atr = evidence.get("close"), evidence.get("atr")
    if close is None or atr is None:
        problem = (
            "bars missing"
            if series is None
            else f"bars not usable (ATR needs {params.minimum_bars} good bars)"
        )
        return hold(f"inside the pre-FOMC window but {problem}; {schedule}", evidence)
    return enter(
        Side.BUY,
        f"pre-FOMC drift, close {price_text(close)}; {schedule}",
        close=close,
        atr=atr,
        stop_atr_multiple=params.stop_atr_multiple,
        strength=_ENTRY_STRENGTH,
        edge=params.expected_drift,
        evidence=evidence,
    )


def _next_announcement(now: datetime, params: FomcDriftParams) -> datetime | None:
    """The first announcement whose window has not yet closed at `now`."""
    if now.utcoffset() is None:
        raise ValueError(f"now {now!r} must be timezone-aware")
    for announcement in params.announcements:
        if now < announcement - params.exit_before:
            return announcement
    return None


def _bar_evidence(series: BarSeries | None, params: FomcDriftParams) -> dict[str, float]:
    """The last close and ATR when every bar in the window is usable and ATR has a value."""
    if series is None or len(series) == 0 or not usable_through(series)[-1]:
        return {}
    close = float_array(series.close)
    atr = value_at(
        average_true_range(series, params.atr_period),
        len(series) - 1,
    )
    if atr is None:
        return {}
    return {"close": float(close[-1]), "atr": atr}


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
