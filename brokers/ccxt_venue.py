"""Coinbase Advanced Trade and any other CCXT exchange (spot) through ccxt: the adapter and its parsers.

One adapter class serves two kinds: "coinbase" (ccxt's `coinbase` class, the
Advanced Trade API) and "ccxt" (the exchange id named by `exchange`, e.g.
"binance" or "kraken"). Symbols are ccxt's unified spot symbols ("BTC/USD");
an exchange's own market id ("BTC-USD", "BTCUSDT") is accepted and kept as the
instrument's symbol.

How ccxt 4.5.90 is driven (configuration only, nothing of ccxt is patched):
- the synchronous classes run in VenueCaller's worker threads, one call at a
  time per exchange object (a lock: ccxt objects are not thread-safe);
- ccxt's own throttle is off (`enableRateLimit: False`) and it never retries
  (`maxRetriesOnFailure: 0`): VenueCaller's rate limit (default 1000 /
  `exchange.rateLimit` requests a second) and retry policy are the only ones;
- `base_url` rewrites every URL of `exchange.urls['api']` to that host, keeping
  the path (a proxy, or a local fake). Without it, "sandbox" selects the
  exchange's testnet where ccxt knows one, and is refused where it does not;
- ccxt reports no HTTP status with its exceptions, so a requests response hook
  on ccxt's own session records it, and the Retry-After header is read from
  `exchange.last_response_headers` in the same thread, under the same lock.

What ccxt does that this adapter works around:
- `coinbase.create_order` drops the unified `clientOrderId` param and sends a
  random "ccxt-<uuid>", so our id goes in Coinbase's native `client_order_id`;
- a Coinbase market buy is a cost order (`quote_size`): ccxt wants a price to
  compute it (`createMarketBuyOrderRequiresPrice`), which is the best ask of a
  quote taken just before; the filled size is cost / fill price, not exactly
  the size asked for;
- a Binance market *buy* given a price becomes a cost order too
  (`quoteOrderQty`), so a price is passed only where the exchange needs it;
- ccxt maps HTTP 400/403/404 to ExchangeNotAvailable (a network error) where
  the exchange's own error table has no entry: the HTTP status decides then.

Quotes come from the order book (`fetch_order_book`, the top level) where the
exchange offers one, else from `fetch_ticker` bid/ask. Numbers reach us as
ccxt's floats; each becomes a Decimal through its shortest text.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, TypeVar

import ccxt
import numpy as np
from ccxt.base.decimal_to_precision import DECIMAL_PLACES, TICK_SIZE

from brokers.base import (
    Balance,
    OrderNotFound,
    VenueOrder,
    VenuePosition,
    VenueRejected,
    VenueUnavailable,
)
from brokers.calls import FaultKind, VenueFault, http_fault, requests_rate_limit_hook
from brokers.credentials import CredentialSpec
from brokers.factory import VenueConnection
from brokers.json_fields import json_list, json_object
from brokers.live import LiveAdapter, OutboundOrder
from domain.instruments import AssetClass, Instrument
from domain.market import Bar, BarSeries, Quote
from domain.orders import Fill, OrderStatus, OrderType, TimeInForce
from domain.signals import Side
from risk_management.underlying import MalformedSymbol, underlying_of
from utils.clock import WALL_CLOCK

log = logging.getLogger(__name__)

CREDENTIALS: tuple[CredentialSpec, ...] = (
    CredentialSpec(
        "API_KEY", help="the exchange API key (Coinbase: the CDP key name organizations/.../apiKeys/...)"
    ),
    CredentialSpec("SECRET", help="the API secret (Coinbase: the EC private key PEM of that CDP key)"),
    CredentialSpec("PASSWORD", required=False, help="the API passphrase, for exchanges that issue one"),
)

T = TypeVar("T")

# What the Broker protocol needs of an exchange, as ccxt's `has` names it; a tuple is "any of".
REQUIRED_CAPABILITIES: tuple[tuple[str, ...], ...] = (
    ("fetchOrderBook", "fetchTicker"),
    ("fetchOHLCV",),
    ("fetchBalance",),
    ("createOrder",),
    ("cancelOrder",),
    ("fetchOpenOrders",),
    ("fetchOrder", "fetchClosedOrders"),
    ("fetchMyTrades",),
)


@dataclasses.dataclass(frozen=True, slots=True)
class Dialect:
    """What differs between exchanges behind ccxt's unified API."""

    client_id_param: str = "clientOrderId"  # create_order param that carries our client order id
    lookup_param: str | None = None  # fetch_order(None, symbol, {lookup_param: id}) finds by client id
    book_depth: int | None = None  # levels asked of fetch_order_book (None: the exchange's default)
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)


DIALECTS: dict[str, Dialect] = {
    "binance": Dialect(
        lookup_param="origClientOrderId",
        book_depth=5,
        # spot only: load_markets then reads /api/v3/exchangeInfo alone (no futures, no sapi currencies)
        options={"fetchMarkets": ["spot"], "fetchMargins": False, "fetchCurrencies": False},
    ),
    "coinbase": Dialect(
        client_id_param="client_order_id",
        book_depth=1,
        # Advanced Trade's own accounts (available + hold) rather than the v2 wallet list
        options={"fetchBalance": "v3PrivateGetBrokerageAccounts"},
    ),
}
UNSUPPORTED_TIME_IN_FORCE = frozenset({TimeInForce.DAY})  # spot crypto has no trading day


