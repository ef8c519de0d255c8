"""Donchian breakout: enter on a close beyond the previous bars' channel, exit on the shorter one.

Entry channel 3 bars, exit channel 2 bars, ATR(2), over bars 1.0 wide around the close (see
bars.py): high = close + 0.5, low = close - 0.5, and a bar's true range is
max(1, |close change| + 0.5). TA-Lib's ATR(2) starts at bar 2 with the mean of the true
ranges of bars 1 and 2, then ATR = (previous + TR) / 2.
"""

from __future__ import annotations

import math

import pytest

from domain.signals import Side
from strategies.decision import Action
from strategies.donchian import MIN_EDGE, DonchianParams, decide
from tests.strategies.bars import series_from_closes, with_last_close

PARAMS = DonchianParams(entry_period=3, exit_period=2, atr_period=2)
SHORTS = DonchianParams(entry_period=3, exit_period=2, atr_period=2, allow_short=True)

# bar:      0    1    2    3    4    5    6    7
CLOSES = [100, 101, 100, 101, 103, 102, 101, 99]
# high:  100.5 101.5 100.5 101.5 103.5 102.5 101.5 99.5
# low:    99.5 100.5  99.5 100.5 102.5 101.5 100.5 98.5
# TR:        -  1.5  1.5  1.5  2.5  1.5  1.5  2.5
# ATR(2):    -    -  1.5  1.5  2.0  1.75 1.625 2.0625


def closes_to(bar: int) -> list[float]:
    return [float(c) for c in CLOSES[: bar + 1]]


def test_close_above_the_previous_bars_highest_high_enters_long() -> None:
    # Bar 4: the channel is bars 1..3, highest high max(101.5, 100.5, 101.5) = 101.5 < close 103.
    decision = decide(series_from_closes(closes_to(4)), PARAMS, None)

    assert decision.action is Action.ENTER_LONG
    assert decision.evidence["entry_high"] == pytest.approx(101.5)
    assert decision.evidence["entry_low"] == pytest.approx(99.5)  # min(100.5, 99.5, 100.5)
    assert decision.atr == pytest.approx(2.0)  # (1.5 + 2.5) / 2
    assert decision.stop == pytest.approx(99.0)  # 103 - 2 x 2.0
    assert decision.edge == pytest.approx(2.0 / 103)  # channel width 101.5 - 99.5 over the close
    # strength: breakout 103 - 101.5 = 1.5 in ATRs 1.5 / 2 = 0.75 -> confidence 0.5 + 0.4 x 0.75
    assert decision.confidence == pytest.approx(0.8)


def test_close_inside_the_channel_is_no_entry() -> None:
    # Bar 3: channel bars 0..2, 99.5..101.5; close 101 inside.
    decision = decide(series_from_closes(closes_to(3)), SHORTS, None)

    assert decision.action is Action.HOLD
    assert "inside the 3-bar channel" in decision.reason


def test_the_current_bar_is_not_part_of_its_own_channel() -> None:
    # Bar 5: close 102 is below bar 4's high 103.5, now in the channel (bars 2..4): no entry,
    # although 102 is above the highs of bars 2 and 3.
    decision = decide(series_from_closes(closes_to(5)), PARAMS, None)

    assert decision.action is Action.HOLD
    assert decision.evidence["entry_high"] == pytest.approx(103.5)


def test_long_is_held_until_the_close_falls_below_the_exit_channels_low() -> None:
    # Bar 5: exit channel bars 3..4, lowest low 100.5; close 102 holds.
    # Bar 6: exit channel bars 4..5, lowest low min(102.5, 101.5) = 101.5; close 101 exits.
    assert decide(series_from_closes(closes_to(5)), PARAMS, Side.BUY).action is Action.HOLD

    decision = decide(series_from_closes(closes_to(6)), PARAMS, Side.BUY)

    assert decision.action is Action.EXIT
    assert decision.evidence["exit_low"] == pytest.approx(101.5)


def test_close_below_the_entry_channels_low_enters_short_only_when_allowed() -> None:
    # Bar 7: channel bars 4..6, lowest low min(102.5, 101.5, 100.5) = 100.5 > close 99.
    series = series_from_closes(closes_to(7))
    assert decide(series, PARAMS, None).action is Action.HOLD

    decision = decide(series, SHORTS, None)

    assert decision.action is Action.ENTER_SHORT
    assert decision.atr == pytest.approx(2.0625)  # (1.625 + 2.5) / 2
    assert decision.stop == pytest.approx(99 + 2 * 2.0625)  # above the close: 103.125
    assert decision.edge == pytest.approx(3.0 / 99)  # width 103.5 - 100.5 over the close
    assert decision.confidence == pytest.approx(0.5 + 0.4 * 1.5 / 2.0625)  # 1.5 below, in ATRs


def test_short_is_covered_when_the_close_rises_above_the_exit_channels_high() -> None:
    # Bar 4: exit channel bars 2..3, highest high 101.5 < close 103. Bar 7: bars 5..6, 102.5 > 99.
    assert decide(series_from_closes(closes_to(4)), SHORTS, Side.SELL).action is Action.EXIT
    assert decide(series_from_closes(closes_to(7)), SHORTS, Side.SELL).action is Action.HOLD


def test_holding_never_gives_another_entry() -> None:
    assert decide(series_from_closes(closes_to(4)), PARAMS, Side.BUY).action is Action.HOLD


def test_warm_up_holds_until_the_entry_channel_has_its_bars_before_the_current_one() -> None:
    decision = decide(series_from_closes(closes_to(2)), PARAMS, None)

    assert decision.action is Action.HOLD
    assert "need 4 bars, have 3" in decision.reason  # 3 channel bars + the current one


def test_a_breakout_from_a_flat_channel_still_carries_the_minimum_edge() -> None:
    # Bars 0.02 wide at 1000, then 1000.05: width 1000.01 - 999.99 = 0.02, 0.02 / 1000.05 = 2e-5 < 1e-4.
    series = series_from_closes([1000.0, 1000.0, 1000.0, 1000.0, 1000.05], half_range=0.01)

    decision = decide(series, PARAMS, None)

    assert decision.action is Action.ENTER_LONG
    assert decision.edge == MIN_EDGE


@pytest.mark.parametrize("bad", [math.nan, 0.0])
def test_missing_or_non_positive_last_close_holds(bad: float) -> None:
    series = with_last_close(series_from_closes(closes_to(4)), bad)

    assert decide(series, PARAMS, None).action is Action.HOLD


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"entry_period": 1, "exit_period": 0}, "entry_period"),
        ({"entry_period": 10, "exit_period": 10}, "exit_period"),
        ({"exit_period": 0}, "exit_period"),
        ({"stop_atr_multiple": -1}, "stop_atr_multiple"),
        ({"entry_window": 55}, "entry_window"),
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(values: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        DonchianParams.from_mapping(values)


def test_bars_to_fetch_cover_the_channel_the_atr_and_the_settling_bars() -> None:
    assert DonchianParams().bars_to_fetch == 21 + 50  # max(entry 20 + 1, ATR 20 + 1) + 50 settle bars
