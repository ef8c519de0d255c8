"""Building the Ensemble and Veto stages from the configuration (the road's AI layer)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from ai.data_hub import DataHub
from ai.ensemble import EnsembleSettings, EnsembleStage
from ai.llm import AnthropicLlm, LlmBudget, LlmClient, LlmVeto, OpenAILlm, VerdictCache
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
            events=_events(settings),
            sessionless_venues=sessionless_venues,
        )
    )


def llm_veto_stage(
    settings: Settings,
    environ: Mapping[str, str],
    on_spend: Callable[[datetime, str, int, int, float], None],
) -> LlmVeto | None:
    """The LLM veto when its provider's key is in the environment (None otherwise: the rules alone)."""
    config = settings.veto.llm
    client: LlmClient
    anthropic_key = environ.get(config.anthropic_key_env, "")
    openai_key = environ.get(config.openai_key_env, "")
    if config.provider in ("auto", "anthropic") and anthropic_key:
        client = AnthropicLlm(
            anthropic_key, config.anthropic_model, config.base_url, config.timeout_seconds, config.max_retries
        )
    elif config.provider in ("auto", "openai") and openai_key:
        client = OpenAILlm(
            openai_key, config.openai_model, config.base_url, config.timeout_seconds, config.max_retries
        )
    else:
        return None
    return LlmVeto(
        client,
        LlmBudget(
            config.max_tokens_per_day,
            config.max_cost_usd_per_day,
            {model: (inp, out) for model, (inp, out) in config.prices.items()},
            settings.system.timezone,
        ),
        VerdictCache(config.cache_minutes * 60),
        total_timeout_seconds=config.total_timeout_seconds,
        on_failure=config.on_failure,
        events=_events(settings),
        on_spend=on_spend,
    )


def _events(settings: Settings) -> tuple[ScheduledEvent, ...]:
    return tuple(
        ScheduledEvent(e.name, e.time, frozenset(e.asset_classes), frozenset(e.symbols))
        for e in settings.veto.events
    )
