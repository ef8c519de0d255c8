"""Prices from a chain of sources: the venue first, then a second source, then none.

A source that has no price, an invalid one or a stale one is skipped; when all
are exhausted the answer is None. There is deliberately no last resort: an old
price or an entry price is never returned in place of a current one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from brokers.base import BrokerError, MarketDataSource
from domain.instruments import Instrument
from domain.market import BarSeries, Quote
from utils.clock import Clock


class PriceChain:
    def __init__(
        self,
        sources_by_venue: Mapping[str, Sequence[MarketDataSource]],
        clock: Clock,
        max_age_seconds: Mapping[str, float],
    ) -> None:
        self._sources = {venue: tuple(sources) for venue, sources in sources_by_venue.items()}
        self._clock = clock
        self._max_age = dict(max_age_seconds)

    async def quote(self, instrument: Instrument) -> Quote | None:
        now = self._clock.now()
        max_age = self._max_age.get(instrument.asset_class.value, 10.0)
        for source in self._sources.get(instrument.venue, ()):
            try:
                quote = await source.quote(instrument)
            except (BrokerError, ValueError):
                continue
            if quote is not None and quote.age_seconds(now) <= max_age:
                return quote
        return None

    async def bars(self, instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None:
        for source in self._sources.get(instrument.venue, ()):
            try:
                series = await source.bars(instrument, timeframe_seconds, count)
            except (BrokerError, ValueError):
                continue
            if series is not None and len(series) > 0:
                return series
        return None
