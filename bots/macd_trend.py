"""MACD trend bot: the MACD signal-line cross with a trend filter (strategies/macd_trend.py) on each
instrument."""

from __future__ import annotations

from bots.base import BotSpec
from bots.rule_bot import PerInstrumentRuleBot
from domain.market import BarSeries
from domain.signals import Side
from strategies.decision import StrategyDecision
from strategies.macd_trend import MacdTrendParams, decide


class MacdTrendBot(PerInstrumentRuleBot):
    """Buys when the MACD line crosses above its signal line above the trend SMA, and sells when
    the MACD line falls back below its signal line; each instrument on its own.

    Params (all optional): fast 12, slow 26, signal 9, trend_period 200 (0: no trend filter),
    allow_short false (when true, also sells a cross below the signal line under the trend
    SMA), atr_period 14, stop_atr_multiple 3. Entries carry a stop `stop_atr_multiple` ATRs
    away; exits close the whole position. Missing or bad bars mean no signal for that instrument.
    """

    def __init__(self, spec: BotSpec) -> None:
        super().__init__(spec)
        self.params = MacdTrendParams.from_mapping(spec.params)

    @property
    def bars_to_fetch(self) -> int:
        return self.params.bars_to_fetch

    def decide(self, series: BarSeries, holding: Side | None) -> StrategyDecision:
        return decide(series, self.params, holding)
