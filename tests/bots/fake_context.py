"""A BotContext test double: fixed bars and positions, fed by the test."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from bots.base import Bot
from domain.instruments import Instrument
from domain.market import BarSeries, Quote
from domain.positions import Position
from domain.signals import Signal
from tests.factories import T0


class FakeContext:
    """Serves the last `count` of the bars it was given, and the positions it was given.

    `requests` records each bars() call as (instrument key, timeframe seconds, count).
    """

    def __init__(
        self,
        bars: Mapping[str, BarSeries | None],
        positions: Mapping[str, Position] | None = None,
        now: datetime = T0,
    ) -> None:
        self._bars = dict(bars)
        self._positions = dict(positions or {})
        self._now = now
        self.requests: list[tuple[str, int, int]] = []

    @property
    def now(self) -> datetime:
        return self._now

    @property
    def tick_time(self) -> datetime:
        return self._now

    async def bars(self, instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None:
        self.requests.append((instrument.key, timeframe_seconds, count))
        series = self._bars.get(instrument.key)
        if series is None:
            return None
        return BarSeries(
            series.instrument_key,
            series.timeframe_seconds,
            series.times[-count:],
            series.open[-count:],
            series.high[-count:],
            series.low[-count:],
            series.close[-count:],
            series.volume[-count:],
        )

    async def quote(self, instrument: Instrument) -> Quote | None:
        return None

    def position(self, instrument: Instrument) -> Position | None:
        return self._positions.get(instrument.key)


def holding(instrument: Instrument, quantity: str, bot: str = "bot-under-test") -> Position:
    """An open position of `quantity` (negative for a short) at 100."""
    return Position(
        bot=bot, instrument_key=instrument.key, quantity=Decimal(quantity), average_entry_price=Decimal(100)
    )


def tick(bot: Bot, ctx: FakeContext) -> list[Signal]:
    return asyncio.run(bot.on_tick(ctx))
