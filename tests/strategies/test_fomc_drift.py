"""Pre-FOMC drift: long inside [A - 24 h, A) of each scheduled announcement A; times worked by hand.

New York is UTC-5 (EST) until 02:00 on Sunday 8 March 2026 and UTC-4 (EDT) from then until
02:00 on Sunday 1 November 2026, so a 14:00 ET statement is 19:00 UTC in January and
December and 18:00 UTC from March to October.

Bars: closes 100, 100, 100, 100, 101, each bar 1.0 wide around its close (see bars.py), so
ATR(3) at the last bar is (2 x 1 + 1.5) / 3 = 1.16667 and a 3-ATR stop sits at 101 - 3.5 = 97.5.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.signals import Side
from strategies.decision import Action
from strategies.fomc_drift import FOMC_2026_ANNOUNCEMENTS, FomcDriftParams, decide, next_window
from tests.strategies.bars import series_from_closes, with_last_close

NEW_YORK = ZoneInfo("America/New_York")
PARAMS = FomcDriftParams(atr_period=3)
BARS = series_from_closes([100.0, 100.0, 100.0, 100.0, 101.0])
SECOND = timedelta(seconds=1)

JAN_28 = datetime(2026, 1, 28, 19, 0, tzinfo=UTC)  # 14:00 EST (UTC-5)
MAR_18 = datetime(2026, 3, 18, 18, 0, tzinfo=UTC)  # 14:00 EDT (UTC-4): ten days after the spring change
APR_29 = datetime(2026, 4, 29, 18, 0, tzinfo=UTC)  # 14:00 EDT
DEC_9 = datetime(2026, 12, 9, 19, 0, tzinfo=UTC)  # 14:00 EST: five weeks after the autumn change


def utc(month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


def test_default_schedule_is_the_feds_2026_statements_at_14h_new_york_in_utc() -> None:
    assert FomcDriftParams().announcements == (
        JAN_28,
        MAR_18,
        APR_29,
        utc(6, 17, 18),
        utc(7, 29, 18),
        utc(9, 16, 18),
        utc(10, 28, 18),
        DEC_9,
    )


def test_january_window_opens_at_14h_eastern_standard_time_the_day_before() -> None:
    # 27 Jan 14:00 EST = 19:00 UTC; at 18:00 UTC (where an EDT offset would open it) still flat.
    assert decide(utc(1, 27, 18), BARS, PARAMS, None).action is Action.HOLD
    assert decide(utc(1, 27, 19) - SECOND, BARS, PARAMS, None).action is Action.HOLD

    assert decide(utc(1, 27, 19), BARS, PARAMS, None).action is Action.ENTER_LONG


def test_march_window_opens_at_14h_eastern_daylight_time_the_day_before() -> None:
    # After the 8 March change: 17 Mar 14:00 EDT = 18:00 UTC, an hour earlier in UTC than January's.
    assert decide(utc(3, 17, 18) - SECOND, BARS, PARAMS, None).action is Action.HOLD

    decision = decide(utc(3, 17, 18), BARS, PARAMS, None)

    assert decision.action is Action.ENTER_LONG
    assert decision.evidence["hours_to_announcement"] == pytest.approx(24.0)
    assert next_window(utc(3, 17, 18), PARAMS) == (utc(3, 17, 18), MAR_18)


def test_window_spanning_the_spring_change_lasts_24_elapsed_hours() -> None:
    # A statement at 14:00 EDT on Sunday 8 March (= 18:00 UTC), the day the clocks go forward:
    # 24 real hours earlier is 7 March 18:00 UTC = 13:00 EST, not 14:00 EST (19:00 UTC), which is
    # what wall-clock arithmetic on the New York datetime would give (23 hours).
    params = FomcDriftParams(announcements=(datetime(2026, 3, 8, 14, 0, tzinfo=NEW_YORK),), atr_period=3)

    assert next_window(utc(3, 1, 0), params) == (utc(3, 7, 18), utc(3, 8, 18))
    assert decide(utc(3, 7, 18), BARS, params, None).action is Action.ENTER_LONG
    assert decide(utc(3, 7, 18) - SECOND, BARS, params, None).action is Action.HOLD


def test_entry_carries_a_three_atr_stop_the_papers_49_bp_edge_and_a_fixed_confidence() -> None:
    decision = decide(utc(3, 18, 9, 30), BARS, PARAMS, None)  # 05:30 EDT on the day

    assert decision.action is Action.ENTER_LONG
    assert decision.close == pytest.approx(101.0)
    assert decision.atr == pytest.approx(3.5 / 3)
    assert decision.stop == pytest.approx(101 - 3 * 3.5 / 3)  # 97.5
    assert decision.edge == pytest.approx(0.0049)  # Lucca & Moench (2015): 49 bp in the 24 h before
    assert decision.confidence == pytest.approx(0.6)
    assert decision.evidence["hours_to_announcement"] == pytest.approx(8.5)  # 09:30 to 18:00 UTC
    assert "2026-03-18 18:00 UTC" in decision.reason


def test_long_is_held_inside_the_window_naming_the_announcement() -> None:
    decision = decide(MAR_18 - SECOND, BARS, PARAMS, Side.BUY)

    assert decision.action is Action.HOLD
    assert "2026-03-18 18:00 UTC" in decision.reason


def test_long_is_exited_exactly_at_the_announcement() -> None:
    decision = decide(MAR_18, BARS, PARAMS, Side.BUY)

    assert decision.action is Action.EXIT
    assert "window over" in decision.reason


def test_no_entry_at_or_after_the_announcement_and_the_reason_names_the_next_one() -> None:
    for now in (MAR_18, MAR_18 + timedelta(hours=3)):
        decision = decide(now, BARS, PARAMS, None)

        assert decision.action is Action.HOLD
        assert "2026-04-29 18:00 UTC" in decision.reason
    assert next_window(MAR_18, PARAMS) == (utc(4, 28, 18), APR_29)


def test_exit_minutes_before_closes_the_window_early() -> None:
    params = FomcDriftParams(exit_minutes_before=30, atr_period=3)  # window ends 17:30 UTC

    assert decide(utc(3, 18, 17, 29, 59), BARS, params, Side.BUY).action is Action.HOLD
    assert decide(utc(3, 18, 17, 30), BARS, params, Side.BUY).action is Action.EXIT
    assert decide(utc(3, 18, 17, 30), BARS, params, None).action is Action.HOLD
    assert next_window(utc(3, 18, 17, 30), params) == (utc(4, 28, 18), utc(4, 29, 17, 30))


def test_hours_before_sets_when_the_window_opens() -> None:
    params = FomcDriftParams(hours_before=6.0, atr_period=3)  # opens 18:00 - 6 h = 12:00 UTC

    assert decide(utc(3, 18, 12) - SECOND, BARS, params, None).action is Action.HOLD
    assert decide(utc(3, 18, 12), BARS, params, None).action is Action.ENTER_LONG


def test_long_outside_every_window_is_exited() -> None:
    # 10 March: a week before the March window opens.
    assert decide(utc(3, 10, 15), BARS, PARAMS, Side.BUY).action is Action.EXIT


def test_schedule_running_out_holds_flat_saying_so_and_exits_a_long() -> None:
    after_last = DEC_9 + timedelta(hours=1)

    flat = decide(after_last, BARS, PARAMS, None)
    held = decide(after_last, BARS, PARAMS, Side.BUY)

    assert flat.action is Action.HOLD
    assert "schedule ran out" in flat.reason and "2026-12-09 19:00 UTC" in flat.reason
    assert held.action is Action.EXIT
    assert next_window(after_last, PARAMS) is None
    assert next_window(DEC_9 - SECOND, PARAMS) == (utc(12, 8, 19), DEC_9)


def test_short_held_is_exited_even_inside_a_window() -> None:
    assert decide(MAR_18 - SECOND, BARS, PARAMS, Side.SELL).action is Action.EXIT


@pytest.mark.parametrize("bad", [math.nan, 0.0])
def test_bad_last_bar_inside_the_window_is_no_entry(bad: float) -> None:
    decision = decide(utc(3, 18, 9), with_last_close(BARS, bad), PARAMS, None)

    assert decision.action is Action.HOLD
    assert "not usable" in decision.reason


def test_too_few_bars_for_atr_is_no_entry() -> None:
    # ATR(3) needs 4 bars.
    decision = decide(utc(3, 18, 9), series_from_closes([100.0, 100.0, 100.0]), PARAMS, None)

    assert decision.action is Action.HOLD


def test_missing_bars_block_an_entry_but_not_the_timed_exit() -> None:
    assert decide(utc(3, 18, 9), None, PARAMS, None).action is Action.HOLD
    assert decide(MAR_18, None, PARAMS, Side.BUY).action is Action.EXIT
    assert decide(MAR_18, with_last_close(BARS, math.nan), PARAMS, Side.BUY).action is Action.EXIT


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(datetime(2026, 3, 18, 9), BARS, PARAMS, None)


def test_registry_announcements_parse_from_iso_strings_with_offsets() -> None:
    params = FomcDriftParams.from_mapping(
        {
            "announcements": ["2027-01-27T14:00:00-05:00", "2027-03-17T18:00:00Z"],
            "hours_before": 12,
            "atr_period": 5,
        }
    )

    assert params.announcements == (
        datetime(2027, 1, 27, 19, 0, tzinfo=UTC),
        datetime(2027, 3, 17, 18, 0, tzinfo=UTC),
    )
    assert params.hours_before == 12.0
    assert params.atr_period == 5


def test_registry_without_announcements_uses_the_2026_schedule() -> None:
    assert FomcDriftParams.from_mapping({"atr_period": 5}).announcements == FOMC_2026_ANNOUNCEMENTS


@pytest.mark.parametrize(
    ("announcements", "complaint"),
    [
        (["2026-12-09T14:00:00"], "'2026-12-09T14:00:00' has no UTC offset"),
        (["2026-12-09"], "'2026-12-09' has no UTC offset"),
        (["2026-13-09T14:00:00-05:00"], "'2026-13-09T14:00:00-05:00' is not an ISO 8601 time"),
        (["next Wednesday"], "'next Wednesday' is not an ISO 8601 time"),
        ([20261209], "20261209 is not a string"),
        ("2026-12-09T14:00:00-05:00", "must be a list"),
        ([], "is empty"),
        (
            ["2026-12-09T14:00:00-05:00", "2026-10-28T14:00:00-04:00"],
            "time order: 2026-10-28 18:00 UTC comes after 2026-12-09 19:00 UTC",
        ),
        # The same instant written in two zones.
        (["2026-12-09T14:00:00-05:00", "2026-12-09T19:00:00+00:00"], "2026-12-09 19:00 UTC is listed twice"),
    ],
)
def test_bad_announcements_are_refused_naming_the_value(announcements: object, complaint: str) -> None:
    with pytest.raises(ValueError) as caught:
        FomcDriftParams.from_mapping({"announcements": announcements})

    assert complaint in str(caught.value)


def test_naive_datetime_in_the_schedule_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        FomcDriftParams(announcements=(datetime(2026, 12, 9, 14, 0),))


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"hours_before": 0}, "'hours_before' must be a positive number"),
        ({"exit_minutes_before": -1}, "'exit_minutes_before' must be 0 or more"),
        ({"hours_before": 1, "exit_minutes_before": 60}, "under hours_before"),
        ({"expected_drift": 0}, "'expected_drift' must be a positive number"),
        ({"hours_before": "24"}, "'hours_before' must be a number"),
        ({"hours_befor": 24}, "did you mean 'hours_before'"),
    ],
)
def test_bad_numeric_params_are_refused(values: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        FomcDriftParams.from_mapping(values)
