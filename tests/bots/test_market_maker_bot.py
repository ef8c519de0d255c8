"""The market maker in a tick: resting quotes around the sources' fair value, leaning against inventory.

The quoted market is New York's 40-41 °F bracket on Polymarket; its Kalshi twin is what the domain
sources price. Two sources at 0.40 and 0.36, with no calibration record, weigh half each: fair
value 0.38. Polymarket's book 0.350/0.370 on its 0.001 tick; the defaults (half spread 0.02, skew
0.001 a contract, min edge 0.01, 10 contracts a side).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from bots.base import BotSpec
from bots.event_trading.consensus import ConsensusSettings
from bots.event_trading.desk import EdgeDesk
from bots.polymarket.market_maker import MarketMakerBot
from domain.fees import KalshiFees, PolymarketFees
from domain.instruments import Instrument
from domain.market import Quote
from domain.positions import Position
from domain.signals import Side, Signal, SignalIntent
from scrapers.router import SourceRouter
from tests.bots.event_trading.test_bot import NOW, QuotedContext, weather_sources
from tests.bots.test_cross_venue_arbitrage_bot import CHI, CHI_TWIN, NY, NY_OTHER, NY_OTHER_TWIN, NY_TWIN

D = Decimal


def maker(
    *instruments: Instrument, sources: tuple[float, float] = (0.40, 0.36), **params: float
) -> MarketMakerBot:
    made = MarketMakerBot(BotSpec(name="mm", instruments=instruments, params=params))
    made.attach_fees({NY.venue: KalshiFees(), NY_TWIN.venue: PolymarketFees(D("0.05"))})
    made.attach(EdgeDesk(SourceRouter(weather_sources(*sources)), ConsensusSettings()))
    return made


def books(*markets: Instrument) -> dict[str, Quote]:
    return {m.key: Quote(m.key, D("0.350"), D("0.370"), NOW, "test") for m in markets}


def tick(made: MarketMakerBot, ctx: QuotedContext) -> list[Signal]:
    return asyncio.run(made.on_tick(ctx))


def held(quantity: str) -> dict[str, Position]:
    return {NY_TWIN.key: Position("mm", NY_TWIN.key, D(quantity), D("0.36"), opened_at=NOW)}


def test_flat_it_rests_a_bid_and_an_offer_around_the_sources_fair_value() -> None:
    bid, ask = tick(maker(NY_TWIN, NY), QuotedContext(books(NY_TWIN)))
    # r = 0.38: bid floor(0.36) = 0.360, offer ceil(0.40) = 0.400, 10 contracts each
    assert (bid.instrument, bid.side, bid.intent, bid.limit_price, bid.max_quantity) == (
        NY_TWIN,
        Side.BUY,
        SignalIntent.OPEN,
        D("0.360"),
        D(10),
    )
    assert (ask.side, ask.intent, ask.limit_price, ask.max_quantity) == (
        Side.SELL,
        SignalIntent.OPEN,
        D("0.400"),
        D(10),
    )
    assert bid.evidence["fair_value"] == pytest.approx(0.38)
    # the bid buys YES worth 0.38, the offer sells it: the NO bought is worth 0.62; makers pay no fee
    assert bid.evidence["win_probability"] == pytest.approx(0.38)
    assert ask.evidence["win_probability"] == pytest.approx(0.62)
    assert bid.evidence["fee_per_contract"] == 0.0 and bid.evidence["priced_by"] == NY.key


def test_long_it_only_offers_what_it_holds_lower_by_the_skew() -> None:
    # long 6: r = 0.38 - 0.006 = 0.374, offer ceil(0.394) = 0.394 for the 6 held; no bid (one
    # position per bot and market: the road does not add to it)
    [offer] = tick(maker(NY_TWIN, NY), QuotedContext(books(NY_TWIN), held("6")))
    assert (offer.side, offer.intent, offer.limit_price, offer.close_quantity) == (
        Side.SELL,
        SignalIntent.CLOSE,
        D("0.394"),
        D(6),
    )


def test_short_it_only_bids_for_what_it_owes_higher_by_the_skew() -> None:
    # short 4: r = 0.384, bid floor(0.364) = 0.364 for the 4 short
    [bid] = tick(maker(NY_TWIN, NY), QuotedContext(books(NY_TWIN), held("-4")))
    assert (bid.side, bid.intent, bid.limit_price, bid.close_quantity) == (
        Side.BUY,
        SignalIntent.CLOSE,
        D("0.364"),
        D(4),
    )


def test_a_fair_value_outside_its_range_is_not_quoted() -> None:
    assert tick(maker(NY_TWIN, NY, sources=(0.10, 0.12)), QuotedContext(books(NY_TWIN))) == []


def test_it_quotes_at_most_max_markets_markets() -> None:
    made = maker(NY_TWIN, NY_OTHER_TWIN, NY, NY_OTHER, max_markets=1)
    signals = tick(made, QuotedContext(books(NY_TWIN, NY_OTHER_TWIN)))
    assert len({s.instrument.key for s in signals}) == 1


def test_a_market_whose_twin_settles_on_another_source_is_not_quoted() -> None:
    made = maker(CHI_TWIN, CHI)
    assert made.twins() == [] and tick(made, QuotedContext(books(CHI_TWIN))) == []


def test_without_the_edge_desk_it_refuses_to_quote() -> None:
    made = MarketMakerBot(BotSpec(name="mm", instruments=(NY_TWIN, NY)))
    with pytest.raises(RuntimeError, match="no edge desk"):
        tick(made, QuotedContext(books(NY_TWIN)))


def test_unknown_or_incoherent_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="max_markets"):
        MarketMakerBot(BotSpec(name="mm", instruments=(NY_TWIN, NY), params={"max_markets": 0}))
    with pytest.raises(ValueError, match="min_fair"):
        MarketMakerBot(
            BotSpec(name="mm", instruments=(NY_TWIN, NY), params={"min_fair": 0.9, "max_fair": 0.1})
        )
    with pytest.raises(ValueError, match="'max_fair' must be a number"):
        MarketMakerBot(BotSpec(name="mm", instruments=(NY_TWIN, NY), params={"max_fair": "0.9"}))
    with pytest.raises(ValueError, match="unknown parameter"):
        MarketMakerBot(BotSpec(name="mm", instruments=(NY_TWIN, NY), params={"half_spraed": 0.02}))
