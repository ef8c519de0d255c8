"""Polymarket's wire formats, read into plain values: pure functions over the JSON the venue sends.

Nothing here touches the network, a clock or a file; the adapter (`brokers/polymarket.py`)
fetches, these functions read. Prices and sizes are Decimal, parsed from the strings the
venue sends (`Decimal(str(x))` where it sends a JSON number). A payload that is not what
Polymarket sends raises `ValueError` naming the field; the adapter turns that into a
`BrokerError`, never a guess.

Shapes, with their sources (see /work/shared/reference/prediction-markets.md §2):
- Gamma `GET /markets?condition_ids=` (NautilusTrader `gamma_market_live.json`, June 2026):
  `outcomes`, `outcomePrices` and `clobTokenIds` are JSON-encoded *strings*; outcome i
  trades as token i; `orderPriceMinTickSize`, `orderMinSize`, `negRisk`, `feeSchedule`.
- CLOB `GET /book` (py-clob-client-v2 `parse_raw_orderbook_summary` keys): level arrays
  are not guaranteed sorted, so the best bid is the max and the best ask the min.
- CLOB order object (`GET /data/order/{id}`, `GET /data/orders`; docs.polymarket.com and a
  live capture quoted by polyoxide-clob 0.23): sizes are decimal share strings, status is
  LIVE / MATCHED / CANCELED / CANCELED_MARKET_RESOLVED / INVALID (older docs spell them
  ORDER_STATUS_LIVE, ...). It carries no salt, signature or client id.
- `POST /order` answer: `success`, `errorMsg`, `orderID`, `status` live / matched /
  delayed / unmatched, `makingAmount` / `takingAmount` as decimal strings (a live
  capture: making "4.599999", taking "5.609755"; "" when nothing matched).
- Trades (`GET /data/trades`): `taker_order_id`, `maker_orders[]` with `matched_amount`,
  `price`, `order_id`, `owner`; `trader_side` TAKER / MAKER; `match_time` as unix seconds
  (docs) or ISO-8601 (NautilusTrader fixtures); `status` MATCHED ... CONFIRMED or FAILED.
- `GET /balance-allowance`: `balance` in 1e-6 units of pUSD or of the outcome token.

The order id Polymarket returns is the EIP-712 hash of the signed order. The order
struct has no client-id field, so our client order id lives in the order's `salt`
(`salt_for`) and the order's `timestamp` is the intent's creation time: the same intent
signs to the same order, hence the same order id, on every resend.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from brokers.json_fields import json_object, text_field
from domain.contract_parsing import parse_polymarket_market
from domain.contracts import ContractSpec
from domain.market import BarSeries
from domain.orders import OrderStatus
from domain.signals import Side
from risk_management.underlying import Outcome, PolymarketSymbol

TOKEN_UNIT = Decimal(10) ** 6  # pUSD and outcome tokens both have 6 decimals on chain
LOT_SIZE = Decimal("0.01")  # the CLOB accepts sizes with 2 decimals (ROUNDING_CONFIG size = 2)
SALT_RANGE = 10**12  # the magnitude py-clob-client-v2's own random salts have (random * unix ms)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
IMMEDIATE_ORDER_TYPES = frozenset({"FAK", "FOK"})


# ---------------------------------------------------------------------------------------------------------
# Scalars


def decimal_of(value: Any, what: str) -> Decimal:
    """A finite Decimal from a JSON string or number; ValueError otherwise."""
    if value is None or isinstance(value, bool | dict | list):
        raise ValueError(f"{what} is {value!r}, not a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{what} {value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{what} {value!r} is not a finite number")
    return number


def amount_of(value: Any, what: str) -> Decimal:
    """An amount where the venue sends "" or null for nothing (POST /order's making/taking)."""
    if value is None or value == "":
        return Decimal(0)
    return decimal_of(value, what)


def _json_list(value: Any, what: str) -> list[Any]:
    """Gamma sends some arrays as JSON-encoded strings ("[\\"Yes\\", \\"No\\"]"); accept both forms."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(f"{what} {value!r} is not a JSON array") from None
    if not isinstance(value, list):
        raise ValueError(f"{what} is {value!r}, not an array")
    return value


def side_of(value: Any, what: str) -> Side:
    text = str(value).strip().upper() if value is not None else ""
    if text == "BUY":
        return Side.BUY
    if text == "SELL":
        return Side.SELL
    raise ValueError(f"{what} {value!r} is neither BUY nor SELL")


def time_of(value: Any, what: str) -> datetime:
    """Unix seconds (number or digit string; milliseconds if that large) or ISO-8601 with a zone."""
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if is_number or (isinstance(value, str) and value.strip().isdigit()):
        number = decimal_of(value, what)
        if number > 10**11:  # a unix time in milliseconds (after 1973 in ms, year 5138 in s)
            number /= 1000
        return EPOCH + timedelta(seconds=float(number))
    if isinstance(value, str) and value.strip():
        try:
            when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{what} {value!r} is not a time") from None
        if when.tzinfo is None:
            raise ValueError(f"{what} {value!r} has no time zone")
        return when.astimezone(UTC)
    raise ValueError(f"{what} is {value!r}, not a time")


def units_of(value: Decimal, what: str) -> int:
    """`value` in the chain's 1e-6 units, exactly; ValueError if it has more than 6 decimals."""
    scaled = value * TOKEN_UNIT
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{what} {value} has more than 6 decimals")
    return int(scaled)


# ---------------------------------------------------------------------------------------------------------
# Markets (Gamma)


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """A market's taker fee: C x rate x (p(1 - p))^exponent; makers pay nothing."""

    rate: Decimal
    exponent: Decimal = Decimal(1)


NO_FEES = FeeSchedule(Decimal(0))


@dataclass(frozen=True, slots=True)
class PolymarketMarket:
    condition_id: str  # lower-case
    question: str
    outcomes: tuple[str, ...]
    token_ids: tuple[str, ...]  # token_ids[i] trades outcomes[i]
    tick_size: Decimal
    min_size: Decimal
    neg_risk: bool
    active: bool
    closed: bool
    accepting_orders: bool
    order_book_enabled: bool
    fees: FeeSchedule | None  # None: fees are enabled but the market publishes no schedule


def parse_gamma_market(payload: Any) -> PolymarketMarket:
    market = json_object(payload, "Gamma market")
    condition_id = text_field(market, "conditionId", "Gamma market").lower()
    what = f"Gamma market {condition_id}"
    outcomes = tuple(str(o) for o in _json_list(market.get("outcomes"), f"{what}: outcomes"))
    token_ids = tuple(str(t) for t in _json_list(market.get("clobTokenIds"), f"{what}: clobTokenIds"))
    if len(outcomes) != len(token_ids) or not outcomes:
        raise ValueError(f"{what}: {len(outcomes)} outcomes but {len(token_ids)} clobTokenIds")
    if not all(token.isdigit() for token in token_ids):
        raise ValueError(f"{what}: clobTokenIds {token_ids} are not decimal token ids")
    tick = decimal_of(market.get("orderPriceMinTickSize"), f"{what}: orderPriceMinTickSize")
    if not Decimal(0) < tick < Decimal(1):
        raise ValueError(f"{what}: tick size {tick} is not between 0 and 1")
    min_size = decimal_of(market.get("orderMinSize"), f"{what}: orderMinSize")
    if min_size < 0:
        raise ValueError(f"{what}: orderMinSize {min_size} is negative")
    return PolymarketMarket(
        condition_id=condition_id,
        question=str(market.get("question") or ""),
        outcomes=outcomes,
        token_ids=token_ids,
        tick_size=tick.normalize(),
        min_size=min_size.normalize(),
        neg_risk=market.get("negRisk") is True,
        active=market.get("active") is not False,
        closed=market.get("closed") is True,
        # absent means unknown: never assume a market takes orders
        accepting_orders=market.get("acceptingOrders") is True,
        order_book_enabled=market.get("enableOrderBook") is not False,
        fees=_fees_of(market, what),
    )


def _fees_of(market: Mapping[str, Any], what: str) -> FeeSchedule | None:
    schedule = market.get("feeSchedule")
    if isinstance(schedule, Mapping):
        rate = decimal_of(schedule.get("rate"), f"{what}: feeSchedule.rate")
        exponent = decimal_of(schedule.get("exponent", 1), f"{what}: feeSchedule.exponent")
        if rate < 0 or exponent < 0:
            raise ValueError(f"{what}: negative fee schedule {dict(schedule)}")
        return FeeSchedule(rate, exponent)
    if schedule is not None:
        raise ValueError(f"{what}: feeSchedule {schedule!r} is not an object")
    return None if market.get("feesEnabled") is True else NO_FEES


def contracts_by_token(venue: str, payload: Any) -> dict[str, ContractSpec]:
    """Token id -> the question its outcome settles on, for a Gamma market object.

    Read by `domain.contract_parsing.parse_polymarket_market` (one spec per outcome token,
    its ticker `<condition id>:<token id>`). Raises `ValueError` naming the field it could
    not read.
    """
    market = json_object(payload, "Gamma market")
    return {spec.ticker.rsplit(":", 1)[1]: spec for spec in parse_polymarket_market(venue, market)}


def find_market(payload: Any, condition_id: str) -> Any | None:
    """The market object for `condition_id` in a Gamma `/markets` answer (a JSON array), or None."""
    if not isinstance(payload, list):
        raise ValueError(f"Gamma /markets answered {type(payload).__name__}, expected an array")
    wanted = condition_id.lower()
    for market in payload:
        if isinstance(market, Mapping) and str(market.get("conditionId", "")).lower() == wanted:
            return market
    return None


def resolved_winner(payload: Any, token_id: str) -> bool | None:
    """Whether `token_id` won, once the Gamma market is resolved; None while it is not.

    Resolved means closed with `outcomePrices` at exactly one "1" and the rest "0" (the payout
    each outcome token redeems for). A closed market still priced otherwise is waiting for its
    resolution (or disputed), and the daemon does not guess which side it will take.
    """
    market = json_object(payload, "Gamma market")
    condition_id = text_field(market, "conditionId", "Gamma market").lower()
    what = f"Gamma market {condition_id}"
    if market.get("closed") is not True:
        return None
    token_ids = [str(t) for t in _json_list(market.get("clobTokenIds"), f"{what}: clobTokenIds")]
    prices = [decimal_of(p, f"{what}: outcomePrices") for p in _json_list(market.get("outcomePrices"), what)]
    if len(prices) != len(token_ids):
        raise ValueError(f"{what}: {len(prices)} outcomePrices for {len(token_ids)} tokens")
    if token_id not in token_ids:
        raise ValueError(f"{what} has no token {token_id}")
    if sorted(prices) != [Decimal(0)] * (len(prices) - 1) + [Decimal(1)]:
        return None
    return prices[token_ids.index(token_id)] == 1


def refusal_reason(market: PolymarketMarket) -> str | None:
    """Why the market cannot take our orders now, or None when it can."""
    if market.closed:
        return "the market is closed"
    if not market.active:
        return "the market is not active"
    if not market.order_book_enabled:
        return "the market has no order book"
    if not market.accepting_orders:
        return "the market is not accepting orders"
    return None


def token_for(symbol: PolymarketSymbol, market: PolymarketMarket) -> tuple[str, str]:
    """(token id, outcome name) of the outcome `symbol` names: YES is the first outcome, NO the second."""
    if symbol.token_id is not None:
        if symbol.token_id not in market.token_ids:
            raise ValueError(f"token {symbol.token_id} is not an outcome of market {market.condition_id}")
        index = market.token_ids.index(symbol.token_id)
        return symbol.token_id, market.outcomes[index]
    if symbol.outcome is None:
        raise ValueError(
            f"{symbol.condition_id} names a market, not an outcome: add :YES, :NO or :<token id>"
        )
    if len(market.outcomes) != 2:
        raise ValueError(
            f"market {market.condition_id} has {len(market.outcomes)} outcomes; YES/NO needs exactly two "
            "(name the outcome by its token id instead)"
        )
    index = 0 if symbol.outcome is Outcome.YES else 1
    return market.token_ids[index], market.outcomes[index]


# ---------------------------------------------------------------------------------------------------------
# Quotes and history


def best_bid_ask(payload: Any) -> tuple[Decimal, Decimal] | None:
    """The best bid (max) and best ask (min) of a `GET /book` answer.

    None when either side is empty or its best price is NaN, zero or not below 1, or the
    book is crossed: no usable price is better than a guessed one. Levels of zero size do
    not count. A payload that is not a book at all raises ValueError.
    """
    book = json_object(payload, "order book")
    best: list[Decimal | None] = []
    for key, pick in (("bids", max), ("asks", min)):
        levels = book.get(key)
        if levels is None:
            levels = []
        if not isinstance(levels, list):
            raise ValueError(f"order book {key} is {levels!r}, not an array")
        prices: list[Decimal] = []
        for level in levels:
            entry = json_object(level, f"order book {key} level")
            price = _price_or_nan(entry.get("price"), f"order book {key} price")
            size = _price_or_nan(entry.get("size"), f"order book {key} size")
            if size.is_nan() or size <= 0:
                continue
            prices.append(price)
        if any(p.is_nan() for p in prices):
            return None
        best.append(pick(prices) if prices else None)
    bid, ask = best
    if bid is None or ask is None:
        return None
    if not (Decimal(0) < bid < Decimal(1) and Decimal(0) < ask < Decimal(1)) or bid > ask:
        return None
    return bid, ask


def _price_or_nan(value: Any, what: str) -> Decimal:
    if value is None or value == "":
        return Decimal("NaN")
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{what} {value!r} is not a number") from None


def book_time(payload: Any) -> datetime | None:
    """The book's own timestamp (unix ms as a string), or None when it has none."""
    value = json_object(payload, "order book").get("timestamp")
    if value is None or value == "":
        return None
    return time_of(value, "order book timestamp")


def parse_price_history(payload: Any) -> list[tuple[int, Decimal]]:
    """`{"history": [{"t": unix seconds, "p": price}]}` as (t, p) pairs, oldest first."""
    history = json_object(payload, "price history").get("history")
    if not isinstance(history, list):
        raise ValueError(f"price history is {history!r}, expected an array under 'history'")
    points: list[tuple[int, Decimal]] = []
    for point in history:
        entry = json_object(point, "price history point")
        t = decimal_of(entry.get("t"), "price history t")
        p = decimal_of(entry.get("p"), "price history p")
        if t != t.to_integral_value() or t < 0:
            raise ValueError(f"price history t {entry.get('t')!r} is not a unix time in seconds")
        if not Decimal(0) < p <= Decimal(1):
            raise ValueError(f"price history p {entry.get('p')!r} is not a price in (0, 1]")
        points.append((int(t), p))
    points.sort(key=lambda point: point[0])
    return points


def price_history_bars(
    instrument_key: str,
    points: Sequence[tuple[int, Decimal]],
    timeframe_seconds: int,
    count: int,
    now: int,
) -> BarSeries | None:
    """Bars from sampled prices: the open, high, low and close of the samples in each bar.

    Polymarket publishes price *points* (one per `fidelity` minutes), not trades, so these
    bars are built from those samples only: with one sample per bar, open = high = low =
    close. Volume is not published and is 0. The bar still forming at `now` is left out.
    """
    if timeframe_seconds <= 0 or count <= 0:
        return None
    buckets: dict[int, list[Decimal]] = {}
    for t, p in points:
        start = t - t % timeframe_seconds
        if start + timeframe_seconds > now:
            continue
        buckets.setdefault(start, []).append(p)
    starts = sorted(buckets)[-count:]
    if not starts:
        return None
    opens = [float(buckets[s][0]) for s in starts]
    highs = [float(max(buckets[s])) for s in starts]
    lows = [float(min(buckets[s])) for s in starts]
    closes = [float(buckets[s][-1]) for s in starts]
    return BarSeries(
        instrument_key=instrument_key,
        timeframe_seconds=timeframe_seconds,
        times=np.array(starts, dtype=np.float64),
        open=np.array(opens, dtype=np.float64),
        high=np.array(highs, dtype=np.float64),
        low=np.array(lows, dtype=np.float64),
        close=np.array(closes, dtype=np.float64),
        volume=np.zeros(len(starts), dtype=np.float64),
    )


def parse_balance(payload: Any) -> Decimal:
    """`GET /balance-allowance`'s `balance` (1e-6 units as a string) in whole pUSD or tokens."""
    value = json_object(payload, "balance-allowance").get("balance")
    units = decimal_of(value, "balance-allowance balance")
    if units < 0 or units != units.to_integral_value():
        raise ValueError(f"balance-allowance balance {value!r} is not a whole number of 1e-6 units")
    return units / TOKEN_UNIT


# ---------------------------------------------------------------------------------------------------------
# Orders we sign


def salt_for(client_order_id: str) -> int:
    """The order salt that carries our client order id (Polymarket orders have no client-id field)."""
    digest = hashlib.sha256(client_order_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % (SALT_RANGE - 1) + 1


def timestamp_ms(when: datetime) -> int:
    """A V2 order's `timestamp` field: unix milliseconds, exact (no float)."""
    if when.tzinfo is None:
        raise ValueError(f"order time {when.isoformat()} has no time zone")
    return (when - EPOCH) // timedelta(milliseconds=1)


def order_amounts(side: Side, size: Decimal, price: Decimal) -> tuple[int, int]:
    """(makerAmount, takerAmount) in 1e-6 units: a BUY gives pUSD for shares, a SELL shares for pUSD.

    Exact in Decimal: with 2-decimal sizes and prices on a tick of at least 0.0001 the
    notional has at most 6 decimals, which is what py-clob-client-v2's float rounding
    (`OrderBuilder.get_order_amounts`) reaches too.
    """
    if size <= 0 or not Decimal(0) < price < Decimal(1):
        raise ValueError(f"order of {size} at {price}: size must be positive and price inside (0, 1)")
    shares = units_of(size, "order size")
    notional = units_of(size * price, "order notional")
    return (notional, shares) if side is Side.BUY else (shares, notional)


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """Everything that went into one signed order, written down before the order leaves.

    The same record signs to the same order and so to the same order id; the adapter's
    ledger keeps one per client order id so a restart can still find the order.
    """

    client_order_id: str
    order_id: str  # the EIP-712 hash of the order: Polymarket's order id
    instrument_key: str
    token_id: str
    side: Side
    price: Decimal
    size: Decimal
    order_type: str  # GTC, FAK or FOK
    salt: int
    timestamp_ms: int
    neg_risk: bool

    @property
    def immediate(self) -> bool:
        return self.order_type in IMMEDIATE_ORDER_TYPES

    def to_json(self) -> dict[str, Any]:
        return {
            "client_order_id": self.client_order_id,
            "order_id": self.order_id,
            "instrument_key": self.instrument_key,
            "token_id": self.token_id,
            "side": self.side.value,
            "price": str(self.price),
            "size": str(self.size),
            "order_type": self.order_type,
            "salt": str(self.salt),
            "timestamp_ms": str(self.timestamp_ms),
            "neg_risk": self.neg_risk,
        }


def parse_order_record(payload: Any) -> OrderRecord:
    record = json_object(payload, "order ledger line")
    order_type = text_field(record, "order_type", "order ledger line").upper()
    if order_type not in ("GTC", "FAK", "FOK"):
        raise ValueError(f"order ledger line: order_type {order_type!r} is not GTC, FAK or FOK")
    try:
        side = Side(str(record.get("side")))
    except ValueError:
        raise ValueError(f"order ledger line: side {record.get('side')!r} is not buy or sell") from None
    salt = decimal_of(record.get("salt"), "order ledger salt")
    stamp = decimal_of(record.get("timestamp_ms"), "order ledger timestamp_ms")
    return OrderRecord(
        client_order_id=text_field(record, "client_order_id", "order ledger line"),
        order_id=text_field(record, "order_id", "order ledger line").lower(),
        instrument_key=text_field(record, "instrument_key", "order ledger line"),
        token_id=text_field(record, "token_id", "order ledger line"),
        side=side,
        price=decimal_of(record.get("price"), "order ledger price"),
        size=decimal_of(record.get("size"), "order ledger size"),
        order_type=order_type,
        salt=int(salt),
        timestamp_ms=int(stamp),
        neg_risk=record.get("neg_risk") is True,
    )


@dataclass(frozen=True, slots=True)
class PostResult:
    """What `POST /order` answered (HTTP 200)."""

    success: bool
    error: str
    order_id: str | None
    status: str  # live, matched, delayed, unmatched (lower-case); "" when absent
    making: Decimal
    taking: Decimal


def parse_post_response(payload: Any) -> PostResult:
    answer = json_object(payload, "POST /order answer")
    success = answer.get("success")
    if not isinstance(success, bool):
        raise ValueError(f"POST /order answer has success {success!r}, expected true or false")
    order_id = answer.get("orderID")
    return PostResult(
        success=success,
        error=str(answer.get("errorMsg") or answer.get("error") or ""),
        order_id=str(order_id).lower() if order_id else None,
        status=str(answer.get("status") or "").lower(),
        making=amount_of(answer.get("makingAmount"), "POST /order makingAmount"),
        taking=amount_of(answer.get("takingAmount"), "POST /order takingAmount"),
    )


def post_outcome(
    result: PostResult, side: Side, quantity: Decimal, order_type: str
) -> tuple[OrderStatus, Decimal, Decimal | None]:
    """(status, filled quantity, average fill price) of an order the venue just accepted.

    A BUY makes pUSD and takes shares, a SELL the other way round, so the shares matched
    are `takingAmount` (BUY) or `makingAmount` (SELL) and the average price the ratio.
    """
    if not result.success:
        raise ValueError(f"POST /order refused: {result.error or 'no reason given'}")
    shares, cash = (result.taking, result.making) if side is Side.BUY else (result.making, result.taking)
    if shares < 0 or cash < 0:
        raise ValueError(f"POST /order amounts are negative: making {result.making}, taking {result.taking}")
    average = cash / shares if shares > 0 else None
    immediate = order_type in IMMEDIATE_ORDER_TYPES
    status_name = result.status
    if status_name not in ("", "live", "matched", "delayed", "unmatched"):
        raise ValueError(f"POST /order status {result.status!r} is not live, matched, delayed or unmatched")
    # some answers carry no status at all (NautilusTrader's "trade ids only" capture): then only
    # the amounts say anything, and the order is followed up by lookups like any other
    if shares >= quantity:
        return OrderStatus.FILLED, shares, average
    if immediate and status_name in ("matched", "unmatched"):
        # what a FAK/FOK did not match is killed at once
        return (OrderStatus.CANCELED if shares > 0 else OrderStatus.EXPIRED), shares, average
    if shares > 0:
        return OrderStatus.PARTIALLY_FILLED, shares, average
    return OrderStatus.ACCEPTED, shares, None


@dataclass(frozen=True, slots=True)
class OrderSnapshot:
    """One order as `GET /data/order/{id}` or `GET /data/orders` shows it."""

    order_id: str
    status: str  # upper-case, without the ORDER_STATUS_ prefix
    market: str
    asset_id: str
    side: Side
    price: Decimal
    original_size: Decimal
    size_matched: Decimal
    order_type: str

    @property
    def remaining(self) -> Decimal:
        return max(self.original_size - self.size_matched, Decimal(0))


def is_empty_answer(payload: Any) -> bool:
    """The CLOB answers an unknown order id with nothing (null, "" or {}) as well as with 404."""
    return payload is None or payload == "" or payload == {} or payload == []


def parse_order(payload: Any) -> OrderSnapshot:
    order = json_object(payload, "order")
    order_id = text_field(order, "id", "order").lower()
    what = f"order {order_id}"
    status = text_field(order, "status", what).upper().removeprefix("ORDER_STATUS_")
    original = decimal_of(order.get("original_size"), f"{what}: original_size")
    matched = decimal_of(order.get("size_matched", "0"), f"{what}: size_matched")
    if original <= 0 or matched < 0:
        raise ValueError(f"{what}: original_size {original} / size_matched {matched} out of range")
    return OrderSnapshot(
        order_id=order_id,
        status=status,
        market=str(order.get("market") or "").lower(),
        asset_id=text_field(order, "asset_id", what),
        side=side_of(order.get("side"), f"{what}: side"),
        price=decimal_of(order.get("price"), f"{what}: price"),
        original_size=original,
        size_matched=matched,
        order_type=str(order.get("order_type") or order.get("type") or "GTC").upper(),
    )


def order_status_of(order: OrderSnapshot) -> OrderStatus:
    """Our status for a venue order; ValueError for a status Polymarket does not document."""
    filled = order.size_matched
    complete = filled >= order.original_size
    match order.status:
        case "LIVE" | "DELAYED":
            if complete:
                return OrderStatus.FILLED
            return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.ACCEPTED
        case "MATCHED":
            # a FAK matches what it can and the rest is killed: MATCHED with a remainder is done
            return OrderStatus.FILLED if complete else OrderStatus.CANCELED
        case "UNMATCHED":
            if order.order_type in IMMEDIATE_ORDER_TYPES:
                return OrderStatus.CANCELED if filled > 0 else OrderStatus.EXPIRED
            return OrderStatus.ACCEPTED
        case "CANCELED" | "CANCELED_MARKET_RESOLVED" | "INVALID":
            # INVALID is how the venue cancels on its own (e.g. a sports market resolving)
            if complete:
                return OrderStatus.FILLED
            if order.order_type in IMMEDIATE_ORDER_TYPES and filled == 0:
                return OrderStatus.EXPIRED
            return OrderStatus.CANCELED
    raise ValueError(
        f"order {order.order_id} has status {order.status!r}, which Polymarket does not document"
    )


def parse_cancel(payload: Any) -> tuple[list[str], dict[str, str]]:
    """`DELETE /order`'s answer: (ids canceled, {id: why not} for those that were not)."""
    answer = json_object(payload, "cancel answer")
    canceled = answer.get("canceled") or []
    not_canceled = answer.get("not_canceled") or {}
    if not isinstance(canceled, list) or not isinstance(not_canceled, Mapping):
        raise ValueError(f"cancel answer {dict(answer)} has no canceled list / not_canceled map")
    return [str(i).lower() for i in canceled], {str(k).lower(): str(v) for k, v in not_canceled.items()}


# ---------------------------------------------------------------------------------------------------------
# Trades


@dataclass(frozen=True, slots=True)
class TradeLeg:
    """One order's part in a trade: the taker order, or one of the maker orders it hit."""

    venue_trade_id: str  # unique per (trade, order): a trade can fill several of our maker orders
    order_id: str
    asset_id: str
    side: Side
    size: Decimal
    price: Decimal
    maker: bool


@dataclass(frozen=True, slots=True)
class Trade:
    trade_id: str
    market: str
    status: str
    time: datetime
    trader_side: str | None  # TAKER or MAKER: which role the account asking played
    taker: TradeLeg
    taker_owner: str
    makers: tuple[tuple[TradeLeg, str, str], ...]  # (leg, owner api key, maker address)

    @property
    def failed(self) -> bool:
        return self.status == "FAILED"


def parse_trade(payload: Any) -> Trade:
    trade = json_object(payload, "trade")
    trade_id = text_field(trade, "id", "trade")
    what = f"trade {trade_id}"
    side = side_of(trade.get("side"), f"{what}: side")
    asset_id = text_field(trade, "asset_id", what)
    taker = TradeLeg(
        venue_trade_id=trade_id,
        order_id=text_field(trade, "taker_order_id", what).lower(),
        asset_id=asset_id,
        side=side,
        size=decimal_of(trade.get("size"), f"{what}: size"),
        price=decimal_of(trade.get("price"), f"{what}: price"),
        maker=False,
    )
    raw_makers = trade.get("maker_orders") or []
    if not isinstance(raw_makers, list):
        raise ValueError(f"{what}: maker_orders is {raw_makers!r}, not an array")
    makers: list[tuple[TradeLeg, str, str]] = []
    for raw in raw_makers:
        entry = json_object(raw, f"{what}: maker order")
        order_id = text_field(entry, "order_id", f"{what}: maker order").lower()
        maker_asset = str(entry.get("asset_id") or asset_id)
        if entry.get("side"):
            maker_side = side_of(entry.get("side"), f"{what}: maker side")
        else:
            # the same token trades against the other side; the complementary token (a mint
            # or a merge) trades on the same side as the taker
            maker_side = side.opposite if maker_asset == asset_id else side
        leg = TradeLeg(
            venue_trade_id=f"{trade_id}:{order_id}",
            order_id=order_id,
            asset_id=maker_asset,
            side=maker_side,
            size=decimal_of(entry.get("matched_amount"), f"{what}: matched_amount"),
            price=decimal_of(entry.get("price"), f"{what}: maker price"),
            maker=True,
        )
        makers.append((leg, str(entry.get("owner") or ""), str(entry.get("maker_address") or "").lower()))
    trader_side = trade.get("trader_side")
    return Trade(
        trade_id=trade_id,
        market=str(trade.get("market") or "").lower(),
        status=str(trade.get("status") or "").upper(),
        time=time_of(trade.get("match_time"), f"{what}: match_time"),
        trader_side=str(trader_side).upper() if trader_side else None,
        taker=taker,
        taker_owner=str(trade.get("owner") or ""),
        makers=tuple(makers),
    )


def our_legs(
    trade: Trade, owner: str | None, addresses: frozenset[str], is_our_order: Callable[[str], bool]
) -> list[TradeLeg]:
    """The legs of `trade` that are this account's orders (by api key owner, address or order id)."""
    legs: list[TradeLeg] = []
    taker_is_ours = trade.trader_side == "TAKER" or (
        trade.trader_side is None
        and (is_our_order(trade.taker.order_id) or (owner is not None and trade.taker_owner == owner))
    )
    if taker_is_ours:
        legs.append(trade.taker)
    if trade.trader_side != "TAKER":
        for leg, leg_owner, address in trade.makers:
            if (
                is_our_order(leg.order_id)
                or (owner is not None and leg_owner == owner)
                or address in addresses
            ):
                legs.append(leg)
    return [leg for leg in legs if leg.size > 0 and leg.price > 0]
