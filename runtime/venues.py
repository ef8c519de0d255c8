"""Venues: every configured venue's brokers, price sources and instruments, for paper and live.

A bot's `venue` and `mode` are all it takes to move it:
- a `simulated` venue has a paper broker over the embedded world and no live mode;
- a real venue (alpaca, oanda, kalshi, polymarket, coinbase, ccxt) has its adapter for
  `live` and a paper broker for `paper` that fills against the adapter's own quotes,
  with the venue's instruments (ticks, lots, minimums) read from the venue at start.

A real venue whose keys are missing or that cannot be reached at start is
*unavailable*, with the reason; `refuse_untradeable_bots` then stops the daemon
from starting while an enabled bot depends on it, naming the bot and what to fix,
rather than letting a live bot fall back to paper or trade blind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from brokers.base import Broker, BrokerError, ListsSeries, MarketDataSource
from brokers.factory import build_adapter
from brokers.paper import FeeModel, PaperBroker, SlippageModel
from config.loader import ConfigError, LoadedConfig
from config.schema import Settings, VenueSettings
from domain.fees import FeeSchedule, KalshiFees, PolymarketFees
from domain.instruments import Instrument
from simulation.polymarket_world import VENUE as POLYMARKET_VENUE
from simulation.prediction_market import SimulatedPredictionMarket
from simulation.prediction_world import VENUE as PREDICTION_VENUE
from utils.clock import Clock

log = logging.getLogger(__name__)

AdapterFactory = Callable[[str, VenueSettings, Mapping[str, str], Path], Broker]


@dataclass(slots=True)
class Venues:
    instruments: dict[str, Instrument] = field(default_factory=dict)  # by instrument key
    routes: dict[tuple[str, str], Broker] = field(default_factory=dict)  # (venue, mode)
    price_sources: dict[str, list[MarketDataSource]] = field(default_factory=dict)
    paper: dict[str, PaperBroker] = field(default_factory=dict)
    live: dict[str, Broker] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)  # venue -> why
    # the money each account (venue, mode) brings to the book's equity, which sizing works from
    capital: dict[tuple[str, str], Decimal] = field(default_factory=dict)

    def by_venue(self) -> dict[str, dict[str, Instrument]]:
        listed: dict[str, dict[str, Instrument]] = {}
        for instrument in self.instruments.values():
            listed.setdefault(instrument.venue, {})[instrument.symbol] = instrument
        return listed

    def close(self) -> None:
        for broker in self.paper.values():
            broker.close()
        for adapter in self.live.values():
            closer = getattr(adapter, "close", None)
            if callable(closer):
                closer()


def fee_schedule(settings: VenueSettings) -> FeeSchedule:
    if settings.fee_model == "kalshi":
        return KalshiFees(multiplier=Decimal(str(settings.fee_multiplier)))
    if settings.fee_model == "polymarket":
        return PolymarketFees(rate=Decimal(str(settings.fee_rate)))
    return FeeModel(
        taker_bps=Decimal(str(settings.taker_fee_bps)), maker_bps=Decimal(str(settings.maker_fee_bps))
    )


def paper_broker(
    name: str,
    venue_settings: VenueSettings,
    settings: Settings,
    instruments: list[Instrument],
    market_data: MarketDataSource,
    clock: Clock,
) -> PaperBroker:
    return PaperBroker(
        venue=name,
        instruments=instruments,
        market_data=market_data,
        clock=clock,
        fees=fee_schedule(venue_settings),
        slippage=SlippageModel(
            fixed_bps=Decimal(str(venue_settings.slippage_bps)),
            impact_bps_per_10k=Decimal(str(venue_settings.impact_bps_per_10k_usd)),
        ),
        starting_cash=Decimal(str(venue_settings.starting_cash_usd)),
        max_quote_age_seconds=settings.risk.max_quote_age_seconds.get(venue_settings.asset_class, 10.0),
        database_path=Path(settings.system.var_dir) / f"paper_{name}.sqlite",
    )


class ListedMarket(MarketDataSource, Protocol):
    """A world that lists its instruments and prices them: the simulated market, recorded bars."""

    def instruments(self) -> list[Instrument]: ...


def simulated_venues(
    settings: Settings,
    market: ListedMarket,
    clock: Clock,
    prediction: SimulatedPredictionMarket | None = None,
    settings_path: Path | str = "<settings>",
) -> Venues:
    """The simulated venues: paper brokers over the embedded world, priced by it.

    A simulated venue of asset class `prediction` trades the prediction world (`prediction`),
    whose markets are listed as Kalshi's are, on the venue named `sim-kalshi`."""
    venues = Venues()
    for name, venue_settings in settings.venues.items():
        if venue_settings.kind != "simulated":
            continue
        world: MarketDataSource = market
        if venue_settings.asset_class == "prediction":
            if name not in (PREDICTION_VENUE, POLYMARKET_VENUE):
                raise ConfigError(
                    settings_path,
                    f"venues.{name}",
                    f"the simulated prediction world trades on venues named {PREDICTION_VENUE!r} (its "
                    f"Kalshi) and {POLYMARKET_VENUE!r} (its Polymarket); rename this one or set its kind "
                    "to a real venue",
                )
            if prediction is None:
                raise ValueError(f"venue {name!r} needs the simulated prediction world")
            world = prediction
            listed = [i for i in prediction.instruments() if i.venue == name]
        else:
            listed = [i for i in market.instruments() if i.venue == name]
        venues.instruments.update({i.key: i for i in listed})
        broker = paper_broker(name, venue_settings, settings, listed, world, clock)
        venues.paper[name] = broker
        venues.routes[(name, "paper")] = broker
        venues.price_sources[name] = [world]
        venues.capital[(name, "paper")] = Decimal(str(venue_settings.starting_cash_usd))
    return venues


