"""What the conformance suite cannot see about Alpaca: its payloads, statuses, keys and crypto pairs.

Parsers are tested on payloads in Alpaca's exact wire format (docs examples);
everything else runs the real alpaca-py adapter against FakeAlpaca over HTTP.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, TypeVar

import pytest
import requests
from alpaca.common.exceptions import APIError

from brokers.alpaca import (
    InstrumentKeys,
    NotTradable,
    alpaca_timeframe,
    classify_alpaca_error,
    error_reason,
    order_status_of,
    parse_account,
    parse_asset,
    parse_bars,
    parse_fill,
    parse_latest_quote,
    parse_order,
    parse_position,
    wire_float,
)
from brokers.base import (
    BrokerError,
    CredentialsMissing,
    RateLimited,
    VenueRejected,
    VenueUnavailable,
)
from brokers.calls import FaultKind
from brokers.factory import build_adapter
from config.schema import VenueSettings
from domain.instruments import AssetClass, Instrument
from domain.orders import OrderIntent, OrderStatus, OrderType, TimeInForce, client_order_id_for
from domain.signals import Side
from tests.brokers.harnesses.alpaca import ENVIRON, alpaca_settings, build_alpaca
from tests.fakes.alpaca import API_KEY, FakeAlpaca, crypto_asset, stock_asset
from tests.fakes.server import Fault

T = TypeVar("T")
KEYS = InstrumentKeys("alpaca-paper", ("SPY", "AAPL", "BTC/USD"))


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(scenario())  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ payloads as Alpaca sends them
ORDER = {  # GET /v2/orders/{id}: a limit order partly filled (docs "Orders" example, with fills)
    "id": "61e69015-8549-4bfd-b9c3-01e75843f47d",
    "client_order_id": "co-5f1d2b9e0c8a4e7f9b3d1a2c4e6f8",
    "created_at": "2021-03-16T18:38:01.942282Z",
    "updated_at": "2021-03-16T18:38:05.120931Z",
    "submitted_at": "2021-03-16T18:38:01.937734Z",
    "filled_at": None,
    "expired_at": None,
    "canceled_at": None,
    "failed_at": None,
    "replaced_at": None,
    "replaced_by": None,
    "replaces": None,
    "asset_id": "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415",
    "symbol": "AAPL",
    "asset_class": "us_equity",
    "notional": None,
    "qty": "10",
    "filled_qty": "4",
    "filled_avg_price": "171.235",
    "order_class": "",
    "order_type": "limit",
    "type": "limit",
    "side": "buy",
    "time_in_force": "gtc",
    "limit_price": "171.25",
    "stop_price": None,
    "status": "partially_filled",
    "extended_hours": False,
    "legs": None,
    "trail_percent": None,
    "trail_price": None,
    "hwm": None,
}
FILL_ACTIVITY = {  # GET /v2/account/activities/FILL (docs example)
    "activity_type": "FILL",
    "cum_qty": "1",
    "id": "20190524113406977::8efc7b9a-8b2b-4000-9955-d36e7db0df74",
    "leaves_qty": "0",
    "price": "1.63",
    "qty": "1",
    "side": "buy",
    "symbol": "LPCN",
    "transaction_time": "2019-05-24T15:34:06.977Z",
    "order_id": "904837e3-3b76-47ec-b432-046db621571b",
    "type": "fill",
}
POSITION = {  # GET /v2/positions item (docs example)
    "asset_id": "904837e3-3b76-47ec-b432-046db621571b",
    "symbol": "AAPL",
    "exchange": "NASDAQ",
    "asset_class": "us_equity",
    "avg_entry_price": "100.0",
    "qty": "5",
    "qty_available": "4",
    "side": "long",
    "market_value": "600.0",
    "cost_basis": "500.0",
    "unrealized_pl": "100.0",
    "unrealized_plpc": "0.20",
    "unrealized_intraday_pl": "10.0",
    "unrealized_intraday_plpc": "0.0084",
    "current_price": "120.0",
    "lastday_price": "119.0",
    "change_today": "0.0084",
}
ACCOUNT = {  # GET /v2/account (docs example, abridged)
    "id": "e6fe16f3-64a4-4921-8928-cadf02f92f98",
    "account_number": "010203ABCD",
    "status": "ACTIVE",
    "currency": "USD",
    "cash": "-23140.2",
    "portfolio_value": "103820.56",
    "non_marginable_buying_power": "0",
    "buying_power": "262113.632",
    "regt_buying_power": "262113.632",
    "pattern_day_trader": False,
    "trading_blocked": False,
    "transfers_blocked": False,
    "account_blocked": False,
    "multiplier": "4",
}
LATEST_QUOTES = {  # GET /v2/stocks/quotes/latest?symbols=AAPL, after alpaca-py took the "quotes" object out
    "AAPL": {
        "t": "2021-02-06T13:35:08.946977536Z",
        "ax": "C",
        "ap": 387.7,
        "as": 1,
        "bx": "N",
        "bp": 387.67,
        "bs": 1,
        "c": ["R"],
        "z": "C",
    }
}
CRYPTO_ASSET = {  # GET /v2/assets/BTC%2FUSD (docs "Crypto Assets" sample pair)
    "id": "276e2673-764b-4ab6-a611-caf665ca6340",
    "class": "crypto",
    "exchange": "FTXU",
    "symbol": "BTC/USD",
    "name": "BTC/USD pair",
    "status": "active",
    "tradable": True,
    "marginable": False,
    "shortable": False,
    "easy_to_borrow": False,
    "fractionable": True,
    "min_order_size": "0.0001",
    "min_trade_increment": "0.0001",
    "price_increment": "1",
}


# ------------------------------------------------------------------------------ pure parsers
def test_order_quantities_and_prices_are_read_from_alpaca_strings_as_decimals() -> None:
    order = parse_order(ORDER, KEYS)
    assert order.client_order_id == "co-5f1d2b9e0c8a4e7f9b3d1a2c4e6f8"
    assert order.venue_order_id == "61e69015-8549-4bfd-b9c3-01e75843f47d"
    assert order.instrument_key == "alpaca-paper:AAPL"
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert order.filled_quantity == Decimal("4")
    assert order.average_fill_price == Decimal("171.235")


@pytest.mark.parametrize(
    ("alpaca_status", "filled", "ours"),
    [
        ("new", "0", OrderStatus.ACCEPTED),
        ("accepted", "0", OrderStatus.ACCEPTED),
        ("pending_new", "0", OrderStatus.ACCEPTED),
        ("held", "0", OrderStatus.ACCEPTED),
        ("done_for_day", "0", OrderStatus.ACCEPTED),
        ("done_for_day", "3", OrderStatus.PARTIALLY_FILLED),
        ("pending_replace", "2", OrderStatus.PARTIALLY_FILLED),
        ("partially_filled", "4", OrderStatus.PARTIALLY_FILLED),
        ("filled", "10", OrderStatus.FILLED),
        ("pending_cancel", "0", OrderStatus.PENDING_CANCEL),
        ("canceled", "4", OrderStatus.CANCELED),
        ("expired", "0", OrderStatus.EXPIRED),
        ("rejected", "0", OrderStatus.REJECTED),
        ("replaced", "0", OrderStatus.CANCELED),
    ],
)
def test_alpaca_order_statuses_map_to_ours(alpaca_status: str, filled: str, ours: OrderStatus) -> None:
    assert order_status_of(alpaca_status, Decimal(filled)) is ours


def test_an_unknown_order_status_is_an_error_not_a_guess() -> None:
    with pytest.raises(ValueError, match="unknown Alpaca order status 'teleported'"):
        order_status_of("teleported", Decimal(0))


def test_a_rejected_order_carries_a_reason() -> None:
    order = parse_order({**ORDER, "status": "rejected", "filled_qty": "0", "filled_avg_price": None}, KEYS)
    assert order.status is OrderStatus.REJECTED
    assert order.reason is not None and "rejected" in order.reason


def test_a_fill_activity_becomes_a_fill_of_the_given_client_order() -> None:
    fill = parse_fill(FILL_ACTIVITY, "co-abc", KEYS)
    assert fill.client_order_id == "co-abc"
    assert fill.venue_trade_id == "20190524113406977::8efc7b9a-8b2b-4000-9955-d36e7db0df74"
    assert fill.instrument_key == "alpaca-paper:LPCN"
    assert (fill.side, fill.quantity, fill.price, fill.fee) == (
        Side.BUY,
        Decimal(1),
        Decimal("1.63"),
        Decimal(0),
    )
    assert fill.time == datetime(2019, 5, 24, 15, 34, 6, 977000, tzinfo=UTC)


def test_a_short_sale_fill_is_a_sell() -> None:
    assert parse_fill({**FILL_ACTIVITY, "side": "sell_short"}, "co-abc", KEYS).side is Side.SELL


def test_positions_are_signed_by_side_and_crypto_pairs_regain_their_slash() -> None:
    long = parse_position(POSITION, KEYS)
    short = parse_position({**POSITION, "qty": "-5", "side": "short"}, KEYS)
    crypto = parse_position({**POSITION, "symbol": "BTCUSD", "asset_class": "crypto", "qty": "0.5"}, KEYS)
    assert (long.instrument_key, long.quantity, long.average_entry_price) == (
        "alpaca-paper:AAPL",
        Decimal(5),
        Decimal("100.0"),
    )
    assert short.quantity == Decimal(-5)
    assert crypto.instrument_key == "alpaca-paper:BTC/USD"


def test_free_cash_is_what_can_be_spent_without_borrowing() -> None:
    balance = parse_account(ACCOUNT)
    assert balance.currency == "USD"
    assert balance.cash == Decimal("-23140.2")
    assert balance.free == Decimal("-23140.2")  # buying power 262113.632 is margin, not cash
    healthy = parse_account({**ACCOUNT, "cash": "1000", "non_marginable_buying_power": "800"})
    assert (healthy.cash, healthy.free) == (Decimal(1000), Decimal(800))


def test_a_latest_quote_keeps_the_exact_prices_and_time() -> None:
    quote = parse_latest_quote(LATEST_QUOTES, "AAPL", "alpaca-paper:AAPL", "alpaca")
    assert quote is not None
    assert (quote.bid, quote.ask) == (Decimal("387.67"), Decimal("387.7"))
    assert quote.time == datetime(2021, 2, 6, 13, 35, 8, 946977, tzinfo=UTC)


@pytest.mark.parametrize(
    "change",
    [
        {"ap": 0},  # Alpaca's "no ask" outside trading hours
        {"bp": 0},
        {"ap": None},
        {"bp": float("nan")},
        {"bp": 388.0},  # crossed: bid above ask
    ],
)
def test_an_unusable_quote_is_none(change: dict[str, Any]) -> None:
    quotes = {"AAPL": {**LATEST_QUOTES["AAPL"], **change}}
    assert parse_latest_quote(quotes, "AAPL", "alpaca-paper:AAPL", "alpaca") is None


def test_a_symbol_without_a_quote_is_none() -> None:
    assert parse_latest_quote(LATEST_QUOTES, "SPY", "alpaca-paper:SPY", "alpaca") is None


@pytest.mark.parametrize(
    "junk",
    [
        {"AAPL": "387.7"},
        {"AAPL": {**LATEST_QUOTES["AAPL"], "ap": "a lot"}},
        {"AAPL": {**LATEST_QUOTES["AAPL"], "t": "yesterday"}},
        ["AAPL"],
    ],
)
def test_a_junk_quote_payload_is_a_clear_value_error(junk: Any) -> None:
    with pytest.raises(ValueError, match=r"Alpaca|AAPL|quote"):
        parse_latest_quote(junk, "AAPL", "alpaca-paper:AAPL", "alpaca")


def test_a_stock_trades_whole_shares_in_cents() -> None:
    spy = parse_asset(stock_asset("SPY"), "SPY", AssetClass.STOCK, "alpaca-paper")
    assert (spy.tick_size, spy.lot_size, spy.min_quantity) == (Decimal("0.01"), Decimal(1), Decimal(1))
    assert (spy.venue, spy.underlying, spy.quote_currency) == ("alpaca-paper", "SPY", "USD")


def test_a_crypto_pair_takes_its_increments_from_the_asset() -> None:
    btc = parse_asset(CRYPTO_ASSET, "BTC/USD", AssetClass.CRYPTO, "alpaca-crypto")
    assert (btc.tick_size, btc.lot_size, btc.min_quantity) == (
        Decimal(1),
        Decimal("0.0001"),
        Decimal("0.0001"),
    )
    assert (btc.underlying, btc.quote_currency) == ("BTC", "USD")


def test_a_non_tradable_or_wrong_class_asset_is_refused_by_name() -> None:
    with pytest.raises(NotTradable, match="GME"):
        parse_asset(stock_asset("GME", tradable=False), "GME", AssetClass.STOCK, "alpaca-paper")
    with pytest.raises(NotTradable, match="BTC/USD"):
        parse_asset(CRYPTO_ASSET, "BTC/USD", AssetClass.STOCK, "alpaca-paper")


def test_a_crypto_asset_without_increments_is_junk() -> None:
    incomplete = {k: v for k, v in CRYPTO_ASSET.items() if k != "min_trade_increment"}
    with pytest.raises(ValueError, match="min_trade_increment"):
        parse_asset(incomplete, "BTC/USD", AssetClass.CRYPTO, "alpaca-crypto")


@pytest.mark.parametrize(
    ("seconds", "alpaca"),
    [
        (60, "1Min"),
        (300, "5Min"),
        (3540, "59Min"),
        (3600, "1Hour"),
        (14_400, "4Hour"),
        (86_400, "1Day"),
        (604_800, "1Week"),
    ],
)
def test_bar_lengths_map_to_alpaca_timeframes(seconds: int, alpaca: str) -> None:
    assert alpaca_timeframe(seconds).value == alpaca


@pytest.mark.parametrize("seconds", [0, 30, 90, 86_400 * 2, 3600 * 25])
def test_bar_lengths_alpaca_lacks_are_refused(seconds: int) -> None:
    with pytest.raises(ValueError, match="Alpaca has no"):
        alpaca_timeframe(seconds)


def _bar(when: datetime, close: float) -> dict[str, Any]:
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "t": stamp,
        "o": close - 0.5,
        "h": close + 1,
        "l": close - 1,
        "c": close,
        "v": 1200,
        "n": 30,
        "vw": close,
    }


def test_bars_are_oldest_first_complete_and_the_last_count() -> None:
    now = datetime(2026, 3, 2, 15, 7, tzinfo=UTC)
    opens = [datetime(2026, 3, 2, 14, 50, tzinfo=UTC) + timedelta(minutes=5 * i) for i in range(4)]
    newest_first = [_bar(when, 100 + i) for i, when in reversed(list(enumerate(opens)))]
    series = parse_bars({"SPY": newest_first}, "SPY", "alpaca-paper:SPY", 300, 2, now)
    assert series is not None
    # 15:05 is still forming at 15:07; of 14:50, 14:55, 15:00 the last two remain
    assert [datetime.fromtimestamp(t, UTC) for t in series.times] == opens[1:3]
    assert list(series.close) == [101.0, 102.0]


def test_no_bars_is_none() -> None:
    assert parse_bars({}, "SPY", "alpaca-paper:SPY", 60, 10, datetime.now(UTC)) is None


def _api_error(status: int, body: dict[str, Any] | str, headers: dict[str, str] | None = None) -> APIError:
    """alpaca-py's own exception, built the way its RESTClient builds it from a requests response."""
    response = requests.Response()
    response.status_code = status
    text = body if isinstance(body, str) else json.dumps(body)
    response._content = text.encode()
    response.headers.update(headers or {})
    return APIError(text, requests.HTTPError(response=response))  # type: ignore[no-untyped-call]


