"""Instrument patterns in the registry: `KXHIGH*` names every listed market it matches.

A prediction venue lists hundreds of markets, and they change every day, so a bot may name its
markets by an fnmatch pattern (`*`, `?`, `[...]`) over the venue's listed symbols. A pattern that
matches nothing is a configuration error naming its key, as an unknown plain symbol always was.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bots.base import Bot, BotContext
from config.loader import ConfigError, LoadedConfig, load_config
from config.schema import BotEntry, Registry
from domain.contract_parsing import parse_kalshi_ticker
from domain.contracts import Strike, StrikeType
from domain.instruments import AssetClass, Instrument
from domain.signals import Signal
from runtime.registry import build_bots

VENUE = "sim-kalshi"
D = Decimal


class QuietBot(Bot):
    """A bot that never signals: these tests are about which instruments it is given."""

    async def on_tick(self, ctx: BotContext) -> list[Signal]:
        return []


def market(ticker: str, strike: Strike) -> Instrument:
    return Instrument(
        symbol=ticker,
        venue=VENUE,
        asset_class=AssetClass.PREDICTION,
        tick_size=D("0.01"),
        lot_size=D(1),
        underlying=ticker.rsplit("-", 1)[0],
        min_quantity=D(1),
        contract=parse_kalshi_ticker(VENUE, ticker, strike),
    )


def bracket(ticker: str, floor: int) -> Instrument:
    return market(ticker, Strike(StrikeType.BETWEEN, D(floor), D(floor + 1)))


def above(ticker: str, floor: str) -> Instrument:
    return market(ticker, Strike(StrikeType.GREATER, floor_strike=D(floor)))


# listed out of order, as a venue's pages may come
LISTED = [
    above("KXCPI-26JAN-T0.3", "0.3"),
    bracket("KXHIGHNY-26FEB09-B40.5", 40),
    above("KXCPIYOY-26JAN-T2.8", "2.8"),
    bracket("KXHIGHCHI-26FEB09-B40.5", 40),
    above("KXHIGHTDC-26FEB09-T45", "45"),
    bracket("KXHIGHCHI-26FEB09-B38.5", 38),
]
BY_SYMBOL = {VENUE: {i.symbol: i for i in LISTED}}


def config(
    *instruments: str, cls: str = "tests.runtime.test_registry_patterns:QuietBot", **extra: Any
) -> LoadedConfig:
    base = load_config()
    entry = BotEntry.model_validate(
        {
            "name": "edges",
            "class": cls,
            "instruments": list(instruments),
            "venue": VENUE,
            "schedule": {"interval_seconds": 60},
            **extra,
        }
    )
    return LoadedConfig(base.settings, Registry(bots=[entry]), base.settings_path, base.registry_path)


def symbols_of(loaded: LoadedConfig, listed: dict[str, dict[str, Instrument]] = BY_SYMBOL) -> list[str]:
    [registered] = build_bots(loaded, listed)
    return [i.symbol for i in registered.bot.instruments]


def test_a_pattern_gives_the_bot_exactly_the_matching_markets_sorted() -> None:
    assert symbols_of(config("KXHIGH*")) == [
        "KXHIGHCHI-26FEB09-B38.5",
        "KXHIGHCHI-26FEB09-B40.5",
        "KXHIGHNY-26FEB09-B40.5",
        "KXHIGHTDC-26FEB09-T45",
    ]


def test_a_pattern_is_matched_over_the_whole_symbol() -> None:
    # KXCPI-* must not take KXCPIYOY-...: the dash after the series is part of the pattern
    assert symbols_of(config("KXCPI-*")) == ["KXCPI-26JAN-T0.3"]


def test_question_marks_and_character_classes_are_patterns_too() -> None:
    assert symbols_of(config("KXHIGH[CN]*-B40.5")) == ["KXHIGHCHI-26FEB09-B40.5", "KXHIGHNY-26FEB09-B40.5"]
    assert symbols_of(config("KXHIGHCHI-26FEB09-B3?.5")) == ["KXHIGHCHI-26FEB09-B38.5"]


def test_patterns_and_plain_symbols_keep_the_order_they_are_listed_in() -> None:
    assert symbols_of(config("KXCPI-26JAN-T0.3", "KXHIGHCHI-*")) == [
        "KXCPI-26JAN-T0.3",
        "KXHIGHCHI-26FEB09-B38.5",
        "KXHIGHCHI-26FEB09-B40.5",
    ]


def test_overlapping_patterns_give_each_market_once() -> None:
    assert symbols_of(config("KXHIGHCHI-*", "KXHIGH*")) == [
        "KXHIGHCHI-26FEB09-B38.5",
        "KXHIGHCHI-26FEB09-B40.5",
        "KXHIGHNY-26FEB09-B40.5",
        "KXHIGHTDC-26FEB09-T45",
    ]


def test_a_symbol_named_after_a_pattern_that_took_it_is_given_once() -> None:
    # the same market twice would be traded twice a tick (two signals, two sequence numbers)
    assert symbols_of(config("KXHIGHCHI-*", "KXHIGHCHI-26FEB09-B38.5")) == [
        "KXHIGHCHI-26FEB09-B38.5",
        "KXHIGHCHI-26FEB09-B40.5",
    ]


def test_the_event_trading_bot_takes_the_markets_a_pattern_found() -> None:
    [registered] = build_bots(config("KXHIGHCHI-*", cls="event_trading"), BY_SYMBOL)

    assert [i.symbol for i in registered.bot.instruments] == [
        "KXHIGHCHI-26FEB09-B38.5",
        "KXHIGHCHI-26FEB09-B40.5",
    ]


def test_a_pattern_that_matches_nothing_names_its_key() -> None:
    loaded = config("KXGDP*")

    with pytest.raises(ConfigError) as refused:
        build_bots(loaded, BY_SYMBOL)

    assert refused.value.key == "bots[0].instruments[0]"
    assert refused.value.file == str(loaded.registry_path)
    assert refused.value.problem == "the pattern 'KXGDP*' matches nothing listed on venue 'sim-kalshi'"


def test_patterns_are_case_sensitive() -> None:
    with pytest.raises(ConfigError, match="the pattern 'kxhigh\\*' matches nothing") as refused:
        build_bots(config("KXCPI-26JAN-T0.3", "kxhigh*"), BY_SYMBOL)

    assert refused.value.key == "bots[0].instruments[1]"


def test_a_pattern_on_a_venue_that_lists_nothing_matches_nothing() -> None:
    with pytest.raises(ConfigError, match="matches nothing listed on venue 'sim-kalshi'"):
        build_bots(config("KXHIGH*"), {})


def test_a_disabled_bot_is_not_built_so_its_pattern_is_not_checked() -> None:
    assert build_bots(config("KXGDP*", enabled=False), BY_SYMBOL) == []


def test_an_unknown_plain_symbol_lists_what_the_venue_has() -> None:
    with pytest.raises(ConfigError) as refused:
        build_bots(config("KXHIGHMIA-26FEB09-B80.5"), BY_SYMBOL)

    assert refused.value.key == "bots[0].instruments[0]"
    assert refused.value.problem == (
        "'KXHIGHMIA-26FEB09-B80.5' is not listed on venue 'sim-kalshi' (listed: KXCPI-26JAN-T0.3, "
        "KXCPIYOY-26JAN-T2.8, KXHIGHCHI-26FEB09-B38.5, KXHIGHCHI-26FEB09-B40.5, "
        "KXHIGHNY-26FEB09-B40.5, KXHIGHTDC-26FEB09-T45)"
    )


def test_an_unknown_plain_symbol_on_a_long_listing_names_twenty_and_counts_the_rest() -> None:
    # 25 Chicago brackets B30.5 ... B54.5: the first 20 in sorted order, then "and 5 more"
    ladder = [bracket(f"KXHIGHCHI-26FEB09-B{floor}.5", floor) for floor in range(30, 55)]
    listed = {VENUE: {i.symbol: i for i in ladder}}

    with pytest.raises(ConfigError) as refused:
        build_bots(config("KXHIGHMIA-26FEB09-B80.5"), listed)

    shown = ", ".join(f"KXHIGHCHI-26FEB09-B{floor}.5" for floor in range(30, 50))
    assert refused.value.problem == (
        f"'KXHIGHMIA-26FEB09-B80.5' is not listed on venue 'sim-kalshi' (listed: {shown} and 5 more)"
    )


def test_an_unknown_plain_symbol_on_a_venue_that_lists_nothing_says_none() -> None:
    with pytest.raises(ConfigError, match=r"\(listed: none\)"):
        build_bots(config("KXHIGHMIA-26FEB09-B80.5"), {})
