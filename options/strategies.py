"""Standard option strategies as position sets, with their payoff at expiry and its key points.

Every option leg of a strategy expires on one date, so the payoff at expiry is a
piecewise-linear function of the underlying's price S_T on [0, inf) with kinks only at
the strikes. Its extremes and roots are therefore exact: the extremes are among the
values at S_T = 0 and at each strike, or infinite when the slope beyond the last strike
is not zero (the slope below the first strike is finite and S_T >= 0); the breakevens are
the roots of each linear piece. Payoffs are net of the premiums paid or received and of
the stock leg's purchase price, in currency for the whole position.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from options.bsm import FloatArray, Greeks, bsm_price
from options.contracts import Exercise, OptionContract, OptionKind
from options.portfolio import (
    DEFAULT_AMERICAN_STEPS,
    OptionPosition,
    Position,
    StockPosition,
    VolInput,
    portfolio_greeks,
    vol_for,
)

_ROOT_TOLERANCE = 1e-9


@dataclass(frozen=True)
class StrategyPosition:
    """A named set of legs on one underlying whose options share one expiry."""

    name: str
    legs: tuple[Position, ...]

    def __post_init__(self) -> None:
        if not self.legs:
            raise ValueError(f"strategy {self.name!r} has no legs")
        underlyings = {leg.underlying for leg in self.legs}
        if len(underlyings) != 1:
            raise ValueError(f"strategy {self.name!r} mixes underlyings {sorted(underlyings)}")
        expiries = {leg.contract.expiry for leg in self.options}
        if len(expiries) > 1:
            raise ValueError(
                f"strategy {self.name!r} has legs expiring on {sorted(expiries)}: one expiry only"
            )

    @property
    def options(self) -> tuple[OptionPosition, ...]:
        return tuple(leg for leg in self.legs if isinstance(leg, OptionPosition))

    @property
    def stocks(self) -> tuple[StockPosition, ...]:
        return tuple(leg for leg in self.legs if isinstance(leg, StockPosition))

    @property
    def strikes(self) -> tuple[float, ...]:
        return tuple(sorted({leg.contract.strike for leg in self.options}))


def payoff_at_expiry(strategy: StrategyPosition, prices: npt.ArrayLike) -> FloatArray:
    """Profit or loss at expiry for each underlying price in `prices`, net of premiums."""
    s = np.asarray(prices, dtype=np.float64)
    total = np.zeros_like(s)
    for leg in strategy.options:
        sign = 1.0 if leg.contract.is_call else -1.0
        intrinsic = np.maximum(sign * (s - leg.contract.strike), 0.0)
        total += leg.shares_controlled * (intrinsic - leg.premium)
    for stock in strategy.stocks:
        total += stock.quantity * (s - stock.price)
    return total


def _slope_beyond_last_strike(strategy: StrategyPosition) -> float:
    calls = sum(leg.shares_controlled for leg in strategy.options if leg.contract.is_call)
    return calls + sum(stock.quantity for stock in strategy.stocks)


def _kinks(strategy: StrategyPosition) -> FloatArray:
    return np.array([0.0, *strategy.strikes], dtype=np.float64)


def max_profit(strategy: StrategyPosition) -> float:
    """Largest payoff at expiry over S_T >= 0 (math.inf when unbounded; negative if it always loses)."""
    if _slope_beyond_last_strike(strategy) > 0:
        return math.inf
    return float(payoff_at_expiry(strategy, _kinks(strategy)).max())


def max_loss(strategy: StrategyPosition) -> float:
    """Largest loss at expiry as a positive amount (math.inf when unbounded; negative if it never loses)."""
    if _slope_beyond_last_strike(strategy) < 0:
        return math.inf
    return float(-payoff_at_expiry(strategy, _kinks(strategy)).min())


def breakevens(strategy: StrategyPosition) -> tuple[float, ...]:
    """Underlying prices at expiry where the payoff crosses or touches zero, ascending.

    A piece that lies flat on zero has no single breakeven and contributes only its ends.
    """
    kinks = _kinks(strategy)
    values = payoff_at_expiry(strategy, kinks)
    slope_after = _slope_beyond_last_strike(strategy)
    roots: list[float] = [float(x) for x, v in zip(kinks, values, strict=True) if abs(v) <= _ROOT_TOLERANCE]
    for x0, x1, v0, v1 in zip(kinks[:-1], kinks[1:], values[:-1], values[1:], strict=True):
        if v0 * v1 < 0:
            roots.append(float(x0 - v0 * (x1 - x0) / (v1 - v0)))
    last_x, last_v = float(kinks[-1]), float(values[-1])
    if slope_after != 0 and -last_v / slope_after > 0:
        roots.append(last_x - last_v / slope_after)
    unique: list[float] = []
    for root in sorted(roots):
        if not unique or root - unique[-1] > _ROOT_TOLERANCE:
            unique.append(root)
    return tuple(unique)


def strategy_greeks(
    strategy: StrategyPosition,
    spot: float,
    vol: VolInput,
    rate: float,
    dividend: float,
    valuation_date: date,
    *,
    american_steps: int = DEFAULT_AMERICAN_STEPS,
) -> Greeks:
    """The strategy's Greeks, via `portfolio_greeks`."""
    return portfolio_greeks(
        strategy.legs, spot, vol, rate, dividend, valuation_date, american_steps=american_steps
    )


