"""PaperBroker: fills, resting limits, refusals, idempotency and its own books on disk.

Quotes come from `FixedQuotes`, a market data source that returns what the test
set; the clock is a SimulatedClock, so quote ages are exact.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import pytest

from brokers.base import Broker, MarketDataSource, VenueOrder
from brokers.paper import FeeModel, PaperBroker, SlippageModel
from domain.fees import KalshiFees
from domain.instruments import AssetClass, Instrument
from domain.market import BarSeries, Quote
from domain.orders import OrderIntent, OrderStatus, OrderType, TimeInForce, client_order_id_for
from domain.signals import Side
from tests.factories import crypto, stock
from utils.clock import SimulatedClock

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
V = TypeVar("V", Quote, OrderIntent)
SPY = stock("SPY", min_quantity=Decimal(1))
XLE = stock("XLE", min_quantity=Decimal(1))
BRK = stock("BRK", min_quantity=Decimal(10))


class FixedQuotes:
    """A market data source that answers with whatever quote the test last set."""

    def __init__(self) -> None:
        self.quotes: dict[str, Quote] = {}

    def set(self, instrument: Instrument, bid: str, ask: str, time: datetime = T0) -> None:
        self.quotes[instrument.key] = Quote(instrument.key, Decimal(bid), Decimal(ask), time, "fixed")

    async def quote(self, instrument: Instrument) -> Quote | None:
        return self.quotes.get(instrument.key)

    async def bars(self, instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None:
        return None


class Venue:
    """A paper broker on sim-stocks with its clock and quotes: taker 10 bp, maker 5 bp,
    slippage 2 bp plus 1 bp per $10k, $10,000 cash, quotes older than 10 s refused."""

    def __init__(self, path: Path, starting_cash: str = "10000", quotes: FixedQuotes | None = None) -> None:
        self.clock = SimulatedClock(T0)
        self.quotes = quotes or FixedQuotes()
        self.quotes.set(SPY, "99.99", "100.01")
        self.path = path
        self.broker = PaperBroker(
            venue="sim-stocks",
            instruments=[SPY, XLE, BRK],
            market_data=self.quotes,
            clock=self.clock,
            fees=FeeModel(taker_bps=Decimal(10), maker_bps=Decimal(5)),
            slippage=SlippageModel(fixed_bps=Decimal(2), impact_bps_per_10k=Decimal(1)),
            starting_cash=Decimal(starting_cash),
            max_quote_age_seconds=10.0,
            database_path=path,
        )

    def submit(self, order: OrderIntent) -> VenueOrder:
        return asyncio.run(self.broker.submit(order))

    def status(self, client_order_id: str) -> VenueOrder | None:
        return asyncio.run(self.broker.order_status(client_order_id))

    def cash(self) -> Decimal:
        return asyncio.run(self.broker.balance()).cash

    def rows(self, query: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(self.path) as connection:
            return connection.execute(query).fetchall()


@pytest.fixture
def venue(tmp_path: Path) -> Venue:
    return Venue(tmp_path / "paper_sim-stocks.sqlite")


def order(
    side: Side = Side.BUY,
    quantity: str = "10",
    *,
    instrument: Instrument = SPY,
    limit: str | None = None,
    tif: TimeInForce = TimeInForce.GTC,
    signal_id: str = "sig-1",
) -> OrderIntent:
    return OrderIntent(
        client_order_id=client_order_id_for(signal_id),
        signal_id=signal_id,
        bot="bot-a",
        instrument=instrument,
        side=side,
        quantity=Decimal(quantity),
        order_type=OrderType.MARKET if limit is None else OrderType.LIMIT,
        time_in_force=tif,
        created_at=T0,
        limit_price=None if limit is None else Decimal(limit),
    )


def unchecked(value: V, **fields: object) -> V:
    """A copy of a frozen value with fields set past its own validation (a sloppy adapter's output)."""
    copy = replace(value)
    for name, field_value in fields.items():
        object.__setattr__(copy, name, field_value)
    return copy


# ----------------------------------------------------------------------------------------------
# Market orders
# ----------------------------------------------------------------------------------------------
def test_market_buy_fills_at_the_ask_moved_by_slippage_and_rounded_up_with_a_taker_fee(venue: Venue) -> None:
    # notional at the ask: 10 x 100.01 = 1000.10 -> slippage 2 + 1 x 1000.10 / 10000 = 2.10010 bp
    # 100.01 x (1 + 0.000210010) = 100.0310031 -> up to the tick: 100.04
    # fee: 10 bp of 10 x 100.04 = 1000.40 -> 1.00040; cash 10000 - 1000.40 - 1.0004 = 8998.5996
    answer = venue.submit(order(Side.BUY, "10"))
    assert answer.status is OrderStatus.FILLED
    assert answer.filled_quantity == 10 and answer.average_fill_price == Decimal("100.04")
    [fill] = asyncio.run(venue.broker.fills_since(T0))
    assert fill.price == Decimal("100.04") and fill.fee == Decimal("1.0004")
    assert fill.time == T0 and fill.venue == "sim-stocks" and fill.instrument_key == SPY.key
    assert venue.cash() == Decimal("8998.5996")
    [position] = asyncio.run(venue.broker.positions())
    assert position.quantity == 10 and position.average_entry_price == Decimal("100.04")


def test_market_sell_without_a_position_opens_a_short_at_the_bid_moved_down(venue: Venue) -> None:
    # notional at the bid: 999.90 -> 2.09999 bp; 99.99 x (1 - 0.000209999) = 99.9690021 -> down: 99.96
    # fee 10 bp of 999.60 = 0.9996; cash 10000 + 999.60 - 0.9996 = 10998.6004
    answer = venue.submit(order(Side.SELL, "10"))
    assert answer.status is OrderStatus.FILLED and answer.average_fill_price == Decimal("99.96")
    assert venue.cash() == Decimal("10998.6004")
    [position] = asyncio.run(venue.broker.positions())
    assert position.quantity == -10 and position.average_entry_price == Decimal("99.96")


def test_positions_average_in_keep_their_entry_when_reduced_and_restart_when_flipped(venue: Venue) -> None:
    venue.submit(order(Side.BUY, "10", signal_id="a"))  # 100.04, as above
    venue.quotes.set(SPY, "101.99", "102.01")
    # 102.01 x (1 + (2 + 0.102010) bp) = 102.0314426 -> 102.04; average (1000.40 + 1020.40) / 20 = 101.04
    venue.submit(order(Side.BUY, "10", signal_id="b"))
    assert asyncio.run(venue.broker.positions())[0].average_entry_price == Decimal("101.04")
    venue.submit(order(Side.SELL, "5", signal_id="c"))
    [reduced] = asyncio.run(venue.broker.positions())
    assert reduced.quantity == 15 and reduced.average_entry_price == Decimal("101.04")
    # sell 25 at 101.99 x (1 - (2 + 0.254975) bp) = 101.9670015 -> 101.96; flips to -10 at 101.96
    venue.submit(order(Side.SELL, "25", signal_id="d"))
    [flipped] = asyncio.run(venue.broker.positions())
    assert flipped.quantity == -10 and flipped.average_entry_price == Decimal("101.96")


# ----------------------------------------------------------------------------------------------
# Limit orders
# ----------------------------------------------------------------------------------------------
def test_limit_buy_rests_then_fills_at_its_limit_as_maker_when_the_ask_crosses(
    venue: Venue,
) -> None:
    answer = venue.submit(order(Side.BUY, "10", limit="99.50"))
    assert answer.status is OrderStatus.ACCEPTED and answer.venue_order_id is not None
    assert [o.client_order_id for o in asyncio.run(venue.broker.open_orders())] == [answer.client_order_id]
    # 10 x 99.50 = 995.00 plus 5 bp maker fee 0.4975 is held back from free cash
    balance = asyncio.run(venue.broker.balance())
    assert balance.cash == 10000 and balance.free == Decimal("9004.5025")

    venue.clock.advance(5)
    venue.quotes.set(SPY, "99.40", "99.45", venue.clock.now())  # the ask is now below the limit
    filled = venue.status(answer.client_order_id)
    assert filled is not None and filled.status is OrderStatus.FILLED
    assert filled.average_fill_price == Decimal("99.50")
    [fill] = asyncio.run(venue.broker.fills_since(T0))
    assert fill.price == Decimal("99.50") and fill.fee == Decimal("0.4975")
    assert fill.time == T0 + timedelta(seconds=5)
    assert venue.cash() == Decimal("9004.5025")  # 10000 - 995.00 - 0.4975
    assert venue.rows("select liquidity from fills") == [("maker",)]


def test_limit_sell_fills_when_the_bid_reaches_it(venue: Venue) -> None:
    answer = venue.submit(order(Side.SELL, "4", limit="100.50"))
    assert answer.status is OrderStatus.ACCEPTED
    venue.quotes.set(SPY, "100.49", "100.51")
    assert asyncio.run(venue.broker.poll()) == []  # one cent short
    venue.quotes.set(SPY, "100.52", "100.54")
    [fill] = asyncio.run(venue.broker.poll())
    # 4 x 100.50 = 402.00, maker 5 bp = 0.2010
    assert fill.price == Decimal("100.50") and fill.fee == Decimal("0.2010")
    assert venue.cash() == Decimal("10401.7990")


def test_a_resting_limit_does_not_fill_on_a_stale_quote(venue: Venue) -> None:
    answer = venue.submit(order(Side.BUY, "10", limit="99.50"))
    venue.quotes.set(SPY, "99.40", "99.45", T0)
    venue.clock.advance(11)  # the crossing quote is 11 s old, the limit is 10 s
    assert asyncio.run(venue.broker.poll()) == []
    assert venue.status(answer.client_order_id) == answer


def test_a_marketable_limit_fills_at_once_as_taker_but_never_beyond_its_limit(venue: Venue) -> None:
    # the slipped ask would be 100.04 (see the market buy), the limit caps it at 100.02
    answer = venue.submit(order(Side.BUY, "10", limit="100.02"))
    assert answer.status is OrderStatus.FILLED and answer.average_fill_price == Decimal("100.02")
    [fill] = asyncio.run(venue.broker.fills_since(T0))
    assert fill.fee == Decimal("1.0002")  # taker 10 bp of 1000.20


def test_an_ioc_limit_that_is_not_marketable_expires_without_a_fill(venue: Venue) -> None:
    answer = venue.submit(order(Side.BUY, "10", limit="99.50", tif=TimeInForce.IOC))
    assert answer.status is OrderStatus.EXPIRED and answer.filled_quantity == 0
    assert answer.reason == "IOC limit not marketable: ask 100.01 above 99.50"
    assert asyncio.run(venue.broker.open_orders()) == []


def test_a_day_limit_expires_at_midnight_utc(venue: Venue) -> None:
    answer = venue.submit(order(Side.BUY, "10", limit="99.50", tif=TimeInForce.DAY))
    venue.clock.advance_to(datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC))
    assert venue.status(answer.client_order_id).status is OrderStatus.ACCEPTED  # type: ignore[union-attr]
    venue.clock.advance(1)
    expired = venue.status(answer.client_order_id)
    assert expired is not None and expired.status is OrderStatus.EXPIRED
    assert asyncio.run(venue.broker.balance()).free == 10000


