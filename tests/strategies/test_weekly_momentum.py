"""Weekly momentum: long while the lookback's return is positive and the close above its average.

Lookback 3 bars, threshold 0, ATR(2), over bars 1.0 wide around the close (see bars.py): a
bar's true range is max(1, |close change| + 0.5). TA-Lib's ATR(2) starts at bar 2 with the mean
true range of bars 1 and 2, then ATR = (previous + TR) / 2.
"""

from __future__ import annotations

import math

import pytest

from domain.signals import Side
from strategies.decision import Action
from strategies.weekly_momentum import MIN_EDGE, WeeklyMomentumParams, decide
from tests.strategies.bars import series_from_closes, with_last_close

PARAMS = WeeklyMomentumParams(lookback_bars=3, atr_period=2)
SHORTS = WeeklyMomentumParams(lookback_bars=3, atr_period=2, allow_short=True)

# bar:          0     1     2      3
UP = [100.0, 98.0, 99.0, 102.0]
# TR:           -    2.5   1.5    3.5
# ATR(2):       -     -    2.0    2.75
# bar 3: 3-bar return 102 / 100 - 1 = 0.02; SMA(3) (98 + 99 + 102) / 3 = 99.67 < 102
DOWN = [100.0, 102.0, 101.0, 98.0]  # the mirror: return -0.02, SMA(3) 100.33 > 98, ATR 2.75


def test_positive_lookback_return_above_the_average_enters_long() -> None:
    decision = decide(series_from_closes(UP), PARAMS, None)

    assert decision.action is Action.ENTER_LONG
    assert decision.evidence["lookback_return"] == pytest.approx(0.02)
    assert decision.evidence["sma"] == pytest.approx(299 / 3)
    assert decision.stop == pytest.approx(93.75)  # 102 - 3 x 2.75
    assert decision.edge == pytest.approx(0.02)  # 0.02 / 3 per bar x 3 bars held
    # The 3-bar move 102 - 100 = 2 in sqrt(3) x 2.75 = 4.763 units: strength 0.420.
    assert decision.confidence == pytest.approx(0.5 + 0.4 * 2 / (math.sqrt(3) * 2.75))


def test_holding_bars_scale_the_edge_per_bar() -> None:
    params = WeeklyMomentumParams(lookback_bars=3, holding_bars=1, atr_period=2)

    decision = decide(series_from_closes(UP), params, None)

    assert decision.edge == pytest.approx(0.02 / 3)  # one bar of the 3-bar drift


def test_positive_return_below_the_average_is_no_entry() -> None:
    # Return 101 / 100 - 1 = 0.01 > 0 but SMA(3) (110 + 105 + 101) / 3 = 105.33 > 101.
    decision = decide(series_from_closes([100.0, 110.0, 105.0, 101.0]), PARAMS, None)

    assert decision.action is Action.HOLD
    assert decision.evidence["lookback_return"] == pytest.approx(0.01)


def test_return_not_above_the_threshold_is_no_entry() -> None:
    params = WeeklyMomentumParams(lookback_bars=3, threshold=0.05, atr_period=2)

    assert decide(series_from_closes(UP), params, None).action is Action.HOLD  # 0.02 <= 0.05


def test_long_exits_when_the_lookback_return_turns_negative() -> None:
    # Bar 4 close 97: 97 / 98 - 1 = -0.0102 (bar 1 is 3 bars back). Close 98: return 0, held.
    assert decide(series_from_closes([*UP, 98.0]), PARAMS, Side.BUY).action is Action.HOLD

    decision = decide(series_from_closes([*UP, 97.0]), PARAMS, Side.BUY)

    assert decision.action is Action.EXIT
    assert decision.evidence["lookback_return"] == pytest.approx(97 / 98 - 1)


def test_negative_return_below_the_average_enters_short_only_when_allowed() -> None:
    series = series_from_closes(DOWN)
    assert decide(series, PARAMS, None).action is Action.HOLD

    decision = decide(series, SHORTS, None)

    assert decision.action is Action.ENTER_SHORT
    assert decision.stop == pytest.approx(106.25)  # 98 + 3 x 2.75
    assert decision.edge == pytest.approx(0.02)


def test_short_is_covered_when_the_lookback_return_turns_positive() -> None:
    # Bar 4 close 103: 103 / 102 - 1 = +0.0098.
    assert decide(series_from_closes([*DOWN, 103.0]), SHORTS, Side.SELL).action is Action.EXIT


def test_a_barely_positive_week_carries_the_minimum_edge() -> None:
    # Return 10000.3 / 10000 - 1 = 3e-5 < 1e-4, close 10000.3 above SMA(3) 10000.1.
    series = series_from_closes([10000.0, 10000.0, 10000.0, 10000.3], half_range=0.01)

    decision = decide(series, PARAMS, None)

    assert decision.action is Action.ENTER_LONG
    assert decision.edge == MIN_EDGE


def test_holding_never_gives_another_entry() -> None:
    assert decide(series_from_closes(UP), PARAMS, Side.BUY).action is Action.HOLD


def test_warm_up_holds_until_the_lookback_return_has_a_value() -> None:
    decision = decide(series_from_closes(UP[:3]), PARAMS, None)

    assert decision.action is Action.HOLD
    assert "need 4 bars, have 3" in decision.reason  # the bar 3 bars back and this one


@pytest.mark.parametrize("bad", [math.nan, 0.0])
def test_missing_or_non_positive_last_close_holds(bad: float) -> None:
    series = with_last_close(series_from_closes(UP), bad)

    assert decide(series, PARAMS, None).action is Action.HOLD


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"lookback_bars": 1}, "lookback_bars"),
        ({"threshold": -0.01}, "threshold"),
        ({"holding_bars": -1}, "holding_bars"),
        ({"stop_atr_multiple": 0}, "stop_atr_multiple"),
        ({"lookback": 7}, "lookback"),
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(values: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        WeeklyMomentumParams.from_mapping(values)


def test_bars_to_fetch_cover_the_lookback_the_atr_and_the_settling_bars() -> None:
    assert WeeklyMomentumParams().bars_to_fetch == 15 + 50  # max(lookback 7 + 1, ATR 14 + 1) + 50
    assert WeeklyMomentumParams(lookback_bars=168).bars_to_fetch == 169 + 50  # hourly bars
