"""Correlated exposure, checked against numpy/scipy on constructed series."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from risk_management.correlation import correlated_exposure, log_returns, return_correlations


def closes_from(returns: np.ndarray, start: float = 100.0) -> np.ndarray:
    return start * np.exp(np.concatenate([[0.0], np.cumsum(returns)]))


def test_correlations_match_scipy_pearson_on_the_window() -> None:
    rng = np.random.default_rng(3)
    base = rng.normal(0, 0.01, 300)
    twin = 0.9 * base + 0.1 * rng.normal(0, 0.01, 300)
    unrelated = rng.normal(0, 0.01, 300)
    found = return_correlations(
        closes_from(base), {"twin": closes_from(twin), "other": closes_from(unrelated)}, window=120
    )
    assert found["twin"] == pytest.approx(stats.pearsonr(base[-120:], twin[-120:]).statistic, abs=1e-12)
    assert found["other"] == pytest.approx(stats.pearsonr(base[-120:], unrelated[-120:]).statistic, abs=1e-12)
    assert found["twin"] > 0.9 > abs(found["other"])


def test_short_or_flat_histories_are_left_out_rather_than_guessed() -> None:
    rng = np.random.default_rng(4)
    candidate = closes_from(rng.normal(0, 0.01, 200))
    found = return_correlations(
        candidate, {"short": closes_from(rng.normal(0, 0.01, 10)), "flat": np.full(200, 50.0)}, window=120
    )
    assert found == {}


def test_bad_prices_are_refused() -> None:
    with pytest.raises(ValueError, match="finite and positive"):
        log_returns(np.array([100.0, np.nan, 101.0]))
    with pytest.raises(ValueError, match="finite and positive"):
        log_returns(np.array([100.0, 0.0, 101.0]))


def test_only_positions_moving_with_the_candidate_count() -> None:
    exposures = {"QQQ": (1, 3000.0), "XLE": (-1, 2000.0), "EUR": (1, 1000.0)}
    correlations = {"QQQ": 0.92, "XLE": 0.85, "EUR": 0.1}
    # long candidate: QQQ long +0.92 counts; XLE is held short, so +0.85 is a hedge (-0.85); EUR too weak
    assert correlated_exposure(+1, exposures, correlations, threshold=0.7) == 3000.0
    # short candidate: now the short XLE moves with it
    assert correlated_exposure(-1, exposures, correlations, threshold=0.7) == 2000.0
