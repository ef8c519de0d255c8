"""OANDA as a conformance venue: the real oandapyV20 SDK against the fake v20 API over HTTP.

The adapter is built as the daemon builds it (settings + environment mapping through
`brokers.factory`); the only override is the venue's `base_url`, and the retry waits are
shortened so the suite stays fast.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from brokers.calls import RetryPolicy
from brokers.factory import connection_for
from brokers.oanda import OandaAdapter, connect
from config.schema import VenueSettings
from domain.instruments import AssetClass, Instrument
from tests.brokers.harness import FAULTS, PARTIAL_FILLS, WIRE, Routes
from tests.brokers.harnesses.fake_venue import FakeVenueHarness
from tests.fakes.exchange import FakeOrder
from tests.fakes.oanda import ACCESS_TOKEN, ACCOUNT_ID, FakeOanda

VENUE = "oanda-test"
SYMBOL = "EUR_USD"
FAST_RETRIES = RetryPolicy(attempts=3, base_wait=0.05, max_wait=0.2)


def fake_environ(token: str = ACCESS_TOKEN, account_id: str = ACCOUNT_ID) -> dict[str, str]:
    return {"OANDA_ACCESS_TOKEN": token, "OANDA_ACCOUNT_ID": account_id}


def settings_for(fake: FakeOanda, **overrides: object) -> VenueSettings:
    values: dict[str, object] = {
        "kind": "oanda",
        "asset_class": "forex",
        "environment": "sandbox",
        "base_url": fake.url,
        "symbols": [SYMBOL],
        "timeout_seconds": 1.0,
        "max_attempts": 3,
    }
    values.update(overrides)
    return VenueSettings.model_validate(values)


def build(settings: VenueSettings, environ: Mapping[str, str], name: str = VENUE) -> OandaAdapter:
    """`build_adapter`'s road (connection_for, then connect) with the fast retry policy."""
    connection = dataclasses.replace(connection_for(name, settings, environ), policy=FAST_RETRIES)
    return connect(connection)


class OandaHarness(FakeVenueHarness):
    name = "oanda"
    book_symbol = SYMBOL
    capabilities: frozenset[str] = frozenset({PARTIAL_FILLS, FAULTS, WIRE})
    routes: Routes | None = Routes(
        submit=("POST", "/orders"), quote=("GET", "/pricing"), balance=("GET", "/summary")
    )
    call_timeout_seconds = 1.0

    def __init__(self, tmp_path: Path) -> None:
        self.fake = FakeOanda().start()
        self.bid, self.ask = Decimal("1.08500"), Decimal("1.08510")
        self.fake.exchange.set_quote(SYMBOL, self.bid, self.ask)
        self.instrument = Instrument(
            symbol=SYMBOL,
            venue=VENUE,
            asset_class=AssetClass.FOREX,
            tick_size=Decimal("0.00001"),
            lot_size=Decimal("1"),
            underlying="EUR/USD",
            min_quantity=Decimal("1"),
        )
        self.quantity = Decimal("1000")
        self.resting_buy_price = Decimal("1.08000")
        self.settings = settings_for(self.fake)
        self._brokers: list[OandaAdapter] = []
        self.broker: OandaAdapter = self._new_broker()

    def _new_broker(self) -> OandaAdapter:
        broker = build(self.settings, fake_environ())
        self._brokers.append(broker)
        return broker

    def venue_order(self, client_order_id: str) -> FakeOrder | None:
        order: FakeOrder | None = self.fake.order_for(client_order_id)
        return order

    def fill(self, client_order_id: str, quantity: Decimal | None = None) -> None:
        self.fake.fill(client_order_id, quantity)

    def reject_next_order(self, reason: str) -> None:
        self.fake.reject_next(reason, "INSUFFICIENT_MARGIN")

    def restarted_broker(self) -> OandaAdapter:
        self.clear_faults()
        self.broker.close()
        self.broker = self._new_broker()
        return self.broker

    def close(self) -> None:
        for broker in self._brokers:
            broker.close()
        self.fake.stop()


def make_harness(tmp_path: Path) -> OandaHarness:
    return OandaHarness(tmp_path)
