"""The daemon's model retraining: weekly (and at start for assets without a model), in a worker.

The heavy part (`ml_models.retraining.retrain`) runs through the daemon's `Offloader`;
this side fetches the daemon's own bars when the source is "venue", records the run's
state in the journal (`ml_retraining`, for the dashboard and `status`), and publishes
a `models_retrained` event.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brokers.price_chain import PriceChain
from config.loader import ConfigError, LoadedConfig
from config.schema import MlSettings
from domain.instruments import Instrument
from domain.market import BarSeries
from ml_models.data import BarDataError, SimulationSettings, check_assets
from ml_models.locations import RETRAINING_STATUS_KEY, models_directory
from ml_models.retraining import RetrainJob, registry_has_model, retrain
from runtime.events import Event, EventBus
from storage.repository import Repository
from utils.clock import Clock
from utils.offload import Offloader

log = logging.getLogger("ml.retraining")


def check_ml_settings(config: LoadedConfig, instruments: dict[str, Instrument]) -> None:
    """ConfigError naming the key when `[ml]` asks for assets its source cannot serve."""
    ml = config.settings.ml
    if not ml.enabled:
        return
    if ml.source == "venue":
        for asset in ml.assets:
            key = ml.instruments[asset]
            if key not in instruments:
                raise ConfigError(
                    config.settings_path,
                    f"ml.instruments.{asset}",
                    f"{key!r} is not an instrument of any configured venue",
                )
        return
    try:
        check_assets(ml.source, tuple(ml.assets))
    except BarDataError as problem:
        raise ConfigError(config.settings_path, "ml.assets", str(problem)) from None


@dataclass(slots=True)
class ModelRetraining:
    settings: MlSettings
    var_dir: Path
    simulation_seed: int
    simulation_day_seconds: int
    clock: Clock
    prices: PriceChain
    instruments: dict[str, Instrument]
    offloader: Offloader
    repository: Repository
    bus: EventBus

    @property
    def registry_dir(self) -> Path:
        return models_directory(self.var_dir)

    def assets_without_model(self) -> list[str]:
        return [a for a in self.settings.assets if not registry_has_model(self.registry_dir, a)]

    async def run(self, why: str) -> list[dict[str, Any]]:
        """One retraining run of every configured asset; returns the outcomes as dicts."""
        settings = self.settings
        started = self.clock.now()
        status: dict[str, Any] = {
            "state": "running",
            "why": why,
            "started_at": started.isoformat(),
            "finished_at": None,
            "source": settings.source,
            "message": f"retraining {', '.join(settings.assets)} on {settings.source} bars",
            "outcomes": [],
        }
        self._store(status)
        log.info("model retraining started (%s): %s", why, status["message"])
        try:
            job = RetrainJob(
                registry_dir=str(self.registry_dir),
                assets=tuple(settings.assets),
                source=settings.source,
                now=started,
                horizon=settings.horizon,
                simulation=SimulationSettings(
                    bars=settings.bars,
                    timeframe_seconds=settings.timeframe_seconds,
                    seed=self.simulation_seed,
                    day_seconds=self.simulation_day_seconds,
                ),
                venue_bars=await self._venue_bars() if settings.source == "venue" else {},
                venue_names=dict(settings.instruments),
            )
            outcomes = [o.to_dict() for o in await self.offloader.run(retrain, job)]
        except Exception as failure:
            log.exception("model retraining failed")
            status.update(
                state="failed",
                finished_at=self.clock.now().isoformat(),
                message=f"{type(failure).__name__}: {failure}",
            )
            self._store(status)
            return []
        promoted = [o["asset"] for o in outcomes if o["promoted"]]
        status.update(
            state="done",
            finished_at=self.clock.now().isoformat(),
            outcomes=outcomes,
            message=(
                f"{len(outcomes)} assets retrained; "
                + (f"new models in use: {', '.join(promoted)}" if promoted else "no new model promoted")
            ),
        )
        self._store(status)
        self.bus.publish(
            Event("models_retrained", self.clock.now(), status["message"], {"outcomes": outcomes})
        )
        log.info("model retraining done: %s", status["message"])
        return outcomes

    async def _venue_bars(self) -> dict[str, BarSeries]:
        bars = {}
        for asset in self.settings.assets:
            instrument = self.instruments[self.settings.instruments[asset]]
            series = await self.prices.bars(instrument, self.settings.timeframe_seconds, self.settings.bars)
            if series is None or len(series) == 0:
                raise BarDataError(f"{asset}: no bars of {instrument.key} from its venue")
            bars[asset] = series
        return bars

    def _store(self, status: dict[str, Any]) -> None:
        text = json.dumps(status, allow_nan=False, default=str)
        self.repository.set_daemon_value(RETRAINING_STATUS_KEY, text)
