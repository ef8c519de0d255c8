"""Event-driven replay: the whole daemon over recorded bars, on a simulated clock.

The registry, the regime filter, the ensemble, the veto, the risk engine, the paper brokers and
the journal are the ones the live daemon runs (`runtime.wiring.build_orchestrator`); only the
clock (a `SimulatedClock` moved by the scheduler from one job's fire time to the next) and the
venues' prices (`backtest.historical_market.HistoricalMarket`) differ. Results land in their own
SQLite journal, which the dashboard opens read-only and the go-live gate reads.

What a replay changes in the configuration, and why (each is printed as a note):
- Only the bots whose every instrument has bars run, in paper mode, and only their venues exist;
  each becomes a paper venue priced by the bars with its own fees, slippage and starting cash.
- The ML vote is off: its models are trained on other data, possibly on the replayed period itself
  (a vote from them would be lookahead). News, the LLM stages and funding rates are off: they read
  today's world, not the replayed one.
- Exit checks, fill polls and equity snapshots run once a bar at most: the bars' prices change
  only at bar opens, so checking more often repeats the same answer.
- Regime models and correlations are computed on bars of the data's period when the configured
  timeframe is finer than the data.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from backtest.go_live import GateResult, GoLiveCriteria, gate_from_trades
from backtest.historical_market import (
    HalfSpread,
    HistoricalMarket,
    RecordedBars,
    half_spread_for,
    replay_instrument,
)
from backtest.metrics import PerformanceSummary, summarize
from backtest.replay_journal import mark_replay, replay_span
from config.loader import ConfigError, LoadedConfig
from config.schema import BotEntry, Registry, Settings, VenueSettings
from domain.instruments import AssetClass
from domain.positions import ClosedTrade
from master_orchestrator import Orchestrator
from runtime.scheduling import SimulatedScheduler
from runtime.venues import simulated_venues
from runtime.wiring import build_orchestrator, build_simulated
from storage.database import open_storage
from storage.reports import Reports
from utils.clock import SimulatedClock
from utils.offload import InlineOffloader

log = logging.getLogger(__name__)

DATABASE_NAME = "replay.sqlite"
PROGRESS_STEPS = 200
SECONDS_PER_YEAR = 365.25 * 86_400


class ReplayProblem(ValueError):
    """A replay that cannot run as asked (data, bots or configuration); the message says what to fix."""


@dataclass(frozen=True, slots=True, eq=False)
class ReplayBars:
    """Checked bars (`backtest.bars` frame) for the instrument `key` (`venue:symbol`) of the config."""

    key: str
    frame: pd.DataFrame
    source: str


@dataclass(frozen=True, slots=True, eq=False)
class ReplayPlan:
    """Everything a replay runs with: the adjusted configuration, the bars, the span and the notes."""

    config: LoadedConfig
    recorded: tuple[RecordedBars, ...]
    half_spreads: Mapping[str, HalfSpread]
    start: datetime
    end: datetime
    bots: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def database(self) -> Path:
        return Path(self.config.settings.system.database)


@dataclass(slots=True, eq=False)
class Replay:
    """A built replay: the daemon and the handles that move it."""

    plan: ReplayPlan
    orchestrator: Orchestrator
    scheduler: SimulatedScheduler
    clock: SimulatedClock
    market: HistoricalMarket | None  # None: the simulated prediction world prices the venue


@dataclass(frozen=True, slots=True, eq=False)
class BotRecord:
    bot: str
    trades: int
    wins: int
    net_pnl: Decimal
    fees: Decimal
    gate: GateResult


@dataclass(frozen=True, slots=True, eq=False)
class ReplayRecord:
    """What a replay's journal shows: the book's equity marks, closed trades, and each bot's record."""

    start: datetime
    end: datetime
    equity: pd.Series  # equity snapshots, indexed by time
    gross_exposure: pd.Series
    starting_equity: float
    trades: tuple[ClosedTrade, ...]
    bots: tuple[BotRecord, ...]
    summary: PerformanceSummary
    fills: int
    refusals: Mapping[str, int] = field(default_factory=dict)  # reason code -> signals refused with it


# ---------------------------------------------------------------------------------------------------------
# Planning
# ---------------------------------------------------------------------------------------------------------


