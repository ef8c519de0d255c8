"""The ccxt adapter beyond the conformance suite: parsers on real payload shapes, faults, auth, wiring.

Parser fixtures are venue JSON as Binance and Coinbase document it, turned into ccxt's unified
structures by ccxt's own (offline) parse functions, then read by our pure parsers. The end-to-end
tests run the real ccxt client against the fakes in tests/fakes over loopback HTTP.
"""

from __future__ import annotations

import asyncio
import json
import math
import urllib.error
import urllib.request
from collections.abc import Awaitable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import ccxt
import pytest
from ccxt.base.decimal_to_precision import DECIMAL_PLACES, SIGNIFICANT_DIGITS, TICK_SIZE
from cryptography.hazmat.primitives.asymmetric import ec

from brokers.base import CredentialsMissing, VenueRejected, VenueUnavailable
from brokers.calls import FaultKind
from brokers.ccxt_venue import (
    CcxtCallFailed,
    balance_from,
    bar_series_from_ohlcv,
    build_exchange,
    classify_ccxt,
    fee_in_quote,
    fill_from_trade,
    instrument_from_market,
    order_status_from,
    quote_from_order_book,
    quote_from_ticker,
    spot_positions,
    timeframe_for,
    venue_order_from,
    venue_reason,
)
from brokers.factory import build_adapter, connection_for
from brokers.live import OutboundOrder, prepare
from domain.orders import OrderIntent, OrderStatus, OrderType, TimeInForce, client_order_id_for
from domain.signals import Side
from tests.brokers.harnesses import ccxt as binance_harness
from tests.brokers.harnesses import coinbase as coinbase_harness
from tests.fakes.binance import FakeBinance, Listing
from tests.fakes.coinbase import FakeCoinbase
from tests.fakes.exchange import FakeExchange

T = TypeVar("T")
NOW = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


def run(awaitable: Awaitable[T]) -> T:
    async def main() -> T:
        return await awaitable

    return asyncio.run(main())


# ----------------------------------------------------------------------------- real payload fixtures
# GET /api/v3/exchangeInfo, one symbol (Binance spot API documentation)
BINANCE_SYMBOL_INFO: dict[str, Any] = {
    "symbol": "ETHBTC",
    "status": "TRADING",
    "baseAsset": "ETH",
    "baseAssetPrecision": 8,
    "quoteAsset": "BTC",
    "quotePrecision": 8,
    "quoteAssetPrecision": 8,
    "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
    "icebergAllowed": True,
    "ocoAllowed": True,
    "quoteOrderQtyMarketAllowed": True,
    "allowTrailingStop": False,
    "cancelReplaceAllowed": False,
    "isSpotTradingAllowed": True,
    "isMarginTradingAllowed": True,
    "filters": [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": "0.00000100",
            "maxPrice": "922327.00000000",
            "tickSize": "0.00000100",
        },
        {
            "filterType": "LOT_SIZE",
            "minQty": "0.00010000",
            "maxQty": "100000.00000000",
            "stepSize": "0.00010000",
        },
        {
            "filterType": "NOTIONAL",
            "minNotional": "0.00010000",
            "applyMinToMarket": True,
            "maxNotional": "9000000.00000000",
            "applyMaxToMarket": False,
            "avgPriceMins": 5,
        },
    ],
    "permissions": [],
    "permissionSets": [["SPOT", "MARGIN"]],
    "defaultSelfTradePreventionMode": "NONE",
    "allowedSelfTradePreventionModes": ["NONE"],
}

# GET /api/v3/order (Binance spot API documentation), partly filled
BINANCE_ORDER: dict[str, Any] = {
    "symbol": "ETHBTC",
    "orderId": 1,
    "orderListId": -1,
    "clientOrderId": "myOrder1",
    "price": "0.10000000",
    "origQty": "1.00000000",
    "executedQty": "0.40000000",
    "cummulativeQuoteQty": "0.04000000",
    "status": "PARTIALLY_FILLED",
    "timeInForce": "GTC",
    "type": "LIMIT",
    "side": "BUY",
    "stopPrice": "0.00000000",
    "icebergQty": "0.00000000",
    "time": 1499827319559,
    "updateTime": 1499827319559,
    "isWorking": True,
    "workingTime": 1499827319559,
    "origQuoteOrderQty": "0.00000000",
    "selfTradePreventionMode": "NONE",
}

