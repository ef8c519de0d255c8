"""Polymarket's twins of the simulated Kalshi world: shared truth, own crowd, own source, own book."""

from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from domain.instruments import AssetClass
from risk_management.underlying import underlying_of
from simulation.polymarket_world import (
    VENUE,
    mirror_cpi,
    mirror_quote,
    mirror_weather,
    polymarket_instrument,
)
from simulation.prediction_market import SimulatedPredictionMarket
from simulation.prediction_world import WeatherEvent, cpi_months, weather_days
from utils.clock import SimulatedClock

SEED = 7
START = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
D = Decimal


def sixty_days() -> list[WeatherEvent]:
    return list(weather_days(date(2026, 1, 1), 60, SEED))


def test_cpi_mirrors_settle_as_kalshi_on_the_same_release_and_strikes() -> None:
    for event in cpi_months(2026, 1, 12, SEED):
        mirrors = mirror_cpi(event, SEED)

        assert [m.outcome_yes for m in mirrors] == [k.outcome_yes for k in event.markets]
        assert [m.contract.strike for m in mirrors] == [k.contract.strike for k in event.markets]
        assert {m.contract.period for m in mirrors} == {event.period}
        assert {m.contract.resolution_source for m in mirrors} == {"BLS CPI-U m/m (SA), one decimal"}
        assert {k.contract.resolution_source for k in event.markets} == {"BLS CPI-U m/m (SA), one decimal"}


def test_mirrors_on_the_same_station_settle_as_kalshi_strike_by_strike() -> None:
    same_station = [e for e in sixty_days() if e.city.code in ("NY", "MIA", "DEN")]

    for event in same_station:
        mirrors = mirror_weather(event, SEED)
        assert [m.contract.strike for m in mirrors] == [k.contract.strike for k in event.markets]
        assert [m.outcome_yes for m in mirrors] == [k.outcome_yes for k in event.markets]
        assert {m.contract.resolution_source for m in mirrors} == {
            k.contract.resolution_source for k in event.markets
        }


def test_chicago_mirrors_settle_on_ohare_and_over_sixty_days_some_settle_unlike_midway() -> None:
    chicago = [e for e in sixty_days() if e.city.code == "CHI"]
    differing = 0
    for event in chicago:
        mirrors = mirror_weather(event, SEED)
        assert {m.contract.resolution_source for m in mirrors} == {"Weather Underground KORD"}
        assert {k.contract.resolution_source for k in event.markets} == {"NWS CLI KMDW"}
        # the six strikes split the whole degrees, so one settled O'Hare high makes exactly one YES
        assert sum(m.outcome_yes for m in mirrors) == 1
        differing += sum(m.outcome_yes != k.outcome_yes for m, k in zip(mirrors, event.markets, strict=True))

    # the danger is real: a "sure dollar" across Midway and O'Hare can pay twice or not at all
    assert differing > 0


def test_a_mirror_is_a_polymarket_token_of_its_own_condition_with_the_twins_terms() -> None:
    event = next(e for e in weather_days(date(2026, 2, 9), 1, SEED) if e.city.code == "CHI")
    kalshi = event.markets[2].contract

    mirror = mirror_weather(event, SEED)[2]
    contract = mirror.contract

    condition = "0x" + hashlib.sha256(f"sim-polymarket|{kalshi.ticker}".encode()).hexdigest()
    assert contract.ticker == f"{condition}:{int(condition[2:32], 16)}"
    assert re.fullmatch(r"0x[0-9a-f]{64}:[0-9]+", contract.ticker)
    assert contract.underlying == condition == underlying_of(contract.ticker, AssetClass.PREDICTION)
    assert contract.venue == VENUE == "sim-polymarket"
    assert contract.series == contract.event == "highest-temperature-in-chicago-on-february-9-2026"
    assert (contract.domain, contract.measure, contract.subject, contract.day, contract.strike) == (
        kalshi.domain,
        kalshi.measure,
        kalshi.subject,
        kalshi.day,
        kalshi.strike,
    )
    assert mirror.mirrors == kalshi.ticker


def test_a_cpi_mirror_uses_polymarkets_monthly_slug() -> None:
    event = next(cpi_months(2026, 8, 1, SEED))

    mirror = mirror_cpi(event, SEED)[3]

    assert mirror.contract.event == "cpi-mom-august-2026"
    assert mirror.contract.period == "26AUG" and mirror.contract.strike == event.markets[3].contract.strike


def test_mirrors_are_reproducible_and_the_crowd_is_its_own() -> None:
    events = sixty_days()[:20]

    again = [mirror_weather(e, SEED) for e in events]
    other_seed = [mirror_weather(e, SEED + 1) for e in events]

    assert again == [mirror_weather(e, SEED) for e in events]
    assert [m.crowd_price for ms in other_seed for m in ms] != [m.crowd_price for ms in again for m in ms]
    # another crowd: the two venues' opening mids on a strike are not the same numbers
    kalshi_mids = [k.crowd_price for e in events for k in e.markets]
    mirror_mids = [m.crowd_price for ms in again for m in ms]
    assert sum(abs(k - m) > 0.05 for k, m in zip(kalshi_mids, mirror_mids, strict=True)) > 0


