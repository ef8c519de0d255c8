"""Donchian breakout bot: the Turtle channel breakout (strategies/donchian.py) on each instrument."""

from __future__ import annotations

from bots.base import BotSpec
from bots.rule_bot import PerInstrumentRuleBot
from domain.market import BarSeries
from domain.signals import Side
from strategies.decision import StrategyDecision
from strategies.donchian import DonchianParams, decide


class DonchianBot(PerInstrumentRuleBot):
    """Buys a close above the previous bars' highest high and sells a close below a shorter
    channel's lowest low; each instrument on its own.

    Params (all optional): entry_period 20, exit_period 10 (below entry_period), allow_short
    false (when true, also sells a close below the entry channel's low), atr_period 20,
    stop_atr_multiple 2. Entries carry a stop `stop_atr_multiple` ATRs away; exits close the
    whole position. Missing or bad bars mean no signal for that instrument.
    """

    def __init__(self, spec: BotSpec) -> None:
        super().__init__(spec)
        self.params = DonchianParams.from_mapping(spec.params)

    @property
    def bars_to_fetch(self) -> int:
        return self.params.bars_to_fetch

    def decide(self, series: BarSeries, holding: Side | None) -> StrategyDecision:
        return decide(series, self.params, holding)
