"""FakeExchange: the venue-neutral books behind every fake venue server.

Orders, fills, positions and cash in Decimal, guarded by one lock (the HTTP
server is threaded). Each venue's fake renders these in its own wire format.

Rules (deliberately simple and predictable):
- a market order fills in full at once at the ask (buy) or bid (sell);
- a limit order that is marketable on arrival fills in full at the quote;
  otherwise IOC/FOK orders expire and GTC/DAY orders rest;
- resting orders fill only when the test says so (`fill`), in part or in full;
- a client order id the book already holds raises `DuplicateOrder`;
- `reject_next(reason)` makes the next `place` raise `OrderRefused(reason)`.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal


class DuplicateOrder(Exception):
    def __init__(self, existing: FakeOrder) -> None:
        super().__init__(f"client order id {existing.client_id} already used")
        self.existing = existing


class OrderRefused(Exception):
    """The venue says no; the message is the venue's reason."""


class UnknownOrder(Exception):
    pass


OPEN_STATUSES = ("open", "partially_filled")


@dataclass(slots=True)
class FakeOrder:
    id: str
    client_id: str | None
    symbol: str
    side: str  # "buy" | "sell"
    order_type: str  # "market" | "limit"
    time_in_force: str
    quantity: Decimal
    limit_price: Decimal | None
    created_at: datetime
    status: str = "open"  # open, partially_filled, filled, canceled, expired
    filled: Decimal = Decimal(0)
    filled_notional: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    extra: dict[str, object] = field(default_factory=dict)  # venue-specific fields as sent

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled

    @property
    def average_price(self) -> Decimal | None:
        return self.filled_notional / self.filled if self.filled else None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True, slots=True)
class FakeFill:
    id: str
    order_id: str
    client_id: str | None
    symbol: str
    side: str
    quantity: Decimal
    price: Decimal
    fee: Decimal
    maker: bool
    time: datetime


@dataclass(slots=True)
class FakePosition:
    symbol: str
    quantity: Decimal  # signed
    average_price: Decimal


FeeFunction = Callable[[str, Decimal, Decimal, bool], Decimal]


def no_fee(symbol: str, quantity: Decimal, price: Decimal, maker: bool) -> Decimal:
    return Decimal(0)