# --------------------------------------------------------------------------------------------- parsing
def to_decimal(value: Any, what: str) -> Decimal:
    """A ccxt number (float, int or numeric string) as a finite Decimal, through its shortest text."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError(f"{what}: expected a number, got {value!r}")
    try:
        number = Decimal(value if isinstance(value, str) else str(value))
    except InvalidOperation:
        raise ValueError(f"{what}: not a number: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"{what}: not a finite number: {value!r}")
    return number


def optional_decimal(value: Any, what: str) -> Decimal | None:
    return None if value is None or value == "" else to_decimal(value, what)


def increment_from_precision(precision: Any, precision_mode: int, what: str) -> Decimal:
    """The increment a market's `precision` entry means: a tick (TICK_SIZE) or a count of decimals."""
    value = to_decimal(precision, what)
    if precision_mode == TICK_SIZE:
        increment = value
    elif precision_mode == DECIMAL_PLACES:
        if value != value.to_integral_value():
            raise ValueError(f"{what}: {precision!r} is not a whole number of decimal places")
        increment = Decimal(1).scaleb(-int(value))
    else:
        raise ValueError(
            f"{what}: precision mode {precision_mode} (significant digits) has no fixed increment"
        )
    if increment <= 0:
        raise ValueError(f"{what}: increment must be positive, got {precision!r}")
    return increment


def instrument_from_market(
    symbol: str, market: Mapping[str, Any], venue: str, precision_mode: int
) -> Instrument:
    """The instrument of a ccxt market structure (`exchange.markets[...]`), under our configured `symbol`."""
    what = f"market {symbol}"
    market = json_object(market, what)
    if market.get("spot") is not True:
        raise ValueError(f"{what}: only spot markets are supported, this one is {market.get('type')!r}")
    precision = json_object(market.get("precision"), f"{what} precision")
    limits = json_object(market.get("limits") or {}, f"{what} limits")
    amount_limits = json_object(limits.get("amount") or {}, f"{what} amount limits")
    cost_limits = json_object(limits.get("cost") or {}, f"{what} cost limits")
    base, quote = market.get("base"), market.get("quote")
    if not isinstance(base, str) or not isinstance(quote, str) or not base or not quote:
        raise ValueError(f"{what}: base/quote currency missing: {base!r}/{quote!r}")
    try:
        underlying = underlying_of(symbol, AssetClass.CRYPTO)
    except MalformedSymbol:
        underlying = base
    return Instrument(
        symbol=symbol,
        venue=venue,
        asset_class=AssetClass.CRYPTO,
        tick_size=increment_from_precision(precision.get("price"), precision_mode, f"{what} price precision"),
        lot_size=increment_from_precision(
            precision.get("amount"), precision_mode, f"{what} amount precision"
        ),
        underlying=underlying,
        min_quantity=optional_decimal(amount_limits.get("min"), f"{what} minimum amount") or Decimal(0),
        min_notional=optional_decimal(cost_limits.get("min"), f"{what} minimum cost") or Decimal(0),
        quote_currency=quote,
    )


def _usable_price(value: Any) -> Decimal | None:
    """A positive finite price, or None for a missing, NaN, zero or junk one (never a guess)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        price = to_decimal(value, "price")
    except ValueError:
        return None
    return price if price > 0 else None


def _venue_time(timestamp_ms: Any, received_at: datetime) -> datetime:
    if isinstance(timestamp_ms, int | float) and not isinstance(timestamp_ms, bool) and timestamp_ms > 0:
        return datetime.fromtimestamp(timestamp_ms / 1000, UTC)
    return received_at


def quote_from_order_book(book: Any, instrument_key: str, received_at: datetime, source: str) -> Quote | None:
    """Best bid/ask of a ccxt order book; None when a side is empty, unpriced or the book is crossed."""
    book = json_object(book, f"{instrument_key} order book")
    bids, asks = book.get("bids"), book.get("asks")
    if not isinstance(bids, list) or not isinstance(asks, list):
        raise ValueError(f"{instrument_key} order book: bids/asks are not lists")
    if not bids or not asks:
        return None
    best_bid, best_ask = bids[0], asks[0]
    if not isinstance(best_bid, list | tuple) or not isinstance(best_ask, list | tuple):
        raise ValueError(f"{instrument_key} order book: a level is not [price, size]: {best_bid!r}")
    if not best_bid or not best_ask:
        return None
    return _quote(
        best_bid[0], best_ask[0], instrument_key, _venue_time(book.get("timestamp"), received_at), source
    )


def quote_from_ticker(ticker: Any, instrument_key: str, received_at: datetime, source: str) -> Quote | None:
    """Bid/ask of a ccxt ticker; None when either is missing, NaN, zero or the two are crossed."""
    ticker = json_object(ticker, f"{instrument_key} ticker")
    when = _venue_time(ticker.get("timestamp"), received_at)
    return _quote(ticker.get("bid"), ticker.get("ask"), instrument_key, when, source)


def _quote(bid_value: Any, ask_value: Any, instrument_key: str, when: datetime, source: str) -> Quote | None:
    bid, ask = _usable_price(bid_value), _usable_price(ask_value)
    if bid is None or ask is None or ask < bid:
        return None
    return Quote(instrument_key, bid, ask, when, source)


def timeframe_for(seconds: int, timeframes: Mapping[str, Any] | None) -> str | None:
    """The exchange's timeframe name ("1m", "1h", ...) for a bar length in seconds, if it offers one."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
    for name in timeframes or {}:
        count, unit = name[:-1], name[-1:]
        if count.isdigit() and unit in units and int(count) * units[unit] == seconds:
            return name
    return None


