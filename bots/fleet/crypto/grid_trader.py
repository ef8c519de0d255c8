"""Grid trader bot: the range grid around a moving centre (strategies/grid.py) on each instrument."""

from __future__ import annotations

from bots.base import BotSpec
from bots.rule_bot import PerInstrumentRuleBot
from domain.market import BarSeries
from domain.signals import Side
from strategies.decision import StrategyDecision
from strategies.grid import GridParams, decide


class GridTraderBot(PerInstrumentRuleBot):
    """Buys a close that fell `levels_below` grid steps under the centre SMA and sells it back at
    the centre; each instrument on its own, one grid level held at a time (the book holds one net
    position per instrument, where a classic grid would scale in level by level).

    A grid only makes money in a range. The bot does not look at regimes: its registry entry
    sets `regimes = ["sideways"]`, and the daemon's regime filter then refuses its entries
    whenever the HMM does not read the market as sideways (exits pass in every regime).

    Params (all optional): period 60 (the centre SMA), step_atr 1 (the step in ATRs),
    levels_below 2, levels_above 2 (the short side's entry level), stop_steps 2, allow_short
    false (when true, also sells a close `levels_above` steps over the centre), atr_period 14.
    Entries carry a stop `stop_steps` steps beyond the entry; exits close the whole position.
    Missing or bad bars mean no signal for that instrument.
    """

    def __init__(self, spec: BotSpec) -> None:
        super().__init__(spec)
        self.params = GridParams.from_mapping(spec.params)

    @property
    def bars_to_fetch(self) -> int:
        return self.params.bars_to_fetch

    def decide(self, series: BarSeries, holding: Side | None) -> StrategyDecision:
        return decide(series, self.params, holding)
