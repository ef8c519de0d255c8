"""The orchestrator's operational promises, on the simulated clock with the real stages,
journal and paper venues: failing bots are paused, the operator's levers hold across a restart,
the daily loss limit stops entries until midnight, and a restart resolves what a crash left open.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sqlite3
import time
import weakref
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psutil
import pytest

from bots.base import Bot, BotContext
from brokers.base import VenueOrder
from brokers.router import BrokerRouter
from config.loader import LoadedConfig, load_config
from config.schema import BotEntry, Registry
from domain.instruments import Instrument
from domain.orders import Order, OrderIntent, OrderStatus, OrderType, TimeInForce, client_order_id_for
from domain.signals import ReasonCode, Side, Signal, SignalIntent
from domain.trading_state import TradingState
from runtime.wiring import SimulatedRun, build_simulated, with_paths
from storage.database import open_storage

NEW_YORK = ZoneInfo("America/New_York")
START = datetime(2026, 3, 2, 10, 0, tzinfo=NEW_YORK)
ALL_REGIMES = ["bull", "bear", "sideways"]


class FailingBot(Bot):
    async def on_tick(self, ctx: BotContext) -> list[Signal]:
        raise RuntimeError("strategy bug")


class AlwaysBuyBot(Bot):
    """Buys each of its instruments whenever flat, with a stop 1 % away."""

    async def on_tick(self, ctx: BotContext) -> list[Signal]:
        signals = []
        for index, instrument in enumerate(self.instruments):
            if ctx.position(instrument) is not None:
                continue
            quote = await ctx.quote(instrument)
            if quote is None:
                continue
            price = float(quote.mid)
            signals.append(
                self.signal(
                    ctx,
                    instrument,
                    Side.BUY,
                    SignalIntent.OPEN,
                    confidence=0.6,
                    edge=0.01,
                    stop=price * 0.99,
                    reason="test entry",
                    evidence={"atr": price * 0.004},
                    sequence=index,
                )
            )
        return signals


def bot(name: str, cls: str, instruments: list[str], venue: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "class": f"tests.runtime.test_orchestrator:{cls}",
        "instruments": instruments,
        "venue": venue,
        "schedule": {"interval_seconds": 10},
        "regimes": ALL_REGIMES,
        **extra,
    }


def configured(tmp_path: Path, bots: list[dict[str, Any]], *, ai: bool = False, **risk: Any) -> LoadedConfig:
    """The default settings with these bots; the ensemble and veto stages only with `ai` (they would
    stand between these tests' hand-made entries and the orchestrator and risk engine under test)."""
    base = load_config()
    settings = base.settings.model_copy(
        update={
            "risk": base.settings.risk.model_copy(update={"reentry_cooldown_minutes": 0.0, **risk}),
            "ensemble": base.settings.ensemble.model_copy(update={"enabled": ai}),
            "veto": base.settings.veto.model_copy(update={"enabled": ai}),
        }
    )
    registry = Registry(bots=[BotEntry.model_validate(b) for b in bots])
    config = LoadedConfig(settings, registry, base.settings_path, base.registry_path)
    return with_paths(config, database=tmp_path / "trading.sqlite", var_dir=tmp_path / "var")


def run_for(run: SimulatedRun, duration: timedelta, *, before_stop: Any = None) -> None:
    async def go() -> None:
        await run.orchestrator.start()
        await run.scheduler.run_until(run.clock.now() + duration)
        if before_stop is not None:
            before_stop(run)
        await run.orchestrator.stop()

    asyncio.run(go())


async def send_manual(
    run: SimulatedRun,
    bot: str,
    instrument: Instrument,
    side: Side,
    intent: SignalIntent,
    signal_id: str,
    stop_fraction: float = 0.02,
) -> Order | None:
    """A hand-made signal at the current mid, sent down the road; an entry (a buy in these
    tests) carries a stop `stop_fraction` below the price and an ATR of 0.5 %."""
    quote = await run.market.quote(instrument)
    assert quote is not None
    price = float(quote.mid)
    regimes = run.orchestrator.regimes
    if intent is SignalIntent.OPEN and regimes is not None and regimes.model(instrument.key) is None:
        # the daemon fits only the markets its registered bots trade; a hand-made entry elsewhere
        # needs its market's regime model first, as an entry without a regime is refused
        assert (await regimes.refit(instrument)).ok
    return await run.orchestrator.process_signal(
        Signal(
            id=signal_id,
            bot=bot,
            instrument=instrument,
            side=side,
            intent=intent,
            confidence=0.6,
            edge=0.01,
            stop=price * (1 - stop_fraction) if intent is SignalIntent.OPEN else None,
            reason="test",
            time=run.clock.now(),
            evidence={"atr": price * 0.005},
        )
    )


def test_a_failing_bot_is_paused_after_five_failures_while_the_others_trade(tmp_path: Path) -> None:
    config = configured(
        tmp_path,
        [
            bot("broken", "FailingBot", ["SPY"], "sim-stocks"),
            bot("buyer", "AlwaysBuyBot", ["BTC/USD"], "sim-crypto"),
        ],
    )
    run = build_simulated(config, START)
    run_for(run, timedelta(minutes=3))

    repo = open_storage(tmp_path / "trading.sqlite")
    state = repo.control_state()
    assert "broken" in state.paused_bots and "5 consecutive failures" in state.paused_bots["broken"]
    assert "strategy bug" in state.paused_bots["broken"]
    [event] = [e for e in repo.risk_events() if e.kind == "bot_auto_paused"]
    assert event.bot == "broken"
    summary = {b.name: b for b in repo.status_summary(START).bots}
    assert summary["broken"].paused and not summary["buyer"].paused
    assert any(f.instrument_key == "sim-crypto:BTC/USD" for f in repo.fills())  # the daemon kept going

    # each broker's health is on disk for `status`, the dashboard and Telegram
    stored = repo.get_daemon_value("broker_health")
    assert stored is not None
    health = {(row["venue"], row["mode"]): row for row in json.loads(stored)["brokers"]}
    assert set(health) == {(venue, "paper") for venue in config.settings.venues}
    assert all(row["connected"] and row["reconciled"] for row in health.values())


def test_pause_and_halt_survive_a_restart_and_nothing_is_sent_while_halted(tmp_path: Path) -> None:
    bots = [bot("buyer", "AlwaysBuyBot", ["BTC/USD", "ETH/USD"], "sim-crypto")]
    first = build_simulated(configured(tmp_path, bots), START)

    def halt(run: SimulatedRun) -> None:
        run.orchestrator.control.halt_trading("operator: news pending")
        run.orchestrator.control.pause_bot("buyer", "operator: checking it")

    run_for(first, timedelta(seconds=5), before_stop=halt)
    assert open_storage(tmp_path / "trading.sqlite").orders() == []  # halted before its first tick

    second = build_simulated(configured(tmp_path, bots), START + timedelta(minutes=1))
    control = second.orchestrator.control
    assert control.trading_state is TradingState.HALTED
    assert control.trading_reason == "operator: news pending"
    assert control.is_bot_paused("buyer")

    def resume_the_bot_only(run: SimulatedRun) -> None:
        run.orchestrator.control.resume_bot("buyer")

    run_for(second, timedelta(minutes=1), before_stop=resume_the_bot_only)
    third = build_simulated(configured(tmp_path, bots), START + timedelta(minutes=3))
    assert not third.orchestrator.control.is_bot_paused("buyer")
    run_for(third, timedelta(minutes=1))  # the bot ticks and signals, but trading is halted

    repo = open_storage(tmp_path / "trading.sqlite")
    assert repo.orders() == []
    halted = [
        d
        for signal_id in repo.decision_counts_by_signal()
        for d in repo.decisions(signal_id)
        if d.reason_code is ReasonCode.TRADING_HALTED
    ]
    assert halted, "the halted bot's signals were not journaled with the halt as reason"

    fourth = build_simulated(configured(tmp_path, bots), START + timedelta(minutes=5))
    fourth.orchestrator.control.resume_trading("operator: all clear")
    run_for(fourth, timedelta(minutes=1))
    assert {o.intent.instrument.symbol for o in open_storage(tmp_path / "trading.sqlite").orders()} == {
        "BTC/USD",
        "ETH/USD",
    }


def test_daily_loss_limit_stops_entries_until_midnight(tmp_path: Path) -> None:
    """A $1 limit is breached by the first round trip's costs; entries stop, midnight resets."""
    late = datetime(2026, 3, 2, 22, 30, tzinfo=NEW_YORK)
    bots = [bot("buyer", "AlwaysBuyBot", ["BTC/USD", "ETH/USD", "SOL/USD"], "sim-crypto")]
    run = build_simulated(configured(tmp_path, bots, daily_loss_limit_usd=1.0), late)
    run_for(run, timedelta(hours=2))

    repo = open_storage(tmp_path / "trading.sqlite")
    events = repo.risk_events()
    halts = [e.time for e in events if e.kind == "daily_loss_halt"]
    resets = [e.time for e in events if e.kind == "daily_loss_reset"]
    midnight = datetime(2026, 3, 3, 0, 0, tzinfo=NEW_YORK)
    assert halts and min(halts) < midnight, "the limit never fired before midnight"
    assert any(midnight <= r < midnight + timedelta(minutes=2) for r in resets)
    first_halt = min(halts)
    entries = [o for o in repo.orders() if not o.intent.reduce_only]
    blocked = [o for o in entries if first_halt < o.intent.created_at < midnight]
    assert blocked == [], [o.client_order_id for o in blocked]
    assert any(o.intent.created_at >= midnight for o in entries), "no entry after the reset"
    reducing = [
        d
        for signal_id in repo.decision_counts_by_signal()
        for d in repo.decisions(signal_id)
        if d.reason_code in (ReasonCode.TRADING_REDUCING, ReasonCode.DAILY_LOSS_LIMIT)
    ]
    assert reducing, "blocked entries were not journaled with the daily loss as their reason"


def test_restart_resolves_an_intent_that_was_never_sent_and_does_not_send_it(tmp_path: Path) -> None:
    bots = [bot("buyer", "AlwaysBuyBot", ["BTC/USD"], "sim-crypto")]
    config = configured(tmp_path, bots)
    run = build_simulated(config, START)
    instrument = run.instruments["sim-crypto:BTC/USD"]
    # what a crash between "intent written" and "sent" leaves behind
    orphan = Order(
        OrderIntent(
            client_order_id=client_order_id_for("crashed-signal"),
            signal_id="crashed-signal",
            bot="buyer",
            instrument=instrument,
            side=Side.BUY,
            quantity=Decimal("0.01"),
            order_type=OrderType.MARKET,
            time_in_force=TimeInForce.GTC,
            created_at=START - timedelta(seconds=5),
        )
    )
    run.orchestrator.repository.insert_order(orphan)
    run_for(run, timedelta(seconds=1))

    repo = open_storage(tmp_path / "trading.sqlite")
    resolved = repo.load_order(orphan.client_order_id)
    assert resolved is not None and resolved.status is OrderStatus.DENIED
    assert "never sent" in (resolved.reject_reason or "")
    broker = run.paper_brokers["sim-crypto"]
    assert asyncio.run(broker.order_status(orphan.client_order_id)) is None  # the venue never saw it
    assert any(e.kind == "order_resolved" for e in repo.risk_events())


def test_restart_reports_a_position_the_venue_does_not_hold(tmp_path: Path) -> None:
    bots = [bot("buyer", "AlwaysBuyBot", ["ETH/USD"], "sim-crypto")]
    run = build_simulated(configured(tmp_path, bots), START)
    run_for(run, timedelta(seconds=30))
    repo = open_storage(tmp_path / "trading.sqlite")
    [position] = repo.load_positions(open_only=True)
    # the venue's books lose the position behind our back (e.g. closed by hand on the venue)
    with sqlite3.connect(tmp_path / "var" / "paper_sim-crypto.sqlite") as venue:
        venue.execute("delete from positions")
    restarted = build_simulated(configured(tmp_path, bots), START + timedelta(minutes=1))
    run_for(restarted, timedelta(seconds=1))
    differences = [
        e for e in open_storage(tmp_path / "trading.sqlite").risk_events() if e.kind == "reconcile_difference"
    ]
    assert differences and position.instrument_key in differences[0].message


pytestmark = pytest.mark.slow


def test_a_stopped_daemon_lets_go_of_its_books_threads_and_files(tmp_path: Path) -> None:
    """`start` freezes the heap for the collector (gc.freeze); a daemon that has stopped must be
    collectable again, or a replay sweep or a test process, running daemon after daemon, keeps
    every paper venue's connections, checkpointer threads and files open until it runs out."""
    run = build_simulated(configured(tmp_path, []), START)
    brokers = [weakref.ref(broker) for broker in run.paper_brokers.values()]
    run_for(run, timedelta(minutes=2))
    del run
    gc.collect()

    assert [ref() for ref in brokers] == [None] * len(brokers)
    deadline = time.monotonic() + 10  # the checkpointer threads end within a few milliseconds
    while time.monotonic() < deadline and _files_under(tmp_path):
        time.sleep(0.05)
        gc.collect()  # what a loaded machine's threads still held at the first pass
    assert _files_under(tmp_path) == []


def _files_under(folder: Path) -> list[str]:
    """The files under `folder` this process holds open."""
    return [f.path for f in psutil.Process().open_files() if Path(f.path).is_relative_to(folder)]


def test_a_new_position_is_valued_at_its_own_fill_not_an_old_mark(tmp_path: Path) -> None:
    """Regression: the mark left by an earlier position in the same market, hours old, once
    valued a new entry there and fired the daily loss limit on a loss that did not exist."""
    run = build_simulated(configured(tmp_path, []), START)
    orchestrator = run.orchestrator
    instrument = run.instruments["sim-crypto:SOL/USD"]

    async def trade(side: Side, intent: SignalIntent, sequence: int) -> Order:
        order = await send_manual(run, "manual", instrument, side, intent, f"manual-{sequence}", 0.03)
        assert order is not None and order.status is OrderStatus.FILLED, order
        return order

    async def go() -> None:
        await orchestrator.start()
        await trade(Side.BUY, SignalIntent.OPEN, 1)
        await orchestrator.snapshot_equity()  # marks SOL at the then-current mid
        await trade(Side.SELL, SignalIntent.CLOSE, 2)
        await run.scheduler.run_until(run.clock.now() + timedelta(hours=3))  # SOL moves on
        entry = await trade(Side.BUY, SignalIntent.OPEN, 3)
        position = orchestrator.book.position("manual", instrument.key)
        assert position is not None and position.average_entry_price == entry.average_fill_price
        repo = orchestrator.repository
        [closed] = repo.closed_trades()
        entry_fee = sum(f.fee for f in repo.fills() if f.client_order_id == entry.client_order_id)
        starting = sum(Decimal(str(v.starting_cash_usd)) for v in run.config.settings.venues.values())
        # valued at its own fill until the next quote: no unrealized P&L from a stale mark
        expected = starting + closed.gross_pnl - closed.fees - entry_fee
        assert orchestrator.book_snapshot().equity == expected
        await orchestrator.stop()

    asyncio.run(go())


def test_ten_losing_round_trips_halve_a_bots_size_and_the_journal_says_so(tmp_path: Path) -> None:
    """Buying at the ask and selling straight back at the bid loses the spread and fees: a loss."""
    run = build_simulated(configured(tmp_path, [], losses_to_reduce=10, loss_streak_multiplier=0.5), START)
    orchestrator = run.orchestrator
    instrument = run.instruments["sim-crypto:ETH/USD"]
    sequence = iter(range(1000))

    async def signal_for(side: Side, intent: SignalIntent) -> Order | None:
        return await send_manual(run, "loser", instrument, side, intent, f"loser-{next(sequence)}")

    async def go() -> list[Decimal]:
        await orchestrator.start()
        sizes = []
        for _ in range(11):
            entry = await signal_for(Side.BUY, SignalIntent.OPEN)
            assert entry is not None and entry.status is OrderStatus.FILLED
            sizes.append(entry.intent.quantity)
            run.clock.advance(1.0)
            await signal_for(Side.SELL, SignalIntent.CLOSE)
            run.clock.advance(1.0)
        await orchestrator.stop()
        return sizes

    sizes = asyncio.run(go())
    repo = open_storage(tmp_path / "trading.sqlite")
    assert all(t.net_pnl < 0 for t in repo.closed_trades()) and len(repo.closed_trades()) == 11
    # the first ten entries at full size (prices barely move in 20 s), the eleventh at about half
    assert sizes[10] < sizes[0] * Decimal("0.6"), sizes
    [event] = [e for e in repo.risk_events() if e.kind == "bot_size_reduced"]
    assert event.bot == "loser" and "10 losses in a row" in event.message

    # a restart remembers the streak from the journal
    restarted = build_simulated(configured(tmp_path, [], losses_to_reduce=10), START + timedelta(minutes=5))
    asyncio.run(restarted.orchestrator.start())
    assert restarted.orchestrator.book_snapshot().bot_size_multipliers == {"loser": 0.5}
    asyncio.run(restarted.orchestrator.stop())


def test_an_exit_step_that_was_not_executed_is_taken_again_on_the_next_check(tmp_path: Path) -> None:
    """Regression: the plan used to mark a target as taken when its order was sent; an exit the
    risk engine held (trading halted) then never happened at all."""
    run = build_simulated(configured(tmp_path, []), START)
    orchestrator = run.orchestrator
    instrument = run.instruments["sim-crypto:ETH/USD"]

    async def go() -> None:
        await orchestrator.start()
        entry = await send_manual(run, "holder", instrument, Side.BUY, SignalIntent.OPEN, "entry-1")
        quote = await run.market.quote(instrument)
        assert quote is not None
        price = float(quote.mid)
        assert entry is not None and entry.status is OrderStatus.FILLED
        position = orchestrator.book.position("holder", instrument.key)
        assert position is not None and position.exit_plan is not None
        # pretend the market already ran past 1R: the first target sits below the price now
        r = Decimal(str(price)) * Decimal("0.01")
        plan = replace(position.exit_plan, entry_price=Decimal(str(price)) - 2 * r, risk_per_unit=r)
        plan = replace(plan, stop_price=plan.entry_price - r)
        orchestrator.book.set_exit_plan("holder", instrument.key, plan)
        held = position.quantity

        orchestrator.control.halt_trading("test: everything held")
        await orchestrator.check_exits()
        after_halt = orchestrator.book.position("holder", instrument.key)
        assert after_halt is not None and after_halt.quantity == held
        assert after_halt.exit_plan is not None and not after_halt.exit_plan.first_target_done

        orchestrator.control.resume_trading("test: go")
        await orchestrator.check_exits()
        after = orchestrator.book.position("holder", instrument.key)
        assert after is not None and after.exit_plan is not None and after.exit_plan.first_target_done
        assert after.quantity < held  # a third went at the first target
        await orchestrator.stop()

    asyncio.run(go())


def test_midnight_prunes_bot_runs_past_their_retention(tmp_path: Path) -> None:
    late = datetime(2026, 3, 2, 23, 59, tzinfo=NEW_YORK)
    bots = [bot("buyer", "AlwaysBuyBot", ["BTC/USD"], "sim-crypto")]
    run = build_simulated(configured(tmp_path, bots), late)
    old = late - timedelta(days=30)
    run.orchestrator.repository.record_bot_run("buyer", old, old, True, None, 0)
    run_for(run, timedelta(minutes=2))  # crosses midnight in New York
    runs = open_storage(tmp_path / "trading.sqlite").bot_runs("buyer")
    assert runs and min(r.finished_at for r in runs) > late - timedelta(days=7)


class HalfFillingVenue:
    """A venue over the paper venue that fills half of each order and cancels the rest (an IOC
    meeting a thin book). It implements our Broker protocol; nothing is patched."""

    def __init__(self, paper: Any) -> None:
        self._paper = paper
        self._answers: dict[str, VenueOrder] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._paper, name)

    @property
    def venue(self) -> str:
        return str(self._paper.venue)

    async def submit(self, intent: OrderIntent) -> VenueOrder:
        half = intent.instrument.round_quantity(intent.quantity / 2)
        executed = await self._paper.submit(replace(intent, quantity=half))
        answer = VenueOrder(
            intent.client_order_id,
            executed.venue_order_id,
            executed.instrument_key,
            OrderStatus.CANCELED,
            executed.filled_quantity,
            executed.average_fill_price,
            "IOC: the rest was canceled",
        )
        self._answers[intent.client_order_id] = answer
        return answer

    async def order_status(self, client_order_id: str) -> VenueOrder | None:
        return self._answers.get(client_order_id) or await self._paper.order_status(client_order_id)