def test_a_duplicate_client_order_id_is_recognised() -> None:
    fault = classify_alpaca_error(
        _api_error(422, {"code": 42210000, "message": "client_order_id must be unique"})
    )
    assert fault is not None and fault.kind is FaultKind.DUPLICATE


def test_a_refusal_keeps_alpacas_words_and_code() -> None:
    fault = classify_alpaca_error(_api_error(403, {"code": 40310000, "message": "insufficient buying power"}))
    assert fault is not None and fault.kind is FaultKind.REJECTED
    assert fault.reason == "insufficient buying power (Alpaca code 40310000)"


def test_a_rate_limit_carries_retry_after() -> None:
    error = _api_error(429, {"code": 42910000, "message": "rate limit exceeded"}, {"Retry-After": "2"})
    fault = classify_alpaca_error(error)
    assert fault is not None and fault.kind is FaultKind.RATE_LIMITED and fault.retry_after == 2.0


def test_a_gateway_page_is_reduced_to_its_text() -> None:
    assert error_reason("<html> 502 Bad\n Gateway </html>") == "<html> 502 Bad Gateway </html>"


def test_a_number_a_float_cannot_carry_is_not_sent() -> None:
    assert wire_float(Decimal("0.000000001"), "quantity") == 1e-9
    with pytest.raises(ValueError, match="cannot be sent exactly"):
        wire_float(Decimal("12345678.123456789"), "quantity")


