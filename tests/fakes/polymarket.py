"""FakePolymarket: the CLOB and the Gamma API on one local server, in Polymarket's real paths and JSON.

Behind it is a `FakeExchange` keyed by outcome token id. What it checks, as the venue does:
- L2 auth on every private route: POLY_ADDRESS, POLY_API_KEY, POLY_PASSPHRASE,
  POLY_TIMESTAMP and POLY_SIGNATURE = urlsafe-b64(HMAC-SHA256(urlsafe_b64decode(secret),
  timestamp + method + path + body)); anything else is 401 {"error": "Unauthorized/Invalid api key"};
- L1 auth on the API-key routes: the EIP-712 `ClobAuth` signature must recover to POLY_ADDRESS;
- posted orders: the EIP-712 V2 order signature is recovered with eth_account and must be
  the order's `signer` and the API key's wallet; the order id answered is the order's
  EIP-712 hash, computed here independently of the SDK. Price must sit on the market's
  tick, size at or above `orderMinSize` with 2 decimals.

Shapes follow /work/shared/reference/prediction-markets.md §2 and NautilusTrader's captured
fixtures. Where the real behaviour is not documented the fake picks one and says so
(UNVERIFIED): a second copy of an order hash is refused with 400; a FAK/FOK that cannot
match at all is refused with 400; an unknown order id answers 404 (`unknown_order_style =
"null"` answers `null` instead, as some captures suggest). `/book` level arrays are sent
deliberately unsorted, since the venue does not promise an order.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.crypto import keccak

from domain.fees import polymarket_fee
from tests.fakes.exchange import FakeExchange, FakeFill, FakeOrder, OrderRefused
from tests.fakes.server import FakeVenueServer, HttpError, Request, Response, ServedFake

UNAUTHORIZED = "Unauthorized/Invalid api key"
# CTF Exchange V2 contracts (py-clob-client-v2 1.2.1 config.py; the same on Polygon and Amoy)
EXCHANGE_V2 = "0xE111180000d2663C0091e4f400237545B87B996B"
NEG_RISK_EXCHANGE_V2 = "0xe2222d279d744050d28e00520010520000310F59"
INITIAL_CURSOR, END_CURSOR = "MA==", "LTE="
UNIT = Decimal(10) ** 6
COUNTERPARTY = "0x000000000000000000000000000000000000dEaD"

_ORDER_FIELDS = [
    {"name": "salt", "type": "uint256"},
    {"name": "maker", "type": "address"},
    {"name": "signer", "type": "address"},
    {"name": "tokenId", "type": "uint256"},
    {"name": "makerAmount", "type": "uint256"},
    {"name": "takerAmount", "type": "uint256"},
    {"name": "side", "type": "uint8"},
    {"name": "signatureType", "type": "uint8"},
    {"name": "timestamp", "type": "uint256"},
    {"name": "metadata", "type": "bytes32"},
    {"name": "builder", "type": "bytes32"},
]
_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


@dataclass(frozen=True, slots=True)
class ApiKey:
    key: str
    secret: str
    passphrase: str
    address: str

    def environ(self, prefix: str = "POLYMARKET") -> dict[str, str]:
        return {
            f"{prefix}_API_KEY": self.key,
            f"{prefix}_API_SECRET": self.secret,
            f"{prefix}_API_PASSPHRASE": self.passphrase,
        }


@dataclass(slots=True)
class FakeMarket:
    condition_id: str
    question: str
    outcomes: tuple[str, str]
    token_ids: tuple[str, str]
    tick: Decimal = Decimal("0.01")
    min_size: Decimal = Decimal(5)
    neg_risk: bool = False
    closed: bool = False
    accepting_orders: bool = True
    fee_rate: Decimal = Decimal("0.04")
    fee_exponent: Decimal = Decimal(1)
    outcome_prices: tuple[str, str] = ("0.5", "0.5")  # ("1", "0") once resolved for the first outcome

    def gamma_json(self) -> dict[str, Any]:
        """A Gamma market object: the keys of NautilusTrader's gamma_market_live.json that matter here."""
        return {
            "id": str(int(self.condition_id[2:10], 16)),
            "question": self.question,
            "conditionId": self.condition_id,
            "slug": self.question.lower().replace(" ", "-").strip("?"),
            "endDate": "2028-11-07T00:00:00Z",
            "outcomes": json.dumps(list(self.outcomes)),
            "outcomePrices": json.dumps(list(self.outcome_prices)),
            "clobTokenIds": json.dumps(list(self.token_ids)),
            "active": True,
            "closed": self.closed,
            "archived": False,
            "acceptingOrders": self.accepting_orders,
            "enableOrderBook": True,
            "orderPriceMinTickSize": float(self.tick),
            "orderMinSize": int(self.min_size)
            if self.min_size == int(self.min_size)
            else float(self.min_size),
            "negRisk": self.neg_risk,
            "negRiskMarketID": "",
            "volume": "1000.0",
            "liquidity": "500.0",
            "makerBaseFee": 1000,
            "takerBaseFee": 1000,
            "feesEnabled": self.fee_rate > 0,
            "feeType": "politics_fees" if self.fee_rate > 0 else None,
            "feeSchedule": {
                "exponent": float(self.fee_exponent),
                "rate": float(self.fee_rate),
                "takerOnly": True,
                "rebateRate": 0.25,
            },
        }


