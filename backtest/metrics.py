"""Performance metrics, computed one way everywhere (pure NumPy).

Series metrics take a per-period returns array or an equity array, 1-D, or 2-D with one
column per run (computed along axis 0: a 1-D input gives a float, a 2-D input an array
with one value per column). Trade metrics take the net P&L of each closed round trip.

Undefined cases return NaN, never raise and never invent a number: an empty input, a
Sharpe ratio over fewer than two periods or with zero deviation, a Sortino ratio with no
downside, a Calmar ratio without a drawdown, trade metrics without trades.

Definitions:

- Sharpe: mean(r - risk_free) / std(r, ddof=1) x sqrt(periods_per_year); `risk_free` is a
  rate per period, in the same units as the returns (W. F. Sharpe, "The Sharpe Ratio", 1994).
- Sortino: mean(r - target) / DD x sqrt(periods_per_year), with the downside deviation
  DD = sqrt(mean(min(r - target, 0)^2)) taken over ALL periods, not only the losing ones
  (F. Sortino and L. Price, "Performance Measurement in a Downside Risk Framework", 1994).
- Drawdown: (running peak - equity) / running peak, a positive fraction; max drawdown its maximum.
- CAGR: (last / first)^(periods_per_year / (n - 1)) - 1: n equity marks span n - 1 periods.
- Calmar: CAGR / max drawdown over the same equity (the whole run, not the usual trailing 36 months).
- Win rate: share of round trips with pnl > 0; profit factor: gross wins / gross losses
  (inf with wins and no loss, NaN with no trade or only break-even ones); expectancy: mean pnl.
- Exposure: share of bars holding a non-zero position.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Metric = float | FloatArray  # a float for a 1-D input, one value per column for a 2-D one

NAN = float("nan")


def _as_2d(values: npt.ArrayLike, name: str) -> tuple[FloatArray, bool]:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1:
        return array[:, np.newaxis], True
    if array.ndim == 2:
        return array, False
    raise ValueError(f"{name} must be 1-D or 2-D (one column per run), got {array.ndim} dimensions")


def _shaped(per_column: FloatArray, one_dimensional: bool) -> Metric:
    return float(per_column[0]) if one_dimensional else per_column


def _divide(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    """numerator / denominator, NaN where the denominator is zero or NaN."""
    safe = np.where(denominator == 0, np.nan, denominator)
    with np.errstate(invalid="ignore", divide="ignore"):
        result: FloatArray = numerator / safe
    return result


def sharpe(returns: npt.ArrayLike, periods_per_year: float, risk_free: float = 0.0) -> Metric:
    """Annualised Sharpe ratio of per-period returns; NaN under 2 periods or with zero deviation."""
    values, one_d = _as_2d(returns, "returns")
    if len(values) < 2:
        return _shaped(np.full(values.shape[1], NAN), one_d)
    excess = values - risk_free
    std = values.std(axis=0, ddof=1)
    # A constant series can show a deviation of a few ulps; that is no deviation.
    std = np.where(std <= 1e-14 * np.abs(values).max(axis=0), 0.0, std)
    return _shaped(_divide(excess.mean(axis=0), std) * math.sqrt(periods_per_year), one_d)


def sortino(returns: npt.ArrayLike, periods_per_year: float, target: float = 0.0) -> Metric:
    """Annualised Sortino ratio; downside deviation over all periods; NaN when empty or no downside."""
    values, one_d = _as_2d(returns, "returns")
    if len(values) == 0:
        return _shaped(np.full(values.shape[1], NAN), one_d)
    excess = values - target
    downside = np.sqrt(np.mean(np.minimum(excess, 0.0) ** 2, axis=0))
    return _shaped(_divide(excess.mean(axis=0), downside) * math.sqrt(periods_per_year), one_d)


def drawdown_series(equity: npt.ArrayLike) -> FloatArray:
    """Each mark's fall below the running peak as a fraction of it (0 at a new high; NaN if the peak <= 0)."""
    values = np.asarray(equity, dtype=np.float64)
    if values.ndim not in (1, 2):
        raise ValueError(f"equity must be 1-D or 2-D, got {values.ndim} dimensions")
    peak = np.maximum.accumulate(values, axis=0) if len(values) else values
    positive_peak = np.where(peak > 0, peak, np.nan)
    result: FloatArray = (positive_peak - values) / positive_peak
    return result


def max_drawdown(equity: npt.ArrayLike) -> Metric:
    """The largest drawdown as a positive fraction of the running peak; NaN when empty."""
    values, one_d = _as_2d(equity, "equity")
    if len(values) == 0:
        return _shaped(np.full(values.shape[1], NAN), one_d)
    return _shaped(drawdown_series(values).max(axis=0), one_d)


