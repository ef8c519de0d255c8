from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest

from ai.veto_layer import NewsView
from domain.instruments import AssetClass, Instrument
from news_feeds.aggregator import NewsAggregator, NewsSource
from news_feeds.newsapi import NewsApi
from news_feeds.rss import RssFeed
from news_feeds.sentiment import LexiconScorer
from news_feeds.tagging import default_aliases
from tests.fakes.newsapi import API_KEY, FakeNewsApi
from tests.fakes.server import Fault
from tests.news_feeds.conftest import NOW, ManualClock
from utils.http_cache import cached_session
from utils.request_budget import EscalatingBackoff, RequestBudget


class KeywordScorer:
    """+0.5 for a story with an up-word, -0.5 for a down-word, 0 otherwise; remembers what it scored."""

    name = "keywords"
    UP = ("jumps", "climbs", "record", "rallies")
    DOWN = ("slides", "outage", "falls", "cuts")

    def __init__(self) -> None:
        self.scored: list[str] = []

    def describe(self) -> str:
        return "keyword test scorer"

    def score(self, texts: list[str]) -> list[float]:
        self.scored.extend(texts)
        return [self._one(text.lower()) for text in texts]

    def _one(self, text: str) -> float:
        if any(word in text for word in self.DOWN):
            return -0.5
        return 0.5 if any(word in text for word in self.UP) else 0.0


def instrument(symbol: str, asset_class: AssetClass, underlying: str) -> Instrument:
    return Instrument(symbol, "sim", asset_class, Decimal("0.01"), Decimal("1"), underlying)


BTC = instrument("BTC/USD", AssetClass.CRYPTO, "BTC")
SOL = instrument("SOL/USD", AssetClass.CRYPTO, "SOL")
SPY = instrument("SPY", AssetClass.STOCK, "SPY")
EUR_USD = instrument("EUR_USD", AssetClass.FOREX, "EUR_USD")
GBP_USD = instrument("GBP_USD", AssetClass.FOREX, "GBP_USD")


def newsapi(fake: FakeNewsApi, clock: ManualClock, per_day: int = 100) -> NewsApi:
    return NewsApi(
        API_KEY,
        fake.url,
        cached_session(None, 0),
        RequestBudget(per_day),
        EscalatingBackoff(),
        query="bitcoin OR forex",
    )


def aggregator(
    fake: FakeNewsApi,
    clock: ManualClock,
    *,
    scorer: object | None = None,
    extra: list[NewsSource] | None = None,
    min_items: int = 2,
) -> NewsAggregator:
    session = cached_session(None, 0)
    sources: list[NewsSource] = [
        RssFeed("Markets Wire", f"{fake.url}/feeds/markets.rss", session),
        RssFeed("Crypto Desk", f"{fake.url}/feeds/crypto.atom", session),
        *(extra or []),
    ]
    return NewsAggregator(
        sources,
        scorer or KeywordScorer(),  # type: ignore[arg-type]
        default_aliases(),
        window=timedelta(hours=6),
        min_items=min_items,
        clock=clock,
    )


def script_articles(fake: FakeNewsApi) -> None:
    fake.add("Bitcoin miners expand record capacity", NOW - timedelta(minutes=10), outlet="CoinDesk")
    fake.add("U.S. dollar falls after weak jobs data", NOW - timedelta(minutes=20), outlet="Reuters")
    fake.add("Fed official says inflation falls faster than expected", NOW - timedelta(minutes=30))


