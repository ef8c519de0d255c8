"""Reports: the figures operators read, from a real journal file, checked by hand."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from domain.positions import ClosedTrade
from domain.signals import Side
from storage.database import open_storage
from storage.reports import Reports, TradeFilter, drawdowns, max_drawdown
from storage.repository import Repository

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
