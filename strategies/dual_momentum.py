"""Dual momentum over a basket: hold the strongest member, and only while it is rising.

After G. Antonacci, "Dual Momentum Investing" (2014). Momentum is the return over the
last `lookback` bars (close / close `lookback` bars earlier - 1).

- relative momentum: the leader is the member with the highest momentum (the first in
  basket order on a tie);
- absolute momentum: the leader is bought only if its momentum is above
  `absolute_threshold` (0: it must at least be rising; Antonacci's T-bill return plays
  this part in the original);
- exit: when the held member's momentum turns below the threshold, or another member's
  momentum exceeds it by more than `switch_margin` (the margin keeps two members with
  near-equal momentum from being swapped back and forth on noise).

Long only: the flat alternative stands in for the original's bonds. A rotation takes two
decisions: the exit of the old leader, then, flat, the entry of the new one.

Relative momentum compares like with like, so an entry needs every member's bars, ending
at the same bar time. The expected return of an entry is the leader's lookback return,
assumed to persist; its confidence grows with that return measured in its own volatility
over the lookback (saturating at two standard deviations).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
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
    enter,
    exit_position,
    float_array,
    hold,
    usable_through,
    value_at,
)
from strategies.params import parse_params, require_positive, require_whole_at_least

STRENGTH_AT_SIGMAS = 2.0  # momentum of this many lookback standard deviations gets full confidence


@dataclass(frozen=True, slots=True)
class DualMomentumParams:
    lookback: int = 60
    absolute_threshold: float = 0.0
    switch_margin: float = 0.005
    atr_period: int = 14
    stop_atr_multiple: float = 2.0

    def __post_init__(self) -> None:
        require_whole_at_least("lookback", self.lookback, 2)
        if not (math.isfinite(self.absolute_threshold) and self.absolute_threshold >= 0):
            raise ValueError(
                f"parameter 'absolute_threshold' must be a return of 0 or more, got {self.absolute_threshold}"
            )
        if not (math.isfinite(self.switch_margin) and self.switch_margin >= 0):
            raise ValueError(f"parameter 'switch_margin' must be 0 or more, got {self.switch_margin}")
        require_whole_at_least("atr_period", self.atr_period, 1)
        require_positive("stop_atr_multiple", self.stop_atr_multiple)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> DualMomentumParams:
        return parse_params(cls, values)

    @property
    def minimum_bars(self) -> int:
        """Bars needed before every indicator has a value at the last one."""
        return max(self.lookback + 1, self.atr_period + 1)

    @property
    def bars_to_fetch(self) -> int:
        return self.minimum_bars + SETTLE_BARS


@dataclass(frozen=True, slots=True, eq=False)
class MomentumIndicators:
    """One member's indicator arrays, as long as its series; NaN where there is no value yet."""

    momentum: FloatArray
    atr: FloatArray
    usable: BoolArray


@dataclass(frozen=True, slots=True)
class RotationDecision:
    """A decision and the basket member (its index) it applies to; None when it concerns none."""

    member: int | None
    decision: StrategyDecision


@dataclass(frozen=True, slots=True)
class _Member:
    """One member at the decision bar: None values where it has no usable data."""

    name: str
    time: float | None
    close: float | None
    momentum: float | None
    atr: float | None
    volatility: float | None  # standard deviation of log returns over the lookback, scaled to it


def compute_indicators(series: BarSeries, params: DualMomentumParams) -> MomentumIndicators:
    close = float_array(series.close)
    return MomentumIndicators(
        momentum=talib.ROCP(close, timeperiod=params.lookback),
        atr=average_true_range(series, params.atr_period),
        usable=usable_through(series),
    )


def decide(
    basket: Sequence[BarSeries | None], params: DualMomentumParams, held: int | None
) -> RotationDecision:
    """The decision at each member's last bar. `held` is the index of the member held, None when flat.

    A member without bars is None.
    """
    members = [
        _missing(i)
        if s is None or len(s) == 0
        else _member(s, compute_indicators(s, params), len(s) - 1, params)
        for i, s in enumerate(basket)
    ]
    return _decide(members, params, held)


def decide_at(
    basket: Sequence[BarSeries],
    indicators: Sequence[MomentumIndicators],
    index: int,
    params: DualMomentumParams,
    held: int | None,
) -> RotationDecision:
    """The decision at bar `index` of a basket whose series are aligned bar for bar."""
    members = [_member(s, ind, index, params) for s, ind in zip(basket, indicators, strict=True)]
    return _decide(members, params, held)