def cagr(equity: npt.ArrayLike, periods_per_year: float) -> Metric:
    """Compound annual growth from the first mark to the last; NaN under 2 marks or a non-positive start."""
    values, one_d = _as_2d(equity, "equity")
    if len(values) < 2:
        return _shaped(np.full(values.shape[1], NAN), one_d)
    first, last = values[0], values[-1]
    ratio = np.where((first > 0) & (last >= 0), last / np.where(first > 0, first, 1.0), np.nan)
    years = (len(values) - 1) / periods_per_year
    return _shaped(ratio ** (1.0 / years) - 1.0, one_d)


def calmar(equity: npt.ArrayLike, periods_per_year: float) -> Metric:
    """CAGR over max drawdown of the same marks; NaN without a drawdown."""
    values, one_d = _as_2d(equity, "equity")
    growth = np.atleast_1d(np.asarray(cagr(values, periods_per_year), dtype=np.float64))
    deepest = np.atleast_1d(np.asarray(max_drawdown(values), dtype=np.float64))
    return _shaped(_divide(growth, deepest), one_d)


def exposure(positions: npt.ArrayLike) -> Metric:
    """Share of bars with a non-zero position; NaN when empty."""
    values, one_d = _as_2d(positions, "positions")
    if len(values) == 0:
        return _shaped(np.full(values.shape[1], NAN), one_d)
    return _shaped(np.mean(values != 0, axis=0).astype(np.float64), one_d)


def _pnls(trade_pnls: npt.ArrayLike) -> FloatArray:
    values = np.asarray(trade_pnls, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"trade pnls must be 1-D, got {values.ndim} dimensions")
    return values


def win_rate(trade_pnls: npt.ArrayLike) -> float:
    """Share of round trips with a positive net pnl; NaN without trades."""
    values = _pnls(trade_pnls)
    return float(np.mean(values > 0)) if len(values) else NAN


def profit_factor(trade_pnls: npt.ArrayLike) -> float:
    """Gross wins / gross losses: inf with wins and no loss, NaN with no trade or nothing won or lost."""
    values = _pnls(trade_pnls)
    wins = float(values[values > 0].sum())
    losses = float(-values[values < 0].sum())
    if losses == 0:
        return math.inf if wins > 0 else NAN
    return wins / losses


def expectancy(trade_pnls: npt.ArrayLike) -> float:
    """Mean net pnl per round trip; NaN without trades."""
    values = _pnls(trade_pnls)
    return float(values.mean()) if len(values) else NAN


@dataclass(frozen=True, slots=True)
class PerformanceSummary:
    """One run's figures; NaN marks a figure the run cannot define (see the module docstring)."""

    periods: int
    total_return: float
    cagr: float
    sharpe: float
    sortino: float
    max_drawdown: float
    calmar: float
    exposure: float
    trades: int
    win_rate: float
    profit_factor: float
    expectancy: float

    def __post_init__(self) -> None:
        if self.periods < 0 or self.trades < 0:
            raise ValueError(f"periods and trades must not be negative, got {self.periods}, {self.trades}")
        if not (math.isnan(self.max_drawdown) or self.max_drawdown >= 0):
            raise ValueError(f"max_drawdown is a positive fraction, got {self.max_drawdown}")


def summarize(
    equity: npt.ArrayLike,
    positions: npt.ArrayLike,
    trade_pnls: npt.ArrayLike,
    periods_per_year: float,
    initial_equity: float | None = None,
) -> PerformanceSummary:
    """The summary of one run: `equity` marked each period (1-D), `positions` held each period,
    `trade_pnls` of its closed round trips. With `initial_equity` the marks start from it, so
    the first period's return counts."""
    marks = np.asarray(equity, dtype=np.float64)
    if marks.ndim != 1:
        raise ValueError(f"summarize takes one run: equity must be 1-D, got {marks.ndim} dimensions")
    if initial_equity is not None:
        marks = np.concatenate(([initial_equity], marks))
    pnls = _pnls(trade_pnls)
    with np.errstate(invalid="ignore", divide="ignore"):
        returns = marks[1:] / marks[:-1] - 1.0
        total = float(marks[-1] / marks[0] - 1.0) if len(marks) and marks[0] > 0 else NAN
    return PerformanceSummary(
        periods=len(returns),
        total_return=total,
        cagr=float(cagr(marks, periods_per_year)),
        sharpe=float(sharpe(returns, periods_per_year)),
        sortino=float(sortino(returns, periods_per_year)),
        max_drawdown=float(max_drawdown(marks)),
        calmar=float(calmar(marks, periods_per_year)),
        exposure=float(exposure(positions)),
        trades=len(pnls),
        win_rate=win_rate(pnls),
        profit_factor=profit_factor(pnls),
        expectancy=expectancy(pnls),
    )
