"""Wiring: build the whole daemon from a configuration, for the live clock or a simulated one.

This is the one place that knows which concrete world, brokers and stages make
up a run. Live and simulated runs share everything but the clock and scheduler.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from ai import NEWS_STATUS_KEY
from bots.event_trading.bot import EventTradingBot
from bots.event_trading.desk import TradeTape
from bots.event_trading.stage import AssetClassSplit
from bots.polymarket.market_maker import MarketMakerBot
from bots.self_priced import SelfPricedBot
from brokers.base import BrokerError, ListsSeries
from brokers.factory import build_adapter
from brokers.paper import PaperBroker
from brokers.price_chain import PriceChain
from brokers.router import BrokerRouter
from config.loader import LoadedConfig, load_config
from config.schema import BotEntry, Settings
from domain.instruments import Instrument
from domain.pipeline import Stage
from domain.regimes import Regime
from domain.signals import Signal
from filters.hmm_regimes import FeatureWindows
from filters.market_regimes import MarketRegimes, RegimeModelSettings
from filters.regime_filter import RegimeFilter
from master_orchestrator import Orchestrator
from risk_management.book import Book
from risk_management.engine import FleetLimits, RiskEngine, RiskLimits
from risk_management.stage import MarketHistory, RiskStage
from runtime.ai_stages import ensemble_stage, llm_access, llm_veto_stage, veto_stage
from runtime.control import Control
from runtime.events import EventBus
from runtime.fleet import FleetController
from runtime.news import build_news
from runtime.prediction import (
    ListsMarkets,
    PredictionMarkets,
    ReadsSettlement,
    SeriesListings,
    SettlementSource,
    SimulatedSettlements,
    VenueSettlements,
)
from runtime.prediction_sources import real_sources
from runtime.registry import RegisteredBot, build_bots
from runtime.retraining import ModelRetraining, check_ml_settings
from runtime.scheduling import LiveScheduler, Scheduler, SimulatedScheduler
from runtime.venues import (
    AdapterFactory,
    Venues,
    accounts_in_use,
    connect_real_venues,
    fee_schedule,
    refuse_untradeable_bots,
    simulated_polymarket_venue,
    simulated_prediction_venue,
    simulated_venues,
    venues_in_use,
)
from runtime.veto_followup import VetoFollowUp
from scrapers.base import ContractSource
from scrapers.whales import WhaleTracker
from simulation.market import SimulatedMarket
from simulation.prediction_market import SimulatedPredictionMarket
from simulation.prediction_sources import SimulatedListings, WorldForecasts, simulated_sources
from simulation.prediction_world import VENUE as PREDICTION_VENUE
from storage.database import open_storage
from storage.repository import Repository
from utils.clock import Clock, SimulatedClock, WallClock
from utils.offload import InlineOffloader, Offloader, ProcessOffloader

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SimulatedRun:
    """A daemon on a simulated clock, with handles tests and benchmarks need."""

    config: LoadedConfig
    orchestrator: Orchestrator
    scheduler: SimulatedScheduler
    clock: SimulatedClock
    market: SimulatedMarket
    paper_brokers: dict[str, PaperBroker]
    instruments: dict[str, Instrument]

    prediction_market: SimulatedPredictionMarket | None = None

    @property
    def market_source(self) -> SimulatedMarket:
        return self.market


def with_paths(config: LoadedConfig, *, database: Path, var_dir: Path) -> LoadedConfig:
    """The same configuration writing to other files (tests, replays)."""
    system = config.settings.system.model_copy(update={"database": str(database), "var_dir": str(var_dir)})
    settings = config.settings.model_copy(update={"system": system})
    return LoadedConfig(settings, config.registry, config.settings_path, config.registry_path)


def with_coarse_housekeeping(config: LoadedConfig) -> LoadedConfig:
    """The same configuration with the daemon's housekeeping jobs run less often than live (fills
    every 30 s instead of 2 s, exits every minute, equity every 10 minutes, settlements every 5),
    for runs over simulated days (daemon tests, the prediction benchmark): a day takes seconds."""
    settings = config.settings
    settings = settings.model_copy(
        update={
            "orchestrator": settings.orchestrator.model_copy(
                update={"fill_poll_seconds": 30, "exit_check_seconds": 60, "equity_snapshot_seconds": 600}
            ),
            "prediction": settings.prediction.model_copy(update={"settle_check_seconds": 300}),
        }
    )
    return LoadedConfig(settings, config.registry, config.settings_path, config.registry_path)


def risk_limits(
    settings: Settings, fleet_members: Collection[str] = (), bots: Sequence[BotEntry] = ()
) -> RiskLimits:
    risk = settings.risk
    fleet = settings.fleet
    return RiskLimits(
        daily_loss_limit_usd=Decimal(str(risk.daily_loss_limit_usd)),
        max_concurrent_positions=risk.max_concurrent_positions,
        gross_exposure_cap_fraction=Decimal(str(risk.gross_exposure_cap_fraction)),
        reentry_cooldown=timedelta(minutes=risk.reentry_cooldown_minutes),
        risk_fraction_per_trade=risk.risk_fraction_per_trade,
        max_position_fraction=Decimal(str(risk.max_position_fraction)),
        max_order_notional_usd=Decimal(str(risk.max_order_notional_usd)),
        max_quote_age_seconds={str(k): v for k, v in risk.max_quote_age_seconds.items()},
        max_bot_exposure_fraction=Decimal(str(risk.max_bot_exposure_fraction)),
        max_asset_class_exposure_fraction={
            str(k): Decimal(str(v)) for k, v in risk.max_asset_class_exposure_fraction.items()
        },
        prediction_max_entry_price=Decimal(str(risk.prediction_max_entry_price)),
        prediction_max_entry_price_by_bot={
            b.name: Decimal(str(b.prediction_max_entry_price))
            for b in bots
            if b.prediction_max_entry_price is not None
        },
        correlation_threshold=risk.correlation_threshold,
        max_correlated_exposure_fraction=Decimal(str(risk.max_correlated_exposure_fraction)),
        cvar_budget_fraction=risk.cvar_budget_fraction,
        cvar_confidence=risk.cvar_confidence,
        cvar_method=risk.cvar_method,
        kelly_multiplier=risk.kelly_multiplier,
        kelly_cap=risk.kelly_cap_fraction,
        fleet=FleetLimits(
            members=frozenset(fleet_members),
            daily_loss_limit_usd=Decimal(str(fleet.daily_loss_limit_usd)),
            max_positions=fleet.max_positions,
            gross_exposure_cap_fraction=Decimal(str(fleet.gross_exposure_cap_fraction)),
        )
        if fleet.enabled and fleet_members
        else None,
    )


def regime_model_settings(settings: Settings) -> RegimeModelSettings:
    regimes = settings.regimes
    return RegimeModelSettings(
        timeframe_seconds=regimes.timeframe_seconds,
        fit_window_bars=regimes.fit_window_bars,
        n_states=regimes.states,
        seeds=tuple(range(regimes.fit_seeds)),
        windows=FeatureWindows(regimes.volatility_window, regimes.trend_window),
        refit_after=timedelta(hours=regimes.refit_hours),
        retry_after=timedelta(minutes=regimes.retry_minutes),
        asset_classes=frozenset(regimes.asset_classes),
    )


def build_market(settings: Settings, clock: Clock) -> SimulatedMarket:
    simulation = settings.simulation
    market = SimulatedMarket(
        clock=clock,
        seed=simulation.seed,
        day_seconds=simulation.day_seconds,
        warmup_bars=simulation.warmup_bars,
        retained_days=simulation.retained_days,
    )
    state = Path(settings.system.var_dir) / "simulated_market.json"
    if state.exists():
        market.load_state(state)
    return market


def build_prediction_market(settings: Settings, clock: Clock) -> SimulatedPredictionMarket | None:
    """The simulated prediction world, when a simulated venue trades it."""
    if not simulated_prediction_venue(settings):
        return None
    return SimulatedPredictionMarket(
        clock,
        settings.simulation.seed,
        settings.prediction.simulated_days,
        polymarket=simulated_polymarket_venue(settings),
        sports=True,
    )


def prediction_markets(
    config: LoadedConfig,
    repository: Repository,
    clock: Clock,
    instruments: Mapping[str, Instrument],
    world: SimulatedPredictionMarket | None,
    environ: Mapping[str, str],
    bots: Sequence[RegisteredBot],
    adapters: Mapping[str, object] | None = None,
) -> PredictionMarkets:
    """The prediction desk: the simulated world's sources, settlement and tape for its venue, and
    the real sources (`runtime.prediction_sources`) for the real venues event-trading bots trade,
    whose settlements are read from the venue's adapter (`adapters`, by venue) where it can."""
    settings = config.settings
    # the venues whose questions the domain sources are asked: the event-trading bots' and the
    # market makers' (which price their markets by the twins on their second venue)
    traded = {b.entry.venue for b in bots if isinstance(b.bot, EventTradingBot)} | {
        v for b in bots if isinstance(b.bot, MarketMakerBot) for v in b.entry.venues
    }
    held = traded | {b.entry.venue for b in bots if isinstance(b.bot, SelfPricedBot)}  # settles
    real = {v for v in held if settings.venues[v].kind != "simulated"}
    sources: list[ContractSource] = []
    venues: dict[str, frozenset[str]] = {}
    settlements: dict[str, SettlementSource] = {}
    tapes: dict[str, TradeTape] = {}
    listings: dict[str, ListsMarkets] = {}
    if world is not None and PREDICTION_VENUE in held:
        forecasts = WorldForecasts(world.weather, world.cpi, world.games)
        if PREDICTION_VENUE in traded:
            for source in simulated_sources(forecasts, world):
                sources.append(source)
                venues[source.name] = frozenset({PREDICTION_VENUE})
        settlements[PREDICTION_VENUE] = SimulatedSettlements(world)
        tapes[PREDICTION_VENUE] = world
        listings[PREDICTION_VENUE] = SimulatedListings(world, forecasts)
    asked = real & traded
    if asked:
        var_dir = Path(settings.system.var_dir)
        for source in real_sources(settings.prediction, config.settings_path, environ, var_dir):
            sources.append(source)
            venues[source.name] = frozenset(asked)
            if isinstance(source, WhaleTracker):
                tapes.update({v: source for v in asked if settings.venues[v].kind == "kalshi"})
    if real:
        check_every = timedelta(minutes=settings.prediction.live_settlement_check_minutes)
        for venue in sorted(real):
            adapter = (adapters or {}).get(venue)
            if isinstance(adapter, ReadsSettlement):
                settlements[venue] = VenueSettlements(venue, adapter, check_every)
            else:
                log.warning(
                    "venue %s: the daemon cannot read its settlements; reconciliation reports them", venue
                )
            series = settings.venues[venue].series
            if series and isinstance(adapter, ListsSeries):
                listings[venue] = SeriesListings(adapter, series)
    return PredictionMarkets(
        settings.prediction, repository, clock, sources, settlements, tapes, instruments, venues, listings
    )


