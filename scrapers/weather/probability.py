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

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from domain.contracts import Strike
from scrapers.probability import band_probability

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


def normal_probability(point_forecast: float, strike: Strike, sigma: float = 3.0) -> float:
    """P(YES) if the settled value is Normal(`point_forecast`, `sigma`) °F, rounded to whole degrees.

    The whole-degree values lo..hi pay YES, so the continuous value must fall in
    [lo - 0.5, hi + 0.5): P = Phi((hi + 0.5 - mu) / sigma) - Phi((lo - 0.5 - mu) / sigma)."""
    return band_probability(point_forecast, strike, sigma, decimals=0)
