"""OANDA v20 (forex) through oandapyV20: the venue's JSON in, domain values out.

How the pieces map onto OANDA:
- hosts: environment "sandbox" is OANDA's practice host (api-fxpractice.oanda.com), "production"
  the live one (api-fxtrade.oanda.com). A `base_url` registers its own entry in the SDK's public
  `TRADING_ENVIRONMENTS` table, which is the SDK's only way to name a host;
- auth: `Authorization: Bearer <token>` (the SDK sets it); every path carries the account id;
- our client order id travels as `clientExtensions.id` and is looked up with OANDA's `@<id>`
  order specifier (GET .../orders/@co-...);
- OANDA refuses a client id only while another *pending* order holds it
  (CLIENT_ORDER_ID_ALREADY_EXISTS: "already assigned to another pending Order"), so a resend of
  a filled or cancelled order would be a second order: every send looks the id up first;
- fills are ORDER_FILL transactions. An order object does not say how much of it filled, so
  order status and `fills_since` read one fill log (`FillLog`): a time-range listing
  (GET .../transactions?from=...&type=ORDER_FILL, whose pages are idrange queries) fills it back
  to the earliest moment asked about, and GET .../transactions/sinceid?id=<last seen> keeps it
  current;
- errors: the SDK raises `V20Error(code, body)` for any HTTP status >= 400 and drops the
  response headers; a requests response hook keeps them (for Retry-After) on the worker thread
  that made the call. The SDK does not retry and requests' default adapter makes no retries
  either, so `VenueCaller` owns the whole retry policy.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final, TypeVar
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import oandapyV20
import oandapyV20.oandapyV20 as oanda_core
from oandapyV20.endpoints import accounts, instruments, orders, positions, pricing, transactions
from oandapyV20.exceptions import V20Error

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
from brokers.json_fields import decimal_of, finite_decimal, json_list, json_object, text_field
from brokers.live import LiveAdapter, OutboundOrder
from domain.instruments import AssetClass, Instrument
from domain.market import Bar, BarSeries, Quote
from domain.orders import Fill, OrderStatus, OrderType, TimeInForce
from domain.signals import Side
from domain.time import require_aware
from risk_management.underlying import MalformedSymbol, underlying_of

T = TypeVar("T")

CREDENTIALS: tuple[CredentialSpec, ...] = (
    CredentialSpec("ACCESS_TOKEN", help="personal access token from the OANDA hub (Manage API Access)"),
    CredentialSpec("ACCOUNT_ID", help="v20 account id, e.g. 101-004-1234567-001"),
)

# Our environment names -> the SDK's names for OANDA's two hosts.
SDK_ENVIRONMENTS: Final[Mapping[str, str]] = {"sandbox": "practice", "production": "live"}

# Candle granularities OANDA offers, by bar length in seconds.
GRANULARITIES: Final[Mapping[int, str]] = {
    5: "S5",
    10: "S10",
    15: "S15",
    30: "S30",
    60: "M1",
    120: "M2",
    240: "M4",
    300: "M5",
    600: "M10",
    900: "M15",
    1800: "M30",
    3600: "H1",
    7200: "H2",
    10800: "H3",
    14400: "H4",
    21600: "H6",
    28800: "H8",
    43200: "H12",
    86400: "D",
    604800: "W",
}
MAX_CANDLES: Final = 5000  # OANDA's ceiling on `count`
DUPLICATE_CLIENT_ID: Final = "CLIENT_ORDER_ID_ALREADY_EXISTS"
MAX_SINCEID_PAGES: Final = 50  # a catch-up of more resumes on the next call

ORDER_STATES: Final[Mapping[str, OrderStatus]] = {
    "PENDING": OrderStatus.ACCEPTED,
    "TRIGGERED": OrderStatus.ACCEPTED,  # a triggered order is being filled: still working
    "FILLED": OrderStatus.FILLED,
    "CANCELLED": OrderStatus.CANCELED,
}


# ---------------------------------------------------------------------------------------------------------
# Pure parsing: OANDA JSON in, domain values out; junk raises ValueError naming what was wrong


def _plain(number: Decimal) -> str:
    """A Decimal as OANDA wants it on the wire: no exponent, no float detour."""
    return format(number, "f")


_RFC3339 = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})")


def parse_time(value: Any) -> datetime:
    """OANDA's RFC 3339 time ("2026-03-02T14:30:00.123456789Z") as an aware UTC datetime.

    OANDA writes nanoseconds; a datetime holds microseconds, so the last three digits are
    truncated (never rounded up into a later microsecond, which could reorder fills).
    """
    match = _RFC3339.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"time {value!r} is not RFC 3339")
    base, fraction, zone = match.groups()
    micros = (fraction or "").ljust(6, "0")[:6]
    offset = "+00:00" if zone == "Z" else zone
    return datetime.fromisoformat(f"{base}.{micros}{offset}").astimezone(UTC)


def rfc3339(moment: datetime) -> str:
    require_aware(moment, "OANDA query time")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_instrument(payload: Mapping[str, Any], venue: str, asset_class: AssetClass) -> Instrument:
    """One entry of GET /v3/accounts/{id}/instruments.

    tick = 10^-displayPrecision (the price grid OANDA accepts; pipLocation is only the pip,
    usually ten ticks), lot = 10^-tradeUnitsPrecision, minimum = minimumTradeSize.
    """
    name = text_field(payload, "name", "instrument")
    what = f"instrument {name}"
    display = payload.get("displayPrecision")
    units_precision = payload.get("tradeUnitsPrecision")
    if not isinstance(display, int) or isinstance(display, bool) or not 0 <= display <= 12:
        raise ValueError(f"{what}: displayPrecision {display!r} is not a small whole number")
    if not isinstance(units_precision, int) or isinstance(units_precision, bool) or units_precision < 0:
        raise ValueError(f"{what}: tradeUnitsPrecision {units_precision!r} is not a whole number >= 0")
    minimum = finite_decimal(payload.get("minimumTradeSize", "0"), f"{what} minimumTradeSize")
    try:
        underlying = underlying_of(name, asset_class)
    except MalformedSymbol:
        underlying = name  # CFDs (SPX500_USD, XAU_USD...) are not currency pairs: each is its own
    return Instrument(
        symbol=name,
        venue=venue,
        asset_class=asset_class,
        tick_size=Decimal(1).scaleb(-display),
        lot_size=Decimal(1).scaleb(-units_precision),
        underlying=underlying,
        min_quantity=minimum,
        quote_currency=name.rsplit("_", 1)[-1],
    )


def _best_price(levels: Any, what: str) -> Decimal | None:
    if not isinstance(levels, list) or not levels:
        return None
    top = json_object(levels[0], what)
    if top.get("price") is None:
        return None
    return decimal_of(top["price"], what)


def parse_price(price: Mapping[str, Any], instrument_key: str, source: str = "oanda") -> Quote | None:
    """A ClientPrice from GET .../pricing; None when OANDA has no usable two-sided price.

    Not tradeable (market closed, halted), a missing side, NaN, zero or a crossed book are
    all None: the caller then has no price, never a guess.
    """
    if price.get("tradeable") is False or price.get("status") == "non-tradeable":
        return None
    bid = _best_price(price.get("bids"), f"{instrument_key} bid")
    ask = _best_price(price.get("asks"), f"{instrument_key} ask")
    if bid is None or ask is None or not (bid.is_finite() and ask.is_finite()):
        return None
    if bid <= 0 or ask <= 0 or ask < bid:
        return None
    return Quote(instrument_key, bid, ask, parse_time(price.get("time")), source)


def parse_candles(
    payload: Mapping[str, Any], instrument_key: str, timeframe_seconds: int, count: int
) -> BarSeries | None:
    """Midpoint candles from GET /v3/instruments/{name}/candles: the last `count` complete ones."""
    candles = json_list(payload.get("candles"), f"{instrument_key} candles")
    complete = [c for c in candles if isinstance(c, Mapping) and c.get("complete") is True]
    bars: list[Bar] = []
    for candle in complete[-count:] if count > 0 else []:
        when = parse_time(candle.get("time"))
        what = f"{instrument_key} candle at {candle.get('time')}"
        mid = json_object(candle.get("mid"), f"{what} mid")
        o, h, lo, c = (finite_decimal(mid.get(k), f"{what} {k}") for k in ("o", "h", "l", "c"))
        volume = finite_decimal(candle.get("volume", 0), f"{what} volume")
        bars.append(Bar(when, float(o), float(h), float(lo), float(c), float(volume)))
    if not bars:
        return None
    return BarSeries(
        instrument_key=instrument_key,
        timeframe_seconds=timeframe_seconds,
        times=np.array([b.time.timestamp() for b in bars], dtype=np.float64),
        open=np.array([b.open for b in bars], dtype=np.float64),
        high=np.array([b.high for b in bars], dtype=np.float64),
        low=np.array([b.low for b in bars], dtype=np.float64),
        close=np.array([b.close for b in bars], dtype=np.float64),
        volume=np.array([b.volume for b in bars], dtype=np.float64),
    )


def parse_balance(payload: Mapping[str, Any]) -> Balance:
    """GET .../summary: cash is the account balance, free the margin available for new trades."""
    account = json_object(payload.get("account"), "account summary")
    return Balance(
        currency=text_field(account, "currency", "account summary"),
        cash=finite_decimal(account.get("balance"), "account balance"),
        free=finite_decimal(account.get("marginAvailable"), "account marginAvailable"),
    )


def parse_positions(payload: Mapping[str, Any], venue: str) -> list[VenuePosition]:
    """GET .../openPositions, each instrument's long and short sides netted into one signed quantity.

    The average entry price is the open side's; a hedged account holding both sides has no one
    entry price for the net, so it is None there.
    """
    held: list[VenuePosition] = []
    for entry in json_list(payload.get("positions"), "open positions"):
        position = json_object(entry, "position")
        name = text_field(position, "instrument", "position")
        sides: list[tuple[Decimal, Decimal | None]] = []
        for side_name in ("long", "short"):
            side = json_object(position.get(side_name, {}), f"{name} {side_name}")
            units = finite_decimal(side.get("units", "0"), f"{name} {side_name} units")
            if units == 0:
                continue
            average = side.get("averagePrice")
            sides.append(
                (units, finite_decimal(average, f"{name} {side_name} averagePrice") if average else None)
            )
        quantity = sum((units for units, _ in sides), Decimal(0))
        if quantity == 0:
            continue
        entry_price = sides[0][1] if len(sides) == 1 else None
        held.append(VenuePosition(f"{venue}:{name}", quantity, entry_price))
    return held


@dataclass(frozen=True, slots=True)
class OandaOrder:
    """The fields of an OANDA Order object the adapter reads."""

    id: str
    client_order_id: str | None
    instrument: str
    units: Decimal  # signed: a sell is negative
    state: str
    create_time: datetime


def _client_id(payload: Mapping[str, Any]) -> str | None:
    extensions = payload.get("clientExtensions")
    if isinstance(extensions, Mapping) and isinstance(extensions.get("id"), str) and extensions["id"]:
        return str(extensions["id"])
    return None


def parse_order(payload: Mapping[str, Any]) -> OandaOrder:
    order_id = text_field(payload, "id", "order")
    what = f"order {order_id}"
    state = text_field(payload, "state", what)
    if state not in ORDER_STATES:
        raise ValueError(f"{what}: unknown state {state!r}")
    return OandaOrder(
        id=order_id,
        client_order_id=_client_id(payload),
        instrument=text_field(payload, "instrument", what),
        units=finite_decimal(payload.get("units"), f"{what} units"),
        state=state,
        create_time=parse_time(payload.get("createTime")),
    )


@dataclass(frozen=True, slots=True)
class OandaFill:
    """An ORDER_FILL transaction."""

    transaction_id: int
    order_id: str
    client_order_id: str | None  # OANDA sends clientOrderID only when the order had one
    instrument: str
    units: Decimal  # signed
    price: Decimal
    fee: Decimal
    time: datetime

    @property
    def side(self) -> Side:
        return Side.BUY if self.units > 0 else Side.SELL

    def to_fill(self, venue: str) -> Fill:
        assert self.client_order_id is not None, "only fills of our orders become domain fills"
        return Fill(
            client_order_id=self.client_order_id,
            venue=venue,
            venue_trade_id=str(self.transaction_id),
            instrument_key=f"{venue}:{self.instrument}",
            side=self.side,
            quantity=abs(self.units),
            price=self.price,
            fee=self.fee,
            time=self.time,
        )


def _transaction_id(payload: Mapping[str, Any], what: str) -> int:
    text = text_field(payload, "id", what)
    if not text.isdigit():
        raise ValueError(f"{what}: transaction id {text!r} is not a number")
    return int(text)


def parse_fill(transaction: Mapping[str, Any]) -> OandaFill | None:
    """An ORDER_FILL transaction; None for any other transaction type.

    The fee is the commission plus any guaranteed-execution fee (OANDA reports both as
    positive amounts charged). Financing is carry on the trades the fill closed, not a cost
    of this execution, so it is not part of the fee.
    """
    if transaction.get("type") != "ORDER_FILL":
        return None
    transaction_id = _transaction_id(transaction, "fill")
    what = f"fill {transaction_id}"
    units = finite_decimal(transaction.get("units"), f"{what} units")
    # `price` is the field OANDA has always sent; newer servers add fullVWAP, the same number.
    price = finite_decimal(transaction.get("price", transaction.get("fullVWAP")), f"{what} price")
    fee = finite_decimal(transaction.get("commission", "0"), f"{what} commission") + finite_decimal(
        transaction.get("guaranteedExecutionFee", "0"), f"{what} guaranteedExecutionFee"
    )
    if units == 0 or price <= 0 or fee < 0:
        raise ValueError(f"{what}: units {units}, price {price}, fee {fee} make no fill")
    client_order_id = transaction.get("clientOrderID")
    return OandaFill(
        transaction_id=transaction_id,
        order_id=text_field(transaction, "orderID", what),
        client_order_id=client_order_id if isinstance(client_order_id, str) and client_order_id else None,
        instrument=text_field(transaction, "instrument", what),
        units=units,
        price=price,
        fee=fee,
        time=parse_time(transaction.get("time")),
    )


def parse_fills(payload: Mapping[str, Any]) -> list[OandaFill]:
    """The ORDER_FILL transactions of an idrange or sinceid answer."""
    found: list[OandaFill] = []
    for entry in json_list(payload.get("transactions"), "transactions"):
        fill = parse_fill(json_object(entry, "transaction"))
        if fill is not None:
            found.append(fill)
    return found


def last_transaction_id(payload: Mapping[str, Any]) -> int:
    return _transaction_id({"id": payload.get("lastTransactionID")}, "lastTransactionID")


def newest_transaction_id(payload: Mapping[str, Any]) -> int | None:
    """The highest transaction id in a sinceid/idrange answer; None when it holds none."""
    ids = [
        _transaction_id(json_object(t, "transaction"), "transaction")
        for t in json_list(payload.get("transactions"), "transactions")
    ]
    return max(ids) if ids else None


def transaction_pages(payload: Mapping[str, Any]) -> list[dict[str, str]]:
    """The idrange queries of a GET .../transactions listing, from its page URLs."""
    queries: list[dict[str, str]] = []
    for page in json_list(payload.get("pages"), "transaction pages"):
        if not isinstance(page, str):
            raise ValueError(f"transaction page {page!r} is not a URL")
        query = dict(parse_qsl(urlsplit(page).query))
        if "from" not in query or "to" not in query:
            raise ValueError(f"transaction page {page!r} names no id range")
        queries.append(query)
    return queries


def fill_summary(fills: Sequence[OandaFill]) -> tuple[Decimal, Decimal | None]:
    """Filled quantity and its volume-weighted price."""
    filled = sum((abs(f.units) for f in fills), Decimal(0))
    if filled == 0:
        return filled, None
    return filled, sum((abs(f.units) * f.price for f in fills), Decimal(0)) / filled


def venue_order(
    order: OandaOrder, fills: Sequence[OandaFill], venue: str, client_order_id: str | None = None
) -> VenueOrder:
    """An OANDA order plus its fills as the venue-neutral VenueOrder (`client_order_id`: the id
    it was looked up by, where the order itself does not repeat it).

    OANDA states: PENDING and TRIGGERED are working (partially filled when fills exist),
    FILLED is done, CANCELLED is cancelled (a partial fill before it stays counted).
    """
    mine = [f for f in fills if f.order_id == order.id]
    filled, average = fill_summary(mine)
    status = ORDER_STATES[order.state]
    ordered = abs(order.units)
    if status is OrderStatus.ACCEPTED and filled > 0:
        status = OrderStatus.PARTIALLY_FILLED
    elif status is OrderStatus.FILLED and filled != ordered:
        # The venue says done, but its fill transactions were not all found: report the size
        # it filled and no price rather than a price made from part of the fills.
        filled, average = ordered, None
    return VenueOrder(
        client_order_id=order.client_order_id or client_order_id or "",
        venue_order_id=order.id,
        instrument_key=f"{venue}:{order.instrument}",
        status=status,
        filled_quantity=filled,
        average_fill_price=average,
    )


def parse_create_answer(answer: Mapping[str, Any], client_order_id: str, instrument_key: str) -> VenueOrder:
    """The 201 answer to POST .../orders: created, and perhaps filled or cancelled at once.

    An order that cannot fill at once under IOC/FOK, or that OANDA refuses while filling
    (INSUFFICIENT_MARGIN on a market order, a halted market), comes back created and cancelled.
    """
    created = json_object(answer.get("orderCreateTransaction"), "orderCreateTransaction")
    order_id = text_field(created, "id", "orderCreateTransaction")
    ordered = abs(finite_decimal(created.get("units"), f"order {order_id} units"))
    fills: list[OandaFill] = []
    if answer.get("orderFillTransaction") is not None:
        fill = parse_fill(json_object(answer["orderFillTransaction"], "orderFillTransaction"))
        if fill is not None:
            fills.append(fill)
    filled, average = fill_summary(fills)
    reason = None
    if answer.get("orderCancelTransaction") is not None:
        cancel = json_object(answer["orderCancelTransaction"], "orderCancelTransaction")
        status = OrderStatus.CANCELED
        reason = str(cancel.get("reason") or "cancelled by OANDA")
    elif filled >= ordered:
        status = OrderStatus.FILLED
    elif filled > 0:
        status = OrderStatus.PARTIALLY_FILLED
    else:
        status = OrderStatus.ACCEPTED
    return VenueOrder(client_order_id, order_id, instrument_key, status, filled, average, reason)


def time_in_force(order_type: OrderType, tif: TimeInForce) -> str:
    """OANDA's timeInForce: market orders take only FOK or IOC (FOK is OANDA's default),
    limit orders GTC, GFD (good for the trading day) or IOC."""
    if order_type is OrderType.MARKET:
        return "IOC" if tif is TimeInForce.IOC else "FOK"
    return {TimeInForce.GTC: "GTC", TimeInForce.DAY: "GFD", TimeInForce.IOC: "IOC"}[tif]


def order_request(order: OutboundOrder) -> dict[str, Any]:
    """The body of POST .../orders. Units are a signed string (a sell is negative), prices exact."""
    intent = order.intent
    units = order.quantity if intent.side is Side.BUY else -order.quantity
    body: dict[str, Any] = {
        "type": "MARKET" if intent.order_type is OrderType.MARKET else "LIMIT",
        "instrument": intent.instrument.symbol,
        "units": _plain(units),
        "timeInForce": time_in_force(intent.order_type, intent.time_in_force),
        "positionFill": "REDUCE_ONLY" if intent.reduce_only else "DEFAULT",
        "clientExtensions": {"id": intent.client_order_id},
    }
    if order.limit_price is not None:
        body["price"] = _plain(order.limit_price)
    return {"order": body}


@dataclass(frozen=True, slots=True)
class OandaError:
    """An OANDA error body: {"errorMessage", "errorCode"}, and a reject transaction on order calls."""

    message: str
    code: str | None = None
    reject_reason: str | None = None
    order_rejected: bool = False

    @property
    def reason(self) -> str:
        codes = [c for c in (self.reject_reason, self.code) if c and c not in self.message]
        return f"{self.message} ({codes[0]})" if codes else self.message


def parse_error(body: str) -> OandaError:
    """What OANDA said in an error answer; a body that is not OANDA's JSON is kept as text."""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if not isinstance(payload, Mapping):
        text = " ".join(body.split())[:200]
        return OandaError(text or "no error message")
    reject = payload.get("orderRejectTransaction")
    reject_reason = reject.get("rejectReason") if isinstance(reject, Mapping) else None
    code = payload.get("errorCode")
    message = payload.get("errorMessage")
    return OandaError(
        message=str(message) if message else str(reject_reason or code or "no error message"),
        code=str(code) if code else None,
        reject_reason=str(reject_reason) if reject_reason else None,
        order_rejected=isinstance(reject, Mapping),
    )