@pytest.mark.parametrize(
    ("mid", "bid", "ask"),
    [
        (0.4567, "0.447", "0.467"),  # 0.4567 -> 0.457 on the tick, then -/+ 0.010
        (0.5, "0.490", "0.510"),
        (0.0, "0.001", "0.010"),  # -0.010 clamps up to 0.001; the ask stays at 0.010
        (0.005, "0.001", "0.015"),
        (1.0, "0.990", "0.999"),  # 1.010 clamps down to 0.999
    ],
)
def test_mirror_quote_is_two_cents_wide_on_the_tenth_cent_tick_clamped(
    mid: float, bid: str, ask: str
) -> None:
    assert mirror_quote(mid) == (D(bid), D(ask))


def test_mirror_quote_refuses_a_mid_outside_zero_to_one() -> None:
    with pytest.raises(ValueError, match="mid"):
        mirror_quote(1.2)


def test_a_mirror_instrument_trades_tenth_cents_and_at_least_five_shares() -> None:
    event = next(weather_days(date(2026, 2, 9), 1, SEED))
    contract = mirror_weather(event, SEED)[0].contract

    instrument = polymarket_instrument(contract)

    assert instrument.asset_class is AssetClass.PREDICTION
    assert (instrument.tick_size, instrument.lot_size, instrument.min_quantity) == (D("0.001"), D(1), D(5))
    assert instrument.key == f"sim-polymarket:{contract.ticker}" and instrument.contract == contract


def venue(polymarket: bool, start: datetime = START) -> SimulatedPredictionMarket:
    return SimulatedPredictionMarket(SimulatedClock(start), seed=SEED, days=5, polymarket=polymarket)


def test_by_default_the_venue_lists_no_polymarket_twins() -> None:
    assert {i.venue for i in venue(polymarket=False).instruments()} == {"sim-kalshi"}


def test_with_polymarket_the_venue_lists_a_twin_per_kalshi_market_and_kalshi_is_unchanged() -> None:
    plain, both = venue(polymarket=False), venue(polymarket=True)

    kalshi = [i for i in both.instruments() if i.venue == "sim-kalshi"]
    mirrors = [i for i in both.instruments() if i.venue == "sim-polymarket"]

    # six days (from the day before the start) of four cities' ladders, on each venue
    assert len(kalshi) == len(mirrors) == 6 * 4 * 6
    assert kalshi == plain.instruments()
    for instrument in kalshi:
        theirs, mine = plain.listed(instrument.key), both.listed(instrument.key)
        assert theirs is not None and mine is not None and theirs == mine
    assert {m.contract.ticker for m in both.mirrors} == {i.symbol for i in mirrors}


def test_a_mirror_quotes_in_its_twins_window_and_settles_on_its_own_outcome() -> None:
    clock = SimulatedClock(START)
    market = SimulatedPredictionMarket(clock, seed=SEED, days=5, polymarket=True)
    entry = next(
        e
        for e in market.open_markets(START)
        if e.contract.venue == "sim-polymarket" and 0.1 < e.market.crowd_price < 0.9
    )
    assert entry.contract.day is not None
    twin = next(
        e
        for e in market.open_markets(START)
        if e.contract.venue == "sim-kalshi" and e.contract.day == entry.contract.day
    )

    quote = asyncio.run(market.quote(entry.instrument))
    assert (entry.opens_at, entry.closes_at, entry.settles_at) == (
        twin.opens_at,
        twin.closes_at,
        twin.settles_at,
    )
    assert quote is not None
    mid = entry.mid_at(START)
    assert mid is not None and (quote.bid, quote.ask) == mirror_quote(mid)
    assert quote.ask - quote.bid == D("0.02") and quote.bid == quote.bid.quantize(D("0.001"))

    clock.advance_to(entry.closes_at)
    assert asyncio.run(market.quote(entry.instrument)) is None
    clock.advance_to(entry.settles_at)
    settled = {s.instrument_key: s.outcome_yes for s in market.settlements(entry.closes_at, clock.now())}
    assert settled[entry.instrument.key] is entry.market.outcome_yes


def test_a_mirror_prints_a_tape_on_the_tenth_cent_tick() -> None:
    market = venue(polymarket=True)
    entry = next(e for e in market.open_markets(START) if e.contract.venue == "sim-polymarket")

    tape = market.trades(entry.contract.ticker, entry.opens_at, entry.closes_at)

    assert tape
    prices = [t.yes_price for t in tape]
    assert all(p == p.quantize(D("0.001")) and D(0) < p < D(1) for p in prices)
    assert any(p != p.quantize(D("0.01")) for p in prices)  # not Kalshi's whole cents


def test_a_venue_started_a_day_later_lists_the_same_mirror_for_the_same_day() -> None:
    early = venue(polymarket=True)
    later = venue(polymarket=True, start=START + timedelta(days=1))

    shared = [
        i for i in later.instruments() if i.venue == "sim-polymarket" and early.listed(i.key) is not None
    ]

    assert len(shared) == 5 * 4 * 6  # the days both horizons hold
    for instrument in shared:
        mine, theirs = early.listed(instrument.key), later.listed(instrument.key)
        assert mine is not None and theirs is not None and mine.market == theirs.market


def test_extending_the_horizon_lists_the_new_days_twins() -> None:
    clock = SimulatedClock(START)
    market = SimulatedPredictionMarket(clock, seed=SEED, days=5, polymarket=True)

    clock.advance(timedelta(days=9).total_seconds())  # 2026-03-11: lists 03-07 ... 03-15 and Feb's CPI
    listing = market.extend(clock.now())

    assert len(listing.mirrors) == 9 * 4 * 6 + 6
    assert {m.contract.ticker for m in listing.mirrors} == {
        i.symbol for i in listing.instruments if i.venue == "sim-polymarket"
    }
