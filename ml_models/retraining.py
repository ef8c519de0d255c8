"""Scheduled retraining: train each asset afresh, keep the model in use unless the new one is better.

`retrain` is what the daemon's weekly job runs in a worker process (plain data in,
plain data out; progress goes to the log). Per asset:

1. Train on the latest bars (`train_asset`: purged walk-forward folds, promotion
   only when the model beats the base-rate baseline out of sample).
2. If a promoted model is in use, compare the two on the same rows, out of sample for
   both: the new model's walk-forward test rows that come after the in-use model's
   training window. The lower log loss wins. With fewer than `MIN_COMMON_ROWS` such
   rows, the recorded walk-forward mean log losses are compared instead (said so).
3. Save the new model either way (the evidence is kept); it is promoted, and so
   replaces the one in use, only if it passed step 1 and was not worse in step 2.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from domain.market import BarSeries
from ml_models.data import SimulationSettings, describe_source, load_bars
from ml_models.features import DEFAULT_PARAMS
from ml_models.models.registry import FeatureSpecMismatch, LoadedModel, ModelRegistry
from ml_models.training.metrics import score_probabilities
from ml_models.training.train import SplitSettings, TrainingResult, XgbParams, labelled_rows, train_asset

log = logging.getLogger("ml.retraining")

MIN_COMMON_ROWS = 50


@dataclass(frozen=True, slots=True)
class RetrainJob:
    """One retraining run, as plain data a worker process can receive."""

    registry_dir: str
    assets: tuple[str, ...]
    source: str  # "simulated", "shipped", or "venue" (bars fetched by the daemon, in `venue_bars`)
    now: datetime
    horizon: int = 1
    simulation: SimulationSettings = field(default_factory=SimulationSettings)
    venue_bars: Mapping[str, BarSeries] = field(default_factory=dict)
    venue_names: Mapping[str, str] = field(default_factory=dict)  # asset -> instrument key, for the record
    split: SplitSettings = field(default_factory=SplitSettings)
    xgb_params: XgbParams = field(default_factory=XgbParams)


@dataclass(frozen=True, slots=True)
class RetrainOutcome:
    asset: str
    version: int | None  # the version saved; None when training failed
    promoted: bool
    in_use_version: int | None  # the model in use after this run
    reason: str
    metrics: Mapping[str, float | None] = field(default_factory=dict)
    baseline: Mapping[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "asset": self.asset,
            "version": self.version,
            "promoted": self.promoted,
            "in_use_version": self.in_use_version,
            "reason": self.reason,
            "metrics": dict(self.metrics),
            "baseline": dict(self.baseline),
        }


def retrain(job: RetrainJob) -> list[RetrainOutcome]:
    """Retrain every asset of the job; a failure of one asset is reported, not raised."""
    frames = _frames(job)
    registry = ModelRegistry(job.registry_dir)
    outcomes = []
    for number, asset in enumerate(job.assets, start=1):
        log.info("retraining %s (%d of %d) on %s bars", asset, number, len(job.assets), job.source)
        try:
            outcomes.append(_retrain_asset(job, registry, asset, frames[asset]))
        except (ValueError, KeyError) as problem:
            log.warning("retraining %s failed: %s", asset, problem)
            in_use = _in_use_version(registry, asset)
            outcomes.append(RetrainOutcome(asset, None, False, in_use, f"training failed: {problem}"))
        log.info("retraining %s: %s", asset, outcomes[-1].reason)
    return outcomes


def _frames(job: RetrainJob) -> dict[str, pd.DataFrame]:
    if job.source == "venue":
        missing = [a for a in job.assets if a not in job.venue_bars]
        if missing:
            raise ValueError(f"no venue bars for {', '.join(missing)}")
        return {asset: _frame(job.venue_bars[asset]) for asset in job.assets}
    return load_bars(
        job.source, job.assets, simulation=job.simulation, progress=lambda message: log.info("%s", message)
    )


def _frame(series: BarSeries) -> pd.DataFrame:
    index = pd.to_datetime(np.asarray(series.times, dtype=np.int64), unit="s", utc=True)
    return pd.DataFrame(
        {
            "open": series.open,
            "high": series.high,
            "low": series.low,
            "close": series.close,
            "volume": series.volume,
        },
        index=pd.DatetimeIndex(index, name="time"),
    )


def _retrain_asset(
    job: RetrainJob, registry: ModelRegistry, asset: str, frame: pd.DataFrame
) -> RetrainOutcome:
    result = train_asset(
        frame,
        asset=asset,
        horizon=job.horizon,
        split=job.split,
        xgb_params=job.xgb_params,
        progress=lambda message: log.info("%s", message),
    )
    try:
        in_use = registry.latest_promoted(asset, DEFAULT_PARAMS.spec)
        comparison = compare_with_in_use(result, in_use, frame)
    except FeatureSpecMismatch as mismatch:
        comparison = {"new_is_better": True, "reason": f"the model in use cannot be compared: {mismatch}"}
    if result.promoted and not comparison["new_is_better"]:
        result = replace(
            result,
            promoted=False,
            promotion_reason=f"{result.promotion_reason}; but {comparison['reason']}",
        )
    if job.source == "venue":
        source = f"venue {job.venue_names.get(asset, asset)}; {len(frame)} bars"
    else:
        source = describe_source(job.source, asset, frame, job.simulation)
    record = registry.save(result, data_source=source, created_at=job.now, comparison=comparison)
    in_use_version = record.version if result.promoted else _in_use_version(registry, asset)
    verdict = "promoted, now in use" if result.promoted else "saved, not promoted"
    return RetrainOutcome(
        asset,
        record.version,
        result.promoted,
        in_use_version,
        f"v{record.version} {verdict}: {result.promotion_reason}",
        result.mean_model.to_dict(),
        result.mean_baseline.to_dict(),
    )


def compare_with_in_use(
    result: TrainingResult, in_use: LoadedModel | None, frame: pd.DataFrame
) -> dict[str, Any]:
    """Whether the new model is at least as good as the one in use, and on what evidence."""
    if in_use is None:
        return {"new_is_better": True, "reason": "no promoted model was in use"}
    version = in_use.record.version
    metadata = in_use.record.metadata
    if int(metadata["horizon"]) != result.horizon:
        return {
            "new_is_better": True,
            "in_use_version": version,
            "reason": f"v{version} predicts another horizon ({metadata['horizon']} bars); not comparable",
        }
    features, up = labelled_rows(frame, horizon=result.horizon)
    index = features.index
    new_p = np.full(len(index), np.nan)
    for fold in result.folds:
        rows = np.flatnonzero((index >= fold.test_start) & (index <= fold.test_end))
        if len(rows) == len(fold.p_up):
            new_p[rows] = fold.p_up
    trained_until = pd.Timestamp(metadata["training_window"]["end"])
    common = np.flatnonzero((index > trained_until) & np.isfinite(new_p))
    if len(common) >= MIN_COMMON_ROWS:
        old_scores = score_probabilities(up[common], in_use.predict_proba_up(features.iloc[common]))
        new_scores = score_probabilities(up[common], new_p[common])
        basis = f"{len(common)} rows out of sample for both"
        old_loss, new_loss = old_scores.log_loss, new_scores.log_loss
    else:
        basis = (
            f"only {len(common)} rows out of sample for both (need {MIN_COMMON_ROWS}); "
            "recorded walk-forward means"
        )
        old_loss = float(metadata["mean_metrics"]["log_loss"])
        new_loss = result.mean_model.log_loss
    better = bool(new_loss <= old_loss)
    word = "not worse than" if better else "worse than"
    return {
        "new_is_better": better,
        "in_use_version": version,
        "basis": basis,
        "new_log_loss": new_loss,
        "in_use_log_loss": old_loss,
        "reason": f"log loss {new_loss:.5f} is {word} in-use v{version}'s {old_loss:.5f} ({basis})",
    }


def _in_use_version(registry: ModelRegistry, asset: str) -> int | None:
    promoted = [r.version for r in registry.list(asset) if r.promoted]
    return promoted[-1] if promoted else None


def registry_has_model(registry_dir: Path | str, asset: str) -> bool:
    """Whether any version of `asset` was ever saved (promoted or not)."""
    return bool(ModelRegistry(registry_dir).list(asset))