# ------------------------------------------------------------------------------ against the fake venue
@pytest.fixture
def fake() -> Iterator[FakeAlpaca]:
    venue = FakeAlpaca().start()
    venue.add_asset(stock_asset("SPY"))
    venue.add_asset(crypto_asset("BTC/USD"))
    venue.exchange.set_quote("SPY", Decimal("99.99"), Decimal("100.01"))
    venue.exchange.set_quote("BTC/USD", Decimal("60000"), Decimal("60010"))
    yield venue
    venue.stop()


@pytest.fixture
def stocks(fake: FakeAlpaca) -> Iterator[Any]:
    adapter = build_alpaca(fake)
    yield adapter
    adapter.close()


@pytest.fixture
def crypto(fake: FakeAlpaca) -> Iterator[Any]:
    adapter = build_alpaca(fake, "crypto", ("BTC/USD",), name="alpaca-crypto")
    yield adapter
    adapter.close()


def _intent(
    instrument: Instrument,
    tag: str,
    quantity: str,
    price: str | None,
    tif: TimeInForce = TimeInForce.GTC,
    side: Side = Side.BUY,
) -> OrderIntent:
    return OrderIntent(
        client_order_id=client_order_id_for(f"alpaca-test-{tag}"),
        signal_id=f"alpaca-test-{tag}",
        bot="test",
        instrument=instrument,
        side=side,
        quantity=Decimal(quantity),
        order_type=OrderType.LIMIT if price is not None else OrderType.MARKET,
        time_in_force=tif,
        created_at=datetime.now(UTC),
        limit_price=Decimal(price) if price is not None else None,
    )


