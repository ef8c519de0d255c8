"""The one value every news source produces: a headline with its time, outlet and tagged assets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class FeedError(Exception):
    """A feed or API answer that cannot be read; the message says why (never a secret)."""


@dataclass(frozen=True, slots=True)
class NewsItem:
    """One story.

    `published_at` is always an aware UTC datetime: parsers drop items without a
    readable time rather than guess one. `assets` holds the underlyings the story
    mentions (set by `news_feeds.tagging.tag`; currency codes such as "EUR" for
    forex). `duplicates` counts the near-identical copies merged into this one.
    """

    title: str
    summary: str
    url: str
    source: str
    published_at: datetime
    assets: tuple[str, ...] = ()
    duplicates: int = 0

    def __post_init__(self) -> None:
        if self.published_at.tzinfo is None or self.published_at.utcoffset() is None:
            raise ValueError(f"news item {self.title!r}: published_at must be timezone-aware")
        if self.duplicates < 0:
            raise ValueError(f"news item {self.title!r}: duplicates must not be negative")

    @property
    def text(self) -> str:
        """What a sentiment scorer reads: the headline, then the summary."""
        return f"{self.title}. {self.summary}".strip() if self.summary else self.title
