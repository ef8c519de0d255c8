"""Market regimes from a Gaussian hidden Markov model, filtered forward-only.

Pure computation: closes in, a fitted model or regime probabilities out; no I/O,
no clock reads.

Features, one row per bar t, each from closes up to and including t only:

- ``log_return``: log(close[t] / close[t-1]);
- ``log_volatility``: log of the sample standard deviation (ddof=1) of the last
  `volatility_window` log returns (the log makes a skewed quantity near-Gaussian);
- ``trend``: the mean of the last `trend_window` log returns (the slope of log price).

Bars before the first full window have no features (NaN rows). The features are
standardised with the mean and standard deviation of the FIT window only, stored
with the model and reused for every later series (never statistics of the series
being classified, which would leak its future into its past).

Labels: each state's return mean and return volatility are read off its Gaussian
emission (in per-bar log-return units). With no previous model, the highest mean
return is bull; of the other states the most volatile is bear, the rest sideways
(2 states: bull and bear). See `_ranked_labels` for why not simply lowest mean. With a previous model, the new
states are matched to the previous ones by a minimum-cost assignment (Hungarian)
on the distance between state means in the previous model's standardised feature
space, and inherit their labels: a refit that permutes the states, or drifts a
little, never renames them. States are stored in a canonical order (bull first,
bear last; after a refit, the previous model's order), so probability columns line
up across refits too.

Filtered probabilities: P(state at t | features up to t), the forward recursion in
log space over the model's start probabilities, transition matrix and Gaussian
log-densities. hmmlearn's ``predict_proba`` is the smoothed forward-backward
posterior P(state at t | the WHOLE series) and uses future bars: it must never
decide the regime at t.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from hmmlearn.hmm import GaussianHMM
from numpy.lib.stride_tricks import sliding_window_view
from scipy.optimize import linear_sum_assignment

from domain.regimes import Regime

FEATURE_NAMES = ("log_return", "log_volatility", "trend")
# Fewer standardised rows than this and a 3-state full-covariance fit (29 free parameters) is noise.
MIN_FIT_ROWS = 100
# Added to standardised-feature covariances after the fit so that a near-singular state stays usable.
COVARIANCE_FLOOR = 1e-6


class RegimeFitError(RuntimeError):
    """The HMM could not be fitted (did not converge, or produced unusable parameters).

    Callers keep the previous model.
    """


@dataclass(frozen=True, slots=True)
class FeatureWindows:
    """Look-back lengths of the engineered features, in bars."""

    volatility_window: int = 20
    trend_window: int = 20

    def __post_init__(self) -> None:
        if self.volatility_window < 2 or self.trend_window < 1:
            raise ValueError(
                f"feature windows too short: volatility {self.volatility_window} (needs >= 2), "
                f"trend {self.trend_window} (needs >= 1)"
            )

    @property
    def warmup_bars(self) -> int:
        """Bars before the first bar that has every feature (returns start at bar 1)."""
        return max(self.volatility_window, self.trend_window)


@dataclass(frozen=True, slots=True, eq=False)
class RegimeModel:
    """A fitted regime HMM as plain arrays, states in canonical order.

    `means` and `covariances` are in standardised feature space (`feature_mean`,
    `feature_std` of the fit window); `state_mean_return` and `state_volatility`
    are per-bar log-return units, what the labels were decided from.
    """

    windows: FeatureWindows
    feature_mean: np.ndarray  # (F,)
    feature_std: np.ndarray  # (F,)
    start_probabilities: np.ndarray  # (K,)
    transitions: np.ndarray  # (K, K), row = from
    means: np.ndarray  # (K, F)
    covariances: np.ndarray  # (K, F, F)
    state_regimes: tuple[Regime, ...]  # (K,)
    state_mean_return: np.ndarray  # (K,)
    state_volatility: np.ndarray  # (K,)
    log_likelihood: float
    iterations: int
    fit_bars: int

    @property
    def n_states(self) -> int:
        return len(self.state_regimes)


def _validated_closes(closes: np.ndarray | list[float], minimum: int, what: str) -> np.ndarray:
    values = np.asarray(closes, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"{what}: closes must be one-dimensional, got shape {values.shape}")
    if len(values) < minimum:
        raise ValueError(f"{what}: needs at least {minimum} closes, got {len(values)}")
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(
            f"{what}: closes contain {int(bad.sum())} missing or infinite values "
            f"(first at bar {int(np.argmax(bad))})"
        )
    if (values <= 0).any():
        first = int(np.argmax(values <= 0))
        raise ValueError(f"{what}: closes must be positive; bar {first} is {values[first]}")
    return values


def regime_features(
    closes: np.ndarray | list[float], windows: FeatureWindows = FeatureWindows()
) -> np.ndarray:
    """Raw features (T x 3, see FEATURE_NAMES); rows before `windows.warmup_bars` are NaN.

    Every row is computed from its own window only (no running sums), so a row is
    bit-for-bit the same whatever comes after it.
    """
    values = _validated_closes(closes, 2, "regime features")
    returns = np.diff(np.log(values))  # returns[i] is the return INTO bar i + 1
    count = len(values)
    features = np.full((count, len(FEATURE_NAMES)), np.nan)
    start = windows.warmup_bars
    if count <= start:
        return features
    features[1:, 0] = returns
    vol_windows = sliding_window_view(returns, windows.volatility_window)  # row j ends at return j + w - 1
    volatility = vol_windows.std(axis=1, ddof=1)
    with np.errstate(divide="ignore"):
        # A flat window has zero volatility: floor it rather than emit -inf.
        log_volatility = np.log(np.maximum(volatility, 1e-12))
    features[windows.volatility_window :, 1] = log_volatility
    trend_windows = sliding_window_view(returns, windows.trend_window)
    features[windows.trend_window :, 2] = trend_windows.mean(axis=1)
    features[:start] = np.nan
    return features


def standardised_features(model: RegimeModel, closes: np.ndarray | list[float]) -> np.ndarray:
    """Features scaled with the model's fit-window statistics (T x 3, NaN warm-up rows)."""
    scaled: np.ndarray = (regime_features(closes, model.windows) - model.feature_mean) / model.feature_std
    return scaled