async def free_cash_of(router: BrokerRouter, signal: Signal) -> Decimal | None:
    """The free cash of the account the signal's bot trades through (None when it cannot be read)."""
    broker = router.broker_for(signal.bot, signal.instrument.venue)
    if broker is None:
        return None
    try:
        return (await broker.balance()).free
    except BrokerError as error:
        log.warning("free cash of %s unknown (%s); the venue's own check stands", broker.venue, error)
        return None


def build_orchestrator(
    config: LoadedConfig,
    clock: Clock,
    scheduler: Scheduler,
    market: SimulatedMarket | None,
    venues: Venues,
    offloader: Offloader,
    environ: Mapping[str, str] | None = None,
    prediction_world: SimulatedPredictionMarket | None = None,
) -> Orchestrator:
    """The daemon; `offloader` runs its model fits (a worker process live, inline when simulated).

    `market` is the simulated world whose path is checkpointed under the var dir; None when the
    venues are priced by something that needs no checkpoint (a replay's recorded bars)."""
    settings = config.settings
    refuse_untradeable_bots(config, venues)
    check_ml_settings(config, dict(venues.instruments))
    repository = open_storage(Path(settings.system.database))
    instruments = dict(venues.instruments)
    bots = build_bots(config, venues.by_venue())
    bus = EventBus()
    control = Control(repository, clock, bus, [b.name for b in bots])
    prices = PriceChain(
        venues.price_sources,
        clock,
        {str(k): v for k, v in settings.risk.max_quote_age_seconds.items()},
    )
    fleet_members = [b.name for b in bots if b.entry.fleet]
    starting_capital = sum(venues.capital.values(), Decimal(0))
    book = Book(starting_capital, instruments)
    router = BrokerRouter(venues.routes, {b.name: b.entry.mode for b in bots})
    orchestrator: Orchestrator
    market_regimes = MarketRegimes(
        prices.bars,
        regime_model_settings(settings),
        clock,
        offloader,
        on_reading=lambda reading: orchestrator.record_regime_reading(reading),
        on_fit=lambda fit: orchestrator.record_regime_fit(fit),
    )
    regime_filter = RegimeFilter(
        market_regimes,
        {b.name: b.bot.spec.regimes for b in bots},
        {Regime(name): value for name, value in settings.regimes.multipliers.items()},
    )

    def position(bot: str, instrument: Instrument):  # type: ignore[no-untyped-def]
        return book.position(bot, instrument.key)

    prediction_fees = {
        name: fee_schedule(v) for name, v in settings.venues.items() if v.asset_class == "prediction"
    }
    risk_stage = RiskStage(
        RiskEngine(risk_limits(settings, fleet_members, [b.entry for b in bots])),
        lambda: orchestrator.book_snapshot(),
        prices.quote,
        position,
        MarketHistory(
            prices.bars,
            instruments,
            timeframe_seconds=settings.risk.correlation_timeframe_seconds,
            window=settings.risk.correlation_window_bars,
            horizon_seconds=settings.risk.cvar_horizon_seconds,
            hrp_allocation=settings.risk.hrp_allocation,
        ),
        fees=prediction_fees,
        free_cash=lambda signal: free_cash_of(router, signal),
    )
    stages: list[Stage] = [regime_filter]
    surroundings = environ or {}
    teardown: list[Callable[[], object]] = []
    news = build_news(
        settings, surroundings, clock, lambda status: repository.set_daemon_value(NEWS_STATUS_KEY, status)
    )
    aggregator = None if news is None else news.aggregator
    llm = llm_access(settings, surroundings)

    def on_spend(now: datetime, model: str, tokens_in: int, tokens_out: int, cost: float) -> None:
        orchestrator.record_llm_spend(now, model, tokens_in, tokens_out, cost)

    ensemble = (
        ensemble_stage(
            settings,
            prices,
            clock,
            market_regimes,
            llm=llm,
            news=aggregator,
            on_spend=on_spend,
            on_shutdown=teardown,
        )
        if settings.ensemble.enabled
        else None
    )
    prediction: PredictionMarkets | None = None
    self_priced = [b.bot for b in bots if isinstance(b.bot, SelfPricedBot)]
    if self_priced or any(isinstance(b.bot, EventTradingBot) for b in bots):
        # prediction signals take the consensus and the 3-gate entry where others take the vote;
        # a bot that prices its markets itself (a bias fader, an arbitrage) passes on its own pricing
        prediction = prediction_markets(
            config, repository, clock, instruments, prediction_world, surroundings, bots, venues.live
        )
        prediction.attach([b.bot for b in bots])
        for bot in self_priced:
            bot.attach_fees(prediction_fees)
        consensus = prediction.stage(prices.quote, prediction_fees)
        stages.append(
            AssetClassSplit("ensemble", consensus, ensemble, frozenset(bot.name for bot in self_priced))
        )
    elif ensemble is not None:
        stages.append(ensemble)
    if settings.veto.enabled:
        simulated = frozenset(name for name, venue in settings.venues.items() if venue.kind == "simulated")
        stages.append(veto_stage(settings, simulated, aggregator))
        llm_veto = llm_veto_stage(settings, llm, on_spend)
        if llm_veto is not None:
            stages.append(llm_veto)
    stages.append(risk_stage)
    orchestrator = Orchestrator(
        settings=settings,
        clock=clock,
        scheduler=scheduler,
        repository=repository,
        bots=bots,
        stages=stages,
        router=router,
        prices=prices,
        book=book,
        control=control,
        bus=bus,
        instruments=instruments,
        regimes=market_regimes,
        retraining=ModelRetraining(
            settings.ml,
            Path(settings.system.var_dir),
            settings.simulation.seed,
            settings.simulation.day_seconds,
            clock,
            prices,
            instruments,
            offloader,
            repository,
            bus,
        )
        if settings.ml.enabled
        else None,
        veto_followup=VetoFollowUp(
            repository,
            prices.quote,
            instruments,
            settings.veto.follow_up.horizons_minutes,
            timedelta(minutes=settings.veto.follow_up.grace_minutes),
        )
        if settings.veto.enabled and settings.veto.follow_up.enabled
        else None,
        background_startup_work=not isinstance(offloader, InlineOffloader),
    )
    orchestrator.on_shutdown.append(offloader.close)
    orchestrator.on_shutdown.extend(teardown)
    if prediction is not None:
        desk = prediction
        bus.subscribe(desk.on_event)
        every = settings.prediction.settle_check_seconds

        async def settle() -> None:
            await desk.settle(orchestrator)

        orchestrator.periodic_hooks.append(("prediction-settlement", every, settle))

        async def list_markets() -> None:
            await desk.refresh_listings(orchestrator)

        listing_every = int(settings.prediction.listing_refresh_minutes * 60)
        orchestrator.periodic_hooks.append(("prediction-listings", listing_every, list_markets))
    if news is not None:
        # the job's first run is a second after start; a simulated run reads the news before its first tick
        orchestrator.periodic_hooks.append(("news", int(settings.news.refresh_minutes * 60), news.refresh))
        if not orchestrator.background_startup_work:
            orchestrator.on_start.append(news.refresh)
    if fleet_members and settings.fleet.enabled:
        fleet = FleetController(settings.fleet, fleet_members, repository, clock, bus)
        orchestrator.fleet = fleet

        markets = {b.name: b.bot.instruments[0].key for b in bots if b.entry.fleet and b.bot.instruments}

        def allocate() -> None:  # the regime controller judges each sub-bot in its market's regime now
            fleet.allocate({bot: orchestrator.market_regime(key) for bot, key in markets.items()})

        async def first_allocation() -> None:  # the restored posteriors size the first trades
            allocate()

        orchestrator.on_start.append(first_allocation)
        every = int(settings.fleet.allocation_minutes * 60)
        orchestrator.periodic_hooks.append(("fleet-allocation", every, allocate))
    if market is not None:
        world_path = market
        state_path = Path(settings.system.var_dir) / "simulated_market.json"
        orchestrator.on_shutdown.append(lambda: world_path.save_state(state_path))
        # a crash loses at most a minute of the world's path; positions then reprice continuously
        orchestrator.periodic_hooks.append(
            ("save-simulated-world", 60, lambda: world_path.save_state(state_path))
        )
    return orchestrator


