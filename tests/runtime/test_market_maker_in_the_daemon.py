"""The market maker in the daemon, over a simulated day of the prediction world's Polymarket twin:
its quotes rest as limit orders, fill as a maker's at their own price, are kept while unchanged and
canceled when not, never carry it past its inventory limit, and leave the book when it is paused or
the daemon stops."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest

from config.loader import LoadedConfig
from domain.orders import Fill, Order, OrderStatus, OrderType, TimeInForce
from runtime.wiring import build_simulated
from tests.runtime.prediction_config import prediction_config

START = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
HOURS = 24
BOT = "mm-weather"
QUOTE_SIZE = Decimal(10)  # the default quote size and inventory limit


@dataclass
class Day:
    orders: list[Order]
    fills: list[Fill]
    open_after_pause: list[Order]
    open_after_stop: list[Order]


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Day:
    config = prediction_config(tmp_path_factory.mktemp("mm-day"), {BOT})
    run = build_simulated(config, START)

    async def go() -> Day:
        orchestrator = run.orchestrator
        await orchestrator.start()
        await run.scheduler.run_until(START + timedelta(hours=HOURS))
        repo = orchestrator.repository
        orders, fills = repo.orders(), repo.fills()
        orchestrator.control.pause_bot(BOT, "test: a paused maker keeps no quote")
        await run.scheduler.run_until(START + timedelta(hours=HOURS, minutes=5))
        after_pause = [o for o in repo.load_open_orders() if o.intent.bot == BOT and not o.intent.reduce_only]
        orchestrator.control.resume_bot(BOT)
        await run.scheduler.run_until(START + timedelta(hours=HOURS, minutes=10))
        await orchestrator.stop()
        after_stop = [o for o in open_storage_orders(config)]
        return Day(orders, fills, after_pause, after_stop)

    return asyncio.run(go())


def open_storage_orders(config: LoadedConfig) -> list[Order]:
    from storage.database import open_storage

    repo = open_storage(Path(config.settings.system.database))
    try:
        return [o for o in repo.load_open_orders() if o.intent.order_type is OrderType.LIMIT]
    finally:
        repo.close()


def quotes(day: Day) -> list[Order]:
    return [o for o in day.orders if o.intent.bot == BOT and o.intent.order_type is OrderType.LIMIT]


def test_quotes_rest_as_good_till_canceled_limits_and_unfilled_ones_are_canceled(day: Day) -> None:
    made = quotes(day)
    assert made, "the market maker rested no quote in a simulated day"
    assert all(o.intent.time_in_force is TimeInForce.GTC and o.intent.limit_price for o in made)
    assert any(o.status is OrderStatus.CANCELED for o in made)


def test_a_quote_made_again_unchanged_is_kept_not_sent_twice(day: Day) -> None:
    by_quote: dict[tuple[str, str, Decimal | None], list[Order]] = {}
    for order in quotes(day):
        key = (order.intent.instrument.key, order.intent.side.value, order.intent.limit_price)
        by_quote.setdefault(key, []).append(order)
    for orders in by_quote.values():
        ordered = sorted(orders, key=lambda o: o.intent.created_at)
        for earlier, later in pairwise(ordered):
            # the same quote again only once the earlier one had left the book
            assert earlier.status.is_terminal and earlier.updated_at <= later.intent.created_at


def test_fills_are_a_makers_at_the_quotes_price_without_a_fee(day: Day) -> None:
    limits = {o.client_order_id: o.intent.limit_price for o in quotes(day)}
    made = [f for f in day.fills if f.client_order_id in limits and not f.settlement]
    assert made, "no quote filled in a simulated day"
    for fill in made:
        assert fill.price == limits[fill.client_order_id]
        assert fill.fee == 0  # Polymarket's makers pay nothing


def test_inventory_never_passes_the_quote_size_either_way(day: Day) -> None:
    held: dict[str, Decimal] = {}
    sides = {o.client_order_id: o.intent.side.sign for o in day.orders}
    for fill in sorted(day.fills, key=lambda f: f.time):
        if fill.client_order_id not in sides:
            continue
        held[fill.instrument_key] = (
            held.get(fill.instrument_key, Decimal(0)) + fill.quantity * sides[fill.client_order_id]
        )
        assert abs(held[fill.instrument_key]) <= QUOTE_SIZE


def test_a_paused_maker_and_a_stopped_daemon_leave_no_quote_on_the_book(day: Day) -> None:
    assert day.open_after_pause == []
    assert day.open_after_stop == []
