"""Scheduled retraining: a new model replaces the one in use only when it is not worse.

The bars are a 2,000-bar series with a planted, learnable signal (see synthetic_bars);
the model "in use" is trained on its first 1,000 bars, so the new model's walk-forward
test rows in the second half are out of sample for both. Log losses are checked
against scikit-learn's `log_loss` on the same rows.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss

from domain.market import BarSeries
from ml_models.features import DEFAULT_PARAMS
from ml_models.models import ModelRegistry
from ml_models.retraining import RetrainJob, compare_with_in_use, retrain
from ml_models.training.train import SplitSettings, TrainingResult, XgbParams, labelled_rows, train_asset
from tests.ml_models.synthetic_bars import SMALL_TREES, momentum_closes, random_walk_bars
from tests.strategies.bars import series_from_closes

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
SPLIT = SplitSettings(n_folds=4, train_min=300, test_size=200, embargo=5)
FIRST_HALF_SPLIT = SplitSettings(n_folds=3, train_min=300, test_size=150, embargo=5)
# right direction, shrunk towards 0.5: beats the base rate, loses to a well-fitted model
TIMID = XgbParams(n_estimators=4, max_depth=1, learning_rate=0.1)


@pytest.fixture(scope="module")
def bars() -> BarSeries:
    return series_from_closes(momentum_closes(seed=11, length=2000), key="sim-crypto:BTC/USD")


def frame_of(series: BarSeries) -> pd.DataFrame:
    index = pd.DatetimeIndex(pd.to_datetime(series.times.astype(np.int64), unit="s", utc=True), name="time")
    return pd.DataFrame(
        {c: getattr(series, c) for c in ("open", "high", "low", "close", "volume")}, index=index
    )


def save_in_use(registry: ModelRegistry, series: BarSeries, xgb: XgbParams = SMALL_TREES) -> TrainingResult:
    """A promoted model trained on the first 1,000 bars (forced promoted: it is the one in use)."""
    result = train_asset(series.truncated(1000), asset="BTC", split=FIRST_HALF_SPLIT, xgb_params=xgb)
    result = replace(result, promoted=True)
    registry.save(result, data_source="first half", created_at=NOW)
    return result


def job(tmp_path: Path, series: BarSeries, xgb: XgbParams = SMALL_TREES) -> RetrainJob:
    return RetrainJob(
        registry_dir=str(tmp_path / "models"),
        assets=("BTC",),
        source="venue",
        now=NOW,
        venue_bars={"BTC": series},
        venue_names={"BTC": "sim-crypto:BTC/USD"},
        split=SPLIT,
        xgb_params=xgb,
    )


def test_the_first_model_of_an_asset_is_promoted_on_its_own_merits(tmp_path: Path, bars: BarSeries) -> None:
    [outcome] = retrain(job(tmp_path, bars))
    assert outcome.promoted and outcome.version == 1 and outcome.in_use_version == 1
    [record] = ModelRegistry(tmp_path / "models").list("BTC")
    assert record.metadata["data_source"] == "venue sim-crypto:BTC/USD; 2000 bars"
    assert record.metadata["comparison"]["reason"] == "no promoted model was in use"


def test_a_new_model_worse_than_the_one_in_use_is_saved_but_not_promoted(
    tmp_path: Path, bars: BarSeries
) -> None:
    registry = ModelRegistry(tmp_path / "models")
    save_in_use(registry, bars)
    [outcome] = retrain(job(tmp_path, bars, TIMID))
    assert outcome.version == 2 and not outcome.promoted and outcome.in_use_version == 1
    latest = registry.list("BTC")[-1].metadata
    assert latest["promoted"] is False
    # it beat the base rate (the promotion rule said ok) and was held back by the comparison alone
    assert "folds: ok; but log loss" in latest["promotion_reason"]
    assert "is worse than in-use v1" in latest["comparison"]["reason"]
    loaded = registry.latest_promoted("BTC", DEFAULT_PARAMS.spec)
    assert loaded is not None and loaded.record.version == 1


def test_the_comparison_scores_both_models_on_the_same_out_of_sample_rows(
    tmp_path: Path, bars: BarSeries
) -> None:
    registry = ModelRegistry(tmp_path / "models")
    in_use_result = save_in_use(registry, bars)
    in_use = registry.latest_promoted("BTC", DEFAULT_PARAMS.spec)
    assert in_use is not None
    frame = frame_of(bars)
    new = train_asset(frame, asset="BTC", split=SPLIT, xgb_params=TIMID)

    comparison = compare_with_in_use(new, in_use, frame)

    # the oracle: the rows after the in-use model's training window that the new folds tested
    features, up = labelled_rows(frame, horizon=1)
    tested = pd.Series(np.nan, index=features.index)
    for fold in new.folds:
        tested.loc[fold.test_start : fold.test_end] = fold.p_up
    rows = (features.index > in_use_result.train_end) & tested.notna().to_numpy()
    assert rows.sum() == 4 * 200  # every fold tests after the first 1,000 bars
    old_p = in_use.predict_proba_up(features[rows])
    assert comparison["in_use_log_loss"] == pytest.approx(log_loss(up[rows], old_p, labels=[0, 1]), abs=1e-9)
    assert comparison["new_log_loss"] == pytest.approx(
        log_loss(up[rows], tested[rows].to_numpy(), labels=[0, 1]), abs=1e-9
    )
    assert comparison["new_is_better"] is (comparison["new_log_loss"] <= comparison["in_use_log_loss"])
    assert comparison["new_is_better"] is False and comparison["basis"] == "800 rows out of sample for both"


def test_a_better_new_model_replaces_the_one_in_use(tmp_path: Path, bars: BarSeries) -> None:
    registry = ModelRegistry(tmp_path / "models")
    # the one in use learnt from noise (forced promoted); the new one learns the planted signal
    noise = train_asset(random_walk_bars(5), asset="BTC", split=FIRST_HALF_SPLIT, xgb_params=SMALL_TREES)
    registry.save(replace(noise, promoted=True), data_source="noise", created_at=NOW)
    [outcome] = retrain(job(tmp_path, bars))
    assert outcome.promoted and outcome.in_use_version == 2
    assert "not worse than in-use v1" in registry.list("BTC")[-1].metadata["comparison"]["reason"]


def test_an_asset_whose_training_fails_is_reported_and_the_others_go_on(
    tmp_path: Path, bars: BarSeries
) -> None:
    short = bars.truncated(100)  # far too few rows for the walk-forward folds
    outcomes = retrain(
        replace(job(tmp_path, bars), assets=("BTC", "ETH"), venue_bars={"BTC": short, "ETH": bars})
    )
    assert [o.asset for o in outcomes] == ["BTC", "ETH"]
    assert outcomes[0].version is None and outcomes[0].reason.startswith("training failed: ")
    assert outcomes[1].version == 1
