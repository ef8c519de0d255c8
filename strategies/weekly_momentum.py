"""Weekly momentum: time-series momentum over a week of bars, long while the week's return is positive.

Time-series momentum (T. Moskowitz, Y. Ooi and L. Pedersen, "Time Series Momentum", 2012):
an instrument's own past return predicts its next one. The return over the lookback is
close / close `lookback_bars` ago - 1 (TA-Lib ROCP). Rules:

- long entry: flat, the lookback return above `threshold` (0) and close above
  SMA(`lookback_bars`) (the average price of the week agrees);
- long exit: the lookback return below zero;
- short side (off unless `allow_short`): the mirror image, the return below -`threshold`
  with close below the SMA; covered when the return rises above zero.

`lookback_bars` (7) is a week of daily bars; on hourly bars set 168 (24 x 7), on 4-hour
bars 42. A return of exactly zero neither exits nor enters.

Entries carry a stop `stop_atr_multiple` (3) ATRs away: a trend rule needs more room than
a scalper. The expected return (`edge`) of an entry is the lookback return scaled per bar
(return / `lookback_bars`, linearly) times `holding_bars`, the bars a position is expected to
be held (0, the default, means `lookback_bars`: the past week's return assumed to repeat over
the next week). A heuristic, not a forecast; floored at `MIN_EDGE` (1 basis point) so an entry
just past a zero threshold still carries the positive edge every entry must have. The
confidence grows with the lookback's price move in units of sqrt(`lookback_bars`) ATRs (a
random walk's move over that many bars, with ATR as its per-bar scale), saturating at one unit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import talib

from domain.market import BarSeries
from domain.signals import Side
from strategies.decision import (
    SETTLE_BARS,
    BoolArray,
    FloatArray,
    StrategyDecision,
    average_true_range,
    check_index,
    decide_last,
    enter,
    exit_position,
    float_array,
    hold,
    price_text,
    usable_through,
    value_at,
)
from strategies.params import parse_params, require_positive, require_whole_at_least

MIN_EDGE = 1e-4  # an entry's expected return never counts as less than one basis point


@dataclass(frozen=True, slots=True)
class WeeklyMomentumParams:
    lookback_bars: int = 7
    threshold: float = 0.0
    holding_bars: int = 0
    allow_short: bool = False
    atr_period: int = 14
    stop_atr_multiple: float = 3.0

    def __post_init__(self) -> None:
        require_whole_at_least("lookback_bars", self.lookback_bars, 2)
        require_whole_at_least("holding_bars", self.holding_bars, 0)
        require_whole_at_least("atr_period", self.atr_period, 1)
        require_positive("stop_atr_multiple", self.stop_atr_multiple)
        if not (math.isfinite(self.threshold) and 0 <= self.threshold < 1):
            raise ValueError(f"parameter 'threshold' must be at least 0 and below 1, got {self.threshold}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> WeeklyMomentumParams:
        return parse_params(cls, values)

    @property
    def expected_holding_bars(self) -> int:
        """The bars the edge assumes a position is held: `holding_bars`, or the lookback when 0."""
        return self.holding_bars or self.lookback_bars

    @property
    def minimum_bars(self) -> int:
        """Bars needed before every indicator has a value at the last one."""
        return max(self.lookback_bars + 1, self.atr_period + 1)

    @property
    def bars_to_fetch(self) -> int:
        return self.minimum_bars + SETTLE_BARS


@dataclass(frozen=True, slots=True, eq=False)
class WeeklyMomentumIndicators:
    """Indicator arrays as long as the series; NaN where an indicator has no value yet."""

    lookback_return: FloatArray
    sma: FloatArray
    atr: FloatArray
    usable: BoolArray


def compute_indicators(series: BarSeries, params: WeeklyMomentumParams) -> WeeklyMomentumIndicators:
    close = float_array(series.close)
    return WeeklyMomentumIndicators(
        lookback_return=talib.ROCP(close, timeperiod=params.lookback_bars),
        sma=talib.SMA(close, timeperiod=params.lookback_bars),
        atr=average_true_range(series, params.atr_period),
        usable=usable_through(series),
    )


def decide(series: BarSeries, params: WeeklyMomentumParams, holding: Side | None) -> StrategyDecision:
    """The decision at the last bar of `series`, for a bot holding `holding` (None when flat)."""
    return decide_last(series, params, holding, compute_indicators, decide_at)


def decide_at(
    series: BarSeries,
    indicators: WeeklyMomentumIndicators,
    index: int,
    params: WeeklyMomentumParams,
    holding: Side | None,
) -> StrategyDecision:
    """The decision at bar `index`, reading nothing after it."""
    check_index(len(series), index)
    if not indicators.usable[index]:
        return hold("a bar in the window has a missing or non-positive price")
    close = float(series.close[index])
    momentum = value_at(indicators.lookback_return, index)
    sma = value_at(indicators.sma, index)
    atr = value_at(indicators.atr, index)
    evidence = {"close": close, "lookback_return": momentum, "sma": sma, "atr": atr}
    if momentum is None or sma is None or atr is None:
        return hold(f"indicators need {params.minimum_bars} bars, have {index + 1}", evidence)

    momentum_text = f"{params.lookback_bars}-bar return {momentum:+.4%}"
    if holding is Side.BUY:
        if momentum < 0:
            return exit_position(f"{momentum_text} turned negative", evidence)
        return hold(f"long held: {momentum_text} not negative", evidence)
    if holding is Side.SELL:
        if momentum > 0:
            return exit_position(f"{momentum_text} turned positive", evidence)
        return hold(f"short held: {momentum_text} not positive", evidence)

    sma_text = f"close {price_text(close)} vs SMA({params.lookback_bars}) {price_text(sma)}"
    if momentum > params.threshold and close > sma:
        side = Side.BUY
    elif params.allow_short and momentum < -params.threshold and close < sma:
        side = Side.SELL
    else:
        return hold(f"no entry: {momentum_text} (threshold {params.threshold:.4%}), {sma_text}", evidence)
    lookback_move = abs(close - float(series.close[index - params.lookback_bars]))
    edge = abs(momentum) / params.lookback_bars * params.expected_holding_bars
    direction = "up" if side is Side.BUY else "down"
    return enter(
        side,
        f"momentum {direction}: {momentum_text}, {sma_text}",
        close=close,
        atr=atr,
        stop_atr_multiple=params.stop_atr_multiple,
        strength=lookback_move / (math.sqrt(params.lookback_bars) * atr),
        edge=max(edge, MIN_EDGE),
        evidence=evidence,
    )
