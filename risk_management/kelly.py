"""Kelly sizing: the fraction of bankroll that maximises the expected log of wealth.

Full Kelly maximises long-run growth but is violently sensitive to an
overestimated edge (betting twice Kelly grows nothing at all), so the engine
stakes a fraction of it (quarter-Kelly by default) and caps each position.
Every function here returns 0, never a negative number, when there is no edge
after costs: a negative Kelly fraction means "take the other side", and that is
a different order the caller must decide on, not a smaller version of this one.
"""

from __future__ import annotations

import math


def binary_kelly_fraction(win_probability: float, price: float, fee: float = 0.0) -> float:
    """Full-Kelly fraction of bankroll to spend on a contract that pays 1 if it wins.

    Each contract costs c = price + fee and pays 1, so the net odds are
    b = (1 − c) / c and f* = q − (1 − q) / b = (q − c) / (1 − c).
    Example: q = 0.6, price 0.50, no fee → b = 1, f* = 0.2.

    The NO side (or selling YES at a bid, which a venue settles as buying NO at
    1 − bid) is the same bet on the complement: `no_side_kelly_fraction`.
    """
    _check_probability("win_probability", win_probability)
    _check_probability("price", price)
    _check_non_negative("fee", fee)
    cost = price + fee
    if cost >= 1.0:
        return 0.0  # the contract cannot pay back its cost: no odds to bet on
    return max(0.0, (win_probability - cost) / (1.0 - cost))


def no_side_kelly_fraction(yes_probability: float, no_price: float, fee: float = 0.0) -> float:
    """Full-Kelly fraction for buying NO at `no_price`: the YES formula with q → 1 − q."""
    _check_probability("yes_probability", yes_probability)
    return binary_kelly_fraction(1.0 - yes_probability, no_price, fee)


def win_rate_kelly_fraction(win_rate: float, payoff_ratio: float) -> float:
    """Full-Kelly fraction from a win rate W and a payoff ratio R (average win / average loss).

    A win returns R times the stake, a loss loses the stake: f* = W − (1 − W) / R.
    Example: W = 0.55, R = 1.5 → f* = 0.55 − 0.45 / 1.5 = 0.25.
    """
    _check_probability("win_rate", win_rate)
    _check_positive("payoff_ratio", payoff_ratio)
    # (W(R + 1) − 1) / R is the same number with one rounding fewer, so a zero edge comes out exactly 0.
    return max(0.0, (win_rate * (payoff_ratio + 1.0) - 1.0) / payoff_ratio)


def mean_variance_kelly_fraction(mean_return: float, variance: float) -> float:
    """Full-Kelly fraction from the mean μ and variance σ² of per-period returns: f* = μ / σ².

    It maximises the growth rate μf − σ²f²/2 of log wealth, the continuous
    (small-return) approximation (Thorp 2006), so it can exceed 1 (leverage):
    the caller's multiplier and cap bound it.
    Example: μ = 0.01, σ² = 0.04 → f* = 0.25.
    """
    _check_finite("mean_return", mean_return)
    _check_positive("variance", variance)
    return max(0.0, mean_return / variance)


def position_fraction(full_kelly: float, multiplier: float = 0.25, cap: float = 0.05) -> float:
    """Fraction of bankroll to commit: `multiplier` × full Kelly (quarter by default), within [0, `cap`]."""
    _check_finite("full_kelly", full_kelly)
    _check_non_negative("multiplier", multiplier)
    _check_non_negative("cap", cap)
    return min(max(full_kelly, 0.0) * multiplier, cap)


def _check_finite(name: str, value: float) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")


def _check_probability(name: str, value: float) -> None:
    _check_finite(name, value)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {value}")


def _check_positive(name: str, value: float) -> None:
    _check_finite(name, value)
    if value <= 0.0:
        raise ValueError(f"{name} must be positive, got {value}")


def _check_non_negative(name: str, value: float) -> None:
    _check_finite(name, value)
    if value < 0.0:
        raise ValueError(f"{name} must be zero or positive, got {value}")
