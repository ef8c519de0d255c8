"""Instruments: what can be traded, where, and in which increments."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from domain.contracts import ContractSpec


class AssetClass(StrEnum):
    STOCK = "stock"
    CRYPTO = "crypto"
    FOREX = "forex"
    PREDICTION = "prediction"


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable contract on one venue.

    `tick_size` is the price increment, `lot_size` the quantity increment and
    `min_quantity` / `min_notional` the venue's minimums. `underlying` groups
    instruments that move together (EUR_USD and EUR/USD are one underlying);
    it is what the contradictory-position blocker compares.

    `contract` is the question a prediction market settles on (strike, outcome, event),
    read by the venue adapter from the market's own payload; None for every other asset
    class, and for a market whose payload did not parse. It takes part in equality and
    hashing like every other field (a `ContractSpec` is a frozen value).
    """

    symbol: str
    venue: str
    asset_class: AssetClass
    tick_size: Decimal
    lot_size: Decimal
    underlying: str
    min_quantity: Decimal = Decimal(0)
    min_notional: Decimal = Decimal(0)
    quote_currency: str = "USD"
    contract: ContractSpec | None = None
    # Unique across venues: `venue:symbol`. Stored, not computed: the daemon reads it millions of
    # times a simulated day (every quote, position and book lookup is keyed by it).
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.symbol:
            raise ValueError("instrument symbol must not be empty")
        if self.tick_size <= 0:
            raise ValueError(f"{self.symbol}: tick_size must be positive, got {self.tick_size}")
        if self.lot_size <= 0:
            raise ValueError(f"{self.symbol}: lot_size must be positive, got {self.lot_size}")
        if self.min_quantity < 0 or self.min_notional < 0:
            raise ValueError(f"{self.symbol}: venue minimums must not be negative")
        object.__setattr__(self, "key", f"{self.venue}:{self.symbol}")

    def round_price(self, price: Decimal) -> Decimal:
        """Nearest valid price (banker's rounding to the tick)."""
        ticks = (price / self.tick_size).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
        return ticks * self.tick_size

    def round_quantity(self, quantity: Decimal) -> Decimal:
        """Largest valid quantity not above `quantity` (never rounds a size up)."""
        lots = (quantity / self.lot_size).quantize(Decimal(1), rounding=ROUND_DOWN)
        return lots * self.lot_size
