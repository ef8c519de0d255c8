"""The settings schema: every key the daemon reads, with its type, default and bounds.

Models forbid unknown keys, so a misspelt key stops start-up instead of being
silently ignored (a typo in `daily_loss_limit_usd` must never mean "no limit").
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

AssetClassName = Literal["stock", "crypto", "forex", "prediction"]
RegimeName = Literal["bull", "bear", "sideways"]
ModeName = Literal["paper", "live"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown timezone {value!r} (expected an IANA name like 'America/New_York')"
        ) from exc
    return value


TimezoneName = Annotated[str, AfterValidator(_check_timezone)]


class SystemSettings(Strict):
    timezone: TimezoneName = "America/New_York"
    database: str = "var/trading.sqlite"
    var_dir: str = "var"
    registry: str = "bots.toml"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class SimulationSettings(Strict):
    seed: int = 7
    day_seconds: Annotated[int, Field(ge=60, le=86_400)] = 3600
    warmup_bars: Annotated[int, Field(ge=0, le=10_000)] = 300
    retained_days: Annotated[float, Field(gt=0, le=30)] = 3.0


def _default_quote_ages() -> dict[AssetClassName, float]:
    return {"stock": 15.0, "crypto": 10.0, "forex": 10.0, "prediction": 60.0}


def _default_regime_multipliers() -> dict[RegimeName, float]:
    return {"bull": 1.0, "sideways": 0.75, "bear": 0.5}


class RiskSettings(Strict):
    daily_loss_limit_usd: Annotated[float, Field(gt=0)] = 30.0
    max_concurrent_positions: Annotated[int, Field(ge=1)] = 25
    gross_exposure_cap_fraction: Annotated[float, Field(gt=0, le=10)] = 0.8
    reentry_cooldown_minutes: Annotated[float, Field(ge=0)] = 30.0
    risk_fraction_per_trade: Annotated[float, Field(gt=0, le=0.1)] = 0.001
    max_position_fraction: Annotated[float, Field(gt=0, le=1)] = 0.1
    max_order_notional_usd: Annotated[float, Field(gt=0)] = 25_000.0
    max_quote_age_seconds: dict[AssetClassName, Annotated[float, Field(gt=0)]] = Field(
        default_factory=_default_quote_ages
    )
    max_bot_exposure_fraction: Annotated[float, Field(gt=0, le=10)] = 0.25
    max_asset_class_exposure_fraction: dict[AssetClassName, Annotated[float, Field(gt=0, le=10)]] = Field(
        default_factory=dict
    )
    prediction_max_entry_price: Annotated[float, Field(gt=0, lt=1)] = 0.30
    losses_to_reduce: Annotated[int, Field(ge=1)] = 10
    loss_streak_multiplier: Annotated[float, Field(gt=0, le=1)] = 0.5
    wins_to_restore: Annotated[int, Field(ge=1)] = 3
    correlation_threshold: Annotated[float, Field(gt=0, lt=1)] = 0.7
    max_correlated_exposure_fraction: Annotated[float, Field(gt=0, le=10)] = 0.4
    correlation_window_bars: Annotated[int, Field(ge=10, le=10_000)] = 120
    correlation_timeframe_seconds: Annotated[int, Field(ge=60)] = 60
    cvar_budget_fraction: Annotated[float, Field(gt=0, le=1)] = 0.1
    cvar_confidence: Annotated[float, Field(gt=0.5, lt=1)] = 0.95
    cvar_method: Literal["historical", "normal", "cornish_fisher"] = "historical"
    cvar_horizon_seconds: Annotated[int, Field(ge=60)] = 86_400
    kelly_multiplier: Annotated[float, Field(gt=0, le=1)] = 0.25
    kelly_cap_fraction: Annotated[float, Field(gt=0, le=1)] = 0.05
    hrp_allocation: bool = False


class RegimeSettings(Strict):
    """The HMM regime models (filters/market_regimes.py) and what each regime does to sizes."""

    multipliers: dict[RegimeName, Annotated[float, Field(ge=0, le=2)]] = Field(
        default_factory=_default_regime_multipliers
    )
    timeframe_seconds: Annotated[int, Field(ge=60)] = 60  # bars the models are fitted and filtered on
    fit_window_bars: Annotated[int, Field(ge=150, le=20_000)] = 1000  # the rolling fit window
    states: Literal[2, 3] = 3  # 3: bull / sideways / bear; 2: bull / bear
    fit_seeds: Annotated[int, Field(ge=1, le=16)] = 4  # EM starts per fit; the best converged one wins
    volatility_window: Annotated[int, Field(ge=2, le=500)] = 20
    trend_window: Annotated[int, Field(ge=1, le=500)] = 20
    refit_hours: Annotated[float, Field(gt=0, le=24 * 30)] = 24.0
    retry_minutes: Annotated[float, Field(gt=0)] = 15.0  # after a failed fit
    check_minutes: Annotated[float, Field(gt=0, le=1440)] = 5.0  # how often fits that are due are run
    asset_classes: list[AssetClassName] = ["stock", "crypto", "forex"]  # markets that get a model

    @model_validator(mode="after")
    def _consistent(self) -> RegimeSettings:
        if self.timeframe_seconds % 60:
            raise ValueError("timeframe_seconds must be a whole number of minutes")
        missing = {"bull", "bear", "sideways"} - set(self.multipliers)
        if missing:
            raise ValueError(f"multipliers needs a value for every regime; missing {sorted(missing)}")
        needed = max(self.volatility_window, self.trend_window) + 100
        if self.fit_window_bars < needed:
            raise ValueError(
                f"fit_window_bars must be at least {needed} (the feature windows plus 100 bars to fit on)"
            )
        return self


def _check_crontab(value: str) -> str:
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(value)
    except ValueError as exc:
        raise ValueError(f"not a crontab expression (minute hour day month weekday): {exc}") from exc
    return value


class MlSettings(Strict):
    """Per-asset XGBoost models (ml_models/): the weekly retraining the daemon runs in a worker process."""

    enabled: bool = True
    assets: Annotated[
        list[Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]], Field(min_length=1)
    ] = [
        "BTC",
        "ETH",
        "SOL",
    ]
    # "simulated": the ML command line's reproducible simulated world; "shipped": daily data that ships
    # with packages (SPX, NDX); "venue": the daemon's own bars of `instruments`
    source: Literal["simulated", "shipped", "venue"] = "simulated"
    instruments: dict[
        str, str
    ] = {}  # source "venue": asset -> instrument key, e.g. BTC = "sim-crypto:BTC/USD"
    horizon: Annotated[int, Field(ge=1, le=100)] = 1  # predict the sign of the return over this many bars
    bars: Annotated[int, Field(ge=500, le=200_000)] = 3000
    timeframe_seconds: Annotated[int, Field(ge=60)] = 300
    retrain_cron: Annotated[str, AfterValidator(_check_crontab)] = "0 3 * * sat"  # system.timezone
    train_missing_on_start: bool = True  # an asset with no model at all is trained when the daemon starts

    @model_validator(mode="after")
    def _venue_instruments(self) -> MlSettings:
        if self.source == "venue":
            missing = [asset for asset in self.assets if asset not in self.instruments]
            if missing:
                raise ValueError(f"source 'venue' needs instruments for {', '.join(missing)}")
        return self


ENSEMBLE_SOURCES = (
    "ml_model",
    "market_analyst",
    "multi_timeframe",
    "bot_consensus",
    "technical",
    "crypto_derivatives",
    "macro",
    "news",
)


def _default_ensemble_weights() -> dict[str, float]:
    return {
        "ml_model": 0.20,
        "market_analyst": 0.15,
        "multi_timeframe": 0.15,
        "bot_consensus": 0.10,
        "technical": 0.10,
        "crypto_derivatives": 0.10,
        "macro": 0.10,
        "news": 0.05,
    }


def _default_vote_ages() -> dict[str, float]:
    # about twice each source's natural update interval (1-minute bars, 15-minute windows, 30-minute
    # analyses of hourly bars, news over hours)
    return {
        "ml_model": 1800.0,
        "market_analyst": 7200.0,
        "multi_timeframe": 1800.0,
        "bot_consensus": 900.0,
        "technical": 900.0,
        "crypto_derivatives": 900.0,
        "macro": 900.0,
        "news": 21600.0,
    }


class MarketAnalystSettings(Strict):
    """The LLM market analyst (ai/market_analyst.py): a view per market, on [veto.llm]'s client and budget."""

    enabled: bool = True  # used when an LLM key is in the environment
    cache_minutes: Annotated[float, Field(gt=0, le=1440)] = 30.0  # one view per market for this long
    failure_cache_minutes: Annotated[float, Field(ge=0, le=1440)] = 5.0  # a failed call is not retried sooner
    wait_seconds: Annotated[float, Field(gt=0, le=60)] = 1.5  # then "pending"; the call goes on for the next