def test_a_target_exit_filled_in_part_sells_its_rest_at_the_next_check(tmp_path: Path) -> None:
    run = build_simulated(configured(tmp_path, []), START)
    orchestrator = run.orchestrator
    instrument = run.instruments["sim-crypto:ETH/USD"]

    async def go() -> None:
        await orchestrator.start()
        await send_manual(run, "holder", instrument, Side.BUY, SignalIntent.OPEN, "entry-1")
        quote = await run.market.quote(instrument)
        assert quote is not None
        price = float(quote.mid)
        position = orchestrator.book.position("holder", instrument.key)
        assert position is not None and position.exit_plan is not None
        held = position.quantity
        r = Decimal(str(price)) * Decimal("0.01")
        plan = replace(position.exit_plan, entry_price=Decimal(str(price)) - 2 * r, risk_per_unit=r)
        orchestrator.book.set_exit_plan(
            "holder", instrument.key, replace(plan, stop_price=plan.entry_price - r)
        )
        # from now on the venue fills only half of what it is sent
        thin = HalfFillingVenue(run.paper_brokers["sim-crypto"])
        orchestrator.router = BrokerRouter({("sim-crypto", "paper"): thin}, {})  # type: ignore[dict-item]

        await orchestrator.check_exits()
        first = orchestrator.book.position("holder", instrument.key)
        assert first is not None and first.exit_plan is not None
        target = instrument.round_quantity(held * Decimal("0.33"))
        sold = held - first.quantity
        assert 0 < sold < target
        assert first.exit_plan.first_target_done and first.exit_plan.target_shortfall == target - sold

        run.clock.advance(5.0)  # the next exit check
        await orchestrator.check_exits()  # the rest of the target (half of it fills again)
        second = orchestrator.book.position("holder", instrument.key)
        assert second is not None and second.exit_plan is not None
        assert held - second.quantity > sold
        orders = orchestrator.repository.orders()
        assert all(o.status.is_terminal for o in orders), [(o.client_order_id, o.status) for o in orders]
        await orchestrator.stop()

    asyncio.run(go())


