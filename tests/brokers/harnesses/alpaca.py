"""Alpaca as a conformance venue: the real alpaca-py adapter against FakeAlpaca over HTTP.

The adapter is built as the daemon builds it (`connection_for` + `connect` from
a `VenueSettings` whose base_url and data_url point at the fake, keys from an
environment mapping); only the retry waits are shortened so the suite stays fast.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from brokers.alpaca import AlpacaAdapter, connect
from brokers.calls import RetryPolicy
from brokers.factory import connection_for
from config.schema import VenueSettings
from domain.instruments import AssetClass, Instrument
from tests.brokers.harness import FAULTS, PARTIAL_FILLS, WIRE, Routes
from tests.brokers.harnesses.fake_venue import FakeVenueHarness
from tests.fakes.alpaca import API_KEY, SECRET_KEY, FakeAlpaca, stock_asset

VENUE = "alpaca-paper"
ENVIRON: Mapping[str, str] = {"ALPACA_API_KEY": API_KEY, "ALPACA_SECRET_KEY": SECRET_KEY}
TIMEOUT_SECONDS = 1.0
FAST_RETRIES = RetryPolicy(attempts=3, base_wait=0.05, max_wait=0.2)


def alpaca_settings(
    fake: FakeAlpaca, asset_class: str = "stock", symbols: tuple[str, ...] = ("SPY",)
) -> VenueSettings:
    return VenueSettings(
        kind="alpaca",
        asset_class=asset_class,  # type: ignore[arg-type]
        environment="sandbox",
        base_url=fake.url,
        data_url=fake.url,
        symbols=list(symbols),
        timeout_seconds=TIMEOUT_SECONDS,
        max_attempts=3,
    )


def build_alpaca(
    fake: FakeAlpaca,
    asset_class: str = "stock",
    symbols: tuple[str, ...] = ("SPY",),
    environ: Mapping[str, str] = ENVIRON,
    name: str = VENUE,
) -> AlpacaAdapter:
    """The adapter exactly as the daemon builds it, with short retry waits."""
    connection = connection_for(name, alpaca_settings(fake, asset_class, symbols), environ)
    return connect(dataclasses.replace(connection, policy=FAST_RETRIES))


class AlpacaHarness(FakeVenueHarness):
    name = "alpaca"
    book_symbol = "SPY"
    capabilities: frozenset[str] = frozenset({PARTIAL_FILLS, FAULTS, WIRE})
    routes: Routes | None = Routes(
        submit=("POST", "/v2/orders"), quote=("GET", "/quotes/latest"), balance=("GET", "/v2/account")
    )
    call_timeout_seconds = TIMEOUT_SECONDS

    def __init__(self, tmp_path: Path) -> None:
        self.bid, self.ask = Decimal("99.99"), Decimal("100.01")
        self.quantity = Decimal("10")
        self.resting_buy_price = Decimal("99.50")
        self.fake = FakeAlpaca().start()
        self.fake.add_asset(stock_asset("SPY"))
        self.fake.exchange.set_quote("SPY", self.bid, self.ask)
        self.instrument = Instrument(
            symbol="SPY",
            venue=VENUE,
            asset_class=AssetClass.STOCK,
            tick_size=Decimal("0.01"),
            lot_size=Decimal("1"),
            underlying="SPY",
            min_quantity=Decimal("1"),
        )
        self._brokers: list[AlpacaAdapter] = []
        self.broker: AlpacaAdapter = self._new_broker()

    def _new_broker(self) -> AlpacaAdapter:
        broker = build_alpaca(self.fake)
        self._brokers.append(broker)
        return broker

    def restarted_broker(self) -> AlpacaAdapter:
        self.broker = self._new_broker()
        return self.broker

    def close(self) -> None:
        for broker in self._brokers:
            broker.close()
        self.fake.stop()


def make_harness(tmp_path: Path) -> AlpacaHarness:
    return AlpacaHarness(tmp_path)
