from __future__ import annotations

import pytest

from news_feeds.items import NewsItem
from news_feeds.tagging import default_aliases, mentioned_assets, pair_currencies, tag
from tests.news_feeds.conftest import NOW

ALIASES = default_aliases()


@pytest.mark.parametrize(
    ("text", "assets"),
    [
        ("Bitcoin hits a record high", ("BTC",)),
        ("BITCOIN miners sell", ("BTC",)),
        ("ETH rallies after upgrade", ("ETH",)),
        ("A new method for pricing options", ()),
        ("Ethereum developers ship the upgrade", ("ETH",)),
        ("SOL jumps 8%", ("SOL",)),
        ("A solution for slow settlements", ()),
        ("sol and sombra: a travel piece", ()),
        ("S&P 500 slips from its high", ("SPY",)),
        ("SPY options volume surges", ("SPY",)),
        ("Spy thriller tops the box office", ()),
        ("Nasdaq 100 futures rise", ("QQQ",)),
        ("Energy stocks lead as crude jumps", ("XLE",)),
        ("Fed holds rates steady", ("USD",)),
        ("Investors are fed up with volatility", ()),
        ("Euro climbs against the U.S. dollar", ("EUR", "USD")),
        ("Australian dollar slides after RBA cut", ("AUD",)),
        ("Sterling firms as Bank of England holds", ("GBP",)),
    ],
)
def test_aliases_match_whole_words_and_short_tickers_only_as_written(
    text: str, assets: tuple[str, ...]
) -> None:
    assert mentioned_assets(text, ALIASES) == assets


def test_tag_reads_title_and_summary_and_keeps_existing_tags() -> None:
    item = NewsItem("Crypto markets rebound", "Solana and bitcoin lead gains.", "u", "Wire", NOW, ("ETH",))

    assert tag(item, ALIASES).assets == ("ETH", "BTC", "SOL")


def test_aliases_are_plain_data_a_caller_can_extend() -> None:
    aliases = {**ALIASES, "AAPL": ("AAPL", "Apple")}

    assert mentioned_assets("Apple unveils a new iPhone", aliases) == ("AAPL",)


@pytest.mark.parametrize(
    ("underlying", "currencies"),
    [("EUR_USD", ("EUR", "USD")), ("GBP/USD", ("GBP", "USD")), ("AUDUSD", ("AUD", "USD")), ("BTC", None)],
)
def test_pair_currencies_split_forex_underlyings(underlying: str, currencies: tuple[str, str] | None) -> None:
    assert pair_currencies(underlying) == currencies
