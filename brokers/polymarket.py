"""Polymarket adapter: CLOB V2 orders, books and balances through py-clob-client-v2; markets from Gamma.

What is particular to Polymarket, and how this adapter deals with it:
- Orders are EIP-712 messages signed by the wallet key (CLOB V2 only: V1-signed orders
  are refused in production since 2026-04-28). The order id is the hash of the signed
  order, and the order has no client-id field. We choose the two free fields ourselves
  through the SDK's lower-level public builder (`ExchangeOrderBuilderV2(generate_salt=...)`,
  `OrderDataV2(timestamp=...)`; `ClobClient.create_order` offers neither): `salt` carries
  the client order id (`salt_for`) and `timestamp` is the intent's creation time. The same
  intent therefore signs to the same order id every time, and a resend cannot become a
  second order.
- The venue cannot be asked "which order has client id X", so every signed order is
  first written to an append-only ledger (JSON lines, fsynced) *before* it is posted;
  `order_status(client_order_id)` reads the order id from there and asks
  `GET /data/order/{id}`. The ledger is what lets a restarted daemon find an order whose
  acknowledgement it never saw.
- HTTP: py-clob-client-v2 1.2.1 sends every request through one module-level
  `httpx.Client` with no timeout setting (httpx's default 5 s applies) and raises
  `PolyApiException` without the response headers, so a 429's Retry-After is lost. The
  adapter therefore gives the SDK client its own transport (`_VenueClobClient` overrides
  the SDK's three HTTP methods `_get`, `_post`, `_delete`): an httpx client with
  `timeout_seconds`, errors that keep status, venue message and headers, and no retries
  of its own (VenueCaller owns retries). Everything else (L1/L2 headers, HMAC, EIP-712,
  order JSON, pagination, API-key derivation) is the SDK's.
- Markets come from Gamma (`GET /markets?condition_ids=`); a symbol is
  `<condition id>:YES`, `:NO` or `:<token id>` (risk_management.underlying).
- Positions are conditional-token balances (`GET /balance-allowance?asset_type=CONDITIONAL`):
  the CLOB has no positions endpoint and knows no entry price, so it is None.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import httpx
from eth_utils.address import to_checksum_address
from py_clob_client_v2 import ClobClient
from py_clob_client_v2.clob_types import (
    ApiCreds,
    AssetType,
    BalanceAllowanceParams,
    OrderPayload,
    PricesHistoryParams,
    TradeParams,
)
from py_clob_client_v2.config import get_contract_config
from py_clob_client_v2.constants import BYTES32_ZERO
from py_clob_client_v2.exceptions import PolyApiException, PolyException
from py_clob_client_v2.order_utils import ExchangeOrderBuilderV2, OrderDataV2, SignatureTypeV2
from py_clob_client_v2.order_utils import Side as ClobSide

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
from brokers.calls import FaultKind, VenueFault, http_fault, note_rate_limit, transport_fault
from brokers.credentials import CredentialSpec
from brokers.factory import VenueConnection
from brokers.live import LiveAdapter, OutboundOrder
from brokers.polymarket_payloads import (
    LOT_SIZE,
    OrderRecord,
    OrderSnapshot,
    PolymarketMarket,
    best_bid_ask,
    book_time,
    contracts_by_token,
    find_market,
    is_empty_answer,
    order_amounts,
    order_status_of,
    our_legs,
    parse_balance,
    parse_cancel,
    parse_gamma_market,
    parse_order,
    parse_order_record,
    parse_post_response,
    parse_price_history,
    parse_trade,
    post_outcome,
    price_history_bars,
    refusal_reason,
    resolved_winner,
    salt_for,
    timestamp_ms,
    token_for,
)
from domain.contracts import ContractSpec
from domain.fees import polymarket_fee
from domain.instruments import AssetClass, Instrument
from domain.market import BarSeries, Quote
from domain.orders import Fill, OrderType, TimeInForce
from domain.prediction_records import Settlement
from domain.signals import Side
from risk_management.underlying import parse_polymarket_symbol, underlying_of
from utils.clock import WALL_CLOCK

log = logging.getLogger(__name__)
T = TypeVar("T")

PRODUCTION_HOST = "https://clob.polymarket.com"
GAMMA_HOST = "https://gamma-api.polymarket.com"
POLYGON_CHAIN_ID = 137
AMOY_CHAIN_ID = 80002  # Polygon's testnet; py-clob-client-v2's config knows its contracts
ORDER_DOMAIN_VERSION = "2"  # EIP-712 domain version of the CTF Exchange V2

CREDENTIALS: tuple[CredentialSpec, ...] = (
    CredentialSpec("PRIVATE_KEY", help="hex private key of the wallet that signs orders"),
    CredentialSpec("API_KEY", required=False, help="CLOB API key; derived from the private key when unset"),
    CredentialSpec("API_SECRET", required=False, help="CLOB API secret (with API_KEY)"),
    CredentialSpec("API_PASSPHRASE", required=False, help="CLOB API passphrase (with API_KEY)"),
    CredentialSpec("FUNDER", required=False, help="address that holds the funds (proxy or Safe wallets)"),
    CredentialSpec(
        "SIGNATURE_TYPE",
        required=False,
        help="0 EOA (default), 1 Polymarket proxy, 2 Gnosis Safe, 3 EIP-1271",
    ),
    CredentialSpec(
        "ORDER_LEDGER",
        required=False,
        help="file recording signed orders; default <var_dir>/polymarket_<venue>_orders.jsonl",
    ),
)
_API_PARTS = ("API_KEY", "API_SECRET", "API_PASSPHRASE")


# ---------------------------------------------------------------------------------------------------------
# HTTP: the SDK's client on our own transport


class ClobHttpError(Exception):
    """A non-200 answer, with the venue's own message and the response headers (Retry-After)."""

    def __init__(self, status: int, reason: str, headers: Mapping[str, str]) -> None:
        super().__init__(f"HTTP {status}: {reason}")
        self.status = status
        self.reason = reason
        self.headers = dict(headers)


