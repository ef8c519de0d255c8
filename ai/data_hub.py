"""The one place ensemble sources get market data while one signal is evaluated.

A hub is made per signal evaluation and shared by every source asked about that
signal, so two sources never fetch the same thing twice in a tick: bars are cached
per (instrument, timeframe) and quotes per instrument for the hub's life. Sources
are asked concurrently, so a request that arrives while the same data is already
being fetched waits for that fetch instead of starting a second one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from domain.instruments import Instrument
from domain.market import BarSeries, Quote
from domain.time import require_aware

BarsProvider = Callable[[Instrument, int, int], Awaitable[BarSeries | None]]
QuoteProvider = Callable[[Instrument], Awaitable[Quote | None]]


@dataclass(frozen=True, slots=True)
class _CachedBars:
    requested: int  # the count asked of the provider; it may have had fewer bars than that
    series: BarSeries | None


class DataHub:
    """Market data for one signal's evaluation, fetched at most once per key.

    `now` is the evaluation's time, for sources that judge how fresh their data is.
    `fetches` counts calls to the providers (bars and quotes together).
    """

    def __init__(self, bars: BarsProvider, quote: QuoteProvider, now: datetime) -> None:
        require_aware(now, "data hub time")
        self._bars_provider = bars
        self._quote_provider = quote
        self.now = now
        self.fetches = 0
        self._bars: dict[tuple[str, int], _CachedBars] = {}
        self._quotes: dict[str, Quote | None] = {}
        self._locks: dict[tuple[str, int] | str, asyncio.Lock] = {}

    async def bars(self, instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None:
        """The last `count` bars (fewer if the provider has fewer), or None when it has none.

        The longest series fetched is kept: a request for fewer bars is served from
        its tail; a request for more than was ever asked fetches again and replaces it.
        """
        if count < 1:
            raise ValueError(f"{instrument.key}: asked for {count} bars; ask for at least one")
        key = (instrument.key, timeframe_seconds)
        async with self._lock(key):
            cached = self._bars.get(key)
            if cached is None or count > cached.requested:
                self.fetches += 1
                series = await self._bars_provider(instrument, timeframe_seconds, count)
                cached = _CachedBars(count, series)
                self._bars[key] = cached
        if cached.series is None:
            return None
        return cached.series.tail(count)

    async def quote(self, instrument: Instrument) -> Quote | None:
        """The instrument's quote as first fetched in this evaluation (None is remembered too)."""
        key = instrument.key
        async with self._lock(key):
            if key not in self._quotes:
                self.fetches += 1
                self._quotes[key] = await self._quote_provider(instrument)
        return self._quotes[key]

    def _lock(self, key: tuple[str, int] | str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock
