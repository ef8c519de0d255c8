"""The simulated Kalshi venue's market data: listed markets, their trading windows, quotes and settlement."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from domain.contract_parsing import parse_kalshi_ticker
from domain.instruments import AssetClass
from risk_management.underlying import underlying_of
from simulation.prediction_market import SimulatedPredictionMarket
from utils.clock import SimulatedClock

START = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


def world(days: int = 5) -> tuple[SimulatedPredictionMarket, SimulatedClock]:
    clock = SimulatedClock(START)
    return SimulatedPredictionMarket(clock, seed=7, days=days), clock


def test_every_market_is_listed_at_start_as_a_prediction_instrument_the_parser_reads_the_same() -> None:
    market, _ = world(days=15)

    instruments = market.instruments()
    # sixteen days (from the day before the start) of four cities' ladders, and February's CPI,
    # released on March 12
    assert len(instruments) == 16 * 4 * 6 + 6
    for instrument in instruments:
        listed = market.listed(instrument.key)
        assert listed is not None and instrument.asset_class is AssetClass.PREDICTION
        assert instrument.underlying == underlying_of(instrument.symbol, AssetClass.PREDICTION)
        contract = listed.contract
        parsed = parse_kalshi_ticker("sim-kalshi", instrument.symbol, contract.strike, contract.title)
        # the ticker does not say what settles the market; the world does (the NWS station, BLS)
        assert replace(parsed, resolution_source=contract.resolution_source) == contract
        assert contract.resolution_source


def test_a_weather_market_trades_from_the_afternoon_before_to_just_past_its_day() -> None:
    market, _ = world()
    entry = next(e for e in map(market.listed, (i.key for i in market.instruments())) if e is not None)
    day = entry.contract.day
    assert day is not None

    assert entry.opens_at == datetime(day.year, day.month, day.day, 15, tzinfo=UTC) - timedelta(days=1)
    assert entry.closes_at == datetime(day.year, day.month, day.day, 6, tzinfo=UTC) + timedelta(days=1)
    assert entry.settles_at - entry.closes_at == timedelta(hours=8)
    assert entry.mid_at(entry.opens_at - timedelta(seconds=1)) is None
    assert entry.mid_at(entry.closes_at) is None


def test_a_quote_starts_at_the_crowd_and_closes_in_on_the_outcome() -> None:
    market, _ = world()
    entry = next(e for e in market.open_markets(START) if e.market.outcome_yes)

    at_open = entry.mid_at(entry.opens_at)
    near_close = entry.mid_at(entry.closes_at - timedelta(minutes=1))

    assert at_open == entry.market.crowd_price
    assert near_close is not None and near_close > 0.99
    quote = asyncio.run(market.quote(entry.instrument))
    assert quote is not None and quote.ask - quote.bid == Decimal("0.01")
    assert quote.time == START


def test_no_quote_outside_the_window_and_settlement_after_it() -> None:
    market, clock = world()
    entry = market.open_markets(START)[0]

    clock.advance((entry.closes_at - START).total_seconds())
    assert asyncio.run(market.quote(entry.instrument)) is None
    assert entry not in market.settled_since(None, clock.now())

    clock.advance((entry.settles_at - clock.now()).total_seconds())
    settled = market.settled_since(entry.closes_at, clock.now())
    assert entry in settled
    assert entry not in market.settled_since(clock.now(), clock.now() + timedelta(hours=1))


def test_the_venue_lists_further_days_as_the_clock_moves_on_the_same_world_a_later_start_lists() -> None:
    market, clock = world(days=5)
    first = {i.key for i in market.instruments()}  # 2026-03-01 ... 2026-03-06
    assert market.extend(clock.now()).instruments == ()  # nothing new the same day

    clock.advance(timedelta(days=9).total_seconds())  # 2026-03-11: the horizon reaches 2026-03-15
    listing = market.extend(clock.now())
    new = {i.key for i in listing.instruments}
    assert not new & first
    # nine more days of four cities' ladders (03-07 ... 03-15), and February's CPI, released 03-12
    assert len(new) == 9 * 4 * 6 + 6
    assert {e.day.isoformat() for e in listing.weather} == {f"2026-03-{d:02d}" for d in range(7, 16)}
    assert [(e.year, e.month) for e in listing.cpi] == [(2026, 2)]
    assert {i.key for i in market.instruments()} == first | new

    # a venue started on the later day lists the same markets with the same hidden outcomes
    later = SimulatedPredictionMarket(SimulatedClock(clock.now()), seed=7, days=5)
    for instrument in later.instruments():
        mine, theirs = market.listed(instrument.key), later.listed(instrument.key)
        assert mine is not None and theirs is not None
        assert (mine.market, mine.opens_at, mine.settles_at) == (
            theirs.market,
            theirs.opens_at,
            theirs.settles_at,
        )