# GET /api/v3/myTrades, one trade (Binance spot API documentation); commission in the base asset
BINANCE_TRADE: dict[str, Any] = {
    "symbol": "ETHBTC",
    "id": 28457,
    "orderId": 100234,
    "orderListId": -1,
    "price": "0.05000000",
    "qty": "12.00000000",
    "quoteQty": "0.60000000",
    "commission": "0.01200000",
    "commissionAsset": "ETH",
    "time": 1499865549590,
    "isBuyer": True,
    "isMaker": False,
    "isBestMatch": True,
}

# GET /api/v3/brokerage/orders/historical/{order_id} -> "order" (Coinbase Advanced Trade documentation)
COINBASE_ORDER: dict[str, Any] = {
    "order_id": "0000-000000-000000",
    "product_id": "BTC-USD",
    "user_id": "2222-000000-000000",
    "order_configuration": {
        "limit_limit_gtc": {"base_size": "0.001", "limit_price": "10000.00", "post_only": False}
    },
    "side": "BUY",
    "client_order_id": "11111-000000-000000",
    "status": "OPEN",
    "time_in_force": "GOOD_UNTIL_CANCELLED",
    "created_time": "2021-05-31T09:59:59.000Z",
    "completion_percentage": "50",
    "filled_size": "0.0005",
    "average_filled_price": "10000.00",
    "fee": "",
    "number_of_fills": "1",
    "filled_value": "5",
    "pending_cancel": False,
    "size_in_quote": False,
    "total_fees": "0.03",
    "size_inclusive_of_fees": False,
    "total_value_after_fees": "5.03",
    "trigger_status": "INVALID_ORDER_TYPE",
    "order_type": "LIMIT",
    "reject_reason": "REJECT_REASON_UNSPECIFIED",
    "settled": False,
    "product_type": "SPOT",
    "reject_message": "",
    "cancel_message": "",
    "order_placement_source": "RETAIL_ADVANCED",
    "outstanding_hold_amount": "5.00",
}

# GET /api/v3/brokerage/orders/historical/fills -> one of "fills" (Coinbase Advanced Trade documentation)
COINBASE_FILL: dict[str, Any] = {
    "entry_id": "22222-2222222-22222222",
    "trade_id": "1111-11111-111111",
    "order_id": "0000-000000-000000",
    "trade_time": "2021-05-31T09:59:59.000Z",
    "trade_type": "FILL",
    "price": "10000.00",
    "size": "0.001",
    "commission": "1.25",
    "product_id": "BTC-USD",
    "sequence_timestamp": "2021-05-31T09:58:59.000Z",
    "liquidity_indicator": "MAKER",
    "size_in_quote": False,
    "user_id": "3333-333333-3333333",
    "side": "BUY",
}


def offline_binance() -> Any:
    exchange = ccxt.binance()
    # what fetch_markets sets up before it parses exchangeInfo
    exchange.options["crossMarginPairsData"] = []
    exchange.options["isolatedMarginPairsData"] = []
    exchange.set_markets([exchange.parse_market(BINANCE_SYMBOL_INFO)])
    return exchange


# ----------------------------------------------------------------------------- instruments
def test_instrument_reads_binance_tick_lot_and_minimums_from_exchange_info() -> None:
    exchange = offline_binance()
    instrument = instrument_from_market("ETH/BTC", exchange.markets["ETH/BTC"], "bin", exchange.precisionMode)
    assert instrument.tick_size == Decimal("0.000001")
    assert instrument.lot_size == Decimal("0.0001")
    assert instrument.min_quantity == Decimal("0.0001")
    assert instrument.min_notional == Decimal("0.0001")
    assert (instrument.underlying, instrument.quote_currency, instrument.key) == ("ETH", "BTC", "bin:ETH/BTC")


def test_instrument_from_a_decimal_places_exchange_turns_the_count_into_an_increment() -> None:
    market = {
        "spot": True,
        "base": "BTC",
        "quote": "EUR",
        "precision": {"price": 1, "amount": 8},
        "limits": {"amount": {"min": 0.0001}, "cost": {"min": None}},
    }
    instrument = instrument_from_market("BTC/EUR", market, "kraken", DECIMAL_PLACES)
    assert (instrument.tick_size, instrument.lot_size) == (Decimal("0.1"), Decimal("0.00000001"))
    assert instrument.min_notional == 0


def test_instrument_refuses_significant_digit_precision_rather_than_guess_a_tick() -> None:
    market = {
        "spot": True,
        "base": "BTC",
        "quote": "USD",
        "precision": {"price": 5, "amount": 8},
        "limits": {},
    }
    with pytest.raises(ValueError, match="significant digits"):
        instrument_from_market("BTC/USD", market, "x", SIGNIFICANT_DIGITS)


