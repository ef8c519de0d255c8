"""The news source: the aggregator's sentiment for the signal's underlying, as a vote."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import ClassVar

import pytest

from ai.sources.news import NewsSentimentSource
from ai.votes import Abstention, Vote
from news_feeds import NewsAggregator, NewsItem, default_aliases
from tests.factories import T0, crypto, signal, stock


class ListedStories:
    """A news source that has these stories (the aggregator fetches it like a feed)."""

    name = "desk"
    status = "ok"

    def __init__(self, *items: NewsItem) -> None:
        self.items = list(items)

    def fetch(self, now: datetime) -> list[NewsItem]:
        return list(self.items)


class ScoresByWord:
    """Scores a text by the first of these words it contains (0 for none)."""

    name = "by-word"
    words: ClassVar[dict[str, float]] = {"soars": 0.8, "rallies": 0.4, "slumps": -0.6}

    def describe(self) -> str:
        return "scores by word"

    def score(self, texts: list[str]) -> list[float]:
        return [next((v for w, v in self.words.items() if w in t), 0.0) for t in texts]


def story(title: str, minutes_ago: int) -> NewsItem:
    return NewsItem(
        title, "", f"https://desk.example/{minutes_ago}", "desk", T0 - timedelta(minutes=minutes_ago)
    )


def aggregator(*items: NewsItem) -> NewsAggregator:
    news = NewsAggregator([ListedStories(*items)], ScoresByWord(), default_aliases(), clock=lambda: T0)
    asyncio.run(news.refresh())
    return news


def test_the_vote_is_the_mean_sentiment_and_the_confidence_grows_with_the_stories() -> None:
    news = aggregator(
        story("Bitcoin soars past its record", 30),
        story("Bitcoin rallies on ETF demand", 20),
        story("Bitcoin slumps after the open", 10),
        story("Apple slumps on weak iPhone sales", 5),  # not about BTC
    )

    result = asyncio.run(NewsSentimentSource(news).vote(signal(crypto("BTC/USD")), object()))

    assert isinstance(result, Vote)
    assert result.value == pytest.approx((0.8 + 0.4 - 0.6) / 3)  # 0.2
    assert result.confidence == pytest.approx(3 / (3 + 5))
    assert result.evidence["stories"] == 3
    assert result.evidence["latest"][0]["title"] == "Bitcoin slumps after the open"
    assert result.as_of == T0 - timedelta(minutes=10)


def test_too_few_stories_about_the_market_abstain() -> None:
    news = aggregator(story("Bitcoin soars past its record", 30))

    result = asyncio.run(NewsSentimentSource(news).vote(signal(stock("SPY")), object()))

    assert result == Abstention("news", "too few recent stories about SPY")
