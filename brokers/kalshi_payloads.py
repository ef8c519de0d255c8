"""Pure parsers and builders of Kalshi's REST payloads (Trade API v2), in Decimal.

kalshi-python 2.1.4's pydantic models predate the 2026 wire format (see
/work/shared/reference/prediction-markets.md §0), so the adapter reads raw JSON
with the functions here. They take dicts and return domain-level values; they
read no clock and make no request.

Three eras of payload exist; each parser prefers the current one and falls back:
- current (after 2026-03-12): money as `*dollars_field` strings with up to 4 (docs: 6)
  decimals, counts as `*_fp` strings with 2 decimals, no integer cents;
- transition (2026-01-29 .. 03-12): both, e.g. `yes_bid: 26` and `yes_bid_dollars: "0.2600"`;
- legacy: integer cents and integer counts only (read where it costs nothing).

Prices are YES prices in dollars: the instrument is the YES contract, and a NO
contract is a negative YES position (Kalshi's signed `position_fp`).
Anything malformed raises `ValueError` with a sentence saying what and where;
a missing, NaN, zero or crossed quote is "no quote" (None), never a guess.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from brokers.json_fields import decimal_of, finite_decimal, text_field
from domain.contract_parsing import parse_kalshi_market
from domain.contracts import ContractSpec
from domain.fees import KalshiFeeType, kalshi_fee
from domain.orders import OrderStatus, OrderType, TimeInForce
from domain.signals import Side

ONE = Decimal(1)
ZERO = Decimal(0)
CENT = Decimal("0.01")
DECI_CENT = Decimal("0.001")
DOLLAR_PLACES = Decimal("0.0001")  # requests accept 2-4 decimals on money
COUNT_PLACES = Decimal("0.01")  # `_fp` counts: 0-2 decimals in requests, exactly 2 in responses
WHOLE = Decimal(1)

# Kalshi's trading day is Eastern time; a DAY order expires at the next midnight there.
EXCHANGE_TIMEZONE = ZoneInfo("America/New_York")

Payload = Mapping[str, Any]


# --------------------------------------------------------------------------------------- scalar fields


def dollars_field(obj: Payload, key: str, what: str, *, required: bool = True) -> Decimal | None:
    """`<key>dollars_field` (current), else the legacy integer cents in `<key>`."""
    value = obj.get(f"{key}_dollars")
    if value is not None and value != "":
        return finite_decimal(value, f"{what} {key}_dollars")
    cents = obj.get(key)
    if cents is not None and cents != "":
        return finite_decimal(cents, f"{what} {key}") / 100
    if required:
        raise ValueError(f"{what}: neither {key}_dollars nor {key} is present")
    return None


def count_field(obj: Payload, key: str, what: str, *, required: bool = True) -> Decimal | None:
    """`<key>_fp` (current), else the legacy integer count in `<key>`."""
    for name in (f"{key}_fp", key):
        value = obj.get(name)
        if value is not None and value != "":
            return finite_decimal(value, f"{what} {name}")
    if required:
        raise ValueError(f"{what}: neither {key}_fp nor {key} is present")
    return None


def object_field(payload: Any, wrapper: str | None, what: str) -> Payload:
    """The object itself, or the one under `wrapper` ({"market": {...}})."""
    if not isinstance(payload, Mapping):
        raise ValueError(f"{what}: expected a JSON object, got {type(payload).__name__}")
    if wrapper is not None and wrapper in payload:
        inner = payload[wrapper]
        if not isinstance(inner, Mapping):
            raise ValueError(f"{what}: {wrapper!r} is not an object")
        return inner
    return payload


def list_field(payload: Payload, key: str, what: str) -> list[Any]:
    value = payload.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{what}: {key!r} is not a list")
    return value


def time_field(value: Any, what: str) -> datetime:
    if isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{what}: {value!r} is not an ISO-8601 time") from None
        if moment.tzinfo is None:
            raise ValueError(f"{what}: {value!r} has no timezone")
        return moment
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    raise ValueError(f"{what}: expected a time, got {value!r}")


def json_object(raw: bytes | str) -> Payload:
    """A response body as a JSON object; anything else is a `ValueError`."""
    try:
        decoded = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        raise ValueError(f"the answer is not JSON ({exc}): {text[:120]!r}") from None
    if not isinstance(decoded, dict):
        raise ValueError(f"expected a JSON object, got {type(decoded).__name__}")
    return decoded


def next_cursor(payload: Payload) -> str | None:
    """The cursor of the next page; None on the last page (an empty or absent cursor)."""
    cursor = payload.get("cursor")
    if cursor is None or cursor == "":
        return None
    if not isinstance(cursor, str):
        raise ValueError(f"cursor {cursor!r} is not a string")
    return cursor


# --------------------------------------------------------------------------------------- markets
class PriceLevelStructure(StrEnum):
    """`price_level_structure` (docs `subpenny_pricing`)."""

    LINEAR_CENT = "linear_cent"  # $0.01 on 0-1
    DECI_CENT = "deci_cent"  # $0.001 everywhere
    TAPERED_DECI_CENT = "tapered_deci_cent"  # $0.001 below 0.10 and above 0.90, $0.01 between


@dataclass(frozen=True, slots=True)
class PriceRange:
    """One band of a market's price grid: prices `start + k * step` up to `end`."""

    start: Decimal
    end: Decimal
    step: Decimal

    def holds(self, price: Decimal) -> bool:
        return self.start <= price <= self.end and (price - self.start) % self.step == 0


