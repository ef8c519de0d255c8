"""The feature pipeline: bars in, a frame of named, lookahead-free features out.

Every value at bar t is computed from bars 0..t only (trailing windows, recursive
indicators started at bar 0), so the value is the same whether later bars exist or
not; `tests/ml_models/test_features.py` checks this for every column. Values use bar
t's close, so they are known at the close of bar t, not at its open.

Columns, for the default `FeatureParams` (names follow the parameters):

- `ret_1`, `ret_5`, `ret_20`: log return of the close over 1, 5 and 20 bars.
- `vol_20`: sample standard deviation of the last 20 one-bar log returns (per bar, not annualised).
- `rsi_14`: TA-Lib RSI(14) of the close, 0..100.
- `macd`, `macd_signal`, `macd_hist`: TA-Lib MACD(12, 26, 9) divided by the close, so the
  values compare across price levels and instruments.
- `bb_pos_20`: where the close sits in TA-Lib Bollinger bands (20, 2 sd): 0 at the lower band,
  1 at the upper, 0.5 when the bands have zero width.
- `volume_z_20`: z-score of log(1 + volume) against its last 20 bars (0 when they are all equal).
- `hour_sin`, `hour_cos`, `dow_sin`, `dow_cos`: time of day and day of week (Monday = 0) of the
  bar's open, in UTC, on the unit circle.

The first `FeatureParams.warm_up_bars` rows hold NaN in some column (the longest window
has not filled yet); no row after them does. `drop_warm_up` removes them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import talib

from domain.market import BarSeries
from ml_models.features.bars import FloatArray, ohlcv_arrays
from ml_models.features.spec import FeatureSpec, ParameterValue

# Bump when any formula changes, so models trained on the old features refuse the new ones.
FEATURE_SET_VERSION = "bar-features-1"

SECONDS_PER_DAY = 86_400.0
# 1970-01-01, epoch day 0, was a Thursday: day-of-week index 3 with Monday = 0.
EPOCH_DAY_OF_WEEK = 3
RELATIVE_SPREAD_FLOOR = 1e-9


@dataclass(frozen=True, slots=True)
class FeatureParams:
    return_horizons: tuple[int, ...] = (1, 5, 20)
    volatility_window: int = 20
    rsi_period: int = 14
    macd_fast: int = 12
    macd_slow: int = 26
    macd_signal: int = 9
    bollinger_period: int = 20
    bollinger_sd: float = 2.0
    volume_window: int = 20

    def __post_init__(self) -> None:
        if not self.return_horizons:
            raise ValueError("return_horizons must name at least one horizon")
        if len(set(self.return_horizons)) != len(self.return_horizons):
            raise ValueError(f"return_horizons repeat a horizon: {self.return_horizons}")
        for horizon in self.return_horizons:
            _require_whole("return_horizons", horizon, 1)
        _require_whole("volatility_window", self.volatility_window, 2)
        _require_whole("rsi_period", self.rsi_period, 2)
        _require_whole("macd_fast", self.macd_fast, 2)
        _require_whole("macd_slow", self.macd_slow, 2)
        _require_whole("macd_signal", self.macd_signal, 1)
        _require_whole("bollinger_period", self.bollinger_period, 2)
        _require_whole("volume_window", self.volume_window, 2)
        if self.macd_fast >= self.macd_slow:
            raise ValueError(f"macd_fast ({self.macd_fast}) must be below macd_slow ({self.macd_slow})")
        if not (np.isfinite(self.bollinger_sd) and self.bollinger_sd > 0):
            raise ValueError(f"bollinger_sd must be a positive number, got {self.bollinger_sd!r}")

    @property
    def names(self) -> tuple[str, ...]:
        return (
            *(f"ret_{h}" for h in self.return_horizons),
            f"vol_{self.volatility_window}",
            f"rsi_{self.rsi_period}",
            "macd",
            "macd_signal",
            "macd_hist",
            f"bb_pos_{self.bollinger_period}",
            f"volume_z_{self.volume_window}",
            "hour_sin",
            "hour_cos",
            "dow_sin",
            "dow_cos",
        )

    @property
    def warm_up_bars(self) -> int:
        """Leading rows with a NaN somewhere: the longest lookback among the columns.

        TA-Lib lookbacks: RSI(p) p bars, MACD(f, s, g) s + g - 2, BBANDS(p) p - 1.
        """
        return max(
            max(self.return_horizons),
            self.volatility_window,  # the first one-bar return is at bar 1
            self.rsi_period,
            self.macd_slow + self.macd_signal - 2,
            self.bollinger_period - 1,
            self.volume_window - 1,
        )

    @property
    def spec(self) -> FeatureSpec:
        parameters: tuple[tuple[str, ParameterValue], ...] = (
            ("return_horizons", self.return_horizons),
            ("volatility_window", self.volatility_window),
            ("rsi_period", self.rsi_period),
            ("macd_fast", self.macd_fast),
            ("macd_slow", self.macd_slow),
            ("macd_signal", self.macd_signal),
            ("bollinger_period", self.bollinger_period),
            ("bollinger_sd", float(self.bollinger_sd)),
            ("volume_window", self.volume_window),
        )
        return FeatureSpec(FEATURE_SET_VERSION, self.names, parameters)


def _require_whole(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be a whole number of bars >= {minimum}, got {value!r}")


DEFAULT_PARAMS = FeatureParams()


def compute_features(bars: BarSeries | pd.DataFrame, params: FeatureParams = DEFAULT_PARAMS) -> pd.DataFrame:
    """The feature frame of `bars`: a row per bar, indexed by bar open time (UTC), columns `params.names`."""
    arrays = ohlcv_arrays(bars)
    close = arrays.close
    columns: dict[str, FloatArray] = {}
    for horizon in params.return_horizons:
        columns[f"ret_{horizon}"] = _log_return(close, horizon)
    columns[f"vol_{params.volatility_window}"] = _trailing_sd(_log_return(close, 1), params.volatility_window)
    columns[f"rsi_{params.rsi_period}"] = talib.RSI(close, timeperiod=params.rsi_period)
    macd, signal, histogram = talib.MACD(
        close, fastperiod=params.macd_fast, slowperiod=params.macd_slow, signalperiod=params.macd_signal
    )
    columns["macd"] = macd / close
    columns["macd_signal"] = signal / close
    columns["macd_hist"] = histogram / close
    columns[f"bb_pos_{params.bollinger_period}"] = _band_position(close, params)
    columns[f"volume_z_{params.volume_window}"] = _trailing_z(np.log1p(arrays.volume), params.volume_window)
    columns.update(_time_features(arrays.times))
    index = pd.DatetimeIndex(
        pd.to_datetime(np.round(arrays.times * 1e9).astype(np.int64), unit="ns", utc=True), name="time"
    )
    return pd.DataFrame({name: columns[name] for name in params.names}, index=index)


def feature_spec(params: FeatureParams = DEFAULT_PARAMS) -> FeatureSpec:
    """The spec of the frame `compute_features(bars, params)` returns."""
    return params.spec


def drop_warm_up(features: pd.DataFrame) -> pd.DataFrame:
    """The rows from the first one with every feature finite; an empty frame if there is none.

    Raises ValueError if a non-finite value follows the warm-up: that is a gap in the
    data or a broken feature, and silently dropping it would hide either.
    """
    finite = np.isfinite(features.to_numpy(dtype=np.float64)).all(axis=1)
    complete = np.flatnonzero(finite)
    if complete.size == 0:
        return features.iloc[0:0]
    first = int(complete[0])
    if not finite[first:].all():
        row = first + int(np.flatnonzero(~finite[first:])[0])
        bad = [str(c) for c in features.columns if not np.isfinite(features.iloc[row][c])]
        raise ValueError(f"non-finite feature(s) {bad} at {features.index[row]}, after the warm-up")
    return features.iloc[first:]


def _log_return(close: FloatArray, lag: int) -> FloatArray:
    # log of the ratio, not a difference of logs: the latter loses digits on small returns.
    out = np.full(len(close), np.nan)
    if len(close) > lag:
        out[lag:] = np.log(close[lag:] / close[:-lag])
    return out


def _trailing_windows(values: FloatArray, window: int) -> FloatArray:
    # Each row is one trailing window reduced on its own (no running sums carried from earlier
    # bars), so a value never depends on how long the series is.
    return np.lib.stride_tricks.sliding_window_view(values, window)


def _trailing_sd(values: FloatArray, window: int) -> FloatArray:
    out = np.full(len(values), np.nan)
    if len(values) >= window:
        out[window - 1 :] = _trailing_windows(values, window).std(axis=1, ddof=1)
    return out


def _trailing_z(values: FloatArray, window: int) -> FloatArray:
    out = np.full(len(values), np.nan)
    if len(values) >= window:
        windows = _trailing_windows(values, window)
        mean, sd = windows.mean(axis=1), windows.std(axis=1, ddof=1)
        deviation = values[window - 1 :] - mean
        # Equal values give a mean and sd off by rounding (sd ~1e-16, not 0), whose ratio is
        # noise of order 1; a spread below 1e-9 of the level counts as none.
        spread = sd > RELATIVE_SPREAD_FLOOR * np.abs(mean)
        out[window - 1 :] = np.divide(deviation, sd, out=np.zeros_like(sd), where=spread)
    return out


def _band_position(close: FloatArray, params: FeatureParams) -> FloatArray:
    # TA-Lib reports a zero standard deviation when the window's variance is below 1e-8
    # (TA_IS_ZERO_OR_NEG in its STDDEV), so a very quiet window yields zero-width bands:
    # the close then sits on the middle band, 0.5.
    upper, _, lower = talib.BBANDS(
        close,
        timeperiod=params.bollinger_period,
        nbdevup=params.bollinger_sd,
        nbdevdn=params.bollinger_sd,
    )  # TA-Lib's default middle band is the simple moving average, as Bollinger defined it
    width = upper - lower
    out = np.full(len(close), np.nan)
    ready = np.isfinite(width)
    out[ready] = np.divide(
        close[ready] - lower[ready], width[ready], out=np.full(int(ready.sum()), 0.5), where=width[ready] > 0
    )
    return out


def _time_features(times: FloatArray) -> dict[str, FloatArray]:
    day_fraction = np.mod(times, SECONDS_PER_DAY) / SECONDS_PER_DAY
    day_of_week = np.mod(np.floor(times / SECONDS_PER_DAY) + EPOCH_DAY_OF_WEEK, 7.0)
    hour_angle = 2.0 * np.pi * day_fraction
    week_angle = 2.0 * np.pi * day_of_week / 7.0
    return {
        "hour_sin": np.sin(hour_angle),
        "hour_cos": np.cos(hour_angle),
        "dow_sin": np.sin(week_angle),
        "dow_cos": np.cos(week_angle),
    }
