from decimal import Decimal

from domain.positions import Position, apply_fill
from domain.signals import Side
from tests.factories import fill


def test_round_trip_long_closes_with_pnl_after_fees() -> None:
    flat = Position(bot="b", instrument_key="sim-stocks:SPY")
    opened, none = apply_fill(flat, fill(side=Side.BUY, quantity="10", price="100", fee="1", trade_id="1"))
    assert none is None and opened.quantity == Decimal(10)
    half, none = apply_fill(opened, fill(side=Side.SELL, quantity="4", price="105", fee="0.5", trade_id="2"))
    assert none is None and half.realized_pnl == Decimal(20)  # 4 * (105 - 100)
    flat_again, trade = apply_fill(
        half, fill(side=Side.SELL, quantity="6", price="95", fee="0.5", trade_id="3")
    )
    assert trade is not None and not flat_again.is_open
    assert trade.gross_pnl == Decimal(-10)  # 20 - 6 * 5
    assert trade.fees == Decimal(2)
    assert trade.net_pnl == Decimal(-12)
    assert trade.exit_price == Decimal(99)  # (4*105 + 6*95) / 10
    assert trade.quantity == Decimal(10)


def test_fill_through_zero_closes_and_reopens_the_remainder() -> None:
    long, _ = apply_fill(Position("b", "k"), fill(side=Side.BUY, quantity="5", price="10", trade_id="1"))
    short, trade = apply_fill(long, fill(side=Side.SELL, quantity="8", price="12", fee="0.8", trade_id="2"))
    assert trade is not None and trade.gross_pnl == Decimal(10)
    assert trade.fees == Decimal("0.5")  # 5/8 of the fee belongs to the closing part
    assert short.quantity == Decimal(-3)
    assert short.average_entry_price == Decimal(12)
    assert short.fees == Decimal("0.3")


def test_short_position_profits_when_price_falls() -> None:
    short, _ = apply_fill(Position("b", "k"), fill(side=Side.SELL, quantity="2", price="50", trade_id="1"))
    assert short.unrealized_pnl(Decimal(45)) == Decimal(10)