_DEFAULT_RANGES = {
    PriceLevelStructure.LINEAR_CENT: (PriceRange(ZERO, ONE, CENT),),
    PriceLevelStructure.DECI_CENT: (PriceRange(ZERO, ONE, DECI_CENT),),
    PriceLevelStructure.TAPERED_DECI_CENT: (
        PriceRange(ZERO, Decimal("0.10"), DECI_CENT),
        PriceRange(Decimal("0.10"), Decimal("0.90"), CENT),
        PriceRange(Decimal("0.90"), ONE, DECI_CENT),
    ),
}


@dataclass(frozen=True, slots=True)
class KalshiMarket:
    """What the adapter needs of `GET /markets/{ticker}`."""

    ticker: str
    event_ticker: str
    status: str
    price_ranges: tuple[PriceRange, ...]
    fractional_trading_enabled: bool
    yes_bid: Decimal | None
    yes_ask: Decimal | None

    @property
    def series_ticker(self) -> str:
        return series_of(self.ticker)

    @property
    def tick_size(self) -> Decimal:
        """The finest step anywhere on the grid; `accepts_price` says where a price is valid."""
        return min(band.step for band in self.price_ranges)

    @property
    def lot_size(self) -> Decimal:
        # fractional markets trade in 0.01 contracts ("minimum granularity is 0.01 contracts")
        return COUNT_PLACES if self.fractional_trading_enabled else WHOLE

    def accepts_price(self, price: Decimal) -> bool:
        """Whether `price` lies on the market's grid (a tapered market takes 0.001 only in its tails)."""
        return ZERO < price < ONE and any(band.holds(price) for band in self.price_ranges)


def series_of(ticker: str) -> str:
    """The series of a market or event ticker: everything before the first hyphen (KXHIGHCHI)."""
    series = ticker.split("-", 1)[0]
    if not series:
        raise ValueError(f"ticker {ticker!r} names no series")
    return series


def _price_ranges(market: Payload, what: str) -> tuple[PriceRange, ...]:
    raw_ranges = list_field(market, "price_ranges", what)
    if raw_ranges:
        ranges = []
        for index, band in enumerate(raw_ranges):
            if not isinstance(band, Mapping):
                raise ValueError(f"{what}: price_ranges[{index}] is not an object")
            where = f"{what} price_ranges[{index}]"
            step = finite_decimal(band.get("step"), f"{where}.step")
            if step <= 0:
                raise ValueError(f"{where}: step must be positive, got {step}")
            start = finite_decimal(band.get("start"), f"{where}.start")
            ranges.append(PriceRange(start, finite_decimal(band.get("end"), f"{where}.end"), step))
        return tuple(ranges)
    structure = market.get("price_level_structure")
    if structure is not None:
        try:
            return _DEFAULT_RANGES[PriceLevelStructure(structure)]
        except ValueError:
            raise ValueError(f"{what}: unknown price_level_structure {structure!r}") from None
    legacy_tick = market.get("tick_size")  # legacy: integer cents
    if legacy_tick is not None:
        return (PriceRange(ZERO, ONE, finite_decimal(legacy_tick, f"{what} tick_size") / 100),)
    raise ValueError(f"{what}: no price_ranges, price_level_structure or tick_size: the tick is unknown")


