"""The RiskEngine as a stage of the road: gathers the book, asks the pure engine, keeps the intent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from domain.instruments import Instrument
from domain.market import Quote
from domain.pipeline import SignalContext
from domain.positions import Position
from domain.signals import Decision, Signal
from risk_management.engine import STAGE, BookSnapshot, RiskEngine


class RiskStage:
    name = STAGE

    def __init__(
        self,
        engine: RiskEngine,
        book: Callable[[], BookSnapshot],
        quote: Callable[[Instrument], Awaitable[Quote | None]],
        position: Callable[[str, Instrument], Position | None],
    ) -> None:
        self._engine = engine
        self._book = book
        self._quote = quote
        self._position = position

    async def evaluate(self, signal: Signal, ctx: SignalContext) -> Decision:
        quote = await self._quote(signal.instrument)
        outcome = self._engine.assess(
            signal,
            book=self._book(),
            quote=quote,
            own_position=self._position(signal.bot, signal.instrument),
            now=ctx.now,
            size_multiplier=ctx.size_multiplier,
        )
        ctx.intent = outcome.intent
        return outcome.decision