def bar_series_from_ohlcv(
    rows: Any, instrument_key: str, timeframe_seconds: int, count: int, now_ms: int
) -> BarSeries | None:
    """The last `count` complete bars of ccxt OHLCV rows, oldest first; a bar still forming is dropped."""
    if not isinstance(rows, list):
        raise ValueError(f"{instrument_key} bars: expected a list of [time, o, h, l, c, v], got {rows!r}")
    span_ms = timeframe_seconds * 1000
    bars: list[Bar] = []
    for row in rows:
        if not isinstance(row, list | tuple) or len(row) < 6:
            raise ValueError(f"{instrument_key} bars: a row is not [time, o, h, l, c, v]: {row!r}")
        opened = row[0]
        if isinstance(opened, bool) or not isinstance(opened, int | float):
            raise ValueError(f"{instrument_key} bars: bar time {opened!r} is not epoch milliseconds")
        if opened + span_ms > now_ms:
            continue  # still forming: its close is not final
        open_, high, low, close = (float(to_decimal(v, f"{instrument_key} bar price")) for v in row[1:5])
        volume = 0.0 if row[5] is None else float(to_decimal(row[5], f"{instrument_key} bar volume"))
        bars.append(Bar(datetime.fromtimestamp(opened / 1000, UTC), open_, high, low, close, volume))
    bars.sort(key=lambda bar: bar.time)
    bars = bars[-count:] if count > 0 else []
    if not bars:
        return None
    return BarSeries(
        instrument_key,
        timeframe_seconds,
        np.array([bar.time.timestamp() for bar in bars], dtype=np.float64),
        np.array([bar.open for bar in bars], dtype=np.float64),
        np.array([bar.high for bar in bars], dtype=np.float64),
        np.array([bar.low for bar in bars], dtype=np.float64),
        np.array([bar.close for bar in bars], dtype=np.float64),
        np.array([bar.volume for bar in bars], dtype=np.float64),
    )


def balance_from(balance: Any, currency: str) -> Balance:
    """`currency`'s total and free amounts in a ccxt balance structure (zero when it holds none)."""
    balance = json_object(balance, "balance")
    entry = balance.get(currency)
    if entry is None:
        return Balance(currency, Decimal(0), Decimal(0))
    entry = json_object(entry, f"balance of {currency}")
    free = optional_decimal(entry.get("free"), f"free {currency}")
    used = optional_decimal(entry.get("used"), f"used {currency}")
    total = optional_decimal(entry.get("total"), f"total {currency}")
    if total is None:
        if free is None:
            raise ValueError(f"balance of {currency}: neither total nor free given: {dict(entry)!r}")
        total = free + (used or Decimal(0))
    if free is None:
        free = total - (used or Decimal(0))
    return Balance(currency, total, free)


def spot_positions(balance: Any, bases: Sequence[tuple[str, str]], venue: str) -> list[VenuePosition]:
    """Non-zero holdings of each configured symbol's base currency; `bases` is (symbol, base) pairs.

    A currency is reported once, under the first symbol that trades it (BTC/USD and BTC/USDC
    share one BTC balance). Spot balances carry no entry price.
    """
    balance = json_object(balance, "balance")
    totals = json_object(balance.get("total") or {}, "balance totals")
    seen: set[str] = set()
    positions: list[VenuePosition] = []
    for symbol, base in bases:
        if base in seen:
            continue
        seen.add(base)
        quantity = optional_decimal(totals.get(base), f"total {base}")
        if quantity:
            positions.append(VenuePosition(f"{venue}:{symbol}", quantity, None))
    return positions


def order_status_from(order: Mapping[str, Any]) -> OrderStatus:
    """Our status of a ccxt order: its unified status, refined by the filled amount and the raw status."""
    status = order.get("status")
    info = order.get("info")
    raw = str(info.get("status", "")).upper() if isinstance(info, Mapping) else ""
    filled = optional_decimal(order.get("filled"), "order filled") or Decimal(0)
    match status.lower() if isinstance(status, str) else status:
        case None:
            return OrderStatus.SUBMITTED  # sent, the answer says nothing more (Coinbase's create)
        case "pending" | "queued" | "edit_queued":  # Coinbase states ccxt passes through raw
            return OrderStatus.ACCEPTED
        case "cancel_queued":
            return OrderStatus.PENDING_CANCEL
        case "open":
            return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.ACCEPTED
        case "closed":
            return OrderStatus.FILLED
        case "canceled" | "cancelled":
            # ccxt folds Coinbase's EXPIRED and FAILED into "canceled"
            if raw == "EXPIRED":
                return OrderStatus.EXPIRED
            if raw in ("FAILED", "REJECTED"):
                return OrderStatus.REJECTED
            return OrderStatus.CANCELED
        case "canceling":
            return OrderStatus.PENDING_CANCEL
        case "expired":
            return OrderStatus.EXPIRED
        case "rejected":
            return OrderStatus.REJECTED
    raise ValueError(f"order {order.get('id')!r}: unknown status {status!r}")