def _optional_price(market: Payload, key: str, what: str) -> Decimal | None:
    """A quoted price, or None when it is absent or not a usable price (0 means no order there)."""
    price = dollars_field(market, key, what, required=False)
    if price is None or not ZERO < price < ONE:
        return None
    return price


def parse_market(payload: Any) -> KalshiMarket:
    """A market from `{"market": {...}}` or the bare market object (any era)."""
    market = object_field(payload, "market", "market")
    ticker = text_field(market, "ticker", "market")
    what = f"market {ticker}"
    fractional = market.get("fractional_trading_enabled", False)
    if not isinstance(fractional, bool):
        raise ValueError(f"{what}: fractional_trading_enabled {fractional!r} is not a boolean")
    status = market.get("status", "")
    return KalshiMarket(
        ticker=ticker,
        event_ticker=text_field(market, "event_ticker", what),
        status=status if isinstance(status, str) else str(status),
        price_ranges=_price_ranges(market, what),
        fractional_trading_enabled=fractional,
        yes_bid=_optional_price(market, "yes_bid", what),
        yes_ask=_optional_price(market, "yes_ask", what),
    )


def market_contract(venue: str, payload: Any) -> ContractSpec:
    """The question the market of a `GET /markets/{ticker}` answer settles on (any era).

    Read from the market's own `strike_type` / `floor_strike` / `cap_strike` by
    `domain.contract_parsing.parse_kalshi_market`. Raises `ValueError` with the reason for a
    market that does not parse, `ContractMismatch` (a ValueError) for one whose fields
    contradict its ticker.
    """
    return parse_kalshi_market(venue, object_field(payload, "market", "market"))


def markets_page(payload: Any) -> list[Any]:
    """`GET /markets`: the page's market entries as sent, for `parse_market` one by one.

    Left unparsed so that one market the parsers cannot read does not hide the rest of the
    listing; a page that is not `{"markets": [...]}` raises `ValueError`.
    """
    root = object_field(payload, None, "markets")
    return list_field(root, "markets", "markets")


def entry_ticker(entry: Any) -> str | None:
    """The `ticker` of a market entry, when it has a readable one (to name a market that does not parse)."""
    if isinstance(entry, Mapping):
        ticker = entry.get("ticker")
        if isinstance(ticker, str) and ticker:
            return ticker
    return None


# statuses after which the venue has paid out ("settled" in the 2.x era, "finalized" since)
FINAL_MARKET_STATUSES = frozenset({"settled", "finalized"})


@dataclass(frozen=True, slots=True)
class MarketResult:
    """A settled market's result: whether YES paid, and when (None when the payload omits it)."""

    ticker: str
    outcome_yes: bool
    settled_at: datetime | None


def parse_market_result(payload: Any) -> MarketResult | None:
    """The result of a `GET /markets/{ticker}` answer once the market is paid out, else None.

    A market that is `determined` or `disputed` has not paid yet, so only a final status
    counts. A final market whose `result` is not `yes` or `no` (a `scalar` market, or a void
    one with an empty result) raises ValueError: it does not settle at $1 or $0, and the
    daemon refuses to guess what it paid.
    """
    market = object_field(payload, "market", "market")
    ticker = text_field(market, "ticker", "market")
    status = market.get("status", "")
    if status not in FINAL_MARKET_STATUSES:
        return None
    result = market.get("result", "")
    if result not in ("yes", "no"):
        raise ValueError(f"market {ticker} is {status} with result {result!r}, not yes or no")
    raw_time = market.get("settlement_ts")
    settled_at = None if raw_time in (None, "") else time_field(raw_time, f"market {ticker} settlement_ts")
    return MarketResult(ticker, result == "yes", settled_at)


