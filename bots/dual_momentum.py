"""Dual momentum bot: hold the basket's strongest rising instrument (strategies/dual_momentum.py)."""

from __future__ import annotations

import asyncio

from bots.base import Bot, BotContext, BotSpec
from domain.signals import Side, Signal
from strategies.decision import order_for
from strategies.dual_momentum import DualMomentumParams, RotationDecision, decide


class DualMomentumBot(Bot):
    """Rotates into the instrument with the best lookback return, if that return is positive.

    The bot's instruments are the basket. Params (all optional): lookback 60,
    absolute_threshold 0, switch_margin 0.005, atr_period 14, stop_atr_multiple 2.
    Long only. When flat it may buy the leader; when holding, it closes a member whose
    momentum turned negative or that another member outran by the margin. A rotation
    takes two ticks: the close, then the entry of the new leader.
    """

    def __init__(self, spec: BotSpec) -> None:
        super().__init__(spec)
        self.params = DualMomentumParams.from_mapping(spec.params)

    async def on_tick(self, ctx: BotContext) -> list[Signal]:
        timeframe, count = self.spec.timeframe_seconds, self.params.bars_to_fetch
        basket = await asyncio.gather(*(ctx.bars(i, timeframe, count) for i in self.instruments))
        holdings: list[Side | None] = []
        for instrument in self.instruments:
            position = ctx.position(instrument)
            holdings.append(position.side if position is not None else None)
        # Flat: one decision over the basket. Holding: one per held member (normally a
        # single one; should there be more, each is judged on its own).
        held: list[int | None] = [member for member, side in enumerate(holdings) if side is not None]
        rotations = [decide(basket, self.params, member) for member in held or [None]]
        return self._signals(ctx, rotations, holdings)

    def _signals(
        self, ctx: BotContext, rotations: list[RotationDecision], holdings: list[Side | None]
    ) -> list[Signal]:
        signals: list[Signal] = []
        for rotation in rotations:
            member, decision = rotation.member, rotation.decision
            if member is None:
                continue
            order = order_for(decision, holdings[member])
            if order is None:
                continue
            side, intent = order
            signals.append(
                self.signal_for(ctx, self.instruments[member], side, intent, decision, sequence=member)
            )
        return signals
