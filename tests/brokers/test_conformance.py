"""One protocol suite, run against every Broker implementation and its test venue.

The paper broker and each live adapter (against its fake venue over real HTTP)
must behave the same at the protocol: orders go through accepted, partial and
full fills; cancels; the venue's refusals become REJECTED with its reason;
rate limits, server errors and timeouts are retried within bounds; a lost
acknowledgement followed by a restart never sends twice; reconciliation sees
positions the journal did not know. See tests/brokers/harness.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import pytest

from brokers.base import BrokerError, VenueUnavailable
from domain.orders import OrderIntent, OrderStatus, OrderType, TimeInForce, client_order_id_for
from domain.signals import Side
from tests.brokers.harness import FAULTS, PARTIAL_FILLS, VenueHarness
from tests.fakes.server import Fault

IMPLEMENTATIONS = ["paper", "alpaca", "oanda", "kalshi", "polymarket", "coinbase", "ccxt"]
HTTP_IMPLEMENTATIONS = [name for name in IMPLEMENTATIONS if name != "paper"]
T = TypeVar("T")


def _harness(name: str, tmp_path: Path) -> Iterator[VenueHarness]:
    module = importlib.import_module(f"tests.brokers.harnesses.{name}")
    harness: VenueHarness = module.make_harness(tmp_path)
    try:
        yield harness
    finally:
        harness.close()


@pytest.fixture(params=IMPLEMENTATIONS)
def venue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VenueHarness]:
    yield from _harness(request.param, tmp_path)


@pytest.fixture(params=HTTP_IMPLEMENTATIONS)
def http_venue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VenueHarness]:
    """The live adapters only: the paper broker has no HTTP to break and nothing on a wire."""
    yield from _harness(request.param, tmp_path)


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(scenario())  # type: ignore[arg-type]


def intent(
    h: VenueHarness,
    tag: str,
    *,
    side: Side = Side.BUY,
    order_type: OrderType = OrderType.LIMIT,
    price: Decimal | None = None,
    quantity: Decimal | None = None,
    tif: TimeInForce = TimeInForce.GTC,
) -> OrderIntent:
    limit = None if order_type is OrderType.MARKET else (price or h.resting_buy_price)
    return OrderIntent(
        client_order_id=client_order_id_for(f"conformance-{h.name}-{tag}"),
        signal_id=f"conformance-{h.name}-{tag}",
        bot="conformance",
        instrument=h.instrument,
        side=side,
        quantity=quantity or h.quantity,
        order_type=order_type,
        time_in_force=tif,
        created_at=h.now(),
        limit_price=limit,
    )


# ----------------------------------------------------------------------------- market data, account
def test_instruments_carry_the_venue_increments(venue: VenueHarness) -> None:
    listed = run(venue.broker.instruments)
    mine = next(i for i in listed if i.symbol == venue.instrument.symbol)
    assert mine.venue == venue.broker.venue
    assert mine.tick_size == venue.instrument.tick_size
    assert mine.lot_size == venue.instrument.lot_size
    assert mine.min_quantity == venue.instrument.min_quantity


def test_quote_is_the_venue_best_bid_and_ask(venue: VenueHarness) -> None:
    quote = run(lambda: venue.broker.quote(venue.instrument))
    assert quote is not None
    assert (quote.bid, quote.ask) == (venue.bid, venue.ask)
    assert quote.instrument_key == venue.instrument.key


def test_balance_is_reported(venue: VenueHarness) -> None:
    balance = run(venue.broker.balance)
    assert balance.cash > 0
    assert balance.free <= balance.cash


def test_health_records_a_successful_call(venue: VenueHarness) -> None:
    run(venue.broker.balance)
    health = venue.broker.health()
    assert health.venue == venue.broker.venue
    assert health.connected
    if FAULTS in venue.capabilities:
        assert health.last_latency_ms is not None and health.last_latency_ms >= 0


# ----------------------------------------------------------------------------- the life of an order
def test_resting_limit_is_accepted_then_filled_in_parts(venue: VenueHarness) -> None:
    order = intent(venue, "rest-fill")
    since = venue.now() - timedelta(minutes=1)

    async def scenario() -> None:
        answer = await venue.broker.submit(order)
        assert answer.status is OrderStatus.ACCEPTED
        assert answer.client_order_id == order.client_order_id
        assert answer.filled_quantity == 0
        assert [o.client_order_id for o in await venue.broker.open_orders()] == [order.client_order_id]
        if PARTIAL_FILLS in venue.capabilities:
            part = venue.instrument.round_quantity(order.quantity / 2)
            venue.fill(order.client_order_id, part)
            status = await venue.broker.order_status(order.client_order_id)
            assert status is not None
            assert status.status is OrderStatus.PARTIALLY_FILLED
            assert status.filled_quantity == part
        venue.fill(order.client_order_id)
        done = await venue.broker.order_status(order.client_order_id)
        assert done is not None and done.status is OrderStatus.FILLED
        assert done.filled_quantity == order.quantity
        assert done.average_fill_price == order.limit_price
        fills = [
            f for f in await venue.broker.fills_since(since) if f.client_order_id == order.client_order_id
        ]
        assert sum(f.quantity for f in fills) == order.quantity
        assert len({f.venue_trade_id for f in fills}) == len(fills)
        assert all(f.side is Side.BUY and f.price == order.limit_price for f in fills)
        assert all(f.instrument_key == venue.instrument.key for f in fills)
        assert await venue.broker.open_orders() == []

    run(scenario)


def test_market_order_fills_at_the_ask(venue: VenueHarness) -> None:
    order = intent(venue, "market", order_type=OrderType.MARKET, tif=TimeInForce.IOC)
    since = venue.now() - timedelta(minutes=1)

    async def scenario() -> None:
        answer = await venue.broker.submit(order)
        if answer.status is not OrderStatus.FILLED:  # some venues acknowledge first
            answer = await venue.broker.order_status(order.client_order_id)  # type: ignore[assignment]
        assert answer.status is OrderStatus.FILLED
        assert answer.filled_quantity == order.quantity
        fills = [
            f for f in await venue.broker.fills_since(since) if f.client_order_id == order.client_order_id
        ]
        assert sum(f.quantity for f in fills) == order.quantity
        assert all(f.price == venue.ask for f in fills)

    run(scenario)


def test_cancel_a_resting_order(venue: VenueHarness) -> None:
    order = intent(venue, "cancel")

    async def scenario() -> None:
        await venue.broker.submit(order)
        canceled = await venue.broker.cancel(order.client_order_id)
        assert canceled is not None and canceled.status is OrderStatus.CANCELED
        status = await venue.broker.order_status(order.client_order_id)
        assert status is not None and status.status is OrderStatus.CANCELED
        assert await venue.broker.open_orders() == []

    run(scenario)


def test_unknown_client_order_id_is_none(venue: VenueHarness) -> None:
    assert run(lambda: venue.broker.order_status(client_order_id_for("never-sent"))) is None


def test_a_resend_of_the_same_client_order_id_creates_no_second_order(venue: VenueHarness) -> None:
    order = intent(venue, "resend")

    async def scenario() -> None:
        first = await venue.broker.submit(order)
        again = await venue.broker.submit(order)
        assert again.client_order_id == first.client_order_id
        assert again.venue_order_id == first.venue_order_id
        assert venue.orders_at_venue() == 1

    run(scenario)


# ----------------------------------------------------------------------------- crash and restart
def test_lost_acknowledgement_then_restart_finds_the_order_and_does_not_resend(venue: VenueHarness) -> None:
    order = intent(venue, "lost-ack")

    async def crash() -> None:
        # the adapter may give up with a BrokerError; the order is at the venue either way
        with contextlib.suppress(BrokerError):
            await venue.submit_and_lose_answer(order)

    run(crash)
    assert venue.orders_at_venue() == 1

    async def restart() -> None:
        broker = venue.restarted_broker()
        found = await broker.order_status(order.client_order_id)
        assert found is not None, "the restarted adapter must find the order by client id"
        assert found.status is OrderStatus.ACCEPTED
        again = await broker.submit(order)
        assert again.venue_order_id == found.venue_order_id

    run(restart)
    assert venue.orders_at_venue() == 1


def test_reconciliation_sees_a_position_the_journal_did_not_know(venue: VenueHarness) -> None:
    venue.add_position(venue.quantity, venue.bid)
    positions = run(venue.broker.positions)
    mine = [p for p in positions if p.instrument_key == venue.instrument.key]
    assert len(mine) == 1
    assert mine[0].quantity == venue.quantity
    assert mine[0].average_entry_price in (None, venue.bid)  # None: a spot balance has no entry price


# ----------------------------------------------------------------------------- the venue misbehaves
def test_venue_refusal_becomes_a_rejected_order_with_its_reason(http_venue: VenueHarness) -> None:
    http_venue.reject_next_order("insufficient buying power")
    answer = run(lambda: http_venue.broker.submit(intent(http_venue, "refused")))
    assert answer.status is OrderStatus.REJECTED
    assert answer.reason is not None and "insufficient buying power" in answer.reason
    assert http_venue.orders_at_venue() == 0


def test_rate_limit_waits_for_retry_after_then_succeeds(http_venue: VenueHarness) -> None:
    assert http_venue.routes is not None
    method, path = http_venue.routes.balance
    http_venue.inject(
        Fault(status=429, retry_after="1", method=method, path_contains=path, reason="slow down")
    )
    balance = run(http_venue.broker.balance)
    assert balance.cash > 0
    times = http_venue.request_times(method, path)
    assert len(times) == 2
    assert times[1] - times[0] >= 1.0, "the adapter came back before Retry-After"


def test_server_error_is_retried_then_succeeds(http_venue: VenueHarness) -> None:
    assert http_venue.routes is not None
    method, path = http_venue.routes.quote
    http_venue.inject(Fault(status=500, method=method, path_contains=path, reason="internal error"))
    quote = run(lambda: http_venue.broker.quote(http_venue.instrument))
    assert quote is not None and quote.ask == http_venue.ask
    assert len(http_venue.request_times(method, path)) == 2


def test_timeout_is_retried_then_succeeds(http_venue: VenueHarness) -> None:
    assert http_venue.routes is not None
    method, path = http_venue.routes.balance
    http_venue.inject(Fault(delay=http_venue.call_timeout_seconds + 0.5, method=method, path_contains=path))
    balance = run(http_venue.broker.balance)
    assert balance.cash > 0
    assert len(http_venue.request_times(method, path)) == 2


def test_persistent_failure_marks_the_venue_unhealthy_until_it_recovers(http_venue: VenueHarness) -> None:
    assert http_venue.routes is not None
    method, path = http_venue.routes.balance
    http_venue.inject(Fault(status=503, times=100, method=method, path_contains=path, reason="maintenance"))
    with pytest.raises(VenueUnavailable):
        run(http_venue.broker.balance)
    attempts = len(http_venue.request_times(method, path))
    assert 2 <= attempts <= 6, f"retries must be bounded, saw {attempts}"
    health = http_venue.broker.health()
    assert not health.connected
    assert health.last_error is not None
    http_venue.clear_faults()
    run(http_venue.broker.balance)
    assert http_venue.broker.health().connected


def test_server_error_on_submit_is_retried_without_a_second_order(http_venue: VenueHarness) -> None:
    assert http_venue.routes is not None
    method, path = http_venue.routes.submit
    http_venue.inject(Fault(status=502, method=method, path_contains=path, reason="bad gateway"))
    answer = run(lambda: http_venue.broker.submit(intent(http_venue, "retry-submit")))
    assert answer.status is OrderStatus.ACCEPTED
    assert http_venue.orders_at_venue() == 1


def test_prices_and_quantities_are_rounded_to_the_venue_increments_before_they_leave(
    http_venue: VenueHarness,
) -> None:
    tick, lot = http_venue.instrument.tick_size, http_venue.instrument.lot_size
    rough_price = http_venue.resting_buy_price + tick * Decimal("0.4")
    rough_quantity = http_venue.quantity + lot * Decimal("0.6")
    order = intent(http_venue, "rounding", price=rough_price, quantity=rough_quantity)
    answer = run(lambda: http_venue.broker.submit(order))
    assert answer.status is OrderStatus.ACCEPTED
    sent = http_venue.sent_order(order.client_order_id)
    assert sent is not None and sent.limit_price is not None
    assert sent.limit_price % tick == 0 and sent.limit_price <= rough_price  # a buy never pays more
    assert sent.quantity % lot == 0 and sent.quantity <= rough_quantity  # a size never rounds up
    assert sent.limit_price == http_venue.resting_buy_price
    assert sent.quantity == http_venue.quantity