def _live_parts(
    config_path: str | Path,
) -> tuple[LoadedConfig, WallClock, LiveScheduler, SimulatedMarket, SimulatedPredictionMarket | None, Venues]:
    config = load_config(config_path)
    settings = config.settings
    Path(settings.system.var_dir).mkdir(parents=True, exist_ok=True)
    clock = WallClock()
    scheduler = LiveScheduler(
        settings.system.timezone, settings.orchestrator.misfire_grace_seconds, clock=clock
    )
    market = build_market(settings, clock)
    world = build_prediction_market(settings, clock)
    venues = simulated_venues(settings, market, clock, world, config.settings_path)
    return config, clock, scheduler, market, world, venues


async def build_live(
    config_path: str | Path,
    environ: Mapping[str, str] | None = None,
    adapter_factory: AdapterFactory = build_adapter,
) -> Orchestrator:
    """The daemon on the wall clock, as `master_orchestrator.py run` starts it.

    Real venues used by enabled bots are connected here (their instruments are read
    from the venue); keys come from `environ` (default: the process environment).
    """
    config, clock, scheduler, market, world, venues = _live_parts(config_path)
    settings = config.settings
    await connect_real_venues(
        settings,
        clock,
        os.environ if environ is None else environ,
        venues,
        adapter_factory=adapter_factory,
        needed=venues_in_use(config),
        accounts=accounts_in_use(config),
    )
    try:
        orchestrator = build_orchestrator(
            config,
            clock,
            scheduler,
            market,
            venues,
            ProcessOffloader(2, settings.system.log_level),
            os.environ if environ is None else environ,  # an LLM key switches the LLM veto on
            world,
        )
    except Exception:
        venues.close()
        raise
    orchestrator.on_shutdown.append(venues.close)  # adapters' connections, paper books' files
    # the operator surfaces load only for the live daemon (Flask, waitress, python-telegram-bot)
    from dashboard.server import attach_dashboard
    from monitoring.telegram import attach_telegram

    surroundings = os.environ if environ is None else environ
    try:
        attach_telegram(orchestrator, settings, surroundings)  # refuses a malformed chat-id list
    except Exception:
        venues.close()
        orchestrator.repository.close()
        raise
    attach_dashboard(orchestrator, surroundings)
    return orchestrator


def build_simulated(
    config: LoadedConfig, start: datetime, environ: Mapping[str, str] | None = None
) -> SimulatedRun:
    """The same daemon on a simulated clock starting at `start` (replays, tests, benchmarks).

    `environ` is what the daemon reads keys from (an LLM key switches the LLM veto on); none by default.
    """
    settings = config.settings
    Path(settings.system.var_dir).mkdir(parents=True, exist_ok=True)
    clock = SimulatedClock(start)
    scheduler = SimulatedScheduler(clock)
    market = build_market(settings, clock)
    world = build_prediction_market(settings, clock)
    venues = simulated_venues(settings, market, clock, world, config.settings_path)
    orchestrator = build_orchestrator(
        config, clock, scheduler, market, venues, InlineOffloader(), environ, world
    )
    return SimulatedRun(
        config, orchestrator, scheduler, clock, market, venues.paper, dict(venues.instruments), world
    )