def test_cancel_ends_a_resting_order_and_leaves_finished_or_unknown_ones_alone(venue: Venue) -> None:
    resting = venue.submit(order(Side.BUY, "10", limit="99.50", signal_id="rest"))
    canceled = asyncio.run(venue.broker.cancel(resting.client_order_id))
    assert canceled is not None and canceled.status is OrderStatus.CANCELED
    filled = venue.submit(order(Side.BUY, "1", signal_id="fill"))
    assert asyncio.run(venue.broker.cancel(filled.client_order_id)) == filled
    assert asyncio.run(venue.broker.cancel("co-never-seen")) is None


# ----------------------------------------------------------------------------------------------
# Refusals: an order with status REJECTED and a reason, never an exception
# ----------------------------------------------------------------------------------------------
def assert_rejected(venue: Venue, intent: OrderIntent, reason: str) -> None:
    answer = venue.submit(intent)
    assert answer.status is OrderStatus.REJECTED
    assert answer.reason is not None and reason in answer.reason, answer.reason
    assert answer.filled_quantity == 0 and answer.venue_order_id is None
    rows = venue.rows(f"select status from orders where client_order_id = '{intent.client_order_id}'")
    assert rows == [("rejected",)]
    assert venue.rows("select count(*) from fills") == [(0,)]
    assert venue.cash() == 10000


