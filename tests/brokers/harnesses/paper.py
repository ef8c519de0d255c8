"""The paper broker as a conformance venue: quotes set by the test, fills by moving the market."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from brokers.base import Broker
from brokers.paper import FeeModel, PaperBroker, SlippageModel
from domain.instruments import AssetClass, Instrument
from domain.market import BarSeries, Quote
from domain.orders import OrderIntent
from tests.brokers.harness import Routes, SentOrder
from tests.fakes.server import Fault
from utils.clock import SimulatedClock

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


class _Quotes:
    def __init__(self, clock: SimulatedClock) -> None:
        self.clock = clock
        self.quotes: dict[str, tuple[Decimal, Decimal]] = {}

    async def quote(self, instrument: Instrument) -> Quote | None:
        pair = self.quotes.get(instrument.key)
        if pair is None:
            return None
        return Quote(instrument.key, pair[0], pair[1], self.clock.now(), "test")

    async def bars(self, instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None:
        return None


class PaperHarness:
    name = "paper"
    capabilities: frozenset[str] = frozenset()
    routes: Routes | None = None
    call_timeout_seconds = 1.0

    def __init__(self, tmp_path: Path) -> None:
        self.clock = SimulatedClock(T0)
        self.instrument = Instrument(
            symbol="SPY",
            venue="paper-test",
            asset_class=AssetClass.STOCK,
            tick_size=Decimal("0.01"),
            lot_size=Decimal("1"),
            underlying="SPY",
            min_quantity=Decimal("1"),
        )
        self.quantity = Decimal("10")
        self.bid, self.ask = Decimal("99.99"), Decimal("100.01")
        self.resting_buy_price = Decimal("99.50")
        self._market = _Quotes(self.clock)
        self._market.quotes[self.instrument.key] = (self.bid, self.ask)
        self._path = tmp_path / "paper.sqlite"
        self._brokers: list[PaperBroker] = []
        self.broker: PaperBroker = self._new_broker()

    def _new_broker(self) -> PaperBroker:
        broker = PaperBroker(
            venue="paper-test",
            instruments=[self.instrument],
            market_data=self._market,
            clock=self.clock,
            fees=FeeModel(taker_bps=Decimal(0), maker_bps=Decimal(0)),
            slippage=SlippageModel(fixed_bps=Decimal(0), impact_bps_per_10k=Decimal(0)),
            starting_cash=Decimal("100000"),
            max_quote_age_seconds=10.0,
            database_path=self._path,
        )
        self._brokers.append(broker)
        return broker

    def fill(self, client_order_id: str, quantity: Decimal | None = None) -> None:
        if quantity is not None:
            raise NotImplementedError("the paper broker fills resting orders in full")
        # the market comes down through our bid; the next call to the broker fills it
        self._market.quotes[self.instrument.key] = (self.resting_buy_price - 2, self.resting_buy_price)

    def inject(self, fault: Fault) -> None:
        raise NotImplementedError("the paper broker is not reached over HTTP")

    def clear_faults(self) -> None:
        return

    def request_times(self, method: str, path_contains: str) -> list[float]:
        return []

    def reject_next_order(self, reason: str) -> None:
        raise NotImplementedError

    def orders_at_venue(self) -> int:
        row = self.broker._db.execute("select count(*) from orders").fetchone()
        return int(row[0])

    def sent_order(self, client_order_id: str) -> SentOrder | None:
        row = self.broker._db.execute(
            "select limit_price, quantity from orders where client_order_id = ?", (client_order_id,)
        ).fetchone()
        if row is None:
            return None
        return SentOrder(Decimal(row[0]) if row[0] is not None else None, Decimal(row[1]))

    def add_position(self, quantity: Decimal, price: Decimal) -> None:
        with self.broker._db:
            self.broker._db.execute(
                "insert or replace into positions (instrument_key, quantity, average_entry_price) "
                "values (?, ?, ?)",
                (self.instrument.key, str(quantity), str(price)),
            )
        self.broker._holdings = self.broker._load_holdings()

    async def submit_and_lose_answer(self, intent: OrderIntent) -> None:
        await self.broker.submit(intent)  # the answer is dropped: the caller 'crashes' here

    def restarted_broker(self) -> Broker:
        self.broker.close()
        self.broker = self._new_broker()
        return self.broker

    def now(self) -> datetime:
        return self.clock.now()

    def close(self) -> None:
        for broker in self._brokers:
            broker.close()


def make_harness(tmp_path: Path) -> PaperHarness:
    return PaperHarness(tmp_path)