def test_instrument_refuses_a_derivative_market() -> None:
    market = {"spot": False, "type": "swap", "base": "BTC", "quote": "USDT", "precision": {}, "limits": {}}
    with pytest.raises(ValueError, match="only spot"):
        instrument_from_market("BTC/USDT:USDT", market, "x", TICK_SIZE)


# ----------------------------------------------------------------------------- quotes and bars
def book(bids: list[list[Any]], asks: list[list[Any]]) -> dict[str, Any]:
    return {"bids": bids, "asks": asks, "timestamp": None}


def test_quote_is_the_top_of_the_order_book() -> None:
    quote = quote_from_order_book(book([[50000.0, 1.0], [49999.0, 2.0]], [[50000.1, 1.0]]), "v:BTC", NOW, "v")
    assert quote is not None
    assert (quote.bid, quote.ask, quote.time) == (Decimal("50000.0"), Decimal("50000.1"), NOW)


@pytest.mark.parametrize(
    ("bids", "asks"),
    [
        ([], [[50000.1, 1.0]]),  # empty side
        ([[0.0, 1.0]], [[50000.1, 1.0]]),  # zero
        ([[math.nan, 1.0]], [[50000.1, 1.0]]),  # NaN
        ([[None, 1.0]], [[50000.1, 1.0]]),  # missing
        ([[50001.0, 1.0]], [[50000.0, 1.0]]),  # crossed
    ],
)
def test_an_unusable_book_gives_no_quote(bids: list[list[Any]], asks: list[list[Any]]) -> None:
    assert quote_from_order_book(book(bids, asks), "v:BTC", NOW, "v") is None


def test_a_junk_book_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="not lists"):
        quote_from_order_book({"bids": "nope", "asks": []}, "v:BTC", NOW, "v")


def test_ticker_quote_uses_the_venue_time_and_refuses_a_missing_ask() -> None:
    quote = quote_from_ticker({"bid": 10.0, "ask": 10.5, "timestamp": 1_700_000_000_000}, "v:X", NOW, "v")
    assert quote is not None and quote.time == datetime.fromtimestamp(1_700_000_000, UTC)
    assert quote_from_ticker({"bid": 10.0, "ask": None}, "v:X", NOW, "v") is None


def test_bars_drop_the_bar_still_forming_and_keep_the_last_count() -> None:
    minute = 60_000
    start = 1_700_000_040_000
    rows = [[start + i * minute, 10.0, 11.0, 9.0, 10.5, 3.0] for i in range(4)]
    now = start + 3 * minute + 30_000  # the fourth bar opened 30 s ago
    series = bar_series_from_ohlcv(rows, "v:X", 60, 2, now)
    assert series is not None
    assert list(series.times) == [(start + minute) / 1000, (start + 2 * minute) / 1000]
    assert list(series.close) == [10.5, 10.5]


def test_a_junk_bar_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="bar"):
        bar_series_from_ohlcv([[1_700_000_000_000, "x", 1, 1, 1, 1]], "v:X", 60, 5, 1_800_000_000_000)


def test_timeframe_names_match_seconds() -> None:
    frames = {"1m": "ONE_MINUTE", "5m": "FIVE_MINUTE", "1h": "ONE_HOUR", "1d": "ONE_DAY"}
    assert [timeframe_for(s, frames) for s in (60, 300, 3600, 86_400, 120)] == ["1m", "5m", "1h", "1d", None]


# ----------------------------------------------------------------------------- account
def test_balance_reads_the_quote_currency_and_zero_when_absent() -> None:
    balance = {"USD": {"free": 900.5, "used": 100.0, "total": 1000.5}, "total": {"USD": 1000.5}}
    assert balance_from(balance, "USD").cash == Decimal("1000.5")
    assert balance_from(balance, "USD").free == Decimal("900.5")
    assert balance_from(balance, "USDT").cash == 0
    assert balance_from({"EUR": {"free": 5.0, "used": 1.0, "total": None}}, "EUR").cash == Decimal("6.0")


def test_spot_positions_report_each_base_currency_once() -> None:
    balance = {"total": {"BTC": 0.25, "ETH": 0.0, "USD": 100.0}}
    bases = [("BTC/USD", "BTC"), ("BTC/USDC", "BTC"), ("ETH/USD", "ETH")]
    positions = spot_positions(balance, bases, "cb")
    assert [(p.instrument_key, p.quantity, p.average_entry_price) for p in positions] == [
        ("cb:BTC/USD", Decimal("0.25"), None)
    ]


