"""The ccxt adapter (kind "coinbase") against the fake Coinbase Advanced Trade API.

Credentials are a CDP key: its name and an EC P-256 private key PEM, made for the test; the
fake holds the public key and verifies every request's ES256 JWT.

Quantity is 0.1 BTC (not 0.01): a Coinbase market buy is sized by its cost (quote_size =
quantity x ask, cut to the cent), so only a quantity whose cost at the 50000.10 ask is a whole
number of cents fills exactly the quantity asked, which the conformance suite requires.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from brokers.calls import RetryPolicy
from brokers.ccxt_venue import CcxtVenueAdapter, connect
from brokers.factory import connection_for
from config.schema import VenueSettings
from domain.instruments import AssetClass, Instrument
from tests.brokers.harness import FAULTS, PARTIAL_FILLS, WIRE, Routes
from tests.brokers.harnesses.fake_venue import FakeVenueHarness
from tests.fakes.coinbase import FakeCoinbase, Product

VENUE = "coinbase-test"
KEY_NAME = "organizations/5f1c2d3e-0a1b-4c2d-9e8f-7a6b5c4d3e2f/apiKeys/9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
SYMBOL = "BTC/USD"
PRODUCT_ID = "BTC-USD"


@cache
def cdp_private_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def cdp_secret(key: ec.EllipticCurvePrivateKey) -> str:
    """The key as Coinbase hands it out: a SEC1 "EC PRIVATE KEY" PEM."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def environ() -> dict[str, str]:
    return {"COINBASE_API_KEY": KEY_NAME, "COINBASE_SECRET": cdp_secret(cdp_private_key())}


def coinbase_settings(base_url: str | None, **overrides: object) -> VenueSettings:
    fields: dict[str, object] = {
        "kind": "coinbase",
        "asset_class": "crypto",
        "environment": "production",
        "base_url": base_url,
        "symbols": [SYMBOL],
        "max_attempts": 3,
        "timeout_seconds": 1.0,
    }
    fields.update(overrides)
    return VenueSettings(**fields)  # type: ignore[arg-type]


def coinbase_adapter(base_url: str, env: dict[str, str] | None = None) -> CcxtVenueAdapter:
    connection = connection_for(VENUE, coinbase_settings(base_url), environ() if env is None else env)
    connection = dataclasses.replace(connection, policy=RetryPolicy(attempts=3, base_wait=0.05, max_wait=0.2))
    return connect(connection)


def started_fake() -> FakeCoinbase:
    fake = FakeCoinbase(keys={KEY_NAME: cdp_private_key().public_key()})
    fake.list_product(Product(PRODUCT_ID, "BTC", "USD", "0.01", "0.00000001", "0.00001"))
    fake.exchange.set_quote(PRODUCT_ID, "50000.00", "50000.10")
    return fake.start()


class CoinbaseHarness(FakeVenueHarness):
    name = "coinbase"
    book_symbol = PRODUCT_ID
    capabilities: frozenset[str] = frozenset({PARTIAL_FILLS, FAULTS, WIRE})
    routes: Routes | None = Routes(
        submit=("POST", "/orders"), quote=("GET", "/product_book"), balance=("GET", "/accounts")
    )
    call_timeout_seconds = 1.0

    def __init__(self, tmp_path: Path) -> None:
        self.fake = started_fake()
        self.bid, self.ask = Decimal("50000.00"), Decimal("50000.10")
        self.quantity = Decimal("0.1")
        self.resting_buy_price = Decimal("49000.00")
        self.instrument = Instrument(
            symbol=SYMBOL,
            venue=VENUE,
            asset_class=AssetClass.CRYPTO,
            tick_size=Decimal("0.01"),
            lot_size=Decimal("0.00000001"),
            underlying="BTC",
            min_quantity=Decimal("0.00001"),
            min_notional=Decimal("1"),
            quote_currency="USD",
        )
        self.broker: CcxtVenueAdapter = coinbase_adapter(self.fake.url)

    def restarted_broker(self) -> CcxtVenueAdapter:
        self.broker = coinbase_adapter(self.fake.url)
        return self.broker

    def close(self) -> None:
        self.fake.stop()


def make_harness(tmp_path: Path) -> CoinbaseHarness:
    return CoinbaseHarness(tmp_path)
