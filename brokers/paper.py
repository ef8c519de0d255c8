"""PaperBroker: a venue of our own that fills against a market data source and keeps its own books.

It implements the whole `Broker` protocol, so paper and live share the road up
to the last hop. Its books live in their own SQLite file, written by code that
shares nothing with `storage/`: the end-of-day audit compares the two, which is
only a test if they were kept separately.

Execution rules (one venue account per broker; bots share it):
- Market orders fill at once, in full, at the ask (buy) or bid (sell) moved
  adversely by the slippage model and rounded to the tick adversely; taker fee.
- A limit order marketable on arrival fills at once like a market order, but
  never beyond its limit; taker fee. Otherwise an IOC limit expires and a
  GTC/DAY limit rests. A resting limit fills in full at its limit price, maker
  fee, once a fresh quote crosses it (ask <= limit for a buy, bid >= limit for a
  sell). Resting orders are checked whenever the broker is called (`poll`); the
  broker does not see prices between calls. DAY orders expire at the next
  midnight UTC.
- Selling more than is held opens a short; there is no margin model, so sells
  are never refused for cash, except on a prediction market: there a YES sold
  beyond what is held is a NO bought, paid (1 - price) a contract from free cash,
  and $1 a contract of the cash stays reserved while it is held. Buys need free
  cash (cash less what resting buy limits reserve) for the notional plus the
  fee. `reduce_only` is not enforced here: bots share the account, so one bot's
  exit can look like an increase of the venue's net position; the orchestrator's
  books own that rule.
- Cash: a buy pays quantity x price + fee; a sell receives quantity x price - fee.
- Settlement (`settle`): when a prediction market settles, the venue pays out every
  held contract at its settlement value, $1 or $0 per YES. The paper venue does it
  as a reduce-only order filled at once and in full at exactly that value, without a
  quote, fee or slippage; the fill is marked `settlement` and is stored, moves cash
  and holdings, and comes back from `fills_since` like any other.
- Refusals are orders with status REJECTED and a reason, never exceptions. Only
  a failing database raises (`VenueUnavailable`).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path

from brokers.base import (
    Balance,
    BrokerError,
    BrokerHealth,
    MarketDataSource,
    VenueOrder,
    VenuePosition,
    VenueUnavailable,
)
from domain.fees import FeeSchedule
from domain.instruments import AssetClass, Instrument
from domain.market import BarSeries, Quote
from domain.orders import (
    ALLOWED_TRANSITIONS,
    Fill,
    InvalidOrderTransition,
    OrderIntent,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from domain.signals import Side
from utils.clock import Clock
from utils.sqlite_checkpoint import WRITER_AUTOCHECKPOINT_PAGES, WalCheckpointer

BPS = Decimal(10_000)
CURRENCY = "USD"
SETTLEMENT_VALUES = (Decimal(0), Decimal(1))  # what one YES contract pays when its market settles
# the `liquidity` a settlement fill is stored with: it neither made nor took liquidity
SETTLEMENT_LIQUIDITY = "settlement"


@dataclass(frozen=True, slots=True)
class FeeModel:
    """Fees in basis points of the notional: taker for orders that take liquidity, maker for resting ones."""

    taker_bps: Decimal
    maker_bps: Decimal

    def __post_init__(self) -> None:
        for name, value in (("taker_bps", self.taker_bps), ("maker_bps", self.maker_bps)):
            if not value.is_finite() or value < 0:
                raise ValueError(f"fee model: {name} must be a non-negative number, got {value}")

    def fee(self, quantity: Decimal, price: Decimal, maker: bool) -> Decimal:
        rate = self.maker_bps if maker else self.taker_bps
        return abs(quantity * price) * rate / BPS


@dataclass(frozen=True, slots=True)
class SlippageModel:
    """Adverse price move of an order that takes liquidity: a fixed part plus market impact.

    `adverse_bps(n) = fixed_bps + impact_bps_per_10k * n / 10_000` for a notional of n
    dollars: 1 bp fixed and 0.5 bp per $10k moves a $20k buy at 100.00 to 100.02.
    """

    fixed_bps: Decimal
    impact_bps_per_10k: Decimal

    def __post_init__(self) -> None:
        for name, value in (("fixed_bps", self.fixed_bps), ("impact_bps_per_10k", self.impact_bps_per_10k)):
            if not value.is_finite() or value < 0:
                raise ValueError(f"slippage model: {name} must be a non-negative number, got {value}")

    def adverse_bps(self, notional: Decimal) -> Decimal:
        return self.fixed_bps + self.impact_bps_per_10k * abs(notional) / Decimal(10_000)

    def adjusted_price(self, price: Decimal, side: Side, notional: Decimal) -> Decimal:
        """`price` moved against the order: up for a buy, down for a sell (not rounded)."""
        move = price * self.adverse_bps(notional) / BPS
        return price + move if side is Side.BUY else price - move


@dataclass(slots=True)
class _PaperOrder:
    """The venue's own record of an order; its status moves only along ALLOWED_TRANSITIONS."""

    sequence: int
    client_order_id: str
    venue_order_id: str | None
    instrument_key: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    quantity: Decimal
    limit_price: Decimal | None
    status: OrderStatus
    filled_quantity: Decimal
    average_fill_price: Decimal | None
    reason: str | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None

    def move_to(self, status: OrderStatus, when: datetime, reason: str | None = None) -> None:
        if status not in ALLOWED_TRANSITIONS[self.status]:
            raise InvalidOrderTransition(
                f"paper order {self.client_order_id}: {self.status.value} -> {status.value} is not allowed"
            )
        self.status = status
        self.updated_at = when
        if reason is not None:
            self.reason = reason

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled_quantity

    def view(self) -> VenueOrder:
        return VenueOrder(
            client_order_id=self.client_order_id,
            venue_order_id=self.venue_order_id,
            instrument_key=self.instrument_key,
            status=self.status,
            filled_quantity=self.filled_quantity,
            average_fill_price=self.average_fill_price,
            reason=self.reason,
        )