def test_an_instrument_the_venue_does_not_list_is_rejected(venue: Venue) -> None:
    assert_rejected(venue, order(instrument=crypto("BTC/USD"), quantity="1"), "unknown instrument")


def test_no_quote_is_rejected(venue: Venue) -> None:
    assert_rejected(venue, order(instrument=XLE), "no quote for XLE")


def test_a_stale_quote_is_rejected(venue: Venue) -> None:
    venue.clock.advance(10.5)
    assert_rejected(venue, order(), "stale quote for SPY: 10.5 s old, the limit is 10 s")


def test_a_quote_just_within_its_age_limit_is_used(venue: Venue) -> None:
    venue.clock.advance(10)
    assert venue.submit(order()).status is OrderStatus.FILLED


def test_a_quote_with_a_nan_or_non_positive_price_is_rejected(venue: Venue) -> None:
    good = venue.quotes.quotes[SPY.key]
    venue.quotes.quotes[SPY.key] = unchecked(good, bid=Decimal("NaN"))
    assert_rejected(venue, order(signal_id="nan"), "invalid quote for SPY")
    venue.quotes.quotes[SPY.key] = unchecked(good, bid=Decimal(0))
    assert_rejected(venue, order(signal_id="zero"), "invalid quote for SPY")


def test_a_source_that_fails_to_build_a_quote_is_a_rejection(tmp_path: Path) -> None:
    class Broken(FixedQuotes):
        async def quote(self, instrument: Instrument) -> Quote | None:
            raise ValueError("sim-stocks:SPY: quote prices must be positive (0/0)")

    venue = Venue(tmp_path / "paper.sqlite", quotes=Broken())
    assert_rejected(venue, order(), "no valid quote for SPY: sim-stocks:SPY: quote prices must be positive")


