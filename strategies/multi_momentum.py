"""Multi-momentum: a crypto scalper that buys when momentum agrees over three lookbacks.

The return over k bars is close / close k bars ago - 1 (TA-Lib ROCP). Rules (defaults for
1-minute crypto bars):

- long entry: flat, the returns over `fast_lookback` (5), `mid_lookback` (15) and
  `slow_lookback` (60) bars all positive, and the fast one above `min_return` (0.001, 10
  basis points): the move is under way now and the longer horizons agree;
- long exit: the fast return below zero (the short-term move turned);
- short side (off unless `allow_short`): the mirror image, all three returns negative and the
  fast one below -`min_return`; covered when the fast return rises above zero.

A fast return of exactly zero neither exits nor enters. The lookbacks are three whole-number
parameters, not a list, because a registry's `params` table holds numbers and flags only
(`strategies.params`).

Entries carry a tight stop, `stop_atr_multiple` (1.5) ATRs away. The expected return (`edge`)
of an entry is the mean of the three returns, each scaled to the fast horizon by its length
(r_k x fast / k: its drift per bar, linearly, times the fast lookback): momentum assumed to
persist for one more fast lookback. A heuristic, not a forecast; floored at `MIN_EDGE`
(1 basis point) for the positive edge every entry must have. The confidence grows with the
fast lookback's price move in units of sqrt(fast) ATRs (the size of a random walk's move over
that many bars, with ATR as its per-bar scale), saturating at one unit.
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
    usable_through,
    value_at,
)
from strategies.params import parse_params, require_positive, require_whole_at_least

MIN_EDGE = 1e-4  # an entry's expected return never counts as less than one basis point


@dataclass(frozen=True, slots=True)
class MultiMomentumParams:
    fast_lookback: int = 5
    mid_lookback: int = 15
    slow_lookback: int = 60
    min_return: float = 0.001
    allow_short: bool = False
    atr_period: int = 14
    stop_atr_multiple: float = 1.5

    def __post_init__(self) -> None:
        require_whole_at_least("fast_lookback", self.fast_lookback, 1)
        require_whole_at_least("mid_lookback", self.mid_lookback, 2)
        require_whole_at_least("slow_lookback", self.slow_lookback, 3)
        require_whole_at_least("atr_period", self.atr_period, 1)
        require_positive("stop_atr_multiple", self.stop_atr_multiple)
        if not (math.isfinite(self.min_return) and 0 <= self.min_return < 1):
            raise ValueError(f"parameter 'min_return' must be at least 0 and below 1, got {self.min_return}")
        if not self.fast_lookback < self.mid_lookback < self.slow_lookback:
            raise ValueError(
                f"parameters 'fast_lookback' ({self.fast_lookback}), 'mid_lookback' ({self.mid_lookback}) "
                f"and 'slow_lookback' ({self.slow_lookback}) must increase"
            )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> MultiMomentumParams:
        return parse_params(cls, values)

    @property
    def lookbacks(self) -> tuple[int, int, int]:
        return self.fast_lookback, self.mid_lookback, self.slow_lookback

    @property
    def minimum_bars(self) -> int:
        """Bars needed before every indicator has a value at the last one."""
        return max(self.slow_lookback + 1, self.atr_period + 1)

    @property
    def bars_to_fetch(self) -> int:
        return self.minimum_bars + SETTLE_BARS


@dataclass(frozen=True, slots=True, eq=False)
class MultiMomentumIndicators:
    """Indicator arrays as long as the series; NaN where an indicator has no value yet."""

    fast_return: FloatArray
    mid_return: FloatArray
    slow_return: FloatArray
    atr: FloatArray
    usable: BoolArray


def compute_indicators(series: BarSeries, params: MultiMomentumParams) -> MultiMomentumIndicators:
    close = float_array(series.close)
    return MultiMomentumIndicators(
        fast_return=talib.ROCP(close, timeperiod=params.fast_lookback),
        mid_return=talib.ROCP(close, timeperiod=params.mid_lookback),
        slow_return=talib.ROCP(close, timeperiod=params.slow_lookback),
        atr=average_true_range(series, params.atr_period),
        usable=usable_through(series),
    )


def decide(series: BarSeries, params: MultiMomentumParams, holding: Side | None) -> StrategyDecision:
    """The decision at the last bar of `series`, for a bot holding `holding` (None when flat)."""
    return decide_last(series, params, holding, compute_indicators, decide_at)


def decide_at(
    series: BarSeries,
    indicators: MultiMomentumIndicators,
    index: int,
    params: MultiMomentumParams,
    holding: Side | None,
) -> StrategyDecision:
    """The decision at bar `index`, reading nothing after it."""
    check_index(len(series), index)
    if not indicators.usable[index]:
        return hold("a bar in the window has a missing or non-positive price")
    close = float(series.close[index])
    fast = value_at(indicators.fast_return, index)
    mid = value_at(indicators.mid_return, index)
    slow = value_at(indicators.slow_return, index)
    atr = value_at(indicators.atr, index)
    evidence = {"close": close, "fast_return": fast, "mid_return": mid, "slow_return": slow, "atr": atr}
    if fast is None or mid is None or slow is None or atr is None:
        return hold(f"indicators need {params.minimum_bars} bars, have {index + 1}", evidence)

    fast_text = f"{params.fast_lookback}-bar return {fast:+.4%}"
    if holding is Side.BUY:
        if fast < 0:
            return exit_position(f"{fast_text} turned negative", evidence)
        return hold(f"long held: {fast_text} not negative", evidence)
    if holding is Side.SELL:
        if fast > 0:
            return exit_position(f"{fast_text} turned positive", evidence)
        return hold(f"short held: {fast_text} not positive", evidence)

    returns = (fast, mid, slow)
    returns_text = ", ".join(
        f"{lookback}-bar {value:+.4%}" for lookback, value in zip(params.lookbacks, returns, strict=True)
    )
    if all(value > 0 for value in returns) and fast > params.min_return:
        side = Side.BUY
    elif params.allow_short and all(value < 0 for value in returns) and fast < -params.min_return:
        side = Side.SELL
    else:
        return hold(f"no agreement: returns {returns_text}, minimum {params.min_return:.4%}", evidence)
    scaled = [value * params.fast_lookback / k for k, value in zip(params.lookbacks, returns, strict=True)]
    edge = side.sign * sum(scaled) / len(scaled)  # the mean return scaled to the fast horizon
    fast_move = abs(close - float(series.close[index - params.fast_lookback]))
    direction = "up" if side is Side.BUY else "down"
    return enter(
        side,
        f"momentum {direction} over every lookback: {returns_text}",
        close=close,
        atr=atr,
        stop_atr_multiple=params.stop_atr_multiple,
        strength=fast_move / (math.sqrt(params.fast_lookback) * atr),
        edge=max(edge, MIN_EDGE),
        evidence=evidence,
    )
