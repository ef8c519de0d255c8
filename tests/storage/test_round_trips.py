"""Every domain object the journal holds comes back equal: same Decimals, same instants, same enums."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from domain.instruments import AssetClass, Instrument
from domain.orders import Order, OrderIntent, OrderStatus, OrderType, TimeInForce, client_order_id_for
from domain.positions import ClosedTrade, ExitPlan, Position
from domain.signals import Decision, ReasonCode, Side, SignalIntent
from storage.repository import Repository
from tests.factories import T0, crypto, fill, intent, signal

SATOSHI = Decimal("0.00000001")


def prediction_market() -> Instrument:
    return Instrument(
        symbol="KXHIGHCHI-26FEB09-B38.5",
        venue="sim-kalshi",
        asset_class=AssetClass.PREDICTION,
        tick_size=Decimal("0.01"),
        lot_size=Decimal("1"),
        underlying="KXHIGHCHI",
        min_quantity=Decimal("1"),
        min_notional=Decimal("0.50"),
        quote_currency="USD",
    )


def test_signal_comes_back_with_its_instrument_and_evidence(repo: Repository) -> None:
    original = signal(
        crypto("ETH/USD", lot_size=SATOSHI, min_quantity=Decimal("0.0001")),
        Side.SELL,
        SignalIntent.CLOSE,
        stop=None,
        close_quantity=Decimal("0.12345678"),
        evidence={"atr": 12.5, "regime": "bull", "sources": ["rsi", "macd"]},
    )
    repo.record_signal(original)
    assert repo.load_signal(original.id) == original
    assert repo.load_signal("sig-unknown") is None


def test_decisions_come_back_in_stage_order(repo: Repository) -> None:
    sig = signal()
    regime = Decision.accept("regime", "SPY is bull; size x1.0", size_multiplier=1.0, details={"score": 0.4})
    risk = Decision.reject(
        "risk", ReasonCode.MAX_ORDER_NOTIONAL, "order of 12000.00 USD above the 10000 cap", {"cap": "10000"}
    )
    repo.record_signal(sig)
    repo.record_decision(sig.id, 1, risk, T0)
    repo.record_decision(sig.id, 0, regime, T0)
    assert repo.decisions(sig.id) == [regime, risk]


def test_limit_order_comes_back_with_its_whole_intent_and_state(repo: Repository) -> None:
    instrument = prediction_market()
    new_york = timezone(timedelta(hours=-5))
    order_intent = OrderIntent(
        client_order_id=client_order_id_for("sig-kalshi"),
        signal_id="sig-kalshi",
        bot="kalshi-weather",
        instrument=instrument,
        side=Side.BUY,
        quantity=Decimal("17"),
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.GTC,
        created_at=datetime(2026, 2, 8, 21, 0, 0, 250000, tzinfo=new_york),
        limit_price=Decimal("0.34"),
        reduce_only=True,
    )
    order = Order(order_intent)
    repo.insert_order(order)
    order.transition(OrderStatus.SUBMITTED, T0)
    order.venue_order_id = "kalshi-778"
    partial = fill(order.client_order_id, Side.BUY, "5", "0.33", "0.07", trade_id="k1", instrument=instrument)
    repo.record_fill(partial, "kalshi-weather")
    order.apply_fill(partial)
    repo.update_order(order)

    loaded = repo.load_order(order.client_order_id)

    assert loaded is not None
    assert loaded.intent == order_intent
    assert loaded.intent.instrument == instrument
    assert loaded.intent.created_at.tzinfo is UTC
    assert loaded.status is OrderStatus.PARTIALLY_FILLED
    assert loaded.filled_quantity == Decimal("5")
    assert loaded.average_fill_price == Decimal("0.33")
    assert loaded.venue_order_id == "kalshi-778"
    assert loaded.updated_at == order.updated_at
    assert loaded.seen_trade_ids == {"k1"}


def test_denied_order_keeps_its_reason(repo: Repository) -> None:
    order = Order(intent())
    repo.insert_order(order)
    order.transition(OrderStatus.DENIED, T0, "no route for sim-stocks in live mode")
    repo.update_order(order)
    loaded = repo.load_order(order.client_order_id)
    assert loaded is not None and loaded.reject_reason == "no route for sim-stocks in live mode"
    assert repo.load_order("co-unknown") is None


def test_fill_comes_back_exact_to_the_satoshi(repo: Repository) -> None:
    instrument = crypto(lot_size=SATOSHI)
    order = Order(intent(instrument, quantity="0.00000003"))
    repo.insert_order(order)
    original = fill(
        order.client_order_id,
        Side.BUY,
        "0.00000001",
        "64123.45",
        "0.00000001",
        trade_id="cb-1",
        instrument=instrument,
    )
    assert repo.record_fill(original, "bot-a")
    assert repo.fills() == [original]


def test_position_with_exit_plan_comes_back_exact(repo: Repository) -> None:
    plan = ExitPlan(
        side=Side.BUY,
        entry_price=Decimal("64123.45"),
        stop_price=Decimal("63000.00"),
        risk_per_unit=Decimal("1123.45"),
        initial_quantity=Decimal("0.01234567"),
        atr=Decimal("850.123456789"),
        best_price=Decimal("64500"),
        first_target_done=True,
        second_target_done=False,
        trail_atr_multiple=Decimal("1.5"),
        target_shortfall=Decimal("0.00411522"),
    )
    position = Position(
        bot="rsi2-btc",
        instrument_key="sim-crypto:BTC/USD",
        quantity=Decimal("0.01234567"),
        average_entry_price=Decimal("64123.45"),
        realized_pnl=Decimal("-0.00000001"),
        fees=Decimal("0.31"),
        opened_at=datetime(2026, 3, 2, 9, 30, tzinfo=timezone(timedelta(hours=-5))),
        entry_quantity=Decimal("0.02469134"),
        exit_quantity=Decimal("0.01234567"),
        exit_value=Decimal("795.12"),
        exit_plan=plan,
    )
    repo.save_position(position)
    assert repo.load_positions() == [position]


def test_saving_a_position_again_replaces_it_and_a_flat_one_is_no_longer_open(repo: Repository) -> None:
    opened = Position("bot-a", "sim-stocks:SPY", Decimal(10), Decimal("100.01"), opened_at=T0)
    other = Position("bot-b", "sim-stocks:SPY", Decimal(-3), Decimal("99.5"), opened_at=T0)
    repo.save_position(opened)
    repo.save_position(other)
    flat = Position("bot-a", "sim-stocks:SPY")
    repo.save_position(flat)

    assert repo.load_positions(open_only=False) == [flat, other]
    assert repo.load_positions(open_only=True) == [other]


def test_closed_trades_come_back_oldest_first_and_since_filters_by_close_time(repo: Repository) -> None:
    def trade(minutes: int, pnl: str) -> ClosedTrade:
        return ClosedTrade(
            bot="bot-a",
            instrument_key="sim-crypto:BTC/USD",
            side=Side.BUY,
            quantity=Decimal("0.5"),
            entry_price=Decimal("64000"),
            exit_price=Decimal("64010.01"),
            gross_pnl=Decimal(pnl),
            fees=Decimal("0.00000001"),
            opened_at=T0,
            closed_at=T0 + timedelta(minutes=minutes),
        )

    late, early, middle = trade(30, "5.005"), trade(5, "-1"), trade(10, "0.01")
    for closed in (late, early, middle):
        repo.record_closed_trade(closed)

    assert repo.closed_trades() == [early, middle, late]
    assert repo.closed_trades(since=T0 + timedelta(minutes=10)) == [middle, late]


def test_equity_snapshots_keep_every_figure_exact(repo: Repository) -> None:
    repo.record_equity(
        T0 + timedelta(minutes=1),
        Decimal("100000.00000001"),
        Decimal("99000.5"),
        Decimal("12.3456789"),
        Decimal("-0.01"),
        Decimal("1.23"),
        2,
        Decimal("5000.00"),
    )
    repo.record_equity(
        T0, Decimal(100000), Decimal(100000), Decimal(0), Decimal(0), Decimal(0), 0, Decimal(0)
    )

    first, second = repo.equity_snapshots()
    assert first.time == T0 and first.equity == Decimal(100000)
    assert second.equity == Decimal("100000.00000001")
    assert (second.cash, second.realized, second.unrealized) == (
        Decimal("99000.5"),
        Decimal("12.3456789"),
        Decimal("-0.01"),
    )
    assert (second.fees, second.open_positions, second.gross_exposure) == (
        Decimal("1.23"),
        2,
        Decimal("5000.00"),
    )
    assert repo.equity_snapshots(since=T0 + timedelta(seconds=30)) == [second]


def test_risk_events_keep_their_bot_and_details(repo: Repository) -> None:
    repo.record_risk_event(
        T0,
        "reconcile_difference",
        "warning",
        "sim-crypto:BTC/USD: journal holds 1, sim-crypto holds 0",
        details={"journal": Decimal("1"), "venue": "0"},
    )
    repo.record_risk_event(T0 + timedelta(seconds=1), "bot_auto_paused", "warning", "paused", bot="rsi2-btc")

    reconcile, paused = repo.risk_events()
    assert (reconcile.kind, reconcile.severity, reconcile.bot) == ("reconcile_difference", "warning", None)
    assert reconcile.details == {"journal": "1", "venue": "0"}
    assert reconcile.time == T0
    assert (paused.bot, paused.details) == ("rsi2-btc", {})
    assert repo.risk_events(since=T0 + timedelta(seconds=1)) == [paused]
