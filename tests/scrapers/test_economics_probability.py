"""band_probability: P(YES) for a number published rounded, with scipy's normal as the oracle."""

from __future__ import annotations

from decimal import Decimal

import pytest
from scipy.stats import norm

from domain.contracts import Strike, StrikeType
from scrapers.probability import band_probability, published_values_paying_yes


def greater(floor: str) -> Strike:
    return Strike(StrikeType.GREATER, floor_strike=Decimal(floor))


def less(cap: str) -> Strike:
    return Strike(StrikeType.LESS, cap_strike=Decimal(cap))


def between(floor: str, cap: str) -> Strike:
    return Strike(StrikeType.BETWEEN, floor_strike=Decimal(floor), cap_strike=Decimal(cap))


def test_cpi_above_threshold_is_the_tail_beyond_the_half_step_above_the_next_grid_value() -> None:
    # published > 0.3 means published >= 0.4, i.e. true >= 0.35; z = (0.35 - 0.32) / 0.10 = 0.3
    probability = band_probability(0.32, greater("0.3"), 0.10, decimals=1)

    assert probability == pytest.approx(0.3821, abs=1e-4)
    assert probability == pytest.approx(1 - norm.cdf(0.35, loc=0.32, scale=0.10), abs=1e-12)


def test_greater_or_equal_includes_the_strike_itself() -> None:
    # published >= 0.3 means true >= 0.25
    probability = band_probability(
        0.32, Strike(StrikeType.GREATER_OR_EQUAL, floor_strike=Decimal("0.3")), 0.10, decimals=1
    )

    assert probability == pytest.approx(1 - norm.cdf(0.25, loc=0.32, scale=0.10), abs=1e-12)


def test_less_than_threshold_is_the_tail_below_the_half_step_under_the_previous_grid_value() -> None:
    # published < 0.3 means published <= 0.2, i.e. true < 0.25
    probability = band_probability(0.32, less("0.3"), 0.10, decimals=1)

    assert probability == pytest.approx(norm.cdf(0.25, loc=0.32, scale=0.10), abs=1e-12)


def test_less_or_equal_includes_the_cap_itself() -> None:
    probability = band_probability(
        0.32, Strike(StrikeType.LESS_OR_EQUAL, cap_strike=Decimal("0.3")), 0.10, decimals=1
    )

    assert probability == pytest.approx(norm.cdf(0.35, loc=0.32, scale=0.10), abs=1e-12)


def test_between_is_inclusive_of_both_published_ends() -> None:
    # published 2.8 or 2.9 means true in [2.75, 2.95)
    probability = band_probability(2.812, between("2.8", "2.9"), 0.10, decimals=1)

    expected = norm.cdf(2.95, loc=2.812, scale=0.10) - norm.cdf(2.75, loc=2.812, scale=0.10)
    assert probability == pytest.approx(expected, abs=1e-12)
    assert probability == pytest.approx(0.6486, abs=1e-4)


def test_a_ladder_of_brackets_and_tails_sums_to_one() -> None:
    ladder = [
        less("0.1"),
        between("0.1", "0.1"),
        between("0.2", "0.2"),
        between("0.3", "0.3"),
        greater("0.3"),
    ]

    total = sum(band_probability(0.23, strike, 0.10, decimals=1) for strike in ladder)

    assert total == pytest.approx(1.0, abs=1e-12)


def test_a_threshold_between_grid_values_uses_the_next_published_value() -> None:
    # floor 0.35 is off the grid: published > 0.35 means published >= 0.4, the same as > 0.3
    assert band_probability(0.32, greater("0.35"), 0.10, decimals=1) == band_probability(
        0.32, greater("0.3"), 0.10, decimals=1
    )


def test_a_bracket_with_no_published_value_inside_has_probability_zero() -> None:
    assert band_probability(0.32, between("0.31", "0.34"), 0.10, decimals=1) == 0.0


def test_whole_number_grid_for_zero_decimals() -> None:
    # published > 2 (integers) means published >= 3, true >= 2.5
    probability = band_probability(Decimal("2.1"), greater("2"), 0.8, decimals=0)

    assert probability == pytest.approx(1 - norm.cdf(2.5, loc=2.1, scale=0.8), abs=1e-12)


def test_gdp_threshold_with_an_eight_tenths_band() -> None:
    # GDPNow 2.32, "more than 2.0%": true >= 2.05, z = (2.05 - 2.32) / 0.8 = -0.3375
    assert band_probability(Decimal("2.32"), greater("2.0"), 0.8, decimals=1) == pytest.approx(
        0.6321, abs=1e-4
    )


def test_published_values_paying_yes_on_the_one_decimal_grid() -> None:
    assert published_values_paying_yes(greater("0.3"), decimals=1) == (Decimal("0.4"), None)
    assert published_values_paying_yes(less("-0.1"), decimals=1) == (None, Decimal("-0.2"))
    assert published_values_paying_yes(between("0.15", "0.3"), decimals=1) == (Decimal("0.2"), Decimal("0.3"))


@pytest.mark.parametrize(("sigma", "decimals"), [(0.0, 1), (-0.1, 1), (float("nan"), 1), (0.1, -1)])
def test_rejects_a_non_positive_sigma_or_a_negative_grid(sigma: float, decimals: int) -> None:
    with pytest.raises(ValueError):
        band_probability(0.32, greater("0.3"), sigma, decimals=decimals)
