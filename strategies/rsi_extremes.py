"""RSI extremes: a fast mean-reversion scalper that buys a deeply oversold fast RSI.

Rules (defaults for 1-minute crypto bars):

- long entry: flat and RSI(`rsi_period`) (7) below `oversold` (15), with the close below
  SMA(`exit_sma_period`) (10);
- long exit: RSI above `exit_level` (50), or close above SMA(`exit_sma_period`);
- short side (off unless `allow_short`): the mirror image, RSI above 100 - 15 = 85 with the
  close above the exit SMA; covered when RSI falls below 100 - 50 = 50 or close drops below
  the exit SMA.

Both exits are functions of the bars alone. A rule sees only the bars and the side it holds,
never when it entered, so there is no exit after a number of bars held: a scalp that neither
bounces nor stops out is left to the risk engine's exit plan (its stop and ATR trail).

As for RSI-2, an entry whose own exit already holds on the same bar (a long whose close is
above the exit SMA) is skipped: the next tick would close it at once.

Entries carry a tight stop, `stop_atr_multiple` (1.5) ATRs away: a scalp that keeps falling
past 1.5 ATRs is no reversion. The expected return (`edge`) of an entry is the distance back
to the exit SMA over the close, where the rule takes its profit; floored at `MIN_EDGE`
(1 basis point) so an entry just under the SMA still carries the positive edge every entry
must have. A heuristic, not a forecast. The confidence grows with how far past the threshold
the RSI is, saturating at RSI 0 (100 for a short).
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
class RsiExtremesParams:
    rsi_period: int = 7
    oversold: float = 15.0
    exit_level: float = 50.0
    exit_sma_period: int = 10
    allow_short: bool = False
    atr_period: int = 14
    stop_atr_multiple: float = 1.5

    def __post_init__(self) -> None:
        require_whole_at_least("rsi_period", self.rsi_period, 2)
        require_whole_at_least("exit_sma_period", self.exit_sma_period, 2)
        require_whole_at_least("atr_period", self.atr_period, 1)
        require_positive("stop_atr_multiple", self.stop_atr_multiple)
        if not 0 < self.oversold < 50:
            raise ValueError(f"parameter 'oversold' must be between 0 and 50, got {self.oversold}")
        if not self.oversold < self.exit_level < 100:
            raise ValueError(
                f"parameter 'exit_level' must be above oversold ({self.oversold}) and below 100, "
                f"got {self.exit_level}"
            )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> RsiExtremesParams:
        return parse_params(cls, values)

    @property
    def overbought(self) -> float:
        """The short side's entry level: the mirror of `oversold`."""
        return 100 - self.oversold

    @property
    def cover_level(self) -> float:
        """The short side's exit level: the mirror of `exit_level`."""
        return 100 - self.exit_level

    @property
    def minimum_bars(self) -> int:
        """Bars needed before every indicator has a value at the last one."""
        return max(self.rsi_period + 1, self.exit_sma_period, self.atr_period + 1)

    @property
    def bars_to_fetch(self) -> int:
        return self.minimum_bars + SETTLE_BARS


@dataclass(frozen=True, slots=True, eq=False)
class RsiExtremesIndicators:
    """Indicator arrays as long as the series; NaN where an indicator has no value yet."""

    rsi: FloatArray
    exit_sma: FloatArray
    atr: FloatArray
    usable: BoolArray


def compute_indicators(series: BarSeries, params: RsiExtremesParams) -> RsiExtremesIndicators:
    close = float_array(series.close)
    return RsiExtremesIndicators(
        rsi=talib.RSI(close, timeperiod=params.rsi_period),
        exit_sma=talib.SMA(close, timeperiod=params.exit_sma_period),
        atr=average_true_range(series, params.atr_period),
        usable=usable_through(series),
    )


def decide(series: BarSeries, params: RsiExtremesParams, holding: Side | None) -> StrategyDecision:
    """The decision at the last bar of `series`, for a bot holding `holding` (None when flat)."""
    return decide_last(series, params, holding, compute_indicators, decide_at)


def decide_at(
    series: BarSeries,
    indicators: RsiExtremesIndicators,
    index: int,
    params: RsiExtremesParams,
    holding: Side | None,
) -> StrategyDecision:
    """The decision at bar `index`, reading nothing after it."""
    check_index(len(series), index)
    if not indicators.usable[index]:
        return hold("a bar in the window has a missing or non-positive price")
    close = float(series.close[index])
    rsi = value_at(indicators.rsi, index)
    exit_sma = value_at(indicators.exit_sma, index)
    atr = value_at(indicators.atr, index)
    evidence = {"close": close, "rsi": rsi, "exit_sma": exit_sma, "atr": atr}
    if rsi is None or exit_sma is None or atr is None:
        return hold(f"indicators need {params.minimum_bars} bars, have {index + 1}", evidence)

    rsi_text = f"RSI({params.rsi_period}) {rsi:.1f}"
    close_text = f"close {price_text(close)}"
    exit_sma_text = f"SMA({params.exit_sma_period}) {price_text(exit_sma)}"
    if holding is Side.BUY:
        if rsi > params.exit_level:
            return exit_position(f"{rsi_text} above the exit level {params.exit_level:g}", evidence)
        if close > exit_sma:
            return exit_position(f"{close_text} above {exit_sma_text}", evidence)
        return hold(f"long held: {rsi_text}, {close_text} not above {exit_sma_text}", evidence)
    if holding is Side.SELL:
        if rsi < params.cover_level:
            return exit_position(f"{rsi_text} below the cover level {params.cover_level:g}", evidence)
        if close < exit_sma:
            return exit_position(f"{close_text} below {exit_sma_text}", evidence)
        return hold(f"short held: {rsi_text}, {close_text} not below {exit_sma_text}", evidence)

    if rsi < params.oversold and close < exit_sma:
        return enter(
            Side.BUY,
            f"{rsi_text} below the oversold level {params.oversold:g}, {close_text} under {exit_sma_text}",
            close=close,
            atr=atr,
            stop_atr_multiple=params.stop_atr_multiple,
            strength=(params.oversold - rsi) / params.oversold,
            edge=max((exit_sma - close) / close, MIN_EDGE),
            evidence=evidence,
        )
    if params.allow_short and rsi > params.overbought and close > exit_sma:
        return enter(
            Side.SELL,
            f"{rsi_text} above the overbought level {params.overbought:g}, {close_text} over {exit_sma_text}",
            close=close,
            atr=atr,
            stop_atr_multiple=params.stop_atr_multiple,
            strength=(rsi - params.overbought) / params.oversold,
            edge=max((close - exit_sma) / close, MIN_EDGE),
            evidence=evidence,
        )
    if rsi < params.oversold:
        return hold(f"no entry: {rsi_text} oversold but {close_text} not below {exit_sma_text}", evidence)
    if params.allow_short and rsi > params.overbought:
        return hold(f"no entry: {rsi_text} overbought but {close_text} not above {exit_sma_text}", evidence)
    if params.allow_short:
        return hold(f"no entry: {rsi_text} between {params.oversold:g} and {params.overbought:g}", evidence)
    return hold(f"no entry: {rsi_text} not below {params.oversold:g}", evidence)
