from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from news_feeds.items import FeedError
from news_feeds.newsapi import NewsApi, parse_everything
from tests.fakes.newsapi import API_KEY, FakeNewsApi, article
from tests.news_feeds.conftest import NOW
from utils.http_cache import cached_session
from utils.request_budget import EscalatingBackoff, RequestBudget

NEW_YORK = ZoneInfo("America/New_York")


def client(fake: FakeNewsApi, *, per_day: int = 100, key: str = API_KEY, expire: float = 0) -> NewsApi:
    # expire 0: nothing is served from the cache unless a test asks for it
    return NewsApi(
        key,
        fake.url,
        cached_session(None, expire),
        RequestBudget(per_day, tz=UTC),
        EscalatingBackoff(first_seconds=60, factor=2, max_seconds=3600),
        query="bitcoin",
    )


# ---------------------------------------------------------------------- the parser
def test_parse_everything_reads_articles_with_outlet_and_utc_time() -> None:
    payload = {
        "status": "ok",
        "totalResults": 1,
        "articles": [article("Bitcoin tops $70,000", NOW, "Record <b>inflows</b>.", outlet="CoinDesk")],
    }

    [item] = parse_everything(payload)

    assert item.title == "Bitcoin tops $70,000"
    assert item.summary == "Record inflows ."
    assert item.source == "CoinDesk"
    assert item.published_at == NOW
    assert item.url.startswith("https://coindesk.example.com/")


def test_parse_everything_drops_removed_untitled_and_undated_articles() -> None:
    removed = article("[Removed]", NOW)
    undated = {**article("No time", NOW), "publishedAt": None}
    garbled = {**article("Bad time", NOW), "publishedAt": "yesterday"}
    untitled = {**article("x", NOW), "title": None}
    kept = article("Ether rallies", NOW)
    payload = {"status": "ok", "totalResults": 5, "articles": [removed, undated, garbled, untitled, kept]}

    assert [item.title for item in parse_everything(payload)] == ["Ether rallies"]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ([], "not a JSON object"),
        ({"totalResults": 0, "articles": []}, "status None"),
        ({"status": "ok", "totalResults": 0}, "no 'articles' list"),
        ({"status": "ok", "articles": {"title": "x"}}, "no 'articles' list"),
        ({"status": "ok", "articles": ["headline"]}, "article 0 is not a JSON object"),
        ({"status": "error", "code": "rateLimited", "message": "slow down"}, "rateLimited: slow down"),
    ],
)
def test_parse_everything_rejects_malformed_payloads_with_the_reason(payload: Any, reason: str) -> None:
    with pytest.raises(FeedError) as raised:
        parse_everything(payload)
    assert reason in str(raised.value)


# ---------------------------------------------------------------------- the client over HTTP
def test_fetch_sends_the_documented_request_and_returns_articles(fake_newsapi: FakeNewsApi) -> None:
    fake_newsapi.add("Bitcoin jumps on ETF inflows", NOW - timedelta(minutes=5))
    fake_newsapi.add("Old story", NOW - timedelta(hours=30))
    api = client(fake_newsapi)

    items = api.fetch(NOW)

    assert [item.title for item in items] == ["Bitcoin jumps on ETF inflows"]
    [request] = fake_newsapi.everything_requests
    assert request.query == {
        "q": "bitcoin",
        "language": "en",
        "sortBy": "publishedAt",
        "pageSize": "50",
        "from": "2026-11-28T08:10:00Z",
    }
    assert request.headers["X-Api-Key"] == API_KEY
    assert api.status == "ok, 1 items"


def test_budget_stops_requests_at_the_daily_limit(fake_newsapi: FakeNewsApi) -> None:
    api = client(fake_newsapi, per_day=3)

    for minute in range(5):
        api.fetch(NOW + timedelta(minutes=minute))

    assert len(fake_newsapi.everything_requests) == 3
    assert api.status == "budget spent: daily budget of 3 requests spent"


def test_budget_resets_at_local_midnight_not_utc_midnight() -> None:
    budget = RequestBudget(per_day=1, tz=NEW_YORK)
    evening = datetime(2026, 11, 28, 23, 30, tzinfo=NEW_YORK)  # 04:30 UTC on the 29th
    budget.spend(evening)

    assert not budget.allow(datetime(2026, 11, 29, 4, 59, tzinfo=UTC))  # still the 28th in New York
    assert budget.allow(datetime(2026, 11, 29, 5, 0, tzinfo=UTC))  # midnight in New York


def test_default_budget_is_the_free_plan_hundred() -> None:
    assert RequestBudget().describe() == "daily budget of 100 requests spent"


def test_a_response_served_from_the_cache_does_not_spend_budget(fake_newsapi: FakeNewsApi) -> None:
    fake_newsapi.add("Bitcoin jumps on ETF inflows", NOW - timedelta(minutes=5))
    api = client(fake_newsapi, per_day=2, expire=300)

    first = api.fetch(NOW)
    second = api.fetch(NOW)  # same query, same `from`: the cached answer
    third = api.fetch(NOW)

    assert first == second == third
    assert len(fake_newsapi.everything_requests) == 1
    assert api.budget.spent(NOW) == 1
    assert api.budget.allow(NOW)


