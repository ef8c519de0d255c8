"""The default settings with some of the default registry's prediction bots, for daemon tests over
simulated days: slower housekeeping jobs (fills every 30 s rather than 2 s) so a day takes seconds."""

from __future__ import annotations

from pathlib import Path

from config.loader import LoadedConfig, load_config
from config.schema import Registry
from runtime.wiring import with_coarse_housekeeping, with_paths


def prediction_config(root: Path, names: set[str]) -> LoadedConfig:
    """The named bots of the default registry (each must be there) on the default settings."""
    base = with_coarse_housekeeping(load_config())
    bots = [bot for bot in base.registry.bots if bot.name in names]
    assert {bot.name for bot in bots} == names, (
        f"not in the default registry: {names - {b.name for b in bots}}"
    )
    config = LoadedConfig(base.settings, Registry(bots=bots), base.settings_path, base.registry_path)
    return with_paths(config, database=root / "trading.sqlite", var_dir=root / "var")
