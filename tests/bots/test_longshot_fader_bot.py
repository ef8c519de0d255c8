"""The longshot fader in a tick: which markets it fades, what its signal carries, when it buys back.

Quotes and positions are fixed by the test; the fee is the real Kalshi schedule the daemon attaches.
At bid 0.06 / ask 0.07 the fade's edge is 0.005519 a contract (worked in tests/strategies/test_longshot.py).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from bots.base import BotSpec
from bots.fleet.kalshi.longshot_fader import LongshotFaderBot
from domain.contracts import Strike, StrikeType
from domain.fees import KalshiFees
from domain.instruments import AssetClass, Instrument
from domain.positions import Position
from domain.signals import Side, Signal, SignalIntent
from tests.bots.event_trading.test_bot import NOW, VENUE, QuotedContext, book, kalshi

D = Decimal
TAIL = kalshi("KXHIGHCHI-26FEB09-T45", Strike(StrikeType.GREATER, floor_strike=D(45)))
BRACKET = kalshi("KXHIGHCHI-26FEB09-B38.5", Strike(StrikeType.BETWEEN, D(38), D(39)))
OTHER_DAY = kalshi("KXHIGHCHI-26FEB10-T45", Strike(StrikeType.GREATER, floor_strike=D(45)))


def fader(*instruments: Instrument, fees: bool = True, **params: float) -> LongshotFaderBot:
    made = LongshotFaderBot(BotSpec(name="fader", instruments=instruments, params=params))
    if fees:
        made.attach_fees({VENUE: KalshiFees()})
    return made


def tick(made: LongshotFaderBot, ctx: QuotedContext) -> list[Signal]:
    return asyncio.run(made.on_tick(ctx))


def faded(instrument: Instrument, quantity: str = "-20") -> Position:
    return Position("fader", instrument.key, D(quantity), D("0.06"), opened_at=NOW)


def test_a_six_cent_longshot_is_faded_by_selling_its_yes_with_the_curves_probability() -> None:
    [signal] = tick(fader(TAIL), QuotedContext({TAIL.key: book(TAIL, "0.06", "0.07")}))
    assert (signal.side, signal.intent) == (Side.SELL, SignalIntent.OPEN)
    assert signal.edge == pytest.approx(0.005519, abs=1e-6)
    assert signal.evidence["contract_side"] == "no"
    assert signal.evidence["win_probability"] == pytest.approx(1 - 0.050481, abs=1e-6)
    assert signal.evidence["fee_per_contract"] == pytest.approx(0.004)
    assert "wins 5.05% by the longshot curve" in signal.reason


def test_a_market_priced_above_the_longshot_range_is_left_alone() -> None:
    assert tick(fader(TAIL), QuotedContext({TAIL.key: book(TAIL, "0.25", "0.26")})) == []


def test_a_market_not_trading_is_skipped() -> None:
    assert tick(fader(TAIL), QuotedContext({})) == []


def test_only_one_market_of_an_event_is_faded_in_one_tick() -> None:
    quotes = {
        TAIL.key: book(TAIL, "0.06", "0.07"),
        BRACKET.key: book(BRACKET, "0.06", "0.07"),
        OTHER_DAY.key: book(OTHER_DAY, "0.06", "0.07"),
    }
    signals = tick(fader(TAIL, BRACKET, OTHER_DAY), QuotedContext(quotes))
    assert [s.instrument.key for s in signals] == [TAIL.key, OTHER_DAY.key]


def test_an_event_already_faded_gets_no_second_fade() -> None:
    quotes = {TAIL.key: book(TAIL, "0.06", "0.07"), BRACKET.key: book(BRACKET, "0.06", "0.07")}
    assert tick(fader(TAIL, BRACKET), QuotedContext(quotes, {TAIL.key: faded(TAIL)})) == []


def test_a_held_fade_is_bought_back_when_the_yes_bid_reaches_the_exit_price() -> None:
    ctx = QuotedContext({TAIL.key: book(TAIL, "0.31", "0.32")}, {TAIL.key: faded(TAIL)})
    [signal] = tick(fader(TAIL), ctx)
    assert (signal.side, signal.intent) == (Side.BUY, SignalIntent.CLOSE)
    assert "bought back" in signal.reason


def test_a_held_fade_under_the_exit_price_is_held_to_settlement() -> None:
    ctx = QuotedContext({TAIL.key: book(TAIL, "0.20", "0.21")}, {TAIL.key: faded(TAIL)})
    assert tick(fader(TAIL), ctx) == []


def test_without_the_venues_fee_schedule_the_bot_refuses_to_price() -> None:
    with pytest.raises(RuntimeError, match="no fee schedule"):
        tick(fader(TAIL, fees=False), QuotedContext({TAIL.key: book(TAIL, "0.06", "0.07")}))


def test_an_instrument_without_contract_terms_is_refused_at_start() -> None:
    stock = Instrument("SPY", "sim", AssetClass.STOCK, D("0.01"), D(1), "SPY")
    with pytest.raises(ValueError, match="not a prediction market"):
        fader(stock)