def _venue_reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or f"HTTP {response.status_code}"
    if isinstance(body, Mapping):
        for key in ("error", "errorMsg", "message"):
            if body.get(key):
                return str(body[key])[:300]
    return json.dumps(body)[:300]


def send(
    http: httpx.Client,
    method: str,
    url: str,
    headers: Mapping[str, str] | None = None,
    data: Any = None,
    params: Mapping[str, Any] | None = None,
) -> Any:
    """One request the way py-clob-client-v2's `request()` makes it, minus its global client."""
    sent = dict(headers or {})
    sent.update({"User-Agent": "py_clob_client_v2", "Accept": "*/*", "Content-Type": "application/json"})
    if data is None:
        content = None
    elif isinstance(data, str):
        content = data.encode()  # the SDK signs this exact string into POLY_SIGNATURE
    else:
        content = json.dumps(data, separators=(",", ":")).encode()
    response = http.request(method, url, headers=sent, content=content, params=params)
    if response.status_code != 200:
        raise ClobHttpError(response.status_code, _venue_reason(response), response.headers)
    try:
        return response.json()
    except ValueError:
        return response.text


class _VenueClobClient(ClobClient):  # type: ignore[misc]  # the SDK ships no type information
    """py-clob-client-v2's ClobClient whose three HTTP methods use this adapter's httpx client.

    Every endpoint method of the SDK goes through `_get`, `_post` or `_delete`; the SDK's
    own versions use a module-global client without a timeout and drop response headers.
    """

    def __init__(self, *, http: httpx.Client, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._venue_http = http

    def _get(self, endpoint: str, headers: Any = None, params: Any = None) -> Any:
        return send(self._venue_http, "GET", endpoint, headers, None, params)

    def _post(self, endpoint: str, headers: Any = None, data: Any = None, params: Any = None) -> Any:
        return send(self._venue_http, "POST", endpoint, headers, data, params)

    def _delete(self, endpoint: str, headers: Any = None, data: Any = None, params: Any = None) -> Any:
        return send(self._venue_http, "DELETE", endpoint, headers, data, params)

    def _resolve_transactions_hashes(self, response: Any) -> Any:
        # The SDK would poll /data/trades for up to 30 s after a match until the settlement
        # transaction is mined, inside post_order. Fills are followed through fills_since.
        return response


def classify(exc: BaseException) -> VenueFault | None:
    """Map what the transport or the SDK raised to a VenueFault (see brokers/calls.py)."""
    if isinstance(exc, ClobHttpError):
        reason = exc.reason
        if exc.status in (401, 403):
            reason = (
                f"authentication refused ({exc.reason}); check the venue's PRIVATE_KEY, API_KEY, "
                "API_SECRET and API_PASSPHRASE"
            )
        return http_fault(exc.status, reason, exc.headers)
    if isinstance(exc, httpx.TransportError):
        return VenueFault(FaultKind.TRANSIENT, f"{type(exc).__name__}: {exc}")
    if isinstance(exc, PolyApiException):  # the SDK's own transport, should a call bypass ours
        if exc.status_code is None:
            return transport_fault(exc) or VenueFault(FaultKind.TRANSIENT, f"request failed: {exc.error_msg}")
        return http_fault(int(exc.status_code), str(exc.error_msg))
    if isinstance(exc, PolyException):  # the SDK refused locally, before sending anything
        return VenueFault(FaultKind.REJECTED, f"py-clob-client-v2: {exc.msg}")
    return None


# ---------------------------------------------------------------------------------------------------------
# The ledger of signed orders


class OrderLedger:
    """Append-only JSON lines, one `OrderRecord` per signed order, fsynced before the order leaves."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._by_client: dict[str, OrderRecord] = {}
        self._by_order: dict[str, OrderRecord] = {}
        self.unreadable_lines = 0
        if path.exists():
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    self._index(parse_order_record(json.loads(line)))
                except ValueError as exc:  # a line torn by a crash mid-write, or edited by hand
                    self.unreadable_lines += 1
                    log.warning("order ledger %s line %d skipped: %s", path, number, exc)

    def get(self, client_order_id: str) -> OrderRecord | None:
        return self._by_client.get(client_order_id)

    def by_order_id(self, order_id: str) -> OrderRecord | None:
        return self._by_order.get(order_id.lower())

    def knows_order(self, order_id: str) -> bool:
        return order_id.lower() in self._by_order

    def append(self, record: OrderRecord) -> None:
        line = json.dumps(record.to_json(), sort_keys=True)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as ledger:
                ledger.write(line + "\n")
                ledger.flush()
                os.fsync(ledger.fileno())
            self._index(record)

    def _index(self, record: OrderRecord) -> None:
        self._by_client[record.client_order_id] = record
        self._by_order[record.order_id] = record


# ---------------------------------------------------------------------------------------------------------
# The adapter


@dataclass(frozen=True, slots=True)
class _Listing:
    symbol: str
    market: PolymarketMarket
    token_id: str
    outcome: str


class PolymarketAdapter(LiveAdapter):
    venue_label = "Polymarket"
    # Whether the CLOB refuses a second copy of an order hash is not documented; every send
    # looks the order up first (it costs nothing when the ledger has no record yet).
    venue_rejects_duplicate_client_ids: ClassVar[bool] = False

    def __init__(
        self,
        connection: VenueConnection,
        clob: Any,
        http: httpx.Client,
        gamma_url: str,
        ledger: OrderLedger,
        chain_id: int,
    ) -> None:
        super().__init__(connection, classify)
        self._clob = clob
        self._http = http
        hooks = http.event_hooks
        hooks["response"] = [*hooks.get("response", []), self._note_headroom]
        http.event_hooks = hooks
        self._gamma_url = gamma_url.rstrip("/")
        self._ledger = ledger
        self._chain_id = chain_id
        self._contracts = get_contract_config(chain_id)
        self._markets: dict[str, PolymarketMarket] = {}
        # condition id -> token id -> the question the outcome settles on; None when the market
        # object does not parse as a contract (logged once)
        self._contract_specs: dict[str, dict[str, ContractSpec] | None] = {}
        self._listings: dict[str, _Listing] = {}
        self._creds_lock = threading.Lock()
        self._health.details.update(
            {
                "chain_id": str(chain_id),
                "wallet": str(clob.get_address()),
                "order_ledger": str(ledger.path),
                "api_credentials": "configured" if clob.creds is not None else "derived on first use",
            }
        )
        if ledger.unreadable_lines:
            self._health.details["order_ledger_unreadable_lines"] = str(ledger.unreadable_lines)

    def _note_headroom(self, response: httpx.Response) -> None:
        note_rate_limit(self._health, response.headers)

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ market data
    async def instruments(self) -> list[Instrument]:
        listed: list[Instrument] = []
        for symbol in self.connection.symbols:
            listing = await self._listing(symbol)
            reason = refusal_reason(listing.market)
            if reason is not None:
                message = f"{self.venue}: {symbol} cannot be traded: {reason} ({listing.market.question!r})"
                self._health.details[f"refused {symbol}"] = reason
                raise BrokerError(message)
            listed.append(
                Instrument(
                    symbol=symbol,
                    venue=self.venue,
                    asset_class=self.connection.asset_class,
                    tick_size=listing.market.tick_size,
                    lot_size=LOT_SIZE,
                    underlying=underlying_of(symbol, AssetClass.PREDICTION),
                    min_quantity=listing.market.min_size,
                    quote_currency="USD",
                    contract=self._contract_of(listing),
                )
            )
        return listed

    async def quote(self, instrument: Instrument) -> Quote | None:
        listing = await self._listing(instrument.symbol)
        try:
            book = await self.caller.call("quote", self._clob.get_order_book, listing.token_id)
        except OrderNotFound:  # 404: the CLOB has no book for this token
            return None
        best = self.parsed("quote", best_bid_ask, book)
        if best is None:
            return None
        when = self.parsed("quote", book_time, book) or WALL_CLOCK.now()
        return Quote(instrument.key, best[0], best[1], when, source=self.venue)

    async def bars(self, instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None:
        """Bars built from `GET /prices-history` samples (see `price_history_bars`): close-only data.

        The history's resolution (`fidelity`) is in whole minutes, so other timeframes get None.
        """
        if timeframe_seconds < 60 or timeframe_seconds % 60 or count <= 0:
            return None
        listing = await self._listing(instrument.symbol)
        now = int(WALL_CLOCK.now().timestamp())
        params = PricesHistoryParams(
            market=listing.token_id,
            start_ts=now - (count + 1) * timeframe_seconds,
            end_ts=now,
            fidelity=timeframe_seconds // 60,
        )
        payload = await self.caller.call("price history", self._clob.get_prices_history, params)
        points = self.parsed("price history", parse_price_history, payload)
        return price_history_bars(instrument.key, points, timeframe_seconds, count, now)

    # ------------------------------------------------------------------ account
    async def balance(self) -> Balance:
        await self._authenticated()
        params = BalanceAllowanceParams(asset_type=AssetType.COLLATERAL)
        payload = await self.caller.call("balance", self._clob.get_balance_allowance, params)
        cash = self.parsed("balance", parse_balance, payload)
        # the CLOB holds back what resting buys would pay; the wallet balance still shows it
        reserved = sum(
            (o.remaining * o.price for o in await self._open_snapshots() if o.side is Side.BUY),
            start=Decimal(0),
        )
        return Balance(currency="USD", cash=cash, free=max(cash - reserved, Decimal(0)))

    async def positions(self) -> list[VenuePosition]:
        await self._authenticated()
        held: list[VenuePosition] = []
        for symbol in self.connection.symbols:
            listing = await self._listing(symbol)
            params = BalanceAllowanceParams(asset_type=AssetType.CONDITIONAL, token_id=listing.token_id)
            payload = await self.caller.call("positions", self._clob.get_balance_allowance, params)
            quantity = self.parsed("positions", parse_balance, payload)
            if quantity > 0:
                held.append(VenuePosition(f"{self.venue}:{symbol}", quantity, None))
        return held

    async def open_orders(self) -> list[VenueOrder]:
        await self._authenticated()
        tokens = await self._token_symbols()
        orders: list[VenueOrder] = []
        for snapshot in await self._open_snapshots():
            record = self._ledger.by_order_id(snapshot.order_id)
            if record is not None:
                client_order_id, key = record.client_order_id, record.instrument_key
            else:  # not sent by this adapter (a manual order): its order id stands in for a client id
                client_order_id, key = (
                    snapshot.order_id,
                    self._key_of(snapshot.asset_id, snapshot.market, tokens),
                )
            order = self._venue_order(client_order_id, key, snapshot)
            if order.status.is_open:
                orders.append(order)
        return orders

    async def fills_since(self, since: datetime) -> list[Fill]:
        await self._authenticated()
        params = TradeParams(after=max(int(since.timestamp()) - 1, 0))
        payload = await self.caller.call("fills", self._clob.get_trades, params)
        if not isinstance(payload, list):
            raise BrokerError(f"{self.venue} fills: expected a list of trades, got {type(payload).__name__}")
        tokens = await self._token_symbols()
        owner = self._clob.creds.api_key if self._clob.creds is not None else None
        addresses = frozenset({str(self._clob.builder.funder).lower(), str(self._clob.get_address()).lower()})
        fills: list[Fill] = []
        for raw in payload:
            trade = self.parsed("fills", parse_trade, raw)
            if trade.failed or trade.time < since:  # a FAILED trade never settled
                continue
            for leg in our_legs(trade, owner, addresses, self._ledger.knows_order):
                record = self._ledger.by_order_id(leg.order_id)
                try:
                    fee = (
                        Decimal(0) if leg.maker else await self._taker_fee(trade.market, leg.size, leg.price)
                    )
                except BrokerError as exc:
                    if record is not None:
                        raise
                    # a manual order in a market Gamma cannot describe: the daemon could only
                    # report it as unknown, and it must not stop our own fills coming in
                    log.warning("%s: fill %s skipped: %s", self.venue, leg.venue_trade_id, exc)
                    continue
                if record is not None:
                    client_order_id, key = record.client_order_id, record.instrument_key
                else:  # an order this adapter did not send: its order id stands in for a client id
                    client_order_id, key = leg.order_id, self._key_of(leg.asset_id, trade.market, tokens)
                fills.append(
                    Fill(
                        client_order_id=client_order_id,
                        venue=self.venue,
                        venue_trade_id=leg.venue_trade_id,
                        instrument_key=key,
                        side=leg.side,
                        quantity=leg.size,
                        price=leg.price,
                        fee=fee,
                        time=trade.time,
                    )
                )
        return sorted(fills, key=lambda fill: fill.time)

    # ------------------------------------------------------------------ orders
    async def cancel(self, client_order_id: str) -> VenueOrder | None:
        record = self._ledger.get(client_order_id)
        if record is None:
            return None
        await self._authenticated()
        try:
            answer = await self.caller.call(
                "cancel", self._clob.cancel_order, OrderPayload(orderID=record.order_id)
            )
        except OrderNotFound:
            return None
        canceled, refused = self.parsed("cancel", parse_cancel, answer)
        state = await self.order_status(client_order_id)
        if state is not None and record.order_id not in canceled and state.status.is_open:
            return dataclasses.replace(state, reason=refused.get(record.order_id, "the venue did not cancel"))
        return state

    async def _find(self, client_order_id: str) -> VenueOrder | None:
        record = self._ledger.get(client_order_id)
        if record is None:  # never signed by this adapter (or its ledger): the venue cannot have it
            return None
        await self._authenticated()
        return await self._lookup(record)

    async def _create(self, order: OutboundOrder) -> VenueOrder:
        await self._authenticated()
        record = self._ledger.get(order.client_order_id)
        if record is None:
            record = await self._new_record(order)
            try:
                self._ledger.append(record)  # written down before it can reach the venue
            except OSError as exc:
                raise VenueUnavailable(
                    f"{self.venue} submit: cannot record the order in {self._ledger.path} ({exc}); not sent"
                ) from exc
        signed = self._sign(record)
        try:
            answer = await self.caller.once("submit", self._clob.post_order, signed, record.order_type)
        except VenueRejected:
            # a resend after a lost answer: the venue may refuse the copy of an order it holds
            existing = await self._lookup(record)
            if existing is not None:
                return existing
            raise
        result = self.parsed("submit", parse_post_response, answer)
        if not result.success:
            existing = await self._lookup(record)
            if existing is not None:
                return existing
            raise VenueRejected(result.error or "Polymarket refused the order without a reason")
        order_id = record.order_id
        if result.order_id is not None and result.order_id != record.order_id:
            # Our hash and the venue's differ: trust the venue, and keep its id for lookups.
            log.error(
                "%s: venue order id %s differs from the signed hash %s", self.venue, result.order_id, order_id
            )
            self._health.details["order_id_mismatch"] = f"{order_id} != {result.order_id}"
            order_id = result.order_id
            self._ledger.append(dataclasses.replace(record, order_id=order_id))
        status, filled, average = self.parsed(
            "submit", post_outcome, result, record.side, record.size, record.order_type
        )
        return VenueOrder(record.client_order_id, order_id, record.instrument_key, status, filled, average)

    async def _new_record(self, order: OutboundOrder) -> OrderRecord:
        """The order we will sign for this intent: its price, and everything its hash depends on."""
        intent = order.intent
        symbol = intent.instrument.symbol
        listing = await self._listing(symbol)
        reason = refusal_reason(listing.market)
        if reason is not None:
            raise VenueRejected(f"{symbol}: {reason}")
        if intent.order_type is OrderType.MARKET:
            # Polymarket has only limit orders; a market order is a FAK at the best opposite
            # price, read just now (never a guessed price)
            book = await self.caller.once(
                "price for a market order", self._clob.get_order_book, listing.token_id
            )
            best = self.parsed("price for a market order", best_bid_ask, book)
            if best is None:
                raise VenueRejected(f"no usable {'ask' if intent.side is Side.BUY else 'bid'} for {symbol}")
            price, order_type = (best[1] if intent.side is Side.BUY else best[0]), "FAK"
        elif intent.time_in_force is TimeInForce.DAY:
            raise VenueRejected("Polymarket has no DAY orders; use GTC or IOC")
        else:
            assert order.limit_price is not None  # prepare() rounds every limit order's price
            price = order.limit_price
            order_type = "FAK" if intent.time_in_force is TimeInForce.IOC else "GTC"
        tick = listing.market.tick_size
        if not tick <= price <= 1 - tick or price % tick:
            raise VenueRejected(f"price {price} is not on the {tick} tick between {tick} and {1 - tick}")
        try:
            order_amounts(intent.side, order.quantity, price)
        except ValueError as exc:
            raise VenueRejected(str(exc)) from None
        draft = OrderRecord(
            client_order_id=intent.client_order_id,
            order_id="",
            instrument_key=intent.instrument.key,
            token_id=listing.token_id,
            side=intent.side,
            price=price,
            size=order.quantity,
            order_type=order_type,
            salt=salt_for(intent.client_order_id),
            timestamp_ms=timestamp_ms(intent.created_at),
            neg_risk=listing.market.neg_risk,
        )
        return dataclasses.replace(draft, order_id=self.order_id_for(draft))

    def order_id_for(self, record: OrderRecord) -> str:
        """The order id (the EIP-712 hash of the order) that `record` signs to."""
        builder = self._order_builder(record)
        unsigned = builder.build_order(self._order_data(record))
        return str(builder.build_order_hash(builder.build_order_typed_data(unsigned))).lower()

    def _order_builder(self, record: OrderRecord) -> Any:
        exchange = self._contracts.neg_risk_exchange_v2 if record.neg_risk else self._contracts.exchange_v2
        return ExchangeOrderBuilderV2(
            exchange,
            self._chain_id,
            self._clob.signer,
            generate_salt=lambda: str(record.salt),
            domain_version=ORDER_DOMAIN_VERSION,
        )

    def _order_data(self, record: OrderRecord) -> Any:
        maker_amount, taker_amount = order_amounts(record.side, record.size, record.price)
        signature_type = SignatureTypeV2(int(self._clob.builder.signature_type))
        funder = str(self._clob.builder.funder)
        return OrderDataV2(
            maker=funder,
            tokenId=record.token_id,
            makerAmount=str(maker_amount),
            takerAmount=str(taker_amount),
            side=ClobSide.BUY if record.side is Side.BUY else ClobSide.SELL,
            signer=funder if signature_type is SignatureTypeV2.POLY_1271 else str(self._clob.get_address()),
            signatureType=signature_type,
            timestamp=str(record.timestamp_ms),
            metadata=BYTES32_ZERO,
            builder=BYTES32_ZERO,
            expiration="0",
        )

    def _sign(self, record: OrderRecord) -> Any:
        return self._order_builder(record).build_signed_order(self._order_data(record))

    async def _lookup(self, record: OrderRecord) -> VenueOrder | None:
        try:
            payload = await self.caller.once("order lookup", self._clob.get_order, record.order_id)
        except OrderNotFound:
            return None
        if is_empty_answer(payload):
            return None
        snapshot = self.parsed("order lookup", parse_order, payload)
        return self._venue_order(record.client_order_id, record.instrument_key, snapshot)

    def _venue_order(self, client_order_id: str, instrument_key: str, snapshot: OrderSnapshot) -> VenueOrder:
        status = self.parsed("order status", order_status_of, snapshot)
        # The order object has no average fill price. A resting order fills at its own price;
        # one that crossed on arrival may have done better (fills_since has exact prices).
        average = snapshot.price if snapshot.size_matched > 0 else None
        return VenueOrder(
            client_order_id=client_order_id,
            venue_order_id=snapshot.order_id,
            instrument_key=instrument_key,
            status=status,
            filled_quantity=snapshot.size_matched,
            average_fill_price=average,
        )

    # ------------------------------------------------------------------ helpers
    async def _open_snapshots(self) -> list[OrderSnapshot]:
        payload = await self.caller.call("open orders", self._clob.get_open_orders)
        if not isinstance(payload, list):
            raise BrokerError(f"{self.venue} open orders: expected a list, got {type(payload).__name__}")
        return [self.parsed("open orders", parse_order, raw) for raw in payload]

    async def _authenticated(self) -> None:
        if self._clob.creds is None:
            await self.caller.call("API credentials", self._derive_credentials)

    def _derive_credentials(self) -> None:
        with self._creds_lock:  # runs in a worker thread; two first calls must not both derive
            if self._clob.creds is None:
                creds = self._clob.create_or_derive_api_key()
                if not isinstance(creds, ApiCreds) or not creds.api_key:
                    raise VenueUnavailable(f"{self.venue}: the CLOB returned no API credentials")
                self._clob.set_api_creds(creds)
                self._health.details["api_credentials"] = "derived from the private key"

    async def _market(self, condition_id: str) -> PolymarketMarket:
        market = self._markets.get(condition_id)
        if market is None:
            payload = await self.caller.call("market metadata", self._gamma_markets, condition_id)
            raw = self.parsed("market metadata", find_market, payload, condition_id)
            if raw is None:
                raise BrokerError(f"{self.venue}: Gamma lists no market with condition id {condition_id}")
            market = self.parsed("market metadata", parse_gamma_market, raw)
            self._markets[condition_id] = market
            self._contract_specs[condition_id] = self._contracts_of(condition_id, raw)
        return market

    async def settlement(self, instrument: Instrument, now: datetime) -> Settlement | None:
        """The outcome token's settlement once its market is resolved (Gamma: closed, with outcome
        prices of exactly 1 and 0), else None. Gamma gives no resolution time: it is `now`."""
        listing = await self._listing(instrument.symbol)
        condition_id = listing.market.condition_id
        payload = await self.caller.call("market resolution", self._gamma_markets, condition_id)
        raw = self.parsed("market resolution", find_market, payload, condition_id)
        if raw is None:
            raise BrokerError(f"{self.venue}: Gamma lists no market with condition id {condition_id}")
        won = self.parsed("market resolution", resolved_winner, raw, listing.token_id)
        return None if won is None else Settlement(instrument.key, won, now)

    def _contracts_of(self, condition_id: str, raw: Any) -> dict[str, ContractSpec] | None:
        """The market's contract terms per token, or None (logged once, when first read) if they do not parse.

        Such a market is still tradable: its instruments are listed without terms.
        """
        try:
            return contracts_by_token(self.venue, raw)
        except ValueError as error:
            log.warning(
                "%s: market %s is listed without its contract terms: %s", self.venue, condition_id, error
            )
            return None

    def _contract_of(self, listing: _Listing) -> ContractSpec | None:
        specs = self._contract_specs.get(listing.market.condition_id)
        return None if specs is None else specs.get(listing.token_id)

    def _gamma_markets(self, condition_id: str) -> Any:
        return send(self._http, "GET", f"{self._gamma_url}/markets", params={"condition_ids": condition_id})

    async def _listing(self, symbol: str) -> _Listing:
        listing = self._listings.get(symbol)
        if listing is None:
            parsed = self.parsed("symbol", parse_polymarket_symbol, symbol)
            market = await self._market(parsed.condition_id)
            token_id, outcome = self.parsed("symbol", token_for, parsed, market)
            listing = _Listing(symbol, market, token_id, outcome)
            self._listings[symbol] = listing
        return listing

    async def _token_symbols(self) -> dict[str, str]:
        """Token id -> configured symbol."""
        return {(await self._listing(symbol)).token_id: symbol for symbol in self.connection.symbols}

    def _key_of(self, token_id: str, condition_id: str, tokens: Mapping[str, str]) -> str:
        symbol = tokens.get(token_id)
        return f"{self.venue}:{symbol}" if symbol is not None else f"{self.venue}:{condition_id}:{token_id}"

    async def _taker_fee(self, condition_id: str, size: Decimal, price: Decimal) -> Decimal:
        market = await self._market(condition_id)
        if market.fees is None:
            raise BrokerError(
                f"{self.venue}: market {condition_id} charges fees but publishes no feeSchedule"
            )
        fees = market.fees
        return self.parsed("fee", lambda: polymarket_fee(size, price, rate=fees.rate, exponent=fees.exponent))


# ---------------------------------------------------------------------------------------------------------
# Building it from configuration


def connect(connection: VenueConnection) -> PolymarketAdapter:
    credentials = connection.credentials
    prefix = connection.kind.upper()
    if connection.environment == "sandbox":
        if connection.base_url is None:
            raise VenueUnavailable(
                f"venue {connection.name!r}: Polymarket has no public sandbox. A sandbox venue signs for "
                f"Polygon Amoy (chain {AMOY_CHAIN_ID}) and needs base_url set to a CLOB on Amoy; "
                'use environment = "production" to trade on clob.polymarket.com'
            )
        chain_id = AMOY_CHAIN_ID
    else:
        chain_id = POLYGON_CHAIN_ID
    host = connection.base_url or PRODUCTION_HOST
    gamma = connection.data_url or GAMMA_HOST
    given = [part for part in _API_PARTS if credentials.get(part)]
    if given and len(given) != len(_API_PARTS):
        missing = ", ".join(f"{prefix}_{part}" for part in _API_PARTS if part not in given)
        raise CredentialsMissing(
            f"venue {connection.name!r} is unavailable: set {missing} as well (or none of the three, "
            "to derive them from the private key)"
        )
    creds = (
        ApiCreds(credentials["API_KEY"], credentials["API_SECRET"], credentials["API_PASSPHRASE"])
        if given
        else None
    )
    signature_type = _signature_type(connection, credentials.get("SIGNATURE_TYPE"))
    funder = credentials.get("FUNDER")
    if funder is not None:
        try:
            funder = to_checksum_address(funder)
        except ValueError:
            raise VenueUnavailable(f"venue {connection.name!r}: {prefix}_FUNDER is not an address") from None
    elif signature_type is not SignatureTypeV2.EOA:
        raise CredentialsMissing(
            f"venue {connection.name!r} is unavailable: signature type {int(signature_type)} signs for a "
            f"proxy wallet; set {prefix}_FUNDER to its address"
        )
    ledger_path = Path(
        credentials.get("ORDER_LEDGER")
        or connection.state_dir / f"polymarket_{_file_name(connection.name)}_orders.jsonl"
    )
    http = httpx.Client(timeout=connection.timeout_seconds)
    try:
        clob = _VenueClobClient(
            http=http,
            host=host,
            chain_id=chain_id,
            key=credentials["PRIVATE_KEY"],
            creds=creds,
            signature_type=signature_type,
            funder=funder,
            retry_on_error=False,  # VenueCaller is the only retry policy
        )
    except Exception:  # eth_account's message may quote the key: say which variable, never the value
        http.close()
        raise VenueUnavailable(
            f"venue {connection.name!r}: {prefix}_PRIVATE_KEY is not a valid hex private key"
        ) from None
    try:
        ledger = OrderLedger(ledger_path)
    except OSError as exc:
        http.close()
        raise VenueUnavailable(
            f"venue {connection.name!r}: cannot read the order ledger {ledger_path}: {exc}"
        ) from None
    return PolymarketAdapter(connection, clob, http, gamma, ledger, chain_id)


def _signature_type(connection: VenueConnection, value: str | None) -> SignatureTypeV2:
    if value is None:
        return SignatureTypeV2.EOA
    try:
        return SignatureTypeV2(int(value))
    except ValueError:
        raise VenueUnavailable(
            f"venue {connection.name!r}: {connection.kind.upper()}_SIGNATURE_TYPE must be 0, 1, 2 or 3"
        ) from None


def _file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)
