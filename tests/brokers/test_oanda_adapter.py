"""OANDA specifics the conformance suite cannot see: real payload shapes, state mapping, auth,
credentials, the wire format of an order, the fill log, and OANDA's client-id rule."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import oandapyV20
import pytest
from oandapyV20.endpoints import orders as order_endpoints
from oandapyV20.exceptions import V20Error

from brokers.base import BrokerError, CredentialsMissing, VenueRejected
from brokers.calls import FaultKind
from brokers.factory import build_adapter
from brokers.live import OutboundOrder
from brokers.oanda import (
    FillLog,
    OandaFill,
    OandaHttpError,
    OandaOrder,
    classify,
    order_request,
    parse_balance,
    parse_candles,
    parse_create_answer,
    parse_error,
    parse_fill,
    parse_instrument,
    parse_order,
    parse_positions,
    parse_price,
    parse_time,
    sdk_environment,
    transaction_pages,
    venue_order,
)
from config.schema import VenueSettings
from domain.instruments import AssetClass, Instrument
from domain.orders import OrderIntent, OrderStatus, OrderType, TimeInForce, client_order_id_for
from domain.signals import Side
from tests.brokers.harnesses.oanda import OandaHarness, build, fake_environ
from tests.fakes.oanda import ACCOUNT_ID

EUR_USD = Instrument(
    symbol="EUR_USD",
    venue="oanda-test",
    asset_class=AssetClass.FOREX,
    tick_size=Decimal("0.00001"),
    lot_size=Decimal("1"),
    underlying="EUR/USD",
    min_quantity=Decimal("1"),
)

# --------------------------------------------------------------------------------- fixtures, real shapes
# Shapes as OANDA documents them (several copied from the SDK's own endpoint examples).
CLIENT_PRICE: dict[str, Any] = {
    "status": "tradeable",
    "tradeable": True,
    "quoteHomeConversionFactors": {"negativeUnits": "0.89160730", "positiveUnits": "0.89150397"},
    "asks": [{"price": "1.12170", "liquidity": 10000000}, {"price": "1.12172", "liquidity": 10000000}],
    "unitsAvailable": {"default": {"short": "506246", "long": "506128"}},
    "closeoutBid": "1.12153",
    "bids": [{"price": "1.12157", "liquidity": 10000000}, {"price": "1.12155", "liquidity": 10000000}],
    "instrument": "EUR_USD",
    "time": "2016-10-05T05:28:16.729643492Z",
    "closeoutAsk": "1.12174",
}

EUR_USD_INSTRUMENT: dict[str, Any] = {
    "minimumTradeSize": "1",
    "displayName": "EUR/USD",
    "name": "EUR_USD",
    "displayPrecision": 5,
    "type": "CURRENCY",
    "minimumTrailingStopDistance": "0.00050",
    "marginRate": "0.02",
    "maximumOrderUnits": "100000000",
    "tradeUnitsPrecision": 0,
    "pipLocation": -4,
    "maximumPositionSize": "0",
    "maximumTrailingStopDistance": "1.00000",
}

ACCOUNT_SUMMARY: dict[str, Any] = {
    "account": {
        "marginCloseoutNAV": "35454.4740",
        "marginUsed": "10581.5000",
        "currency": "EUR",
        "NAV": "35454.4740",
        "openTradeCount": 2,
        "id": "101-004-1435156-001",
        "hedgingEnabled": False,
        "lastTransactionID": "2123",
        "marginAvailable": "24872.9740",
        "pendingOrderCount": 0,
        "unrealizedPL": "0.0000",
        "balance": "35454.4740",
    },
    "lastTransactionID": "2123",
}

OPEN_POSITIONS: dict[str, Any] = {
    "positions": [
        {
            "instrument": "DE30_EUR",
            "short": {
                "unrealizedPL": "870.0000",
                "units": "-20",
                "resettablePL": "-13959.3000",
                "tradeIDs": ["2121", "2123"],
                "averagePrice": "10581.5",
                "pl": "-13959.3000",
            },
            "long": {"units": "0", "resettablePL": "404.5000", "unrealizedPL": "0.0000", "pl": "404.5000"},
            "unrealizedPL": "870.0000",
            "pl": "-13554.8000",
        },
        {
            "instrument": "EUR_USD",
            "long": {"units": "1000", "averagePrice": "1.08500", "pl": "0.0000", "unrealizedPL": "1.2000"},
            "short": {"units": "0", "pl": "0.0000", "unrealizedPL": "0.0000"},
            "pl": "0.0000",
        },
        {
            "instrument": "EUR_GBP",
            "long": {"units": "0", "pl": "0.0000"},
            "short": {"units": "0", "pl": "-272.6805"},
            "pl": "-272.6805",
        },
    ],
    "lastTransactionID": "2124",
}

ORDER_FILL: dict[str, Any] = {
    "id": "6410",
    "accountID": "101-004-1435156-001",
    "userID": 1435156,
    "batchID": "6409",
    "requestID": "60997453372397451",
    "time": "2026-03-02T14:30:00.123456789Z",
    "type": "ORDER_FILL",
    "orderID": "6409",
    "clientOrderID": "co-abc",
    "instrument": "EUR_USD",
    "units": "-1000",
    "gainQuoteHomeConversionFactor": "1",
    "lossQuoteHomeConversionFactor": "1",
    "price": "1.08500",
    "fullVWAP": "1.08500",
    "reason": "MARKET_ORDER",
    "pl": "0.0000",
    "financing": "-0.1234",
    "commission": "0.5000",
    "guaranteedExecutionFee": "0.0000",
    "accountBalance": "99999.5000",
    "tradeOpened": {"tradeID": "6410", "units": "-1000", "price": "1.08500"},
    "halfSpreadCost": "0.0500",
}

LIMIT_ORDER: dict[str, Any] = {
    "id": "2309",
    "createTime": "2016-10-25T21:07:21.065554321Z",
    "state": "PENDING",
    "type": "LIMIT",
    "instrument": "EUR_USD",
    "units": "-100",
    "price": "1.20000",
    "timeInForce": "GTC",
    "triggerCondition": "DEFAULT",
    "partialFill": "DEFAULT_FILL",
    "positionFill": "POSITION_DEFAULT",
    "clientExtensions": {"id": "co-abc"},
}

REJECTED_ORDER_BODY = (
    '{"orderRejectTransaction": {"id": "7", "type": "LIMIT_ORDER_REJECT", "reason": "CLIENT_ORDER",'
    ' "rejectReason": "INSUFFICIENT_MARGIN", "instrument": "EUR_USD", "units": "1000"},'
    ' "relatedTransactionIDs": ["7"], "lastTransactionID": "7", "errorCode": "INSUFFICIENT_MARGIN",'
    ' "errorMessage": "Insufficient margin available"}'
)


def fill(order_id: str, units: str, price: str, transaction_id: int = 10) -> OandaFill:
    return OandaFill(
        transaction_id=transaction_id,
        order_id=order_id,
        client_order_id="co-abc",
        instrument="EUR_USD",
        units=Decimal(units),
        price=Decimal(price),
        fee=Decimal(0),
        time=datetime(2026, 3, 2, 14, 30, tzinfo=UTC),
    )


def limit_intent(tag: str, **changes: Any) -> OrderIntent:
    values: dict[str, Any] = {
        "client_order_id": client_order_id_for(f"oanda-{tag}"),
        "signal_id": f"oanda-{tag}",
        "bot": "oanda-tests",
        "instrument": EUR_USD,
        "side": Side.BUY,
        "quantity": Decimal("1000"),
        "order_type": OrderType.LIMIT,
        "time_in_force": TimeInForce.GTC,
        "created_at": datetime.now(UTC),
        "limit_price": Decimal("1.08000"),
    }
    values.update(changes)
    return OrderIntent(**values)


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


@pytest.fixture
def venue(tmp_path: Path) -> Iterator[OandaHarness]:
    harness = OandaHarness(tmp_path)
    try:
        yield harness
    finally:
        harness.close()


# --------------------------------------------------------------------------------- parsing: market data
def test_price_is_the_top_of_book_with_its_nanosecond_time_truncated_to_microseconds() -> None:
    quote = parse_price(CLIENT_PRICE, "oanda:EUR_USD")
    assert quote is not None
    assert (quote.bid, quote.ask) == (Decimal("1.12157"), Decimal("1.12170"))
    assert quote.time == datetime(2016, 10, 5, 5, 28, 16, 729643, tzinfo=UTC)
    assert quote.instrument_key == "oanda:EUR_USD"


@pytest.mark.parametrize(
    "change",
    [
        {"tradeable": False, "status": "non-tradeable"},
        {"bids": []},
        {"asks": None},
        {"bids": [{"price": "NaN", "liquidity": 1}]},
        {"bids": [{"price": "0.00000", "liquidity": 1}]},
        {"bids": [{"price": "1.12180", "liquidity": 1}]},  # crossed: bid above the 1.12170 ask
    ],
    ids=["not-tradeable", "no-bids", "no-asks", "nan", "zero", "crossed"],
)
def test_price_without_a_usable_two_sided_market_is_none(change: dict[str, Any]) -> None:
    assert parse_price({**CLIENT_PRICE, **change}, "oanda:EUR_USD") is None


@pytest.mark.parametrize(
    "change",
    [{"bids": [{"price": "one point one"}]}, {"time": "yesterday"}, {"asks": [["1.1"]]}],
    ids=["price-text", "time-text", "level-not-object"],
)
def test_price_junk_raises_a_value_error_naming_the_problem(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"EUR_USD|time"):
        parse_price({**CLIENT_PRICE, **change}, "oanda:EUR_USD")


def test_rfc3339_times_keep_microseconds_and_honour_offsets() -> None:
    assert parse_time("2026-03-02T14:30:00.123456789Z") == datetime(2026, 3, 2, 14, 30, 0, 123456, tzinfo=UTC)
    assert parse_time("2026-03-02T14:30:00Z") == datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
    assert parse_time("2026-03-02T15:30:00.5+01:00") == datetime(2026, 3, 2, 14, 30, 0, 500000, tzinfo=UTC)
    with pytest.raises(ValueError, match="RFC 3339"):
        parse_time("1456789012.123456789")  # OANDA's UNIX format: not what the adapter asks for


def test_instrument_increments_come_from_display_and_units_precision() -> None:
    eur_usd = parse_instrument(EUR_USD_INSTRUMENT, "oanda", AssetClass.FOREX)
    assert eur_usd.tick_size == Decimal("0.00001")
    assert eur_usd.lot_size == Decimal("1")
    assert eur_usd.min_quantity == Decimal("1")
    assert eur_usd.underlying == "EUR/USD"
    assert eur_usd.quote_currency == "USD"
    gold = parse_instrument(
        {**EUR_USD_INSTRUMENT, "name": "XAU_USD", "displayPrecision": 3, "tradeUnitsPrecision": 1,
         "minimumTradeSize": "0.1", "type": "METAL"},
        "oanda",
        AssetClass.FOREX,
    )  # fmt: skip
    assert (gold.tick_size, gold.lot_size, gold.min_quantity) == (
        Decimal("0.001"),
        Decimal("0.1"),
        Decimal("0.1"),
    )
    index = parse_instrument(
        {**EUR_USD_INSTRUMENT, "name": "DE30_EUR", "displayPrecision": 1, "type": "CFD"},
        "oanda",
        AssetClass.FOREX,
    )
    assert index.underlying == "DE30_EUR"  # not a currency pair: its own underlying
    assert index.tick_size == Decimal("0.1")


def test_instrument_without_display_precision_is_refused() -> None:
    broken = {k: v for k, v in EUR_USD_INSTRUMENT.items() if k != "displayPrecision"}
    with pytest.raises(ValueError, match="displayPrecision"):
        parse_instrument(broken, "oanda", AssetClass.FOREX)


def test_candles_keep_only_complete_midpoint_bars_oldest_first() -> None:
    candles = [
        {"complete": True, "volume": 10, "time": f"2026-03-02T14:3{i}:00.000000000Z",
         "mid": {"o": "1.0850", "h": "1.0860", "l": "1.0840", "c": f"1.085{i}"}}
        for i in range(4)
    ] + [
        {"complete": False, "volume": 2, "time": "2026-03-02T14:34:00.000000000Z",
         "mid": {"o": "1.0850", "h": "1.0851", "l": "1.0849", "c": "1.0850"}}
    ]  # fmt: skip
    series = parse_candles({"instrument": "EUR_USD", "granularity": "M1", "candles": candles}, "k", 60, 3)
    assert series is not None
    assert len(series) == 3
    assert list(series.close) == [1.0851, 1.0852, 1.0853]
    assert series.times[0] == datetime(2026, 3, 2, 14, 31, tzinfo=UTC).timestamp()
    assert parse_candles({"candles": candles[4:]}, "k", 60, 3) is None


def test_balance_is_the_account_balance_with_margin_available_as_free() -> None:
    balance = parse_balance(ACCOUNT_SUMMARY)
    assert balance.currency == "EUR"
    assert balance.cash == Decimal("35454.4740")
    assert balance.free == Decimal("24872.9740")


def test_positions_net_the_long_and_short_sides_and_skip_flat_instruments() -> None:
    held = {p.instrument_key: p for p in parse_positions(OPEN_POSITIONS, "oanda")}
    assert set(held) == {"oanda:DE30_EUR", "oanda:EUR_USD"}
    assert held["oanda:DE30_EUR"].quantity == Decimal("-20")
    assert held["oanda:DE30_EUR"].average_entry_price == Decimal("10581.5")
    assert held["oanda:EUR_USD"].quantity == Decimal("1000")
    assert held["oanda:EUR_USD"].average_entry_price == Decimal("1.08500")


def test_a_hedged_position_nets_its_sides_and_has_no_single_entry_price() -> None:
    hedged = {
        "positions": [
            {
                "instrument": "EUR_USD",
                "long": {"units": "3000", "averagePrice": "1.08000"},
                "short": {"units": "-1000", "averagePrice": "1.09000"},
            }
        ]
    }
    [position] = parse_positions(hedged, "oanda")
    assert position.quantity == Decimal("2000")
    assert position.average_entry_price is None


# --------------------------------------------------------------------------------- parsing: orders and fills
def test_fill_transaction_reads_signed_units_price_and_commission_as_fee() -> None:
    parsed = parse_fill(ORDER_FILL)
    assert parsed is not None
    domain_fill = parsed.to_fill("oanda")
    assert domain_fill.side is Side.SELL
    assert domain_fill.quantity == Decimal("1000")
    assert domain_fill.price == Decimal("1.08500")
    assert domain_fill.fee == Decimal("0.5000")  # financing is carry, not a cost of this execution
    assert domain_fill.client_order_id == "co-abc"
    assert domain_fill.venue_trade_id == "6410"
    assert domain_fill.time == datetime(2026, 3, 2, 14, 30, 0, 123456, tzinfo=UTC)


def test_only_order_fill_transactions_are_fills_and_a_fill_without_price_is_refused() -> None:
    assert parse_fill({"id": "2308", "type": "ORDER_CANCEL", "orderID": "2307"}) is None
    no_price = {k: v for k, v in ORDER_FILL.items() if k not in ("price", "fullVWAP")}
    with pytest.raises(ValueError, match="price"):
        parse_fill(no_price)


@pytest.mark.parametrize(
    ("state", "fills", "status", "filled", "average"),
    [
        ("PENDING", [], OrderStatus.ACCEPTED, "0", None),
        ("PENDING", [("2309", "-40", "1.20000")], OrderStatus.PARTIALLY_FILLED, "40", "1.20000"),
        ("TRIGGERED", [], OrderStatus.ACCEPTED, "0", None),
        (
            "FILLED",
            [("2309", "-40", "1.20000"), ("2309", "-60", "1.20010")],
            OrderStatus.FILLED,
            "100",
            "1.20006",
        ),
        ("FILLED", [("2309", "-40", "1.20000")], OrderStatus.FILLED, "100", None),  # fills not all found
        ("CANCELLED", [("2309", "-40", "1.20000")], OrderStatus.CANCELED, "40", "1.20000"),
        ("CANCELLED", [("9999", "-40", "1.20000")], OrderStatus.CANCELED, "0", None),  # another order's
    ],
)
def test_order_state_and_fills_map_to_status_quantity_and_average(
    state: str, fills: list[tuple[str, str, str]], status: OrderStatus, filled: str, average: str | None
) -> None:
    order = parse_order({**LIMIT_ORDER, "state": state})
    found = [fill(o, u, p, transaction_id=i) for i, (o, u, p) in enumerate(fills)]
    answer = venue_order(order, found, "oanda")
    assert answer.status is status
    assert answer.filled_quantity == Decimal(filled)
    assert answer.average_fill_price == (Decimal(average) if average else None)
    assert (answer.client_order_id, answer.venue_order_id) == ("co-abc", "2309")


def test_an_unknown_order_state_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown state"):
        parse_order({**LIMIT_ORDER, "state": "PARKED"})


def test_create_answer_with_an_immediate_fill_is_filled() -> None:
    answer = {
        "orderCreateTransaction": {
            "id": "6409",
            "type": "MARKET_ORDER",
            "units": "-1000",
            "instrument": "EUR_USD",
        },
        "orderFillTransaction": ORDER_FILL,
        "relatedTransactionIDs": ["6409", "6410"],
        "lastTransactionID": "6410",
    }
    order = parse_create_answer(answer, "co-abc", "oanda:EUR_USD")
    assert order.status is OrderStatus.FILLED
    assert (order.filled_quantity, order.average_fill_price) == (Decimal("1000"), Decimal("1.08500"))
    assert order.venue_order_id == "6409"


def test_create_answer_cancelled_at_once_is_canceled_with_oanda_reason() -> None:
    answer = {
        "orderCreateTransaction": {"id": "12", "type": "LIMIT_ORDER", "units": "1000", "timeInForce": "IOC"},
        "orderCancelTransaction": {
            "id": "13",
            "type": "ORDER_CANCEL",
            "orderID": "12",
            "reason": "TIME_IN_FORCE_EXPIRED",
        },
        "lastTransactionID": "13",
    }
    order = parse_create_answer(answer, "co-abc", "oanda:EUR_USD")
    assert order.status is OrderStatus.CANCELED
    assert order.reason == "TIME_IN_FORCE_EXPIRED"
    assert order.filled_quantity == 0


def test_order_body_is_signed_units_exact_price_and_our_client_id() -> None:
    sell = limit_intent("body", side=Side.SELL, time_in_force=TimeInForce.DAY, limit_price=Decimal("1.08510"))
    body = order_request(OutboundOrder(sell, Decimal("1000"), Decimal("1.08510")))["order"]
    assert body == {
        "type": "LIMIT",
        "instrument": "EUR_USD",
        "units": "-1000",
        "price": "1.08510",
        "timeInForce": "GFD",
        "positionFill": "DEFAULT",
        "clientExtensions": {"id": sell.client_order_id},
    }
    market = limit_intent("mkt", order_type=OrderType.MARKET, limit_price=None, reduce_only=True)
    market_body = order_request(OutboundOrder(market, Decimal("1000"), None))["order"]
    assert market_body["timeInForce"] == "FOK"  # OANDA refuses GTC on a market order
    assert market_body["positionFill"] == "REDUCE_ONLY"
    assert "price" not in market_body


def test_transaction_listing_pages_become_idrange_queries() -> None:
    listing = {
        "count": 2124,
        "pageSize": 100,
        "lastTransactionID": "2124",
        "pages": [
            "https://api-fxpractice.oanda.com/v3/accounts/101-004-1435156-001/transactions/idrange?from=1&to=100",
            "https://api-fxpractice.oanda.com/v3/accounts/101-004-1435156-001/transactions/idrange"
            "?from=2101&to=2124&type=ORDER_FILL",
        ],
    }
    assert transaction_pages(listing) == [
        {"from": "1", "to": "100"},
        {"from": "2101", "to": "2124", "type": "ORDER_FILL"},
    ]


def test_fill_log_reports_fills_at_or_after_the_moment_asked() -> None:
    log = FillLog()
    at = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
    early, exact = fill("1", "10", "1.1", 5), fill("1", "10", "1.1", 6)
    early = OandaFill(**{**_fields(early), "time": at - timedelta(microseconds=1)})
    exact = OandaFill(**{**_fields(exact), "time": at})
    log.backfilled(at - timedelta(hours=1), [exact, early], last_id=6)
    assert [f.transaction_id for f in log.since(at)] == [6]
    assert log.covers(at) and not log.covers(at - timedelta(hours=2))
    assert log.last_transaction_id == 6


def _fields(value: OandaFill) -> dict[str, Any]:
    return {name: getattr(value, name) for name in OandaFill.__slots__}


# --------------------------------------------------------------------------------- errors
def test_an_order_refusal_reads_as_rejected_with_oanda_message_and_code() -> None:
    error = parse_error(REJECTED_ORDER_BODY)
    assert error.reason == "Insufficient margin available (INSUFFICIENT_MARGIN)"
    fault = classify(OandaHttpError(400, REJECTED_ORDER_BODY, {}))
    assert fault is not None
    assert fault.kind is FaultKind.REJECTED and fault.status == 400


def test_a_client_id_held_by_a_pending_order_reads_as_duplicate() -> None:
    body = (
        '{"orderRejectTransaction": {"type": "LIMIT_ORDER_REJECT", "rejectReason": '
        '"CLIENT_ORDER_ID_ALREADY_EXISTS"}, "errorCode": "CLIENT_ORDER_ID_ALREADY_EXISTS", '
        '"errorMessage": "The client Order ID specified is already assigned to another pending Order"}'
    )
    fault = classify(OandaHttpError(400, body, {}))
    assert fault is not None and fault.kind is FaultKind.DUPLICATE


@pytest.mark.parametrize(
    ("status", "body", "headers", "kind", "words"),
    [
        (401, '{"errorMessage": "Insufficient authorization to perform request."}', {}, FaultKind.REJECTED,
         "access token"),
        (404, '{"errorMessage": "The order ClientID specified does not exist", '
              '"errorCode": "ORDER_DOESNT_EXIST"}', {}, FaultKind.NOT_FOUND, "does not exist"),
        (429, '{"errorMessage": "Requests are being rate limited"}', {"Retry-After": "2"},
         FaultKind.RATE_LIMITED, "rate limited"),
        (502, "<html><body>Bad Gateway</body></html>", {}, FaultKind.TRANSIENT, "Bad Gateway"),
    ],
)  # fmt: skip
def test_http_errors_classify_by_status_with_oanda_words(
    status: int, body: str, headers: dict[str, str], kind: FaultKind, words: str
) -> None:
    fault = classify(OandaHttpError(status, body, headers))
    assert fault is not None and fault.kind is kind
    assert words in fault.reason
    if headers:
        assert fault.retry_after == 2.0


def test_the_sdk_error_itself_is_classified_too() -> None:
    fault = classify(V20Error(503, '{"errorMessage": "Service unavailable"}'))
    assert fault is not None and fault.kind is FaultKind.TRANSIENT
    assert classify(RuntimeError("not ours")) is None


# --------------------------------------------------------------------------------- configuration
def settings_without_fake(environment: str = "sandbox", base_url: str | None = None) -> VenueSettings:
    return VenueSettings.model_validate(
        {
            "kind": "oanda",
            "asset_class": "forex",
            "environment": environment,
            "base_url": base_url,
            "symbols": ["EUR_USD"],
        }
    )


def test_missing_credentials_name_both_environment_variables() -> None:
    settings = settings_without_fake(base_url="http://127.0.0.1:9")
    with pytest.raises(CredentialsMissing) as missing:
        build_adapter("oanda-test", settings, environ={})
    assert "OANDA_ACCESS_TOKEN" in str(missing.value) and "OANDA_ACCOUNT_ID" in str(missing.value)
    with pytest.raises(CredentialsMissing, match="OANDA_ACCOUNT_ID"):
        build_adapter("oanda-test", settings, environ={"OANDA_ACCESS_TOKEN": "a-token"})


@pytest.mark.parametrize(
    ("environment", "host"),
    [("sandbox", "https://api-fxpractice.oanda.com"), ("production", "https://api-fxtrade.oanda.com")],
)
def test_environment_picks_oanda_practice_or_live_host(environment: str, host: str) -> None:
    adapter = build(settings_without_fake(environment), fake_environ())
    try:
        assert adapter.rest_host == host
        assert "test-oanda-token" not in repr(adapter)
    finally:
        adapter.close()


def test_a_base_url_registers_its_own_sdk_environment() -> None:
    name = sdk_environment("production", "http://127.0.0.1:8123/")
    assert oandapyV20.oandapyV20.TRADING_ENVIRONMENTS[name]["api"] == "http://127.0.0.1:8123"
    assert oandapyV20.oandapyV20.TRADING_ENVIRONMENTS["live"]["api"] == "https://api-fxtrade.oanda.com"


# --------------------------------------------------------------------------------- over HTTP
def test_the_sdk_sends_the_bearer_token_and_our_client_id_in_client_extensions(venue: OandaHarness) -> None:
    order = limit_intent("wire", side=Side.SELL, limit_price=Decimal("1.09000"))
    answer = run(venue.broker.submit(order))
    assert answer.status is OrderStatus.ACCEPTED
    [posted] = venue.fake.server.requests_to("POST", f"/v3/accounts/{ACCOUNT_ID}/orders")
    headers = {k.lower(): v for k, v in posted.headers.items()}
    assert headers["authorization"] == f"Bearer {venue.fake.token}"
    assert posted.body["order"]["clientExtensions"] == {"id": order.client_order_id}
    assert posted.body["order"]["units"] == "-1000"
    assert posted.body["order"]["price"] == "1.09000"
    # and the order is found again by OANDA's @clientID specifier
    assert venue.fake.server.requests_to("GET", f"/orders/@{order.client_order_id}")


@pytest.mark.parametrize(
    ("environ", "words"),
    [
        (fake_environ(token="revoked-token"), "access token"),
        (fake_environ(account_id="101-004-7654321-001"), "forbidden"),
    ],
    ids=["bad-token", "other-account"],
)
def test_a_refused_token_is_a_clear_error_and_health_shows_it(
    venue: OandaHarness, environ: dict[str, str], words: str
) -> None:
    broker = build(venue.settings, environ)
    try:
        with pytest.raises(VenueRejected) as refused:
            run(broker.balance())
        assert words in str(refused.value)
        health = broker.health()
        assert not health.connected
        assert health.last_error is not None and words in health.last_error
    finally:
        broker.close()


def test_a_venue_refusal_carries_oanda_message_and_reject_reason(venue: OandaHarness) -> None:
    venue.fake.reject_next("Insufficient margin available", "INSUFFICIENT_MARGIN")
    answer = run(venue.broker.submit(limit_intent("refused")))
    assert answer.status is OrderStatus.REJECTED
    assert answer.reason == "Insufficient margin available (INSUFFICIENT_MARGIN)"


def test_the_fake_refuses_a_second_pending_order_with_the_same_client_id(venue: OandaHarness) -> None:
    api = oandapyV20.API(
        access_token=venue.fake.token, environment=sdk_environment("sandbox", venue.fake.url)
    )
    body = {
        "order": {
            "type": "LIMIT",
            "instrument": "EUR_USD",
            "units": "1000",
            "price": "1.08000",
            "timeInForce": "GTC",
            "clientExtensions": {"id": "co-twice"},
        }
    }
    try:
        api.request(order_endpoints.OrderCreate(ACCOUNT_ID, data=body))
        with pytest.raises(V20Error) as second:
            api.request(order_endpoints.OrderCreate(ACCOUNT_ID, data=body))
    finally:
        api.close()
    assert second.value.code == 400
    fault = classify(second.value)
    assert fault is not None and fault.kind is FaultKind.DUPLICATE
    assert venue.orders_at_venue() == 1


def test_a_resend_after_restart_of_a_filled_order_is_not_a_second_order(venue: OandaHarness) -> None:
    # OANDA frees a client id once its order is no longer pending, so only a lookup stops this resend
    order = limit_intent(
        "filled-resend", order_type=OrderType.MARKET, limit_price=None, time_in_force=TimeInForce.IOC
    )
    first = run(venue.broker.submit(order))
    assert first.status is OrderStatus.FILLED
    again = run(venue.restarted_broker().submit(order))
    assert again.venue_order_id == first.venue_order_id
    assert again.status is OrderStatus.FILLED
    assert venue.orders_at_venue() == 1


def test_fills_made_before_the_adapter_started_are_found_by_time(venue: OandaHarness) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    order = limit_intent("old-fill", limit_price=Decimal("1.08600"))  # marketable: fills at the 1.08510 ask
    run(venue.broker.submit(order))
    broker = venue.restarted_broker()
    fills = run(broker.fills_since(before))
    assert [(f.client_order_id, f.quantity, f.price) for f in fills] == [
        (order.client_order_id, Decimal("1000"), Decimal("1.08510"))
    ]
    assert run(broker.fills_since(fills[0].time)) == fills  # a fill at exactly `since` is included
    assert run(broker.fills_since(fills[0].time + timedelta(microseconds=1))) == []


def test_new_fills_are_read_since_the_last_transaction_page_by_page(venue: OandaHarness) -> None:
    since = datetime.now(UTC) - timedelta(seconds=5)
    assert run(venue.broker.fills_since(since)) == []  # the log now starts here
    venue.fake.sinceid_page_size = 1  # OANDA caps each sinceid answer; here at one transaction
    order = limit_intent("pages")
    run(venue.broker.submit(order))
    for part in ("100", "200", "300"):
        venue.fill(order.client_order_id, Decimal(part))
    fills = run(venue.broker.fills_since(since))
    assert [f.quantity for f in fills] == [Decimal("100"), Decimal("200"), Decimal("300")]
    assert len(venue.fake.server.requests_to("GET", "/transactions/sinceid")) >= 4


def test_a_partly_filled_order_cancelled_keeps_its_filled_part(venue: OandaHarness) -> None:
    order = limit_intent("part-cancel")
    run(venue.broker.submit(order))
    venue.fill(order.client_order_id, Decimal("400"))
    [working] = run(venue.broker.open_orders())
    assert working.status is OrderStatus.PARTIALLY_FILLED and working.filled_quantity == Decimal("400")
    canceled = run(venue.broker.cancel(order.client_order_id))
    assert canceled is not None
    assert canceled.status is OrderStatus.CANCELED
    assert canceled.filled_quantity == Decimal("400")
    assert canceled.average_fill_price == Decimal("1.08000")


def test_a_cancel_of_an_unknown_client_id_is_none(venue: OandaHarness) -> None:
    assert run(venue.broker.cancel(client_order_id_for("never-sent"))) is None


def test_a_market_that_is_not_tradeable_has_no_quote(venue: OandaHarness) -> None:
    venue.fake.not_tradeable.add("EUR_USD")
    assert run(venue.broker.quote(venue.instrument)) is None


def test_a_junk_price_answer_is_a_broker_error_with_the_reason(venue: OandaHarness) -> None:
    venue.fake.raw_prices["EUR_USD"] = {**CLIENT_PRICE, "bids": [{"price": "1,0850"}]}
    with pytest.raises(BrokerError, match=r"unreadable OANDA answer: .*bid.*'1,0850'"):
        run(venue.broker.quote(venue.instrument))
    assert "unreadable" in (venue.broker.health().last_error or "")


def test_bars_come_from_complete_candles_of_the_matching_granularity(venue: OandaHarness) -> None:
    candles = [
        {"complete": True, "volume": 5, "time": f"2026-03-02T14:0{i}:00.000000000Z",
         "mid": {"o": "1.08500", "h": "1.08520", "l": "1.08490", "c": "1.08510"}}
        for i in range(5)
    ] + [{"complete": False, "volume": 1, "time": "2026-03-02T14:05:00.000000000Z",
          "mid": {"o": "1.08510", "h": "1.08510", "l": "1.08510", "c": "1.08510"}}]  # fmt: skip
    venue.fake.set_candles("EUR_USD", "M5", candles)
    series = run(venue.broker.bars(venue.instrument, 300, 4))
    assert series is not None and len(series) == 4
    [asked] = venue.fake.server.requests_to("GET", "/candles")
    assert asked.query == {"granularity": "M5", "count": "5", "price": "M"}
    with pytest.raises(BrokerError, match="no 7 s candles"):
        run(venue.broker.bars(venue.instrument, 7, 4))


def test_instruments_are_exactly_the_configured_symbols_read_from_oanda(venue: OandaHarness) -> None:
    [listed] = run(venue.broker.instruments())
    assert (listed.symbol, listed.venue, listed.underlying) == ("EUR_USD", "oanda-test", "EUR/USD")
    [asked] = venue.fake.server.requests_to("GET", "/instruments")
    assert asked.query == {"instruments": "EUR_USD"}


def test_venue_order_for_an_order_without_client_extensions_uses_the_id_it_was_found_by() -> None:
    bare = {k: v for k, v in LIMIT_ORDER.items() if k != "clientExtensions"}
    order: OandaOrder = parse_order(bare)
    assert order.client_order_id is None
    assert venue_order(order, [], "oanda", "co-asked").client_order_id == "co-asked"