def value_before_expiry(
    strategy: StrategyPosition,
    prices: npt.ArrayLike,
    vol: VolInput,
    rate: float,
    dividend: float,
    valuation_date: date,
) -> FloatArray:
    """Profit or loss if closed at `valuation_date` for each underlying price, every leg valued by BSM.

    American legs are valued as European here (a drawing aid, not a price).
    """
    s = np.asarray(prices, dtype=np.float64)
    total = np.zeros_like(s)
    for leg in strategy.options:
        t = leg.contract.years_to_expiry(valuation_date)
        value = bsm_price(
            leg.contract.is_call, s, leg.contract.strike, t, rate, vol_for(leg.contract, vol), dividend
        )
        total += leg.shares_controlled * (value - leg.premium)
    for stock in strategy.stocks:
        total += stock.quantity * (s - stock.price)
    return total


# --- constructors -------------------------------------------------------------------------


@dataclass(frozen=True)
class LegSpec:
    """The shared terms of a strategy's option legs."""

    underlying: str
    expiry: date
    exercise: Exercise = Exercise.EUROPEAN
    multiplier: int = 100


def _leg(spec: LegSpec, kind: OptionKind, strike: float, quantity: float, premium: float) -> OptionPosition:
    contract = OptionContract(spec.underlying, kind, strike, spec.expiry, spec.exercise, spec.multiplier)
    return OptionPosition(contract=contract, quantity=quantity, premium=premium)


def _ordered(name: str, strikes: Sequence[float]) -> None:
    if any(a >= b for a, b in itertools.pairwise(strikes)):
        raise ValueError(f"{name} needs strictly increasing strikes, got {list(strikes)}")


def _vertical(
    name: str,
    spec: LegSpec,
    kind: OptionKind,
    strikes: tuple[float, float],
    premiums: tuple[float, float],
    lower_quantity: float,
) -> StrategyPosition:
    _ordered(name, strikes)
    return StrategyPosition(
        name,
        (
            _leg(spec, kind, strikes[0], lower_quantity, premiums[0]),
            _leg(spec, kind, strikes[1], -lower_quantity, premiums[1]),
        ),
    )


def bull_call_spread(
    spec: LegSpec,
    lower_strike: float,
    upper_strike: float,
    lower_premium: float,
    upper_premium: float,
    quantity: float = 1,
) -> StrategyPosition:
    """Buy the lower-strike call, write the upper-strike call (a debit spread)."""
    strikes, premiums = (lower_strike, upper_strike), (lower_premium, upper_premium)
    return _vertical("bull call spread", spec, OptionKind.CALL, strikes, premiums, quantity)


def bear_call_spread(
    spec: LegSpec,
    lower_strike: float,
    upper_strike: float,
    lower_premium: float,
    upper_premium: float,
    quantity: float = 1,
) -> StrategyPosition:
    """Write the lower-strike call, buy the upper-strike call (a credit spread)."""
    strikes, premiums = (lower_strike, upper_strike), (lower_premium, upper_premium)
    return _vertical("bear call spread", spec, OptionKind.CALL, strikes, premiums, -quantity)