class CryptoDerivativesSettings(Strict):
    """Funding and open interest of crypto perpetuals through ccxt (ai/derivatives_feed.py)."""

    exchange: str = ""  # a ccxt id with perpetuals, e.g. "binanceusdm"; empty: the source abstains
    base_url: str | None = None  # another host speaking the exchange's API
    quote: str = "USDT"  # the perpetual's quote and settle currency: BTC -> BTC/USDT:USDT
    refresh_seconds: Annotated[float, Field(gt=0, le=3600)] = 60.0
    timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 10.0
    open_interest_lookback_hours: Annotated[int, Field(ge=1, le=499)] = 24


class EnsembleSettings(Strict):
    """The signal ensemble (ai/ensemble.py): eight sources vote; weights renormalise over those that do."""

    enabled: bool = True
    weights: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=_default_ensemble_weights)
    # an entry passes when the weighted vote leans its way by at least this much (0: not against it)
    threshold: Annotated[float, Field(ge=-1, le=1)] = 0.0
    source_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 2.0
    when_all_abstain: Literal["pass", "reject"] = "pass"
    macro_references: list[str] = ["sim-stocks:SPY"]  # markets whose regime colours every vote
    # instrument symbol -> the asset whose model votes on it
    ml_assets: dict[str, str] = {"BTC/USD": "BTC", "ETH/USD": "ETH", "SOL/USD": "SOL"}
    bot_consensus_minutes: Annotated[float, Field(gt=0, le=1440)] = 15.0
    # the oldest data each source may vote on (seconds); an older vote counts as an abstention
    max_vote_age_seconds: dict[str, Annotated[float, Field(gt=0)]] = Field(default_factory=_default_vote_ages)

    market_analyst: MarketAnalystSettings = MarketAnalystSettings()
    crypto_derivatives: CryptoDerivativesSettings = CryptoDerivativesSettings()

    @field_validator("max_vote_age_seconds")
    @classmethod
    def _known_aged_sources(cls, ages: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(ages) - set(ENSEMBLE_SOURCES))
        if unknown:
            raise ValueError(f"unknown source(s) {unknown}; the sources are {list(ENSEMBLE_SOURCES)}")
        return ages

    @field_validator("weights")
    @classmethod
    def _known_sources(cls, weights: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(weights) - set(ENSEMBLE_SOURCES))
        if unknown:
            raise ValueError(f"unknown source(s) {unknown}; the sources are {list(ENSEMBLE_SOURCES)}")
        if not any(weights.values()):
            raise ValueError("at least one source needs a weight above 0")
        return weights