def _missing(position: int) -> _Member:
    return _Member(f"basket member {position}", None, None, None, None, None)


def _member(
    series: BarSeries, indicators: MomentumIndicators, index: int, params: DualMomentumParams
) -> _Member:
    check_index(len(series), index)
    name = series.instrument_key
    if not indicators.usable[index]:
        return _Member(name, None, None, None, None, None)
    momentum = value_at(indicators.momentum, index)
    volatility = None
    if momentum is not None:
        closes = np.asarray(series.close[index - params.lookback : index + 1], dtype=np.float64)
        log_returns = np.diff(np.log(closes))
        volatility = float(np.std(log_returns, ddof=1)) * math.sqrt(params.lookback)
    return _Member(
        name,
        float(series.times[index]),
        float(series.close[index]),
        momentum,
        value_at(indicators.atr, index),
        volatility,
    )


def _decide(members: list[_Member], params: DualMomentumParams, held: int | None) -> RotationDecision:
    evidence: dict[str, float | None] = {f"momentum:{m.name}": m.momentum for m in members}
    if held is not None:
        return RotationDecision(held, _decide_held(members, held, params, evidence))
    missing = [m.name for m in members if m.momentum is None or m.atr is None]
    if not members or missing:
        reason = f"no momentum yet for {', '.join(missing)}" if missing else "empty basket"
        return RotationDecision(None, hold(reason, evidence))
    if len({m.time for m in members}) > 1:
        return RotationDecision(None, hold("the members' last bars are not at the same time", evidence))

    leader_index = max(range(len(members)), key=lambda i: (members[i].momentum or 0.0, -i))
    leader = members[leader_index]
    assert leader.momentum is not None and leader.atr is not None and leader.close is not None
    leader_evidence = {**evidence, "momentum": leader.momentum, "close": leader.close, "atr": leader.atr}
    momentum_text = f"{leader.name} momentum {leader.momentum:+.3%} over {params.lookback} bars"
    if leader.momentum <= params.absolute_threshold:
        return RotationDecision(
            None,
            hold(
                f"absolute momentum fails: best is {momentum_text}, "
                f"needs above {params.absolute_threshold:.3%}",
                leader_evidence,
            ),
        )
    excess = leader.momentum - params.absolute_threshold
    volatility = leader.volatility or 0.0
    strength = excess / (STRENGTH_AT_SIGMAS * volatility) if volatility > 0 else 1.0
    return RotationDecision(
        leader_index,
        enter(
            Side.BUY,
            f"{momentum_text} leads the basket and beats {params.absolute_threshold:.3%}",
            close=leader.close,
            atr=leader.atr,
            stop_atr_multiple=params.stop_atr_multiple,
            strength=strength,
            edge=leader.momentum,
            evidence=leader_evidence,
        ),
    )


def _decide_held(
    members: list[_Member], held: int, params: DualMomentumParams, evidence: dict[str, float | None]
) -> StrategyDecision:
    if not 0 <= held < len(members):
        raise IndexError(f"held member {held} outside a basket of {len(members)}")
    mine = members[held]
    if mine.momentum is None:
        return hold(f"no momentum for the held {mine.name}", evidence)
    held_evidence = {**evidence, "momentum": mine.momentum, "close": mine.close, "atr": mine.atr}
    mine_text = f"{mine.name} momentum {mine.momentum:+.3%}"
    if mine.momentum < params.absolute_threshold:
        return exit_position(
            f"absolute momentum lost: {mine_text} below {params.absolute_threshold:.3%}", held_evidence
        )
    # Only members measured at the same bar compare fairly with the held one.
    rivals = [
        m for i, m in enumerate(members) if i != held and m.momentum is not None and m.time == mine.time
    ]
    if rivals:
        best = max(rivals, key=lambda m: m.momentum or 0.0)
        assert best.momentum is not None
        if best.momentum - mine.momentum > params.switch_margin:
            return exit_position(
                f"{best.name} momentum {best.momentum:+.3%} leads {mine_text} by more than "
                f"{params.switch_margin:.3%}",
                held_evidence,
            )
    return hold(
        f"{mine_text} beats {params.absolute_threshold:.3%} and no member leads it by more than "
        f"{params.switch_margin:.3%}",
        held_evidence,
    )
