"""Trained models on disk: XGBoost JSON weights with metadata, and the registry that loads them."""

from ml_models.models.registry import FeatureSpecMismatch, LoadedModel, ModelRecord, ModelRegistry

__all__ = ["FeatureSpecMismatch", "LoadedModel", "ModelRecord", "ModelRegistry"]