# ----------------------------------------------------------------------------- orders
def test_binance_partly_filled_order_parses_to_partially_filled() -> None:
    order = venue_order_from(offline_binance().parse_order(BINANCE_ORDER), "bin:ETH/BTC")
    assert order.client_order_id == "myOrder1" and order.venue_order_id == "1"
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert order.filled_quantity == Decimal("0.4")
    assert order.average_fill_price == Decimal("0.1")


def test_coinbase_open_order_with_a_fill_is_partially_filled_at_its_average() -> None:
    order = venue_order_from(ccxt.coinbase().parse_order(COINBASE_ORDER), "cb:BTC/USD")
    assert order.client_order_id == "11111-000000-000000"
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert (order.filled_quantity, order.average_fill_price) == (Decimal("0.0005"), Decimal("10000.0"))


@pytest.mark.parametrize(
    ("raw_status", "ours"),
    [
        ("FILLED", OrderStatus.FILLED),
        ("CANCELLED", OrderStatus.CANCELED),
        ("EXPIRED", OrderStatus.EXPIRED),  # ccxt says "canceled"; the raw status says more
        ("FAILED", OrderStatus.REJECTED),
        ("CANCEL_QUEUED", OrderStatus.PENDING_CANCEL),
        ("PENDING", OrderStatus.ACCEPTED),
    ],
)
def test_coinbase_raw_statuses_map_to_ours(raw_status: str, ours: OrderStatus) -> None:
    parsed = ccxt.coinbase().parse_order({**COINBASE_ORDER, "status": raw_status, "filled_size": "0"})
    assert order_status_from(parsed) is ours


def test_a_failed_coinbase_order_carries_its_reject_message() -> None:
    raw = {**COINBASE_ORDER, "status": "FAILED", "filled_size": "0", "reject_message": "Insufficient funds"}
    order = venue_order_from(ccxt.coinbase().parse_order(raw), "cb:BTC/USD")
    assert (order.status, order.reason) == (OrderStatus.REJECTED, "Insufficient funds")


def test_binance_statuses_map_to_ours() -> None:
    exchange = offline_binance()
    statuses = {
        raw: order_status_from(exchange.parse_order({**BINANCE_ORDER, "status": raw, "executedQty": "0"}))
        for raw in ("NEW", "FILLED", "CANCELED", "EXPIRED", "REJECTED", "PENDING_CANCEL")
    }
    assert statuses == {
        "NEW": OrderStatus.ACCEPTED,
        "FILLED": OrderStatus.FILLED,
        "CANCELED": OrderStatus.CANCELED,
        "EXPIRED": OrderStatus.EXPIRED,
        "REJECTED": OrderStatus.REJECTED,
        "PENDING_CANCEL": OrderStatus.PENDING_CANCEL,
    }


def test_an_unknown_status_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown status"):
        order_status_from({"id": "1", "status": "teleported"})


def test_the_client_id_asked_about_wins_over_the_one_echoed() -> None:
    # Binance's DELETE /api/v3/order answers with the cancel request's own clientOrderId
    order = venue_order_from(
        {"id": "7", "clientOrderId": "cancel-xyz", "status": "canceled"}, "b:X", "co-ours"
    )
    assert order.client_order_id == "co-ours"


# ----------------------------------------------------------------------------- fills and fees
def test_binance_fee_in_the_base_asset_is_converted_at_the_trade_price() -> None:
    trade = offline_binance().parse_trade(BINANCE_TRADE)
    fill, unconverted = fill_from_trade(trade, "bin", "ETH/BTC", "ETH", "BTC", "co-1")
    assert unconverted is None
    assert fill.fee == Decimal("0.0006")  # 0.012 ETH x 0.05 BTC
    assert (fill.side, fill.quantity, fill.price, fill.venue_trade_id) == (
        Side.BUY,
        Decimal("12.0"),
        Decimal("0.05"),
        "28457",
    )


def test_a_fee_in_a_third_currency_is_not_guessed() -> None:
    trade = offline_binance().parse_trade({**BINANCE_TRADE, "commissionAsset": "BNB"})
    fill, note = fill_from_trade(trade, "bin", "ETH/BTC", "ETH", "BTC", "co-1")
    assert fill.fee == 0 and note is not None and "BNB" in note
    assert fee_in_quote(trade, "ETH", "BTC", Decimal("0.05")) is None


def test_a_maker_rebate_is_noted_not_booked_as_a_negative_fee() -> None:
    trade = offline_binance().parse_trade(
        {**BINANCE_TRADE, "commission": "-0.00100000", "commissionAsset": "BTC"}
    )
    fill, note = fill_from_trade(trade, "bin", "ETH/BTC", "ETH", "BTC", "co-1")
    assert fill.fee == 0 and note == "rebate 0.001 BTC"