def _spy(stocks: Any) -> Instrument:
    instruments: list[Instrument] = run(stocks.instruments)
    return instruments[0]


def test_wrong_keys_give_a_clear_error_and_an_unhealthy_venue(fake: FakeAlpaca) -> None:
    adapter = build_alpaca(fake, environ={"ALPACA_API_KEY": API_KEY, "ALPACA_SECRET_KEY": "wrong"})
    try:
        with pytest.raises(VenueRejected, match="authentication failed: request is not authorized"):
            run(adapter.balance)
        health = adapter.health()
        assert not health.connected
        assert health.last_error is not None and "authentication failed" in health.last_error
        assert len(fake.server.requests_to("GET", "/v2/account")) == 1  # a 401 is not retried
    finally:
        adapter.close()


def test_missing_keys_name_every_environment_variable(fake: FakeAlpaca) -> None:
    with pytest.raises(CredentialsMissing, match="ALPACA_API_KEY, ALPACA_SECRET_KEY"):
        build_adapter("alpaca-paper", alpaca_settings(fake), environ={})
    custom = alpaca_settings(fake).model_copy(update={"credentials_env_prefix": "ALPACA_IRA"})
    with pytest.raises(CredentialsMissing, match="ALPACA_IRA_SECRET_KEY"):
        build_adapter("alpaca-ira", custom, environ={"ALPACA_IRA_API_KEY": "k"})


