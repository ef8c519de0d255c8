"""PaperBroker.settle: a settled prediction market paid out the way the venue pays it.

One paper venue on a Kalshi-like contract (Kalshi's quadratic taker fee, no slippage) and a
stock, $100 of cash, a SimulatedClock. Entries go through `submit` at a fixed quote; the
settlement then needs no quote at all (the quotes are cleared before it, as a settled market
has none). Hand-worked numbers:
- buy 10 YES at the 0.50 ask: 5.00 + fee ceil(0.07 x 10 x 0.50 x 0.50 = 0.175) = 0.18 -> cash 94.82;
- sell 10 YES at the 0.48 bid (holding 10 NO): +4.80 - fee ceil(0.07 x 10 x 0.48 x 0.52 = 0.1747)
  = 0.18 -> cash 104.62.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from brokers.base import VenueOrder
from brokers.paper import PaperBroker, SlippageModel
from domain.contract_parsing import parse_kalshi_ticker
from domain.contracts import Strike, StrikeType
from domain.fees import KalshiFees
from domain.instruments import AssetClass, Instrument
from domain.market import BarSeries, Quote
from domain.orders import Fill, OrderIntent, OrderStatus, OrderType, TimeInForce, client_order_id_for
from domain.signals import Side
from utils.clock import SimulatedClock

T0 = datetime(2026, 2, 9, 15, 0, tzinfo=UTC)
SETTLED_AT = datetime(2026, 2, 10, 15, 0, tzinfo=UTC)
VENUE = "sim-kalshi"
TICKER = "KXHIGHCHI-26FEB09-B38.5"
CONTRACT = Instrument(
    symbol=TICKER,
    venue=VENUE,
    asset_class=AssetClass.PREDICTION,
    tick_size=Decimal("0.01"),
    lot_size=Decimal(1),
    underlying="KXHIGHCHI-26FEB09",
    min_quantity=Decimal(1),
    contract=parse_kalshi_ticker(VENUE, TICKER, Strike(StrikeType.BETWEEN, Decimal(38), Decimal(39))),
)
SPY = Instrument(
    symbol="SPY",
    venue=VENUE,
    asset_class=AssetClass.STOCK,
    tick_size=Decimal("0.01"),
    lot_size=Decimal(1),
    underlying="SPY",
)


class FixedQuotes:
    def __init__(self) -> None:
        self.quotes: dict[str, Quote] = {}

    def set(self, instrument: Instrument, bid: str, ask: str, time: datetime) -> None:
        self.quotes[instrument.key] = Quote(instrument.key, Decimal(bid), Decimal(ask), time, "fixed")

    async def quote(self, instrument: Instrument) -> Quote | None:
        return self.quotes.get(instrument.key)

    async def bars(self, instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None:
        return None


class Venue:
    def __init__(self, path: Path, slippage_bps: int = 0) -> None:
        self.path = path
        self.slippage_bps = slippage_bps
        self.clock = SimulatedClock(T0)
        self.quotes = FixedQuotes()
        self.quotes.set(CONTRACT, "0.48", "0.50", T0)
        self.quotes.set(SPY, "99.99", "100.01", T0)
        self.broker = self.open()

    def open(self) -> PaperBroker:
        return PaperBroker(
            venue=VENUE,
            instruments=[CONTRACT, SPY],
            market_data=self.quotes,
            clock=self.clock,
            fees=KalshiFees(),
            slippage=SlippageModel(fixed_bps=Decimal(self.slippage_bps), impact_bps_per_10k=Decimal(0)),
            starting_cash=Decimal(100),
            max_quote_age_seconds=10.0,
            database_path=self.path,
        )

    def restart(self) -> None:
        self.broker.close()
        self.broker = self.open()

    def submit(self, intent: OrderIntent) -> VenueOrder:
        return asyncio.run(self.broker.submit(intent))

    def market_closes(self) -> None:
        """The market settled: a day later, and no quote any more."""
        self.clock.advance_to(SETTLED_AT)
        self.quotes.quotes.clear()

    def settle(self, intent: OrderIntent, yes_value: str) -> VenueOrder:
        return asyncio.run(self.broker.settle(intent, Decimal(yes_value)))

    def cash(self) -> Decimal:
        return asyncio.run(self.broker.balance()).cash

    def held(self, instrument: Instrument = CONTRACT) -> Decimal:
        positions = asyncio.run(self.broker.positions())
        return next((p.quantity for p in positions if p.instrument_key == instrument.key), Decimal(0))

    def fills(self) -> list[Fill]:
        return asyncio.run(self.broker.fills_since(T0 - timedelta(days=1)))


@pytest.fixture
def venue(tmp_path: Path) -> Iterator[Venue]:
    setup = Venue(tmp_path / "paper_sim-kalshi.sqlite")
    try:
        yield setup
    finally:
        setup.broker.close()


def order(
    side: Side,
    quantity: str = "10",
    *,
    tag: str,
    instrument: Instrument = CONTRACT,
    reduce_only: bool = False,
    limit: str | None = None,
) -> OrderIntent:
    return OrderIntent(
        client_order_id=client_order_id_for(f"settlement-{tag}"),
        signal_id=f"settlement-{tag}",
        bot="bot-a",
        instrument=instrument,
        side=side,
        quantity=Decimal(quantity),
        order_type=OrderType.MARKET if limit is None else OrderType.LIMIT,
        time_in_force=TimeInForce.IOC,
        created_at=T0,
        limit_price=None if limit is None else Decimal(limit),
        reduce_only=reduce_only,
    )


def settlement(side: Side, quantity: str = "10", *, tag: str = "settle", **kwargs: object) -> OrderIntent:
    return order(side, quantity, tag=tag, reduce_only=True, **kwargs)  # type: ignore[arg-type]


def hold_yes(venue: Venue, quantity: str = "10") -> None:
    assert venue.submit(order(Side.BUY, quantity, tag="entry")).status is OrderStatus.FILLED


def hold_no(venue: Venue, quantity: str = "10") -> None:
    assert venue.submit(order(Side.SELL, quantity, tag="entry")).status is OrderStatus.FILLED


# ----------------------------------------------------------------------------- YES held
def test_a_yes_long_settled_at_one_is_paid_a_dollar_a_contract_without_a_fee(venue: Venue) -> None:
    hold_yes(venue)
    assert venue.cash() == Decimal("94.82")
    venue.market_closes()
    intent = settlement(Side.SELL)
    answer = venue.settle(intent, "1")
    assert answer.status is OrderStatus.FILLED
    assert (answer.filled_quantity, answer.average_fill_price) == (Decimal(10), Decimal(1))
    assert venue.cash() == Decimal("104.82")  # 94.82 + 10 x $1
    assert venue.held() == 0
    entry, paid = venue.fills()
    assert not entry.settlement
    assert paid == Fill(
        client_order_id=intent.client_order_id,
        venue=VENUE,
        venue_trade_id=f"settle-{intent.client_order_id}",
        instrument_key=CONTRACT.key,
        side=Side.SELL,
        quantity=Decimal(10),
        price=Decimal(1),
        fee=Decimal(0),
        time=SETTLED_AT,
        settlement=True,
    )


def test_a_yes_long_settled_at_zero_closes_at_price_zero_and_moves_no_cash(venue: Venue) -> None:
    hold_yes(venue)
    venue.market_closes()
    answer = venue.settle(settlement(Side.SELL), "0")
    assert answer.status is OrderStatus.FILLED and answer.average_fill_price == Decimal(0)
    assert venue.cash() == Decimal("94.82")  # the 5.18 paid at entry is the loss
    assert venue.held() == 0
    paid = venue.fills()[-1]
    assert (paid.price, paid.fee, paid.settlement) == (Decimal(0), Decimal(0), True)


# ----------------------------------------------------------------------------- NO held (a short YES)
def test_a_short_yes_settled_at_zero_keeps_what_the_sale_received(venue: Venue) -> None:
    hold_no(venue)
    assert (venue.cash(), venue.held()) == (Decimal("104.62"), Decimal(-10))
    venue.market_closes()
    answer = venue.settle(settlement(Side.BUY), "0")
    assert answer.status is OrderStatus.FILLED
    assert venue.cash() == Decimal("104.62")  # NO paid: the 4.80 - 0.18 received is the gain
    assert venue.held() == 0
    paid = venue.fills()[-1]
    assert (paid.side, paid.price, paid.settlement) == (Side.BUY, Decimal(0), True)


def test_a_short_yes_settled_at_one_pays_a_dollar_a_contract(venue: Venue) -> None:
    hold_no(venue)
    venue.market_closes()
    answer = venue.settle(settlement(Side.BUY), "1")
    assert answer.status is OrderStatus.FILLED
    assert venue.cash() == Decimal("94.62")  # 104.62 - 10 x $1: NO bought at 0.52 lost 0.52 + fee
    assert venue.held() == 0


# ----------------------------------------------------------------------------- refusals
def test_settling_more_than_is_held_is_refused_and_a_part_is_not(venue: Venue) -> None:
    hold_yes(venue)
    venue.market_closes()
    too_many = venue.settle(settlement(Side.SELL, "12", tag="too-many"), "1")
    assert too_many.status is OrderStatus.REJECTED
    assert too_many.reason is not None and "holds 10" in too_many.reason
    assert (venue.cash(), venue.held(), len(venue.fills())) == (Decimal("94.82"), Decimal(10), 1)
    part = venue.settle(settlement(Side.SELL, "4", tag="part"), "1")
    assert part.status is OrderStatus.FILLED
    assert (venue.cash(), venue.held()) == (Decimal("98.82"), Decimal(6))


def test_settling_the_side_that_is_not_held_is_refused(venue: Venue) -> None:
    hold_yes(venue)
    venue.market_closes()
    wrong_way = venue.settle(settlement(Side.BUY), "1")  # a BUY settles NO held; YES is held
    assert wrong_way.status is OrderStatus.REJECTED
    assert wrong_way.reason is not None and "holds 10" in wrong_way.reason
    assert venue.held() == 10


def test_a_settlement_that_is_not_reduce_only_is_refused(venue: Venue) -> None:
    hold_yes(venue)
    venue.market_closes()
    answer = venue.settle(order(Side.SELL, tag="not-reduce-only"), "1")
    assert answer.status is OrderStatus.REJECTED
    assert answer.reason is not None and "reduce-only" in answer.reason
    assert venue.held() == 10


def test_a_non_prediction_instrument_does_not_settle(venue: Venue) -> None:
    answer = venue.settle(settlement(Side.SELL, "1", tag="spy", instrument=SPY), "1")
    assert answer.status is OrderStatus.REJECTED
    assert answer.reason is not None and "only prediction markets settle" in answer.reason


def test_a_value_other_than_zero_or_one_is_a_programming_error(venue: Venue) -> None:
    hold_yes(venue)
    with pytest.raises(ValueError, match="0 or 1"):
        venue.settle(settlement(Side.SELL), "0.5")
    with pytest.raises(ValueError, match="0 or 1"):
        venue.settle(settlement(Side.SELL), "NaN")
    assert venue.held() == 10


def test_a_known_client_order_id_returns_the_existing_order_and_pays_once(venue: Venue) -> None:
    hold_yes(venue)
    venue.market_closes()
    intent = settlement(Side.SELL)
    first = venue.settle(intent, "1")
    again = venue.settle(intent, "1")
    assert again == first
    assert venue.cash() == Decimal("104.82")
    assert [f.settlement for f in venue.fills()] == [False, True]
    with sqlite3.connect(venue.path) as connection:
        duplicates = connection.execute(
            "select duplicate, outcome from submissions where client_order_id = ? order by sequence",
            (intent.client_order_id,),
        ).fetchall()
    assert duplicates == [(0, "filled"), (1, "filled")]


def test_a_settlement_order_and_its_fill_survive_a_restart(venue: Venue) -> None:
    hold_yes(venue)
    venue.market_closes()
    intent = settlement(Side.SELL)
    venue.settle(intent, "1")
    venue.restart()
    assert venue.cash() == Decimal("104.82")
    assert venue.held() == 0
    status = asyncio.run(venue.broker.order_status(intent.client_order_id))
    assert status is not None and status.status is OrderStatus.FILLED
    paid = venue.fills()[-1]
    assert (paid.venue_trade_id, paid.price, paid.fee, paid.settlement, paid.time) == (
        f"settle-{intent.client_order_id}",
        Decimal(1),
        Decimal(0),
        True,
        SETTLED_AT,
    )
    assert venue.settle(intent, "1").status is OrderStatus.FILLED  # still known after the restart
    assert venue.cash() == Decimal("104.82")


def test_a_sale_into_a_one_cent_bid_fills_at_the_cent_even_with_slippage(tmp_path: Path) -> None:
    # 1 bp of slippage takes 0.01 to 0.009999, which the adverse rounding would floor to 0.00:
    # nothing trades below the lowest tick, so the sale fills at the bid itself
    setup = Venue(tmp_path / "slipping.sqlite", slippage_bps=1)
    try:
        setup.quotes.set(CONTRACT, "0.01", "0.02", T0)
        assert setup.submit(order(Side.BUY, tag="cheap-in")).status is OrderStatus.FILLED
        sold = setup.submit(order(Side.SELL, tag="cheap-out", reduce_only=True))
        assert sold.status is OrderStatus.FILLED and sold.average_fill_price == Decimal("0.01")
    finally:
        setup.broker.close()


def test_a_yes_sold_beyond_the_holding_is_a_no_bought_and_keeps_a_dollar_aside(venue: Venue) -> None:
    # sell 10 YES at the 0.48 bid holding none: +4.80 - fee 0.18 -> cash 104.62, but $10 stays reserved
    # while the NO is held, so 94.62 is free: the 5.20 the NO cost and its fee are gone from free cash
    assert venue.submit(order(Side.SELL, tag="no-in")).status is OrderStatus.FILLED
    balance = asyncio.run(venue.broker.balance())
    assert balance.cash == Decimal("104.62") and balance.free == Decimal("94.62")
    # a NO the free cash cannot pay for is refused: 200 NO at 0.52 need 104 + fee
    refused = venue.submit(order(Side.SELL, "200", tag="no-too-big"))
    assert refused.status is OrderStatus.REJECTED and "insufficient cash" in (refused.reason or "")
