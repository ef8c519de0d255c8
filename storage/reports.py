"""Reports: the read model the operator surfaces (dashboard, Telegram, `status`) share.

Every figure an operator reads is computed here, once, from the journal, so the
browser and the phone can never disagree. Reads go through their own connection
(WAL lets them run beside the daemon's writes without taking its lock), and the
aggregation runs inside SQLite: money is summed exactly by `decimal_sum`, a
Python aggregate registered on the connection that adds the decimals' own text,
so a year of trades is grouped without loading it and without float rounding.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from domain.positions import ClosedTrade, Position
from domain.signals import Side
from storage.records import EquitySnapshot

ZERO = Decimal(0)
# trades, wins, gross and fees of the selected round trips, exactly
# (SQLite gives an aggregate that saw no rows NULL, hence the coalesce)
_TOTALS = (
    "count(*), coalesce(decimal_wins(gross_pnl, fees), 0), coalesce(decimal_sum(gross_pnl), '0'), "
    "coalesce(decimal_sum(fees), '0')"
)


class _DecimalSum:
    """SQLite aggregate: the exact sum of decimal texts (NULLs skipped); '0' over no rows."""

    def __init__(self) -> None:
        self.total = ZERO

    def step(self, value: str | int | float | None) -> None:
        if value is not None:
            self.total += Decimal(str(value))

    def finalize(self) -> str:
        return str(self.total)


class _DecimalWins:
    """SQLite aggregate: how many rows have gross - fees > 0, compared exactly."""

    def __init__(self) -> None:
        self.count = 0

    def step(self, gross: str | None, fees: str | None) -> None:
        if gross is not None and Decimal(gross) - Decimal(fees or "0") > 0:
            self.count += 1

    def finalize(self) -> int:
        return self.count


@dataclass(frozen=True, slots=True)
class PnlSummary:
    """Today's and all-time P&L. `realized_*` are closed round trips net of their fees."""

    day_start: datetime
    realized_today: Decimal
    trades_today: int
    wins_today: int
    realized_total: Decimal
    trades_total: int
    equity: Decimal | None  # the latest equity snapshot (None before the first one)
    unrealized: Decimal | None
    open_positions: int | None
    gross_exposure: Decimal | None
    equity_at: datetime | None
    day_start_equity: Decimal | None  # the first snapshot of the day, what the daily loss counts from

    @property
    def pnl_today(self) -> Decimal | None:
        """Equity now less equity at the day's start: realized and unrealized together."""
        if self.equity is None or self.day_start_equity is None:
            return None
        return self.equity - self.day_start_equity


@dataclass(frozen=True, slots=True)
class Performance:
    """Closed round trips of one group (a bot, an instrument, a day)."""

    key: str
    trades: int
    wins: int
    net_pnl: Decimal

    @property
    def win_rate(self) -> float | None:
        return self.wins / self.trades if self.trades else None


@dataclass(frozen=True, slots=True)
class DayPnl:
    day: date
    trades: int
    wins: int
    net_pnl: Decimal


@dataclass(frozen=True, slots=True)
class TradePage:
    trades: list[ClosedTrade]  # newest first
    total: int  # matching trades in all pages


@dataclass(frozen=True, slots=True)
class TradeFilter:
    bot: str | None = None
    instrument_key: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def where(self) -> tuple[str, list[Any]]:
        clauses, values = [], []
        if self.bot is not None:
            clauses.append("bot = ?")
            values.append(self.bot)
        if self.instrument_key is not None:
            clauses.append("instrument_key = ?")
            values.append(self.instrument_key)
        if self.since is not None:
            clauses.append("closed_at >= ?")
            values.append(_stored_time(self.since))
        if self.until is not None:
            clauses.append("closed_at < ?")
            values.append(_stored_time(self.until))
        return (" where " + " and ".join(clauses)) if clauses else "", values


