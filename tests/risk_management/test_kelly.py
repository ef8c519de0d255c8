import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from risk_management.kelly import (
    binary_kelly_fraction,
    mean_variance_kelly_fraction,
    no_side_kelly_fraction,
    position_fraction,
    win_rate_kelly_fraction,
)

probabilities = st.floats(min_value=0.01, max_value=0.99)
prices = st.floats(min_value=0.01, max_value=0.99)
fees = st.floats(min_value=0.0, max_value=0.05)


def _log_optimal_fraction(win_probability: float, net_odds: float) -> float:
    """Independent oracle: argmax over f in [0, 1) of E[log wealth] = q log(1 + f b) + (1 − q) log(1 − f)."""

    def negative_growth(f: float) -> float:
        return -(win_probability * math.log1p(f * net_odds) + (1 - win_probability) * math.log1p(-f))

    result = minimize_scalar(
        negative_growth, bounds=(0.0, 1.0 - 1e-9), method="bounded", options={"xatol": 1e-10}
    )
    return float(result.x)


# --- binary contracts: hand-worked --------------------------------------------------------------------------


def test_binary_kelly_at_even_odds_is_the_edge() -> None:
    # q = 0.6 at price 0.50: b = 0.5 / 0.5 = 1, f* = 0.6 − 0.4 / 1 = 0.2
    assert binary_kelly_fraction(0.6, 0.5) == pytest.approx(0.2, abs=1e-12)


def test_binary_kelly_pays_the_fee_out_of_the_odds() -> None:
    # cost 0.52: b = 0.48 / 0.52 = 12/13, f* = 0.6 − 0.4 · 13/12 = 0.6 − 0.4333… = 0.1666… = 1/6
    assert binary_kelly_fraction(0.6, 0.5, fee=0.02) == pytest.approx(1 / 6, abs=1e-12)


def test_binary_kelly_on_a_cheap_longshot() -> None:
    # q = 0.25 at price 0.20: b = 0.8 / 0.2 = 4, f* = 0.25 − 0.75 / 4 = 0.0625
    assert binary_kelly_fraction(0.25, 0.2) == pytest.approx(0.0625, abs=1e-12)


def test_binary_kelly_is_zero_when_the_fee_eats_the_edge() -> None:
    assert binary_kelly_fraction(0.52, 0.5, fee=0.02) == 0.0  # cost 0.52 = q: no edge
    assert binary_kelly_fraction(0.51, 0.5, fee=0.02) == 0.0  # negative edge
    assert binary_kelly_fraction(0.4, 0.5) == 0.0


def test_binary_kelly_is_zero_when_the_cost_reaches_the_payout() -> None:
    assert binary_kelly_fraction(0.99, 0.98, fee=0.03) == 0.0


def test_no_side_is_the_yes_formula_on_the_complement() -> None:
    # P(YES) = 0.3 → P(NO) = 0.7; NO at 0.60: b = 0.4 / 0.6 = 2/3, f* = 0.7 − 0.3 · 1.5 = 0.25
    assert no_side_kelly_fraction(0.3, 0.6) == pytest.approx(0.25, abs=1e-12)
    assert no_side_kelly_fraction(0.3, 0.6, fee=0.01) == binary_kelly_fraction(0.7, 0.6, fee=0.01)


@pytest.mark.parametrize(
    ("win_probability", "price", "fee"),
    [
        (0.0, 0.5, 0.0),
        (1.0, 0.5, 0.0),
        (0.6, 0.0, 0.0),
        (0.6, 1.0, 0.0),
        (math.nan, 0.5, 0.0),
        (0.6, 0.5, -0.01),
    ],
)
def test_binary_kelly_rejects_bad_input(win_probability: float, price: float, fee: float) -> None:
    with pytest.raises(ValueError):
        binary_kelly_fraction(win_probability, price, fee)


# --- continuous payoffs: hand-worked ------------------------------------------------------------------------


def test_win_rate_kelly_hand_worked() -> None:
    # W = 0.55, R = 1.5: f* = 0.55 − 0.45 / 1.5 = 0.25
    assert win_rate_kelly_fraction(0.55, 1.5) == pytest.approx(0.25, abs=1e-12)


def test_win_rate_kelly_is_zero_without_edge() -> None:
    assert win_rate_kelly_fraction(0.4, 1.5) == 0.0  # 0.4 − 0.6 / 1.5 = 0
    assert win_rate_kelly_fraction(0.3, 1.0) == 0.0


def test_mean_variance_kelly_hand_worked() -> None:
    # μ = 1 %, σ = 20 % → σ² = 0.04, f* = 0.01 / 0.04 = 0.25
    assert mean_variance_kelly_fraction(0.01, 0.04) == pytest.approx(0.25, abs=1e-12)


