"""Connors RSI-2 mean reversion: buy a short, sharp pullback inside a long-term uptrend.

Rules (L. Connors and C. Alvarez, "Short Term Trading Strategies That Work", 2008):

- long entry: RSI(2) below `entry_threshold` (10) and close above SMA(`trend_period`) (200);
- long exit: RSI(2) above `exit_threshold` (70) or close above SMA(`exit_sma_period`) (5);
- short side (off unless `allow_short`): the mirror image, RSI(2) above 100 - 10 = 90 with
  close below the trend SMA; covered when RSI(2) falls below 100 - 70 = 30 or close drops
  below the exit SMA.

One addition to the published rules: an entry whose own exit already holds on the same
bar (a long whose close is above the exit SMA) is skipped, since the next tick, possibly
on the same bar, would close it at once. It also makes the expected return, the distance
back to the exit SMA, always positive.

Shorts are off by default: the rule was published for stock indices, where the long side
carries the edge and shorting needs a borrow; an FX bot may switch them on.
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


@dataclass(frozen=True, slots=True)
class Rsi2Params:
    rsi_period: int = 2
    entry_threshold: float = 10.0
    exit_threshold: float = 70.0
    trend_period: int = 200
    exit_sma_period: int = 5
    allow_short: bool = False
    atr_period: int = 14
    stop_atr_multiple: float = 2.0

    def __post_init__(self) -> None:
        require_whole_at_least("rsi_period", self.rsi_period, 2)
        require_whole_at_least("trend_period", self.trend_period, 2)
        require_whole_at_least("exit_sma_period", self.exit_sma_period, 2)
        require_whole_at_least("atr_period", self.atr_period, 1)
        require_positive("stop_atr_multiple", self.stop_atr_multiple)
        if not 0 < self.entry_threshold < 50:
            raise ValueError(
                f"parameter 'entry_threshold' must be between 0 and 50, got {self.entry_threshold}"
            )
        if not self.entry_threshold < self.exit_threshold < 100:
            raise ValueError(
                f"parameter 'exit_threshold' must be above entry_threshold ({self.entry_threshold}) "
                f"and below 100, got {self.exit_threshold}"
            )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Rsi2Params:
        return parse_params(cls, values)

    @property
    def minimum_bars(self) -> int:
        """Bars needed before every indicator has a value at the last one."""
        return max(self.trend_period, self.exit_sma_period, self.rsi_period + 1, self.atr_period + 1)

    @property
    def bars_to_fetch(self) -> int:
        return self.minimum_bars + SETTLE_BARS


@dataclass(frozen=True, slots=True, eq=False)
class Rsi2Indicators:
    """Indicator arrays as long as the series; NaN where an indicator has no value yet."""

    rsi: FloatArray
    trend_sma: FloatArray
    exit_sma: FloatArray
    atr: FloatArray
    usable: BoolArray


def compute_indicators(series: BarSeries, params: Rsi2Params) -> Rsi2Indicators:
    close = float_array(series.close)
    return Rsi2Indicators(
        rsi=talib.RSI(close, timeperiod=params.rsi_period),
        trend_sma=talib.SMA(close, timeperiod=params.trend_period),
        exit_sma=talib.SMA(close, timeperiod=params.exit_sma_period),
        atr=average_true_range(series, params.atr_period),
        usable=usable_through(series),
    )


def decide(series: BarSeries, params: Rsi2Params, holding: Side | None) -> StrategyDecision:
    """The decision at the last bar of `series`, for a bot holding `holding` (None when flat)."""
    return decide_last(series, params, holding, compute_indicators, decide_at)


def decide_at(
    series: BarSeries, indicators: Rsi2Indicators, index: int, params: Rsi2Params, holding: Side | None
) -> StrategyDecision:
    """The decision at bar `index`, reading nothing after it."""
    check_index(len(series), index)
    if not indicators.usable[index]:
        return hold("a bar in the window has a missing or non-positive price")
    close = float(series.close[index])
    rsi = value_at(indicators.rsi, index)
    trend = value_at(indicators.trend_sma, index)
    exit_sma = value_at(indicators.exit_sma, index)
    atr = value_at(indicators.atr, index)
    evidence = {"close": close, "rsi": rsi, "trend_sma": trend, "exit_sma": exit_sma, "atr": atr}
    if rsi is None or trend is None or exit_sma is None or atr is None:
        return hold(f"indicators need {params.minimum_bars} bars, have {index + 1}", evidence)

    rsi_text = f"RSI({params.rsi_period}) {rsi:.1f}"
    exit_sma_text = f"SMA({params.exit_sma_period}) {price_text(exit_sma)}"
    if holding is Side.BUY:
        if rsi > params.exit_threshold:
            return exit_position(f"{rsi_text} above the exit threshold {params.exit_threshold:g}", evidence)
        if close > exit_sma:
            return exit_position(f"close {price_text(close)} above {exit_sma_text}", evidence)
        return hold(f"long held: {rsi_text}, close {price_text(close)} not above {exit_sma_text}", evidence)
    if holding is Side.SELL:
        cover_threshold = 100 - params.exit_threshold
        if rsi < cover_threshold:
            return exit_position(f"{rsi_text} below the cover threshold {cover_threshold:g}", evidence)
        if close < exit_sma:
            return exit_position(f"close {price_text(close)} below {exit_sma_text}", evidence)
        return hold(f"short held: {rsi_text}, close {price_text(close)} not below {exit_sma_text}", evidence)

    trend_text = f"SMA({params.trend_period}) {price_text(trend)}"
    depth_scale = params.entry_threshold
    if rsi < params.entry_threshold and close > trend and close < exit_sma:
        return enter(
            Side.BUY,
            f"{rsi_text} below {params.entry_threshold:g} with close {price_text(close)} above {trend_text}",
            close=close,
            atr=atr,
            stop_atr_multiple=params.stop_atr_multiple,
            strength=(params.entry_threshold - rsi) / depth_scale,
            edge=(exit_sma - close) / close,
            evidence=evidence,
        )
    short_threshold = 100 - params.entry_threshold
    if params.allow_short and rsi > short_threshold and close < trend and close > exit_sma:
        return enter(
            Side.SELL,
            f"{rsi_text} above {short_threshold:g} with close {price_text(close)} below {trend_text}",
            close=close,
            atr=atr,
            stop_atr_multiple=params.stop_atr_multiple,
            strength=(rsi - short_threshold) / depth_scale,
            edge=(close - exit_sma) / close,
            evidence=evidence,
        )
    return hold(
        f"no setup: {_missing_long_condition(params, rsi_text, rsi, close, trend_text, trend)}", evidence
    )


def _missing_long_condition(
    params: Rsi2Params, rsi_text: str, rsi: float, close: float, trend_text: str, trend: float
) -> str:
    """Why the long entry did not fire (the short side, when allowed, is its mirror)."""
    if rsi >= params.entry_threshold:
        return f"{rsi_text} not below {params.entry_threshold:g}"
    if close <= trend:
        return f"{rsi_text} but close {price_text(close)} not above {trend_text}"
    return f"{rsi_text} but close {price_text(close)} not below the exit SMA({params.exit_sma_period})"