# --------------------------------------------------------------------------------------- order book
@dataclass(frozen=True, slots=True)
class BookTop:
    """The best YES bid and the best YES ask (1 - best NO bid); None where a side is empty or unusable."""

    yes_bid: Decimal | None
    yes_ask: Decimal | None

    def quote_prices(self) -> tuple[Decimal, Decimal] | None:
        """(bid, ask) when both are real prices strictly inside (0, 1) and not crossed; else None."""
        bid, ask = self.yes_bid, self.yes_ask
        if bid is None or ask is None or not (ZERO < bid < ONE and ZERO < ask < ONE) or ask < bid:
            return None
        return bid, ask


def _best_bid(levels: Any, what: str, *, cents: bool) -> Decimal | None:
    """The last level's price: Kalshi sorts each side ascending, so the best bid comes last."""
    if levels is None:
        return None  # an empty side may come back as null
    if not isinstance(levels, list):
        raise ValueError(f"{what}: expected a list of [price, count] levels, got {type(levels).__name__}")
    for index, level in enumerate(levels):
        if not isinstance(level, list | tuple) or len(level) < 2:
            raise ValueError(f"{what}[{index}]: expected [price, count], got {level!r}")
    if not levels:
        return None
    price = decimal_of(levels[-1][0], f"{what} best level price")
    if not price.is_finite():
        return None  # NaN at the top of the book: no quote, and the level below is not the best
    return price / 100 if cents else price


def parse_orderbook(payload: Any) -> BookTop:
    """`GET /markets/{ticker}/orderbook`: `orderbook_fp` (current) or `orderbook` (transition, legacy)."""
    root = object_field(payload, None, "orderbook")
    if "orderbook_fp" in root:
        book = object_field(root, "orderbook_fp", "orderbook")
        yes_bid = _best_bid(book.get("yes_dollars"), "orderbook_fp.yes_dollars", cents=False)
        no_bid = _best_bid(book.get("no_dollars"), "orderbook_fp.no_dollars", cents=False)
    elif "orderbook" in root:
        book = object_field(root, "orderbook", "orderbook")
        if "yes_dollars" in book or "no_dollars" in book:
            yes_bid = _best_bid(book.get("yes_dollars"), "orderbook.yes_dollars", cents=False)
            no_bid = _best_bid(book.get("no_dollars"), "orderbook.no_dollars", cents=False)
        else:
            yes_bid = _best_bid(book.get("yes"), "orderbook.yes", cents=True)
            no_bid = _best_bid(book.get("no"), "orderbook.no", cents=True)
    else:
        raise ValueError("orderbook: neither orderbook_fp nor orderbook is present")
    # A NO bid at p is a YES ask at 1 - p (docs `orderbook_responses`).
    return BookTop(yes_bid, None if no_bid is None else ONE - no_bid)


# --------------------------------------------------------------------------------------- orders
@dataclass(frozen=True, slots=True)
class KalshiOrder:
    order_id: str
    client_order_id: str | None
    ticker: str
    side: Side  # BUY = towards YES (buy YES or sell NO), SELL = towards NO
    status: str  # resting | executed | canceled (| pending, legacy)
    yes_price: Decimal | None
    initial_count: Decimal | None
    fill_count: Decimal
    fill_cost: Decimal | None  # taker + maker fill cost in dollars


def _direction(obj: Payload, what: str) -> Side:
    """BUY or SELL of the YES contract.

    `book_side` (2026) is bid for buy-YES/sell-NO and ask for buy-NO/sell-YES
    (docs `order_direction`); older payloads carry `side` (yes|no) and `action` (buy|sell).
    """
    book_side = obj.get("book_side")
    if book_side in ("bid", "ask"):
        return Side.BUY if book_side == "bid" else Side.SELL
    side, action = obj.get("side"), obj.get("action")
    if side in ("yes", "no") and action in ("buy", "sell"):
        towards_yes = (side == "yes") == (action == "buy")
        return Side.BUY if towards_yes else Side.SELL
    raise ValueError(f"{what}: no direction (book_side {book_side!r}, side {side!r}, action {action!r})")


