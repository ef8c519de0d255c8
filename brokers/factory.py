"""Builds a live venue adapter from its configuration and the environment.

Each adapter module exposes `CREDENTIALS` (the keys it needs) and
`connect(connection) -> Broker`. Modules are imported only when a venue of
their kind is configured, so the default (simulated) run never loads an SDK.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from brokers.base import Broker
from brokers.calls import RetryPolicy
from brokers.credentials import Credentials, read_credentials
from config.schema import VenueSettings
from domain.instruments import AssetClass

ADAPTER_MODULES: dict[str, str] = {
    "alpaca": "brokers.alpaca",
    "oanda": "brokers.oanda",
    "kalshi": "brokers.kalshi",
    "polymarket": "brokers.polymarket",
    "coinbase": "brokers.ccxt_venue",
    "ccxt": "brokers.ccxt_venue",
}


@dataclass(frozen=True, slots=True)
class VenueConnection:
    """Everything an adapter needs to reach its venue: where, as whom, and how patiently."""

    name: str  # the venue's name in the configuration; instruments carry it as `venue`
    kind: str
    asset_class: AssetClass
    environment: str  # "sandbox" or "production"
    symbols: tuple[str, ...]
    credentials: Credentials = field(repr=False)
    base_url: str | None = None
    data_url: str | None = None
    exchange: str | None = None
    timeout_seconds: float = 10.0
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    requests_per_second: float | None = None
    credentials_env_prefix: str = ""  # where the keys came from, for messages naming the variables
    state_dir: Path = Path("var")  # where an adapter keeps what must survive a restart (the daemon's var_dir)

    @property
    def env_prefix(self) -> str:
        return self.credentials_env_prefix or self.kind.upper()


def connection_for(
    name: str, settings: VenueSettings, environ: Mapping[str, str], state_dir: Path = Path("var")
) -> VenueConnection:
    """The connection of a configured venue; raises `CredentialsMissing` when keys are absent."""
    if settings.kind == "simulated":
        raise ValueError(f"venue {name!r} is simulated: it has no adapter")
    module = importlib.import_module(ADAPTER_MODULES[settings.kind])
    prefix = settings.credentials_env_prefix or settings.kind.upper()
    credentials = read_credentials(name, prefix, module.CREDENTIALS, environ)
    return VenueConnection(
        name=name,
        kind=settings.kind,
        asset_class=AssetClass(settings.asset_class),
        environment=settings.environment,
        symbols=tuple(settings.symbols),
        credentials=credentials,
        base_url=settings.base_url,
        data_url=settings.data_url,
        exchange=settings.exchange,
        timeout_seconds=settings.timeout_seconds,
        policy=RetryPolicy(attempts=settings.max_attempts),
        requests_per_second=settings.requests_per_second,
        credentials_env_prefix=prefix,
        state_dir=state_dir,
    )


def build_adapter(
    name: str, settings: VenueSettings, environ: Mapping[str, str], state_dir: Path = Path("var")
) -> Broker:
    connection = connection_for(name, settings, environ, state_dir)
    module = importlib.import_module(ADAPTER_MODULES[settings.kind])
    broker: Broker = module.connect(connection)
    return broker