def venue_order_from(order: Any, instrument_key: str, client_order_id: str | None = None) -> VenueOrder:
    """A ccxt order structure as a VenueOrder, under `client_order_id` when the caller knows it."""
    order = json_object(order, "order")
    venue_id = order.get("id")
    if venue_id is not None and not isinstance(venue_id, str | int):
        raise ValueError(f"order: id {venue_id!r} is not a string")
    # the id we asked about wins: Binance's cancel answer echoes the cancel request's own client id
    echoed = order.get("clientOrderId")
    client_id = client_order_id or (echoed if isinstance(echoed, str) and echoed else None)
    if client_id is None and venue_id is not None:
        client_id = str(venue_id)  # an order placed elsewhere (the exchange's web page) carries none
    if client_id is None:
        raise ValueError(f"order without an id or a client order id: {dict(order)!r}")
    filled = optional_decimal(order.get("filled"), f"order {client_id} filled") or Decimal(0)
    average = optional_decimal(order.get("average"), f"order {client_id} average price")
    if not average and filled > 0:
        cost = optional_decimal(order.get("cost"), f"order {client_id} cost")
        average = cost / filled if cost else None
    status = order_status_from(order)
    reason = None
    info = order.get("info")
    if status is OrderStatus.REJECTED and isinstance(info, Mapping):
        reason = next((str(info[k]) for k in ("reject_message", "reject_reason", "msg") if info.get(k)), None)
    return VenueOrder(
        client_order_id=client_id,
        venue_order_id=None if venue_id is None else str(venue_id),
        instrument_key=instrument_key,
        status=status,
        filled_quantity=filled,
        average_fill_price=average if filled > 0 and average else None,
        reason=reason,
    )


def fee_in_quote(trade: Mapping[str, Any], base: str, quote: str, price: Decimal) -> Decimal | None:
    """The trade's fee in the quote currency; None when it is charged in a third currency (BNB, ...).

    A fee in the base currency converts exactly at the trade's own price (Binance charges
    a buy's commission in the asset bought).
    """
    fee = trade.get("fee")
    if fee is None:
        return Decimal(0)
    fee = json_object(fee, f"trade {trade.get('id')} fee")
    cost = optional_decimal(fee.get("cost"), f"trade {trade.get('id')} fee cost")
    if not cost:
        return Decimal(0)
    currency = fee.get("currency")
    if currency in (None, quote):
        return cost
    if currency == base:
        return cost * price
    return None


def fill_from_trade(
    trade: Any,
    venue: str,
    symbol: str,
    base: str,
    quote: str,
    client_order_id: str,
) -> tuple[Fill, str | None]:
    """A ccxt trade as a Fill, and why its fee is booked as 0 when it could not be booked as charged.

    A fee in a third currency has no exact price in `quote`; a negative fee (a maker rebate)
    cannot be a Fill's fee. Either is booked as 0 and the note says what was left out.
    """
    trade = json_object(trade, "trade")
    trade_id = trade.get("id")
    if not isinstance(trade_id, str | int) or trade_id == "":
        raise ValueError(f"trade without an id: {dict(trade)!r}")
    what = f"trade {trade_id}"
    side_text = trade.get("side")
    if side_text not in ("buy", "sell"):
        raise ValueError(f"{what}: side {side_text!r} is neither buy nor sell")
    price = to_decimal(trade.get("price"), f"{what} price")
    quantity = to_decimal(trade.get("amount"), f"{what} amount")
    timestamp = trade.get("timestamp")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
        raise ValueError(f"{what}: timestamp {timestamp!r} is not epoch milliseconds")
    fee = fee_in_quote(trade, base, quote, price)
    note = None
    if fee is None:
        fee_info = trade.get("fee")
        charged = fee_info.get("cost") if isinstance(fee_info, Mapping) else None
        currency = fee_info.get("currency") if isinstance(fee_info, Mapping) else None
        note = f"fee {charged} {currency} has no exact price in {quote}"
        fee = Decimal(0)
    elif fee < 0:
        note = f"rebate {-fee} {quote}"
        fee = Decimal(0)
    fill = Fill(
        client_order_id=client_order_id,
        venue=venue,
        venue_trade_id=str(trade_id),
        instrument_key=f"{venue}:{symbol}",
        side=Side(side_text),
        quantity=quantity,
        price=price,
        fee=fee,
        time=datetime.fromtimestamp(timestamp / 1000, UTC),
    )
    return fill, note


def venue_reason(message: str, exchange_id: str) -> str:
    """The exchange's own words in a ccxt error message ("binance {"code":-2010,"msg":"..."}")."""
    text = message.strip()
    if text.startswith(exchange_id + " "):
        text = text[len(exchange_id) + 1 :]
    start = text.find("{")
    if start >= 0:
        try:
            payload = json.loads(text[start:])
        except ValueError:
            payload = None
        words = _words_in(payload)
        if words:
            return words
    return " ".join(text.split())[:300] or "no error message"


def _words_in(payload: Any) -> str | None:
    if not isinstance(payload, Mapping):
        return None
    inner = payload.get("error_response")
    if isinstance(inner, Mapping) and (inner.get("message") or inner.get("error")):
        return str(inner.get("message") or inner.get("error"))
    errors = payload.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], Mapping) and errors[0].get("message"):
        return str(errors[0]["message"])
    for key in ("message", "msg", "error_description", "error"):
        value = payload.get(key)
        if isinstance(value, str) and value:
            return value
    return None


