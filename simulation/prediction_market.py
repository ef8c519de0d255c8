"""The simulated Kalshi venue's market data: the prediction world's markets as instruments, quoted
on the clock, and settled when their outcome is known.

A market is listed from the start for a fixed horizon (`days` of weather events from the day
before the clock's start, and the CPI months whose release falls in it), so the daemon knows
every instrument when it starts. Each market trades only in its window:

- a weather market opens at 15:00 UTC the day before its observation day and closes at 06:00
  UTC after it (just past midnight in the US), and settles at 14:00 UTC that morning, when the
  climate report is out;
- a CPI market opens 20 days before its release and closes and settles at 12:30 UTC on the
  release day (08:30 New York), the 12th of the month after the data month.

While it trades, its mid starts at the crowd's price and moves towards the outcome as the
close nears: mid(t) = crowd + (outcome − crowd) × f³, f the elapsed fraction of the window
(information arrives, mostly late). Quotes are whole cents, one cent wide, within 1 ¢ … 99 ¢.
Outside the window there is no quote, so nothing trades. Prediction markets have no bars here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from domain.contracts import ContractSpec
from domain.instruments import AssetClass, Instrument
from domain.market import BarSeries, Quote
from simulation.prediction_world import (
    VENUE,
    SimulatedMarket,
    cpi_months,
    weather_days,
)
from utils.clock import Clock

QUOTE_SOURCE = "simulated"
WEATHER_OPENS = time(15, 0)  # UTC, the day before the observation day
WEATHER_CLOSES = time(6, 0)  # UTC, the day after
WEATHER_SETTLES = time(14, 0)  # UTC, the day after: the climate report is out
CPI_RELEASE_DAY = 12  # of the month after the data month
CPI_RELEASE = time(12, 30)  # UTC, 08:30 New York
CPI_OPEN_DAYS = 20


@dataclass(frozen=True, slots=True)
class ListedMarket:
    market: SimulatedMarket
    instrument: Instrument
    opens_at: datetime
    closes_at: datetime
    settles_at: datetime

    @property
    def contract(self) -> ContractSpec:
        return self.market.contract

    def mid_at(self, now: datetime) -> float | None:
        if not self.opens_at <= now < self.closes_at:
            return None
        elapsed = (now - self.opens_at) / (self.closes_at - self.opens_at)
        outcome = 1.0 if self.market.outcome_yes else 0.0
        crowd = self.market.crowd_price
        return crowd + (outcome - crowd) * elapsed**3


def prediction_instrument(ticker: str, underlying: str, venue: str = VENUE) -> Instrument:
    return Instrument(
        symbol=ticker,
        venue=venue,
        asset_class=AssetClass.PREDICTION,
        tick_size=Decimal("0.01"),
        lot_size=Decimal(1),
        underlying=underlying,
        min_quantity=Decimal(1),
    )


def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, UTC)


def _cpi_release(year: int, month: int) -> date:
    return date(year + 1, 1, CPI_RELEASE_DAY) if month == 12 else date(year, month + 1, CPI_RELEASE_DAY)


class SimulatedPredictionMarket:
    """A `MarketDataSource` for the simulated Kalshi venue (see the module docstring)."""

    def __init__(self, clock: Clock, seed: int, days: int = 30) -> None:
        if days < 1:
            raise ValueError(f"the prediction world needs at least one day, got {days}")
        self._clock = clock
        first = clock.now().date() - timedelta(days=1)
        self.weather = list(weather_days(first, days + 1, seed))
        # the CPI months whose release falls within the horizon (releases on the 12th of the next month)
        last = first + timedelta(days=days)
        months = []
        year, month = (first.year, first.month - 1) if first.month > 1 else (first.year - 1, 12)
        while _cpi_release(year, month) <= last:
            if _cpi_release(year, month) >= first:
                months.append((year, month))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        self.cpi = [
            event for index, (y, m) in enumerate(months) for event in cpi_months(y, m, 1, seed * 1000 + index)
        ]
        listed: list[ListedMarket] = []
        for weather in self.weather:
            opens = _at(weather.day - timedelta(days=1), WEATHER_OPENS)
            closes = _at(weather.day + timedelta(days=1), WEATHER_CLOSES)
            settles = _at(weather.day + timedelta(days=1), WEATHER_SETTLES)
            listed.extend(self._list(weather.markets, opens, closes, settles))
        for cpi in self.cpi:
            release = _at(_cpi_release(cpi.year, cpi.month), CPI_RELEASE)
            listed.extend(self._list(cpi.markets, release - timedelta(days=CPI_OPEN_DAYS), release, release))
        self._markets = {entry.instrument.key: entry for entry in listed}

    @staticmethod
    def _list(
        markets: Iterable[SimulatedMarket], opens: datetime, closes: datetime, settles: datetime
    ) -> list[ListedMarket]:
        return [
            ListedMarket(
                m, prediction_instrument(m.contract.ticker, m.contract.underlying), opens, closes, settles
            )
            for m in markets
        ]

    def instruments(self) -> list[Instrument]:
        return [entry.instrument for entry in self._markets.values()]

    def listed(self, instrument_key: str) -> ListedMarket | None:
        return self._markets.get(instrument_key)

    def open_markets(self, now: datetime) -> list[ListedMarket]:
        return [entry for entry in self._markets.values() if entry.opens_at <= now < entry.closes_at]

    def settled_since(self, since: datetime | None, now: datetime) -> list[ListedMarket]:
        """Markets whose settlement time is in (since, now]: what the venue settles at `now`."""
        return [
            entry
            for entry in self._markets.values()
            if entry.settles_at <= now and (since is None or entry.settles_at > since)
        ]

    async def quote(self, instrument: Instrument) -> Quote | None:
        entry = self._markets.get(instrument.key)
        now = self._clock.now()
        mid = None if entry is None else entry.mid_at(now)
        if mid is None:
            return None
        cents = min(98, max(1, round(mid * 100 - 0.5)))
        return Quote(
            instrument.key, Decimal(cents).scaleb(-2), Decimal(cents + 1).scaleb(-2), now, QUOTE_SOURCE
        )

    async def bars(self, instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None:
        return None
