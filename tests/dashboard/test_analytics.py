"""The dashboard's arithmetic, worked by hand: the validation gate, the book's VaR/CVaR, exit progress."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

import numpy as np
import pytest

from dashboard.analytics import (
    annualised_sharpe,
    book_tail_risk,
    calendar_series,
    exit_progress,
    validation_gate,
)
from domain.market import BarSeries
from domain.positions import ExitPlan
from domain.signals import Side

D = Decimal


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
    go = validation_gate("bot", 120, 60, steady)
    assert go.go and go.failures == () and go.win_rate == 0.5 and go.days == 20
    assert validation_gate("bot", 99, 60, steady).failures == ("99 trades, needs 100+",)
    assert validation_gate("bot", 120, 53, steady).failures == ("win rate 44.2%, needs 45%+",)
    noisy = validation_gate("bot", 120, 60, [D(10), D(-9)] * 10)
    assert (
        not noisy.go
        and noisy.sharpe is not None
        and noisy.failures == (f"Sharpe {noisy.sharpe:.2f}, needs 1.0+",)
    )
    nothing = validation_gate("bot", 0, 0, [D(0)])
    assert nothing.failures == (
        "0 trades, needs 100+",
        "no trades, needs 45%+",
        "Sharpe unknown (under 2 days or flat), needs 1.0+",
    )


def bars(key: str, times: list[int], returns: list[float]) -> BarSeries:
    closes = 100 * np.cumprod([1.0, *(1 + r for r in returns)])
    t = np.array(times, dtype=np.float64)
    return BarSeries(key, 60, t, closes, closes, closes, closes, np.ones_like(closes))


RETURNS_A = [0.01] * 18 + [-0.02, -0.05]
RETURNS_B = [0.0] * 18 + [0.01, 0.02]
TIMES = [60 * i for i in range(21)]


def test_var_and_cvar_of_a_long_short_book_worked_by_hand() -> None:
    # P&L per scenario: +1000 × r_A − 500 × r_B = 10 eighteen times, then −25, then −60.
    # At 90 % the tail is the 2 worst of 20: VaR is the 2nd worst loss, CVaR the mean of both.
    risk = book_tail_risk(
        {"A": 1000.0, "B": -500.0},
        {"A": bars("A", TIMES, RETURNS_A), "B": bars("B", TIMES, RETURNS_B)},
        timeframe_seconds=60,
        horizon_seconds=60,
        method="historical",
        confidence=0.9,
    )
    assert risk.var == pytest.approx(25.0) and risk.cvar == pytest.approx(42.5)
    assert (risk.scenarios, risk.markets, risk.reason) == (20, 2, None)
    longer = book_tail_risk(
        {"A": 1000.0, "B": -500.0},
        {"A": bars("A", TIMES, RETURNS_A), "B": bars("B", TIMES, RETURNS_B)},
        timeframe_seconds=60,
        horizon_seconds=240,  # four bars: returns scale by sqrt(4) = 2
        method="historical",
        confidence=0.9,
    )
    assert longer.var == pytest.approx(50.0) and longer.cvar == pytest.approx(85.0)


def test_markets_are_aligned_on_the_bars_they_share() -> None:
    # B has one bar more, at a time A does not (A's market was closed): it drops out of both
    extra_times = [*TIMES[:10], 570, *TIMES[10:]]
    extra_returns = [*RETURNS_B[:9], 0.0, *RETURNS_B[9:]]  # the extra close repeats the one before
    closes_b = bars("B", extra_times, extra_returns)
    risk = book_tail_risk(
        {"A": 1000.0, "B": -500.0},
        {"A": bars("A", TIMES, RETURNS_A), "B": closes_b},
        timeframe_seconds=60,
        horizon_seconds=60,
        method="historical",
        confidence=0.9,
    )
    assert risk.scenarios == 20 and risk.var == pytest.approx(25.0)


def test_var_is_unavailable_rather_than_partial() -> None:
    kwargs = {"timeframe_seconds": 60, "horizon_seconds": 60, "method": "historical", "confidence": 0.9}
    missing = book_tail_risk(
        {"A": 1000.0, "B": -500.0}, {"A": bars("A", TIMES, RETURNS_A), "B": None}, **kwargs
    )  # type: ignore[arg-type]
    assert (
        missing.var is None and missing.missing == ("B",) and "no bar history for B" in (missing.reason or "")
    )
    short = book_tail_risk({"A": 1.0}, {"A": bars("A", TIMES[:5], RETURNS_A[:4])}, **kwargs)  # type: ignore[arg-type]
    assert short.var is None and "share 5 bars; 21 are needed" in (short.reason or "")
    assert book_tail_risk({}, {}, **kwargs).reason == "no open positions"  # type: ignore[arg-type]


def test_exit_progress_reads_the_plan_and_the_mark_in_units_of_risk() -> None:
    plan = ExitPlan(Side.BUY, D(100), D(98), D(2), D(30), D("1.5"), D(100))
    fresh = exit_progress(plan, D(30), D(103))
    assert fresh.r_multiple == D("1.5") and fresh.stage.startswith("waiting for the first target")
    assert (fresh.first_target, fresh.second_target, fresh.remaining_fraction) == (D(102), D(104), D(1))
    assert exit_progress(plan, D(30), None).r_multiple is None
    later = ExitPlan(Side.SELL, D(100), D(100), D(2), D(30), D("1.5"), D(95), first_target_done=True)
    progress = exit_progress(later, D(-20), D(97))
    assert progress.r_multiple == D("1.5") and progress.first_target == D(98)  # a short gains as price falls
    assert progress.remaining_fraction == D(20) / D(30) and progress.stage.startswith("first target taken")
    trailing = exit_progress(
        ExitPlan(Side.BUY, D(100), D(103), D(2), D(30), D("1.5"), D(106), True, True), D(10), D(105)
    )
    assert trailing.trailing and "trailing stop" in trailing.stage