class ScheduledEventSettings(Strict):
    name: str
    time: datetime  # with its offset, e.g. 2026-12-10T14:00:00-05:00
    asset_classes: list[AssetClassName] = []  # empty: every class
    symbols: list[str] = []  # empty: every symbol of those classes

    @field_validator("time")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give the event time with its UTC offset, e.g. 2026-12-10T14:00:00-05:00")
        return value


def _default_llm_prices() -> dict[str, tuple[float, float]]:
    # USD per million input and output tokens; set them to your own contract's prices
    return {"claude-haiku-5-5": (1.0, 5.0), "gpt-4o-mini": (0.15, 0.60)}


class LlmVetoSettings(Strict):
    """The LLM veto (ai/llm/): used when its provider's key is in the environment, beside the rules."""

    provider: Literal["auto", "anthropic", "openai", "off"] = (
        "auto"  # auto: whichever key is set, Anthropic first
    )
    anthropic_model: str = "claude-haiku-5-5"
    openai_model: str = "gpt-4o-mini"
    anthropic_key_env: str = "ANTHROPIC_API_KEY"
    openai_key_env: str = "OPENAI_API_KEY"
    base_url: str | None = None  # another endpoint speaking the provider's API
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 20.0  # per request; the SDK retries within
    total_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 30.0  # the most a verdict may take
    max_retries: Annotated[int, Field(ge=0, le=5)] = 2
    max_tokens_per_day: Annotated[int, Field(ge=0)] = 200_000
    max_cost_usd_per_day: Annotated[float, Field(ge=0)] = 2.0
    prices: dict[str, tuple[float, float]] = Field(default_factory=_default_llm_prices)
    on_failure: Literal["veto", "approve"] = (
        "veto"  # a malformed, late or refused answer, or the budget spent
    )
    cache_minutes: Annotated[float, Field(ge=0)] = 10.0