def simulated_prediction_venue(settings: Settings) -> bool:
    """Whether a simulated venue trades the prediction world."""
    return any(v.kind == "simulated" and v.asset_class == "prediction" for v in settings.venues.values())


def simulated_polymarket_venue(settings: Settings) -> bool:
    """Whether the simulated world's Polymarket twin is a venue here (then its markets are listed)."""
    venue = settings.venues.get(POLYMARKET_VENUE)
    return venue is not None and venue.kind == "simulated" and venue.asset_class == "prediction"


async def connect_real_venues(
    settings: Settings,
    clock: Clock,
    environ: Mapping[str, str],
    venues: Venues,
    *,
    adapter_factory: AdapterFactory = build_adapter,
    needed: set[str] | None = None,
    accounts: set[tuple[str, str]] | None = None,
) -> None:
    """Add every real venue (or those in `needed`) to `venues`; failures go to `venues.unavailable`.

    `accounts` are the (venue, mode) pairs some enabled bot trades through: each brings its
    capital to the book. A paper account brings `starting_cash_usd`; a live one brings
    `starting_cash_usd` as a budget, but never more than the free cash the venue reports now,
    so sizing can never assume money the account does not have.
    """
    for name, venue_settings in settings.venues.items():
        if venue_settings.kind == "simulated" or (needed is not None and name not in needed):
            continue
        try:
            adapter = adapter_factory(name, venue_settings, environ, Path(settings.system.var_dir))
            instruments = await adapter.instruments()
            if venue_settings.series and isinstance(adapter, ListsSeries):
                # the open markets of its series (Kalshi): tomorrow's ones come by the listing job
                listed = await adapter.series_markets(venue_settings.series)
                known = {i.symbol for i in instruments}
                instruments += [i for i in listed if i.symbol not in known]
        except BrokerError as exc:
            venues.unavailable[name] = str(exc)
            log.error("venue %s unavailable: %s", name, exc)
            continue
        missing = sorted(set(venue_settings.symbols) - {i.symbol for i in instruments})
        if missing:
            venues.unavailable[name] = f"venue {name!r} does not list {', '.join(missing)}"
            log.error("venue %s unavailable: it does not list %s", name, ", ".join(missing))
            continue
        budget = Decimal(str(venue_settings.starting_cash_usd))
        if accounts is not None and (name, "live") in accounts:
            try:
                free = (await adapter.balance()).free
            except BrokerError as exc:
                venues.unavailable[name] = f"venue {name!r}: balance unavailable: {exc}"
                log.error("venue %s unavailable: balance: %s", name, exc)
                continue
            if free < budget:
                log.warning(
                    "venue %s: %s free, less than its %s budget: sizing uses %s", name, free, budget, free
                )
            venues.capital[(name, "live")] = max(Decimal(0), min(budget, free))
        if accounts is not None and (name, "paper") in accounts:
            venues.capital[(name, "paper")] = budget
        venues.live[name] = adapter
        venues.routes[(name, "live")] = adapter
        venues.instruments.update({i.key: i for i in instruments})
        paper = paper_broker(name, venue_settings, settings, instruments, adapter, clock)
        venues.paper[name] = paper
        venues.routes[(name, "paper")] = paper
        venues.price_sources[name] = [adapter]
        log.info(
            "venue %s (%s, %s) connected: %d instruments",
            name,
            venue_settings.kind,
            venue_settings.environment,
            len(instruments),
        )
    for name, venue_settings in settings.venues.items():
        fallback = venue_settings.fallback_price_venue
        if fallback is not None and name in venues.price_sources and fallback in venues.price_sources:
            venues.price_sources[name] = venues.price_sources[name] + venues.price_sources[fallback]


def venues_in_use(config: LoadedConfig) -> set[str]:
    """Venues enabled bots trade on, and the venues those fall back to for prices."""
    traded = {venue for bot in config.registry.bots if bot.enabled for venue in bot.venues}
    venues = config.settings.venues
    fallbacks = {venues[name].fallback_price_venue for name in traded if name in venues}
    return traded | {name for name in fallbacks if name is not None}


def accounts_in_use(config: LoadedConfig) -> set[tuple[str, str]]:
    """(venue, mode) of every enabled bot: the accounts whose money the book counts."""
    return {(venue, bot.mode) for bot in config.registry.bots if bot.enabled for venue in bot.venues}


def refuse_untradeable_bots(config: LoadedConfig, venues: Venues) -> None:
    """Raise a ConfigError naming the first enabled bot whose real venue is unavailable.

    (Unknown venues and live bots on simulated venues are refused when the files load.)
    """
    for index, bot in enumerate(config.registry.bots):
        for key, name in zip(("venue", "second_venue"), bot.venues, strict=False):
            reason = venues.unavailable.get(name)
            if not bot.enabled or reason is None:
                continue
            raise ConfigError(
                config.registry_path,
                f"{config.bot_key(index, key)} ({bot.name})",
                f"the bot is {bot.mode} on {name!r}, which is unavailable ({reason}); it will not "
                "start rather than trade without its venue. Fix the venue or set enabled = false.",
            )
