"""NewsAPI.org `/v2/everything`: a pure parser, a daily request budget, a 429 backoff and the client.

Wire format: `GET {base}/v2/everything?q=..&language=en&sortBy=publishedAt&pageSize=N&from=ISO`
with the key in the `X-Api-Key` header. Success is
`{"status": "ok", "totalResults": n, "articles": [{"source": {"id", "name"}, "author", "title",
"description", "url", "urlToImage", "publishedAt": "2026-11-28T14:03:11Z", "content"}]}`;
an error is `{"status": "error", "code": "rateLimited" | "apiKeyInvalid" | ..., "message"}`
with HTTP 429 / 401 / 400.

The free plan allows 100 requests a day, so `RequestBudget` counts every request
that reached the network (an answer served from the HTTP cache is free) and the
client stops asking once it is spent. The key lives only in the request header:
it is kept out of reprs, log lines and exception texts (requests-cache also
leaves `X-Api-Key` out of its cache keys and stored requests).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import requests

from news_feeds.items import FeedError, NewsItem
from news_feeds.rss import strip_html
from utils.http_cache import from_cache
from utils.request_budget import EscalatingBackoff, RequestBudget, retry_after_seconds

log = logging.getLogger(__name__)

REMOVED_TITLE = "[Removed]"  # what NewsAPI puts in place of an article taken down by its publisher


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)  # Python 3.11 reads the trailing "Z"
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else None


def parse_everything(payload: object) -> list[NewsItem]:
    """The articles of an `/v2/everything` answer; `FeedError` (with the reason) for an error answer
    or a malformed one. Removed articles and ones without a title or a readable time are dropped."""
    if not isinstance(payload, dict):
        raise FeedError(f"NewsAPI answer is not a JSON object but {type(payload).__name__}")
    status = payload.get("status")
    if status == "error":
        raise FeedError(f"NewsAPI error {payload.get('code', 'unknown')}: {payload.get('message', '')}")
    if status != "ok":
        raise FeedError(f"NewsAPI answer has status {status!r}, expected 'ok'")
    articles = payload.get("articles")
    if not isinstance(articles, list):
        raise FeedError("NewsAPI answer has no 'articles' list")
    items: list[NewsItem] = []
    dropped = 0
    for index, article in enumerate(articles):
        if not isinstance(article, dict):
            raise FeedError(f"NewsAPI article {index} is not a JSON object")
        title = article.get("title")
        published = _parse_time(article.get("publishedAt"))
        if not isinstance(title, str) or not title.strip() or title.strip() == REMOVED_TITLE:
            dropped += 1
            continue
        if published is None:
            dropped += 1
            continue
        outlet = article.get("source")
        name = outlet.get("name") if isinstance(outlet, dict) else None
        description = article.get("description")
        url = article.get("url")
        items.append(
            NewsItem(
                title=strip_html(title),
                summary=strip_html(description) if isinstance(description, str) else "",
                url=url if isinstance(url, str) else "",
                source=name if isinstance(name, str) and name else "NewsAPI",
                published_at=published,
            )
        )
    if dropped:
        log.info("NewsAPI: dropped %d removed, untitled or undated articles", dropped)
    return items


class NewsApi:
    """The `/v2/everything` client: one request per `fetch` for `query`, within budget and backoff."""

    def __init__(
        self,
        api_key: str,
        base_url: str,
        session: requests.Session,
        budget: RequestBudget,
        backoff: EscalatingBackoff,
        *,
        query: str = "bitcoin OR ethereum OR stocks OR forex",
        page_size: int = 50,
        lookback: timedelta = timedelta(hours=6),
        timeout: float = 10.0,
        name: str = "NewsAPI",
    ) -> None:
        if not api_key:
            raise ValueError("NewsAPI needs an API key")
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self._session = session
        self.budget = budget
        self.backoff = backoff
        self.query = query
        self.page_size = page_size
        self.lookback = lookback
        self.timeout = timeout
        self.name = name
        self.status = "not fetched yet"

    def __repr__(self) -> str:
        return f"NewsApi(base_url={self.base_url!r}, query={self.query!r}, api_key='***')"

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "***")

    def fetch(self, now: datetime) -> list[NewsItem]:
        """Recent articles; [] without a request while paused or out of budget (see `status`)."""
        if self.backoff.paused(now):
            assert self.backoff.until is not None
            self.status = f"429, paused until {self.backoff.until:%H:%M}"
            return []
        if not self.budget.allow(now):
            self.status = f"budget spent: {self.budget.describe()}"
            return []
        params: dict[str, str | int] = {
            "q": self.query,
            "language": "en",
            "sortBy": "publishedAt",
            "pageSize": self.page_size,
            "from": (now - self.lookback).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        try:
            response = self._session.get(
                f"{self.base_url}/v2/everything",
                params=params,
                headers={"X-Api-Key": self._api_key},
                timeout=self.timeout,
            )
        except requests.RequestException as error:
            self.budget.spend(now)  # it may well have reached the server
            self.status = f"unreachable: {type(error).__name__}"
            raise FeedError(f"{self.name}: unreachable ({type(error).__name__})") from None
        if not from_cache(response):
            self.budget.spend(now)
        return self._answer(response, now)

    def _answer(self, response: requests.Response, now: datetime) -> list[NewsItem]:
        try:
            payload: object = response.json()
        except ValueError:
            payload = None
        code = payload.get("code", "") if isinstance(payload, dict) else ""
        message = self._redact(str(payload.get("message", ""))) if isinstance(payload, dict) else ""
        if response.status_code == 429:
            until = self.backoff.rate_limited(now, retry_after_seconds(response.headers))
            self.status = f"429, paused until {until:%H:%M}"
            raise FeedError(f"{self.name}: HTTP 429 {code or 'rateLimited'}; paused until {until:%H:%M}")
        if response.status_code != 200:
            self.status = f"HTTP {response.status_code} {code}".strip()
            raise FeedError(f"{self.name}: HTTP {response.status_code} {code}: {message}".strip())
        try:
            items = parse_everything(payload)
        except FeedError as error:
            self.status = "malformed answer"
            raise FeedError(self._redact(f"{self.name}: {error}")) from None
        self.backoff.succeeded()
        self.status = f"ok, {len(items)} items"
        return items
