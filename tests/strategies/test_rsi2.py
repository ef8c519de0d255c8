"""RSI-2: entries on a sharp pullback in an uptrend, exits on the bounce; numbers worked by hand.

Small parameters keep the arithmetic checkable: RSI(2), SMA(20) trend, SMA(5) exit, ATR(3).
RSI(2) is Wilder's: the first averages are plain means of the first two changes, then
avg = (previous avg + change) / 2. With bars 1.0 wide around the close (see bars.py), a
bar's true range is max(1, |close change| + 0.5), and ATR(3) = (2 x previous + TR) / 3.
"""

from __future__ import annotations

import math

import pytest

from domain.signals import Side
from strategies.decision import Action
from strategies.rsi2 import Rsi2Params, decide
from tests.strategies.bars import series_from_closes, with_last_close

PARAMS = Rsi2Params(trend_period=20, exit_sma_period=5, atr_period=3)
SHORTS = Rsi2Params(trend_period=20, exit_sma_period=5, atr_period=3, allow_short=True)

# 100, 102, ..., 140: every change +2, so avg gain 2, avg loss 0 (RSI 100) and ATR 2.5.
UPTREND = [100.0 + 2 * i for i in range(21)]
# Then -4: avg gain 1, avg loss 2 (RSI 33.3); then -8: avg gain 0.5, avg loss 5 -> RSI 100 x 0.5 / 5.5 = 9.09.
PULLBACK = [*UPTREND, 136.0, 128.0]


def test_sharp_pullback_in_an_uptrend_enters_long() -> None:
    decision = decide(series_from_closes(PULLBACK), PARAMS, None)

    assert decision.action is Action.ENTER_LONG
    assert decision.evidence["rsi"] == pytest.approx(100 * 0.5 / 5.5)  # 9.09 < 10
    # SMA(20) of closes 3..22: 106..140 (18 closes, sum 2214) + 136 + 128 = 2478 / 20.
    assert decision.evidence["trend_sma"] == pytest.approx(123.9)  # 128 above it
    assert decision.evidence["exit_sma"] == pytest.approx((136 + 138 + 140 + 136 + 128) / 5)  # 135.6
    # TR 4.5 then 8.5: ATR (2 x 2.5 + 4.5) / 3 = 3.1667, then (2 x 3.1667 + 8.5) / 3 = 4.9444.
    assert decision.atr == pytest.approx(4.944444, rel=1e-6)
    assert decision.stop == pytest.approx(128 - 2 * 4.944444, rel=1e-6)  # 2 ATR under the close
    assert decision.edge == pytest.approx((135.6 - 128) / 128)  # back to the exit SMA
    assert decision.confidence == pytest.approx(0.5 + 0.4 * (10 - 100 * 0.5 / 5.5) / 10)


def test_one_down_bar_is_not_deep_enough() -> None:
    decision = decide(series_from_closes(PULLBACK[:-1]), PARAMS, None)  # RSI 33.3

    assert decision.action is Action.HOLD
    assert decision.evidence["rsi"] == pytest.approx(100 / 3)
    assert "not below 10" in decision.reason


def test_oversold_in_a_downtrend_is_not_bought() -> None:
    # 140, 138, ..., 100 then 96, 88: RSI 0 but the close 88 is far under SMA(20) 114.5.
    closes = [140.0 - 2 * i for i in range(21)] + [96.0, 88.0]

    decision = decide(series_from_closes(closes), PARAMS, None)

    assert decision.evidence["rsi"] == 0.0
    assert decision.evidence["trend_sma"] == pytest.approx(114.5)
    assert decision.action is Action.HOLD
    assert "not above SMA(20)" in decision.reason


def test_lower_entry_threshold_rejects_the_same_pullback() -> None:
    strict = Rsi2Params(trend_period=20, exit_sma_period=5, atr_period=3, entry_threshold=5)

    assert decide(series_from_closes(PULLBACK), strict, None).action is Action.HOLD  # 9.09 is not < 5


def test_long_exits_when_rsi_rises_above_the_exit_threshold() -> None:
    decision = decide(series_from_closes(UPTREND), PARAMS, Side.BUY)  # RSI 100

    assert decision.action is Action.EXIT
    assert decision.stop is None and decision.confidence == 1.0
    assert "above the exit threshold 70" in decision.reason


def test_long_exits_when_close_rises_above_the_exit_sma() -> None:
    # +3: avg gain (0.5 + 3) / 2 = 1.75, avg loss 2.5, RSI 41.2; +4: 2.875 vs 1.25, RSI 69.7 (< 70).
    # Close 135 against SMA(5) (140 + 136 + 128 + 131 + 135) / 5 = 134.
    decision = decide(series_from_closes([*PULLBACK, 131.0, 135.0]), PARAMS, Side.BUY)

    assert decision.evidence["rsi"] == pytest.approx(100 * 2.875 / 4.125)
    assert decision.action is Action.EXIT
    assert "above SMA(5) 134" in decision.reason