class FakeExchange:
    def __init__(self, cash: Decimal = Decimal("100000"), fee: FeeFunction = no_fee) -> None:
        self.lock = threading.RLock()
        self.cash = cash
        self.quotes: dict[str, tuple[Decimal, Decimal]] = {}
        self.quote_times: dict[str, datetime] = {}
        self.orders: dict[str, FakeOrder] = {}
        self.fills: list[FakeFill] = []
        self.positions: dict[str, FakePosition] = {}
        self._fee = fee
        self._reject_reason: str | None = None
        self._order_ids = itertools.count(1)
        self._fill_ids = itertools.count(1)

    # ------------------------------------------------------------------ test controls
    def set_quote(
        self, symbol: str, bid: Decimal | str, ask: Decimal | str, at: datetime | None = None
    ) -> None:
        with self.lock:
            self.quotes[symbol] = (Decimal(bid), Decimal(ask))
            self.quote_times[symbol] = at or datetime.now(UTC)

    def reject_next(self, reason: str) -> None:
        with self.lock:
            self._reject_reason = reason

    def add_position(self, symbol: str, quantity: Decimal, average_price: Decimal) -> None:
        with self.lock:
            self.positions[symbol] = FakePosition(symbol, quantity, average_price)

    # ------------------------------------------------------------------ venue behaviour
    def find_client(self, client_id: str) -> FakeOrder | None:
        with self.lock:
            return next((o for o in self.orders.values() if o.client_id == client_id), None)

    def get(self, order_id: str) -> FakeOrder:
        with self.lock:
            try:
                return self.orders[order_id]
            except KeyError:
                raise UnknownOrder(order_id) from None

    def place(
        self,
        symbol: str,
        side: str,
        quantity: Decimal,
        order_type: str,
        limit_price: Decimal | None = None,
        time_in_force: str = "gtc",
        client_id: str | None = None,
        order_id: str | None = None,
        extra: dict[str, object] | None = None,
    ) -> FakeOrder:
        with self.lock:
            if client_id:
                existing = self.find_client(client_id)
                if existing is not None:
                    raise DuplicateOrder(existing)
            if self._reject_reason is not None:
                reason, self._reject_reason = self._reject_reason, None
                raise OrderRefused(reason)
            if side not in ("buy", "sell"):
                raise OrderRefused(f"side must be buy or sell, got {side!r}")
            if quantity <= 0:
                raise OrderRefused(f"quantity must be positive, got {quantity}")
            now = datetime.now(UTC)
            order = FakeOrder(
                id=order_id or f"ord-{next(self._order_ids)}",
                client_id=client_id,
                symbol=symbol,
                side=side,
                order_type=order_type,
                time_in_force=time_in_force,
                quantity=quantity,
                limit_price=limit_price,
                created_at=now,
                updated_at=now,
                extra=dict(extra or {}),
            )
            quote = self.quotes.get(symbol)
            if order_type == "market":
                if quote is None:
                    raise OrderRefused(f"no market for {symbol}")
                self.orders[order.id] = order
                self._execute(order, order.quantity, quote[1] if side == "buy" else quote[0], maker=False)
                return order
            if limit_price is None:
                raise OrderRefused("a limit order needs a price")
            self.orders[order.id] = order
            if quote is not None:
                bid, ask = quote
                if side == "buy" and ask <= limit_price:
                    self._execute(order, order.quantity, ask, maker=False)
                    return order
                if side == "sell" and bid >= limit_price:
                    self._execute(order, order.quantity, bid, maker=False)
                    return order
            if time_in_force.lower() in ("ioc", "fok", "fak", "immediate_or_cancel", "fill_or_kill"):
                order.status = "expired"
            return order

    def fill(self, order_id: str, quantity: Decimal | None = None, price: Decimal | None = None) -> FakeFill:
        """The market trades against a resting order: `quantity` of it (default: all that is left)."""
        with self.lock:
            order = self.get(order_id)
            if not order.is_open:
                raise OrderRefused(f"order {order_id} is {order.status}")
            amount = order.remaining if quantity is None else quantity
            fill_price = price if price is not None else order.limit_price
            assert fill_price is not None
            return self._execute(order, amount, fill_price, maker=True)

    def cancel(self, order_id: str) -> FakeOrder:
        with self.lock:
            order = self.get(order_id)
            if not order.is_open:
                raise OrderRefused(f"order {order_id} is already {order.status}")
            order.status = "canceled"
            order.updated_at = datetime.now(UTC)
            return order

    def open_orders(self) -> list[FakeOrder]:
        with self.lock:
            return [o for o in self.orders.values() if o.is_open]

    def _execute(self, order: FakeOrder, quantity: Decimal, price: Decimal, maker: bool) -> FakeFill:
        if quantity <= 0 or quantity > order.remaining:
            raise OrderRefused(f"cannot fill {quantity} of {order.id}: {order.remaining} left")
        now = datetime.now(UTC)
        fee = self._fee(order.symbol, quantity, price, maker)
        fill = FakeFill(
            id=f"trd-{next(self._fill_ids)}",
            order_id=order.id,
            client_id=order.client_id,
            symbol=order.symbol,
            side=order.side,
            quantity=quantity,
            price=price,
            fee=fee,
            maker=maker,
            time=now,
        )
        self.fills.append(fill)
        order.filled += quantity
        order.filled_notional += quantity * price
        order.fees += fee
        order.status = "filled" if order.remaining == 0 else "partially_filled"
        order.updated_at = now
        signed = quantity if order.side == "buy" else -quantity
        self.cash -= signed * price + fee
        held = self.positions.get(order.symbol)
        if held is None or held.quantity == 0:
            self.positions[order.symbol] = FakePosition(order.symbol, signed, price)
        else:
            new_quantity = held.quantity + signed
            if new_quantity == 0:
                del self.positions[order.symbol]
            elif (held.quantity > 0) == (signed > 0):
                held.average_price = (abs(held.quantity) * held.average_price + quantity * price) / abs(
                    new_quantity
                )
                held.quantity = new_quantity
            elif (held.quantity > 0) == (new_quantity > 0):
                held.quantity = new_quantity
            else:
                self.positions[order.symbol] = FakePosition(order.symbol, new_quantity, price)
        return fill
