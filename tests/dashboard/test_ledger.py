"""The ledger carries the journal's trade sums forward and always agrees with a full read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from dashboard.ledger import TradeLedger
from domain.positions import ClosedTrade
from domain.signals import Side
from storage.database import open_storage
from storage.reports import Reports

NOON = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # 12:00 in New York


def trade(bot: str, net: str, closed_at: datetime, key: str = "sim-stocks:SPY") -> ClosedTrade:
    price = Decimal(100)
    return ClosedTrade(
        bot, key, Side.BUY, Decimal(1), price, price + Decimal(net), Decimal(net), Decimal(0),
        closed_at - timedelta(minutes=5), closed_at,
    )  # fmt: skip


def test_new_trades_are_added_to_what_was_already_summed(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    repo = open_storage(path)
    reports = Reports(path)
    ledger = TradeLedger(reports, "America/New_York")
    assert ledger.total().trades == 0 and ledger.by_bot() == []
    repo.record_closed_trade(trade("a", "0.1", NOON))
    repo.record_closed_trade(
        trade("b", "-2", NOON - timedelta(hours=14), "sim-crypto:BTC/USD")
    )  # 1 March there
    assert ledger.total().net_pnl == Decimal("-1.9")
    repo.record_closed_trade(trade("a", "0.2", NOON + timedelta(minutes=1)))
    # exactly 0.3, as the journal's decimal sums give it, and the same figures a full read gives
    assert {p.key: p.net_pnl for p in ledger.by_bot()} == {"a": Decimal("0.3"), "b": Decimal("-2")}
    assert ledger.by_bot() == reports.performance_by_bot()
    assert (
        ledger.on_day(NOON.date()).trades == 2 and ledger.on_day(NOON.date() - timedelta(days=1)).trades == 1
    )
    by_class = {p.key: (p.trades, p.net_pnl) for p in ledger.by_asset_class({"sim-stocks:SPY": "stock"})}
    assert by_class == {"stock": (2, Decimal("0.3")), "unknown": (1, Decimal("-2"))}
    days = ledger.days(NOON.date() - timedelta(days=2), NOON.date())
    assert [(d.day.day, d.trades, d.net_pnl) for d in days] == [
        (28, 0, 0),
        (1, 1, Decimal("-2")),
        (2, 2, Decimal("0.3")),
    ]
    assert ledger.daily_by_bot() == {
        "a": {NOON.date(): Decimal("0.3")},
        "b": {NOON.date() - timedelta(days=1): Decimal("-2")},
    }
    summary = reports.pnl_summary(datetime(2026, 3, 2, 5, 0, tzinfo=UTC))
    assert (
        ledger.total().net_pnl == summary.realized_total
        and ledger.on_day(NOON.date()).net_pnl == summary.realized_today
    )
