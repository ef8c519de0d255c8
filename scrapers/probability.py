"""P(YES) for a contract on a number that is published rounded.

Kalshi's series settle on the number as it is published: a day's high in whole °F (the NWS
climate report), CPI month over month to one decimal (`expiration_value` "0.4"), GDP q/q
SAAR to one decimal. The forecast is of the unrounded value, so the question "is the
published number above 0.3?" is asked on the rounding grid: published > 0.3 means
published >= 0.4, which (rounding to nearest) means the true value >= 0.35. This is a
continuity correction, as for a discrete variable.

The model is the simplest honest one: the true value X ~ Normal(nowcast, sigma), sigma the
source's error band (a modelling choice the caller states). For a strike the published
values that pay YES form a run of grid points g_lo .. g_hi, and

    P(YES) = Phi((g_hi + h - nowcast) / sigma) - Phi((g_lo - h - nowcast) / sigma),

with h half a grid step (0.05 at one decimal) and an open end at +-infinity for one-sided
strikes. Worked example: nowcast 0.32, sigma 0.10, "greater than 0.3": g_lo = 0.4, so
P = 1 - Phi((0.35 - 0.32) / 0.10) = 1 - Phi(0.3) = 0.3821.

A true value exactly on a half step (0.35) has probability zero under a continuous model,
so whether the agency rounds half up or half to even does not change the answer.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from statistics import NormalDist

from domain.contracts import Strike, StrikeType

_STANDARD_NORMAL = NormalDist()


def published_values_paying_yes(strike: Strike, *, decimals: int) -> tuple[Decimal | None, Decimal | None]:
    """The lowest and highest published value (on the `decimals` grid) that pay YES; None is an
    open end. `(g_lo, g_hi)` with g_lo > g_hi means no published value pays (an empty bracket)."""
    step = _grid_step(decimals)
    match strike.strike_type:
        case StrikeType.GREATER:
            assert strike.floor_strike is not None
            below_or_on = _to_grid(strike.floor_strike, step, ROUND_FLOOR)
            return below_or_on + step, None
        case StrikeType.GREATER_OR_EQUAL:
            assert strike.floor_strike is not None
            return _to_grid(strike.floor_strike, step, ROUND_CEILING), None
        case StrikeType.LESS:
            assert strike.cap_strike is not None
            above_or_on = _to_grid(strike.cap_strike, step, ROUND_CEILING)
            return None, above_or_on - step
        case StrikeType.LESS_OR_EQUAL:
            assert strike.cap_strike is not None
            return None, _to_grid(strike.cap_strike, step, ROUND_FLOOR)
        case StrikeType.BETWEEN:
            assert strike.floor_strike is not None and strike.cap_strike is not None
            return _to_grid(strike.floor_strike, step, ROUND_CEILING), _to_grid(
                strike.cap_strike, step, ROUND_FLOOR
            )


def band_probability(nowcast: float | Decimal, strike: Strike, sigma: float, *, decimals: int) -> float:
    """P(the number published to `decimals` places pays YES on `strike`) when the true value is
    Normal(`nowcast`, `sigma`). Not clipped: the callers decide (and say why) whether to clip."""
    center = float(nowcast)
    if not (math.isfinite(center) and math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"band_probability needs a finite nowcast and sigma > 0, got {nowcast!r}, {sigma!r}")
    lowest, highest = published_values_paying_yes(strike, decimals=decimals)
    if lowest is not None and highest is not None and lowest > highest:
        return 0.0
    half_step = _grid_step(decimals) / 2
    upper = 1.0 if highest is None else _cdf(highest + half_step, center, sigma)
    lower = 0.0 if lowest is None else _cdf(lowest - half_step, center, sigma)
    return min(1.0, max(0.0, upper - lower))


def _grid_step(decimals: int) -> Decimal:
    if decimals < 0:
        raise ValueError(f"decimals must be 0 or more, got {decimals}")
    return Decimal(1).scaleb(-decimals)


def _to_grid(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    """`value` moved to the grid of `step` in the direction `rounding` names (exact, in Decimal)."""
    return (value / step).to_integral_value(rounding=rounding) * step


def _cdf(edge: Decimal, center: float, sigma: float) -> float:
    return _STANDARD_NORMAL.cdf((float(edge) - center) / sigma)
