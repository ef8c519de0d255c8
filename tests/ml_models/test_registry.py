"""The model registry: JSON (never pickle) round trips exactly, versions only grow, a worse model
never replaces the promoted one, and a model trained on other features is refused."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from ml_models.features import FeatureParams, compute_features, drop_warm_up, feature_spec
from ml_models.models import FeatureSpecMismatch, ModelRegistry
from ml_models.training.train import TrainingResult, train_asset
from tests.ml_models.synthetic_bars import SMALL_SPLIT, SMALL_TREES, planted_signal_bars, random_walk_bars

SPEC = feature_spec()
CREATED = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
SOURCE = "planted-signal bars from the test's own generator"


@pytest.fixture(scope="module")
def promoted() -> TrainingResult:
    result = train_asset(planted_signal_bars(), asset="BTC", split=SMALL_SPLIT, xgb_params=SMALL_TREES)
    assert result.promoted
    return result


@pytest.fixture(scope="module")
def rejected() -> TrainingResult:
    result = train_asset(random_walk_bars(3), asset="BTC", split=SMALL_SPLIT, xgb_params=SMALL_TREES)
    assert not result.promoted
    return result


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tmp_path / "models")


def test_saved_json_model_predicts_exactly_like_the_in_memory_one(
    registry: ModelRegistry, promoted: TrainingResult
) -> None:
    registry.save(promoted, data_source=SOURCE, created_at=CREATED)
    features = drop_warm_up(compute_features(planted_signal_bars()))

    loaded = registry.latest_promoted("BTC", SPEC)

    assert loaded is not None
    np.testing.assert_allclose(
        loaded.predict_proba_up(features), promoted.predict_proba_up(features), rtol=0, atol=1e-12
    )


def test_registry_writes_xgboost_json_and_no_pickle(
    registry: ModelRegistry, promoted: TrainingResult
) -> None:
    record = registry.save(promoted, data_source=SOURCE, created_at=CREATED)

    assert record.path == registry.directory / "BTC" / "v000001"
    assert sorted(p.name for p in record.path.iterdir()) == ["metadata.json", "model.json"]
    assert "learner" in json.loads((record.path / "model.json").read_text())
    assert not [p for p in registry.directory.rglob("*") if p.suffix in {".pkl", ".pickle", ".joblib"}]


def test_metadata_records_features_window_metrics_and_provenance(
    registry: ModelRegistry, promoted: TrainingResult
) -> None:
    record = registry.save(promoted, data_source=SOURCE, created_at=CREATED)
    metadata = json.loads((record.path / "metadata.json").read_text())

    assert metadata["asset"] == "BTC"
    assert metadata["version"] == 1
    assert metadata["horizon"] == 1
    assert metadata["features"] == list(SPEC.names)
    assert metadata["feature_spec"] == SPEC.to_dict()
    assert metadata["feature_fingerprint"] == SPEC.fingerprint
    assert metadata["training_window"] == {
        "start": promoted.train_start.isoformat(),
        "end": promoted.train_end.isoformat(),
        "rows": promoted.rows,
    }
    assert len(metadata["folds"]) == SMALL_SPLIT.n_folds
    assert metadata["folds"][0]["model"]["log_loss"] == promoted.folds[0].model.log_loss
    assert metadata["folds"][0]["baseline"]["auc"] == 0.5
    assert metadata["mean_metrics"]["auc"] == promoted.mean_model.auc
    assert metadata["baseline_metrics"]["log_loss"] == promoted.mean_baseline.log_loss
    assert metadata["promoted"] is True
    assert metadata["xgboost_version"] == "3.2.0"
    assert metadata["created_at"] == "2026-03-02T14:30:00+00:00"
    assert metadata["data_hash"] == promoted.data_hash
    assert metadata["data_source"] == SOURCE
    assert len(metadata["data_hash"]) == 64
    assert metadata["xgb_params"]["seed"] == SMALL_TREES.seed


def test_versions_count_up_and_earlier_files_are_never_rewritten(
    registry: ModelRegistry, promoted: TrainingResult
) -> None:
    first = registry.save(promoted, data_source=SOURCE, created_at=CREATED)
    before = (first.path / "model.json").read_bytes(), (first.path / "metadata.json").read_bytes()

    second = registry.save(promoted, data_source=SOURCE)
    third = registry.save(promoted, data_source=SOURCE)

    assert [r.version for r in registry.list("BTC")] == [1, 2, 3]
    assert (second.version, third.version) == (2, 3)
    assert ((first.path / "model.json").read_bytes(), (first.path / "metadata.json").read_bytes()) == before


def test_a_worse_new_model_is_kept_but_does_not_replace_the_promoted_one(
    registry: ModelRegistry, promoted: TrainingResult, rejected: TrainingResult
) -> None:
    registry.save(promoted, data_source=SOURCE, created_at=CREATED)
    newer = registry.save(rejected, data_source=SOURCE, created_at=CREATED)

    loaded = registry.latest_promoted("BTC", SPEC)

    assert newer.version == 2 and not newer.promoted
    assert loaded is not None
    assert loaded.record.version == 1
    assert [(r.version, r.promoted) for r in registry.list("BTC")] == [(1, True), (2, False)]


def test_latest_promoted_takes_the_newest_promoted_version(
    registry: ModelRegistry, promoted: TrainingResult, rejected: TrainingResult
) -> None:
    registry.save(promoted, data_source=SOURCE, created_at=CREATED)
    registry.save(rejected, data_source=SOURCE, created_at=CREATED)
    registry.save(promoted, data_source=SOURCE, created_at=CREATED)

    loaded = registry.latest_promoted("BTC", SPEC)

    assert loaded is not None and loaded.record.version == 3


def test_no_promoted_model_gives_none(registry: ModelRegistry, rejected: TrainingResult) -> None:
    assert registry.latest_promoted("BTC", SPEC) is None
    registry.save(rejected, data_source=SOURCE, created_at=CREATED)
    assert registry.latest_promoted("BTC", SPEC) is None
    assert registry.latest_promoted("ETH", SPEC) is None


def test_a_model_trained_on_other_features_is_refused(
    registry: ModelRegistry, promoted: TrainingResult
) -> None:
    registry.save(promoted, data_source=SOURCE, created_at=CREATED)
    other = feature_spec(FeatureParams(rsi_period=21))

    with pytest.raises(FeatureSpecMismatch, match=r"refusing BTC model v1 .*rsi_21"):
        registry.latest_promoted("BTC", other)


def test_a_model_from_an_older_feature_formula_version_is_refused(
    registry: ModelRegistry, promoted: TrainingResult
) -> None:
    registry.save(promoted, data_source=SOURCE, created_at=CREATED)
    newer_formulas = replace(SPEC, version="bar-features-2")

    with pytest.raises(FeatureSpecMismatch, match="version"):
        registry.latest_promoted("BTC", newer_formulas)


def test_prediction_refuses_reordered_columns_and_warm_up_rows(
    registry: ModelRegistry, promoted: TrainingResult
) -> None:
    registry.save(promoted, data_source=SOURCE, created_at=CREATED)
    loaded = registry.latest_promoted("BTC", SPEC)
    assert loaded is not None
    features = compute_features(planted_signal_bars())

    with pytest.raises(ValueError, match="out of order"):
        loaded.predict_proba_up(features[list(reversed(features.columns))])
    with pytest.raises(ValueError, match="non-finite"):
        loaded.predict_proba_up(features)


def test_an_interrupted_save_without_metadata_is_ignored(
    registry: ModelRegistry, promoted: TrainingResult
) -> None:
    registry.save(promoted, data_source=SOURCE, created_at=CREATED)
    (registry.directory / "BTC" / "v000002").mkdir()

    assert [r.version for r in registry.list()] == [1]
    assert registry.save(promoted, data_source=SOURCE, created_at=CREATED).version == 3


def test_asset_names_cannot_escape_the_registry_folder(
    registry: ModelRegistry, promoted: TrainingResult
) -> None:
    with pytest.raises(ValueError, match="asset name"):
        registry.save(replace(promoted, asset="../BTC"), data_source=SOURCE)
    with pytest.raises(ValueError, match="asset name"):
        registry.latest_promoted(".hidden", SPEC)