@dataclass(frozen=True, slots=True)
class _Holding:
    quantity: Decimal
    average_entry_price: Decimal

    def after(self, side: Side, quantity: Decimal, price: Decimal) -> _Holding:
        """The holding after a fill: adding averages in, reducing keeps the entry, flipping restarts it."""
        signed = quantity if side is Side.BUY else -quantity
        new_quantity = self.quantity + signed
        if new_quantity == 0:
            return _Holding(Decimal(0), Decimal(0))
        if self.quantity == 0 or (self.quantity > 0) == (signed > 0):
            held = abs(self.quantity)
            average = (held * self.average_entry_price + quantity * price) / (held + quantity)
            return _Holding(new_quantity, average)
        if (self.quantity > 0) == (new_quantity > 0):
            return _Holding(new_quantity, self.average_entry_price)
        return _Holding(new_quantity, price)


class _Action(StrEnum):
    FILL = "fill"
    REST = "rest"
    EXPIRE = "expire"  # an IOC limit the market does not reach


@dataclass(frozen=True, slots=True)
class _Plan:
    """What an admitted order does now: fill at `price`, rest at its limit, or expire."""

    action: _Action
    price: Decimal
    maker: bool
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class _Execution:
    """A fill written to the database, waiting to be applied to memory."""

    fill: Fill
    order: _PaperOrder
    holding: _Holding
    cash: Decimal


_SCHEMA = """
create table if not exists account (key text primary key, value text not null);
create table if not exists orders (
    sequence integer primary key,
    client_order_id text not null unique,
    venue_order_id text,
    instrument_key text not null,
    side text not null,
    order_type text not null,
    time_in_force text not null,
    quantity text not null,
    limit_price text,
    status text not null,
    filled_quantity text not null,
    average_fill_price text,
    reason text,
    created_at text not null,
    updated_at text not null,
    expires_at text
);
create table if not exists fills (
    sequence integer primary key,
    venue_trade_id text not null unique,
    client_order_id text not null references orders (client_order_id),
    instrument_key text not null,
    side text not null,
    quantity text not null,
    price text not null,
    fee text not null,
    liquidity text not null,
    time text not null
);
create index if not exists fills_by_time on fills (time);
create table if not exists positions (
    instrument_key text primary key,
    quantity text not null,
    average_entry_price text not null
);
create table if not exists submissions (
    sequence integer primary key autoincrement,
    client_order_id text not null,
    received_at text not null,
    duplicate integer not null,
    instrument_key text not null,
    side text not null,
    quantity text not null,
    outcome text not null
);
"""


