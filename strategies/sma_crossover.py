"""SMA crossover trend following: long while the fast average is above the slow one.

Rules (the classic moving-average crossover; the daemon's twin of
`backtest.vectorized.sma_crossover_targets`, with the same comparison):

- long entry: flat and SMA(`fast`) > SMA(`slow`); exit: holding long and SMA(`fast`) <= SMA(`slow`);
- short side (off unless `allow_short`): flat and SMA(`fast`) < SMA(`slow`) enters short;
  holding short and SMA(`fast`) >= SMA(`slow`) exits.

Flat with the averages equal is no entry either way. A flip takes two decisions: the exit,
then, flat on the next bar, the entry the other way (a bot emits one signal per bar).

Entries carry a stop `stop_atr_multiple` ATRs away (3 by default: a trend rule needs more
room than a reversion rule's 2). The expected return (`edge`) of an entry is the relative
gap between the averages, |SMA(fast) - SMA(slow)| / close: the trend already under way,
assumed to persist. It is floored at `MIN_EDGE` (1 basis point) so an entry just past the
cross, where the gap is near zero, still carries the positive edge every entry must have;
a heuristic, not a forecast. The confidence grows with the gap measured in ATRs, saturating
at one ATR.
"""

from __future__ import annotations

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
class SmaCrossoverParams:
    fast: int = 10
    slow: int = 50
    allow_short: bool = False
    atr_period: int = 14
    stop_atr_multiple: float = 3.0

    def __post_init__(self) -> None:
        require_whole_at_least("fast", self.fast, 2)
        require_whole_at_least("slow", self.slow, 3)
        require_whole_at_least("atr_period", self.atr_period, 1)
        require_positive("stop_atr_multiple", self.stop_atr_multiple)
        if self.fast >= self.slow:
            raise ValueError(f"parameter 'fast' ({self.fast}) must be below 'slow' ({self.slow})")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> SmaCrossoverParams:
        return parse_params(cls, values)

    @property
    def minimum_bars(self) -> int:
        """Bars needed before every indicator has a value at the last one."""
        return max(self.slow, self.atr_period + 1)

    @property
    def bars_to_fetch(self) -> int:
        return self.minimum_bars + SETTLE_BARS


@dataclass(frozen=True, slots=True, eq=False)
class SmaCrossoverIndicators:
    """Indicator arrays as long as the series; NaN where an indicator has no value yet."""

    fast_sma: FloatArray
    slow_sma: FloatArray
    atr: FloatArray
    usable: BoolArray


def compute_indicators(series: BarSeries, params: SmaCrossoverParams) -> SmaCrossoverIndicators:
    close = float_array(series.close)
    return SmaCrossoverIndicators(
        fast_sma=talib.SMA(close, timeperiod=params.fast),
        slow_sma=talib.SMA(close, timeperiod=params.slow),
        atr=average_true_range(series, params.atr_period),
        usable=usable_through(series),
    )


def decide(series: BarSeries, params: SmaCrossoverParams, holding: Side | None) -> StrategyDecision:
    """The decision at the last bar of `series`, for a bot holding `holding` (None when flat)."""
    return decide_last(series, params, holding, compute_indicators, decide_at)


def decide_at(
    series: BarSeries,
    indicators: SmaCrossoverIndicators,
    index: int,
    params: SmaCrossoverParams,
    holding: Side | None,
) -> StrategyDecision:
    """The decision at bar `index`, reading nothing after it."""
    check_index(len(series), index)
    if not indicators.usable[index]:
        return hold("a bar in the window has a missing or non-positive price")
    close = float(series.close[index])
    fast = value_at(indicators.fast_sma, index)
    slow = value_at(indicators.slow_sma, index)
    atr = value_at(indicators.atr, index)
    evidence = {"close": close, "fast_sma": fast, "slow_sma": slow, "atr": atr}
    if fast is None or slow is None or atr is None:
        return hold(f"indicators need {params.minimum_bars} bars, have {index + 1}", evidence)

    fast_text = f"SMA({params.fast}) {price_text(fast)}"
    slow_text = f"SMA({params.slow}) {price_text(slow)}"
    if holding is Side.BUY:
        if fast <= slow:
            return exit_position(f"{fast_text} fell to or below {slow_text}", evidence)
        return hold(f"long held: {fast_text} above {slow_text}", evidence)
    if holding is Side.SELL:
        if fast >= slow:
            return exit_position(f"{fast_text} rose to or above {slow_text}", evidence)
        return hold(f"short held: {fast_text} below {slow_text}", evidence)

    gap = abs(fast - slow)
    if fast > slow:
        return enter(
            Side.BUY,
            f"{fast_text} above {slow_text}",
            close=close,
            atr=atr,
            stop_atr_multiple=params.stop_atr_multiple,
            strength=gap / atr,
            edge=max(gap / close, MIN_EDGE),
            evidence=evidence,
        )
    if params.allow_short and fast < slow:
        return enter(
            Side.SELL,
            f"{fast_text} below {slow_text}",
            close=close,
            atr=atr,
            stop_atr_multiple=params.stop_atr_multiple,
            strength=gap / atr,
            edge=max(gap / close, MIN_EDGE),
            evidence=evidence,
        )
    return hold(f"no entry: {fast_text} not above {slow_text}", evidence)
