"""Alpaca (US stocks or crypto) through alpaca-py: the adapter and its pure payload parsers.

One adapter instance serves one asset class of one Alpaca account: `asset_class`
"stock" trades `us_equity` assets ("SPY"), "crypto" trades pairs ("BTC/USD").
Paper trading is Alpaca's sandbox (paper-api.alpaca.markets), production is
api.alpaca.markets; market data comes from data.alpaca.markets in both.

What alpaca-py does that this adapter undoes or works around (alpaca-py 0.44.0):
- `RESTClient` retries 429 and 504 itself, three times, sleeping 3 s each, with
  no constructor argument on `TradingClient` or the data clients to turn that
  off. `VenueCaller` must be the only retry policy (it honours Retry-After, the
  SDK does not), so `_single_shot` zeroes the client's retry settings.
- It sets no HTTP timeout at all (`Session.request` without `timeout`), so a
  hung venue would hang a worker thread. The least invasive fix is a requests
  transport adapter mounted on the client's own session that supplies
  `timeout_seconds` whenever the caller gave none.
- Order requests are pydantic models whose `qty` and `limit_price` are floats,
  so numbers leave as JSON floats. `wire_float` refuses a value whose float
  does not print back as the same decimal, so no size or price is ever
  silently altered on the way out.
- `raw_data=True` makes every call return Alpaca's JSON as parsed dicts; the
  parsers below read those directly (strings through `Decimal`).

Venue facts the parsers rely on: Alpaca sends quantities and prices of orders,
positions, activities and the account as strings; market data as JSON
numbers. Crypto positions (and fill activities) may name a pair without its
slash ("BTCUSD"), so symbols are matched back to the configured ones.
Fills (`/v2/account/activities/FILL`) carry Alpaca's order id, not ours: the
client id comes from the order, cached per venue order id. Stocks are
commission-free, so a stock fill's fee is 0; Alpaca books crypto fees as
separate CFEE activities (in the received asset), which this adapter does not
attribute to fills, so a crypto fill's fee is also 0 and the fee shows up in
the venue's position quantity at reconciliation.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote as url_quote

import numpy as np
from alpaca.common.enums import Sort
from alpaca.common.exceptions import APIError
from alpaca.data.historical.crypto import CryptoHistoricalDataClient
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.requests import (
    CryptoBarsRequest,
    CryptoLatestQuoteRequest,
    StockBarsRequest,
    StockLatestQuoteRequest,
)
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, QueryOrderStatus
from alpaca.trading.enums import TimeInForce as AlpacaTimeInForce
from alpaca.trading.requests import GetOrdersRequest, LimitOrderRequest, MarketOrderRequest
from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest, Response

from brokers.base import (
    Balance,
    BrokerError,
    OrderNotFound,
    VenueOrder,
    VenuePosition,
    VenueRejected,
)
from brokers.calls import FaultKind, VenueFault, http_fault, requests_rate_limit_hook
from brokers.credentials import CredentialSpec
from brokers.factory import VenueConnection
from brokers.json_fields import decimal_of, json_object, text_field
from brokers.live import LiveAdapter, OutboundOrder, rejected
from domain.instruments import AssetClass, Instrument
from domain.market import Bar, BarSeries, Quote
from domain.orders import Fill, OrderIntent, OrderStatus, OrderType, TimeInForce
from domain.signals import Side
from risk_management.underlying import underlying_of
from utils.clock import WALL_CLOCK

CREDENTIALS: tuple[CredentialSpec, ...] = (
    CredentialSpec("API_KEY", help="Alpaca API key id (paper keys for sandbox, live keys for production)"),
    CredentialSpec("SECRET_KEY", help="the secret key issued with that API key id"),
)

# Alpaca's `class` field of an asset, and `asset_class` of orders and positions.
ALPACA_ASSET_CLASS = {AssetClass.STOCK: "us_equity", AssetClass.CRYPTO: "crypto"}
STOCK_TICK = Decimal("0.01")  # valid at every price: sub-dollar stocks also accept 0.0001, we never need it
STOCK_LOT = Decimal(1)  # whole shares: fractional orders must be DAY market/limit, which GTC bots cannot use
ACTIVITY_PAGE_SIZE = 100  # Alpaca's maximum page of account activities
OPEN_ORDERS_LIMIT = 500  # Alpaca's maximum page of orders
DUPLICATE_CLIENT_ID = "client_order_id must be unique"
CRYPTO_TIME_IN_FORCE = frozenset({TimeInForce.GTC, TimeInForce.IOC})

T = TypeVar("T")


# --------------------------------------------------------------------------------------------- parsing
class NotTradable(ValueError):
    """Alpaca lists the asset, but it cannot be traded here (wrong class, inactive, not tradable)."""


@dataclass(frozen=True, slots=True)
class InstrumentKeys:
    """Turns the symbol Alpaca wrote into our instrument key, matching "BTCUSD" to a configured "BTC/USD"."""

    venue: str
    symbols: tuple[str, ...]

    def symbol(self, alpaca_symbol: str) -> str:
        if alpaca_symbol in self.symbols:
            return alpaca_symbol
        compact = alpaca_symbol.replace("/", "").upper()
        for configured in self.symbols:
            if configured.replace("/", "").upper() == compact:
                return configured
        return alpaca_symbol

    def key(self, alpaca_symbol: str) -> str:
        return f"{self.venue}:{self.symbol(alpaca_symbol)}"


def _decimal(payload: Mapping[str, Any], field: str, what: str) -> Decimal:
    number = decimal_of(payload.get(field), f"{what} {field}")
    if not number.is_finite():
        raise ValueError(f"{what}: {field} is not finite: {payload.get(field)!r}")
    return number


def _optional_decimal(payload: Mapping[str, Any], field: str, what: str) -> Decimal | None:
    return None if payload.get(field) is None else _decimal(payload, field, what)


def parse_time(value: Any, what: str) -> datetime:
    """Alpaca's RFC 3339 times ("2024-03-01T15:04:05.123456789Z"; nanoseconds are cut to microseconds)."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what}: expected an RFC 3339 time, got {value!r}")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{what}: not an RFC 3339 time: {value!r}") from None
    if when.tzinfo is None:
        raise ValueError(f"{what}: time without a zone: {value!r}")
    return when.astimezone(UTC)