class VetoFollowUpSettings(Strict):
    """Veto analytics (ai/veto_followup.py): each vetoed entry followed on paper at these horizons."""

    enabled: bool = True
    horizons_minutes: Annotated[list[Annotated[int, Field(gt=0, le=43_200)]], Field(min_length=1)] = [
        60,
        240,
        1440,
    ]
    check_seconds: Annotated[int, Field(ge=10, le=3600)] = 60
    grace_minutes: Annotated[float, Field(ge=0)] = 60.0  # a horizon without a price is given up after this


class VetoSettings(Strict):
    """The rules veto (ai/veto_layer.py): deterministic reasons to refuse an entry."""

    enabled: bool = True
    max_evidence_age_seconds: Annotated[float, Field(gt=0)] = 180.0
    event_window_minutes: Annotated[float, Field(ge=0)] = 30.0
    closing_window_minutes: Annotated[float, Field(ge=0)] = 10.0
    duplicate_window_seconds: Annotated[float, Field(ge=0)] = 60.0
    # news against an entry vetoes it: mean sentiment at least this strong over at least min_news_items
    strong_news: Annotated[float, Field(gt=0, le=1)] = 0.6
    min_news_items: Annotated[int, Field(ge=1)] = 3
    events: list[ScheduledEventSettings] = []
    llm: LlmVetoSettings = LlmVetoSettings()
    follow_up: VetoFollowUpSettings = VetoFollowUpSettings()


VenueKind = Literal["simulated", "alpaca", "oanda", "kalshi", "polymarket", "coinbase", "ccxt"]


