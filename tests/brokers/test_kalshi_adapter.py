"""What the conformance suite cannot see about Kalshi: its wire format, its keys, its rules.

Every test drives the real adapter and kalshi-python over HTTP against the fake
Kalshi (tests/fakes/kalshi.py), which verifies each request's RSA-PSS signature.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest

from brokers.base import BrokerError, CredentialsMissing, VenueRejected, VenueUnavailable
from brokers.calls import RetryPolicy
from brokers.kalshi import PRODUCTION_BASE_URL, SANDBOX_BASE_URL
from brokers.kalshi_payloads import end_of_day_expiration
from domain.contracts import Domain, Measure, Strike, StrikeType
from domain.fees import kalshi_fee
from domain.instruments import Instrument
from domain.orders import OrderIntent, OrderStatus, OrderType, TimeInForce, client_order_id_for
from domain.signals import Side
from tests.brokers.harnesses.kalshi import KEY_ID, TICKER, KalshiHarness, pem_of, signing_key
from tests.fakes.kalshi import FakeKalshi
from tests.fakes.server import Fault, Request

D = Decimal
T = TypeVar("T")
TAPERED = "KXBTC-26APR0501-B75750"


@pytest.fixture
def kalshi(tmp_path: Path) -> Iterator[KalshiHarness]:
    harness = KalshiHarness(tmp_path)
    try:
        yield harness
    finally:
        harness.close()


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(scenario())  # type: ignore[arg-type]


def order(
    h: KalshiHarness,
    tag: str,
    *,
    side: Side = Side.BUY,
    order_type: OrderType = OrderType.LIMIT,
    price: Decimal | None = None,
    quantity: Decimal | None = None,
    tif: TimeInForce = TimeInForce.GTC,
    instrument: Instrument | None = None,
) -> OrderIntent:
    return OrderIntent(
        client_order_id=client_order_id_for(f"kalshi-adapter-{tag}"),
        signal_id=f"kalshi-adapter-{tag}",
        bot="kalshi-tests",
        instrument=instrument or h.instrument,
        side=side,
        quantity=quantity or h.quantity,
        order_type=order_type,
        time_in_force=tif,
        created_at=h.now(),
        limit_price=None if order_type is OrderType.MARKET else (price or h.resting_buy_price),
    )


def posts(h: KalshiHarness) -> list[Request]:
    return h.fake.server.requests_to("POST", "/portfolio/orders")


# ----------------------------------------------------------------------------- wire format and signing
def test_order_leaves_in_the_current_format_with_our_client_order_id_and_a_valid_signature(
    kalshi: KalshiHarness,
) -> None:
    intent = order(kalshi, "wire")
    answer = run(lambda: kalshi.broker.submit(intent))
    assert answer.status is OrderStatus.ACCEPTED
    (sent,) = posts(kalshi)
    assert sent.body == {
        "ticker": TICKER,
        "client_order_id": intent.client_order_id,
        "side": "yes",
        "action": "buy",
        "count_fp": "10.00",
        "yes_price_dollars": "0.2000",
        "time_in_force": "good_till_canceled",
    }  # no `type`, no integer cents: Kalshi removed both
    headers = {k.lower(): v for k, v in sent.headers.items()}
    assert headers["kalshi-access-key"] == KEY_ID
    assert headers["kalshi-access-timestamp"].isdigit() and headers["kalshi-access-signature"]
    assert kalshi.fake.auth_failures == []  # the fake verified the RSA-PSS signature
    assert answer.venue_order_id == kalshi.fake.order_by_client_id(intent.client_order_id).id  # type: ignore[union-attr]


def test_a_signature_from_another_key_is_refused_and_the_health_panel_says_so(
    kalshi: KalshiHarness, tmp_path: Path
) -> None:
    stranger = tmp_path / "stranger.pem"
    stranger.write_text(pem_of(signing_key("stranger")))
    broker = kalshi.build({"KALSHI_API_KEY_ID": KEY_ID, "KALSHI_PRIVATE_KEY_PATH": str(stranger)})
    with pytest.raises(VenueRejected) as refused:
        run(broker.balance)
    assert "refused the credentials" in refused.value.reason and "invalid signature" in refused.value.reason
    assert refused.value.status == 401
    health = broker.health()
    assert not health.connected
    assert health.last_error is not None and "invalid signature" in health.last_error
    assert "invalid signature" in health.details["auth"]
    assert len(kalshi.fake.server.requests_to("GET", "/portfolio/balance")) == 1  # a 401 is not retried


def test_an_unknown_key_id_is_refused(kalshi: KalshiHarness) -> None:
    broker = kalshi.build({**kalshi.environ, "KALSHI_API_KEY_ID": "11111111-2222-4333-8444-555555555555"})
    with pytest.raises(VenueRejected, match="unknown API key"):
        run(broker.balance)
    assert kalshi.fake.auth_failures == ["unknown API key"]


def test_health_recovers_after_the_credentials_work_again(kalshi: KalshiHarness) -> None:
    broker = kalshi.build({**kalshi.environ, "KALSHI_API_KEY_ID": "11111111-2222-4333-8444-555555555555"})
    with pytest.raises(VenueRejected):
        run(broker.balance)
    kalshi.fake.key_id = "11111111-2222-4333-8444-555555555555"  # the venue now knows that key
    kalshi.fake.public_key = signing_key().public_key()
    assert run(broker.balance).cash > 0
    assert broker.health().connected and "auth" not in broker.health().details


# ----------------------------------------------------------------------------- credentials
def test_missing_private_key_names_both_ways_to_give_it(kalshi: KalshiHarness) -> None:
    with pytest.raises(CredentialsMissing) as missing:
        kalshi.build({"KALSHI_API_KEY_ID": KEY_ID})
    assert "KALSHI_PRIVATE_KEY_PATH" in str(missing.value) and "KALSHI_PRIVATE_KEY" in str(missing.value)


def test_missing_api_key_id_names_it(kalshi: KalshiHarness) -> None:
    with pytest.raises(CredentialsMissing, match="KALSHI_API_KEY_ID"):
        kalshi.build({"KALSHI_PRIVATE_KEY_PATH": str(kalshi.key_path)})


def test_private_key_text_with_escaped_newlines_signs_like_the_file(kalshi: KalshiHarness) -> None:
    one_line = pem_of(signing_key()).replace("\n", "\\n")  # as a .env file holds it
    broker = kalshi.build({"KALSHI_API_KEY_ID": KEY_ID, "KALSHI_PRIVATE_KEY": one_line})
    assert run(broker.balance).cash == D(1000)


def test_a_private_key_that_is_not_a_pem_key_is_named_without_its_content(
    kalshi: KalshiHarness, tmp_path: Path
) -> None:
    with pytest.raises(CredentialsMissing) as broken:
        kalshi.build({"KALSHI_API_KEY_ID": KEY_ID, "KALSHI_PRIVATE_KEY": "s3cret-not-a-key"})
    assert "KALSHI_PRIVATE_KEY" in str(broken.value) and "s3cret" not in str(broken.value)
    with pytest.raises(CredentialsMissing, match="cannot read KALSHI_PRIVATE_KEY_PATH"):
        kalshi.build({"KALSHI_API_KEY_ID": KEY_ID, "KALSHI_PRIVATE_KEY_PATH": str(tmp_path / "absent.pem")})


def test_base_url_must_include_the_signed_trade_api_prefix(kalshi: KalshiHarness) -> None:
    with pytest.raises(VenueUnavailable, match="/trade-api/v2"):
        kalshi.build(base_url=kalshi.fake.server.url)


def test_environment_picks_the_demo_or_production_host(kalshi: KalshiHarness) -> None:
    assert kalshi.build(base_url=None, environment="sandbox").base_url == SANDBOX_BASE_URL
    assert kalshi.build(base_url=None, environment="production").base_url == PRODUCTION_BASE_URL


# ----------------------------------------------------------------------------- retries
def test_only_the_venue_caller_retries_a_dropped_connection(kalshi: KalshiHarness) -> None:
    kalshi.inject(Fault(drop=True, times=100, method="GET", path_contains="/portfolio/balance"))
    broker = kalshi.build(policy=RetryPolicy(attempts=2, base_wait=0.01, max_wait=0.02))
    with pytest.raises(VenueUnavailable):
        run(broker.balance)
    # urllib3's own retries are off: two attempts are two requests, not two times four
    assert len(kalshi.request_times("GET", "/portfolio/balance")) == 2


# ----------------------------------------------------------------------------- instruments and quotes
def test_market_metadata_sets_tick_lot_and_underlying(kalshi: KalshiHarness) -> None:
    kalshi.fake.add_market(TAPERED, price_level_structure="tapered_deci_cent", fractional=True)
    kalshi.fake.add_market("KXFEDDECISION-26MAR-H25")
    broker = kalshi.build(symbols=[TICKER, TAPERED, "KXFEDDECISION-26MAR-H25"])
    plain, tapered, fed = run(broker.instruments)
    assert (plain.tick_size, plain.lot_size, plain.min_quantity) == (D("0.01"), D(1), D(1))
    assert plain.underlying == "KXHIGHCHI-26FEB09"
    assert (tapered.tick_size, tapered.lot_size) == (D("0.001"), D("0.01"))
    assert fed.underlying == "KXFEDDECISION-26MAR"  # H strike tokens fall back to the event ticker


class StrikeFieldsKalshi(FakeKalshi):
    """The fake Kalshi serving each market's own strike fields where a test set them.

    FakeKalshi serves every market as the 38-39 bracket of KXHIGHCHI-26FEB09-B38.5; this
    overlays `strikes[ticker]` on its market object, as in the real capture of
    KXHIGHCHI-26JAN23-T5 (prediction-markets.md §1.3: strike_type less, cap_strike 5).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.strikes: dict[str, dict[str, Any]] = {}

    def _render_market(self, ticker: str) -> dict[str, Any]:
        return {**super()._render_market(ticker), **self.strikes.get(ticker, {})}


