"""The longshot bias curve and the fade rule (strategies/longshot.py), with the numbers by hand.

Anchors (Becker 2026): price 0.05 wins 0.0418; price 0.01 at -41 % EV wins 0.01 x 0.59 = 0.0059.
In logit space: x = (logit 0.05, logit 0.01) = (-2.944439, -4.595120),
                y = (logit 0.0418, logit 0.0059) = (-3.132160, -5.126885);
least squares through the origin: b = (x1 y1 + x2 y2) / (x1^2 + x2^2)
  = (9.222455 + 23.558653) / (8.669721 + 21.115126) = 32.781108 / 29.784847 = 1.100597.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from scipy.optimize import curve_fit
from scipy.special import expit, logit

from domain.fees import KalshiFees, taker_fee_per_contract
from strategies.longshot import (
    BECKER_ANCHORS,
    BECKER_SLOPE,
    FadeParams,
    fit_bias_slope,
    price_fade,
    should_buy_back,
    win_probability,
)

D = Decimal


def test_the_slope_fitted_to_beckers_anchors_is_the_hand_worked_least_squares() -> None:
    assert pytest.approx(1.100597, abs=1e-6) == BECKER_SLOPE


def test_the_slope_agrees_with_scipys_curve_fit_of_the_same_model() -> None:
    prices = np.array([p for p, _ in BECKER_ANCHORS])
    wins = np.array([q for _, q in BECKER_ANCHORS])
    (fitted,), _ = curve_fit(lambda x, b: b * x, logit(prices), logit(wins), p0=[1.0])
    assert fit_bias_slope(BECKER_ANCHORS) == pytest.approx(fitted, rel=1e-9)


def test_the_curve_puts_a_five_cent_contract_under_its_price_and_leaves_a_coin_flip_alone() -> None:
    # expit(1.100597 x -2.944439) = expit(-3.240640) = 0.037665
    assert win_probability(0.05) == pytest.approx(0.037665, abs=1e-6)
    assert win_probability(0.5) == pytest.approx(0.5)
    # symmetric: a 95-cent favourite wins as often as the 5-cent longshot loses
    assert win_probability(0.95) == pytest.approx(1 - win_probability(0.05))


def test_a_slope_of_one_is_an_unbiased_market() -> None:
    assert fit_bias_slope(((0.05, 0.05), (0.2, 0.2))) == pytest.approx(1.0)


def test_anchors_outside_the_unit_interval_are_refused() -> None:
    with pytest.raises(ValueError, match="inside"):
        fit_bias_slope(((0.0, 0.01),))


def test_a_six_seven_cent_yes_is_faded_with_the_edge_after_kalshis_fee() -> None:
    # Kalshi's fee at 6 cents: 100 contracts cost ceil(7 x 100 x 6 x 94 / 10000) = ceil(39.48) = 40 cents
    fee = taker_fee_per_contract(KalshiFees(), D("0.06"))
    assert fee == D("0.004")
    fade = price_fade(D("0.06"), D("0.07"), fee, FadeParams())
    assert fade is not None
    # mid 0.065: q = expit(1.100597 x logit(0.065)) = expit(1.100597 x -2.666159) = expit(-2.934366)
    q = float(expit(1.100597 * np.log(0.065 / 0.935)))
    assert q == pytest.approx(0.050481, abs=1e-6)
    assert fade.no_cost == D("0.94")
    assert fade.no_probability == pytest.approx(1 - q, abs=1e-6)
    # edge = bid - q - fee = 0.06 - 0.050481 - 0.004 = 0.005519
    assert fade.edge == pytest.approx(0.005519, abs=1e-6)


def test_an_edge_under_the_minimum_is_no_fade() -> None:
    assert price_fade(D("0.06"), D("0.07"), D("0.004"), FadeParams(min_edge=0.006)) is None


def test_a_yes_priced_above_the_longshot_range_is_not_faded() -> None:
    assert price_fade(D("0.20"), D("0.21"), D("0.0112"), FadeParams()) is None


def test_a_one_cent_bid_is_under_the_range_and_not_faded() -> None:
    # mid 0.015 < min_yes_price 0.02: the NO at 99 cents is outside the anchors' evidence
    assert price_fade(D("0.01"), D("0.02"), D("0.0007"), FadeParams()) is None


def test_a_crossed_quote_is_refused() -> None:
    with pytest.raises(ValueError, match="bid < ask"):
        price_fade(D("0.07"), D("0.06"), D("0.004"), FadeParams())


def test_a_fade_is_bought_back_once_the_yes_bid_reaches_the_exit_price() -> None:
    params = FadeParams(exit_yes_price=0.30)
    assert not should_buy_back(D("0.29"), params)
    assert should_buy_back(D("0.30"), params)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"min_yes_price": 0.2, "max_yes_price": 0.1}, "min_yes_price"),
        ({"max_yes_price": 0.6}, "coin flip"),
        ({"exit_yes_price": 0.1}, "exit_yes_price"),
        ({"slope": 0.9}, "overpriced"),
        ({"min_edge": -0.01}, "min_edge"),
    ],
)
def test_incoherent_parameters_are_refused(changes: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FadeParams().with_values(**changes)


def test_an_unknown_parameter_name_is_refused_with_a_hint() -> None:
    with pytest.raises(ValueError, match="max_yes_price"):
        FadeParams.from_mapping({"max_yes_prize": 0.1})