def plan_replay(
    config: LoadedConfig,
    bars: Sequence[ReplayBars],
    out_dir: Path,
    *,
    bots: Sequence[str] | None = None,
    warmup_bars: int | None = None,
    spread_bps: float | None = None,
    params: Mapping[str, object] | None = None,
) -> ReplayPlan:
    """The replay of `bots` (default: every enabled bot whose instruments all have bars) over `bars`.

    `params` override registry params of the one bot named in `bots` (a sweep's parameter set).

    `warmup_bars` bars of each series are history before the clock starts (default the
    configuration's `[simulation] warmup_bars`); the replay ends when the last bar closes.
    """
    settings = config.settings
    if not bars:
        raise ReplayProblem("no bars to replay: give at least one VENUE:SYMBOL=SOURCE")
    recorded = [_recorded(config, item) for item in bars]
    by_key = {r.instrument.key: r for r in recorded}
    if len(by_key) != len(recorded):
        raise ReplayProblem("two sets of bars for one instrument")
    chosen = _chosen_bots(config, by_key, bots)
    notes: list[str] = []
    warmup = settings.simulation.warmup_bars if warmup_bars is None else warmup_bars
    if warmup < 0:
        raise ReplayProblem(f"warmup bars must not be negative, got {warmup}")
    starts = []
    for r in recorded:
        if len(r) <= warmup:
            raise ReplayProblem(
                f"{r.instrument.key}: {len(r)} bars, not more than the {warmup} warm-up bars; "
                "give more bars or fewer warm-up bars"
            )
        starts.append(int(r.starts[warmup]))
    start = _utc(max(starts))
    end = max(r.end for r in recorded)
    periods = sorted({r.period_seconds for r in recorded})
    finest = periods[0]
    adjusted = _replay_settings(settings, chosen, by_key, out_dir, periods, notes)
    registry = _paper_registry(chosen, params, notes)
    replay_config = LoadedConfig(adjusted, registry, config.settings_path, config.registry_path)
    notes.insert(
        0,
        f"{len(chosen)} bot(s) over {len(recorded)} instrument(s), from {start.isoformat()} to "
        f"{end.isoformat()} after {warmup} warm-up bars; prices change at bar opens "
        f"(every {_duration(finest)} at the finest)",
    )
    spreads = {r.instrument.key: half_spread_for(r.instrument, spread_bps) for r in recorded}
    return ReplayPlan(
        replay_config, tuple(recorded), spreads, start, end, tuple(e.name for e in chosen), tuple(notes)
    )


def plan_prediction_replay(
    config: LoadedConfig,
    out_dir: Path,
    *,
    start: datetime,
    days: float,
    bots: Sequence[str] | None = None,
    params: Mapping[str, object] | None = None,
) -> ReplayPlan:
    """The replay of prediction-market bots (default: every enabled bot on a simulated prediction
    venue) through the daemon over `days` of the simulated prediction world from `start`: its
    markets, forecasts, crowd and settlements are drawn from the seed, so a start always replays
    the same (there are no recorded bars of contracts that settle)."""
    settings = config.settings
    if not (math.isfinite(days) and days > 0):
        raise ReplayProblem(f"a prediction replay runs for a positive number of days, not {days}")
    prediction_venues = {
        name
        for name, venue in settings.venues.items()
        if venue.kind == "simulated" and venue.asset_class == "prediction"
    }
    entries = {entry.name: entry for entry in config.registry.bots}
    if bots:
        unknown = [name for name in bots if name not in entries]
        if unknown:
            raise ReplayProblem(f"no bot named {', '.join(unknown)} in {config.registry_path}")
        chosen = [entries[name] for name in bots]
        elsewhere = [e.name for e in chosen if e.venue not in prediction_venues]
        if elsewhere:
            raise ReplayProblem(
                f"{', '.join(elsewhere)} trade(s) bars, not the simulated prediction world: "
                "give --bars instead"
            )
    else:
        chosen = [e for e in config.registry.bots if e.enabled and e.venue in prediction_venues]
        if not chosen:
            raise ReplayProblem(
                f"no enabled bot of {config.registry_path} trades a simulated prediction venue"
            )
    notes = [
        f"{len(chosen)} bot(s) over {days:g} day(s) of the simulated prediction world "
        f"from {start.isoformat()}",
        "the ML vote, news, the LLM stages and funding rates are off: their data is not the replayed world",
    ]
    registry = _paper_registry(chosen, params, notes)
    adjusted = settings.model_copy(
        update={
            "venues": {name: settings.venues[name] for name in sorted({v for e in chosen for v in e.venues})},
            # contracts are checked every minute or so live; a replay of days need not poll faster
            **_replay_updates(
                settings, out_dir, fill_seconds=30, exit_seconds=60, equity_seconds=600, macro=[]
            ),
        }
    )
    replay_config = LoadedConfig(adjusted, registry, config.settings_path, config.registry_path)
    end = start + timedelta(days=days)
    return ReplayPlan(replay_config, (), {}, start, end, tuple(e.name for e in chosen), tuple(notes))


