"""News in the daemon: the aggregator built from `[news]`, refreshed on a schedule, its state
journaled for the dashboard (which scorer is active, how each feed is doing)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from config.schema import Settings
from news_feeds import (
    DeferredScorer,
    EscalatingBackoff,
    NewsAggregator,
    NewsApi,
    NewsSource,
    RequestBudget,
    RssFeed,
    cached_session,
    default_aliases,
)
from utils.clock import Clock

log = logging.getLogger(__name__)

HTTP_CACHE_FILE = "news_http_cache.sqlite"


class NewsService:
    """The aggregator and its refresh job; `on_status` receives the state after every refresh."""

    def __init__(self, aggregator: NewsAggregator, on_status: Callable[[str], None], clock: Clock) -> None:
        self.aggregator = aggregator
        self._on_status = on_status
        self._clock = clock
        self._last_refresh: datetime | None = None
        self._last_added = 0

    async def refresh(self) -> None:
        try:
            self._last_added = await self.aggregator.refresh()
        except Exception:
            log.exception("news refresh failed")
        self._last_refresh = self._clock.now()
        self._on_status(json.dumps(self.status()))

    def status(self) -> dict[str, Any]:
        return {
            "scorer": self.aggregator.scorer.describe(),
            "sources": self.aggregator.health(),
            "stories": len(self.aggregator.items()),
            "added_last_refresh": self._last_added,
            "refreshed_at": None if self._last_refresh is None else self._last_refresh.isoformat(),
        }


def news_sources(settings: Settings, environ: Mapping[str, str], clock: Clock) -> list[NewsSource]:
    """The configured feeds, and NewsAPI when its key is in the environment (none: no news)."""
    config = settings.news
    key = environ.get(config.newsapi_key_env, "")
    if not config.enabled or not (config.rss_feeds or key):
        return []
    session = cached_session(
        Path(settings.system.var_dir) / HTTP_CACHE_FILE, expire_seconds=config.refresh_minutes * 60
    )
    sources: list[NewsSource] = [
        RssFeed(feed.name, feed.url, session, timeout=config.timeout_seconds) for feed in config.rss_feeds
    ]
    if key:
        sources.append(
            NewsApi(
                key,
                config.newsapi_base_url,
                session,
                RequestBudget(config.newsapi_requests_per_day, ZoneInfo(settings.system.timezone)),
                EscalatingBackoff(),
                query=config.newsapi_query,
                lookback=timedelta(hours=config.window_hours),
                timeout=config.timeout_seconds,
            )
        )
    return sources


def build_news(
    settings: Settings, environ: Mapping[str, str], clock: Clock, on_status: Callable[[str], None]
) -> NewsService | None:
    sources = news_sources(settings, environ, clock)
    if not sources:
        return None
    config = settings.news
    aggregator = NewsAggregator(
        sources,
        DeferredScorer(Path(config.finbert_model_dir) if config.finbert_model_dir else None),
        default_aliases(),
        window=timedelta(hours=config.window_hours),
        min_items=config.min_items,
        clock=clock.now,
        duplicate_threshold=config.duplicate_threshold,
    )
    return NewsService(aggregator, on_status, clock)
