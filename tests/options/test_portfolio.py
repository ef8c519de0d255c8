"""Portfolio Greeks and delta-adjusted exposure: quantity x multiplier x per-share Greeks, summed."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from options.binomial import crr_greeks
from options.bsm import Greeks, bsm_greeks
from options.contracts import Exercise, OptionContract, OptionKind, year_fraction
from options.portfolio import OptionPosition, StockPosition, delta_adjusted_exposure, portfolio_greeks

VALUATION = date(2026, 3, 2)
EXPIRY = date(2026, 8, 31)  # 182 days: t = 182/365 = 0.498630137


def contract(kind: OptionKind, strike: float, exercise: Exercise = Exercise.EUROPEAN) -> OptionContract:
    return OptionContract("XYZ", kind, strike, EXPIRY, exercise)


def test_year_fraction_is_actual_over_365() -> None:
    assert year_fraction(VALUATION, EXPIRY) == 182 / 365
    assert year_fraction(date(2024, 1, 1), date(2025, 1, 1)) == 366 / 365  # leap year counts 366 days


def test_portfolio_greeks_are_quantity_times_multiplier_times_per_share_greeks() -> None:
    long_calls = OptionPosition(contract(OptionKind.CALL, 100.0), quantity=3, premium=5.0)
    short_puts = OptionPosition(contract(OptionKind.PUT, 90.0), quantity=-2, premium=2.0)
    t = 182 / 365
    call = bsm_greeks(True, 100.0, 100.0, t, 0.04, 0.25, 0.01)
    put = bsm_greeks(False, 100.0, 90.0, t, 0.04, 0.25, 0.01)
    book = portfolio_greeks([long_calls, short_puts], 100.0, 0.25, 0.04, 0.01, VALUATION)
    for name in ("delta", "gamma", "vega", "theta", "theta_per_day", "rho"):
        expected = 300 * float(getattr(call, name)) - 200 * float(getattr(put, name))
        assert float(getattr(book, name)) == pytest.approx(expected, rel=1e-12)


def test_stock_leg_adds_its_shares_to_delta_only() -> None:
    option = OptionPosition(contract(OptionKind.CALL, 100.0), quantity=-1, premium=5.0)
    alone = portfolio_greeks([option], 100.0, 0.25, 0.04, 0.0, VALUATION)
    covered = portfolio_greeks([option, StockPosition("XYZ", 100, 98.0)], 100.0, 0.25, 0.04, 0.0, VALUATION)
    assert float(covered.delta) == pytest.approx(float(alone.delta) + 100.0, rel=1e-12)
    assert float(covered.gamma) == float(alone.gamma)
    assert float(covered.vega) == float(alone.vega)


def test_per_contract_vols_from_a_smile_mapping() -> None:
    low, high = contract(OptionKind.PUT, 90.0), contract(OptionKind.CALL, 110.0)
    book = portfolio_greeks(
        [OptionPosition(low, 1, 1.0), OptionPosition(high, 1, 1.0)],
        100.0,
        {low: 0.30, high: 0.20},
        0.04,
        0.0,
        VALUATION,
    )
    t = 182 / 365
    expected = 100 * (
        float(bsm_greeks(False, 100.0, 90.0, t, 0.04, 0.30).vega)
        + float(bsm_greeks(True, 100.0, 110.0, t, 0.04, 0.20).vega)
    )
    assert float(book.vega) == pytest.approx(expected, rel=1e-12)


def test_american_contracts_take_tree_greeks() -> None:
    american_put = contract(OptionKind.PUT, 100.0, Exercise.AMERICAN)
    book = portfolio_greeks(
        [OptionPosition(american_put, 2, 6.0)], 100.0, 0.25, 0.04, 0.0, VALUATION, american_steps=300
    )
    tree = crr_greeks(False, 100.0, 100.0, 182 / 365, 0.04, 0.25, american=True, steps=300)
    assert float(book.delta) == pytest.approx(200 * float(tree.delta), rel=1e-12)
    assert float(book.theta) == pytest.approx(200 * float(tree.theta), rel=1e-12)


def test_delta_adjusted_exposure_of_long_calls_is_delta_times_shares_times_spot() -> None:
    # 10 calls x 100 shares, at-the-money, r = q = 0, vol 20 %, t = 182/365:
    # d1 = 0.5 x 0.2 x sqrt(0.4986301) = 0.0706137, delta = N(d1) = 0.5281474,
    # exposure = 0.5281474 x 10 x 100 x 100 = 52,814.74 (currency, signed)
    position = OptionPosition(contract(OptionKind.CALL, 100.0), quantity=10, premium=5.6)
    exposure = delta_adjusted_exposure([position], 100.0, 0.20, 0.0, 0.0, VALUATION)
    assert exposure == pytest.approx(52_814.74, abs=0.01)


def test_delta_adjusted_exposure_of_long_puts_is_negative() -> None:
    position = OptionPosition(contract(OptionKind.PUT, 100.0), quantity=10, premium=5.6)
    assert delta_adjusted_exposure([position], 100.0, 0.20, 0.0, 0.0, VALUATION) < 0


def test_option_on_its_expiry_day_counts_its_intrinsic_delta() -> None:
    expiring = OptionContract("XYZ", OptionKind.CALL, 95.0, VALUATION)
    exposure = delta_adjusted_exposure([OptionPosition(expiring, 2, 5.0)], 100.0, 0.2, 0.03, 0.0, VALUATION)
    assert exposure == 2 * 100 * 100.0  # delta 1 in the money at t = 0


def test_positions_on_two_underlyings_are_refused() -> None:
    other = OptionContract("ABC", OptionKind.CALL, 100.0, EXPIRY)
    positions = [OptionPosition(contract(OptionKind.CALL, 100.0), 1, 1.0), OptionPosition(other, 1, 1.0)]
    with pytest.raises(ValueError, match="one underlying"):
        portfolio_greeks(positions, 100.0, 0.2, 0.03, 0.0, VALUATION)


def test_missing_vol_for_a_contract_is_refused() -> None:
    position = OptionPosition(contract(OptionKind.CALL, 100.0), 1, 1.0)
    with pytest.raises(ValueError, match="no volatility"):
        portfolio_greeks([position], 100.0, {}, 0.03, 0.0, VALUATION)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"strike": -5.0}, "strike"),
        ({"multiplier": 0}, "multiplier"),
        ({"underlying": " "}, "underlying"),
    ],
)
def test_invalid_contracts_are_refused(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {
        "underlying": "XYZ",
        "kind": OptionKind.CALL,
        "strike": 100.0,
        "expiry": EXPIRY,
    }
    fields.update(kwargs)
    with pytest.raises(ValueError, match=message):
        OptionContract(**fields)  # type: ignore[arg-type]


def test_zero_quantity_and_negative_premium_are_refused() -> None:
    with pytest.raises(ValueError, match="quantity"):
        OptionPosition(contract(OptionKind.CALL, 100.0), 0, 1.0)
    with pytest.raises(ValueError, match="premium"):
        OptionPosition(contract(OptionKind.CALL, 100.0), 1, -1.0)


def test_valuing_after_expiry_is_refused() -> None:
    position = OptionPosition(contract(OptionKind.CALL, 100.0), 1, 1.0)
    with pytest.raises(ValueError, match="expired"):
        portfolio_greeks([position], 100.0, 0.2, 0.03, 0.0, date(2026, 9, 1))


def test_greeks_dataclass_refuses_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="one shape"):
        Greeks(*(np.zeros(2),) * 5, np.zeros(3))