def test_coinbase_fill_fee_is_its_commission_in_the_quote_currency() -> None:
    trade = ccxt.coinbase().parse_trade(COINBASE_FILL)
    fill, unconverted = fill_from_trade(trade, "cb", "BTC/USD", "BTC", "USD", "co-1")
    assert (fill.fee, unconverted, fill.quantity, fill.price) == (
        Decimal("1.25"),
        None,
        Decimal("0.001"),
        Decimal("10000.0"),
    )
    assert fill.time == datetime(2021, 5, 31, 9, 59, 59, tzinfo=UTC)


# ----------------------------------------------------------------------------- fault classification
def failed(error: Exception, status: int | None, headers: dict[str, str] | None = None) -> CcxtCallFailed:
    return CcxtCallFailed(error, status, headers or {})


def test_binance_refusal_keeps_the_exchange_words() -> None:
    body = '{"code":-2010,"msg":"Account has insufficient balance for requested action."}'
    fault = classify_ccxt(failed(ccxt.InsufficientFunds("binance " + body), 400), "binance")
    assert fault is not None and fault.kind is FaultKind.REJECTED
    assert fault.reason == "Account has insufficient balance for requested action."


def test_binance_duplicate_client_id_is_a_duplicate() -> None:
    error = ccxt.InvalidOrder('binance {"code":-2010,"msg":"Duplicate order sent."}')
    fault = classify_ccxt(failed(error, 400), "binance")
    assert fault is not None and fault.kind is FaultKind.DUPLICATE


def test_rate_limit_carries_retry_after() -> None:
    fault = classify_ccxt(
        failed(ccxt.DDoSProtection("binance 429 slow"), 429, {"Retry-After": "7"}), "binance"
    )
    assert fault is not None and (fault.kind, fault.retry_after) == (FaultKind.RATE_LIMITED, 7.0)


def test_ccxt_network_error_for_a_plain_4xx_is_a_refusal_not_a_retry() -> None:
    # ccxt's httpExceptions turn an unmapped 400/403 into ExchangeNotAvailable (a NetworkError)
    error = ccxt.ExchangeNotAvailable("kraken GET https://x 403 Forbidden nope")
    fault = classify_ccxt(failed(error, 403), "kraken")
    assert fault is not None and fault.kind is FaultKind.REJECTED


def test_server_errors_and_timeouts_are_transient() -> None:
    for error, status in ((ccxt.OperationFailed("x"), 503), (ccxt.RequestTimeout("x"), None)):
        fault = classify_ccxt(failed(error, status), "binance")
        assert fault is not None and fault.kind is FaultKind.TRANSIENT


def test_coinbase_refusal_in_a_200_answer_is_a_refusal_with_its_message() -> None:
    body = '{"success":false,"error_response":{"error":"UNKNOWN_FAILURE_REASON","message":"market closed"}}'
    fault = classify_ccxt(failed(ccxt.ExchangeError("coinbase " + body), 200), "coinbase")
    assert fault is not None and (fault.kind, fault.reason) == (FaultKind.REJECTED, "market closed")


def test_unknown_order_is_not_found() -> None:
    fault = classify_ccxt(failed(ccxt.OrderNotFound("binance -2013"), 400), "binance")
    assert fault is not None and fault.kind is FaultKind.NOT_FOUND


def test_an_error_without_an_answer_is_unknown_not_a_refusal() -> None:
    fault = classify_ccxt(failed(ccxt.ExchangeError("binance sign() has no API URL"), None), "binance")
    assert fault is not None and fault.kind is FaultKind.UNKNOWN


def test_junk_from_our_parsers_is_unknown() -> None:
    fault = classify_ccxt(ValueError("order: unknown status 'x'"), "binance")
    assert fault is not None and fault.kind is FaultKind.UNKNOWN and "unreadable" in fault.reason


def test_venue_reason_falls_back_to_the_text() -> None:
    assert venue_reason("kraken EOrder:Insufficient funds", "kraken") == "EOrder:Insufficient funds"


# ----------------------------------------------------------------------------- connect and configuration
@pytest.fixture
def binance() -> Iterator[FakeBinance]:
    fake = binance_harness.started_fake()
    yield fake
    fake.stop()


@pytest.fixture
def coinbase() -> Iterator[FakeCoinbase]:
    fake = coinbase_harness.started_fake()
    yield fake
    fake.stop()