def test_sandbox_is_alpacas_paper_host_and_production_its_live_host() -> None:
    settings = {"kind": "alpaca", "asset_class": "stock", "symbols": ["SPY"]}
    paper: Any = build_adapter("a", alpaca_settings_of(settings, "sandbox"), ENVIRON)
    live: Any = build_adapter("b", alpaca_settings_of(settings, "production"), ENVIRON)
    try:
        assert paper._trading._base_url == "https://paper-api.alpaca.markets"
        assert live._trading._base_url == "https://api.alpaca.markets"
        assert paper._data._base_url == live._data._base_url == "https://data.alpaca.markets"
    finally:
        paper.close()
        live.close()


def alpaca_settings_of(
    fields: dict[str, Any], environment: Literal["sandbox", "production"]
) -> VenueSettings:
    return VenueSettings(**fields, environment=environment)


def test_the_order_carries_our_id_in_alpacas_client_order_id_field(fake: FakeAlpaca, stocks: Any) -> None:
    intent = _intent(_spy(stocks), "native-id", "10", "99.50")
    answer = run(lambda: stocks.submit(intent))
    assert answer.status is OrderStatus.ACCEPTED
    [sent] = fake.server.requests_to("POST", "/v2/orders")
    body = json.loads(sent.raw_body)
    assert body["client_order_id"] == intent.client_order_id
    assert (body["symbol"], body["side"], body["type"], body["time_in_force"]) == (
        "SPY",
        "buy",
        "limit",
        "gtc",
    )
    assert (Decimal(str(body["qty"])), Decimal(str(body["limit_price"]))) == (Decimal(10), Decimal("99.5"))
    headers = {k.lower(): v for k, v in sent.headers.items()}
    assert headers["apca-api-key-id"] == API_KEY


