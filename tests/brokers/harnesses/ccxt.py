"""The generic ccxt adapter (kind "ccxt", exchange "binance") against the fake Binance spot API.

The adapter is built as the daemon builds it (`connection_for` from VenueSettings and a test
environment), with a fast retry policy; ccxt reaches the fake through its own URL table.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

from brokers.calls import RetryPolicy
from brokers.ccxt_venue import CcxtVenueAdapter, connect
from brokers.factory import connection_for
from config.schema import VenueSettings
from domain.instruments import AssetClass, Instrument
from tests.brokers.harness import FAULTS, PARTIAL_FILLS, WIRE, Routes
from tests.brokers.harnesses.fake_venue import FakeVenueHarness
from tests.fakes.binance import FakeBinance, Listing

VENUE = "binance-test"
API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
ENVIRON = {"CCXT_API_KEY": API_KEY, "CCXT_SECRET": SECRET}
SYMBOL = "BTC/USDT"
BINANCE_SYMBOL = "BTCUSDT"


def binance_settings(base_url: str | None, **overrides: object) -> VenueSettings:
    fields: dict[str, object] = {
        "kind": "ccxt",
        "exchange": "binance",
        "asset_class": "crypto",
        "environment": "sandbox",
        "base_url": base_url,
        "symbols": [SYMBOL],
        "max_attempts": 3,
        "timeout_seconds": 1.0,
    }
    fields.update(overrides)
    return VenueSettings(**fields)  # type: ignore[arg-type]


def binance_adapter(base_url: str, environ: dict[str, str] | None = None) -> CcxtVenueAdapter:
    connection = connection_for(VENUE, binance_settings(base_url), ENVIRON if environ is None else environ)
    connection = dataclasses.replace(connection, policy=RetryPolicy(attempts=3, base_wait=0.05, max_wait=0.2))
    return connect(connection)


def started_fake() -> FakeBinance:
    fake = FakeBinance(keys={API_KEY: SECRET})
    fake.list_symbol(Listing(BINANCE_SYMBOL, "BTC", "USDT", "0.01", "0.00001", "0.00001", "5.00000000"))
    fake.exchange.set_quote(BINANCE_SYMBOL, "50000.00", "50000.10")
    return fake.start()


class CcxtHarness(FakeVenueHarness):
    name = "ccxt"
    book_symbol = BINANCE_SYMBOL
    capabilities: frozenset[str] = frozenset({PARTIAL_FILLS, FAULTS, WIRE})
    routes: Routes | None = Routes(
        submit=("POST", "/api/v3/order"), quote=("GET", "/api/v3/depth"), balance=("GET", "/api/v3/account")
    )
    call_timeout_seconds = 1.0

    def __init__(self, tmp_path: Path) -> None:
        self.fake = started_fake()
        self.bid, self.ask = Decimal("50000.00"), Decimal("50000.10")
        self.quantity = Decimal("0.01")
        self.resting_buy_price = Decimal("49000.00")
        self.instrument = Instrument(
            symbol=SYMBOL,
            venue=VENUE,
            asset_class=AssetClass.CRYPTO,
            tick_size=Decimal("0.01"),
            lot_size=Decimal("0.00001"),
            underlying="BTC",
            min_quantity=Decimal("0.00001"),
            min_notional=Decimal("5"),
            quote_currency="USDT",
        )
        self.broker: CcxtVenueAdapter = binance_adapter(self.fake.url)

    def restarted_broker(self) -> CcxtVenueAdapter:
        self.broker = binance_adapter(self.fake.url)
        return self.broker

    def close(self) -> None:
        self.fake.stop()


def make_harness(tmp_path: Path) -> CcxtHarness:
    return CcxtHarness(tmp_path)