# --------------------------------------------------------------------------------------------- faults
class CcxtCallFailed(Exception):
    """A ccxt exception with what ccxt itself does not keep: the HTTP status and headers of the answer."""

    def __init__(self, error: Exception, status: int | None, headers: Mapping[str, str]) -> None:
        super().__init__(str(error))
        self.error = error
        self.status = status
        self.headers = dict(headers)


_SURE_4XX_EXCEPT = frozenset({408, 418, 425, 429})  # 4xx statuses that do not mean "the venue said no"


def classify_ccxt(exc: BaseException, exchange_id: str) -> VenueFault | None:
    """A ccxt exception (with its HTTP status where there was an answer) as a VenueFault."""
    if isinstance(exc, CcxtCallFailed):
        error: BaseException = exc.error
        status, headers = exc.status, exc.headers
    elif isinstance(exc, ccxt.BaseError):
        error, status, headers = exc, None, {}
    elif isinstance(exc, ValueError):
        return VenueFault(FaultKind.UNKNOWN, f"unreadable answer from {exchange_id}: {exc}")
    else:
        return None
    reason = venue_reason(str(error), exchange_id)
    if status in (418, 429):
        return http_fault(429, reason, headers)
    if status is not None and status >= 500:
        return http_fault(status, reason, headers)
    if isinstance(error, ccxt.OrderNotFound):
        return VenueFault(FaultKind.NOT_FOUND, reason, status)
    if isinstance(error, ccxt.DuplicateOrderId) or (
        isinstance(error, ccxt.InvalidOrder) and "duplicate order" in reason.lower()
    ):
        return VenueFault(FaultKind.DUPLICATE, reason, status)
    if isinstance(error, ccxt.NetworkError):
        if status is not None and 400 <= status < 500 and status not in _SURE_4XX_EXCEPT:
            return http_fault(status, reason, headers)  # ccxt's "ExchangeNotAvailable" for a plain 4xx
        if isinstance(error, ccxt.RateLimitExceeded | ccxt.DDoSProtection):
            return http_fault(429, reason, headers)
        return VenueFault(FaultKind.TRANSIENT, reason, status)
    if isinstance(
        error,
        ccxt.InvalidOrder
        | ccxt.InsufficientFunds
        | ccxt.BadRequest
        | ccxt.AuthenticationError
        | ccxt.OperationRejected,
    ):
        return VenueFault(FaultKind.REJECTED, reason, status)
    if status is not None and status >= 400:
        # the exchange answered with an error ccxt has no name for: its HTTP status says what it is
        return http_fault(status, reason, headers)
    if isinstance(error, ccxt.ExchangeError) and status is not None:
        return VenueFault(FaultKind.REJECTED, reason, status)  # an error body in a 200 answer
    return VenueFault(FaultKind.UNKNOWN, f"{type(error).__name__}: {reason}", status)


# --------------------------------------------------------------------------------------------- the exchange
def exchange_id_for(connection: VenueConnection) -> str:
    if connection.kind == "coinbase":
        return "coinbase"
    if not connection.exchange:
        raise VenueUnavailable(
            f"venue {connection.name!r}: kind 'ccxt' needs `exchange` (a ccxt exchange id)"
        )
    return connection.exchange.strip().lower()


def rewrite_urls(urls: Any, base_url: str) -> Any:
    """`urls` (a string, or a nested dict or list of them) with every host replaced by `base_url`."""
    if isinstance(urls, Mapping):
        return {key: rewrite_urls(value, base_url) for key, value in urls.items()}
    if isinstance(urls, list):
        return [rewrite_urls(value, base_url) for value in urls]
    if isinstance(urls, str) and urls.startswith(("https://", "http://")):
        rest = urls.split("://", 1)[1]
        slash = rest.find("/")
        return base_url.rstrip("/") + (rest[slash:] if slash >= 0 else "")
    return urls


def missing_capabilities(has: Mapping[str, Any]) -> list[str]:
    """The Broker protocol's needs that the exchange's `has` table does not meet, in ccxt's names."""
    return [" or ".join(names) for names in REQUIRED_CAPABILITIES if not any(has.get(name) for name in names)]


def build_exchange(connection: VenueConnection, exchange_id: str) -> Any:
    """A configured synchronous ccxt exchange object; refuses what this adapter cannot trade on."""
    exchange_class = getattr(ccxt, exchange_id, None)
    if exchange_id not in ccxt.exchanges or exchange_class is None:
        raise VenueUnavailable(
            f"venue {connection.name!r}: ccxt {ccxt.__version__} has no exchange {exchange_id!r}"
        )
    dialect = DIALECTS.get(exchange_id, Dialect())
    credentials = connection.credentials
    config: dict[str, Any] = {
        "apiKey": credentials["API_KEY"],
        "secret": credentials["SECRET"],
        "enableRateLimit": False,
        "timeout": int(connection.timeout_seconds * 1000),
        "options": {"defaultType": "spot", "maxRetriesOnFailure": 0, **dialect.options},
    }
    if credentials.get("PASSWORD"):
        config["password"] = credentials["PASSWORD"]
    exchange = exchange_class(config)
    missing = missing_capabilities(exchange.has)
    if missing:
        raise VenueUnavailable(
            f"venue {connection.name!r}: ccxt's {exchange_id} lacks what trading needs: {', '.join(missing)}"
        )
    required = {name for name, needed in exchange.requiredCredentials.items() if needed}
    if "password" in required and not credentials.get("PASSWORD"):
        raise VenueUnavailable(
            f"venue {connection.name!r}: {exchange_id} needs an API passphrase: set <PREFIX>_PASSWORD "
            f"(PREFIX is credentials_env_prefix, default {connection.kind.upper()})"
        )
    others = sorted(required - {"apiKey", "secret", "password"})
    if others:
        raise VenueUnavailable(
            f"venue {connection.name!r}: {exchange_id} needs credentials this adapter does not take: "
            + ", ".join(others)
        )
    if connection.base_url:
        exchange.urls["api"] = rewrite_urls(exchange.urls["api"], connection.base_url)
    elif connection.environment == "sandbox":
        if not exchange.urls.get("test"):
            raise VenueUnavailable(
                f"venue {connection.name!r}: {exchange_id} has no sandbox in ccxt; set "
                'environment = "production" to trade it (real money), or base_url to use a test host'
            )
        exchange.set_sandbox_mode(True)
    return exchange