def test_a_restarted_adapter_resending_an_order_is_refused_by_alpaca_and_finds_the_first(
    fake: FakeAlpaca, stocks: Any
) -> None:
    intent = _intent(_spy(stocks), "resend-after-restart", "10", "99.50")
    first = run(lambda: stocks.submit(intent))
    restarted = build_alpaca(fake)
    try:
        again = run(lambda: restarted.submit(intent))
    finally:
        restarted.close()
    assert again.venue_order_id == first.venue_order_id
    assert len(fake.exchange.orders) == 1
    # the new process sent once more (no lookup first) and Alpaca answered 422 client_order_id must be unique
    assert len(fake.server.requests_to("POST", "/v2/orders")) == 2


def test_the_sdk_does_not_retry_behind_the_adapters_back(fake: FakeAlpaca, stocks: Any) -> None:
    fake.server.inject(
        Fault(status=429, retry_after="0", times=50, method="GET", path_contains="/v2/account")
    )
    with pytest.raises(RateLimited):
        run(stocks.balance)
    # alpaca-py alone would try 4 times per call, 3 s apart; the policy's 3 attempts are all that went out
    assert len(fake.server.requests_to("GET", "/v2/account")) == 3


def test_a_crypto_pair_trades_end_to_end_in_fractions(fake: FakeAlpaca, crypto: Any) -> None:
    [btc] = run(crypto.instruments)
    assert (btc.symbol, btc.asset_class) == ("BTC/USD", AssetClass.CRYPTO)
    assert (btc.lot_size, btc.min_quantity, btc.tick_size) == (
        Decimal("0.000000001"),
        Decimal("0.000058"),
        Decimal(1),
    )
    assert fake.server.requests_to("GET", "/v2/assets/BTC%2FUSD"), "a pair's slash must be escaped"
    quote = run(lambda: crypto.quote(btc))
    assert quote is not None and (quote.bid, quote.ask) == (Decimal(60000), Decimal(60010))
    since = datetime.now(UTC) - timedelta(minutes=1)
    intent = _intent(btc, "btc-buy", "0.0012345678", "59990.7")
    answer = run(lambda: crypto.submit(intent))
    assert answer.status is OrderStatus.ACCEPTED
    sent = fake.order_by_client_id(intent.client_order_id)
    assert sent is not None
    assert (sent.quantity, sent.limit_price) == (Decimal("0.001234567"), Decimal(59990))
    fake.exchange.fill(sent.id)
    done = run(lambda: crypto.order_status(intent.client_order_id))
    assert done.status is OrderStatus.FILLED and done.filled_quantity == Decimal("0.001234567")
    [fill] = run(lambda: crypto.fills_since(since))
    assert (fill.client_order_id, fill.instrument_key) == (intent.client_order_id, "alpaca-crypto:BTC/USD")
    assert (fill.quantity, fill.price, fill.fee) == (Decimal("0.001234567"), Decimal(59990), Decimal(0))
    [position] = run(crypto.positions)  # Alpaca says "BTCUSD"
    assert (position.instrument_key, position.quantity) == ("alpaca-crypto:BTC/USD", Decimal("0.001234567"))


def test_a_crypto_day_order_is_refused_before_it_leaves(fake: FakeAlpaca, crypto: Any) -> None:
    [btc] = run(crypto.instruments)
    answer = run(lambda: crypto.submit(_intent(btc, "btc-day", "0.01", "59990", TimeInForce.DAY)))
    assert answer.status is OrderStatus.REJECTED
    assert answer.reason is not None and "gtc or ioc" in answer.reason
    assert fake.server.requests_to("POST", "/v2/orders") == []


def test_one_account_serves_a_stock_venue_and_a_crypto_venue_apart(
    fake: FakeAlpaca, stocks: Any, crypto: Any
) -> None:
    fake.exchange.add_position("SPY", Decimal(3), Decimal(100))
    fake.exchange.add_position("BTC/USD", Decimal("0.5"), Decimal(60000))
    assert [p.instrument_key for p in run(stocks.positions)] == ["alpaca-paper:SPY"]
    assert [p.instrument_key for p in run(crypto.positions)] == ["alpaca-crypto:BTC/USD"]


