"""Order intents, orders with their state machine, and fills."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from domain.instruments import Instrument
from domain.signals import Side, Signal
from domain.time import require_aware


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class TimeInForce(StrEnum):
    GTC = "gtc"
    IOC = "ioc"
    DAY = "day"


class OrderStatus(StrEnum):
    NEW = "new"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    PENDING_CANCEL = "pending_cancel"
    CANCELED = "canceled"
    DENIED = "denied"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES

    @property
    def is_open(self) -> bool:
        return not self.is_terminal


TERMINAL_STATUSES = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.DENIED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)

_S = OrderStatus
# The one table of legal moves. Venues may skip ACCEPTED (an immediate fill) and
# may fill an order while our cancel is in flight, so those edges are legal.
ALLOWED_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    _S.NEW: frozenset({_S.SUBMITTED, _S.DENIED}),
    _S.SUBMITTED: frozenset(
        {_S.ACCEPTED, _S.REJECTED, _S.PARTIALLY_FILLED, _S.FILLED, _S.PENDING_CANCEL, _S.CANCELED, _S.EXPIRED}
    ),
    _S.ACCEPTED: frozenset({_S.PARTIALLY_FILLED, _S.FILLED, _S.PENDING_CANCEL, _S.CANCELED, _S.EXPIRED}),
    _S.PARTIALLY_FILLED: frozenset(
        {_S.PARTIALLY_FILLED, _S.FILLED, _S.PENDING_CANCEL, _S.CANCELED, _S.EXPIRED}
    ),
    _S.PENDING_CANCEL: frozenset({_S.CANCELED, _S.PARTIALLY_FILLED, _S.FILLED, _S.ACCEPTED, _S.EXPIRED}),
    _S.FILLED: frozenset(),
    _S.CANCELED: frozenset(),
    _S.DENIED: frozenset(),
    _S.REJECTED: frozenset(),
    _S.EXPIRED: frozenset(),
}


class InvalidOrderTransition(Exception):
    """Raised for a state change the order state machine does not allow."""


def client_order_id_for(signal_id: str, leg: str = "entry") -> str:
    """The venue-facing id of the order a signal produces.

    Derived, never random: after a crash the same signal yields the same id,
    so the venue (or our own journal) recognises a resend. 32 characters fit
    every venue's client-id field (Alpaca 128, OANDA 128, Coinbase 128, Kalshi 64).
    """
    digest = hashlib.sha256(f"{signal_id}|{leg}".encode()).hexdigest()[:29]
    return f"co-{digest}"


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """What the risk engine decided to send; written to the journal (NEW) before it leaves."""

    client_order_id: str
    signal_id: str
    bot: str
    instrument: Instrument
    side: Side
    quantity: Decimal
    order_type: OrderType
    time_in_force: TimeInForce
    created_at: datetime
    limit_price: Decimal | None = None
    reduce_only: bool = False

    def __post_init__(self) -> None:
        require_aware(self.created_at, "order intent time")
        if not self.quantity.is_finite() or self.quantity <= 0:
            raise ValueError(f"{self.client_order_id}: quantity must be positive, got {self.quantity}")
        if self.order_type is OrderType.LIMIT:
            if self.limit_price is None or not self.limit_price.is_finite() or self.limit_price <= 0:
                raise ValueError(f"{self.client_order_id}: a limit order needs a positive limit price")
        elif self.limit_price is not None:
            raise ValueError(f"{self.client_order_id}: a market order takes no limit price")


def market_intent(signal: Signal, quantity: Decimal, now: datetime, *, reduce_only: bool) -> OrderIntent:
    """The immediate-or-cancel market order a signal becomes (its id derived from the signal's)."""
    return OrderIntent(
        client_order_id=client_order_id_for(signal.id),
        signal_id=signal.id,
        bot=signal.bot,
        instrument=signal.instrument,
        side=signal.side,
        quantity=quantity,
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.IOC,
        created_at=now,
        reduce_only=reduce_only,
    )


def intent_for(signal: Signal, quantity: Decimal, now: datetime, *, reduce_only: bool) -> OrderIntent:
    """The order a signal becomes: a resting limit order (good till canceled) at its `limit_price`,
    else the immediate-or-cancel market order of `market_intent`."""
    immediate = market_intent(signal, quantity, now, reduce_only=reduce_only)
    if signal.limit_price is None:
        return immediate
    return replace(
        immediate, order_type=OrderType.LIMIT, time_in_force=TimeInForce.GTC, limit_price=signal.limit_price
    )


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution reported by a venue. `venue_trade_id` is unique per venue.

    A `settlement` fill is the venue paying out a settled prediction market: it closes the
    position at the settlement value, which is $0 for the losing side (the one price a fill may
    be zero at), with no fee.
    """

    client_order_id: str
    venue: str
    venue_trade_id: str
    instrument_key: str
    side: Side
    quantity: Decimal
    price: Decimal
    fee: Decimal
    time: datetime
    settlement: bool = False

    def __post_init__(self) -> None:
        require_aware(self.time, "fill time")
        if not self.quantity.is_finite() or self.quantity <= 0:
            raise ValueError(f"fill {self.venue_trade_id}: quantity must be positive")
        if not self.price.is_finite() or self.price < 0 or (self.price == 0 and not self.settlement):
            raise ValueError(f"fill {self.venue_trade_id}: price must be positive, got {self.price}")
        if not self.fee.is_finite() or self.fee < 0:
            raise ValueError(f"fill {self.venue_trade_id}: fee must not be negative")


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One move of an order's status, as the journal records it."""

    from_status: OrderStatus
    to_status: OrderStatus
    time: datetime
    reason: str | None = None


class Order:
    """An order's life, driven only through `transition` and `apply_fill`.

    Mutable on purpose: it is an entity whose state changes, and every change
    goes through the transition table above.
    """

    __slots__ = (
        "_seen_trade_ids",
        "_unjournaled",
        "average_fill_price",
        "filled_quantity",
        "intent",
        "reject_reason",
        "status",
        "updated_at",
        "venue_order_id",
    )

    def __init__(
        self,
        intent: OrderIntent,
        status: OrderStatus = OrderStatus.NEW,
        filled_quantity: Decimal = Decimal(0),
        average_fill_price: Decimal | None = None,
        venue_order_id: str | None = None,
        reject_reason: str | None = None,
        updated_at: datetime | None = None,
        seen_trade_ids: set[str] | None = None,
    ) -> None:
        self.intent = intent
        self.status = status
        self.filled_quantity = filled_quantity
        self.average_fill_price = average_fill_price
        self.venue_order_id = venue_order_id
        self.reject_reason = reject_reason
        self.updated_at = updated_at or intent.created_at
        self._seen_trade_ids: set[str] = set(seen_trade_ids or ())
        self._unjournaled: list[StatusChange] = []

    @property
    def client_order_id(self) -> str:
        return self.intent.client_order_id

    @property
    def remaining_quantity(self) -> Decimal:
        return self.intent.quantity - self.filled_quantity

    def transition(self, new_status: OrderStatus, when: datetime, reason: str | None = None) -> None:
        if new_status not in ALLOWED_TRANSITIONS[self.status]:
            raise InvalidOrderTransition(
                f"order {self.client_order_id}: {self.status.value} -> {new_status.value} is not allowed"
            )
        self._unjournaled.append(StatusChange(self.status, new_status, when, reason))
        self.status = new_status
        self.updated_at = when
        if reason is not None:
            self.reject_reason = reason

    def take_status_changes(self) -> list[StatusChange]:
        """The moves made since the journal last asked, oldest first (and forget them)."""
        changes, self._unjournaled = self._unjournaled, []
        return changes

    def apply_fill(self, fill: Fill) -> bool:
        """Apply a fill; return False (and change nothing) for a trade id already seen.

        A fill after an acknowledged cancel is still applied, because the venue
        executed it; the order then stays CANCELED unless it is now complete.
        """
        if fill.client_order_id != self.client_order_id:
            raise ValueError(
                f"fill {fill.venue_trade_id} belongs to {fill.client_order_id}, not {self.client_order_id}"
            )
        if fill.venue_trade_id in self._seen_trade_ids:
            return False
        new_filled = self.filled_quantity + fill.quantity
        if new_filled > self.intent.quantity:
            raise ValueError(
                f"order {self.client_order_id}: fill {fill.venue_trade_id} overfills "
                f"({new_filled} > {self.intent.quantity})"
            )
        previous_value = (self.average_fill_price or Decimal(0)) * self.filled_quantity
        self.average_fill_price = (previous_value + fill.price * fill.quantity) / new_filled
        self.filled_quantity = new_filled
        self._seen_trade_ids.add(fill.venue_trade_id)
        complete = new_filled == self.intent.quantity
        if self.status is OrderStatus.CANCELED or self.status is OrderStatus.EXPIRED:
            self.updated_at = fill.time
            return True
        if self.status is OrderStatus.NEW:
            # A fill proves the order was sent, whatever we recorded.
            self.transition(OrderStatus.SUBMITTED, fill.time)
        self.transition(OrderStatus.FILLED if complete else OrderStatus.PARTIALLY_FILLED, fill.time)
        return True

    @property
    def seen_trade_ids(self) -> frozenset[str]:
        return frozenset(self._seen_trade_ids)
