"""Multi-momentum: enter when the returns over three lookbacks agree, exit when the fastest turns.

Lookbacks 1, 2 and 4 bars, minimum fast return 1 %, ATR(2). The return over k bars is
close / close k bars ago - 1. Bars are `half_range` either side of the close (see bars.py),
so a bar's true range is max(2 x half_range, |close change| + half_range); TA-Lib's ATR(2)
starts at bar 2 with the mean true range of bars 1 and 2, then ATR = (previous + TR) / 2.
"""

from __future__ import annotations

import math

import pytest

from domain.signals import Side
from strategies.decision import Action
from strategies.multi_momentum import MIN_EDGE, MultiMomentumParams, decide
from tests.strategies.bars import series_from_closes, with_last_close

PARAMS = MultiMomentumParams(fast_lookback=1, mid_lookback=2, slow_lookback=4, min_return=0.01, atr_period=2)
SHORTS = MultiMomentumParams(
    fast_lookback=1, mid_lookback=2, slow_lookback=4, min_return=0.01, atr_period=2, allow_short=True
)

# bar:        0     1     2     3     4
UP = [88.0, 100.0, 100.0, 100.0, 110.0]
# bar 4 returns: 1-bar 110 / 100 - 1 = 0.10, 2-bar 110 / 100 - 1 = 0.10, 4-bar 110 / 88 - 1 = 0.25
DOWN = [112.0, 100.0, 100.0, 100.0, 90.0]
# bar 4 returns: -0.10, -0.10, 90 / 112 - 1 = -0.196429


def test_returns_positive_over_every_lookback_enter_long() -> None:
    # Bars 5 wide either side: TR 17 (|100 - 88| + 5), 10, 10, 15 (|110 - 100| + 5);
    # ATR(2): bar 2 (17 + 10) / 2 = 13.5, bar 3 (13.5 + 10) / 2 = 11.75, bar 4 (11.75 + 15) / 2 = 13.375.
    decision = decide(series_from_closes(UP, half_range=5.0), PARAMS, None)

    assert decision.action is Action.ENTER_LONG
    assert decision.evidence["slow_return"] == pytest.approx(0.25)
    assert decision.atr == pytest.approx(13.375)
    assert decision.stop == pytest.approx(110 - 1.5 * 13.375)  # 89.9375
    # Each return scaled to the 1-bar horizon: 0.10 x 1/1, 0.10 x 1/2, 0.25 x 1/4; mean 0.2125 / 3.
    assert decision.edge == pytest.approx((0.10 + 0.05 + 0.0625) / 3)
    # The 1-bar move 110 - 100 = 10 in sqrt(1) x ATR 13.375 units: strength 0.7477.
    assert decision.confidence == pytest.approx(0.5 + 0.4 * 10 / 13.375)


def test_a_negative_slow_return_is_no_entry() -> None:
    # 4-bar return 110 / 115 - 1 = -0.043: the longest horizon disagrees.
    decision = decide(series_from_closes([115.0, *UP[1:]]), PARAMS, None)

    assert decision.action is Action.HOLD
    assert "no agreement" in decision.reason


def test_a_fast_return_below_the_minimum_is_no_entry() -> None:
    # 1-bar return 100.5 / 100 - 1 = 0.005 < 0.01, although every return is positive.
    decision = decide(series_from_closes([*UP[:4], 100.5]), PARAMS, None)

    assert decision.action is Action.HOLD
    assert decision.evidence["fast_return"] == pytest.approx(0.005)


def test_long_exits_when_the_fast_return_turns_negative() -> None:
    # Bar 5 close 109: 1-bar return 109 / 110 - 1 = -0.009 (the 2- and 4-bar returns still +0.09).
    decision = decide(series_from_closes([*UP, 109.0]), PARAMS, Side.BUY)

    assert decision.action is Action.EXIT
    assert decision.evidence["mid_return"] == pytest.approx(0.09)


def test_long_is_held_while_the_fast_return_is_zero() -> None:
    assert decide(series_from_closes([*UP, 110.0]), PARAMS, Side.BUY).action is Action.HOLD


def test_returns_negative_over_every_lookback_enter_short_only_when_allowed() -> None:
    series = series_from_closes(DOWN)
    assert decide(series, PARAMS, None).action is Action.HOLD

    decision = decide(series, SHORTS, None)

    assert decision.action is Action.ENTER_SHORT
    # TR 12.5, 1, 1, 10.5; ATR(2) 6.75, 3.875, (3.875 + 10.5) / 2 = 7.1875: stop 90 + 1.5 x 7.1875.
    assert decision.stop == pytest.approx(100.78125)
    assert decision.edge == pytest.approx((0.10 + 0.05 + (1 - 90 / 112) / 4) / 3)


def test_short_is_covered_when_the_fast_return_turns_positive() -> None:
    # Bar 5 close 91: 1-bar return 91 / 90 - 1 = +0.011.
    decision = decide(series_from_closes([*DOWN, 91.0]), SHORTS, Side.SELL)

    assert decision.action is Action.EXIT


def test_a_small_agreeing_move_carries_the_minimum_edge() -> None:
    # Rising 0.5 a bar from 10000 with no minimum: returns 5e-5, 1e-4, 2e-4 scale to 5e-5 each,
    # a mean of 5e-5 < 1e-4.
    params = MultiMomentumParams(
        fast_lookback=1, mid_lookback=2, slow_lookback=4, min_return=0.0, atr_period=2
    )
    series = series_from_closes([10000.0, 10000.5, 10001.0, 10001.5, 10002.0])

    decision = decide(series, params, None)

    assert decision.action is Action.ENTER_LONG
    assert decision.edge == MIN_EDGE


def test_holding_never_gives_another_entry() -> None:
    assert decide(series_from_closes(UP), PARAMS, Side.BUY).action is Action.HOLD


def test_warm_up_holds_until_the_slow_return_has_a_value() -> None:
    decision = decide(series_from_closes(UP[:4]), PARAMS, None)

    assert decision.action is Action.HOLD
    assert "need 5 bars, have 4" in decision.reason  # the 4-bar return needs the bar 4 bars back


@pytest.mark.parametrize("bad", [math.nan, 0.0])
def test_missing_or_non_positive_last_close_holds(bad: float) -> None:
    series = with_last_close(series_from_closes(UP), bad)

    assert decide(series, PARAMS, None).action is Action.HOLD


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"fast_lookback": 15, "mid_lookback": 15}, "mid_lookback"),
        ({"mid_lookback": 60, "slow_lookback": 30}, "slow_lookback"),
        ({"fast_lookback": 0}, "fast_lookback"),
        ({"min_return": -0.01}, "min_return"),
        ({"stop_atr_multiple": -1}, "stop_atr_multiple"),
        ({"lookbacks": [5, 15, 60]}, "lookbacks"),
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(values: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        MultiMomentumParams.from_mapping(values)


def test_bars_to_fetch_cover_the_slow_lookback_and_the_settling_bars() -> None:
    assert MultiMomentumParams().bars_to_fetch == 61 + 50  # max(slow 60 + 1, ATR 14 + 1) + 50
