"""P(YES) from ensemble members (Laplace-corrected share) and from a point forecast (Normal, ±0.5)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from scipy.stats import norm

from domain.contracts import Strike, StrikeType
from scrapers.weather.probability import (
    SmallSampleCorrection,
    ensemble_probability,
    members_paying_yes,
    normal_probability,
    whole_degrees,
)

GREATER_91 = Strike(StrikeType.GREATER, floor_strike=Decimal(91))  # "greater than 91°": high >= 92
LESS_5 = Strike(StrikeType.LESS, cap_strike=Decimal(5))  # "<5°", "4° or below"
BETWEEN_38_39 = Strike(StrikeType.BETWEEN, floor_strike=Decimal(38), cap_strike=Decimal(39))  # B38.5


def test_values_round_half_away_from_zero_like_the_climate_report() -> None:
    assert [whole_degrees(v) for v in (91.5, 91.49, 92.5, -2.5, 38.0)] == [92, 91, 93, -3, 38]


def test_member_rounded_to_the_strike_boundary_does_not_pay_a_strict_greater() -> None:
    # 91.4 rounds to 91: not greater than 91; 91.5 rounds to 92: pays
    assert members_paying_yes([91.4, 91.5, 95.0], GREATER_91) == (2, 3)


def test_laplace_share_of_31_members() -> None:
    values = [92.0] * 10 + [85.0] * 21  # 10 of 31 above 91

    assert ensemble_probability(values, GREATER_91) == pytest.approx(11 / 33)
    assert ensemble_probability(values, GREATER_91, correction=SmallSampleCorrection.NONE) == pytest.approx(
        10 / 31
    )


def test_unanimous_members_never_say_certain() -> None:
    assert ensemble_probability([95.0] * 31, GREATER_91) == pytest.approx(32 / 33)
    assert ensemble_probability([80.0] * 31, GREATER_91) == pytest.approx(1 / 33)


def test_bracket_counts_both_ends() -> None:
    values = [37.4, 37.5, 38.0, 39.4, 39.5]  # rounded: 37, 38, 38, 39, 40

    assert members_paying_yes(values, BETWEEN_38_39) == (3, 5)


def test_no_members_is_an_error_not_a_number() -> None:
    with pytest.raises(ValueError, match="no ensemble member"):
        ensemble_probability([], GREATER_91)


def test_normal_greater_uses_the_next_whole_degree_minus_a_half() -> None:
    # greater than 91 -> high >= 92 -> X >= 91.5; forecast 90, sigma 3: z = 0.5, 1 - Phi(0.5) = 0.308538
    assert normal_probability(90.0, GREATER_91) == pytest.approx(0.3085375, abs=1e-6)
    assert normal_probability(90.0, GREATER_91) == pytest.approx(norm.sf(91.5, loc=90, scale=3))


def test_normal_less_uses_the_cap_minus_a_half() -> None:
    # less than 5 -> low <= 4 -> X < 4.5; forecast 6, sigma 3: Phi(-0.5) = 0.308538
    assert normal_probability(6.0, LESS_5) == pytest.approx(norm.cdf(4.5, loc=6, scale=3))
    assert normal_probability(6.0, LESS_5) == pytest.approx(0.3085375, abs=1e-6)


def test_normal_bracket_covers_floor_minus_half_to_cap_plus_half() -> None:
    # 38..39 -> [37.5, 39.5); forecast 38.5, sigma 3: 2 * Phi(1/3) - 1 = 0.261117
    assert normal_probability(38.5, BETWEEN_38_39) == pytest.approx(0.2611173, abs=1e-6)
    oracle = norm.cdf(39.5, loc=38.5, scale=3) - norm.cdf(37.5, loc=38.5, scale=3)
    assert normal_probability(38.5, BETWEEN_38_39) == pytest.approx(oracle)


@pytest.mark.parametrize(
    ("strike", "low", "high"),
    [
        (Strike(StrikeType.GREATER_OR_EQUAL, floor_strike=Decimal(92)), 91.5, None),
        (Strike(StrikeType.LESS_OR_EQUAL, cap_strike=Decimal(4)), None, 4.5),
        (
            Strike(StrikeType.GREATER, floor_strike=Decimal("91.5")),
            91.5,
            None,
        ),  # whole degrees above 91.5: 92 up
        (
            Strike(StrikeType.BETWEEN, floor_strike=Decimal("37.5"), cap_strike=Decimal("39.5")),
            37.5,
            39.5,
        ),  # 38 and 39
    ],
)
def test_normal_matches_scipy_for_every_strike_type(
    strike: Strike, low: float | None, high: float | None
) -> None:
    oracle = (1.0 if high is None else norm.cdf(high, 88, 2.5)) - (
        0.0 if low is None else norm.cdf(low, 88, 2.5)
    )

    assert normal_probability(88.0, strike, sigma=2.5) == pytest.approx(oracle)


def test_bracket_holding_no_whole_degree_has_zero_probability() -> None:
    assert (
        normal_probability(
            38.5, Strike(StrikeType.BETWEEN, floor_strike=Decimal("38.2"), cap_strike=Decimal("38.8"))
        )
        == 0.0
    )


def test_normal_needs_a_positive_sigma() -> None:
    with pytest.raises(ValueError, match="sigma"):
        normal_probability(80.0, GREATER_91, sigma=0.0)
