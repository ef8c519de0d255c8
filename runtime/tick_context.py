"""The BotContext a bot sees during one tick."""

from __future__ import annotations

from datetime import datetime

from brokers.price_chain import PriceChain
from domain.instruments import Instrument
from domain.market import BarSeries, Quote
from domain.positions import Position
from risk_management.book import Book


class TickContext:
    def __init__(self, bot: str, now: datetime, tick_time: datetime, prices: PriceChain, book: Book) -> None:
        self._bot = bot
        self._now = now
        self._tick_time = tick_time
        self._prices = prices
        self._book = book

    @property
    def now(self) -> datetime:
        return self._now

    @property
    def tick_time(self) -> datetime:
        return self._tick_time

    async def bars(self, instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None:
        return await self._prices.bars(instrument, timeframe_seconds, count)

    async def quote(self, instrument: Instrument) -> Quote | None:
        return await self._prices.quote(instrument)

    def position(self, instrument: Instrument) -> Position | None:
        return self._book.position(self._bot, instrument.key)
