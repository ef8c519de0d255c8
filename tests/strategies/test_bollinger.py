"""Bollinger reversion: entries outside the bands, exits at the middle band; numbers worked by hand.

Bands over 10 closes with population standard deviation (as TA-Lib and Bollinger use),
ATR(3) over bars 1.0 wide around the close.
"""

from __future__ import annotations

import math

import pytest

from domain.signals import Side
from strategies.bollinger import BollingerParams, decide
from strategies.decision import Action
from tests.strategies.bars import series_from_closes, with_last_close

PARAMS = BollingerParams(period=10, atr_period=3)
SHORTS = BollingerParams(period=10, atr_period=3, allow_short=True)

# Nine closes at 100, then 90: mean 99, variance (9 x 1^2 + 9^2) / 10 = 9, sigma 3,
# so the bands are 93 / 99 / 105 and 90 is a full sigma under the lower band.
DROP = [100.0] * 9 + [90.0]


def test_close_below_the_lower_band_enters_long() -> None:
    decision = decide(series_from_closes(DROP), PARAMS, None)

    assert decision.action is Action.ENTER_LONG
    assert decision.evidence["lower_band"] == pytest.approx(93.0)
    assert decision.evidence["middle_band"] == pytest.approx(99.0)
    assert decision.evidence["upper_band"] == pytest.approx(105.0)
    # TR 1 on the flat bars (ATR 1), then max(1, |89.5 - 100|) = 10.5: ATR (2 x 1 + 10.5) / 3.
    assert decision.atr == pytest.approx(12.5 / 3)
    assert decision.stop == pytest.approx(90 - 2 * 12.5 / 3)
    assert decision.edge == pytest.approx((99 - 90) / 90)  # back to the middle band
    assert decision.confidence == pytest.approx(0.9)  # one sigma beyond the band: full strength


def test_close_inside_noisy_bands_does_not_enter() -> None:
    # 102, 98 alternating then 97: mean 99.9, variance (5 x 2.1^2 + 4 x 1.9^2 + 2.9^2) / 10 = 4.49,
    # lower band 99.9 - 2 x 2.119 = 95.66, under the close 97.
    decision = decide(series_from_closes([102.0, 98.0] * 4 + [102.0, 97.0]), PARAMS, None)

    assert decision.evidence["lower_band"] == pytest.approx(99.9 - 2 * math.sqrt(4.49))
    assert decision.action is Action.HOLD


def test_close_above_the_upper_band_is_not_shorted_by_default() -> None:
    assert decide(series_from_closes([100.0] * 9 + [110.0]), PARAMS, None).action is Action.HOLD


def test_close_above_the_upper_band_enters_short_when_allowed() -> None:
    # Mirror of DROP: bands 95 / 101 / 107.
    decision = decide(series_from_closes([100.0] * 9 + [110.0]), SHORTS, None)

    assert decision.action is Action.ENTER_SHORT
    assert decision.stop == pytest.approx(110 + 2 * 12.5 / 3)  # above the close
    assert decision.edge == pytest.approx((110 - 101) / 110)


def test_long_exits_when_close_reaches_the_middle_band() -> None:
    # Window: eight 100s, 90, 100 -> middle 99; close 100 is back above it.
    decision = decide(series_from_closes([*DROP, 100.0]), PARAMS, Side.BUY)

    assert decision.action is Action.EXIT
    assert decision.evidence["middle_band"] == pytest.approx(99.0)


def test_long_is_held_below_the_middle_band() -> None:
    # Window: eight 100s, 90, 95 -> middle 98.5, above the close 95.
    decision = decide(series_from_closes([*DROP, 95.0]), PARAMS, Side.BUY)

    assert decision.action is Action.HOLD


def test_holding_a_long_never_gives_another_entry() -> None:
    assert decide(series_from_closes(DROP), PARAMS, Side.BUY).action is Action.HOLD


def test_short_exits_when_close_falls_to_the_middle_band() -> None:
    # Window: eight 100s, 110, 100 -> middle 101; close 100 is under it.
    decision = decide(series_from_closes([100.0] * 9 + [110.0, 100.0]), SHORTS, Side.SELL)

    assert decision.action is Action.EXIT


def test_too_few_bars_hold() -> None:
    decision = decide(series_from_closes(DROP[1:]), PARAMS, None)

    assert decision.action is Action.HOLD
    assert "need 10 bars, have 9" in decision.reason


@pytest.mark.parametrize("bad", [math.nan, 0.0, -1.0])
def test_missing_or_non_positive_last_close_holds(bad: float) -> None:
    assert decide(with_last_close(series_from_closes(DROP), bad), PARAMS, None).action is Action.HOLD


@pytest.mark.parametrize(
    ("values", "named"),
    [({"period": 1}, "period"), ({"num_std": -2}, "num_std"), ({"band_width": 2}, "band_width")],
)
def test_bad_parameters_are_refused_naming_the_parameter(values: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        BollingerParams.from_mapping(values)
