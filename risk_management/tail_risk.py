"""Value at Risk and expected shortfall (CVaR) of a P&L or return sample, and the book's CVaR budget.

Sign convention: inputs are P&L (or returns) with gains positive; outputs are
losses, positive numbers. At confidence c (e.g. 0.95), with α = 1 − c:

- VaR_c = −q_α(X), the loss exceeded with probability α;
- CVaR_c = −E[X | X ≤ q_α(X)] = −(1/α)∫_0^α q_u(X) du, the average loss over the worst α of outcomes.

CVaR ≥ VaR always. Neither is clipped at zero: a negative VaR says that even the
α-tail is a gain.
"""

from __future__ import annotations

import math
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from scipy import integrate, optimize, stats

FloatArray = npt.NDArray[np.float64]


class TailMethod(StrEnum):
    HISTORICAL = "historical"
    NORMAL = "normal"
    CORNISH_FISHER = "cornish_fisher"


# --- historical -------------------------------------------------------------------------------------------


def historical_var(pnl: npt.ArrayLike, confidence: float) -> float:
    """Empirical VaR: minus the ⌈nα⌉-th worst outcome, no interpolation.

    This is the inverse of the empirical CDF (Hyndman–Fan type 1, numpy's
    `quantile(method="inverted_cdf")`): with 100 days at 95 %, the 5th worst day.
    """
    sample = finite_sample("pnl", pnl)
    tail = _tail_probability(confidence)
    rank = max(1, math.ceil(round(sample.size * tail, 9)))  # round: 100 × 0.05 is 5.000000000000004
    return -float(np.partition(sample, rank - 1)[rank - 1])


def historical_cvar(pnl: npt.ArrayLike, confidence: float) -> float:
    """Empirical CVaR: minus the mean of the worst nα outcomes, the boundary one weighted by its fraction.

    It is the expected shortfall of the sample's own distribution (Acerbi &
    Tasche 2002), so it is coherent (convex in the position) and equals the plain
    mean of the k worst outcomes when nα = k is whole: 100 days at 95 % → the mean
    of the 5 worst days.
    """
    sample = np.sort(finite_sample("pnl", pnl))
    tail_count = sample.size * _tail_probability(confidence)
    if tail_count <= 1.0:
        return -float(sample[0])
    whole = math.floor(tail_count)  # < n, since α < 1
    tail_sum = sample[:whole].sum() + (tail_count - whole) * sample[whole]
    return -float(tail_sum / tail_count)


# --- parametric normal ------------------------------------------------------------------------------------


def normal_var(mean: float, std: float, confidence: float) -> float:
    """VaR of N(μ, σ²): −(μ + σ z_α) with z_α = Φ⁻¹(α) (so σ·1.645 − μ at 95 %)."""
    _check_moments(mean, std)
    return -(mean + std * float(stats.norm.ppf(_tail_probability(confidence))))


def normal_cvar(mean: float, std: float, confidence: float) -> float:
    """CVaR of N(μ, σ²): σ φ(z_α) / α − μ, the closed form of the tail mean."""
    _check_moments(mean, std)
    tail = _tail_probability(confidence)
    return std * float(stats.norm.pdf(stats.norm.ppf(tail))) / tail - mean


# --- Cornish-Fisher ---------------------------------------------------------------------------------------


def cornish_fisher_quantile(z: float, skew: float, excess_kurtosis: float) -> float:
    """Cornish-Fisher expansion of a standard normal quantile z for skew S and excess kurtosis K.

    z_cf = z + (z² − 1)S/6 + (z³ − 3z)K/24 − (2z³ − 5z)S²/36.
    """
    return (
        z
        + (z**2 - 1.0) * skew / 6.0
        + (z**3 - 3.0 * z) * excess_kurtosis / 24.0
        - (2.0 * z**3 - 5.0 * z) * skew**2 / 36.0
    )


