"""Merging the same story told by several outlets (or by one feed twice).

Titles are normalised (lower case, punctuation to spaces, whitespace collapsed)
and compared with rapidfuzz's `token_set_ratio`, which ignores word order and
tolerates one title being a longer version of the other ("Fed holds rates" vs
"Fed holds rates steady as inflation cools"). All pairs are scored at once with
`process.cdist`, fast enough for a few hundred headlines.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from rapidfuzz import fuzz, process

from news_feeds.items import NewsItem

_PUNCTUATION = re.compile(r"[^\w\s]+")
_SPACE = re.compile(r"\s+")


def normalise_title(title: str) -> str:
    return _SPACE.sub(" ", _PUNCTUATION.sub(" ", title.lower())).strip()


def merge_near_duplicates(items: Sequence[NewsItem], threshold: float = 90) -> list[NewsItem]:
    """One item per story, oldest first.

    Items are visited oldest first; each one not yet merged starts a group and
    takes in every later item whose title scores >= `threshold` against it (so
    groups are anchored on their earliest item, not chained). The earliest
    item is kept, with `duplicates` increased by the copies merged (and by
    theirs) and `assets` the union of the group's.
    """
    ordered = sorted(items, key=lambda item: item.published_at)
    if len(ordered) < 2:
        return list(ordered)
    titles = [normalise_title(item.title) for item in ordered]
    scores = process.cdist(titles, titles, scorer=fuzz.token_set_ratio, score_cutoff=threshold)
    merged = [False] * len(ordered)
    kept: list[NewsItem] = []
    for i, item in enumerate(ordered):
        if merged[i]:
            continue
        copies = [
            j for j in range(i + 1, len(ordered)) if not merged[j] and titles[i] and scores[i][j] >= threshold
        ]
        for j in copies:
            merged[j] = True
        if not copies:
            kept.append(item)
            continue
        group = [item, *(ordered[j] for j in copies)]
        assets = tuple(dict.fromkeys(asset for member in group for asset in member.assets))
        duplicates = item.duplicates + sum(1 + ordered[j].duplicates for j in copies)
        kept.append(dataclasses.replace(item, assets=assets, duplicates=duplicates))
    return kept
