"""Building the Ensemble and Veto stages from the configuration (the road's AI layer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ai.data_hub import DataHub
from ai.ensemble import EnsembleSettings, EnsembleStage
from ai.meta_signal import BotConsensusSource
from ai.sources.macro import RegimeContextSource
from ai.sources.ml_model import MlModelSource
from ai.sources.multi_timeframe import MultiTimeframeSource
from ai.sources.technical import TechnicalSource
from ai.veto_layer import RulesVeto, ScheduledEvent, VetoSettings
from ai.votes import Abstention, SourceResult, VoteSource
from brokers.price_chain import PriceChain
from config.schema import Settings
from domain.signals import Signal
from filters.market_regimes import MarketRegimes
from ml_models.locations import models_directory
from utils.clock import Clock


@dataclass(slots=True)
class UnavailableSource:
    """A configured source that cannot vote in this daemon: it abstains, saying why, so the
    decision trace shows every source of the design."""

    name: str
    reason: str

    async def vote(self, signal: Signal, hub: object) -> SourceResult:
        return Abstention(self.name, self.reason)


def ensemble_stage(
    settings: Settings, prices: PriceChain, clock: Clock, regimes: MarketRegimes
) -> EnsembleStage:
    config = settings.ensemble
    sources: list[VoteSource] = [
        MlModelSource(models_directory(settings.system.var_dir), dict(config.ml_assets)),
        UnavailableSource("market_analyst", "no LLM analyst in this build yet"),
        MultiTimeframeSource(),
        BotConsensusSource(window=timedelta(minutes=config.bot_consensus_minutes)),
        TechnicalSource(),
        UnavailableSource("crypto_derivatives", "no derivatives data source in this build yet"),
        RegimeContextSource(regimes.readings, tuple(config.macro_references)),
        UnavailableSource("news", "no news feed in this build yet"),
    ]
    return EnsembleStage(
        sources,
        EnsembleSettings(
            weights=dict(config.weights),
            threshold=config.threshold,
            source_timeout_seconds=config.source_timeout_seconds,
            when_all_abstain=config.when_all_abstain,
        ),
        lambda: DataHub(prices.bars, prices.quote, clock.now()),
    )


def veto_stage(settings: Settings, sessionless_venues: frozenset[str]) -> RulesVeto:
    config = settings.veto
    return RulesVeto(
        VetoSettings(
            max_evidence_age_seconds=config.max_evidence_age_seconds,
            event_window_minutes=config.event_window_minutes,
            closing_window_minutes=config.closing_window_minutes,
            duplicate_window_seconds=config.duplicate_window_seconds,
            events=tuple(
                ScheduledEvent(e.name, e.time, frozenset(e.asset_classes), frozenset(e.symbols))
                for e in config.events
            ),
            sessionless_venues=sessionless_venues,
        )
    )
