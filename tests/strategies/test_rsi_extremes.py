"""RSI extremes: buy a deeply oversold fast RSI under the exit SMA, sell the bounce.

RSI(2), exit SMA(3), ATR(2), over bars 1.0 wide around the close (see bars.py): high = close
+ 0.5, low = close - 0.5, a bar's true range max(1, |close change| + 0.5). TA-Lib's RSI(2)
starts at bar 2 with the mean gain and loss of bars 1 and 2, then average = (previous + new) / 2
and RSI = 100 x gain / (gain + loss); ATR(2) starts at bar 2 with the mean true range of bars 1
and 2, then ATR = (previous + TR) / 2.
"""

from __future__ import annotations

import math

import pytest

from domain.signals import Side
from strategies.decision import Action
from strategies.rsi_extremes import MIN_EDGE, RsiExtremesParams, decide
from tests.strategies.bars import series_from_closes, with_last_close

PARAMS = RsiExtremesParams(rsi_period=2, oversold=15, exit_level=50, exit_sma_period=3, atr_period=2)
SHORTS = RsiExtremesParams(
    rsi_period=2, oversold=15, exit_level=50, exit_sma_period=3, atr_period=2, allow_short=True
)

# bar:          0      1      2      3      4
DROP = [100.0, 101.0, 102.0, 99.0, 96.0]
# change:       -     +1     +1     -3     -3
# avg gain:     -      -      1    0.5   0.25
# avg loss:     -      -      0    1.5   2.25
# RSI(2):       -      -    100     25     10
# TR:           -    1.5    1.5    3.5    3.5
# ATR(2):       -      -    1.5    2.5    3.0
# SMA(3):       -      -    101  100.667  99
RISE = [100.0, 99.0, 98.0, 101.0, 104.0]  # the mirror image: RSI(2) 90 at bar 4, SMA(3) 101, ATR 3


def test_rsi_below_oversold_under_the_exit_sma_enters_long_with_a_tight_stop() -> None:
    decision = decide(series_from_closes(DROP), PARAMS, None)

    assert decision.action is Action.ENTER_LONG
    assert decision.evidence["rsi"] == pytest.approx(10.0)
    assert decision.evidence["exit_sma"] == pytest.approx(99.0)
    assert decision.atr == pytest.approx(3.0)
    assert decision.stop == pytest.approx(91.5)  # 96 - 1.5 x 3
    assert decision.edge == pytest.approx(3.0 / 96)  # back to the SMA: (99 - 96) / 96
    assert decision.confidence == pytest.approx(0.5 + 0.4 * 5 / 15)  # RSI 5 below 15, over 15


def test_long_is_held_while_rsi_and_close_stay_low() -> None:
    # Bar 5 close 97: gain 1, avg gain (0.25 + 1) / 2 = 0.625, avg loss 2.25 / 2 = 1.125,
    # RSI 62.5 / 1.75 = 35.7 <= 50; SMA(3) (99 + 96 + 97) / 3 = 97.33 > 97.
    decision = decide(series_from_closes([*DROP, 97.0]), PARAMS, Side.BUY)

    assert decision.action is Action.HOLD
    assert decision.evidence["rsi"] == pytest.approx(62.5 / 1.75)


def test_close_above_the_exit_sma_exits_the_long() -> None:
    # Bar 5 close 98: avg gain (0.25 + 2) / 2 = 1.125 = avg loss: RSI 50, not above 50;
    # SMA(3) (99 + 96 + 98) / 3 = 97.67 < 98.
    decision = decide(series_from_closes([*DROP, 98.0]), PARAMS, Side.BUY)

    assert decision.action is Action.EXIT
    assert decision.evidence["rsi"] == pytest.approx(50.0)
    assert "above SMA(3)" in decision.reason


def test_rsi_above_the_exit_level_exits_the_long() -> None:
    # Bar 5 close 97: RSI 35.7 above an exit level of 30, close still under SMA(3) 97.33.
    params = RsiExtremesParams(rsi_period=2, oversold=15, exit_level=30, exit_sma_period=3, atr_period=2)

    decision = decide(series_from_closes([*DROP, 97.0]), params, Side.BUY)

    assert decision.action is Action.EXIT
    assert "above the exit level 30" in decision.reason


