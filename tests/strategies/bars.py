"""Hand-made bar series for strategy and bot tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from domain.market import BarSeries
from tests.factories import T0

TIMEFRAME = 60


def series_from_closes(
    closes: Sequence[float],
    *,
    key: str = "sim-stocks:SPY",
    half_range: float = 0.5,
    start: float = T0.timestamp(),
    timeframe_seconds: int = TIMEFRAME,
) -> BarSeries:
    """Bars closing at `closes`, opening at the previous close, high and low `half_range` from the close.

    With `half_range` 0.5 a bar's true range is max(1, |close - previous close| + 0.5).
    """
    close = np.asarray(closes, dtype=np.float64)
    open_ = np.concatenate([close[:1], close[:-1]])
    return BarSeries(
        instrument_key=key,
        timeframe_seconds=timeframe_seconds,
        times=start + timeframe_seconds * np.arange(len(close), dtype=np.float64),
        open=open_,
        high=close + half_range,
        low=close - half_range,
        close=close,
        volume=np.full(len(close), 1000.0),
    )


def with_last_close(series: BarSeries, value: float) -> BarSeries:
    """The same bars with the last close (and its high and low) replaced by `value`."""
    close, high, low = series.close.copy(), series.high.copy(), series.low.copy()
    close[-1] = high[-1] = low[-1] = value
    return BarSeries(
        series.instrument_key,
        series.timeframe_seconds,
        series.times,
        series.open,
        high,
        low,
        close,
        series.volume,
    )


def random_walk(seed: int, length: int, *, start: float = 100.0, step: float = 0.01) -> list[float]:
    """Closes of a geometric random walk with `step` log-return volatility per bar."""
    rng = np.random.default_rng(seed)
    log_returns = rng.normal(0.0, step, length - 1)
    return list(start * np.exp(np.concatenate([[0.0], np.cumsum(log_returns)])))