def parse_order(payload: Any) -> KalshiOrder:
    """An order from `{"order": {...}}` or the bare order object."""
    order = object_field(payload, "order", "order")
    order_id = text_field(order, "order_id", "order")
    what = f"order {order_id}"
    client_order_id = order.get("client_order_id")
    if client_order_id is not None and not isinstance(client_order_id, str):
        raise ValueError(f"{what}: client_order_id {client_order_id!r} is not a string")
    taker = dollars_field(order, "taker_fill_cost", what, required=False)
    maker = dollars_field(order, "maker_fill_cost", what, required=False)
    fill_count = count_field(order, "fill_count", what)
    assert fill_count is not None
    if fill_count < 0:
        raise ValueError(f"{what}: negative fill count {fill_count}")
    return KalshiOrder(
        order_id=order_id,
        client_order_id=client_order_id or None,
        ticker=text_field(order, "ticker", what),
        side=_direction(order, what),
        status=text_field(order, "status", what),
        yes_price=dollars_field(order, "yes_price", what, required=False),
        initial_count=count_field(order, "initial_count", what, required=False),
        fill_count=fill_count,
        fill_cost=None if taker is None and maker is None else (taker or ZERO) + (maker or ZERO),
    )


def order_status(order: KalshiOrder, *, immediate: bool = False) -> OrderStatus:
    """Kalshi's three order states in ours.

    `resting` is ACCEPTED until something fills, then PARTIALLY_FILLED; `executed` is
    FILLED; `canceled` is CANCELED, or EXPIRED for the unfilled rest of an
    immediate-or-cancel order (`immediate`: Kalshi's order JSON does not say which
    it was, so only the sender knows).
    """
    match order.status:
        case "resting":
            return OrderStatus.PARTIALLY_FILLED if order.fill_count > 0 else OrderStatus.ACCEPTED
        case "executed":
            return OrderStatus.FILLED
        case "canceled":
            return OrderStatus.EXPIRED if immediate else OrderStatus.CANCELED
        case "pending":  # legacy: received, not yet on the book
            return OrderStatus.SUBMITTED
    raise ValueError(f"order {order.order_id}: unknown status {order.status!r}")


def average_fill_price(order: KalshiOrder) -> Decimal | None:
    """Average YES price paid by a buy: fill cost / filled count.

    For an order towards NO the venue's fill cost is not documented as YES- or
    NO-priced, so it is None there; the order's fills carry the exact YES prices.
    """
    if order.fill_count <= 0 or order.fill_cost is None or order.side is not Side.BUY:
        return None
    return order.fill_cost / order.fill_count


def parse_orders_page(payload: Any) -> tuple[list[KalshiOrder], str | None]:
    """`GET /portfolio/orders`: the page's orders and the next cursor."""
    root = object_field(payload, None, "orders")
    return [parse_order(item) for item in list_field(root, "orders", "orders")], next_cursor(root)


# --------------------------------------------------------------------------------------- fills
@dataclass(frozen=True, slots=True)
class KalshiFill:
    fill_id: str
    order_id: str
    client_order_id: str | None  # present on some payloads; otherwise look the order up
    ticker: str
    side: Side
    count: Decimal
    yes_price: Decimal
    fee: Decimal
    is_taker: bool | None
    time: datetime


