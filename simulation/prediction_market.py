"""The simulated Kalshi venue's market data: the prediction world's markets as instruments, quoted
on the clock, and settled when their outcome is known.

At the start the venue lists a horizon of `days` of weather events from the day before the
clock's start, and the CPI months whose release falls in it; `extend` lists further days as the
clock moves on (the daemon's listing job calls it), so a run of any length has markets to
trade. Each market trades only in its window:

- a weather market opens at 15:00 UTC the day before its observation day and closes at 06:00
  UTC after it (just past midnight in the US), and settles at 14:00 UTC that morning, when the
  climate report is out;
- a CPI market opens 20 days before its release and closes and settles at 12:30 UTC on the
  release day (08:30 New York), the 12th of the month after the data month;
- with `sports=True`, a game's two markets (`simulation.sports_world`) open at 12:00 UTC on game
  day, close at 04:00 UTC after it (evening games in New York are over) and settle an hour later.

While it trades, its mid starts at the crowd's price and moves towards the outcome as the
close nears: mid(t) = crowd + (outcome − crowd) × f³, f the elapsed fraction of the window
(information arrives, mostly late). Quotes are whole cents, one cent wide, within 1 ¢ … 99 ¢.
Outside the window there is no quote, so nothing trades. Prediction markets have no bars here.

The public trade tape (`trades`) is drawn per market and per five minutes from its own
generator, so it is the same whenever it is read: small takers at the mid on either side
(about 1.5 trades a bucket), and now and then (3 % of buckets) a whale taking $600 to $3,000
on the side that pays with probability `WHALE_ACCURACY`: informed money, right more often
than not. The whale tracker and the price gate read it as they read Kalshi's tape.

With `polymarket=True` the venue also lists each event's Polymarket twins
(`simulation.polymarket_world`): their own crowd's opening mid, the same trading window and
the same learning curve, quoted on Polymarket's 0.001 tick two cents wide, settled on their
own source's number. Off by default, so a run that does not ask lists Kalshi's world alone.
"""

from __future__ import annotations

import bisect
import math
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import numpy as np

from domain.contracts import ContractSpec
from domain.instruments import AssetClass, Instrument
from domain.market import BarSeries, Quote
from domain.prediction_records import Settlement
from scrapers.whales import KalshiTrade
from simulation.polymarket_world import (
    TICK,
    MirrorMarket,
    mirror_cpi,
    mirror_quote,
    mirror_weather,
    polymarket_instrument,
)
from simulation.prediction_world import (
    CpiEvent,
    SimulatedMarket,
    WeatherEvent,
    cpi_months,
    weather_days,
)
from simulation.sports_world import SportsGame, sports_days
from utils.clock import Clock

QUOTE_SOURCE = "simulated"
WEATHER_OPENS = time(15, 0)  # UTC, the day before the observation day
WEATHER_CLOSES = time(6, 0)  # UTC, the day after
WEATHER_SETTLES = time(14, 0)  # UTC, the day after: the climate report is out
CPI_RELEASE_DAY = 12  # of the month after the data month
CPI_RELEASE = time(12, 30)  # UTC, 08:30 New York
CPI_OPEN_DAYS = 20
SPORTS_OPENS = time(12, 0)  # UTC, on game day
SPORTS_CLOSES = time(4, 0)  # UTC, the day after: evening games in New York are over
SPORTS_SETTLE_AFTER = timedelta(hours=1)  # the official box score is out
TAPE_BUCKET = timedelta(minutes=5)
SMALL_TRADES_PER_BUCKET = 1.5
WHALE_BUCKET_SHARE = 0.03
WHALE_ACCURACY = 0.65  # how often a whale takes the side that pays
WHALE_NOTIONAL_USD = (600.0, 3000.0)
TAPE_CACHE_MARKETS = 2_000  # tapes kept (a market's is a few hundred trades); then drawn again


@dataclass(frozen=True, slots=True)
class Listing:
    """What one extension of the horizon listed: the new events and their markets' instruments."""

    weather: tuple[WeatherEvent, ...]
    cpi: tuple[CpiEvent, ...]
    instruments: tuple[Instrument, ...]
    mirrors: tuple[MirrorMarket, ...] = ()  # the Polymarket twins among `instruments`, when listed
    games: tuple[SportsGame, ...] = ()  # the sports games among them, when listed


@dataclass(frozen=True, slots=True)
class ListedMarket:
    """A market the venue lists: a Kalshi market of the world, or (`MirrorMarket`) its Polymarket twin."""

    market: SimulatedMarket | MirrorMarket
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
        return learned(self.market.crowd_price, self.market.outcome_yes, elapsed**3)

    def quote_at(self, now: datetime) -> tuple[Decimal, Decimal] | None:
        """The bid and ask at `now` (None outside the window): Kalshi's whole cents one cent wide, or
        for a Polymarket twin `mirror_quote`'s 0.001 tick two cents wide."""
        mid = self.mid_at(now)
        if mid is None:
            return None
        if isinstance(self.market, MirrorMarket):
            return mirror_quote(mid)
        cents = min(98, max(1, round(mid * 100 - 0.5)))
        return Decimal(cents).scaleb(-2), Decimal(cents + 1).scaleb(-2)

    def trade_price(self, mid: float) -> Decimal:
        """Where the tape prints a trade at `mid`: whole cents on Kalshi, the 0.001 tick on Polymarket."""
        if isinstance(self.market, MirrorMarket):
            return min(max(Decimal(repr(mid)).quantize(TICK), TICK), 1 - TICK)
        return _cents(mid)


