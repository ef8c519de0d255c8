"""The feature pipeline: no lookahead in any column, values checked by independent arithmetic,
warm-up rows only at the start, clear errors on bad bars or parameters."""

from __future__ import annotations

import arch.data.sp500
import numpy as np
import pandas as pd
import pytest

from domain.market import BarSeries
from ml_models.features import DEFAULT_PARAMS, FeatureParams, compute_features, drop_warm_up
from tests.strategies.bars import random_walk, series_from_closes

TRUNCATION_BARS = 300


@pytest.fixture(scope="module")
def sp500() -> pd.DataFrame:
    """Real daily S&P 500 bars (1999 on, from the arch package), UTC-stamped."""
    frame = arch.data.sp500.load().iloc[:TRUNCATION_BARS]
    frame.index = frame.index.tz_localize("UTC")
    return frame


def test_every_feature_at_bar_t_is_the_same_with_or_without_later_bars(sp500: pd.DataFrame) -> None:
    full = compute_features(sp500)
    assert list(full.columns) == list(DEFAULT_PARAMS.names)
    for t in range(1, len(sp500) + 1):
        known = compute_features(sp500.iloc[:t])
        for name in full.columns:
            np.testing.assert_array_equal(
                known[name].to_numpy(), full[name].to_numpy()[:t], err_msg=f"{name} looks ahead at t={t}"
            )


def test_features_from_a_bar_series_are_free_of_lookahead_too() -> None:
    params = FeatureParams(
        return_horizons=(1, 3),
        volatility_window=4,
        rsi_period=3,
        macd_fast=3,
        macd_slow=6,
        macd_signal=3,
        bollinger_period=5,
        volume_window=4,
    )
    closes = random_walk(7, 60)
    series = BarSeries("sim:X", 3600, *_arrays(closes))
    full = compute_features(series, params)
    for t in range(1, len(series) + 1):
        known = compute_features(series.truncated(t), params)
        np.testing.assert_array_equal(known.to_numpy(), full.to_numpy()[:t], err_msg=f"t={t}")


def test_returns_match_log_price_differences_computed_by_hand(sp500: pd.DataFrame) -> None:
    features = compute_features(sp500)
    close = sp500["Close"].to_numpy()
    for horizon in (1, 5, 20):
        by_hand = [np.log(close[t] / close[t - horizon]) for t in range(horizon, len(close))]
        np.testing.assert_allclose(features[f"ret_{horizon}"].to_numpy()[horizon:], by_hand, rtol=1e-12)
        assert features[f"ret_{horizon}"].iloc[:horizon].isna().all()


def test_volatility_matches_pandas_rolling_sample_sd_of_one_bar_log_returns(sp500: pd.DataFrame) -> None:
    features = compute_features(sp500)
    expected = np.log(sp500["Close"]).diff().rolling(20).std(ddof=1)
    np.testing.assert_allclose(features["vol_20"].to_numpy(), expected.to_numpy(), rtol=1e-9)


def _wilder_rsi(closes: np.ndarray, period: int) -> np.ndarray:
    """Wilder's RSI: simple mean of the first `period` gains and losses, then (prev * (p - 1) + x) / p."""
    change = pd.Series(closes).diff().to_numpy()
    gain, loss = np.clip(change, 0, None), np.clip(-change, 0, None)
    rsi = np.full(len(closes), np.nan)
    average_gain, average_loss = gain[1 : period + 1].mean(), loss[1 : period + 1].mean()
    for t in range(period, len(closes)):
        if t > period:
            average_gain = (average_gain * (period - 1) + gain[t]) / period
            average_loss = (average_loss * (period - 1) + loss[t]) / period
        rsi[t] = 100.0 * average_gain / (average_gain + average_loss)
    return rsi


def test_rsi_matches_an_independent_wilder_rsi(sp500: pd.DataFrame) -> None:
    features = compute_features(sp500)
    expected = _wilder_rsi(sp500["Close"].to_numpy(), 14)
    np.testing.assert_allclose(features["rsi_14"].to_numpy(), expected, rtol=1e-9)


def test_rsi_on_a_hand_worked_series() -> None:
    # period 2 on closes 1, 2, 3, 2: changes +1, +1, -1.
    # bar 2: average gain (1 + 1) / 2 = 1, loss 0 -> 100.
    # bar 3: gain (1 * 1 + 0) / 2 = 0.5, loss (0 * 1 + 1) / 2 = 0.5 -> 50.
    params = FeatureParams(rsi_period=2)
    features = compute_features(series_from_closes([1.0, 2.0, 3.0, 2.0]), params)
    np.testing.assert_allclose(features["rsi_2"].to_numpy(), [np.nan, np.nan, 100.0, 50.0])


def test_bollinger_position_matches_pandas_bands_with_population_sd(sp500: pd.DataFrame) -> None:
    features = compute_features(sp500)
    close = sp500["Close"]
    middle, sd = close.rolling(20).mean(), close.rolling(20).std(ddof=0)
    expected = (close - (middle - 2 * sd)) / (4 * sd)
    np.testing.assert_allclose(features["bb_pos_20"].to_numpy(), expected.to_numpy(), rtol=1e-6)


