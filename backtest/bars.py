"""Bars for a backtest: CSV and Parquet loaders, and the checks a run makes before it starts.

Loaded bars are a DataFrame with a UTC DatetimeIndex of bar open times named `time` and
float columns open, high, low, close, volume: the frame `ml_models.data` serves for the
simulated world and the shipped data sets, so a run takes bars from any of the three.

`check_bars` reports everything it finds; `require_runnable_bars` refuses a frame with
duplicate times, an unsorted index or bad prices (gaps are reported, never fatal: a
market closes at night and over weekends).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ml_models.data import BarDataError
from ml_models.features.bars import OHLCV_COLUMNS

TIME_COLUMNS = ("time", "timestamp", "datetime", "date", "open_time")
SHOWN_TIMES = 5  # offending timestamps quoted in a report or an error


@dataclass(frozen=True, slots=True)
class BarCheck:
    """What `check_bars` found. Counts, and the first offending timestamps of each kind."""

    bars: int
    expected_period: pd.Timedelta | None  # given, or the median step; None under 2 bars
    duplicates: int
    duplicate_times: tuple[pd.Timestamp, ...]
    unsorted: int  # steps that go back in time
    unsorted_times: tuple[pd.Timestamp, ...]
    gaps: int  # steps longer than the expected period
    largest_gap: pd.Timedelta | None
    gap_times: tuple[pd.Timestamp, ...]  # the bar after each gap
    bad_prices: int  # bars with a NaN or non-positive price, or high/low not around open/close
    bad_price_times: tuple[pd.Timestamp, ...]

    def __post_init__(self) -> None:
        counts = (self.bars, self.duplicates, self.unsorted, self.gaps, self.bad_prices)
        if any(count < 0 for count in counts):
            raise ValueError(f"bar check counts must not be negative, got {counts}")

    @property
    def runnable(self) -> bool:
        """A run may use these bars: no duplicates, sorted, every price sound (gaps allowed)."""
        return self.bars > 0 and not (self.duplicates or self.unsorted or self.bad_prices)

    def problems(self) -> list[str]:
        """One sentence per fatal finding, quoting the first offending times."""
        found = []
        if self.bars == 0:
            found.append("no bars")
        if self.duplicates:
            found.append(f"{self.duplicates} duplicate timestamp(s), first {_times(self.duplicate_times)}")
        if self.unsorted:
            found.append(f"{self.unsorted} step(s) back in time, first at {_times(self.unsorted_times)}")
        if self.bad_prices:
            found.append(
                f"{self.bad_prices} bar(s) with a missing or non-positive price or high/low outside "
                f"open/close, first {_times(self.bad_price_times)}"
            )
        return found

    def gap_note(self) -> str | None:
        """A sentence on the gaps, or None when there are none."""
        if not self.gaps:
            return None
        return (
            f"{self.gaps} gap(s) longer than {self.expected_period}, largest {self.largest_gap}, "
            f"first after {_times(self.gap_times)}"
        )


def check_bars(frame: pd.DataFrame, expected_period: pd.Timedelta | None = None) -> BarCheck:
    """Duplicates, order, gaps and bad prices of a loaded bar frame (see `load_bars_file`).

    The expected period, when not given, is the median step between distinct sorted times. On
    daily bars a weekend is not a gap (stock data has none); a missing weekday is, holidays
    included, since no calendar says which days a market was shut.
    """
    index = _utc_index(frame, "bar frame")
    columns = _ohlcv_columns(frame, "bar frame")
    nanoseconds = index.as_unit("ns").asi8  # UTC epoch nanoseconds, whatever unit the index keeps
    duplicated = index.duplicated(keep="first")
    backwards = np.flatnonzero(np.diff(nanoseconds) < 0) + 1

    distinct = np.unique(nanoseconds)
    distinct_steps = np.diff(distinct)
    period = expected_period
    if period is None and len(distinct_steps):
        period = pd.Timedelta(int(np.median(distinct_steps)), unit="ns")
    if period is not None and period <= pd.Timedelta(0):
        raise ValueError(f"expected_period must be positive, got {period}")
    gap_at = (
        np.flatnonzero(distinct_steps > period // pd.Timedelta(nanoseconds=1))
        if period is not None
        else np.array([], np.int64)
    )
    if period == pd.Timedelta(days=1) and len(gap_at):
        # daily bars: a step over a weekend only (Friday to Monday) misses no trading day
        days = distinct.astype("datetime64[ns]").astype("datetime64[D]")
        skipped_weekdays = np.busday_count(days[gap_at] + np.timedelta64(1, "D"), days[gap_at + 1])
        gap_at = gap_at[skipped_weekdays > 0]

    o, h, lo, c = (
        frame[columns[name]].to_numpy(dtype=np.float64) for name in ("open", "high", "low", "close")
    )
    prices = np.column_stack((o, h, lo, c))
    with np.errstate(invalid="ignore"):
        bad = (
            ~np.isfinite(prices).all(axis=1)
            | (prices <= 0).any(axis=1)
            | (h < np.maximum(o, c))
            | (lo > np.minimum(o, c))
        )
    bad_at = np.flatnonzero(bad)
    return BarCheck(
        bars=len(frame),
        expected_period=period,
        duplicates=int(duplicated.sum()),
        duplicate_times=_first(index[duplicated]),
        unsorted=len(backwards),
        unsorted_times=_first(index[backwards]),
        gaps=len(gap_at),
        largest_gap=pd.Timedelta(int(distinct_steps[gap_at].max()), unit="ns") if len(gap_at) else None,
        gap_times=_first(pd.to_datetime(distinct[gap_at + 1], unit="ns", utc=True)),
        bad_prices=len(bad_at),
        bad_price_times=_first(index[bad_at]),
    )


def require_runnable_bars(
    frame: pd.DataFrame, source: str, expected_period: pd.Timedelta | None = None
) -> BarCheck:
    """The check of `frame`; BarDataError naming `source` and every fatal finding unless runnable."""
    check = check_bars(frame, expected_period)
    if not check.runnable:
        raise BarDataError(f"{source}: bars refused: " + "; ".join(check.problems()))
    return check


def load_bars_file(path: Path | str) -> pd.DataFrame:
    """Bars from a .csv or .parquet file, by its suffix."""
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix == ".csv":
        return load_csv_bars(file)
    if suffix in (".parquet", ".pq"):
        return load_parquet_bars(file)
    raise BarDataError(f"{file}: unknown bar file type {suffix!r}; use .csv or .parquet")


def load_csv_bars(path: Path | str) -> pd.DataFrame:
    """Bars from a CSV with a time column (time, timestamp, datetime, date or open_time: any case;
    ISO text or epoch seconds) and open, high, low, close, volume columns (any case)."""
    file = Path(path)
    try:
        raw = pd.read_csv(file)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as problem:
        raise BarDataError(f"{file}: cannot read as CSV: {problem}") from None
    return _bar_frame(raw, str(file))


def load_parquet_bars(path: Path | str) -> pd.DataFrame:
    """Bars from a Parquet file laid out like the CSV (the time may also be the index).

    pandas reads Parquet through pyarrow or fastparquet; without either this says which to install.
    """
    file = Path(path)
    if not any(importlib.util.find_spec(engine) for engine in ("pyarrow", "fastparquet")):
        raise BarDataError(
            f"{file}: reading Parquet needs the pyarrow package (or fastparquet), which is not installed; "
            "pip install pyarrow"
        )
    try:
        raw = pd.read_parquet(file)
    except (OSError, ValueError) as problem:
        raise BarDataError(f"{file}: cannot read as Parquet: {problem}") from None
    if isinstance(raw.index, pd.DatetimeIndex):
        raw = raw.reset_index(names="time") if "time" not in map(str.lower, map(str, raw.columns)) else raw
    return _bar_frame(raw, str(file))


def _bar_frame(raw: pd.DataFrame, source: str) -> pd.DataFrame:
    by_lower = {str(column).strip().lower(): column for column in raw.columns}
    time_name = next((by_lower[name] for name in TIME_COLUMNS if name in by_lower), None)
    if time_name is None:
        raise BarDataError(
            f"{source}: no time column; expected one of {', '.join(TIME_COLUMNS)}, has {list(raw.columns)}"
        )
    columns = _ohlcv_columns(raw, source)
    index = _parse_times(raw[time_name], source)
    data = {}
    for name in OHLCV_COLUMNS:
        values = pd.to_numeric(raw[columns[name]], errors="coerce")
        unreadable = values.isna() & raw[columns[name]].notna()
        if unreadable.any():
            first = raw[columns[name]][unreadable].iloc[0]
            raise BarDataError(
                f"{source}: column {name} has non-numeric value {first!r} at row {unreadable.idxmax()}"
            )
        data[name] = values.to_numpy(dtype=np.float64)
    return pd.DataFrame(data, index=pd.DatetimeIndex(index, name="time"))


def _parse_times(column: pd.Series, source: str) -> pd.DatetimeIndex:
    try:
        if pd.api.types.is_numeric_dtype(column):
            return pd.DatetimeIndex(pd.to_datetime(column.to_numpy(), unit="s", utc=True))
        return pd.DatetimeIndex(pd.to_datetime(column, utc=True, format="ISO8601"))
    except (ValueError, TypeError, OverflowError) as problem:
        raise BarDataError(f"{source}: cannot read the time column {column.name!r}: {problem}") from None


def _ohlcv_columns(frame: pd.DataFrame, source: str) -> dict[str, str]:
    by_lower = {str(column).strip().lower(): column for column in frame.columns}
    missing = [name for name in OHLCV_COLUMNS if name not in by_lower]
    if missing:
        raise BarDataError(f"{source}: missing column(s) {', '.join(missing)}; has {list(frame.columns)}")
    return {name: by_lower[name] for name in OHLCV_COLUMNS}


def _utc_index(frame: pd.DataFrame, source: str) -> pd.DatetimeIndex:
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise BarDataError(f"{source}: needs a timezone-aware DatetimeIndex of bar open times")
    return index.tz_convert("UTC")


def _first(times: pd.Index) -> tuple[pd.Timestamp, ...]:
    return tuple(pd.Timestamp(t) for t in times[:SHOWN_TIMES])


def _times(times: tuple[pd.Timestamp, ...]) -> str:
    return ", ".join(t.isoformat() for t in times)
