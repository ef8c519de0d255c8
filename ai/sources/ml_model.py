"""The ML source: the promoted XGBoost model of the signal's asset, asked for P(up).

The model in use is the asset's newest promoted version (`ModelRegistry.latest_promoted`);
it is looked up again at most every `reload_seconds`, so a weekly retraining that
promotes a new version is picked up without a restart. The model is fed the bars it
was trained on (`bar_seconds` in its metadata) and the features of its recorded spec.

Vote = 2 * P(up) - 1; confidence = |2 * P(up) - 1|. Abstains with no model configured
or promoted for the asset, a model trained on other features, or too few clean bars.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ai.votes import Abstention, SourceResult, Vote
from domain.signals import Signal
from ml_models.features import DEFAULT_PARAMS, compute_features, drop_warm_up
from ml_models.models.registry import FeatureSpecMismatch, LoadedModel, ModelRegistry

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Cached:
    model: LoadedModel | None
    checked_at: datetime


@dataclass(slots=True)
class MlModelSource:
    """`assets` maps an instrument's symbol (e.g. "BTC/USD") to its registry asset (e.g. "BTC")."""

    registry_dir: Path
    assets: Mapping[str, str]
    reload_seconds: float = 300.0
    name: str = "ml_model"
    _cache: dict[str, _Cached] = field(default_factory=dict)

    async def vote(self, signal: Signal, hub: object) -> SourceResult:
        symbol = signal.instrument.symbol
        asset = self.assets.get(symbol)
        if asset is None:
            return Abstention(self.name, f"no model is configured for {symbol}")
        now: datetime = getattr(hub, "now", signal.time)
        try:
            model = self._model(asset, now)
        except FeatureSpecMismatch as mismatch:
            return Abstention(self.name, str(mismatch))
        if model is None:
            return Abstention(self.name, f"no promoted model for {asset}")
        bar_seconds = model.record.metadata.get("bar_seconds")
        if not isinstance(bar_seconds, int) or bar_seconds < 60:
            return Abstention(self.name, f"{asset} v{model.record.version} does not record its bar length")
        needed = DEFAULT_PARAMS.warm_up_bars + 1  # latest_promoted checked the spec is these params
        bars = await hub.bars(signal.instrument, bar_seconds, needed + 5)  # type: ignore[attr-defined]
        if bars is None or len(bars) < needed:
            got = 0 if bars is None else len(bars)
            return Abstention(self.name, f"{got} bars of {bar_seconds} s; the model needs {needed}")
        try:
            features = drop_warm_up(compute_features(bars, DEFAULT_PARAMS))
            p_up = float(model.predict_proba_up(features.iloc[-1:])[0])
        except ValueError as problem:
            return Abstention(self.name, f"features not usable: {problem}")
        if not math.isfinite(p_up):
            return Abstention(self.name, "the model answered a non-finite probability")
        value = 2.0 * p_up - 1.0
        closed = datetime.fromtimestamp(float(bars.times[-1]) + bar_seconds, UTC)
        return Vote(
            self.name,
            value,
            abs(value),
            {
                "asset": asset,
                "version": model.record.version,
                "p_up": round(p_up, 4),
                "bar_seconds": bar_seconds,
            },
            closed,
        )

    def _model(self, asset: str, now: datetime) -> LoadedModel | None:
        cached = self._cache.get(asset)
        if cached is not None and now - cached.checked_at < timedelta(seconds=self.reload_seconds):
            return cached.model
        model = ModelRegistry(self.registry_dir).latest_promoted(asset, DEFAULT_PARAMS.spec)
        previous = None if cached is None or cached.model is None else cached.model.record.version
        if model is not None and model.record.version != previous:
            log.info("ML source: %s model v%d in use", asset, model.record.version)
        self._cache[asset] = _Cached(model, now)
        return model