class Reports:
    """Read-only queries over a journal file."""

    def __init__(self, database: Path | str) -> None:
        self._path = str(database)

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One consistent snapshot on a connection of our own, closed after use (threads welcome)."""
        connection = sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, timeout=10.0)
        try:
            # typeshed's aggregate protocol wants step(*args); ours name their arguments
            connection.create_aggregate("decimal_sum", 1, _DecimalSum)  # type: ignore[arg-type]
            connection.create_aggregate("decimal_wins", 2, _DecimalWins)  # type: ignore[arg-type]
            connection.execute("begin")
            yield connection
        finally:
            connection.close()

    # ------------------------------------------------------------------------------ P&L
    def pnl_summary(self, day_start: datetime) -> PnlSummary:
        start = _stored_time(day_start)
        with self._read() as db:
            today = db.execute(
                f"select {_TOTALS} from closed_trades where closed_at >= ?", (start,)
            ).fetchone()
            total = db.execute(
                "select count(*), coalesce(decimal_sum(gross_pnl), '0'), coalesce(decimal_sum(fees), '0') "
                "from closed_trades"
            ).fetchone()
            latest = db.execute(
                "select time, equity, unrealized, open_positions, gross_exposure from equity_snapshots "
                "order by time desc, id desc limit 1"
            ).fetchone()
            first_today = db.execute(
                "select equity from equity_snapshots where time >= ? order by time, id limit 1", (start,)
            ).fetchone()
        return PnlSummary(
            day_start=day_start,
            realized_today=Decimal(today[2]) - Decimal(today[3]),
            trades_today=int(today[0]),
            wins_today=int(today[1]),
            realized_total=Decimal(total[1]) - Decimal(total[2]),
            trades_total=int(total[0]),
            equity=Decimal(latest[1]) if latest else None,
            unrealized=Decimal(latest[2]) if latest else None,
            open_positions=int(latest[3]) if latest else None,
            gross_exposure=Decimal(latest[4]) if latest else None,
            equity_at=_read_time(latest[0]) if latest else None,
            day_start_equity=Decimal(first_today[0]) if first_today else None,
        )

    def performance_by_bot(self, since: datetime | None = None) -> list[Performance]:
        return self._performance("bot", since)

    def performance_by_instrument(self, since: datetime | None = None) -> list[Performance]:
        return self._performance("instrument_key", since)

    def _performance(self, column: str, since: datetime | None) -> list[Performance]:
        where, values = TradeFilter(since=since).where()
        with self._read() as db:
            rows = db.execute(
                f"select {column}, count(*), decimal_wins(gross_pnl, fees), decimal_sum(gross_pnl), "
                f"decimal_sum(fees) from closed_trades{where} group by {column} order by {column}",
                values,
            ).fetchall()
        return [
            Performance(row[0], int(row[1]), int(row[2]), Decimal(row[3]) - Decimal(row[4])) for row in rows
        ]

    def daily_pnl(self, timezone: str, days: int, now: datetime) -> list[DayPnl]:
        """Net realized P&L per local calendar day for the last `days` days (oldest first, empty days 0).

        Days are cut at local midnight in `timezone`, the trading day of the daily loss limit.
        """
        if days < 1:
            raise ValueError(f"days must be at least 1, got {days}")
        zone = ZoneInfo(timezone)
        today = now.astimezone(zone).date()
        first = today - timedelta(days=days - 1)
        starts = [datetime(d.year, d.month, d.day, tzinfo=zone) for d in _days(first, today + timedelta(1))]
        bounds = list(itertools.pairwise(starts))
        with self._read() as db:
            result = []
            for start, end in bounds:
                row = db.execute(
                    f"select {_TOTALS} from closed_trades where closed_at >= ? and closed_at < ?",
                    (_stored_time(start), _stored_time(end)),
                ).fetchone()
                result.append(
                    DayPnl(start.date(), int(row[0]), int(row[1]), Decimal(row[2]) - Decimal(row[3]))
                )
        return result

    # ------------------------------------------------------------------------------ trades and equity
    def trades(self, limit: int = 50, offset: int = 0, where: TradeFilter | None = None) -> TradePage:
        if not 1 <= limit <= 1000 or offset < 0:
            raise ValueError("limit must be 1..1000 and offset not negative")
        clause, values = (where or TradeFilter()).where()
        with self._read() as db:
            total = db.execute(f"select count(*) from closed_trades{clause}", values).fetchone()[0]
            rows = db.execute(
                "select bot, instrument_key, side, quantity, entry_price, exit_price, gross_pnl, fees, "
                f"opened_at, closed_at from closed_trades{clause} order by closed_at desc, id desc "
                "limit ? offset ?",
                [*values, limit, offset],
            ).fetchall()
        return TradePage([_trade(row) for row in rows], int(total))

    def equity_curve(self, since: datetime | None = None, max_points: int = 500) -> list[EquitySnapshot]:
        """Equity snapshots (oldest first), thinned evenly to at most `max_points`, the last one kept."""
        if max_points < 2:
            raise ValueError("max_points must be at least 2")
        where, values = ("", []) if since is None else (" where time >= ?", [_stored_time(since)])
        with self._read() as db:
            count = db.execute(f"select count(*) from equity_snapshots{where}", values).fetchone()[0]
            step = max(1, -(-int(count) // max_points))
            rows = db.execute(
                "select time, equity, cash, realized, unrealized, fees, open_positions, gross_exposure, rn "
                "from (select *, row_number() over (order by time, id) - 1 as rn "
                f"from equity_snapshots{where}) where rn % ? = 0 or rn = ? order by rn",
                [*values, step, int(count) - 1],
            ).fetchall()
        return [
            EquitySnapshot(
                _read_time(r[0]), Decimal(r[1]), Decimal(r[2]), Decimal(r[3]), Decimal(r[4]), Decimal(r[5]),
                int(r[6]), Decimal(r[7]),
            )
            for r in rows
        ]  # fmt: skip


def drawdowns(equity: Sequence[Decimal]) -> list[Decimal]:
    """Each point's fall below the running peak, as a fraction of that peak (0 at a new high)."""
    peak: Decimal | None = None
    result = []
    for value in equity:
        peak = value if peak is None or value > peak else peak
        result.append((peak - value) / peak if peak > 0 else ZERO)
    return result


def max_drawdown(equity: Sequence[Decimal]) -> Decimal:
    return max(drawdowns(equity), default=ZERO)


def _days(first: date, end: date) -> Iterator[date]:
    day = first
    while day <= end:
        yield day
        day += timedelta(days=1)


def _stored_time(moment: datetime) -> str:
    """The journal's own spelling of a time: naive UTC text, as UtcDateTime writes it."""
    if moment.tzinfo is None:
        raise ValueError("report bounds must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _read_time(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _trade(row: Sequence[Any]) -> ClosedTrade:
    return ClosedTrade(
        bot=row[0],
        instrument_key=row[1],
        side=Side(row[2]),
        quantity=Decimal(row[3]),
        entry_price=Decimal(row[4]),
        exit_price=Decimal(row[5]),
        gross_pnl=Decimal(row[6]),
        fees=Decimal(row[7]),
        opened_at=_read_time(row[8]),
        closed_at=_read_time(row[9]),
    )


def open_positions_of(positions: Sequence[Position]) -> list[Position]:
    """Open positions, largest exposure first (a convenience for the surfaces' tables)."""
    return sorted(
        (p for p in positions if p.quantity != 0),
        key=lambda p: abs(p.quantity * p.average_entry_price),
        reverse=True,
    )
