"""A fake OANDA v20 REST API: OANDA's paths and JSON shapes over a FakeExchange.

What it reproduces, because the adapter depends on it:
- `Authorization: Bearer <token>` on every request (401 "Insufficient authorization to perform
  request." otherwise) and the account id in every account path (403 otherwise);
- one transaction id sequence per account: an order's id is the id of the transaction that
  created it, and fills and cancels are transactions after it (ORDER_FILL, ORDER_CANCEL);
- POST .../orders answers 201 with orderCreateTransaction, plus orderFillTransaction when it
  filled at once or orderCancelTransaction when IOC/FOK could not; a refusal is a 400 with
  orderRejectTransaction {rejectReason}, errorCode and errorMessage;
- OANDA's own checks on an order: precision of price and units, minimum size, time in force
  allowed for the order type, and CLIENT_ORDER_ID_ALREADY_EXISTS while another *pending* order
  holds the client id (OANDA's definition: "already assigned to another pending Order"; a filled
  or cancelled order's id may be used again, and `@id` then finds the newest order);
- `@<client id>` order specifiers on GET .../orders/{spec} and PUT .../orders/{spec}/cancel;
- a resting limit order can fill in parts (`fill`); it stays PENDING until it is complete;
- transactions by time range (pages of idrange URLs), by id range, and since an id (in pages of
  `sinceid_page_size`, as OANDA caps each answer).
Simplifications: no trades or trade ids beyond tradeOpened, unrealized P/L is always 0, margin is
2 % of position value in the account currency, commission and financing are 0.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote

from tests.fakes.exchange import FakeExchange, FakeOrder, OrderRefused
from tests.fakes.server import FakeVenueServer, Handler, HttpError, Request, Response, ServedFake

ACCOUNT_ID = "101-004-1234567-001"
ACCESS_TOKEN = "test-oanda-token-0123456789abcdef"

UNAUTHORIZED = "Insufficient authorization to perform request."
FORBIDDEN = "The provided request was forbidden."

# A few of OANDA's TransactionRejectReason texts (the SDK ships them in definitions/transactions.py).
REJECT_TEXT = {
    "CLIENT_ORDER_ID_ALREADY_EXISTS": "The client Order ID specified is already assigned to another "
    "pending Order",
    "INSTRUMENT_UNKNOWN": "The instrument specified is unknown",
    "UNITS_INVALID": "Order units specified are invalid",
    "UNITS_PRECISION_EXCEEDED": "The units specified contain more precision than is allowed for the "
    "Order’s instrument",
    "UNITS_MIMIMUM_NOT_MET": "The units specified is less than the minimum number of units required",
    "PRICE_MISSING": "The price has not been specified",
    "PRICE_INVALID": "The price specifed is invalid",
    "PRICE_PRECISION_EXCEEDED": "The price specified contains more precision than is allowed for the "
    "instrument",
    "TIME_IN_FORCE_INVALID": "The TimeInForce specified is invalid",
}
_TIME_IN_FORCE = {"MARKET": ("FOK", "IOC"), "LIMIT": ("GTC", "GFD", "GTD", "FOK", "IOC")}


def oanda_time(moment: datetime) -> str:
    """RFC 3339 with nine fractional digits, as OANDA writes times."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}000Z"


def _parse_time(text: str) -> datetime:
    base, _, rest = text.rstrip("Z").partition(".")
    micros = (rest or "0")[:6].ljust(6, "0")
    return datetime.fromisoformat(f"{base}.{micros}+00:00")


def _decimal_places(number: Decimal) -> int:
    """Digits after the point that carry value ("1.08000" has 2)."""
    exponent = number.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def oanda_error_body(status: int, reason: str) -> dict[str, Any]:
    return {"errorMessage": reason}


@dataclass(frozen=True, slots=True)
class FakeInstrument:
    name: str
    display_precision: int = 5
    trade_units_precision: int = 0
    minimum_trade_size: str = "1"
    pip_location: int = -4
    margin_rate: str = "0.02"
    kind: str = "CURRENCY"

    def payload(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.kind,
            "displayName": self.name.replace("_", "/"),
            "pipLocation": self.pip_location,
            "displayPrecision": self.display_precision,
            "tradeUnitsPrecision": self.trade_units_precision,
            "minimumTradeSize": self.minimum_trade_size,
            "maximumTrailingStopDistance": "1.00000",
            "minimumTrailingStopDistance": "0.00050",
            "maximumPositionSize": "0",
            "maximumOrderUnits": "100000000",
            "marginRate": self.margin_rate,
        }


