"""The longshot fader in the daemon, over a simulated day of the prediction world.

Its entries pass the road on its own pricing (no domain consensus), buy the NO of a longshot at
1 - bid with its own price cap (above the engine's 0.30), and settle at the hidden outcome.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.orders import Fill, Order, OrderStatus
from domain.positions import ClosedTrade
from domain.signals import Decision, Side
from runtime.wiring import build_simulated
from simulation.prediction_market import SimulatedPredictionMarket
from tests.runtime.prediction_config import prediction_config

START = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
HOURS = 24  # the markets of Nov 24 settle on the 25th at 14:00 UTC
BOT = "longshot-fader"


@dataclass
class Day:
    world: SimulatedPredictionMarket
    orders: list[Order]
    decisions: dict[str, list[Decision]]
    fills: list[Fill]
    closed: list[ClosedTrade]


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Day:
    run = build_simulated(prediction_config(tmp_path_factory.mktemp("fader-day"), {BOT}), START)
    assert run.prediction_market is not None
    world = run.prediction_market

    async def go() -> Day:
        await run.orchestrator.start()
        await run.scheduler.run_until(START + timedelta(hours=HOURS))
        repo = run.orchestrator.repository
        orders = repo.orders()
        collected = Day(
            world=world,
            orders=orders,
            decisions={o.intent.signal_id: repo.decisions(o.intent.signal_id) for o in orders},
            fills=repo.fills(),
            closed=repo.closed_trades(),
        )
        await run.orchestrator.stop()
        return collected

    return asyncio.run(go())


def test_a_fade_passes_the_road_on_its_own_pricing_and_buys_the_no_above_the_engines_cap(day: Day) -> None:
    entries = [o for o in day.orders if not o.intent.reduce_only and o.status is OrderStatus.FILLED]
    assert entries, "the fader made no entry in a simulated day"
    for order in entries:
        decisions = day.decisions[order.intent.signal_id]
        assert [d.stage for d in decisions] == ["regime", "ensemble", "veto", "risk", "router"]
        assert decisions[1].message.startswith(f"priced by {BOT}'s own model")
        assert order.intent.side is Side.SELL  # the NO bought by selling YES at the bid
        fill = order.average_fill_price
        assert fill is not None
        no_price = Decimal(1) - fill
        # a longshot YES (bid 0.02 .. 0.12 or so): its NO costs far more than the engine's 0.30 cap
        assert Decimal("0.85") <= no_price <= Decimal("0.98")


def test_one_event_is_faded_once_whatever_its_ladder_offers(day: Day) -> None:
    entries = [o for o in day.orders if not o.intent.reduce_only]
    events = [o.intent.instrument.contract.event for o in entries if o.intent.instrument.contract]
    assert len(events) == len(set(events))


def test_fades_settle_at_the_hidden_outcome_with_the_pnl_of_the_no_paid(day: Day) -> None:
    settlements = [f for f in day.fills if f.settlement]
    assert settlements, "no fade was held to settlement"
    closed = {t.instrument_key: t for t in day.closed}
    for fill in settlements:
        listed = day.world.listed(fill.instrument_key)
        assert listed is not None
        assert fill.price == (Decimal(1) if listed.market.outcome_yes else Decimal(0))
        trade = closed[fill.instrument_key]
        assert trade.side is Side.SELL
        # short YES at the entry price: (entry - settlement) per contract, less the fee
        assert trade.net_pnl == (trade.entry_price - fill.price) * trade.quantity - trade.fees