def parse_fill(payload: Any) -> KalshiFill:
    fill = object_field(payload, None, "fill")
    fill_id = fill.get("fill_id") or fill.get("trade_id")
    if not isinstance(fill_id, str) or not fill_id:
        raise ValueError(f"fill: fill_id is missing ({fill_id!r})")
    what = f"fill {fill_id}"
    count = count_field(fill, "count", what)
    assert count is not None
    price_text = fill.get("yes_price_dollars") or fill.get("yes_price_fixed")  # `_fixed`: transition name
    if price_text is not None:
        yes_price = finite_decimal(price_text, f"{what} yes_price_dollars")
    else:
        yes_price = finite_decimal(fill.get("yes_price"), f"{what} yes_price") / 100
    if count <= 0:
        raise ValueError(f"{what}: count must be positive, got {count}")
    if not ZERO < yes_price < ONE:
        raise ValueError(f"{what}: yes price {yes_price} is not inside (0, 1)")
    if fill.get("fee_cost") is None:
        raise ValueError(f"{what}: fee_cost is missing")
    fee = finite_decimal(fill["fee_cost"], f"{what} fee_cost")
    if fee < 0:
        raise ValueError(f"{what}: negative fee_cost {fee}")
    created = fill.get("created_time") or fill.get("ts")
    client_order_id = fill.get("client_order_id")
    is_taker = fill.get("is_taker")
    return KalshiFill(
        fill_id=fill_id,
        order_id=text_field(fill, "order_id", what),
        client_order_id=client_order_id if isinstance(client_order_id, str) and client_order_id else None,
        ticker=text_field(fill, "ticker" if fill.get("ticker") else "market_ticker", what),
        side=_direction(fill, what),
        count=count,
        yes_price=yes_price,
        fee=fee,
        is_taker=is_taker if isinstance(is_taker, bool) else None,
        time=time_field(created, f"{what} created_time"),
    )


def parse_fills_page(payload: Any) -> tuple[list[KalshiFill], str | None]:
    """`GET /portfolio/fills`: the page's fills and the next cursor."""
    root = object_field(payload, None, "fills")
    return [parse_fill(item) for item in list_field(root, "fills", "fills")], next_cursor(root)


# --------------------------------------------------------------------------------------- account
@dataclass(frozen=True, slots=True)
class KalshiPosition:
    ticker: str
    quantity: Decimal  # signed: YES contracts > 0, NO contracts < 0
    average_entry_price: Decimal | None  # in YES price


def parse_position(payload: Any) -> KalshiPosition:
    """One `market_positions[]` entry.

    Kalshi reports no entry price, only `market_exposure` (the cost of the
    position). For YES contracts the average entry is exposure / contracts; NO
    contracts cost 1 - p each, so their entry in YES price is 1 - exposure /
    contracts. No or out-of-range exposure gives None (unknown), never a guess.
    """
    position = object_field(payload, None, "position")
    ticker = text_field(position, "ticker", "position")
    what = f"position {ticker}"
    quantity = count_field(position, "position", what)
    assert quantity is not None
    exposure = dollars_field(position, "market_exposure", what, required=False)
    average: Decimal | None = None
    if quantity != 0 and exposure is not None and exposure > 0:
        per_contract = exposure / abs(quantity)
        average = per_contract if quantity > 0 else ONE - per_contract
        if not ZERO < average < ONE:
            average = None
    return KalshiPosition(ticker, quantity, average)


def parse_positions_page(payload: Any) -> tuple[list[KalshiPosition], str | None]:
    """`GET /portfolio/positions`: `market_positions` (event_positions are sums of those)."""
    root = object_field(payload, None, "positions")
    positions = [parse_position(item) for item in list_field(root, "market_positions", "positions")]
    return positions, next_cursor(root)


def parse_balance(payload: Any) -> Decimal:
    """`GET /portfolio/balance`: `balance_dollars`, else the integer cents of `balance`."""
    root = object_field(payload, None, "balance")
    balance = dollars_field(root, "balance", "balance")
    assert balance is not None
    if balance < 0:
        raise ValueError(f"balance: negative balance {balance}")
    return balance


# --------------------------------------------------------------------------------------- fees
@dataclass(frozen=True, slots=True)
class KalshiFeeSchedule:
    """A series' fee terms (`GET /series/{series_ticker}`), and the fee they charge."""

    series_ticker: str
    fee_type: KalshiFeeType
    multiplier: Decimal

    def fee(self, contracts: Decimal, price: Decimal, *, maker: bool = False) -> Decimal:
        """The fee in dollars for one order of `contracts` at YES price `price` (domain.fees.kalshi_fee)."""
        return kalshi_fee(contracts, price, maker=maker, fee_type=self.fee_type, multiplier=self.multiplier)


