"""Polymarket as a conformance venue: the real py-clob-client-v2 adapter against FakePolymarket over HTTP.

The adapter is built as the daemon builds it (`connection_for` + `connect` from a
`VenueSettings` whose base_url and data_url point at the fake, keys from an environment
mapping); only the retry waits are shortened so the suite stays fast. The venue is a
"sandbox" one, so orders are signed for Polygon Amoy (chain 80002) and the fake checks
signatures against that chain. The wallet is a throwaway `eth_account` key.

Polymarket orders carry no client order id; the fake finds ours by the order's salt,
which the adapter derives from the client order id (`salt_for`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from eth_account import Account

from brokers.calls import RetryPolicy
from brokers.factory import connection_for
from brokers.polymarket import PolymarketAdapter, connect
from brokers.polymarket_payloads import salt_for
from config.schema import VenueSettings
from domain.instruments import AssetClass, Instrument
from tests.brokers.harness import FAULTS, PARTIAL_FILLS, WIRE, Routes
from tests.brokers.harnesses.fake_venue import FakeVenueHarness
from tests.fakes.exchange import FakeOrder
from tests.fakes.polymarket import FakeMarket, FakePolymarket

VENUE = "polymarket-test"
AMOY_CHAIN_ID = 80002
TIMEOUT_SECONDS = 1.0
FAST_RETRIES = RetryPolicy(attempts=3, base_wait=0.05, max_wait=0.2)


def polymarket_settings(
    fake: FakePolymarket, symbols: tuple[str, ...], environment: str = "sandbox"
) -> VenueSettings:
    return VenueSettings(
        kind="polymarket",
        asset_class="prediction",
        environment=environment,  # type: ignore[arg-type]
        base_url=fake.url,
        data_url=fake.url,
        symbols=list(symbols),
        timeout_seconds=TIMEOUT_SECONDS,
        max_attempts=3,
    )


def wallet_environ(fake: FakePolymarket, ledger: Path, *, api_key: bool = True) -> dict[str, str]:
    """A throwaway wallet's environment: its key, (optionally) API creds the fake knows, a ledger file."""
    account = Account.create()
    environ = {"POLYMARKET_PRIVATE_KEY": account.key.to_0x_hex(), "POLYMARKET_ORDER_LEDGER": str(ledger)}
    if api_key:
        environ |= fake.register_api_key(account.address).environ()
    return environ


def build_polymarket(
    fake: FakePolymarket,
    environ: Mapping[str, str],
    symbols: tuple[str, ...],
    environment: str = "sandbox",
    name: str = VENUE,
) -> PolymarketAdapter:
    """The adapter exactly as the daemon builds it, with short retry waits."""
    connection = connection_for(name, polymarket_settings(fake, symbols, environment), environ)
    return connect(dataclasses.replace(connection, policy=FAST_RETRIES))


class PolymarketHarness(FakeVenueHarness):
    name = "polymarket"
    capabilities: frozenset[str] = frozenset({PARTIAL_FILLS, FAULTS, WIRE})
    routes: Routes | None = Routes(
        submit=("POST", "/order"), quote=("GET", "/book"), balance=("GET", "/balance-allowance")
    )
    call_timeout_seconds = TIMEOUT_SECONDS

    def __init__(self, tmp_path: Path) -> None:
        self.bid, self.ask = Decimal("0.48"), Decimal("0.52")
        self.quantity = Decimal("10")
        self.resting_buy_price = Decimal("0.40")
        self.fake = FakePolymarket(chain_id=AMOY_CHAIN_ID).start()
        self.market: FakeMarket = self.fake.add_market(
            "Will the high at Chicago Midway exceed 38.5F on Friday?"
        )
        self.token_id = self.market.token_ids[0]
        self.book_symbol = self.token_id
        self.fake.set_quote(self.token_id, self.bid, self.ask)
        symbol = f"{self.market.condition_id}:YES"
        self.instrument = Instrument(
            symbol=symbol,
            venue=VENUE,
            asset_class=AssetClass.PREDICTION,
            tick_size=Decimal("0.01"),
            lot_size=Decimal("0.01"),
            underlying=self.market.condition_id,
            min_quantity=Decimal("5"),
        )
        self.environ = wallet_environ(self.fake, tmp_path / "polymarket-orders.jsonl")
        self._brokers: list[PolymarketAdapter] = []
        self.broker: PolymarketAdapter = self._new_broker()

    def _new_broker(self) -> PolymarketAdapter:
        broker = build_polymarket(self.fake, self.environ, (self.instrument.symbol,))
        self._brokers.append(broker)
        return broker

    def venue_order(self, client_order_id: str) -> FakeOrder | None:
        return self.fake.order_with_salt(salt_for(client_order_id))

    def restarted_broker(self) -> PolymarketAdapter:
        self.broker = self._new_broker()
        return self.broker

    def close(self) -> None:
        for broker in self._brokers:
            broker.close()
        self.fake.stop()


def make_harness(tmp_path: Path) -> PolymarketHarness:
    return PolymarketHarness(tmp_path)
