"""RSI extremes bot: the fast RSI mean-reversion scalper (strategies/rsi_extremes.py) on each instrument."""

from __future__ import annotations

from bots.base import BotSpec
from bots.rule_bot import PerInstrumentRuleBot
from domain.market import BarSeries
from domain.signals import Side
from strategies.decision import StrategyDecision
from strategies.rsi_extremes import RsiExtremesParams, decide


class RsiExtremesBot(PerInstrumentRuleBot):
    """Buys a deeply oversold fast RSI under the exit SMA and sells the bounce; each instrument on
    its own. Meant for 1-minute crypto bars on a 10-second to 1-minute schedule.

    Params (all optional): rsi_period 7, oversold 15, exit_level 50 (above oversold),
    exit_sma_period 10, allow_short false (when true, also sells an RSI above 100 - oversold
    over the exit SMA), atr_period 14, stop_atr_multiple 1.5. Entries carry a stop
    `stop_atr_multiple` ATRs away; exits close the whole position. Missing or bad bars mean no
    signal for that instrument.
    """

    def __init__(self, spec: BotSpec) -> None:
        super().__init__(spec)
        self.params = RsiExtremesParams.from_mapping(spec.params)

    @property
    def bars_to_fetch(self) -> int:
        return self.params.bars_to_fetch

    def decide(self, series: BarSeries, holding: Side | None) -> StrategyDecision:
        return decide(series, self.params, holding)
