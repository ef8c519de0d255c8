"""Two-sided quotes around a fair value, leaning against inventory.

The reservation price is the fair value moved against what is held,

    r = fair - skew * inventory,

(the linear inventory term of Avellaneda & Stoikov 2008, with `skew` standing for their
risk aversion times variance times horizon): a maker long YES lowers both quotes, so its offer is
hit sooner and its bid later. The quotes sit `half_spread` either side of r, rounded away from it
onto the venue's tick:

    bid = floor_tick(r - half_spread),    ask = ceil_tick(r + half_spread).

A quote is a maker's, so it must not cross the book: a bid at or above the market's ask is moved
to one tick under it, an offer at or below the market's bid to one tick over it. A side is dropped
when it no longer leaves `min_edge` against the fair value (a bid must be at most fair - min_edge,
an offer at least fair + min_edge), when its price falls outside [`min_price`, `max_price`], or
when inventory is at its limit on that side: the bid's size is what keeps the position at most
`max_inventory` long, the offer's what keeps it at most `max_inventory` short, each at most
`quote_size`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from strategies.params import parse_params, require_finite, require_whole_at_least


@dataclass(frozen=True, slots=True)
class QuoteParams:
    half_spread: float = 0.02
    skew: float = 0.001  # price moved per contract of inventory
    min_edge: float = 0.01  # against the fair value, after rounding and the post-only step
    quote_size: int = 10  # contracts
    max_inventory: int = 10  # contracts, either way
    min_price: float = 0.05
    max_price: float = 0.95

    def __post_init__(self) -> None:
        for name in ("half_spread", "skew", "min_edge", "min_price", "max_price"):
            require_finite(name, getattr(self, name))
        if not 0 < self.half_spread < 0.5:
            raise ValueError(f"half_spread must lie in (0, 0.5), got {self.half_spread}")
        if self.skew < 0 or self.min_edge < 0:
            raise ValueError("skew and min_edge must not be negative")
        if self.min_edge > self.half_spread:
            raise ValueError(
                f"min_edge {self.min_edge} above half_spread {self.half_spread}: no quote could keep it"
            )
        require_whole_at_least("quote_size", self.quote_size, 1)
        require_whole_at_least("max_inventory", self.max_inventory, 1)
        if not 0 < self.min_price < self.max_price < 1:
            raise ValueError(f"need 0 < min_price < max_price < 1, got {self.min_price}, {self.max_price}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> QuoteParams:
        return parse_params(cls, values)

    def with_values(self, **changes: Any) -> QuoteParams:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Level:
    price: Decimal
    size: Decimal


@dataclass(frozen=True, slots=True)
class Quotes:
    reservation: float
    bid: Level | None
    ask: Level | None


def make_quotes(
    fair: float,
    inventory: Decimal,
    market_bid: Decimal,
    market_ask: Decimal,
    tick: Decimal,
    params: QuoteParams,
) -> Quotes:
    """The bid and offer to rest around `fair` holding `inventory` (signed, YES contracts)."""
    if not (math.isfinite(fair) and 0 < fair < 1):
        raise ValueError(f"a fair value must lie inside (0, 1), got {fair}")
    if not (0 < market_bid < market_ask < 1):
        raise ValueError(f"the market needs 0 < bid < ask < 1, got {market_bid}/{market_ask}")
    if not (tick.is_finite() and tick > 0):
        raise ValueError(f"tick must be positive, got {tick}")
    reservation = fair - params.skew * float(inventory)
    half = params.half_spread
    bid_price = min(_on_tick(reservation - half, tick, ROUND_FLOOR), market_ask - tick)
    ask_price = max(_on_tick(reservation + half, tick, ROUND_CEILING), market_bid + tick)
    limit = Decimal(params.max_inventory)
    bid_size = min(Decimal(params.quote_size), limit - inventory)
    ask_size = min(Decimal(params.quote_size), limit + inventory)
    bid = (
        Level(bid_price, bid_size)
        if bid_size > 0
        and float(bid_price) <= fair - params.min_edge + 1e-12
        and params.min_price <= float(bid_price) <= params.max_price
        else None
    )
    ask = (
        Level(ask_price, ask_size)
        if ask_size > 0
        and float(ask_price) >= fair + params.min_edge - 1e-12
        and params.min_price <= float(ask_price) <= params.max_price
        else None
    )
    return Quotes(reservation, bid, ask)


def _on_tick(price: float, tick: Decimal, rounding: str) -> Decimal:
    """`price` on the tick, rounded the given way; a float's last-bit noise (0.4 + 0.02 =
    0.42000000000000004) is cut at 1e-9 first, so it never costs a whole tick."""
    steps = (Decimal(str(round(price, 9))) / tick).to_integral_value(rounding=rounding)
    return steps * tick
