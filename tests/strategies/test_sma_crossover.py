"""SMA crossover: enter on the cross, exit on the cross back; numbers worked by hand.

SMA(2) fast, SMA(4) slow, ATR(3) over bars 1.0 wide around the close (see bars.py), so a
bar's true range is max(1, |close change| + 0.5) and ATR(3) = (2 x previous + TR) / 3,
its first value the mean of the first three true ranges.
"""

from __future__ import annotations

import math

import pytest

from domain.signals import Side
from strategies.decision import Action
from strategies.sma_crossover import MIN_EDGE, SmaCrossoverParams, decide
from tests.strategies.bars import series_from_closes, with_last_close

PARAMS = SmaCrossoverParams(fast=2, slow=4, atr_period=3)
SHORTS = SmaCrossoverParams(fast=2, slow=4, atr_period=3, allow_short=True)

# bar:      0    1    2    3    4    5    6    7    8   9    10
CLOSES = [100, 100, 100, 100, 101, 104, 104, 100, 96, 100, 104]
# SMA(2):   -  100  100  100 100.5 102.5 104  102   98  98   102
# SMA(4):   -    -    -  100 100.25 101.25 102.25 102.25 101 100 100


def closes_to(bar: int) -> list[float]:
    return [float(c) for c in CLOSES[: bar + 1]]


def test_fast_crossing_above_slow_enters_long_on_that_bar() -> None:
    decision = decide(series_from_closes(closes_to(4)), PARAMS, None)

    assert decision.action is Action.ENTER_LONG
    assert decision.evidence["fast_sma"] == pytest.approx(100.5)  # (100 + 101) / 2
    assert decision.evidence["slow_sma"] == pytest.approx(100.25)  # (100 x 3 + 101) / 4
    # TR 1 on bars 1..3 (ATR 1), then max(1, 1 + 0.5) = 1.5: ATR (2 x 1 + 1.5) / 3 = 1.16667.
    assert decision.atr == pytest.approx(3.5 / 3)
    assert decision.stop == pytest.approx(101 - 3 * 3.5 / 3)  # 3 ATRs under the close: 97.5
    assert decision.edge == pytest.approx(0.25 / 101)  # the gap 100.5 - 100.25 over the close
    # strength: the gap in ATRs, 0.25 / 1.16667 = 0.2143 -> confidence 0.5 + 0.4 x 0.2143
    assert decision.confidence == pytest.approx(0.5 + 0.4 * 0.25 / (3.5 / 3))


def test_equal_averages_are_no_entry_either_way() -> None:
    # Bar 3: SMA(2) 100 = SMA(4) 100.
    assert decide(series_from_closes(closes_to(3)), SHORTS, None).action is Action.HOLD


def test_long_is_held_while_fast_stays_above_slow() -> None:
    # Bar 6: SMA(2) 104 > SMA(4) 102.25.
    assert decide(series_from_closes(closes_to(6)), PARAMS, Side.BUY).action is Action.HOLD


def test_long_exits_when_fast_crosses_back_below_slow() -> None:
    # Bar 7: SMA(2) (104 + 100) / 2 = 102 < SMA(4) (101 + 104 + 104 + 100) / 4 = 102.25.
    decision = decide(series_from_closes(closes_to(7)), PARAMS, Side.BUY)

    assert decision.action is Action.EXIT
    assert decision.evidence["fast_sma"] == pytest.approx(102.0)
    assert decision.evidence["slow_sma"] == pytest.approx(102.25)


def test_long_exits_when_the_averages_are_equal() -> None:
    # The vectorized engine is long only while fast > slow, so equality ends a long.
    assert decide(series_from_closes(closes_to(3)), PARAMS, Side.BUY).action is Action.EXIT


def test_fast_below_slow_enters_short_only_when_allowed() -> None:
    # Bar 8: SMA(2) 98 < SMA(4) (104 + 104 + 100 + 96) / 4 = 101.
    series = series_from_closes(closes_to(8))
    assert decide(series, PARAMS, None).action is Action.HOLD

    decision = decide(series, SHORTS, None)

    assert decision.action is Action.ENTER_SHORT
    assert decision.evidence["slow_sma"] == pytest.approx(101.0)
    # TR: bar 5 3.5, bar 6 1, bar 7 4.5, bar 8 4.5 from ATR 1.16667 at bar 4:
    # (2 x 1.16667 + 3.5) / 3 = 1.94444; (2 x 1.94444 + 1) / 3 = 1.62963;
    # (2 x 1.62963 + 4.5) / 3 = 2.58642; (2 x 2.58642 + 4.5) / 3 = 3.22428.
    assert decision.atr == pytest.approx(3.224280, rel=1e-6)
    assert decision.stop == pytest.approx(96 + 3 * 3.224280, rel=1e-6)  # above the close
    assert decision.edge == pytest.approx(3 / 96)  # gap 101 - 98 over the close


def test_short_is_held_below_and_exits_when_fast_rises_back_to_slow() -> None:
    # Bar 9: SMA(2) 98 < SMA(4) 100: held. Bar 10: SMA(2) 102 >= SMA(4) 100: covered.
    assert decide(series_from_closes(closes_to(9)), SHORTS, Side.SELL).action is Action.HOLD
    assert decide(series_from_closes(closes_to(10)), SHORTS, Side.SELL).action is Action.EXIT


def test_holding_never_gives_another_entry() -> None:
    assert decide(series_from_closes(closes_to(4)), PARAMS, Side.BUY).action is Action.HOLD


def test_warm_up_holds_until_the_slow_average_and_the_atr_have_values() -> None:
    decision = decide(series_from_closes(closes_to(2)), PARAMS, None)

    assert decision.action is Action.HOLD
    assert "need 4 bars, have 3" in decision.reason


def test_a_tiny_gap_still_carries_the_minimum_edge() -> None:
    # 1000 x 3, then 1000.01: SMA(2) 1000.005 > SMA(4) 1000.0025; gap / close = 2.5e-6 < 1e-4.
    decision = decide(series_from_closes([1000.0, 1000.0, 1000.0, 1000.0, 1000.01]), PARAMS, None)

    assert decision.action is Action.ENTER_LONG
    assert decision.edge == MIN_EDGE


def test_an_atr_so_wide_that_no_long_stop_exists_holds() -> None:
    # Bars 10 wide: ATR(3) 10, so a 3 ATR stop under the close 11 would be 11 - 30 = -19.
    decision = decide(series_from_closes([10.0, 10.0, 10.0, 10.0, 11.0], half_range=5.0), PARAMS, None)

    assert decision.action is Action.HOLD
    assert "entry skipped" in decision.reason


@pytest.mark.parametrize("bad", [math.nan, 0.0])
def test_missing_or_non_positive_last_close_holds(bad: float) -> None:
    series = with_last_close(series_from_closes(closes_to(4)), bad)

    assert decide(series, PARAMS, None).action is Action.HOLD


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"fast": 1}, "fast"),
        ({"fast": 50, "slow": 50}, "fast"),
        ({"slow": 2.5}, "slow"),
        ({"stop_atr_multiple": 0}, "stop_atr_multiple"),
        ({"fast_period": 5}, "fast_period"),
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(values: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        SmaCrossoverParams.from_mapping(values)


def test_bars_to_fetch_cover_the_slow_average_and_the_settling_bars() -> None:
    assert SmaCrossoverParams().bars_to_fetch == 50 + 50  # max(slow 50, ATR 14 + 1) + 50 settle bars
