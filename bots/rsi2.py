"""RSI-2 bot: the Connors pullback rule (strategies/rsi2.py) on each of its instruments."""

from __future__ import annotations

from bots.base import BotSpec
from bots.rule_bot import PerInstrumentRuleBot
from domain.market import BarSeries
from domain.signals import Side
from strategies.decision import StrategyDecision
from strategies.rsi2 import Rsi2Params, decide


class Rsi2Bot(PerInstrumentRuleBot):
    """Buys a sharp pullback in an uptrend and sells the bounce; each instrument on its own.

    Params (all optional): rsi_period 2, entry_threshold 10, exit_threshold 70,
    trend_period 200, exit_sma_period 5, allow_short false, atr_period 14,
    stop_atr_multiple 2. Entries carry a stop `stop_atr_multiple` ATRs away; exits
    close the whole position. Missing or bad bars mean no signal for that instrument.
    """

    def __init__(self, spec: BotSpec) -> None:
        super().__init__(spec)
        self.params = Rsi2Params.from_mapping(spec.params)

    @property
    def bars_to_fetch(self) -> int:
        return self.params.bars_to_fetch

    def decide(self, series: BarSeries, holding: Side | None) -> StrategyDecision:
        return decide(series, self.params, holding)