@pytest.fixture
def kalshi_with_strikes(kalshi: KalshiHarness) -> Iterator[KalshiHarness]:
    """The harness on a StrikeFieldsKalshi (the harness's own fake is stopped)."""
    kalshi.fake.stop()
    kalshi.fake = StrikeFieldsKalshi(KEY_ID, signing_key().public_key()).start()
    kalshi.fake.add_market(TICKER)
    yield kalshi


def test_a_listed_bracket_market_carries_its_contract_and_strike(kalshi: KalshiHarness) -> None:
    (listed,) = run(kalshi.build().instruments)
    contract = listed.contract
    assert contract is not None
    assert (contract.ticker, contract.event, contract.underlying) == (
        TICKER,
        "KXHIGHCHI-26FEB09",
        listed.underlying,
    )
    assert (contract.domain, contract.measure, contract.subject) == (
        Domain.WEATHER,
        Measure.DAILY_HIGH_F,
        "CHI",
    )
    assert contract.day == datetime(2026, 2, 9).date() and contract.venue == "kalshi"
    assert contract.strike == Strike(StrikeType.BETWEEN, floor_strike=D(38), cap_strike=D(39))


def test_a_listed_threshold_market_carries_the_strike_type_its_fields_say(
    kalshi_with_strikes: KalshiHarness,
) -> None:
    fake = kalshi_with_strikes.fake
    assert isinstance(fake, StrikeFieldsKalshi)
    fake.add_market("KXHIGHCHI-26JAN23-T5")
    fake.strikes["KXHIGHCHI-26JAN23-T5"] = {"strike_type": "less", "floor_strike": None, "cap_strike": 5}
    (below_5,) = run(kalshi_with_strikes.build(symbols=["KXHIGHCHI-26JAN23-T5"]).instruments)
    assert below_5.contract is not None
    assert below_5.contract.strike == Strike(StrikeType.LESS, cap_strike=D(5))  # a T market can be `less`


