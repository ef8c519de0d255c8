"""Pairs trading on a cointegrated pair: bet that the spread between two prices returns to its mean.

After Engle and Granger (1987) and Gatev, Goetzmann and Rouwenhorst, "Pairs Trading" (2006).
On the last `formation_bars` (240) log closes of instruments A and B, ending at the current
bar:

- cointegration: the Engle-Granger test (`statsmodels.tsa.stattools.coint`, log A on log B
  with a constant) gives a p-value; `adf_lags` (1) fixes the lags of its ADF regression;
- hedge ratio beta: OLS of log A on log B with a constant, on the same window;
- spread s = log A - beta log B; z = (s_now - mean(s)) / std(s) over the window (population
  standard deviation, as for Bollinger bands).

Rules, in terms of the spread (long the spread = long A, short B):

- entry only while cointegrated (p-value below `max_pvalue`, 0.05): z above `entry_z` (2)
  sells the spread (short A / long B); z below -`entry_z` buys it (long A / short B);
- exit when the spread has come back: z below `exit_z` (0.5) for a short spread, above
  -`exit_z` for a long one (|z| < `exit_z`, or past it when the spread jumps over the band in
  one bar); or when cointegration breaks (p-value above `break_pvalue`, 0.20); or after
  `max_holding_bars` (120) bars.

Both legs enter and exit together. Each leg carries its own protective stop
`stop_atr_multiple` ATRs away (3 by default, wider than a single-instrument reversion rule's 2:
each leg moves with the market, which the other leg hedges; the stops are for a pair that
broke, not for noise). The expected return (`edge`) of an entry is the spread's distance to
the exit band, (|z| - `exit_z`) x std(s), per unit of gross exposure (1 in A and |beta| in B):
that is the log return the pair earns if the spread reverts to the band. Its confidence grows
with the strength of the cointegration, 1 - p-value / `max_pvalue`.

Why `adf_lags` is fixed: the test's default lag search by AIC runs one ADF regression per
candidate lag (15 for 240 bars), about 7x the cost, and on a rolling window the chosen lag
jumps from bar to bar, and the p-value with it. With one lag a window costs about 2 ms
(statsmodels' own overhead dominates), so `compute_indicators` over 10 000 bars with the
default 240-bar window took 20 s (measured on a shared 2-core machine); the bot computes one
window per tick.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
import talib
from statsmodels.tools.sm_exceptions import CollinearityWarning
from statsmodels.tsa.stattools import coint

from domain.market import BarSeries
from domain.signals import Side
from strategies.decision import (
    BASE_CONFIDENCE,
    MAX_CONFIDENCE,
    SETTLE_BARS,
    Action,
    BoolArray,
    FloatArray,
    check_index,
    finite_values,
    float_array,
    protective_stop,
    usable_through,
    value_at,
)
from strategies.params import parse_params, require_positive, require_whole_at_least

MIN_FORMATION_BARS = 10  # fewer points than this leave the ADF regression next to no degrees of freedom


@dataclass(frozen=True, slots=True)
class PairsParams:
    formation_bars: int = 240
    max_pvalue: float = 0.05
    break_pvalue: float = 0.20
    entry_z: float = 2.0
    exit_z: float = 0.5
    max_holding_bars: int = 120
    adf_lags: int = 1
    atr_period: int = 14
    stop_atr_multiple: float = 3.0

    def __post_init__(self) -> None:
        require_whole_at_least("formation_bars", self.formation_bars, MIN_FORMATION_BARS)
        require_whole_at_least("max_holding_bars", self.max_holding_bars, 1)
        require_whole_at_least("adf_lags", self.adf_lags, 0)
        require_whole_at_least("atr_period", self.atr_period, 1)
        require_positive("stop_atr_multiple", self.stop_atr_multiple)
        if not 0 < self.max_pvalue <= 1:
            raise ValueError(f"parameter 'max_pvalue' must be in (0, 1], got {self.max_pvalue}")
        if not self.max_pvalue <= self.break_pvalue <= 1:
            raise ValueError(
                f"parameter 'break_pvalue' must be between max_pvalue ({self.max_pvalue}) and 1, "
                f"got {self.break_pvalue}"
            )
        require_positive("entry_z", self.entry_z)
        if not (math.isfinite(self.exit_z) and 0 <= self.exit_z < self.entry_z):
            raise ValueError(
                f"parameter 'exit_z' must be 0 or more and below entry_z ({self.entry_z}), got {self.exit_z}"
            )
        # The ADF regression of the spread's n - 1 differences on L lags has n - 1 - L rows and
        # L + 1 columns: keep at least two rows to spare.
        if 2 * self.adf_lags + 4 > self.formation_bars:
            raise ValueError(
                f"parameter 'adf_lags' ({self.adf_lags}) is too many for a window of "
                f"{self.formation_bars} bars"
            )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> PairsParams:
        return parse_params(cls, values)

    @property
    def minimum_bars(self) -> int:
        """Bars of each leg needed before every statistic has a value at the last one."""
        return max(self.formation_bars, self.atr_period + 1)

    @property
    def bars_to_fetch(self) -> int:
        return self.minimum_bars + SETTLE_BARS


@dataclass(frozen=True, slots=True)
class PairHolding:
    """What a pair bot holds: the side of leg A (leg B is the other side) and for how many bars."""

    side_a: Side
    bars_held: int

    def __post_init__(self) -> None:
        if self.bars_held < 0:
            raise ValueError(f"bars_held must be 0 or more, got {self.bars_held}")


@dataclass(frozen=True, slots=True)
class PairLeg:
    """One leg of a pair entry: its side, the close it is priced at, its ATR and protective stop."""

    side: Side
    close: float
    atr: float
    stop: float

    def __post_init__(self) -> None:
        if (self.close - self.stop) * self.side.sign <= 0:
            raise ValueError(f"stop {self.stop} is on the wrong side of close {self.close} for {self.side}")


@dataclass(frozen=True, slots=True)
class PairDecision:
    """A pair rule's verdict at one bar. `action` is about the spread: ENTER_LONG buys A and sells
    B, ENTER_SHORT sells A and buys B, EXIT closes both legs.

    An entry carries both `legs` (A first), a positive `edge` and its confidence; nothing else
    carries legs. `evidence` holds the statistics it saw (finite numbers only).
    """

    action: Action
    reason: str
    evidence: Mapping[str, float] = field(default_factory=dict)
    legs: tuple[PairLeg, PairLeg] | None = None
    hedge_ratio: float | None = None
    zscore: float | None = None
    pvalue: float | None = None
    confidence: float = 0.0
    edge: float = 0.0

    def __post_init__(self) -> None:
        side = self.action.entry_side
        if side is not None:
            if self.legs is None:
                raise ValueError(f"{self.action} decision needs both legs")
            leg_a, leg_b = self.legs
            if leg_a.side is not side or leg_b.side is not side.opposite:
                raise ValueError(
                    f"{self.action} needs leg A {side} and leg B {side.opposite}, "
                    f"got {leg_a.side} and {leg_b.side}"
                )
            if not (math.isfinite(self.edge) and self.edge > 0):
                raise ValueError(f"{self.action} decision needs a positive edge, got {self.edge}")
        elif self.legs is not None:
            raise ValueError("only an entry carries legs")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence {self.confidence} outside [0, 1]")
        for key, value in self.evidence.items():
            if not math.isfinite(value):
                raise ValueError(f"evidence {key!r} is not a finite number: {value}")
        object.__setattr__(self, "evidence", MappingProxyType(dict(self.evidence)))


@dataclass(frozen=True, slots=True)
class CointegrationStatistics:
    """The Engle-Granger statistics of one window of log prices, at its last bar."""

    pvalue: float
    hedge_ratio: float
    spread: float  # log A - beta log B at the last bar
    spread_mean: float
    spread_std: float
    zscore: float


@dataclass(frozen=True, slots=True, eq=False)
class PairIndicators:
    """Rolling statistics and each leg's ATR, as long as the (aligned) series; NaN where none."""

    pvalue: FloatArray
    hedge_ratio: FloatArray
    spread: FloatArray
    spread_mean: FloatArray
    spread_std: FloatArray
    zscore: FloatArray
    atr_a: FloatArray
    atr_b: FloatArray
    usable: BoolArray  # both legs usable through the bar


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """Both legs at the decision bar: the window's statistics (None when it has none) and prices."""

    statistics: CointegrationStatistics | None
    close_a: float
    close_b: float
    atr_a: float | None
    atr_b: float | None


