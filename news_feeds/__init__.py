"""News for the veto layer: RSS/Atom feeds and NewsAPI, deduplicated, tagged with underlyings and scored.

`NewsAggregator` is the `ai.veto_layer.NewsView`: it polls its sources
(`RssFeed`, `NewsApi`) through one caching HTTP session (`cached_session`),
merges near-duplicate headlines, tags them (`tag`, `default_aliases`), scores
them with FinBERT or the Loughran-McDonald lexicon (`load_scorer`) and answers
`sentiment(instrument)` over a sliding window.
"""

from news_feeds.aggregator import NewsAggregator, NewsSource, ScoredItem
from news_feeds.dedupe import merge_near_duplicates
from news_feeds.items import FeedError, NewsItem
from news_feeds.newsapi import NewsApi, parse_everything
from news_feeds.rss import RssFeed, parse_feed
from news_feeds.sentiment import DeferredScorer, FinbertScorer, LexiconScorer, SentimentScorer, load_scorer
from news_feeds.tagging import AssetAliases, default_aliases, pair_currencies, tag
from utils.http_cache import cached_session
from utils.request_budget import EscalatingBackoff, RequestBudget

__all__ = [
    "AssetAliases",
    "DeferredScorer",
    "EscalatingBackoff",
    "FeedError",
    "FinbertScorer",
    "LexiconScorer",
    "NewsAggregator",
    "NewsApi",
    "NewsItem",
    "NewsSource",
    "RequestBudget",
    "RssFeed",
    "ScoredItem",
    "SentimentScorer",
    "cached_session",
    "default_aliases",
    "load_scorer",
    "merge_near_duplicates",
    "pair_currencies",
    "parse_everything",
    "parse_feed",
    "tag",
]