def learned(prior: float, outcome_yes: bool, information: float) -> float:
    """A probability `prior` held before anything was known, once a share `information` of what
    decides the outcome is known: prior + (outcome − prior) × information."""
    outcome = 1.0 if outcome_yes else 0.0
    return prior + (outcome - prior) * information


def prediction_instrument(contract: ContractSpec) -> Instrument:
    """The YES contract of a market, as the venue lists it: whole cents, whole contracts."""
    return Instrument(
        symbol=contract.ticker,
        venue=contract.venue,
        asset_class=AssetClass.PREDICTION,
        tick_size=Decimal("0.01"),
        lot_size=Decimal(1),
        underlying=contract.underlying,
        min_quantity=Decimal(1),
        contract=contract,
    )


def _cents(price: float) -> Decimal:
    return Decimal(min(99, max(1, round(price * 100)))).scaleb(-2)


def tape_bucket(entry: ListedMarket, bucket: int, seed: int) -> list[KalshiTrade]:
    """The trades of one five-minute bucket of a market's window (see the module docstring)."""
    ticker = entry.contract.ticker
    rng = np.random.default_rng([seed, zlib.crc32(ticker.encode()), bucket])
    start = entry.opens_at + bucket * TAPE_BUCKET
    trades: list[KalshiTrade] = []

    def trade(kind: str, index: int, side: str, count: int) -> None:
        moment = start + TAPE_BUCKET * float(rng.uniform(0.0, 1.0))
        mid = entry.mid_at(moment)
        if mid is None:
            return
        trades.append(
            KalshiTrade(
                f"{ticker}-{bucket}-{kind}{index}",
                ticker,
                Decimal(count),
                entry.trade_price(mid),
                side,
                moment,
            )
        )

    for index in range(int(rng.poisson(SMALL_TRADES_PER_BUCKET))):
        trade("s", index, "yes" if rng.random() < 0.5 else "no", int(rng.integers(1, 40)))
    if rng.random() < WHALE_BUCKET_SHARE:
        pays = "yes" if entry.market.outcome_yes else "no"
        side = pays if rng.random() < WHALE_ACCURACY else ("no" if pays == "yes" else "yes")
        mid = entry.mid_at(start) or entry.market.crowd_price
        taker_price = float(entry.trade_price(mid)) if side == "yes" else 1.0 - float(entry.trade_price(mid))
        notional = float(rng.uniform(*WHALE_NOTIONAL_USD))
        trade("w", 0, side, max(1, math.ceil(notional / taker_price)))
    return trades


def _instrument_of(market: SimulatedMarket | MirrorMarket) -> Instrument:
    if isinstance(market, MirrorMarket):
        return polymarket_instrument(market.contract)
    return prediction_instrument(market.contract)


def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, UTC)


def _cpi_release(year: int, month: int) -> date:
    return date(year + 1, 1, CPI_RELEASE_DAY) if month == 12 else date(year, month + 1, CPI_RELEASE_DAY)


