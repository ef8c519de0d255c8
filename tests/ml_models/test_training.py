"""Per-asset training: a planted signal is learned and promoted, noise is not; fold scores are
sklearn's on the fold's own out-of-sample forecasts; the promotion rule as documented."""

from __future__ import annotations

import math

import arch.data.sp500
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, brier_score_loss, log_loss, roc_auc_score

from ml_models.features import DEFAULT_PARAMS
from ml_models.training.metrics import PromotionRule, Scores
from ml_models.training.splits import walk_forward_splits
from ml_models.training.train import (
    DEFAULT_ASSETS,
    SplitSettings,
    TrainingResult,
    XgbParams,
    data_hash,
    labelled_rows,
    train_asset,
    train_assets,
)
from tests.ml_models.synthetic_bars import (
    SMALL_SPLIT,
    SMALL_TREES,
    planted_signal_bars,
    random_walk_bars,
)
from tests.strategies.bars import series_from_closes


@pytest.fixture(scope="module")
def planted() -> TrainingResult:
    return train_asset(planted_signal_bars(), asset="BTC", split=SMALL_SPLIT, xgb_params=SMALL_TREES)


def test_planted_lagged_signal_is_promoted_and_beats_the_baseline(planted: TrainingResult) -> None:
    assert planted.promoted, planted.promotion_reason
    assert planted.mean_model.log_loss < planted.mean_baseline.log_loss - 0.02
    assert planted.mean_model.auc > 0.6
    assert all(fold.model.auc > 0.5 for fold in planted.folds)
    assert planted.mean_model.accuracy > planted.mean_baseline.accuracy


@pytest.mark.parametrize("seed", [3, 4])
def test_random_walk_is_not_promoted(seed: int) -> None:
    result = train_asset(random_walk_bars(seed), asset="ETH", split=SMALL_SPLIT, xgb_params=SMALL_TREES)

    assert not result.promoted, result.promotion_reason
    assert result.mean_model.log_loss >= result.mean_baseline.log_loss - PromotionRule().log_loss_margin


def test_fold_scores_are_sklearns_on_the_fold_forecasts(planted: TrainingResult) -> None:
    for fold in planted.folds:
        assert fold.model.accuracy == pytest.approx(accuracy_score(fold.up, fold.p_up >= 0.5), abs=1e-12)
        assert fold.model.log_loss == pytest.approx(log_loss(fold.up, fold.p_up), abs=1e-12)
        assert fold.model.auc == pytest.approx(roc_auc_score(fold.up, fold.p_up), abs=1e-12)
        assert fold.model.brier == pytest.approx(np.mean((fold.p_up - fold.up) ** 2), abs=1e-12)
    means = planted.mean_model
    assert means.log_loss == pytest.approx(np.mean([f.model.log_loss for f in planted.folds]), abs=1e-12)


def test_fold_forecasts_come_from_a_model_fitted_on_that_folds_purged_training_rows_only(
    planted: TrainingResult,
) -> None:
    features, up = labelled_rows(planted_signal_bars(), horizon=1)
    x = features.to_numpy()
    splits = list(
        walk_forward_splits(len(up), n_folds=4, train_min=300, test_size=150, label_horizon=1, embargo=5)
    )
    for fold, (train_idx, test_idx) in zip(planted.folds, splits, strict=True):
        independent = SMALL_TREES.classifier().fit(x[train_idx], up[train_idx])
        np.testing.assert_allclose(fold.p_up, independent.predict_proba(x[test_idx])[:, 1], atol=1e-12)
        np.testing.assert_array_equal(fold.up, up[test_idx])
        assert fold.train_rows == len(train_idx)
        assert fold.test_start == features.index[test_idx[0]]


def test_baseline_is_the_training_base_rate_scored_out_of_sample(planted: TrainingResult) -> None:
    _, up = labelled_rows(planted_signal_bars(), horizon=1)
    first = planted.folds[0]
    rate = up[: first.train_rows].mean()  # expanding window: fold 0 trains on the first rows
    constant = np.full(len(first.up), rate)
    assert first.baseline.log_loss == pytest.approx(log_loss(first.up, constant), abs=1e-12)
    assert first.baseline.brier == pytest.approx(brier_score_loss(first.up, constant), abs=1e-12)
    assert first.baseline.auc == 0.5


def test_final_model_is_fitted_on_every_labelled_row(planted: TrainingResult) -> None:
    features, up = labelled_rows(planted_signal_bars(), horizon=1)
    assert planted.rows == len(up)
    assert planted.train_start == features.index[0]
    assert planted.train_end == features.index[-1]
    refit = SMALL_TREES.classifier().fit(features.to_numpy(), up)
    np.testing.assert_allclose(
        planted.predict_proba_up(features), refit.predict_proba(features.to_numpy())[:, 1]
    )


