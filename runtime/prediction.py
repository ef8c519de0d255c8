"""Prediction markets in the daemon: the edge desk, the gate stage and settlement, wired together.

Built only when an enabled bot is an event-trading bot. The simulated Kalshi venue brings its
own sources (the simulated world's forecasters and whale tracker over its tape); a real venue
uses the real sources of `scrapers/` (see `runtime.prediction_sources`).

Settlement runs every `settle_check_seconds`: each market a venue settled since the last look
is settled once (the journal remembers it across restarts). Its sources' last probabilities
are scored into their calibration records (the consensus weights), every bot's position in it
is closed at the settlement value, the bots' edge records learn the outcome and the P&L, and
the ML gate is refitted on the settled edges.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol, runtime_checkable

from bots.base import Bot
from bots.event_trading.bot import EventTradingBot
from bots.event_trading.consensus import ConsensusSettings
from bots.event_trading.desk import EdgeDesk, TradeTape
from bots.event_trading.gates import MlGate
from bots.event_trading.stage import GateSettings, PredictionGateStage, QuoteOf
from bots.polymarket.market_maker import MarketMakerBot
from brokers.base import ListsSeries
from config.schema import PredictionSettings
from domain.contracts import ContractSpec
from domain.fees import FeeSchedule
from domain.instruments import Instrument
from domain.positions import ClosedTrade
from domain.prediction_records import PREDICTION_SOURCES_KEY, EdgeRecord, Settlement
from runtime.events import Event
from scrapers.base import ContractSource
from scrapers.router import Estimates, SourceRouter
from storage.repository import Repository
from utils.clock import Clock

log = logging.getLogger(__name__)


class SettlementSource(Protocol):
    """Where a venue's settlements are read: `markets` are the venue's unsettled markets the
    daemon holds or has estimates for (a real venue is asked about those; the simulated world
    knows its own)."""

    async def settlements(self, markets: Sequence[Instrument], now: datetime) -> list[Settlement]: ...


class SettlesPositions(Protocol):
    """The part of the orchestrator settlement needs: who holds a market, and closing them there."""

    def held_instrument_keys(self) -> set[str]: ...

    def holders(self, instrument_key: str) -> list[str]: ...

    async def settle_position(self, bot: str, settlement: Settlement) -> ClosedTrade | None: ...


class SimulatedSettlementLog(Protocol):
    def settlements(self, since: datetime | None, now: datetime) -> list[Settlement]: ...


class SimulatedSettlements:
    """The simulated world's settlements, read from where the last look ended."""

    def __init__(self, world: SimulatedSettlementLog) -> None:
        self._world = world
        self._since: datetime | None = None

    async def settlements(self, markets: Sequence[Instrument], now: datetime) -> list[Settlement]:
        found = self._world.settlements(self._since, now)
        self._since = now
        return found


@runtime_checkable
class ReadsSettlement(Protocol):
    """A real venue's adapter: a market's settlement once the venue has paid it out."""

    async def settlement(self, instrument: Instrument, now: datetime) -> Settlement | None: ...


class VenueSettlements:
    """A real venue's settlements, asked market by market (Kalshi: `GET /markets/{ticker}`).

    A market is asked about once its observation day is over (weather: the day after the
    climate day; a market without a day, at once), and then at most every `check_every`, so
    a few hundred watched markets cost a few requests a minute. A market the venue cannot
    answer for is asked again next time.
    """

    def __init__(self, venue: str, reader: ReadsSettlement, check_every: timedelta) -> None:
        self._venue = venue
        self._reader = reader
        self._check_every = check_every
        self._asked: dict[str, datetime] = {}

    def _due(self, instrument: Instrument, now: datetime) -> bool:
        contract = instrument.contract
        if contract is not None and contract.day is not None and contract.day >= now.date():
            return False
        asked = self._asked.get(instrument.key)
        return asked is None or now - asked >= self._check_every

    async def settlements(self, markets: Sequence[Instrument], now: datetime) -> list[Settlement]:
        found: list[Settlement] = []
        for instrument in markets:
            if not self._due(instrument, now):
                continue
            self._asked[instrument.key] = now
            try:
                settlement = await self._reader.settlement(instrument, now)
            except Exception as exc:  # a venue error: this market waits for the next look
                log.warning("%s: settlement of %s unavailable: %s", self._venue, instrument.symbol, exc)
                continue
            if settlement is not None:
                found.append(settlement)
                del self._asked[instrument.key]
        return found


