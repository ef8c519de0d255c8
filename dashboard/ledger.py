"""All-time closed-trade figures, kept current by reading only what the journal added since.

A closed round trip is never rewritten, so sums over the journal's trades can be carried
forward: the first look sums every trade (`Reports.closed_trade_totals`, about a second for a
year of 100,000), each later look only the rows after the last id it saw. Every panel that
shows P&L by bot, instrument, asset class or day reads it from here; the sums themselves are
the journal's exact decimal sums.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from storage.reports import DayPnl, Performance, Reports

ZERO = Decimal(0)


@dataclass(slots=True)
class _Sum:
    trades: int = 0
    wins: int = 0
    net_pnl: Decimal = ZERO

    def add(self, trades: int, wins: int, net_pnl: Decimal) -> None:
        self.trades += trades
        self.wins += wins
        self.net_pnl += net_pnl


@dataclass(frozen=True, slots=True)
class Totals:
    trades: int
    wins: int
    net_pnl: Decimal


class TradeLedger:
    def __init__(self, reports: Reports, timezone: str) -> None:
        self._reports = reports
        self._timezone = timezone
        self._lock = threading.Lock()
        self._last_id = 0
        self._by_bot_instrument: dict[tuple[str, str], _Sum] = {}
        self._by_bot_day: dict[str, dict[date, _Sum]] = {}
        self._by_day: dict[date, _Sum] = {}

    def refresh(self) -> None:
        """Add what was journaled since the last look (thread-safe; the first look reads everything)."""
        with self._lock:
            self._refresh()

    def _refresh(self) -> None:
        totals = self._reports.closed_trade_totals(self._timezone, self._last_id)
        for group in totals.groups:
            net = group.net_pnl
            self._by_bot_instrument.setdefault((group.bot, group.instrument_key), _Sum()).add(
                group.trades, group.wins, net
            )
            self._by_bot_day.setdefault(group.bot, {}).setdefault(group.day, _Sum()).add(
                group.trades, group.wins, net
            )
            self._by_day.setdefault(group.day, _Sum()).add(group.trades, group.wins, net)
        self._last_id = totals.last_id

    # -- reading (each look first takes in what is new) -------------------------------------------
    def total(self) -> Totals:
        with self._lock:
            self._refresh()
            return _totals(self._by_day.values())

    def on_day(self, day: date) -> Totals:
        with self._lock:
            self._refresh()
            found = self._by_day.get(day)
            return Totals(found.trades, found.wins, found.net_pnl) if found else Totals(0, 0, ZERO)

    def by_bot(self) -> list[Performance]:
        with self._lock:
            self._refresh()
            return [
                Performance(bot, *_fields(_totals(days.values())))
                for bot, days in sorted(self._by_bot_day.items())
            ]

    def by_instrument(self) -> dict[str, Performance]:
        with self._lock:
            self._refresh()
            grouped: dict[str, _Sum] = {}
            for (_, key), figures in self._by_bot_instrument.items():
                grouped.setdefault(key, _Sum()).add(figures.trades, figures.wins, figures.net_pnl)
        return {key: Performance(key, s.trades, s.wins, s.net_pnl) for key, s in sorted(grouped.items())}

    def by_asset_class(self, classes: Mapping[str, str]) -> list[Performance]:
        """Per asset class, given each instrument's class (`Reports.asset_classes`); 'unknown' else."""
        grouped: dict[str, _Sum] = {}
        for key, performance in self.by_instrument().items():
            grouped.setdefault(classes.get(key, "unknown"), _Sum()).add(
                performance.trades, performance.wins, performance.net_pnl
            )
        return [Performance(name, s.trades, s.wins, s.net_pnl) for name, s in sorted(grouped.items())]

    def instruments(self) -> list[str]:
        with self._lock:
            self._refresh()
            return sorted({key for _, key in self._by_bot_instrument})

    def days(self, first: date, last: date) -> list[DayPnl]:
        """Every day from `first` to `last` inclusive, days without a trade at 0."""
        with self._lock:
            self._refresh()
            result = []
            day = first
            while day <= last:
                found = self._by_day.get(day)
                result.append(
                    DayPnl(day, found.trades, found.wins, found.net_pnl) if found else DayPnl(day, 0, 0, ZERO)
                )
                day = date.fromordinal(day.toordinal() + 1)
            return result

    def daily_by_bot(self) -> dict[str, dict[date, Decimal]]:
        """Each bot's net P&L on each local day it closed a trade."""
        with self._lock:
            self._refresh()
            return {
                bot: {day: s.net_pnl for day, s in days.items()} for bot, days in self._by_bot_day.items()
            }


def _totals(sums: Iterable[_Sum]) -> Totals:
    trades = wins = 0
    net = ZERO
    for s in sums:
        trades += s.trades
        wins += s.wins
        net += s.net_pnl
    return Totals(trades, wins, net)


def _fields(totals: Totals) -> tuple[int, int, Decimal]:
    return totals.trades, totals.wins, totals.net_pnl