def error_reason(body: str) -> str:
    """The venue's words from an Alpaca error body `{"code": 40310000, "message": "..."}`."""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if isinstance(payload, Mapping) and isinstance(payload.get("message"), str):
        code = payload.get("code")
        return f"{payload['message']} (Alpaca code {code})" if code is not None else payload["message"]
    text = " ".join(body.split())
    return text[:300] if text else "no error message"


def classify_alpaca_error(exc: BaseException) -> VenueFault | None:
    """alpaca-py's `APIError` (an HTTP error answer) as a fault; other errors go to `transport_fault`."""
    if not isinstance(exc, APIError):
        return None
    response = exc.response
    status = getattr(response, "status_code", None)
    reason = error_reason(str(exc))
    if not isinstance(status, int):
        return VenueFault(FaultKind.UNKNOWN, f"Alpaca error without an HTTP status: {reason}")
    headers = dict(response.headers) if response is not None else {}
    if status == 422 and DUPLICATE_CLIENT_ID in reason:
        return VenueFault(FaultKind.DUPLICATE, reason, status)
    if status == 401:
        return VenueFault(
            FaultKind.REJECTED,
            f"authentication failed: {reason}; check the venue's API_KEY and SECRET_KEY "
            "(paper keys work only with environment 'sandbox')",
            status,
        )
    return http_fault(status, reason, headers)