class VenueSettings(Strict):
    """A venue the router can send to. `kind` picks the implementation.

    `simulated` venues trade the embedded world. The others are real venues: bots
    in `live` mode on them go through the venue's adapter, bots in `paper` mode
    through a paper broker filling against the venue's own quotes. Keys never go
    here; they come from the environment (see the README's venue sections).
    """

    kind: VenueKind = "simulated"
    asset_class: AssetClassName
    # the paper account's cash; on a live account, the budget its bots may size from (capped at start
    # by the free cash the venue reports)
    starting_cash_usd: Annotated[float, Field(gt=0)] = 10_000.0
    taker_fee_bps: Annotated[float, Field(ge=0, le=500)] = 0.0
    maker_fee_bps: Annotated[float, Field(ge=0, le=500)] = 0.0
    slippage_bps: Annotated[float, Field(ge=0, le=500)] = 1.0
    impact_bps_per_10k_usd: Annotated[float, Field(ge=0, le=500)] = 0.5
    # The paper account's fees: "bps" uses taker/maker_fee_bps; "kalshi" Kalshi's exact quadratic
    # schedule (fee_multiplier scales it); "polymarket" the taker fee rate x (p(1-p)) of fee_rate.
    fee_model: Literal["bps", "kalshi", "polymarket"] = "bps"
    fee_multiplier: Annotated[float, Field(ge=0, le=10)] = 1.0
    fee_rate: Annotated[float, Field(ge=0, le=1)] = 0.0
    # A second venue of the same asset class whose quotes are used when this one has none
    # (the price chain: this venue, then that one, then no price at all).
    fallback_price_venue: str | None = None
    # --- real venues only -------------------------------------------------------------------
    # "sandbox" is the venue's own test environment (Alpaca paper, OANDA practice, Kalshi demo,
    # a ccxt exchange's sandbox); "production" trades real money.
    environment: Literal["sandbox", "production"] = "sandbox"
    base_url: str | None = None  # overrides the environment's REST host (a proxy, a local fake)
    data_url: str | None = None  # a second host where the venue has one (Alpaca data, Polymarket Gamma)
    exchange: str | None = None  # the ccxt exchange id, e.g. "kraken" (kind = "ccxt" only)
    symbols: list[str] = Field(default_factory=list)  # the venue's instruments the bots may trade
    # kind "kalshi": series (KXHIGHCHI) whose open markets are listed too, at start and as they open
    series: list[str] = Field(default_factory=list)
    credentials_env_prefix: str | None = None  # default: the kind, upper-cased (ALPACA_API_KEY, ...)
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0
    max_attempts: Annotated[int, Field(ge=1, le=10)] = 4
    requests_per_second: Annotated[float, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _real_venue_fields(self) -> VenueSettings:
        if self.kind == "ccxt" and not self.exchange:
            raise ValueError("exchange is required when kind is 'ccxt' (a ccxt exchange id such as 'kraken')")
        if self.kind != "ccxt" and self.exchange is not None:
            raise ValueError(f"exchange applies only to kind 'ccxt', not {self.kind!r}")
        if self.series and self.kind != "kalshi":
            raise ValueError(f"series applies only to kind 'kalshi', not {self.kind!r}")
        bad = [s for s in self.series if not s or "-" in s or s != s.strip()]
        if bad:
            raise ValueError(f"series takes series tickers such as 'KXHIGHCHI', not {bad}")
        if self.kind != "simulated" and not self.symbols and not self.series:
            raise ValueError(f"symbols must list the {self.kind} instruments the bots may trade")
        return self


class FleetSettings(Strict):
    """The fleet (`bots/fleet/`): registry bots with `fleet = true` share capital by Thompson sampling.

    Each sub-bot's posterior over its per-trade return in R (net P&L over the risk taken at entry)
    learns from its closed trades, forgetting old ones by `discount` a trade; every
    `allocation_minutes` the weights are drawn anew, journaled, and turned into a size multiplier of
    weight x sub-bots (an equal share is x1), at most `max_size_multiplier`.
    """

    enabled: bool = True  # active when some registry bot has fleet = true
    # "thompson": one posterior per sub-bot; "regime": one per sub-bot and market regime, each sub-bot
    # judged on its record in the regime its market is in now (which sub-bots to trust when)
    controller: Literal["thompson", "regime"] = "thompson"
    allocation_minutes: Annotated[float, Field(gt=0, le=1440)] = 60.0
    discount: Annotated[float, Field(gt=0, le=1)] = 0.97  # a memory of about 33 trades
    floor: Annotated[float, Field(ge=0, le=1)] = 0.01  # no sub-bot starves...
    cap: Annotated[float, Field(gt=0, le=1)] = 0.25  # ...and none dominates
    draws: Annotated[int, Field(ge=100, le=100_000)] = 2000
    max_size_multiplier: Annotated[float, Field(gt=0, le=10)] = 2.0
    seed: int = 7
    # the fleet's own limits over its sub-bots together, inside the daemon's
    daily_loss_limit_usd: Annotated[float, Field(gt=0)] = 20.0
    max_positions: Annotated[int, Field(ge=1)] = 12
    gross_exposure_cap_fraction: Annotated[float, Field(gt=0, le=10)] = 0.4

    @model_validator(mode="after")
    def _bounds(self) -> FleetSettings:
        if self.floor > self.cap:
            raise ValueError(f"floor {self.floor} is above cap {self.cap}")
        return self


class GoLiveSettings(Strict):
    """What a bot's record must show before the daemon starts it in live mode (`backtest.go_live`)."""

    enabled: bool = True  # off only for tests against fake venues: it lets any bot trade real money
    min_trades: Annotated[int, Field(ge=0)] = 100
    min_win_rate: Annotated[float, Field(ge=0, le=1)] = 0.45
    min_sharpe: float = 1.0
    # journals of `python -m backtest replay` runs whose record also counts: a bot passes when its paper
    # record or any of these replays' records passes (paths as written, like system.database)
    replay_journals: list[str] = []


class OrchestratorSettings(Strict):
    equity_snapshot_seconds: Annotated[int, Field(ge=1)] = 60
    exit_check_seconds: Annotated[int, Field(ge=1)] = 5
    fill_poll_seconds: Annotated[int, Field(ge=1)] = 2
    reconcile_seconds: Annotated[int, Field(ge=10)] = 300
    max_consecutive_failures: Annotated[int, Field(ge=1)] = 5
    shutdown_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 8.0
    misfire_grace_seconds: Annotated[int, Field(ge=1)] = 30
    bot_run_retention_days: Annotated[float, Field(gt=0)] = 7.0


class DashboardSettings(Strict):
    """The web dashboard, served by the daemon. Control actions need the token in `token_env`."""

    enabled: bool = True
    host: str = "127.0.0.1"  # only this machine; set "0.0.0.0" deliberately, behind TLS and a firewall
    port: Annotated[int, Field(ge=0, le=65_535)] = 8050  # 0: any free port (tests)
    token_env: str = "DASHBOARD_TOKEN"  # environment variable holding the bearer token for control


class TelegramSettings(Strict):
    """Telegram control and alerts; active only when the bot token is in the environment."""

    enabled: bool = True
    token_env: str = "TELEGRAM_BOT_TOKEN"
    allowed_chat_ids: list[int] = Field(default_factory=list)  # plus TELEGRAM_ALLOWED_CHAT_IDS (comma list)
    allowed_chat_ids_env: str = "TELEGRAM_ALLOWED_CHAT_IDS"
    base_url: str | None = None  # the Bot API host; a local fake in tests
    daily_summary_time: str = "17:00"  # local time in system.timezone, HH:MM
    alert_batch_seconds: Annotated[float, Field(gt=0, le=3600)] = 10.0  # fills this close: one message
    messages_per_second: Annotated[float, Field(gt=0, le=30)] = 1.0  # per chat, under Telegram's limits

    @field_validator("daily_summary_time")
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        hours, _, minutes = value.partition(":")
        if not (hours.isdigit() and minutes.isdigit() and 0 <= int(hours) < 24 and 0 <= int(minutes) < 60):
            raise ValueError(f"daily_summary_time must be HH:MM, got {value!r}")
        return value


class RssFeedSettings(Strict):
    name: str
    url: str


class NewsSettings(Strict):
    """News and sentiment (news_feeds/): RSS feeds and NewsAPI, scored by FinBERT or the lexicon."""

    enabled: bool = True  # used when a feed is configured or the NewsAPI key is set
    rss_feeds: list[RssFeedSettings] = []
    newsapi_key_env: str = "NEWSAPI_KEY"
    newsapi_base_url: str = "https://newsapi.org"
    newsapi_query: str = 'bitcoin OR ethereum OR stocks OR "federal reserve" OR forex'
    newsapi_requests_per_day: Annotated[int, Field(ge=1, le=100_000)] = 100
    refresh_minutes: Annotated[float, Field(ge=1, le=1440)] = 15.0
    window_hours: Annotated[float, Field(gt=0, le=168)] = 6.0  # stories older than this no longer count
    min_items: Annotated[int, Field(ge=1)] = 2  # fewer stories about a market: no sentiment for it
    duplicate_threshold: Annotated[float, Field(ge=50, le=100)] = 90.0  # rapidfuzz token-set ratio
    # a saved FinBERT (transformers) directory; empty or unloadable: the Loughran-McDonald lexicon
    finbert_model_dir: str = ""
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0

    def why_off(self) -> str:
        """Why a daemon with these settings reads no news (when it has no feed)."""
        if not self.enabled:
            return "news is switched off ([news] enabled = false)"
        return f"no news feed configured ([news] rss_feeds, or {self.newsapi_key_env} in the environment)"


class PredictionSettings(Strict):
    """Prediction markets (bots/event_trading/): the consensus of the domain sources and the 3-gate entry."""

    simulated_days: Annotated[int, Field(ge=1, le=120)] = 30  # the simulated venue lists this many days
    min_sources: Annotated[int, Field(ge=1, le=10)] = 2  # an edge needs this many sources on one side
    prior_brier: Annotated[float, Field(gt=0, le=1)] = 0.20  # a source's calibration before any settles
    prior_weight: Annotated[float, Field(gt=0)] = 10.0  # settled markets' worth of trust in the prior
    min_edge: Annotated[float, Field(ge=0, lt=1)] = 0.05  # gate 1: P(side) - (ask + fee) at least this
    ml_gate_min_training: Annotated[int, Field(ge=10)] = 200  # gate 2: settled edges before the model
    ml_gate_min_side_probability: Annotated[float, Field(ge=0, lt=1)] = 0.15  # gate 2's prior
    ml_gate_max_source_spread: Annotated[float, Field(gt=0, le=1)] = 0.25  # gate 2's prior
    price_lookback_minutes: Annotated[float, Field(gt=0, le=1440)] = 60.0  # gate 3: the trades it reads
    max_premium_to_vwap: Annotated[float, Field(ge=0, lt=1)] = 0.03
    max_adverse_drift: Annotated[float, Field(gt=0, lt=1)] = 0.10
    spike_move: Annotated[float, Field(gt=0, lt=1)] = 0.08
    spike_window_minutes: Annotated[float, Field(gt=0, le=240)] = 5.0
    estimate_ttl_seconds: Annotated[float, Field(ge=0, le=3600)] = 60.0  # bots share one ask this long
    source_timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0
    settle_check_seconds: Annotated[int, Field(ge=10, le=3600)] = 60
    # venues list new markets every day: the daemon looks for them this often
    listing_refresh_minutes: Annotated[float, Field(ge=1, le=1440)] = 60.0
    # a real venue is asked about each watched market's settlement at most this often
    live_settlement_check_minutes: Annotated[float, Field(gt=0, le=1440)] = 15.0
    # --- the real sources, used for bots on real venues (Kalshi, Polymarket) --------------------
    stations: str = "stations.toml"  # the settlement-station table, relative to the settings file
    nws_user_agent: str = "multi-asset-trader (operator contact: set [prediction] nws_user_agent)"
    fred_key_env: str = "FRED_API_KEY"  # FRED and GDPNow run only when this key is in the environment
    odds_key_env: str = "ODDS_API_KEY"  # sportsbook odds only with this key...
    odds_sports: list[str] = []  # ...and the Odds API sport keys to read, e.g. ["americanfootball_nfl"]
    odds_requests_per_day: Annotated[int, Field(ge=1)] = 15  # the free tier's 500 a month
    kalshi_tape_url: str = "https://api.elections.kalshi.com/trade-api/v2"  # the whale tracker's tape


class Settings(Strict):
    system: SystemSettings = SystemSettings()
    dashboard: DashboardSettings = DashboardSettings()
    telegram: TelegramSettings = TelegramSettings()
    simulation: SimulationSettings = SimulationSettings()
    risk: RiskSettings = RiskSettings()
    regimes: RegimeSettings = RegimeSettings()
    ml: MlSettings = MlSettings()
    ensemble: EnsembleSettings = EnsembleSettings()
    veto: VetoSettings = VetoSettings()
    news: NewsSettings = NewsSettings()
    prediction: PredictionSettings = PredictionSettings()
    go_live: GoLiveSettings = GoLiveSettings()
    fleet: FleetSettings = FleetSettings()
    orchestrator: OrchestratorSettings = OrchestratorSettings()
    venues: dict[str, VenueSettings] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _fallback_venues_exist(self) -> Settings:
        for name, venue in self.venues.items():
            fallback = venue.fallback_price_venue
            if fallback is None:
                continue
            other = self.venues.get(fallback)
            if other is None or fallback == name:
                raise ValueError(f"venues.{name}.fallback_price_venue: {fallback!r} is not another venue")
            if other.asset_class != venue.asset_class:
                raise ValueError(
                    f"venues.{name}.fallback_price_venue: {fallback!r} trades {other.asset_class}, "
                    f"not {venue.asset_class}"
                )
        return self


class IntervalSchedule(Strict):
    interval_seconds: Annotated[int, Field(ge=10, le=86_400)]
    timezone: TimezoneName | None = None


class CronSchedule(Strict):
    """Five-field crontab (`minute hour day month day_of_week`) in `timezone`."""

    cron: str
    timezone: TimezoneName | None = None

    @field_validator("cron")
    @classmethod
    def _five_fields(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError(f"cron {value!r} must have five fields: minute hour day month day_of_week")
        return value


def _schedule_kind(value: object) -> str:
    if isinstance(value, dict):
        return "cron schedule" if "cron" in value else "interval schedule"
    return "cron schedule" if isinstance(value, CronSchedule) else "interval schedule"


# Tags contain a space so the error formatter can tell them from keys a user wrote.
Schedule = Annotated[
    Annotated[IntervalSchedule, Tag("interval schedule")] | Annotated[CronSchedule, Tag("cron schedule")],
    Discriminator(_schedule_kind),
]


class BotEntry(Strict):
    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
    bot_class: Annotated[str, Field(alias="class", min_length=1)]
    instruments: Annotated[list[str], Field(min_length=1)]
    venue: str
    mode: ModeName = "paper"
    schedule: Schedule
    timeframe_seconds: Annotated[int, Field(ge=1, le=86_400)] = 60
    regimes: Annotated[list[RegimeName], Field(min_length=1)] = ["bull", "bear", "sideways"]
    enabled: bool = True
    params: dict[str, int | float | str | bool | list[str]] = Field(default_factory=dict)
    fleet: bool = False  # a sub-bot of the fleet: its size follows the fleet's allocation
    # this bot's cap on what a prediction contract may cost, instead of [risk] prediction_max_entry_price
    prediction_max_entry_price: Annotated[float, Field(gt=0, lt=1)] | None = None
    # a bot that also trades a second venue (a cross-venue arbitrage): that venue and its markets there
    second_venue: str | None = None
    second_instruments: list[str] = Field(default_factory=list)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _second_venue_with_its_markets(self) -> BotEntry:
        if (self.second_venue is None) != (not self.second_instruments):
            raise ValueError("second_venue and second_instruments go together: name both or neither")
        if self.second_venue is not None and self.second_venue == self.venue:
            raise ValueError(f"second_venue {self.second_venue!r} is the bot's own venue")
        return self

    @property
    def venues(self) -> tuple[str, ...]:
        """The venue the bot trades, and its second venue when it has one."""
        return (self.venue,) if self.second_venue is None else (self.venue, self.second_venue)


class Registry(Strict):
    bots: list[BotEntry]

    @model_validator(mode="after")
    def _unique_names(self) -> Registry:
        seen: set[str] = set()
        for bot in self.bots:
            if bot.name in seen:
                raise ValueError(f"bot name {bot.name!r} is used twice")
            seen.add(bot.name)
        return self
