from __future__ import annotations

from datetime import UTC, datetime

import pytest

from news_feeds.items import FeedError
from news_feeds.rss import RssFeed, parse_feed, read_feed
from tests.fakes.newsapi import ATOM_DOCUMENT, RSS_DOCUMENT, FakeNewsApi
from tests.news_feeds.conftest import NOW
from utils.http_cache import cached_session


def test_rss_items_have_plain_text_summaries_and_utc_times() -> None:
    items = parse_feed(RSS_DOCUMENT.encode(), "Markets Wire")

    assert [item.title for item in items] == [
        "S&P 500 climbs to record as tech earnings beat forecasts",
        "Euro slides as ECB signals further rate cuts",
    ]
    first = items[0]
    assert first.summary == (
        "The S&P 500 rose 1.2% after strong profit growth at large technology companies."
    )
    assert first.url == "https://markets.example.com/2026/11/28/sp500-record"
    assert first.source == "Markets Wire"
    assert first.published_at == datetime(2026, 11, 28, 14, 3, 11, tzinfo=UTC)
    # "+0100" in the pubDate is converted, not dropped
    assert items[1].published_at == datetime(2026, 11, 28, 12, 40, tzinfo=UTC)


def test_rss_entries_without_a_time_are_dropped_and_counted() -> None:
    parsed = read_feed(RSS_DOCUMENT.encode(), "Markets Wire")

    assert parsed.dropped == 1
    assert "Undated market commentary" not in [item.title for item in parsed.items]


def test_atom_entries_use_published_else_updated_and_strip_escaped_html() -> None:
    items = parse_feed(ATOM_DOCUMENT.encode(), "Crypto Desk")

    assert [(item.title, item.published_at) for item in items] == [
        ("Bitcoin jumps 5% as ETF inflows surge", datetime(2026, 11, 28, 13, 55, tzinfo=UTC)),
        ("Solana network outage halts block production", datetime(2026, 11, 28, 12, 30, tzinfo=UTC)),
    ]
    assert items[0].summary == "Record inflows into bitcoin funds."
    assert items[0].url == "https://crypto.example.com/btc-etf-inflows"


@pytest.mark.parametrize(
    "content",
    [b"", b"<html><body><p>502 Bad Gateway</p></body></html>", b'{"status": "ok"}', b"<rss><channel><item>"],
)
def test_a_document_that_is_not_a_feed_raises_feed_error(content: bytes) -> None:
    with pytest.raises(FeedError, match="Markets Wire"):
        parse_feed(content, "Markets Wire")


def test_a_bozo_feed_that_still_has_entries_is_accepted() -> None:
    broken = RSS_DOCUMENT.replace("</channel>", "<item><title>Unclosed").encode()

    items = parse_feed(broken, "Markets Wire")

    assert len(items) == 2


def test_rss_feed_revalidates_with_etag_through_the_cache(fake_newsapi: FakeNewsApi) -> None:
    feed = RssFeed("Markets Wire", f"{fake_newsapi.url}/feeds/markets.rss", cached_session(None, 300))

    first = feed.fetch(NOW)
    second = feed.fetch(NOW)

    assert first == second
    requests = fake_newsapi.server.requests_to("GET", "/feeds/markets.rss")
    assert [r.headers.get("If-None-Match") for r in requests] == [None, '"rss-v1"']
    assert fake_newsapi.feed_hits == {"/feeds/markets.rss": 1}  # the second answer was a 304
    assert feed.status == "ok, 2 items (1 undated)"


def test_rss_feed_http_error_is_a_feed_error(fake_newsapi: FakeNewsApi) -> None:
    feed = RssFeed("Gone", f"{fake_newsapi.url}/feeds/missing.rss", cached_session(None, 300))

    with pytest.raises(FeedError, match="HTTP 404"):
        feed.fetch(NOW)
    assert feed.status == "HTTP 404"


def test_cache_file_on_disk_serves_a_second_session(tmp_path: object, fake_newsapi: FakeNewsApi) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    url = f"{fake_newsapi.url}/feeds/crypto.atom"
    RssFeed("Crypto Desk", url, cached_session(tmp_path / "news.sqlite", 300)).fetch(NOW)

    again = RssFeed("Crypto Desk", url, cached_session(tmp_path / "news.sqlite", 300))
    items = again.fetch(NOW)

    assert (tmp_path / "news.sqlite").exists()
    assert len(items) == 2
    assert fake_newsapi.feed_hits == {"/feeds/crypto.atom": 1}