def test_volume_z_matches_pandas_rolling_z_of_log_volume(sp500: pd.DataFrame) -> None:
    features = compute_features(sp500)
    log_volume = np.log1p(sp500["Volume"].astype(float))
    rolling = log_volume.rolling(20)
    expected = (log_volume - rolling.mean()) / rolling.std(ddof=1)
    np.testing.assert_allclose(features["volume_z_20"].to_numpy(), expected.to_numpy(), rtol=1e-9)


def test_macd_histogram_is_macd_minus_signal_relative_to_close(sp500: pd.DataFrame) -> None:
    features = drop_warm_up(compute_features(sp500))
    np.testing.assert_allclose(
        features["macd_hist"], features["macd"] - features["macd_signal"], rtol=1e-9, atol=1e-15
    )
    assert features["macd"].abs().max() < 0.1  # a fraction of the close, not index points


def test_flat_prices_put_the_close_mid_band_and_constant_volume_scores_zero() -> None:
    features = drop_warm_up(compute_features(series_from_closes([100.0] * 40)))
    assert (features["bb_pos_20"] == 0.5).all()
    assert (features["volume_z_20"] == 0.0).all()


def test_time_features_place_monday_six_utc_on_the_unit_circle() -> None:
    monday_six = pd.Timestamp("2024-01-01 06:00", tz="UTC").timestamp()
    features = compute_features(series_from_closes([100.0, 101.0], start=monday_six, timeframe_seconds=3600))
    first = features.iloc[0]
    assert features.index[0] == pd.Timestamp("2024-01-01 06:00", tz="UTC")
    np.testing.assert_allclose(
        [first["hour_sin"], first["hour_cos"], first["dow_sin"], first["dow_cos"]], [1, 0, 0, 1], atol=1e-12
    )


def test_nan_only_in_the_warm_up_rows_which_drop_warm_up_removes(sp500: pd.DataFrame) -> None:
    for params in (DEFAULT_PARAMS, FeatureParams(return_horizons=(2, 40), macd_slow=15, rsi_period=30)):
        features = compute_features(sp500, params)
        incomplete = features.isna().any(axis=1).to_numpy()
        assert incomplete[: params.warm_up_bars].all()
        assert not incomplete[params.warm_up_bars :].any()
        kept = drop_warm_up(features)
        assert len(kept) == len(features) - params.warm_up_bars
        assert kept.index[0] == features.index[params.warm_up_bars]


def test_drop_warm_up_refuses_a_gap_after_the_warm_up(sp500: pd.DataFrame) -> None:
    features = compute_features(sp500)
    features.iloc[200, 3] = np.nan
    with pytest.raises(ValueError, match="after the warm-up"):
        drop_warm_up(features)


def test_a_series_shorter_than_the_warm_up_yields_no_complete_row() -> None:
    assert drop_warm_up(compute_features(series_from_closes([100.0, 101.0, 102.0]))).empty


def _replaced(column: pd.Series, row: int, value: float) -> pd.Series:
    changed = column.copy()
    changed.iloc[row] = value
    return changed


def _arrays(closes: list[float]) -> tuple[np.ndarray, ...]:
    series = series_from_closes(closes)
    volume = np.linspace(1000.0, 5000.0, len(closes))
    return series.times, series.open, series.high, series.low, series.close, volume


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.iloc[0:0], "no bars"),
        (lambda f: f.assign(Close=_replaced(f["Close"], 3, -1.0)), "non-positive price at bar 3"),
        (lambda f: f.assign(Close=_replaced(f["Close"], 2, np.nan)), "non-finite value at bar 2"),
        (lambda f: f.assign(Volume=-f["Volume"]), "volume is negative"),
        (lambda f: f.drop(columns="Volume"), "lacks column"),
        (lambda f: f.tz_localize(None), "timezone-naive"),
        (lambda f: f.iloc[[0, 2, 1]], "strictly increasing"),
        (lambda f: f.reset_index(), "DatetimeIndex"),
    ],
)
def test_bad_bars_are_refused_with_a_clear_reason(sp500: pd.DataFrame, change: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compute_features(change(sp500.iloc[:10]))  # type: ignore[operator]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"return_horizons": ()}, "at least one"),
        ({"return_horizons": (0, 5)}, "return_horizons"),
        ({"return_horizons": (5, 5)}, "repeat"),
        ({"macd_fast": 26, "macd_slow": 12}, "below macd_slow"),
        ({"volatility_window": 1}, "volatility_window"),
        ({"rsi_period": 14.0}, "rsi_period"),
        ({"bollinger_sd": 0.0}, "bollinger_sd"),
    ],
)
def test_bad_parameters_are_refused_with_a_clear_reason(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FeatureParams(**kwargs)  # type: ignore[arg-type]


def test_not_bars_at_all_is_refused() -> None:
    with pytest.raises(ValueError, match="BarSeries or a pandas DataFrame"):
        compute_features([1.0, 2.0])