def test_rsi_above_100_minus_oversold_enters_short_only_when_allowed() -> None:
    series = series_from_closes(RISE)
    assert decide(series, PARAMS, None).action is Action.HOLD

    decision = decide(series, SHORTS, None)

    assert decision.action is Action.ENTER_SHORT
    assert decision.evidence["rsi"] == pytest.approx(90.0)  # above 100 - 15 = 85
    assert decision.stop == pytest.approx(108.5)  # 104 + 1.5 x 3
    assert decision.edge == pytest.approx(3.0 / 104)  # down to SMA(3) 101


def test_short_is_covered_when_the_close_falls_below_the_exit_sma() -> None:
    # Mirror of the long: bar 5 close 103 gives RSI 100 - 35.7 = 64.3, above the cover level 50, and
    # close 103 above SMA(3) 102.67: held. Close 102: RSI 50, SMA(3) 102.33 > 102: covered.
    assert decide(series_from_closes([*RISE, 103.0]), SHORTS, Side.SELL).action is Action.HOLD

    decision = decide(series_from_closes([*RISE, 102.0]), SHORTS, Side.SELL)

    assert decision.action is Action.EXIT
    assert "below SMA(3)" in decision.reason


def test_oversold_entry_whose_exit_already_holds_is_skipped() -> None:
    # RSI(2) at bars 6..9: a +150 jump then -30, -30, -20: avg gain 75, 37.5, 18.75, 9.375;
    # avg loss 0, 15, 22.5, 21.25: RSI 9.375 / 30.625 = 30.6, below an oversold level of 40.
    # SMA(10) (6 x 50 + 200 + 170 + 140 + 120) / 10 = 93 is under the close 120.
    params = RsiExtremesParams(rsi_period=2, oversold=40, exit_level=60, exit_sma_period=10, atr_period=2)
    closes = [50.0] * 6 + [200.0, 170.0, 140.0, 120.0]

    decision = decide(series_from_closes(closes), params, None)

    assert decision.action is Action.HOLD
    assert decision.evidence["rsi"] == pytest.approx(9.375 / 30.625 * 100)
    assert "not below SMA(10) 93" in decision.reason


def test_an_entry_just_under_the_exit_sma_carries_the_minimum_edge() -> None:
    # Falling 0.1 a bar: RSI(2) 0; SMA(2) (9999.8 + 9999.7) / 2 = 9999.75, 0.05 / 9999.7 = 5e-6 < 1e-4.
    params = RsiExtremesParams(rsi_period=2, exit_sma_period=2, atr_period=2)
    series = series_from_closes([10000.0, 9999.9, 9999.8, 9999.7], half_range=0.01)

    decision = decide(series, params, None)

    assert decision.action is Action.ENTER_LONG
    assert decision.edge == MIN_EDGE


def test_holding_never_gives_another_entry() -> None:
    assert decide(series_from_closes(DROP), PARAMS, Side.BUY).action is Action.HOLD


def test_warm_up_holds_until_the_exit_sma_and_atr_have_values() -> None:
    decision = decide(series_from_closes(DROP[:2]), PARAMS, None)

    assert decision.action is Action.HOLD
    assert "need 3 bars, have 2" in decision.reason  # max(RSI 2 + 1, SMA 3, ATR 2 + 1)


@pytest.mark.parametrize("bad", [math.nan, 0.0])
def test_missing_or_non_positive_last_close_holds(bad: float) -> None:
    series = with_last_close(series_from_closes(DROP), bad)

    assert decide(series, PARAMS, None).action is Action.HOLD


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"oversold": 50}, "oversold"),
        ({"oversold": 0}, "oversold"),
        ({"oversold": 20, "exit_level": 20}, "exit_level"),
        ({"exit_level": 100}, "exit_level"),
        ({"rsi_period": 1}, "rsi_period"),
        ({"stop_atr_multiple": 0}, "stop_atr_multiple"),
        ({"max_holding_bars": 15}, "max_holding_bars"),
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(values: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        RsiExtremesParams.from_mapping(values)


def test_bars_to_fetch_cover_the_atr_and_the_settling_bars() -> None:
    assert RsiExtremesParams().bars_to_fetch == 15 + 50  # max(RSI 7 + 1, SMA 10, ATR 14 + 1) + 50