@dataclass(slots=True)
class _OrderRecord:
    """What the client sent, and the transactions that moved the order."""

    spec: dict[str, Any]
    client_id: str | None
    create_time: str
    fill_ids: list[str] = field(default_factory=list)
    cancel_id: str | None = None
    cancel_time: str | None = None


class FakeOanda(ServedFake):
    def __init__(
        self,
        account_id: str = ACCOUNT_ID,
        token: str = ACCESS_TOKEN,
        currency: str = "USD",
        balance: Decimal = Decimal("100000"),
        instruments: tuple[FakeInstrument, ...] = (FakeInstrument("EUR_USD"),),
    ) -> None:
        self.account_id = account_id
        self.token = token
        self.currency = currency
        self.balance = balance
        self.instruments = {i.name: i for i in instruments}
        self.exchange = FakeExchange(cash=balance)
        self.server = FakeVenueServer("oanda", error_body=oanda_error_body)
        self.transactions: list[dict[str, Any]] = []
        self.records: dict[str, _OrderRecord] = {}  # by order id
        self.client_orders: dict[str, str] = {}  # client id -> the newest order id holding it
        self.not_tradeable: set[str] = set()
        self.raw_prices: dict[str, Any] = {}  # instrument -> a ClientPrice served as is (junk tests)
        self.candles: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.sinceid_page_size = 1000
        self._next_reject: tuple[str, str] | None = None
        self._fills_recorded = 0
        self._batches = itertools.count(1)
        self._routes()

    # ------------------------------------------------------------------ life and test controls
    def reject_next(self, message: str, code: str = "INSUFFICIENT_MARGIN") -> None:
        """The next order is refused: 400 with orderRejectTransaction {rejectReason: code}."""
        with self.exchange.lock:
            self._next_reject = (message, code)

    def order_for(self, client_id: str) -> FakeOrder | None:
        with self.exchange.lock:
            order_id = self.client_orders.get(client_id)
            return self.exchange.orders.get(order_id) if order_id else None

    def fill(self, client_id: str, quantity: Decimal | None = None, price: Decimal | None = None) -> None:
        """The market trades against a resting order; records the ORDER_FILL transaction."""
        with self.exchange.lock:
            order = self.order_for(client_id)
            assert order is not None, f"no order with client id {client_id}"
            self.exchange.fill(order.id, quantity, price)
            self._record_fills(str(next(self._batches)))

    def set_candles(self, instrument: str, granularity: str, candles: list[dict[str, Any]]) -> None:
        self.candles[(instrument, granularity)] = candles

    @property
    def last_transaction_id(self) -> str:
        return self.transactions[-1]["id"] if self.transactions else "0"

    # ------------------------------------------------------------------ transactions
    def _record(self, kind: str, batch: str, at: datetime | None = None, **fields: Any) -> dict[str, Any]:
        transaction = {
            "id": str(len(self.transactions) + 1),
            "time": oanda_time(at or datetime.now(UTC)),
            "userID": 1234567,
            "accountID": self.account_id,
            "batchID": batch,
            "requestID": f"2{len(self.transactions):017d}",
            "type": kind,
            **fields,
        }
        self.transactions.append(transaction)
        return transaction

    def _record_fills(self, batch: str) -> list[dict[str, Any]]:
        recorded = []
        for fill in self.exchange.fills[self._fills_recorded :]:
            record = self.records[fill.order_id]
            instrument = self.instruments[fill.symbol]
            units = fill.quantity if fill.side == "buy" else -fill.quantity
            price = f"{fill.price:.{instrument.display_precision}f}"
            fields: dict[str, Any] = {
                "orderID": fill.order_id,
                "instrument": fill.symbol,
                "units": format(units, "f"),
                "gainQuoteHomeConversionFactor": "1",
                "lossQuoteHomeConversionFactor": "1",
                "price": price,
                "fullVWAP": price,
                "reason": "MARKET_ORDER" if record.spec["type"] == "MARKET" else "LIMIT_ORDER",
                "pl": "0.0000",
                "financing": "0.0000",
                "commission": "0.0000",
                "guaranteedExecutionFee": "0.0000",
                "accountBalance": f"{self.balance:.4f}",
                "halfSpreadCost": "0.0000",
            }
            if record.client_id:
                fields["clientOrderID"] = record.client_id
            transaction = self._record("ORDER_FILL", batch, fill.time, **fields)
            transaction["tradeOpened"] = {
                "tradeID": transaction["id"],
                "units": format(units, "f"),
                "price": price,
            }
            record.fill_ids.append(transaction["id"])
            recorded.append(transaction)
        self._fills_recorded = len(self.exchange.fills)
        return recorded

    # ------------------------------------------------------------------ rendering
    def _state(self, order: FakeOrder) -> str:
        return {
            "open": "PENDING",
            "partially_filled": "PENDING",
            "filled": "FILLED",
            "canceled": "CANCELLED",
            "expired": "CANCELLED",
        }[order.status]

    def _order_json(self, order: FakeOrder) -> dict[str, Any]:
        record = self.records[order.id]
        spec = record.spec
        body: dict[str, Any] = {
            "id": order.id,
            "createTime": record.create_time,
            "type": spec["type"],
            "instrument": spec["instrument"],
            "units": spec["units"],
            "timeInForce": spec["timeInForce"],
            "positionFill": spec.get("positionFill", "DEFAULT"),
            "state": self._state(order),
        }
        if spec["type"] == "LIMIT":
            body.update(price=spec["price"], triggerCondition="DEFAULT", partialFill="DEFAULT_FILL")
        if record.client_id:
            body["clientExtensions"] = {"id": record.client_id}
        if body["state"] == "FILLED":
            last = record.fill_ids[-1]
            body.update(
                fillingTransactionID=last,
                filledTime=self.transactions[int(last) - 1]["time"],
                tradeOpenedID=last,
            )
        if body["state"] == "CANCELLED":
            body.update(cancellingTransactionID=record.cancel_id, cancelledTime=record.cancel_time)
        return body

    def _price_json(self, name: str) -> dict[str, Any]:
        if name in self.raw_prices:
            return dict(self.raw_prices[name])
        instrument = self.instruments[name]
        bid, ask = self.exchange.quotes[name]
        places = instrument.display_precision
        tradeable = name not in self.not_tradeable
        return {
            "type": "PRICE",
            "instrument": name,
            "time": oanda_time(self.exchange.quote_times[name]),
            "status": "tradeable" if tradeable else "non-tradeable",
            "tradeable": tradeable,
            "bids": [{"price": f"{bid:.{places}f}", "liquidity": 10000000}],
            "asks": [{"price": f"{ask:.{places}f}", "liquidity": 10000000}],
            "closeoutBid": f"{bid:.{places}f}",
            "closeoutAsk": f"{ask:.{places}f}",
            "quoteHomeConversionFactors": {"positiveUnits": "1.00000000", "negativeUnits": "1.00000000"},
            "unitsAvailable": {"default": {"long": "2500000", "short": "2500000"}},
        }

    def _margin_used(self) -> Decimal:
        used = Decimal(0)
        for position in self.exchange.positions.values():
            rate = Decimal(self.instruments[position.symbol].margin_rate)
            used += abs(position.quantity) * position.average_price * rate
        return used

    def _reject(self, spec: dict[str, Any], code: str, message: str | None = None) -> Response:
        batch = str(next(self._batches))
        kind = f"{spec.get('type', 'MARKET')}_ORDER_REJECT"
        fields = {k: v for k, v in spec.items() if k != "type"}
        reject = self._record(kind, batch, rejectReason=code, reason="CLIENT_ORDER", **fields)
        return Response(
            400,
            {
                "orderRejectTransaction": reject,
                "relatedTransactionIDs": [reject["id"]],
                "lastTransactionID": reject["id"],
                "errorCode": code,
                "errorMessage": message or REJECT_TEXT.get(code, code),
            },
        )

    # ------------------------------------------------------------------ order creation
    def _check(self, spec: dict[str, Any]) -> str | None:
        """OANDA's own checks on an order; the reject reason, or None when it may be placed."""
        instrument = self.instruments.get(str(spec.get("instrument")))
        if instrument is None:
            return "INSTRUMENT_UNKNOWN"
        if spec.get("timeInForce") not in _TIME_IN_FORCE.get(str(spec.get("type")), ()):
            return "TIME_IN_FORCE_INVALID"
        try:
            units = Decimal(str(spec.get("units")))
        except InvalidOperation:
            return "UNITS_INVALID"
        if not units.is_finite() or units == 0:
            return "UNITS_INVALID"
        if _decimal_places(units) > instrument.trade_units_precision:
            return "UNITS_PRECISION_EXCEEDED"
        if abs(units) < Decimal(instrument.minimum_trade_size):
            return "UNITS_MIMIMUM_NOT_MET"
        if spec["type"] == "LIMIT":
            if "price" not in spec:
                return "PRICE_MISSING"
            try:
                price = Decimal(str(spec["price"]))
            except InvalidOperation:
                return "PRICE_INVALID"
            if not price.is_finite() or price <= 0:
                return "PRICE_INVALID"
            if _decimal_places(price) > instrument.display_precision:
                return "PRICE_PRECISION_EXCEEDED"
        return None

    def _create(self, request: Request) -> Response:
        body = request.body
        if not isinstance(body, dict) or not isinstance(body.get("order"), dict):
            return Response(400, {"errorMessage": "Invalid JSON, ensure that the body is valid JSON"})
        spec: dict[str, Any] = body["order"]
        with self.exchange.lock:
            if self._next_reject is not None:
                (message, code), self._next_reject = self._next_reject, None
                return self._reject(spec, code, message)
            problem = self._check(spec)
            if problem is not None:
                return self._reject(spec, problem)
            extensions = spec.get("clientExtensions")
            client_id = extensions.get("id") if isinstance(extensions, dict) else None
            held = self.order_for(client_id) if client_id else None
            if held is not None and held.is_open:
                return self._reject(spec, "CLIENT_ORDER_ID_ALREADY_EXISTS")
            batch = str(next(self._batches))
            create_kind = "MARKET_ORDER" if spec["type"] == "MARKET" else "LIMIT_ORDER"
            fields = {k: v for k, v in spec.items() if k != "type"}
            created = self._record(create_kind, batch, reason="CLIENT_ORDER", **fields)
            order_id = created["id"]
            self.records[order_id] = _OrderRecord(dict(spec), client_id, created["time"])
            if client_id:
                self.client_orders[client_id] = order_id
            units = Decimal(str(spec["units"]))
            answer: dict[str, Any] = {"orderCreateTransaction": created}
            try:
                order = self.exchange.place(
                    symbol=spec["instrument"],
                    side="buy" if units > 0 else "sell",
                    quantity=abs(units),
                    order_type=spec["type"].lower(),
                    limit_price=Decimal(str(spec["price"])) if "price" in spec else None,
                    time_in_force=spec["timeInForce"].lower(),
                    order_id=order_id,  # the client id is the fake's to track: OANDA allows reuse
                )
            except OrderRefused:  # no price for a market order: OANDA creates it, then cancels it
                order = None
            fills = self._record_fills(batch)
            if fills:
                answer["orderFillTransaction"] = fills[0]
            if order is None or order.status == "expired":
                reason = "MARKET_HALTED" if order is None else "TIME_IN_FORCE_EXPIRED"
                answer["orderCancelTransaction"] = self._cancel_record(order_id, batch, reason)
            ids = [t["id"] for t in self.transactions if t["batchID"] == batch]
            answer.update(relatedTransactionIDs=ids, lastTransactionID=self.last_transaction_id)
            return Response(201, answer)

    def _cancel_record(self, order_id: str, batch: str, reason: str) -> dict[str, Any]:
        record = self.records[order_id]
        fields: dict[str, Any] = {"orderID": order_id, "reason": reason}
        if record.client_id:
            fields["clientOrderID"] = record.client_id
        cancel = self._record("ORDER_CANCEL", batch, **fields)
        record.cancel_id, record.cancel_time = cancel["id"], cancel["time"]
        return cancel

    # ------------------------------------------------------------------ routes
    def _find(self, specifier: str) -> FakeOrder | None:
        specifier = unquote(specifier)
        if specifier.startswith("@"):
            return self.order_for(specifier[1:])
        return self.exchange.orders.get(specifier)

    def _transactions_between(self, low: int, high: int, types: str | None) -> list[dict[str, Any]]:
        wanted = set(types.split(",")) if types else None
        return [
            t
            for t in self.transactions[max(low, 1) - 1 : max(high, 0)]
            if wanted is None or t["type"] in wanted
        ]

    def _routes(self) -> None:
        account = r"/v3/accounts/(?P<account>[^/]+)"
        route = self._guarded

        @route("GET", account + "/summary")
        def summary(request: Request, match: Any) -> Any:
            used = self._margin_used()
            return {
                "account": {
                    "id": self.account_id,
                    "alias": "Primary",
                    "currency": self.currency,
                    "balance": f"{self.balance:.4f}",
                    "NAV": f"{self.balance:.4f}",
                    "unrealizedPL": "0.0000",
                    "pl": "0.0000",
                    "marginRate": "0.02",
                    "marginUsed": f"{used:.4f}",
                    "marginAvailable": f"{self.balance - used:.4f}",
                    "openTradeCount": len(self.exchange.positions),
                    "openPositionCount": len(self.exchange.positions),
                    "pendingOrderCount": len(self.exchange.open_orders()),
                    "hedgingEnabled": False,
                    "lastTransactionID": self.last_transaction_id,
                },
                "lastTransactionID": self.last_transaction_id,
            }

        @route("GET", account + "/instruments")
        def instruments(request: Request, match: Any) -> Any:
            names = [n for n in request.query.get("instruments", "").split(",") if n]
            if any(n not in self.instruments for n in names):
                raise HttpError(400, "Invalid value specified for 'instruments'")
            listed = [i.payload() for n, i in self.instruments.items() if not names or n in names]
            return {"instruments": listed, "lastTransactionID": self.last_transaction_id}

        @route("GET", account + "/pricing")
        def prices(request: Request, match: Any) -> Any:
            names = [n for n in request.query.get("instruments", "").split(",") if n]
            if not names or any(n not in self.instruments for n in names):
                raise HttpError(400, "Invalid value specified for 'instruments'")
            with self.exchange.lock:
                quoted = [
                    self._price_json(n) for n in names if n in self.exchange.quotes or n in self.raw_prices
                ]
            return {"time": oanda_time(datetime.now(UTC)), "prices": quoted}

        @route("GET", r"/v3/instruments/(?P<instrument>[A-Z0-9_]+)/candles", account_path=False)
        def candles(request: Request, match: Any) -> Any:
            name = match.group("instrument")
            if name not in self.instruments:
                raise HttpError(400, "Invalid value specified for 'instrument'")
            granularity = request.query.get("granularity", "S5")
            count = int(request.query.get("count", "500"))
            series = self.candles.get((name, granularity), [])
            return {"instrument": name, "granularity": granularity, "candles": series[-count:]}

        @route("GET", account + "/openPositions")
        def open_positions(request: Request, match: Any) -> Any:
            rendered = []
            with self.exchange.lock:
                for position in self.exchange.positions.values():
                    if position.quantity == 0:
                        continue
                    places = self.instruments[position.symbol].display_precision
                    held = {
                        "units": format(position.quantity, "f"),
                        "averagePrice": f"{position.average_price:.{places}f}",
                        "pl": "0.0000",
                        "resettablePL": "0.0000",
                        "unrealizedPL": "0.0000",
                        "tradeIDs": ["1"],
                    }
                    empty = {"units": "0", "pl": "0.0000", "resettablePL": "0.0000", "unrealizedPL": "0.0000"}
                    long, short = (held, empty) if position.quantity > 0 else (empty, held)
                    rendered.append(
                        {
                            "instrument": position.symbol,
                            "long": long,
                            "short": short,
                            "pl": "0.0000",
                            "resettablePL": "0.0000",
                            "unrealizedPL": "0.0000",
                        }
                    )
            return {"positions": rendered, "lastTransactionID": self.last_transaction_id}

        @route("POST", account + "/orders")
        def create(request: Request, match: Any) -> Any:
            return self._create(request)

        @route("GET", account + "/pendingOrders")
        def pending(request: Request, match: Any) -> Any:
            with self.exchange.lock:
                listed = [self._order_json(o) for o in self.exchange.open_orders()]
            return {"orders": listed, "lastTransactionID": self.last_transaction_id}

        @route("GET", account + "/orders/(?P<spec>[^/]+)")
        def details(request: Request, match: Any) -> Any:
            with self.exchange.lock:
                order = self._find(match.group("spec"))
                if order is None:
                    by_client = unquote(match.group("spec")).startswith("@")
                    return Response(
                        404,
                        {
                            "errorMessage": "The order ClientID specified does not exist"
                            if by_client
                            else "The Order specified does not exist",
                            "errorCode": "ORDER_DOESNT_EXIST",
                            "lastTransactionID": self.last_transaction_id,
                        },
                    )
                return {"order": self._order_json(order), "lastTransactionID": self.last_transaction_id}

        @route("PUT", account + "/orders/(?P<spec>[^/]+)/cancel")
        def cancel(request: Request, match: Any) -> Any:
            with self.exchange.lock:
                order = self._find(match.group("spec"))
                batch = str(next(self._batches))
                if order is None or not order.is_open:
                    fields: dict[str, Any] = {"rejectReason": "ORDER_DOESNT_EXIST"}
                    if order is not None:
                        fields["orderID"] = order.id
                    reject = self._record("ORDER_CANCEL_REJECT", batch, **fields)
                    return Response(
                        404,
                        {
                            "orderCancelRejectTransaction": reject,
                            "relatedTransactionIDs": [reject["id"]],
                            "lastTransactionID": reject["id"],
                            "errorCode": "ORDER_DOESNT_EXIST",
                            "errorMessage": "The Order specified does not exist",
                        },
                    )
                self.exchange.cancel(order.id)
                cancelled = self._cancel_record(order.id, batch, "CLIENT_REQUEST")
                return {
                    "orderCancelTransaction": cancelled,
                    "relatedTransactionIDs": [cancelled["id"]],
                    "lastTransactionID": cancelled["id"],
                }

        @route("GET", account + "/transactions")
        def listing(request: Request, match: Any) -> Any:
            query = request.query
            page_size = min(int(query.get("pageSize", "100")), 1000)
            start = _parse_time(query["from"]) if "from" in query else datetime.min.replace(tzinfo=UTC)
            end = _parse_time(query["to"]) if "to" in query else datetime.now(UTC)
            types = query.get("type")
            with self.exchange.lock:
                chosen = [
                    t
                    for t in self._transactions_between(1, len(self.transactions), types)
                    if start <= _parse_time(t["time"]) <= end
                ]
                last = self.last_transaction_id
            base = f"{self.url}/v3/accounts/{self.account_id}/transactions/idrange"
            suffix = f"&type={types}" if types else ""
            pages = [
                f"{base}?from={chunk[0]['id']}&to={chunk[-1]['id']}{suffix}"
                for chunk in (chosen[i : i + page_size] for i in range(0, len(chosen), page_size))
            ]
            return {
                "from": oanda_time(start) if "from" in query else None,
                "to": oanda_time(end),
                "pageSize": page_size,
                "type": types.split(",") if types else [],
                "count": len(chosen),
                "pages": pages,
                "lastTransactionID": last,
            }

        @route("GET", account + "/transactions/idrange")
        def id_range(request: Request, match: Any) -> Any:
            low, high = int(request.query["from"]), int(request.query["to"])
            with self.exchange.lock:
                found = self._transactions_between(low, high, request.query.get("type"))
                return {"transactions": found, "lastTransactionID": self.last_transaction_id}

        @route("GET", account + "/transactions/sinceid")
        def since_id(request: Request, match: Any) -> Any:
            after = int(request.query["id"])
            with self.exchange.lock:
                found = self._transactions_between(
                    after + 1, len(self.transactions), request.query.get("type")
                )
                return {
                    "transactions": found[: self.sinceid_page_size],
                    "lastTransactionID": self.last_transaction_id,
                }

    def _guarded(self, method: str, pattern: str, account_path: bool = True) -> Callable[[Handler], Handler]:
        """Register a route that checks the bearer token (and the account in the path) first."""

        def register(handler: Handler) -> Handler:
            def guarded(request: Request, match: re.Match[str]) -> Any:
                headers = {k.lower(): v for k, v in request.headers.items()}
                if headers.get("authorization") != f"Bearer {self.token}":
                    raise HttpError(401, UNAUTHORIZED)
                if account_path and match.group("account") != self.account_id:
                    raise HttpError(403, FORBIDDEN)
                return handler(request, match)

            self.server.route(method, pattern)(guarded)
            return handler

        return register
