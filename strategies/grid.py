"""Range grid: buy a fall down a grid of levels around a moving centre, sell back at the centre.

The grid's centre is SMA(`period`) (60) of the close and its step `step_atr` (1.0) x
ATR(`atr_period`) (14), so the grid moves and widens with the market. Rules:

- long entry: flat and close at or below centre - `levels_below` (2) steps (the price fell
  down the grid);
- long exit: close at or above the centre (back at the middle);
- short side (off unless `allow_short`): the mirror image, close at or above centre +
  `levels_above` (2) steps; covered when close is at or below the centre.

A grid trades a range; in a trend it keeps buying a falling market. The rule itself does
not know the regime: the registry entry's `regimes = ["sideways"]` makes the daemon's regime
filter refuse the bot's entries outside the HMM's sideways regime (exits pass in every
regime).

A classic grid scales in: it buys one lot at each level down and sells each lot one level
up. Our book holds one net position per instrument per bot, so this grid holds one level
at a time: a single entry at the `levels_below`-th level, a single exit at the centre.

Entries carry a stop `stop_steps` (2) further steps beyond the entry, that is
`stop_steps` x `step_atr` ATRs away: a fall through two more levels says the range broke.
The expected return (`edge`) of an entry is the distance back to the centre over the close,
where the rule takes its profit (always positive at an entry, at least `levels_below` steps).
A heuristic, not a forecast. The confidence grows with how far past the entry level the
close is, saturating one step beyond it.
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
class GridParams:
    period: int = 60
    step_atr: float = 1.0
    levels_below: int = 2
    levels_above: int = 2
    stop_steps: float = 2.0
    allow_short: bool = False
    atr_period: int = 14

    def __post_init__(self) -> None:
        require_whole_at_least("period", self.period, 2)
        require_positive("step_atr", self.step_atr)
        require_whole_at_least("levels_below", self.levels_below, 1)
        require_whole_at_least("levels_above", self.levels_above, 1)
        require_positive("stop_steps", self.stop_steps)
        require_whole_at_least("atr_period", self.atr_period, 1)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> GridParams:
        return parse_params(cls, values)

    @property
    def stop_atr_multiple(self) -> float:
        """The stop's distance from the entry in ATRs: `stop_steps` steps of `step_atr` ATRs."""
        return self.stop_steps * self.step_atr

    @property
    def minimum_bars(self) -> int:
        """Bars needed before every indicator has a value at the last one."""
        return max(self.period, self.atr_period + 1)

    @property
    def bars_to_fetch(self) -> int:
        return self.minimum_bars + SETTLE_BARS


@dataclass(frozen=True, slots=True, eq=False)
class GridIndicators:
    """Indicator arrays as long as the series; NaN where an indicator has no value yet."""

    centre: FloatArray
    atr: FloatArray
    usable: BoolArray


def compute_indicators(series: BarSeries, params: GridParams) -> GridIndicators:
    close = float_array(series.close)
    return GridIndicators(
        centre=talib.SMA(close, timeperiod=params.period),
        atr=average_true_range(series, params.atr_period),
        usable=usable_through(series),
    )


def decide(series: BarSeries, params: GridParams, holding: Side | None) -> StrategyDecision:
    """The decision at the last bar of `series`, for a bot holding `holding` (None when flat)."""
    return decide_last(series, params, holding, compute_indicators, decide_at)


def decide_at(
    series: BarSeries,
    indicators: GridIndicators,
    index: int,
    params: GridParams,
    holding: Side | None,
) -> StrategyDecision:
    """The decision at bar `index`, reading nothing after it."""
    check_index(len(series), index)
    if not indicators.usable[index]:
        return hold("a bar in the window has a missing or non-positive price")
    close = float(series.close[index])
    centre = value_at(indicators.centre, index)
    atr = value_at(indicators.atr, index)
    step = None if atr is None else params.step_atr * atr
    evidence = {"close": close, "centre": centre, "step": step, "atr": atr}
    if centre is None or atr is None or step is None:
        return hold(f"indicators need {params.minimum_bars} bars, have {index + 1}", evidence)

    close_text = f"close {price_text(close)}"
    centre_text = f"the centre SMA({params.period}) {price_text(centre)}"
    if holding is Side.BUY:
        if close >= centre:
            return exit_position(f"{close_text} back at or above {centre_text}", evidence)
        return hold(f"long held: {close_text} below {centre_text}", evidence)
    if holding is Side.SELL:
        if close <= centre:
            return exit_position(f"{close_text} back at or below {centre_text}", evidence)
        return hold(f"short held: {close_text} above {centre_text}", evidence)

    if step <= 0:
        return hold(f"no grid: ATR({params.atr_period}) is zero, so the levels have no spacing", evidence)
    buy_level = centre - params.levels_below * step
    sell_level = centre + params.levels_above * step
    evidence = {**evidence, "buy_level": buy_level, "sell_level": sell_level}
    if close <= buy_level:
        return enter(
            Side.BUY,
            f"{close_text} at or below the grid's buy level {price_text(buy_level)} "
            f"({params.levels_below} steps of {price_text(step)} under {centre_text})",
            close=close,
            atr=atr,
            stop_atr_multiple=params.stop_atr_multiple,
            strength=(buy_level - close) / step,
            edge=(centre - close) / close,
            evidence=evidence,
        )
    if params.allow_short and close >= sell_level:
        return enter(
            Side.SELL,
            f"{close_text} at or above the grid's sell level {price_text(sell_level)} "
            f"({params.levels_above} steps of {price_text(step)} over {centre_text})",
            close=close,
            atr=atr,
            stop_atr_multiple=params.stop_atr_multiple,
            strength=(close - sell_level) / step,
            edge=(close - centre) / close,
            evidence=evidence,
        )
    upper = f"–{price_text(sell_level)}" if params.allow_short else ""
    return hold(f"{close_text} inside the grid's entry levels {price_text(buy_level)}{upper}", evidence)
