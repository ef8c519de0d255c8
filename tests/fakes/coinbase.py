"""A fake Coinbase Advanced Trade API (`/api/v3/brokerage/...`) over a FakeExchange, as ccxt calls it.

Served (paths and JSON shapes of Coinbase's Advanced Trade and v2 documentation):
- public: `market/products` (SPOT; `product_type=FUTURE` lists none), `market/product_book`,
  `market/products/{id}/candles`, and the v2 `currencies`, `currencies/crypto` and
  `exchange-rates` that ccxt's load_markets reads first;
- private: `transaction_summary`, `accounts`, `orders` (POST), `orders/historical/{id}`,
  `orders/historical/batch`, `orders/batch_cancel`, `orders/historical/fills`.
Private requests carry `Authorization: Bearer <JWT>` signed ES256 with the CDP key's EC P-256
private key; the fake verifies the signature with the public key (via `cryptography`), the key
name in `kid` and `sub`, the time window, and the `uri` claim "METHOD host/path". Anything else
is 401 with Coinbase's error body `{"error", "message", "error_details"}`.
Order refusals come as HTTP 200 `{"success": false, "error_response": {...}}`. A POST with a
client_order_id the book already holds creates nothing and answers with the existing order
(Coinbase: "If the ID provided is not unique, the order will not be created and the order with
this ID will be returned instead").
A market BUY sized by `quote_size` fills quote_size / ask, rounded down to the base increment.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tests.fakes.exchange import DuplicateOrder, FakeExchange, FakeFill, FakeOrder, OrderRefused, UnknownOrder
from tests.fakes.server import FakeVenueServer, HttpError, Request, Response, ServedFake

API = "/api/v3/brokerage"
STATUS = {
    "open": "OPEN",
    "partially_filled": "OPEN",
    "filled": "FILLED",
    "canceled": "CANCELLED",
    "expired": "EXPIRED",
}
TIME_IN_FORCE = {"gtc": "GOOD_UNTIL_CANCELLED", "ioc": "IMMEDIATE_OR_CANCEL", "fok": "FILL_OR_KILL"}
GRANULARITY_SECONDS = {
    "ONE_MINUTE": 60,
    "FIVE_MINUTE": 300,
    "FIFTEEN_MINUTE": 900,
    "THIRTY_MINUTE": 1800,
    "ONE_HOUR": 3600,
    "TWO_HOUR": 7200,
    "SIX_HOUR": 21_600,
    "ONE_DAY": 86_400,
}
USER_ID = "3a5f8c42-7e0b-5b1c-9a8d-6f2e4d1c0b9a"
PORTFOLIO_ID = "7d0c9f1e-2b3a-4c5d-8e6f-1a2b3c4d5e6f"


@dataclass(frozen=True, slots=True)
class Product:
    product_id: str  # "BTC-USD"
    base: str
    quote: str
    quote_increment: str
    base_increment: str
    base_min_size: str
    quote_min_size: str = "1"


def error_body(status: int, reason: str) -> dict[str, Any]:
    error = {401: "UNAUTHENTICATED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED"}.get(
        status, "INTERNAL" if status >= 500 else "INVALID_ARGUMENT"
    )
    return {"error": error, "message": reason, "error_details": reason}


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _order_failure(error: str, message: str, preview_reason: str, configuration: Any) -> dict[str, Any]:
    return {
        "success": False,
        "failure_reason": "UNKNOWN_FAILURE_REASON",
        "order_id": "",
        "error_response": {
            "error": error,
            "message": message,
            "error_details": message,
            "preview_failure_reason": preview_reason,
            "new_order_failure_reason": error,
        },
        "order_configuration": configuration,
    }


class FakeCoinbase(ServedFake):
    """`start()` it, point ccxt at `url`, drive the book through `exchange`."""

    def __init__(
        self, keys: dict[str, ec.EllipticCurvePublicKey], exchange: FakeExchange | None = None
    ) -> None:
        self.keys = dict(keys)  # CDP key name -> public key
        self.exchange = exchange or FakeExchange()
        self.products: dict[str, Product] = {}
        self.server = FakeVenueServer("coinbase", error_body)
        self._routes()

    def list_product(self, product: Product) -> None:
        self.products[product.product_id] = product

    # ------------------------------------------------------------------ authentication
    def _authenticate(self, request: Request) -> None:
        """Verify the request's ES256 JWT as Coinbase does; raise HttpError 401 otherwise."""
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise HttpError(401, "missing bearer token")
        try:
            head_text, claims_text, signature_text = header[len("Bearer ") :].split(".")
            head = json.loads(_b64url(head_text))
            claims = json.loads(_b64url(claims_text))
            signature = _b64url(signature_text)
        except ValueError:
            raise HttpError(401, "malformed JWT") from None
        key_name = head.get("kid")
        public_key = self.keys.get(key_name)
        if head.get("alg") != "ES256" or public_key is None:
            raise HttpError(401, f"unknown API key {key_name!r} or algorithm {head.get('alg')!r}")
        if len(signature) != 64:
            raise HttpError(401, "JWT signature is not an ES256 r||s pair")
        der = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        try:
            public_key.verify(der, f"{head_text}.{claims_text}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise HttpError(401, "JWT signature does not verify") from None
        now = time.time()
        if claims.get("sub") != key_name or claims.get("iss") not in ("cdp", "coinbase-cloud"):
            raise HttpError(401, "JWT subject or issuer is wrong")
        if not claims.get("nbf", now + 1) <= now + 5 or not now <= claims.get("exp", 0):
            raise HttpError(401, "JWT expired or not yet valid")
        host = request.headers.get("Host", "")
        # ccxt strips "https://" from the URL for this claim; our loopback URL is plain http
        wanted = {f"{request.method} {host}{request.path}", f"{request.method} http://{host}{request.path}"}
        if claims.get("uri") not in wanted:
            raise HttpError(401, f"JWT uri claim {claims.get('uri')!r} is not this request")

    # ------------------------------------------------------------------ rendering
    def _product(self, product_id: str | None) -> Product:
        product = self.products.get(product_id or "")
        if product is None:
            raise HttpError(404, f"product {product_id!r} not found")
        return product

    def _product_json(self, product: Product) -> dict[str, Any]:
        bid, ask = self.exchange.quotes.get(product.product_id, (Decimal(0), Decimal(0)))
        return {
            "product_id": product.product_id,
            "price": str((bid + ask) / 2),
            "price_percentage_change_24h": "1.25",
            "volume_24h": "10967.87426597",
            "volume_percentage_change_24h": "-3.5",
            "base_increment": product.base_increment,
            "quote_increment": product.quote_increment,
            "quote_min_size": product.quote_min_size,
            "quote_max_size": "150000000",
            "base_min_size": product.base_min_size,
            "base_max_size": "3400",
            "base_name": product.base,
            "quote_name": product.quote,
            "watched": False,
            "is_disabled": False,
            "new": False,
            "status": "online",
            "cancel_only": False,
            "limit_only": False,
            "post_only": False,
            "trading_disabled": False,
            "auction_mode": False,
            "product_type": "SPOT",
            "quote_currency_id": product.quote,
            "base_currency_id": product.base,
            "fcm_trading_session_details": None,
            "mid_market_price": "",
            "alias": "",
            "alias_to": [],
            "base_display_symbol": product.base,
            "quote_display_symbol": product.quote,
            "view_only": False,
            "price_increment": product.quote_increment,
            "display_name": product.product_id,
            "product_venue": "CBE",
        }

    def _order_json(self, order: FakeOrder) -> dict[str, Any]:
        configuration = order.extra.get("order_configuration", {})
        average = order.average_price
        return {
            "order_id": order.id,
            "product_id": order.symbol,
            "user_id": USER_ID,
            "order_configuration": configuration,
            "side": order.side.upper(),
            "client_order_id": order.client_id,
            "status": STATUS[order.status],
            "time_in_force": TIME_IN_FORCE.get(order.time_in_force, "GOOD_UNTIL_CANCELLED"),
            "created_time": _iso(order.created_at),
            "completion_percentage": str((order.filled / order.quantity * 100).quantize(Decimal("0.01"))),
            "filled_size": str(order.filled),
            "average_filled_price": str(average) if average is not None else "0",
            "fee": "",
            "number_of_fills": str(sum(1 for fill in self.exchange.fills if fill.order_id == order.id)),
            "filled_value": str(order.filled_notional),
            "pending_cancel": False,
            "size_in_quote": "quote_size" in json.dumps(configuration),
            "total_fees": str(order.fees),
            "size_inclusive_of_fees": False,
            "total_value_after_fees": str(order.filled_notional + order.fees),
            "trigger_status": "INVALID_ORDER_TYPE",
            "order_type": order.order_type.upper(),
            "reject_reason": "REJECT_REASON_UNSPECIFIED",
            "settled": order.status == "filled",
            "product_type": "SPOT",
            "reject_message": "",
            "cancel_message": "User requested cancel" if order.status == "canceled" else "",
            "order_placement_source": "RETAIL_ADVANCED",
            "outstanding_hold_amount": str(order.remaining * (order.limit_price or 0))
            if order.is_open
            else "0",
            "is_liquidation": False,
            "last_fill_time": None,
            "edit_history": [],
            "leverage": "",
            "margin_type": "UNKNOWN_MARGIN_TYPE",
            "retail_portfolio_id": PORTFOLIO_ID,
        }

    def _fill_json(self, fill: FakeFill) -> dict[str, Any]:
        return {
            "entry_id": f"e-{fill.id}",
            "trade_id": fill.id,
            "order_id": fill.order_id,
            "trade_time": _iso(fill.time),
            "trade_type": "FILL",
            "price": str(fill.price),
            "size": str(fill.quantity),
            "commission": str(fill.fee),
            "product_id": fill.symbol,
            "sequence_timestamp": _iso(fill.time),
            "liquidity_indicator": "MAKER" if fill.maker else "TAKER",
            "size_in_quote": False,
            "user_id": USER_ID,
            "side": fill.side.upper(),
            "retail_portfolio_id": PORTFOLIO_ID,
        }

    def _account_json(self, currency: str, available: Decimal, hold: Decimal, crypto: bool) -> dict[str, Any]:
        return {
            "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"fake-coinbase/{currency}")),
            "name": f"{currency} Wallet",
            "currency": currency,
            "available_balance": {"value": str(available), "currency": currency},
            "default": True,
            "active": True,
            "created_at": "2023-04-01T10:00:00.000Z",
            "updated_at": _iso(datetime.now(UTC)),
            "deleted_at": None,
            "type": "ACCOUNT_TYPE_CRYPTO" if crypto else "ACCOUNT_TYPE_FIAT",
            "ready": True,
            "hold": {"value": str(hold), "currency": currency},
            "retail_portfolio_id": PORTFOLIO_ID,
            "platform": "ACCOUNT_PLATFORM_CONSUMER",
        }

    def _accounts(self) -> list[dict[str, Any]]:
        exchange = self.exchange
        holds: dict[str, Decimal] = {}
        for order in exchange.open_orders():
            product = self.products[order.symbol]
            if order.side == "buy":
                holds[product.quote] = holds.get(product.quote, Decimal(0)) + order.remaining * (
                    order.limit_price or Decimal(0)
                )
            else:
                holds[product.base] = holds.get(product.base, Decimal(0)) + order.remaining
        accounts = []
        for quote in sorted({p.quote for p in self.products.values()}):
            hold = holds.get(quote, Decimal(0))
            accounts.append(self._account_json(quote, exchange.cash - hold, hold, crypto=False))
        for product in self.products.values():
            position = exchange.positions.get(product.product_id)
            held = max(position.quantity, Decimal(0)) if position is not None else Decimal(0)
            hold = holds.get(product.base, Decimal(0))
            accounts.append(self._account_json(product.base, held - hold, hold, crypto=True))
        return accounts

    # ------------------------------------------------------------------ orders
    def _place(self, body: dict[str, Any]) -> dict[str, Any]:
        configuration = body.get("order_configuration")
        product = self._product(body.get("product_id"))
        side = str(body.get("side", "")).lower()
        client_id = body.get("client_order_id")
        if not isinstance(configuration, dict) or len(configuration) != 1:
            return _order_failure(
                "UNSUPPORTED_ORDER_CONFIGURATION", "exactly one order configuration", "", configuration
            )
        ((kind, spec),) = configuration.items()
        base_step, tick = Decimal(product.base_increment), Decimal(product.quote_increment)
        if kind in ("limit_limit_gtc", "sor_limit_ioc", "limit_limit_fok"):
            order_type, tif = (
                "limit",
                {"limit_limit_gtc": "gtc", "sor_limit_ioc": "ioc", "limit_limit_fok": "fok"}[kind],
            )
            quantity, price = Decimal(spec["base_size"]), Decimal(spec["limit_price"])
        elif kind == "market_market_ioc":
            order_type, tif, price = "market", "ioc", None
            if "base_size" in spec:
                quantity = Decimal(spec["base_size"])
            else:
                quote = self.exchange.quotes.get(product.product_id)
                if side != "buy" or quote is None:
                    return _order_failure(
                        "INVALID_ARGUMENT", "quote_size applies to a buy", "", configuration
                    )
                cost = Decimal(spec["quote_size"])
                if cost % tick:
                    return _order_failure("INVALID_ARGUMENT", "quote_size precision", "", configuration)
                quantity = (cost / quote[1] / base_step).to_integral_value(ROUND_DOWN) * base_step
        else:
            return _order_failure(
                "UNSUPPORTED_ORDER_CONFIGURATION", f"{kind} is not supported", "", configuration
            )
        if quantity % base_step:
            return _order_failure(
                "INVALID_SIZE_PRECISION",
                "Too many decimals in order amount",
                "PREVIEW_INVALID_SIZE_PRECISION",
                configuration,
            )
        if price is not None and price % tick:
            return _order_failure(
                "INVALID_PRICE_PRECISION",
                "Too many decimals in order price",
                "PREVIEW_INVALID_PRICE_PRECISION",
                configuration,
            )
        if quantity < Decimal(product.base_min_size):
            return _order_failure(
                "INVALID_ARGUMENT",
                "size is below base_min_size",
                "PREVIEW_INVALID_BASE_SIZE_TOO_SMALL",
                configuration,
            )
        try:
            order = self.exchange.place(
                product.product_id,
                side,
                quantity,
                order_type,
                limit_price=price,
                time_in_force=tif,
                client_id=client_id,
                order_id=str(uuid.uuid4()),
                extra={"order_configuration": configuration},
            )
        except DuplicateOrder as duplicate:
            order = duplicate.existing  # Coinbase answers a known client_order_id with that order
        except OrderRefused as refusal:
            reason = str(refusal)
            if "insufficient" in reason.lower():
                return _order_failure("INSUFFICIENT_FUND", reason, "PREVIEW_INSUFFICIENT_FUND", configuration)
            return _order_failure(
                "UNKNOWN_FAILURE_REASON", reason, "UNKNOWN_PREVIEW_FAILURE_REASON", configuration
            )
        return {
            "success": True,
            "failure_reason": "UNKNOWN_FAILURE_REASON",
            "order_id": order.id,
            "success_response": {
                "order_id": order.id,
                "product_id": order.symbol,
                "side": order.side.upper(),
                "client_order_id": order.client_id,
            },
            "order_configuration": order.extra.get("order_configuration"),
        }

    def _cancel(self, order_id: str) -> dict[str, Any]:
        try:
            self.exchange.cancel(order_id)
        except (UnknownOrder, OrderRefused):
            return {"success": False, "failure_reason": "UNKNOWN_CANCEL_ORDER", "order_id": order_id}
        return {"success": True, "failure_reason": "UNKNOWN_CANCEL_FAILURE_REASON", "order_id": order_id}

    # ------------------------------------------------------------------ routes
    def _routes(self) -> None:
        route = self.server.route

        @route("GET", "/v2/currencies")
        def fiat_currencies(request: Request, match: Any) -> Any:
            quotes = sorted({p.quote for p in self.products.values()})
            return {"data": [{"id": q, "name": f"{q} currency", "min_size": "0.01"} for q in quotes]}

        @route("GET", "/v2/currencies/crypto")
        def crypto_currencies(request: Request, match: Any) -> Any:
            bases = sorted({p.base for p in self.products.values()})
            return {
                "data": [
                    {
                        "asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"asset/{b}")),
                        "code": b,
                        "name": f"{b} coin",
                        "color": "#F7931A",
                        "sort_index": 100 + i,
                        "exponent": 8,
                        "type": "crypto",
                        "address_regex": "^[a-zA-Z0-9]{26,62}$",
                    }
                    for i, b in enumerate(bases)
                ]
            }

        @route("GET", "/v2/exchange-rates")
        def exchange_rates(request: Request, match: Any) -> Any:
            rates = {"USD": "1.0"}
            for product in self.products.values():
                bid, ask = self.exchange.quotes.get(product.product_id, (Decimal(1), Decimal(1)))
                rates[product.base] = str((2 / (bid + ask)).quantize(Decimal("1E-12")))
            return {"data": {"currency": "USD", "rates": rates}}

        @route("GET", f"{API}/market/products")
        def products(request: Request, match: Any) -> Any:
            if request.query.get("product_type", "SPOT") != "SPOT":
                return {"products": [], "num_products": 0}
            listed = [self._product_json(p) for p in self.products.values()]
            return {"products": listed, "num_products": len(listed)}

        @route("GET", f"{API}/market/product_book")
        def product_book(request: Request, match: Any) -> Any:
            product = self._product(request.query.get("product_id"))
            quote = self.exchange.quotes.get(product.product_id)
            bids = [{"price": str(quote[0]), "size": "1.5"}] if quote else []
            asks = [{"price": str(quote[1]), "size": "0.8"}] if quote else []
            return {
                "pricebook": {
                    "product_id": product.product_id,
                    "bids": bids,
                    "asks": asks,
                    "time": _iso(datetime.now(UTC)),
                },
                "last": str(quote[1]) if quote else "",
                "mid_market": str((quote[0] + quote[1]) / 2) if quote else "",
                "spread_bps": "0.02",
                "spread_absolute": str(quote[1] - quote[0]) if quote else "",
            }

        @route("GET", f"{API}/market/products/(?P<product_id>[^/]+)/candles")
        def candles(request: Request, match: Any) -> Any:
            product = self._product(match["product_id"])
            seconds = GRANULARITY_SECONDS.get(request.query.get("granularity", ""), 0)
            if not seconds:
                raise HttpError(400, f"unsupported granularity {request.query.get('granularity')!r}")
            start, end = int(request.query.get("start", "0")), int(request.query.get("end", "0"))
            return {"candles": self.candles(product.product_id, seconds, start, end)}

        @route("GET", f"{API}/transaction_summary")
        def transaction_summary(request: Request, match: Any) -> Any:
            self._authenticate(request)
            return {
                "total_volume": 0,
                "total_fees": 0,
                "fee_tier": {
                    "pricing_tier": "Advanced 1",
                    "usd_from": "0",
                    "usd_to": "1000",
                    "taker_fee_rate": "0.012",
                    "maker_fee_rate": "0.006",
                    "aop_from": "",
                    "aop_to": "",
                },
                "margin_rate": None,
                "goods_and_services_tax": None,
                "advanced_trade_only_volume": 0,
                "advanced_trade_only_fees": 0,
                "coinbase_pro_volume": 0,
                "coinbase_pro_fees": 0,
                "total_balance": "",
                "has_promo_fee": False,
            }

        @route("GET", f"{API}/accounts")
        def accounts(request: Request, match: Any) -> Any:
            self._authenticate(request)
            listed = self._accounts()
            return {"accounts": listed, "has_next": False, "cursor": "", "size": len(listed)}

        @route("POST", f"{API}/orders")
        def create_order(request: Request, match: Any) -> Any:
            self._authenticate(request)
            if not isinstance(request.body, dict):
                raise HttpError(400, "the body is not a JSON object")
            return self._place(request.body)

        @route("POST", f"{API}/orders/batch_cancel")
        def batch_cancel(request: Request, match: Any) -> Any:
            self._authenticate(request)
            order_ids = request.body.get("order_ids") if isinstance(request.body, dict) else None
            if not isinstance(order_ids, list):
                raise HttpError(400, "order_ids is required")
            return {"results": [self._cancel(str(order_id)) for order_id in order_ids]}

        @route("GET", f"{API}/orders/historical/batch")
        def list_orders(request: Request, match: Any) -> Any:
            self._authenticate(request)
            query = request.query
            product_id = query.get("product_id") or query.get("product_ids")
            status = query.get("order_status")
            start = query.get("start_date")
            orders = [
                self._order_json(order)
                for order in sorted(self.exchange.orders.values(), key=lambda o: o.created_at, reverse=True)
                if product_id in (None, order.symbol)
                and status in (None, STATUS[order.status])
                and (start is None or _iso(order.created_at) >= start)
            ]
            limit = int(query.get("limit", "100"))
            return {"orders": orders[:limit], "sequence": "0", "has_next": len(orders) > limit, "cursor": ""}

        @route("GET", f"{API}/orders/historical/fills")
        def list_fills(request: Request, match: Any) -> Any:
            self._authenticate(request)
            query = request.query
            product_id = query.get("product_id") or query.get("product_ids")
            start = query.get("start_sequence_timestamp")
            fills = [
                self._fill_json(fill)
                for fill in reversed(self.exchange.fills)
                if product_id in (None, fill.symbol) and (start is None or _iso(fill.time) >= start)
            ]
            return {"fills": fills, "cursor": ""}

        @route("GET", f"{API}/orders/historical/(?P<order_id>[^/]+)")
        def get_order(request: Request, match: Any) -> Any:
            self._authenticate(request)
            try:
                order = self.exchange.get(match["order_id"])
            except UnknownOrder:
                message = "order with this orderID was not found"
                return Response(404, {"error": "NOT_FOUND", "error_details": message, "message": message})
            return {"order": self._order_json(order)}

    def candles(self, product_id: str, seconds: int, start: int, end: int) -> list[dict[str, str]]:
        """Candles opened in [start, end], newest first, up to the one still forming (deterministic)."""
        bid, ask = self.exchange.quotes.get(product_id, (Decimal(100), Decimal(100)))
        mid = ((bid + ask) / 2).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
        now = int(time.time())
        rows = []
        opened = now - now % seconds
        while opened >= start and len(rows) < 350:
            if opened <= end:
                wiggle = Decimal((opened // seconds) % 5)
                open_, close = mid - wiggle, mid + wiggle
                rows.append(
                    {
                        "start": str(opened),
                        "low": str(min(open_, close) - 1),
                        "high": str(max(open_, close) + 1),
                        "open": str(open_),
                        "close": str(close),
                        "volume": "12.5",
                    }
                )
            opened -= seconds
        return rows