class OandaHttpError(Exception):
    """An HTTP error answer, with the headers the SDK's V20Error leaves out."""

    def __init__(self, status: int, body: str, headers: Mapping[str, str]) -> None:
        super().__init__(f"HTTP {status}: {body[:200]}")
        self.status = status
        self.body = body
        self.headers = dict(headers)


def classify(exc: BaseException) -> VenueFault | None:
    """OANDA's HTTP errors as venue faults; transport errors are left to `transport_fault`."""
    if isinstance(exc, OandaHttpError):
        status, body, headers = exc.status, exc.body, exc.headers
    elif isinstance(exc, V20Error):
        status, body, headers = int(exc.code), str(exc.msg), {}
    else:
        return None
    error = parse_error(body)
    if DUPLICATE_CLIENT_ID in (error.code, error.reject_reason):
        return VenueFault(FaultKind.DUPLICATE, error.reason, status)
    if error.order_rejected and status < 500 and status != 429:
        # a 400 (or a 404 for an unknown account) carrying orderRejectTransaction: a refusal
        return VenueFault(FaultKind.REJECTED, error.reason, status)
    reason = error.reason
    if status == 401:
        reason = f"OANDA refused the access token: {reason}"
    elif status == 403:
        reason = f"OANDA refused this token for the account: {reason}"
    return http_fault(status, reason, headers)


