"""Kalshi adapter (kind "kalshi"): one YES contract per instrument, priced in dollars.

kalshi-python 2.1.4 is used for what it still does right: the request building and
the HTTP transport (`param_serialize` + `call_api`) and its Kalshi header scheme.
Its signing re-reads and re-validates the PEM key on every request (about 70 ms
of CPU for a 2048-bit key, 50 times the signature itself), so `_KeyOnceKalshiClient`
signs the same message the same way (RSA-PSS, SHA-256, MGF1, digest-length salt over
`timestamp + METHOD + /trade-api/v2 + path`) with the key loaded once. Its pydantic
models predate the 2026 `_dollars`/`_fp` wire format, so every answer is read
as raw JSON by `brokers.kalshi_payloads` (see prediction-markets.md §0 and §1).

The instrument model: `symbol` is the market ticker (KXHIGHCHI-26FEB09-B38.5),
prices are YES prices in dollars, quantities are contracts. BUY buys YES, SELL
sells YES; a position below zero holds NO contracts (Kalshi's signed `position_fp`).

Venue rules this adapter enforces or works around:
- no market orders on Kalshi any more: a MARKET intent becomes an
  immediate-or-cancel limit at the best ask (buy) or best bid (sell) read from
  the book just before sending; an empty side is a REJECTED order, not a guess;
- DAY is sent as good-till-canceled with `expiration_ts` at the next midnight in New York;
- tapered deci-cent markets take $0.001 steps only below 0.10 and above 0.90: the
  instrument's tick is 0.001 and a mid-band price off the cent grid is REJECTED before sending;
- Kalshi refuses a second order with a known `client_order_id` (409
  `order_already_exists`), but cannot be asked for an order by client id: the
  lookup pages through `GET /portfolio/orders` for the ticker and matches it.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import quote as quote_path
from urllib.parse import urlsplit

import numpy as np
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from kalshi_python import KalshiClient
from kalshi_python.api_client import ApiClient
from kalshi_python.configuration import Configuration
from kalshi_python.exceptions import ApiException

from brokers.base import (
    Balance,
    BrokerError,
    CredentialsMissing,
    OrderNotFound,
    VenueOrder,
    VenuePosition,
    VenueRejected,
    VenueUnavailable,
)
from brokers.calls import FaultKind, VenueFault, http_fault, note_rate_limit
from brokers.credentials import CredentialSpec
from brokers.factory import VenueConnection
from brokers.kalshi_payloads import (
    PERIOD_MINUTES,
    KalshiFeeSchedule,
    KalshiFill,
    KalshiMarket,
    KalshiOrder,
    Payload,
    average_fill_price,
    end_of_day_expiration,
    entry_ticker,
    first_of,
    json_object,
    market_contract,
    markets_page,
    next_cursor,
    order_request,
    order_status,
    parse_balance,
    parse_candlesticks,
    parse_error,
    parse_fills_page,
    parse_market,
    parse_market_result,
    parse_order,
    parse_orderbook,
    parse_orders_page,
    parse_positions_page,
    parse_series_fee_schedule,
    parse_series_resolution_source,
    series_of,
    time_in_force,
    unix_seconds,
)
from brokers.live import LiveAdapter, OutboundOrder
from domain.contracts import ContractSpec
from domain.instruments import AssetClass, Instrument
from domain.market import BarSeries, Quote
from domain.orders import Fill, OrderStatus, OrderType, TimeInForce
from domain.prediction_records import Settlement
from domain.signals import Side
from risk_management.underlying import underlying_of
from utils.clock import WALL_CLOCK

log = logging.getLogger(__name__)

SANDBOX_BASE_URL = "https://demo-api.kalshi.co/trade-api/v2"
PRODUCTION_BASE_URL = "https://api.elections.kalshi.com/trade-api/v2"
# kalshi-python signs "/trade-api/v2" + path whatever the host says, so the host must end with it
SIGNED_PATH_PREFIX = "/trade-api/v2"
PAGE_LIMIT = 200  # the documented maximum of `limit` on orders and fills
POSITIONS_PAGE_LIMIT = 100
MARKETS_PAGE_LIMIT = 1000  # the documented maximum of `limit` on GET /markets
# the GET /markets filter for tradable markets; the markets it selects report status "active"
LISTED_STATUS_FILTER = "open"
MAX_PAGES = 500  # a runaway cursor stops here instead of looping forever

CREDENTIALS: tuple[CredentialSpec, ...] = (
    CredentialSpec(
        "API_KEY_ID", True, "the API key id (a UUID) shown when the key was created on kalshi.com"
    ),
    CredentialSpec("PRIVATE_KEY_PATH", False, "path of the RSA private key (PEM) downloaded with the key"),
    CredentialSpec("PRIVATE_KEY", False, "the PEM text itself (\\n escapes allowed), instead of a path"),
)

T = TypeVar("T")
Query = Sequence[tuple[str, str | int]]


def connect(connection: VenueConnection) -> KalshiAdapter:
    return KalshiAdapter(connection, _private_key_pem(connection))


def rest_base_url(connection: VenueConnection) -> str:
    """The REST base including /trade-api/v2: `base_url` if set, else the environment's host."""
    if connection.base_url is None:
        return PRODUCTION_BASE_URL if connection.environment == "production" else SANDBOX_BASE_URL
    base = connection.base_url.rstrip("/")
    if urlsplit(base).path != SIGNED_PATH_PREFIX:
        raise VenueUnavailable(
            f"venue {connection.name!r} is unavailable: base_url {base!r} must end with "
            f"{SIGNED_PATH_PREFIX} (the path Kalshi's request signature covers), e.g. {SANDBOX_BASE_URL}"
        )
    return base


