"""Reports: the figures operators read, from a real journal file, checked by hand."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from domain.instruments import Instrument
from domain.orders import Order, OrderStatus
from domain.positions import ClosedTrade, ExitPlan, Position
from domain.signals import Decision, ReasonCode, Side
from storage.database import open_storage
from storage.reports import Reports, TradeFilter, drawdowns, max_drawdown
from storage.repository import Repository
from tests.factories import crypto, fill, intent, signal, stock

NOON = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # 12:00 in New York
DAY_START = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)  # midnight in New York


def trade(bot: str, gross: str, fees: str, closed_at: datetime, key: str = "sim-stocks:SPY") -> ClosedTrade:
    return ClosedTrade(
        bot=bot,
        instrument_key=key,
        side=Side.BUY,
        quantity=Decimal(10),
        entry_price=Decimal(100),
        exit_price=Decimal(100) + Decimal(gross) / 10,
        gross_pnl=Decimal(gross),
        fees=Decimal(fees),
        opened_at=closed_at - timedelta(minutes=5),
        closed_at=closed_at,
    )


def snapshot(repo: Repository, at: datetime, equity: str, unrealized: str = "0") -> None:
    repo.record_equity(
        at, Decimal(equity), Decimal(equity), Decimal(0), Decimal(unrealized), Decimal(0), 1, Decimal(500)
    )


@pytest.fixture
def journal(tmp_path: Path) -> tuple[Repository, Reports]:
    path = tmp_path / "journal.sqlite"
    repo = open_storage(path)
    # yesterday (New York): one loser; today: two winners and a loser, on two bots
    repo.record_closed_trade(trade("a", "-3.10", "0.10", DAY_START - timedelta(hours=2)))
    repo.record_closed_trade(trade("a", "10.10", "0.10", DAY_START + timedelta(hours=1)))
    repo.record_closed_trade(trade("b", "0.30", "0.10", DAY_START + timedelta(hours=2), "sim-crypto:BTC/USD"))
    repo.record_closed_trade(
        trade("b", "-1.00", "0.05", DAY_START + timedelta(hours=3), "sim-crypto:BTC/USD")
    )
    # 0.1 + 0.2 is 0.30000000000000004 in binary: these must sum to exactly 0.3
    repo.record_closed_trade(trade("c", "0.1", "0", DAY_START + timedelta(hours=4)))
    repo.record_closed_trade(trade("c", "0.2", "0", DAY_START + timedelta(hours=4, minutes=1)))
    snapshot(repo, DAY_START - timedelta(hours=1), "10000")
    snapshot(repo, DAY_START + timedelta(minutes=1), "9996.80")
    snapshot(repo, NOON, "10012.00", unrealized="5.25")
    return repo, Reports(path)


def test_pnl_summary_today_and_in_total(journal: tuple[Repository, Reports]) -> None:
    _, reports = journal
    summary = reports.pnl_summary(DAY_START)
    # today: (10.10 - 0.10) + (0.30 - 0.10) + (-1.00 - 0.05) + 0.1 + 0.2 = 10.00 + 0.20 - 1.05 + 0.30 = 9.45
    assert summary.realized_today == Decimal("9.45")
    assert (summary.trades_today, summary.wins_today) == (5, 4)
    assert summary.realized_total == Decimal("9.45") - Decimal("3.20")
    assert summary.trades_total == 6
    assert summary.equity == Decimal("10012.00") and summary.unrealized == Decimal("5.25")
    assert summary.equity_at == NOON
    assert summary.day_start_equity == Decimal("9996.80")
    assert summary.pnl_today == Decimal("15.20")


def test_performance_by_bot_sums_exactly(journal: tuple[Repository, Reports]) -> None:
    _, reports = journal
    by_bot = {p.key: p for p in reports.performance_by_bot()}
    assert by_bot["a"].net_pnl == Decimal("6.80") and (by_bot["a"].trades, by_bot["a"].wins) == (2, 1)
    assert by_bot["b"].net_pnl == Decimal("-0.85") and by_bot["b"].win_rate == 0.5
    assert by_bot["c"].net_pnl == Decimal("0.3")  # not 0.30000000000000004
    today = {p.key: p for p in reports.performance_by_bot(since=DAY_START)}
    assert today["a"].net_pnl == Decimal("10.00")
    by_instrument = {p.key: p.trades for p in reports.performance_by_instrument()}
    assert by_instrument == {"sim-crypto:BTC/USD": 2, "sim-stocks:SPY": 4}


def test_daily_pnl_cuts_days_at_local_midnight(journal: tuple[Repository, Reports]) -> None:
    _, reports = journal
    days = reports.daily_pnl("America/New_York", 3, NOON)
    assert [d.day.isoformat() for d in days] == ["2026-02-28", "2026-03-01", "2026-03-02"]
    assert [d.net_pnl for d in days] == [Decimal(0), Decimal("-3.20"), Decimal("9.45")]
    assert [d.trades for d in days] == [0, 1, 5]
    # in UTC the loser at 03:00 UTC belongs to 2 March
    utc = reports.daily_pnl("UTC", 1, NOON)
    assert utc[0].trades == 6


def test_trades_page_newest_first_with_filters_and_total(journal: tuple[Repository, Reports]) -> None:
    _, reports = journal
    page = reports.trades(limit=2)
    assert page.total == 6 and len(page.trades) == 2
    assert page.trades[0].closed_at > page.trades[1].closed_at
    second = reports.trades(limit=2, offset=2)
    assert second.trades[0].closed_at < page.trades[1].closed_at
    only_b = reports.trades(where=TradeFilter(bot="b"))
    assert only_b.total == 2 and {t.bot for t in only_b.trades} == {"b"}
    window = reports.trades(where=TradeFilter(since=DAY_START, until=DAY_START + timedelta(hours=2)))
    assert window.total == 1
    with pytest.raises(ValueError):
        reports.trades(limit=0)


def test_equity_curve_thins_evenly_and_keeps_the_last_point(tmp_path: Path) -> None:
    path = tmp_path / "curve.sqlite"
    repo = open_storage(path)
    for minute in range(1000):
        snapshot(repo, DAY_START + timedelta(minutes=minute), str(10_000 + minute))
    curve = Reports(path).equity_curve(max_points=100)
    assert len(curve) <= 101
    assert curve[0].equity == Decimal(10_000) and curve[-1].equity == Decimal(10_999)
    assert all(a.time < b.time for a, b in itertools.pairwise(curve))


def test_drawdown_is_the_fall_from_the_running_peak() -> None:
    equity = [Decimal(v) for v in ("100", "120", "90", "130", "117")]
    assert drawdowns(equity) == [Decimal(0), Decimal(0), Decimal("0.25"), Decimal(0), Decimal("0.1")]
    assert max_drawdown(equity) == Decimal("0.25")


def test_an_empty_journal_reports_zeros(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite"
    open_storage(path).close()
    summary = Reports(path).pnl_summary(DAY_START)
    assert (summary.realized_total, summary.trades_total, summary.equity) == (Decimal(0), 0, None)
    assert summary.pnl_today is None
    assert Reports(path).performance_by_bot() == []


def test_reports_read_while_the_daemon_holds_the_write_lock(journal: tuple[Repository, Reports]) -> None:
    repo, reports = journal
    with repo.batch():  # a write transaction in progress
        repo.record_closed_trade(trade("a", "1", "0", NOON))
        assert reports.pnl_summary(DAY_START).trades_today == 5  # the last committed state
    assert reports.pnl_summary(DAY_START).trades_today == 6


# ---------------------------------------------------------------------------------------------------
# The dashboard's reads: bots, control, risk events, positions, the decision trace
# ---------------------------------------------------------------------------------------------------
def journal_order(
    repo: Repository, signal_id: str, instrument: Instrument, bot: str = "a", at: datetime = NOON
) -> Order:
    order = Order(replace(intent(instrument, signal_id=signal_id, time=at), bot=bot))
    repo.insert_order(order)
    return order


def test_performance_by_asset_class_takes_each_instruments_class_from_its_orders(
    journal: tuple[Repository, Reports],
) -> None:
    repo, reports = journal
    journal_order(repo, "spy-order", stock("SPY"))
    journal_order(repo, "btc-order", crypto("BTC/USD"))
    repo.record_closed_trade(trade("d", "2", "0", NOON, key="elsewhere:XYZ"))  # no order names its class
    by_class = {p.key: p for p in reports.performance_by_asset_class()}
    # stock: a (-3.20, +10.00) and c (0.1, 0.2); crypto: b (0.20, -1.05)
    assert by_class["stock"].net_pnl == Decimal("7.10") and (
        by_class["stock"].trades,
        by_class["stock"].wins,
    ) == (
        4,
        3,
    )
    assert by_class["crypto"].net_pnl == Decimal("-0.85") and by_class["crypto"].trades == 2
    assert by_class["unknown"].net_pnl == Decimal("2")
    today = {p.key: p.trades for p in reports.performance_by_asset_class(since=DAY_START)}
    assert today == {"crypto": 2, "stock": 3, "unknown": 1}


def test_closed_trade_totals_group_by_bot_instrument_and_local_day(
    journal: tuple[Repository, Reports],
) -> None:
    _, reports = journal
    totals = reports.closed_trade_totals("America/New_York")
    groups = {
        (g.bot, g.instrument_key, g.day.isoformat()): (g.trades, g.wins, g.net_pnl) for g in totals.groups
    }
    assert groups == {
        ("a", "sim-stocks:SPY", "2026-03-01"): (1, 0, Decimal("-3.20")),  # 03:00 UTC is still 1 March there
        ("a", "sim-stocks:SPY", "2026-03-02"): (1, 1, Decimal("10.00")),
        ("b", "sim-crypto:BTC/USD", "2026-03-02"): (2, 1, Decimal("-0.85")),
        ("c", "sim-stocks:SPY", "2026-03-02"): (2, 2, Decimal("0.3")),
    }
    assert (totals.after_id, totals.last_id) == (0, 6)
    in_utc = reports.closed_trade_totals("UTC")
    assert {g.day.isoformat() for g in in_utc.groups if g.bot == "a"} == {"2026-03-02"}


def test_closed_trade_totals_carry_forward_from_the_last_id_seen(journal: tuple[Repository, Reports]) -> None:
    repo, reports = journal
    first = reports.closed_trade_totals("America/New_York")
    assert reports.closed_trade_totals("America/New_York", first.last_id).groups == []
    repo.record_closed_trade(trade("a", "4.00", "0.50", NOON + timedelta(hours=1)))
    repo.record_closed_trade(trade("d", "-2", "0", NOON + timedelta(days=1)))
    later = reports.closed_trade_totals("America/New_York", first.last_id)
    assert (later.after_id, later.last_id) == (6, 8)
    assert [(g.bot, g.day.isoformat(), g.net_pnl) for g in later.groups] == [
        ("a", "2026-03-02", Decimal("3.50")),
        ("d", "2026-03-03", Decimal("-2")),
    ]
    # what the first read and the later one hold together is what one read of everything holds
    everything = reports.closed_trade_totals("America/New_York").groups
    assert sum(g.net_pnl for g in everything) == sum(g.net_pnl for g in first.groups + later.groups)


def test_closed_trade_totals_of_an_empty_journal_are_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite"
    open_storage(path).close()
    assert Reports(path).closed_trade_totals("UTC", 0).groups == []


def test_bot_activity_counts_todays_signals_orders_fills_and_the_last_error(
    journal: tuple[Repository, Reports],
) -> None:
    repo, reports = journal
    for name in ("a", "quiet"):
        repo.upsert_bot(name, "rsi2", "stock", "sim-stocks", "paper", "every 60 s", {}, DAY_START)
    yesterday = DAY_START - timedelta(hours=3)
    repo.record_bot_run("a", yesterday, yesterday, False, "RuntimeError: old bug", 0)
    repo.record_bot_run(
        "a", NOON - timedelta(minutes=2), NOON - timedelta(minutes=2), False, "ValueError: x", 0
    )
    repo.record_bot_run("a", NOON, NOON + timedelta(seconds=1), True, None, 2)
    repo.record_signal(signal(stock("SPY"), bot="a", time=NOON))
    repo.record_signal(signal(stock("SPY"), bot="a", time=NOON, sequence=1))
    repo.record_signal(signal(stock("SPY"), bot="a", time=yesterday))
    order = journal_order(repo, "sig-a", stock("SPY"))
    repo.record_fill(replace(fill(order.client_order_id), time=NOON), "a")

    activity = {f.name: f for f in reports.bot_activity(DAY_START)}
    a = activity["a"]
    assert (a.bot_class, a.asset_class, a.venue, a.mode, a.schedule) == (
        "rsi2",
        "stock",
        "sim-stocks",
        "paper",
        "every 60 s",
    )
    assert a.last_run_at == NOON + timedelta(seconds=1) and a.last_run_ok is True
    assert a.last_error == "ValueError: x" and a.last_error_at == NOON - timedelta(minutes=2)
    assert (a.signals_today, a.orders_today, a.fills_today) == (2, 1, 1)
    quiet = activity["quiet"]
    assert (quiet.last_run_at, quiet.last_run_ok, quiet.last_error, quiet.signals_today) == (
        None,
        None,
        None,
        0,
    )


def test_control_state_and_paused_bots_read_what_the_daemon_persisted(
    journal: tuple[Repository, Reports],
) -> None:
    repo, reports = journal
    assert reports.control_state() == repo.control_state()  # nothing set yet: active
    repo.set_trading_state("reducing", "daily loss limit: P&L today -31.00 breached -30", NOON)
    repo.set_bot_paused("a", True, "auto-paused after 5 consecutive failures", NOON)
    repo.set_all_paused(True, "operator", NOON)
    assert reports.control_state() == repo.control_state()
    [paused] = reports.paused_bots()
    assert (paused.bot, paused.reason, paused.paused_at) == (
        "a",
        "auto-paused after 5 consecutive failures",
        NOON,
    )
    repo.set_daemon_value("day_start_equity", "10000.5")
    assert reports.daemon_value("day_start_equity") == "10000.5" and reports.daemon_value("nothing") is None


def test_risk_events_newest_first_filtered_and_each_bots_latest(journal: tuple[Repository, Reports]) -> None:
    repo, reports = journal
    repo.record_risk_event(NOON, "bot_size_reduced", "warning", "a at 50 %", bot="a")
    repo.record_risk_event(
        NOON + timedelta(minutes=1), "daily_loss_halt", "critical", "halt", details={"x": "1"}
    )
    repo.record_risk_event(NOON + timedelta(minutes=2), "bot_size_restored", "warning", "a back", bot="a")
    repo.record_risk_event(NOON + timedelta(minutes=3), "bot_size_reduced", "warning", "b at 50 %", bot="b")
    assert [e.message for e in reports.risk_events()] == ["b at 50 %", "a back", "halt", "a at 50 %"]
    assert [e.message for e in reports.risk_events(limit=1)] == ["b at 50 %"]
    [halt] = reports.risk_events(kinds=["daily_loss_halt"])
    assert halt.details == {"x": "1"} and halt.bot is None
    assert len(reports.risk_events(since=NOON + timedelta(minutes=2))) == 2
    latest = reports.latest_risk_event_per_bot(["bot_size_reduced", "bot_size_restored"])
    assert {bot: e.kind for bot, e in latest.items()} == {"a": "bot_size_restored", "b": "bot_size_reduced"}


def test_open_positions_come_back_with_their_exit_plans(journal: tuple[Repository, Reports]) -> None:
    repo, reports = journal
    plan = ExitPlan(
        Side.BUY, Decimal("100"), Decimal("98"), Decimal("2"), Decimal("10"), Decimal("1.5"), Decimal("101")
    )
    repo.save_position(
        Position("a", "sim-stocks:SPY", Decimal("10"), Decimal("100"), opened_at=NOON, exit_plan=plan)
    )
    repo.save_position(Position("b", "sim-stocks:QQQ"))  # flat
    assert reports.open_positions() == repo.load_positions(open_only=True)
    assert reports.open_positions()[0].exit_plan == plan
    journal_order(repo, "spy", stock("SPY"))
    assert reports.asset_classes(["sim-stocks:SPY", "nowhere:X"]) == {"sim-stocks:SPY": "stock"}


def test_latest_signals_carry_every_verdict_and_the_road_shows_order_history_and_fills(
    journal: tuple[Repository, Reports],
) -> None:
    repo, reports = journal
    rejected = signal(stock("SPY"), bot="a", time=NOON)
    repo.record_signal(rejected)
    repo.record_decision(
        rejected.id, 0, Decision.reject("regime", ReasonCode.REGIME_NOT_TRADED, "bear"), NOON
    )
    traded = signal(stock("SPY"), bot="a", time=NOON + timedelta(seconds=1))
    repo.record_signal(traded)
    repo.record_decision(traded.id, 0, Decision.accept("regime", "bull"), NOON)
    repo.record_decision(traded.id, 1, Decision.accept("risk", "10 shares", details={"qty": "10"}), NOON)
    repo.record_decision(traded.id, 2, Decision.accept("router", "sent to sim-stocks"), NOON)
    order = journal_order(repo, traded.id, stock("SPY"))
    order.transition(OrderStatus.SUBMITTED, NOON)
    filled = replace(
        fill(order.client_order_id, price="100.02", fee="0.01"), time=NOON + timedelta(seconds=1)
    )
    order.apply_fill(filled)
    repo.update_order(order, "filled")
    repo.record_fill(filled, "a")

    newest, oldest = reports.latest_signals()
    assert (newest.id, oldest.id) == (traded.id, rejected.id)
    assert [d.stage for d in newest.decisions] == ["regime", "risk", "router"]
    assert newest.final is not None and newest.final.passed and newest.order_status == "filled"
    assert oldest.final is not None and (oldest.final.reason_code, oldest.final.message) == (
        "regime_not_traded",
        "bear",
    )
    assert oldest.client_order_id is None and oldest.order_status is None
    assert reports.latest_signals(bot="b") == [] and len(reports.latest_signals(limit=1, offset=1)) == 1

    road = reports.signal_road(traded.id)
    assert road is not None and road.signal == newest
    assert (
        road.order is not None and road.order.status == "filled" and road.order.filled_quantity == Decimal(10)
    )
    assert list(road.order_events) == repo.order_events(order.client_order_id)
    assert list(road.fills) == [filled]
    assert road.signal.decisions[1].details == {"qty": "10"}
    bare = reports.signal_road(rejected.id)
    assert bare is not None and bare.order is None and bare.fills == ()
    assert reports.signal_road("no-such-signal") is None


def test_latest_equity_is_the_newest_snapshot(journal: tuple[Repository, Reports], tmp_path: Path) -> None:
    _, reports = journal
    latest = reports.latest_equity()
    assert latest is not None and (latest.time, latest.equity, latest.unrealized) == (
        NOON,
        Decimal("10012.00"),
        Decimal("5.25"),
    )
    empty = tmp_path / "empty.sqlite"
    open_storage(empty).close()
    assert Reports(empty).latest_equity() is None


def test_export_streams_every_matching_trade_newest_first(journal: tuple[Repository, Reports]) -> None:
    _, reports = journal
    exported = list(reports.export_trades())
    assert exported == reports.trades(limit=1000).trades
    assert [t.bot for t in reports.export_trades(TradeFilter(bot="b"))] == ["b", "b"]


def test_equity_curve_keeps_every_step_th_snapshot_and_the_last_since_a_time(tmp_path: Path) -> None:
    path = tmp_path / "curve.sqlite"
    repo = open_storage(path)
    for minute in range(250):
        snapshot(repo, DAY_START + timedelta(minutes=minute), str(10_000 + minute))
    since = DAY_START + timedelta(minutes=7)
    every = repo.equity_snapshots(since=since)  # 243 snapshots: a step of 25 for 10 points
    expected = [*every[::25], every[-1]]
    assert Reports(path).equity_curve(since=since, max_points=10) == expected
    assert Reports(path).equity_curve(since=DAY_START + timedelta(days=1)) == []