def test_backoff_escalates_on_consecutive_429s_and_sends_nothing_while_paused(
    fake_newsapi: FakeNewsApi,
) -> None:
    from tests.fakes.server import Fault

    api = client(fake_newsapi)
    fake_newsapi.server.inject(Fault(status=429, path_contains="/v2/everything", times=3))

    with pytest.raises(FeedError, match="429 rateLimited"):
        api.fetch(NOW)
    assert api.backoff.until == NOW + timedelta(seconds=60)
    assert api.fetch(NOW + timedelta(seconds=59)) == []  # paused: no request
    assert api.status == "429, paused until 14:11"
    assert len(fake_newsapi.everything_requests) == 1

    second = NOW + timedelta(seconds=60)
    with pytest.raises(FeedError):
        api.fetch(second)
    assert api.backoff.until == second + timedelta(seconds=120)

    third = second + timedelta(seconds=120)
    with pytest.raises(FeedError):
        api.fetch(third)
    assert api.backoff.until == third + timedelta(seconds=240)
    assert len(fake_newsapi.everything_requests) == 3


def test_backoff_resets_after_a_success(fake_newsapi: FakeNewsApi) -> None:
    from tests.fakes.server import Fault

    api = client(fake_newsapi)
    fake_newsapi.server.inject(Fault(status=429, path_contains="/v2/everything", times=2))
    with pytest.raises(FeedError):
        api.fetch(NOW)
    with pytest.raises(FeedError):
        api.fetch(NOW + timedelta(minutes=1))
    assert api.backoff.consecutive == 2

    api.fetch(NOW + timedelta(minutes=4))  # after the 120 s pause: succeeds

    assert api.backoff.consecutive == 0 and api.backoff.until is None
    fake_newsapi.server.inject(Fault(status=429, path_contains="/v2/everything"))
    later = NOW + timedelta(minutes=5)
    with pytest.raises(FeedError):
        api.fetch(later)
    assert api.backoff.until == later + timedelta(seconds=60)  # back to the first step


def test_a_longer_retry_after_is_honoured(fake_newsapi: FakeNewsApi) -> None:
    from tests.fakes.server import Fault

    api = client(fake_newsapi)
    fake_newsapi.server.inject(Fault(status=429, retry_after="900", path_contains="/v2/everything"))

    with pytest.raises(FeedError):
        api.fetch(NOW)

    assert api.backoff.until == NOW + timedelta(seconds=900)


def test_backoff_wait_is_capped_at_max_seconds() -> None:
    backoff = EscalatingBackoff(first_seconds=60, factor=2, max_seconds=3600)

    assert [backoff.wait_seconds(n) for n in (1, 2, 3, 6, 7, 20)] == [60, 120, 240, 1920, 3600, 3600]


def test_a_wrong_key_is_a_clear_error_without_the_key(
    fake_newsapi: FakeNewsApi, caplog: pytest.LogCaptureFixture
) -> None:
    wrong_key = "newsapi-WRONG-key-0000000000000000"
    api = client(fake_newsapi, key=wrong_key)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(FeedError) as raised:
        api.fetch(NOW)

    assert "401 apiKeyInvalid" in str(raised.value)
    assert wrong_key not in str(raised.value)
    assert wrong_key not in caplog.text


def test_the_api_key_is_in_no_log_line_exception_or_repr(
    fake_newsapi: FakeNewsApi, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.fakes.server import Fault

    caplog.set_level(logging.DEBUG)  # urllib3 and requests-cache debug lines included
    fake_newsapi.add("Bitcoin jumps on ETF inflows", NOW)
    fake_newsapi.server.inject(Fault(status=429, path_contains="/v2/everything"))
    api = client(fake_newsapi)

    with pytest.raises(FeedError) as raised:
        api.fetch(NOW)
    api.fetch(NOW + timedelta(hours=1))

    assert API_KEY not in caplog.text
    assert API_KEY not in str(raised.value)
    assert API_KEY not in repr(api)
    assert API_KEY not in api.status
    assert "api_key='***'" in repr(api)


def test_the_api_key_is_not_written_to_the_cache_file(fake_newsapi: FakeNewsApi, tmp_path: Path) -> None:
    fake_newsapi.add("Bitcoin jumps on ETF inflows", NOW)
    cache_file = tmp_path / "news.sqlite"
    api = NewsApi(
        API_KEY, fake_newsapi.url, cached_session(cache_file, 300), RequestBudget(), EscalatingBackoff()
    )

    api.fetch(NOW)
    assert api.fetch(NOW) != []  # the second answer comes from the file

    assert len(fake_newsapi.everything_requests) == 1
    assert API_KEY.encode() not in cache_file.read_bytes()