def _paper_registry(
    chosen: Sequence[BotEntry], params: Mapping[str, object] | None, notes: list[str]
) -> Registry:
    """The replay's registry: the chosen bots in paper mode, `params` overriding the one bot's."""
    if params:
        if len(chosen) != 1:
            raise ReplayProblem("parameters apply to one bot: name exactly one with --bot")
        notes.append(f"{chosen[0].name} with " + ", ".join(f"{k}={v}" for k, v in params.items()))
    overrides = dict(params or {})
    return Registry(
        bots=[
            entry.model_copy(update={"mode": "paper", "params": {**entry.params, **overrides}})
            for entry in chosen
        ]
    )


def _recorded(config: LoadedConfig, item: ReplayBars) -> RecordedBars:
    venue, separator, symbol = item.key.partition(":")
    if not separator or not venue or not symbol:
        raise ReplayProblem(f"{item.key!r}: name the instrument as VENUE:SYMBOL, e.g. sim-crypto:BTC/USD")
    venue_settings = config.settings.venues.get(venue)
    if venue_settings is None:
        known = ", ".join(sorted(config.settings.venues)) or "none"
        raise ReplayProblem(f"{item.key}: no venue {venue!r} in {config.settings_path} (venues: {known})")
    asset_class = AssetClass(venue_settings.asset_class)
    if asset_class is AssetClass.PREDICTION:
        raise ReplayProblem(
            f"{item.key}: prediction contracts settle rather than trade on bars; their daemon replay is "
            "benchmarks/prediction_daemon.py on the simulated prediction world"
        )
    frame = item.frame
    if len(frame) < 2:
        raise ReplayProblem(f"{item.key}: {len(frame)} bar(s); a replay needs at least 2")
    steps = np.diff(pd.DatetimeIndex(frame.index).as_unit("s").asi8)
    period = int(np.median(steps))
    if period < 60 or period % 60:
        raise ReplayProblem(f"{item.key}: bars {period} s apart; a replay takes bars of whole minutes")
    try:
        instrument = replay_instrument(venue, symbol, asset_class)
        return RecordedBars.from_frame(instrument, frame, period, item.source)
    except ValueError as exc:
        raise ReplayProblem(str(exc)) from None


def _chosen_bots(
    config: LoadedConfig, recorded: Mapping[str, RecordedBars], names: Sequence[str] | None
) -> list[BotEntry]:
    entries = {entry.name: entry for entry in config.registry.bots}

    def missing(entry: BotEntry) -> list[str]:
        return [f"{entry.venue}:{s}" for s in entry.instruments if f"{entry.venue}:{s}" not in recorded]

    if names:
        unknown = [name for name in names if name not in entries]
        if unknown:
            raise ReplayProblem(f"no bot named {', '.join(unknown)} in {config.registry_path}")
        chosen = [entries[name] for name in names]
        for entry in chosen:
            lacking = missing(entry)
            if lacking:
                raise ReplayProblem(
                    f"bot {entry.name} trades {', '.join(lacking)}, which have no bars: "
                    f"add --bars {lacking[0]}=FILE (or shipped:NAME, simulated:ASSET)"
                )
    else:
        chosen = [e for e in config.registry.bots if e.enabled and not missing(e)]
        if not chosen:
            raise ReplayProblem(
                f"no enabled bot of {config.registry_path} trades only {', '.join(sorted(recorded))}; "
                "name the bots with --bot and give bars for each of their instruments"
            )
    for entry in chosen:
        for symbol in entry.instruments:
            period = recorded[f"{entry.venue}:{symbol}"].period_seconds
            if entry.timeframe_seconds % period:
                raise ReplayProblem(
                    f"bot {entry.name} reads {_duration(entry.timeframe_seconds)} bars of {symbol}, which "
                    f"cannot be built from its bars {_duration(period)} apart"
                )
    return chosen