def parse_series_fee_schedule(payload: Any) -> KalshiFeeSchedule:
    series = object_field(payload, "series", "series")
    ticker = text_field(series, "ticker", "series")
    what = f"series {ticker}"
    raw_type = series.get("fee_type")
    try:
        fee_type = KalshiFeeType(str(raw_type))
    except ValueError:
        raise ValueError(f"{what}: unknown fee_type {raw_type!r}") from None
    if series.get("fee_multiplier") is None:
        raise ValueError(f"{what}: fee_multiplier is missing")
    multiplier = finite_decimal(series["fee_multiplier"], f"{what} fee_multiplier")
    if multiplier < 0:
        raise ValueError(f"{what}: negative fee_multiplier {multiplier}")
    return KalshiFeeSchedule(ticker, fee_type, multiplier)


def parse_series_resolution_source(payload: Any) -> str:
    """What settles a series' markets (`settlement_sources:[{name,url}]`), as one comparable text.

    Each source is its URL when it has one (the NWS CLI's URL names the station, the name only
    the agency), else its name; several are joined by "; " in the venue's order. A series that
    names none gives "", which the cross-venue matcher refuses.
    """
    series = object_field(payload, "series", "series")
    ticker = text_field(series, "ticker", "series")
    sources = list_field(series, "settlement_sources", f"series {ticker}")
    named: list[str] = []
    for index, item in enumerate(sources):
        source = object_field(item, None, f"series {ticker} settlement_sources[{index}]")
        url, name = source.get("url"), source.get("name")
        text = next((v.strip() for v in (url, name) if isinstance(v, str) and v.strip()), "")
        if not text:
            raise ValueError(f"series {ticker}: settlement_sources[{index}] has neither a url nor a name")
        named.append(text)
    return "; ".join(named)


# --------------------------------------------------------------------------------------- candlesticks
PERIOD_MINUTES = {60: 1, 3600: 60, 86_400: 1440}  # bar seconds -> Kalshi's period_interval


@dataclass(frozen=True, slots=True)
class Candle:
    """One candlestick: `end` is Kalshi's inclusive `end_period_ts`."""

    end: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


def parse_candlesticks(payload: Any) -> list[Candle]:
    """`GET /series/{series}/markets/{ticker}/candlesticks`, trade prices (`price.*dollars_field`).

    A period without trades has null OHLC; it becomes a flat, zero-volume candle at
    the last traded price (`previous_dollars`), or is left out before any trade.
    """
    root = object_field(payload, None, "candlesticks")
    candles: list[Candle] = []
    for index, item in enumerate(list_field(root, "candlesticks", "candlesticks")):
        what = f"candlesticks[{index}]"
        candle = object_field(item, None, what)
        end = candle.get("end_period_ts")
        if not isinstance(end, int) or isinstance(end, bool):
            raise ValueError(f"{what}: end_period_ts {end!r} is not an integer")
        price = object_field(candle.get("price") or {}, None, f"{what}.price")
        volume = count_field(candle, "volume", what, required=False) or ZERO
        ohlc = [price.get(f"{name}_dollars") for name in ("open", "high", "low", "close")]
        if all(value is not None for value in ohlc):
            o, h, low, c = (finite_decimal(value, f"{what} price") for value in ohlc)
            candles.append(Candle(end, o, h, low, c, volume))
        elif price.get("previous_dollars") is not None:
            last = finite_decimal(price["previous_dollars"], f"{what} price.previous_dollars")
            candles.append(Candle(end, last, last, last, last, ZERO))
    return candles


# --------------------------------------------------------------------------------------- errors
@dataclass(frozen=True, slots=True)
class KalshiError:
    code: str | None
    message: str
    details: str | None = None

    def describe(self) -> str:
        text = self.message or (self.code or "")
        if self.code and self.code not in text:
            text = f"{text} ({self.code})"
        if self.details and self.details not in text:
            text = f"{text}: {self.details}"
        return text