# ---------------------------------------------------------------------------------------------------------
# The fill log: what `order_status` and `fills_since` read


class FillLog:
    """ORDER_FILL transactions seen, complete from `complete_since` up to `last_transaction_id`.

    A backfill from an earlier time extends it back; a sinceid read extends it forward. Both
    only ever widen one contiguous span, so the log never has a hole.
    """

    def __init__(self) -> None:
        self._fills: dict[int, OandaFill] = {}
        self.complete_since: datetime | None = None
        self.last_transaction_id: int | None = None

    def covers(self, since: datetime) -> bool:
        return self.complete_since is not None and self.complete_since <= since

    def backfilled(self, since: datetime, fills: Sequence[OandaFill], last_id: int) -> None:
        self._add(fills, last_id)
        if self.complete_since is None or since < self.complete_since:
            self.complete_since = since

    def extended(self, fills: Sequence[OandaFill], through_id: int) -> None:
        self._add(fills, through_id)

    def _add(self, fills: Sequence[OandaFill], through_id: int) -> None:
        for fill in fills:
            self._fills[fill.transaction_id] = fill
        if self.last_transaction_id is None or through_id > self.last_transaction_id:
            self.last_transaction_id = through_id

    def of_order(self, order_id: str) -> list[OandaFill]:
        return [f for _, f in sorted(self._fills.items()) if f.order_id == order_id]

    def since(self, moment: datetime) -> list[OandaFill]:
        return [f for _, f in sorted(self._fills.items()) if f.time >= moment]


