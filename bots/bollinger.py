"""Bollinger bot: band reversion (strategies/bollinger.py) on each of its instruments."""

from __future__ import annotations

from bots.base import Bot, BotContext, BotSpec
from domain.signals import Signal
from strategies.bollinger import BollingerParams, decide
from strategies.decision import order_for


class BollingerBot(Bot):
    """Buys a close below the lower band and sells at the middle band; each instrument on its own.

    Params (all optional): period 20, num_std 2, allow_short false (when true, also
    sells a close above the upper band), atr_period 14, stop_atr_multiple 2. Entries
    carry a stop `stop_atr_multiple` ATRs away; exits close the whole position. Missing
    or bad bars mean no signal for that instrument.
    """

    def __init__(self, spec: BotSpec) -> None:
        super().__init__(spec)
        self.params = BollingerParams.from_mapping(spec.params)

    async def on_tick(self, ctx: BotContext) -> list[Signal]:
        signals: list[Signal] = []
        for index, instrument in enumerate(self.instruments):
            series = await ctx.bars(instrument, self.spec.timeframe_seconds, self.params.bars_to_fetch)
            if series is None:
                continue
            position = ctx.position(instrument)
            holding = position.side if position is not None else None
            decision = decide(series, self.params, holding)
            order = order_for(decision, holding)
            if order is None:
                continue
            side, intent = order
            signals.append(
                self.signal(
                    ctx,
                    instrument,
                    side,
                    intent,
                    confidence=decision.confidence,
                    edge=decision.edge,
                    stop=decision.stop,
                    reason=decision.reason,
                    evidence=decision.evidence,
                    sequence=index,
                )
            )
        return signals