class PaperBroker:
    """A simulated venue with its own SQLite books; see the module docstring for its rules."""

    def __init__(
        self,
        venue: str,
        instruments: Sequence[Instrument],
        market_data: MarketDataSource,
        clock: Clock,
        fees: FeeSchedule,
        slippage: SlippageModel,
        starting_cash: Decimal,
        max_quote_age_seconds: float,
        database_path: Path,
    ) -> None:
        if not starting_cash.is_finite() or starting_cash < 0:
            raise ValueError(f"paper venue {venue}: starting cash must be a non-negative number")
        if max_quote_age_seconds <= 0:
            raise ValueError(f"paper venue {venue}: max_quote_age_seconds must be positive")
        foreign = [i.key for i in instruments if i.venue != venue]
        if foreign:
            raise ValueError(f"paper venue {venue} was given instruments of other venues: {foreign}")
        self._venue = venue
        self._instruments = {i.key: i for i in instruments}
        self._market = market_data
        self._clock = clock
        self._fees = fees
        self._slippage = slippage
        self._max_quote_age = max_quote_age_seconds
        self._path = Path(database_path)
        self._lock = asyncio.Lock()
        self._health = BrokerHealth(venue=venue, details={"mode": "paper", "database": str(self._path)})
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self._path, timeout=10.0)
        # WAL survives a killed process; NORMAL sync may lose the last commits only on power loss.
        self._db.execute("pragma journal_mode=wal")
        self._db.execute("pragma synchronous=normal")
        self._db.execute("pragma foreign_keys=on")
        # checkpoints off the hot path: SQLite's own would stall a submit every few dozen orders
        self._db.execute(f"pragma wal_autocheckpoint={WRITER_AUTOCHECKPOINT_PAGES}")
        self._checkpointer = WalCheckpointer(str(self._path), owner=self)
        self._checkpointer.start()
        with self._db:
            self._db.executescript(_SCHEMA)
        self._cash = self._open_account(starting_cash)
        self._orders = self._load_orders()
        # open orders by client order id, in submission order (a dict used as an ordered set)
        self._open_ids = {o.client_order_id: None for o in self._orders.values() if o.status.is_open}
        self._holdings = self._load_holdings()
        self._next_order_sequence = max((o.sequence for o in self._orders.values()), default=0) + 1
        row = self._db.execute("select coalesce(max(sequence), 0) from fills").fetchone()
        self._next_fill_sequence = int(row[0]) + 1
        # the last `fills_since` answer, under (since, the next fill's sequence when it was read)
        self._last_fills: tuple[tuple[datetime, int], list[Fill]] | None = None

    # ------------------------------------------------------------------------------------------
    # The Broker protocol
    # ------------------------------------------------------------------------------------------
    @property
    def venue(self) -> str:
        return self._venue

    @property
    def database_path(self) -> Path:
        return self._path

    async def instruments(self) -> list[Instrument]:
        return list(self._instruments.values())

    def add_instruments(self, instruments: Sequence[Instrument]) -> None:
        """Trade markets the venue listed after the start (of this venue only)."""
        foreign = [i.key for i in instruments if i.venue != self.venue]
        if foreign:
            raise ValueError(f"paper venue {self.venue} was given instruments of other venues: {foreign}")
        self._instruments.update({i.key: i for i in instruments})

    async def quote(self, instrument: Instrument) -> Quote | None:
        await self.poll()
        if instrument.key not in self._instruments:
            return None
        try:
            return await self._market.quote(instrument)
        except (ValueError, ArithmeticError) as exc:
            raise VenueUnavailable(
                f"paper venue {self._venue}: no price for {instrument.key}: {exc}"
            ) from exc

    async def bars(self, instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None:
        await self.poll()
        if instrument.key not in self._instruments:
            return None
        try:
            return await self._market.bars(instrument, timeframe_seconds, count)
        except (ValueError, ArithmeticError) as exc:
            raise VenueUnavailable(f"paper venue {self._venue}: no bars for {instrument.key}: {exc}") from exc

    async def balance(self) -> Balance:
        await self.poll()
        return Balance(CURRENCY, self._cash, self._cash - self._reserved())

    async def positions(self) -> list[VenuePosition]:
        await self.poll()
        return [
            VenuePosition(key, holding.quantity, holding.average_entry_price)
            for key, holding in sorted(self._holdings.items())
            if holding.quantity != 0
        ]

    async def open_orders(self) -> list[VenueOrder]:
        await self.poll()
        return [o.view() for o in self._open_orders()]

    async def submit(self, intent: OrderIntent) -> VenueOrder:
        """Fill, rest, expire or reject `intent`; a known client order id returns the existing order."""
        async with self._lock:
            await self._poll_unlocked()
            now = self._clock.now()
            known = self._known(intent, now)
            if known is not None:
                return known
            plan = await self._assess(intent, now)
            if isinstance(plan, str):
                return self._refuse(intent, now, plan)
            order = self._new_order(intent, now)
            if plan.action is _Action.FILL:
                with self._storage():
                    self._insert_order(order)
                    self._record_submission(intent, now, duplicate=False, outcome=OrderStatus.FILLED.value)
                    execution = self._execute(order, plan.price, plan.maker, now)
                self._next_order_sequence += 1
                self._apply(execution)
                return execution.order.view()
            if plan.action is _Action.REST:
                order.move_to(OrderStatus.ACCEPTED, now)
            else:
                order.move_to(OrderStatus.EXPIRED, now, plan.reason)
            with self._storage():
                self._insert_order(order)
                self._record_submission(intent, now, duplicate=False, outcome=order.status.value)
            self._remember(order)
            self._next_order_sequence += 1
            return order.view()

    def _known(self, intent: OrderIntent, now: datetime) -> VenueOrder | None:
        """The order a resent client order id already names (the resend is journaled), or None."""
        existing = self._orders.get(intent.client_order_id)
        if existing is None:
            return None
        with self._storage():
            self._record_submission(intent, now, duplicate=True, outcome=existing.status.value)
        return existing.view()

    async def settle(self, intent: OrderIntent, yes_value: Decimal) -> VenueOrder:
        """Pay out a held prediction position at its market's settlement, as the venue does.

        `intent` is a reduce-only order closing (part of) what the account holds: a SELL for
        YES held, a BUY for NO held (a short YES). It fills at once and in full at exactly
        `yes_value`, $1 or $0, with no fee, no slippage and no quote (a settled market has
        none). The fill is marked `settlement`, its trade id is `settle-<client order id>`,
        and its time is the broker clock's now; cash moves as for any fill (YES held settled
        at $1 receives $1 a contract, NO held settled at $1 pays it).

        Refused (a REJECTED order with the reason, as `submit` refuses) for an unknown or a
        non-prediction instrument, an intent that is not reduce-only, and more contracts than
        the account holds on the side the intent closes. A known client order id returns
        the existing order unchanged, as `submit` does. Raises `ValueError` for a `yes_value`
        other than 0 or 1.
        """
        if not yes_value.is_finite() or yes_value not in SETTLEMENT_VALUES:
            raise ValueError(f"{intent.client_order_id}: a YES contract settles at 0 or 1, not {yes_value}")
        async with self._lock:
            await self._poll_unlocked()
            now = self._clock.now()
            known = self._known(intent, now)
            if known is not None:
                return known
            problem = self._settlement_problem(intent)
            if problem is not None:
                return self._refuse(intent, now, problem)
            order = self._new_order(intent, now)
            with self._storage():
                self._insert_order(order)
                self._record_submission(intent, now, duplicate=False, outcome=OrderStatus.FILLED.value)
                execution = self._execute(order, yes_value, maker=False, now=now, settlement=True)
            self._next_order_sequence += 1
            self._apply(execution)
            return execution.order.view()

    def _settlement_problem(self, intent: OrderIntent) -> str | None:
        """Why `intent` cannot settle a held position, or None when it can."""
        instrument = self._instruments.get(intent.instrument.key)
        if instrument is None:
            return f"unknown instrument {intent.instrument.key} on {self._venue}"
        symbol = instrument.symbol
        if instrument.asset_class is not AssetClass.PREDICTION:
            return f"{symbol} is a {instrument.asset_class.value} instrument; only prediction markets settle"
        if not intent.reduce_only:
            return f"a settlement of {symbol} closes a held position, so its order must be reduce-only"
        held = self._holdings.get(instrument.key, _Holding(Decimal(0), Decimal(0))).quantity
        closable = held if intent.side is Side.SELL else -held
        if closable < intent.quantity:
            holding = "YES" if intent.side is Side.SELL else "NO (a short YES)"
            return (
                f"cannot settle {intent.quantity} {symbol} {holding}: the account holds {held} "
                f"(a {intent.side.value} settles what is held the other way)"
            )
        return None

    def _refuse(self, intent: OrderIntent, now: datetime, reason: str) -> VenueOrder:
        """Record `intent` as a new order REJECTED for `reason` (the caller holds the lock)."""
        order = self._new_order(intent, now)
        order.move_to(OrderStatus.REJECTED, now, reason)
        order.venue_order_id = None
        with self._storage():
            self._insert_order(order)
            self._record_submission(intent, now, duplicate=False, outcome=order.status.value)
        self._remember(order)
        self._next_order_sequence += 1
        return order.view()

    async def cancel(self, client_order_id: str) -> VenueOrder | None:
        """Cancel an open order at once; a finished order is returned as it is, an unknown one as None."""
        async with self._lock:
            await self._poll_unlocked()
            order = self._orders.get(client_order_id)
            if order is None:
                return None
            if order.status.is_open:
                updated = _copy(order)
                updated.move_to(OrderStatus.CANCELED, self._clock.now(), "canceled on request")
                with self._storage():
                    self._update_order(updated)
                self._remember(updated)
                order = updated
            return order.view()

    async def order_status(self, client_order_id: str) -> VenueOrder | None:
        await self.poll()
        order = self._orders.get(client_order_id)
        return None if order is None else order.view()

    async def fills_since(self, since: datetime) -> list[Fill]:
        """Fills at or after `since` (inclusive: two fills may share a second), oldest first."""
        await self.poll()
        asked = (since, self._next_fill_sequence)
        if self._last_fills is not None and self._last_fills[0] == asked:
            # the daemon asks every few seconds from its cursor; until a fill is written the answer holds
            return list(self._last_fills[1])
        with self._storage():
            rows = self._db.execute(
                "select client_order_id, venue_trade_id, instrument_key, side, quantity, price, fee, time, "
                "liquidity from fills where time >= ? order by sequence",
                (_text_time(since),),
            ).fetchall()
        fills = [
            Fill(
                client_order_id=row[0],
                venue=self._venue,
                venue_trade_id=row[1],
                instrument_key=row[2],
                side=Side(row[3]),
                quantity=Decimal(row[4]),
                price=Decimal(row[5]),
                fee=Decimal(row[6]),
                time=datetime.fromisoformat(row[7]),
                settlement=row[8] == SETTLEMENT_LIQUIDITY,
            )
            for row in rows
        ]
        self._last_fills = (asked, fills)
        return list(fills)

    def health(self) -> BrokerHealth:
        details = self._health.details
        details["cash"] = str(self._cash)
        details["open_orders"] = str(len(self._open_ids))
        return self._health

    # ------------------------------------------------------------------------------------------
    # Resting orders
    # ------------------------------------------------------------------------------------------
    async def poll(self) -> list[Fill]:
        """Expire DAY orders past their time and fill resting limits the market now crosses."""
        async with self._lock:
            return await self._poll_unlocked()

    async def _poll_unlocked(self) -> list[Fill]:
        fills: list[Fill] = []
        for order in self._open_orders():
            now = self._clock.now()
            if order.expires_at is not None and now >= order.expires_at:
                updated = _copy(order)
                updated.move_to(
                    OrderStatus.EXPIRED, now, f"day order expired at {order.expires_at.isoformat()}"
                )
                with self._storage():
                    self._update_order(updated)
                self._remember(updated)
                continue
            instrument = self._instruments.get(order.instrument_key)
            if instrument is None or order.limit_price is None:
                continue
            quote = await self._fresh_quote(instrument, now)
            if isinstance(quote, str):
                continue
            crossed = (
                quote.ask <= order.limit_price if order.side is Side.BUY else quote.bid >= order.limit_price
            )
            if crossed:
                with self._storage():
                    execution = self._execute(order, order.limit_price, maker=True, now=now)
                self._apply(execution)
                fills.append(execution.fill)
        return fills

    # ------------------------------------------------------------------------------------------
    # Admission: every refusal is a sentence
    # ------------------------------------------------------------------------------------------
    async def _assess(self, intent: OrderIntent, now: datetime) -> _Plan | str:
        """The plan for an admissible order, or the reason it is refused."""
        instrument = self._instruments.get(intent.instrument.key)
        if instrument is None:
            return f"unknown instrument {intent.instrument.key} on {self._venue}"
        symbol, quantity = instrument.symbol, intent.quantity
        if not quantity.is_finite() or quantity <= 0:
            return f"quantity {quantity} is not a positive number"
        if not _is_multiple(quantity, instrument.lot_size):
            return f"quantity {quantity} is not a multiple of the {instrument.lot_size} lot for {symbol}"
        if quantity < instrument.min_quantity:
            return f"quantity {quantity} is below the {instrument.min_quantity} minimum for {symbol}"
        limit = intent.limit_price
        if intent.order_type is OrderType.LIMIT:
            if limit is None or not limit.is_finite() or limit <= 0:
                return f"limit price {limit} is not a positive number"
            if not _is_multiple(limit, instrument.tick_size):
                return f"limit price {limit} is not on the {instrument.tick_size} tick for {symbol}"
        elif limit is not None:
            return "a market order takes no limit price"
        quote = await self._fresh_quote(instrument, now)
        if isinstance(quote, str):
            return quote
        plan = self._plan(intent, instrument, quote)
        if isinstance(plan, str):
            return plan
        notional = quantity * plan.price
        if notional < instrument.min_notional:
            return f"notional {notional:.2f} is below the {instrument.min_notional} minimum for {symbol}"
        if intent.side is Side.BUY and plan.action is not _Action.EXPIRE:
            cost = notional + self._fees.fee(quantity, plan.price, plan.maker)
            free = self._cash - self._reserved()
            if cost > free:
                return f"insufficient cash: the buy needs {cost:.2f} {CURRENCY}, {free:.2f} is free"
        if intent.side is Side.SELL and plan.action is not _Action.EXPIRE and self._is_prediction(instrument):
            # selling YES beyond what is held buys NO: it must be paid for, (1 - price) a contract
            held = self._holdings.get(instrument.key, _Holding(Decimal(0), Decimal(0))).quantity
            opened = quantity - max(held, Decimal(0))
            if opened > 0:
                cost = opened * (1 - plan.price) + self._fees.fee(quantity, plan.price, plan.maker)
                free = self._cash - self._reserved()
                if cost > free:
                    return f"insufficient cash: the NO bought needs {cost:.2f} {CURRENCY}, {free:.2f} is free"
        return plan

    def _plan(self, intent: OrderIntent, instrument: Instrument, quote: Quote) -> _Plan | str:
        side, limit = intent.side, intent.limit_price
        touch = quote.touch(side)
        marketable = limit is None or (touch <= limit if side is Side.BUY else touch >= limit)
        if not marketable:
            assert limit is not None
            if intent.time_in_force is TimeInForce.IOC:
                where = f"ask {quote.ask} above" if side is Side.BUY else f"bid {quote.bid} below"
                reason = f"IOC limit not marketable: {where} {limit}"
                return _Plan(_Action.EXPIRE, limit, maker=True, reason=reason)
            return _Plan(_Action.REST, limit, maker=True)
        slipped = self._slippage.adjusted_price(touch, side, intent.quantity * touch)
        price = _round_adverse(slipped, instrument.tick_size, side)
        if side is Side.SELL and touch >= instrument.tick_size:
            # nothing trades below the lowest tick: a sale into a one-tick bid (a 1-cent contract)
            # fills there, not at a zero the rounding of a hair of slippage would make of it
            price = max(price, instrument.tick_size)
        if limit is not None:
            price = min(price, limit) if side is Side.BUY else max(price, limit)
        if price <= 0:
            return f"the fill price of {instrument.symbol} after slippage would be {price}, not positive"
        return _Plan(_Action.FILL, price, maker=False)

    async def _fresh_quote(self, instrument: Instrument, now: datetime) -> Quote | str:
        """A usable quote, or why there is none (missing, broken, not positive, stale)."""
        try:
            quote = await self._market.quote(instrument)
        except (BrokerError, ValueError, ArithmeticError) as exc:
            return f"no valid quote for {instrument.symbol}: {exc}"
        if quote is None:
            return f"no quote for {instrument.symbol}"
        bid, ask = quote.bid, quote.ask
        if not (bid.is_finite() and ask.is_finite()) or bid <= 0 or ask <= 0 or ask < bid:
            return f"invalid quote for {instrument.symbol}: bid {bid}, ask {ask}"
        age = quote.age_seconds(now)
        if age > self._max_quote_age:
            limit = self._max_quote_age
            return f"stale quote for {instrument.symbol}: {age:.1f} s old, the limit is {limit:g} s"
        return quote

    def _reserved(self) -> Decimal:
        """Cash promised to resting buy limits (notional plus maker fee), and $1 a contract for
        each YES sold short on a prediction market (NO held): what it pays if YES settles. So
        free cash falls by what the NO cost, as on Kalshi, where buying NO is paid up front."""
        reserved = Decimal(0)
        for order in self._open_orders():
            if order.side is Side.BUY and order.limit_price is not None:
                notional = order.remaining * order.limit_price
                reserved += notional + self._fees.fee(order.remaining, order.limit_price, maker=True)
        for key, holding in self._holdings.items():
            if holding.quantity < 0 and self._is_prediction(self._instruments.get(key)):
                reserved += -holding.quantity
        return reserved

    @staticmethod
    def _is_prediction(instrument: Instrument | None) -> bool:
        return instrument is not None and instrument.asset_class is AssetClass.PREDICTION

    # ------------------------------------------------------------------------------------------
    # Execution and the books (callers hold a `_storage()` transaction)
    # ------------------------------------------------------------------------------------------
    def _new_order(self, intent: OrderIntent, now: datetime) -> _PaperOrder:
        sequence = self._next_order_sequence
        expires_at = None
        if intent.order_type is OrderType.LIMIT and intent.time_in_force is TimeInForce.DAY:
            day = now.astimezone(UTC).date() + timedelta(days=1)
            expires_at = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return _PaperOrder(
            sequence=sequence,
            client_order_id=intent.client_order_id,
            venue_order_id=f"{self._venue}-o{sequence:06d}",
            instrument_key=intent.instrument.key,
            side=intent.side,
            order_type=intent.order_type,
            time_in_force=intent.time_in_force,
            quantity=intent.quantity,
            limit_price=intent.limit_price,
            status=OrderStatus.SUBMITTED,
            filled_quantity=Decimal(0),
            average_fill_price=None,
            reason=None,
            created_at=now,
            updated_at=now,
            expires_at=expires_at,
        )

    def _execute(
        self, order: _PaperOrder, price: Decimal, maker: bool, now: datetime, *, settlement: bool = False
    ) -> _Execution:
        """Write the fill of the rest of `order` at `price` (fill row, order, position, cash).

        A `settlement` fill pays no fee and is stored with liquidity "settlement".
        The caller holds the transaction and calls `_apply` once it committed, so
        memory never runs ahead of the file.
        """
        quantity = order.remaining
        notional = quantity * price
        fee = Decimal(0) if settlement else self._fees.fee(quantity, price, maker)
        cash = self._cash - notional - fee if order.side is Side.BUY else self._cash + notional - fee
        holding = self._holdings.get(order.instrument_key, _Holding(Decimal(0), Decimal(0)))
        holding = holding.after(order.side, quantity, price)
        updated = _copy(order)
        updated.filled_quantity = order.quantity
        updated.average_fill_price = price
        updated.move_to(OrderStatus.FILLED, now)
        sequence = self._next_fill_sequence
        fill = Fill(
            client_order_id=order.client_order_id,
            venue=self._venue,
            venue_trade_id=f"settle-{order.client_order_id}"
            if settlement
            else f"{self._venue}-t{sequence:06d}",
            instrument_key=order.instrument_key,
            side=order.side,
            quantity=quantity,
            price=price,
            fee=fee,
            time=now,
            settlement=settlement,
        )
        liquidity = SETTLEMENT_LIQUIDITY if settlement else "maker" if maker else "taker"
        self._db.execute(
            "insert into fills (sequence, venue_trade_id, client_order_id, instrument_key, side, quantity, "
            "price, fee, liquidity, time) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                sequence,
                fill.venue_trade_id,
                fill.client_order_id,
                fill.instrument_key,
                fill.side.value,
                str(quantity),
                str(price),
                str(fee),
                liquidity,
                _text_time(now),
            ),
        )
        self._update_order(updated)
        self._db.execute(
            "insert into positions (instrument_key, quantity, average_entry_price) values (?, ?, ?) "
            "on conflict (instrument_key) do update set quantity = excluded.quantity, "
            "average_entry_price = excluded.average_entry_price",
            (order.instrument_key, str(holding.quantity), str(holding.average_entry_price)),
        )
        self._set_account("cash", str(cash))
        return _Execution(fill, updated, holding, cash)

    def _apply(self, execution: _Execution) -> None:
        self._next_fill_sequence += 1
        self._remember(execution.order)
        self._holdings[execution.fill.instrument_key] = execution.holding
        self._cash = execution.cash

    def _open_orders(self) -> list[_PaperOrder]:
        """Open orders, oldest first (a snapshot: callers may change orders while walking it)."""
        return [self._orders[client_order_id] for client_order_id in self._open_ids]

    def _remember(self, order: _PaperOrder) -> None:
        self._orders[order.client_order_id] = order
        if order.status.is_open:
            self._open_ids[order.client_order_id] = None
        else:
            self._open_ids.pop(order.client_order_id, None)

    @contextmanager
    def _storage(self) -> Iterator[None]:
        """One transaction; a database failure leaves as VenueUnavailable and shows on the health panel."""
        try:
            with self._db:
                yield
            self._checkpointer.notify()
        except sqlite3.Error as exc:
            now = self._clock.now()
            self._health.last_error = f"database {self._path}: {exc}"
            self._health.last_error_at = now
            raise VenueUnavailable(f"paper venue {self._venue}: database {self._path}: {exc}") from exc
        self._health.last_success_at = self._clock.now()

    def _insert_order(self, order: _PaperOrder) -> None:
        self._db.execute(
            "insert into orders (sequence, client_order_id, venue_order_id, instrument_key, side, "
            "order_type, time_in_force, quantity, limit_price, status, filled_quantity, average_fill_price, "
            "reason, created_at, updated_at, expires_at) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                order.sequence,
                order.client_order_id,
                order.venue_order_id,
                order.instrument_key,
                order.side.value,
                order.order_type.value,
                order.time_in_force.value,
                str(order.quantity),
                _text_or_none(order.limit_price),
                order.status.value,
                str(order.filled_quantity),
                _text_or_none(order.average_fill_price),
                order.reason,
                _text_time(order.created_at),
                _text_time(order.updated_at),
                None if order.expires_at is None else _text_time(order.expires_at),
            ),
        )

    def _update_order(self, order: _PaperOrder) -> None:
        self._db.execute(
            "update orders set status = ?, filled_quantity = ?, average_fill_price = ?, reason = ?, "
            "updated_at = ? where client_order_id = ?",
            (
                order.status.value,
                str(order.filled_quantity),
                _text_or_none(order.average_fill_price),
                order.reason,
                _text_time(order.updated_at),
                order.client_order_id,
            ),
        )

    def _record_submission(
        self, intent: OrderIntent, now: datetime, *, duplicate: bool, outcome: str
    ) -> None:
        self._db.execute(
            "insert into submissions (client_order_id, received_at, duplicate, instrument_key, side, "
            "quantity, outcome) values (?, ?, ?, ?, ?, ?, ?)",
            (
                intent.client_order_id,
                _text_time(now),
                int(duplicate),
                intent.instrument.key,
                intent.side.value,
                str(intent.quantity),
                outcome,
            ),
        )

    def _set_account(self, key: str, value: str) -> None:
        self._db.execute(
            "insert into account (key, value) values (?, ?) "
            "on conflict (key) do update set value = excluded.value",
            (key, value),
        )

    # ------------------------------------------------------------------------------------------
    # Restoring the books
    # ------------------------------------------------------------------------------------------
    def _open_account(self, starting_cash: Decimal) -> Decimal:
        """The cash on file, or a new account with `starting_cash` (the file wins on a restart)."""
        account = dict(self._db.execute("select key, value from account").fetchall())
        if not account:
            with self._db:
                self._set_account("venue", self._venue)
                self._set_account("starting_cash", str(starting_cash))
                self._set_account("cash", str(starting_cash))
                self._set_account("opened_at", _text_time(self._clock.now()))
            return starting_cash
        if account.get("venue") != self._venue:
            raise ValueError(
                f"{self._path} holds the books of venue {account.get('venue')!r}, not {self._venue!r}"
            )
        return Decimal(account["cash"])

    def _load_orders(self) -> dict[str, _PaperOrder]:
        rows = self._db.execute(
            "select sequence, client_order_id, venue_order_id, instrument_key, side, order_type, "
            "time_in_force, quantity, limit_price, status, filled_quantity, average_fill_price, reason, "
            "created_at, updated_at, expires_at from orders order by sequence"
        ).fetchall()
        orders: dict[str, _PaperOrder] = {}
        for row in rows:
            orders[row[1]] = _PaperOrder(
                sequence=int(row[0]),
                client_order_id=row[1],
                venue_order_id=row[2],
                instrument_key=row[3],
                side=Side(row[4]),
                order_type=OrderType(row[5]),
                time_in_force=TimeInForce(row[6]),
                quantity=Decimal(row[7]),
                limit_price=None if row[8] is None else Decimal(row[8]),
                status=OrderStatus(row[9]),
                filled_quantity=Decimal(row[10]),
                average_fill_price=None if row[11] is None else Decimal(row[11]),
                reason=row[12],
                created_at=datetime.fromisoformat(row[13]),
                updated_at=datetime.fromisoformat(row[14]),
                expires_at=None if row[15] is None else datetime.fromisoformat(row[15]),
            )
        return orders

    def _load_holdings(self) -> dict[str, _Holding]:
        rows = self._db.execute(
            "select instrument_key, quantity, average_entry_price from positions"
        ).fetchall()
        return {row[0]: _Holding(Decimal(row[1]), Decimal(row[2])) for row in rows}

    def close(self) -> None:
        self._checkpointer.stop()
        self._db.close()


def _copy(order: _PaperOrder) -> _PaperOrder:
    """Changes are made on a copy and swapped in after the database accepted them."""
    return _PaperOrder(
        order.sequence,
        order.client_order_id,
        order.venue_order_id,
        order.instrument_key,
        order.side,
        order.order_type,
        order.time_in_force,
        order.quantity,
        order.limit_price,
        order.status,
        order.filled_quantity,
        order.average_fill_price,
        order.reason,
        order.created_at,
        order.updated_at,
        order.expires_at,
    )


def _is_multiple(value: Decimal, step: Decimal) -> bool:
    try:
        return value % step == 0
    except InvalidOperation:  # too many digits to divide exactly: not a valid increment either
        return False


def _round_adverse(price: Decimal, tick: Decimal, side: Side) -> Decimal:
    """To the tick, against the order: up for a buy, down for a sell."""
    rounding = ROUND_CEILING if side is Side.BUY else ROUND_FLOOR
    return (price / tick).to_integral_value(rounding=rounding) * tick


def _text_time(moment: datetime) -> str:
    """Fixed-width UTC ISO text, so text order is time order in SQL."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _text_or_none(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
