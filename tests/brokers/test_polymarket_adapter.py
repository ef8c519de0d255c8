"""The Polymarket adapter against FakePolymarket: what the conformance suite cannot see.

Every test builds the adapter as the daemon does (`connection_for` + `connect`) with a
throwaway wallet, pointed at a local fake that checks L1/L2 auth and order signatures.
These venues are "production" ones, so orders are signed for Polygon (chain 137); the
conformance harness covers the Amoy sandbox.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import pytest
from eth_account import Account
from py_clob_client_v2 import ClobClient
from py_clob_client_v2.clob_types import ApiCreds
from py_clob_client_v2.exceptions import PolyApiException
from py_clob_client_v2.order_utils import ExchangeOrderBuilderV2, OrderDataV2, SignatureTypeV2
from py_clob_client_v2.order_utils import Side as ClobSide
from py_clob_client_v2.signer import Signer

from brokers.base import BrokerError, CredentialsMissing, VenueRejected, VenueUnavailable
from brokers.factory import connection_for
from brokers.polymarket import PolymarketAdapter, connect
from brokers.polymarket_payloads import salt_for, timestamp_ms
from domain.instruments import Instrument
from domain.orders import OrderIntent, OrderStatus, OrderType, TimeInForce, client_order_id_for
from domain.prediction_records import Settlement
from domain.signals import Side
from tests.brokers.harnesses.polymarket import build_polymarket, polymarket_settings, wallet_environ
from tests.fakes.polymarket import EXCHANGE_V2, UNAUTHORIZED, FakeMarket, FakePolymarket, unsorted
from tests.fakes.server import Fault

T = TypeVar("T")
NAME = "pm"


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(scenario())  # type: ignore[arg-type]


@dataclass
class Venue:
    fake: FakePolymarket
    market: FakeMarket
    environ: dict[str, str]
    tmp_path: Path
    adapters: list[PolymarketAdapter]

    @property
    def yes(self) -> str:
        return f"{self.market.condition_id}:YES"

    @property
    def no(self) -> str:
        return f"{self.market.condition_id}:NO"

    @property
    def ledger(self) -> Path:
        return Path(self.environ["POLYMARKET_ORDER_LEDGER"])

    def adapter(
        self, environ: dict[str, str] | None = None, symbols: tuple[str, ...] | None = None
    ) -> PolymarketAdapter:
        built = build_polymarket(
            self.fake, environ or self.environ, symbols or (self.yes, self.no), "production", name=NAME
        )
        self.adapters.append(built)
        return built

    def instrument(self, adapter: PolymarketAdapter, symbol: str | None = None) -> Instrument:
        listed = run(adapter.instruments)
        return next(i for i in listed if i.symbol == (symbol or self.yes))


@pytest.fixture
def venue(tmp_path: Path) -> Iterator[Venue]:
    fake = FakePolymarket(chain_id=137).start()
    market = fake.add_market("Will NYC get more than 2 inches of snow in January?")
    fake.set_quote(market.token_ids[0], "0.48", "0.52")
    fake.set_quote(market.token_ids[1], "0.47", "0.51")
    setup = Venue(fake, market, wallet_environ(fake, tmp_path / "ledger.jsonl"), tmp_path, [])
    try:
        yield setup
    finally:
        for adapter in setup.adapters:
            adapter.close()
        fake.stop()


def intent(
    instrument: Instrument,
    tag: str,
    *,
    side: Side = Side.BUY,
    order_type: OrderType = OrderType.LIMIT,
    price: str | None = "0.40",
    quantity: str = "10",
    tif: TimeInForce = TimeInForce.GTC,
    created_at: datetime | None = None,
) -> OrderIntent:
    return OrderIntent(
        client_order_id=client_order_id_for(f"pm-test-{tag}"),
        signal_id=f"pm-test-{tag}",
        bot="test",
        instrument=instrument,
        side=side,
        quantity=Decimal(quantity),
        order_type=order_type,
        time_in_force=tif,
        created_at=created_at or datetime.now(UTC),
        limit_price=None if order_type is OrderType.MARKET else Decimal(price or "0"),
    )


# ----------------------------------------------------------------------------- configuration and auth
def test_missing_private_key_names_the_environment_variable(venue: Venue) -> None:
    environ = {k: v for k, v in venue.environ.items() if k != "POLYMARKET_PRIVATE_KEY"}
    with pytest.raises(CredentialsMissing, match="POLYMARKET_PRIVATE_KEY"):
        connection_for(NAME, polymarket_settings(venue.fake, (venue.yes,)), environ)


def test_half_a_set_of_api_credentials_names_the_missing_ones(venue: Venue) -> None:
    environ = {k: v for k, v in venue.environ.items() if k != "POLYMARKET_API_PASSPHRASE"}
    with pytest.raises(CredentialsMissing, match="POLYMARKET_API_PASSPHRASE"):
        venue.adapter(environ)


def test_a_sandbox_venue_without_a_host_is_refused_with_the_reason(venue: Venue) -> None:
    settings = polymarket_settings(venue.fake, (venue.yes,), "sandbox").model_copy(update={"base_url": None})
    with pytest.raises(VenueUnavailable, match="no public sandbox"):
        connect(connection_for(NAME, settings, venue.environ))


def test_a_private_key_that_is_not_one_is_refused_without_echoing_it(venue: Venue) -> None:
    with pytest.raises(VenueUnavailable, match="POLYMARKET_PRIVATE_KEY is not a valid") as refused:
        venue.adapter(venue.environ | {"POLYMARKET_PRIVATE_KEY": "0xnot-a-key-secret"})
    assert "not-a-key-secret" not in str(refused.value)


def test_a_wrong_api_secret_is_an_authentication_error_the_health_panel_shows(venue: Venue) -> None:
    adapter = venue.adapter(venue.environ | {"POLYMARKET_API_SECRET": "d3JvbmctYnV0LXZhbGlkLWJhc2U2NA=="})
    with pytest.raises(VenueRejected) as refused:
        run(adapter.balance)
    assert UNAUTHORIZED in refused.value.reason
    assert refused.value.status == 401
    health = adapter.health()
    assert health.last_error is not None and "authentication refused" in health.last_error
    assert len(venue.fake.server.requests_to("GET", "/balance-allowance")) == 1  # a 401 is not retried


def test_without_api_credentials_they_are_derived_with_an_l1_signature(venue: Venue) -> None:
    environ = wallet_environ(venue.fake, venue.tmp_path / "derived.jsonl", api_key=False)
    adapter = venue.adapter(environ)
    balance = run(adapter.balance)
    assert balance.cash == Decimal(1000)
    # the SDK first tries to create a key (L1-signed), which the fake verified and granted
    created = venue.fake.server.requests_to("POST", "/auth/api-key")
    assert (
        len(created) == 1
        and created[0].headers["POLY_ADDRESS"] == Account.from_key(environ["POLYMARKET_PRIVATE_KEY"]).address
    )
    assert adapter.health().details["api_credentials"] == "derived from the private key"


def test_the_fake_refuses_an_order_signed_for_another_wallet(venue: Venue) -> None:
    owner = Account.from_key(venue.environ["POLYMARKET_PRIVATE_KEY"])
    creds = ApiCreds(
        venue.environ["POLYMARKET_API_KEY"],
        venue.environ["POLYMARKET_API_SECRET"],
        venue.environ["POLYMARKET_API_PASSPHRASE"],
    )
    client = ClobClient(venue.fake.url, 137, key=owner.key.to_0x_hex(), creds=creds)
    intruder = Signer(Account.create().key.to_0x_hex(), 137)
    signed = ExchangeOrderBuilderV2(EXCHANGE_V2, 137, intruder).build_signed_order(
        OrderDataV2(
            maker=intruder.address(),
            tokenId=venue.market.token_ids[0],
            makerAmount="4000000",
            takerAmount="10000000",
            side=ClobSide.BUY,
            signer=intruder.address(),
            signatureType=SignatureTypeV2.EOA,
        )
    )
    with pytest.raises(PolyApiException) as refused:
        client.post_order(signed)
    assert refused.value.status_code == 400 and "invalid signature" in str(refused.value.error_msg)
    assert venue.fake.exchange.orders == {}


# ----------------------------------------------------------------------------- instruments and prices
def test_instruments_come_from_gamma_with_the_market_increments(venue: Venue) -> None:
    adapter = venue.adapter()
    yes, no = run(adapter.instruments)
    assert (yes.symbol, no.symbol) == (venue.yes, venue.no)
    assert (yes.tick_size, yes.lot_size, yes.min_quantity) == (Decimal("0.01"), Decimal("0.01"), Decimal(5))
    assert yes.underlying == no.underlying == venue.market.condition_id
    assert yes.venue == NAME


def test_instruments_carry_the_contract_of_their_outcome_token(venue: Venue) -> None:
    yes, no = run(venue.adapter().instruments)
    assert yes.contract is not None and no.contract is not None
    condition = venue.market.condition_id
    assert yes.contract.ticker == f"{condition}:{venue.market.token_ids[0]}"
    assert no.contract.ticker == f"{condition}:{venue.market.token_ids[1]}"
    assert (yes.contract.outcome, no.contract.outcome) == tuple(venue.market.outcomes)
    assert yes.contract.underlying == yes.underlying == condition
    assert yes.contract.venue == NAME and yes.contract.title == venue.market.question


def test_a_closed_market_is_refused_with_its_reason(venue: Venue) -> None:
    closed = venue.fake.add_market("Did it snow in July?", closed=True, accepting_orders=False)
    adapter = venue.adapter(symbols=(f"{closed.condition_id}:YES",))
    with pytest.raises(BrokerError, match="cannot be traded: the market is closed"):
        run(adapter.instruments)


def test_an_unknown_condition_id_is_refused(venue: Venue) -> None:
    adapter = venue.adapter(symbols=("0x" + "ab" * 32 + ":YES",))
    with pytest.raises(BrokerError, match="Gamma lists no market"):
        run(adapter.instruments)


def test_the_quote_is_the_best_of_unsorted_levels(venue: Venue) -> None:
    adapter = venue.adapter()
    served = venue.fake.render_book(venue.market, venue.market.token_ids[0])
    assert served["asks"][0]["price"] != "0.52"  # the best ask is not the first level
    quote = run(lambda: adapter.quote(venue.instrument(adapter)))
    assert quote is not None and (quote.bid, quote.ask) == (Decimal("0.48"), Decimal("0.52"))
    no_quote = run(lambda: adapter.quote(venue.instrument(adapter, venue.no)))
    assert no_quote is not None and (no_quote.bid, no_quote.ask) == (Decimal("0.47"), Decimal("0.51"))


def test_a_book_with_an_empty_side_gives_no_quote(venue: Venue) -> None:
    adapter = venue.adapter()
    venue.fake.book_levels[venue.market.token_ids[0]] = {"bids": unsorted([("0.45", "10")]), "asks": []}
    assert run(lambda: adapter.quote(venue.instrument(adapter))) is None


def test_a_junk_book_is_a_broker_error_not_a_guess(venue: Venue) -> None:
    adapter = venue.adapter()
    venue.fake.book_levels[venue.market.token_ids[0]] = {
        "bids": unsorted([("0.45", "10")]),
        "asks": unsorted([("fifty cents", "10")]),
    }
    with pytest.raises(BrokerError, match="not a number"):
        run(lambda: adapter.quote(venue.instrument(adapter)))
    assert "not a number" in (adapter.health().last_error or "")


def test_bars_are_built_from_price_history_samples(venue: Venue) -> None:
    adapter = venue.adapter()
    instrument = venue.instrument(adapter)
    now = int(datetime.now(UTC).timestamp())
    start = now - now % 60 - 180
    venue.fake.price_history[venue.market.token_ids[0]] = [
        {"t": start, "p": 0.50},
        {"t": start + 60, "p": 0.51},
        {"t": start + 120, "p": 0.53},
        {"t": now, "p": 0.60},  # the bar still forming
    ]
    bars = run(lambda: adapter.bars(instrument, 60, 3))
    assert bars is not None and list(bars.close) == [0.50, 0.51, 0.53]
    asked = venue.fake.server.requests_to("GET", "/prices-history")[-1].query
    assert (asked["market"], asked["fidelity"]) == (venue.market.token_ids[0], "1")
    assert run(lambda: adapter.bars(instrument, 30, 3)) is None  # finer than the venue's minute


# ----------------------------------------------------------------------------- orders
def test_an_order_carries_the_client_order_id_in_its_salt_and_is_known_by_its_hash(venue: Venue) -> None:
    adapter = venue.adapter()
    order = intent(venue.instrument(adapter), "native-fields")
    answer = run(lambda: adapter.submit(order))
    assert answer.status is OrderStatus.ACCEPTED
    (posted,) = venue.fake.server.requests_to("POST", "/order")
    body = json.loads(posted.raw_body)
    wallet = Account.from_key(venue.environ["POLYMARKET_PRIVATE_KEY"]).address
    assert body["order"]["salt"] == salt_for(order.client_order_id)
    assert body["order"]["timestamp"] == str(timestamp_ms(order.created_at))
    assert (body["orderType"], body["owner"], body["postOnly"]) == (
        "GTC",
        venue.environ["POLYMARKET_API_KEY"],
        False,
    )
    assert (body["order"]["maker"], body["order"]["signer"], body["order"]["signatureType"]) == (
        wallet,
        wallet,
        0,
    )
    assert (body["order"]["makerAmount"], body["order"]["takerAmount"], body["order"]["side"]) == (
        "4000000",
        "10000000",
        "BUY",
    )
    venue_hash, _ = venue.fake.order_hash_and_signer(body["order"], neg_risk=False)
    assert answer.venue_order_id == venue_hash
    assert {"POLY_ADDRESS", "POLY_API_KEY", "POLY_PASSPHRASE", "POLY_TIMESTAMP", "POLY_SIGNATURE"} <= set(
        posted.headers
    )


def test_the_ledger_holds_the_order_before_it_is_sent(venue: Venue) -> None:
    adapter = venue.adapter()
    order = intent(venue.instrument(adapter), "ledger-first")
    venue.fake.server.inject(Fault(status=503, times=10, method="POST", path_contains="/order"))
    with pytest.raises(VenueUnavailable):
        run(lambda: adapter.submit(order))
    lines = [json.loads(line) for line in venue.ledger.read_text().splitlines()]
    assert [line["client_order_id"] for line in lines] == [order.client_order_id]
    assert len(venue.fake.server.requests_to("POST", "/order")) == 3  # one order, retried
    venue.fake.server.clear_faults()
    restarted = venue.adapter()
    assert run(lambda: restarted.order_status(order.client_order_id)) is None  # it never arrived
    assert venue.fake.server.requests_to("GET", "/data/order/")  # ... as the venue said


def test_an_intent_signs_to_the_same_order_even_without_the_ledger(venue: Venue) -> None:
    first = venue.adapter()
    instrument = venue.instrument(first)
    order = intent(instrument, "same-hash", created_at=datetime.now(UTC) - timedelta(seconds=5))
    placed = run(lambda: first.submit(order))
    # a second process with the same wallet and keys but a fresh ledger sends the same intent
    amnesiac = venue.adapter(venue.environ | {"POLYMARKET_ORDER_LEDGER": str(venue.tmp_path / "lost.jsonl")})
    again = run(lambda: amnesiac.submit(order))
    assert again.status is OrderStatus.ACCEPTED
    assert again.venue_order_id == placed.venue_order_id
    assert len(venue.fake.exchange.orders) == 1


def test_a_refusal_in_the_answer_body_is_a_rejected_order_with_its_reason(venue: Venue) -> None:
    adapter = venue.adapter()
    venue.fake.refusal_style = "body"
    venue.fake.exchange.reject_next("not enough balance / allowance")
    answer = run(lambda: adapter.submit(intent(venue.instrument(adapter), "body-refusal")))
    assert answer.status is OrderStatus.REJECTED
    assert answer.reason == "not enough balance / allowance"
    assert venue.fake.exchange.orders == {}


def test_a_refused_order_is_unknown_to_a_venue_that_answers_null(venue: Venue) -> None:
    adapter = venue.adapter()
    venue.fake.unknown_order_style = "null"
    venue.fake.exchange.reject_next("market halted")
    order = intent(venue.instrument(adapter), "null-lookup")
    assert run(lambda: adapter.submit(order)).status is OrderStatus.REJECTED
    assert run(lambda: adapter.order_status(order.client_order_id)) is None
    assert len(venue.fake.server.requests_to("GET", "/data/order/")) >= 1


def test_a_market_buy_is_a_fak_at_the_best_ask_read_just_before(venue: Venue) -> None:
    adapter = venue.adapter()
    order = intent(
        venue.instrument(adapter), "market", order_type=OrderType.MARKET, price=None, tif=TimeInForce.IOC
    )
    answer = run(lambda: adapter.submit(order))
    assert (answer.status, answer.filled_quantity, answer.average_fill_price) == (
        OrderStatus.FILLED,
        Decimal(10),
        Decimal("0.52"),
    )
    (posted,) = venue.fake.server.requests_to("POST", "/order")
    body = json.loads(posted.raw_body)
    assert body["orderType"] == "FAK"
    assert (body["order"]["makerAmount"], body["order"]["takerAmount"]) == ("5200000", "10000000")
    book_reads = [r.at for r in venue.fake.server.requests_to("GET", "/book")]
    assert book_reads and max(book_reads) < posted.at


def test_a_market_order_with_no_ask_is_rejected_without_sending(venue: Venue) -> None:
    adapter = venue.adapter()
    instrument = venue.instrument(adapter)
    venue.fake.book_levels[venue.market.token_ids[0]] = {"bids": unsorted([("0.45", "10")]), "asks": []}
    answer = run(
        lambda: adapter.submit(intent(instrument, "no-ask", order_type=OrderType.MARKET, price=None))
    )
    assert (
        answer.status is OrderStatus.REJECTED
        and answer.reason is not None
        and "no usable ask" in answer.reason
    )
    assert venue.fake.server.requests_to("POST", "/order") == []


def test_an_ioc_limit_is_sent_as_fak(venue: Venue) -> None:
    adapter = venue.adapter()
    answer = run(
        lambda: adapter.submit(intent(venue.instrument(adapter), "ioc", price="0.55", tif=TimeInForce.IOC))
    )
    assert answer.status is OrderStatus.FILLED
    assert json.loads(venue.fake.server.requests_to("POST", "/order")[0].raw_body)["orderType"] == "FAK"


def test_a_day_order_is_refused_without_sending(venue: Venue) -> None:
    adapter = venue.adapter()
    answer = run(lambda: adapter.submit(intent(venue.instrument(adapter), "day", tif=TimeInForce.DAY)))
    assert answer.status is OrderStatus.REJECTED and "no DAY orders" in (answer.reason or "")
    assert venue.fake.server.requests_to("POST", "/order") == []


def test_cancel_of_an_order_never_sent_is_none(venue: Venue) -> None:
    adapter = venue.adapter()
    assert run(lambda: adapter.cancel(client_order_id_for("never"))) is None
    assert venue.fake.server.requests_to("DELETE", "/order") == []


def test_open_orders_follow_the_pagination_cursor(venue: Venue) -> None:
    venue.fake.page_size = 1
    adapter = venue.adapter()
    instrument = venue.instrument(adapter)
    orders = [intent(instrument, f"page-{i}", price=f"0.4{i}") for i in range(2)]

    async def send_all() -> None:
        for order in orders:
            await adapter.submit(order)

    run(send_all)
    listed = run(adapter.open_orders)
    assert sorted(o.client_order_id for o in listed) == sorted(o.client_order_id for o in orders)
    cursors = [r.query["next_cursor"] for r in venue.fake.server.requests_to("GET", "/data/orders")[-2:]]
    assert cursors == ["MA==", "MQ=="]


# ----------------------------------------------------------------------------- account
def test_positions_are_conditional_token_balances_without_an_entry_price(venue: Venue) -> None:
    adapter = venue.adapter()
    venue.fake.exchange.add_position(venue.market.token_ids[1], Decimal("12.5"), Decimal("0.3"))
    (position,) = run(adapter.positions)
    assert (position.instrument_key, position.quantity, position.average_entry_price) == (
        f"{NAME}:{venue.no}",
        Decimal("12.5"),
        None,
    )
    asked = venue.fake.server.requests_to("GET", "/balance-allowance")[-1].query
    assert (asked["asset_type"], asked["token_id"]) == ("CONDITIONAL", venue.market.token_ids[1])


def test_free_cash_holds_back_what_resting_buys_would_pay(venue: Venue) -> None:
    adapter = venue.adapter()
    run(lambda: adapter.submit(intent(venue.instrument(adapter), "reserve")))
    balance = run(adapter.balance)
    assert (balance.cash, balance.free) == (Decimal(1000), Decimal(996))


def test_fills_charge_the_market_taker_fee_and_nothing_to_makers(venue: Venue) -> None:
    adapter = venue.adapter()
    instrument = venue.instrument(adapter)
    since = datetime.now(UTC) - timedelta(minutes=1)
    taker = intent(instrument, "taker", order_type=OrderType.MARKET, price=None, tif=TimeInForce.IOC)
    maker = intent(instrument, "maker")
    run(lambda: adapter.submit(taker))
    resting = run(lambda: adapter.submit(maker))
    assert resting.venue_order_id is not None
    venue.fake.exchange.fill(resting.venue_order_id, Decimal(4))
    fills = {f.client_order_id: f for f in run(lambda: adapter.fills_since(since))}
    # taker: 10 x 0.04 x 0.52 x 0.48 = 0.09984 (feeSchedule rate 0.04, exponent 1)
    assert (fills[taker.client_order_id].fee, fills[taker.client_order_id].price) == (
        Decimal("0.09984"),
        Decimal("0.52"),
    )
    assert (fills[maker.client_order_id].fee, fills[maker.client_order_id].quantity) == (
        Decimal(0),
        Decimal(4),
    )
    assert fills[maker.client_order_id].side is Side.BUY
    assert {f.instrument_key for f in fills.values()} == {instrument.key}


def test_an_outcome_token_settles_once_its_market_is_resolved_and_not_before(venue: Venue) -> None:
    adapter = venue.adapter()
    yes, no = run(adapter.instruments)
    now = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
    assert run(lambda: adapter.settlement(yes, now)) is None  # trading
    venue.market.closed = True
    assert run(lambda: adapter.settlement(yes, now)) is None  # closed, not resolved yet (0.5 / 0.5)
    venue.market.outcome_prices = ("0", "1")  # resolved: the second outcome (No) redeems for $1
    yes_settled = run(lambda: adapter.settlement(yes, now))
    no_settled = run(lambda: adapter.settlement(no, now))
    assert yes_settled == Settlement(yes.key, False, now)
    assert no_settled == Settlement(no.key, True, now)
