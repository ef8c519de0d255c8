"""Kalshi as a conformance venue: the real adapter and SDK, over HTTP, against tests/fakes/kalshi.py.

The adapter is built as the daemon builds it (`connection_for` + `brokers.kalshi.connect`,
credentials from an environment mapping, the fake reached through `base_url`), with a
faster retry policy so the fault tests stay quick. The signing key is a real RSA key
generated here; 1024 bits rather than Kalshi's 2048, because kalshi-python re-reads
and validates the PEM on every request (70 ms for 2048 bits, 10 ms for 1024).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from brokers import kalshi
from brokers.calls import RetryPolicy
from brokers.factory import connection_for
from brokers.kalshi import KalshiAdapter
from config.schema import VenueSettings
from domain.instruments import AssetClass, Instrument
from tests.brokers.harness import FAULTS, PARTIAL_FILLS, WIRE, Routes, SentOrder
from tests.brokers.harnesses.fake_venue import FakeVenueHarness
from tests.fakes.kalshi import FakeKalshi

KEY_ID = "0f5e6c1a-3b7d-4e29-9c41-8a2d7b6e5f10"
TICKER = "KXHIGHCHI-26FEB09-B38.5"
VENUE = "kalshi"
FAST_RETRIES = RetryPolicy(attempts=3, base_wait=0.05, max_wait=0.2)


@lru_cache(maxsize=4)
def signing_key(which: str = "ours") -> rsa.RSAPrivateKey:
    """A test RSA key per name (cached: key generation is the slowest part of a harness)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)


def pem_of(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


class KalshiHarness(FakeVenueHarness):
    name = "kalshi"
    book_symbol = TICKER
    capabilities: frozenset[str] = frozenset({PARTIAL_FILLS, FAULTS, WIRE})
    routes: Routes | None = Routes(
        submit=("POST", "/portfolio/orders"),
        quote=("GET", "/orderbook"),
        balance=("GET", "/portfolio/balance"),
    )
    call_timeout_seconds = 1.0  # the SDK's HTTP timeout set below (timeout_seconds)

    def __init__(self, tmp_path: Path) -> None:
        self.fake = FakeKalshi(KEY_ID, signing_key().public_key()).start()
        self.fake.add_market(TICKER)
        self.bid, self.ask = Decimal("0.26"), Decimal("0.28")
        self.fake.exchange.set_quote(TICKER, self.bid, self.ask)  # book: YES bid 0.26, NO bid 0.72
        self.key_path = tmp_path / "kalshi-private-key.pem"
        self.key_path.write_text(pem_of(signing_key()))
        self.environ: dict[str, str] = {
            "KALSHI_API_KEY_ID": KEY_ID,
            "KALSHI_PRIVATE_KEY_PATH": str(self.key_path),
        }
        self.instrument = Instrument(
            symbol=TICKER,
            venue=VENUE,
            asset_class=AssetClass.PREDICTION,
            tick_size=Decimal("0.01"),
            lot_size=Decimal("1"),
            underlying="KXHIGHCHI-26FEB09",
            min_quantity=Decimal("1"),
        )
        self.quantity = Decimal("10")
        self.resting_buy_price = Decimal("0.20")
        self.broker: KalshiAdapter = self.build()

    def settings(self, **overrides: object) -> VenueSettings:
        fields: dict[str, object] = {
            "kind": "kalshi",
            "asset_class": "prediction",
            "environment": "sandbox",
            "base_url": self.fake.base_url,
            "symbols": [TICKER],
            "timeout_seconds": self.call_timeout_seconds,
            "max_attempts": 3,
        }
        fields.update(overrides)
        return VenueSettings(**fields)  # type: ignore[arg-type]

    def build(
        self,
        environ: Mapping[str, str] | None = None,
        policy: RetryPolicy = FAST_RETRIES,
        **overrides: object,
    ) -> KalshiAdapter:
        """An adapter as the daemon builds one (settings `overrides`), with a fast retry policy."""
        connection = connection_for(
            VENUE, self.settings(**overrides), self.environ if environ is None else environ
        )
        return kalshi.connect(dataclasses.replace(connection, policy=policy))

    # ------------------------------------------------------------------ VenueHarness
    def sent_order(self, client_order_id: str) -> SentOrder | None:
        order = self.fake.order_by_client_id(client_order_id)
        if order is None:
            return None
        # what arrived on the wire, as the strings Kalshi received
        return SentOrder(
            Decimal(str(order.extra["yes_price_dollars"])), Decimal(str(order.extra["count_fp"]))
        )

    def restarted_broker(self) -> KalshiAdapter:
        self.broker = self.build()
        return self.broker

    def close(self) -> None:
        self.fake.stop()


def make_harness(tmp_path: Path) -> KalshiHarness:
    return KalshiHarness(tmp_path)