# Alpaca order statuses (docs "Order Lifecycle") that mean: working, nothing more to report.
_WORKING = frozenset(
    {
        "new",
        "accepted",
        "pending_new",
        "accepted_for_bidding",
        "pending_review",
        "held",
        "calculated",
        "stopped",
        "suspended",
        "pending_replace",
        "done_for_day",  # stops for today, resumes next session (a DAY order then expires)
    }
)
_FINAL_OR_MOVING: dict[str, OrderStatus] = {
    "partially_filled": OrderStatus.PARTIALLY_FILLED,
    "filled": OrderStatus.FILLED,
    "pending_cancel": OrderStatus.PENDING_CANCEL,
    "canceled": OrderStatus.CANCELED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
    "replaced": OrderStatus.CANCELED,  # this order is gone; a new one (`replaced_by`) took its place
}


def order_status_of(alpaca_status: str, filled_quantity: Decimal) -> OrderStatus:
    """Our status for an Alpaca order status; a working order with fills is partially filled."""
    if alpaca_status in _WORKING:
        return OrderStatus.PARTIALLY_FILLED if filled_quantity > 0 else OrderStatus.ACCEPTED
    try:
        return _FINAL_OR_MOVING[alpaca_status]
    except KeyError:
        raise ValueError(f"unknown Alpaca order status {alpaca_status!r}") from None


def asset_class_of(alpaca_class: Any) -> AssetClass | None:
    """Our asset class for Alpaca's `us_equity` / `crypto`; None for what we do not trade (options)."""
    for ours, theirs in ALPACA_ASSET_CLASS.items():
        if alpaca_class == theirs:
            return ours
    return None


def parse_order(payload: Any, keys: InstrumentKeys) -> VenueOrder:
    order = json_object(payload, "Alpaca order")
    what = f"Alpaca order {order.get('id')!r}"
    filled = _optional_decimal(order, "filled_qty", what) or Decimal(0)
    status_text = text_field(order, "status", what)
    status = order_status_of(status_text, filled)
    average = _optional_decimal(order, "filled_avg_price", what) if filled > 0 else None
    reason = None
    if status_text == "rejected":
        reason = "Alpaca rejected the order"
    elif status_text == "replaced":
        reason = f"replaced by Alpaca order {order.get('replaced_by')}"
    return VenueOrder(
        client_order_id=text_field(order, "client_order_id", what),
        venue_order_id=text_field(order, "id", what),
        instrument_key=keys.key(text_field(order, "symbol", what)),
        status=status,
        filled_quantity=filled,
        average_fill_price=average,
        reason=reason,
    )


def parse_fill(payload: Any, client_order_id: str, keys: InstrumentKeys) -> Fill:
    """One FILL account activity (`type` "fill" or "partial_fill") as our Fill; fee 0 (see module doc)."""
    activity = json_object(payload, "Alpaca fill activity")
    what = f"Alpaca fill activity {activity.get('id')!r}"
    kind = activity.get("activity_type", "FILL")
    if kind != "FILL":
        raise ValueError(f"{what}: activity_type {kind!r} is not a fill")
    side_text = text_field(activity, "side", what)
    if side_text not in ("buy", "sell", "sell_short"):
        raise ValueError(f"{what}: unknown side {side_text!r}")
    return Fill(
        client_order_id=client_order_id,
        venue=keys.venue,
        venue_trade_id=text_field(activity, "id", what),
        instrument_key=keys.key(text_field(activity, "symbol", what)),
        side=Side.BUY if side_text == "buy" else Side.SELL,
        quantity=_decimal(activity, "qty", what),
        price=_decimal(activity, "price", what),
        fee=Decimal(0),
        time=parse_time(activity.get("transaction_time"), f"{what} transaction_time"),
    )


def parse_position(payload: Any, keys: InstrumentKeys) -> VenuePosition:
    """A position; Alpaca's `qty` is negative for shorts and `side` says "long"/"short": both are honoured."""
    position = json_object(payload, "Alpaca position")
    what = f"Alpaca position {position.get('symbol')!r}"
    quantity = _decimal(position, "qty", what)
    side = position.get("side")
    if side == "short":
        quantity = -abs(quantity)
    elif side == "long":
        quantity = abs(quantity)
    elif side is not None:
        raise ValueError(f"{what}: unknown side {side!r}")
    return VenuePosition(
        instrument_key=keys.key(text_field(position, "symbol", what)),
        quantity=quantity,
        average_entry_price=_optional_decimal(position, "avg_entry_price", what),
    )