def _replay_settings(
    settings: Settings,
    chosen: Sequence[BotEntry],
    recorded: Mapping[str, RecordedBars],
    out_dir: Path,
    periods: Sequence[int],
    notes: list[str],
) -> Settings:
    finest = periods[0]
    venues: dict[str, VenueSettings] = {}
    for entry in chosen:
        original = settings.venues[entry.venue]
        if original.kind != "simulated" and entry.venue not in venues:
            notes.append(f"venue {entry.venue} ({original.kind}) is a paper venue priced by the bars")
        venues[entry.venue] = original.model_copy(
            update={
                "kind": "simulated",
                "symbols": [],
                "series": [],
                "exchange": None,
                "fallback_price_venue": None,
                "base_url": None,
                "data_url": None,
            }
        )
    live = [e.name for e in chosen if e.mode == "live"]
    if live:
        notes.append(f"live bot(s) {', '.join(live)} replay in paper mode")
    regimes = settings.regimes
    regime_timeframe = _coarse_enough(regimes.timeframe_seconds, periods, "regime models", notes)
    risk = settings.risk
    correlation_timeframe = _coarse_enough(risk.correlation_timeframe_seconds, periods, "correlations", notes)
    macro = [key for key in settings.ensemble.macro_references if key in recorded]
    notes.append(
        "the ML vote, news, the LLM stages and funding rates are off: their data is not the replayed past"
    )
    return settings.model_copy(
        update={
            "venues": venues,
            "regimes": regimes.model_copy(update={"timeframe_seconds": regime_timeframe}),
            "risk": risk.model_copy(update={"correlation_timeframe_seconds": correlation_timeframe}),
            # the bars' prices change only at bar opens: checking more often repeats the same answer
            **_replay_updates(
                settings,
                out_dir,
                fill_seconds=finest,
                exit_seconds=finest,
                equity_seconds=finest,
                macro=macro,
            ),
        }
    )


def _replay_updates(
    settings: Settings,
    out_dir: Path,
    *,
    fill_seconds: int,
    exit_seconds: int,
    equity_seconds: int,
    macro: list[str],
) -> dict[str, object]:
    """What every replay changes: its own journal and var dir under `out_dir`, the housekeeping jobs
    no more often than the given seconds, and the ML vote, news and funding rates off (their data
    is not the replayed world's)."""
    jobs = settings.orchestrator
    ensemble = settings.ensemble
    return {
        "system": settings.system.model_copy(
            update={"database": str(out_dir / DATABASE_NAME), "var_dir": str(out_dir / "var")}
        ),
        "orchestrator": jobs.model_copy(
            update={
                "fill_poll_seconds": max(jobs.fill_poll_seconds, fill_seconds),
                "exit_check_seconds": max(jobs.exit_check_seconds, exit_seconds),
                "equity_snapshot_seconds": max(jobs.equity_snapshot_seconds, equity_seconds),
            }
        ),
        "ml": settings.ml.model_copy(update={"enabled": False}),
        "news": settings.news.model_copy(update={"enabled": False, "rss_feeds": []}),
        "ensemble": ensemble.model_copy(
            update={
                "macro_references": macro,
                "crypto_derivatives": ensemble.crypto_derivatives.model_copy(update={"exchange": ""}),
            }
        ),
    }


def _coarse_enough(timeframe: int, periods: Sequence[int], what: str, notes: list[str]) -> int:
    """`timeframe` when every recorded period divides it, else the coarsest period (noted)."""
    if all(timeframe % p == 0 for p in periods):
        return timeframe
    coarsest = periods[-1]
    if any(coarsest % p for p in periods):
        raise ReplayProblem(
            f"{what} need one timeframe every set of bars divides; bars {', '.join(map(_duration, periods))} "
            "apart have none"
        )
    notes.append(
        f"{what} use {_duration(coarsest)} bars (configured {_duration(timeframe)}, finer than the data)"
    )
    return coarsest


# ---------------------------------------------------------------------------------------------------------
# Building and running
# ---------------------------------------------------------------------------------------------------------


def build_replay(plan: ReplayPlan) -> Replay:
    """The daemon of `plan` on a simulated clock at the plan's start, priced by its bars (or, for a
    plan without bars, by the simulated prediction world)."""
    settings = plan.config.settings
    Path(settings.system.var_dir).mkdir(parents=True, exist_ok=True)
    if plan.database.exists():
        raise ReplayProblem(f"{plan.database} exists: a replay writes a new journal; choose another --out")
    if not plan.recorded:
        try:
            run = build_simulated(plan.config, plan.start)
        except ConfigError as exc:
            raise ReplayProblem(str(exc)) from None
        for broker in run.paper_brokers.values():  # a sweep replays many times in one process
            run.orchestrator.on_shutdown.append(broker.close)
        return Replay(plan, run.orchestrator, run.scheduler, run.clock, None)
    clock = SimulatedClock(plan.start)
    scheduler = SimulatedScheduler(clock)
    market = HistoricalMarket(clock, plan.recorded, plan.half_spreads)
    venues = simulated_venues(settings, market, clock, None, plan.config.settings_path)
    try:
        orchestrator = build_orchestrator(
            plan.config, clock, scheduler, None, venues, InlineOffloader(), {}, None
        )
    except ConfigError as exc:
        venues.close()
        raise ReplayProblem(str(exc)) from None
    orchestrator.on_shutdown.append(venues.close)
    return Replay(plan, orchestrator, scheduler, clock, market)


