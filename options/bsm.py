"""Black-Scholes-Merton prices and Greeks for European options, continuous dividend yield.

Every argument broadcasts against every other (numpy rules), so one call prices a whole
chain. Units follow QuantLib's AnalyticEuropeanEngine:

- delta: d price / d spot;  gamma: d delta / d spot
- vega: d price / d vol, per 1.00 of vol (divide by 100 for "per vol point")
- theta: d price / d calendar time, per year (negative of d price / d t);
  theta_per_day = theta / 365
- rho: d price / d rate, per 1.00 of rate (continuously compounded)

At t == 0 (or zero vol) the price is the (discounted forward) intrinsic value and the
Greeks are their limits: delta 1/0 in/out of the money and 1/2 exactly at the money,
gamma, vega, theta and rho of the at-expiry payoff 0. Never NaN.

Formulas: Hull, Options, Futures and Other Derivatives (9th ed.), sections 17.4 and 19.x;
theta from the Black-Scholes PDE, Theta = r V - (r - q) S Delta - 1/2 sigma^2 S^2 Gamma.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

from options.contracts import DAYS_PER_YEAR

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)
_GREEK_NAMES = ("delta", "gamma", "vega", "theta", "theta_per_day", "rho")


@dataclass(frozen=True)
class Greeks:
    """Option sensitivities, arrays of one shape (0-d for a single option or a portfolio total)."""

    delta: FloatArray
    gamma: FloatArray
    vega: FloatArray
    theta: FloatArray
    theta_per_day: FloatArray
    rho: FloatArray

    def __post_init__(self) -> None:
        shapes = {np.shape(getattr(self, name)) for name in _GREEK_NAMES}
        if len(shapes) != 1:
            raise ValueError(f"Greeks must all have one shape, got {sorted(shapes)}")
        for name in _GREEK_NAMES:
            if np.isnan(getattr(self, name)).any():
                raise ValueError(f"Greek {name} contains NaN")


@dataclass(frozen=True)
class MarketArrays:
    """Validated inputs broadcast to one shape."""

    is_call: BoolArray
    spot: FloatArray
    strike: FloatArray
    t: FloatArray
    rate: FloatArray
    vol: FloatArray
    dividend: FloatArray


def market_arrays(
    is_call: npt.ArrayLike,
    spot: npt.ArrayLike,
    strike: npt.ArrayLike,
    t: npt.ArrayLike,
    rate: npt.ArrayLike,
    vol: npt.ArrayLike,
    dividend: npt.ArrayLike = 0.0,
) -> MarketArrays:
    """Broadcast and check the pricing inputs.

    Spot and strike must be positive, t and vol non-negative; rate and dividend may be
    negative (negative rates are real), but everything must be finite.
    """
    calls, *numbers = np.broadcast_arrays(
        np.asarray(is_call, dtype=np.bool_),
        *(np.asarray(value, dtype=np.float64) for value in (spot, strike, t, rate, vol, dividend)),
    )
    names = ("spot", "strike", "t", "rate", "vol", "dividend")
    for name, values in zip(names, numbers, strict=True):
        if not np.isfinite(values).all():
            raise ValueError(f"{name} must be finite, got {values[~np.isfinite(values)].ravel()[:3]}")
    s, k, tt, r, v, q = numbers
    for name, values in (("spot", s), ("strike", k)):
        if (values <= 0).any():
            raise ValueError(f"{name} must be positive, got {values[values <= 0].ravel()[:3]}")
    for name, values in (("t", tt), ("vol", v)):
        if (values < 0).any():
            raise ValueError(f"{name} must not be negative, got {values[values < 0].ravel()[:3]}")
    return MarketArrays(calls, s, k, tt, r, v, q)


@dataclass(frozen=True)
class _Terms:
    """The pieces every formula shares, with the t -> 0 / vol -> 0 limits already taken."""

    sign: FloatArray  # +1 call, -1 put
    discounted_spot: FloatArray  # S e^{-qt}
    discounted_strike: FloatArray  # K e^{-rt}
    n_d1: FloatArray  # N(sign d1)
    n_d2: FloatArray  # N(sign d2)
    pdf_d1: FloatArray  # standard normal density at d1
    std_dev: FloatArray  # sigma sqrt(t)


def _terms(m: MarketArrays) -> _Terms:
    std_dev = m.vol * np.sqrt(m.t)
    discounted_spot = m.spot * np.exp(-m.dividend * m.t)
    discounted_strike = m.strike * np.exp(-m.rate * m.t)
    log_moneyness = np.log(discounted_spot / discounted_strike)  # ln(F / K)
    degenerate = std_dev == 0.0
    safe_std = np.where(degenerate, 1.0, std_dev)
    # with no variance left, d1 = d2 = +inf / -inf / 0 as the forward is above / below / at the strike
    limit = np.where(log_moneyness > 0, np.inf, np.where(log_moneyness < 0, -np.inf, 0.0))
    d1 = np.where(degenerate, limit, log_moneyness / safe_std + 0.5 * std_dev)
    d2 = np.where(degenerate, d1, d1 - std_dev)
    sign = np.where(m.is_call, 1.0, -1.0)
    pdf_d1 = np.where(
        np.isinf(d1), 0.0, _INV_SQRT_2PI * np.exp(-0.5 * np.square(np.where(degenerate, 0, d1)))
    )
    return _Terms(
        sign=sign,
        discounted_spot=discounted_spot,
        discounted_strike=discounted_strike,
        n_d1=ndtr(sign * d1),
        n_d2=ndtr(sign * d2),
        pdf_d1=pdf_d1,
        std_dev=std_dev,
    )


def bsm_price(
    is_call: npt.ArrayLike,
    spot: npt.ArrayLike,
    strike: npt.ArrayLike,
    t: npt.ArrayLike,
    rate: npt.ArrayLike,
    vol: npt.ArrayLike,
    dividend: npt.ArrayLike = 0.0,
) -> FloatArray:
    """European option value per share; `t` in years, rates continuously compounded."""
    x = _terms(market_arrays(is_call, spot, strike, t, rate, vol, dividend))
    return x.sign * (x.discounted_spot * x.n_d1 - x.discounted_strike * x.n_d2)


def bsm_greeks(
    is_call: npt.ArrayLike,
    spot: npt.ArrayLike,
    strike: npt.ArrayLike,
    t: npt.ArrayLike,
    rate: npt.ArrayLike,
    vol: npt.ArrayLike,
    dividend: npt.ArrayLike = 0.0,
) -> Greeks:
    """Analytic Greeks, units as in the module docstring."""
    m = market_arrays(is_call, spot, strike, t, rate, vol, dividend)
    x = _terms(m)
    degenerate = x.std_dev == 0.0
    safe_std = np.where(degenerate, 1.0, x.std_dev)
    sqrt_t = np.sqrt(m.t)
    delta = x.sign * np.exp(-m.dividend * m.t) * x.n_d1
    # pdf_d1 is 0 wherever std_dev is 0 except exactly at the forward; the limit there is
    # infinite gamma, reported as 0 (the payoff's kink has no second derivative).
    gamma = np.where(degenerate, 0.0, x.discounted_spot * x.pdf_d1 / (m.spot * m.spot * safe_std))
    vega = x.discounted_spot * x.pdf_d1 * sqrt_t
    rho = x.sign * x.discounted_strike * m.t * x.n_d2
    time_decay = np.where(
        degenerate, 0.0, -x.discounted_spot * x.pdf_d1 * m.vol / (2.0 * np.where(m.t > 0, sqrt_t, 1.0))
    )
    carry = x.sign * (m.dividend * x.discounted_spot * x.n_d1 - m.rate * x.discounted_strike * x.n_d2)
    theta = np.where(m.t > 0, time_decay + carry, 0.0)
    return Greeks(
        delta=delta,
        gamma=gamma,
        vega=vega,
        theta=theta,
        theta_per_day=theta / DAYS_PER_YEAR,
        rho=rho,
    )


def price_and_vega(m: MarketArrays) -> tuple[FloatArray, FloatArray]:
    """Price and vega from already validated inputs (the implied-vol solver's inner loop)."""
    x = _terms(m)
    price = x.sign * (x.discounted_spot * x.n_d1 - x.discounted_strike * x.n_d2)
    return price, x.discounted_spot * x.pdf_d1 * np.sqrt(m.t)
