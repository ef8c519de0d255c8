"""One simulated trading day of the default registry, then an audit of the books.

The daemon runs exactly as in production except for the clock and scheduler.
The audit recomputes everything from the journal and from the paper venues'
own databases, which are kept by separate code, and compares.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from config.loader import load_config
from domain.orders import ALLOWED_TRANSITIONS, OrderStatus
from domain.signals import Side
from runtime.wiring import SimulatedRun, build_simulated, with_paths
from storage.database import open_storage

START = datetime(2026, 3, 2, 0, 0, tzinfo=ZoneInfo("America/New_York"))


@pytest.fixture(scope="module")
def finished_day(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimulatedRun, Path]:
    base = tmp_path_factory.mktemp("day")
    config = with_paths(load_config(), database=base / "trading.sqlite", var_dir=base / "var")
    run = build_simulated(config, START)

    async def day() -> None:
        await run.orchestrator.start()
        await run.scheduler.run_until(START + timedelta(days=1))
        await run.orchestrator.stop()

    asyncio.run(day())
    return run, base / "trading.sqlite"


# A day of the whole default registry (58 bots, five venues) takes 4 to 5 minutes on a 2-core
# CI machine, close to the suite's 300 s hang guard: this module gets its own, wider one.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_bots_of_every_asset_class_traded(finished_day: tuple[SimulatedRun, Path]) -> None:
    _, database = finished_day
    repo = open_storage(database)
    bots_with_fills = {_bot_of(repo, f.client_order_id) for f in repo.fills()}
    assert len(bots_with_fills) >= 3
    venues = {f.venue for f in repo.fills()}
    # the four asset classes, and both prediction venues (the arbitrage and the market maker trade
    # the simulated Polymarket)
    assert venues == {"sim-stocks", "sim-crypto", "sim-fx", "sim-kalshi", "sim-polymarket"}


def test_every_fill_belongs_to_an_order_and_fills_add_up(finished_day: tuple[SimulatedRun, Path]) -> None:
    _, database = finished_day
    repo = open_storage(database)
    filled: dict[str, Decimal] = defaultdict(Decimal)
    for fill in repo.fills():
        order = repo.load_order(fill.client_order_id)
        assert order is not None, f"fill {fill.venue_trade_id} has no order"
        assert order.intent.side is fill.side and order.intent.instrument.key == fill.instrument_key
        filled[fill.client_order_id] += fill.quantity
    for client_order_id, quantity in filled.items():
        order = repo.load_order(client_order_id)
        assert order is not None and order.filled_quantity == quantity


def test_no_order_sits_in_an_impossible_state(finished_day: tuple[SimulatedRun, Path]) -> None:
    _, database = finished_day
    repo = open_storage(database)
    events = repo.order_events()
    assert events, "no order events were journaled"
    by_order: dict[str, list[tuple[OrderStatus | None, OrderStatus]]] = defaultdict(list)
    for event in events:
        by_order[event.client_order_id].append((event.from_status, event.to_status))
    for client_order_id, moves in by_order.items():
        for before, after in moves:
            if before is None:
                assert after is OrderStatus.NEW
            else:
                assert after in ALLOWED_TRANSITIONS[before] or after is before, (
                    client_order_id,
                    before,
                    after,
                )
        order = repo.load_order(client_order_id)
        assert order is not None
        assert order.status.is_terminal, f"{client_order_id} left {order.status.value} after the day ended"
        if order.status is OrderStatus.FILLED:
            assert order.filled_quantity == order.intent.quantity


def test_positions_equal_the_sum_of_their_fills(finished_day: tuple[SimulatedRun, Path]) -> None:
    _, database = finished_day
    repo = open_storage(database)
    net: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for fill in repo.fills():
        net[(_bot_of(repo, fill.client_order_id), fill.instrument_key)] += fill.quantity * fill.side.sign
    stored = {(p.bot, p.instrument_key): p.quantity for p in repo.load_positions(open_only=False)}
    for key, quantity in net.items():
        assert stored.get(key, Decimal(0)) == quantity, key


def test_equity_change_equals_the_venues_cash_and_holdings(finished_day: tuple[SimulatedRun, Path]) -> None:
    """Our equity (journal) against the paper venues' own cash and positions at the same marks."""
    run, database = finished_day
    repo = open_storage(database)
    snapshots = repo.equity_snapshots()
    first, last = snapshots[0], snapshots[-1]
    starting_cash = sum(Decimal(str(v.starting_cash_usd)) for v in run.config.settings.venues.values())
    assert first.equity == starting_cash  # nothing traded before the first snapshot
    venue_value = Decimal(0)
    for broker in run.paper_brokers.values():
        balance = asyncio.run(broker.balance())
        venue_value += balance.cash
        for position in asyncio.run(broker.positions()):
            instrument = run.instruments[position.instrument_key]
            quote = asyncio.run(run.orchestrator.prices.quote(instrument))  # each venue's own world
            assert quote is not None
            venue_value += position.quantity * quote.mid
    assert abs(last.equity - venue_value) < Decimal("0.01"), (last.equity, venue_value)
    realized_and_fees = last.realized - last.fees - (first.realized - first.fees)
    assert last.equity - first.equity == realized_and_fees + last.unrealized - first.unrealized


def test_no_limit_was_broken(finished_day: tuple[SimulatedRun, Path]) -> None:
    run, database = finished_day
    repo = open_storage(database)
    risk = run.config.settings.risk
    for snapshot in repo.equity_snapshots():
        assert snapshot.open_positions <= risk.max_concurrent_positions
        cap = snapshot.equity * Decimal(str(risk.gross_exposure_cap_fraction))
        # marks move between the entry and the snapshot, so allow a little drift over the cap
        assert snapshot.gross_exposure <= cap * Decimal("1.05")
    trades = repo.closed_trades()
    entries = [o for o in repo.orders() if not o.intent.reduce_only and o.filled_quantity > 0]
    cooldown = timedelta(minutes=risk.reentry_cooldown_minutes)
    for trade in trades:
        for order in entries:
            if order.intent.instrument.key != trade.instrument_key:
                continue
            gap = order.intent.created_at - trade.closed_at
            assert not (timedelta(0) < gap < cooldown), (
                f"re-entry {order.client_order_id} {gap} after an exit"
            )
    halts = [e for e in repo.risk_events() if e.kind == "daily_loss_halt"]
    resets = [e for e in repo.risk_events() if e.kind == "daily_loss_reset"]
    for halt in halts:
        resumed = min((r.time for r in resets if r.time > halt.time), default=None)
        for order in entries:
            if order.intent.created_at > halt.time and (resumed is None or order.intent.created_at < resumed):
                pytest.fail(f"entry {order.client_order_id} sent while the daily loss halt was active")


def test_every_signal_has_its_decisions_journaled(finished_day: tuple[SimulatedRun, Path]) -> None:
    _, database = finished_day
    repo = open_storage(database)
    traces = repo.decision_counts_by_signal()
    assert traces and all(count >= 1 for count in traces.values())
    for order in repo.orders():
        assert traces.get(order.intent.signal_id, 0) >= 2  # at least risk + router


def _bot_of(repo, client_order_id: str) -> str:  # type: ignore[no-untyped-def]
    order = repo.load_order(client_order_id)
    assert order is not None
    return str(order.intent.bot)


_ = Side
