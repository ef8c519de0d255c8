"""SMA crossover bot: the moving-average trend rule (strategies/sma_crossover.py) on each instrument."""

from __future__ import annotations

from bots.base import BotSpec
from bots.rule_bot import PerInstrumentRuleBot
from domain.market import BarSeries
from domain.signals import Side
from strategies.decision import StrategyDecision
from strategies.sma_crossover import SmaCrossoverParams, decide


class SmaCrossoverBot(PerInstrumentRuleBot):
    """Buys when the fast SMA crosses above the slow one and sells when it falls back; each on its own.

    Params (all optional): fast 10, slow 50, allow_short false (when true, also sells
    while the fast SMA is below the slow one), atr_period 14, stop_atr_multiple 3.
    Entries carry a stop `stop_atr_multiple` ATRs away; exits close the whole position.
    Missing or bad bars mean no signal for that instrument.
    """

    def __init__(self, spec: BotSpec) -> None:
        super().__init__(spec)
        self.params = SmaCrossoverParams.from_mapping(spec.params)

    @property
    def bars_to_fetch(self) -> int:
        return self.params.bars_to_fetch

    def decide(self, series: BarSeries, holding: Side | None) -> StrategyDecision:
        return decide(series, self.params, holding)
