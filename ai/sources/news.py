"""The news source: the sentiment of recent stories about the signal's market.

The vote is the mean score of the window's stories about the instrument's underlying
(`news_feeds.NewsAggregator.sentiment`: FinBERT or the Loughran-McDonald lexicon, each
story in [-1, 1]); the confidence grows with how many stories there are, n / (n + 5), so
two stories count for little and twenty for most of what a vote can carry. Abstains
when there are fewer stories than the aggregator's minimum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ai.votes import Abstention, SourceResult, Vote
from domain.instruments import Instrument
from domain.signals import Signal

HALF_CONFIDENCE_STORIES = 5  # n at which the confidence reaches 0.5


class NewsReadings(Protocol):
    """What the source reads (`news_feeds.NewsAggregator` is one)."""

    async def sentiment(self, instrument: Instrument) -> tuple[float, int] | None: ...

    def headlines(self, instrument: Instrument, limit: int = 10) -> Sequence[tuple[datetime, str, float]]: ...


@dataclass(slots=True)
class NewsSentimentSource:
    news: NewsReadings
    name: str = "news"

    async def vote(self, signal: Signal, hub: object) -> SourceResult:
        instrument = signal.instrument
        reading = await self.news.sentiment(instrument)
        if reading is None:
            return Abstention(self.name, f"too few recent stories about {instrument.underlying}")
        score, stories = reading
        latest = self.news.headlines(instrument, limit=3)
        return Vote(
            self.name,
            max(-1.0, min(1.0, score)),
            stories / (stories + HALF_CONFIDENCE_STORIES),
            {
                "stories": stories,
                "mean_score": round(score, 4),
                "latest": [
                    {"at": at.isoformat(), "title": title, "score": round(s, 3)} for at, title, s in latest
                ],
            },
            max((at for at, _, _ in latest), default=None),
        )
