"""FakeAlpaca: Alpaca's trading API (/v2) and market-data API on one local FakeVenueServer.

It speaks Alpaca's real paths and JSON shapes over a `FakeExchange`:
- trading: `GET /v2/account`, `GET /v2/assets/{symbol}` (a pair's slash escaped:
  BTC%2FUSD), `POST /v2/orders`, `GET /v2/orders`, `GET /v2/orders/{id}`,
  `GET /v2/orders:by_client_order_id`, `DELETE /v2/orders/{id}` (204),
  `GET /v2/positions`, `GET /v2/account/activities/FILL`;
- data: `GET /v2/stocks/quotes/latest`, `GET /v2/stocks/bars`,
  `GET /v1beta3/crypto/us/latest/quotes`, `GET /v1beta3/crypto/us/bars`.

As Alpaca does, it answers 401 `{"code": 40110000, "message": "request is not authorized"}`
without both `APCA-API-KEY-ID` and `APCA-API-SECRET-KEY`; sends order, position,
activity and account numbers as strings and market data as JSON numbers; refuses
a known client order id with 422 "client_order_id must be unique", a purchase
beyond buying power with 403 "insufficient buying power", and prices off the
tick with 422. Order ids are UUIDs (alpaca-py insists on them for cancels).
Crypto positions and fill activities name the pair without its slash ("BTCUSD").
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote

from tests.fakes.exchange import (
    DuplicateOrder,
    FakeExchange,
    FakeFill,
    FakeOrder,
    OrderRefused,
    UnknownOrder,
)
from tests.fakes.server import FakeVenueServer, HttpError, Request, Response, ServedFake

API_KEY = "PKFAKE0123456789ABCD"
SECRET_KEY = "fakeSecretKey0123456789abcdefghijklmnopqr"
ACCOUNT_ID = "3f1c2f4e-9a7b-4c1d-8e2f-0a1b2c3d4e5f"

_ERROR_CODES = {400: 40010000, 401: 40110000, 403: 40310000, 404: 40410000, 422: 42210000, 429: 42910000}
_STOCK_TIME_IN_FORCE = {"day", "gtc", "opg", "cls", "ioc", "fok"}
_CRYPTO_TIME_IN_FORCE = {"gtc", "ioc", "fok"}


def alpaca_error_body(status: int, reason: str) -> dict[str, Any]:
    return {"code": _ERROR_CODES.get(status, status * 100_000), "message": reason}


def stock_asset(symbol: str, *, tradable: bool = True, fractionable: bool = True) -> dict[str, Any]:
    """A `us_equity` asset as `GET /v2/assets/SPY` returns it."""
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"alpaca-asset-{symbol}")),
        "class": "us_equity",
        "exchange": "ARCA",
        "symbol": symbol,
        "name": f"{symbol} test security",
        "status": "active",
        "tradable": tradable,
        "marginable": True,
        "maintenance_margin_requirement": 30,
        "margin_requirement_long": "30",
        "margin_requirement_short": "30",
        "shortable": True,
        "easy_to_borrow": True,
        "fractionable": fractionable,
        "attributes": ["fractional_eh_enabled", "has_options"],
    }


def crypto_asset(
    symbol: str,
    *,
    min_order_size: str = "0.000058",
    min_trade_increment: str = "0.000000001",
    price_increment: str = "1",
    tradable: bool = True,
) -> dict[str, Any]:
    """A crypto pair as `GET /v2/assets/BTC%2FUSD` returns it (increments are strings)."""
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"alpaca-asset-{symbol}")),
        "class": "crypto",
        "exchange": "CRYPTO",
        "symbol": symbol,
        "name": f"{symbol.split('/')[0]} / US Dollar",
        "status": "active",
        "tradable": tradable,
        "marginable": False,
        "maintenance_margin_requirement": 100,
        "shortable": False,
        "easy_to_borrow": False,
        "fractionable": True,
        "attributes": [],
        "min_order_size": min_order_size,
        "min_trade_increment": min_trade_increment,
        "price_increment": price_increment,
    }


def _text(value: Decimal | None) -> str | None:
    """Alpaca's decimal strings: "10", "99.5", "0.000123456" (no exponent, no trailing zeros)."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def _time(when: datetime | None, nanoseconds: bool = False) -> str | None:
    if when is None:
        return None
    base = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return (base + "123" if nanoseconds else base) + "Z"