def parse_error(body: str | bytes | None) -> KalshiError:
    """An error body: `{"error": {"code", "message", "details"}}`, `{"error": "text"}`, a flat
    `{"code", "message"}` or plain text. Never raises: an error must always have a reason."""
    if body is None:
        return KalshiError(None, "")
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        decoded = json.loads(text)
    except ValueError:
        return KalshiError(None, text.strip()[:300])
    if isinstance(decoded, dict):
        inner = decoded.get("error", decoded)
        if isinstance(inner, str):
            return KalshiError(None, inner)
        if isinstance(inner, dict):
            code, message, details = inner.get("code"), inner.get("message"), inner.get("details")
            return KalshiError(
                code if isinstance(code, str) and code else None,
                message if isinstance(message, str) else "",
                details if isinstance(details, str) and details else None,
            )
    return KalshiError(None, text.strip()[:300])


# --------------------------------------------------------------------------------------- requests
def format_price(price: Decimal) -> str:
    """A YES price for `yes_price_dollars`: 4 decimals ("0.4500"); finer than $0.0001 is refused."""
    exact = price.quantize(DOLLAR_PLACES)
    if exact != price or not ZERO < price < ONE:
        raise ValueError(f"price {price} is not a dollar price with at most 4 decimals inside (0, 1)")
    return str(exact)


def format_count(count: Decimal) -> str:
    """A contract count for `count_fp`: 2 decimals ("10.00")."""
    exact = count.quantize(COUNT_PLACES)
    if exact != count or count <= 0:
        raise ValueError(f"count {count} is not a positive count with at most 2 decimals")
    return str(exact)


def time_in_force(order_type: OrderType, tif: TimeInForce) -> str:
    """Kalshi's `time_in_force`. A market order is sent as an immediate-or-cancel limit (Kalshi
    removed market orders), a DAY order as good-till-canceled with an `expiration_ts`."""
    if order_type is OrderType.MARKET or tif is TimeInForce.IOC:
        return "immediate_or_cancel"
    return "good_till_canceled"


def end_of_day_expiration(now: datetime) -> int:
    """Unix seconds of the next midnight in New York after `now`: when a DAY order expires."""
    if now.tzinfo is None:
        raise ValueError("end_of_day_expiration needs a timezone-aware time")
    local = now.astimezone(EXCHANGE_TIMEZONE)
    # zoneinfo adds wall-clock days, and works the offset out for the new date (DST nights included)
    midnight = datetime(local.year, local.month, local.day, tzinfo=EXCHANGE_TIMEZONE) + timedelta(days=1)
    return int(midnight.timestamp())


def order_request(
    *,
    ticker: str,
    client_order_id: str,
    side: Side,
    count: Decimal,
    yes_price: Decimal,
    time_in_force: str,
    expiration_ts: int | None = None,
    reduce_only: bool = False,
) -> dict[str, Any]:
    """The body of `POST /portfolio/orders` in the current format: the YES contract, bought or sold,
    `count_fp` and `yes_price_dollars` strings, no `type` (Kalshi dropped it with market orders)."""
    body: dict[str, Any] = {
        "ticker": ticker,
        "client_order_id": client_order_id,
        "side": "yes",
        "action": "buy" if side is Side.BUY else "sell",
        "count_fp": format_count(count),
        "yes_price_dollars": format_price(yes_price),
        "time_in_force": time_in_force,
    }
    if expiration_ts is not None:
        body["expiration_ts"] = expiration_ts
    if reduce_only:
        body["reduce_only"] = True
    return body


def unix_seconds(moment: datetime) -> int:
    """Whole seconds, rounded down: Kalshi's `min_ts` filters take integers."""
    return math.floor(moment.timestamp())


def first_of(items: Sequence[KalshiOrder], client_order_id: str) -> KalshiOrder | None:
    """The order carrying `client_order_id` among a page of orders."""
    return next((order for order in items if order.client_order_id == client_order_id), None)
