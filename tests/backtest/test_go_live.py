"""The go-live gate worked by hand: Sharpe of the daily P&L, the calendar series, the criteria,
and a bot's gate read from its closed trades."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from backtest.go_live import GoLiveCriteria, annualised_sharpe, calendar_series, gate, gate_from_trades
from domain.positions import ClosedTrade
from domain.signals import Side

D = Decimal
CRITERIA = GoLiveCriteria()  # 100 trades, 45 %, Sharpe 1.0


def test_sharpe_is_the_daily_mean_over_the_sample_deviation_annualised_on_365_days() -> None:
    # mean 0.5; deviations 0.5, -1.5, 1.5, -0.5: squares sum to 5, over n - 1 = 3
    assert annualised_sharpe([D(1), D(-1), D(2), D(0)]) == pytest.approx(
        0.5 / math.sqrt(5 / 3) * math.sqrt(365)
    )
    assert annualised_sharpe([D(3)]) is None  # one day has no deviation
    assert annualised_sharpe([D(2), D(2), D(2)]) is None  # nor does a flat series


def test_days_without_a_trade_count_as_zero() -> None:
    days = {date(2026, 3, 2): D("5"), date(2026, 3, 5): D("-1")}
    assert calendar_series(days, date(2026, 3, 1), date(2026, 3, 6)) == [D(0), D(5), D(0), D(0), D(-1), D(0)]


def test_the_gate_says_go_only_when_every_criterion_holds() -> None:
    steady = [D(10), D(12), D(8), D(11), D(9)] * 4  # high mean, small spread: Sharpe far above 1
    go = gate("bot", 120, 60, steady, CRITERIA)
    assert go.go and go.failures == () and go.win_rate == 0.5 and go.days == 20
    assert gate("bot", 99, 60, steady, CRITERIA).failures == ("99 trades, needs 100+",)
    assert gate("bot", 120, 53, steady, CRITERIA).failures == ("win rate 44.2%, needs 45%+",)
    noisy = gate("bot", 120, 60, [D(10), D(-9)] * 10, CRITERIA)
    assert (
        not noisy.go
        and noisy.sharpe is not None
        and noisy.failures == (f"Sharpe {noisy.sharpe:.2f}, needs 1.0+",)
    )
    nothing = gate("bot", 0, 0, [D(0)], CRITERIA)
    assert nothing.failures == (
        "0 trades, needs 100+",
        "no trades, needs 45%+",
        "Sharpe unknown (under 2 days or flat), needs 1.0+",
    )


def trade(bot: str, pnl: str, closed_at: datetime) -> ClosedTrade:
    return ClosedTrade(
        bot, "sim-stocks:SPY", Side.BUY, D(1), D(100), D(100) + D(pnl), D(pnl), D(0),
        closed_at - timedelta(hours=1), closed_at,
    )  # fmt: skip


def test_a_bots_gate_is_read_from_its_own_trades_by_local_day() -> None:
    new_york = ZoneInfo("America/New_York")
    # 01:30 UTC on 3 March is still 2 March in New York: both trades fall on the 2nd
    late = datetime(2026, 3, 3, 1, 30, tzinfo=UTC)
    trades = [
        trade("a", "4", datetime(2026, 3, 2, 15, 0, tzinfo=UTC)),
        trade("a", "-1", late),
        trade("a", "2", datetime(2026, 3, 4, 15, 0, tzinfo=UTC)),
        trade("b", "100", late),  # another bot's: ignored
    ]
    result = gate_from_trades("a", trades, new_york, date(2026, 3, 5), GoLiveCriteria(3, 0.5, 1.0))
    # daily series 2nd..5th: 3, 0, 2, 0 -> mean 1.25, sample sd sqrt((3.0625 + 1.5625 + 0.5625 + 1.5625) / 3)
    mean, sd = 1.25, math.sqrt(6.75 / 3)
    assert (result.trades, result.win_rate, result.days) == (3, pytest.approx(2 / 3), 4)
    assert result.sharpe == pytest.approx(mean / sd * math.sqrt(365))
    assert result.go


def test_criteria_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="go-live criteria out of range"):
        GoLiveCriteria(min_win_rate=1.5)
