"""MACD trend: enter on the MACD line's cross over its signal line, exit when it falls back.

MACD(2, 3, 2) so the EMAs can be followed by hand: EMA(2) weighs the new close 2/3, EMA(3)
1/2. After flat closes every EMA equals the close, so MACD = signal = 0, and a close that
moves by d from the flat level moves EMA(2) by 2d/3 and EMA(3) by d/2: MACD = d/6, its
signal EMA(2) = 2/3 x d/6 = d/9, the histogram d/6 - d/9 = d/18. ATR(3) over bars 1.0 wide
(see bars.py).
"""

from __future__ import annotations

import math

import pytest

from domain.signals import Side
from strategies.decision import Action
from strategies.macd_trend import MIN_EDGE, MacdTrendParams, decide
from tests.strategies.bars import series_from_closes, with_last_close

PARAMS = MacdTrendParams(fast=2, slow=3, signal=2, trend_period=5, atr_period=3)
SHORTS = MacdTrendParams(fast=2, slow=3, signal=2, trend_period=5, atr_period=3, allow_short=True)

# bar:            0-5   6      7          8
CLOSES = [*[100.0] * 6, 101.8, 101.8, 100.0]
# EMA(2):         100   101.2  101.6      101.6 - 2/3 x 1.6 = 100.5333
# EMA(3):         100   100.9  101.35     101.35 - 1/2 x 1.35 = 100.675
# MACD:           0     0.3    0.25       -0.141667
# signal EMA(2):  0     0.2    0.233333   0.233333 + 2/3 x (-0.141667 - 0.233333) = -0.016667
# SMA(5):         100   100.36 100.72     100.72


def closes_to(bar: int) -> list[float]:
    return CLOSES[: bar + 1]


def test_macd_crossing_above_its_signal_line_in_an_uptrend_enters_long() -> None:
    # Bar 6: d = 1.8, so MACD 0.3 > signal 0.2, after MACD 0 <= signal 0 at bar 5;
    # close 101.8 above SMA(5) (4 x 100 + 101.8) / 5 = 100.36.
    decision = decide(series_from_closes(closes_to(6)), PARAMS, None)

    assert decision.action is Action.ENTER_LONG
    assert decision.evidence["macd"] == pytest.approx(0.3)
    assert decision.evidence["macd_signal"] == pytest.approx(0.2)
    assert decision.evidence["macd_histogram"] == pytest.approx(0.1)  # 1.8 / 18
    assert decision.evidence["trend_sma"] == pytest.approx(100.36)
    # TR 1 on bars 1..5, then 1.8 + 0.5 = 2.3: ATR(3) (2 x 1 + 2.3) / 3 = 1.43333.
    assert decision.atr == pytest.approx(4.3 / 3)
    assert decision.stop == pytest.approx(101.8 - 3 * 4.3 / 3)  # 3 ATRs under: 97.5
    assert decision.edge == pytest.approx(0.1 / 101.8)  # |histogram| / close
    assert decision.confidence == pytest.approx(0.5 + 0.4 * 0.1 / (4.3 / 3))  # histogram in ATRs


def test_a_cross_on_the_previous_bar_still_enters_while_macd_stays_above() -> None:
    # Bar 7: MACD 0.25 > signal 0.233333, after the cross at bar 6 (a short exiting on bar 6's
    # cross is flat only now, and may take the long).
    decision = decide(series_from_closes(closes_to(7)), PARAMS, None)

    assert decision.action is Action.ENTER_LONG
    assert "on the previous bar" in decision.reason
    assert decision.edge == pytest.approx((0.25 - 0.7 / 3) / 101.8)  # histogram 0.016667 / close


def test_macd_above_its_signal_for_a_third_bar_is_no_new_entry() -> None:
    # Rising 101.8, 103.6, 105.4 after the flat 100s:
    # EMA(2) 101.2, 102.8, 104.5333; EMA(3) 100.9, 102.25, 103.825; MACD 0.3, 0.55, 0.708333;
    # signal 0.2, 0.433333, 0.616667: above on bars 6, 7 and 8, so bar 8 is no cross.
    decision = decide(series_from_closes([*[100.0] * 6, 101.8, 103.6, 105.4]), SHORTS, None)

    assert decision.action is Action.HOLD
    assert decision.evidence["macd"] == pytest.approx(0.708333, rel=1e-5)
    assert decision.evidence["macd_signal"] == pytest.approx(0.616667, rel=1e-5)
    assert "no cross" in decision.reason


def test_long_is_held_while_macd_is_above_its_signal_and_exits_when_below() -> None:
    assert decide(series_from_closes(closes_to(7)), PARAMS, Side.BUY).action is Action.HOLD

    decision = decide(series_from_closes(closes_to(8)), PARAMS, Side.BUY)  # -0.141667 < -0.016667

    assert decision.action is Action.EXIT
    assert decision.evidence["macd"] == pytest.approx(-0.85 / 6)
    assert decision.evidence["macd_signal"] == pytest.approx(-1 / 60)


