"""MACD trend following: buy when the MACD line crosses above its signal line, in an uptrend.

MACD (G. Appel, 1979) is EMA(`fast`) - EMA(`slow`) of the close, its signal line an
EMA(`signal`) of the MACD line, the histogram their difference; 12, 26 and 9 by default,
computed by TA-Lib. Rules:

- long entry: flat, the MACD line crossed above the signal line (at or below it on the
  previous bar, above it now), and close above SMA(`trend_period`) (200);
- long exit: the MACD line below the signal line;
- short side (off unless `allow_short`): the mirror image, a cross below with close under
  the trend SMA; covered when the MACD line is above the signal line.

`trend_period` 0 switches the trend filter off. The cross reads earlier bars, which are
known at this one (no lookahead).

One addition: a cross on the previous bar still counts on this one, if the MACD line is
still on the new side. Without it a bot allowed to short could never flip: the bar of a
cross up is the bar its short exits on, and one decision a bar means it is flat only on the
next, by when the cross is history; it would then wait for the next cross down and trade
shorts only. (The SMA crossover flips the same way, the exit then the entry a bar later.)
So an entry needs the MACD of three bars; an entry not taken within a bar of its cross is not
taken later.

The EMAs remember their whole input, so the values at the last bar depend a little on where
the fetched window starts (see `strategies.decision.SETTLE_BARS`: after 50 settle bars the
start weighs (25/27)^50 ≈ 2 % in EMA(26); with the default trend filter the window is 250
bars and the weight vanishes).

Entries carry a stop `stop_atr_multiple` ATRs away (3 by default, as for the SMA crossover:
a trend rule needs more room than a reversion rule's 2). The expected return (`edge`) of an
entry is |histogram| / close, the distance the MACD line has opened over its signal line,
assumed to persist; it is small near a cross, so it is floored at `MIN_EDGE` (1 basis point)
to give the positive edge every entry must have. A heuristic, not a forecast. The confidence
grows with the histogram measured in ATRs (saturating at one ATR), so it stays near 0.5 on
most crosses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
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
class MacdTrendParams:
    fast: int = 12
    slow: int = 26
    signal: int = 9
    trend_period: int = 200
    allow_short: bool = False
    atr_period: int = 14
    stop_atr_multiple: float = 3.0

    def __post_init__(self) -> None:
        require_whole_at_least("fast", self.fast, 2)
        require_whole_at_least("slow", self.slow, 3)
        require_whole_at_least("signal", self.signal, 2)
        require_whole_at_least("trend_period", self.trend_period, 0)
        require_whole_at_least("atr_period", self.atr_period, 1)
        require_positive("stop_atr_multiple", self.stop_atr_multiple)
        if self.fast >= self.slow:
            raise ValueError(f"parameter 'fast' ({self.fast}) must be below 'slow' ({self.slow})")
        if self.trend_period == 1:
            raise ValueError("parameter 'trend_period' must be 0 (no trend filter) or at least 2, got 1")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> MacdTrendParams:
        return parse_params(cls, values)

    @property
    def trend_filter(self) -> bool:
        return self.trend_period > 0

    @property
    def minimum_bars(self) -> int:
        """Bars needed before every indicator has a value at the last bar and the two before it.

        TA-Lib's first MACD signal value is at bar slow + signal - 2 (0-based); a cross on
        the previous bar needs it two bars earlier too.
        """
        return max(self.slow + self.signal + 1, self.trend_period, self.atr_period + 1)

    @property
    def bars_to_fetch(self) -> int:
        return self.minimum_bars + SETTLE_BARS


@dataclass(frozen=True, slots=True, eq=False)
class MacdTrendIndicators:
    """Indicator arrays as long as the series; NaN where an indicator has no value yet
    (the trend SMA is all NaN when the filter is off)."""

    macd: FloatArray
    macd_signal: FloatArray
    histogram: FloatArray
    trend_sma: FloatArray
    atr: FloatArray
    usable: BoolArray


def compute_indicators(series: BarSeries, params: MacdTrendParams) -> MacdTrendIndicators:
    close = float_array(series.close)
    macd, macd_signal, histogram = talib.MACD(
        close, fastperiod=params.fast, slowperiod=params.slow, signalperiod=params.signal
    )
    trend_sma = (
        talib.SMA(close, timeperiod=params.trend_period)
        if params.trend_filter
        else np.full(len(close), np.nan)
    )
    return MacdTrendIndicators(
        macd=macd,
        macd_signal=macd_signal,
        histogram=histogram,
        trend_sma=trend_sma,
        atr=average_true_range(series, params.atr_period),
        usable=usable_through(series),
    )


def decide(series: BarSeries, params: MacdTrendParams, holding: Side | None) -> StrategyDecision:
    """The decision at the last bar of `series`, for a bot holding `holding` (None when flat)."""
    return decide_last(series, params, holding, compute_indicators, decide_at)


def decide_at(
    series: BarSeries,
    indicators: MacdTrendIndicators,
    index: int,
    params: MacdTrendParams,
    holding: Side | None,
) -> StrategyDecision:
    """The decision at bar `index`, reading nothing after it (the cross reads the two bars before)."""
    check_index(len(series), index)
    if not indicators.usable[index]:
        return hold("a bar in the window has a missing or non-positive price")
    close = float(series.close[index])
    macd = value_at(indicators.macd, index)
    signal = value_at(indicators.macd_signal, index)
    histogram = value_at(indicators.histogram, index)
    trend = value_at(indicators.trend_sma, index) if params.trend_filter else None
    atr = value_at(indicators.atr, index)
    # The MACD line minus its signal line one and two bars back (None before the series or the values).
    earlier_gaps = [_gap(indicators, index - back) for back in (1, 2)]
    evidence = {
        "close": close,
        "macd": macd,
        "macd_signal": signal,
        "macd_histogram": histogram,
        "macd_histogram_1_bar_ago": earlier_gaps[0],
        "macd_histogram_2_bars_ago": earlier_gaps[1],
        "trend_sma": trend,
        "atr": atr,
    }
    if (
        macd is None
        or signal is None
        or histogram is None
        or atr is None
        or None in earlier_gaps
        or (params.trend_filter and trend is None)
    ):
        return hold(f"indicators need {params.minimum_bars} bars, have {index + 1}", evidence)

    lines_text = f"MACD {macd:.6g} vs signal {signal:.6g}"
    if holding is Side.BUY:
        if macd < signal:
            return exit_position(f"{lines_text}: the MACD line fell below its signal line", evidence)
        return hold(f"long held: {lines_text}", evidence)
    if holding is Side.SELL:
        if macd > signal:
            return exit_position(f"{lines_text}: the MACD line rose above its signal line", evidence)
        return hold(f"short held: {lines_text}", evidence)

    gap_1, gap_2 = (gap for gap in earlier_gaps if gap is not None)
    if macd > signal and (gap_1 <= 0 or gap_2 <= 0):
        side = Side.BUY
    elif params.allow_short and macd < signal and (gap_1 >= 0 or gap_2 >= 0):
        side = Side.SELL
    else:
        return hold(f"no cross: {lines_text}", evidence)
    # With side.sign +1 for a long and -1 for a short, each test below covers both directions.
    when = "on this bar" if gap_1 * side.sign <= 0 else "on the previous bar"
    direction, trend_word = ("above", "uptrend") if side is Side.BUY else ("below", "downtrend")
    cross_text = f"MACD crossed {direction} its signal line {when} ({lines_text})"
    if trend is not None:
        trend_text = f"close {close:.6g} vs SMA({params.trend_period}) {trend:.6g}"
        if (close - trend) * side.sign <= 0:
            return hold(f"{cross_text} but {trend_text}: no {trend_word}", evidence)
        cross_text = f"{cross_text}, {trend_text}"
    return enter(
        side,
        cross_text,
        close=close,
        atr=atr,
        stop_atr_multiple=params.stop_atr_multiple,
        strength=abs(histogram) / atr,
        edge=max(abs(histogram) / close, MIN_EDGE),
        evidence=evidence,
    )


def _gap(indicators: MacdTrendIndicators, index: int) -> float | None:
    """The MACD line minus its signal line at bar `index`, or None before the first value."""
    if index < 0:
        return None
    return value_at(indicators.histogram, index)
