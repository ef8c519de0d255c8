"""NewsAggregator: the news sources polled together, deduplicated, tagged, scored and kept for a window.

It is the `NewsView` the veto layer asks (`ai.veto_layer.NewsView`):
`sentiment(instrument)` is the mean score of the window's stories about the
instrument's underlying, with how many there were.

Forex pairs: stories are tagged with currencies, not pairs (see
`news_feeds.tagging`). For a FOREX instrument whose underlying is a pair
("EUR_USD", "EUR/USD"), a story tagged with the base currency counts with its
score and one tagged with the quote currency with the opposite sign (a bullish
dollar story is bearish for EUR/USD). A story naming both counts once, as a
base-currency story: such headlines are usually written about the pair's move.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from domain.instruments import AssetClass, Instrument
from news_feeds.dedupe import merge_near_duplicates
from news_feeds.items import NewsItem
from news_feeds.sentiment import SentimentScorer
from news_feeds.tagging import AssetAliases, pair_currencies, tag

log = logging.getLogger(__name__)


class NewsSource(Protocol):
    """Anything that fetches stories synchronously: `RssFeed`, `NewsApi`.

    `status` is the source's own word on its last fetch ("ok, ..." when it went
    well, "429, paused until 15:10", "budget spent: ..." otherwise)."""

    name: str
    status: str

    def fetch(self, now: datetime) -> list[NewsItem]: ...


@dataclass(frozen=True, slots=True)
class ScoredItem:
    item: NewsItem
    score: float


def _identity(item: NewsItem) -> tuple[str, str]:
    """What makes a re-fetched story the same story: its outlet and link (or title, without a link)."""
    return item.source, item.url or item.title


def _story(item: NewsItem) -> tuple[str, str, str, datetime]:
    return item.source, item.url, item.title, item.published_at


class NewsAggregator:
    def __init__(
        self,
        sources: Sequence[NewsSource],
        scorer: SentimentScorer,
        aliases: AssetAliases,
        *,
        window: timedelta = timedelta(hours=6),
        min_items: int = 2,
        clock: Callable[[], datetime],
        duplicate_threshold: float = 90,
    ) -> None:
        if min_items < 1:
            raise ValueError(f"min_items must be at least 1, got {min_items}")
        self.sources = list(sources)
        self.scorer = scorer
        self.aliases = aliases
        self.window = window
        self.min_items = min_items
        self.clock = clock
        self.duplicate_threshold = duplicate_threshold
        self._held: list[ScoredItem] = []
        # every story already taken in (kept or merged), so a re-fetch does not count it again
        self._seen: dict[tuple[str, str], datetime] = {}
        self._health: dict[str, str] = {source.name: "not fetched yet" for source in self.sources}

    # ------------------------------------------------------------------ refreshing
    async def refresh(self) -> int:
        """Fetch every source, keep the window's new stories; returns how many stories were added."""
        now = self.clock()
        results = await asyncio.gather(
            *(asyncio.to_thread(source.fetch, now) for source in self.sources), return_exceptions=True
        )
        fetched: list[NewsItem] = []
        for source, result in zip(self.sources, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result
                log.warning("news source %s failed: %s", source.name, result)
                self._health[source.name] = f"failed: {result}"
                continue
            if source.status.startswith("ok"):
                self._health[source.name] = f"ok, {len(result)} items at {now.astimezone(UTC):%H:%M}"
            else:
                self._health[source.name] = source.status
            fetched.extend(result)
        return await self._take_in(fetched, now)

    async def _take_in(self, fetched: list[NewsItem], now: datetime) -> int:
        cutoff = now - self.window
        self._held = [held for held in self._held if held.item.published_at >= cutoff]
        self._seen = {key: at for key, at in self._seen.items() if at >= cutoff}
        new: list[NewsItem] = []
        for item in fetched:
            key = _identity(item)
            if item.published_at < cutoff or key in self._seen:
                continue
            self._seen[key] = item.published_at
            new.append(tag(item, self.aliases))
        if not new:
            return 0
        scores = {_story(held.item): held.score for held in self._held}
        merged = merge_near_duplicates([*(held.item for held in self._held), *new], self.duplicate_threshold)
        unscored = [item for item in merged if _story(item) not in scores]
        if unscored:
            fresh_scores = await asyncio.to_thread(self.scorer.score, [item.text for item in unscored])
            scores.update(zip(map(_story, unscored), fresh_scores, strict=True))
        self._held = [ScoredItem(item, scores[_story(item)]) for item in merged]
        return len(unscored)

    # ------------------------------------------------------------------ reading
    def _signed_scores(self, underlying: str, asset_class: AssetClass | None) -> list[tuple[NewsItem, float]]:
        cutoff = self.clock() - self.window
        pair = pair_currencies(underlying) if asset_class in (AssetClass.FOREX, None) else None
        found: list[tuple[NewsItem, float]] = []
        for held in self._held:
            item = held.item
            if item.published_at < cutoff:
                continue
            if pair is None:
                if underlying in item.assets:
                    found.append((item, held.score))
            elif pair[0] in item.assets:
                found.append((item, held.score))
            elif pair[1] in item.assets:
                found.append((item, -held.score))
        return found

    async def sentiment(self, instrument: Instrument) -> tuple[float, int] | None:
        """(mean score in [-1, 1], number of stories) over the window, or None below `min_items`."""
        found = self._signed_scores(instrument.underlying, instrument.asset_class)
        if len(found) < self.min_items:
            return None
        return sum(score for _, score in found) / len(found), len(found)

    def headlines(self, instrument: Instrument, limit: int = 10) -> list[tuple[datetime, str, float]]:
        """The newest stories about the instrument (published at, title, score signed for it)."""
        found = self._signed_scores(instrument.underlying, instrument.asset_class)
        found.sort(key=lambda pair: pair[0].published_at, reverse=True)
        return [(item.published_at, item.title, score) for item, score in found[:limit]]

    def latest(self, underlying: str) -> datetime | None:
        """The newest story's time for an underlying (a pair reads both currencies), or None."""
        found = self._signed_scores(underlying, None)
        return max((item.published_at for item, _ in found), default=None)

    def items(self) -> list[ScoredItem]:
        """The window's stories, oldest first, with their scores."""
        return list(self._held)

    def health(self) -> dict[str, str]:
        """Per source: "ok, 12 items at 14:03", "429, paused until 15:10", "budget spent: ...",
        or "failed: <reason>"."""
        return dict(self._health)