def test_a_nan_limit_price_is_rejected(venue: Venue) -> None:
    intent = unchecked(order(limit="99.50"), limit_price=Decimal("NaN"))
    assert_rejected(venue, intent, "limit price NaN is not a positive number")


def test_a_quantity_off_the_lot_is_rejected(venue: Venue) -> None:
    assert_rejected(venue, order(quantity="1.5"), "quantity 1.5 is not a multiple of the 1 lot for SPY")


def test_a_limit_off_the_tick_is_rejected(venue: Venue) -> None:
    assert_rejected(venue, order(limit="99.505"), "limit price 99.505 is not on the 0.01 tick for SPY")


def test_a_quantity_below_the_venue_minimum_is_rejected(venue: Venue) -> None:
    venue.quotes.set(BRK, "99.99", "100.01")
    assert_rejected(venue, order(instrument=BRK, quantity="5"), "quantity 5 is below the 10 minimum for BRK")


def test_a_notional_below_the_venue_minimum_is_rejected(tmp_path: Path) -> None:
    doge = crypto("DOGE/USD")  # min notional 1 USD
    quotes = FixedQuotes()
    quotes.set(doge, "0.10", "0.11")
    broker = PaperBroker(
        "sim-crypto",
        [doge],
        quotes,
        SimulatedClock(T0),
        FeeModel(Decimal(0), Decimal(0)),
        SlippageModel(Decimal(0), Decimal(0)),
        Decimal(100),
        10.0,
        tmp_path / "crypto.sqlite",
    )
    answer = asyncio.run(broker.submit(order(instrument=doge, quantity="5")))  # 5 x 0.11 = 0.55
    assert answer.status is OrderStatus.REJECTED
    assert answer.reason == "notional 0.55 is below the 1 minimum for DOGE/USD"


def test_a_buy_beyond_the_free_cash_is_rejected(venue: Venue) -> None:
    # notional 10,001 -> 2 + 1.0001 bp: 100.01 -> 100.0400030, up to 100.05: 10,005.00 + 10.005 fee
    assert_rejected(venue, order(quantity="100"), "insufficient cash")


def test_cash_held_back_by_a_resting_buy_counts_against_the_next_buy(venue: Venue) -> None:
    venue.submit(order(Side.BUY, "90", limit="99.50", signal_id="rest"))  # holds 8955 + 4.4775
    answer = venue.submit(order(Side.BUY, "20", signal_id="next"))  # needs ~2003, 1040.52 free
    assert answer.status is OrderStatus.REJECTED
    assert answer.reason is not None and answer.reason.endswith("1040.52 is free")


