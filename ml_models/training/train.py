"""Per-asset XGBoost training: features, labels, purged walk-forward validation, promotion.

The road for one asset (`train_asset`):

1. `compute_features` on the bars, then `drop_warm_up`.
2. Label each row with the sign of the return over the next `horizon` bars
   (`label_next_return`); the last `horizon` rows have no label yet and are dropped.
   The classifier predicts "up" (label +1); a flat or falling close is "not up".
3. Walk-forward folds (`walk_forward_splits`, purged by `horizon`, embargoed): per fold,
   fit a classifier on the training rows, score P(up) on the test rows, and score the
   base-rate baseline on the same rows.
4. `PromotionRule.decide` on the per-fold scores.
5. The final model is fitted on every labelled row; it is what the registry stores.

Pure: bars in, a `TrainingResult` out; saving is `ml_models.models.ModelRegistry`'s job.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd
import xgboost

from domain.market import BarSeries
from ml_models.features import (
    DEFAULT_PARAMS,
    FeatureParams,
    FeatureSpec,
    compute_features,
    drop_warm_up,
    label_next_return,
)
from ml_models.features.bars import ohlcv_arrays
from ml_models.training.metrics import (
    FloatArray,
    IntArray,
    PromotionRule,
    Scores,
    base_rate_scores,
    mean_scores,
    score_probabilities,
)
from ml_models.training.splits import IndexArray, walk_forward_splits

DEFAULT_ASSETS = ("BTC", "ETH", "SOL")
DEFAULT_RULE = PromotionRule()

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class SplitSettings:
    """Walk-forward layout in rows (after dropping warm-up and unlabelled rows); see `walk_forward_splits`."""

    n_folds: int = 5
    train_min: int = 250
    test_size: int = 100
    embargo: int = 5
    window: str = "expanding"


@dataclass(frozen=True, slots=True)
class XgbParams:
    """Small, deterministic trees: a fixed seed and two threads (the training hosts share two cores)."""

    n_estimators: int = 60
    max_depth: int = 3
    learning_rate: float = 0.1
    subsample: float = 1.0
    min_child_weight: float = 5.0
    reg_lambda: float = 1.0
    seed: int = 7
    nthread: int = 2

    def classifier(self) -> xgboost.XGBClassifier:
        return xgboost.XGBClassifier(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            learning_rate=self.learning_rate,
            subsample=self.subsample,
            min_child_weight=self.min_child_weight,
            reg_lambda=self.reg_lambda,
            random_state=self.seed,
            n_jobs=self.nthread,
            tree_method="hist",
            objective="binary:logistic",
            eval_metric="logloss",
        )


@dataclass(frozen=True, slots=True, eq=False)
class FoldResult:
    """One walk-forward fold: where it trained and tested, its forecasts, and both sets of scores."""

    fold: int
    train_rows: int
    test_start: pd.Timestamp
    test_end: pd.Timestamp
    up: IntArray  # test-row outcomes, 1 = up
    p_up: FloatArray  # the fold model's P(up) on the test rows
    model: Scores
    baseline: Scores

    def to_dict(self) -> dict[str, Any]:
        return {
            "fold": self.fold,
            "train_rows": self.train_rows,
            "test_rows": len(self.up),
            "test_start": self.test_start.isoformat(),
            "test_end": self.test_end.isoformat(),
            "model": self.model.to_dict(),
            "baseline": self.baseline.to_dict(),
        }


@dataclass(frozen=True, slots=True, eq=False)
class TrainingResult:
    """Everything a trained asset model is: the fitted classifier and the evidence for promoting it."""

    asset: str
    horizon: int
    spec: FeatureSpec
    model: xgboost.XGBClassifier
    folds: tuple[FoldResult, ...]
    mean_model: Scores
    mean_baseline: Scores
    promoted: bool
    promotion_reason: str
    train_start: pd.Timestamp
    train_end: pd.Timestamp
    rows: int
    data_hash: str
    xgb_params: XgbParams
    split: SplitSettings
    rule: PromotionRule = field(default_factory=PromotionRule)
    bar_seconds: int | None = None  # the median spacing of the training bars: what to feed the model

    def predict_proba_up(self, features: pd.DataFrame) -> FloatArray:
        """P(up) of the in-memory model for a feature frame with exactly this spec's columns."""
        self.spec.require_columns(features)
        return _p_up(self.model, features.to_numpy(dtype=np.float64))