class ListsMarkets(Protocol):
    """A prediction venue's markets as listed at `now` (those already known may come again)."""

    async def listings(self, now: datetime) -> list[Instrument]: ...


class SeriesListings:
    """A real venue's listing: the open markets of the series its settings name (Kalshi)."""

    def __init__(self, lister: ListsSeries, series: Sequence[str]) -> None:
        self._lister = lister
        self._series = list(series)

    async def listings(self, now: datetime) -> list[Instrument]:
        return await self._lister.series_markets(self._series)


class TakesListings(Protocol):
    """The orchestrator's side of a listing: trade the new markets; the ones that were new."""

    def list_instruments(self, listed: Sequence[Instrument]) -> list[Instrument]: ...


def consensus_settings(settings: PredictionSettings) -> ConsensusSettings:
    return ConsensusSettings(settings.min_sources, settings.prior_brier, settings.prior_weight)


def gate_settings(settings: PredictionSettings) -> GateSettings:
    return GateSettings(
        min_edge=settings.min_edge,
        price_lookback=timedelta(minutes=settings.price_lookback_minutes),
        max_premium_to_vwap=settings.max_premium_to_vwap,
        max_adverse_drift=settings.max_adverse_drift,
        spike_move=settings.spike_move,
        spike_window=timedelta(minutes=settings.spike_window_minutes),
    )