def test_one_failing_source_is_recorded_and_the_others_go_on(
    fake_newsapi: FakeNewsApi, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock()
    broken = RssFeed("Gone Feed", f"{fake_newsapi.url}/feeds/gone.rss", cached_session(None, 0))
    news = aggregator(fake_newsapi, clock, extra=[broken])

    added = asyncio.run(news.refresh())

    assert added == 4
    assert news.health() == {
        "Markets Wire": "ok, 2 items at 14:10",
        "Crypto Desk": "ok, 2 items at 14:10",
        "Gone Feed": f"failed: Gone Feed: HTTP 404 from {fake_newsapi.url}/feeds/gone.rss",
    }
    assert "news source Gone Feed failed" in caplog.text


def test_sentiment_is_the_mean_of_the_underlyings_stories(fake_newsapi: FakeNewsApi) -> None:
    clock = ManualClock()
    script_articles(fake_newsapi)
    news = aggregator(fake_newsapi, clock, extra=[newsapi(fake_newsapi, clock)])
    view: NewsView = news

    asyncio.run(news.refresh())

    # "Bitcoin jumps 5% as ETF inflows surge" and "Bitcoin miners expand record capacity"
    assert asyncio.run(view.sentiment(BTC)) == (0.5, 2)
    assert asyncio.run(view.sentiment(SOL)) is None  # one story, below min_items


def test_forex_pair_counts_quote_currency_stories_with_the_opposite_sign(fake_newsapi: FakeNewsApi) -> None:
    clock = ManualClock()
    script_articles(fake_newsapi)
    news = aggregator(fake_newsapi, clock, extra=[newsapi(fake_newsapi, clock)])

    asyncio.run(news.refresh())

    # two bearish dollar stories are bullish for GBP/USD; the euro's own slide (-0.5) weighs on EUR/USD
    assert asyncio.run(news.sentiment(GBP_USD)) == (0.5, 2)
    score, count = asyncio.run(news.sentiment(EUR_USD))  # type: ignore[misc]
    assert count == 3
    assert score == pytest.approx((-0.5 + 0.5 + 0.5) / 3)


def test_min_items_decides_when_there_is_enough_news(fake_newsapi: FakeNewsApi) -> None:
    news = aggregator(fake_newsapi, ManualClock(), min_items=1)

    asyncio.run(news.refresh())

    assert asyncio.run(news.sentiment(SOL)) == (-0.5, 1)  # "Solana network outage halts block production"


def test_stories_leave_the_window_as_the_clock_moves_on(fake_newsapi: FakeNewsApi) -> None:
    clock = ManualClock()
    news = aggregator(fake_newsapi, clock, min_items=1)
    asyncio.run(news.refresh())
    assert news.latest("BTC") == NOW - timedelta(minutes=15)  # 13:55
    assert news.latest("EUR_USD") == NOW - timedelta(minutes=90)  # the euro story, 12:40

    clock.now = NOW + timedelta(hours=5, minutes=45)  # 19:55: the 13:55 story is 6 h old, 12:30 is past
    assert asyncio.run(news.sentiment(BTC)) == (0.5, 1)
    assert asyncio.run(news.sentiment(SOL)) is None
    assert news.latest("SOL") is None

    clock.now = NOW + timedelta(hours=7)
    asyncio.run(news.refresh())  # the feeds still serve the old stories: all out of the window
    assert news.items() == []
    assert asyncio.run(news.sentiment(BTC)) is None
    assert news.latest("BTC") is None


def test_a_refresh_scores_only_new_stories_and_does_not_recount_repeats(fake_newsapi: FakeNewsApi) -> None:
    clock = ManualClock()
    scorer = KeywordScorer()
    news = aggregator(fake_newsapi, clock, scorer=scorer)
    asyncio.run(news.refresh())
    assert len(scorer.scored) == 4

    clock.now = NOW + timedelta(minutes=5)
    added = asyncio.run(news.refresh())

    assert added == 0
    assert len(scorer.scored) == 4
    assert [held.item.duplicates for held in news.items()] == [0, 0, 0, 0]


def test_the_same_story_from_two_sources_counts_once(fake_newsapi: FakeNewsApi) -> None:
    clock = ManualClock()
    fake_newsapi.add("Bitcoin Jumps 5% As ETF Inflows Surge", NOW - timedelta(minutes=3), outlet="CNBC")
    news = aggregator(fake_newsapi, clock, extra=[newsapi(fake_newsapi, clock)], min_items=1)

    asyncio.run(news.refresh())

    btc = [held.item for held in news.items() if "BTC" in held.item.assets]
    assert [(item.source, item.duplicates) for item in btc] == [("Crypto Desk", 1)]
    assert asyncio.run(news.sentiment(BTC)) == (0.5, 1)


def test_health_shows_a_rate_limited_pause_and_a_spent_budget(fake_newsapi: FakeNewsApi) -> None:
    clock = ManualClock()
    limited = newsapi(fake_newsapi, clock)
    limited.name = "NewsAPI"
    spent = newsapi(fake_newsapi, clock, per_day=1)
    spent.name = "NewsAPI (small plan)"
    news = aggregator(fake_newsapi, clock, extra=[limited, spent])
    spent.budget.spend(NOW)
    fake_newsapi.server.inject(Fault(status=429, path_contains="/v2/everything"))

    asyncio.run(news.refresh())
    assert news.health()["NewsAPI"] == "failed: NewsAPI: HTTP 429 rateLimited; paused until 14:11"

    clock.now = NOW + timedelta(seconds=30)
    asyncio.run(news.refresh())

    health = news.health()
    assert health["NewsAPI"] == "429, paused until 14:11"
    assert health["NewsAPI (small plan)"] == "budget spent: daily budget of 1 requests spent"
    assert len(fake_newsapi.everything_requests) == 1


def test_end_to_end_with_the_lexicon_scorer(fake_newsapi: FakeNewsApi, lexicon: LexiconScorer) -> None:
    news = aggregator(fake_newsapi, ManualClock(), scorer=lexicon, min_items=1)

    asyncio.run(news.refresh())

    result = asyncio.run(news.sentiment(SPY))  # "... record ... strong profit growth ..."
    assert result is not None
    score, count = result
    assert count == 1 and score > 0