def cointegration_statistics(
    log_a: npt.ArrayLike, log_b: npt.ArrayLike, adf_lags: int
) -> CointegrationStatistics | None:
    """Engle-Granger p-value, hedge ratio and z-score of the spread over one window of log prices.

    None when the window admits no statistics: a leg that did not move, or a spread without
    spread (A an exact multiple of B).
    """
    a, b = float_array(log_a), float_array(log_b)
    if len(a) != len(b):
        raise ValueError(f"the legs' windows differ in length: {len(a)} and {len(b)}")
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    design = np.column_stack([np.ones(len(b)), b])
    (_, beta), *_ = np.linalg.lstsq(design, a, rcond=None)
    spread = a - beta * b
    mean, std = float(np.mean(spread)), float(np.std(spread))
    if not std > 1e-12 * max(1.0, abs(mean)):
        return None
    with warnings.catch_warnings():
        # An almost exact fit makes statsmodels warn and report p-value 0; the std test above
        # already refused the exact one.
        warnings.simplefilter("ignore", CollinearityWarning)
        _, pvalue, _ = coint(a, b, trend="c", maxlag=adf_lags, autolag=None)
    return CointegrationStatistics(
        pvalue=float(pvalue),
        hedge_ratio=float(beta),
        spread=float(spread[-1]),
        spread_mean=mean,
        spread_std=std,
        zscore=(float(spread[-1]) - mean) / std,
    )