def test_an_operator_closes_a_whole_position_and_reads_each_accounts_balance(tmp_path: Path) -> None:
    bots = [bot("buyer", "AlwaysBuyBot", ["BTC/USD"], "sim-crypto")]
    run = build_simulated(configured(tmp_path, bots), START)

    async def scenario() -> None:
        orchestrator = run.orchestrator
        await orchestrator.start()
        await run.scheduler.run_until(run.clock.now() + timedelta(seconds=15))
        [position] = orchestrator.book.open_positions()
        order = await orchestrator.close_position("buyer", position.instrument_key, "closed from Telegram")
        assert order is not None and order.status is OrderStatus.FILLED
        assert order.intent.reduce_only and order.filled_quantity == abs(position.quantity)
        assert orchestrator.book.position("buyer", position.instrument_key) is None
        with pytest.raises(KeyError, match="holds no position"):
            await orchestrator.close_position("buyer", position.instrument_key, "again")
        balances = {(row["venue"], row["mode"]): row for row in await orchestrator.venue_balances()}
        assert set(balances) == {(venue, "paper") for venue in run.config.settings.venues}
        crypto = balances[("sim-crypto", "paper")]
        [closed] = orchestrator.repository.closed_trades()
        # flat again: the account holds its starting cash plus the round trip's net P&L
        assert crypto["currency"] == "USD" and crypto["cash"] == Decimal(10_000) + closed.net_pnl
        orchestrator.control.pause_bot("buyer")  # stop it re-entering before the end
        await orchestrator.stop()

    asyncio.run(scenario())
    [trade] = open_storage(tmp_path / "trading.sqlite").closed_trades()
    assert trade.bot == "buyer"
