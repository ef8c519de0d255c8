"""The RiskEngine as a stage of the road: gathers the book, prices and correlations (the only
I/O of the risk package, through callables the wiring hands in), asks the pure engine, keeps
the intent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from domain.instruments import Instrument
from domain.market import BarSeries, Quote
from domain.pipeline import SignalContext
from domain.positions import Position
from domain.signals import Decision, Signal, SignalIntent
from risk_management.correlation import return_correlations
from risk_management.engine import STAGE, BookSnapshot, RiskEngine

BarsSource = Callable[[Instrument, int, int], Awaitable[BarSeries | None]]


@dataclass(frozen=True, slots=True)
class CorrelationInputs:
    """Where the correlated-exposure limit gets its bars."""

    bars: BarsSource
    instruments: Mapping[str, Instrument]
    timeframe_seconds: int = 60
    window: int = 120


class RiskStage:
    name = STAGE

    def __init__(
        self,
        engine: RiskEngine,
        book: Callable[[], BookSnapshot],
        quote: Callable[[Instrument], Awaitable[Quote | None]],
        position: Callable[[str, Instrument], Position | None],
        correlation: CorrelationInputs | None = None,
    ) -> None:
        self._engine = engine
        self._book = book
        self._quote = quote
        self._position = position
        self._correlation = correlation

    async def evaluate(self, signal: Signal, ctx: SignalContext) -> Decision:
        quote = await self._quote(signal.instrument)
        book = self._book()
        correlations: dict[str, float] = {}
        if signal.intent is SignalIntent.OPEN:
            correlations = await self._correlations(signal.instrument, book)
        outcome = self._engine.assess(
            signal,
            book=book,
            quote=quote,
            own_position=self._position(signal.bot, signal.instrument),
            now=ctx.now,
            size_multiplier=ctx.size_multiplier,
            correlations=correlations,
        )
        ctx.intent = outcome.intent
        return outcome.decision

    async def _correlations(self, candidate: Instrument, book: BookSnapshot) -> dict[str, float]:
        inputs = self._correlation
        held = {e.instrument_key for e in book.open_exposures + book.pending_entries}
        if inputs is None or not held:
            return {}
        count = inputs.window + 1
        own = await inputs.bars(candidate, inputs.timeframe_seconds, count)
        if own is None or len(own) < count:
            return {}
        others = {}
        for key in held:
            instrument = inputs.instruments.get(key)
            if instrument is None:
                continue
            series = await inputs.bars(instrument, inputs.timeframe_seconds, count)
            # only bars that end with the candidate's are comparable
            if series is not None and len(series) == count and series.times[-1] == own.times[-1]:
                others[key] = series.close
        try:
            return return_correlations(own.close, others, inputs.window)
        except ValueError:
            return {}  # a bad price in the candidate's own window; the quote check decides the trade