def compute_indicators(series_a: BarSeries, series_b: BarSeries, params: PairsParams) -> PairIndicators:
    """Statistics over every window of `formation_bars` of two series aligned bar for bar.

    One Engle-Granger test per bar: about 2 ms each, 20 s for 10 000 bars.
    """
    if len(series_a) != len(series_b) or not np.array_equal(series_a.times, series_b.times):
        raise ValueError(
            f"{series_a.instrument_key} and {series_b.instrument_key} must be aligned bar for bar "
            "(the same bar times)"
        )
    length, window = len(series_a), params.formation_bars
    usable = usable_through(series_a) & usable_through(series_b)
    columns = {name: np.full(length, np.nan) for name in _STATISTIC_NAMES}
    if length >= window:
        log_a, log_b = _log_closes(series_a), _log_closes(series_b)
        for index in range(window - 1, length):
            if not usable[index]:
                break  # usable_through is False from the first bad bar on
            statistics = cointegration_statistics(
                log_a[index - window + 1 : index + 1], log_b[index - window + 1 : index + 1], params.adf_lags
            )
            if statistics is not None:
                for name in _STATISTIC_NAMES:
                    columns[name][index] = getattr(statistics, name)
    return PairIndicators(
        **columns,
        atr_a=_atr(series_a, params),
        atr_b=_atr(series_b, params),
        usable=usable,
    )


_STATISTIC_NAMES = ("pvalue", "hedge_ratio", "spread", "spread_mean", "spread_std", "zscore")


