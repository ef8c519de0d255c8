"""The cross-venue arbitrage bot in a tick: both legs of a priced pair, one pair per event, and mending.

Markets: New York's 40-41 °F bracket on Feb 9 on Kalshi (NWS CLI KNYC) and its Polymarket twin
(same terms and source); Chicago's bracket on Kalshi (Midway) and a twin settling on O'Hare.
Pair arithmetic, Kalshi 40/42 and Polymarket 0.470/0.490, fees priced for 100 contracts:
YES Kalshi at 0.42 + NO Polymarket at 1 - 0.470 = 0.53, fees ceil(7 x 100 x 42 x 58 / 10000) = 171
cents and 100 x 0.05 x 0.47 x 0.53 = 1.2455, cost 0.95 + 2.9555 / 100 = 0.979555, edge 0.020445.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from bots.base import BotSpec
from bots.polymarket.arbitrage import CrossVenueArbitrageBot
from domain.contract_parsing import parse_kalshi_ticker
from domain.contracts import ContractSpec, Strike, StrikeType
from domain.fees import KalshiFees, PolymarketFees
from domain.instruments import AssetClass, Instrument
from domain.market import Quote
from domain.positions import Position
from domain.signals import Side, Signal, SignalIntent
from tests.bots.event_trading.test_bot import NOW, QuotedContext

D = Decimal
K, P = "sim-kalshi", "sim-polymarket"


def market(contract: ContractSpec, tick: str) -> Instrument:
    return Instrument(
        symbol=contract.ticker,
        venue=contract.venue,
        asset_class=AssetClass.PREDICTION,
        tick_size=D(tick),
        lot_size=D(1),
        underlying=contract.underlying,
        min_quantity=D(1),
        contract=contract,
    )


def kalshi(ticker: str, floor: int, source: str) -> Instrument:
    strike = Strike(StrikeType.BETWEEN, D(floor), D(floor + 1))
    return market(replace(parse_kalshi_ticker(K, ticker, strike), resolution_source=source), "0.01")


def twin(of: Instrument, condition: str, source: str) -> Instrument:
    spec = of.contract
    assert spec is not None
    contract = replace(
        spec,
        venue=P,
        ticker=f"0x{condition * 64}:77",
        series="e",
        event="e",
        underlying=f"0x{condition * 64}",
        outcome="Yes",  # the YES token, as the simulated venue lists it
    )
    return market(replace(contract, resolution_source=source), "0.001")


NY = kalshi("KXHIGHNY-26FEB09-B40.5", 40, "NWS CLI KNYC")
NY_TWIN = twin(NY, "a", "NWS CLI KNYC")
NY_OTHER = kalshi("KXHIGHNY-26FEB09-B42.5", 42, "NWS CLI KNYC")
NY_OTHER_TWIN = twin(NY_OTHER, "b", "NWS CLI KNYC")
CHI = kalshi("KXHIGHCHI-26FEB09-B40.5", 40, "NWS CLI KMDW")
CHI_TWIN = twin(CHI, "c", "Weather Underground KORD")
assert NY.contract is not None and NY.contract.day == date(2026, 2, 9)


def bot(*instruments: Instrument, **params: float) -> CrossVenueArbitrageBot:
    made = CrossVenueArbitrageBot(BotSpec(name="arb", instruments=instruments, params=params))
    made.attach_fees({K: KalshiFees(), P: PolymarketFees(D("0.05"))})
    return made


def quotes(*books: tuple[Instrument, str, str]) -> dict[str, Quote]:
    return {i.key: Quote(i.key, D(bid), D(ask), NOW, "test") for i, bid, ask in books}


def tick(made: CrossVenueArbitrageBot, ctx: QuotedContext) -> list[Signal]:
    return asyncio.run(made.on_tick(ctx))


def held(instrument: Instrument, quantity: str) -> Position:
    return Position("arb", instrument.key, D(quantity), D("0.5"), opened_at=NOW)


def test_a_priced_pair_signals_yes_on_one_venue_and_no_on_the_other_with_the_pairs_cost() -> None:
    ctx = QuotedContext(quotes((NY, "0.40", "0.42"), (NY_TWIN, "0.470", "0.490")))
    yes, no = tick(bot(NY, NY_TWIN), ctx)
    assert (yes.instrument, yes.side, yes.intent) == (NY, Side.BUY, SignalIntent.OPEN)
    assert (no.instrument, no.side, no.intent) == (NY_TWIN, Side.SELL, SignalIntent.OPEN)
    for leg in (yes, no):
        assert leg.evidence["pair_risk_per_contract"] == pytest.approx(0.979555)
        assert leg.edge == pytest.approx(0.020445)
        assert "win_probability" not in leg.evidence  # sized by the pair's risk, not by Kelly


def test_a_pair_under_the_minimum_edge_is_not_traded() -> None:
    ctx = QuotedContext(quotes((NY, "0.40", "0.42"), (NY_TWIN, "0.470", "0.490")))
    assert tick(bot(NY, NY_TWIN, min_edge=0.03), ctx) == []


def test_markets_settling_on_different_sources_are_never_paired() -> None:
    # the same gap as New York's, but Chicago's twin settles on O'Hare and Kalshi's on Midway
    ctx = QuotedContext(quotes((CHI, "0.40", "0.42"), (CHI_TWIN, "0.470", "0.490")))
    made = bot(CHI, CHI_TWIN)
    assert made.pairs() == [] and tick(made, ctx) == []


def test_one_pair_per_event_in_a_tick() -> None:
    books = quotes(
        (NY, "0.40", "0.42"),
        (NY_TWIN, "0.470", "0.490"),
        (NY_OTHER, "0.40", "0.42"),
        (NY_OTHER_TWIN, "0.470", "0.490"),
    )
    signals = tick(bot(NY, NY_OTHER, NY_TWIN, NY_OTHER_TWIN), QuotedContext(books))
    assert {s.instrument.key for s in signals} == {NY.key, NY_TWIN.key}


def test_a_whole_pair_is_held_and_blocks_other_pairs_of_its_event() -> None:
    books = quotes((NY_OTHER, "0.40", "0.42"), (NY_OTHER_TWIN, "0.470", "0.490"))
    positions = {NY.key: held(NY, "20"), NY_TWIN.key: held(NY_TWIN, "-20")}
    assert tick(bot(NY, NY_OTHER, NY_TWIN, NY_OTHER_TWIN), QuotedContext(books, positions)) == []


def test_a_leg_held_without_its_twin_is_closed() -> None:
    [close] = tick(bot(NY, NY_TWIN), QuotedContext({}, {NY.key: held(NY, "20")}))
    assert (close.instrument, close.side, close.intent, close.close_quantity) == (
        NY,
        Side.SELL,
        SignalIntent.CLOSE,
        None,
    )
    assert "without its twin leg" in close.reason


def test_a_leg_larger_than_its_twin_is_trimmed_to_it() -> None:
    positions = {NY.key: held(NY, "25"), NY_TWIN.key: held(NY_TWIN, "-20")}
    [trim] = tick(bot(NY, NY_TWIN), QuotedContext({}, positions))
    assert (trim.instrument, trim.side, trim.close_quantity) == (NY, Side.SELL, D(5))


def test_without_both_venues_fee_schedules_the_bot_refuses_to_price() -> None:
    made = CrossVenueArbitrageBot(BotSpec(name="arb", instruments=(NY, NY_TWIN)))
    made.attach_fees({K: KalshiFees()})
    ctx = QuotedContext(quotes((NY, "0.40", "0.42"), (NY_TWIN, "0.470", "0.490")))
    with pytest.raises(RuntimeError, match="no fee schedule for venue 'sim-polymarket'"):
        tick(made, ctx)