def test_missing_keys_name_the_environment_variables() -> None:
    settings = binance_harness.binance_settings("http://127.0.0.1:9")
    with pytest.raises(CredentialsMissing, match="CCXT_API_KEY, CCXT_SECRET"):
        build_adapter("b", settings, {})
    cb_settings = coinbase_harness.coinbase_settings("http://127.0.0.1:9")
    with pytest.raises(CredentialsMissing, match="COINBASE_API_KEY, COINBASE_SECRET"):
        build_adapter("c", cb_settings, {})
    prefixed = binance_harness.binance_settings("http://127.0.0.1:9", credentials_env_prefix="KRAKEN")
    with pytest.raises(CredentialsMissing, match="KRAKEN_API_KEY"):
        build_adapter("k", prefixed, {"KRAKEN_SECRET": "s"})


def test_an_exchange_without_a_sandbox_is_refused_in_sandbox() -> None:
    settings = coinbase_harness.coinbase_settings(None, environment="sandbox")
    with pytest.raises(VenueUnavailable, match='environment = "production"'):
        build_adapter("c", settings, coinbase_harness.environ())


def test_with_a_base_url_the_environment_only_labels(coinbase: FakeCoinbase) -> None:
    settings = coinbase_harness.coinbase_settings(coinbase.url, environment="sandbox")
    broker = build_adapter("c", settings, coinbase_harness.environ())
    assert run(broker.balance()).cash > 0


def test_sandbox_selects_the_exchange_testnet() -> None:
    settings = binance_harness.binance_settings(None)
    connection = connection_for("b", settings, binance_harness.ENVIRON)
    exchange = build_exchange(connection, "binance")
    assert exchange.urls["api"]["public"].startswith("https://testnet.binance.vision/")


def test_an_exchange_lacking_what_trading_needs_is_refused_by_name() -> None:
    assert not ccxt.bithumb().has.get("fetchMyTrades")
    settings = binance_harness.binance_settings("http://127.0.0.1:9", exchange="bithumb", symbols=["BTC/KRW"])
    with pytest.raises(VenueUnavailable, match="fetchMyTrades"):
        build_adapter("bt", settings, binance_harness.ENVIRON)


def test_an_exchange_needing_a_passphrase_asks_for_it() -> None:
    settings = binance_harness.binance_settings("http://127.0.0.1:9", exchange="okx", symbols=["BTC/USDT"])
    with pytest.raises(VenueUnavailable, match="_PASSWORD"):
        build_adapter("okx", settings, binance_harness.ENVIRON)


def test_an_unknown_exchange_id_is_refused() -> None:
    settings = binance_harness.binance_settings("http://127.0.0.1:9", exchange="nosuchexchange")
    with pytest.raises(VenueUnavailable, match="no exchange 'nosuchexchange'"):
        build_adapter("x", settings, binance_harness.ENVIRON)


def test_ccxt_throttle_is_off_and_its_pace_becomes_the_rate_limit() -> None:
    broker = binance_harness.binance_adapter("http://127.0.0.1:9")
    exchange = broker.session.exchange
    assert exchange.enableRateLimit is False
    assert exchange.timeout == 1000
    assert broker.connection.requests_per_second == pytest.approx(1000 / exchange.rateLimit)


# ----------------------------------------------------------------------------- authentication
def test_binance_wrong_secret_is_reported_and_shows_on_health(binance: FakeBinance) -> None:
    environ = {"CCXT_API_KEY": binance_harness.API_KEY, "CCXT_SECRET": "not-the-secret"}
    broker = binance_harness.binance_adapter(binance.url, environ)
    with pytest.raises(VenueRejected, match="Signature for this request is not valid"):
        run(broker.balance())
    health = broker.health()
    assert health.last_error is not None and "Signature for this request is not valid" in health.last_error


def test_binance_unknown_key_is_reported(binance: FakeBinance) -> None:
    broker = binance_harness.binance_adapter(binance.url, {"CCXT_API_KEY": "other", "CCXT_SECRET": "x"})
    with pytest.raises(VenueRejected, match="Invalid API-key"):
        run(broker.balance())


def test_coinbase_jwt_signed_by_another_key_is_refused(coinbase: FakeCoinbase) -> None:
    other = coinbase_harness.cdp_secret(ec.generate_private_key(ec.SECP256R1()))
    env = {"COINBASE_API_KEY": coinbase_harness.KEY_NAME, "COINBASE_SECRET": other}
    broker = coinbase_harness.coinbase_adapter(coinbase.url, env)
    with pytest.raises(VenueRejected, match="JWT signature does not verify"):
        run(broker.balance())
    assert "JWT signature does not verify" in (broker.health().last_error or "")


