"""Multi-momentum bot: the momentum-agreement scalper (strategies/multi_momentum.py) on each instrument."""

from __future__ import annotations

from bots.base import BotSpec
from bots.rule_bot import PerInstrumentRuleBot
from domain.market import BarSeries
from domain.signals import Side
from strategies.decision import StrategyDecision
from strategies.multi_momentum import MultiMomentumParams, decide


class MultiMomentumBot(PerInstrumentRuleBot):
    """Buys when the returns over three lookbacks are all positive and the fastest clears a minimum,
    and sells when the fastest turns negative; each instrument on its own. Meant for 1-minute
    crypto bars on a 10-second to 1-minute schedule.

    Params (all optional): fast_lookback 5, mid_lookback 15, slow_lookback 60 (increasing),
    min_return 0.001, allow_short false (when true, also sells when all three are negative and
    the fastest is below -min_return), atr_period 14, stop_atr_multiple 1.5. Entries carry a
    stop `stop_atr_multiple` ATRs away; exits close the whole position. Missing or bad bars mean
    no signal for that instrument.
    """

    def __init__(self, spec: BotSpec) -> None:
        super().__init__(spec)
        self.params = MultiMomentumParams.from_mapping(spec.params)

    @property
    def bars_to_fetch(self) -> int:
        return self.params.bars_to_fetch

    def decide(self, series: BarSeries, holding: Side | None) -> StrategyDecision:
        return decide(series, self.params, holding)