def _decimal(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise HttpError(422, f"invalid {field}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise HttpError(422, f"invalid {field}: {value!r}") from None
    if not number.is_finite():
        raise HttpError(422, f"invalid {field}: {value!r}")
    return number


def _request_time(value: str | None, field: str) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise HttpError(422, f"invalid {field}: {value!r}") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


class FakeAlpaca(ServedFake):
    """One Alpaca account (trading and market data) on 127.0.0.1; tests drive `exchange` and the fields."""

    def __init__(
        self,
        cash: Decimal = Decimal("100000"),
        api_key: str = API_KEY,
        secret_key: str = SECRET_KEY,
    ) -> None:
        self.exchange = FakeExchange(cash=cash)
        self.server = FakeVenueServer("alpaca", error_body=alpaca_error_body)
        self.api_key, self.secret_key = api_key, secret_key
        self.assets: dict[str, dict[str, Any]] = {}
        # bars by (symbol, Alpaca timeframe such as "1Min"), each {"t","o","h","l","c","v","n","vw"}
        self.bars: dict[tuple[str, str], list[dict[str, Any]]] = {}
        # raw latest-quote entries that replace the book's quote (junk, zero sides, ...)
        self.quote_overrides: dict[str, Any] = {}
        self.account_overrides: dict[str, Any] = {}
        self.rate_limit_per_minute = 200  # Alpaca's default per account
        self.server.extra_headers = self._rate_limit_headers
        self._register()

    def _rate_limit_headers(self, request: Request) -> dict[str, str]:
        """Alpaca's X-RateLimit-* headers: requests left of the per-minute allowance."""
        recent = [r for r in self.server.requests if r.at > request.at - 60]
        remaining = max(0, self.rate_limit_per_minute - len(recent))
        return {"X-RateLimit-Limit": str(self.rate_limit_per_minute), "X-RateLimit-Remaining": str(remaining)}

    # ------------------------------------------------------------------ life
    def add_asset(self, asset: dict[str, Any]) -> None:
        self.assets[asset["symbol"]] = asset

    def order_by_client_id(self, client_order_id: str) -> FakeOrder | None:
        return self.exchange.find_client(client_order_id)

    # ------------------------------------------------------------------ rendering
    def _asset_class(self, symbol: str) -> str:
        asset = self.assets.get(symbol)
        return str(asset["class"]) if asset else "us_equity"

    def _position_symbol(self, symbol: str) -> str:
        # Alpaca names crypto positions and fill activities in its old, slash-less symbology
        return symbol.replace("/", "") if self._asset_class(symbol) == "crypto" else symbol

    def _order_json(self, order: FakeOrder) -> dict[str, Any]:
        status = order.status
        if status == "open":
            status = "new"
        asset = self.assets.get(order.symbol, {})
        return {
            "id": order.id,
            "client_order_id": order.client_id,
            "created_at": _time(order.created_at),
            "updated_at": _time(order.updated_at),
            "submitted_at": _time(order.created_at),
            "filled_at": _time(order.updated_at) if status == "filled" else None,
            "expired_at": _time(order.updated_at) if status == "expired" else None,
            "canceled_at": _time(order.updated_at) if status == "canceled" else None,
            "failed_at": None,
            "replaced_at": None,
            "replaced_by": None,
            "replaces": None,
            "asset_id": asset.get("id"),
            "symbol": order.symbol,
            "asset_class": self._asset_class(order.symbol),
            "notional": None,
            "qty": _text(order.quantity),
            "filled_qty": _text(order.filled),
            "filled_avg_price": _text(order.average_price),
            "order_class": "",
            "order_type": order.order_type,
            "type": order.order_type,
            "side": order.side,
            "position_intent": "buy_to_open" if order.side == "buy" else "sell_to_close",
            "time_in_force": order.time_in_force,
            "limit_price": _text(order.limit_price),
            "stop_price": None,
            "status": status,
            "extended_hours": False,
            "legs": None,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
            "subtag": None,
            "source": None,
            "expires_at": None,
        }

    def _fill_activities(self) -> list[dict[str, Any]]:
        cumulative: dict[str, Decimal] = {}
        activities = []
        for fill in self.exchange.fills:
            order = self.exchange.get(fill.order_id)
            done = cumulative.get(fill.order_id, Decimal(0)) + fill.quantity
            cumulative[fill.order_id] = done
            leaves = order.quantity - done
            activities.append(self._activity_json(fill, done, leaves))
        return activities

    def _activity_json(self, fill: FakeFill, done: Decimal, leaves: Decimal) -> dict[str, Any]:
        stamp = fill.time.astimezone(UTC).strftime("%Y%m%d%H%M%S%f")[:17]
        return {
            "id": f"{stamp}::{uuid.uuid5(uuid.NAMESPACE_URL, f'alpaca-fill-{fill.id}')}",
            "account_id": ACCOUNT_ID,
            "activity_type": "FILL",
            "transaction_time": _time(fill.time),
            "type": "fill" if leaves == 0 else "partial_fill",
            "price": _text(fill.price),
            "qty": _text(fill.quantity),
            "side": fill.side,
            "symbol": self._position_symbol(fill.symbol),
            "leaves_qty": _text(leaves),
            "order_id": fill.order_id,
            "cum_qty": _text(done),
            "order_status": "filled" if leaves == 0 else "partially_filled",
        }

    def _reserved(self) -> Decimal:
        return sum(
            (
                o.remaining * (o.limit_price or Decimal(0))
                for o in self.exchange.open_orders()
                if o.side == "buy"
            ),
            Decimal(0),
        )

    # ------------------------------------------------------------------ routes
    def _authorized(self, request: Request) -> None:
        headers = {key.lower(): value for key, value in request.headers.items()}
        if (
            headers.get("apca-api-key-id") != self.api_key
            or headers.get("apca-api-secret-key") != self.secret_key
        ):
            raise HttpError(401, "request is not authorized")

    def _register(self) -> None:
        route = self.server.route

        def authed(handler: Callable[[Request, Any], Any]) -> Callable[[Request, Any], Any]:
            def checked(request: Request, match: Any) -> Any:
                self._authorized(request)
                with self.exchange.lock:
                    return handler(request, match)

            return checked

        route("GET", r"/v2/account")(authed(self._account))
        route("GET", r"/v2/assets/(?P<symbol>[^/]+)")(authed(self._asset))
        route("POST", r"/v2/orders")(authed(self._create_order))
        route("GET", r"/v2/orders")(authed(self._list_orders))
        route("GET", r"/v2/orders:by_client_order_id")(authed(self._order_by_client_id))
        route("GET", r"/v2/orders/(?P<order_id>[0-9a-fA-F-]{36})")(authed(self._order_by_id))
        route("DELETE", r"/v2/orders/(?P<order_id>[0-9a-fA-F-]{36})")(authed(self._cancel_order))
        route("GET", r"/v2/positions")(authed(self._positions))
        route("GET", r"/v2/account/activities/FILL")(authed(self._activities))
        route("GET", r"/v2/stocks/quotes/latest")(authed(self._latest_quotes))
        route("GET", r"/v1beta3/crypto/us/latest/quotes")(authed(self._latest_quotes))
        route("GET", r"/v2/stocks/bars")(authed(self._bars))
        route("GET", r"/v1beta3/crypto/us/bars")(authed(self._bars))

    def _account(self, request: Request, match: Any) -> dict[str, Any]:
        cash = self.exchange.cash
        spendable = cash - self._reserved()
        equity = cash + sum(
            (p.quantity * p.average_price for p in self.exchange.positions.values()), Decimal(0)
        )
        account = {
            "id": ACCOUNT_ID,
            "account_number": "PA3FAKE0ALPC",
            "status": "ACTIVE",
            "crypto_status": "ACTIVE",
            "currency": "USD",
            "buying_power": _text(spendable * 2),
            "regt_buying_power": _text(spendable * 2),
            "daytrading_buying_power": "0",
            "non_marginable_buying_power": _text(spendable),
            "cash": _text(cash),
            "accrued_fees": "0",
            "pending_transfer_in": "0",
            "portfolio_value": _text(equity),
            "equity": _text(equity),
            "last_equity": _text(equity),
            "long_market_value": "0",
            "short_market_value": "0",
            "initial_margin": "0",
            "maintenance_margin": "0",
            "last_maintenance_margin": "0",
            "sma": "0",
            "daytrade_count": 0,
            "multiplier": "2",
            "pattern_day_trader": False,
            "trading_blocked": False,
            "transfers_blocked": False,
            "account_blocked": False,
            "trade_suspended_by_user": False,
            "shorting_enabled": True,
            "created_at": "2024-01-02T15:00:00.000000Z",
        }
        account.update(self.account_overrides)
        return account

    def _asset(self, request: Request, match: Any) -> dict[str, Any]:
        symbol = unquote(match["symbol"])
        asset = self.assets.get(symbol)
        if asset is None:
            raise HttpError(404, f"asset not found for {symbol}")
        return asset

    def _create_order(self, request: Request, match: Any) -> dict[str, Any]:
        try:
            body = json.loads(request.raw_body, parse_float=Decimal)  # the exact numbers that left the client
        except ValueError:
            raise HttpError(400, "request body format is invalid") from None
        if not isinstance(body, dict):
            raise HttpError(400, "request body format is invalid")
        symbol = body.get("symbol")
        asset = self.assets.get(symbol) if isinstance(symbol, str) else None
        if asset is None or not isinstance(symbol, str):
            raise HttpError(422, f'asset "{symbol}" not found')
        if not asset["tradable"]:
            raise HttpError(422, f"asset {symbol} is not tradable")
        crypto = asset["class"] == "crypto"
        if body.get("notional") is not None:
            raise HttpError(422, "this fake takes qty, not notional")
        quantity = _decimal(body.get("qty"), "qty")
        if quantity <= 0:
            raise HttpError(422, "qty must be > 0")
        side, order_type, tif = body.get("side"), body.get("type"), body.get("time_in_force")
        if side not in ("buy", "sell"):
            raise HttpError(422, f"invalid side {side!r}")
        if order_type not in ("market", "limit"):
            raise HttpError(422, f"invalid order type {order_type!r}")
        if tif not in (_CRYPTO_TIME_IN_FORCE if crypto else _STOCK_TIME_IN_FORCE):
            raise HttpError(422, f"invalid {'crypto ' if crypto else ''}time_in_force {tif!r}")
        limit_price = None
        if order_type == "limit":
            if body.get("limit_price") is None:
                raise HttpError(422, "limit_price is required for limit orders")
            limit_price = _decimal(body["limit_price"], "limit_price")
            self._check_price(limit_price, asset)
        elif body.get("limit_price") is not None:
            raise HttpError(422, "limit_price is not allowed for market orders")
        self._check_quantity(quantity, asset, order_type, tif)
        client_id = body.get("client_order_id") or str(uuid.uuid4())
        if len(client_id) > 128:
            raise HttpError(422, "client_order_id must be no more than 128 characters")
        if self.exchange.find_client(client_id) is not None:
            raise HttpError(422, "client_order_id must be unique")
        self._check_funds(symbol, side, quantity, limit_price, crypto)
        try:
            order = self.exchange.place(
                symbol,
                side,
                quantity,
                order_type,
                limit_price=limit_price,
                time_in_force=tif,
                client_id=client_id,
                order_id=str(uuid.uuid4()),
                extra={"body": body},
            )
        except DuplicateOrder:
            raise HttpError(422, "client_order_id must be unique") from None
        except OrderRefused as refusal:
            raise HttpError(403, str(refusal)) from None
        return self._order_json(order)

    @staticmethod
    def _check_price(price: Decimal, asset: dict[str, Any]) -> None:
        if price <= 0:
            raise HttpError(422, "limit_price must be > 0")
        if asset["class"] == "crypto":
            increment = Decimal(asset["price_increment"])
            if price % increment != 0:
                raise HttpError(422, f"limit_price {price} is not a multiple of price_increment {increment}")
            return
        tick = Decimal("0.01") if price >= 1 else Decimal("0.0001")
        if price % tick != 0:
            raise HttpError(
                422,
                f"invalid limit_price {price}. sub-penny increment does not fulfill minimum pricing criteria",
            )

    @staticmethod
    def _check_quantity(quantity: Decimal, asset: dict[str, Any], order_type: str, tif: str) -> None:
        if asset["class"] == "crypto":
            if quantity < Decimal(asset["min_order_size"]):
                raise HttpError(422, f"qty must be >= {asset['min_order_size']}")
            if quantity % Decimal(asset["min_trade_increment"]) != 0:
                raise HttpError(422, f"qty must be a multiple of {asset['min_trade_increment']}")
            return
        if quantity % 1 != 0:
            if not asset["fractionable"]:
                raise HttpError(422, f"asset {asset['symbol']} is not fractionable")
            if tif != "day":
                raise HttpError(422, "fractional orders must be DAY orders")

    def _check_funds(
        self, symbol: str, side: str, quantity: Decimal, limit_price: Decimal | None, crypto: bool
    ) -> None:
        if side == "buy":
            quote = self.exchange.quotes.get(symbol)
            price = limit_price if limit_price is not None else (quote[1] if quote else Decimal(0))
            spendable = self.exchange.cash - self._reserved()
            if quantity * price > (spendable if crypto else spendable * 2):
                raise HttpError(403, "insufficient buying power")
        elif crypto:
            held = self.exchange.positions.get(symbol)
            available = held.quantity if held is not None else Decimal(0)
            if quantity > available:
                base = symbol.split("/")[0]
                raise HttpError(
                    403, f"insufficient balance for {base} (requested: {quantity}, available: {available})"
                )

    def _list_orders(self, request: Request, match: Any) -> list[dict[str, Any]]:
        status = request.query.get("status", "open")
        limit = int(request.query.get("limit", "50"))
        if status == "open":
            orders = self.exchange.open_orders()
        elif status == "closed":
            orders = [o for o in self.exchange.orders.values() if not o.is_open]
        else:
            orders = list(self.exchange.orders.values())
        symbols = request.query.get("symbols")
        if symbols:
            wanted = set(symbols.split(","))
            orders = [o for o in orders if o.symbol in wanted]
        newest_first = sorted(
            orders, key=lambda o: o.created_at, reverse=request.query.get("direction") != "asc"
        )
        return [self._order_json(o) for o in newest_first[:limit]]

    def _order_by_client_id(self, request: Request, match: Any) -> dict[str, Any]:
        client_id = request.query.get("client_order_id", "")
        order = self.exchange.find_client(client_id)
        if order is None:
            raise HttpError(404, "order not found")
        return self._order_json(order)

    def _order_by_id(self, request: Request, match: Any) -> dict[str, Any]:
        try:
            return self._order_json(self.exchange.get(match["order_id"]))
        except UnknownOrder:
            raise HttpError(404, "order not found") from None

    def _cancel_order(self, request: Request, match: Any) -> Response:
        try:
            order = self.exchange.get(match["order_id"])
        except UnknownOrder:
            raise HttpError(404, "order not found") from None
        if not order.is_open:
            raise HttpError(422, f'order is already in "{order.status}" state')
        self.exchange.cancel(order.id)
        return Response(204, "")

    def _positions(self, request: Request, match: Any) -> list[dict[str, Any]]:
        rendered = []
        for position in self.exchange.positions.values():
            if position.quantity == 0:
                continue
            quote = self.exchange.quotes.get(position.symbol)
            price = (quote[0] + quote[1]) / 2 if quote else position.average_price
            cost = position.quantity * position.average_price
            value = position.quantity * price
            asset = self.assets.get(position.symbol, {})
            rendered.append(
                {
                    "asset_id": asset.get("id"),
                    "symbol": self._position_symbol(position.symbol),
                    "exchange": asset.get("exchange", "ARCA"),
                    "asset_class": self._asset_class(position.symbol),
                    "asset_marginable": asset.get("marginable", True),
                    "qty": _text(position.quantity),
                    "qty_available": _text(position.quantity),
                    "avg_entry_price": _text(position.average_price),
                    "side": "long" if position.quantity > 0 else "short",
                    "market_value": _text(value),
                    "cost_basis": _text(cost),
                    "unrealized_pl": _text(value - cost),
                    "unrealized_plpc": "0",
                    "unrealized_intraday_pl": _text(value - cost),
                    "unrealized_intraday_plpc": "0",
                    "current_price": _text(price),
                    "lastday_price": _text(price),
                    "change_today": "0",
                }
            )
        return rendered

    def _activities(self, request: Request, match: Any) -> list[dict[str, Any]]:
        query = request.query
        after = _request_time(query.get("after"), "after")
        until = _request_time(query.get("until"), "until")
        activities = self._fill_activities()
        if after is not None:
            activities = [a for a in activities if datetime.fromisoformat(a["transaction_time"]) > after]
        if until is not None:
            activities = [a for a in activities if datetime.fromisoformat(a["transaction_time"]) < until]
        if query.get("direction", "desc") == "desc":
            activities.reverse()
        token = query.get("page_token")
        if token:
            ids = [a["id"] for a in activities]
            activities = activities[ids.index(token) + 1 :] if token in ids else []
        page_size = min(int(query.get("page_size", "100")), 100)
        return activities[:page_size]

    def _latest_quotes(self, request: Request, match: Any) -> dict[str, Any]:
        crypto = request.path.startswith("/v1beta3/")
        quotes: dict[str, Any] = {}
        for symbol in request.query.get("symbols", "").split(","):
            if symbol in self.quote_overrides:
                quotes[symbol] = self.quote_overrides[symbol]
                continue
            book = self.exchange.quotes.get(symbol)
            if book is None:
                continue
            bid, ask = book
            when = _time(self.exchange.quote_times[symbol], nanoseconds=True)
            if crypto:
                quotes[symbol] = {"ap": float(ask), "as": 0.5, "bp": float(bid), "bs": 0.4, "t": when}
            else:
                quotes[symbol] = {
                    "ap": float(ask),
                    "as": 2,
                    "ax": "V",
                    "bp": float(bid),
                    "bs": 3,
                    "bx": "V",
                    "c": ["R"],
                    "t": when,
                    "z": "B",
                }
        return {"quotes": quotes}

    def _bars(self, request: Request, match: Any) -> dict[str, Any]:
        query = request.query
        symbol = query.get("symbols", "")
        timeframe = query.get("timeframe", "")
        if not timeframe:
            raise HttpError(400, "timeframe is required")
        rows = sorted(self.bars.get((symbol, timeframe), []), key=lambda row: row["t"])
        start = _request_time(query.get("start"), "start")
        end = _request_time(query.get("end"), "end")
        if start is not None:
            rows = [r for r in rows if datetime.fromisoformat(r["t"]) >= start]
        if end is not None:
            rows = [r for r in rows if datetime.fromisoformat(r["t"]) <= end]
        if query.get("sort") == "desc":
            rows.reverse()
        offset = int(query.get("page_token") or 0)
        limit = int(query.get("limit") or 1000)
        page = rows[offset : offset + limit]
        next_token = str(offset + limit) if offset + limit < len(rows) else None
        return {"bars": {symbol: page} if page else {}, "next_page_token": next_token}