class FakePolymarket(ServedFake):
    def __init__(self, chain_id: int = 137, page_size: int = 100) -> None:
        self.chain_id = chain_id
        self.page_size = page_size
        self.exchange = FakeExchange(cash=Decimal("1000"), fee=self._fee)
        self.server = FakeVenueServer("polymarket", error_body=lambda status, reason: {"error": reason})
        self.markets: dict[str, FakeMarket] = {}
        self.api_keys: dict[str, ApiKey] = {}
        self.posted: dict[str, dict[str, Any]] = {}  # order id -> the POST /order body as it arrived
        self.price_history: dict[str, list[dict[str, Any]]] = {}
        # explicit `/book` levels per token ({"bids": [...], "asks": [...]}), instead of the quote's
        self.book_levels: dict[str, dict[str, list[dict[str, str]]]] = {}
        self._keys_by_wallet: dict[tuple[str, int], ApiKey] = {}
        self.refusal_style = "http"  # "http": 400 {"error": reason}; "body": 200 {"success": false, ...}
        self.unknown_order_style = "404"  # "404" or "null"
        self._market_ids = itertools.count(1)
        self._register_routes()

    # ------------------------------------------------------------------ set-up
    def add_market(self, question: str = "Will it rain in Chicago on Friday?", **options: Any) -> FakeMarket:
        number = next(self._market_ids)
        seed = hashlib.sha256(f"{question}|{number}".encode()).hexdigest()
        tokens = tuple(
            str(int(hashlib.sha256(f"{seed}|{i}".encode()).hexdigest(), 16) % 10**77) for i in (0, 1)
        )
        market = FakeMarket(
            condition_id="0x" + seed,
            question=question,
            outcomes=options.pop("outcomes", ("Yes", "No")),
            token_ids=(tokens[0], tokens[1]),
            **options,
        )
        self.markets[market.condition_id] = market
        return market

    def register_api_key(self, address: str, nonce: int = 0) -> ApiKey:
        seed = hashlib.sha256(f"{address.lower()}|{nonce}".encode()).digest()
        key = ApiKey(
            key=str(uuid.UUID(bytes=seed[:16])),
            secret=base64.urlsafe_b64encode(seed).decode(),
            passphrase=hashlib.sha256(seed).hexdigest(),
            address=address,
        )
        self.api_keys[key.key] = key
        self._keys_by_wallet[(address.lower(), nonce)] = key
        return key

    def set_quote(self, token_id: str, bid: Decimal | str, ask: Decimal | str) -> None:
        self.exchange.set_quote(token_id, bid, ask)

    def order_with_salt(self, salt: int) -> FakeOrder | None:
        for order_id, body in self.posted.items():
            if int(body["order"]["salt"]) == salt:
                return self.exchange.orders.get(order_id)
        return None

    def market_of_token(self, token_id: str) -> FakeMarket | None:
        return next((m for m in self.markets.values() if token_id in m.token_ids), None)

    # ------------------------------------------------------------------ checks the venue makes
    def _fee(self, token_id: str, quantity: Decimal, price: Decimal, maker: bool) -> Decimal:
        market = self.market_of_token(token_id)
        if market is None or maker:
            return Decimal(0)
        return polymarket_fee(quantity, price, rate=market.fee_rate, exponent=market.fee_exponent)

    def _l2(self, request: Request) -> ApiKey:
        headers = {k.upper(): v for k, v in request.headers.items()}
        key = self.api_keys.get(headers.get("POLY_API_KEY", ""))
        timestamp = headers.get("POLY_TIMESTAMP", "")
        if (
            key is None
            or headers.get("POLY_PASSPHRASE") != key.passphrase
            or headers.get("POLY_ADDRESS", "").lower() != key.address.lower()
            or not timestamp.isdigit()
            or abs(time.time() - int(timestamp)) > 300
        ):
            raise HttpError(401, UNAUTHORIZED)
        message = f"{timestamp}{request.method}{request.path}{request.raw_body}"
        digest = hmac.new(base64.urlsafe_b64decode(key.secret), message.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(
            base64.urlsafe_b64encode(digest).decode(), headers.get("POLY_SIGNATURE", "")
        ):
            raise HttpError(401, UNAUTHORIZED)
        return key

    def _l1(self, request: Request) -> tuple[str, int]:
        headers = {k.upper(): v for k, v in request.headers.items()}
        address, signature = headers.get("POLY_ADDRESS", ""), headers.get("POLY_SIGNATURE", "")
        timestamp, nonce = headers.get("POLY_TIMESTAMP", ""), headers.get("POLY_NONCE", "0")
        if not (address and signature and timestamp and nonce.isdigit()):
            raise HttpError(401, "Invalid L1 Request headers")
        typed = {
            "types": {
                "EIP712Domain": _DOMAIN_FIELDS[:3],
                "ClobAuth": [
                    {"name": "address", "type": "address"},
                    {"name": "timestamp", "type": "string"},
                    {"name": "nonce", "type": "uint256"},
                    {"name": "message", "type": "string"},
                ],
            },
            "primaryType": "ClobAuth",
            "domain": {"name": "ClobAuthDomain", "version": "1", "chainId": self.chain_id},
            "message": {
                "address": address,
                "timestamp": timestamp,
                "nonce": int(nonce),
                "message": "This message attests that I control the given wallet",
            },
        }
        try:
            signer = Account.recover_message(encode_typed_data(full_message=typed), signature=signature)
        except Exception:
            raise HttpError(401, "Invalid L1 Request headers") from None
        if signer.lower() != address.lower():
            raise HttpError(401, "Invalid L1 Request headers")
        return address, int(nonce)

    def order_hash_and_signer(self, order: Mapping[str, Any], neg_risk: bool) -> tuple[str, str]:
        """The order's EIP-712 hash (its order id) and the address that signed it."""
        typed = {
            "types": {"EIP712Domain": _DOMAIN_FIELDS, "Order": _ORDER_FIELDS},
            "primaryType": "Order",
            "domain": {
                "name": "Polymarket CTF Exchange",
                "version": "2",
                "chainId": self.chain_id,
                "verifyingContract": NEG_RISK_EXCHANGE_V2 if neg_risk else EXCHANGE_V2,
            },
            "message": {
                "salt": int(order["salt"]),
                "maker": order["maker"],
                "signer": order["signer"],
                "tokenId": int(order["tokenId"]),
                "makerAmount": int(order["makerAmount"]),
                "takerAmount": int(order["takerAmount"]),
                "side": 0 if order["side"] == "BUY" else 1,
                "signatureType": int(order["signatureType"]),
                "timestamp": int(order["timestamp"]),
                "metadata": bytes.fromhex(str(order["metadata"])[2:].zfill(64)),
                "builder": bytes.fromhex(str(order["builder"])[2:].zfill(64)),
            },
        }
        signable = encode_typed_data(full_message=typed)
        order_hash = "0x" + keccak(b"\x19" + signable.version + signable.header + signable.body).hex()
        signer = Account.recover_message(signable, signature=order["signature"])
        return order_hash, signer

    # ------------------------------------------------------------------ rendering
    def render_order(self, order: FakeOrder) -> dict[str, Any]:
        status = {"open": "LIVE", "partially_filled": "LIVE", "filled": "MATCHED"}.get(
            order.status, "CANCELED"
        )
        return {
            "id": order.id,
            "status": status,
            "owner": order.extra["owner"],
            "maker_address": order.extra["maker"],
            "market": order.extra["market"],
            "asset_id": order.symbol,
            "side": order.side.upper(),
            "original_size": _amount(order.quantity),
            "size_matched": _amount(order.filled),
            "price": _amount(order.limit_price or Decimal(0)),
            "outcome": order.extra["outcome"],
            "expiration": "0",
            "order_type": str(order.extra["order_type"]),
            "associate_trades": [_trade_id(f) for f in self.exchange.fills if f.order_id == order.id],
            "created_at": int(order.created_at.timestamp()),
        }

    def render_trade(self, fill: FakeFill) -> dict[str, Any]:
        order = self.exchange.orders[fill.order_id]
        market = self.market_of_token(fill.symbol)
        outcome = str(order.extra["outcome"])
        ours = {
            "order_id": order.id,
            "owner": order.extra["owner"],
            "maker_address": order.extra["maker"],
            "matched_amount": _amount(fill.quantity),
            "price": _amount(fill.price),
            "fee_rate_bps": "0",
            "asset_id": fill.symbol,
            "outcome": outcome,
            "side": fill.side.upper(),
        }
        counterparty = "0x" + hashlib.sha256(f"counterparty|{fill.id}".encode()).hexdigest()
        taker_bps = str(int((market.fee_rate if market else Decimal(0)) * 10_000))
        base = {
            "id": _trade_id(fill),
            "market": order.extra["market"],
            "asset_id": fill.symbol,
            "size": _amount(fill.quantity),
            "price": _amount(fill.price),
            "status": "CONFIRMED",
            "match_time": str(int(fill.time.timestamp())),
            "last_update": str(int(fill.time.timestamp())),
            "outcome": outcome,
            "bucket_index": 0,
            "transaction_hash": "0x" + hashlib.sha256(f"tx|{fill.id}".encode()).hexdigest(),
        }
        if fill.maker:  # someone else's order crossed ours
            other_side = "SELL" if fill.side == "buy" else "BUY"
            return base | {
                "taker_order_id": counterparty,
                "side": other_side,
                "fee_rate_bps": taker_bps,
                "owner": "counterparty-owner",
                "maker_address": COUNTERPARTY,
                "maker_orders": [ours],
                "trader_side": "MAKER",
            }
        theirs = ours | {
            "order_id": counterparty,
            "owner": "counterparty-owner",
            "maker_address": COUNTERPARTY,
            "side": "SELL" if fill.side == "buy" else "BUY",
        }
        return base | {
            "taker_order_id": order.id,
            "side": fill.side.upper(),
            "fee_rate_bps": taker_bps,
            "owner": order.extra["owner"],
            "maker_address": order.extra["maker"],
            "maker_orders": [theirs],
            "trader_side": "TAKER",
        }

    def render_book(self, market: FakeMarket, token_id: str) -> dict[str, Any]:
        explicit = self.book_levels.get(token_id)
        if explicit is not None:
            bids, asks = explicit.get("bids", []), explicit.get("asks", [])
        else:
            quote = self.exchange.quotes.get(token_id)
            bids, asks = [], []
            if quote is not None:
                bid, ask, tick = quote[0], quote[1], market.tick
                # best levels in the middle of the arrays: a client must not take either end
                bids = [_level(p) for p in (bid - 2 * tick, bid, bid - tick) if p > 0]
                asks = [_level(p) for p in (ask + 2 * tick, ask, ask + tick) if p < 1]
        return {
            "market": market.condition_id,
            "asset_id": token_id,
            "timestamp": str(int(time.time() * 1000)),
            "hash": hashlib.sha1(f"{token_id}|{bids}|{asks}".encode()).hexdigest(),
            "bids": bids,
            "asks": asks,
            "min_order_size": _amount(market.min_size),
            "tick_size": _amount(market.tick),
            "neg_risk": market.neg_risk,
            "last_trade_price": "0.500",
        }

    def _page(self, items: list[dict[str, Any]], cursor: str | None) -> dict[str, Any]:
        start = int(base64.b64decode(cursor or INITIAL_CURSOR).decode())
        if start < 0:
            start = len(items)
        page = items[start : start + self.page_size]
        end = start + len(page)
        next_cursor = END_CURSOR if end >= len(items) else base64.b64encode(str(end).encode()).decode()
        return {"data": page, "next_cursor": next_cursor, "limit": self.page_size, "count": len(page)}

    # ------------------------------------------------------------------ routes
    def _register_routes(self) -> None:
        route = self.server.route
        route("GET", r"/ok")(lambda request, match: "OK")
        route("GET", r"/time")(lambda request, match: int(time.time()))
        route("GET", r"/version")(lambda request, match: {"version": 2})
        route("GET", r"/markets")(self._markets)
        route("GET", r"/book")(self._book)
        route("GET", r"/prices-history")(self._prices_history)
        route("GET", r"/tick-size")(
            lambda request, match: {"minimum_tick_size": float(self._token_market(request).tick)}
        )
        route("GET", r"/neg-risk")(lambda request, match: {"neg_risk": self._token_market(request).neg_risk})
        route("POST", r"/auth/api-key")(self._create_api_key)
        route("GET", r"/auth/derive-api-key")(self._derive_api_key)
        route("POST", r"/order")(self._post_order)
        route("DELETE", r"/order")(self._cancel_order)
        route("GET", r"/data/order/(?P<order_id>0x[0-9a-fA-F]+)")(self._get_order)
        route("GET", r"/data/orders")(self._open_orders)
        route("GET", r"/data/trades")(self._trades)
        route("GET", r"/balance-allowance")(self._balance_allowance)

    def _token_market(self, request: Request) -> FakeMarket:
        market = self.market_of_token(request.query.get("token_id", ""))
        if market is None:
            raise HttpError(404, "No orderbook exists for the requested token id")
        return market

    def _markets(self, request: Request, match: Any) -> Any:
        wanted = request.query.get("condition_ids")
        if wanted is None:  # the CLOB's own /markets listing, which the adapter does not use
            return {"data": [], "next_cursor": END_CURSOR, "limit": 0, "count": 0}
        ids = {part.strip().lower() for part in wanted.split(",")}
        return [m.gamma_json() for m in self.markets.values() if m.condition_id in ids]

    def _book(self, request: Request, match: Any) -> Any:
        token_id = request.query.get("token_id", "")
        return self.render_book(self._token_market(request), token_id)

    def _prices_history(self, request: Request, match: Any) -> Any:
        points = self.price_history.get(request.query.get("market", ""), [])
        start = int(request.query.get("startTs", "0"))
        end = int(request.query.get("endTs", str(2**62)))
        return {"history": [p for p in points if start <= int(p["t"]) <= end]}

    def _create_api_key(self, request: Request, match: Any) -> Any:
        address, nonce = self._l1(request)
        if (address.lower(), nonce) in self._keys_by_wallet:  # the SDK then falls back to deriving it
            raise HttpError(400, "Could not create api key")
        key = self.register_api_key(address, nonce)
        return {"apiKey": key.key, "secret": key.secret, "passphrase": key.passphrase}

    def _derive_api_key(self, request: Request, match: Any) -> Any:
        address, nonce = self._l1(request)
        key = self._keys_by_wallet.get((address.lower(), nonce))
        if key is None:
            raise HttpError(400, "Could not derive api key!")
        return {"apiKey": key.key, "secret": key.secret, "passphrase": key.passphrase}

    def _post_order(self, request: Request, match: Any) -> Any:
        key = self._l2(request)
        body = request.body
        if not isinstance(body, dict) or not isinstance(body.get("order"), dict):
            raise HttpError(400, "Invalid order payload")
        order = body["order"]
        if body.get("owner") != key.key:
            raise HttpError(400, "the order owner has to be the owner of the API KEY")
        order_type = str(body.get("orderType", "GTC")).upper()
        market = self.market_of_token(str(order.get("tokenId")))
        if market is None:
            raise HttpError(400, f"invalid token id {order.get('tokenId')}")
        try:
            order_id, signer = self.order_hash_and_signer(order, market.neg_risk)
        except (KeyError, ValueError, TypeError) as exc:
            raise HttpError(400, f"Invalid order payload: {exc}") from None
        if signer.lower() != str(order["signer"]).lower() or signer.lower() != key.address.lower():
            raise HttpError(400, "invalid signature")
        if market.closed or not market.accepting_orders:
            raise HttpError(400, "the market is not accepting orders")
        side = str(order["side"])
        maker_amount, taker_amount = Decimal(order["makerAmount"]), Decimal(order["takerAmount"])
        shares, cash = (taker_amount, maker_amount) if side == "BUY" else (maker_amount, taker_amount)
        size, price = shares / UNIT, cash / shares
        if price % market.tick or not market.tick <= price <= 1 - market.tick:
            raise HttpError(400, f"invalid price ({price}), min: {market.tick} - max: {1 - market.tick}")
        if size % Decimal("0.01") or size < market.min_size:
            raise HttpError(400, f"Size ({size}) lower than the minimum: {market.min_size}")
        if order_id in self.exchange.orders:
            raise HttpError(400, f"order {order_id} is already placed")  # UNVERIFIED wording and behaviour
        quote = self.exchange.quotes.get(str(order["tokenId"]))
        crosses = quote is not None and (quote[1] <= price if side == "BUY" else quote[0] >= price)
        if order_type in ("FAK", "FOK") and not crosses:
            raise HttpError(400, f"no orders found to match with {order_type} order")  # UNVERIFIED wording
        try:
            placed = self.exchange.place(
                str(order["tokenId"]),
                side.lower(),
                size,
                "limit",
                limit_price=price,
                time_in_force=order_type.lower(),
                order_id=order_id,
                extra={
                    "owner": key.key,
                    "maker": order["maker"],
                    "market": market.condition_id,
                    "outcome": market.outcomes[market.token_ids.index(str(order["tokenId"]))],
                    "order_type": order_type,
                },
            )
        except OrderRefused as refused:  # FakeExchange.reject_next: the venue's own reason
            return self._refuse(str(refused))
        self.posted[order_id] = body
        fills = [f for f in self.exchange.fills if f.order_id == placed.id]
        matched, notional = placed.filled, placed.filled_notional
        making, taking = (notional, matched) if side == "BUY" else (matched, notional)
        return {
            "success": True,
            "errorMsg": "",
            "orderID": order_id,
            "status": "matched" if matched > 0 else "live",
            "makingAmount": _amount(making) if matched > 0 else "",
            "takingAmount": _amount(taking) if matched > 0 else "",
            "transactionsHashes": ["0x" + hashlib.sha256(f"tx|{f.id}".encode()).hexdigest() for f in fills],
            "tradeIDs": [_trade_id(f) for f in fills],
        }

    def _refuse(self, reason: str) -> Any:
        if self.refusal_style == "body":
            return {"success": False, "errorMsg": reason, "orderID": "", "status": "", "tradeIDs": []}
        raise HttpError(400, reason)

    def _owned(self, key: ApiKey, order_id: str) -> FakeOrder | None:
        order = self.exchange.orders.get(order_id.lower())
        return order if order is not None and order.extra.get("owner") == key.key else None

    def _get_order(self, request: Request, match: Any) -> Any:
        key = self._l2(request)
        order = self._owned(key, match["order_id"])
        if order is None:
            if self.unknown_order_style == "null":
                return Response(200, "null")
            raise HttpError(404, "order not found")
        return self.render_order(order)

    def _open_orders(self, request: Request, match: Any) -> Any:
        key = self._l2(request)
        query = request.query
        listed = [
            self.render_order(o)
            for o in self.exchange.open_orders()
            if o.extra.get("owner") == key.key
            and query.get("market") in (None, o.extra["market"])
            and query.get("asset_id") in (None, o.symbol)
            and query.get("id") in (None, o.id)
        ]
        return self._page(listed, query.get("next_cursor"))

    def _trades(self, request: Request, match: Any) -> Any:
        key = self._l2(request)
        query = request.query
        after = int(query.get("after", "0"))
        rendered = [
            self.render_trade(f)
            for f in self.exchange.fills
            if self.exchange.orders[f.order_id].extra.get("owner") == key.key
            and int(f.time.timestamp()) >= after
            and query.get("id") in (None, _trade_id(f))
        ]
        return self._page(rendered, query.get("next_cursor"))

    def _cancel_order(self, request: Request, match: Any) -> Any:
        key = self._l2(request)
        order_id = (
            str((request.body or {}).get("orderID", "")).lower() if isinstance(request.body, dict) else ""
        )
        order = self._owned(key, order_id)
        if order is None:
            return {"canceled": [], "not_canceled": {order_id: "order not found"}}
        if not order.is_open:
            return {"canceled": [], "not_canceled": {order_id: "already canceled or matched"}}
        self.exchange.cancel(order.id)
        return {"canceled": [order.id], "not_canceled": {}}

    def _balance_allowance(self, request: Request, match: Any) -> Any:
        self._l2(request)
        asset_type = request.query.get("asset_type", "")
        if asset_type == "COLLATERAL":
            amount = self.exchange.cash
        elif asset_type == "CONDITIONAL":
            held = self.exchange.positions.get(request.query.get("token_id", ""))
            amount = max(held.quantity, Decimal(0)) if held is not None else Decimal(0)
        else:
            raise HttpError(400, f"invalid asset_type {asset_type!r}")
        max_uint = str(2**256 - 1)
        return {
            "balance": str(int(amount * UNIT)),
            "allowances": {EXCHANGE_V2: max_uint, NEG_RISK_EXCHANGE_V2: max_uint},
        }


def _amount(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _level(price: Decimal) -> dict[str, str]:
    return {"price": _amount(price), "size": "100.00"}


def _trade_id(fill: FakeFill) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_OID, f"polymarket-trade|{fill.id}|{fill.order_id}"))


def unsorted(levels: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """Explicit book levels for `FakePolymarket.books`, in the order given."""
    return [{"price": price, "size": size} for price, size in levels]
