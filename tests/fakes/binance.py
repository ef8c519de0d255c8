"""A fake Binance spot REST API (`/api/v3/...`) over a FakeExchange, as ccxt's `binance` class calls it.

Paths, parameters and JSON shapes follow Binance's spot API documentation:
- public: `exchangeInfo` (PRICE_FILTER / LOT_SIZE / NOTIONAL filters), `depth`, `klines`;
- signed (USER_DATA / TRADE): `account`, `order` (POST / GET / DELETE), `openOrders`, `myTrades`.
  A signed request needs a known `X-MBX-APIKEY` header, a `timestamp` within `recvWindow`
  (default 5000 ms) and `signature` = hex HMAC-SHA256 of the rest of the query string (or of
  the form body of a POST) under the key's secret; otherwise 401 with Binance's error body.
- errors are `{"code": <negative int>, "msg": "..."}`: -2010 for a refused new order (also
  "Duplicate order sent." for a client id the book already holds), -2013 for an unknown order,
  -2011 for a refused cancel; 429 carries Retry-After.
Prices and sizes leave as decimal strings, ids as integers, times as epoch milliseconds.
Market orders answer with their `fills` (newOrderRespType FULL, ccxt's default for spot).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from tests.fakes.exchange import DuplicateOrder, FakeExchange, FakeFill, FakeOrder, OrderRefused, UnknownOrder
from tests.fakes.server import FakeVenueServer, HttpError, Request, Response, ServedFake

STATUS = {
    "open": "NEW",
    "partially_filled": "PARTIALLY_FILLED",
    "filled": "FILLED",
    "canceled": "CANCELED",
    "expired": "EXPIRED",
}
INTERVAL_SECONDS = {"m": 60, "h": 3600, "d": 86_400, "w": 604_800}


@dataclass(frozen=True, slots=True)
class Listing:
    """One spot symbol as exchangeInfo lists it."""

    symbol: str  # Binance's id, e.g. "BTCUSDT"
    base: str
    quote: str
    tick_size: str
    step_size: str
    min_qty: str
    min_notional: str


def error_body(status: int, reason: str) -> dict[str, Any]:
    """Binance's error JSON; the code follows the message where Binance has one for it."""
    codes = {
        "API-key format invalid.": -2014,
        "Invalid API-key, IP, or permissions for action.": -2015,
        "Signature for this request is not valid.": -1022,
        "Timestamp for this request is outside of the recvWindow.": -1021,
        "Invalid symbol.": -1121,
    }
    code = codes.get(reason) or {429: -1003}.get(status) or (-1000 if status >= 500 else -1100)
    return {"code": code, "msg": reason}


def _error(status: int, code: int, msg: str) -> Response:
    return Response(status, {"code": code, "msg": msg})


def _text(value: Decimal) -> str:
    return f"{value:.8f}"


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