def test_mean_variance_kelly_is_zero_without_edge() -> None:
    assert mean_variance_kelly_fraction(0.0, 0.04) == 0.0
    assert mean_variance_kelly_fraction(-0.01, 0.04) == 0.0


@pytest.mark.parametrize(
    ("win_rate", "payoff_ratio"), [(0.0, 1.5), (1.0, 1.5), (0.5, 0.0), (0.5, -1.0), (math.nan, 1)]
)
def test_win_rate_kelly_rejects_bad_input(win_rate: float, payoff_ratio: float) -> None:
    with pytest.raises(ValueError):
        win_rate_kelly_fraction(win_rate, payoff_ratio)


@pytest.mark.parametrize(
    ("mean", "variance"), [(0.01, 0.0), (0.01, -0.04), (math.nan, 0.04), (0.01, math.inf)]
)
def test_mean_variance_kelly_rejects_bad_input(mean: float, variance: float) -> None:
    with pytest.raises(ValueError):
        mean_variance_kelly_fraction(mean, variance)


# --- position fraction --------------------------------------------------------------------------------------


def test_position_fraction_is_quarter_kelly_by_default() -> None:
    assert position_fraction(0.16) == pytest.approx(0.04, abs=1e-12)


def test_position_fraction_is_capped() -> None:
    assert position_fraction(0.4) == 0.05  # quarter of 0.4 = 0.10 > default cap 0.05
    assert position_fraction(0.4, multiplier=0.5, cap=0.15) == pytest.approx(0.15)
    assert position_fraction(0.2, multiplier=0.5, cap=0.15) == pytest.approx(0.10)


def test_position_fraction_is_never_negative() -> None:
    assert position_fraction(-0.3) == 0.0
    assert position_fraction(0.2, multiplier=0.0) == 0.0


@pytest.mark.parametrize(
    ("full_kelly", "multiplier", "cap"), [(math.nan, 0.25, 0.05), (0.2, -0.25, 0.05), (0.2, 0.25, -1)]
)
def test_position_fraction_rejects_bad_input(full_kelly: float, multiplier: float, cap: float) -> None:
    with pytest.raises(ValueError):
        position_fraction(full_kelly, multiplier, cap)


# --- oracle: numerical maximisation of expected log wealth --------------------------------------------------


def test_binary_kelly_maximises_expected_log_wealth() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        price = float(rng.uniform(0.02, 0.95))
        fee = float(rng.uniform(0.0, min(0.04, 0.99 - price)))
        win_probability = float(rng.uniform(0.01, 0.99))
        cost = price + fee
        oracle = _log_optimal_fraction(win_probability, (1 - cost) / cost)
        assert binary_kelly_fraction(win_probability, price, fee) == pytest.approx(oracle, abs=1e-6)


def test_win_rate_kelly_maximises_expected_log_wealth() -> None:
    rng = np.random.default_rng(11)
    for _ in range(200):
        win_rate = float(rng.uniform(0.05, 0.95))
        payoff_ratio = float(rng.uniform(0.2, 5.0))
        oracle = _log_optimal_fraction(win_rate, payoff_ratio)
        assert win_rate_kelly_fraction(win_rate, payoff_ratio) == pytest.approx(oracle, abs=1e-6)


# --- properties ---------------------------------------------------------------------------------------------


@given(probabilities, prices, fees)
def test_binary_kelly_is_a_fraction_of_bankroll(win_probability: float, price: float, fee: float) -> None:
    assert 0.0 <= binary_kelly_fraction(win_probability, price, fee) < 1.0


@given(probabilities, probabilities, prices, fees)
def test_binary_kelly_grows_with_the_win_probability(q1: float, q2: float, price: float, fee: float) -> None:
    low, high = sorted((q1, q2))
    assert binary_kelly_fraction(low, price, fee) <= binary_kelly_fraction(high, price, fee)


@given(probabilities, prices, fees)
def test_binary_kelly_shrinks_as_the_fee_grows(win_probability: float, price: float, fee: float) -> None:
    assert binary_kelly_fraction(win_probability, price, fee) <= binary_kelly_fraction(win_probability, price)


@given(probabilities, st.floats(min_value=0.01, max_value=100.0))
def test_win_rate_kelly_is_never_negative(win_rate: float, payoff_ratio: float) -> None:
    assert 0.0 <= win_rate_kelly_fraction(win_rate, payoff_ratio) < 1.0


@given(
    st.floats(min_value=-10, max_value=10),
    st.floats(min_value=0, max_value=1),
    st.floats(min_value=0, max_value=1),
)
def test_position_fraction_stays_within_zero_and_the_cap(
    full_kelly: float, multiplier: float, cap: float
) -> None:
    assert 0.0 <= position_fraction(full_kelly, multiplier, cap) <= cap
