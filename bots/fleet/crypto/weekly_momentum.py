"""Weekly momentum bot: time-series momentum over a week of bars (strategies/weekly_momentum.py) on each
instrument."""

from __future__ import annotations

from bots.base import BotSpec
from bots.rule_bot import PerInstrumentRuleBot
from domain.market import BarSeries
from domain.signals import Side
from strategies.decision import StrategyDecision
from strategies.weekly_momentum import WeeklyMomentumParams, decide


class WeeklyMomentumBot(PerInstrumentRuleBot):
    """Buys when the return over the last week of bars is positive and the close is above the
    week's average, and sells when that return turns negative; each instrument on its own.

    Params (all optional): lookback_bars 7 (a week of daily bars; 168 on hourly bars),
    threshold 0, holding_bars 0 (the edge's horizon; 0 means lookback_bars), allow_short false
    (when true, also sells a negative week below the average), atr_period 14,
    stop_atr_multiple 3. Entries carry a stop `stop_atr_multiple` ATRs away; exits close the
    whole position. Missing or bad bars mean no signal for that instrument.
    """

    def __init__(self, spec: BotSpec) -> None:
        super().__init__(spec)
        self.params = WeeklyMomentumParams.from_mapping(spec.params)

    @property
    def bars_to_fetch(self) -> int:
        return self.params.bars_to_fetch

    def decide(self, series: BarSeries, holding: Side | None) -> StrategyDecision:
        return decide(series, self.params, holding)
