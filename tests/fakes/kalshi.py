"""A fake Kalshi Trade API v2 over HTTP: the real paths under /trade-api/v2, the current wire format.

It speaks what Kalshi speaks after the 2026-03-12 format change (prediction-markets.md
§1.3-1.6): money as `*_dollars` strings, counts as `*_fp` strings, the order book as
`orderbook_fp` bids on both sides, errors as `{"error": {"code", "message", "details"}}`.

Authentication is checked the way Kalshi checks it: `KALSHI-ACCESS-KEY` must be the
known key id, `KALSHI-ACCESS-TIMESTAMP` (milliseconds) fresh, and
`KALSHI-ACCESS-SIGNATURE` an RSA-PSS signature (SHA-256, MGF1 SHA-256, salt = digest
length) of `timestamp + METHOD + path` (the path with /trade-api/v2, without the query)
under the key's public half. Portfolio endpoints require it; market data endpoints
check it when it is sent. Anything else is a 401.

Behind it sits a `FakeExchange` holding the YES contract of each market: a buy of
YES is a buy there, a sell of YES (or a buy of NO) a sell. Takers pay Kalshi's
quadratic fee, computed here in integer cents independently of domain.fees
(`ceil(7 * C * Pc * (100 - Pc) / 10_000)`); makers pay nothing (`fee_type` quadratic).
"""

from __future__ import annotations

import base64
import math
import re
import time
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.fakes.exchange import DuplicateOrder, FakeExchange, FakeOrder, OrderRefused, UnknownOrder
from tests.fakes.server import FakeVenueServer, Request, Response, ServedFake

PREFIX = "/trade-api/v2"
TICKER = r"(?P<ticker>[A-Za-z0-9.\-]+)"
ONE = Decimal(1)

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict"}
_STATUS = {
    "open": "resting",
    "partially_filled": "resting",
    "filled": "executed",
    "canceled": "canceled",
    "expired": "canceled",  # an IOC remainder: Kalshi reports it canceled
}
# `GET /markets?status=` filter values -> the market `status` values each one selects. The docs
# say only that the two vocabularies differ (prediction-markets.md §1.3); this mapping is our
# reading of them, not something Kalshi states. `inactive`, `disputed` and `amended` markets
# are selected by no filter here, only by an unfiltered listing.
_LISTING_STATUSES = {
    "unopened": frozenset({"initialized"}),
    "open": frozenset({"active"}),
    "closed": frozenset({"closed", "determined"}),
    "settled": frozenset({"finalized", "settled"}),
}
_TIME_IN_FORCE = {
    "good_till_canceled": "gtc",
    "immediate_or_cancel": "ioc",
    "fill_or_kill": "fok",
}
_MONEY = re.compile(r"\d+(\.\d{1,4})?")
_COUNT = re.compile(r"\d+(\.\d{1,2})?")
_TIERS = {
    "linear_cent": (("0.0000", "1.0000", "0.0100"),),
    "deci_cent": (("0.0000", "1.0000", "0.0010"),),
    "tapered_deci_cent": (
        ("0.0000", "0.1000", "0.0010"),
        ("0.1000", "0.9000", "0.0100"),
        ("0.9000", "1.0000", "0.0010"),
    ),
}


def kalshi_taker_fee(symbol: str, quantity: Decimal, price: Decimal, maker: bool) -> Decimal:
    """Kalshi's quadratic fee in whole cents, from the integer form of the fee schedule."""
    if maker:
        return Decimal(0)
    cents = Fraction(price) * 100
    fee_cents = math.ceil(Fraction(7) * Fraction(quantity) * cents * (100 - cents) / 10_000)
    return Decimal(fee_cents) / 100