def test_a_market_whose_fields_contradict_its_ticker_is_listed_without_a_contract_and_logged_once(
    kalshi: KalshiHarness, caplog: pytest.LogCaptureFixture
) -> None:
    # the plain fake serves the 38-39 bracket's fields for every market, so a T5 ticker contradicts them
    kalshi.fake.add_market("KXHIGHCHI-26JAN23-T5")
    kalshi.fake.exchange.set_quote("KXHIGHCHI-26JAN23-T5", D("0.26"), D("0.28"))
    broker = kalshi.build(symbols=[TICKER, "KXHIGHCHI-26JAN23-T5"])
    with caplog.at_level(logging.WARNING, logger="brokers.kalshi"):
        bracket, mismatched = run(broker.instruments)
        run(broker.instruments)  # listed again: still no contract, not logged again
    assert bracket.contract is not None and mismatched.contract is None
    assert mismatched.tick_size == D("0.01")  # still listed and tradable
    warnings = [r.getMessage() for r in caplog.records if r.name == "brokers.kalshi"]
    assert len(warnings) == 1
    assert "KXHIGHCHI-26JAN23-T5" in warnings[0] and "strike_type between" in warnings[0]


def test_an_unknown_market_is_a_clear_refusal(kalshi: KalshiHarness) -> None:
    broker = kalshi.build(symbols=["KXHIGHCHI-26FEB09-B99.5"])
    with pytest.raises(VenueRejected, match=r"Kalshi knows no market 'KXHIGHCHI-26FEB09-B99\.5'"):
        run(broker.instruments)


