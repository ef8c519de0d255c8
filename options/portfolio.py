"""Positions in options (and the underlying) and the Greeks of a book of them.

Portfolio Greeks are sums of per-share Greeks x signed quantity x contract multiplier, so
they read in currency: delta in shares of the underlying, gamma in shares per 1.00 move of
spot, vega per 1.00 of vol, theta per year (theta_per_day per calendar day), rho per 1.00
of rate. A stock leg contributes its share count to delta and nothing else.

European options are valued with BSM; American ones on a CRR tree (`american_steps`).
An option on its expiry day (t = 0) takes the at-expiry limits from `options.bsm`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from options.binomial import crr_greeks
from options.bsm import FloatArray, Greeks, bsm_greeks
from options.contracts import Exercise, OptionContract

DEFAULT_AMERICAN_STEPS = 200


@dataclass(frozen=True)
class OptionPosition:
    """`quantity` contracts (negative = written); `premium` per share paid (received if short)."""

    contract: OptionContract
    quantity: float
    premium: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.quantity) or self.quantity == 0:
            raise ValueError(f"option position quantity must be a non-zero number, got {self.quantity}")
        if not math.isfinite(self.premium) or self.premium < 0:
            raise ValueError(f"option premium per share must be >= 0, got {self.premium}")

    @property
    def underlying(self) -> str:
        return self.contract.underlying

    @property
    def shares_controlled(self) -> float:
        """Signed quantity x multiplier: the number that scales per-share values."""
        return self.quantity * self.contract.multiplier


@dataclass(frozen=True)
class StockPosition:
    """`quantity` shares of the underlying (negative = short), bought or sold at `price`."""

    underlying: str
    quantity: float
    price: float

    def __post_init__(self) -> None:
        if not self.underlying.strip():
            raise ValueError("stock position needs an underlying symbol")
        if not math.isfinite(self.quantity) or self.quantity == 0:
            raise ValueError(f"stock position quantity must be a non-zero number, got {self.quantity}")
        if not math.isfinite(self.price) or self.price <= 0:
            raise ValueError(f"stock price must be positive, got {self.price}")


Position = OptionPosition | StockPosition
VolInput = float | Mapping[OptionContract, float]


def vol_for(contract: OptionContract, vol: VolInput) -> float:
    """The volatility for `contract`: the single figure, or its entry in a per-contract mapping."""
    if isinstance(vol, Mapping):
        if contract not in vol:
            raise ValueError(f"no volatility given for {contract}")
        return float(vol[contract])
    return float(vol)


def _single_underlying(positions: Sequence[Position]) -> None:
    names = {position.underlying for position in positions}
    if len(names) > 1:
        raise ValueError(f"portfolio Greeks take positions on one underlying, got {sorted(names)}")


def _option_greeks(
    options: Sequence[OptionPosition],
    spot: float,
    vol: VolInput,
    rate: float,
    dividend: float,
    valuation_date: date,
    american_steps: int,
) -> Greeks:
    """Per-share Greeks, one entry per option position, in the order given."""
    t = np.array([p.contract.years_to_expiry(valuation_date) for p in options], dtype=np.float64)
    is_call = np.array([p.contract.is_call for p in options], dtype=np.bool_)
    strike = np.array([p.contract.strike for p in options], dtype=np.float64)
    vols = np.array([vol_for(p.contract, vol) for p in options], dtype=np.float64)
    on_tree = np.array([p.contract.exercise is Exercise.AMERICAN for p in options], dtype=np.bool_) & (t > 0)
    analytic = bsm_greeks(is_call, spot, strike, t, rate, vols, dividend)
    if not on_tree.any():
        return analytic
    tree = crr_greeks(
        is_call[on_tree],
        spot,
        strike[on_tree],
        t[on_tree],
        rate,
        vols[on_tree],
        dividend,
        american=True,
        steps=american_steps,
    )
    merged: dict[str, FloatArray] = {}
    for name in Greeks.__dataclass_fields__:
        values = getattr(analytic, name).copy()
        values[on_tree] = getattr(tree, name)
        merged[name] = values
    return Greeks(**merged)


def portfolio_greeks(
    positions: Sequence[Position],
    spot: float,
    vol: VolInput,
    rate: float,
    dividend: float,
    valuation_date: date,
    *,
    american_steps: int = DEFAULT_AMERICAN_STEPS,
) -> Greeks:
    """Summed Greeks of positions on one underlying (0-d arrays, units in the module docstring).

    `vol` is one volatility for every contract or a mapping from contract to its own (a smile).
    """
    _single_underlying(positions)
    totals = {name: 0.0 for name in Greeks.__dataclass_fields__}
    options = [p for p in positions if isinstance(p, OptionPosition)]
    totals["delta"] = sum(p.quantity for p in positions if isinstance(p, StockPosition))
    if options:
        per_share = _option_greeks(options, spot, vol, rate, dividend, valuation_date, american_steps)
        weights = np.array([p.shares_controlled for p in options], dtype=np.float64)
        for name in totals:
            totals[name] += float(weights @ getattr(per_share, name))
    return Greeks(**{name: np.asarray(value) for name, value in totals.items()})


def delta_adjusted_exposure(
    positions: Sequence[Position],
    spot: float,
    vol: VolInput,
    rate: float,
    dividend: float,
    valuation_date: date,
    *,
    american_steps: int = DEFAULT_AMERICAN_STEPS,
) -> float:
    """Signed currency exposure: delta x quantity x multiplier x spot, summed (stock: shares x spot).

    This is what the risk engine counts as an option position's exposure to its underlying.
    """
    greeks = portfolio_greeks(
        positions, spot, vol, rate, dividend, valuation_date, american_steps=american_steps
    )
    return float(greeks.delta) * spot
