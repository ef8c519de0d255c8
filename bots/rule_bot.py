"""The shape shared by bots that apply one strategy rule to each of their instruments on its own."""

from __future__ import annotations

from abc import abstractmethod

from bots.base import Bot, BotContext
from domain.market import BarSeries
from domain.signals import Side, Signal
from strategies.decision import StrategyDecision, order_for


class PerInstrumentRuleBot(Bot):
    """Each tick: read each instrument's bars, ask the rule, and turn its decision into at most
    one signal per instrument (an entry with its stop when flat, a close when holding).
    Subclasses parse their parameters and name the rule."""

    @property
    @abstractmethod
    def bars_to_fetch(self) -> int:
        """How many bars the rule needs to decide at the last one."""

    @abstractmethod
    def decide(self, series: BarSeries, holding: Side | None) -> StrategyDecision:
        """The rule's decision at the last bar of `series` (None holding: flat)."""

    async def on_tick(self, ctx: BotContext) -> list[Signal]:
        signals: list[Signal] = []
        for index, instrument in enumerate(self.instruments):
            series = await ctx.bars(instrument, self.spec.timeframe_seconds, self.bars_to_fetch)
            if series is None:
                continue
            position = ctx.position(instrument)
            holding = position.side if position is not None else None
            decision = self.decide(series, holding)
            order = order_for(decision, holding)
            if order is None:
                continue
            side, intent = order
            signals.append(self.signal_for(ctx, instrument, side, intent, decision, sequence=index))
        return signals