def test_an_empty_book_side_is_no_quote(kalshi: KalshiHarness) -> None:
    kalshi.fake.books[TICKER] = {"orderbook_fp": {"yes_dollars": [["0.2600", "10.00"]], "no_dollars": []}}
    assert run(lambda: kalshi.broker.quote(kalshi.instrument)) is None


def test_a_junk_answer_is_a_broker_error_with_the_reason(kalshi: KalshiHarness) -> None:
    kalshi.fake.books[TICKER] = {"orderbook_fp": {"yes_dollars": "0.26", "no_dollars": []}}
    with pytest.raises(BrokerError, match=r"unreadable Kalshi answer.*yes_dollars"):
        run(lambda: kalshi.broker.quote(kalshi.instrument))
    assert "unreadable Kalshi answer" in (kalshi.broker.health().last_error or "")


def test_bars_are_trade_candles_timed_at_their_open(kalshi: KalshiHarness) -> None:
    minute = (int(datetime.now(UTC).timestamp()) // 60) * 60
    price = {
        "open_dollars": "0.2500",
        "high_dollars": "0.2800",
        "low_dollars": "0.2400",
        "close_dollars": "0.2700",
    }
    book = {
        "open_dollars": "0.2600",
        "high_dollars": "0.2600",
        "low_dollars": "0.2600",
        "close_dollars": "0.2600",
    }
    kalshi.fake.candlesticks[TICKER] = [
        {"end_period_ts": minute - 60 * k, "yes_bid": book, "yes_ask": book, "price": price,
         "volume_fp": f"{k}0.00", "open_interest_fp": "100.00"}
        for k in (2, 1)
    ]  # fmt: skip
    bars = run(lambda: kalshi.broker.bars(kalshi.instrument, 60, 5))
    assert bars is not None and len(bars) == 2
    assert list(bars.times) == [minute - 180, minute - 120]
    assert list(bars.close) == [0.27, 0.27] and list(bars.volume) == [20.0, 10.0]
    (request,) = kalshi.fake.server.requests_to("GET", "/candlesticks")
    assert request.path == f"/trade-api/v2/series/KXHIGHCHI/markets/{TICKER}/candlesticks"
    assert request.query["period_interval"] == "1"


def test_bars_of_a_timeframe_kalshi_does_not_offer_are_none(kalshi: KalshiHarness) -> None:
    assert run(lambda: kalshi.broker.bars(kalshi.instrument, 300, 10)) is None
    assert kalshi.fake.server.requests_to("GET", "/candlesticks") == []


# ----------------------------------------------------------------------------- orders
def test_a_resend_after_restart_is_refused_by_kalshi_and_the_original_returned(kalshi: KalshiHarness) -> None:
    intent = order(kalshi, "duplicate")
    first = run(lambda: kalshi.broker.submit(intent))
    again = run(lambda: kalshi.restarted_broker().submit(intent))
    assert again.venue_order_id == first.venue_order_id and kalshi.orders_at_venue() == 1
    # the restarted adapter sent at once (Kalshi enforces unique ids), got 409, then looked the id up
    requests = [(r.method, r.path) for r in kalshi.fake.server.requests]
    second_post = [i for i, r in enumerate(requests) if r[0] == "POST"][1]
    assert requests[second_post + 1] == ("GET", "/trade-api/v2/portfolio/orders")
    assert len(posts(kalshi)) == 2


def test_a_market_buy_is_an_immediate_or_cancel_limit_at_the_best_ask(kalshi: KalshiHarness) -> None:
    intent = order(kalshi, "market-buy", order_type=OrderType.MARKET, tif=TimeInForce.IOC)
    answer = run(lambda: kalshi.broker.submit(intent))
    assert answer.status is OrderStatus.FILLED and answer.average_fill_price == D("0.28")
    (sent,) = posts(kalshi)
    assert (sent.body["yes_price_dollars"], sent.body["time_in_force"]) == ("0.2800", "immediate_or_cancel")
    (book,) = kalshi.fake.server.requests_to("GET", "/orderbook")
    assert book.at < sent.at  # the price was read from the book just before


def test_a_market_sell_takes_the_best_bid(kalshi: KalshiHarness) -> None:
    intent = order(kalshi, "market-sell", side=Side.SELL, order_type=OrderType.MARKET)
    answer = run(lambda: kalshi.broker.submit(intent))
    assert answer.status is OrderStatus.FILLED
    (sent,) = posts(kalshi)
    assert (sent.body["action"], sent.body["yes_price_dollars"]) == ("sell", "0.2600")
    (held,) = run(kalshi.broker.positions)
    assert held.quantity == D(-10)  # ten NO contracts
    assert held.average_entry_price == D("0.26")


def test_a_market_order_without_a_book_is_rejected_without_sending(kalshi: KalshiHarness) -> None:
    kalshi.fake.books[TICKER] = {"orderbook_fp": {"yes_dollars": [], "no_dollars": []}}
    answer = run(lambda: kalshi.broker.submit(order(kalshi, "no-book", order_type=OrderType.MARKET)))
    assert answer.status is OrderStatus.REJECTED
    assert answer.reason is not None and "no two-sided order book" in answer.reason
    assert posts(kalshi) == []


def test_an_immediate_or_cancel_limit_that_cannot_fill_expires(kalshi: KalshiHarness) -> None:
    intent = order(kalshi, "ioc", tif=TimeInForce.IOC)
    answer = run(lambda: kalshi.broker.submit(intent))
    assert answer.status is OrderStatus.EXPIRED  # Kalshi says canceled; we sent it immediate-or-cancel
    assert posts(kalshi)[0].body["time_in_force"] == "immediate_or_cancel"


def test_a_day_order_is_good_till_canceled_until_midnight_in_new_york(kalshi: KalshiHarness) -> None:
    before = end_of_day_expiration(datetime.now(UTC))
    run(lambda: kalshi.broker.submit(order(kalshi, "day", tif=TimeInForce.DAY)))
    after = end_of_day_expiration(datetime.now(UTC))
    (sent,) = posts(kalshi)
    assert sent.body["time_in_force"] == "good_till_canceled"
    assert sent.body["expiration_ts"] in (before, after)


def test_a_sub_cent_price_mid_band_on_a_tapered_market_is_rejected_before_sending(
    kalshi: KalshiHarness,
) -> None:
    kalshi.fake.add_market(TAPERED, price_level_structure="tapered_deci_cent")
    kalshi.fake.exchange.set_quote(TAPERED, "0.40", "0.50")
    broker = kalshi.build(symbols=[TAPERED])
    (tapered,) = run(broker.instruments)
    mid_band = run(lambda: broker.submit(order(kalshi, "mid", price=D("0.455"), instrument=tapered)))
    assert mid_band.status is OrderStatus.REJECTED
    assert mid_band.reason is not None and "not on" in mid_band.reason
    assert posts(kalshi) == []
    tail = run(lambda: broker.submit(order(kalshi, "tail", price=D("0.055"), instrument=tapered)))
    assert tail.status is OrderStatus.ACCEPTED
    assert posts(kalshi)[0].body["yes_price_dollars"] == "0.0550"


def test_order_lookup_after_a_restart_pages_through_the_order_list(kalshi: KalshiHarness) -> None:
    intents = [order(kalshi, f"page-{n}", price=D("0.1") + D(n) / 100) for n in range(3)]
    for intent in intents:
        run(lambda intent=intent: kalshi.broker.submit(intent))  # type: ignore[misc]
    kalshi.fake.page_cap = 1
    found = run(lambda: kalshi.restarted_broker().order_status(intents[0].client_order_id))
    assert found is not None and found.client_order_id == intents[0].client_order_id
    lookups = kalshi.fake.server.requests_to("GET", "/portfolio/orders")
    assert [r.query.get("ticker") for r in lookups] == [TICKER] * 3
    assert sum(1 for r in lookups if "cursor" in r.query) == 2  # the oldest order sits on the third page


def test_after_a_restart_an_order_on_a_market_listed_by_series_is_found_in_the_whole_order_list(
    kalshi: KalshiHarness,
) -> None:
    listed_later = "KXHIGHCHI-26FEB10-B40.5"  # tomorrow's ladder: in no configured symbol
    kalshi.fake.add_market(listed_later)
    kalshi.fake.exchange.set_quote(listed_later, D("0.30"), D("0.32"))
    [instrument] = [
        i for i in run(lambda: kalshi.broker.series_markets(["KXHIGHCHI"])) if i.symbol == listed_later
    ]
    intent = order(kalshi, "series", instrument=instrument, price=D("0.25"))
    run(lambda: kalshi.broker.submit(intent))

    found = run(lambda: kalshi.restarted_broker().order_status(intent.client_order_id))

    assert found is not None and found.client_order_id == intent.client_order_id
    lookups = kalshi.fake.server.requests_to("GET", "/portfolio/orders")
    # the configured ticker first, then the account's whole list
    assert [r.query.get("ticker") for r in lookups] == [TICKER, None]


def test_cancel_of_a_filled_order_reports_it_filled_without_a_delete(kalshi: KalshiHarness) -> None:
    intent = order(kalshi, "filled-then-cancel")
    run(lambda: kalshi.broker.submit(intent))
    kalshi.fill(intent.client_order_id)
    answer = run(lambda: kalshi.broker.cancel(intent.client_order_id))
    assert answer is not None and answer.status is OrderStatus.FILLED
    assert kalshi.fake.server.requests_to("DELETE", "/portfolio/orders") == []
    assert run(lambda: kalshi.broker.cancel(client_order_id_for("never-sent"))) is None


# ----------------------------------------------------------------------------- fills and fees
def test_a_taker_fill_carries_kalshis_fee_and_a_maker_fill_none(kalshi: KalshiHarness) -> None:
    since = kalshi.now() - timedelta(minutes=1)
    taker = order(kalshi, "taker", order_type=OrderType.MARKET)
    maker = order(kalshi, "maker")
    run(lambda: kalshi.broker.submit(taker))
    run(lambda: kalshi.broker.submit(maker))
    kalshi.fill(maker.client_order_id)
    fills = {f.client_order_id: f for f in run(lambda: kalshi.broker.fills_since(since))}
    # 10 x 0.28 x 0.72 x 0.07 = 0.14112, charged 0.15 (the fake counts in integer cents)
    assert fills[taker.client_order_id].fee == D("0.15") == kalshi_fee(D(10), D("0.28"))
    assert (fills[taker.client_order_id].price, fills[taker.client_order_id].side) == (D("0.28"), Side.BUY)
    assert fills[maker.client_order_id].fee == D(0)


def test_fills_name_our_client_order_id_through_their_order(kalshi: KalshiHarness) -> None:
    since = kalshi.now() - timedelta(minutes=1)
    intent = order(kalshi, "fill-owner", order_type=OrderType.MARKET)
    run(lambda: kalshi.broker.submit(intent))
    broker = kalshi.restarted_broker()  # knows nothing of the order
    (fill,) = run(lambda: broker.fills_since(since))
    assert fill.client_order_id == intent.client_order_id
    assert fill.instrument_key == f"kalshi:{TICKER}" and fill.venue == "kalshi"
    venue_id = kalshi.fake.order_by_client_id(intent.client_order_id).id  # type: ignore[union-attr]
    assert kalshi.fake.server.requests_to("GET", f"/portfolio/orders/{venue_id}")


def test_fee_schedule_is_read_from_the_series(kalshi: KalshiHarness) -> None:
    schedule = run(lambda: kalshi.broker.fee_schedule(TICKER))
    assert schedule.fee(D(10), D("0.28")) == D("0.15")
    assert schedule.fee(D(10), D("0.28"), maker=True) == D(0)
    assert [r.path for r in kalshi.fake.server.requests_to("GET", "/series/")] == [
        "/trade-api/v2/series/KXHIGHCHI"
    ]


def test_balance_is_the_dollar_balance(kalshi: KalshiHarness) -> None:
    balance = run(kalshi.broker.balance)
    assert (balance.currency, balance.cash, balance.free) == ("USD", D(1000), D(1000))


# ---------------------------------------------------------------------------------- settlement
def test_a_market_is_settled_only_once_kalshi_has_paid_it_out(kalshi: KalshiHarness) -> None:
    now = datetime(2026, 2, 10, 15, 0, tzinfo=UTC)
    assert run(lambda: kalshi.broker.settlement(kalshi.instrument, now)) is None  # still active
    kalshi.fake.settle_market(TICKER, "yes", status="determined")  # decided, not yet paid
    assert run(lambda: kalshi.broker.settlement(kalshi.instrument, now)) is None
    paid_at = datetime(2026, 2, 10, 14, 2, tzinfo=UTC)
    kalshi.fake.settle_market(TICKER, "yes", settled_at=paid_at)
    settlement = run(lambda: kalshi.broker.settlement(kalshi.instrument, now))
    assert settlement is not None
    assert (settlement.instrument_key, settlement.outcome_yes, settlement.settled_at) == (
        kalshi.instrument.key,
        True,
        paid_at,
    )
    assert settlement.yes_value == D(1)


def test_a_settlement_without_its_time_is_timed_when_the_daemon_read_it(kalshi: KalshiHarness) -> None:
    now = datetime(2026, 2, 10, 15, 0, tzinfo=UTC)
    kalshi.fake.settle_market(TICKER, "no", status="settled")  # the 2.x era's final status
    settlement = run(lambda: kalshi.broker.settlement(kalshi.instrument, now))
    assert settlement is not None
    assert (settlement.outcome_yes, settlement.settled_at, settlement.yes_value) == (False, now, D(0))


def test_a_final_market_without_a_yes_or_no_result_is_not_settled_and_is_logged(
    kalshi: KalshiHarness, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime(2026, 2, 10, 15, 0, tzinfo=UTC)
    kalshi.fake.settle_market(TICKER, "scalar")
    with caplog.at_level(logging.WARNING, logger="brokers.kalshi"):
        assert run(lambda: kalshi.broker.settlement(kalshi.instrument, now)) is None
    assert f"market {TICKER} is finalized with result 'scalar', not yes or no" in caplog.text
