"""RSS 2.0 and Atom feeds, read with feedparser.

feedparser accepts nearly anything and flags trouble with `bozo`; a feed that
is flagged but still yielded usable entries (a stray character, a wrong
encoding declaration, a truncated tail) is accepted; one flagged with no usable
entry, or a document that is no feed at all, is a `FeedError`.
Summaries are stripped of HTML; entries without a readable time are dropped
and counted in `ParsedFeed.dropped`.
"""

from __future__ import annotations

import calendar
import html
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import feedparser
import requests

from news_feeds.items import FeedError, NewsItem
from utils.http_cache import from_cache

log = logging.getLogger(__name__)

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
DEFAULT_TIMEOUT_SECONDS = 10.0


def strip_html(text: str) -> str:
    """Plain text from an HTML fragment: tags removed, entities decoded, whitespace collapsed."""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", text))).strip()


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    items: list[NewsItem]
    dropped: int  # entries without a title or a readable time


def _entry_time(entry: Mapping[str, object]) -> datetime | None:
    # feedparser normalises RFC 822 / ISO 8601 dates to a UTC struct_time
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value is not None:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)  # type: ignore[arg-type]
            except (TypeError, ValueError, OverflowError):
                continue
    return None


def read_feed(content: bytes, source: str) -> ParsedFeed:
    """Parse a feed document; `FeedError` when it is not a feed at all."""
    parsed = feedparser.parse(content)
    entries = list(parsed.get("entries", []))
    if not entries:
        if parsed.get("bozo"):
            reason = parsed.get("bozo_exception")
            raise FeedError(f"{source}: not a readable RSS/Atom feed ({reason})")
        if not parsed.get("version"):
            raise FeedError(f"{source}: not an RSS or Atom document")
    items: list[NewsItem] = []
    dropped = 0
    for entry in entries:
        title = strip_html(str(entry.get("title", "")))
        published = _entry_time(entry)
        if not title or published is None:
            dropped += 1
            continue
        summary = strip_html(str(entry.get("summary", "") or entry.get("description", "")))
        items.append(
            NewsItem(
                title=title,
                summary=summary,
                url=str(entry.get("link", "")),
                source=source,
                published_at=published,
            )
        )
    if parsed.get("bozo") and not items:
        reason = parsed.get("bozo_exception")
        raise FeedError(f"{source}: malformed feed with no readable entry ({reason})")
    if dropped:
        log.info("%s: dropped %d feed entries without a title or a readable time", source, dropped)
    return ParsedFeed(items, dropped)


def parse_feed(content: bytes, source: str) -> list[NewsItem]:
    """The stories in an RSS 2.0 or Atom document (see `read_feed` for the rules)."""
    return read_feed(content, source).items


class RssFeed:
    """One feed URL fetched through the shared (caching) session."""

    def __init__(
        self, name: str, url: str, session: requests.Session, timeout: float = DEFAULT_TIMEOUT_SECONDS
    ) -> None:
        self.name = name
        self.url = url
        self._session = session
        self._timeout = timeout
        self.status = "not fetched yet"
        self.last_from_cache = False

    def __repr__(self) -> str:
        return f"RssFeed({self.name!r}, {self.url!r})"

    def fetch(self, now: datetime) -> list[NewsItem]:
        """Get and parse the feed; `FeedError` on an HTTP error or an unreadable document."""
        try:
            response = self._session.get(self.url, timeout=self._timeout)
        except requests.RequestException as error:
            self.status = f"unreachable: {type(error).__name__}"
            raise FeedError(f"{self.name}: {self.url} unreachable ({type(error).__name__})") from error
        self.last_from_cache = from_cache(response)
        if response.status_code != 200:
            self.status = f"HTTP {response.status_code}"
            raise FeedError(f"{self.name}: HTTP {response.status_code} from {self.url}")
        parsed = read_feed(response.content, self.name)
        self.status = f"ok, {len(parsed.items)} items" + (
            f" ({parsed.dropped} undated)" if parsed.dropped else ""
        )
        return parsed.items
