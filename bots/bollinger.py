"""Bollinger bot: band reversion (strategies/bollinger.py) on each of its instruments."""

from __future__ import annotations

from bots.base import BotSpec
from bots.rule_bot import PerInstrumentRuleBot
from domain.market import BarSeries
from domain.signals import Side
from strategies.bollinger import BollingerParams, decide
from strategies.decision import StrategyDecision


class BollingerBot(PerInstrumentRuleBot):
    """Buys a close below the lower band and sells at the middle band; each instrument on its own.

    Params (all optional): period 20, num_std 2, allow_short false (when true, also
    sells a close above the upper band), atr_period 14, stop_atr_multiple 2. Entries
    carry a stop `stop_atr_multiple` ATRs away; exits close the whole position. Missing
    or bad bars mean no signal for that instrument.
    """

    def __init__(self, spec: BotSpec) -> None:
        super().__init__(spec)
        self.params = BollingerParams.from_mapping(spec.params)

    @property
    def bars_to_fetch(self) -> int:
        return self.params.bars_to_fetch

    def decide(self, series: BarSeries, holding: Side | None) -> StrategyDecision:
        return decide(series, self.params, holding)
