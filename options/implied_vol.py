"""Implied volatility: the BSM volatility that reproduces a quoted European option price.

A price has an implied volatility only strictly between the no-arbitrage bounds
(Hull, 9th ed., sections 11.3-11.4, with continuous dividend yield q):

- call: max(S e^{-qt} - K e^{-rt}, 0) < c < S e^{-qt}
- put:  max(K e^{-rt} - S e^{-qt}, 0) < p < K e^{-rt}

BSM value rises strictly with vol from the lower bound (vol 0) to the upper (vol -> inf),
so inside the bounds there is exactly one root. The first guess is Corrado and Miller's
(1996) closed-form approximation; `implied_vol` brackets the root around it and hands the
bracket to scipy's brentq. `implied_vols` solves a whole chain at once with Newton steps on
the log of the out-of-the-money price (in-the-money quotes are turned into their
out-of-the-money twins by put-call parity), falling back to bisection whenever a step would
leave the current bracket.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import brentq

from options.bsm import FloatArray, MarketArrays, market_arrays, price_and_vega

MAX_ITERATIONS = 200
VOL_TOLERANCE = 1e-13  # absolute, in vol; round trips hold to ~1e-12 where vega is not tiny
_MAX_BRACKET_DOUBLINGS = 60
_GUESS_FLOOR, _GUESS_CAP = 1e-3, 5.0


class ImpliedVolError(ValueError):
    """No volatility reproduces the price; the message names the bound it violates."""


@dataclass(frozen=True)
class ImpliedVols:
    """Implied vols for a chain: NaN where none exists, with the reason in `errors`.

    `errors` follows `vols.ravel()` order (the contract order for a 1-D chain).
    """

    vols: FloatArray
    errors: tuple[str | None, ...]

    def __post_init__(self) -> None:
        if len(self.errors) != self.vols.size:
            raise ValueError(f"{len(self.errors)} error entries for {self.vols.size} vols")
        missing = np.isnan(self.vols.ravel())
        explained = np.array([error is not None for error in self.errors], dtype=np.bool_)
        if not np.array_equal(missing, explained):
            raise ValueError("every NaN vol needs a reason, and only NaN vols may have one")


def _no_arbitrage_bounds(m: MarketArrays) -> tuple[FloatArray, FloatArray]:
    discounted_spot = m.spot * np.exp(-m.dividend * m.t)
    discounted_strike = m.strike * np.exp(-m.rate * m.t)
    intrinsic = np.where(m.is_call, discounted_spot - discounted_strike, discounted_strike - discounted_spot)
    return np.maximum(intrinsic, 0.0), np.where(m.is_call, discounted_spot, discounted_strike)


def _violation(price: float, is_call: bool, t: float, lower: float, upper: float) -> str | None:
    kind = "call" if is_call else "put"
    if not math.isfinite(price):
        return f"{kind} price {price} is not a number"
    if not t > 0:  # also catches NaN
        return f"t = {t:g} years: an option at or past expiry has no implied volatility"
    if price <= lower:
        return (
            f"{kind} price {price:.10g} is at or below the lower no-arbitrage bound {lower:.10g} "
            "(discounted intrinsic value): no volatility gives so low a price"
        )
    if price >= upper:
        formula = "S e^-qt" if is_call else "K e^-rt"
        return (
            f"{kind} price {price:.10g} is at or above the upper no-arbitrage bound {upper:.10g} "
            f"({formula}): no volatility gives so high a price"
        )
    return None


def _corrado_miller_guess(price: FloatArray, m: MarketArrays) -> FloatArray:
    """Corrado & Miller (1996), Journal of Banking & Finance 20, eq. (10), with discounted S and K."""
    s = m.spot * np.exp(-m.dividend * m.t)
    k = m.strike * np.exp(-m.rate * m.t)
    call = np.where(m.is_call, price, price + s - k)  # put-call parity
    half_gap = call - 0.5 * (s - k)
    root = np.sqrt(np.maximum(half_gap**2 - (s - k) ** 2 / np.pi, 0.0))
    std_dev = np.sqrt(2.0 * np.pi) / (s + k) * (half_gap + root)
    guess = std_dev / np.sqrt(np.where(m.t > 0, m.t, 1.0))
    clipped: FloatArray = np.clip(np.nan_to_num(guess, nan=0.2), _GUESS_FLOOR, _GUESS_CAP)
    return clipped


def _with_vol(m: MarketArrays, vol: FloatArray) -> MarketArrays:
    return dataclasses.replace(m, vol=vol)


def implied_vol(
    price: float,
    is_call: bool,
    spot: float,
    strike: float,
    t: float,
    rate: float,
    dividend: float = 0.0,
) -> float:
    """The BSM vol for one European option price, by brentq; ImpliedVolError outside the bounds."""
    m = market_arrays(is_call, spot, strike, t, rate, 0.0, dividend)
    lower, upper = _no_arbitrage_bounds(m)
    problem = _violation(float(price), bool(is_call), float(t), float(lower), float(upper))
    if problem is not None:
        raise ImpliedVolError(problem)

    def excess(vol: float) -> float:
        return float(price_and_vega(_with_vol(m, np.asarray(vol)))[0]) - price

    guess = float(_corrado_miller_guess(np.asarray(price, dtype=np.float64), m))
    low, high = 0.5 * guess, 2.0 * guess
    if excess(low) > 0:
        low = 0.0  # excess(0) = lower bound - price < 0
    for _ in range(_MAX_BRACKET_DOUBLINGS):
        if excess(high) > 0:
            break
        low, high = high, 2.0 * high
    else:
        raise ImpliedVolError(f"price {price:.10g} is too close to the upper bound {float(upper):.10g}")
    root: float = brentq(excess, low, high, xtol=VOL_TOLERANCE, rtol=4 * np.finfo(float).eps)
    return root


def implied_vols(
    price: npt.ArrayLike,
    is_call: npt.ArrayLike,
    spot: npt.ArrayLike,
    strike: npt.ArrayLike,
    t: npt.ArrayLike,
    rate: npt.ArrayLike,
    dividend: npt.ArrayLike = 0.0,
) -> ImpliedVols:
    """Implied vols for a whole chain at once (safeguarded Newton); never raises for one bad quote."""
    # an expired or NaN t is reported per contract below, not refused for the whole chain
    m = market_arrays(is_call, spot, strike, np.maximum(np.nan_to_num(t), 0.0), rate, 0.0, dividend)
    shape = np.broadcast_shapes(np.shape(price), m.spot.shape)
    m = MarketArrays(
        *(np.ravel(np.broadcast_to(getattr(m, name), shape)) for name in MarketArrays.__dataclass_fields__)
    )
    target = np.ravel(np.broadcast_to(np.asarray(price, dtype=np.float64), shape)).copy()
    raw_t = np.ravel(np.broadcast_to(np.asarray(t, dtype=np.float64), shape))
    lower, upper = _no_arbitrage_bounds(m)
    errors: list[str | None] = [
        _violation(float(p), bool(c), float(tt), float(lo), float(hi))
        for p, c, tt, lo, hi in zip(target, m.is_call, raw_t, lower, upper, strict=True)
    ]
    solvable = np.array([error is None for error in errors], dtype=np.bool_)
    target = np.where(solvable, target, 0.5 * (lower + upper))  # placeholders keep the arithmetic finite
    m = _with_vol(m, np.zeros_like(target))

    low = np.zeros_like(target)
    vol = _corrado_miller_guess(target, m)
    high = np.maximum(2.0 * vol, 1.0)
    for _ in range(_MAX_BRACKET_DOUBLINGS):
        short = solvable & (price_and_vega(_with_vol(m, high))[0] <= target)
        if not short.any():
            break
        low = np.where(short, high, low)
        high = np.where(short, 2.0 * high, high)
    vol = np.clip(vol, low, high)

    # Newton on the log of the out-of-the-money price: a far-from-the-money price is exponentially
    # small in 1/vol and plain Newton on it crawls; its log is close to quadratic in 1/vol.
    # The in-the-money option is swapped for its out-of-the-money twin by put-call parity.
    forward_gap = m.spot * np.exp(-m.dividend * m.t) - m.strike * np.exp(-m.rate * m.t)
    in_the_money = np.where(m.is_call, forward_gap > 0, forward_gap < 0)
    twin = dataclasses.replace(m, is_call=np.where(in_the_money, ~m.is_call, m.is_call))
    twin_target = np.where(in_the_money, target - np.abs(forward_gap), target)
    log_target = np.log(np.where(twin_target > 0, twin_target, 1.0))
    active = solvable & (twin_target > 0)
    for i in np.flatnonzero(solvable & ~active):
        errors[i] = (
            f"price {target[i]:.10g} has no time value left above the intrinsic value in double precision"
        )
    solvable &= active
    for _ in range(MAX_ITERATIONS):
        if not active.any():
            break
        value, vega = price_and_vega(_with_vol(twin, vol))
        with np.errstate(divide="ignore", invalid="ignore"):
            excess = np.log(value) - log_target
            newton = vol - excess * value / vega
        excess = np.where(np.isnan(excess), -np.inf, excess)  # value 0: far below the target
        high = np.where(active & (excess > 0), vol, high)
        low = np.where(active & (excess <= 0), vol, low)
        inside = np.isfinite(newton) & (newton > low) & (newton < high)
        landed = excess == 0
        stepped = np.where(landed, vol, np.where(inside, newton, 0.5 * (low + high)))
        done = landed | (np.abs(stepped - vol) <= VOL_TOLERANCE) | (high - low <= VOL_TOLERANCE)
        vol = np.where(active, stepped, vol)
        active &= ~done
    for i in np.flatnonzero(active):
        errors[i] = f"no convergence within {MAX_ITERATIONS} iterations (vol bracket {low[i]:g}..{high[i]:g})"
    vols = np.where(solvable & ~active, vol, np.nan)
    return ImpliedVols(vols=vols.reshape(shape), errors=tuple(errors))
