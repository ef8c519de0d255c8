"""The cross-venue arbitrage in the daemon, over a simulated day of the prediction world and its
Polymarket twin: both legs pass the road on the bot's own pricing, fill on their two paper venues
in the same count, and the pair costs less than the dollar it is sure to pay."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.orders import Order, OrderStatus
from domain.signals import Decision, Side
from runtime.wiring import build_simulated
from tests.runtime.prediction_config import prediction_config

START = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
HOURS = 24
BOT = "arb-weather"


@dataclass
class Day:
    orders: list[Order]
    decisions: dict[str, list[Decision]]
    evidence: dict[str, dict[str, object]]
    settlements: dict[str, Decimal]  # the settlement price of each settled market, by instrument key
    settlement_orders: set[str]


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Day:
    config = prediction_config(tmp_path_factory.mktemp("arb-day"), {BOT})
    run = build_simulated(config, START)

    async def go() -> Day:
        await run.orchestrator.start()
        await run.scheduler.run_until(START + timedelta(hours=HOURS))
        repo = run.orchestrator.repository
        orders = repo.orders()
        with sqlite3.connect(config.settings.system.database) as journal:
            evidence = {
                signal_id: json.loads(text)
                for signal_id, text in journal.execute("select id, evidence from signals")
            }
        settled = [f for f in repo.fills() if f.settlement]
        collected = Day(
            orders,
            {o.intent.signal_id: repo.decisions(o.intent.signal_id) for o in orders},
            evidence,
            {f.instrument_key: f.price for f in settled},
            {f.client_order_id for f in settled},
        )
        await run.orchestrator.stop()
        return collected

    return asyncio.run(go())


def test_both_legs_fill_on_their_two_venues_in_one_count_for_less_than_a_dollar(day: Day) -> None:
    entries = [o for o in day.orders if not o.intent.reduce_only]
    assert entries, "the arbitrage made no entry in a simulated day"
    assert all(o.status is OrderStatus.FILLED for o in entries)
    by_pair: dict[str, list[Order]] = {}
    for order in entries:
        decisions = day.decisions[order.intent.signal_id]
        assert [d.stage for d in decisions] == ["regime", "ensemble", "veto", "risk", "router"]
        assert decisions[1].message.startswith(f"priced by {BOT}'s own model")
        # the two legs' signals name each other: the YES leg's and the NO leg's markets
        legs = day.evidence[order.intent.signal_id]
        by_pair.setdefault(f"{order.intent.created_at} {legs['yes_leg']} {legs['no_leg']}", []).append(order)
    for legs in by_pair.values():
        yes, no = sorted(legs, key=lambda o: o.intent.side is Side.SELL)
        assert (yes.intent.side, no.intent.side) == (Side.BUY, Side.SELL)
        assert {yes.intent.instrument.venue, no.intent.instrument.venue} == {"sim-kalshi", "sim-polymarket"}
        assert yes.filled_quantity == no.filled_quantity > 0
        assert yes.average_fill_price is not None and no.average_fill_price is not None
        # YES at its fill plus NO at 1 - the other venue's fill: under the $1 the pair pays
        assert yes.average_fill_price + (Decimal(1) - no.average_fill_price) < Decimal(1)
    # no leg had to be mended: every exit is a settlement
    assert all(o.client_order_id in day.settlement_orders for o in day.orders if o.intent.reduce_only)


def test_a_settled_pair_pays_its_dollar_because_both_venues_settle_the_same_question_alike(day: Day) -> None:
    settled_pairs = {
        (legs["yes_leg"], legs["no_leg"])
        for legs in day.evidence.values()
        if legs.get("yes_leg") in day.settlements and legs.get("no_leg") in day.settlements
    }
    assert settled_pairs, "no pair settled in a simulated day"
    for yes_leg, no_leg in settled_pairs:
        # YES pays its settlement price, the NO 1 - the other venue's: together exactly $1
        assert day.settlements[yes_leg] + (Decimal(1) - day.settlements[no_leg]) == Decimal(1)
