"""Which underlyings a story mentions: whole-word alias matching.

Aliases are matched case-insensitively on whole words ("ETH" never matches
"method", "SOL" never "solution"), except short tickers: an alias of 1-3
letters written with a capital ("SOL", "ETH", "SPY", "Fed") matches only as
written, because "sol", "eth", "spy" or "fed" in lower case are usually words,
not tickers. A bare "dollar" or "pound" is no alias: "Australian dollar" must not
tag USD.

Forex: stories are tagged with currency codes ("euro" -> "EUR", "Fed" ->
"USD"), never with pairs. A caller asking about a pair underlying such as
"EUR_USD" or "EUR/USD" splits it into its base and quote currencies
(`pair_currencies`) and reads stories tagged with either; the aggregator
counts a base-currency story with its sign and a quote-currency story with the
opposite sign (good news for the dollar is bad news for EUR/USD).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from news_feeds.items import NewsItem

AssetAliases = Mapping[str, tuple[str, ...]]


def default_aliases() -> dict[str, tuple[str, ...]]:
    """Aliases for the simulated world's underlyings (SPY, QQQ, XLE, BTC, ETH, SOL) and the
    currencies of its pairs (EUR, GBP, AUD, USD)."""
    return {
        "SPY": ("SPY", "S&P 500", "S&P500", "S&P", "SPDR S&P 500"),
        "QQQ": ("QQQ", "Nasdaq 100", "Nasdaq-100", "Nasdaq", "Invesco QQQ"),
        "XLE": ("XLE", "energy stocks", "energy sector", "Energy Select Sector", "oil stocks"),
        "BTC": ("BTC", "bitcoin", "bitcoins"),
        "ETH": ("ETH", "ether", "ethereum"),
        "SOL": ("SOL", "solana"),
        "EUR": ("EUR", "euro", "euros", "eurozone", "euro zone", "ECB", "European Central Bank"),
        "GBP": ("GBP", "sterling", "pound sterling", "British pound", "Bank of England", "BoE"),
        "AUD": ("AUD", "Australian dollar", "Aussie dollar", "Aussie", "RBA", "Reserve Bank of Australia"),
        "USD": ("USD", "U.S. dollar", "US dollar", "greenback", "Federal Reserve", "Fed"),
    }


def _is_ticker(alias: str) -> bool:
    # "SOL", "ETH", "Fed", "BoE": short names that are also ordinary words when written in lower case
    return 1 <= len(alias) <= 3 and alias.isalpha() and not alias.islower()


def _pattern(alias: str, case_sensitive: bool) -> re.Pattern[str]:
    # \b fails next to "&" or ".", so whole words are bounded by "not a word character" instead
    body = r"\s+".join(re.escape(part) for part in alias.split())
    return re.compile(rf"(?<!\w){body}(?!\w)", 0 if case_sensitive else re.IGNORECASE)


def _compile(aliases: AssetAliases) -> list[tuple[str, list[re.Pattern[str]]]]:
    return [
        (asset, [_pattern(alias, case_sensitive=_is_ticker(alias)) for alias in names])
        for asset, names in aliases.items()
    ]


def mentioned_assets(text: str, aliases: AssetAliases) -> tuple[str, ...]:
    """The underlyings whose aliases appear in `text`, in the aliases' order."""
    return tuple(asset for asset, patterns in _compile(aliases) if any(p.search(text) for p in patterns))


def tag(item: NewsItem, aliases: AssetAliases) -> NewsItem:
    """The item with `assets` set to what its title and summary mention (kept tags included)."""
    found = mentioned_assets(f"{item.title}\n{item.summary}", aliases)
    return dataclasses.replace(item, assets=tuple(dict.fromkeys((*item.assets, *found))))


def pair_currencies(underlying: str) -> tuple[str, str] | None:
    """("EUR", "USD") for "EUR_USD", "EUR/USD" or "EURUSD"; None when it is not a currency pair."""
    for separator in ("_", "/"):
        if separator in underlying:
            base, _, quote = underlying.partition(separator)
            return (base.upper(), quote.upper()) if len(base) == 3 and len(quote) == 3 else None
    if len(underlying) == 6 and underlying.isalpha():
        return underlying[:3].upper(), underlying[3:].upper()
    return None