def _private_key_pem(connection: VenueConnection) -> str:
    """The PEM text from PRIVATE_KEY_PATH (preferred) or PRIVATE_KEY, checked to be an RSA key.

    Messages name the variables, never their values.
    """
    prefix = connection.env_prefix
    credentials = connection.credentials
    path = credentials.get("PRIVATE_KEY_PATH")
    if path:
        source = f"{prefix}_PRIVATE_KEY_PATH ({path})"
        try:
            with open(path, encoding="utf-8") as handle:
                pem = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise CredentialsMissing(
                f"venue {connection.name!r} is unavailable: cannot read {source}: {exc}"
            ) from None
    elif credentials.get("PRIVATE_KEY"):
        source = f"{prefix}_PRIVATE_KEY"
        text = credentials["PRIVATE_KEY"]
        pem = text if "\n" in text else text.replace("\\n", "\n")  # one-line .env values
    else:
        raise CredentialsMissing(
            f"venue {connection.name!r} is unavailable: set {prefix}_PRIVATE_KEY_PATH (the PEM file "
            f"downloaded with the API key) or {prefix}_PRIVATE_KEY (its text) in the environment or in .env"
        )
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise CredentialsMissing(
            f"venue {connection.name!r} is unavailable: {source} is not an unencrypted PEM private key "
            f"({type(exc).__name__})"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CredentialsMissing(
            f"venue {connection.name!r} is unavailable: {source} must hold an RSA key "
            "(kalshi-python 2.1.4 signs with RSA-PSS only)"
        )
    return pem


def classify(exc: BaseException) -> VenueFault | None:
    """The SDK's HTTP errors, with Kalshi's own error text as the reason; transport errors fall through."""
    if not isinstance(exc, ApiException):
        return None
    status = exc.status
    if not isinstance(status, int) or status <= 0:  # the SDK reports TLS failures as status 0
        return None
    error = parse_error(exc.body)
    reason = error.describe() or f"HTTP {status} {exc.reason or ''}".strip()
    headers = {str(key): str(value) for key, value in (exc.headers or {}).items()}
    if status == 409 and error.code == "order_already_exists":
        return VenueFault(FaultKind.DUPLICATE, reason, status)
    if status in (401, 403):
        reason = (
            f"Kalshi refused the credentials (HTTP {status}: {reason}); check the API key id "
            "and that the private key is the one downloaded with it"
        )
    return http_fault(status, reason, headers)


def _segment(value: str) -> str:
    """One path segment, percent-encoded: a malformed symbol must not change the path."""
    return quote_path(value, safe="")


class _KeyOnceKalshiClient(KalshiClient):
    """KalshiClient whose signing key is loaded once instead of on every request."""

    def __init__(self, configuration: Configuration) -> None:
        super().__init__(configuration)  # type: ignore[no-untyped-call]
        pem: str | bytes = configuration.private_key_pem  # type: ignore[attr-defined]
        key = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("Kalshi signs with an RSA key")
        self._signing_key: rsa.RSAPrivateKey = key
        self._key_id: str = str(configuration.api_key_id)  # type: ignore[attr-defined]

    def update_params_for_auth(
        self,
        headers: dict[str, str],
        queries: Any,
        auth_settings: Any,
        resource_path: str,
        method: str,
        body: Any,
        request_auth: Any = None,
    ) -> None:
        timestamp = str(int(WALL_CLOCK.now().timestamp() * 1000))
        message = f"{timestamp}{method.upper()}/trade-api/v2{resource_path}".encode()
        signature = self._signing_key.sign(
            message,
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),
            hashes.SHA256(),
        )
        headers["KALSHI-ACCESS-KEY"] = self._key_id
        headers["KALSHI-ACCESS-SIGNATURE"] = base64.b64encode(signature).decode()
        headers["KALSHI-ACCESS-TIMESTAMP"] = timestamp
        # the generated ApiClient's own auth (none configured) runs as in the SDK
        ApiClient.update_params_for_auth(
            self, headers, queries, auth_settings, resource_path, method, body, request_auth
        )