def parse_account(payload: Any) -> Balance:
    """Cash, and as `free` what can be spent without borrowing or touching cash held for open orders."""
    account = json_object(payload, "Alpaca account")
    cash = _decimal(account, "cash", "Alpaca account")
    spendable = [cash, _decimal(account, "buying_power", "Alpaca account")]
    non_marginable = _optional_decimal(account, "non_marginable_buying_power", "Alpaca account")
    if non_marginable is not None:
        spendable.append(non_marginable)
    currency = account.get("currency") or "USD"
    if not isinstance(currency, str):
        raise ValueError(f"Alpaca account: currency is not a string: {currency!r}")
    return Balance(currency=currency, cash=cash, free=min(spendable))


def parse_asset(payload: Any, symbol: str, asset_class: AssetClass, venue: str) -> Instrument:
    """The instrument behind `GET /v2/assets/{symbol}`; `NotTradable` when we may not trade it here."""
    asset = json_object(payload, f"Alpaca asset {symbol}")
    what = f"Alpaca asset {symbol}"
    listed = text_field(asset, "symbol", what)
    if listed.replace("/", "").upper() != symbol.replace("/", "").upper():
        raise ValueError(f"{what}: Alpaca answered with asset {listed!r}")
    expected = ALPACA_ASSET_CLASS[asset_class]
    if asset.get("class") != expected:
        raise NotTradable(
            f"{symbol} is a {asset.get('class')!r} asset on Alpaca, but this venue trades {expected!r}"
        )
    if asset.get("status") != "active" or asset.get("tradable") is not True:
        raise NotTradable(
            f"Alpaca lists {symbol} as not tradable (status {asset.get('status')!r}, "
            f"tradable {asset.get('tradable')!r})"
        )
    if asset_class is AssetClass.CRYPTO:
        tick = _decimal(asset, "price_increment", what)
        lot = _decimal(asset, "min_trade_increment", what)
        minimum = _decimal(asset, "min_order_size", what)
        quote_currency = symbol.split("/")[1] if "/" in symbol else "USD"
    else:
        tick = _optional_decimal(asset, "price_increment", what) or STOCK_TICK
        lot, minimum, quote_currency = STOCK_LOT, STOCK_LOT, "USD"
    try:
        underlying = underlying_of(symbol, asset_class)
    except ValueError:
        underlying = symbol.split("/")[0].upper()
    return Instrument(
        symbol=symbol,
        venue=venue,
        asset_class=asset_class,
        tick_size=tick,
        lot_size=lot,
        underlying=underlying,
        min_quantity=minimum,
        quote_currency=quote_currency,
    )


def _price_or_none(value: Any, what: str) -> Decimal | None:
    if value is None:
        return None
    number = decimal_of(value, what)
    return number if number.is_finite() and number > 0 else None


def parse_latest_quote(quotes: Any, symbol: str, instrument_key: str, source: str) -> Quote | None:
    """The latest quote of `symbol` from `{"SPY": {"bp": .., "ap": .., "t": ..}}`; None when unusable."""
    entry = json_object(quotes, "Alpaca latest quotes").get(symbol)
    if entry is None:
        return None
    entry = json_object(entry, f"Alpaca latest quote of {symbol}")
    bid = _price_or_none(entry.get("bp"), f"{symbol} bid")
    ask = _price_or_none(entry.get("ap"), f"{symbol} ask")
    if bid is None or ask is None or ask < bid:  # outside hours Alpaca sends 0 for a missing side
        return None
    when = parse_time(entry.get("t"), f"Alpaca quote of {symbol}")
    return Quote(instrument_key, bid, ask, when, source)


