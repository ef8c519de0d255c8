"""Building the Ensemble and Veto stages from the configuration (the road's AI layer)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from ai.data_hub import DataHub
from ai.derivatives_feed import DerivativesFeed
from ai.ensemble import EnsembleSettings, EnsembleStage
from ai.llm import AnthropicLlm, LlmBudget, LlmClient, LlmVerdict, LlmVeto, OpenAILlm, VerdictCache
from ai.llm.veto import SpendCallback
from ai.market_analyst import MarketAnalyst
from ai.meta_signal import BotConsensusSource
from ai.sources.crypto_derivatives import CryptoDerivativesSource
from ai.sources.macro import RegimeContextSource
from ai.sources.ml_model import MlModelSource
from ai.sources.multi_timeframe import MultiTimeframeSource
from ai.sources.news import NewsSentimentSource
from ai.sources.technical import TechnicalSource
from ai.veto_layer import NewsView, RulesVeto, ScheduledEvent, VetoSettings
from ai.votes import Abstention, SourceResult, VoteSource
from brokers.price_chain import PriceChain
from config.schema import Settings
from domain.signals import Signal
from filters.market_regimes import MarketRegimes
from ml_models.locations import models_directory
from news_feeds import NewsAggregator
from utils.clock import Clock


@dataclass(slots=True)
class UnavailableSource:
    """A configured source that cannot vote in this daemon: it abstains, saying why, so the
    decision trace shows every source of the design."""

    name: str
    reason: str

    async def vote(self, signal: Signal, hub: object) -> SourceResult:
        return Abstention(self.name, self.reason)


@dataclass(frozen=True, slots=True)
class LlmAccess:
    """The configured LLM client and the one daily budget that the analyst and the veto share."""

    client: LlmClient
    budget: LlmBudget


def llm_access(settings: Settings, environ: Mapping[str, str]) -> LlmAccess | None:
    """The LLM client when its provider's key is in the environment (None: no LLM in this daemon)."""
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
    budget = LlmBudget(
        config.max_tokens_per_day,
        config.max_cost_usd_per_day,
        {model: (inp, out) for model, (inp, out) in config.prices.items()},
        settings.system.timezone,
    )
    return LlmAccess(client, budget)


def ensemble_stage(
    settings: Settings,
    prices: PriceChain,
    clock: Clock,
    regimes: MarketRegimes,
    *,
    llm: LlmAccess | None = None,
    news: NewsAggregator | None = None,
    on_spend: SpendCallback | None = None,
    on_shutdown: list[Callable[[], object]] | None = None,
) -> EnsembleStage:
    """The ensemble with its eight sources; a source whose data this daemon lacks abstains, saying why.
    Teardown work (the analyst's calls in flight) is appended to `on_shutdown`."""
    config = settings.ensemble
    llm_config = settings.veto.llm
    analyst: VoteSource
    if llm is not None and config.market_analyst.enabled:
        market_analyst = MarketAnalyst(
            llm.client,
            llm.budget,
            cache_minutes=config.market_analyst.cache_minutes,
            failure_cache_minutes=config.market_analyst.failure_cache_minutes,
            total_timeout_seconds=llm_config.total_timeout_seconds,
            wait_seconds=min(config.market_analyst.wait_seconds, config.source_timeout_seconds * 0.75),
            headlines=None if news is None else news.headlines,
            on_spend=on_spend,
        )
        if on_shutdown is not None:
            on_shutdown.append(market_analyst.close)
        analyst = market_analyst
    elif llm is None:
        keys = f"{llm_config.anthropic_key_env} or {llm_config.openai_key_env}"
        analyst = UnavailableSource("market_analyst", f"no LLM key in the environment ({keys})")
    else:
        analyst = UnavailableSource(
            "market_analyst", "switched off ([ensemble.market_analyst] enabled = false)"
        )
    derivatives = config.crypto_derivatives
    crypto_derivatives: VoteSource = (
        CryptoDerivativesSource(
            DerivativesFeed(
                derivatives.exchange,
                derivatives.base_url,
                refresh_seconds=derivatives.refresh_seconds,
                timeout_seconds=derivatives.timeout_seconds,
                oi_lookback_hours=derivatives.open_interest_lookback_hours,
            ),
            max_age_seconds=config.max_vote_age_seconds.get("crypto_derivatives", 900.0),
            quote=derivatives.quote,
        )
        if derivatives.exchange
        else UnavailableSource(
            "crypto_derivatives",
            "no derivatives exchange configured ([ensemble.crypto_derivatives] exchange, e.g. binanceusdm)",
        )
    )
    sources: list[VoteSource] = [
        MlModelSource(models_directory(settings.system.var_dir), dict(config.ml_assets)),
        analyst,
        MultiTimeframeSource(),
        BotConsensusSource(window=timedelta(minutes=config.bot_consensus_minutes)),
        TechnicalSource(),
        crypto_derivatives,
        RegimeContextSource(regimes.readings, tuple(config.macro_references)),
        NewsSentimentSource(news) if news is not None else UnavailableSource("news", settings.news.why_off()),
    ]
    return EnsembleStage(
        sources,
        EnsembleSettings(
            weights=dict(config.weights),
            threshold=config.threshold,
            source_timeout_seconds=config.source_timeout_seconds,
            when_all_abstain=config.when_all_abstain,
            max_vote_age_seconds=dict(config.max_vote_age_seconds),
        ),
        lambda: DataHub(prices.bars, prices.quote, clock.now()),
    )


def veto_stage(
    settings: Settings, sessionless_venues: frozenset[str], news: NewsView | None = None
) -> RulesVeto:
    config = settings.veto
    return RulesVeto(
        VetoSettings(
            max_evidence_age_seconds=config.max_evidence_age_seconds,
            event_window_minutes=config.event_window_minutes,
            closing_window_minutes=config.closing_window_minutes,
            duplicate_window_seconds=config.duplicate_window_seconds,
            strong_news=config.strong_news,
            min_news_items=config.min_news_items,
            events=_events(settings),
            sessionless_venues=sessionless_venues,
        ),
        news,
    )


def llm_veto_stage(settings: Settings, llm: LlmAccess | None, on_spend: SpendCallback) -> LlmVeto | None:
    """The LLM veto when an LLM is available (None otherwise: the rules alone)."""
    if llm is None or settings.veto.llm.provider == "off":
        return None
    config = settings.veto.llm
    return LlmVeto(
        llm.client,
        llm.budget,
        VerdictCache[LlmVerdict](config.cache_minutes * 60),
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
