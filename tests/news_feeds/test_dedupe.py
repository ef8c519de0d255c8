from __future__ import annotations

import random
from datetime import timedelta

import pytest

from news_feeds.dedupe import merge_near_duplicates, normalise_title
from news_feeds.items import NewsItem
from tests.news_feeds.conftest import NOW


def story(title: str, minutes_ago: int, source: str = "Reuters", assets: tuple[str, ...] = ()) -> NewsItem:
    return NewsItem(
        title,
        "",
        f"https://{source}.example/{minutes_ago}",
        source,
        NOW - timedelta(minutes=minutes_ago),
        assets,
    )


def test_normalise_title_ignores_case_punctuation_and_spacing() -> None:
    assert (
        normalise_title("  Bitcoin JUMPS 5%,   as ETF-inflows surge!")
        == "bitcoin jumps 5 as etf inflows surge"
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Bitcoin jumps 5% as ETF inflows surge", "Bitcoin Jumps 5% As ETF Inflows Surge"),
        ("Fed holds rates steady", "Fed holds rates steady as inflation cools"),
        ("Euro slides as ECB signals rate cuts", "ECB signals rate cuts; euro slides"),
        ("Solana outage halts block production", "Solana outage halts block production - CoinDesk"),
    ],
)
def test_same_story_in_other_words_is_merged(first: str, second: str) -> None:
    merged = merge_near_duplicates([story(first, 10), story(second, 5, source="CoinDesk")])

    assert len(merged) == 1
    assert merged[0].title == first  # the earliest is kept
    assert merged[0].duplicates == 1


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Bitcoin rises after ETF approval", "Bitcoin falls after ETF rejection"),
        ("Apple beats earnings forecasts", "Microsoft beats earnings forecasts"),
        ("Euro slides as ECB signals rate cuts", "Pound slides as BoE signals rate cuts"),
    ],
)
def test_different_stories_are_not_merged(first: str, second: str) -> None:
    assert len(merge_near_duplicates([story(first, 10), story(second, 5)])) == 2


def test_group_keeps_the_earliest_item_with_the_union_of_assets_and_all_copies_counted() -> None:
    items = [
        story("Bitcoin and ether rally", 3, "CNBC", ("BTC",)),
        story("Bitcoin and ether rally", 9, "Reuters", ("BTC", "ETH")),
        NewsItem("Bitcoin and Ether rally!", "", "u", "Bloomberg", NOW - timedelta(minutes=1), ("ETH",), 2),
        story("Oil stocks slump", 5),
    ]

    merged = merge_near_duplicates(items)

    assert [item.title for item in merged] == ["Bitcoin and ether rally", "Oil stocks slump"]
    kept = merged[0]
    assert kept.source == "Reuters"
    assert kept.assets == ("BTC", "ETH")
    assert kept.duplicates == 1 + 3  # CNBC's copy, plus Bloomberg's with the two it had merged


def test_merging_is_pure_and_handles_small_inputs() -> None:
    single = [story("Only one", 1)]

    assert merge_near_duplicates([]) == []
    assert merge_near_duplicates(single) == single
    assert single[0].duplicates == 0


def test_a_few_hundred_headlines_merge_quickly() -> None:
    rng = random.Random(3)
    words = [f"{a}{b}" for a in ("bar", "cor", "del", "fen", "gar", "hol", "jun", "kel") for b in "aeiouyst"]
    titles = [" ".join(rng.sample(words, 6)) for _ in range(300)]
    items = [story(title, n) for n, title in enumerate(titles)]
    items += [story(titles[n].upper(), n + 1000, "AP") for n in range(0, 300, 3)]

    merged = merge_near_duplicates(items)

    assert len(merged) == 300
    assert sum(item.duplicates for item in merged) == 100