def bull_put_spread(
    spec: LegSpec,
    lower_strike: float,
    upper_strike: float,
    lower_premium: float,
    upper_premium: float,
    quantity: float = 1,
) -> StrategyPosition:
    """Buy the lower-strike put, write the upper-strike put (a credit spread)."""
    strikes, premiums = (lower_strike, upper_strike), (lower_premium, upper_premium)
    return _vertical("bull put spread", spec, OptionKind.PUT, strikes, premiums, quantity)


def bear_put_spread(
    spec: LegSpec,
    lower_strike: float,
    upper_strike: float,
    lower_premium: float,
    upper_premium: float,
    quantity: float = 1,
) -> StrategyPosition:
    """Write the lower-strike put, buy the upper-strike put (a debit spread)."""
    strikes, premiums = (lower_strike, upper_strike), (lower_premium, upper_premium)
    return _vertical("bear put spread", spec, OptionKind.PUT, strikes, premiums, -quantity)


def covered_call(
    spec: LegSpec, stock_price: float, strike: float, premium: float, quantity: float = 1
) -> StrategyPosition:
    """Own multiplier x quantity shares and write `quantity` calls against them."""
    stock = StockPosition(spec.underlying, quantity * spec.multiplier, stock_price)
    return StrategyPosition("covered call", (stock, _leg(spec, OptionKind.CALL, strike, -quantity, premium)))


def protective_put(
    spec: LegSpec, stock_price: float, strike: float, premium: float, quantity: float = 1
) -> StrategyPosition:
    """Own multiplier x quantity shares and buy `quantity` puts on them."""
    stock = StockPosition(spec.underlying, quantity * spec.multiplier, stock_price)
    return StrategyPosition("protective put", (stock, _leg(spec, OptionKind.PUT, strike, quantity, premium)))


def _pair(
    name: str,
    spec: LegSpec,
    put_strike: float,
    call_strike: float,
    put_premium: float,
    call_premium: float,
    quantity: float,
) -> StrategyPosition:
    return StrategyPosition(
        name,
        (
            _leg(spec, OptionKind.PUT, put_strike, quantity, put_premium),
            _leg(spec, OptionKind.CALL, call_strike, quantity, call_premium),
        ),
    )


def long_straddle(
    spec: LegSpec, strike: float, call_premium: float, put_premium: float, quantity: float = 1
) -> StrategyPosition:
    """Buy a call and a put at one strike."""
    return _pair("long straddle", spec, strike, strike, put_premium, call_premium, quantity)


def short_straddle(
    spec: LegSpec, strike: float, call_premium: float, put_premium: float, quantity: float = 1
) -> StrategyPosition:
    """Write a call and a put at one strike."""
    return _pair("short straddle", spec, strike, strike, put_premium, call_premium, -quantity)


def long_strangle(
    spec: LegSpec,
    put_strike: float,
    call_strike: float,
    put_premium: float,
    call_premium: float,
    quantity: float = 1,
) -> StrategyPosition:
    """Buy a put below and a call above."""
    _ordered("long strangle", (put_strike, call_strike))
    return _pair("long strangle", spec, put_strike, call_strike, put_premium, call_premium, quantity)


def short_strangle(
    spec: LegSpec,
    put_strike: float,
    call_strike: float,
    put_premium: float,
    call_premium: float,
    quantity: float = 1,
) -> StrategyPosition:
    """Write a put below and a call above."""
    _ordered("short strangle", (put_strike, call_strike))
    return _pair("short strangle", spec, put_strike, call_strike, put_premium, call_premium, -quantity)


def iron_condor(
    spec: LegSpec,
    strikes: tuple[float, float, float, float],
    premiums: tuple[float, float, float, float],
    quantity: float = 1,
) -> StrategyPosition:
    """Short iron condor: buy put K1, write put K2, write call K3, buy call K4 (K1 < K2 < K3 < K4).

    `premiums` are per share for the legs in that order.
    """
    _ordered("iron condor", strikes)
    k1, k2, k3, k4 = strikes
    p1, p2, p3, p4 = premiums
    return StrategyPosition(
        "iron condor",
        (
            _leg(spec, OptionKind.PUT, k1, quantity, p1),
            _leg(spec, OptionKind.PUT, k2, -quantity, p2),
            _leg(spec, OptionKind.CALL, k3, -quantity, p3),
            _leg(spec, OptionKind.CALL, k4, quantity, p4),
        ),
    )