# ----------------------------------------------------------------------------------------------
# Idempotency and the books on disk
# ----------------------------------------------------------------------------------------------
def test_a_resent_client_order_id_returns_the_existing_order_and_never_a_second(venue: Venue) -> None:
    first = venue.submit(order(Side.BUY, "10"))
    venue.quotes.set(SPY, "120.00", "120.02")
    again = venue.submit(order(Side.BUY, "10"))
    different = venue.submit(replace(order(Side.SELL, "3"), created_at=T0 + timedelta(seconds=1)))
    assert again == first and different == first
    assert venue.rows("select count(*) from orders") == [(1,)]
    assert venue.rows("select count(*) from fills") == [(1,)]
    assert venue.rows("select duplicate from submissions order by sequence") == [(0,), (1,), (1,)]
    assert venue.cash() == Decimal("8998.5996")


def test_a_resent_rejected_order_stays_rejected(venue: Venue) -> None:
    first = venue.submit(order(instrument=XLE))
    venue.quotes.set(XLE, "89.99", "90.01")
    assert venue.submit(order(instrument=XLE)) == first


def test_a_new_broker_on_the_same_file_restores_cash_positions_orders_and_fills(tmp_path: Path) -> None:
    path = tmp_path / "paper.sqlite"
    before = Venue(path)
    filled = before.submit(order(Side.BUY, "10", signal_id="a"))
    resting = before.submit(order(Side.SELL, "5", limit="101.00", signal_id="b"))
    fills_before = asyncio.run(before.broker.fills_since(T0))
    before.broker.close()

    after = Venue(path, starting_cash="55555")  # the file's cash wins over the configured one
    assert after.cash() == Decimal("8998.5996")
    [position] = asyncio.run(after.broker.positions())
    assert position.quantity == 10 and position.average_entry_price == Decimal("100.04")
    assert after.status(filled.client_order_id) == filled
    assert asyncio.run(after.broker.open_orders()) == [resting]
    assert asyncio.run(after.broker.fills_since(T0)) == fills_before
    # the restored resting order still fills, and new ids do not collide with old ones
    after.quotes.set(SPY, "101.00", "101.02")
    assert after.status(resting.client_order_id).status is OrderStatus.FILLED  # type: ignore[union-attr]
    third = after.submit(order(Side.BUY, "1", signal_id="c"))
    ids = [r[0] for r in after.rows("select venue_order_id from orders order by sequence")]
    assert ids == ["sim-stocks-o000001", "sim-stocks-o000002", "sim-stocks-o000003"]
    assert third.venue_order_id == "sim-stocks-o000003"
    trade_ids = [f.venue_trade_id for f in asyncio.run(after.broker.fills_since(T0))]
    assert trade_ids == ["sim-stocks-t000001", "sim-stocks-t000002", "sim-stocks-t000003"]


def test_a_file_of_another_venue_is_refused(tmp_path: Path) -> None:
    Venue(tmp_path / "paper.sqlite").broker.close()
    with pytest.raises(ValueError, match="holds the books of venue 'sim-stocks'"):
        PaperBroker(
            "sim-fx",
            [],
            FixedQuotes(),
            SimulatedClock(T0),
            FeeModel(Decimal(0), Decimal(0)),
            SlippageModel(Decimal(0), Decimal(0)),
            Decimal(1),
            10.0,
            tmp_path / "paper.sqlite",
        )


def test_the_venue_file_is_wal_with_decimals_as_text(venue: Venue) -> None:
    venue.submit(order())
    assert venue.rows("pragma journal_mode") == [("wal",)]
    tables = {r[0] for r in venue.rows("select name from sqlite_master where type = 'table'")}
    assert {"orders", "fills", "submissions", "account", "positions"} <= tables
    assert venue.rows("select typeof(quantity), typeof(price), typeof(fee) from fills") == [("text",) * 3]
    assert venue.rows("select value from account where key = 'cash'") == [("8998.5996",)]


def test_fills_since_includes_fills_at_exactly_that_moment(venue: Venue) -> None:
    venue.submit(order())
    assert len(asyncio.run(venue.broker.fills_since(T0))) == 1
    assert asyncio.run(venue.broker.fills_since(T0 + timedelta(microseconds=1))) == []


def test_asking_again_from_the_same_cursor_sees_a_fill_written_in_between(venue: Venue) -> None:
    """The answer from one cursor is remembered only until the next fill is written."""
    venue.submit(order(signal_id="first"))
    first = asyncio.run(venue.broker.fills_since(T0))
    assert asyncio.run(venue.broker.fills_since(T0)) == first
    venue.submit(order(Side.SELL, "1", signal_id="second"))
    after = asyncio.run(venue.broker.fills_since(T0))
    assert after[: len(first)] == first and len(after) == len(first) + 1
    assert after[-1].side is Side.SELL


