"""The default configuration's event-trading bots in the running daemon, on the simulated clock.

One day of the simulated Kalshi world (weather ladders and CPI thresholds) is traded by the
default registry's `weather-edges` and `cpi-edges` through the whole road: the regime filter,
the consensus and its three gates, the veto, the risk engine and the paper venue. The markets
of the first day settle on the simulated clock; the checks read the journal afterwards, and a
restart on the same files must settle nothing twice.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from config.loader import LoadedConfig
from domain.orders import Fill, Order, OrderStatus
from domain.positions import ClosedTrade
from domain.prediction_records import PREDICTION_SOURCES_KEY, Calibration, EdgeRecord
from domain.signals import Decision, ReasonCode, Side
from runtime.wiring import build_simulated
from simulation.prediction_market import SimulatedPredictionMarket
from storage.database import open_storage
from tests.runtime.prediction_config import prediction_config

pytestmark = pytest.mark.slow

START = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
HOURS = 24  # the markets of Nov 24 (open since the 23rd) settle on the 25th at 14:00 UTC
VENUE = "sim-kalshi"
GATE_CODES = {
    ReasonCode.NO_CONSENSUS,
    ReasonCode.EDGE_TOO_SMALL,
    ReasonCode.ML_GATE,
    ReasonCode.PRICE_GATE,
}


@dataclass
class Day:
    config: LoadedConfig
    world: SimulatedPredictionMarket
    end: datetime
    orders: list[Order]
    decisions: dict[str, list[Decision]]
    fills: list[Fill]
    closed: list[ClosedTrade]
    edges: list[EdgeRecord]
    calibrations: dict[str, dict[str, Calibration]]
    open_keys: set[str]
    capital: Decimal
    sources: list[dict[str, object]]


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Day:
    config = prediction_config(tmp_path_factory.mktemp("prediction-day"), {"weather-edges", "cpi-edges"})
    run = build_simulated(config, START)
    assert run.prediction_market is not None
    world = run.prediction_market

    async def go() -> Day:
        await run.orchestrator.start()
        await run.scheduler.run_until(START + timedelta(hours=HOURS))
        repo = run.orchestrator.repository
        orders = repo.orders()
        collected = Day(
            config=config,
            world=world,
            end=run.clock.now(),
            orders=orders,
            decisions={o.intent.signal_id: repo.decisions(o.intent.signal_id) for o in orders},
            fills=repo.fills(),
            closed=repo.closed_trades(),
            edges=repo.edges(),
            calibrations=repo.calibrations(),
            open_keys={p.instrument_key for p in run.orchestrator.book.open_positions()},
            sources=json.loads(repo.get_daemon_value(PREDICTION_SOURCES_KEY) or "[]"),
            capital=sum(
                (Decimal(str(v.starting_cash_usd)) for v in config.settings.venues.values()), Decimal(0)
            ),
        )
        # signals refused before an order: their decisions too (the gates' refusals)
        for signal_id in repo.decision_counts_by_signal():
            collected.decisions.setdefault(signal_id, repo.decisions(signal_id))
        await run.orchestrator.stop()
        return collected

    return asyncio.run(go())


def outcome_of(day: Day, instrument_key: str) -> bool:
    listed = day.world.listed(instrument_key)
    assert listed is not None
    return listed.market.outcome_yes


def test_an_entry_passes_the_consensus_and_its_three_gates_then_the_whole_road(day: Day) -> None:
    entries = [o for o in day.orders if not o.intent.reduce_only and o.status is OrderStatus.FILLED]
    assert entries, "no prediction entry filled in a simulated day"
    for order in entries:
        stages = [d.stage for d in day.decisions[order.intent.signal_id]]
        assert stages == ["regime", "consensus", "veto", "risk", "router"], stages
        consensus = day.decisions[order.intent.signal_id][1]
        assert [g["gate"] for g in consensus.details["gates"]] == ["edge", "ml", "price"]
        assert all(g["passed"] for g in consensus.details["gates"])
        # YES is bought at the ask (a buy), NO by selling YES at the bid (it costs 1 - bid)
        bought_yes = order.intent.side is Side.BUY
        assert consensus.details["consensus"]["side"] == ("yes" if bought_yes else "no")
        assert len(consensus.details["consensus"]["weights"]) >= 2  # two sources at least
        # a bought contract risks its price: at most 0.05 % of the book's capital (one contract of rounding)
        fill = order.average_fill_price
        assert fill is not None
        price = fill if bought_yes else Decimal(1) - fill
        assert Decimal(0) < price <= Decimal("0.30")  # the entry price cap
        budget = day.capital * Decimal(str(day.config.settings.risk.risk_fraction_per_trade))
        assert order.filled_quantity * price <= budget * Decimal("1.01") + price  # equity moves a little


def test_a_gate_failure_is_journaled_with_the_gate_and_its_reason(day: Day) -> None:
    refused = [
        decisions[-1]
        for decisions in day.decisions.values()
        if decisions and decisions[-1].stage == "consensus" and not decisions[-1].passed
    ]
    assert refused, "no entry was refused by the consensus stage in a simulated day"
    for decision in refused:
        assert decision.reason_code in GATE_CODES
        if decision.reason_code is not ReasonCode.NO_CONSENSUS:
            failed = [g for g in decision.details["gates"] if not g["passed"]]
            assert len(failed) == 1 and decision.message.startswith(f"{failed[0]['gate']} gate: ")
    # and each bot keeps its record of the market with the gate that refused it
    gated = {(e.bot, e.instrument_key): e for e in day.edges if e.gate is not None}
    assert gated and all(e.gate in {"edge", "ml", "price"} and e.gate_reason for e in gated.values())


def test_positions_settle_at_the_markets_hidden_outcome_with_the_pnl_of_the_price_paid(day: Day) -> None:
    settlements = [f for f in day.fills if f.settlement]
    assert settlements, "no position was held to settlement in a simulated day"
    closed = {(t.bot, t.instrument_key): t for t in day.closed}
    by_order = {o.client_order_id: o for o in day.orders}
    for fill in settlements:
        won = outcome_of(day, fill.instrument_key)
        assert fill.price == (Decimal(1) if won else Decimal(0)) and fill.fee == 0
        order = by_order[fill.client_order_id]
        assert order.intent.reduce_only and order.status is OrderStatus.FILLED
        trade = closed[(order.intent.bot, fill.instrument_key)]
        assert trade.exit_price == fill.price
        # net P&L: (settlement value - YES price) per contract held long (the reverse for a short
        # YES, the NO held), less the entry's fee
        assert (
            trade.net_pnl == (fill.price - trade.entry_price) * trade.quantity * trade.side.sign - trade.fees
        )
        assert fill.instrument_key not in day.open_keys
    # every market whose settlement time has passed holds no position any more
    settled = {s.instrument_key for s in day.world.settlements(None, day.end)}
    assert not (settled & day.open_keys)


def test_settled_markets_score_the_sources_and_close_the_edge_records(day: Day) -> None:
    settled = {s.instrument_key: s.outcome_yes for s in day.world.settlements(None, day.end)}
    weather = day.calibrations["weather"]
    assert {"sim_gfs_ensemble", "sim_nws_forecast"} <= set(weather)
    for record in weather.values():
        assert 0 < record.settled <= len(settled)
        assert record.squared_error_sum <= record.settled  # each error is at most 1
    for edge in day.edges:
        if edge.instrument_key in settled:
            assert edge.outcome_yes == settled[edge.instrument_key] and edge.settled_at is not None
    traded = [e for e in day.edges if e.traded and e.settled]
    assert traded, "no traded edge has settled"
    closed = {(t.bot, t.instrument_key): t for t in day.closed}
    for edge in traded:
        assert edge.pnl == closed[(edge.bot, edge.instrument_key)].net_pnl


def settlement_orders(orders: list[Order], decisions: dict[str, list[Decision]]) -> set[str]:
    return {
        o.client_order_id
        for o in orders
        if [d.stage for d in decisions.get(o.intent.signal_id, [])] == ["settlement"]
    }


def test_every_source_reports_its_health_with_its_domains(day: Day) -> None:
    by_name = {source["name"]: source for source in day.sources}
    assert set(by_name) == {
        "sim_gfs_ensemble",
        "sim_nws_forecast",
        "sim_cleveland_fed",
        "sim_cpi_base_rate",
        "sim_whale_tracker",
        "sim_sportsbook",
        "sim_power_rating",
    }
    assert by_name["sim_cpi_base_rate"]["domains"] == ["economics"]
    assert by_name["sim_whale_tracker"]["domains"] == ["economics", "weather"]
    assert by_name["sim_sportsbook"]["domains"] == ["sports"]
    # every source of the domains these bots trade has answered (no bot here trades the games)
    asked = [source for source in day.sources if source["domains"] != ["sports"]]
    assert all(source["ok"] and source["last_success_at"] for source in asked)


def test_a_restart_settles_nothing_twice(day: Day) -> None:
    before = settlement_orders(day.orders, day.decisions)
    assert before
    run = build_simulated(day.config, day.end)

    async def go() -> None:
        await run.orchestrator.start()
        await run.scheduler.run_until(day.end + timedelta(minutes=10))
        await run.orchestrator.stop()

    asyncio.run(go())
    repo = open_storage(Path(day.config.settings.system.database))
    try:
        assert sum(1 for f in repo.fills() if f.settlement) == sum(1 for f in day.fills if f.settlement)
        orders = repo.orders()
        assert (
            settlement_orders(
                orders, {o.intent.signal_id: repo.decisions(o.intent.signal_id) for o in orders}
            )
            == before
        )
        assert repo.calibrations() == day.calibrations
    finally:
        repo.close()