def alpaca_timeframe(seconds: int) -> TimeFrame:
    """Alpaca's bar timeframe for a bar length in seconds (1-59 min, 1-23 h, 1 day, 1 week)."""
    if seconds == 604_800:
        return TimeFrame(1, TimeFrameUnit.Week)
    if seconds == 86_400:
        return TimeFrame(1, TimeFrameUnit.Day)
    if seconds > 0 and seconds % 3600 == 0 and seconds // 3600 <= 23:
        return TimeFrame(seconds // 3600, TimeFrameUnit.Hour)
    if seconds > 0 and seconds % 60 == 0 and seconds // 60 <= 59:
        return TimeFrame(seconds // 60, TimeFrameUnit.Minute)
    raise ValueError(f"Alpaca has no {seconds} s bars: use 1-59 minutes, 1-23 hours, one day or one week")


def parse_bars(
    bars_by_symbol: Any, symbol: str, instrument_key: str, timeframe_seconds: int, count: int, now: datetime
) -> BarSeries | None:
    """The last `count` complete bars, oldest first; a bar still forming at `now` is left out."""
    rows = json_object(bars_by_symbol, "Alpaca bars").get(symbol) or []
    if not isinstance(rows, list):
        raise ValueError(f"Alpaca bars of {symbol}: expected a list, got {type(rows).__name__}")
    length = timedelta(seconds=timeframe_seconds)
    by_time: dict[datetime, Bar] = {}
    for row in rows:
        row = json_object(row, f"Alpaca bar of {symbol}")
        when = parse_time(row.get("t"), f"Alpaca bar of {symbol}")
        values = [
            float(_decimal(row, field, f"Alpaca bar of {symbol} at {row.get('t')}")) for field in "ohlcv"
        ]
        if when + length <= now:
            by_time[when] = Bar(when, *values)
    complete = [by_time[when] for when in sorted(by_time)][-count:] if count > 0 else []
    if not complete:
        return None
    column = {
        name: np.array([getattr(bar, name) for bar in complete], dtype=np.float64)
        for name in ("open", "high", "low", "close", "volume")
    }
    return BarSeries(
        instrument_key,
        timeframe_seconds,
        np.array([bar.time.timestamp() for bar in complete], dtype=np.float64),
        column["open"],
        column["high"],
        column["low"],
        column["close"],
        column["volume"],
    )


def wire_float(value: Decimal, what: str) -> float:
    """`value` as the float alpaca-py will send, refused when that float is not the same decimal."""
    as_float = float(value)
    if not math.isfinite(as_float) or Decimal(repr(as_float)) != value:
        raise ValueError(f"{what} {value} cannot be sent exactly: alpaca-py sends numbers as JSON floats")
    return as_float


# --------------------------------------------------------------------------------------------- the SDK
class _TimeoutTransport(HTTPAdapter):
    """A requests transport that applies the venue's timeout when the caller (alpaca-py) sets none."""

    def __init__(self, timeout_seconds: float) -> None:
        super().__init__(max_retries=0)  # urllib3 must not resend either
        self._timeout_seconds = timeout_seconds

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: Any = None,  # requests' own aliases for these live in its private `_types`
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> Response:
        return super().send(
            request,
            stream=stream,
            timeout=self._timeout_seconds if timeout is None else timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )


def _single_shot(client: Any, timeout_seconds: float) -> Any:
    """One attempt per call with a bounded wait: no SDK retries, and the venue's timeout on every request."""
    for attribute in ("_retry", "_retry_wait", "_retry_codes", "_session"):
        if not hasattr(client, attribute):  # a newer alpaca-py: fail loudly rather than retry twice
            raise RuntimeError(
                f"alpaca-py {type(client).__name__} has no {attribute}: its retry/session handling "
                "changed; review brokers/alpaca.py before upgrading"
            )
    client._retry = 0
    client._retry_wait = 0
    client._retry_codes = []
    transport = _TimeoutTransport(timeout_seconds)
    client._session.mount("https://", transport)
    client._session.mount("http://", transport)
    return client


# --------------------------------------------------------------------------------------------- adapter
class AlpacaAdapter(LiveAdapter):
    """The Broker protocol on Alpaca, for one asset class ("stock" or "crypto")."""

    venue_label = "Alpaca"

    # Alpaca answers a second order with a known client id with 422 "client_order_id must be unique".
    venue_rejects_duplicate_client_ids: ClassVar[bool] = True

    def __init__(self, connection: VenueConnection) -> None:
        if connection.asset_class not in ALPACA_ASSET_CLASS:
            raise ValueError(
                f"venue {connection.name!r}: Alpaca trades asset_class 'stock' or 'crypto', "
                f"not {connection.asset_class.value!r}"
            )
        super().__init__(connection, self._classify)
        self._keys = InstrumentKeys(connection.name, connection.symbols)
        self._crypto = connection.asset_class is AssetClass.CRYPTO
        key, secret = connection.credentials["API_KEY"], connection.credentials["SECRET_KEY"]
        timeout = connection.timeout_seconds
        # alpaca-py appends "/v2/..." to the host as given; without an override it picks Alpaca's hosts
        base_url = connection.base_url.rstrip("/") if connection.base_url else None
        data_url = connection.data_url.rstrip("/") if connection.data_url else None
        self._trading: Any = _single_shot(
            TradingClient(
                key,
                secret,
                paper=connection.environment == "sandbox",
                raw_data=True,
                url_override=base_url,
            ),
            timeout,
        )
        # The data clients' `sandbox` flag means the Broker API sandbox, not paper trading: never set it.
        data_client = CryptoHistoricalDataClient if self._crypto else StockHistoricalDataClient
        self._data: Any = _single_shot(
            data_client(key, secret, raw_data=True, url_override=data_url), timeout
        )
        self._client_ids: dict[str, tuple[str, AssetClass | None]] = {}  # venue order id -> ours, class
        self._health.details["asset_class"] = connection.asset_class.value
        # Alpaca states its per-minute headroom (X-RateLimit-Remaining) on trading answers
        self._trading._session.hooks["response"].append(requests_rate_limit_hook(self._health))

    def close(self) -> None:
        """Release the HTTP connections (the daemon's shutdown and the tests call this)."""
        self._trading._session.close()
        self._data._session.close()

    # ----------------------------------------------------------------------------------- plumbing
    def _classify(self, exc: BaseException) -> VenueFault | None:
        fault = classify_alpaca_error(exc)
        if fault is not None and fault.status == 401:
            self._health.connected = False  # nothing works until the keys are fixed
        return fault

    def _list(self, what: str, payload: Any) -> list[Any]:
        if not isinstance(payload, list):
            raise self.unreadable(what, f"expected a JSON list, got {type(payload).__name__}")
        return payload

    def _remember(self, order: VenueOrder, payload: Mapping[str, Any]) -> None:
        if order.venue_order_id is not None:
            self._client_ids[order.venue_order_id] = (
                order.client_order_id,
                asset_class_of(payload.get("asset_class")),
            )

    def _mine(self, payload: Any) -> bool:
        """Whether an order or position is of this adapter's asset class (one account may hold both)."""
        if not isinstance(payload, Mapping) or payload.get("asset_class") is None:
            return True  # cannot tell: keep it rather than hide it from reconciliation
        return asset_class_of(payload["asset_class"]) is self.connection.asset_class

    # ----------------------------------------------------------------------------------- reference data
    async def instruments(self) -> list[Instrument]:
        listed = []
        for symbol in self.connection.symbols:
            # a pair's slash must be escaped in the path: /v2/assets/BTC%2FUSD
            path_symbol = url_quote(symbol, safe="")
            try:
                payload = await self.caller.call(f"asset {symbol}", self._trading.get_asset, path_symbol)
            except OrderNotFound:
                raise VenueRejected(f"{self.venue}: Alpaca knows no asset {symbol!r}", 404) from None
            try:
                listed.append(parse_asset(payload, symbol, self.connection.asset_class, self.venue))
            except NotTradable as refusal:
                raise VenueRejected(f"{self.venue}: {refusal}") from None
            except (ValueError, TypeError, ArithmeticError) as exc:
                raise self.unreadable(f"asset {symbol}", str(exc)) from exc
        return listed

    # ----------------------------------------------------------------------------------- market data
    async def quote(self, instrument: Instrument) -> Quote | None:
        symbol = instrument.symbol
        if self._crypto:
            fetch = self._data.get_crypto_latest_quote
            request: Any = CryptoLatestQuoteRequest(symbol_or_symbols=symbol)
        else:
            fetch = self._data.get_stock_latest_quote
            request = StockLatestQuoteRequest(symbol_or_symbols=symbol)
        payload = await self.caller.call(f"quote {symbol}", fetch, request)
        return self.parsed(f"quote {symbol}", parse_latest_quote, payload, symbol, instrument.key, "alpaca")

    async def bars(self, instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None:
        if count <= 0:
            return None
        try:
            timeframe = alpaca_timeframe(timeframe_seconds)
        except ValueError as exc:
            raise BrokerError(f"{self.venue} bars of {instrument.symbol}: {exc}") from None
        now = WALL_CLOCK.now()
        # Newest first with a limit, from far enough back to span nights, weekends and holidays for stocks.
        span = timeframe_seconds * (count + 1) * (2 if self._crypto else 6)
        start = now - timedelta(seconds=span) - timedelta(days=5)
        fields: dict[str, Any] = {
            "symbol_or_symbols": instrument.symbol,
            "timeframe": timeframe,
            "start": start,
            "limit": count + 1,
            "sort": Sort.DESC,
        }
        if self._crypto:
            payload = await self.caller.call("bars", self._data.get_crypto_bars, CryptoBarsRequest(**fields))
        else:
            payload = await self.caller.call("bars", self._data.get_stock_bars, StockBarsRequest(**fields))
        return self.parsed(
            f"bars of {instrument.symbol}",
            parse_bars,
            payload,
            instrument.symbol,
            instrument.key,
            timeframe_seconds,
            count,
            now,
        )

    # ----------------------------------------------------------------------------------- account
    async def balance(self) -> Balance:
        payload = await self.caller.call("balance", self._trading.get_account)
        if isinstance(payload, Mapping):
            blocked = [flag for flag in ("trading_blocked", "account_blocked") if payload.get(flag) is True]
            self._health.details["account"] = ", ".join(blocked) if blocked else str(payload.get("status"))
        return self.parsed("balance", parse_account, payload)

    async def positions(self) -> list[VenuePosition]:
        payload = await self.caller.call("positions", self._trading.get_all_positions)
        return [
            self.parsed("positions", parse_position, item, self._keys)
            for item in self._list("positions", payload)
            if self._mine(item)
        ]

    async def open_orders(self) -> list[VenueOrder]:
        request = GetOrdersRequest(status=QueryOrderStatus.OPEN, limit=OPEN_ORDERS_LIMIT)
        payload = await self.caller.call("open orders", self._trading.get_orders, request)
        orders = []
        for item in self._list("open orders", payload):
            if not self._mine(item):
                continue
            order = self.parsed("open orders", parse_order, item, self._keys)
            self._remember(order, item)
            orders.append(order)
        return orders

    # ----------------------------------------------------------------------------------- orders
    async def submit(self, intent: OrderIntent) -> VenueOrder:
        if self._crypto and intent.time_in_force not in CRYPTO_TIME_IN_FORCE:
            return rejected(
                intent,
                f"Alpaca crypto orders take time in force gtc or ioc, not {intent.time_in_force.value}",
            )
        return await super().submit(intent)

    async def _find(self, client_order_id: str) -> VenueOrder | None:
        try:
            payload = await self.caller.once(
                "order lookup", self._trading.get_order_by_client_id, client_order_id
            )
        except OrderNotFound:
            return None
        order = self.parsed("order lookup", parse_order, payload, self._keys)
        self._remember(order, payload)
        return order

    async def _create(self, order: OutboundOrder) -> VenueOrder:
        try:
            request = self._order_request(order)
        except ValueError as exc:  # nothing left: it is our refusal, booked as REJECTED by `submit`
            raise VenueRejected(f"not sent: {exc}") from None
        payload = await self.caller.once("submit", self._trading.submit_order, request)
        created = self.parsed("submit", parse_order, payload, self._keys)
        self._remember(created, payload)
        return created

    def _order_request(self, order: OutboundOrder) -> LimitOrderRequest | MarketOrderRequest:
        intent = order.intent
        fields: dict[str, Any] = {
            "symbol": intent.instrument.symbol,
            "qty": wire_float(order.quantity, "quantity"),
            "side": OrderSide.BUY if intent.side is Side.BUY else OrderSide.SELL,
            "time_in_force": AlpacaTimeInForce(intent.time_in_force.value),
            "client_order_id": intent.client_order_id,  # Alpaca's native field; 128 characters at most
        }
        if intent.order_type is OrderType.MARKET:
            return MarketOrderRequest(**fields)
        assert order.limit_price is not None  # `prepare` guarantees it for a limit order
        return LimitOrderRequest(limit_price=wire_float(order.limit_price, "limit price"), **fields)

    async def cancel(self, client_order_id: str) -> VenueOrder | None:
        """Cancel by client id (DELETE, 204), then read the order back; a finished order comes back as is."""
        order = await self.order_status(client_order_id)
        if order is None or order.status.is_terminal or order.venue_order_id is None:
            return order
        # 422 'order is already in "filled" state' (or a repeated cancel): the read-back tells the truth
        with contextlib.suppress(VenueRejected, OrderNotFound):
            await self.caller.call("cancel", self._trading.cancel_order_by_id, order.venue_order_id)
        return await self.order_status(client_order_id)

    # ----------------------------------------------------------------------------------- fills
    async def fills_since(self, since: datetime) -> list[Fill]:
        """Fills at or after `since`, oldest first (Alpaca's `after` is exclusive, so ask a second early)."""
        if since.tzinfo is None:
            raise ValueError("fills_since needs a timezone-aware time")
        activities = await self._fill_activities(since - timedelta(seconds=1))
        fills = []
        for activity in activities:
            order_id = activity.get("order_id") if isinstance(activity, Mapping) else None
            if not isinstance(order_id, str):
                raise self.unreadable("fills", f"activity without an order_id: {activity!r}")
            owner = await self._owner_of(order_id)
            if owner is None or owner[1] not in (None, self.connection.asset_class):
                continue  # an order of the account's other asset class (or an option)
            fill = self.parsed("fills", parse_fill, activity, owner[0], self._keys)
            if fill.time >= since:
                fills.append(fill)
        return sorted(fills, key=lambda fill: fill.time)

    async def _fill_activities(self, after: datetime) -> list[Any]:
        activities: list[Any] = []
        page_token: str | None = None
        while True:
            params: dict[str, Any] = {
                "after": after.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                "direction": "asc",
                "page_size": ACTIVITY_PAGE_SIZE,
            }
            if page_token is not None:
                params["page_token"] = page_token
            page = await self.caller.call("fills", self._trading.get, "/account/activities/FILL", params)
            page = self._list("fills", [] if page is None else page)
            activities.extend(page)
            last = page[-1].get("id") if page and isinstance(page[-1], Mapping) else None
            if len(page) < ACTIVITY_PAGE_SIZE or not isinstance(last, str) or last == page_token:
                return activities
            page_token = last

    async def _owner_of(self, venue_order_id: str) -> tuple[str, AssetClass | None] | None:
        """Our client id and the asset class of an Alpaca order, looked up once and then cached."""
        known = self._client_ids.get(venue_order_id)
        if known is not None:
            return known
        try:
            payload = await self.caller.call("fill's order", self._trading.get_order_by_id, venue_order_id)
        except OrderNotFound:
            return None
        order = self.parsed("fill's order", parse_order, payload, self._keys)
        self._remember(order, payload)
        return self._client_ids.get(venue_order_id)


def connect(connection: VenueConnection) -> AlpacaAdapter:
    return AlpacaAdapter(connection)