def test_cross_below_under_the_trend_enters_short_only_when_allowed() -> None:
    # Bar 8: MACD 0.25 >= signal 0.233 at bar 7, -0.141667 < -0.016667 now;
    # close 100 below SMA(5) (100 x 2 + 101.8 x 2 + 100) / 5 = 100.72.
    series = series_from_closes(closes_to(8))
    assert decide(series, PARAMS, None).action is Action.HOLD

    decision = decide(series, SHORTS, None)

    assert decision.action is Action.ENTER_SHORT
    assert decision.stop is not None and decision.atr is not None
    assert decision.stop == pytest.approx(100 + 3 * decision.atr)
    assert decision.edge == pytest.approx(0.125 / 100)  # histogram -0.141667 + 0.016667 = -0.125


def test_short_is_covered_when_macd_rises_above_its_signal() -> None:
    # Bar 6: MACD 0.3 > signal 0.2.
    assert decide(series_from_closes(closes_to(6)), SHORTS, Side.SELL).action is Action.EXIT
    assert decide(series_from_closes(closes_to(8)), SHORTS, Side.SELL).action is Action.HOLD


def test_the_trend_filter_blocks_a_cross_up_below_the_trend_and_zero_switches_it_off() -> None:
    # A decline 110 x 3, 108, 106, 104, 102, 100, then 101.8: TA-Lib gives MACD -0.8873 <= signal
    # -0.8179 at bar 6, -0.9416 <= -0.9004 at bar 7 and -0.3368 > -0.5247 at bar 8, a cross up; but SMA(9) =
    # (3 x 110 + 108 + 106 + 104 + 102 + 100 + 101.8) / 9 = 105.756 is above the close 101.8.
    series = series_from_closes([110.0, 110, 110, 108, 106, 104, 102, 100, 101.8])
    filtered = MacdTrendParams(fast=2, slow=3, signal=2, trend_period=9, atr_period=3)
    unfiltered = MacdTrendParams(fast=2, slow=3, signal=2, trend_period=0, atr_period=3)

    blocked = decide(series, filtered, None)

    assert blocked.action is Action.HOLD
    assert "no uptrend" in blocked.reason
    assert blocked.evidence["trend_sma"] == pytest.approx(951.8 / 9)
    assert decide(series, unfiltered, None).action is Action.ENTER_LONG


def test_warm_up_holds_until_macd_has_three_bars_and_the_trend_sma_its_window() -> None:
    # TA-Lib's first MACD signal is at bar slow + signal - 2 = 3; a cross on the previous bar
    # reads it two bars back, so the first decision is at bar 5 (6 bars).
    no_trend = MacdTrendParams(fast=2, slow=3, signal=2, trend_period=0, atr_period=3)
    long_trend = MacdTrendParams(fast=2, slow=3, signal=2, trend_period=8, atr_period=3)

    assert "need 6 bars, have 5" in decide(series_from_closes([100.0] * 5), no_trend, None).reason
    assert decide(series_from_closes([100.0] * 6), no_trend, None).reason.startswith("no cross")
    assert "need 8 bars, have 7" in decide(series_from_closes([100.0] * 7), long_trend, Side.BUY).reason


def test_a_small_histogram_still_carries_the_minimum_edge() -> None:
    # A rise of 0.009 at 1000: histogram 0.009 / 18 = 0.0005, / 1000 = 5e-7 < 1e-4.
    series = series_from_closes([*[1000.0] * 6, 1000.009])

    decision = decide(series, PARAMS, None)

    assert decision.action is Action.ENTER_LONG
    assert decision.edge == MIN_EDGE


@pytest.mark.parametrize("bad", [math.nan, 0.0])
def test_missing_or_non_positive_last_close_holds(bad: float) -> None:
    series = with_last_close(series_from_closes(closes_to(6)), bad)

    assert decide(series, PARAMS, None).action is Action.HOLD


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"fast": 26, "slow": 26}, "fast"),
        ({"signal": 1}, "signal"),
        ({"trend_period": 1}, "trend_period"),
        ({"trend_period": -5}, "trend_period"),
        ({"stop_atr_multiple": 0}, "stop_atr_multiple"),
        ({"signal_period": 9}, "signal_period"),
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(values: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        MacdTrendParams.from_mapping(values)


def test_bars_to_fetch_cover_the_trend_sma_and_the_settling_bars() -> None:
    assert MacdTrendParams().bars_to_fetch == 200 + 50  # max(26 + 9 + 1, SMA 200, ATR 14 + 1) + 50
    assert MacdTrendParams(trend_period=0).bars_to_fetch == 36 + 50