class ExchangeSession:
    """One ccxt exchange object, used by one thread at a time, remembering each answer's HTTP status."""

    def __init__(self, exchange: Any) -> None:
        self.exchange = exchange
        self._lock = threading.Lock()
        self._status: int | None = None
        exchange.session.hooks.setdefault("response", []).append(self._record_status)

    def _record_status(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        self._status = response.status_code
        return response

    def run(self, work: Callable[[Any], T]) -> T:
        """`work(exchange)` with markets loaded; a ccxt error leaves as `CcxtCallFailed`."""
        with self._lock:
            exchange = self.exchange
            try:
                self._reset()
                exchange.load_markets()
                self._reset()
                return work(exchange)
            except ccxt.BaseError as error:
                raise CcxtCallFailed(
                    error, self._status, dict(exchange.last_response_headers or {})
                ) from error

    def _reset(self) -> None:
        self._status = None
        self.exchange.last_response_headers = None

    def unified(self, symbol: str) -> str:
        """ccxt's symbol for a configured one (which may be the exchange's own market id). Markets loaded."""
        markets = self.exchange.markets or {}
        if symbol in markets:
            return symbol
        by_id = self.exchange.markets_by_id or {}
        listed = by_id.get(symbol)
        if listed:
            return str(listed[0]["symbol"])
        raise ccxt.BadSymbol(f"{self.exchange.id} does not list {symbol}")

    def market(self, symbol: str) -> Mapping[str, Any]:
        market: Mapping[str, Any] = self.exchange.markets[self.unified(symbol)]
        return market

    def market_or_none(self, symbol: str) -> Mapping[str, Any] | None:
        try:
            return self.market(symbol)
        except ccxt.BadSymbol:
            return None


# --------------------------------------------------------------------------------------------- adapter
class CcxtVenueAdapter(LiveAdapter):
    """One spot account on one ccxt exchange (Coinbase Advanced Trade, Binance, Kraken, ...)."""

    venue_label = "ccxt"

    # Binance refuses a duplicate client id only among *open* orders, and Coinbase answers one
    # with the existing order instead of refusing it: every send looks the id up first.
    venue_rejects_duplicate_client_ids: ClassVar[bool] = False

    def __init__(self, connection: VenueConnection, exchange: Any) -> None:
        exchange_id: str = exchange.id
        if connection.requests_per_second is None and exchange.rateLimit:
            connection = dataclasses.replace(
                connection, requests_per_second=1000.0 / float(exchange.rateLimit)
            )
        super().__init__(connection, functools.partial(classify_ccxt, exchange_id=exchange_id))
        self.exchange_id = exchange_id
        self.dialect = DIALECTS.get(exchange_id, Dialect())
        self.session = ExchangeSession(exchange)
        exchange.session.hooks.setdefault("response", []).append(requests_rate_limit_hook(self._health))
        self._health.details["exchange"] = exchange_id
        self._placed: dict[str, tuple[str, str]] = {}  # client order id -> (venue order id, our symbol)
        self._client_ids: dict[str, str] = {}  # venue order id -> client order id
        self._symbol_of: dict[str, str] = {}  # client order id -> our symbol, for ids sent from here

    def _key(self, symbol: str) -> str:
        return f"{self.venue}:{symbol}"

    # ------------------------------------------------------------------ market data, account
    async def instruments(self) -> list[Instrument]:
        return await self.caller.call("instruments", self.session.run, self._instruments)

    def _instruments(self, exchange: Any) -> list[Instrument]:
        found: list[Instrument] = []
        for symbol in self.connection.symbols:
            market = self.session.market_or_none(symbol)
            if market is not None:  # an unlisted symbol is left out; the daemon names it
                found.append(instrument_from_market(symbol, market, self.venue, exchange.precisionMode))
        return found

    async def quote(self, instrument: Instrument) -> Quote | None:
        return await self.caller.call("quote", self.session.run, functools.partial(self._quote, instrument))

    def _quote(self, instrument: Instrument, exchange: Any) -> Quote | None:
        symbol = self.session.unified(instrument.symbol)
        received_at = WALL_CLOCK.now()
        if exchange.has.get("fetchOrderBook"):
            book = exchange.fetch_order_book(symbol, self.dialect.book_depth)
            return quote_from_order_book(book, instrument.key, received_at, self.venue)
        return quote_from_ticker(exchange.fetch_ticker(symbol), instrument.key, received_at, self.venue)

    async def bars(self, instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None:
        fetch = functools.partial(self._bars, instrument, timeframe_seconds, count)
        return await self.caller.call("bars", self.session.run, fetch)

    def _bars(
        self, instrument: Instrument, timeframe_seconds: int, count: int, exchange: Any
    ) -> BarSeries | None:
        timeframe = timeframe_for(timeframe_seconds, exchange.timeframes)
        if timeframe is None:
            offered = ", ".join(exchange.timeframes or {}) or "none"
            raise ccxt.BadRequest(f"{exchange.id} has no {timeframe_seconds} s bars (it offers {offered})")
        symbol = self.session.unified(instrument.symbol)
        rows = exchange.fetch_ohlcv(symbol, timeframe, None, count + 1)  # one more: the bar still forming
        now_ms = int(WALL_CLOCK.now().timestamp() * 1000)
        return bar_series_from_ohlcv(rows, instrument.key, timeframe_seconds, count, now_ms)

    async def balance(self) -> Balance:
        return await self.caller.call("balance", self.session.run, self._balance)

    def _balance(self, exchange: Any) -> Balance:
        # the account's cash is the quote currency of the first configured symbol
        currency = str(self.session.market(self.connection.symbols[0])["quote"])
        return balance_from(exchange.fetch_balance(), currency)

    async def positions(self) -> list[VenuePosition]:
        return await self.caller.call("positions", self.session.run, self._positions)

    def _positions(self, exchange: Any) -> list[VenuePosition]:
        bases: list[tuple[str, str]] = []
        for symbol in self.connection.symbols:
            market = self.session.market_or_none(symbol)
            if market is not None:
                bases.append((symbol, str(market["base"])))
        return spot_positions(exchange.fetch_balance(), bases, self.venue)

    # ------------------------------------------------------------------ orders
    async def open_orders(self) -> list[VenueOrder]:
        found: list[VenueOrder] = []
        for symbol in self.connection.symbols:
            orders = await self.caller.call(
                "open orders", self.session.run, functools.partial(self._open_orders, symbol)
            )
            found.extend(self._note(order, symbol) for order in orders)
        return found

    def _open_orders(self, symbol: str, exchange: Any) -> list[VenueOrder]:
        rows = exchange.fetch_open_orders(self.session.unified(symbol))
        return [venue_order_from(row, self._key(symbol)) for row in json_list(rows, "open orders")]

    async def cancel(self, client_order_id: str) -> VenueOrder | None:
        current = await self.order_status(client_order_id)
        if current is None or current.status.is_terminal or current.venue_order_id is None:
            return current
        symbol = self._placed[client_order_id][1]
        work = functools.partial(self._cancel, current.venue_order_id, symbol, client_order_id)
        try:
            answer = await self.caller.call("cancel", self.session.run, work)
        except (VenueRejected, OrderNotFound) as refusal:
            # it filled, expired or was canceled meanwhile: the venue's current word follows
            log.info("%s: cancel of %s refused: %s", self.venue, client_order_id, refusal)
        else:
            canceled = self._note(answer, symbol)
            if canceled.status.is_terminal:
                return canceled
        return await self.order_status(client_order_id)

    def _cancel(self, venue_order_id: str, symbol: str, client_order_id: str, exchange: Any) -> VenueOrder:
        row = exchange.cancel_order(venue_order_id, self.session.unified(symbol))
        return venue_order_from(row, self._key(symbol), client_order_id)

    async def _find(self, client_order_id: str) -> VenueOrder | None:
        placed = self._placed.get(client_order_id)
        if placed is not None:
            venue_order_id, symbol = placed
            work = functools.partial(self._fetch_order, venue_order_id, symbol, client_order_id)
            try:
                return self._note(await self.caller.once("order status", self.session.run, work), symbol)
            except OrderNotFound:
                return None
        for symbol in self._lookup_symbols(client_order_id):
            lookup = functools.partial(self._lookup, client_order_id, symbol)
            try:
                found = await self.caller.once("order lookup", self.session.run, lookup)
            except OrderNotFound:
                continue
            if found is not None:
                return self._note(found, symbol)
        return None

    def _fetch_order(
        self, venue_order_id: str, symbol: str, client_order_id: str | None, exchange: Any
    ) -> VenueOrder:
        row = exchange.fetch_order(venue_order_id, self.session.unified(symbol))
        return venue_order_from(row, self._key(symbol), client_order_id)

    def _lookup(self, client_order_id: str, symbol: str, exchange: Any) -> VenueOrder | None:
        """The order of `symbol` with our client id: asked for directly where the exchange can, else
        searched among its recent orders in every state."""
        unified = self.session.unified(symbol)
        if self.dialect.lookup_param is not None:
            row = exchange.fetch_order(None, unified, {self.dialect.lookup_param: client_order_id})
            return venue_order_from(row, self._key(symbol), client_order_id)
        if exchange.has.get("fetchOrders"):
            rows = json_list(exchange.fetch_orders(unified), "orders")
        else:
            rows = json_list(exchange.fetch_open_orders(unified), "open orders")
            rows += json_list(exchange.fetch_closed_orders(unified), "closed orders")
            if exchange.has.get("fetchCanceledOrders"):
                rows += json_list(exchange.fetch_canceled_orders(unified), "canceled orders")
        for row in rows:
            if isinstance(row, Mapping) and row.get("clientOrderId") == client_order_id:
                return venue_order_from(row, self._key(symbol), client_order_id)
        return None

    def _lookup_symbols(self, client_order_id: str) -> list[str]:
        known = self._symbol_of.get(client_order_id)
        return [known] if known is not None else list(self.connection.symbols)

    async def _create(self, order: OutboundOrder) -> VenueOrder:
        intent = order.intent
        symbol = intent.instrument.symbol
        if intent.time_in_force in UNSUPPORTED_TIME_IN_FORCE:
            raise VenueRejected(
                f"{self.exchange_id} spot orders have no {intent.time_in_force.value.upper()} time in force; "
                "use GTC or IOC"
            )
        self._symbol_of[intent.client_order_id] = symbol
        params: dict[str, Any] = {self.dialect.client_id_param: intent.client_order_id}
        price = order.limit_price
        order_type = intent.order_type
        if intent.order_type is OrderType.LIMIT:
            params["timeInForce"] = intent.time_in_force.value.upper()
        elif intent.side is Side.BUY and self._market_buy_needs_price():
            # The exchange sizes a market buy by its cost, so a falling price would fill more than
            # asked (an overfill our books refuse). Send a marketable limit instead: IOC at the
            # fresh best ask, which fills at most the quantity and never above the ask.
            quote = await self.caller.once(
                "quote for a market buy", self.session.run, functools.partial(self._quote, intent.instrument)
            )
            if quote is None:
                raise VenueRejected(f"no usable ask for {symbol} to price a market buy on {self.exchange_id}")
            price = quote.ask
            order_type = OrderType.LIMIT
            params["timeInForce"] = "IOC"
        send = functools.partial(
            self._send,
            symbol,
            order_type,
            intent.side,
            order.quantity,
            price,
            params,
            intent.client_order_id,
        )
        created = self._note(await self.caller.once("submit", self.session.run, send), symbol)
        if created.status is OrderStatus.SUBMITTED:
            found = await self._find(intent.client_order_id)  # the answer held the id, not the state
            if found is not None:
                return found
        return created

    def _send(
        self,
        symbol: str,
        order_type: OrderType,
        side: Side,
        quantity: Decimal,
        price: Decimal | None,
        params: dict[str, Any],
        client_order_id: str,
        exchange: Any,
    ) -> VenueOrder:
        # ccxt takes floats; both are on the venue's grid, so their shortest text is the decimal itself
        row = exchange.create_order(
            self.session.unified(symbol),
            order_type.value,
            side.value,
            float(quantity),
            None if price is None else float(price),
            params,
        )
        return venue_order_from(row, self._key(symbol), client_order_id)

    def _market_buy_needs_price(self) -> bool:
        options = self.session.exchange.options
        nested = options.get("createOrder")
        return bool(options.get("createMarketBuyOrderRequiresPrice")) or (
            isinstance(nested, Mapping) and bool(nested.get("createMarketBuyOrderRequiresPrice"))
        )

    def _note(self, order: VenueOrder, symbol: str) -> VenueOrder:
        """Remember which venue order carries which client id (lookups and fills need it)."""
        if order.venue_order_id is not None:
            self._placed[order.client_order_id] = (order.venue_order_id, symbol)
            self._client_ids[order.venue_order_id] = order.client_order_id
        return order

    # ------------------------------------------------------------------ fills
    async def fills_since(self, since: datetime) -> list[Fill]:
        since_ms = int(since.timestamp() * 1000)
        fills: list[Fill] = []
        for symbol in self.connection.symbols:
            fetch = functools.partial(self._trades, symbol, since_ms)
            trades, base, quote = await self.caller.call("fills", self.session.run, fetch)
            for trade in trades:
                client_order_id = await self._client_id_of(trade, symbol)
                fill, fee_note = self.parsed(
                    "fills", fill_from_trade, trade, self.venue, symbol, base, quote, client_order_id
                )
                if fee_note is not None:
                    log.warning(
                        "%s: fill %s booked with fee 0: %s", self.venue, fill.venue_trade_id, fee_note
                    )
                    self._health.details["fee_not_booked"] = f"fill {fill.venue_trade_id}: {fee_note}"
                if fill.time >= since:
                    fills.append(fill)
        fills.sort(key=lambda fill: fill.time)
        return fills

    def _trades(self, symbol: str, since_ms: int, exchange: Any) -> tuple[list[Any], str, str]:
        market = self.session.market(symbol)
        trades = json_list(exchange.fetch_my_trades(self.session.unified(symbol), since_ms), "trades")
        return trades, str(market["base"]), str(market["quote"])

    async def _client_id_of(self, trade: Any, symbol: str) -> str:
        """Our client id of a trade's order: remembered, or read once from the venue's order."""
        if not isinstance(trade, Mapping) or trade.get("order") is None:
            raise VenueUnavailable(f"{self.venue} fills: a trade names no order: {trade!r}")
        venue_order_id = str(trade["order"])
        known = self._client_ids.get(venue_order_id)
        if known is not None:
            return known
        work = functools.partial(self._fetch_order, venue_order_id, symbol, None)
        try:
            return self._note(
                await self.caller.call("order of a fill", self.session.run, work), symbol
            ).client_order_id
        except OrderNotFound:
            self._client_ids[venue_order_id] = venue_order_id  # not ours to know: its venue id stands in
            return venue_order_id


def connect(connection: VenueConnection) -> CcxtVenueAdapter:
    """The adapter of a configured "coinbase" or "ccxt" venue; nothing is sent before its first call."""
    return CcxtVenueAdapter(connection, build_exchange(connection, exchange_id_for(connection)))
