"""The Broker protocol every venue adapter (and the paper broker) implements.

Adapters wrap the outside world and hold no trading logic. Every method is
async; blocking SDK calls run off the event loop inside the adapter. Errors
leave an adapter only as one of the `BrokerError` classes below.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from domain.instruments import Instrument
from domain.market import BarSeries, Quote
from domain.orders import Fill, OrderIntent, OrderStatus


class BrokerError(Exception):
    """Base class of every error an adapter raises."""


class VenueUnavailable(BrokerError):
    """The venue could not be reached or answered 5xx/timeouts past the retry budget."""


class RateLimited(BrokerError):
    """The venue said 429 and the retry budget is spent."""


class DuplicateClientOrderId(BrokerError):
    """The venue already holds an order with this client order id."""


class VenueRejected(BrokerError):
    """The venue refused a request (a 4xx other than 429); `reason` is the venue's own words."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class OrderNotFound(BrokerError):
    """The venue does not know the order asked about."""


class CredentialsMissing(VenueUnavailable):
    """A live venue was configured but its keys are not in the environment."""


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """An order as the venue sees it."""

    client_order_id: str
    venue_order_id: str | None
    instrument_key: str
    status: OrderStatus
    filled_quantity: Decimal
    average_fill_price: Decimal | None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class VenuePosition:
    """A venue's net holding; `quantity` is signed (short < 0; NO contracts < 0 on Kalshi).

    `average_entry_price` is None where the venue does not know it (spot balances).
    """

    instrument_key: str
    quantity: Decimal
    average_entry_price: Decimal | None


@dataclass(frozen=True, slots=True)
class Balance:
    currency: str
    cash: Decimal
    free: Decimal


@dataclass(slots=True)
class BrokerHealth:
    """What the dashboard's broker panel shows; mutated only by its adapter."""

    venue: str
    connected: bool = True
    last_latency_ms: float | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    last_success_at: datetime | None = None
    rate_limit_remaining: int | None = None
    details: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "venue": self.venue,
            "connected": self.connected,
            "last_latency_ms": None if self.last_latency_ms is None else round(self.last_latency_ms, 3),
            "last_error": self.last_error,
            "last_error_at": self.last_error_at.isoformat() if self.last_error_at else None,
            "last_success_at": self.last_success_at.isoformat() if self.last_success_at else None,
            "rate_limit_remaining": self.rate_limit_remaining,
            "details": dict(self.details),
        }


@runtime_checkable
class MarketDataSource(Protocol):
    """Anything that prices instruments: a venue adapter, the simulated market, a data vendor.

    The price chain asks its sources in turn; the paper broker fills against one.
    """

    async def quote(self, instrument: Instrument) -> Quote | None:
        """The current best bid/ask, or None when the source has no usable price."""
        ...

    async def bars(self, instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None:
        """The last `count` complete bars, oldest first; shorter or None when history is short."""
        ...


@runtime_checkable
class Broker(Protocol):
    """One venue in one mode (paper or live)."""

    @property
    def venue(self) -> str: ...

    async def instruments(self) -> list[Instrument]: ...

    async def quote(self, instrument: Instrument) -> Quote | None:
        """The current best bid/ask, or None when the venue has no usable price."""
        ...

    async def bars(self, instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None: ...

    async def balance(self) -> Balance: ...

    async def positions(self) -> list[VenuePosition]: ...

    async def open_orders(self) -> list[VenueOrder]: ...

    async def submit(self, intent: OrderIntent) -> VenueOrder:
        """Send an order. A venue refusal comes back as status REJECTED with its reason;
        a resend of a known client order id returns the existing order, never a second one."""
        ...

    async def cancel(self, client_order_id: str) -> VenueOrder | None: ...

    async def order_status(self, client_order_id: str) -> VenueOrder | None:
        """Look an order up by our client order id; None if the venue never saw it."""
        ...

    async def fills_since(self, since: datetime) -> list[Fill]: ...

    def health(self) -> BrokerHealth: ...


@runtime_checkable
class ListsSeries(Protocol):
    """A prediction venue that lists a series' open markets (Kalshi): new ones open every day."""

    async def series_markets(self, series: Sequence[str]) -> list[Instrument]: ...