def test_coinbase_fake_refuses_a_jwt_replayed_on_another_path(coinbase: FakeCoinbase) -> None:
    broker = coinbase_harness.coinbase_adapter(coinbase.url)
    run(broker.balance())
    (signed,) = coinbase.server.requests_to("GET", "/brokerage/accounts")
    replay = urllib.request.Request(
        coinbase.url + "/api/v3/brokerage/orders/historical/batch",
        headers={"Authorization": signed.headers["Authorization"]},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(replay, timeout=2)
    assert refused.value.code == 401
    assert "uri claim" in json.loads(refused.value.read())["message"]


# ----------------------------------------------------------------------------- orders on the wire
def order(
    harness: Any,
    tag: str,
    order_type: OrderType = OrderType.LIMIT,
    tif: TimeInForce = TimeInForce.GTC,
    quantity: Decimal | None = None,
) -> OrderIntent:
    h = harness
    return OrderIntent(
        client_order_id=client_order_id_for(f"ccxt-venue-{tag}"),
        signal_id=f"ccxt-venue-{tag}",
        bot="test",
        instrument=h.instrument,
        side=Side.BUY,
        quantity=quantity or h.quantity,
        order_type=order_type,
        time_in_force=tif,
        created_at=datetime.now(UTC),
        limit_price=None if order_type is OrderType.MARKET else h.resting_buy_price,
    )


@pytest.fixture
def binance_venue(tmp_path: Any) -> Iterator[binance_harness.CcxtHarness]:
    harness = binance_harness.make_harness(tmp_path)
    yield harness
    harness.close()


@pytest.fixture
def coinbase_venue(tmp_path: Any) -> Iterator[coinbase_harness.CoinbaseHarness]:
    harness = coinbase_harness.make_harness(tmp_path)
    yield harness
    harness.close()


def test_binance_receives_our_id_as_new_client_order_id(binance_venue: binance_harness.CcxtHarness) -> None:
    intent = order(binance_venue, "native-id")
    run(binance_venue.broker.submit(intent))
    (post,) = binance_venue.fake.server.requests_to("POST", "/api/v3/order")
    assert post.body["newClientOrderId"] == intent.client_order_id
    assert (post.body["type"], post.body["timeInForce"], post.body["price"]) == ("LIMIT", "GTC", "49000")


def test_binance_market_buy_is_sized_in_base_not_cost(binance_venue: binance_harness.CcxtHarness) -> None:
    run(binance_venue.broker.submit(order(binance_venue, "market", OrderType.MARKET, TimeInForce.IOC)))
    (post,) = binance_venue.fake.server.requests_to("POST", "/api/v3/order")
    assert post.body["quantity"] == "0.01" and "quoteOrderQty" not in post.body


def test_coinbase_receives_our_id_as_client_order_id(
    coinbase_venue: coinbase_harness.CoinbaseHarness,
) -> None:
    intent = order(coinbase_venue, "native-id")
    run(coinbase_venue.broker.submit(intent))
    (post,) = coinbase_venue.fake.server.requests_to("POST", "/brokerage/orders")
    assert post.body["client_order_id"] == intent.client_order_id
    assert post.body["order_configuration"] == {
        "limit_limit_gtc": {"base_size": "0.1", "limit_price": "49000", "post_only": False}
    }


def test_coinbase_market_buy_is_a_limit_ioc_at_a_fresh_best_ask(
    coinbase_venue: coinbase_harness.CoinbaseHarness,
) -> None:
    coinbase_venue.fake.exchange.set_quote("BTC-USD", "39999.90", "40000.00")  # the market moved
    answer = run(
        coinbase_venue.broker.submit(order(coinbase_venue, "mkt", OrderType.MARKET, TimeInForce.IOC))
    )
    requests = coinbase_venue.fake.server.requests
    post = next(r for r in requests if r.method == "POST" and r.path.endswith("/brokerage/orders"))
    book_reads = [r for r in requests if r.path.endswith("/product_book") and r.at < post.at]
    assert book_reads, "the price must come from a quote read before the order"
    # a cost-sized market buy would fill more than asked if the price fell; a marketable IOC
    # limit at the ask fills at most the quantity, never above the ask
    [configuration] = post.body["order_configuration"].values()
    assert "market_market_ioc" not in post.body["order_configuration"]
    assert Decimal(configuration["base_size"]) == Decimal("0.1")
    assert Decimal(configuration["limit_price"]) == Decimal("40000.00")
    assert (answer.status, answer.filled_quantity) == (OrderStatus.FILLED, Decimal("0.1"))


def test_coinbase_answers_a_repeated_client_id_with_the_existing_order(
    coinbase_venue: coinbase_harness.CoinbaseHarness,
) -> None:
    intent = order(coinbase_venue, "twice")
    first = run(coinbase_venue.broker.submit(intent))
    # a second process that never saw the first answer sends the same id, skipping the lookup
    other = coinbase_harness.coinbase_adapter(coinbase_venue.fake.url)
    outbound = prepare(intent)
    assert isinstance(outbound, OutboundOrder)
    again = run(other._create(outbound))
    assert again.venue_order_id == first.venue_order_id
    assert coinbase_venue.orders_at_venue() == 1


def test_coinbase_insufficient_funds_in_a_200_answer_is_rejected_with_coinbase_words(
    coinbase_venue: coinbase_harness.CoinbaseHarness,
) -> None:
    coinbase_venue.reject_next_order("Insufficient balance in source account")
    answer = run(coinbase_venue.broker.submit(order(coinbase_venue, "poor")))
    assert (answer.status, answer.reason) == (OrderStatus.REJECTED, "Insufficient balance in source account")


def test_day_orders_are_refused_without_a_request(binance_venue: binance_harness.CcxtHarness) -> None:
    answer = run(binance_venue.broker.submit(order(binance_venue, "day", tif=TimeInForce.DAY)))
    assert answer.status is OrderStatus.REJECTED and "DAY" in (answer.reason or "")
    assert binance_venue.fake.server.requests_to("POST", "/api/v3/order") == []


def test_a_crossed_venue_quote_is_no_quote(binance_venue: binance_harness.CcxtHarness) -> None:
    binance_venue.fake.exchange.set_quote("BTCUSDT", "50001.00", "50000.00")
    assert run(binance_venue.broker.quote(binance_venue.instrument)) is None


def test_bars_from_the_venue_leave_out_the_forming_bar(binance_venue: binance_harness.CcxtHarness) -> None:
    series = run(binance_venue.broker.bars(binance_venue.instrument, 60, 5))
    assert series is not None and len(series) == 5
    newest_open = series.times[-1]
    assert newest_open + 60 <= datetime.now(UTC).timestamp()
    (request,) = binance_venue.fake.server.requests_to("GET", "/api/v3/klines")
    assert request.query == {"symbol": "BTCUSDT", "interval": "1m", "limit": "6"}


def test_coinbase_bars_come_from_the_candles_endpoint(
    coinbase_venue: coinbase_harness.CoinbaseHarness,
) -> None:
    series = run(coinbase_venue.broker.bars(coinbase_venue.instrument, 300, 3))
    assert series is not None and len(series) == 3
    assert all(t % 300 == 0 for t in series.times)


def test_a_timeframe_the_exchange_lacks_is_refused(coinbase_venue: coinbase_harness.CoinbaseHarness) -> None:
    with pytest.raises(VenueRejected, match="no 120 s bars"):
        run(coinbase_venue.broker.bars(coinbase_venue.instrument, 120, 3))


def ten_bps(symbol: str, quantity: Decimal, price: Decimal, maker: bool) -> Decimal:
    return quantity * price / 1000


def test_binance_buy_fee_charged_in_base_is_booked_in_the_quote_currency() -> None:
    fake = FakeBinance(
        keys={binance_harness.API_KEY: binance_harness.SECRET},
        exchange=FakeExchange(fee=ten_bps),
        fee_in_base_for_buys=True,
    )
    fake.list_symbol(Listing("BTCUSDT", "BTC", "USDT", "0.01", "0.00001", "0.00001", "5"))
    fake.exchange.set_quote("BTCUSDT", "50000.00", "50000.10")
    fake.start()
    try:
        broker = binance_harness.binance_adapter(fake.url)
        since = datetime.now(UTC) - timedelta(minutes=1)
        (instrument,) = run(broker.instruments())
        intent = OrderIntent(
            client_order_id=client_order_id_for("fee-in-base"),
            signal_id="fee-in-base",
            bot="test",
            instrument=instrument,
            side=Side.BUY,
            quantity=Decimal("0.01"),
            order_type=OrderType.MARKET,
            time_in_force=TimeInForce.IOC,
            created_at=datetime.now(UTC),
        )
        run(broker.submit(intent))
        fresh = binance_harness.binance_adapter(fake.url)  # knows no order: maps the trade via the venue
        (fill,) = run(fresh.fills_since(since))
        assert fill.fee == Decimal("0.500001")  # charged as 0.00001 BTC, at the 50000.10 fill price
        assert fill.client_order_id == intent.client_order_id
    finally:
        fake.stop()