class KalshiAdapter(LiveAdapter):
    venue_label = "Kalshi"
    venue_rejects_duplicate_client_ids = True  # 409 order_already_exists, reproduced by tests/fakes/kalshi.py

    def __init__(self, connection: VenueConnection, private_key_pem: str) -> None:
        super().__init__(connection, classify)
        self.base_url = rest_base_url(connection)
        configuration = Configuration(host=self.base_url)
        configuration.api_key_id = connection.credentials["API_KEY_ID"]
        configuration.private_key_pem = private_key_pem
        configuration.retries = 0  # VenueCaller owns the retry policy; urllib3 must not retry underneath it
        client_class: Any = _KeyOnceKalshiClient  # untyped constructor
        self._client: Any = client_class(configuration)
        self._timeout = connection.timeout_seconds
        self._health.details["host"] = self.base_url
        self._markets: dict[str, KalshiMarket] = {}
        # ticker -> the question the market settles on; None when its payload does not say (logged once)
        self._contracts: dict[str, ContractSpec | None] = {}
        self._unreadable_contracts: set[str] = set()
        self._unreadable_listings: set[str] = set()  # listed markets left out, warned about once
        self._series: dict[str, Payload] = {}  # series ticker -> its `GET /series/{ticker}` answer
        self._fee_schedules: dict[str, KalshiFeeSchedule] = {}
        self._resolution_sources: dict[str, str] = {}  # series ticker -> what settles its markets
        self._order_ids: dict[str, str] = {}  # client order id -> Kalshi order id
        self._client_ids: dict[str, str] = {}  # Kalshi order id -> client order id
        self._tickers: dict[str, str] = {}  # client order id -> ticker, for the lookup
        self._immediate: set[str] = set()  # client order ids sent immediate-or-cancel

    # ------------------------------------------------------------------ transport
    def _send(self, method: str, path: str, query: Query, body: Payload | None) -> bytes:
        """One signed exchange (in a worker thread): the body of a 2xx answer, else the SDK's ApiException.

        The signature carries a millisecond timestamp, so it is made here, per attempt.
        """
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = self._client.param_serialize(
            method=method, resource_path=path, query_params=list(query), header_params=headers, body=body
        )
        response = self._client.call_api(*request, _request_timeout=self._timeout)
        raw = response.read()
        note_rate_limit(self._health, getattr(response, "headers", None))
        if not 200 <= response.status <= 299:
            raise ApiException.from_response(
                http_resp=response, body=raw.decode("utf-8", "replace"), data=None
            )
        return bytes(raw)

    async def _request(
        self,
        what: str,
        method: str,
        path: str,
        query: Query = (),
        body: Payload | None = None,
        *,
        once: bool = False,
    ) -> Payload:
        """One call through the VenueCaller (retried, or a single attempt with `once`), as a JSON object."""
        call = self.caller.once if once else self.caller.call
        try:
            raw = await call(what, self._send, method, path, query, body)
        except VenueRejected as refusal:
            if refusal.status in (401, 403):
                # every later call will fail the same way: show it on the broker panel
                self._health.connected = False
                self._health.details["auth"] = refusal.reason
            raise
        self._health.details.pop("auth", None)
        return self.parsed(what, json_object, raw)

    async def _pages(self, what: str, path: str, query: Query, *, once: bool = False) -> list[Payload]:
        """Every page of a cursor-paginated list."""
        pages: list[Payload] = []
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            page_query = [*query, ("cursor", cursor)] if cursor else list(query)
            page = await self._request(what, "GET", path, page_query, once=once)
            pages.append(page)
            cursor = self.parsed(what, next_cursor, page)
            if cursor is None:
                return pages
            if cursor in seen:
                raise BrokerError(f"{self.venue} {what}: Kalshi repeated the page cursor {cursor!r}")
            seen.add(cursor)
        raise BrokerError(f"{self.venue} {what}: more than {MAX_PAGES} pages; narrow the query")

    # ------------------------------------------------------------------ market data
    async def _market(self, symbol: str, *, once: bool = False, refresh: bool = False) -> KalshiMarket:
        if refresh or symbol not in self._markets:
            try:
                payload = await self._request("market", "GET", f"/markets/{_segment(symbol)}", once=once)
            except OrderNotFound:
                raise VenueRejected(f"Kalshi knows no market {symbol!r}", 404) from None
            self._markets[symbol] = self.parsed(f"market {symbol}", parse_market, payload)
            self._contracts[symbol] = self._contract_of(symbol, payload)
        return self._markets[symbol]

    def _contract_of(self, symbol: str, payload: Payload) -> ContractSpec | None:
        """The market's contract terms, or None (logged once per ticker) when they do not parse.

        A market whose strike fields contradict its ticker is still tradable; it is listed
        without terms, so the risk engine cannot compare its stance and no source prices it.
        The series' resolution source is added once known (`_attach_resolution_sources`).
        """
        try:
            contract = market_contract(self.venue, payload)
        except ValueError as error:
            if symbol not in self._unreadable_contracts:
                self._unreadable_contracts.add(symbol)
                log.warning("%s: %s is listed without its contract terms: %s", self.venue, symbol, error)
            return None
        source = self._resolution_sources.get(series_of(symbol), "")
        if source and not contract.resolution_source:
            return replace(contract, resolution_source=source)
        return contract

    def _instrument(self, market: KalshiMarket) -> Instrument:
        try:
            underlying = underlying_of(market.ticker, AssetClass.PREDICTION)
        except ValueError:  # H/C/G strike tokens: the event is still what the market bets on
            underlying = market.event_ticker
        return Instrument(
            symbol=market.ticker,
            venue=self.venue,
            asset_class=AssetClass.PREDICTION,
            tick_size=market.tick_size,
            lot_size=market.lot_size,
            underlying=underlying,
            min_quantity=Decimal(1),
            quote_currency="USD",
            contract=self._contracts.get(market.ticker),
        )

    async def instruments(self) -> list[Instrument]:
        markets = [await self._market(symbol, refresh=True) for symbol in self.connection.symbols]
        await self._attach_resolution_sources([market.ticker for market in markets])
        return [self._instrument(market) for market in markets]

    async def series_markets(self, series: Sequence[str]) -> list[Instrument]:
        """The open markets of each series (`GET /markets?series_ticker=S&status=open`), sorted by symbol.

        New markets open every day (tomorrow's KXHIGHCHI brackets), so this asks the venue
        rather than `symbols`. Each listed market is remembered as `_market` remembers it:
        quotes, bars and orders on it need no `GET /markets/{ticker}`. A market whose payload
        does not parse is left out with a warning naming it (once per ticker); the others are
        still listed. A page that does not parse is `VenueUnavailable`.
        """
        if isinstance(series, str):  # a str is a Sequence[str] too: "KXHIGHCHI" would list "K", "X", ...
            raise TypeError(f"series_markets takes a sequence of series tickers, not the string {series!r}")
        listed: dict[str, KalshiMarket] = {}
        for series_ticker in dict.fromkeys(series):
            if not series_ticker or "-" in series_ticker:
                # "" would list every market on the venue; an event or market ticker lists none
                raise ValueError(f"{series_ticker!r} is not a series ticker (like KXHIGHCHI)")
            what = f"markets of series {series_ticker}"
            query: Query = [
                ("series_ticker", series_ticker),
                ("status", LISTED_STATUS_FILTER),
                ("limit", MARKETS_PAGE_LIMIT),
            ]
            for page in await self._pages(what, "/markets", query):
                for index, entry in enumerate(self.parsed(what, markets_page, page)):
                    market = self._listed_market(what, index, entry)
                    if market is not None:
                        listed[market.ticker] = market
        await self._attach_resolution_sources(sorted(listed))
        return [self._instrument(listed[symbol]) for symbol in sorted(listed)]

    def _listed_market(self, what: str, index: int, entry: Any) -> KalshiMarket | None:
        """One entry of a listing, parsed and remembered; None (warned once) when it does not parse."""
        # a ticker names the market; an entry without one is named by its place in the page
        name = entry_ticker(entry) or f"entry {index} of a page of {what}"
        try:
            market = parse_market(entry)
        except (ValueError, TypeError, KeyError, ArithmeticError) as error:
            if name not in self._unreadable_listings:
                self._unreadable_listings.add(name)
                log.warning(
                    "%s: %s is left out of the listing, its payload does not parse: %s",
                    self.venue,
                    name,
                    error,
                )
            return None
        self._unreadable_listings.discard(market.ticker)
        self._markets[market.ticker] = market
        self._contracts[market.ticker] = self._contract_of(market.ticker, entry)
        return market

    async def settlement(self, instrument: Instrument, now: datetime) -> Settlement | None:
        """The market's settlement once Kalshi has paid it out (`settled`/`finalized`), else None.

        Timed at the market's `settlement_ts`, or `now` when the payload omits it. A final
        market that did not settle at $1 or $0 (scalar, voided) is logged and left alone: the
        position stays on the books and reconciliation reports the difference to the operator.
        """
        symbol = instrument.symbol
        what = f"market {symbol}"
        payload = await self._request(what, "GET", f"/markets/{_segment(symbol)}")
        try:
            result = parse_market_result(payload)
        except ValueError as exc:
            log.warning("%s: %s; not settled by the daemon", self.venue, exc)
            return None
        if result is None:
            return None
        return Settlement(instrument.key, result.outcome_yes, result.settled_at or now)

    async def _book_prices(self, symbol: str, *, once: bool = False) -> tuple[Decimal, Decimal] | None:
        what = f"order book {symbol}"
        try:
            payload = await self._request(what, "GET", f"/markets/{_segment(symbol)}/orderbook", once=once)
        except OrderNotFound:
            raise VenueRejected(f"Kalshi knows no market {symbol!r}", 404) from None
        return self.parsed(what, parse_orderbook, payload).quote_prices()

    async def quote(self, instrument: Instrument) -> Quote | None:
        prices = await self._book_prices(instrument.symbol)
        if prices is None:
            return None
        # the order book carries no time: it is as of now
        return Quote(instrument.key, prices[0], prices[1], WALL_CLOCK.now(), "kalshi order book")

    async def bars(self, instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None:
        """Trade-price candles for 1-minute, 1-hour and 1-day bars; None for other timeframes."""
        period = PERIOD_MINUTES.get(timeframe_seconds)
        if period is None or count <= 0:
            return None
        now = unix_seconds(WALL_CLOCK.now())
        symbol = instrument.symbol
        query: list[tuple[str, str | int]] = [
            ("start_ts", now - (count + 1) * timeframe_seconds),
            ("end_ts", now),
            ("period_interval", period),
        ]
        path = f"/series/{_segment(series_of(symbol))}/markets/{_segment(symbol)}/candlesticks"
        what = f"candlesticks {symbol}"
        payload = await self._request(what, "GET", path, query)
        candles = [c for c in self.parsed(what, parse_candlesticks, payload) if c.end <= now][-count:]
        if not candles:
            return None
        return BarSeries(
            instrument_key=instrument.key,
            timeframe_seconds=timeframe_seconds,
            times=np.array([c.end - timeframe_seconds for c in candles], dtype=np.float64),
            open=np.array([float(c.open) for c in candles], dtype=np.float64),
            high=np.array([float(c.high) for c in candles], dtype=np.float64),
            low=np.array([float(c.low) for c in candles], dtype=np.float64),
            close=np.array([float(c.close) for c in candles], dtype=np.float64),
            volume=np.array([float(c.volume) for c in candles], dtype=np.float64),
        )

    async def _series_payload(self, series: str) -> Payload:
        """`GET /series/{series}`, asked once per series: its fee terms and sources do not change intraday."""
        if series not in self._series:
            path = f"/series/{_segment(series)}"
            self._series[series] = await self._request(f"series {series}", "GET", path)
        return self._series[series]

    async def fee_schedule(self, symbol: str) -> KalshiFeeSchedule:
        """The fee terms of the market's series (`fee_type`, `fee_multiplier`); `.fee()` prices an order."""
        series = series_of(symbol)
        if series not in self._fee_schedules:
            payload = await self._series_payload(series)
            self._fee_schedules[series] = self.parsed(f"series {series}", parse_series_fee_schedule, payload)
        return self._fee_schedules[series]

    async def resolution_source(self, series: str) -> str:
        """What settles the series' markets (its `settlement_sources`); "" when they cannot be read.

        An unreadable or unavailable series is warned about, not raised: its markets are still
        listed and traded, only without a source, which the cross-venue matcher refuses to pair.
        """
        if series not in self._resolution_sources:
            try:
                payload = await self._series_payload(series)
                source = self.parsed(f"series {series}", parse_series_resolution_source, payload)
            except BrokerError as error:
                log.warning(
                    "%s: series %s lists without its settlement sources: %s", self.venue, series, error
                )
                return ""
            self._resolution_sources[series] = source
        return self._resolution_sources[series]

    async def _attach_resolution_sources(self, tickers: Sequence[str]) -> None:
        """Give the parsed contracts of `tickers` their series' resolution source (asked once a series)."""
        for ticker in tickers:
            contract = self._contracts.get(ticker)
            if contract is None or contract.resolution_source:
                continue
            source = await self.resolution_source(series_of(ticker))
            if source:
                self._contracts[ticker] = replace(contract, resolution_source=source)

    # ------------------------------------------------------------------ account
    async def balance(self) -> Balance:
        payload = await self._request("balance", "GET", "/portfolio/balance")
        cash = self.parsed("balance", parse_balance, payload)
        # Kalshi reports one figure, the member's available balance: it stands for both
        return Balance(currency="USD", cash=cash, free=cash)

    async def positions(self) -> list[VenuePosition]:
        query: Query = [("count_filter", "position"), ("limit", POSITIONS_PAGE_LIMIT)]
        held: list[VenuePosition] = []
        for page in await self._pages("positions", "/portfolio/positions", query):
            for position in self.parsed("positions", parse_positions_page, page)[0]:
                if position.quantity != 0:
                    key = f"{self.venue}:{position.ticker}"
                    held.append(VenuePosition(key, position.quantity, position.average_entry_price))
        return held

    async def open_orders(self) -> list[VenueOrder]:
        query: Query = [("status", "resting"), ("limit", PAGE_LIMIT)]
        orders: list[VenueOrder] = []
        for page in await self._pages("open orders", "/portfolio/orders", query):
            orders.extend(
                self._venue_order(o) for o in self.parsed("open orders", parse_orders_page, page)[0]
            )
        return orders

    # ------------------------------------------------------------------ orders
    def _venue_order(self, order: KalshiOrder) -> VenueOrder:
        client_order_id = order.client_order_id or f"kalshi:{order.order_id}"
        if order.client_order_id:
            self._remember(order)
        return VenueOrder(
            client_order_id=client_order_id,
            venue_order_id=order.order_id,
            instrument_key=f"{self.venue}:{order.ticker}",
            status=self._status(order, client_order_id),
            filled_quantity=order.fill_count,
            average_fill_price=average_fill_price(order),
        )

    def _status(self, order: KalshiOrder, client_order_id: str) -> OrderStatus:
        try:
            return order_status(order, immediate=client_order_id in self._immediate)
        except ValueError as exc:
            raise BrokerError(f"{self.venue} order {order.order_id}: {exc}") from exc

    def _remember(self, order: KalshiOrder) -> None:
        if order.client_order_id:
            self._order_ids[order.client_order_id] = order.order_id
            self._client_ids[order.order_id] = order.client_order_id
            self._tickers[order.client_order_id] = order.ticker

    async def _order_by_id(self, order_id: str, *, once: bool) -> KalshiOrder:
        what = f"order {order_id}"
        payload = await self._request(what, "GET", f"/portfolio/orders/{_segment(order_id)}", once=once)
        return self.parsed(what, parse_order, payload)

    async def _find(self, client_order_id: str) -> VenueOrder | None:
        """Kalshi has no lookup by client order id: page through the ticker's orders and match it.

        An order this process sent is read directly by its Kalshi id. After a restart the
        tickers searched are those the venue is configured for (`symbols`), then the whole
        order list (a market listed by series is in no configured symbol).
        """
        order_id = self._order_ids.get(client_order_id)
        if order_id is not None:
            try:
                return self._venue_order(await self._order_by_id(order_id, once=True))
            except OrderNotFound:
                pass  # archived to /historical or never there: search the lists below
        known = self._tickers.get(client_order_id)
        tickers = [known] if known is not None else list(self.connection.symbols)
        for ticker in tickers:
            match = await self._search_orders(client_order_id, [("ticker", ticker), ("limit", PAGE_LIMIT)])
            if match is not None:
                return match
        if known is None:
            # a market listed by series after the start is in no configured symbol: the account's
            # whole order list (only after a restart, for an order this process did not send)
            return await self._search_orders(client_order_id, [("limit", PAGE_LIMIT)])
        return None

    async def _search_orders(self, client_order_id: str, query: Query) -> VenueOrder | None:
        for page in await self._pages("order lookup", "/portfolio/orders", query, once=True):
            orders = self.parsed("order lookup", parse_orders_page, page)[0]
            match = first_of(orders, client_order_id)
            if match is not None:
                return self._venue_order(match)
        return None

    async def _create(self, order: OutboundOrder) -> VenueOrder:
        intent = order.intent
        symbol = intent.instrument.symbol
        price = order.limit_price
        if intent.order_type is OrderType.MARKET:
            price = await self._marketable_price(symbol, intent.side)
        if price is None:
            raise VenueRejected(f"{symbol}: a limit order needs a price")
        await self._check_price_grid(intent.instrument, price)
        expiration = (
            end_of_day_expiration(WALL_CLOCK.now())
            if intent.time_in_force is TimeInForce.DAY and intent.order_type is OrderType.LIMIT
            else None
        )
        tif = time_in_force(intent.order_type, intent.time_in_force)
        body = order_request(
            ticker=symbol,
            client_order_id=order.client_order_id,
            side=intent.side,
            count=order.quantity,
            yes_price=price,
            time_in_force=tif,
            expiration_ts=expiration,
            reduce_only=intent.reduce_only,
        )
        self._tickers[order.client_order_id] = symbol
        if tif == "immediate_or_cancel":
            self._immediate.add(order.client_order_id)
        payload = await self._request("submit", "POST", "/portfolio/orders", body=body, once=True)
        return self._venue_order(self.parsed("submit", parse_order, payload))

    async def _marketable_price(self, symbol: str, side: Side) -> Decimal:
        """The price a market order would take: the best ask to buy, the best bid to sell."""
        prices = await self._book_prices(symbol, once=True)
        if prices is None:
            raise VenueRejected(
                f"no two-sided order book for {symbol}: Kalshi takes no market orders and "
                "there is no price to send an immediate-or-cancel limit at"
            )
        return prices[1] if side is Side.BUY else prices[0]

    async def _check_price_grid(self, instrument: Instrument, price: Decimal) -> None:
        """Refuse, before sending, a price the market's grid does not hold (tapered mid-band sub-cents)."""
        if not Decimal(0) < price < Decimal(1):
            raise VenueRejected(
                f"YES price {price} for {instrument.symbol} must lie strictly between 0 and 1"
            )
        if price % Decimal("0.01") == 0:
            return  # every structure holds whole cents
        market = await self._market(instrument.symbol, once=True)
        if not market.accepts_price(price):
            raise VenueRejected(
                f"price {price} is not on {instrument.symbol}'s grid: sub-cent steps are taken only "
                "below 0.10 and above 0.90 on tapered deci-cent markets"
            )

    async def cancel(self, client_order_id: str) -> VenueOrder | None:
        current = await self.order_status(client_order_id)
        if current is None or current.status.is_terminal or current.venue_order_id is None:
            return current
        path = f"/portfolio/orders/{_segment(current.venue_order_id)}"
        try:
            payload = await self._request("cancel", "DELETE", path)
        except (VenueRejected, OrderNotFound):
            # filled or canceled meanwhile: the venue's own state is the answer
            return await self.order_status(client_order_id)
        return self._venue_order(self.parsed("cancel", parse_order, payload))

    # ------------------------------------------------------------------ fills
    async def fills_since(self, since: datetime) -> list[Fill]:
        query: Query = [("min_ts", unix_seconds(since)), ("limit", PAGE_LIMIT)]
        found: list[KalshiFill] = []
        for page in await self._pages("fills", "/portfolio/fills", query):
            found.extend(self.parsed("fills", parse_fills_page, page)[0])
        fills: list[Fill] = []
        for fill in sorted((f for f in found if f.time >= since), key=lambda f: f.time):
            fills.append(
                Fill(
                    client_order_id=await self._client_order_id_of(fill),
                    venue=self.venue,
                    venue_trade_id=fill.fill_id,
                    instrument_key=f"{self.venue}:{fill.ticker}",
                    side=fill.side,
                    quantity=fill.count,
                    price=fill.yes_price,
                    fee=fill.fee,
                    time=fill.time,
                )
            )
        return fills

    async def _client_order_id_of(self, fill: KalshiFill) -> str:
        """The fill's client order id: its own field, else that of its order (looked up once)."""
        if fill.client_order_id:
            return fill.client_order_id
        known = self._client_ids.get(fill.order_id)
        if known is not None:
            return known
        try:
            order = await self._order_by_id(fill.order_id, once=False)
        except OrderNotFound:
            order = None
        if order is None or not order.client_order_id:
            # an order placed outside this daemon (the website, another key): reported under its venue id
            return f"kalshi:{fill.order_id}"
        self._remember(order)
        return order.client_order_id