class SimulatedPredictionMarket:
    """A `MarketDataSource` for the simulated Kalshi venue (see the module docstring)."""

    def __init__(
        self, clock: Clock, seed: int, days: int = 30, *, polymarket: bool = False, sports: bool = False
    ) -> None:
        if days < 1:
            raise ValueError(f"the prediction world needs at least one day, got {days}")
        self._clock = clock
        self._seed = seed
        self._days = days
        self._polymarket = polymarket
        self._sports = sports
        # by ticker: the first and last buckets drawn, their trades in time order, and the times
        self._tapes: dict[str, tuple[int, int, list[KalshiTrade], list[datetime]]] = {}
        self.weather: list[WeatherEvent] = []
        self.cpi: list[CpiEvent] = []
        self.mirrors: list[MirrorMarket] = []  # the Polymarket twins listed, when `polymarket`
        self.games: list[SportsGame] = []  # the sports games listed, when `sports`
        self._markets: dict[str, ListedMarket] = {}
        self._by_ticker: dict[str, ListedMarket] = {}
        self._first = clock.now().date() - timedelta(days=1)
        self._last: date | None = None  # the last observation day listed
        self.extend(clock.now())

    def extend(self, now: datetime) -> Listing:
        """List the days up to `days` after `now`'s (and the CPI months released by then) that
        are not listed yet; what was new. The same world as a venue started later would list:
        every city-day and CPI month has its own seed."""
        last = now.date() + timedelta(days=self._days - 1)
        first = self._first if self._last is None else self._last + timedelta(days=1)
        if first > last:
            return Listing((), (), ())
        weather = list(weather_days(first, (last - first).days + 1, self._seed))
        # the CPI months whose release falls in [first, last] (released on the 12th of the next month)
        months = []
        year, month = (first.year, first.month - 1) if first.month > 1 else (first.year - 1, 12)
        while _cpi_release(year, month) <= last:
            if _cpi_release(year, month) >= first:
                months.append((year, month))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        cpi = [event for y, m in months for event in cpi_months(y, m, 1, self._seed)]
        listed: list[ListedMarket] = []
        mirrors: list[MirrorMarket] = []
        for day in weather:
            opens = _at(day.day - timedelta(days=1), WEATHER_OPENS)
            closes = _at(day.day + timedelta(days=1), WEATHER_CLOSES)
            settles = _at(day.day + timedelta(days=1), WEATHER_SETTLES)
            listed.extend(self._list(day.markets, opens, closes, settles))
            if self._polymarket:
                twins = mirror_weather(day, self._seed)
                mirrors.extend(twins)
                listed.extend(self._list(twins, opens, closes, settles))
        for release_month in cpi:
            release = _at(_cpi_release(release_month.year, release_month.month), CPI_RELEASE)
            opens = release - timedelta(days=CPI_OPEN_DAYS)
            listed.extend(self._list(release_month.markets, opens, release, release))
            if self._polymarket:
                twins = mirror_cpi(release_month, self._seed)
                mirrors.extend(twins)
                listed.extend(self._list(twins, opens, release, release))
        games = list(sports_days(first, (last - first).days + 1, self._seed)) if self._sports else []
        for game in games:
            opens = _at(game.day, SPORTS_OPENS)
            ends = _at(game.day + timedelta(days=1), SPORTS_CLOSES)
            listed.extend(self._list(game.markets, opens, ends, ends + SPORTS_SETTLE_AFTER))
        self.weather.extend(weather)
        self.cpi.extend(cpi)
        self.mirrors.extend(mirrors)
        self.games.extend(games)
        self._markets.update({entry.instrument.key: entry for entry in listed})
        self._by_ticker.update({entry.contract.ticker: entry for entry in listed})
        self._last = last
        return Listing(
            tuple(weather),
            tuple(cpi),
            tuple(entry.instrument for entry in listed),
            tuple(mirrors),
            tuple(games),
        )

    @staticmethod
    def _list(
        markets: Iterable[SimulatedMarket | MirrorMarket],
        opens: datetime,
        closes: datetime,
        settles: datetime,
    ) -> list[ListedMarket]:
        return [ListedMarket(m, _instrument_of(m), opens, closes, settles) for m in markets]

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

    def settlements(self, since: datetime | None, now: datetime) -> list[Settlement]:
        """What the venue settled in (since, now]: each market's outcome, at its settlement time."""
        return [
            Settlement(entry.instrument.key, entry.market.outcome_yes, entry.settles_at)
            for entry in self.settled_since(since, now)
        ]

    def _tape_span(self, ticker: str, first: int, last: int) -> tuple[list[KalshiTrade], list[datetime]]:
        """The market's tape over buckets `first`..`last` at least, in time order, with the times
        alone (for bisecting). Buckets never change once drawn, and looks move forward in time,
        so a market's tape is extended, and drawn afresh only for a look further back."""
        held = self._tapes.get(ticker)
        if held is None or first < held[0]:
            if len(self._tapes) >= TAPE_CACHE_MARKETS and held is None:
                self._tapes.clear()
            held = (first, first - 1, [], [])
        start, drawn, trades, times = held
        if last > drawn:
            entry = self._by_ticker[ticker]
            for b in range(drawn + 1, last + 1):
                new = sorted(tape_bucket(entry, b, self._seed), key=lambda t: t.created_time)
                trades.extend(new)
                times.extend(t.created_time for t in new)
            held = (start, last, trades, times)
        self._tapes[ticker] = held
        return held[2], held[3]

    def information(self, instrument_key: str, now: datetime) -> float | None:
        """The share of what decides the market that is known at `now`: f³ of its window (None
        when it is not trading). The crowd's mid and the simulated forecasters both learn it."""
        entry = self._markets.get(instrument_key)
        if entry is None or not entry.opens_at <= now < entry.closes_at:
            return None
        return float(((now - entry.opens_at) / (entry.closes_at - entry.opens_at)) ** 3)

    def trades(self, ticker: str, since: datetime, now: datetime) -> list[KalshiTrade]:
        """The market's public trade tape in [since, now], oldest first (empty outside its window)."""
        entry = self._by_ticker.get(ticker)
        if entry is None:
            return []
        start, end = max(since, entry.opens_at), min(now, entry.closes_at)
        if start >= end:
            return []
        first = int((start - entry.opens_at) / TAPE_BUCKET)
        trades, times = self._tape_span(ticker, first, int((end - entry.opens_at) / TAPE_BUCKET))
        return trades[bisect.bisect_left(times, start) : bisect.bisect_right(times, end)]

    async def quote(self, instrument: Instrument) -> Quote | None:
        entry = self._markets.get(instrument.key)
        now = self._clock.now()
        book = None if entry is None else entry.quote_at(now)
        if book is None:
            return None
        return Quote(instrument.key, book[0], book[1], now, QUOTE_SOURCE)

    async def bars(self, instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None:
        return None