# ---------------------------------------------------------------------------------------------------------
# The SDK client and the adapter


def sdk_environment(environment: str, base_url: str | None, stream_url: str | None = None) -> str:
    """The SDK environment name for our settings; a `base_url` is registered under its own name."""
    if base_url is None:
        try:
            return SDK_ENVIRONMENTS[environment]
        except KeyError:
            raise ValueError(
                f"OANDA environment {environment!r}: expected one of {sorted(SDK_ENVIRONMENTS)}"
            ) from None
    api = base_url.rstrip("/")
    name = f"override:{api}"
    # The SDK reads its hosts only from this public table; one entry per URL, so it is idempotent.
    oanda_core.TRADING_ENVIRONMENTS[name] = {"api": api, "stream": (stream_url or api).rstrip("/")}
    return name


class _Client:
    """The SDK's API object, plus the headers of error answers (V20Error drops them)."""

    def __init__(self, token: str, environment: str, timeout_seconds: float) -> None:
        self.api: Any = oandapyV20.API(
            access_token=token, environment=environment, request_params={"timeout": timeout_seconds}
        )
        self._error_headers = threading.local()
        # requests runs response hooks on the thread that made the call, which is the thread
        # that then sees V20Error: a thread-local carries the headers across safely.
        self.api.client.hooks["response"].append(self._keep_error_headers)

    @property
    def host(self) -> str:
        return str(oanda_core.TRADING_ENVIRONMENTS[self.api.environment]["api"])

    def _keep_error_headers(self, response: Any, *args: Any, **kwargs: Any) -> None:
        if response.status_code >= 400:
            self._error_headers.value = dict(response.headers)

    def request(self, endpoint: Any) -> Any:
        self._error_headers.value = {}
        try:
            return self.api.request(endpoint)
        except V20Error as error:
            headers: dict[str, str] = getattr(self._error_headers, "value", {})
            raise OandaHttpError(int(error.code), str(error.msg), headers) from error

    def close(self) -> None:
        self.api.close()


