"""The go-live gate: the evidence a bot's record must show before it may trade real money.

A bot passes when its round trips number at least `min_trades`, at least `min_win_rate` of
them won (net of fees), and the Sharpe ratio of its daily net P&L reaches `min_sharpe`. The
daily series runs over every calendar day from the bot's first closed trade to today, a day
without a trade counting as 0 (a quiet bot is not rewarded for trading rarely), annualised over
365 days (crypto and prediction markets trade every day). The Sharpe is `backtest.metrics`'s,
the one Sharpe of the project.

The record is the journal's closed trades of the bot: its paper trading, or a replay's journal.
The orchestrator refuses to start a live bot that fails (`[go_live]` in the settings), and the
dashboard's Go / No-Go table shows every bot against the same criteria. Pure: the caller brings
the trades, the timezone of the trading day and today's date.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np

from backtest.metrics import sharpe
from domain.positions import ClosedTrade

DAYS_PER_YEAR = 365


@dataclass(frozen=True, slots=True)
class GoLiveCriteria:
    min_trades: int = 100
    min_win_rate: float = 0.45
    min_sharpe: float = 1.0

    def __post_init__(self) -> None:
        if self.min_trades < 0 or not 0.0 <= self.min_win_rate <= 1.0 or not math.isfinite(self.min_sharpe):
            raise ValueError(f"go-live criteria out of range: {self}")


@dataclass(frozen=True, slots=True)
class GateResult:
    """One bot against the gate; `failures` says which criteria it misses, and why."""

    bot: str
    trades: int
    win_rate: float | None
    sharpe: float | None
    days: int
    failures: tuple[str, ...]

    @property
    def go(self) -> bool:
        return not self.failures


def calendar_series(days_with_trades: Mapping[date, Decimal], first: date, last: date) -> list[Decimal]:
    """Daily net P&L for every day from `first` to `last` inclusive, 0 on days without a trade."""
    series = []
    day = first
    while day <= last:
        series.append(days_with_trades.get(day, Decimal(0)))
        day += timedelta(days=1)
    return series


def annualised_sharpe(daily_pnl: Sequence[Decimal], periods_per_year: int = DAYS_PER_YEAR) -> float | None:
    """mean / sample standard deviation x sqrt(periods); None with fewer than 2 days or no variation."""
    value = float(sharpe(np.array([float(v) for v in daily_pnl], dtype=np.float64), periods_per_year))
    return None if math.isnan(value) else value


def gate(
    bot: str, trades: int, wins: int, daily_pnl: Sequence[Decimal], criteria: GoLiveCriteria
) -> GateResult:
    win_rate = wins / trades if trades else None
    ratio = annualised_sharpe(daily_pnl)
    failures = []
    if trades < criteria.min_trades:
        failures.append(f"{trades} trades, needs {criteria.min_trades}+")
    if win_rate is None or win_rate < criteria.min_win_rate:
        shown = "no trades" if win_rate is None else f"win rate {win_rate:.1%}"
        failures.append(f"{shown}, needs {criteria.min_win_rate:.0%}+")
    if ratio is None or ratio < criteria.min_sharpe:
        shown = "Sharpe unknown (under 2 days or flat)" if ratio is None else f"Sharpe {ratio:.2f}"
        failures.append(f"{shown}, needs {criteria.min_sharpe:.1f}+")
    return GateResult(bot, trades, win_rate, ratio, len(daily_pnl), tuple(failures))


def gate_from_trades(
    bot: str, trades: Iterable[ClosedTrade], timezone: ZoneInfo, today: date, criteria: GoLiveCriteria
) -> GateResult:
    """`bot` against the gate on its closed trades (others' are ignored); days are local to `timezone`."""
    count = wins = 0
    by_day: dict[date, Decimal] = {}
    for trade in trades:
        if trade.bot != bot:
            continue
        count += 1
        wins += trade.net_pnl > 0
        day = trade.closed_at.astimezone(timezone).date()
        by_day[day] = by_day.get(day, Decimal(0)) + trade.net_pnl
    first = min(by_day, default=today)
    return gate(bot, count, wins, calendar_series(by_day, first, max(today, first)), criteria)
