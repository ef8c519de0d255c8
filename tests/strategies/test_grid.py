"""Range grid: buy a close two steps under the moving centre, sell it back at the centre.

Centre SMA(4), step 0.5 x ATR(2), two levels either side, stop two steps beyond the entry,
over bars 1.0 wide around the close (see bars.py): a bar's true range is
max(1, |close change| + 0.5). TA-Lib's ATR(2) starts at bar 2 with the mean true range of
bars 1 and 2, then ATR = (previous + TR) / 2.
"""

from __future__ import annotations

import math

import pytest

from domain.signals import Side
from strategies.decision import Action
from strategies.grid import GridParams, decide
from tests.strategies.bars import series_from_closes, with_last_close

PARAMS = GridParams(period=4, step_atr=0.5, atr_period=2)
SHORTS = GridParams(period=4, step_atr=0.5, atr_period=2, allow_short=True)

FLAT = [100.0, 100.0, 100.0, 100.0]  # TR 1 each bar: ATR(2) 1 at bar 3
# Bar 4 close 96: TR 4.5, ATR (1 + 4.5) / 2 = 2.75, step 0.5 x 2.75 = 1.375,
# centre (100 + 100 + 100 + 96) / 4 = 99, buy level 99 - 2 x 1.375 = 96.25.
FALL = [*FLAT, 96.0]
# Bar 4 close 104, the mirror: centre 101, step 1.375, sell level 101 + 2 x 1.375 = 103.75.
RISE = [*FLAT, 104.0]


def test_close_at_or_below_the_buy_level_enters_long_with_a_stop_two_steps_lower() -> None:
    decision = decide(series_from_closes(FALL), PARAMS, None)

    assert decision.action is Action.ENTER_LONG
    assert decision.evidence["centre"] == pytest.approx(99.0)
    assert decision.evidence["step"] == pytest.approx(1.375)
    assert decision.evidence["buy_level"] == pytest.approx(96.25)
    assert decision.stop == pytest.approx(93.25)  # 96 - 2 steps of 1.375
    assert decision.edge == pytest.approx(3.0 / 96)  # back to the centre: (99 - 96) / 96
    # 0.25 past the buy level in steps of 1.375: strength 0.1818.
    assert decision.confidence == pytest.approx(0.5 + 0.4 * 0.25 / 1.375)


def test_close_inside_the_grid_levels_is_no_entry() -> None:
    # Bar 4 close 97.5: TR 3, ATR (1 + 3) / 2 = 2, step 1, centre 399.5 / 4 = 99.375,
    # buy level 97.375 < 97.5; sell level 101.375.
    decision = decide(series_from_closes([*FLAT, 97.5]), SHORTS, None)

    assert decision.action is Action.HOLD
    assert decision.evidence["buy_level"] == pytest.approx(97.375)
    assert "inside the grid's entry levels" in decision.reason


def test_more_levels_below_need_a_deeper_fall() -> None:
    # Three levels: buy level 99 - 3 x 1.375 = 94.875 < 96.
    params = GridParams(period=4, step_atr=0.5, levels_below=3, atr_period=2)

    decision = decide(series_from_closes(FALL), params, None)

    assert decision.action is Action.HOLD
    assert decision.evidence["buy_level"] == pytest.approx(94.875)


def test_long_exits_when_the_close_is_back_at_the_centre() -> None:
    # Bar 5 close 99: centre (100 + 100 + 96 + 99) / 4 = 98.75 <= 99. Close 98: centre 98.5 > 98, held.
    assert decide(series_from_closes([*FALL, 98.0]), PARAMS, Side.BUY).action is Action.HOLD

    decision = decide(series_from_closes([*FALL, 99.0]), PARAMS, Side.BUY)

    assert decision.action is Action.EXIT
    assert decision.evidence["centre"] == pytest.approx(98.75)


def test_close_at_or_above_the_sell_level_enters_short_only_when_allowed() -> None:
    series = series_from_closes(RISE)
    assert decide(series, PARAMS, None).action is Action.HOLD

    decision = decide(series, SHORTS, None)

    assert decision.action is Action.ENTER_SHORT
    assert decision.evidence["sell_level"] == pytest.approx(103.75)
    assert decision.stop == pytest.approx(106.75)  # 104 + 2 steps of 1.375
    assert decision.edge == pytest.approx(3.0 / 104)  # down to the centre 101


def test_short_is_covered_when_the_close_is_back_at_the_centre() -> None:
    # Bar 5 close 101: centre (100 + 100 + 104 + 101) / 4 = 101.25 >= 101. Close 102: centre 101.5, held.
    assert decide(series_from_closes([*RISE, 102.0]), SHORTS, Side.SELL).action is Action.HOLD

    assert decide(series_from_closes([*RISE, 101.0]), SHORTS, Side.SELL).action is Action.EXIT


def test_a_grid_without_spacing_does_not_trade() -> None:
    # Bars with no range and no change: ATR 0, so every level is the centre itself.
    decision = decide(series_from_closes([*FLAT, 100.0], half_range=0.0), SHORTS, None)

    assert decision.action is Action.HOLD
    assert "ATR(2) is zero" in decision.reason


def test_holding_never_gives_another_entry() -> None:
    assert decide(series_from_closes(FALL), PARAMS, Side.BUY).action is Action.HOLD


def test_warm_up_holds_until_the_centre_has_its_bars() -> None:
    decision = decide(series_from_closes(FLAT[:3]), PARAMS, None)

    assert decision.action is Action.HOLD
    assert "need 4 bars, have 3" in decision.reason  # max(SMA 4, ATR 2 + 1)


@pytest.mark.parametrize("bad", [math.nan, 0.0])
def test_missing_or_non_positive_last_close_holds(bad: float) -> None:
    series = with_last_close(series_from_closes(FALL), bad)

    assert decide(series, PARAMS, None).action is Action.HOLD


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"period": 1}, "period"),
        ({"step_atr": 0}, "step_atr"),
        ({"levels_below": 0}, "levels_below"),
        ({"levels_above": 1.5}, "levels_above"),
        ({"stop_steps": -2}, "stop_steps"),
        ({"levels": 3}, "levels"),
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(values: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        GridParams.from_mapping(values)


def test_stop_distance_is_stop_steps_of_step_atr_atrs() -> None:
    assert GridParams(step_atr=0.75, stop_steps=3).stop_atr_multiple == pytest.approx(2.25)  # 3 x 0.75


def test_bars_to_fetch_cover_the_centre_and_the_settling_bars() -> None:
    assert GridParams().bars_to_fetch == 60 + 50  # max(SMA 60, ATR 14 + 1) + 50
