"""Prediction-market fees against Kalshi's published fee table and worked examples."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.fees import KalshiFeeType, kalshi_fee, polymarket_fee

# Kalshi's "General Trading Fees Table": taker fee for 100 contracts at each price (symmetric).
PUBLISHED_PER_100 = {
    "0.01": "0.07", "0.05": "0.34", "0.10": "0.63", "0.15": "0.90", "0.20": "1.12", "0.25": "1.32",
    "0.30": "1.47", "0.35": "1.60", "0.40": "1.68", "0.45": "1.74", "0.50": "1.75",
}  # fmt: skip


@pytest.mark.parametrize(("price", "fee"), sorted(PUBLISHED_PER_100.items()))
def test_kalshi_taker_fee_matches_the_published_table(price: str, fee: str) -> None:
    assert kalshi_fee(Decimal(100), Decimal(price)) == Decimal(fee)
    mirrored = Decimal(1) - Decimal(price)
    assert kalshi_fee(Decimal(100), mirrored) == Decimal(fee)


def test_the_float_trap_is_avoided() -> None:
    # float: 0.07*100*0.5*0.5 = 1.7500000000000002, which rounds up to 1.76
    assert 0.07 * 100 * 0.5 * 0.5 > 1.75
    assert kalshi_fee(Decimal(100), Decimal("0.5")) == Decimal("1.75")


@pytest.mark.parametrize(
    ("contracts", "price", "maker", "fee_type", "expected"),
    [
        ("10", "0.50", False, KalshiFeeType.QUADRATIC, "0.18"),  # raw 0.175
        ("100", "0.50", True, KalshiFeeType.QUADRATIC_WITH_MAKER_FEES, "0.44"),  # raw 0.4375
        ("1", "0.50", False, KalshiFeeType.QUADRATIC, "0.02"),  # raw 0.0175
        ("100", "0.50", True, KalshiFeeType.QUADRATIC, "0.00"),  # makers pay nothing here
        ("100", "0.50", True, KalshiFeeType.QUADRATIC_WITH_COMBO_MAKER_FEES, "0.88"),  # raw 0.875
    ],
)
def test_kalshi_worked_examples(
    contracts: str, price: str, maker: bool, fee_type: KalshiFeeType, expected: str
) -> None:
    fee = kalshi_fee(Decimal(contracts), Decimal(price), maker=maker, fee_type=fee_type)
    assert fee == Decimal(expected)


def test_one_contract_costs_one_cent_at_the_tails_and_two_in_the_middle() -> None:
    # The raw fee passes one cent between 17 and 18 cents: 0.07 x 0.17 x 0.83 = 0.009877 -> $0.01,
    # 0.07 x 0.18 x 0.82 = 0.010332 -> $0.02. (A summary in shared/reference puts the edge at 15/85;
    # the formula and the per-100 table it was checked against both say 17/83.)
    for cents in range(1, 100):
        price = Decimal(cents) / 100
        expected = Decimal("0.01") if cents <= 17 or cents >= 83 else Decimal("0.02")
        assert kalshi_fee(Decimal(1), price) == expected, price


def test_kalshi_fee_multiplier_scales_the_raw_fee() -> None:
    # 0.5 x 0.07 x 100 x 0.25 = 0.875 -> 0.88
    assert kalshi_fee(Decimal(100), Decimal("0.5"), multiplier=Decimal("0.5")) == Decimal("0.88")


@given(
    cents=st.integers(min_value=1, max_value=99),
    contracts=st.integers(min_value=0, max_value=100_000),
)
def test_kalshi_fee_equals_the_integer_formula(cents: int, contracts: int) -> None:
    numerator = 7 * contracts * cents * (100 - cents)
    fee_cents = -(-numerator // 10_000)  # ceil, in integers
    assert kalshi_fee(Decimal(contracts), Decimal(cents) / 100) == Decimal(fee_cents) / 100


@pytest.mark.parametrize("price", ["0", "1", "-0.1", "1.2", "NaN"])
def test_prices_outside_the_open_unit_interval_are_refused(price: str) -> None:
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        kalshi_fee(Decimal(1), Decimal(price))


def test_flat_fee_series_are_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="flat-fee"):
        kalshi_fee(Decimal(1), Decimal("0.5"), fee_type=KalshiFeeType.FLAT)


def test_polymarket_taker_fee() -> None:
    # 100 shares at 0.40, rate 0.04, exponent 1: 100 x 0.04 x 0.24 = 0.96
    assert polymarket_fee(Decimal(100), Decimal("0.40"), rate=Decimal("0.04")) == Decimal("0.96")
    # exponent 2: 10 x 0.07 x 0.0576 = 0.04032
    assert polymarket_fee(Decimal(10), Decimal("0.40"), rate=Decimal("0.07"), exponent=Decimal(2)) == Decimal(
        "0.040320"
    )
    assert polymarket_fee(Decimal(100), Decimal("0.40"), rate=Decimal("0.04"), maker=True) == 0