def cornish_fisher_is_monotone(skew: float, excess_kurtosis: float) -> bool:
    """Whether z ↦ z_cf is increasing on the whole line (Maillard 2012's domain of validity).

    dz_cf/dz = (K/8 − S²/6) z² + (S/3) z + (1 − K/8 + 5S²/36); it is never
    negative iff the leading coefficient is positive and the discriminant is not.
    Outside this domain the expansion is not a quantile function and its VaR and
    CVaR should not be trusted for large |S| or K.
    """
    a = excess_kurtosis / 8.0 - skew**2 / 6.0
    b = skew / 3.0
    c = 1.0 - excess_kurtosis / 8.0 + 5.0 * skew**2 / 36.0
    if a == 0.0:
        return b == 0.0 and c > 0.0
    return a > 0.0 and b * b - 4.0 * a * c <= 0.0


def cornish_fisher_var(
    mean: float, std: float, skew: float, excess_kurtosis: float, confidence: float
) -> float:
    """Modified VaR (Favre & Galeano 2002): −(μ + σ z_cf(z_α)). With S = K = 0 it is the normal VaR."""
    _check_moments(mean, std)
    _check_shape(skew, excess_kurtosis)
    z = float(stats.norm.ppf(_tail_probability(confidence)))
    return -(mean + std * cornish_fisher_quantile(z, skew, excess_kurtosis))


def cornish_fisher_cvar(
    mean: float, std: float, skew: float, excess_kurtosis: float, confidence: float
) -> float:
    """CVaR from the Cornish-Fisher quantile function: −(μ + (σ/α)∫_0^α z_cf(Φ⁻¹(u)) du).

    The integral is taken with `scipy.integrate.quad` after the change of
    variable u = Φ(z), i.e. ∫_{−∞}^{z_α} z_cf(z) φ(z) dz, which is smooth and
    has no singularity at u = 0. This treats the CF expansion as the quantile
    function of X, consistent with `cornish_fisher_var`; it is only meaningful
    where that expansion is monotone (see `cornish_fisher_is_monotone`).
    """
    _check_moments(mean, std)
    _check_shape(skew, excess_kurtosis)
    tail = _tail_probability(confidence)
    z_tail = float(stats.norm.ppf(tail))
    integral, _ = integrate.quad(
        lambda z: cornish_fisher_quantile(z, skew, excess_kurtosis) * float(stats.norm.pdf(z)),
        -math.inf,
        z_tail,
        epsabs=1e-13,
        epsrel=1e-12,
    )
    return -(mean + std * float(integral) / tail)


# --- one sample, one method -------------------------------------------------------------------------------


def sample_var(pnl: npt.ArrayLike, method: TailMethod | str, confidence: float) -> float:
    """VaR of a P&L sample by `method`; parametric ones use `sample_moments`."""
    chosen = TailMethod(method)
    if chosen is TailMethod.HISTORICAL:
        return historical_var(pnl, confidence)
    mean, std, skew, excess_kurtosis = sample_moments(pnl)
    if chosen is TailMethod.NORMAL:
        return normal_var(mean, std, confidence)
    return cornish_fisher_var(mean, std, skew, excess_kurtosis, confidence)


def sample_cvar(pnl: npt.ArrayLike, method: TailMethod | str, confidence: float) -> float:
    """CVaR of a P&L sample by `method`; parametric ones use `sample_moments`."""
    chosen = TailMethod(method)
    if chosen is TailMethod.HISTORICAL:
        return historical_cvar(pnl, confidence)
    mean, std, skew, excess_kurtosis = sample_moments(pnl)
    if chosen is TailMethod.NORMAL:
        return normal_cvar(mean, std, confidence)
    return cornish_fisher_cvar(mean, std, skew, excess_kurtosis, confidence)


def sample_moments(pnl: npt.ArrayLike) -> tuple[float, float, float, float]:
    """Mean, standard deviation (ddof=1), skew and excess kurtosis (both the plain, biased moment ratios).

    A constant sample has no shape: its skew and excess kurtosis are taken as 0.
    """
    sample = finite_sample("pnl", pnl)
    if sample.size < 2:
        raise ValueError(f"a parametric estimate needs at least 2 observations, got {sample.size}")
    mean = float(sample.mean())
    std = float(sample.std(ddof=1))
    if std == 0.0:
        return mean, 0.0, 0.0, 0.0
    return mean, std, float(stats.skew(sample)), float(stats.kurtosis(sample, fisher=True))