def decide(
    series_a: BarSeries, series_b: BarSeries, params: PairsParams, holding: PairHolding | None
) -> PairDecision:
    """The decision at the last bar of both series, for a bot holding `holding` (None when flat).

    The last `formation_bars` bars of both must have the same bar times; otherwise no signal.
    """
    if len(series_a) == 0 or len(series_b) == 0:
        return _hold("no bars for one of the legs")
    if series_a.times[-1] != series_b.times[-1]:
        return _hold("the legs' last bars are not at the same time")
    window = params.formation_bars
    if len(series_a) < window or len(series_b) < window:
        return _hold(f"statistics need {window} bars of each leg, have {min(len(series_a), len(series_b))}")
    if not np.array_equal(series_a.times[-window:], series_b.times[-window:]):
        return _hold(f"the legs' bar times differ within the last {window} bars")
    if not (usable_through(series_a)[-1] and usable_through(series_b)[-1]):
        return _hold("a bar in a leg's window has a missing or non-positive price")
    statistics = cointegration_statistics(
        _log_closes(series_a)[-window:], _log_closes(series_b)[-window:], params.adf_lags
    )
    snapshot = _Snapshot(
        statistics,
        float(series_a.close[-1]),
        float(series_b.close[-1]),
        value_at(_atr(series_a, params), len(series_a) - 1),
        value_at(_atr(series_b, params), len(series_b) - 1),
    )
    return _decide(snapshot, params, holding)


def decide_at(
    series_a: BarSeries,
    series_b: BarSeries,
    indicators: PairIndicators,
    index: int,
    params: PairsParams,
    holding: PairHolding | None,
) -> PairDecision:
    """The decision at bar `index` of two series aligned bar for bar, reading nothing after it."""
    check_index(len(series_a), index)
    if index + 1 < params.formation_bars:
        return _hold(f"statistics need {params.formation_bars} bars of each leg, have {index + 1}")
    if not indicators.usable[index]:
        return _hold("a bar in a leg's window has a missing or non-positive price")
    pvalue = value_at(indicators.pvalue, index)
    statistics = None
    if pvalue is not None:
        statistics = CointegrationStatistics(
            pvalue=pvalue,
            hedge_ratio=float(indicators.hedge_ratio[index]),
            spread=float(indicators.spread[index]),
            spread_mean=float(indicators.spread_mean[index]),
            spread_std=float(indicators.spread_std[index]),
            zscore=float(indicators.zscore[index]),
        )
    snapshot = _Snapshot(
        statistics,
        float(series_a.close[index]),
        float(series_b.close[index]),
        value_at(indicators.atr_a, index),
        value_at(indicators.atr_b, index),
    )
    return _decide(snapshot, params, holding)


def _decide(snapshot: _Snapshot, params: PairsParams, holding: PairHolding | None) -> PairDecision:
    statistics = snapshot.statistics
    evidence: dict[str, float | None] = {
        "close_a": snapshot.close_a,
        "close_b": snapshot.close_b,
        "atr_a": snapshot.atr_a,
        "atr_b": snapshot.atr_b,
    }
    if statistics is None:
        return _hold(
            "no spread: a leg's price did not move over the window, or A is a multiple of B", None, evidence
        )
    evidence |= {
        "pvalue": statistics.pvalue,
        "hedge_ratio": statistics.hedge_ratio,
        "zscore": statistics.zscore,
        "spread": statistics.spread,
        "spread_mean": statistics.spread_mean,
        "spread_std": statistics.spread_std,
    }
    z, pvalue = statistics.zscore, statistics.pvalue
    facts = f"z {z:+.2f}, p-value {pvalue:.3g}, hedge ratio {statistics.hedge_ratio:.4g}"
    if holding is not None:
        return _decide_held(statistics, holding, params, facts, evidence)
    if pvalue >= params.max_pvalue:
        return _hold(
            f"not cointegrated: {facts}, needs a p-value below {params.max_pvalue:g}", statistics, evidence
        )
    if abs(z) <= params.entry_z:
        return _hold(f"spread inside ±{params.entry_z:g} standard deviations: {facts}", statistics, evidence)
    side_a = Side.SELL if z > 0 else Side.BUY
    if snapshot.atr_a is None or snapshot.atr_b is None:
        return _hold(f"no ATR yet for a leg's stop: {facts}", statistics, evidence)
    try:
        legs = (
            _leg(side_a, snapshot.close_a, snapshot.atr_a, params),
            _leg(side_a.opposite, snapshot.close_b, snapshot.atr_b, params),
        )
    except ValueError as exc:
        return _hold(f"entry skipped: {exc}", statistics, evidence)
    edge = (abs(z) - params.exit_z) * statistics.spread_std / (1 + abs(statistics.hedge_ratio))
    strength = 1 - pvalue / params.max_pvalue
    direction = "above" if z > 0 else "below"
    trade = "short A / long B" if side_a is Side.SELL else "long A / short B"
    return PairDecision(
        Action.ENTER_SHORT if side_a is Side.SELL else Action.ENTER_LONG,
        f"{trade}: spread {direction} its mean by more than {params.entry_z:g} standard deviations ({facts})",
        finite_values(evidence),
        legs=legs,
        hedge_ratio=statistics.hedge_ratio,
        zscore=z,
        pvalue=pvalue,
        confidence=BASE_CONFIDENCE + (MAX_CONFIDENCE - BASE_CONFIDENCE) * min(1.0, max(0.0, strength)),
        edge=edge,
    )


