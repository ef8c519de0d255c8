"""Small factories for domain values, so each test states only what it is about."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from domain.instruments import AssetClass, Instrument
from domain.market import Quote
from domain.orders import Fill, OrderIntent, OrderType, TimeInForce, client_order_id_for
from domain.signals import Side, Signal, SignalIntent, make_signal_id

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


def stock(symbol: str = "SPY", **overrides: object) -> Instrument:
    fields: dict[str, object] = {
        "symbol": symbol,
        "venue": "sim-stocks",
        "asset_class": AssetClass.STOCK,
        "tick_size": Decimal("0.01"),
        "lot_size": Decimal("1"),
        "underlying": symbol,
    }
    fields.update(overrides)
    return Instrument(**fields)  # type: ignore[arg-type]


def crypto(symbol: str = "BTC/USD", **overrides: object) -> Instrument:
    fields: dict[str, object] = {
        "symbol": symbol,
        "venue": "sim-crypto",
        "asset_class": AssetClass.CRYPTO,
        "tick_size": Decimal("0.01"),
        "lot_size": Decimal("0.0001"),
        "underlying": symbol.split("/")[0],
        "min_notional": Decimal("1"),
    }
    fields.update(overrides)
    return Instrument(**fields)  # type: ignore[arg-type]


def signal(
    instrument: Instrument | None = None,
    side: Side = Side.BUY,
    intent: SignalIntent = SignalIntent.OPEN,
    *,
    bot: str = "bot-a",
    stop: float | None = 98.0,
    time: datetime = T0,
    sequence: int = 0,
    close_quantity: Decimal | None = None,
    evidence: dict[str, object] | None = None,
) -> Signal:
    instrument = instrument or stock()
    return Signal(
        id=make_signal_id(bot, instrument.key, time, sequence),
        bot=bot,
        instrument=instrument,
        side=side,
        intent=intent,
        confidence=0.6,
        edge=0.01,
        stop=stop,
        reason="test",
        time=time,
        evidence=evidence or {},
        close_quantity=close_quantity,
    )


def quote(
    instrument: Instrument | None = None, bid: str = "99.99", ask: str = "100.01", time: datetime = T0
) -> Quote:
    instrument = instrument or stock()
    return Quote(instrument.key, Decimal(bid), Decimal(ask), time, "test")


def intent(
    instrument: Instrument | None = None,
    side: Side = Side.BUY,
    quantity: str = "10",
    *,
    signal_id: str = "sig-1",
    reduce_only: bool = False,
    time: datetime = T0,
) -> OrderIntent:
    instrument = instrument or stock()
    return OrderIntent(
        client_order_id=client_order_id_for(signal_id),
        signal_id=signal_id,
        bot="bot-a",
        instrument=instrument,
        side=side,
        quantity=Decimal(quantity),
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.IOC,
        created_at=time,
        reduce_only=reduce_only,
    )


def fill(
    client_order_id: str = "co-1",
    side: Side = Side.BUY,
    quantity: str = "10",
    price: str = "100",
    fee: str = "0",
    *,
    trade_id: str = "t1",
    instrument: Instrument | None = None,
    seconds: int = 0,
) -> Fill:
    instrument = instrument or stock()
    return Fill(
        client_order_id=client_order_id,
        venue=instrument.venue,
        venue_trade_id=trade_id,
        instrument_key=instrument.key,
        side=side,
        quantity=Decimal(quantity),
        price=Decimal(price),
        fee=Decimal(fee),
        time=T0 + timedelta(seconds=seconds),
    )
