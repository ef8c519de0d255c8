"""Pre-FOMC drift bot: the Lucca & Moench rule (strategies/fomc_drift.py) on each index instrument."""

from __future__ import annotations

from bots.base import Bot, BotContext, BotSpec
from domain.signals import Signal
from strategies.decision import order_for
from strategies.fomc_drift import FomcDriftParams, decide


class FomcDriftBot(Bot):
    """Holds each equity-index instrument long through the hours before a scheduled FOMC statement.

    Params (all optional): announcements (ISO 8601 times with offsets; default the Fed's
    2026 schedule), hours_before 24, exit_minutes_before 0, atr_period 14,
    stop_atr_multiple 3, expected_drift 0.0049. The stop is in ATRs of the bot's
    `timeframe_seconds` bars, so a day-long hold wants hourly or longer bars: three
    one-minute ATRs is well inside a day's noise. Exits are timed by the clock alone
    and go out even when the bars are missing; entries need usable bars.

    The shape of `PerInstrumentRuleBot`, except that the rule also takes the tick's time.
    """

    def __init__(self, spec: BotSpec) -> None:
        super().__init__(spec)
        self.params = FomcDriftParams.from_mapping(spec.params)

    async def on_tick(self, ctx: BotContext) -> list[Signal]:
        signals: list[Signal] = []
        for index, instrument in enumerate(self.instruments):
            series = await ctx.bars(instrument, self.spec.timeframe_seconds, self.params.bars_to_fetch)
            position = ctx.position(instrument)
            holding = position.side if position is not None else None
            decision = decide(ctx.now, series, self.params, holding)
            order = order_for(decision, holding)
            if order is None:
                continue
            side, intent = order
            signals.append(self.signal_for(ctx, instrument, side, intent, decision, sequence=index))
        return signals