def test_long_is_held_while_neither_exit_fires() -> None:
    # Close 131 under SMA(5) (138 + 140 + 136 + 128 + 131) / 5 = 134.6, RSI 41.2.
    decision = decide(series_from_closes([*PULLBACK, 131.0]), PARAMS, Side.BUY)

    assert decision.action is Action.HOLD


def test_holding_a_long_never_gives_another_entry() -> None:
    assert decide(series_from_closes([*PULLBACK, 126.0]), PARAMS, Side.BUY).action is Action.HOLD


# The mirror image: 200, 198, ..., 160 then +4, +8 -> RSI 90.9, close 172 under SMA(20) 176.1.
RALLY_IN_DOWNTREND = [200.0 - 2 * i for i in range(21)] + [164.0, 172.0]


def test_shorts_are_off_by_default() -> None:
    assert decide(series_from_closes(RALLY_IN_DOWNTREND), PARAMS, None).action is Action.HOLD


def test_sharp_rally_in_a_downtrend_enters_short_when_allowed() -> None:
    decision = decide(series_from_closes(RALLY_IN_DOWNTREND), SHORTS, None)

    assert decision.action is Action.ENTER_SHORT
    assert decision.evidence["rsi"] == pytest.approx(100 * 5 / 5.5)  # 90.9 > 100 - 10
    assert decision.evidence["trend_sma"] == pytest.approx(176.1)
    assert decision.stop == pytest.approx(172 + 2 * 4.944444, rel=1e-6)  # above the close
    assert decision.edge == pytest.approx((172 - 164.4) / 172)  # down to SMA(5) 164.4


def test_short_is_covered_when_rsi_falls_below_thirty() -> None:
    downtrend = [200.0 - 2 * i for i in range(21)]  # RSI 0 < 100 - 70

    decision = decide(series_from_closes(downtrend), PARAMS, Side.SELL)

    assert decision.action is Action.EXIT
    assert "below the cover threshold 30" in decision.reason


def test_too_few_bars_hold_and_say_how_many_are_needed() -> None:
    decision = decide(series_from_closes(PULLBACK[-19:]), PARAMS, None)

    assert decision.action is Action.HOLD
    assert "need 20 bars, have 19" in decision.reason


@pytest.mark.parametrize("bad", [math.nan, 0.0, -5.0])
def test_missing_or_non_positive_last_close_holds(bad: float) -> None:
    decision = decide(with_last_close(series_from_closes(PULLBACK), bad), PARAMS, None)

    assert decision.action is Action.HOLD
    assert "missing or non-positive" in decision.reason


@pytest.mark.parametrize("bad", [math.nan, 0.0])
def test_a_bad_bar_inside_the_window_blocks_decisions_after_it(bad: float) -> None:
    # TA-Lib reports RSI 0 (not NaN) after a NaN close, and a zero close drags the SMAs
    # down while every indicator stays finite: neither may pass for a real pullback.
    closes = list(PULLBACK)
    closes[10] = bad

    decision = decide(series_from_closes(closes), PARAMS, None)

    assert decision.action is Action.HOLD
    assert "missing or non-positive" in decision.reason


def test_empty_series_holds() -> None:
    assert decide(series_from_closes([]), PARAMS, None).action is Action.HOLD


def test_default_parameters_need_two_hundred_bars_for_the_trend() -> None:
    params = Rsi2Params()
    uptrend = [100.0 + 0.5 * i for i in range(249)]
    pullback = [*uptrend, uptrend[-1] - 1.0, uptrend[-1] - 3.0]  # -1 then -2 after +0.5s: RSI 9.09

    assert params.minimum_bars == 200
    assert decide(series_from_closes(pullback), params, None).action is Action.ENTER_LONG
    assert decide(series_from_closes(pullback[-199:]), params, None).action is Action.HOLD


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"entry_treshold": 5}, "entry_treshold"),
        ({"entry_threshold": 80}, "entry_threshold"),
        ({"exit_threshold": 5}, "exit_threshold"),
        ({"trend_period": 1}, "trend_period"),
        ({"rsi_period": 2.5}, "rsi_period"),
        ({"stop_atr_multiple": 0}, "stop_atr_multiple"),
        ({"allow_short": "yes"}, "allow_short"),
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(values: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        Rsi2Params.from_mapping(values)


def test_parameters_from_a_registry_table() -> None:
    params = Rsi2Params.from_mapping({"entry_threshold": 5, "allow_short": True, "trend_period": 100})

    assert params == Rsi2Params(entry_threshold=5.0, allow_short=True, trend_period=100)
    assert isinstance(params.entry_threshold, float)
    assert params.bars_to_fetch == 150  # 100 for the trend SMA + 50 for Wilder smoothing to settle
