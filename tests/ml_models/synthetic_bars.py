"""Synthetic bar series for training tests: one with a planted, learnable signal, and pure noise."""

from __future__ import annotations

import numpy as np

from domain.market import BarSeries
from ml_models.training.train import SplitSettings, XgbParams
from tests.strategies.bars import random_walk, series_from_closes

BARS = 1000
# 4 folds of 150 test rows after at least 300 training rows: ~960 labelled rows suffice.
SMALL_SPLIT = SplitSettings(n_folds=4, train_min=300, test_size=150, embargo=5)
SMALL_TREES = XgbParams(n_estimators=40, max_depth=2)


def momentum_closes(seed: int, length: int = BARS, *, persistence: float = 0.5) -> list[float]:
    """Closes whose log returns follow r[t] = persistence * r[t-1] + noise.

    The sign of the next return leans towards the sign of the last one, which the
    `ret_1` feature shows at bar t: a signal a model can learn and a baseline cannot.
    """
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, 0.01, length)
    returns = np.zeros(length)
    for t in range(1, length):
        returns[t] = persistence * returns[t - 1] + noise[t]
    return list(100.0 * np.exp(np.cumsum(returns)))


def planted_signal_bars(seed: int = 1) -> BarSeries:
    return series_from_closes(momentum_closes(seed))


def random_walk_bars(seed: int) -> BarSeries:
    return series_from_closes(random_walk(seed, BARS))
