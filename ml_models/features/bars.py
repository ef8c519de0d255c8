"""Bars as the feature pipeline reads them: validated float64 arrays from a BarSeries or a frame."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from domain.market import BarSeries

FloatArray = npt.NDArray[np.float64]

OHLCV_COLUMNS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True, slots=True, eq=False)
class OhlcvArrays:
    """Parallel float64 arrays, oldest bar first; `times` are epoch seconds (UTC) of each bar's open."""

    times: FloatArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __len__(self) -> int:
        return len(self.times)


def ohlcv_arrays(bars: BarSeries | pd.DataFrame) -> OhlcvArrays:
    """The bars as validated arrays; raises ValueError naming the first problem found.

    A frame needs a timezone-aware DatetimeIndex (bar open times) and the columns
    open, high, low, close, volume (any case). Prices must be finite and positive,
    volumes finite and non-negative, times strictly increasing.
    """
    if isinstance(bars, BarSeries):
        arrays = OhlcvArrays(*(_float(getattr(bars, name)) for name in ("times", *OHLCV_COLUMNS)))
    elif isinstance(bars, pd.DataFrame):
        arrays = _from_frame(bars)
    else:
        raise ValueError(f"bars must be a BarSeries or a pandas DataFrame, got {type(bars).__name__}")
    _validate(arrays)
    return arrays


def _float(values: npt.ArrayLike) -> FloatArray:
    # TA-Lib wants contiguous float64; a copy also protects the caller's shared arrays.
    return np.array(values, dtype=np.float64, copy=True, order="C")


def _from_frame(frame: pd.DataFrame) -> OhlcvArrays:
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex):
        raise ValueError(f"bar frame needs a DatetimeIndex of bar open times, got {type(index).__name__}")
    if index.tz is None:
        raise ValueError("bar frame index is timezone-naive; localise it (e.g. tz_localize('UTC')) first")
    by_lower = {str(column).lower(): column for column in frame.columns}
    missing = [name for name in OHLCV_COLUMNS if name not in by_lower]
    if missing:
        raise ValueError(f"bar frame lacks column(s) {', '.join(missing)}; has {list(frame.columns)}")
    utc = index.tz_convert("UTC").tz_localize(None)
    seconds = (utc - pd.Timestamp(0)) / pd.Timedelta(seconds=1)
    return OhlcvArrays(
        _float(np.asarray(seconds, dtype=np.float64)),
        *(_float(frame[by_lower[name]].to_numpy(dtype=np.float64)) for name in OHLCV_COLUMNS),
    )


def _validate(arrays: OhlcvArrays) -> None:
    if len(arrays) == 0:
        raise ValueError("no bars: the feature pipeline needs at least one bar")
    n = len(arrays)
    for name in ("times", *OHLCV_COLUMNS):
        values: FloatArray = getattr(arrays, name)
        if len(values) != n:
            raise ValueError(f"column {name} has {len(values)} values for {n} bars")
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise ValueError(f"column {name} has a missing or non-finite value at bar {bad[0]}")
    for name in ("open", "high", "low", "close"):
        bad = np.flatnonzero(getattr(arrays, name) <= 0)
        if bad.size:
            raise ValueError(f"column {name} has a non-positive price at bar {bad[0]}")
    bad = np.flatnonzero(arrays.volume < 0)
    if bad.size:
        raise ValueError(f"column volume is negative at bar {bad[0]}")
    bad = np.flatnonzero(np.diff(arrays.times) <= 0)
    if bad.size:
        raise ValueError(f"bar times must be strictly increasing; bar {bad[0] + 1} is not after bar {bad[0]}")
