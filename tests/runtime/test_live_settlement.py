"""A real prediction venue: settlements read market by market and booked by the daemon, and
markets listed by series as they open.

A live venue pays a settled market out itself, so the daemon sends nothing: it asks the venue
(Kalshi: `GET /markets/{ticker}`, through the real adapter against the local fake) and books the
venue's word as the position's closing fill. The booking is shown on the simulated daemon with
the Kalshi paper venue behind a wrapper that, like a live adapter, has no `settle` of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from brokers.base import ListsSeries
from brokers.router import BrokerRouter
from config.loader import load_config
from config.schema import VenueSettings
from domain.contract_parsing import parse_kalshi_ticker
from domain.contracts import Strike, StrikeType
from domain.instruments import Instrument
from domain.orders import client_order_id_for
from domain.prediction_records import Settlement
from domain.signals import Side, Signal, SignalIntent, make_signal_id
from runtime.prediction import SeriesListings, VenueSettlements
from runtime.venues import Venues, connect_real_venues
from runtime.wiring import build_simulated
from tests.brokers.harnesses.kalshi import TICKER, KalshiHarness
from tests.runtime.test_orchestrator import START, configured
from utils.clock import SimulatedClock

D = Decimal
CHECK_EVERY = timedelta(minutes=15)


@pytest.fixture
def kalshi(tmp_path: Path) -> Iterator[KalshiHarness]:
    harness = KalshiHarness(tmp_path)
    try:
        yield harness
    finally:
        harness.close()


def with_contract(harness: KalshiHarness) -> Instrument:
    """The harness's market (the Chicago high of 2026-02-09 in 38-39 °F) with its contract terms."""
    strike = Strike(StrikeType.BETWEEN, floor_strike=D(38), cap_strike=D(39))
    return replace(harness.instrument, contract=parse_kalshi_ticker(harness.instrument.venue, TICKER, strike))


def market_reads(harness: KalshiHarness) -> int:
    return len(harness.fake.server.requests_to("GET", f"/markets/{TICKER}"))


def test_a_venue_market_is_asked_after_its_day_and_then_at_most_every_check_interval(
    kalshi: KalshiHarness,
) -> None:
    market = with_contract(kalshi)
    assert market.contract is not None and market.contract.day is not None
    settlements = VenueSettlements("kalshi", kalshi.broker, CHECK_EVERY)
    climate_day = datetime(2026, 2, 9, 20, 0, tzinfo=UTC)

    async def scenario() -> None:
        # during its climate day the market cannot have settled: nothing is asked
        assert await settlements.settlements([market], climate_day) == []
        assert market_reads(kalshi) == 0
        # the next day it is asked; still trading, so nothing settles
        morning = datetime(2026, 2, 10, 8, 0, tzinfo=UTC)
        assert await settlements.settlements([market], morning) == []
        assert market_reads(kalshi) == 1
        # asked again only once the check interval has passed
        assert await settlements.settlements([market], morning + CHECK_EVERY / 2) == []
        assert market_reads(kalshi) == 1
        paid_at = morning + timedelta(minutes=20)
        kalshi.fake.settle_market(TICKER, "no", settled_at=paid_at)
        found = await settlements.settlements([market], morning + CHECK_EVERY)
        assert market_reads(kalshi) == 2
        assert found == [Settlement(market.key, False, paid_at)]

    asyncio.run(scenario())


def test_a_venue_that_cannot_answer_leaves_the_market_for_the_next_look(kalshi: KalshiHarness) -> None:
    settlements = VenueSettlements("kalshi", kalshi.broker, CHECK_EVERY)
    missing = replace(kalshi.instrument, symbol="KXHIGHCHI-26FEB09-B99.5")  # Kalshi answers 404
    now = datetime(2026, 2, 10, 8, 0, tzinfo=UTC)
    kalshi.fake.settle_market(TICKER, "yes", settled_at=now)

    async def scenario() -> list[Settlement]:
        return await settlements.settlements([missing, kalshi.instrument], now)

    # the unknown market is skipped with a warning; the known one (no day: asked at once) settles
    assert asyncio.run(scenario()) == [Settlement(kalshi.instrument.key, True, now)]


class VenuePaysOut:
    """The simulated Kalshi paper venue seen as a live venue is: orders, fills and balances as
    usual, but no `settle` (a live venue pays a settled market out on its own). Nothing patched."""

    def __init__(self, paper: Any) -> None:
        self._paper = paper

    def __getattr__(self, name: str) -> Any:
        if name == "settle":
            raise AttributeError(name)
        return getattr(self._paper, name)