def _decide_held(
    statistics: CointegrationStatistics,
    holding: PairHolding,
    params: PairsParams,
    facts: str,
    evidence: dict[str, float | None],
) -> PairDecision:
    evidence = {**evidence, "bars_held": float(holding.bars_held)}
    z = statistics.zscore
    # A short spread (short A) was entered above +entry_z and is done once z is back under
    # +exit_z; a long spread the mirror image.
    reverted = z < params.exit_z if holding.side_a is Side.SELL else z > -params.exit_z
    if reverted:
        return _exit(
            f"spread back within {params.exit_z:g} standard deviations: {facts}", statistics, evidence
        )
    if statistics.pvalue > params.break_pvalue:
        return _exit(
            f"cointegration broke: {facts}, p-value above {params.break_pvalue:g}", statistics, evidence
        )
    if holding.bars_held >= params.max_holding_bars:
        return _exit(
            f"held {holding.bars_held} bars, the limit is {params.max_holding_bars}: {facts}",
            statistics,
            evidence,
        )
    return _hold(f"pair held {holding.bars_held} bars: {facts}", statistics, evidence)


def _leg(side: Side, close: float, atr: float, params: PairsParams) -> PairLeg:
    return PairLeg(side, close, atr, protective_stop(side, close, atr, params.stop_atr_multiple))


def _hold(
    reason: str,
    statistics: CointegrationStatistics | None = None,
    evidence: Mapping[str, float | None] | None = None,
) -> PairDecision:
    return _verdict(Action.HOLD, reason, statistics, evidence or {}, confidence=0.0)


def _exit(
    reason: str, statistics: CointegrationStatistics, evidence: Mapping[str, float | None]
) -> PairDecision:
    """An exit: the rule says the trade is over, so it is certain (confidence 1) and has no edge."""
    return _verdict(Action.EXIT, reason, statistics, evidence, confidence=1.0)


def _verdict(
    action: Action,
    reason: str,
    statistics: CointegrationStatistics | None,
    evidence: Mapping[str, float | None],
    confidence: float,
) -> PairDecision:
    return PairDecision(
        action,
        reason,
        finite_values(evidence),
        hedge_ratio=statistics.hedge_ratio if statistics is not None else None,
        zscore=statistics.zscore if statistics is not None else None,
        pvalue=statistics.pvalue if statistics is not None else None,
        confidence=confidence,
    )


def _log_closes(series: BarSeries) -> FloatArray:
    closes = float_array(series.close)
    with np.errstate(invalid="ignore", divide="ignore"):  # bad bars are masked by `usable_through`
        result: FloatArray = np.log(closes)
    return result


def _atr(series: BarSeries, params: PairsParams) -> FloatArray:
    result: FloatArray = talib.ATR(
        float_array(series.high),
        float_array(series.low),
        float_array(series.close),
        timeperiod=params.atr_period,
    )
    return result
