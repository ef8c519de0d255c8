"""What a strategy decides at a bar, and the rules every strategy shares.

A decision is computed from bars up to one bar only. Entries carry everything a
signal needs: the protective stop that defines 1R (the risk engine sizes from the
entry-stop distance), the ATR the exit plan trails with, an expected return (`edge`)
and a confidence.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import talib

from domain.market import BarSeries
from domain.signals import Side, SignalIntent

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ParamsT = TypeVar("ParamsT")  # a rule's params
IndicatorsT = TypeVar("IndicatorsT")  # a rule's indicators

# Wilder-smoothed indicators (RSI, ATR) remember their whole input, so their value at the
# last bar depends slightly on where the fetched window starts. 50 extra bars shrink the
# start's weight to (13/14)^50 ≈ 2.5 % for ATR(14) and to nothing visible for RSI(2).
SETTLE_BARS = 50

# Confidence of an entry: 0.5 for a signal just past its threshold, rising linearly with
# its strength to 0.9 where the strength saturates. A heuristic, not a calibrated
# probability; the ensemble stage re-weights it.
BASE_CONFIDENCE = 0.5
MAX_CONFIDENCE = 0.9


class Action(StrEnum):
    ENTER_LONG = "enter_long"
    ENTER_SHORT = "enter_short"
    EXIT = "exit"
    HOLD = "hold"

    @property
    def entry_side(self) -> Side | None:
        """The side an entry buys or sells; None for EXIT and HOLD."""
        if self is Action.ENTER_LONG:
            return Side.BUY
        if self is Action.ENTER_SHORT:
            return Side.SELL
        return None


@dataclass(frozen=True, slots=True)
class StrategyDecision:
    """A strategy's verdict at one bar.

    `evidence` holds the indicator values it saw (finite numbers only, with `close`
    and `atr` when known). An entry must carry `close`, `atr`, a protective `stop` on
    the losing side of `close`, and a positive `edge` (expected return as a fraction).
    """

    action: Action
    reason: str
    evidence: Mapping[str, float] = field(default_factory=dict)
    close: float | None = None
    atr: float | None = None
    stop: float | None = None
    confidence: float = 0.0
    edge: float = 0.0

    def __post_init__(self) -> None:
        side = self.action.entry_side
        if side is not None:
            if self.close is None or self.atr is None or self.stop is None:
                raise ValueError(f"{self.action} decision needs close, atr and stop")
            if (self.close - self.stop) * side.sign <= 0:
                raise ValueError(f"stop {self.stop} is on the wrong side of close {self.close} for {side}")
            if not (math.isfinite(self.edge) and self.edge > 0):
                raise ValueError(f"{self.action} decision needs a positive edge, got {self.edge}")
        elif self.stop is not None:
            raise ValueError("only an entry carries a stop")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence {self.confidence} outside [0, 1]")
        for key, value in self.evidence.items():
            if not math.isfinite(value):
                raise ValueError(f"evidence {key!r} is not a finite number: {value}")
        object.__setattr__(self, "evidence", MappingProxyType(dict(self.evidence)))


def protective_stop(side: Side, price: float, atr: float, multiple: float) -> float:
    """The stop `multiple` ATRs on the losing side of `price` (below for a buy, above for a sell).

    Example: a buy at 100 with ATR 1.5 and multiple 2 has its stop at 97. Raises
    ValueError when an input is not a positive finite number, or when a long's stop
    would not be a positive price (ATR so large that no meaningful stop exists).
    """
    for name, value in (("price", price), ("atr", atr), ("multiple", multiple)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"protective stop needs a positive {name}, got {value}")
    stop = price - side.sign * multiple * atr
    if stop <= 0:
        raise ValueError(
            f"a {multiple:g} ATR stop under {price:g} (ATR {atr:g}) would be {stop:g}, not a price"
        )
    return stop


def hold(reason: str, evidence: Mapping[str, float | None] | None = None) -> StrategyDecision:
    values = finite_values(evidence or {})
    return StrategyDecision(Action.HOLD, reason, values, close=values.get("close"), atr=values.get("atr"))


def exit_position(reason: str, evidence: Mapping[str, float | None]) -> StrategyDecision:
    """An exit: the rule says the trade is over, so it is certain (confidence 1) and has no edge."""
    values = finite_values(evidence)
    return StrategyDecision(
        Action.EXIT, reason, values, close=values.get("close"), atr=values.get("atr"), confidence=1.0
    )


def enter(
    side: Side,
    reason: str,
    *,
    close: float,
    atr: float,
    stop_atr_multiple: float,
    strength: float,
    edge: float,
    evidence: Mapping[str, float | None],
) -> StrategyDecision:
    """An entry with its protective stop, or a HOLD saying why no stop (or no edge) exists.

    `strength` in [0, 1] (clipped) maps to a confidence between 0.5 and 0.9.
    """
    values = {**finite_values(evidence), "close": close, "atr": atr}
    try:
        stop = protective_stop(side, close, atr, stop_atr_multiple)
    except ValueError as exc:
        return hold(f"entry skipped: {exc}", values)
    if not (math.isfinite(edge) and edge > 0):
        return hold(f"entry skipped: no positive expected return ({edge:.6g})", values)
    confidence = BASE_CONFIDENCE + (MAX_CONFIDENCE - BASE_CONFIDENCE) * min(1.0, max(0.0, strength))
    action = Action.ENTER_LONG if side is Side.BUY else Action.ENTER_SHORT
    return StrategyDecision(
        action, reason, values, close=close, atr=atr, stop=stop, confidence=confidence, edge=edge
    )


def order_for(decision: StrategyDecision, holding: Side | None) -> tuple[Side, SignalIntent] | None:
    """The signal side and intent for `decision` given what is held, or None for no signal.

    The one place that keeps a bot from entering while it holds the instrument or
    closing what it does not hold: an exit sells a long and buys back a short.
    """
    if decision.action is Action.EXIT:
        return None if holding is None else (holding.opposite, SignalIntent.CLOSE)
    side = decision.action.entry_side
    if side is None or holding is not None:
        return None
    return side, SignalIntent.OPEN


def decide_last(
    series: BarSeries,
    params: ParamsT,
    holding: Side | None,
    compute: Callable[[BarSeries, ParamsT], IndicatorsT],
    decide_at: Callable[[BarSeries, IndicatorsT, int, ParamsT, Side | None], StrategyDecision],
) -> StrategyDecision:
    """A rule's decision at the last bar of `series`: its indicators over the series, then its
    `decide_at` there (what a bot asks each tick; a backtest walks `decide_at` over every bar)."""
    if len(series) == 0:
        return hold("no bars")
    return decide_at(series, compute(series, params), len(series) - 1, params, holding)


def average_true_range(series: BarSeries, period: int) -> FloatArray:
    """TA-Lib's ATR (Wilder's smoothing) of the series, NaN through its warm-up."""
    high, low, close = (float_array(column) for column in (series.high, series.low, series.close))
    result: FloatArray = talib.ATR(high, low, close, timeperiod=period)
    return result


def usable_through(series: BarSeries) -> BoolArray:
    """True at bar i when every bar up to i has a finite, positive high, low and close.

    TA-Lib does not propagate a missing value: RSI returns 0 for every bar after a NaN
    close. So a decision is taken only where no bad bar precedes it in the window.
    """
    if len(series) == 0:
        return np.zeros(0, dtype=np.bool_)
    good = np.ones(len(series), dtype=np.bool_)
    for column in (series.high, series.low, series.close):
        values = np.asarray(column, dtype=np.float64)
        good &= np.isfinite(values) & (values > 0)
    result: BoolArray = np.logical_and.accumulate(good)
    return result


def float_array(values: npt.ArrayLike) -> FloatArray:
    """The values as a contiguous float64 array (no copy when they already are): what TA-Lib takes."""
    return np.ascontiguousarray(values, dtype=np.float64)


def value_at(values: FloatArray, index: int) -> float | None:
    """`values[index]` as a float, or None while the indicator has no finite value there."""
    value = float(values[index])
    return value if math.isfinite(value) else None


def finite_values(values: Mapping[str, float | None]) -> dict[str, float]:
    return {key: float(v) for key, v in values.items() if v is not None and math.isfinite(v)}


def check_index(series_length: int, index: int) -> None:
    if not 0 <= index < series_length:
        raise IndexError(f"bar index {index} outside a series of {series_length} bars")


def price_text(value: float) -> str:
    """Six significant digits: 101.234 for a stock, 1.08523 for a currency pair."""
    return f"{value:.6g}"
