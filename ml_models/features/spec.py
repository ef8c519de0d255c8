"""FeatureSpec: the exact inputs a model was trained on, recorded and checked again at inference."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

ParameterValue = int | float | tuple[int, ...]


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """Ordered feature names, the parameters that produced them, and the formula version.

    A model stores `to_dict()` next to its weights; before predicting, the caller builds
    the spec of the features it is about to feed and calls `require_same`, so a changed
    window, a reordered column or a revised formula stops the model instead of quietly
    degrading it. `fingerprint` is a short hash of all three, handy in logs and file names.
    """

    version: str
    names: tuple[str, ...]
    parameters: tuple[tuple[str, ParameterValue], ...]

    def __post_init__(self) -> None:
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"feature names must be unique: {self.names}")

    @property
    def fingerprint(self) -> str:
        payload = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "names": list(self.names),
            "parameters": {
                key: list(value) if isinstance(value, tuple) else value for key, value in self.parameters
            },
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> FeatureSpec:
        try:
            parameters = tuple(
                (str(key), tuple(int(v) for v in value) if isinstance(value, list) else value)
                for key, value in dict(values["parameters"]).items()
            )
            return cls(str(values["version"]), tuple(str(n) for n in values["names"]), parameters)
        except KeyError as missing:
            raise ValueError(f"feature spec record lacks key {missing}") from None

    def differences(self, other: FeatureSpec) -> list[str]:
        """What differs between this spec (the expected one) and `other`, in words; empty when equal."""
        found = []
        if self.version != other.version:
            found.append(f"version {other.version!r} instead of {self.version!r}")
        if self.names != other.names:
            missing = [n for n in self.names if n not in other.names]
            extra = [n for n in other.names if n not in self.names]
            if missing or extra:
                found.append(f"features missing {missing}, unexpected {extra}")
            else:
                found.append(f"features in a different order: {list(other.names)}")
        mine, theirs = dict(self.parameters), dict(other.parameters)
        for key in sorted(mine.keys() | theirs.keys()):
            if mine.get(key) != theirs.get(key):
                found.append(f"parameter {key} is {theirs.get(key)!r} instead of {mine.get(key)!r}")
        return found

    def require_same(self, other: FeatureSpec) -> None:
        """Raise ValueError unless `other` describes exactly the features this spec does."""
        found = self.differences(other)
        if found:
            raise ValueError(
                f"feature spec mismatch (expected {self.fingerprint}, got {other.fingerprint}): "
                + "; ".join(found)
            )

    def require_columns(self, frame: pd.DataFrame) -> None:
        """Raise ValueError unless `frame` has exactly this spec's columns, in this order."""
        columns = tuple(str(c) for c in frame.columns)
        if columns != self.names:
            missing = [n for n in self.names if n not in columns]
            extra = [c for c in columns if c not in self.names]
            raise ValueError(
                f"feature frame does not match spec {self.fingerprint}: missing {missing}, "
                f"unexpected {extra}" + ("" if missing or extra else ", columns out of order")
            )
