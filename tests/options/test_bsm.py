"""BSM prices and Greeks against QuantLib's AnalyticEuropeanEngine and Hull's textbook numbers."""

from __future__ import annotations

import numpy as np
import pytest

from options.bsm import bsm_greeks, bsm_price
from tests.options.conftest import GridArrays, as_arrays, grid_points, quantlib_option

# |ours - QuantLib| <= 1e-12 + 1e-10 |QuantLib| (numpy's assert_allclose): every value above
# ~1e-4 agrees to 1e-10 relative; the far-tail values (1-week options 30 % out of the money at
# low vol, worth 1e-5 down to 1e-300) agree to under 1e-13 absolute but not 1e-10 relative,
# because QuantLib's normal CDF is accurate in absolute, not relative, terms out there.
RELATIVE, ABSOLUTE = 1e-10, 1e-12
QUANTITIES = ("price", "delta", "gamma", "vega", "theta", "theta_per_day", "rho")


@pytest.fixture(scope="module")
def grid() -> GridArrays:
    return as_arrays(list(grid_points()))


@pytest.fixture(scope="module")
def quantlib_values() -> dict[str, np.ndarray]:
    values: dict[str, list[float]] = {name: [] for name in QUANTITIES}
    for point in grid_points():
        option = quantlib_option(point)
        values["price"].append(option.NPV())
        values["delta"].append(option.delta())
        values["gamma"].append(option.gamma())
        values["vega"].append(option.vega())  # per 1.00 of vol
        values["theta"].append(option.theta())  # per year
        values["theta_per_day"].append(option.thetaPerDay())  # theta / 365
        values["rho"].append(option.rho())  # per 1.00 of rate
    return {name: np.array(column) for name, column in values.items()}


def ours(grid: GridArrays) -> dict[str, np.ndarray]:
    args = (grid.is_call, grid.spot, grid.strike, grid.t, grid.rate, grid.vol, grid.dividend)
    greeks = bsm_greeks(*args)
    return {"price": bsm_price(*args), **{name: getattr(greeks, name) for name in QUANTITIES[1:]}}


@pytest.mark.parametrize("quantity", QUANTITIES)
def test_bsm_matches_quantlib_analytic_engine_over_the_grid(
    quantity: str, grid: GridArrays, quantlib_values: dict[str, np.ndarray]
) -> None:
    np.testing.assert_allclose(ours(grid)[quantity], quantlib_values[quantity], rtol=RELATIVE, atol=ABSOLUTE)


def test_hull_example_15_6_call_and_put_prices() -> None:
    # Hull, Options, Futures and Other Derivatives, 9th ed., Example 15.6: S=42, K=40, r=10 %,
    # sigma=20 %, T=0.5: d1 = [ln(42/40) + (0.1 + 0.02) 0.5] / (0.2 sqrt 0.5) = 0.7693, d2 = 0.6278,
    # c = 42 N(0.7693) - 40 e^-0.05 N(0.6278) = 4.76, p = 40 e^-0.05 N(-0.6278) - 42 N(-0.7693) = 0.81
    call, put = bsm_price(np.array([True, False]), 42.0, 40.0, 0.5, 0.10, 0.20)
    assert round(float(call), 2) == 4.76
    assert round(float(put), 2) == 0.81


def test_put_call_parity_holds_over_the_grid(grid: GridArrays) -> None:
    # c - p = S e^-qt - K e^-rt
    args = (grid.spot, grid.strike, grid.t, grid.rate, grid.vol, grid.dividend)
    gap = bsm_price(True, *args) - bsm_price(False, *args)
    forward_gap = grid.spot * np.exp(-grid.dividend * grid.t) - grid.strike * np.exp(-grid.rate * grid.t)
    np.testing.assert_allclose(gap, forward_gap, rtol=1e-12, atol=1e-12)


def test_prices_broadcast_a_strike_row_against_an_expiry_column() -> None:
    strikes = np.array([90.0, 100.0, 110.0])
    expiries = np.array([[0.25], [1.0]])
    grid = bsm_price(True, 100.0, strikes, expiries, 0.03, 0.2)
    assert grid.shape == (2, 3)
    assert float(grid[1, 2]) == pytest.approx(float(bsm_price(True, 100.0, 110.0, 1.0, 0.03, 0.2)), rel=1e-15)


def test_at_expiry_price_is_intrinsic_and_greeks_are_their_limits() -> None:
    # t = 0: call on S = 110, 100, 90 with K = 100 is worth 10, 0, 0; delta 1, 1/2, 0; no NaN
    spots = np.array([110.0, 100.0, 90.0])
    np.testing.assert_array_equal(bsm_price(True, spots, 100.0, 0.0, 0.05, 0.3), [10.0, 0.0, 0.0])
    np.testing.assert_array_equal(bsm_price(False, spots, 100.0, 0.0, 0.05, 0.3), [0.0, 0.0, 10.0])
    greeks = bsm_greeks(True, spots, 100.0, 0.0, 0.05, 0.3)
    np.testing.assert_array_equal(greeks.delta, [1.0, 0.5, 0.0])
    for name in ("gamma", "vega", "theta", "theta_per_day", "rho"):
        np.testing.assert_array_equal(getattr(greeks, name), [0.0, 0.0, 0.0])


def test_zero_vol_prices_the_discounted_forward_intrinsic_value() -> None:
    # sigma = 0, S=42, K=40, r=10 %, T=0.5: c = 42 - 40 e^-0.05 = 42 - 38.04917698 = 3.95082302
    assert float(bsm_price(True, 42.0, 40.0, 0.5, 0.10, 0.0)) == pytest.approx(3.95082302, abs=1e-8)
    assert float(bsm_price(False, 42.0, 40.0, 0.5, 0.10, 0.0)) == 0.0


@pytest.mark.parametrize(
    ("argument", "value"),
    [("spot", -1.0), ("strike", 0.0), ("t", -0.1), ("vol", -0.2), ("rate", np.nan)],
)
def test_invalid_inputs_are_refused_with_value_error(argument: str, value: float) -> None:
    inputs = {"spot": 100.0, "strike": 100.0, "t": 1.0, "rate": 0.03, "vol": 0.2}
    inputs[argument] = value
    with pytest.raises(ValueError, match=argument):
        bsm_price(True, **inputs)