# --- the book ---------------------------------------------------------------------------------------------


def book_pnl_samples(exposures_usd: npt.ArrayLike, returns: npt.ArrayLike) -> FloatArray:
    """The book's P&L in each of T scenarios: returns (T×N) @ exposures (N,), signed USD (short < 0)."""
    exposures = np.asarray(exposures_usd, dtype=np.float64)
    scenarios = np.asarray(returns, dtype=np.float64)
    if exposures.ndim != 1:
        raise ValueError(f"exposures_usd must be one-dimensional, got shape {exposures.shape}")
    if scenarios.ndim != 2 or scenarios.shape[1] != exposures.size:
        raise ValueError(
            f"returns must be a T×{exposures.size} matrix to match the exposures, got shape {scenarios.shape}"
        )
    if not (np.all(np.isfinite(exposures)) and np.all(np.isfinite(scenarios))):
        raise ValueError("exposures_usd and returns must not contain NaN or infinite values")
    return scenarios @ exposures


def largest_scale_within_budget(
    book_pnl: npt.ArrayLike,
    candidate_pnl: npt.ArrayLike,
    budget: float,
    method: TailMethod | str = TailMethod.HISTORICAL,
    confidence: float = 0.95,
) -> float:
    """Largest s in [0, 1] with CVaR(book + s · candidate) ≤ budget, found by `scipy.optimize.brentq`.

    `candidate_pnl` is the candidate order's P&L in the same scenarios as
    `book_pnl` (same days, same order). Returns 1.0 when the whole order fits
    (even if the book alone is over budget: a hedge that brings it back in passes
    whole) and 0.0 when the book alone is over budget and the whole order does
    not bring it back.

    Monotonicity: between those cases, CVaR(book) ≤ budget < CVaR(book + candidate)
    and the root is unique because s ↦ CVaR(book + s · candidate) is convex, so
    the set where it fits is an interval starting at 0. That holds for the
    historical CVaR (coherent, hence convex) and the normal one (σ is convex in
    s, μ linear); for Cornish-Fisher, which is not coherent, it is assumed.
    """
    book = finite_sample("book_pnl", book_pnl)
    candidate = finite_sample("candidate_pnl", candidate_pnl)
    if book.shape != candidate.shape:
        raise ValueError(
            f"book_pnl and candidate_pnl must cover the same scenarios, got {book.size} and {candidate.size}"
        )
    if not math.isfinite(budget) or budget < 0.0:
        raise ValueError(f"budget must be a finite loss amount, zero or positive, got {budget}")
    chosen = TailMethod(method)

    def excess(scale: float) -> float:
        return sample_cvar(book + scale * candidate, chosen, confidence) - budget

    if excess(1.0) <= 0.0:
        return 1.0
    if excess(0.0) > 0.0:
        return 0.0
    return float(optimize.brentq(excess, 0.0, 1.0, xtol=1e-12))


# --- checks -----------------------------------------------------------------------------------------------


def _tail_probability(confidence: float) -> float:
    if not (math.isfinite(confidence) and 0.0 < confidence < 1.0):
        raise ValueError(f"confidence must lie strictly between 0 and 1 (e.g. 0.95), got {confidence}")
    return 1.0 - confidence


def finite_sample(name: str, values: npt.ArrayLike) -> FloatArray:
    """`values` as a non-empty 1-D float array of finite numbers; ValueError naming `name` otherwise."""
    sample = np.asarray(values, dtype=np.float64)
    if sample.ndim != 1 or sample.size == 0:
        raise ValueError(f"{name} must be a non-empty one-dimensional sample, got shape {sample.shape}")
    if not np.all(np.isfinite(sample)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return sample


def _check_moments(mean: float, std: float) -> None:
    if not (math.isfinite(mean) and math.isfinite(std)):
        raise ValueError(f"mean and std must be finite, got {mean} and {std}")
    if std < 0.0:
        raise ValueError(f"std must be zero or positive, got {std}")


def _check_shape(skew: float, excess_kurtosis: float) -> None:
    if not (math.isfinite(skew) and math.isfinite(excess_kurtosis)):
        raise ValueError(f"skew and excess kurtosis must be finite, got {skew} and {excess_kurtosis}")
