"""A directory of trained models: XGBoost JSON weights plus a metadata record, one folder per version.

Layout: `<directory>/<asset>/v000001/model.json` (XGBoost `save_model` JSON) and
`metadata.json` next to it. Never pickle: a pickle runs code when loaded and ties the
file to library internals; XGBoost's JSON is data, portable across versions.

- Versions per asset count up from 1 and are never overwritten: a version folder is
  claimed with an exclusive `mkdir` before anything is written into it.
- `metadata.json` is written last (to a temporary name, then renamed), so a folder
  without it is an interrupted save and is ignored.
- A model that was not promoted is saved too (the evidence is worth keeping), but
  `latest_promoted` skips it: a worse new model never replaces the promoted one.
- `latest_promoted` refuses a model whose recorded feature spec differs from the
  features the caller is about to feed; it never loads such a model silently.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import xgboost

from ml_models.features import FeatureSpec
from ml_models.training.metrics import FloatArray
from ml_models.training.train import TrainingResult
from utils.clock import WALL_CLOCK

METADATA_FILE = "metadata.json"
MODEL_FILE = "model.json"
METADATA_FORMAT = 1
ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
VERSION_FOLDER = re.compile(r"^v(\d{6})$")


class FeatureSpecMismatch(ValueError):
    """The stored model was trained on other features than the ones offered; it must not be used."""


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """One saved model version: where it lives and what its metadata says."""

    asset: str
    version: int
    path: Path
    promoted: bool
    metadata: dict[str, Any]

    @property
    def spec(self) -> FeatureSpec:
        return FeatureSpec.from_dict(self.metadata["feature_spec"])


@dataclass(frozen=True, slots=True, eq=False)
class LoadedModel:
    """A model read back from the registry, ready to give P(up) for features with its exact spec."""

    record: ModelRecord
    spec: FeatureSpec
    classifier: xgboost.XGBClassifier

    def predict_proba_up(self, features: pd.DataFrame) -> FloatArray:
        """P(up) per row; ValueError if the columns are not the spec's, in order, or a value is not finite."""
        self.spec.require_columns(features)
        x = features.to_numpy(dtype=np.float64)
        if not np.isfinite(x).all():
            # XGBoost would read NaN as "missing" and still answer; warm-up rows must be dropped instead.
            raise ValueError("feature frame holds non-finite values; drop warm-up rows before predicting")
        probabilities = cast(FloatArray, self.classifier.predict_proba(x))
        return np.asarray(probabilities[:, 1], dtype=np.float64)


class ModelRegistry:
    """Saves `TrainingResult`s as versioned JSON and loads the newest promoted model per asset."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def save(
        self,
        result: TrainingResult,
        *,
        data_source: str,
        created_at: datetime | None = None,
        comparison: Mapping[str, Any] | None = None,
    ) -> ModelRecord:
        """Write `result` as the asset's next version; returns its record.

        `data_source` says where the bars came from (e.g. "simulated: seed 7, 3000 bars of
        300 s"); `comparison` records how a retrained model fared against the one in use.
        """
        if not data_source.strip():
            raise ValueError("data_source must say where the training bars came from")
        asset_dir = self.directory / _checked_asset(result.asset)
        asset_dir.mkdir(parents=True, exist_ok=True)
        version = max((v for v, _ in _version_folders(asset_dir)), default=0) + 1
        while True:
            folder = asset_dir / f"v{version:06d}"
            try:
                folder.mkdir()  # exclusive: a version folder, once claimed, is never reused
                break
            except FileExistsError:
                version += 1
        metadata = _metadata(result, version, created_at or WALL_CLOCK.now())
        metadata["data_source"] = data_source
        if comparison is not None:
            metadata["comparison"] = dict(comparison)
        result.model.save_model(str(folder / MODEL_FILE))
        staging = folder / f".{METADATA_FILE}.tmp"
        staging.write_text(json.dumps(metadata, indent=2, sort_keys=True, allow_nan=False))
        os.replace(staging, folder / METADATA_FILE)
        return ModelRecord(result.asset, version, folder, result.promoted, metadata)

    def list(self, asset: str | None = None) -> list[ModelRecord]:
        """Every complete saved version, by asset then version; only `asset`'s when given."""
        if asset is not None:
            assets = [_checked_asset(asset)]
        elif not self.directory.is_dir():
            return []
        else:
            assets = sorted(entry.name for entry in self.directory.iterdir() if ASSET_NAME.match(entry.name))
        records = []
        for name in assets:
            asset_dir = self.directory / name
            if not asset_dir.is_dir():
                continue
            for version, folder in sorted(_version_folders(asset_dir)):
                if (folder / METADATA_FILE).is_file():
                    metadata = json.loads((folder / METADATA_FILE).read_text())
                    records.append(ModelRecord(name, version, folder, bool(metadata["promoted"]), metadata))
        return records

    def latest_promoted(self, asset: str, expected_spec: FeatureSpec) -> LoadedModel | None:
        """The newest promoted model of `asset`, or None if there is none.

        Raises FeatureSpecMismatch if that model's features differ from `expected_spec`:
        the caller's features changed since training, and the model must be retrained.
        """
        promoted = [r for r in self.list(asset) if r.promoted]
        if not promoted:
            return None
        record = promoted[-1]
        stored = record.spec
        if stored.fingerprint != record.metadata["feature_fingerprint"]:
            raise ValueError(f"{record.path}: feature spec does not match its recorded fingerprint")
        try:
            expected_spec.require_same(stored)
        except ValueError as mismatch:
            raise FeatureSpecMismatch(
                f"refusing {asset} model v{record.version} ({record.path}): {mismatch}"
            ) from None
        classifier = xgboost.XGBClassifier()
        classifier.load_model(str(record.path / MODEL_FILE))
        return LoadedModel(record, stored, classifier)


def _checked_asset(asset: str) -> str:
    # The asset becomes a folder name: no separators, no leading dot, nothing to escape the registry.
    if not ASSET_NAME.match(asset):
        raise ValueError(f"asset name {asset!r} is not usable as a registry folder (letters, digits, _ . -)")
    return asset


def _version_folders(asset_dir: Path) -> list[tuple[int, Path]]:
    found = []
    for entry in asset_dir.iterdir():
        match = VERSION_FOLDER.match(entry.name)
        if match and entry.is_dir():
            found.append((int(match.group(1)), entry))
    return found


def _metadata(result: TrainingResult, version: int, created_at: datetime) -> dict[str, Any]:
    if created_at.tzinfo is None:
        raise ValueError("created_at must be timezone-aware")
    return {
        "format": METADATA_FORMAT,
        "asset": result.asset,
        "version": version,
        "horizon": result.horizon,
        "bar_seconds": result.bar_seconds,
        "feature_spec": result.spec.to_dict(),
        "feature_fingerprint": result.spec.fingerprint,
        "features": list(result.spec.names),
        "training_window": {
            "start": result.train_start.isoformat(),
            "end": result.train_end.isoformat(),
            "rows": result.rows,
        },
        "folds": [fold.to_dict() for fold in result.folds],
        "mean_metrics": result.mean_model.to_dict(),
        "baseline_metrics": result.mean_baseline.to_dict(),
        "promoted": result.promoted,
        "promotion_reason": result.promotion_reason,
        "promotion_rule": asdict(result.rule),
        "xgb_params": asdict(result.xgb_params),
        "split": asdict(result.split),
        "xgboost_version": xgboost.__version__,
        "created_at": created_at.isoformat(),
        "data_hash": result.data_hash,
    }