def test_labelled_rows_skip_the_warm_up_and_the_unlabelled_tail() -> None:
    bars = planted_signal_bars()
    features, up = labelled_rows(bars, horizon=3)
    assert len(features) == len(bars.close) - DEFAULT_PARAMS.warm_up_bars - 3
    assert np.isfinite(features.to_numpy()).all()
    # the label of the last kept row compares its close with the close 3 bars later, the last bar
    assert up[-1] == int(bars.close[-1] > bars.close[-4])


def test_data_hash_changes_when_the_data_changes() -> None:
    x, up = np.arange(12.0).reshape(4, 3), np.array([0, 1, 1, 0])
    changed_x, changed_up = x.copy(), up.copy()
    changed_x[2, 1] += 1e-9
    changed_up[3] = 1

    assert data_hash(x, up) == data_hash(x.copy(), up.copy())
    assert data_hash(changed_x, up) != data_hash(x, up)
    assert data_hash(x, changed_up) != data_hash(x, up)


def test_training_on_different_bars_records_a_different_data_hash(planted: TrainingResult) -> None:
    closes = planted_signal_bars().close.copy()
    closes[500] *= 1.001
    other = train_asset(
        series_from_closes(list(closes)), asset="BTC", split=SMALL_SPLIT, xgb_params=SMALL_TREES
    )
    again = train_asset(planted_signal_bars(), asset="BTC", split=SMALL_SPLIT, xgb_params=SMALL_TREES)

    assert other.data_hash != planted.data_hash
    assert again.data_hash == planted.data_hash


def test_progress_hears_about_every_fold_and_the_decision() -> None:
    messages: list[str] = []
    train_asset(
        planted_signal_bars(),
        asset="SOL",
        split=SMALL_SPLIT,
        xgb_params=SMALL_TREES,
        progress=messages.append,
    )

    assert sum(" fold " in m for m in messages) == SMALL_SPLIT.n_folds
    assert "PROMOTED" in messages[-1]


def test_train_assets_trains_btc_eth_sol_by_default_and_names_missing_bars() -> None:
    tiny = SplitSettings(n_folds=2, train_min=300, test_size=100, embargo=0)
    trees = XgbParams(n_estimators=5, max_depth=2)
    bars = {asset: planted_signal_bars(seed) for seed, asset in enumerate(DEFAULT_ASSETS)}

    results = train_assets(bars, split=tiny, xgb_params=trees)

    assert list(results) == list(DEFAULT_ASSETS)
    assert [r.asset for r in results.values()] == list(DEFAULT_ASSETS)
    with pytest.raises(ValueError, match="DOGE"):
        train_assets(bars, assets=("BTC", "DOGE"), split=tiny, xgb_params=trees)


def scores(log_loss_value: float, auc: float) -> Scores:
    return Scores(accuracy=0.5, log_loss=log_loss_value, auc=auc, brier=0.25)


BASELINE = [scores(0.693, 0.5)] * 3


@pytest.mark.parametrize(
    ("model", "promoted"),
    [
        ([scores(0.68, 0.55)] * 3, True),
        # log loss beaten, but AUC above 0.5 on only one fold of three
        ([scores(0.60, 0.70), scores(0.68, 0.49), scores(0.68, 0.50)], False),
        # AUC fine everywhere, but log loss only 0.001 better: inside the 0.002 margin
        ([scores(0.692, 0.6)] * 3, False),
        # an undefined AUC does not count as above 0.5
        ([scores(0.68, 0.6), scores(0.68, math.nan), scores(0.68, math.nan)], False),
        ([scores(0.68, 0.6), scores(0.68, 0.6), scores(0.68, math.nan)], True),
    ],
)
def test_promotion_needs_log_loss_below_baseline_by_the_margin_and_auc_above_half_on_most_folds(
    model: list[Scores], promoted: bool
) -> None:
    decided, reason = PromotionRule(log_loss_margin=0.002).decide(model, BASELINE)
    assert decided is promoted, reason


def test_sp500_daily_bars_train_with_finite_metrics() -> None:
    # how long this takes is a benchmark's business, not a test's (a loaded CI machine is slower)
    frame = arch.data.sp500.load()
    frame.index = pd.DatetimeIndex(frame.index).tz_localize("UTC")

    result = train_asset(
        frame,
        asset="SPX",
        split=SplitSettings(n_folds=5, train_min=1000, test_size=500, embargo=5),
        xgb_params=XgbParams(n_estimators=60, max_depth=3),
    )

    assert result.rows > 4900
    for fold in result.folds:
        assert all(math.isfinite(v) for v in (fold.model.accuracy, fold.model.log_loss, fold.model.brier))
        assert math.isfinite(fold.model.auc)