def dollars(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.0001")))


def count(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def bid_levels(best: Decimal) -> list[list[str]]:
    """One side of `orderbook_fp`: [price, count] levels ascending by price, so the best bid comes last."""
    levels = ((best - Decimal("0.05"), Decimal(40)), (best, Decimal(100)))
    return [[dollars(price), count(size)] for price, size in levels if price > 0]


def error_body(status: int, reason: str) -> Any:
    if status == 429:
        return {"error": reason}  # what third parties saw on a 429: a bare string
    return {"error": {"code": _CODES.get(status, "internal_server_error"), "message": reason, "details": ""}}


def fail(status: int, code: str, message: str, details: str = "") -> Response:
    return Response(status, {"error": {"code": code, "message": message, "details": details}})


class FakeKalshi(ServedFake):
    """The fake venue; `base_url` is what VenueSettings.base_url should say."""

    def __init__(self, key_id: str, public_key: rsa.RSAPublicKey, cash: Decimal = Decimal("1000")) -> None:
        self.key_id = key_id
        self.public_key = public_key
        self.exchange = FakeExchange(cash=cash, fee=kalshi_taker_fee)
        self.server = FakeVenueServer("kalshi", error_body=error_body)
        self.markets: dict[str, dict[str, Any]] = {}
        self.series: dict[str, dict[str, Any]] = {}
        self.books: dict[str, Any] = {}  # a raw `GET .../orderbook` answer, overriding the quote
        self.listing: Any = None  # a raw `GET /markets` answer, overriding the listing when set
        self.results: dict[str, dict[str, Any]] = {}  # ticker -> its status and result once settled
        self.candlesticks: dict[str, list[dict[str, Any]]] = {}
        self.page_cap = 200  # the most items one page holds, whatever `limit` asks
        self.timestamp_window_ms = 10_000
        self.auth_failures: list[str] = []
        self._register()

    # ------------------------------------------------------------------ set-up
    @property
    def base_url(self) -> str:
        return self.server.url + PREFIX

    def add_market(
        self,
        ticker: str,
        *,
        price_level_structure: str = "linear_cent",
        fractional: bool = False,
        status: str = "active",
        fee_type: str = "quadratic",
        fee_multiplier: float = 1,
    ) -> None:
        event = ticker.rsplit("-", 1)[0]
        series = ticker.split("-", 1)[0]
        self.markets[ticker] = {
            "ticker": ticker,
            "event_ticker": event,
            "market_type": "binary",
            "status": status,
            "price_level_structure": price_level_structure,
            "fractional_trading_enabled": fractional,
        }
        self.series.setdefault(
            series,
            {
                "ticker": series,
                "frequency": "daily",
                "title": f"Series {series}",
                "category": "Climate and Weather",
                "tags": ["Weather"],
                "settlement_sources": [
                    {"name": "National Weather Service", "url": "https://www.weather.gov/"}
                ],
                "contract_url": "",
                "fee_type": fee_type,
                "fee_multiplier": fee_multiplier,
            },
        )

    def settle_market(
        self, ticker: str, result: str, *, status: str = "finalized", settled_at: datetime | None = None
    ) -> None:
        """The market's result is in: its status, `result` and `settlement_ts` say so (as the
        current API does; `settled_at` None leaves `settlement_ts` out), its book empties and
        the positions in it are paid out (a YES contract at $1 on `yes`, NO at $1 on `no`)."""
        overrides: dict[str, Any] = {"status": status, "result": result}
        if settled_at is not None:
            overrides["settlement_ts"] = iso(settled_at)
        self.results[ticker] = overrides
        if result not in ("yes", "no"):
            return
        with self.exchange.lock:
            self.exchange.quotes.pop(ticker, None)
            position = self.exchange.positions.pop(ticker, None)
            if position is not None:
                # YES held is paid its YES value; NO held (a negative YES position) 1 - that
                value = ONE if result == "yes" else Decimal(0)
                paid = value if position.quantity > 0 else ONE - value
                self.exchange.cash += abs(position.quantity) * paid

    def order_by_client_id(self, client_order_id: str) -> FakeOrder | None:
        return self.exchange.find_client(client_order_id)

    # ------------------------------------------------------------------ authentication
    def _authenticate(self, request: Request, required: bool) -> Response | None:
        headers = {key.lower(): value for key, value in request.headers.items()}
        key = headers.get("kalshi-access-key")
        stamp = headers.get("kalshi-access-timestamp")
        signature = headers.get("kalshi-access-signature")
        if key is None and stamp is None and signature is None and not required:
            return None
        if not (key and stamp and signature):
            return self._refuse("missing KALSHI-ACCESS-KEY, -TIMESTAMP or -SIGNATURE header")
        if key != self.key_id:
            return self._refuse("unknown API key")
        if not stamp.isdigit() or abs(time.time() * 1000 - int(stamp)) > self.timestamp_window_ms:
            return self._refuse("request timestamp is missing or stale")
        message = f"{stamp}{request.method}{request.path}".encode()
        try:
            self.public_key.verify(
                base64.b64decode(signature),
                message,
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),
                hashes.SHA256(),
            )
        except (InvalidSignature, ValueError):
            return self._refuse("invalid signature")
        return None

    def _refuse(self, why: str) -> Response:
        self.auth_failures.append(why)
        return fail(401, "authentication_error", f"authentication failed: {why}")

    def _register(self) -> None:
        routes = [
            ("GET", r"/markets", self._market_list, False),
            ("GET", rf"/markets/{TICKER}", self._market, False),
            ("GET", rf"/markets/{TICKER}/orderbook", self._orderbook, False),
            ("GET", r"/series/(?P<series>[A-Za-z0-9]+)", self._series, False),
            ("GET", rf"/series/(?P<series>[A-Za-z0-9]+)/markets/{TICKER}/candlesticks", self._candles, False),
            ("GET", r"/portfolio/balance", self._balance, True),
            ("GET", r"/portfolio/positions", self._positions, True),
            ("GET", r"/portfolio/orders", self._orders, True),
            ("POST", r"/portfolio/orders", self._create, True),
            ("GET", r"/portfolio/orders/(?P<order_id>[^/]+)", self._order, True),
            ("DELETE", r"/portfolio/orders/(?P<order_id>[^/]+)", self._cancel, True),
            ("GET", r"/portfolio/fills", self._fills, True),
        ]
        for method, pattern, handler, signed in routes:
            self.server.route(method, PREFIX + pattern)(self._guarded(handler, signed))

    def _guarded(self, handler: Any, required: bool) -> Any:
        def serve(request: Request, match: re.Match[str]) -> Any:
            refusal = self._authenticate(request, required)
            return refusal if refusal is not None else handler(request, match)

        return serve

    # ------------------------------------------------------------------ market data
    def _quote(self, ticker: str) -> tuple[Decimal, Decimal] | None:
        with self.exchange.lock:
            return self.exchange.quotes.get(ticker)

    def _render_market(self, ticker: str) -> dict[str, Any]:
        meta = self.markets[ticker]
        quote = self._quote(ticker)
        bid, ask = quote if quote is not None else (Decimal(0), Decimal(0))
        return {
            **meta,
            "yes_sub_title": "38° to 39°",
            "no_sub_title": "38° to 39°",
            "created_time": "2026-02-07T15:00:00Z",
            "updated_time": iso(datetime.now(UTC)),
            "open_time": "2026-02-08T15:00:00Z",
            "close_time": "2026-02-10T05:59:00Z",
            "latest_expiration_time": "2026-02-17T15:00:00Z",
            "settlement_timer_seconds": 3600,
            "yes_bid_dollars": dollars(bid),
            "yes_ask_dollars": dollars(ask),
            "no_bid_dollars": dollars(ONE - ask) if quote else "0.0000",
            "no_ask_dollars": dollars(ONE - bid) if quote else "0.0000",
            "last_price_dollars": dollars(bid),
            "previous_yes_bid_dollars": "0.0000",
            "previous_yes_ask_dollars": "0.0000",
            "previous_price_dollars": "0.0000",
            "notional_value_dollars": "1.0000",
            "yes_bid_size_fp": "100.00",
            "yes_ask_size_fp": "100.00",
            "volume_fp": "0.00",
            "volume_24h_fp": "0.00",
            "open_interest_fp": "0.00",
            "result": "",
            "can_close_early": True,
            "settlement_bounds_type": "default",
            "expiration_value": "",
            "rules_primary": "If the highest temperature recorded at Chicago Midway, IL ...",
            "rules_secondary": "",
            "price_ranges": [
                {"start": start, "end": end, "step": step}
                for start, end, step in _TIERS[meta["price_level_structure"]]
            ],
            "strike_type": "between",
            "floor_strike": 38,
            "cap_strike": 39,
            **self.results.get(ticker, {}),
        }

    def _known(self, ticker: str) -> Response | None:
        if ticker not in self.markets:
            return fail(404, "market_not_found", f"market {ticker} not found")
        return None

    def _market(self, request: Request, match: re.Match[str]) -> Any:
        ticker = match["ticker"]
        return self._known(ticker) or {"market": self._render_market(ticker)}

    def _market_list(self, request: Request, match: re.Match[str]) -> Any:
        """`GET /markets`: filtered by `series_ticker`, `event_ticker` and `status`, paged by `_page`."""
        if self.listing is not None:
            return self.listing
        query = request.query
        wanted_status = query.get("status")
        if wanted_status and wanted_status not in _LISTING_STATUSES:
            return fail(
                400,
                "invalid_parameters",
                f"status {wanted_status!r} is not one of {', '.join(_LISTING_STATUSES)}",
            )
        rows = []
        for ticker in list(self.markets):
            market = self._render_market(ticker)
            if query.get("series_ticker") and ticker.split("-", 1)[0] != query["series_ticker"]:
                continue
            if query.get("event_ticker") and market["event_ticker"] != query["event_ticker"]:
                continue
            if wanted_status and market["status"] not in _LISTING_STATUSES[wanted_status]:
                continue
            rows.append(market)
        return self._page(request, "markets", rows)

    def _orderbook(self, request: Request, match: re.Match[str]) -> Any:
        ticker = match["ticker"]
        missing = self._known(ticker)
        if missing is not None:
            return missing
        if ticker in self.books:
            return self.books[ticker]
        quote = self._quote(ticker)
        if quote is None:
            return {"orderbook_fp": {"yes_dollars": [], "no_dollars": []}}
        bid, ask = quote
        # a NO bid at 1 - ask is the YES ask; each side carries its best bid and a worse one below it
        return {"orderbook_fp": {"yes_dollars": bid_levels(bid), "no_dollars": bid_levels(ONE - ask)}}

    def _series(self, request: Request, match: re.Match[str]) -> Any:
        series = self.series.get(match["series"])
        if series is None:
            return fail(404, "series_not_found", f"series {match['series']} not found")
        return {"series": series}

    def _candles(self, request: Request, match: re.Match[str]) -> Any:
        ticker = match["ticker"]
        missing = self._known(ticker)
        if missing is not None:
            return missing
        query = request.query
        try:
            start, end = int(query["start_ts"]), int(query["end_ts"])
            period = int(query["period_interval"])
        except (KeyError, ValueError):
            return fail(400, "invalid_parameters", "start_ts, end_ts and period_interval are required")
        if period not in (1, 60, 1440):
            return fail(400, "invalid_parameters", "period_interval must be 1, 60 or 1440")
        candles = [c for c in self.candlesticks.get(ticker, []) if start <= c["end_period_ts"] <= end]
        return {"ticker": ticker, "candlesticks": candles}

    # ------------------------------------------------------------------ portfolio
    def _balance(self, request: Request, match: re.Match[str]) -> Any:
        with self.exchange.lock:
            cash = self.exchange.cash
        return {"balance_dollars": dollars(cash), "updated_ts": int(time.time())}

    def _positions(self, request: Request, match: re.Match[str]) -> Any:
        with self.exchange.lock:
            held = list(self.exchange.positions.values())
        rows = []
        for position in held:
            if position.quantity == 0 and request.query.get("count_filter") == "position":
                continue
            # NO contracts (a negative YES position) cost 1 - p each
            per_contract = position.average_price if position.quantity > 0 else ONE - position.average_price
            rows.append(
                {
                    "ticker": position.symbol,
                    "position_fp": count(position.quantity),
                    "market_exposure_dollars": dollars(abs(position.quantity) * per_contract),
                    "total_traded_dollars": dollars(abs(position.quantity) * per_contract),
                    "realized_pnl_dollars": "0.0000",
                    "fees_paid_dollars": "0.0000",
                    "last_updated_ts": iso(datetime.now(UTC)),
                }
            )
        return self._page(request, "market_positions", rows, extra={"event_positions": []})

    def _page(
        self, request: Request, key: str, rows: list[dict[str, Any]], extra: dict[str, Any] | None = None
    ) -> Any:
        """One page of `rows`: `limit` (1-200 for orders and fills) capped by `page_cap`, an opaque cursor."""
        try:
            limit = int(request.query.get("limit", "100"))
        except ValueError:
            return fail(400, "invalid_parameters", "limit must be an integer")
        if not 1 <= limit <= 1000:
            return fail(400, "invalid_parameters", f"limit {limit} outside 1..1000")
        cursor = request.query.get("cursor", "")
        offset = int(base64.b64decode(cursor).decode()) if cursor else 0
        size = min(limit, self.page_cap)
        chunk = rows[offset : offset + size]
        following = offset + size
        next_cursor = base64.b64encode(str(following).encode()).decode() if following < len(rows) else ""
        return {key: chunk, "cursor": next_cursor, **(extra or {})}

    def _render_order(self, order: FakeOrder) -> dict[str, Any]:
        assert order.limit_price is not None
        sent = order.extra
        buys_yes = order.side == "buy"
        with self.exchange.lock:
            fills = [f for f in self.exchange.fills if f.order_id == order.id]
        # a fill's cost is what the side pays per contract: the YES price on the bid, the NO price on the ask
        cost = {True: Decimal(0), False: Decimal(0)}
        fees = {True: Decimal(0), False: Decimal(0)}
        for fill in fills:
            per_contract = fill.price if buys_yes else ONE - fill.price
            cost[fill.maker] += fill.quantity * per_contract
            fees[fill.maker] += fill.fee
        return {
            "order_id": order.id,
            "user_id": "fake-user-1",
            "client_order_id": order.client_id or "",
            "ticker": order.symbol,
            "side": sent.get("side", "yes"),
            "action": sent.get("action", "buy"),
            "outcome_side": "yes" if buys_yes else "no",
            "book_side": "bid" if buys_yes else "ask",
            "type": "limit",
            "status": _STATUS[order.status],
            "yes_price_dollars": dollars(order.limit_price),
            "no_price_dollars": dollars(ONE - order.limit_price),
            "fill_count_fp": count(order.filled),
            "remaining_count_fp": count(order.remaining if order.is_open else Decimal(0)),
            "initial_count_fp": count(order.quantity),
            "taker_fill_cost_dollars": dollars(cost[False]),
            "maker_fill_cost_dollars": dollars(cost[True]),
            "taker_fees_dollars": dollars(fees[False]),
            "maker_fees_dollars": dollars(fees[True]),
            "expiration_time": None,
            "created_time": iso(order.created_at),
            "last_update_time": iso(order.updated_at),
            "self_trade_prevention_type": None,
            "order_group_id": None,
            "cancel_order_on_pause": False,
        }

    def _expire_due(self) -> None:
        """Resting orders whose `expiration_ts` has passed are canceled, as Kalshi does at that time."""
        now = time.time()
        with self.exchange.lock:
            for order in self.exchange.orders.values():
                expires = order.extra.get("expiration_ts")
                if order.is_open and isinstance(expires, int) and expires <= now:
                    order.status = "canceled"

    def _orders(self, request: Request, match: re.Match[str]) -> Any:
        self._expire_due()
        query = request.query
        with self.exchange.lock:
            orders = sorted(self.exchange.orders.values(), key=lambda o: o.created_at, reverse=True)
        if query.get("ticker"):
            orders = [o for o in orders if o.symbol == query["ticker"]]
        status = query.get("status")
        if status:
            if status not in ("resting", "canceled", "executed"):
                return fail(
                    400, "invalid_parameters", f"status {status!r} is not resting, canceled or executed"
                )
            orders = [o for o in orders if _STATUS[o.status] == status]
        return self._page(request, "orders", [self._render_order(o) for o in orders])

    def _order(self, request: Request, match: re.Match[str]) -> Any:
        self._expire_due()
        try:
            order = self.exchange.get(match["order_id"])
        except UnknownOrder:
            return fail(404, "not_found", f"order {match['order_id']} not found")
        return {"order": self._render_order(order)}

    def _cancel(self, request: Request, match: re.Match[str]) -> Any:
        try:
            before = self.exchange.get(match["order_id"])
            remaining = before.remaining
            order = self.exchange.cancel(match["order_id"])
        except UnknownOrder:
            return fail(404, "not_found", f"order {match['order_id']} not found")
        except OrderRefused as refusal:
            return fail(404, "not_found", str(refusal))
        return {"order": self._render_order(order), "reduced_by_fp": count(remaining)}

    def _create(self, request: Request, match: re.Match[str]) -> Any:
        body = request.body
        if not isinstance(body, dict):
            return fail(400, "invalid_parameters", "the body must be a JSON object")
        problem = self._invalid(body)
        if problem is not None:
            return fail(400, "invalid_parameters", problem)
        ticker = body["ticker"]
        missing = self._known(ticker)
        if missing is not None:
            return missing
        side, action = body["side"], body["action"]
        if side == "yes":
            yes_price = Decimal(body["yes_price_dollars"])
        else:
            yes_price = ONE - Decimal(body["no_price_dollars"])
        grid_problem = self._off_grid(ticker, yes_price, Decimal(body["count_fp"]))
        if grid_problem is not None:
            return fail(400, "invalid_order", grid_problem)
        towards_yes = (side == "yes") == (action == "buy")
        try:
            order = self.exchange.place(
                symbol=ticker,
                side="buy" if towards_yes else "sell",
                quantity=Decimal(body["count_fp"]),
                order_type="limit",
                limit_price=yes_price,
                time_in_force=_TIME_IN_FORCE[body.get("time_in_force", "good_till_canceled")],
                client_id=body.get("client_order_id"),
                extra=body,
            )
        except DuplicateOrder as duplicate:
            return fail(
                409,
                "order_already_exists",
                "an order with this client_order_id already exists",
                f"client_order_id {duplicate.existing.client_id}",
            )
        except OrderRefused as refusal:
            return fail(400, "order_rejected", str(refusal))
        return Response(201, {"order": self._render_order(order)})

    def _invalid(self, body: dict[str, Any]) -> str | None:
        """What Kalshi's validation would refuse in a create-order body, if anything."""
        if "type" in body:
            return "type is no longer accepted: Kalshi has no market orders"
        if not isinstance(body.get("ticker"), str):
            return "ticker is required"
        if body.get("side") not in ("yes", "no") or body.get("action") not in ("buy", "sell"):
            return "side must be yes or no and action buy or sell"
        quantity = body.get("count_fp")
        if not isinstance(quantity, str) or not _COUNT.fullmatch(quantity) or Decimal(quantity) <= 0:
            return "count_fp must be a positive count string with at most 2 decimals"
        price_key = "yes_price_dollars" if body["side"] == "yes" else "no_price_dollars"
        price = body.get(price_key)
        if not isinstance(price, str) or not _MONEY.fullmatch(price) or not 0 < Decimal(price) < 1:
            return f"{price_key} must be a dollar string inside (0, 1) with at most 4 decimals"
        if body.get("time_in_force", "good_till_canceled") not in _TIME_IN_FORCE:
            return f"time_in_force {body.get('time_in_force')!r} is not supported"
        expiration = body.get("expiration_ts")
        if expiration is not None and (not isinstance(expiration, int) or isinstance(expiration, bool)):
            return "expiration_ts must be unix seconds"
        client_order_id = body.get("client_order_id")
        if client_order_id is not None and (
            not isinstance(client_order_id, str) or len(client_order_id) > 64
        ):
            return "client_order_id must be a string of at most 64 characters"
        return None

    def _off_grid(self, ticker: str, yes_price: Decimal, quantity: Decimal) -> str | None:
        meta = self.markets[ticker]
        tiers = [(Decimal(a), Decimal(b), Decimal(c)) for a, b, c in _TIERS[meta["price_level_structure"]]]
        if not any(
            start <= yes_price <= end and (yes_price - start) % step == 0 for start, end, step in tiers
        ):
            return f"price {yes_price} is not a valid price level for {ticker}"
        if not meta["fractional_trading_enabled"] and quantity % 1 != 0:
            return f"{ticker} does not allow fractional contracts"
        return None

    def _fills(self, request: Request, match: re.Match[str]) -> Any:
        query = request.query
        with self.exchange.lock:
            fills = sorted(self.exchange.fills, key=lambda f: f.time, reverse=True)
            orders = dict(self.exchange.orders)
        if query.get("min_ts"):
            fills = [f for f in fills if f.time.timestamp() >= int(query["min_ts"])]
        if query.get("ticker"):
            fills = [f for f in fills if f.symbol == query["ticker"]]
        if query.get("order_id"):
            fills = [f for f in fills if f.order_id == query["order_id"]]
        rows = []
        for fill in fills:
            sent = orders[fill.order_id].extra
            buys_yes = fill.side == "buy"
            rows.append(
                {
                    "fill_id": fill.id,
                    "trade_id": fill.id,
                    "order_id": fill.order_id,
                    "ticker": fill.symbol,
                    "market_ticker": fill.symbol,
                    "side": sent.get("side", "yes"),
                    "action": sent.get("action", "buy"),
                    "outcome_side": "yes" if buys_yes else "no",
                    "book_side": "bid" if buys_yes else "ask",
                    "count_fp": count(fill.quantity),
                    "yes_price_dollars": dollars(fill.price),
                    "no_price_dollars": dollars(ONE - fill.price),
                    "is_taker": not fill.maker,
                    "fee_cost": dollars(fill.fee),
                    "created_time": iso(fill.time),
                    "ts": int(fill.time.timestamp()),
                }
            )
        return self._page(request, "fills", rows)