class OandaAdapter(LiveAdapter):
    """One OANDA v20 account."""

    venue_label = "OANDA"

    venue_rejects_duplicate_client_ids = False  # OANDA refuses duplicates only among pending orders

    def __init__(self, connection: VenueConnection) -> None:
        super().__init__(connection, self._classify)
        self._account = connection.credentials["ACCOUNT_ID"]
        environment = sdk_environment(connection.environment, connection.base_url, connection.data_url)
        self._client = _Client(
            connection.credentials["ACCESS_TOKEN"], environment, connection.timeout_seconds
        )
        self._fill_log = FillLog()
        self._health.details["host"] = self._client.host
        self._client.api.client.hooks["response"].append(requests_rate_limit_hook(self._health))

    def __repr__(self) -> str:
        return f"OandaAdapter({self.venue!r}, {self.connection.environment}, {self._client.host})"

    @property
    def rest_host(self) -> str:
        """The REST host the SDK sends to."""
        return self._client.host

    def close(self) -> None:
        self._client.close()

    # ------------------------------------------------------------------ market data and account
    async def instruments(self) -> list[Instrument]:
        wanted = list(self.connection.symbols)
        answer = await self._call(
            "instruments",
            accounts.AccountInstruments(self._account, params={"instruments": ",".join(wanted)}),
        )

        def parse(payload: Mapping[str, Any]) -> list[Instrument]:
            listed = {}
            for entry in json_list(payload.get("instruments"), "instruments"):
                found = parse_instrument(
                    json_object(entry, "instrument"), self.venue, self.connection.asset_class
                )
                listed[found.symbol] = found
            missing = [s for s in wanted if s not in listed]
            if missing:
                raise ValueError(f"OANDA does not list {', '.join(missing)} for this account")
            return [listed[s] for s in wanted]

        return self._parsed("instruments", parse, answer)

    async def quote(self, instrument: Instrument) -> Quote | None:
        answer = await self._call(
            "quote", pricing.PricingInfo(self._account, params={"instruments": instrument.symbol})
        )

        def parse(payload: Mapping[str, Any]) -> Quote | None:
            for entry in json_list(payload.get("prices"), "prices"):
                price = json_object(entry, "price")
                if price.get("instrument") == instrument.symbol:
                    return parse_price(price, instrument.key)
            return None

        return self._parsed("quote", parse, answer)

    async def bars(self, instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None:
        granularity = GRANULARITIES.get(timeframe_seconds)
        if granularity is None:
            raise BrokerError(
                f"{self.venue}: OANDA has no {timeframe_seconds} s candles "
                f"(it offers {', '.join(str(s) for s in GRANULARITIES)} s)"
            )
        if count <= 0:
            return None
        # one more than asked: the newest candle is usually still forming and is dropped
        params = {"granularity": granularity, "count": str(min(count + 1, MAX_CANDLES)), "price": "M"}
        answer = await self._call("bars", instruments.InstrumentsCandles(instrument.symbol, params=params))
        return self._parsed("bars", parse_candles, answer, instrument.key, timeframe_seconds, count)

    async def balance(self) -> Balance:
        answer = await self._call("balance", accounts.AccountSummary(self._account))
        return self._parsed("balance", parse_balance, answer)

    async def positions(self) -> list[VenuePosition]:
        answer = await self._call("positions", positions.OpenPositions(self._account))
        return self._parsed("positions", parse_positions, answer, self.venue)

    # ------------------------------------------------------------------ orders
    async def open_orders(self) -> list[VenueOrder]:
        async def attempt() -> list[VenueOrder]:
            answer = await self.caller.once(
                "open orders", self._client.request, orders.OrdersPending(self._account)
            )
            pending = self._parsed("open orders", _our_orders, answer)
            if not pending:
                return []
            known = self._parsed("open orders", last_transaction_id, answer)
            await self._catch_up(min(o.create_time for o in pending), known)
            return [venue_order(o, self._fill_log.of_order(o.id), self.venue) for o in pending]

        return await self.caller.retrying("open orders", attempt)

    async def cancel(self, client_order_id: str) -> VenueOrder | None:
        async def attempt() -> VenueOrder | None:
            try:
                await self.caller.once(
                    "cancel", self._client.request, orders.OrderCancel(self._account, f"@{client_order_id}")
                )
            except OrderNotFound:
                pass  # unknown, or no longer pending: the lookup says which
            except VenueRejected:
                current = await self._find(client_order_id)
                if current is None or current.status.is_open:
                    raise
                return current
            return await self._find(client_order_id)

        return await self.caller.retrying("cancel", attempt)

    async def fills_since(self, since: datetime) -> list[Fill]:
        require_aware(since, "fills_since")
        await self.caller.retrying("fills", lambda: self._catch_up(since))
        return [f.to_fill(self.venue) for f in self._fill_log.since(since) if f.client_order_id is not None]

    async def _find(self, client_order_id: str) -> VenueOrder | None:
        try:
            answer = await self.caller.once(
                "order lookup",
                self._client.request,
                orders.OrderDetails(self._account, f"@{client_order_id}"),
            )
        except OrderNotFound:
            return None
        order = self._parsed(
            "order lookup", lambda a: parse_order(json_object(a.get("order"), "order")), answer
        )
        await self._catch_up(order.create_time, self._parsed("order lookup", last_transaction_id, answer))
        return venue_order(order, self._fill_log.of_order(order.id), self.venue, client_order_id)

    async def _create(self, order: OutboundOrder) -> VenueOrder:
        answer = await self.caller.once(
            "submit", self._client.request, orders.OrderCreate(self._account, data=order_request(order))
        )
        return self._parsed(
            "submit", parse_create_answer, answer, order.client_order_id, order.instrument.key
        )

    # ------------------------------------------------------------------ the fill log
    async def _catch_up(self, since: datetime, known_last_id: int | None = None) -> None:
        """Make the fill log complete from `since` to now; `once` calls, for a retrying unit."""
        log = self._fill_log
        if not log.covers(since) or log.last_transaction_id is None:
            params = {"from": rfc3339(since), "type": "ORDER_FILL", "pageSize": "1000"}
            listing = await self.caller.once(
                "fills", self._client.request, transactions.TransactionList(self._account, params=params)
            )
            pages = self._parsed("fills", transaction_pages, listing)
            last_id = self._parsed("fills", last_transaction_id, listing)
            found: list[OandaFill] = []
            for query in pages:
                page = await self.caller.once(
                    "fills",
                    self._client.request,
                    transactions.TransactionIDRange(self._account, params=query),
                )
                found.extend(self._parsed("fills", parse_fills, page))
            log.backfilled(since, found, last_id)
            return
        cursor = log.last_transaction_id
        if known_last_id is not None and cursor >= known_last_id:
            return  # nothing has happened on the account since the log was last read
        for _ in range(MAX_SINCEID_PAGES):
            page = await self.caller.once(
                "fills",
                self._client.request,
                transactions.TransactionsSinceID(self._account, params={"id": str(cursor)}),
            )
            fills = self._parsed("fills", parse_fills, page)
            newest = self._parsed("fills", newest_transaction_id, page)
            last_id = self._parsed("fills", last_transaction_id, page)
            if newest is None or newest >= last_id:
                log.extended(fills, max(last_id, cursor))
                return
            log.extended(fills, newest)
            cursor = newest

    # ------------------------------------------------------------------ plumbing
    async def _call(self, what: str, endpoint: Any) -> Any:
        return await self.caller.call(what, self._client.request, endpoint)

    def _parsed(self, what: str, parse: Callable[..., T], answer: Any, *args: Any) -> T:
        """`parse(answer, *args)`; an answer that does not read becomes a BrokerError with the reason."""
        return self.parsed(what, lambda: parse(json_object(answer, f"{what} answer"), *args))

    def _classify(self, exc: BaseException) -> VenueFault | None:
        fault = classify(exc)
        if fault is not None and fault.status in (401, 403):
            self._health.connected = False  # nothing works until the token is fixed
        return fault


def _our_orders(answer: Mapping[str, Any]) -> list[OandaOrder]:
    """Pending orders that carry a client id: the ones this system can have sent.

    Orders without one (placed by hand, or the take-profit/stop-loss orders OANDA attaches
    to trades, which have no instrument of their own) are not reported.
    """
    found: list[OandaOrder] = []
    for entry in json_list(answer.get("orders"), "pending orders"):
        payload = json_object(entry, "order")
        if _client_id(payload) is not None and "instrument" in payload:
            found.append(parse_order(payload))
    return found


def connect(connection: VenueConnection) -> OandaAdapter:
    return OandaAdapter(connection)