def test_the_daemon_books_a_live_venues_settlement_as_the_closing_fill_once(tmp_path: Path) -> None:
    run = build_simulated(configured(tmp_path, []), START)
    orchestrator = run.orchestrator

    async def scenario() -> None:
        await orchestrator.start()
        # a YES contract at a 10-cent ask, bought through the whole road (regime, risk, paper venue)
        held = None
        for instrument in run.instruments.values():
            quote = await orchestrator.prices.quote(instrument) if instrument.venue == "sim-kalshi" else None
            if quote is not None and quote.ask == D("0.10"):
                held = instrument
                break
        assert held is not None, "the simulated venue lists no market at a 10-cent ask"
        now = orchestrator.clock.now()
        entry = await orchestrator.process_signal(
            Signal(
                id=make_signal_id("holder", held.key, now, 0),
                bot="holder",
                instrument=held,
                side=Side.BUY,
                intent=SignalIntent.OPEN,
                confidence=0.6,
                edge=0.1,
                stop=None,
                reason="test entry",
                time=now,
                evidence={"win_probability": 0.5},
            )
        )
        assert entry is not None and entry.filled_quantity > 0
        bought = entry.filled_quantity
        position = orchestrator.book.position("holder", held.key)
        assert position is not None
        entry_fees = position.fees

        paper = run.paper_brokers["sim-kalshi"]
        orchestrator.router = BrokerRouter({("sim-kalshi", "paper"): VenuePaysOut(paper)}, {})  # type: ignore[dict-item]
        settled_at = now + timedelta(hours=20)
        settlement = Settlement(held.key, True, settled_at)
        closed = await orchestrator.settle_position("holder", settlement)

        assert closed is not None
        assert (closed.exit_price, closed.quantity) == (D(1), bought)
        # bought at 0.10 and paid out at $1: (1 - 0.10) a contract, less the entry's fee only
        assert closed.net_pnl == bought * (D(1) - D("0.10")) - entry_fees
        after = orchestrator.book.position("holder", held.key)
        assert after is None or after.quantity == 0
        signal_id = make_signal_id("holder#settlement", held.key, settled_at, 0)
        booked = [f for f in orchestrator.repository.fills() if f.settlement]
        assert [(f.venue_trade_id, f.price, f.fee, f.time, f.side) for f in booked] == [
            (f"settle-{client_order_id_for(signal_id)}", D(1), D(0), settled_at, Side.SELL)
        ]
        assert [d.stage for d in orchestrator.repository.decisions(signal_id)] == ["settlement"]
        # nothing was sent: the paper venue behind the wrapper still holds what was bought
        assert [(p.instrument_key, p.quantity) for p in await paper.positions()] == [(held.key, bought)]

        # asked again (a second settlement run, or after a restart): nothing more is booked
        assert await orchestrator.settle_position("holder", settlement) is None
        assert len([f for f in orchestrator.repository.fills() if f.settlement]) == 1
        await orchestrator.stop()

    asyncio.run(scenario())


def test_a_kalshi_venue_lists_its_series_open_markets_at_start_and_new_ones_on_the_listing_job(
    kalshi: KalshiHarness, tmp_path: Path
) -> None:
    base = load_config().settings
    settings = base.model_copy(
        update={
            "venues": {"kalshi": kalshi.settings(symbols=[], series=["KXHIGHCHI"])},
            "system": base.system.model_copy(update={"var_dir": str(tmp_path / "var")}),
        }
    )
    venues = Venues()
    clock = SimulatedClock(datetime(2026, 2, 9, 15, 0, tzinfo=UTC))
    asyncio.run(connect_real_venues(settings, clock, kalshi.environ, venues))

    assert venues.unavailable == {}
    assert sorted(i.symbol for i in venues.instruments.values()) == [TICKER]
    adapter = venues.live["kalshi"]
    assert isinstance(adapter, ListsSeries)

    tomorrow = "KXHIGHCHI-26FEB10-B40.5"
    kalshi.fake.add_market(tomorrow)
    listings = SeriesListings(adapter, ["KXHIGHCHI"])
    found = asyncio.run(listings.listings(clock.now()))
    assert sorted(i.symbol for i in found) == [TICKER, tomorrow]
    venues.close()


def test_series_are_refused_outside_kalshi_and_must_be_series_tickers() -> None:
    with pytest.raises(ValidationError, match="series applies only to kind 'kalshi'"):
        VenueSettings(kind="alpaca", asset_class="stock", symbols=["SPY"], series=["KXHIGHCHI"])
    with pytest.raises(ValidationError, match="series takes series tickers"):
        VenueSettings(kind="kalshi", asset_class="prediction", series=["KXHIGHCHI-26FEB09"])
