"""Pairs bot: trade the spread of a cointegrated pair (strategies/pairs.py), both legs together."""

from __future__ import annotations

import asyncio
import math
from datetime import datetime

from bots.base import Bot, BotContext, BotSpec
from domain.instruments import Instrument
from domain.market import BarSeries
from domain.positions import Position
from domain.signals import Signal, SignalIntent
from strategies.decision import Action
from strategies.pairs import PairDecision, PairHolding, PairsParams, decide

LEG_NAMES = ("A", "B")


class PairsBot(Bot):
    """Sells the spread A - beta B when it is stretched above its mean and buys it when below,
    while the two instruments are cointegrated; closes both legs when the spread comes back.

    The spec names exactly two instruments, A then B, on the same timeframe. Params (all
    optional): formation_bars 240, max_pvalue 0.05, break_pvalue 0.2, entry_z 2, exit_z 0.5,
    max_holding_bars 120, adf_lags 1, atr_period 14, stop_atr_multiple 3.

    An entry is two OPEN signals (A with sequence 0, B with 1), each with its own stop; the
    risk engine sizes each leg on its own, and the hedge ratio and z-score travel in the
    evidence. The bot holds the pair while it holds leg A; the bars held count from leg A's
    opening. A lone leg (the other was refused, or stopped out) is closed at once: half a
    pair is no hedge. Bars missing, or not ending at the same time, mean no signal.
    """

    def __init__(self, spec: BotSpec) -> None:
        if len(spec.instruments) != 2:
            raise ValueError(
                f"bot {spec.name!r}: a pairs bot trades exactly two instruments (A, then B), "
                f"got {len(spec.instruments)}"
            )
        super().__init__(spec)
        self.params = PairsParams.from_mapping(spec.params)

    async def on_tick(self, ctx: BotContext) -> list[Signal]:
        legs = (self.instruments[0], self.instruments[1])
        timeframe, count = self.spec.timeframe_seconds, self.params.bars_to_fetch
        series_a, series_b = await asyncio.gather(*(ctx.bars(leg, timeframe, count) for leg in legs))
        positions = (ctx.position(legs[0]), ctx.position(legs[1]))
        held = [position for position in positions if position is not None and position.side is not None]
        if len(held) == 1:
            return self._close_lone_leg(ctx, legs, positions)
        if series_a is None or series_b is None:
            return []
        position_a = positions[0]
        holding = None
        if position_a is not None and position_a.side is not None:
            holding = PairHolding(position_a.side, bars_held(series_a, position_a.opened_at))
        decision = decide(series_a, series_b, self.params, holding)
        if decision.action is Action.EXIT and holding is not None:
            return [self._close(ctx, legs, positions, leg, decision.reason, decision) for leg in (0, 1)]
        if decision.legs is not None and holding is None:
            return [self._open(ctx, legs, leg, decision) for leg in (0, 1)]
        return []

    def _open(
        self, ctx: BotContext, legs: tuple[Instrument, Instrument], leg: int, decision: PairDecision
    ) -> Signal:
        assert decision.legs is not None
        plan = decision.legs[leg]
        return self.signal(
            ctx,
            legs[leg],
            plan.side,
            SignalIntent.OPEN,
            confidence=decision.confidence,
            edge=decision.edge,
            stop=plan.stop,
            reason=f"pair leg {LEG_NAMES[leg]}: {decision.reason}",
            evidence={**decision.evidence, "close": plan.close, "atr": plan.atr},
            sequence=leg,
        )

    def _close(
        self,
        ctx: BotContext,
        legs: tuple[Instrument, Instrument],
        positions: tuple[Position | None, Position | None],
        leg: int,
        reason: str,
        decision: PairDecision | None = None,
    ) -> Signal:
        position = positions[leg]
        assert position is not None and position.side is not None
        evidence: dict[str, float] = {}
        if decision is not None:
            evidence = dict(decision.evidence)
            name = LEG_NAMES[leg].lower()
            for key in ("close", "atr"):
                if f"{key}_{name}" in evidence:
                    evidence[key] = evidence[f"{key}_{name}"]
        return self.signal(
            ctx,
            legs[leg],
            position.side.opposite,
            SignalIntent.CLOSE,
            confidence=1.0,
            edge=0.0,
            stop=None,
            reason=f"pair leg {LEG_NAMES[leg]}: {reason}",
            evidence=evidence,
            sequence=leg,
        )

    def _close_lone_leg(
        self,
        ctx: BotContext,
        legs: tuple[Instrument, Instrument],
        positions: tuple[Position | None, Position | None],
    ) -> list[Signal]:
        held = 0 if positions[0] is not None and positions[0].side is not None else 1
        other = LEG_NAMES[1 - held]
        reason = f"leg {other} is flat (refused or stopped out): half a pair is no hedge"
        return [self._close(ctx, legs, positions, held, reason)]


def bars_held(series: BarSeries, opened_at: datetime | None) -> int:
    """Bars that closed since the position opened, up to the last bar of `series` (0 if unknown).

    A position opened at the close of bar k has been held m bars at the close of bar k + m,
    as in a backtest; one opened during a bar counts that bar. `times` are bar open times.
    """
    if opened_at is None or len(series) == 0:
        return 0
    last_close = float(series.times[-1]) + series.timeframe_seconds
    return max(0, math.ceil((last_close - opened_at.timestamp()) / series.timeframe_seconds))
