"""Donchian channel breakout, Turtle style: buy a close above the highest high of the last N bars.

Rules (the Turtle traders' System 1, as published by C. Faith, "Way of the Turtle", 2007):

- long entry: flat and close above the highest high of the previous `entry_period` (20) bars;
- long exit: close below the lowest low of the previous `exit_period` (10) bars;
- short side (off unless `allow_short`): flat and close below the lowest low of the previous
  `entry_period` bars; covered when close rises above the highest high of the previous
  `exit_period` bars.

"Previous" means the channel ends at the bar before the current one (TA-Lib MAX/MIN shifted
by one bar): a channel that included the current bar could never be broken by its close,
since a bar's high is at least its close. `exit_period` must be below `entry_period`: the
exit channel is the tighter one, so a trend that stalls is left before the opposite breakout.

Entries carry a stop `stop_atr_multiple` ATRs away (the Turtles' 2N, N their 20-bar ATR).
The expected return (`edge`) of an entry is the entry channel's width over the close, the
chartists' measured move: a breakout is expected to travel about as far as the range it broke
out of. A heuristic, not a forecast; floored at `MIN_EDGE` (1 basis point) so a breakout from
a flat channel still carries the positive edge every entry must have. The confidence grows
with how far past the channel the close is, in ATRs, saturating at one ATR.
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
class DonchianParams:
    entry_period: int = 20
    exit_period: int = 10
    allow_short: bool = False
    atr_period: int = 20
    stop_atr_multiple: float = 2.0

    def __post_init__(self) -> None:
        require_whole_at_least("entry_period", self.entry_period, 2)
        require_whole_at_least("exit_period", self.exit_period, 1)
        require_whole_at_least("atr_period", self.atr_period, 1)
        require_positive("stop_atr_multiple", self.stop_atr_multiple)
        if self.exit_period >= self.entry_period:
            raise ValueError(
                f"parameter 'exit_period' ({self.exit_period}) must be below 'entry_period' "
                f"({self.entry_period}): the exit channel is the tighter one"
            )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> DonchianParams:
        return parse_params(cls, values)

    @property
    def minimum_bars(self) -> int:
        """Bars needed before every indicator has a value at the last one."""
        return max(self.entry_period + 1, self.atr_period + 1)

    @property
    def bars_to_fetch(self) -> int:
        return self.minimum_bars + SETTLE_BARS


@dataclass(frozen=True, slots=True, eq=False)
class DonchianIndicators:
    """Channels of the bars before each bar, as long as the series; NaN where there is no value yet."""

    entry_high: FloatArray
    entry_low: FloatArray
    exit_high: FloatArray
    exit_low: FloatArray
    atr: FloatArray
    usable: BoolArray


def previous_bars(values: FloatArray) -> FloatArray:
    """`values` moved one bar later: bar i sees what bar i - 1 had (NaN at bar 0)."""
    shifted = np.full(len(values), np.nan)
    shifted[1:] = values[:-1]
    return shifted


def compute_indicators(series: BarSeries, params: DonchianParams) -> DonchianIndicators:
    high, low, close = float_array(series.high), float_array(series.low), float_array(series.close)
    return DonchianIndicators(
        entry_high=previous_bars(talib.MAX(high, timeperiod=params.entry_period)),
        entry_low=previous_bars(talib.MIN(low, timeperiod=params.entry_period)),
        exit_high=previous_bars(talib.MAX(high, timeperiod=params.exit_period)),
        exit_low=previous_bars(talib.MIN(low, timeperiod=params.exit_period)),
        atr=talib.ATR(high, low, close, timeperiod=params.atr_period),
        usable=usable_through(series),
    )


def decide(series: BarSeries, params: DonchianParams, holding: Side | None) -> StrategyDecision:
    """The decision at the last bar of `series`, for a bot holding `holding` (None when flat)."""
    return decide_last(series, params, holding, compute_indicators, decide_at)


def decide_at(
    series: BarSeries,
    indicators: DonchianIndicators,
    index: int,
    params: DonchianParams,
    holding: Side | None,
) -> StrategyDecision:
    """The decision at bar `index`, reading nothing after it."""
    check_index(len(series), index)
    if not indicators.usable[index]:
        return hold("a bar in the window has a missing or non-positive price")
    close = float(series.close[index])
    entry_high = value_at(indicators.entry_high, index)
    entry_low = value_at(indicators.entry_low, index)
    exit_high = value_at(indicators.exit_high, index)
    exit_low = value_at(indicators.exit_low, index)
    atr = value_at(indicators.atr, index)
    evidence = {
        "close": close,
        "entry_high": entry_high,
        "entry_low": entry_low,
        "exit_high": exit_high,
        "exit_low": exit_low,
        "atr": atr,
    }
    if entry_high is None or entry_low is None or exit_high is None or exit_low is None or atr is None:
        return hold(f"indicators need {params.minimum_bars} bars, have {index + 1}", evidence)

    close_text = f"close {price_text(close)}"
    if holding is Side.BUY:
        if close < exit_low:
            return exit_position(
                f"{close_text} below the {params.exit_period}-bar low {price_text(exit_low)}", evidence
            )
        return hold(f"long held: {close_text} not below the exit low {price_text(exit_low)}", evidence)
    if holding is Side.SELL:
        if close > exit_high:
            return exit_position(
                f"{close_text} above the {params.exit_period}-bar high {price_text(exit_high)}", evidence
            )
        return hold(f"short held: {close_text} not above the exit high {price_text(exit_high)}", evidence)

    edge = max((entry_high - entry_low) / close, MIN_EDGE)
    if close > entry_high:
        return enter(
            Side.BUY,
            f"{close_text} broke above the {params.entry_period}-bar high {price_text(entry_high)}",
            close=close,
            atr=atr,
            stop_atr_multiple=params.stop_atr_multiple,
            strength=(close - entry_high) / atr,
            edge=edge,
            evidence=evidence,
        )
    if params.allow_short and close < entry_low:
        return enter(
            Side.SELL,
            f"{close_text} broke below the {params.entry_period}-bar low {price_text(entry_low)}",
            close=close,
            atr=atr,
            stop_atr_multiple=params.stop_atr_multiple,
            strength=(entry_low - close) / atr,
            edge=edge,
            evidence=evidence,
        )
    return hold(
        f"{close_text} inside the {params.entry_period}-bar channel "
        f"{price_text(entry_low)}–{price_text(entry_high)}",
        evidence,
    )