def _state_return_stats(
    means: np.ndarray, covariances: np.ndarray, feature_mean: np.ndarray, feature_std: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    mean_return = means[:, 0] * feature_std[0] + feature_mean[0]
    volatility = np.sqrt(covariances[:, 0, 0]) * feature_std[0]
    return mean_return, volatility


def _ranked_labels(mean_return: np.ndarray, volatility: np.ndarray) -> tuple[list[int], list[Regime]]:
    """Canonical state order (bull, sideways..., bear) and labels.

    Bull is the highest mean return (lower volatility on ties); of the rest, bear is
    the most volatile. Not "lowest mean": on S&P 500 daily closes fitted on 2000-2007,
    the 3-state fit has a calm-ish state with a slightly lower mean than the crisis
    state (-0.023 % vs -0.009 % a day, volatility 0.94 % vs 1.63 %); lowest-mean
    labelling called the autumn-2008 crash sideways. Sell-offs come with high volatility.
    """
    states = list(range(len(mean_return)))
    bull = min(states, key=lambda k: (-mean_return[k], volatility[k]))
    rest = [k for k in states if k != bull]
    bear = max(rest, key=lambda k: (volatility[k], -mean_return[k]))
    sideways = sorted((k for k in rest if k != bear), key=lambda k: -mean_return[k])
    order = [bull, *sideways, bear]
    labels = [Regime.BULL] + [Regime.SIDEWAYS] * len(sideways) + [Regime.BEAR]
    return order, labels


def _matched_order(
    means: np.ndarray, feature_mean: np.ndarray, feature_std: np.ndarray, previous: RegimeModel
) -> list[int]:
    """order[i] = the new state that plays previous state i (minimum total distance)."""
    in_previous_space = (means * feature_std + feature_mean - previous.feature_mean) / previous.feature_std
    cost = np.linalg.norm(previous.means[:, None, :] - in_previous_space[None, :, :], axis=2)
    previous_states, new_states = linear_sum_assignment(cost)
    order = [0] * len(previous_states)
    for old, new in zip(previous_states, new_states, strict=True):
        order[int(old)] = int(new)
    return order


def fit_regime_model(
    closes: np.ndarray | list[float],
    *,
    n_states: int = 3,
    window: int = 1000,
    seed: int = 0,
    windows: FeatureWindows = FeatureWindows(),
    covariance_type: str = "full",
    max_iterations: int = 200,
    tolerance: float = 1e-4,
    previous: RegimeModel | None = None,
) -> RegimeModel:
    """Fit a Gaussian HMM on the last `window` closes (the rolling fit window).

    With `previous`, the new states take the labels (and order) of the previous
    model's states they are closest to. Raises ValueError on bad input and
    RegimeFitError when the fit does not converge within `max_iterations` or
    yields non-finite parameters; the caller should then keep `previous`.
    """
    if n_states not in (2, 3):
        raise ValueError(f"n_states must be 2 (bull/bear) or 3 (bull/sideways/bear), got {n_states}")
    if covariance_type not in ("full", "diag"):
        raise ValueError(f"covariance_type must be 'full' or 'diag', got {covariance_type!r}")
    if previous is not None and previous.n_states != n_states:
        raise ValueError(f"previous model has {previous.n_states} states, this fit asks for {n_states}")
    minimum = windows.warmup_bars + MIN_FIT_ROWS
    if window < minimum:
        raise ValueError(f"fit window of {window} bars is too short; needs at least {minimum}")
    values = _validated_closes(closes, minimum, "regime model fit")
    fit_closes = values[-window:]
    raw = regime_features(fit_closes, windows)[windows.warmup_bars :]
    feature_mean = raw.mean(axis=0)
    feature_std = raw.std(axis=0, ddof=1)
    if not np.all(feature_std > 0):
        raise ValueError("regime model fit: a feature is constant over the fit window (flat prices?)")
    scaled = (raw - feature_mean) / feature_std

    hmm = GaussianHMM(
        n_components=n_states,
        covariance_type=covariance_type,
        n_iter=max_iterations,
        tol=tolerance,
        random_state=seed,
    )
    try:
        hmm.fit(scaled)
    except (ValueError, np.linalg.LinAlgError) as error:
        raise RegimeFitError(f"HMM fit failed on {len(scaled)} bars: {error}") from error
    monitor = hmm.monitor_
    # monitor_.converged is also True when the fit merely ran out of iterations (hmmlearn 0.3.3).
    if not monitor.converged or monitor.iter >= max_iterations:
        raise RegimeFitError(
            f"HMM fit did not converge in {max_iterations} iterations on {len(scaled)} bars "
            f"(seed {seed}); keep the previous model"
        )
    start = np.asarray(hmm.startprob_, dtype=np.float64)
    transitions = np.asarray(hmm.transmat_, dtype=np.float64)
    means = np.asarray(hmm.means_, dtype=np.float64)
    covariances = np.asarray(hmm.covars_, dtype=np.float64) + COVARIANCE_FLOOR * np.eye(len(FEATURE_NAMES))
    if not all(np.all(np.isfinite(a)) for a in (start, transitions, means, covariances)):
        raise RegimeFitError("HMM fit produced non-finite parameters; keep the previous model")

    mean_return, volatility = _state_return_stats(means, covariances, feature_mean, feature_std)
    if previous is None:
        order, labels = _ranked_labels(mean_return, volatility)
    else:
        order = _matched_order(means, feature_mean, feature_std, previous)
        labels = list(previous.state_regimes)
    return RegimeModel(
        windows=windows,
        feature_mean=feature_mean,
        feature_std=feature_std,
        start_probabilities=start[order],
        transitions=transitions[np.ix_(order, order)],
        means=means[order],
        covariances=covariances[order],
        state_regimes=tuple(labels),
        state_mean_return=mean_return[order],
        state_volatility=volatility[order],
        log_likelihood=float(hmm.score(scaled)),
        iterations=int(monitor.iter),
        fit_bars=len(fit_closes),
    )


def fit_best_regime_model(
    closes: np.ndarray | list[float], *, seeds: Sequence[int] = (0, 1, 2, 3), **settings: Any
) -> RegimeModel:
    """`fit_regime_model` from each seed; the converged fit with the highest log-likelihood.

    EM finds a local optimum that depends on its start, and on a quiet market many starts
    never converge: several starts make a usable fit far more likely and the best of them
    the one kept. RegimeFitError only when no seed gives a model (naming each failure).
    """
    if not seeds:
        raise ValueError("fit_best_regime_model needs at least one seed")
    best: RegimeModel | None = None
    failures = []
    for seed in seeds:
        try:
            model = fit_regime_model(closes, seed=seed, **settings)
        except RegimeFitError as failure:
            failures.append(f"seed {seed}: {failure}")
            continue
        if best is None or model.log_likelihood > best.log_likelihood:
            best = model
    if best is None:
        raise RegimeFitError("; ".join(failures))
    return best


def emission_log_likelihoods(model: RegimeModel, features: np.ndarray) -> np.ndarray:
    """log N(features[t]; mean_k, cov_k) for every row t and state k (T x K).

    Through each covariance's Cholesky factor in plain NumPy: per new bar this is the
    live filter's main cost, and scipy's `multivariate_normal` spends ~100 us per state
    building a frozen distribution (the tests check the two agree).
    """
    rows = np.atleast_2d(features)
    dimension = rows.shape[1]
    result = np.empty((len(rows), model.n_states))
    for k in range(model.n_states):
        factor = np.linalg.cholesky(model.covariances[k])
        centred = np.linalg.solve(factor, (rows - model.means[k]).T)
        log_determinant = 2.0 * np.log(np.diag(factor)).sum()
        result[:, k] = -0.5 * ((centred**2).sum(axis=0) + log_determinant + dimension * math.log(2 * math.pi))
    return result


def filtered_probabilities(model: RegimeModel, closes: np.ndarray | list[float]) -> np.ndarray:
    """P(state at t | bars up to t) for every bar (T x K, columns in model state order).

    Warm-up bars (no features yet) are NaN rows; the recursion starts at the first
    featured bar from the model's start probabilities. Row t depends on closes[:t+1]
    only: running it on a series truncated after t gives the same row.
    """
    features = standardised_features(model, closes)
    count = len(features)
    probabilities = np.full((count, model.n_states), np.nan)
    first = model.windows.warmup_bars
    if count <= first:
        return probabilities
    for row, log_alpha in enumerate(_forward(model, None, features[first:])):
        probabilities[first + row] = np.exp(log_alpha)
    return probabilities


def advance_filter(
    model: RegimeModel, log_alpha: np.ndarray | None, closes: np.ndarray | list[float], new_bars: int
) -> np.ndarray:
    """The filter's log state after the last `new_bars` of `closes`, from `log_alpha` before them.

    `closes` must reach back far enough for those bars' features (`windows.warmup_bars`
    more); `log_alpha` None starts from the model's start probabilities. This is the
    live daemon's step: one bar costs one emission and one transition, and stepping
    bar by bar gives exactly `filtered_probabilities` of the whole series.
    """
    values = _validated_closes(closes, model.windows.warmup_bars + 1, "advance filter")
    if not 1 <= new_bars <= len(values) - model.windows.warmup_bars:
        raise ValueError(
            f"advance filter: {new_bars} new bars need {new_bars + model.windows.warmup_bars} closes, "
            f"got {len(values)}"
        )
    # each feature row depends on its own window only, so the closes those rows need suffice
    features = standardised_features(model, values[-(new_bars + model.windows.warmup_bars) :])[-new_bars:]
    *_, last = _forward(model, log_alpha, features)
    return last


def _forward(model: RegimeModel, log_alpha: np.ndarray | None, features: np.ndarray) -> Iterator[np.ndarray]:
    """Normalised log forward variables after each row of standardised `features`."""
    log_emissions = emission_log_likelihoods(model, features)
    with np.errstate(divide="ignore"):
        log_transitions = np.log(model.transitions)
        log_start = np.log(model.start_probabilities)
    for emission in log_emissions:
        if log_alpha is None:
            log_alpha = log_start + emission
        else:
            log_alpha = _log_sum_exp_over_rows(log_alpha[:, None] + log_transitions) + emission
        log_alpha = log_alpha - _log_sum_exp_over_rows(log_alpha[:, None])[0]
        yield log_alpha


def regime_probabilities(model: RegimeModel, log_alpha: np.ndarray) -> dict[Regime, float]:
    """Probability of each regime (states sharing a label summed) from the filter's log state."""
    return {regime: float(p) for regime, p in _probabilities_by_regime(model, np.exp(log_alpha)).items()}


def _log_sum_exp_over_rows(values: np.ndarray) -> np.ndarray:
    """log(sum(exp(values), axis=0)), stable; scipy's logsumexp costs ~20x more per call on 3x3."""
    peak = values.max(axis=0)
    finite_peak = np.where(np.isfinite(peak), peak, 0.0)
    with np.errstate(divide="ignore"):
        summed: np.ndarray = finite_peak + np.log(np.exp(values - finite_peak).sum(axis=0))
    return summed


def regimes_from_probabilities(model: RegimeModel, probabilities: np.ndarray) -> list[Regime | None]:
    """The regime with the highest summed probability at each bar; None on warm-up rows."""
    by_regime = _probabilities_by_regime(model, probabilities)
    regimes: list[Regime | None] = []
    names = list(by_regime)
    stacked = np.column_stack([by_regime[name] for name in names])
    for row in stacked:
        regimes.append(None if np.isnan(row).any() else names[int(np.argmax(row))])
    return regimes


def _probabilities_by_regime(model: RegimeModel, probabilities: np.ndarray) -> dict[Regime, np.ndarray]:
    by_regime: dict[Regime, np.ndarray] = {}
    for state, regime in enumerate(model.state_regimes):
        column = probabilities[..., state]
        by_regime[regime] = by_regime[regime] + column if regime in by_regime else column.copy()
    return by_regime


def current_regime(
    model: RegimeModel, closes: np.ndarray | list[float]
) -> tuple[Regime, float, dict[Regime, float]]:
    """The regime at the last close, its filtered probability, and the probability of each regime.

    Raises ValueError when the series is too short to have features at its last bar.
    """
    values = _validated_closes(closes, model.windows.warmup_bars + 1, "current regime")
    last = filtered_probabilities(model, values)[-1]
    by_regime = {regime: float(p) for regime, p in _probabilities_by_regime(model, last).items()}
    regime = max(by_regime, key=lambda r: by_regime[r])
    if not math.isfinite(by_regime[regime]):
        raise ValueError("current regime: filtered probabilities are not finite")
    return regime, by_regime[regime], by_regime
