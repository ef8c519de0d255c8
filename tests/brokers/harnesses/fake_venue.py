"""What every live adapter's harness does the same way: drive the fake venue behind it.

A harness subclasses `FakeVenueHarness`, starts its fake (anything with a `server`
and an `exchange`), sets `book_symbol` (the instrument's name in the fake's book)
and `routes`, and overrides only what its venue does differently (how an order is
found by our client id, what the wire carried, how a refusal is armed).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from brokers.base import Broker
from domain.orders import OrderIntent
from tests.brokers.harness import FAULTS, PARTIAL_FILLS, WIRE, Routes, SentOrder
from tests.fakes.exchange import FakeExchange, FakeOrder
from tests.fakes.server import FakeVenueServer, Fault


class FakeVenue(Protocol):
    server: FakeVenueServer
    exchange: FakeExchange


class FakeVenueHarness:
    capabilities: frozenset[str] = frozenset({PARTIAL_FILLS, FAULTS, WIRE})
    routes: Routes
    fake: Any  # a FakeVenue; each harness names its own fake's type
    book_symbol: str
    broker: Broker

    def venue_order(self, client_order_id: str) -> FakeOrder | None:
        """The fake's record of the order we sent under `client_order_id`."""
        exchange: FakeExchange = self.fake.exchange
        return exchange.find_client(client_order_id)

    def fill(self, client_order_id: str, quantity: Decimal | None = None) -> None:
        order = self.venue_order(client_order_id)
        assert order is not None, f"the fake never received {client_order_id}"
        self.fake.exchange.fill(order.id, quantity)

    def inject(self, fault: Fault) -> None:
        self.fake.server.inject(fault)

    def clear_faults(self) -> None:
        self.fake.server.clear_faults()

    def request_times(self, method: str, path_contains: str) -> list[float]:
        return [request.at for request in self.fake.server.requests_to(method, path_contains)]

    def reject_next_order(self, reason: str) -> None:
        self.fake.exchange.reject_next(reason)

    def orders_at_venue(self) -> int:
        with self.fake.exchange.lock:
            return len(self.fake.exchange.orders)

    def sent_order(self, client_order_id: str) -> SentOrder | None:
        order = self.venue_order(client_order_id)
        return None if order is None else SentOrder(order.limit_price, order.quantity)

    def add_position(self, quantity: Decimal, price: Decimal) -> None:
        self.fake.exchange.add_position(self.book_symbol, quantity, price)

    async def submit_and_lose_answer(self, intent: OrderIntent) -> None:
        # the venue books the order, then the connection closes before the answer goes out
        method, path = self.routes.submit
        self.inject(Fault(drop=True, method=method, path_contains=path))
        await self.broker.submit(intent)

    def now(self) -> datetime:
        return datetime.now(UTC)
