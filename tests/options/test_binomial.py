"""CRR trees against QuantLib's trees, BSM and Hull's worked American put.

QuantLib's "crr" tree has our nodes (u = e^{sigma sqrt dt}, d = 1/u) but a different
branch probability: p = 1/2 + (r - q - sigma^2/2) dt / (2 sigma sqrt dt), the first-order
expansion of the exact p = (e^{(r-q) dt} - d) / (u - d) used here (and in Hull). The two
trees therefore differ by O(dt) at any one step count, so rather than agreement to 1e-9 the
tests check that they converge to each other (and both to BSM) as steps grow.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from options.binomial import crr_greeks, crr_price
from options.bsm import bsm_greeks, bsm_price
from tests.options.conftest import GridArrays, GridPoint, as_arrays, quantlib_option

TREE_POINTS = [
    GridPoint(is_call, 100.0 * m, 100.0, days, r, q, v)
    for is_call, m, days, r, q, v in itertools.product(
        (True, False), (0.8, 1.0, 1.2), (30, 365, 730), (0.0, 0.06), (0.0, 0.04), (0.2, 0.6)
    )
]


@pytest.fixture(scope="module")
def tree_grid() -> GridArrays:
    return as_arrays(TREE_POINTS)


def ours(grid: GridArrays, steps: int, american: bool) -> np.ndarray:
    return crr_price(
        grid.is_call,
        grid.spot,
        grid.strike,
        grid.t,
        grid.rate,
        grid.vol,
        grid.dividend,
        american=american,
        steps=steps,
    )


def quantlib_tree(steps: int, american: bool) -> np.ndarray:
    return np.array([quantlib_option(p, "crr", steps, american).NPV() for p in TREE_POINTS])


def bsm(grid: GridArrays) -> np.ndarray:
    return bsm_price(grid.is_call, grid.spot, grid.strike, grid.t, grid.rate, grid.vol, grid.dividend)


def test_european_tree_converges_to_quantlibs_crr_tree_as_steps_grow(tree_grid: GridArrays) -> None:
    gaps = [np.abs(ours(tree_grid, n, False) - quantlib_tree(n, False)) for n in (10, 100, 1000)]
    means = [float(gap.mean()) for gap in gaps]
    assert means[0] > 5 * means[1] > 25 * means[2]  # O(1/steps): about 10x per decade
    assert float(gaps[2].max()) < 5e-3  # half a cent on a strike of 100


def test_american_tree_converges_to_quantlibs_crr_tree_as_steps_grow(tree_grid: GridArrays) -> None:
    # American CRR values wobble between odd and even step counts; averaging n and n + 1 damps it
    def smoothed_gap(n: int) -> float:
        mine = 0.5 * (ours(tree_grid, n, True) + ours(tree_grid, n + 1, True))
        theirs = 0.5 * (quantlib_tree(n, True) + quantlib_tree(n + 1, True))
        return float(np.abs(mine - theirs).mean())

    coarse, fine = smoothed_gap(20), smoothed_gap(400)
    assert fine < coarse / 5
    assert fine < 1e-3


def test_tree_error_against_bsm_shrinks_from_10_to_100_to_1000_steps(tree_grid: GridArrays) -> None:
    exact = bsm(tree_grid)
    errors = [float(np.abs(ours(tree_grid, n, False) - exact).mean()) for n in (10, 100, 1000)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 2e-3


def test_american_put_is_worth_at_least_the_european_put() -> None:
    puts = as_arrays([p for p in TREE_POINTS if not p.is_call])
    assert (ours(puts, 200, True) >= ours(puts, 200, False) - 1e-12).all()
    # and strictly more somewhere with a positive rate (early exercise has value)
    assert (ours(puts, 200, True) > ours(puts, 200, False) + 1e-3).any()


def test_american_call_equals_european_call_without_dividends() -> None:
    calls = as_arrays([p for p in TREE_POINTS if p.is_call and p.dividend == 0.0])
    np.testing.assert_allclose(ours(calls, 300, True), ours(calls, 300, False), rtol=1e-13, atol=1e-13)


def test_american_call_with_dividends_is_worth_more_than_european() -> None:
    # deep in the money, 4 % dividend yield, no rate: holding the call forgoes the dividends
    american = crr_price(True, 150.0, 100.0, 2.0, 0.0, 0.2, 0.04, american=True, steps=500)
    european = crr_price(True, 150.0, 100.0, 2.0, 0.0, 0.2, 0.04, american=False, steps=500)
    assert float(american) > float(european) + 1.0


def test_hull_example_21_1_american_put_on_a_five_step_tree() -> None:
    # Hull, Options, Futures and Other Derivatives, 9th ed., Example 21.1 (Figure 21.3):
    # S = 50, K = 50, r = 10 %, sigma = 40 %, T = 5 months, 5 steps of dt = 1/12:
    # u = e^{0.4 sqrt(1/12)} = 1.1224, d = 0.8909, a = e^{0.1/12} = 1.0084, p = 0.5073;
    # rolling back with early exercise gives $4.49 (and 4.283 with 500 steps, as Hull reports)
    assert round(float(crr_price(False, 50.0, 50.0, 5 / 12, 0.10, 0.40, american=True, steps=5)), 2) == 4.49
    many = crr_price(False, 50.0, 50.0, 5 / 12, 0.10, 0.40, american=True, steps=500)
    assert round(float(many), 3) == 4.283


def test_hull_example_21_1_tree_greeks() -> None:
    # Hull 9th ed., section 21.2 on the tree of Example 21.1:
    # delta = (2.16 - 6.96) / (56.12 - 44.55) = -0.41
    # gamma = [(0.64 - 3.77)/(62.99 - 50) - (3.77 - 10.36)/(50 - 39.69)] / 11.65 = 0.03
    # theta = (3.77 - 4.49) / (2 x 0.0833) = -4.3 per year
    greeks = crr_greeks(False, 50.0, 50.0, 5 / 12, 0.10, 0.40, american=True, steps=5)
    assert round(float(greeks.delta), 2) == -0.41
    assert round(float(greeks.gamma), 2) == 0.03
    assert round(float(greeks.theta), 1) == -4.3


def test_tree_greeks_of_european_options_approach_bsm_greeks() -> None:
    is_call = np.array([True, False, True, False])
    spot = np.array([42.0, 42.0, 90.0, 110.0])
    strike = np.array([40.0, 40.0, 100.0, 100.0])
    args = (is_call, spot, strike, 0.5, 0.05, 0.25, 0.02)
    tree = crr_greeks(*args, american=False, steps=2000)
    exact = bsm_greeks(*args)
    np.testing.assert_allclose(tree.delta, exact.delta, atol=2e-4)
    np.testing.assert_allclose(tree.gamma, exact.gamma, rtol=1e-2)
    np.testing.assert_allclose(tree.theta, exact.theta, rtol=1e-2)
    np.testing.assert_allclose(tree.rho, exact.rho, rtol=1e-2)
    # the tree's vega converges slowly (node positions move with vol): ~1/sqrt(steps)
    np.testing.assert_allclose(tree.vega, exact.vega, rtol=2e-2)


def test_too_few_steps_for_the_carry_is_refused() -> None:
    # 1 % vol, 8 % rate, 2 years, 2 steps: e^{0.08} = 1.083 > u = e^{0.01} = 1.010, so p > 1
    with pytest.raises(ValueError, match=r"outside \(0, 1\).*too few"):
        crr_price(False, 100.0, 100.0, 2.0, 0.08, 0.01, american=True, steps=2)


def test_tree_refuses_an_expired_option() -> None:
    with pytest.raises(ValueError, match="t > 0"):
        crr_price(True, 100.0, 100.0, 0.0, 0.03, 0.2, american=True, steps=10)