async def run_replay(replay: Replay, progress: Callable[[float], None] | None = None) -> None:
    """Start the daemon, move the clock to the plan's end in steps (calling `progress` with the
    fraction done after each), and stop it; the journal then holds the whole run."""
    plan = replay.plan
    orchestrator = replay.orchestrator
    await orchestrator.start()
    mark_replay(orchestrator.repository, _description(plan))
    try:
        span = (plan.end - plan.start).total_seconds()
        steps = max(1, min(PROGRESS_STEPS, math.ceil(span / 60)))
        for step in range(1, steps + 1):
            moment = plan.start + timedelta(seconds=span * step / steps)
            await replay.scheduler.run_until(moment)
            if progress is not None:
                progress(step / steps)
    finally:
        await orchestrator.stop()


def _description(plan: ReplayPlan) -> dict[str, object]:
    return {
        "start": plan.start.isoformat(),
        "end": plan.end.isoformat(),
        "bots": list(plan.bots),
        "bars": {
            r.instrument.key: {"source": r.source, "bars": len(r), "period_seconds": r.period_seconds}
            for r in plan.recorded
        },
        "notes": list(plan.notes),
    }


# ---------------------------------------------------------------------------------------------------------
# Reading the record
# ---------------------------------------------------------------------------------------------------------


def read_record(database: Path, timezone: str, criteria: GoLiveCriteria) -> ReplayRecord:
    """The replay's record from its journal: equity marks, trades, and each bot against the go-live gate
    (its days counted up to the replay's last day, not today's)."""
    span = replay_span(database)
    if span is None:
        raise ReplayProblem(f"{database} is not a replay's journal")
    start, end = span
    repository = open_storage(database)
    try:
        snapshots = repository.equity_snapshots()
        trades = tuple(sorted(repository.closed_trades(), key=lambda t: t.closed_at))
        fills = len(repository.fills())
        bots = [status.name for status in repository.status_summary(start).bots]
    finally:
        repository.close()
    refusals = Reports(database).refusals_by_reason()
    times = pd.DatetimeIndex([s.time for s in snapshots])
    equity = pd.Series([float(s.equity) for s in snapshots], index=times, dtype=np.float64)
    exposure = pd.Series([float(s.gross_exposure) for s in snapshots], index=times, dtype=np.float64)
    starting = (
        float(snapshots[0].equity - snapshots[0].realized - snapshots[0].unrealized) if snapshots else 0.0
    )
    zone = ZoneInfo(timezone)
    last_day: date = end.astimezone(zone).date()
    records = []
    for bot in bots:
        own = [t for t in trades if t.bot == bot]
        records.append(
            BotRecord(
                bot,
                len(own),
                sum(1 for t in own if t.net_pnl > 0),
                sum((t.net_pnl for t in own), Decimal(0)),
                sum((t.fees for t in own), Decimal(0)),
                gate_from_trades(bot, own, zone, last_day, criteria),
            )
        )
    periods_per_year = _periods_per_year(times)
    summary = summarize(
        equity.to_numpy(),
        exposure.to_numpy(),
        np.array([float(t.net_pnl) for t in trades], dtype=np.float64),
        periods_per_year,
        initial_equity=starting if starting > 0 else None,
    )
    return ReplayRecord(
        start, end, equity, exposure, starting, trades, tuple(records), summary, fills, refusals
    )


def _periods_per_year(times: pd.DatetimeIndex) -> float:
    if len(times) < 2:
        return 252.0
    span = float((times[-1] - times[0]).total_seconds())
    return (len(times) - 1) / (span / SECONDS_PER_YEAR) if span > 0 else 252.0


def _utc(epoch_second: int) -> datetime:
    return datetime.fromtimestamp(epoch_second, tz=ZoneInfo("UTC"))


def _duration(seconds: int) -> str:
    if seconds % 86_400 == 0:
        return f"{seconds // 86_400} d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"