class FakeBinance(ServedFake):
    """`start()` it, point ccxt at `url`, drive the book through `exchange`."""

    def __init__(
        self,
        keys: dict[str, str],
        exchange: FakeExchange | None = None,
        fee_in_base_for_buys: bool = False,
    ) -> None:
        self.keys = dict(keys)  # api key -> secret
        self.exchange = exchange or FakeExchange()
        self.listings: dict[str, Listing] = {}
        self.fee_in_base_for_buys = (
            fee_in_base_for_buys  # Binance charges a buy's commission in the asset bought
        )
        self.server = FakeVenueServer("binance", error_body)
        self._order_ids = itertools.count(4_000_000)
        self._routes()

    # ------------------------------------------------------------------ set-up
    def list_symbol(self, listing: Listing) -> None:
        self.listings[listing.symbol] = listing

    # ------------------------------------------------------------------ authentication
    def _signed(self, request: Request) -> dict[str, str]:
        """The signed parameters of a USER_DATA/TRADE request; HttpError 401 when they do not verify."""
        key = request.headers.get("X-MBX-APIKEY")
        secret = self.keys.get(key or "")
        if secret is None:
            raise HttpError(
                401,
                "API-key format invalid." if not key else "Invalid API-key, IP, or permissions for action.",
            )
        if request.method == "POST" and isinstance(request.raw_body, str) and request.raw_body:
            payload = request.raw_body
            params = dict(request.body) if isinstance(request.body, dict) else {}
        else:
            params = dict(request.query)
            payload = request.raw_query  # the signature covers the query exactly as sent
        signed_text, _, signature = payload.rpartition("&signature=")
        expected = hmac.new(secret.encode(), signed_text.encode(), hashlib.sha256).hexdigest()
        if not signature or not hmac.compare_digest(signature, expected):
            raise HttpError(401, "Signature for this request is not valid.")
        try:
            timestamp = int(params.get("timestamp", ""))
        except ValueError:
            raise HttpError(
                400, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."
            ) from None
        window = int(params.get("recvWindow", "5000"))
        if abs(time.time() * 1000 - timestamp) > window:
            raise HttpError(400, "Timestamp for this request is outside of the recvWindow.")
        params.pop("signature", None)
        return params

    # ------------------------------------------------------------------ rendering
    def _order_json(self, order: FakeOrder, full: bool = False) -> dict[str, Any]:
        executed = order.filled
        body: dict[str, Any] = {
            "symbol": order.symbol,
            "orderId": int(order.id),
            "orderListId": -1,
            "clientOrderId": order.client_id,
            "price": _text(order.limit_price or Decimal(0)),
            "origQty": _text(order.quantity),
            "executedQty": _text(executed),
            "cummulativeQuoteQty": _text(order.filled_notional),
            "status": STATUS[order.status],
            "timeInForce": order.time_in_force.upper() if order.order_type == "limit" else "GTC",
            "type": order.order_type.upper(),
            "side": order.side.upper(),
            "stopPrice": "0.00000000",
            "icebergQty": "0.00000000",
            "time": _ms(order.created_at),
            "updateTime": _ms(order.updated_at),
            "isWorking": True,
            "workingTime": _ms(order.created_at),
            "origQuoteOrderQty": "0.00000000",
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }
        if full:
            body["transactTime"] = _ms(order.updated_at)
            body["fills"] = [
                self._order_fill_json(fill) for fill in self.exchange.fills if fill.order_id == order.id
            ]
            del body["time"], body["updateTime"], body["isWorking"], body["stopPrice"], body["icebergQty"]
        return body

    def _order_fill_json(self, fill: FakeFill) -> dict[str, Any]:
        commission, asset = self._commission(fill)
        return {
            "price": _text(fill.price),
            "qty": _text(fill.quantity),
            "commission": _text(commission),
            "commissionAsset": asset,
            "tradeId": self._trade_id(fill),
        }

    def _commission(self, fill: FakeFill) -> tuple[Decimal, str]:
        listing = self.listings[fill.symbol]
        if self.fee_in_base_for_buys and fill.side == "buy":
            return fill.fee / fill.price, listing.base
        return fill.fee, listing.quote

    @staticmethod
    def _trade_id(fill: FakeFill) -> int:
        return int(fill.id.split("-")[-1])

    def _trade_json(self, fill: FakeFill) -> dict[str, Any]:
        commission, asset = self._commission(fill)
        return {
            "symbol": fill.symbol,
            "id": self._trade_id(fill),
            "orderId": int(fill.order_id),
            "orderListId": -1,
            "price": _text(fill.price),
            "qty": _text(fill.quantity),
            "quoteQty": _text(fill.price * fill.quantity),
            "commission": _text(commission),
            "commissionAsset": asset,
            "time": _ms(fill.time),
            "isBuyer": fill.side == "buy",
            "isMaker": fill.maker,
            "isBestMatch": True,
        }

    def _balances(self) -> list[dict[str, str]]:
        exchange = self.exchange
        held: dict[str, list[Decimal]] = {}  # asset -> [total, locked]

        def book(asset: str, total: Decimal = Decimal(0), locked: Decimal = Decimal(0)) -> None:
            entry = held.setdefault(asset, [Decimal(0), Decimal(0)])
            entry[0] += total
            entry[1] += locked

        quotes = {listing.quote for listing in self.listings.values()}
        for asset in sorted(quotes):
            book(asset, exchange.cash)
        for symbol, position in exchange.positions.items():
            if symbol in self.listings:
                book(self.listings[symbol].base, max(position.quantity, Decimal(0)))
        for order in exchange.open_orders():
            listing = self.listings[order.symbol]
            if order.side == "buy":
                book(listing.quote, locked=order.remaining * (order.limit_price or Decimal(0)))
            else:
                book(listing.base, locked=order.remaining)
        return [
            {"asset": asset, "free": _text(total - locked), "locked": _text(locked)}
            for asset, (total, locked) in sorted(held.items())
        ]

    def _listing(self, symbol: str | None) -> Listing:
        listing = self.listings.get(symbol or "")
        if listing is None:
            raise HttpError(400, "Invalid symbol.")
        return listing

    def _find(self, params: dict[str, str]) -> FakeOrder | None:
        listing = self._listing(params.get("symbol"))
        if params.get("orderId"):
            try:
                order = self.exchange.get(params["orderId"])
            except UnknownOrder:
                return None
        elif params.get("origClientOrderId"):
            order = self.exchange.find_client(params["origClientOrderId"])
        else:
            raise HttpError(
                400, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
            )
        return order if order is not None and order.symbol == listing.symbol else None

    # ------------------------------------------------------------------ routes
    def _routes(self) -> None:
        route = self.server.route

        @route("GET", "/api/v3/exchangeInfo")
        def exchange_info(request: Request, match: Any) -> Any:
            return {
                "timezone": "UTC",
                "serverTime": _ms(datetime.now(UTC)),
                "rateLimits": [
                    {
                        "rateLimitType": "REQUEST_WEIGHT",
                        "interval": "MINUTE",
                        "intervalNum": 1,
                        "limit": 6000,
                    },
                    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
                ],
                "exchangeFilters": [],
                "symbols": [self._symbol_json(listing) for listing in self.listings.values()],
            }

        @route("GET", "/api/v3/depth")
        def depth(request: Request, match: Any) -> Any:
            listing = self._listing(request.query.get("symbol"))
            quote = self.exchange.quotes.get(listing.symbol)
            bids = [[_text(quote[0]), "1.00000000"]] if quote else []
            asks = [[_text(quote[1]), "1.00000000"]] if quote else []
            return {"lastUpdateId": 1027024, "bids": bids, "asks": asks}

        @route("GET", "/api/v3/klines")
        def klines(request: Request, match: Any) -> Any:
            listing = self._listing(request.query.get("symbol"))
            interval = request.query.get("interval", "1m")
            seconds = int(interval[:-1]) * INTERVAL_SECONDS[interval[-1]]
            limit = int(request.query.get("limit", "500"))
            return self.klines(listing.symbol, seconds, limit)

        @route("GET", "/api/v3/account")
        def account(request: Request, match: Any) -> Any:
            self._signed(request)
            return {
                "makerCommission": 10,
                "takerCommission": 10,
                "buyerCommission": 0,
                "sellerCommission": 0,
                "commissionRates": {
                    "maker": "0.00100000",
                    "taker": "0.00100000",
                    "buyer": "0.00000000",
                    "seller": "0.00000000",
                },
                "canTrade": True,
                "canWithdraw": True,
                "canDeposit": True,
                "brokered": False,
                "requireSelfTradePrevention": False,
                "preventSor": False,
                "updateTime": _ms(datetime.now(UTC)),
                "accountType": "SPOT",
                "balances": self._balances(),
                "permissions": ["SPOT"],
                "uid": 354937868,
            }

        @route("POST", "/api/v3/order")
        def new_order(request: Request, match: Any) -> Any:
            params = self._signed(request)
            listing = self._listing(params.get("symbol"))
            order_type = params.get("type", "").lower()
            if order_type not in ("limit", "market"):
                return _error(400, -1116, "Invalid orderType.")
            quantity = Decimal(params.get("quantity", "0"))
            price = Decimal(params["price"]) if params.get("price") else None
            step, tick = Decimal(listing.step_size), Decimal(listing.tick_size)
            if quantity % step or (price is not None and price % tick):
                return _error(
                    400,
                    -1013,
                    "Filter failure: LOT_SIZE" if quantity % step else "Filter failure: PRICE_FILTER",
                )
            try:
                order = self.exchange.place(
                    listing.symbol,
                    params.get("side", "").lower(),
                    quantity,
                    order_type,
                    limit_price=price,
                    time_in_force=params.get("timeInForce", "GTC").lower(),
                    client_id=params.get("newClientOrderId"),
                    order_id=str(next(self._order_ids)),
                    extra=dict(params),
                )
            except DuplicateOrder:
                return _error(400, -2010, "Duplicate order sent.")
            except OrderRefused as refusal:
                return _error(400, -2010, str(refusal))
            return self._order_json(order, full=params.get("newOrderRespType", "FULL") == "FULL")

        @route("GET", "/api/v3/order")
        def query_order(request: Request, match: Any) -> Any:
            order = self._find(self._signed(request))
            if order is None:
                return _error(400, -2013, "Order does not exist.")
            return self._order_json(order)

        @route("DELETE", "/api/v3/order")
        def cancel_order(request: Request, match: Any) -> Any:
            params = self._signed(request)
            order = self._find(params)
            if order is None:
                return _error(400, -2011, "Unknown order sent.")
            try:
                self.exchange.cancel(order.id)
            except OrderRefused:
                return _error(400, -2011, "Unknown order sent.")
            body = self._order_json(order)
            body["origClientOrderId"] = order.client_id
            body["clientOrderId"] = params.get("newClientOrderId") or "cancel-" + order.id
            body["transactTime"] = _ms(order.updated_at)
            return body

        @route("GET", "/api/v3/openOrders")
        def open_orders(request: Request, match: Any) -> Any:
            params = self._signed(request)
            symbol = params.get("symbol")
            return [self._order_json(o) for o in self.exchange.open_orders() if symbol in (None, o.symbol)]

        @route("GET", "/api/v3/myTrades")
        def my_trades(request: Request, match: Any) -> Any:
            params = self._signed(request)
            listing = self._listing(params.get("symbol"))
            since = int(params.get("startTime", "0"))
            limit = int(params.get("limit", "500"))
            trades = [
                self._trade_json(fill)
                for fill in self.exchange.fills
                if fill.symbol == listing.symbol and _ms(fill.time) >= since
            ]
            return trades[:limit]

    def _symbol_json(self, listing: Listing) -> dict[str, Any]:
        return {
            "symbol": listing.symbol,
            "status": "TRADING",
            "baseAsset": listing.base,
            "baseAssetPrecision": 8,
            "quoteAsset": listing.quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
            "icebergAllowed": True,
            "ocoAllowed": True,
            "otoAllowed": True,
            "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": True,
            "cancelReplaceAllowed": True,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": listing.tick_size,
                    "maxPrice": "1000000.00000000",
                    "tickSize": listing.tick_size,
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": listing.min_qty,
                    "maxQty": "9000.00000000",
                    "stepSize": listing.step_size,
                },
                {"filterType": "ICEBERG_PARTS", "limit": 10},
                {
                    "filterType": "MARKET_LOT_SIZE",
                    "minQty": "0.00000000",
                    "maxQty": "100.00000000",
                    "stepSize": "0.00000000",
                },
                {"filterType": "TRAILING_DELTA", "minTrailingAboveDelta": 10, "maxTrailingAboveDelta": 2000},
                {
                    "filterType": "NOTIONAL",
                    "minNotional": listing.min_notional,
                    "applyMinToMarket": True,
                    "maxNotional": "9000000.00000000",
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
                {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
            ],
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
        }

    def klines(self, symbol: str, seconds: int, limit: int) -> list[list[Any]]:
        """`limit` bars up to the one still forming, priced around the quote's mid (deterministic)."""
        bid, ask = self.exchange.quotes.get(symbol, (Decimal(100), Decimal(100)))
        mid = ((bid + ask) / 2).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
        span = seconds * 1000
        now = int(time.time() * 1000)
        current = now - now % span
        rows: list[list[Any]] = []
        for back in range(limit - 1, -1, -1):
            opened = current - back * span
            wiggle = Decimal(back % 5)
            open_, close = mid - wiggle, mid + wiggle
            rows.append(
                [
                    opened,
                    _text(open_),
                    _text(max(open_, close) + 1),
                    _text(min(open_, close) - 1),
                    _text(close),
                    "12.50000000",
                    opened + span - 1,
                    _text(mid * Decimal("12.5")),
                    42,
                    "6.00000000",
                    _text(mid * 6),
                    "0",
                ]
            )
        return rows
