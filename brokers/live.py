"""LiveAdapter: what every real-venue adapter shares, so each one only speaks its venue's language.

An adapter subclasses `LiveAdapter` and implements the venue calls; this base
owns the parts of the Broker protocol that must not differ between venues:
- `submit` rounds price and size to the venue's increments before anything
  leaves (a buy limit rounds down, a sell limit up, a size always down) and
  refuses, without a request, an order that rounds below the venue's minimums;
- idempotency: an order this process already sent, or any retry of a send, is
  first looked up by client order id; a venue that enforces unique client ids
  answers a duplicate with `DuplicateClientOrderId`, which also turns into a
  lookup. A resend therefore never creates a second order;
- the venue's refusal (`VenueRejected`) becomes a REJECTED order with its reason;
- every call goes through one `VenueCaller` (thread, rate limit, retries, health).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, ClassVar, TypeVar

from brokers.base import BrokerHealth, DuplicateClientOrderId, VenueOrder, VenueRejected, VenueUnavailable
from brokers.calls import Classifier, VenueCaller
from brokers.factory import VenueConnection
from domain.instruments import Instrument
from domain.orders import OrderIntent, OrderStatus
from domain.signals import Side
from utils.clock import WALL_CLOCK

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class OutboundOrder:
    """An intent with its price and size on the venue's grid: what actually leaves."""

    intent: OrderIntent
    quantity: Decimal
    limit_price: Decimal | None

    @property
    def client_order_id(self) -> str:
        return self.intent.client_order_id

    @property
    def instrument(self) -> Instrument:
        return self.intent.instrument


def outbound_price(price: Decimal, side: Side, tick: Decimal) -> Decimal:
    """`price` on the tick grid, never worse for us: a buy rounds down, a sell up."""
    rounding = ROUND_FLOOR if side is Side.BUY else ROUND_CEILING
    return (price / tick).quantize(Decimal(1), rounding=rounding) * tick


def prepare(intent: OrderIntent) -> OutboundOrder | str:
    """The order on the venue's grid, or the reason it cannot be sent."""
    instrument = intent.instrument
    quantity = instrument.round_quantity(intent.quantity)
    if quantity <= 0:
        return (
            f"quantity {intent.quantity} rounds to zero on the {instrument.lot_size} lot "
            f"of {instrument.symbol}"
        )
    if quantity < instrument.min_quantity:
        return f"quantity {quantity} is below the {instrument.min_quantity} minimum for {instrument.symbol}"
    price = None
    if intent.limit_price is not None:
        price = outbound_price(intent.limit_price, intent.side, instrument.tick_size)
        if price <= 0:
            return f"limit {intent.limit_price} rounds to no valid price on the {instrument.tick_size} tick"
        if instrument.min_notional and quantity * price < instrument.min_notional:
            return (
                f"notional {quantity * price} is below the {instrument.min_notional} minimum "
                f"for {instrument.symbol}"
            )
    return OutboundOrder(intent, quantity, price)


def rejected(intent: OrderIntent, reason: str) -> VenueOrder:
    return VenueOrder(
        client_order_id=intent.client_order_id,
        venue_order_id=None,
        instrument_key=intent.instrument.key,
        status=OrderStatus.REJECTED,
        filled_quantity=Decimal(0),
        average_fill_price=None,
        reason=reason,
    )


class LiveAdapter(ABC):
    """Base of the real-venue adapters; subclasses implement the abstract venue calls."""

    # True where the venue itself refuses a second order with a known client id (then a
    # first send skips the lookup); False means every send looks the id up first.
    venue_rejects_duplicate_client_ids: ClassVar[bool] = False
    venue_label: ClassVar[str] = "venue"  # how messages name the venue: "Alpaca", "Kalshi", ...

    def __init__(self, connection: VenueConnection, classify: Classifier) -> None:
        self.connection = connection
        self._health = BrokerHealth(
            venue=connection.name,
            details={"kind": connection.kind, "environment": connection.environment, "mode": "live"},
        )
        self.caller = VenueCaller(
            self._health,
            classify,
            connection.policy,
            connection.requests_per_second,
            # the SDK's own timeout fires first; this only guards against a call that hangs anyway
            call_timeout_seconds=connection.timeout_seconds * 3,
        )
        self._sent: set[str] = set()  # client order ids this process has sent (or tried to)

    @property
    def venue(self) -> str:
        return self.connection.name

    def health(self) -> BrokerHealth:
        return self._health

    async def submit(self, intent: OrderIntent) -> VenueOrder:
        outbound = prepare(intent)
        if isinstance(outbound, str):
            return rejected(intent, outbound)
        client_order_id = intent.client_order_id
        tries = 0

        async def attempt() -> VenueOrder:
            nonlocal tries
            tries += 1
            if tries > 1 or client_order_id in self._sent or not self.venue_rejects_duplicate_client_ids:
                existing = await self._find(client_order_id)
                if existing is not None:
                    return existing
            self._sent.add(client_order_id)
            try:
                return await self._create(outbound)
            except VenueRejected as refusal:
                return rejected(intent, refusal.reason)
            except DuplicateClientOrderId:
                found = await self._find(client_order_id)
                if found is None:
                    raise
                return found

        return await self.caller.retrying("submit", attempt)

    async def order_status(self, client_order_id: str) -> VenueOrder | None:
        return await self.caller.retrying("order status", lambda: self._find(client_order_id))

    def parsed(self, what: str, parse: Callable[..., T], *args: Any) -> T:
        """`parse(*args)`; an answer our parsers cannot read becomes `VenueUnavailable` with the reason.

        Unavailable, not rejected: whether the venue acted on the request is unknown, so an order
        whose answer is unreadable stays open in the journal and is looked up again.
        """
        try:
            return parse(*args)
        except (ValueError, TypeError, KeyError, ArithmeticError) as exc:
            raise self.unreadable(what, str(exc)) from exc

    def unreadable(self, what: str, detail: str) -> VenueUnavailable:
        message = f"{self.venue} {what}: unreadable {self.venue_label} answer: {detail}"
        self._health.last_error = message
        self._health.last_error_at = WALL_CLOCK.now()
        return VenueUnavailable(message)

    @abstractmethod
    async def _find(self, client_order_id: str) -> VenueOrder | None:
        """One lookup by client order id (use `self.caller.once`); None when the venue never saw it."""

    @abstractmethod
    async def _create(self, order: OutboundOrder) -> VenueOrder:
        """One send (use `self.caller.once`); raise what `once` raises."""
