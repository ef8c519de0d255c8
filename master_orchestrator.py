"""The Orchestrator: registry, scheduler, the road from signal to fill, lifecycle and control.

Read top to bottom, this file is the story of a tick: a bot fires, its signals
travel the stages (regime → risk, with ensemble and veto to come), a passing
signal's order intent is journaled NEW before the router sends it, the venue's
answer and fills update the order, the position and the equity, and every step
leaves a record. Wiring (which world, which brokers) lives in `runtime.wiring`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import inspect
import json
import logging
import os
import signal as signals
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ai import LLM_SPEND_KEY
from backtest.go_live import GoLiveCriteria, gate_from_trades
from backtest.replay_journal import NotAReplay, ReplayGate, replay_gates
from brokers.base import Broker, BrokerError, VenueOrder
from brokers.price_chain import PriceChain
from brokers.router import BrokerRouter
from config.schema import Settings
from domain.instruments import AssetClass, Instrument
from domain.orders import (
    Fill,
    InvalidOrderTransition,
    Order,
    OrderStatus,
    OrderType,
    TimeInForce,
    market_intent,
)
from domain.pipeline import SignalContext, Stage
from domain.positions import ClosedTrade, ExitPlan, Position
from domain.prediction_records import Settlement
from domain.regimes import Regime, RegimeFit, RegimeReading
from domain.signals import Decision, Side, Signal, SignalIntent, make_signal_id
from domain.trading_state import TradingState
from risk_management.book import Book, EquityBreakdown
from risk_management.engine import BookSnapshot, Exposure, stance_of
from risk_management.exits import ExitKind, ExitStep, build_exit_plan, evaluate_exit, risk_taken
from risk_management.streaks import StreakRule, StreakTracker
from runtime.control import Control
from runtime.events import Event, EventBus
from runtime.registry import RegisteredBot
from runtime.scheduling import Scheduler, cron_trigger, interval_trigger
from runtime.tick_context import TickContext
from storage.repository import Repository
from utils.clock import Clock

if TYPE_CHECKING:  # heavy (hmmlearn, scikit-learn, XGBoost): `status` and `--dashboard-only` never need them
    from filters.market_regimes import MarketRegimes
    from runtime.fleet import FleetController
    from runtime.retraining import ModelRetraining
    from runtime.veto_followup import VetoFollowUp

log = logging.getLogger("orchestrator")

UNACKED_REQUERY_SECONDS = 3.0
UNACKED_MAX_TRIES = 5
# orders the venue acknowledged but has not finished (resting limits, IOC remainders) are asked
# about at this slower pace, so a cancel or expiry at the venue reaches the journal
OPEN_ORDER_REQUERY_SECONDS = 30.0
SHUTDOWN_HOOK_SECONDS = 15.0  # the most an async shutdown hook may take
BROKER_HEALTH_SECONDS = 15  # how often each broker's health is written for status/dashboard/Telegram


@dataclass(slots=True)
class BotRuntime:
    """Per-bot bookkeeping the orchestrator keeps between ticks."""

    registered: RegisteredBot
    consecutive_failures: int = 0
    last_error: str | None = None


@dataclass(slots=True)
class OrderTracking:
    signal: Signal
    unacked_tries: int = 0
    exit_of: tuple[str, str] | None = None  # (bot, instrument key) when this order is an exit
    last_query_at: datetime | None = None  # when the venue was last asked about it


@dataclass(slots=True)
class Orchestrator:
    settings: Settings
    clock: Clock
    scheduler: Scheduler
    repository: Repository
    bots: list[RegisteredBot]
    stages: Sequence[Stage]
    router: BrokerRouter
    prices: PriceChain
    book: Book
    control: Control
    bus: EventBus
    instruments: dict[str, Instrument]
    on_shutdown: list[Any] = field(default_factory=list)
    # awaited at the end of start(), on the daemon's loop: operator surfaces (dashboard, Telegram)
    on_start: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # (job id, interval seconds, callable): housekeeping of the wiring, e.g. saving the simulated world
    # or refreshing the news; a callable may be a coroutine function
    periodic_hooks: list[tuple[str, int, Callable[[], Awaitable[None] | None]]] = field(default_factory=list)
    # the markets' regime models (the RegimeFilter reads them); fitted at start and on a schedule
    regimes: MarketRegimes | None = None
    # the weekly retraining of the ML models (None: [ml] disabled)
    retraining: ModelRetraining | None = None
    # every vetoed entry followed on paper (veto analytics; None: [veto.follow_up] disabled)
    veto_followup: VetoFollowUp | None = None
    # the fleet's meta-controller (None: no registry bot has fleet = true, or [fleet] disabled)
    fleet: FleetController | None = None
    # True (live): start-up work runs while the daemon already ticks: the first regime fits (entries
    # wait for their market's model) and the training of assets without a model. False (simulated
    # runs): start() returns once every market has been fitted, and nothing is trained at start.
    background_startup_work: bool = True

    _runtimes: dict[str, BotRuntime] = field(default_factory=dict)
    _orders: dict[str, Order] = field(default_factory=dict)
    _tracking: dict[str, OrderTracking] = field(default_factory=dict)
    _marks: dict[str, Decimal] = field(default_factory=dict)
    _mark_times: dict[str, datetime] = field(default_factory=dict)
    _last_exit_at: dict[str, datetime] = field(default_factory=dict)
    _streaks: dict[str, StreakTracker] = field(default_factory=dict)
    _fill_cursor: dict[int, datetime] = field(default_factory=dict)
    _applied_fills: dict[tuple[str, str], datetime] = field(default_factory=dict)
    _unreconciled_venues: set[tuple[str, str]] = field(default_factory=set)  # (venue, mode)
    _route_healthy: dict[tuple[str, str], bool] = field(default_factory=dict)  # last seen, for alerts
    _in_flight: int = 0
    _idle: asyncio.Event = field(default_factory=asyncio.Event)
    _day_start_equity: Decimal = Decimal(0)
    # the fleet's P&L today: its sub-bots' trades closed since midnight, plus what their open
    # positions gained since (their unrealized now less their unrealized at midnight)
    _fleet_realized_today: Decimal = Decimal(0)
    _fleet_day_start_unrealized: Decimal = Decimal(0)
    _fleet_loss_announced: str = ""  # the trading day whose fleet daily-loss breach was announced
    _trading_day: str = ""
    _stopping: bool = False
    _background: set[asyncio.Task[Any]] = field(default_factory=set)
    _regime_fits: asyncio.Lock = field(default_factory=asyncio.Lock)
    _regimes_seen: dict[str, Regime] = field(default_factory=dict)
    _unsaved_regimes: list[RegimeReading] | None = None  # collected by the reading job, saved at its end
    # the bots' instrument tuples and the markets built from them (`regime_markets`)
    _regime_markets: tuple[tuple[Sequence[Instrument], ...], list[Instrument]] | None = None

    # ==========================================================================================
    # Lifecycle
    # ==========================================================================================
    async def start(self) -> None:
        """Restore the books, reconcile with the venues, then schedule every bot and job."""
        now = self.clock.now()
        self._idle.set()
        self._runtimes = {b.name: BotRuntime(b) for b in self.bots}
        for registered in self.bots:
            entry = registered.entry
            self.repository.upsert_bot(
                registered.name,
                entry.bot_class,
                registered.bot.instruments[0].asset_class.value,
                entry.venue,
                entry.mode,
                registered.schedule_text,
                dict(entry.params),
                now,
            )
        history = self.repository.closed_trades()
        self.book.restore(self.repository.load_positions(open_only=True), history)
        for trade in sorted(history, key=lambda t: t.closed_at):
            self._streak(trade.bot).record(float(trade.net_pnl))
        cooldown_window = now - timedelta(minutes=self.settings.risk.reentry_cooldown_minutes)
        for trade in self.repository.closed_trades(since=cooldown_window):
            self._last_exit_at[trade.instrument_key] = max(
                trade.closed_at, self._last_exit_at.get(trade.instrument_key, trade.closed_at)
            )
        await self.reconcile()
        await self._refresh_marks()
        self._start_trading_day(force=False)

        timezone = self.settings.system.timezone
        jobs = self.settings.orchestrator
        refused = self._refused_by_go_live_gate(history, now)
        for registered in self.bots:
            if registered.name in refused:
                continue
            self.scheduler.add_job(
                f"bot:{registered.name}",
                registered.trigger(self.clock, timezone),
                self._bot_job(registered.name),
            )
        self.scheduler.add_job(
            "fills", interval_trigger(jobs.fill_poll_seconds, self.clock, timezone), self.poll_fills
        )
        self.scheduler.add_job(
            "exits", interval_trigger(jobs.exit_check_seconds, self.clock, timezone), self.check_exits
        )
        self.scheduler.add_job(
            "equity",
            interval_trigger(jobs.equity_snapshot_seconds, self.clock, timezone),
            self._equity_job,
        )
        self.scheduler.add_job(
            "reconcile", interval_trigger(jobs.reconcile_seconds, self.clock, timezone), self._reconcile_job
        )
        self.scheduler.add_job("midnight", cron_trigger("0 0 * * *", timezone), self._midnight_job)
        for job_id, seconds, hook in self.periodic_hooks:
            self.scheduler.add_job(
                job_id, interval_trigger(seconds, self.clock, timezone), self._hook_job(hook)
            )
        if self.regimes is not None:
            regime_settings = self.settings.regimes
            self.scheduler.add_job(
                "regime-fits",
                interval_trigger(int(regime_settings.check_minutes * 60), self.clock, timezone),
                self._regime_fit_job,
            )
            self.scheduler.add_job(
                "regime-readings",
                interval_trigger(regime_settings.timeframe_seconds, self.clock, timezone, "regimes"),
                self._regime_reading_job,
            )
        followup = self.veto_followup
        if followup is not None:
            self.scheduler.add_job(
                "veto-followup",
                interval_trigger(self.settings.veto.follow_up.check_seconds, self.clock, timezone),
                self._veto_followup_job,
            )
        self.scheduler.add_job(
            "broker-health",
            interval_trigger(BROKER_HEALTH_SECONDS, self.clock, timezone),
            self._hook_job(self.record_broker_health),
        )
        if self.retraining is not None:
            self.scheduler.add_job(
                "ml-retrain", cron_trigger(self.settings.ml.retrain_cron, timezone), self._retrain_job
            )
        if self.regimes is not None:
            if self.background_startup_work:
                # the fit job's own first run (a second in) shares the markets out with this one
                self._in_background(lambda: self._regime_fit_job(now), "first regime fits")
            else:
                await self._regime_fit_job(now)
        retraining = self.retraining
        if (
            retraining is not None
            and self.background_startup_work
            and self.settings.ml.train_missing_on_start
        ):
            missing = retraining.assets_without_model()
            if missing:
                why = f"no model yet for {', '.join(missing)}"
                self._in_background(lambda: retraining.run(why), "first model training")
        self.scheduler.start()
        await self.snapshot_equity(now)
        self.record_broker_health()
        for start_hook in self.on_start:
            try:
                await start_hook()
            except Exception:
                log.exception("start hook %r failed; the daemon trades on without it", start_hook)
        # Everything loaded so far (libraries, calibration, the books) lives as long as the daemon:
        # keep it out of the collector's full passes, which otherwise stall ticks for milliseconds.
        gc.freeze()
        log.info(
            "daemon running: %d bots, %d venues, state %s",
            len(self.bots),
            len(self.router.brokers),
            self.control.trading_state.value,
        )

    def _hook_job(self, hook: Callable[[], Awaitable[None] | None]) -> Callable[[datetime], Awaitable[None]]:
        async def run(fire_time: datetime) -> None:
            try:
                result = hook()
                if result is not None:
                    await result
            except Exception:
                log.exception("periodic hook %r failed", hook)

        return run

    async def stop(self, grace_seconds: float | None = None) -> None:
        """Stop scheduling, let in-flight ticks finish, flush, close."""
        if self._stopping:
            return
        self._stopping = True
        await self.scheduler.shutdown()
        for task in list(self._background):
            task.cancel()
        limit = grace_seconds
        if limit is None:
            limit = self.settings.orchestrator.shutdown_timeout_seconds
        try:
            await asyncio.wait_for(self._idle.wait(), timeout=limit)
        except TimeoutError:
            log.warning("stopping with %d jobs still in flight after %.1f s", self._in_flight, limit)
        with contextlib.suppress(Exception):
            # no quote is left on a venue the daemon no longer watches
            await self._cancel_resting(self._resting_orders())
        with contextlib.suppress(Exception):
            await self.snapshot_equity(self.clock.now())
        for hook in self.on_shutdown:
            try:
                result = hook()
                if inspect.isawaitable(result):  # an async teardown, e.g. Telegram's
                    await asyncio.wait_for(result, timeout=SHUTDOWN_HOOK_SECONDS)
            except Exception:
                log.exception("shutdown hook failed")
        self.repository.close()
        # what `start` froze may be collected once this daemon is gone: a replay sweep or a test
        # process runs many daemons, and each frozen one kept its books' files open for good
        gc.unfreeze()
        log.info("daemon stopped cleanly")

    @contextlib.asynccontextmanager
    async def _tracked(self) -> AsyncIterator[None]:
        self._in_flight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    # ==========================================================================================
    # A bot's tick
    # ==========================================================================================
    def _bot_job(self, name: str) -> Any:
        async def job(fire_time: datetime) -> None:
            await self.run_bot_tick(name, fire_time)

        return job

    async def run_bot_tick(self, name: str, fire_time: datetime) -> None:
        runtime = self._runtimes[name]
        bot = runtime.registered.bot
        if self._stopping:
            return
        if self.control.is_bot_paused(name):
            # a paused bot keeps no quote on the book
            await self._cancel_resting(self._resting_orders(name))
            return
        entry = runtime.registered.entry
        if (entry.venue, entry.mode) in self._unreconciled_venues:
            log.warning("%s skipped: venue %s (%s) is not reconciled", name, entry.venue, entry.mode)
            return
        async with self._tracked():
            # the bot's quotes of its last tick: what filled is booked before it looks again
            resting = self._resting_orders(name)
            for broker in {id(b): b for o in resting if (b := self._broker_of(o)) is not None}.values():
                await self._collect_fills(broker)
            started = self.clock.now()
            context = TickContext(name, started, fire_time, self.prices, self.book)
            try:
                produced = await bot.on_tick(context)
            except Exception as exc:  # a bot's bug must never take the daemon down
                self._bot_failed(runtime, exc, started)
                await self._cancel_resting(resting)  # no quote outlives the tick that would renew it
                return
            runtime.consecutive_failures = 0
            runtime.last_error = None
            # a quote the bot makes again (same market, side and price) stays where it rests, in its
            # place in the venue's queue; the others are canceled before the new ones go out
            requoted: dict[tuple[str, Side, Decimal | None], Signal] = {
                (s.instrument.key, s.side, s.limit_price): s for s in produced if s.limit_price
            }
            # ... while trading is active: a halt or the daily loss limit takes every resting entry off
            active = self.control.trading_state is TradingState.ACTIVE
            kept = {
                order.client_order_id: signal
                for order in resting
                if (signal := requoted.get(_quote_key(order))) is not None
                and not order.status.is_terminal
                and (active or order.intent.reduce_only)
            }
            await self._cancel_resting([o for o in resting if o.client_order_id not in kept])
            renewed = {id(signal) for signal in kept.values()}
            produced = [signal for signal in produced if id(signal) not in renewed]
            for signal in produced:
                try:
                    await self.process_signal(signal)
                except Exception as exc:
                    log.exception("signal %s from %s failed on the road", signal.id, name)
                    self._record_risk_event("signal_error", "error", f"{signal.id}: {exc}", bot=name)
            self.repository.record_bot_run(name, started, self.clock.now(), True, None, len(produced))

    def _resting_orders(self, bot: str | None = None) -> list[Order]:
        """The resting limit orders (quotes) of `bot`, or of every bot."""
        return [o for o in self._orders.values() if _is_resting(o) and bot in (None, o.intent.bot)]

    def _broker_of(self, order: Order) -> Broker | None:
        """The broker the order went to: its bot's mode on its venue."""
        return self.router.broker_for(order.intent.bot, order.intent.instrument.venue)

    async def _cancel_resting(self, orders: Sequence[Order]) -> None:
        """Cancel resting limit orders (a bot's quotes), booking whatever of them filled first."""
        for order in orders:
            broker = self._broker_of(order)
            if broker is None or order.status.is_terminal:
                self._forget_if_done(order)
                continue
            try:
                venue = await broker.cancel(order.client_order_id)
            except BrokerError as exc:
                log.warning("could not cancel %s of %s: %s", order.client_order_id, order.intent.bot, exc)
                continue
            await self._collect_fills(broker)  # a quote the market reached before the cancel
            if venue is not None:
                self._sync_order(order, venue)
                self.repository.update_order(order, "canceled: the bot quotes afresh at its next tick")
            self._forget_if_done(order)

    def _bot_failed(self, runtime: BotRuntime, exc: Exception, started: datetime) -> None:
        name = runtime.registered.name
        runtime.consecutive_failures += 1
        runtime.last_error = f"{type(exc).__name__}: {exc}"
        log.error("bot %s failed (%d in a row): %s", name, runtime.consecutive_failures, runtime.last_error)
        self.repository.record_bot_run(name, started, self.clock.now(), False, runtime.last_error, 0)
        self.bus.publish(Event("bot_error", self.clock.now(), f"{name}: {runtime.last_error}", {"bot": name}))
        limit = self.settings.orchestrator.max_consecutive_failures
        if runtime.consecutive_failures >= limit:
            reason = f"auto-paused after {limit} consecutive failures; last: {runtime.last_error}"
            self.control.pause_bot(name, reason)
            self._record_risk_event("bot_auto_paused", "warning", reason, bot=name)

    # ==========================================================================================
    # The road: stages, journal, router, fills
    # ==========================================================================================
    async def process_signal(self, signal: Signal) -> Order | None:
        """Take one signal down the road; return the order it produced, if any."""
        ctx = SignalContext(now=self.clock.now(), confidence=signal.confidence)
        decisions: list[Decision] = []
        for stage in self.stages:
            decision = await stage.evaluate(signal, ctx)
            decisions.append(decision)
            ctx.absorb(decision)
            if not decision.passed:
                break
        intent = ctx.intent
        if not decisions or not decisions[-1].passed or intent is None:
            self._journal(signal, decisions, ctx.now)
            followup = self.veto_followup
            if decisions and followup is not None and followup.follows(signal, decisions[-1]):
                await self._follow_veto(followup, signal, decisions[-1], ctx.now)
            return None

        order = Order(intent)
        self._journal(signal, decisions, ctx.now, order)  # the intent is on disk before it leaves
        self._orders[order.client_order_id] = order
        exit_of = (signal.bot, signal.instrument.key) if signal.intent is SignalIntent.CLOSE else None
        self._tracking[order.client_order_id] = OrderTracking(signal, exit_of=exit_of)

        broker = self.router.broker_for(intent.bot, intent.instrument.venue)
        if broker is not None:
            order.transition(OrderStatus.SUBMITTED, self.clock.now())
        routed = await self.router.evaluate(signal, ctx)
        venue_order: VenueOrder | None = ctx.notes.get("venue_order")
        now = self.clock.now()
        with self.repository.batch():
            self.repository.record_decision(signal.id, len(decisions), routed, now)
            if broker is None:
                order.transition(OrderStatus.DENIED, now, routed.message)
            elif venue_order is not None:
                self._sync_order(order, venue_order)
            self.repository.update_order(order, routed.message)
        if broker is not None and venue_order is not None and venue_order.filled_quantity > 0:
            await self._collect_fills(broker)
            if venue_order.status.is_terminal and not order.status.is_terminal:
                # e.g. an IOC the venue filled in part and canceled: now that its fills are in,
                # the order can follow the venue to its end
                self._sync_order(order, venue_order)
                self.repository.update_order(order)
        self._forget_if_done(order)
        return order

    async def _veto_followup_job(self, fire_time: datetime) -> None:
        if self.veto_followup is None:
            return
        try:
            await self.veto_followup.follow(self.clock.now())
        except Exception:
            log.exception("veto follow-up failed")

    async def _follow_veto(
        self, followup: VetoFollowUp, signal: Signal, decision: Decision, now: datetime
    ) -> None:
        try:
            await followup.record(signal, decision, now)
        except Exception:  # analytics must never stop the road
            log.exception("could not record vetoed signal %s for follow-up", signal.id)

    def _journal(
        self, signal: Signal, decisions: list[Decision], now: datetime, order: Order | None = None
    ) -> None:
        with self.repository.batch():
            self.repository.record_signal(signal)
            for seq, decision in enumerate(decisions):
                self.repository.record_decision(signal.id, seq, decision, now)
            if order is not None:
                self.repository.insert_order(order)

    def _sync_order(self, order: Order, venue: VenueOrder) -> None:
        """Move our order towards the venue's view; fills themselves arrive through `_apply_fill`."""
        now = self.clock.now()
        if venue.venue_order_id and not order.venue_order_id:
            order.venue_order_id = venue.venue_order_id
        target = venue.status
        if target is order.status or order.status.is_terminal:
            return
        try:
            if target is OrderStatus.ACCEPTED and order.status is OrderStatus.SUBMITTED:
                order.transition(OrderStatus.ACCEPTED, now)
            elif (
                target in (OrderStatus.REJECTED, OrderStatus.CANCELED, OrderStatus.EXPIRED)
                and order.filled_quantity >= venue.filled_quantity
            ):
                # only once every fill the venue reports has reached us
                order.transition(target, now, venue.reason)
        except InvalidOrderTransition:
            log.warning(
                "venue reports %s for %s in state %s", target.value, order.client_order_id, order.status.value
            )

    async def _collect_fills(self, broker: Broker) -> list[ClosedTrade]:
        """Apply the broker's new fills; the round trips they closed."""
        key = id(broker)
        since = self._fill_cursor.get(key) or (self.clock.now() - timedelta(days=7))
        try:
            fills = await broker.fills_since(since)
        except BrokerError as exc:
            log.warning("fills from %s unavailable: %s", broker.venue, exc)
            return []
        closed_trades: list[ClosedTrade] = []
        for fill in fills:
            # the cursor is inclusive, so the latest fills come back on the next poll: skip those
            # already applied without a trip to the database
            seen_key = (fill.venue, fill.venue_trade_id)
            if seen_key in self._applied_fills:
                continue
            closed = self._apply_fill(fill)
            if closed is not None:
                closed_trades.append(closed)
            self._applied_fills[seen_key] = fill.time
            if fill.time > self._fill_cursor.get(key, since):
                self._fill_cursor[key] = fill.time
        cursor = self._fill_cursor.get(key)
        if cursor is not None and len(self._applied_fills) > 1000:
            horizon = cursor - timedelta(minutes=5)
            self._applied_fills = {k: t for k, t in self._applied_fills.items() if t >= horizon}
        return closed_trades

    def _apply_fill(self, fill: Fill) -> ClosedTrade | None:
        order = self._orders.get(fill.client_order_id) or self.repository.load_order(fill.client_order_id)
        if order is None:
            self._record_risk_event(
                "unknown_fill",
                "warning",
                f"{fill.venue} reported fill {fill.venue_trade_id} for unknown order {fill.client_order_id}",
            )
            return None
        bot = order.intent.bot
        if fill.venue_trade_id in order.seen_trade_ids:
            return None
        with self.repository.batch():
            if not self.repository.record_fill(fill, bot):
                return None
            order.apply_fill(fill)
            self.repository.update_order(order)
            before = self.book.position(bot, fill.instrument_key)
            position, closed = self.book.apply_fill(bot, fill)
            position = self._ensure_exit_plan(position, order)
            self.repository.save_position(position)
            if closed is not None:
                self.repository.record_closed_trade(closed)
                self._last_exit_at[closed.instrument_key] = closed.closed_at
                self._count_result(closed)
                if self.fleet is not None and self.fleet.is_member(bot):
                    self._fleet_realized_today += closed.net_pnl
                    plan = None if before is None else before.exit_plan
                    self.fleet.record(
                        closed,
                        risk_taken(closed, plan, self.instruments[closed.instrument_key]),
                        self.market_regime(closed.instrument_key),
                    )
        # A fresh fill is the latest price we have for its market: the mark held from an earlier
        # position there may be hours old and must not value the new one. (A settlement is the
        # market's end: nothing is left there to value.)
        if not fill.settlement:
            self._set_mark(fill.instrument_key, fill.price, fill.time)
        self.bus.publish(
            Event(
                "fill",
                fill.time,
                f"{bot} {fill.side} {fill.quantity} {fill.instrument_key} @ {fill.price}",
                {
                    "bot": bot,
                    "client_order_id": fill.client_order_id,
                    "instrument_key": fill.instrument_key,
                    "venue": fill.venue,
                    "mode": self.router.mode_of(bot),
                    "side": fill.side.value,
                    "quantity": str(fill.quantity),
                    "price": str(fill.price),
                    "fee": str(fill.fee),
                    "exit": order.intent.reduce_only,  # an exit (or a stop) rather than an entry
                    "settlement": fill.settlement,
                    "position_quantity": str(position.quantity),
                },
            )
        )
        if closed is not None:
            self.bus.publish(
                Event(
                    "trade_closed",
                    fill.time,
                    f"{bot} closed {closed.instrument_key}: net {closed.net_pnl:.2f}",
                    {
                        "bot": bot,
                        "instrument_key": closed.instrument_key,
                        "net_pnl": str(closed.net_pnl),
                        "entry_price": str(closed.entry_price),
                        "exit_price": str(closed.exit_price),
                        "quantity": str(closed.quantity),
                    },
                )
            )
        self._forget_if_done(order)
        self._check_daily_loss()
        return closed

    def _ensure_exit_plan(self, position: Position, order: Order) -> Position:
        """Set the exit plan of a position opened by `order`, or grow it with later entry fills."""
        if not position.is_open or order.intent.reduce_only:
            return position
        plan = position.exit_plan
        if plan is not None:
            if not plan.first_target_done and abs(position.quantity) > plan.initial_quantity:
                from dataclasses import replace

                return self.book.set_exit_plan(
                    position.bot,
                    position.instrument_key,
                    replace(plan, initial_quantity=abs(position.quantity)),
                )
            return position
        if order.intent.instrument.asset_class is AssetClass.PREDICTION:
            return position  # held to settlement unless its bot sees the edge reverse
        tracking = self._tracking.get(order.client_order_id)
        signal = tracking.signal if tracking is not None else None
        side = position.side
        assert side is not None
        if signal is None or signal.stop is None:
            log.warning(
                "position %s/%s has no stop from its signal; no exit plan",
                position.bot,
                position.instrument_key,
            )
            return position
        atr_value = signal.evidence.get("atr")
        atr = Decimal(str(atr_value)) if isinstance(atr_value, int | float) and atr_value > 0 else None
        try:
            plan = build_exit_plan(
                side,
                position.average_entry_price,
                signal.instrument.round_price(Decimal(str(signal.stop))),  # targets land on the tick
                atr,
                abs(position.quantity),
            )
        except ValueError as exc:
            log.warning("no exit plan for %s/%s: %s", position.bot, position.instrument_key, exc)
            return position
        return self.book.set_exit_plan(position.bot, position.instrument_key, plan)

    def _forget_if_done(self, order: Order) -> None:
        if order.status.is_terminal:
            self._orders.pop(order.client_order_id, None)
            self._tracking.pop(order.client_order_id, None)

    # ==========================================================================================
    # Periodic jobs
    # ==========================================================================================
    async def poll_fills(self, fire_time: datetime | None = None) -> None:
        """Collect fills, and re-query orders the venue has not acknowledged."""
        async with self._tracked():
            for broker in self.router.brokers:
                await self._collect_fills(broker)
            now = self.clock.now()
            for order in list(self._orders.values()):
                if order.status is OrderStatus.SUBMITTED:
                    wait = UNACKED_REQUERY_SECONDS
                elif order.status in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED):
                    wait = OPEN_ORDER_REQUERY_SECONDS
                else:
                    continue
                tracking = self._tracking.get(order.client_order_id)
                asked = tracking.last_query_at if tracking is not None else None
                since = max(order.updated_at, asked) if asked is not None else order.updated_at
                if (now - since).total_seconds() < wait:
                    continue
                await self._requery(order)

    async def _requery(self, order: Order) -> None:
        broker = self._broker_of(order)
        tracking = self._tracking.setdefault(order.client_order_id, OrderTracking(_placeholder_signal(order)))
        tracking.unacked_tries += 1
        tracking.last_query_at = self.clock.now()
        venue: VenueOrder | None = None
        if broker is not None:
            with contextlib.suppress(BrokerError):
                venue = await broker.order_status(order.client_order_id)
        now = self.clock.now()
        if venue is not None:
            if broker is not None and venue.filled_quantity > order.filled_quantity:
                await self._collect_fills(broker)
            self._sync_order(order, venue)  # after the fills: a terminal status needs them all in
        elif order.status is OrderStatus.SUBMITTED and tracking.unacked_tries >= UNACKED_MAX_TRIES:
            order.transition(
                OrderStatus.REJECTED, now, f"no acknowledgement after {UNACKED_MAX_TRIES} queries"
            )
        self.repository.update_order(order)
        self._forget_if_done(order)

    async def check_exits(self, fire_time: datetime | None = None) -> None:
        """Walk every open position's exit plan against the current price."""
        async with self._tracked():
            exiting = {t.exit_of for t in self._tracking.values() if t.exit_of is not None}
            for position in self.book.open_positions():
                key = (position.bot, position.instrument_key)
                if key in exiting or position.exit_plan is None:
                    continue
                instrument = self.instruments[position.instrument_key]
                quote = await self.prices.quote(instrument)
                if quote is None:
                    log.info("exit check for %s/%s skipped: no fresh price", position.bot, instrument.symbol)
                    continue
                self._set_mark(instrument.key, quote.mid, quote.time)
                plan, step = evaluate_exit(
                    position.exit_plan, abs(position.quantity), quote.mid, instrument.lot_size
                )
                if plan != position.exit_plan:
                    self.repository.save_position(self.book.set_exit_plan(position.bot, instrument.key, plan))
                if step is None:
                    continue
                signal = self._close_signal(
                    position,
                    "exit",
                    step.quantity,
                    step.reason,
                    {
                        "exit_kind": step.kind.value,
                        "trigger_price": str(step.trigger_price),
                        "mark": str(quote.mid),
                    },
                )
                order = await self.process_signal(signal)
                if order is None or (order.status.is_terminal and order.filled_quantity == 0):
                    self._retry_exit_step(position, plan)
                elif order.status.is_terminal and order.filled_quantity < step.quantity:
                    self._carry_target_shortfall(position, step, order.filled_quantity)

    def _carry_target_shortfall(self, before: Position, step: ExitStep, filled: Decimal) -> None:
        """A target exit filled in part: what it left is sold at the next check. (A stop needs
        no carry: the position is still open past its stop, so the next check fires it again.)"""
        if step.kind not in (ExitKind.FIRST_TARGET, ExitKind.SECOND_TARGET, ExitKind.TARGET_REMAINDER):
            return
        current = self.book.position(before.bot, before.instrument_key)
        if current is None or current.exit_plan is None:
            return
        carried = replace(current.exit_plan, target_shortfall=step.quantity - filled)
        self.repository.save_position(self.book.set_exit_plan(before.bot, before.instrument_key, carried))

    def _retry_exit_step(self, before: Position, advanced: ExitPlan) -> None:
        """Nothing of the exit was executed (refused or rejected): undo the step's marks on the
        plan so the next check takes it again. A target counts as taken once any of it filled."""
        previous = before.exit_plan
        if previous is None or self.book.position(before.bot, before.instrument_key) is None:
            return
        reverted = replace(
            advanced,
            first_target_done=previous.first_target_done,
            second_target_done=previous.second_target_done,
            stop_price=previous.stop_price if not previous.second_target_done else advanced.stop_price,
            target_shortfall=previous.target_shortfall,
        )
        if reverted != advanced:
            restored = self.book.set_exit_plan(before.bot, before.instrument_key, reverted)
            self.repository.save_position(restored)

    async def snapshot_equity(self, fire_time: datetime | None = None) -> EquityBreakdown:
        await self._refresh_marks()
        breakdown = self.book.equity(self._marks)
        self.repository.record_equity(
            self.clock.now(),
            breakdown.equity,
            breakdown.cash,
            breakdown.realized,
            breakdown.unrealized,
            breakdown.fees,
            breakdown.open_positions,
            breakdown.gross_exposure,
        )
        self._check_daily_loss(breakdown)
        return breakdown

    def _set_mark(self, instrument_key: str, price: Decimal, when: datetime) -> None:
        """Keep the newest price per market (a late-collected fill must not undo a fresh quote)."""
        known = self._mark_times.get(instrument_key)
        if known is None or when >= known:
            self._marks[instrument_key] = price
            self._mark_times[instrument_key] = when

    async def _refresh_marks(self) -> None:
        for position in self.book.open_positions():
            quote = await self.prices.quote(self.instruments[position.instrument_key])
            if quote is not None:
                self._set_mark(position.instrument_key, quote.mid, quote.time)

    async def _equity_job(self, fire_time: datetime) -> None:
        async with self._tracked():
            await self.snapshot_equity(fire_time)

    async def _reconcile_job(self, fire_time: datetime) -> None:
        async with self._tracked():
            await self.reconcile()

    async def started_work_done(self) -> None:
        """Wait for the work start() left running (the first regime fits); for tests and tools."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    def _in_background(self, work: Callable[[], Awaitable[object]], what: str) -> None:
        async def run() -> None:
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s failed", what)

        task = asyncio.create_task(run(), name=what)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ==========================================================================================
    # Regimes
    # ==========================================================================================
    def regime_markets(self) -> list[Instrument]:
        """The markets the enabled bots trade whose regimes are modelled, once each, in a stable order.

        Remembered until a bot's instrument tuple is replaced (a listing refresh): the prediction
        bots trade hundreds of markets (none modelled), and the regime jobs ask every minute.
        """
        sources = tuple(registered.bot.instruments for registered in self.bots)
        remembered = self._regime_markets
        if (
            remembered is not None
            and len(remembered[0]) == len(sources)
            and all(old is new for old, new in zip(remembered[0], sources, strict=True))
        ):
            return list(remembered[1])
        seen: dict[str, Instrument] = {}
        for instruments in sources:
            for instrument in instruments:
                seen.setdefault(instrument.key, instrument)
        regimes = self.regimes
        markets = [seen[key] for key in sorted(seen) if regimes is None or regimes.watches(seen[key])]
        self._regime_markets = (sources, markets)
        return list(markets)

    async def _regime_fit_job(self, fire_time: datetime) -> None:
        """Fit the regime models that are due (never fitted, older than refit_hours, or retrying)."""
        if self.regimes is not None and not self._stopping:
            # one fit round at a time: the scheduled job waits for the start-up round, then finds
            # nothing due, and `started_work_done` returns only once every market has been tried
            async with self._regime_fits:
                await self.regimes.refit_due(self.regime_markets())

    async def _regime_reading_job(self, fire_time: datetime) -> None:
        """Filter each market's new bars, so its stored regime is current even when no bot asks."""
        if self.regimes is None:
            return
        # the readings are written together at the end, one commit instead of one per market (a
        # transaction must not stay open across the awaits for bars)
        self._unsaved_regimes = []
        try:
            for instrument in self.regime_markets():
                if self._stopping:
                    break
                if self.regimes.watches(instrument):
                    await self.regimes.reading(instrument)
        finally:
            unsaved, self._unsaved_regimes = self._unsaved_regimes, None
            if unsaved and not self._stopping:
                now = self.clock.now()
                with self.repository.batch():
                    for reading in unsaved:
                        self.repository.save_market_regime(reading, now)

    def market_regime(self, instrument_key: str) -> str | None:
        """The market's latest regime reading (bull / sideways / bear); None without a model."""
        regime = self._regimes_seen.get(instrument_key)
        return None if regime is None else regime.value

    def record_regime_reading(self, reading: RegimeReading) -> None:
        """Store the market's current regime; a change of regime is published as an event."""
        if self._stopping:
            return
        previous = self._regimes_seen.get(reading.instrument_key)
        self._regimes_seen[reading.instrument_key] = reading.regime
        if self._unsaved_regimes is not None:
            self._unsaved_regimes.append(reading)
        else:
            self.repository.save_market_regime(reading, self.clock.now())
        if previous is not None and previous is not reading.regime:
            self.bus.publish(
                Event(
                    "regime_change",
                    self.clock.now(),
                    f"{reading.instrument_key}: {previous.value} -> {reading.regime.value} "
                    f"(p {reading.probability:.2f})",
                    {
                        "instrument_key": reading.instrument_key,
                        "from": previous.value,
                        "to": reading.regime.value,
                        "probabilities": {r.value: p for r, p in reading.probabilities.items()},
                    },
                )
            )

    async def _retrain_job(self, fire_time: datetime) -> None:
        if self.retraining is not None and not self._stopping:
            await self.retraining.run("weekly schedule")

    def record_llm_spend(
        self, now: datetime, model: str, tokens_in: int, tokens_out: int, cost: float
    ) -> None:
        """Add one LLM call to today's spend (local trading day), kept in the journal for the dashboard."""
        day = now.astimezone(ZoneInfo(self.settings.system.timezone)).date().isoformat()
        stored = self.repository.get_daemon_value(LLM_SPEND_KEY)
        spend = json.loads(stored) if stored else {}
        if spend.get("day") != day:
            spend = {"day": day, "calls": 0, "tokens_in": 0, "tokens_out": 0, "cost_usd": 0.0}
        spend.update(
            calls=spend["calls"] + 1,
            tokens_in=spend["tokens_in"] + tokens_in,
            tokens_out=spend["tokens_out"] + tokens_out,
            cost_usd=round(spend["cost_usd"] + cost, 6),
            model=model,
            updated_at=now.isoformat(),
        )
        self.repository.set_daemon_value(LLM_SPEND_KEY, json.dumps(spend))

    def record_regime_fit(self, fit: RegimeFit) -> None:
        if not self._stopping:
            self.repository.record_regime_fit(fit)

    async def _midnight_job(self, fire_time: datetime) -> None:
        self._start_trading_day(force=True)
        retention = timedelta(days=self.settings.orchestrator.bot_run_retention_days)
        pruned = self.repository.prune_bot_runs(self.clock.now() - retention)
        if pruned:
            log.info("pruned %d bot runs older than %s", pruned, retention)

    # ==========================================================================================
    # Recovery and reconciliation
    # ==========================================================================================
    async def reconcile(self) -> None:
        """Resolve every order we believe open, then compare positions with each venue."""
        now = self.clock.now()
        for order in self.repository.load_open_orders():
            self._orders.setdefault(order.client_order_id, order)
            order = self._orders[order.client_order_id]
            broker = self._broker_of(order)
            if broker is None:
                continue
            try:
                venue = await broker.order_status(order.client_order_id)
            except BrokerError as exc:
                self._unreconciled_venues.add((broker.venue, self.router.mode_of(order.intent.bot)))
                self._record_risk_event("reconcile_failed", "error", f"{broker.venue}: {exc}")
                continue
            if venue is None:
                if order.status is OrderStatus.NEW:
                    order.transition(
                        OrderStatus.DENIED, now, "intent written but never sent before a restart"
                    )
                else:
                    order.transition(OrderStatus.REJECTED, now, "the venue has no record of this order")
                self._record_risk_event(
                    "order_resolved",
                    "info",
                    f"{order.client_order_id} resolved as {order.status.value} on restart",
                    bot=order.intent.bot,
                )
            else:
                if order.status is OrderStatus.NEW:
                    order.transition(OrderStatus.SUBMITTED, now)
                self._sync_order(order, venue)
            self.repository.update_order(order)
        for broker in self.router.brokers:
            await self._collect_fills(broker)
        for order in list(self._orders.values()):
            self._forget_if_done(order)
        await self._compare_positions()

    async def _compare_positions(self) -> None:
        """Each route's account against the journal's positions of the bots trading through it."""
        ours: dict[tuple[str, str, str], Decimal] = {}  # (venue, mode, instrument key)
        for position in self.book.open_positions():
            venue = self.instruments[position.instrument_key].venue
            slot = (venue, self.router.mode_of(position.bot), position.instrument_key)
            ours[slot] = ours.get(slot, Decimal(0)) + position.quantity
        for (venue_name, mode), broker in self.router.routes.items():
            try:
                theirs = {(venue_name, mode, p.instrument_key): p.quantity for p in await broker.positions()}
            except BrokerError as exc:
                self._unreconciled_venues.add((venue_name, mode))
                self._record_risk_event("reconcile_failed", "error", f"{venue_name} ({mode}): {exc}")
                continue
            self._unreconciled_venues.discard((venue_name, mode))
            for slot in {s for s in ours if s[:2] == (venue_name, mode)} | set(theirs):
                mine, venue_qty = ours.get(slot, Decimal(0)), theirs.get(slot, Decimal(0))
                if mine != venue_qty:
                    self._record_risk_event(
                        "reconcile_difference",
                        "warning",
                        f"{slot[2]}: journal holds {mine}, {venue_name} ({mode}) holds {venue_qty}",
                        details={
                            "instrument": slot[2],
                            "mode": mode,
                            "journal": str(mine),
                            "venue": str(venue_qty),
                        },
                    )

    # ==========================================================================================
    # Daily loss limit and the trading day
    # ==========================================================================================
    def _start_trading_day(self, *, force: bool) -> None:
        today = self.clock.now().astimezone(ZoneInfo(self.settings.system.timezone)).date().isoformat()
        stored_day = self.repository.get_daemon_value("trading_day")
        stored_equity = self.repository.get_daemon_value("day_start_equity")
        if not force and stored_day == today and stored_equity is not None:
            self._trading_day, self._day_start_equity = today, Decimal(stored_equity)
            self._restore_fleet_day()
            return
        equity = self.book.equity(self._marks).equity
        self._trading_day, self._day_start_equity = today, equity
        self.repository.set_daemon_value("trading_day", today)
        self.repository.set_daemon_value("day_start_equity", str(equity))
        if self.fleet is not None:
            self._fleet_realized_today = Decimal(0)
            self._fleet_day_start_unrealized = self._fleet_unrealized()
            self.repository.set_daemon_value(
                "fleet_day_start_unrealized", str(self._fleet_day_start_unrealized)
            )
        if self.control.trading_state is TradingState.REDUCING and (
            self.control.trading_reason or ""
        ).startswith("daily loss limit"):
            self.control.resume_trading("new trading day: daily loss limit reset")
            self._record_risk_event("daily_loss_reset", "info", f"daily loss limit reset for {today}")

    def _restore_fleet_day(self) -> None:
        """After a restart within the trading day: the fleet's P&L today from the journal."""
        fleet = self.fleet
        if fleet is None:
            return
        zone = ZoneInfo(self.settings.system.timezone)
        midnight = self.clock.now().astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
        closed = self.repository.closed_trades(since=midnight)
        self._fleet_realized_today = sum((t.net_pnl for t in closed if fleet.is_member(t.bot)), Decimal(0))
        stored = self.repository.get_daemon_value("fleet_day_start_unrealized")
        self._fleet_day_start_unrealized = Decimal(stored) if stored is not None else self._fleet_unrealized()

    def _fleet_unrealized(self) -> Decimal:
        return Decimal(0) if self.fleet is None else self.book.unrealized(self._marks, self.fleet.members)

    def fleet_daily_pnl(self) -> Decimal | None:
        """The fleet's P&L since the trading day began; None without a fleet."""
        if self.fleet is None:
            return None
        return self._fleet_realized_today + self._fleet_unrealized() - self._fleet_day_start_unrealized

    def _check_daily_loss(self, breakdown: EquityBreakdown | None = None) -> None:
        breakdown = breakdown or self.book.equity(self._marks)
        daily = breakdown.equity - self._day_start_equity
        limit = Decimal(str(self.settings.risk.daily_loss_limit_usd))
        if daily <= -limit and self.control.trading_state is TradingState.ACTIVE:
            reason = f"daily loss limit: P&L today {daily:.2f} breached -{limit}"
            self.control.reduce_only(reason)
            self._record_risk_event("daily_loss_halt", "critical", reason, details={"daily_pnl": str(daily)})
        fleet_daily = self.fleet_daily_pnl()
        fleet_limit = Decimal(str(self.settings.fleet.daily_loss_limit_usd))
        if (
            fleet_daily is not None
            and fleet_daily <= -fleet_limit
            and self._fleet_loss_announced != self._trading_day
        ):
            self._fleet_loss_announced = self._trading_day
            reason = (
                f"fleet daily loss limit: its sub-bots' P&L today {fleet_daily:.2f} breached -{fleet_limit}; "
                "their entries are refused until midnight, exits go on"
            )
            self._record_risk_event(
                "fleet_daily_loss", "critical", reason, details={"fleet_daily_pnl": str(fleet_daily)}
            )

    def broker_health(self) -> list[dict[str, object]]:
        """Each route's broker health (connected, latency, last error, rate-limit headroom)."""
        rows = []
        for (venue, mode), broker in sorted(self.router.routes.items()):
            row = broker.health().to_dict()
            row["mode"] = mode
            row["reconciled"] = (venue, mode) not in self._unreconciled_venues
            rows.append(row)
        return rows

    async def venue_balances(self) -> list[dict[str, object]]:
        """Each account's cash as its venue reports it (an unreachable venue says why)."""
        rows: list[dict[str, object]] = []
        for (venue, mode), broker in sorted(self.router.routes.items()):
            try:
                balance = await broker.balance()
            except BrokerError as exc:
                rows.append({"venue": venue, "mode": mode, "error": str(exc)})
                continue
            rows.append(
                {
                    "venue": venue,
                    "mode": mode,
                    "currency": balance.currency,
                    "cash": balance.cash,
                    "free": balance.free,
                }
            )
        return rows

    async def close_position(self, bot: str, instrument_key: str, reason: str) -> Order | None:
        """An operator's close of one whole position, down the same road as any exit.

        Raises KeyError when the bot holds nothing there. The order's fate (filled, refused
        because trading is halted, no price) is in the returned order and the decision trace.
        """
        position = self.book.position(bot, instrument_key)
        if position is None or position.side is None or position.quantity == 0:
            raise KeyError(f"{bot} holds no position in {instrument_key}")
        signal = self._close_signal(
            position, "operator-close", abs(position.quantity), reason, {"exit_kind": "operator"}
        )
        async with self._tracked():
            return await self.process_signal(signal)

    def list_instruments(self, listed: Sequence[Instrument]) -> list[Instrument]:
        """Trade markets a venue listed after the start: the book, the paper venue and the bots
        whose registry patterns match them learn of them. The ones that were new."""
        new = [i for i in listed if i.key not in self.instruments]
        if not new:
            return []
        self.instruments.update({i.key: i for i in new})  # shared with the stages that look up markets
        self.book.add_instruments(new)
        for venue in sorted({i.venue for i in new}):
            of_venue = [i for i in new if i.venue == venue]
            paper = self.router.routes.get((venue, "paper"))
            add = getattr(paper, "add_instruments", None)
            if add is not None:
                add(of_venue)
            for registered in self.bots:
                taken = registered.take_listed(of_venue)
                if taken:
                    log.info("%s trades %d newly listed market(s) on %s", registered.name, len(taken), venue)
        log.info("listed %d new market(s)", len(new))
        return new

    def _refused_by_go_live_gate(self, history: Sequence[ClosedTrade], now: datetime) -> set[str]:
        """The live bots whose record fails the go-live gate: not started, each with an error event."""
        go_live = self.settings.go_live
        if not go_live.enabled:
            return set()
        criteria = GoLiveCriteria(go_live.min_trades, go_live.min_win_rate, go_live.min_sharpe)
        zone = ZoneInfo(self.settings.system.timezone)
        live = [registered.name for registered in self.bots if registered.entry.mode == "live"]
        replays = self._replay_gates(live, criteria) if live else {}
        refused = set()
        for name in live:
            result = gate_from_trades(name, history, zone, now.astimezone(zone).date(), criteria)
            passed = [r for r in replays.get(name, []) if r.result.go]
            if result.go:
                continue
            if passed:
                log.info("%s goes live on the record of replay %s", name, passed[0].journal)
                continue
            refused.add(name)
            elsewhere = "".join(
                f"; replay {r.journal}: {'; '.join(r.result.failures)}" for r in replays.get(name, [])
            )
            message = (
                f"{name} is not started in live mode: its record fails the go-live gate "
                f"(paper: {'; '.join(result.failures)}{elsewhere}); trade it in paper mode until it passes"
            )
            log.error("%s", message)
            details = {"trades": result.trades, "win_rate": result.win_rate, "sharpe": result.sharpe}
            self._record_risk_event("go_live_refused", "error", message, bot=name, details=details)
        return refused

    def _replay_gates(self, bots: Sequence[str], criteria: GoLiveCriteria) -> dict[str, list[ReplayGate]]:
        """Each bot's record in every replay journal `[go_live] replay_journals` lists; a journal
        that cannot be read counts for nobody and is reported."""
        found: dict[str, list[ReplayGate]] = {}
        for journal in self.settings.go_live.replay_journals:
            try:
                gates = replay_gates(journal, bots, self.settings.system.timezone, criteria)
            except NotAReplay as exc:
                log.error("go-live gate: %s; its record does not count", exc)
                self._record_risk_event("go_live_journal", "error", f"{exc}; its record does not count")
                continue
            for bot, gate in gates.items():
                found.setdefault(bot, []).append(gate)
        return found

    def held_instrument_keys(self) -> set[str]:
        """The markets some bot holds an open position in."""
        return {p.instrument_key for p in self.book.open_positions()}

    def holders(self, instrument_key: str) -> list[str]:
        """The bots with an open position in `instrument_key`."""
        return sorted(p.bot for p in self.book.open_positions() if p.instrument_key == instrument_key)

    async def settle_position(self, bot: str, settlement: Settlement) -> ClosedTrade | None:
        """Close `bot`'s position in a settled prediction market at the settlement value.

        The venue pays, no order is sent: the close is journaled like any exit (a settlement
        signal, its decision, the order) and booked as a fill at $1 or $0 a YES contract
        without a fee. A paper broker books that fill itself (cash moves in its account); for a
        live venue, whose account the venue has already paid, the daemon books the venue's
        settlement as the fill (trade id `settle-<client order id>`). Ids derive from the
        settlement, so a restart settles once.
        """
        position = self.book.position(bot, settlement.instrument_key)
        if position is None or position.side is None or position.quantity == 0:
            return None
        instrument = self.instruments[settlement.instrument_key]
        broker = self.router.broker_for(bot, instrument.venue)
        if broker is None:
            log.warning("%s: no broker for %s; its settlement waits", bot, instrument.key)
            return None
        value = settlement.yes_value
        outcome = "YES" if settlement.outcome_yes else "NO"
        reason = f"{instrument.symbol} settled {outcome}: a YES contract pays ${value}"
        signal = Signal(
            id=make_signal_id(f"{bot}#settlement", instrument.key, settlement.settled_at, 0),
            bot=bot,
            instrument=instrument,
            side=position.side.opposite,
            intent=SignalIntent.CLOSE,
            confidence=1.0,
            edge=0.0,
            stop=None,
            reason=reason,
            time=self.clock.now(),
            evidence={"exit_kind": "settlement", "outcome_yes": settlement.outcome_yes},
            close_quantity=abs(position.quantity),
        )
        now = self.clock.now()
        intent = market_intent(signal, abs(position.quantity), now, reduce_only=True)
        existing = self.repository.load_order(intent.client_order_id)
        order = existing if existing is not None else Order(intent)
        if existing is None:
            self._journal(signal, [Decision.accept("settlement", reason)], now, order)
        self._orders[order.client_order_id] = order
        self._tracking[order.client_order_id] = OrderTracking(signal, exit_of=(bot, instrument.key))
        async with self._tracked():
            if order.status is OrderStatus.NEW:
                order.transition(OrderStatus.SUBMITTED, now)
            settle = getattr(broker, "settle", None)
            if settle is None:
                return self._book_venue_settlement(order, settlement)
            venue_order: VenueOrder = await settle(intent, value)
            with self.repository.batch():
                self._sync_order(order, venue_order)
                self.repository.update_order(order, venue_order.reason)
            closed = await self._collect_fills(broker)
            if venue_order.status.is_terminal and not order.status.is_terminal:
                self._sync_order(order, venue_order)
                self.repository.update_order(order)
            self._forget_if_done(order)
        return next((c for c in closed if c.bot == bot and c.instrument_key == instrument.key), None)

    def _book_venue_settlement(self, order: Order, settlement: Settlement) -> ClosedTrade | None:
        """Book a live venue's settlement of `order`'s position as its fill: the venue's own word
        (the market's result), at the settlement value, timed when the venue settled."""
        intent = order.intent
        fill = Fill(
            client_order_id=intent.client_order_id,
            venue=intent.instrument.venue,
            venue_trade_id=f"settle-{intent.client_order_id}",
            instrument_key=intent.instrument.key,
            side=intent.side,
            quantity=intent.quantity,
            price=settlement.yes_value,
            fee=Decimal(0),
            time=settlement.settled_at,
            settlement=True,
        )
        closed = self._apply_fill(fill)  # the fill completes the order (a replay changes nothing)
        self._forget_if_done(order)
        return closed

    def _close_signal(
        self, position: Position, tag: str, quantity: Decimal, reason: str, evidence: dict[str, Any]
    ) -> Signal:
        """A signal that takes `quantity` off an open position, with an id of its own kind (`tag`)."""
        side = position.side
        assert side is not None, "only an open position can be closed"
        instrument = self.instruments[position.instrument_key]
        now = self.clock.now()
        return Signal(
            id=make_signal_id(f"{position.bot}#{tag}", instrument.key, now, 0),
            bot=position.bot,
            instrument=instrument,
            side=side.opposite,
            intent=SignalIntent.CLOSE,
            confidence=1.0,
            edge=0.0,
            stop=None,
            reason=reason,
            time=now,
            evidence=evidence,
            close_quantity=quantity,
        )

    def record_broker_health(self) -> None:
        """Leave the health where `status`, the dashboard and Telegram read it (also when we are down),
        and announce a route that went down or came back on the event bus."""
        now = self.clock.now()
        rows = self.broker_health()
        for row in rows:
            route = (str(row["venue"]), str(row["mode"]))
            healthy = bool(row["connected"]) and bool(row["reconciled"])
            before = self._route_healthy.get(route)
            self._route_healthy[route] = healthy
            if before is not None and before != healthy:
                state = "back" if healthy else "DOWN"
                detail = "" if healthy else f": {row.get('last_error') or 'not reconciled'}"
                self.bus.publish(
                    Event(
                        "broker_health",
                        now,
                        f"{route[0]} ({route[1]}) {state}{detail}",
                        {"venue": route[0], "mode": route[1], "healthy": healthy},
                    )
                )
        self.repository.set_daemon_value(
            "broker_health", json.dumps({"at": now.isoformat(), "brokers": rows})
        )

    def book_snapshot(self) -> BookSnapshot:
        """The risk engine's view: equity, positions, entries in flight, cooldowns."""
        breakdown = self.book.equity(self._marks)
        pending: list[Exposure] = []
        for order in self._orders.values():
            if order.intent.reduce_only or order.status.is_terminal:
                continue
            instrument = order.intent.instrument
            pending.append(
                Exposure(
                    order.intent.bot,
                    instrument.key,
                    instrument.underlying,
                    instrument.asset_class.value,
                    order.remaining_quantity * order.intent.side.sign,
                    self._marks.get(instrument.key, Decimal(0)),
                    stance_of(instrument, order.intent.side),
                    resting=_is_resting(order),
                )
            )
        return BookSnapshot(
            equity=breakdown.equity,
            day_start_equity=self._day_start_equity,
            trading_state=self.control.trading_state,
            trading_reason=self.control.trading_reason,
            open_exposures=self.book.exposures(self._marks),
            pending_entries=tuple(pending),
            last_exit_at=dict(self._last_exit_at),
            bot_size_multipliers={
                bot: t.multiplier for bot, t in self._streaks.items() if t.multiplier != 1.0
            },
            fleet_size_multipliers={} if self.fleet is None else dict(self.fleet.multipliers),
            fleet_daily_pnl=self.fleet_daily_pnl(),
        )

    def _streak(self, bot: str) -> StreakTracker:
        tracker = self._streaks.get(bot)
        if tracker is None:
            risk = self.settings.risk
            rule = StreakRule(risk.losses_to_reduce, risk.loss_streak_multiplier, risk.wins_to_restore)
            tracker = self._streaks[bot] = StreakTracker(rule)
        return tracker

    def _count_result(self, trade: ClosedTrade) -> None:
        """Feed the bot's loss-streak rule; record a risk event when its size changes."""
        tracker = self._streak(trade.bot)
        if not tracker.record(float(trade.net_pnl)):
            return
        if tracker.multiplier < 1.0:
            kind = "bot_size_reduced"
            message = (
                f"{trade.bot} trades at {tracker.multiplier:.0%} size after "
                f"{tracker.rule.losses_to_reduce} losses in a row"
            )
        else:
            kind = "bot_size_restored"
            message = f"{trade.bot} back to full size after {tracker.rule.wins_to_restore} wins in a row"
        self._record_risk_event(kind, "warning", message, bot=trade.bot)

    def _record_risk_event(
        self,
        kind: str,
        severity: str,
        message: str,
        *,
        bot: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        now = self.clock.now()
        self.repository.record_risk_event(now, kind, severity, message, bot=bot, details=details)
        self.bus.publish(Event("risk", now, message, {"kind": kind, "severity": severity}))


def _is_resting(order: Order) -> bool:
    """An order left on the book to wait for the market (a limit that is not immediate-or-cancel)."""
    return (
        not order.status.is_terminal
        and order.intent.order_type is OrderType.LIMIT
        and order.intent.time_in_force is not TimeInForce.IOC
    )


def _quote_key(order: Order) -> tuple[str, Side, Decimal | None]:
    return order.intent.instrument.key, order.intent.side, order.intent.limit_price


def _placeholder_signal(order: Order) -> Signal:
    """A stand-in signal for an order recovered from the journal after a restart."""
    intent = order.intent
    return Signal(
        id=intent.signal_id,
        bot=intent.bot,
        instrument=intent.instrument,
        side=intent.side,
        intent=SignalIntent.CLOSE if intent.reduce_only else SignalIntent.OPEN,
        confidence=0.0,
        edge=0.0,
        stop=None,
        reason="recovered after restart",
        time=intent.created_at,
    )


# ==============================================================================================
# Command line
# ==============================================================================================
def _pid_path(settings: Settings) -> Path:
    return Path(settings.system.var_dir) / "daemon.pid"


async def _run_daemon(config_path: str) -> int:
    from runtime.wiring import build_live

    orchestrator = await build_live(config_path)
    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()
    for sig in (signals.SIGINT, signals.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows: KeyboardInterrupt path below
            loop.add_signal_handler(sig, stop_requested.set)
    pid_path = _pid_path(orchestrator.settings)
    stop_file = _stop_request_path(orchestrator.settings)
    pid_path.parent.mkdir(parents=True, exist_ok=True)
    stop_file.unlink(missing_ok=True)
    pid_path.write_text(str(os.getpid()))
    watcher = asyncio.create_task(_watch_stop_file(stop_file, stop_requested))
    try:
        await orchestrator.start()
        await stop_requested.wait()
        log.info("stop requested; finishing in-flight work")
    finally:
        watcher.cancel()
        await orchestrator.stop()
        stop_file.unlink(missing_ok=True)
        with contextlib.suppress(FileNotFoundError):
            if pid_path.read_text().strip() == str(os.getpid()):
                pid_path.unlink()
    return 0


def _stop_request_path(settings: Settings) -> Path:
    return Path(settings.system.var_dir) / "stop.request"


async def _watch_stop_file(path: Path, stop_requested: asyncio.Event) -> None:
    """Windows has no SIGTERM for a console-less process: `stop` drops this file instead."""
    while not stop_requested.is_set():
        if await asyncio.to_thread(path.exists):
            stop_requested.set()
            return
        await asyncio.sleep(0.5)


def _status(config_path: str, as_json: bool) -> int:
    from config.loader import load_config
    from storage.database import open_storage
    from utils.clock import WallClock

    config = load_config(config_path)
    database = Path(config.settings.system.database)
    if not database.exists():
        print(f"no database at {database}: the daemon has not run with this configuration yet")
        return 1
    repository = open_storage(database)
    health = repository.get_daemon_value("broker_health")
    tz = ZoneInfo(config.settings.system.timezone)
    now = WallClock().now().astimezone(tz)
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    summary = repository.status_summary(day_start)
    pid_path = _pid_path(config.settings)
    running = _pid_alive(pid_path)
    repository.close()
    data = summary.to_dict()
    data["daemon_running"] = running
    data["brokers"] = json.loads(health)["brokers"] if health else []
    if as_json:
        print(json.dumps(data, indent=2, default=str))
        return 0
    print(_format_status(data))
    return 0


def _format_status(data: dict[str, Any]) -> str:
    lines = [
        f"daemon: {'running' if data.get('daemon_running') else 'not running'}",
        f"trading: {data.get('trading_state')}"
        + (f" ({data['trading_reason']})" if data.get("trading_reason") else ""),
    ]
    equity = data.get("latest_equity")
    if equity:
        lines.append(f"equity: {Decimal(equity):,.2f}")
    lines.append("")
    bots = data.get("bots", [])
    # columns as wide as their longest entry and two spaces: a venue name never runs into the mode
    name_width = max((len(b["name"]) for b in bots), default=0) + 2
    venue_width = max((len(b["venue"]) for b in bots), default=0) + 2
    lines.append(
        f"{'bot':<{name_width}}{'venue':<{venue_width}}{'mode':<7}{'state':<9}"
        f"{'orders':>7}{'fills':>7}  last run"
    )
    for bot in bots:
        state = "paused" if bot.get("paused") else "active"
        lines.append(
            f"{bot['name']:<{name_width}}{bot['venue']:<{venue_width}}{bot['mode']:<7}{state:<9}"
            f"{bot.get('orders_today', 0):>7}{bot.get('fills_today', 0):>7}  {bot.get('last_run') or '-'}"
        )
    brokers = data.get("brokers", [])
    if brokers:
        broker_width = max(len(b["venue"]) for b in brokers) + 2
        lines.append("")
        lines.append(f"{'venue':<{broker_width}}{'mode':<7}{'health':<14}{'latency':>9}  last error")
        for broker in brokers:
            health = "connected" if broker.get("connected") else "DISCONNECTED"
            if not broker.get("reconciled", True):
                health = "UNRECONCILED"
            latency = broker.get("last_latency_ms")
            shown = f"{latency:.1f} ms" if latency is not None else "-"
            error = broker.get("last_error") or "-"
            lines.append(
                f"{broker['venue']:<{broker_width}}{broker['mode']:<7}{health:<14}{shown:>9}  {error}"
            )
    positions = data.get("open_positions", [])
    lines.append("")
    lines.append(f"open positions: {len(positions)}")
    for position in positions:
        lines.append(f"  {position}")
    return "\n".join(lines)


def _pid_alive(pid_path: Path) -> int | None:
    """The daemon's pid when its PID file names a live daemon (psutil, because os.kill(pid, 0)
    would terminate the process on Windows)."""
    import psutil

    try:
        pid = int(pid_path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        command_line = " ".join(psutil.Process(pid).cmdline())
    except psutil.NoSuchProcess:
        return None
    except psutil.AccessDenied:
        return pid
    # a PID file left by a crash may name a pid the system has since given to another program
    return pid if "master_orchestrator" in command_line else None


def _stop(config_path: str, wait_seconds: float = 15.0) -> int:
    import time

    from config.loader import load_config

    config = load_config(config_path)
    pid_path = _pid_path(config.settings)
    pid = _pid_alive(pid_path)
    if pid is None:
        print("daemon is not running")
        return 0
    _stop_request_path(config.settings).write_text(str(pid))
    if sys.platform != "win32":
        os.kill(pid, signals.SIGTERM)
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if _pid_alive(pid_path) is None:
            print(f"daemon {pid} stopped")
            return 0
        time.sleep(0.2)
    print(f"daemon {pid} did not stop within {wait_seconds:.0f} s", file=sys.stderr)
    return 1


def _dashboard_only(config_path: str, database: str | None = None, port: int | None = None) -> int:
    """Serve the dashboard read-only: the configured journal while the daemon is down, or any journal
    (`database`, e.g. a replay's) beside it on another `port`. A replay's journal is shown as of the
    replay's last moment, so "today" is its last day."""
    from backtest.replay_journal import replay_span
    from config.loader import load_config
    from dashboard.server import serve_read_only
    from utils.clock import SimulatedClock, WallClock

    settings = load_config(config_path).settings
    if database is not None:
        settings = settings.model_copy(
            update={"system": settings.system.model_copy(update={"database": database})}
        )
    if port is not None:
        settings = settings.model_copy(
            update={"dashboard": settings.dashboard.model_copy(update={"port": port})}
        )
    pid = _pid_alive(_pid_path(settings))
    if pid is not None and database is None:
        where = f"http://{settings.dashboard.host}:{settings.dashboard.port}/"
        print(f"the daemon is running (pid {pid}) and serves the dashboard itself at {where}")
        return 1
    path = Path(settings.system.database)
    if not path.exists():
        if database is not None:
            print(f"no database at {path}")
        else:
            print(f"no database at {path}: the daemon has not run with this configuration yet")
        return 1
    span = replay_span(path)
    if span is None:
        return serve_read_only(settings, announce=lambda line: print(line, flush=True), clock=WallClock())
    replayed = f"a replay of {span[0]:%Y-%m-%d %H:%M} .. {span[1]:%Y-%m-%d %H:%M} UTC"
    print(f"{path} is {replayed}; shown as of its end")
    note = f"Read-only: {replayed}, shown as of its end. Nothing can be controlled from here."
    return serve_read_only(
        settings, announce=lambda line: print(line, flush=True), clock=SimulatedClock(span[1]), note=note
    )


def main(argv: list[str] | None = None) -> int:
    from dotenv import load_dotenv

    from config.loader import DEFAULT_CONFIG, ConfigError
    from utils.logging_setup import configure_logging

    parser = argparse.ArgumentParser(prog="master_orchestrator.py", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["run", "status", "stop"])
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="settings TOML (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="status: machine-readable output")
    parser.add_argument(
        "--foreground", action="store_true", help="run: accepted for symmetry; run never forks"
    )
    parser.add_argument(
        "--dashboard-only",
        action="store_true",
        help="run: serve only the dashboard, read-only from the journal, while the daemon is down",
    )
    parser.add_argument(
        "--database",
        help="run --dashboard-only: the journal to show instead of the configured one (e.g. a replay's)",
    )
    parser.add_argument("--port", type=int, help="run --dashboard-only: listen on this port instead")
    args = parser.parse_args(argv)
    load_dotenv(override=False)  # secrets from a git-ignored .env; the environment wins
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
    try:
        if args.command == "run" and args.dashboard_only:
            return _dashboard_only(args.config, args.database, args.port)
        if args.command == "run":
            return asyncio.run(_run_daemon(args.config))
        if args.command == "status":
            return _status(args.config, args.json)
        return _stop(args.config)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
