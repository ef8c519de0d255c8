"""P(YES) of a temperature contract from a forecast (pure).

Both rules respect how the market settles: the NWS climate report gives whole °F, and the
strike (`greater` / `less` strict, `between` inclusive; domain.contracts.Strike) is applied to
that whole number.

- `ensemble_probability`: the share of ensemble members whose (rounded) value pays YES, with
  Laplace's rule of succession, (k + 1) / (n + 2), as the small-sample correction. With the
  31 GEFS members the raw share moves in steps of 1/31 and says 0 or 1 whenever all members
  agree, a certainty 31 draws cannot support (and one that would size a bet without limit).
  (k + 1) / (n + 2) is the posterior mean of the YES frequency under a uniform Beta(1, 1)
  prior after k of n members said YES (Laplace, 1814); for n = 31 it lies in [1/33, 32/33].
- `normal_probability`: P(YES) when the settled value is Normal(point forecast, sigma), with a
  continuity correction for the whole-degree settlement: "greater than 91" pays for 92 and up,
  i.e. for a continuous value of at least 91.5; "between 38 and 39" pays for [37.5, 39.5).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import StrEnum
from statistics import NormalDist

from domain.contracts import Strike, StrikeType

ONE = Decimal(1)
HALF = Decimal("0.5")


class SmallSampleCorrection(StrEnum):
    LAPLACE = "laplace"  # (k + 1) / (n + 2): the rule of succession, see the module docstring
    NONE = "none"  # k / n: the raw share, for comparison and tests


def whole_degrees(value: float) -> Decimal:
    """`value` rounded to whole °F the way the climate report prints it: halves away from zero."""
    return Decimal(repr(value)).quantize(ONE, rounding=ROUND_HALF_UP)


def members_paying_yes(member_values: Iterable[float], strike: Strike) -> tuple[int, int]:
    """(k, n): how many of the n member values, rounded to whole °F, pay YES under `strike`."""
    values = list(member_values)
    k = sum(1 for value in values if strike.pays_yes(whole_degrees(value)))
    return k, len(values)


def ensemble_probability(
    member_values: Iterable[float],
    strike: Strike,
    *,
    correction: SmallSampleCorrection = SmallSampleCorrection.LAPLACE,
) -> float:
    """P(YES) from one value per ensemble member (e.g. each member's climate-day high)."""
    k, n = members_paying_yes(member_values, strike)
    if n == 0:
        raise ValueError("no ensemble member values to count")
    if correction is SmallSampleCorrection.LAPLACE:
        return (k + 1) / (n + 2)
    return k / n


def yes_interval(strike: Strike) -> tuple[Decimal | None, Decimal | None]:
    """The whole-degree values that pay YES, as (lowest, highest); None where unbounded.

    `lowest > highest` means no whole degree pays (e.g. between 38.2 and 38.8)."""
    match strike.strike_type:
        case StrikeType.GREATER:
            assert strike.floor_strike is not None
            return strike.floor_strike.to_integral_value(rounding=ROUND_FLOOR) + 1, None
        case StrikeType.GREATER_OR_EQUAL:
            assert strike.floor_strike is not None
            return strike.floor_strike.to_integral_value(rounding=ROUND_CEILING), None
        case StrikeType.LESS:
            assert strike.cap_strike is not None
            return None, strike.cap_strike.to_integral_value(rounding=ROUND_CEILING) - 1
        case StrikeType.LESS_OR_EQUAL:
            assert strike.cap_strike is not None
            return None, strike.cap_strike.to_integral_value(rounding=ROUND_FLOOR)
        case StrikeType.BETWEEN:
            assert strike.floor_strike is not None and strike.cap_strike is not None
            return (
                strike.floor_strike.to_integral_value(rounding=ROUND_CEILING),
                strike.cap_strike.to_integral_value(rounding=ROUND_FLOOR),
            )


def normal_probability(point_forecast: float, strike: Strike, sigma: float = 3.0) -> float:
    """P(YES) if the settled value is Normal(`point_forecast`, `sigma`) °F, rounded to whole degrees.

    The whole-degree values lo..hi pay YES, so the continuous value must fall in
    [lo - 0.5, hi + 0.5): P = Phi((hi + 0.5 - mu) / sigma) - Phi((lo - 0.5 - mu) / sigma)."""
    if not (math.isfinite(point_forecast) and math.isfinite(sigma)) or sigma <= 0:
        raise ValueError(f"need a finite forecast and sigma > 0, got {point_forecast!r}, {sigma!r}")
    lowest, highest = yes_interval(strike)
    if lowest is not None and highest is not None and lowest > highest:
        return 0.0
    distribution = NormalDist(point_forecast, sigma)
    below_top = 1.0 if highest is None else distribution.cdf(float(highest + HALF))
    below_bottom = 0.0 if lowest is None else distribution.cdf(float(lowest - HALF))
    return max(0.0, below_top - below_bottom)