def test_the_same_events_give_the_same_trade_ids(tmp_path: Path) -> None:
    def run(path: Path) -> list[tuple[str, str]]:
        venue = Venue(path)
        venue.submit(order(Side.BUY, "3", signal_id="x"))
        venue.submit(order(Side.SELL, "2", signal_id="y"))
        return [(f.venue_trade_id, f.client_order_id) for f in asyncio.run(venue.broker.fills_since(T0))]

    assert run(tmp_path / "one.sqlite") == run(tmp_path / "two.sqlite")


def test_the_paper_broker_satisfies_the_broker_protocol_and_reports_health(venue: Venue) -> None:
    assert isinstance(venue.broker, Broker)
    assert isinstance(venue.quotes, MarketDataSource)
    venue.submit(order())
    health = venue.broker.health()
    assert health.venue == "sim-stocks" and health.connected
    assert health.last_success_at == T0
    assert health.details["cash"] == "8998.5996" and health.details["open_orders"] == "0"
    assert asyncio.run(venue.broker.quote(SPY)) == venue.quotes.quotes[SPY.key]
    assert asyncio.run(venue.broker.quote(crypto("BTC/USD"))) is None
    assert [i.symbol for i in asyncio.run(venue.broker.instruments())] == ["SPY", "XLE", "BRK"]


# ----------------------------------------------------------------------------------------------
# The fee and slippage models
# ----------------------------------------------------------------------------------------------
def test_fee_model_charges_taker_or_maker_basis_points_of_the_notional() -> None:
    fees = FeeModel(taker_bps=Decimal(10), maker_bps=Decimal("2.5"))
    assert fees.fee(Decimal(200), Decimal(100), maker=False) == Decimal(20)
    assert fees.fee(Decimal(200), Decimal(100), maker=True) == Decimal(5)


def test_a_paper_prediction_venue_charges_kalshi_fees_exactly(tmp_path: Path) -> None:
    """10 contracts bought at the 0.50 ask: Kalshi's taker fee is $0.18 (raw 0.175, rounded up)."""
    contract = Instrument(
        symbol="KXHIGHCHI-26FEB09-B38.5",
        venue="sim-stocks",
        asset_class=AssetClass.PREDICTION,
        tick_size=Decimal("0.01"),
        lot_size=Decimal(1),
        underlying="KXHIGHCHI-26FEB09",
        min_quantity=Decimal(1),
    )
    quotes = FixedQuotes()
    quotes.set(contract, "0.48", "0.50")
    clock = SimulatedClock(T0)
    broker = PaperBroker(
        venue="sim-stocks",
        instruments=[contract],
        market_data=quotes,
        clock=clock,
        fees=KalshiFees(),
        slippage=SlippageModel(fixed_bps=Decimal(0), impact_bps_per_10k=Decimal(0)),
        starting_cash=Decimal(100),
        max_quote_age_seconds=10.0,
        database_path=tmp_path / "kalshi-paper.sqlite",
    )
    try:
        answer = asyncio.run(broker.submit(order(quantity="10", instrument=contract, limit="0.50")))
        assert answer.status is OrderStatus.FILLED
        [fill] = asyncio.run(broker.fills_since(T0 - timedelta(minutes=1)))
        assert fill.fee == Decimal("0.18")
        assert asyncio.run(broker.balance()).cash == Decimal(100) - Decimal("5.00") - Decimal("0.18")
    finally:
        broker.close()


def test_slippage_grows_with_the_notional() -> None:
    slippage = SlippageModel(fixed_bps=Decimal(1), impact_bps_per_10k=Decimal("0.5"))
    assert slippage.adverse_bps(Decimal(20_000)) == Decimal(2)  # 1 + 0.5 x 2
    # 2 bp of 100.00 is 0.02, up for a buy and down for a sell
    assert slippage.adjusted_price(Decimal(100), Side.BUY, Decimal(20_000)) == Decimal("100.02")
    assert slippage.adjusted_price(Decimal(100), Side.SELL, Decimal(20_000)) == Decimal("99.98")


def test_negative_fees_or_slippage_are_refused() -> None:
    with pytest.raises(ValueError, match="taker_bps"):
        FeeModel(Decimal(-1), Decimal(0))
    with pytest.raises(ValueError, match="fixed_bps"):
        SlippageModel(Decimal("NaN"), Decimal(0))
