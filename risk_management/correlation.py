"""Return correlations between a candidate and the markets the book already holds (pure)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def log_returns(closes: np.ndarray) -> np.ndarray:
    """Bar-to-bar log returns; ValueError on a missing or non-positive close (no guessing)."""
    closes = np.asarray(closes, dtype=np.float64)
    if closes.ndim != 1:
        raise ValueError("closes must be one-dimensional")
    if not np.all(np.isfinite(closes)) or np.any(closes <= 0):
        raise ValueError("closes must be finite and positive")
    return np.diff(np.log(closes))


def return_correlations(
    candidate_closes: np.ndarray, held_closes: Mapping[str, np.ndarray], window: int
) -> dict[str, float]:
    """Pearson correlation of the last `window` returns of the candidate with each held market.

    The series are aligned at their ends (the callers pass bars that end at the same time). A
    market with fewer than `window` returns, a flat series or a bad price is left out: with no
    evidence of correlation the limit does not count it (documented, not guessed).
    """
    if window < 3:
        raise ValueError(f"window must be at least 3 returns, got {window}")
    candidate = log_returns(candidate_closes)
    if len(candidate) < window:
        return {}
    candidate = candidate[-window:]
    if np.std(candidate) == 0:
        return {}
    out: dict[str, float] = {}
    for key, closes in held_closes.items():
        try:
            returns = log_returns(closes)
        except ValueError:
            continue  # a bad price in that market's window: no evidence either way
        if len(returns) < window:
            continue
        returns = returns[-window:]
        if np.std(returns) == 0:
            continue
        out[key] = float(np.corrcoef(candidate, returns)[0, 1])
    return out


def correlated_exposure(
    candidate_sign: int,
    exposures: Mapping[str, tuple[int, float]],
    correlations: Mapping[str, float],
    threshold: float,
) -> float:
    """Notional (USD) of held positions that move with the candidate beyond `threshold`.

    `exposures` maps a market to (sign of the position, notional). The effective correlation is
    the return correlation times both signs: a long candidate and a long held market correlated
    at +0.9 concentrate risk; the same candidate against a held short is a hedge and does not count.
    """
    total = 0.0
    for key, (sign, notional) in exposures.items():
        rho = correlations.get(key)
        if rho is not None and rho * sign * candidate_sign > threshold:
            total += notional
    return total
