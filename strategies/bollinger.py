"""Bollinger band reversion: fade a close outside the bands, take profit at the middle band.

Bands are SMA(`period`) ± `num_std` population standard deviations of the close
(J. Bollinger's 20 and 2). Rules:

- long entry: close below the lower band; exit when close reaches the middle band;
- short entry (off unless `allow_short`): close above the upper band; exit when close
  falls to the middle band.

The expected return of an entry is the distance back to the middle band, and its
confidence grows with how far beyond the band the close is (saturating one standard
deviation past it). Shorts are off by default for the same reason as RSI-2: spot
stocks and crypto need a borrow or margin to short; an FX bot may switch them on.
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
class BollingerParams:
    period: int = 20
    num_std: float = 2.0
    allow_short: bool = False
    atr_period: int = 14
    stop_atr_multiple: float = 2.0

    def __post_init__(self) -> None:
        require_whole_at_least("period", self.period, 2)
        require_positive("num_std", self.num_std)
        require_whole_at_least("atr_period", self.atr_period, 1)
        require_positive("stop_atr_multiple", self.stop_atr_multiple)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> BollingerParams:
        return parse_params(cls, values)

    @property
    def minimum_bars(self) -> int:
        """Bars needed before every indicator has a value at the last one."""
        return max(self.period, self.atr_period + 1)

    @property
    def bars_to_fetch(self) -> int:
        return self.minimum_bars + SETTLE_BARS


@dataclass(frozen=True, slots=True, eq=False)
class BollingerIndicators:
    """Indicator arrays as long as the series; NaN where an indicator has no value yet."""

    upper: FloatArray
    middle: FloatArray
    lower: FloatArray
    atr: FloatArray
    usable: BoolArray


def compute_indicators(series: BarSeries, params: BollingerParams) -> BollingerIndicators:
    close = float_array(series.close)
    # TA-Lib's default moving average for BBANDS is the simple one, as Bollinger defined the bands.
    upper, middle, lower = talib.BBANDS(
        close, timeperiod=params.period, nbdevup=params.num_std, nbdevdn=params.num_std
    )
    return BollingerIndicators(
        upper=upper,
        middle=middle,
        lower=lower,
        atr=average_true_range(series, params.atr_period),
        usable=usable_through(series),
    )


def decide(series: BarSeries, params: BollingerParams, holding: Side | None) -> StrategyDecision:
    """The decision at the last bar of `series`, for a bot holding `holding` (None when flat)."""
    return decide_last(series, params, holding, compute_indicators, decide_at)


def decide_at(
    series: BarSeries,
    indicators: BollingerIndicators,
    index: int,
    params: BollingerParams,
    holding: Side | None,
) -> StrategyDecision:
    """The decision at bar `index`, reading nothing after it."""
    check_index(len(series), index)
    if not indicators.usable[index]:
        return hold("a bar in the window has a missing or non-positive price")
    close = float(series.close[index])
    upper = value_at(indicators.upper, index)
    middle = value_at(indicators.middle, index)
    lower = value_at(indicators.lower, index)
    atr = value_at(indicators.atr, index)
    evidence = {"close": close, "upper_band": upper, "middle_band": middle, "lower_band": lower, "atr": atr}
    if upper is None or middle is None or lower is None or atr is None:
        return hold(f"indicators need {params.minimum_bars} bars, have {index + 1}", evidence)

    middle_text = f"middle band {price_text(middle)}"
    close_text = f"close {price_text(close)}"
    if holding is Side.BUY:
        if close >= middle:
            return exit_position(f"{close_text} reached the {middle_text}", evidence)
        return hold(f"long held: {close_text} below the {middle_text}", evidence)
    if holding is Side.SELL:
        if close <= middle:
            return exit_position(f"{close_text} reached the {middle_text}", evidence)
        return hold(f"short held: {close_text} above the {middle_text}", evidence)

    # One standard deviation of the close, recovered from the band width.
    sigma = (middle - lower) / params.num_std
    if close < lower:
        return enter(
            Side.BUY,
            f"{close_text} below the lower band {price_text(lower)}",
            close=close,
            atr=atr,
            stop_atr_multiple=params.stop_atr_multiple,
            strength=(lower - close) / sigma if sigma > 0 else 1.0,
            edge=(middle - close) / close,
            evidence=evidence,
        )
    if params.allow_short and close > upper:
        return enter(
            Side.SELL,
            f"{close_text} above the upper band {price_text(upper)}",
            close=close,
            atr=atr,
            stop_atr_multiple=params.stop_atr_multiple,
            strength=(close - upper) / sigma if sigma > 0 else 1.0,
            edge=(close - middle) / close,
            evidence=evidence,
        )
    return hold(f"{close_text} inside the bands {price_text(lower)}–{price_text(upper)}", evidence)
