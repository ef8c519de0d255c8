"""Volatility from daily bars: realised estimators, EWMA, GARCH/GJR-GARCH, and an out-of-sample contest.

Everything here is pure over numpy arrays (or pandas objects converted to them); returns are log
returns in decimals (0.01 = 1 %), variances are per period unless a name says "annualised".

Sources of the formulas:
- Parkinson (1980), "The extreme value method for estimating the variance of the rate of return".
- Garman & Klass (1980), "On the estimation of security price volatilities from historical data"
  (the practical form 0.5 ln(H/L)^2 - (2 ln 2 - 1) ln(C/O)^2).
- Rogers & Satchell (1991), "Estimating variance from high, low and closing prices".
- Yang & Zhang (2000), "Drift-independent volatility estimation based on high, low, open, and
  close prices" (overnight + k open-to-close + (1 - k) Rogers-Satchell, k = 0.34 / (1.34 + (n+1)/(n-1))).
- RiskMetrics Technical Document (J.P. Morgan/Reuters 1996): EWMA with lambda 0.94 for daily data.
- Patton (2011), "Volatility forecast comparison using imperfect volatility proxies": QLIKE and MSE
  are the losses that rank forecasts consistently even with a noisy proxy such as the squared return.
GARCH(1,1) (Bollerslev 1986) and GJR-GARCH(1,1) (Glosten, Jagannathan & Runkle 1993) are fitted by `arch`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

import numpy as np
import pandas as pd
from arch import arch_model
from numpy.typing import ArrayLike, NDArray
from scipy.signal import lfilter
from tqdm import tqdm

TRADING_DAYS_PER_YEAR = 252
RISKMETRICS_DAILY_LAMBDA = 0.94
# arch's optimiser is tuned for returns of order 1: fitting percent returns (x100) and dividing
# variances by 100^2 afterwards avoids its convergence warnings on decimal daily returns.
_PERCENT = 100.0
_GARMAN_KLASS_CLOSE_WEIGHT = 2.0 * math.log(2.0) - 1.0

FloatArray = NDArray[np.float64]


class RealisedEstimator(StrEnum):
    CLOSE_TO_CLOSE = "close_to_close"
    PARKINSON = "parkinson"
    GARMAN_KLASS = "garman_klass"
    ROGERS_SATCHELL = "rogers_satchell"
    YANG_ZHANG = "yang_zhang"


def _float_array(values: ArrayLike, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


@dataclass(frozen=True, eq=False)
class OhlcBars:
    """Daily open/high/low/close prices, oldest first, checked for consistency."""

    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray

    def __post_init__(self) -> None:
        for name in ("open", "high", "low", "close"):
            object.__setattr__(self, name, _float_array(getattr(self, name), name))
        n = len(self.close)
        if any(len(getattr(self, name)) != n for name in ("open", "high", "low")):
            raise ValueError("open, high, low and close must have the same length")
        if n < 2:
            raise ValueError(f"need at least 2 bars, got {n}")
        prices = np.concatenate([self.open, self.high, self.low, self.close])
        if not np.all(np.isfinite(prices)) or np.any(prices <= 0):
            raise ValueError("prices must be finite and positive")
        bad = np.flatnonzero(
            (self.high < np.maximum(self.open, self.close)) | (self.low > np.minimum(self.open, self.close))
        )
        if bad.size:
            raise ValueError(f"bar {int(bad[0])}: high/low do not bracket open and close")

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> OhlcBars:
        """From a DataFrame with columns open, high, low, close (any case)."""
        columns = {str(c).lower(): c for c in frame.columns}
        missing = [c for c in ("open", "high", "low", "close") if c not in columns]
        if missing:
            raise ValueError(f"frame lacks columns {missing}")
        return cls(*(frame[columns[c]].to_numpy(dtype=np.float64) for c in ("open", "high", "low", "close")))

    def __len__(self) -> int:
        return len(self.close)


def log_returns(close: ArrayLike) -> FloatArray:
    """ln(C_t / C_{t-1}); one shorter than `close`."""
    prices = _float_array(close, "close")
    if np.any(prices <= 0):
        raise ValueError("prices must be positive")
    return np.diff(np.log(prices))


# ------------------------------------------------------------------------------ realised estimators
def daily_variances(bars: OhlcBars, estimator: RealisedEstimator) -> FloatArray:
    """Each day's own variance estimate (not annualised), e.g. as a realised proxy for forecasts.

    Close-to-close gives r_t^2 with NaN for day 0 (it has no previous close). Yang-Zhang is a
    combination of sample variances over a window, so it has no single-day form.
    """
    log_hl = np.log(bars.high / bars.low)
    log_co = np.log(bars.close / bars.open)
    if estimator is RealisedEstimator.CLOSE_TO_CLOSE:
        return np.concatenate([[np.nan], log_returns(bars.close) ** 2])
    if estimator is RealisedEstimator.PARKINSON:
        return log_hl**2 / (4.0 * math.log(2.0))
    if estimator is RealisedEstimator.GARMAN_KLASS:
        return 0.5 * log_hl**2 - _GARMAN_KLASS_CLOSE_WEIGHT * log_co**2
    if estimator is RealisedEstimator.ROGERS_SATCHELL:
        high, low = np.log(bars.high), np.log(bars.low)
        open_, close = np.log(bars.open), np.log(bars.close)
        terms: FloatArray = (high - close) * (high - open_) + (low - close) * (low - open_)
        return terms
    raise ValueError(f"{estimator} has no single-day variance")


def yang_zhang_k(periods: int) -> float:
    """Yang-Zhang's weight on the open-to-close variance, minimising the estimator's variance."""
    if periods < 2:
        raise ValueError(f"Yang-Zhang needs at least 2 periods, got {periods}")
    return 0.34 / (1.34 + (periods + 1) / (periods - 1))


def realised_volatility(
    bars: OhlcBars,
    estimator: RealisedEstimator,
    periods_per_year: float = TRADING_DAYS_PER_YEAR,
) -> float:
    """Annualised volatility over all of `bars`.

    Close-to-close and Yang-Zhang use days 1..N-1 (day 0 only supplies its close); they are
    sample variances (ddof 1). The range estimators average their daily terms over all N days.
    """
    if periods_per_year <= 0:
        raise ValueError(f"periods_per_year must be positive, got {periods_per_year}")
    if estimator is RealisedEstimator.CLOSE_TO_CLOSE:
        variance = float(np.var(log_returns(bars.close), ddof=1))
    elif estimator is RealisedEstimator.YANG_ZHANG:
        overnight = np.log(bars.open[1:] / bars.close[:-1])
        open_to_close = np.log(bars.close[1:] / bars.open[1:])
        rogers_satchell = daily_variances(bars, RealisedEstimator.ROGERS_SATCHELL)[1:]
        k = yang_zhang_k(len(overnight))
        variance = float(
            np.var(overnight, ddof=1) + k * np.var(open_to_close, ddof=1) + (1 - k) * np.mean(rogers_satchell)
        )
    else:
        variance = float(np.mean(daily_variances(bars, estimator)))
    return math.sqrt(max(variance, 0.0) * periods_per_year)


def rolling_realised_volatility(
    bars: OhlcBars,
    estimator: RealisedEstimator,
    window: int,
    periods_per_year: float = TRADING_DAYS_PER_YEAR,
) -> FloatArray:
    """Annualised volatility over the `window` periods ending at each day; NaN until a window is full.

    Entry i equals `realised_volatility` of the bars that window covers (one extra leading bar for
    close-to-close and Yang-Zhang, whose periods start at the previous close).
    """
    if window < 2:
        raise ValueError(f"window must be at least 2, got {window}")
    if periods_per_year <= 0:
        raise ValueError(f"periods_per_year must be positive, got {periods_per_year}")
    if estimator is RealisedEstimator.CLOSE_TO_CLOSE:
        returns = pd.Series(np.concatenate([[np.nan], log_returns(bars.close)]))
        variance = returns.rolling(window).var(ddof=1).to_numpy()
    elif estimator is RealisedEstimator.YANG_ZHANG:
        overnight = pd.Series(np.concatenate([[np.nan], np.log(bars.open[1:] / bars.close[:-1])]))
        open_to_close = pd.Series(np.log(bars.close / bars.open))
        open_to_close.iloc[0] = np.nan
        rogers_satchell = pd.Series(daily_variances(bars, RealisedEstimator.ROGERS_SATCHELL))
        rogers_satchell.iloc[0] = np.nan
        k = yang_zhang_k(window)
        variance = (
            overnight.rolling(window).var(ddof=1)
            + k * open_to_close.rolling(window).var(ddof=1)
            + (1 - k) * rogers_satchell.rolling(window).mean()
        ).to_numpy()
    else:
        variance = pd.Series(daily_variances(bars, estimator)).rolling(window).mean().to_numpy()
    annualised: FloatArray = np.sqrt(np.clip(variance, 0.0, None) * periods_per_year)
    return annualised


# ------------------------------------------------------------------------------------------ EWMA
def ewma_variance(
    returns: ArrayLike,
    decay: float = RISKMETRICS_DAILY_LAMBDA,
    initial_variance: float | None = None,
) -> FloatArray:
    """RiskMetrics recursion s2_t = decay * s2_{t-1} + (1 - decay) * r_{t-1}^2.

    Entry t is the variance forecast for return t made with returns before t: entry 0 is
    `initial_variance` (default: the mean squared return of the sample, which looks ahead; pass a
    training sample's value for out-of-sample use) and the last entry (index n) is the one-step
    forecast for the next, unseen return.
    """
    r = _float_array(returns, "returns")
    if not 0.0 < decay < 1.0:
        raise ValueError(f"decay must be in (0, 1), got {decay}")
    if r.size == 0:
        raise ValueError("need at least one return")
    seed = float(np.mean(r**2)) if initial_variance is None else initial_variance
    if not seed >= 0.0:
        raise ValueError(f"initial_variance must be non-negative, got {initial_variance}")
    filtered, _ = lfilter([1.0 - decay], [1.0, -decay], r**2, zi=[decay * seed])
    return np.concatenate([[seed], np.asarray(filtered, dtype=np.float64)])


def ewma_forecast(
    returns: ArrayLike, decay: float = RISKMETRICS_DAILY_LAMBDA, initial_variance: float | None = None
) -> float:
    """The EWMA variance forecast for the return after the last one."""
    return float(ewma_variance(returns, decay, initial_variance)[-1])


# ---------------------------------------------------------------------------------------- GARCH
class GarchKind(StrEnum):
    GARCH = "garch"  # sigma2 = omega + alpha e^2 + beta sigma2
    GJR_GARCH = "gjr_garch"  # ... + gamma e^2 1[e < 0]: bad news raises volatility more


MeanModel = Literal["constant", "zero"]


@dataclass(frozen=True, slots=True)
class GarchFit:
    """A fitted (GJR-)GARCH(1,1) in decimal units (variances of decimal returns).

    `variance_forecasts[h - 1]` is arch's forecast of the variance h periods after the sample.
    `last_residual` and `last_variance` are the sample's final shock and conditional variance,
    from which the one-step forecast follows by the model's equation. `log_likelihood` is that of
    the decimal returns.
    """

    kind: GarchKind
    mu: float
    omega: float
    alpha: float
    gamma: float
    beta: float
    last_residual: float
    last_variance: float
    variance_forecasts: FloatArray = field(compare=False)
    log_likelihood: float


def _arch_model(percent_returns: FloatArray, kind: GarchKind, mean: MeanModel) -> object:
    return arch_model(
        percent_returns,
        mean="Constant" if mean == "constant" else "Zero",
        vol="GARCH",
        p=1,
        o=1 if kind is GarchKind.GJR_GARCH else 0,
        q=1,
        dist="normal",
        rescale=False,
    )


def fit_garch(
    returns: ArrayLike,
    kind: GarchKind = GarchKind.GARCH,
    horizon: int = 1,
    mean: MeanModel = "constant",
) -> GarchFit:
    """Fit by maximum likelihood with `arch` (normal errors) and forecast 1..horizon steps ahead."""
    r = _float_array(returns, "returns")
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1, got {horizon}")
    if r.size < 30 or not np.all(np.isfinite(r)):
        raise ValueError(f"need at least 30 finite returns to fit a GARCH, got {r.size}")
    model = _arch_model(r * _PERCENT, kind, mean)
    result = model.fit(disp="off", show_warning=False)  # type: ignore[attr-defined]
    params = result.params
    forecast = result.forecast(horizon=horizon, reindex=False).variance.to_numpy()[-1]
    squared = _PERCENT**2
    return GarchFit(
        kind=kind,
        mu=float(params.get("mu", 0.0)) / _PERCENT,
        omega=float(params["omega"]) / squared,
        alpha=float(params["alpha[1]"]),
        gamma=float(params.get("gamma[1]", 0.0)),
        beta=float(params["beta[1]"]),
        last_residual=float(np.asarray(result.resid)[-1]) / _PERCENT,
        last_variance=float(np.asarray(result.conditional_volatility)[-1] ** 2) / squared,
        variance_forecasts=np.asarray(forecast, dtype=np.float64) / squared,
        # density of r is 100x the density of 100 r: each observation adds ln 100
        log_likelihood=float(result.loglikelihood) + r.size * math.log(_PERCENT),
    )


# ------------------------------------------------------------------------- out-of-sample contest
class VolModel(StrEnum):
    CONSTANT = "constant"  # the training window's sample variance: the benchmark to beat
    EWMA = "ewma"
    GARCH = "garch"
    GJR_GARCH = "gjr_garch"


Window = Literal["rolling", "expanding"]


@dataclass(frozen=True, eq=False)
class ForecastComparison:
    """One-step-ahead variance forecasts over a test window and their average losses.

    `losses` is indexed by model name with columns "qlike" and "mse" (lower is better);
    `forecasts` has one column per model and `proxy`, indexed by the position of the return.
    """

    losses: pd.DataFrame
    forecasts: pd.DataFrame

    def best(self, loss: Literal["qlike", "mse"] = "qlike") -> str:
        return str(self.losses[loss].idxmin())


def qlike_loss(proxy: ArrayLike, forecast: ArrayLike) -> FloatArray:
    """ln(h) + proxy / h (Patton 2011); defined for a zero proxy, unlike the ratio form."""
    h = np.asarray(forecast, dtype=np.float64)
    if np.any(h <= 0):
        raise ValueError("variance forecasts must be positive for QLIKE")
    loss: FloatArray = np.log(h) + np.asarray(proxy, dtype=np.float64) / h
    return loss


def mse_loss(proxy: ArrayLike, forecast: ArrayLike) -> FloatArray:
    loss: FloatArray = (np.asarray(proxy, dtype=np.float64) - np.asarray(forecast, dtype=np.float64)) ** 2
    return loss


def _garch_block(
    r: FloatArray, start: int, stop: int, first: int, kind: GarchKind, mean: MeanModel
) -> FloatArray:
    """Fit on r[first:start], then filter with those parameters to forecast returns start..stop-1."""
    model = _arch_model(r[first:stop] * _PERCENT, kind, mean)
    result = model.fit(disp="off", show_warning=False, last_obs=start - first)  # type: ignore[attr-defined]
    # origin o forecasts return o + 1, using returns up to o only (the filter is causal)
    forecast = result.forecast(horizon=1, start=start - first - 1, reindex=False)
    variances: FloatArray = forecast.variance.to_numpy()[: stop - start, 0] / _PERCENT**2
    return variances


def compare_forecasts(
    returns: ArrayLike,
    test_size: int,
    models: Sequence[VolModel] = tuple(VolModel),
    refit_every: int = 20,
    window: Window = "rolling",
    proxy: ArrayLike | None = None,
    decay: float = RISKMETRICS_DAILY_LAMBDA,
    mean: MeanModel = "constant",
    progress: bool = False,
) -> ForecastComparison:
    """Score one-step-ahead variance forecasts of the last `test_size` returns.

    Models are refitted every `refit_every` days on the returns before the refit day (the last
    `len(returns) - test_size` of them for a rolling window, all of them for an expanding one);
    between refits GARCH keeps its parameters but still updates its variance with each new return,
    and EWMA updates daily by construction. The proxy for day t's variance defaults to r_t^2; pass
    an array aligned with `returns` (e.g. a range estimator's `daily_variances`) for a less noisy one.
    """
    r = _float_array(returns, "returns")
    n = r.size
    train_size = n - test_size
    if test_size < 1 or train_size < 30:
        raise ValueError(f"need test_size >= 1 and at least 30 training returns; got {test_size} of {n}")
    if refit_every < 1:
        raise ValueError(f"refit_every must be at least 1, got {refit_every}")
    if not models:
        raise ValueError("no models to compare")
    target = r**2 if proxy is None else _float_array(proxy, "proxy")
    if target.size != n:
        raise ValueError(f"proxy has {target.size} entries for {n} returns")

    forecasts = {model: np.empty(test_size) for model in models}
    if VolModel.EWMA in models:
        seed = float(np.mean(r[:train_size] ** 2))
        forecasts[VolModel.EWMA] = ewma_variance(r, decay, seed)[train_size:n]
    block_starts = range(train_size, n, refit_every)
    for start in tqdm(block_starts, desc="volatility refits", disable=not progress):
        stop = min(start + refit_every, n)
        first = start - train_size if window == "rolling" else 0
        span = slice(start - train_size, stop - train_size)
        if VolModel.CONSTANT in models:
            forecasts[VolModel.CONSTANT][span] = np.var(r[first:start], ddof=1)
        for model, kind in ((VolModel.GARCH, GarchKind.GARCH), (VolModel.GJR_GARCH, GarchKind.GJR_GARCH)):
            if model in models:
                forecasts[model][span] = _garch_block(r, start, stop, first, kind, mean)

    realised = target[train_size:]
    index = pd.RangeIndex(train_size, n, name="return")
    table = pd.DataFrame(
        {
            "qlike": [float(np.mean(qlike_loss(realised, forecasts[m]))) for m in models],
            "mse": [float(np.mean(mse_loss(realised, forecasts[m]))) for m in models],
        },
        index=pd.Index([str(m) for m in models], name="model"),
    )
    frame = pd.DataFrame({str(m): forecasts[m] for m in models}, index=index)
    frame["proxy"] = realised
    return ForecastComparison(losses=table, forecasts=frame)