class PredictionMarkets:
    """The daemon's prediction-market desk (built by `runtime.wiring.prediction_markets`): `attach`
    gives the bots the edge desk, `stage` is the gate stage of the road, `settle` the periodic
    settlement, `on_event` marks traded edges from the event bus."""

    def __init__(
        self,
        settings: PredictionSettings,
        repository: Repository,
        clock: Clock,
        sources: Sequence[ContractSource],
        settlement_sources: Mapping[str, SettlementSource],
        tapes: Mapping[str, TradeTape],
        instruments: Mapping[str, Instrument],
        source_venues: Mapping[str, frozenset[str]] | None = None,
        listings: Mapping[str, ListsMarkets] | None = None,
    ) -> None:
        self.settings = settings
        self._repository = repository
        self._clock = clock
        self._settlement_sources = dict(settlement_sources)
        self._listings = dict(listings or {})
        self._instruments = instruments
        self._settled = repository.settled_instrument_keys()
        self._pending_estimates: dict[str, tuple[str, dict[str, float], datetime]] = {}
        self._seen: set[tuple[str, str]] = set()  # (market, source) whose first view is kept
        self.desk = EdgeDesk(
            SourceRouter(sources, settings.source_timeout_seconds, source_venues),
            consensus_settings(settings),
            repository.calibrations(),
            tapes=tapes,
            ml_gate=MlGate(
                min_training=settings.ml_gate_min_training,
                min_side_probability=settings.ml_gate_min_side_probability,
                max_source_spread=settings.ml_gate_max_source_spread,
            ),
            estimate_ttl=timedelta(seconds=settings.estimate_ttl_seconds),
            on_estimates=self._record_estimates,
        )
        self.desk.train_ml_gate(repository.edges(settled=True))

    def attach(self, bots: Sequence[Bot]) -> int:
        """Give the desk to every bot that prices by it (event trading, market making); how many."""
        count = 0
        for bot in bots:
            if isinstance(bot, EventTradingBot | MarketMakerBot):
                bot.attach(self.desk)
                count += 1
        return count

    def stage(self, quote_of: QuoteOf, fees: Mapping[str, FeeSchedule]) -> PredictionGateStage:
        return PredictionGateStage(
            self.desk, quote_of, fees, gate_settings(self.settings), on_edge=self._record_edge
        )

    # -------------------------------------------------------------------------------- journal
    def _record_estimates(self, contract: ContractSpec, found: Estimates, now: datetime) -> None:
        # kept until the next settlement run writes them in one transaction (a crash loses at most
        # that long of them; the next ask brings them back)
        # (each source's first view of a market is what its calibration scores)
        key = f"{contract.venue}:{contract.ticker}"
        new = {e.source: e.probability for e in found.estimates if (key, e.source) not in self._seen}
        if not new:
            return
        self._seen.update((key, source) for source in new)
        pending = self._pending_estimates.get(key)
        merged = new if pending is None else {**new, **pending[1]}
        self._pending_estimates[key] = (contract.domain.value, merged, now if pending is None else pending[2])

    def flush_estimates(self) -> None:
        pending, self._pending_estimates = self._pending_estimates, {}
        if not pending:
            return
        with self._repository.batch():
            for key, (domain, probabilities, when) in pending.items():
                self._repository.save_estimates(key, domain, probabilities, when)

    def _record_edge(self, record: EdgeRecord) -> None:
        self._repository.record_edge(record)

    def on_event(self, event: Event) -> None:
        """An entry filled in a prediction market: its bot's edge record there was traded."""
        payload = event.payload
        if event.kind != "fill" or payload.get("exit") or payload.get("settlement"):
            return
        key = str(payload.get("instrument_key", ""))
        if key in self._instruments and self._instruments[key].contract is not None:
            self._repository.mark_edge_traded(str(payload.get("bot", "")), key)

    def publish_health(self) -> None:
        statuses = [status.to_dict() for status in self.desk.health()]
        self._repository.set_daemon_value(PREDICTION_SOURCES_KEY, json.dumps(statuses))

    # -------------------------------------------------------------------------------- listing
    async def refresh_listings(self, markets: TakesListings) -> int:
        """Hand every venue's newly listed markets to the daemon; how many were new."""
        now = self._clock.now()
        count = 0
        for venue, source in self._listings.items():
            try:
                found = await source.listings(now)
            except Exception:
                log.exception("listings of %s unavailable; asked again next time", venue)
                continue
            count += len(markets.list_instruments(found))
        return count

    # -------------------------------------------------------------------------------- settlement
    async def settle(self, positions: SettlesPositions) -> list[Settlement]:
        """Settle every market the venues settled that this daemon has not; the settlements done."""
        now = self._clock.now()
        self.flush_estimates()
        candidates = self._repository.estimated_instrument_keys() | positions.held_instrument_keys()
        done: list[Settlement] = []
        for venue, source in self._settlement_sources.items():
            markets = [
                instrument
                for key in sorted(candidates - self._settled)
                if (instrument := self._instruments.get(key)) is not None and instrument.venue == venue
            ]
            try:
                found = await source.settlements(markets, now)
            except Exception:
                log.exception("settlements of %s unavailable; asked again next time", venue)
                continue
            for settlement in found:
                if settlement.instrument_key in self._settled:
                    continue
                await self._settle_one(settlement, positions)
                done.append(settlement)
        if done:
            self.desk.train_ml_gate(self._repository.edges(settled=True))
            log.info("settled %d prediction market(s)", len(done))
        self.publish_health()
        return done

    async def _settle_one(self, settlement: Settlement, positions: SettlesPositions) -> None:
        key = settlement.instrument_key
        instrument = self._instruments.get(key)
        contract = None if instrument is None else instrument.contract
        for bot in positions.holders(key):
            try:
                await positions.settle_position(bot, settlement)
            except Exception:
                log.exception("could not settle %s's position in %s; retried next time", bot, key)
                return  # not marked settled: the next run tries again
        now = self._clock.now()
        # each bot's net P&L in the market: the round trips it made there, however they ended
        # (held to settlement, or sold when the edge reversed)
        pnl: dict[str, Decimal] = {}
        for trade in self._repository.closed_trades_in(key):
            pnl[trade.bot] = pnl.get(trade.bot, Decimal(0)) + trade.net_pnl
        with self._repository.batch():
            if not self._repository.record_settlement(settlement):
                self._settled.add(key)
                return
            if contract is not None:
                domain = contract.domain.value
                probabilities = self._repository.estimates_for(key)
                updated = self.desk.settle(domain, probabilities, settlement.outcome_yes)
                if updated:
                    self._repository.save_calibrations(domain, updated, now)
            self._repository.forget_estimates(key)
            self._repository.settle_edges(settlement, pnl)
        self._seen = {(market, source) for market, source in self._seen if market != key}
        self.desk.forget(key)
        self._settled.add(key)