def test_fills_of_an_order_this_process_never_saw_are_mapped_through_the_order(
    fake: FakeAlpaca, stocks: Any
) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    placed = fake.exchange.place(
        "SPY", "buy", Decimal(2), "market", client_id="co-from-another-process", order_id=str(uuid.uuid4())
    )
    [fill] = run(lambda: stocks.fills_since(since))
    assert fill.client_order_id == "co-from-another-process"
    assert fake.server.requests_to("GET", f"/v2/orders/{placed.id}"), "the fill's order was looked up"
    run(lambda: stocks.fills_since(since))
    assert len(fake.server.requests_to("GET", f"/v2/orders/{placed.id}")) == 1, "and then remembered"


def test_unknown_and_untradable_symbols_are_named(fake: FakeAlpaca) -> None:
    fake.add_asset(stock_asset("HALT", tradable=False))
    unknown = build_alpaca(fake, symbols=("SPY", "NOPE"))
    halted = build_alpaca(fake, symbols=("HALT",))
    try:
        with pytest.raises(VenueRejected, match="no asset 'NOPE'"):
            run(unknown.instruments)
        with pytest.raises(VenueRejected, match="HALT as not tradable"):
            run(halted.instruments)
    finally:
        unknown.close()
        halted.close()


def test_bars_ask_alpaca_for_its_timeframe_and_drop_the_forming_bar(fake: FakeAlpaca, stocks: Any) -> None:
    now = datetime.now(UTC)
    current = now.replace(second=0, microsecond=0) - timedelta(minutes=now.minute % 5)
    if current + timedelta(seconds=298) < now:  # about to roll into the next bar: wait until it has
        time.sleep(3)
    opens = [current - timedelta(minutes=5 * i) for i in range(4, -1, -1)]  # the last one is forming
    fake.bars[("SPY", "5Min")] = [_bar(when, 100 + i) for i, when in enumerate(opens)]
    series = run(lambda: stocks.bars(_spy(stocks), 300, 3))
    assert series is not None
    assert [datetime.fromtimestamp(t, UTC) for t in series.times] == opens[1:4]
    [request] = fake.server.requests_to("GET", "/v2/stocks/bars")
    assert (request.query["timeframe"], request.query["sort"], request.query["limit"]) == (
        "5Min",
        "desc",
        "4",
    )


def test_a_bar_length_alpaca_lacks_fails_without_a_request(fake: FakeAlpaca, stocks: Any) -> None:
    with pytest.raises(BrokerError, match="no 90 s bars"):
        run(lambda: stocks.bars(_spy(stocks), 90, 10))
    assert fake.server.requests_to("GET", "/bars") == []


def test_a_junk_account_becomes_a_broker_error_that_names_the_field(fake: FakeAlpaca, stocks: Any) -> None:
    fake.account_overrides["cash"] = "plenty"
    with pytest.raises(VenueUnavailable, match=r"unreadable Alpaca answer.*cash"):
        run(stocks.balance)
    assert "cash" in (stocks.health().last_error or "")


def test_a_quote_with_no_ask_is_none(fake: FakeAlpaca, stocks: Any) -> None:
    fake.quote_overrides["SPY"] = {"ap": 0, "as": 0, "bp": 99.99, "bs": 3, "t": "2026-03-02T21:00:00.5Z"}
    assert run(lambda: stocks.quote(_spy(stocks))) is None


def test_canceling_a_filled_order_returns_it_filled(fake: FakeAlpaca, stocks: Any) -> None:
    intent = _intent(_spy(stocks), "cancel-after-fill", "10", "99.50")
    run(lambda: stocks.submit(intent))
    sent = fake.order_by_client_id(intent.client_order_id)
    assert sent is not None
    fake.exchange.fill(sent.id)
    answer = run(lambda: stocks.cancel(intent.client_order_id))
    assert answer is not None and answer.status is OrderStatus.FILLED
    assert fake.server.requests_to("DELETE", "/v2/orders") == []


def test_health_shows_the_rate_limit_headroom_alpaca_states(fake: FakeAlpaca, stocks: Any) -> None:
    run(stocks.balance)
    run(stocks.balance)
    # the fake answers X-RateLimit-Remaining = 200 less the requests of the last minute
    assert stocks.health().rate_limit_remaining == 200 - len(fake.server.requests)
    assert stocks.health().to_dict()["rate_limit_remaining"] == 198