def train_asset(
    bars: BarSeries | pd.DataFrame,
    *,
    asset: str,
    horizon: int = 1,
    feature_params: FeatureParams = DEFAULT_PARAMS,
    split: SplitSettings = SplitSettings(),
    xgb_params: XgbParams = XgbParams(),
    rule: PromotionRule = DEFAULT_RULE,
    progress: Progress | None = None,
) -> TrainingResult:
    """Train, validate walk-forward and judge one asset's "next `horizon` bars up?" classifier."""
    say = progress or (lambda _message: None)
    features, up = labelled_rows(bars, horizon=horizon, feature_params=feature_params)
    x = features.to_numpy(dtype=np.float64)
    say(f"{asset}: {len(up)} labelled rows, {features.index[0]} .. {features.index[-1]}")
    folds = []
    splits = walk_forward_splits(
        len(up),
        n_folds=split.n_folds,
        train_min=split.train_min,
        test_size=split.test_size,
        label_horizon=horizon,
        embargo=split.embargo,
        window=split.window,
    )
    for number, (train_idx, test_idx) in enumerate(splits):
        fold = _run_fold(number, x, up, features.index, train_idx, test_idx, xgb_params)
        say(
            f"{asset} fold {number}: log loss {fold.model.log_loss:.4f} vs baseline "
            f"{fold.baseline.log_loss:.4f}, AUC {fold.model.auc:.3f}"
        )
        folds.append(fold)
    promoted, reason = rule.decide([f.model for f in folds], [f.baseline for f in folds])
    say(f"{asset}: {'PROMOTED' if promoted else 'not promoted'}: {reason}")
    final = _fit(xgb_params, x, up)
    return TrainingResult(
        asset=asset,
        horizon=horizon,
        spec=feature_params.spec,
        model=final,
        folds=tuple(folds),
        mean_model=mean_scores([f.model for f in folds]),
        mean_baseline=mean_scores([f.baseline for f in folds]),
        promoted=promoted,
        promotion_reason=reason,
        train_start=features.index[0],
        train_end=features.index[-1],
        rows=len(up),
        data_hash=data_hash(x, up),
        xgb_params=xgb_params,
        split=split,
        rule=rule,
        bar_seconds=_median_spacing_seconds(features.index),
    )


def _median_spacing_seconds(index: pd.Index) -> int | None:
    if len(index) < 2:
        return None
    spacing = np.diff(pd.DatetimeIndex(index).asi8) / 1e9
    return round(float(np.median(spacing)))


def train_assets(
    bars_by_asset: Mapping[str, BarSeries | pd.DataFrame],
    assets: tuple[str, ...] = DEFAULT_ASSETS,
    **settings: Any,
) -> dict[str, TrainingResult]:
    """`train_asset` for each of `assets` (BTC, ETH, SOL unless configured), with shared settings."""
    missing = [a for a in assets if a not in bars_by_asset]
    if missing:
        raise ValueError(f"no bars for asset(s) {missing}; have {sorted(bars_by_asset)}")
    return {asset: train_asset(bars_by_asset[asset], asset=asset, **settings) for asset in assets}


def labelled_rows(
    bars: BarSeries | pd.DataFrame, *, horizon: int, feature_params: FeatureParams = DEFAULT_PARAMS
) -> tuple[pd.DataFrame, IntArray]:
    """Warm-up-free feature rows that have a label, and their outcomes (1 = close rose over `horizon`)."""
    close = ohlcv_arrays(bars).close
    features = compute_features(bars, feature_params)
    labels = pd.Series(label_next_return(close, horizon), index=features.index)
    features = drop_warm_up(features)
    labels = labels.loc[features.index]
    known = labels.notna().to_numpy()
    if not known.any():
        raise ValueError(f"no labelled rows after the {feature_params.warm_up_bars}-bar warm-up")
    return features.loc[known], (labels.to_numpy()[known] > 0).astype(np.int64)


def data_hash(x: FloatArray, up: IntArray) -> str:
    """sha256 of the feature matrix (float64, row-major) and the labels (int64) as raw bytes."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(x, dtype=np.float64).tobytes())
    digest.update(np.ascontiguousarray(up, dtype=np.int64).tobytes())
    return digest.hexdigest()


def _run_fold(
    number: int,
    x: FloatArray,
    up: IntArray,
    index: pd.Index,
    train_idx: IndexArray,
    test_idx: IndexArray,
    xgb_params: XgbParams,
) -> FoldResult:
    model = _fit(xgb_params, x[train_idx], up[train_idx])
    p_up = _p_up(model, x[test_idx])
    return FoldResult(
        fold=number,
        train_rows=len(train_idx),
        test_start=index[test_idx[0]],
        test_end=index[test_idx[-1]],
        up=up[test_idx],
        p_up=p_up,
        model=score_probabilities(up[test_idx], p_up),
        baseline=base_rate_scores(up[train_idx], up[test_idx]),
    )


def _fit(xgb_params: XgbParams, x: FloatArray, up: IntArray) -> xgboost.XGBClassifier:
    if len(np.unique(up)) < 2:
        raise ValueError("training rows hold only one outcome (all up or none up); cannot fit a classifier")
    model = xgb_params.classifier()
    model.fit(x, up)
    return model


def _p_up(model: xgboost.XGBClassifier, x: FloatArray) -> FloatArray:
    probabilities = cast(FloatArray, model.predict_proba(x))
    return np.asarray(probabilities[:, 1], dtype=np.float64)
