"""Implied volatility: round trips over the QuantLib test grid, QuantLib's own solver, and bounds."""

from __future__ import annotations

import numpy as np
import pytest
import QuantLib as ql

from options.bsm import bsm_greeks, bsm_price
from options.implied_vol import ImpliedVolError, ImpliedVols, implied_vol, implied_vols
from tests.options.conftest import DAY_COUNT, VALUATION, GridArrays, GridPoint, as_arrays, grid_points

ROUND_TRIP = 1e-8


@pytest.fixture(scope="module")
def grid() -> GridArrays:
    return as_arrays(list(grid_points()))


def prices_of(grid: GridArrays) -> np.ndarray:
    return bsm_price(grid.is_call, grid.spot, grid.strike, grid.t, grid.rate, grid.vol, grid.dividend)


def well_posed(grid: GridArrays) -> np.ndarray:
    """Grid points whose price pins the vol down to 1e-8 in double precision.

    A 1e-8 change of vol must move the price by more than 1e-12 of itself (thousands of
    ulps); otherwise (deep in the money, or a price that underflows to 0) many vols give
    the same double and no solver can recover the one it came from.
    """
    vega = bsm_greeks(grid.is_call, grid.spot, grid.strike, grid.t, grid.rate, grid.vol, grid.dividend).vega
    price = prices_of(grid)
    return (price > 0) & (vega * ROUND_TRIP > 1e-12 * price)


def test_vectorized_round_trip_recovers_every_well_posed_vol_on_the_grid(grid: GridArrays) -> None:
    keep = well_posed(grid)
    assert keep.sum() >= 2200  # of 2,520: the filter only drops the degenerate corners
    solved = implied_vols(
        prices_of(grid), grid.is_call, grid.spot, grid.strike, grid.t, grid.rate, grid.dividend
    )
    np.testing.assert_allclose(solved.vols[keep], grid.vol[keep], rtol=0, atol=ROUND_TRIP)
    # and where a vol was found at all, even off the well-posed set, it reprices the input
    found = ~np.isnan(solved.vols)
    repriced = bsm_price(
        grid.is_call[found],
        grid.spot[found],
        grid.strike[found],
        grid.t[found],
        grid.rate[found],
        solved.vols[found],
        grid.dividend[found],
    )
    np.testing.assert_allclose(repriced, prices_of(grid)[found], rtol=1e-9, atol=1e-12)


def test_scalar_round_trip_recovers_well_posed_vols(grid: GridArrays) -> None:
    indices = np.flatnonzero(well_posed(grid))[::9]  # a spread-out tenth, brentq per point
    prices = prices_of(grid)
    for i in indices:
        vol = implied_vol(
            float(prices[i]),
            bool(grid.is_call[i]),
            float(grid.spot[i]),
            float(grid.strike[i]),
            float(grid.t[i]),
            float(grid.rate[i]),
            float(grid.dividend[i]),
        )
        assert vol == pytest.approx(float(grid.vol[i]), abs=ROUND_TRIP)


def test_agrees_with_quantlibs_implied_volatility() -> None:
    point = GridPoint(False, 95.0, 100.0, 182, 0.04, 0.01, 0.3)
    price = float(bsm_price(False, 95.0, 100.0, 182 / 365, 0.04, 0.3, 0.01))
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(point.spot)),
        ql.YieldTermStructureHandle(ql.FlatForward(VALUATION, point.dividend, DAY_COUNT)),
        ql.YieldTermStructureHandle(ql.FlatForward(VALUATION, point.rate, DAY_COUNT)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(VALUATION, ql.NullCalendar(), 0.1, DAY_COUNT)),
    )
    option = ql.VanillaOption(
        ql.PlainVanillaPayoff(ql.Option.Put, 100.0), ql.EuropeanExercise(VALUATION + 182)
    )
    theirs = option.impliedVolatility(price, process, 1e-12, 1000, 1e-4, 4.0)
    ours = implied_vol(price, False, 95.0, 100.0, 182 / 365, 0.04, 0.01)
    assert ours == pytest.approx(theirs, abs=1e-9)


def test_hull_example_15_6_prices_imply_twenty_percent() -> None:
    # Hull 9th ed. Example 15.6 quotes c = 4.76 for sigma = 20 %; the unrounded price 4.759422
    # implies 20 % back, and the rounded quote 4.76 implies a hair more (vega ~ 8.8: 0.0006/8.8 = 7e-5)
    exact = float(bsm_price(True, 42.0, 40.0, 0.5, 0.10, 0.20))
    assert implied_vol(exact, True, 42.0, 40.0, 0.5, 0.10) == pytest.approx(0.20, abs=1e-12)
    assert implied_vol(4.76, True, 42.0, 40.0, 0.5, 0.10) == pytest.approx(0.20007, abs=1e-5)


def test_price_below_discounted_intrinsic_raises_naming_the_lower_bound() -> None:
    # S=42, K=40, r=10 %, T=0.5: discounted intrinsic 42 - 40 e^-0.05 = 3.95082302; 3.90 is below it
    with pytest.raises(ImpliedVolError, match=r"below the lower no-arbitrage bound 3\.95082302"):
        implied_vol(3.90, True, 42.0, 40.0, 0.5, 0.10)


def test_price_above_the_upper_bound_raises_naming_it() -> None:
    # a call can never be worth more than the (dividend-discounted) stock: 42 here
    with pytest.raises(ImpliedVolError, match=r"above the upper no-arbitrage bound 42 \(S e\^-qt\)"):
        implied_vol(42.5, True, 42.0, 40.0, 0.5, 0.10)
    # a put never more than the discounted strike: 40 e^-0.05 = 38.04917698
    with pytest.raises(ImpliedVolError, match=r"upper no-arbitrage bound 38\.04917698 \(K e\^-rt\)"):
        implied_vol(38.1, False, 42.0, 40.0, 0.5, 0.10)


def test_expired_option_raises() -> None:
    with pytest.raises(ImpliedVolError, match="at or past expiry"):
        implied_vol(2.0, True, 42.0, 40.0, 0.0, 0.10)


def test_implied_vol_error_is_a_value_error() -> None:
    assert issubclass(ImpliedVolError, ValueError)


def test_chain_reports_nan_and_a_reason_per_bad_quote_without_raising() -> None:
    fair = float(bsm_price(True, 42.0, 40.0, 0.5, 0.10, 0.25))
    solved = implied_vols(
        np.array([fair, 3.0, 50.0, fair, np.nan]),
        True,
        42.0,
        40.0,
        np.array([0.5, 0.5, 0.5, 0.0, 0.5]),
        0.10,
    )
    assert solved.vols[0] == pytest.approx(0.25, abs=1e-12)
    assert np.isnan(solved.vols[1:]).all()
    assert solved.errors[0] is None
    assert "lower no-arbitrage bound" in str(solved.errors[1])
    assert "upper no-arbitrage bound" in str(solved.errors[2])
    assert "expiry" in str(solved.errors[3])
    assert "not a number" in str(solved.errors[4])


def test_implied_vols_refuses_a_nan_without_a_reason() -> None:
    with pytest.raises(ValueError, match="reason"):
        ImpliedVols(vols=np.array([np.nan]), errors=(None,))
