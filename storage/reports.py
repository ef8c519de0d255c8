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
import json
import math
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from backtest.metrics import drawdown_series
from domain.orders import Fill, OrderStatus
from domain.positions import ClosedTrade, Position
from domain.prediction_records import Calibration, EdgeRecord
from domain.shadow_trades import ShadowTrade
from domain.signals import Side
from domain.trading_state import TradingState
from storage.mapping import edge_from, exit_plan_from, shadow_trade_from
from storage.records import ControlState, EquitySnapshot, FleetWeight, OrderEvent, RiskEvent

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


@dataclass(frozen=True, slots=True)
class BotActivity:
    """One bot as the daemon registered it, and how it ran today (its P&L: `closed_trade_totals`)."""

    name: str
    bot_class: str
    asset_class: str
    venue: str
    mode: str
    schedule: str
    last_run_at: datetime | None
    last_run_ok: bool | None
    last_error: str | None  # the latest failed tick since the day's start
    last_error_at: datetime | None
    signals_today: int
    orders_today: int
    fills_today: int


@dataclass(frozen=True, slots=True)
class TotalsGroup:
    """Closed round trips of one bot in one instrument on one local day."""

    bot: str
    instrument_key: str
    day: date
    trades: int
    wins: int
    gross_pnl: Decimal
    fees: Decimal

    @property
    def net_pnl(self) -> Decimal:
        return self.gross_pnl - self.fees


@dataclass(frozen=True, slots=True)
class TradeTotals:
    """The round trips journaled after row `after_id` up to row `last_id`, summed per group.

    Closed trades are append-only, so totals read this way can be carried forward: add what
    came after `last_id` next time (the dashboard's ledger does).
    """

    after_id: int
    last_id: int
    groups: list[TotalsGroup]


@dataclass(frozen=True, slots=True)
class PausedBot:
    bot: str
    reason: str
    paused_at: datetime


@dataclass(frozen=True, slots=True)
class StageVerdict:
    """One stage's decision on a signal, as journaled (codes as text: old rows stay readable)."""

    seq: int
    stage: str
    verdict: str
    reason_code: str
    message: str
    confidence: float | None
    size_multiplier: float
    details: Mapping[str, Any]
    time: datetime

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"


@dataclass(frozen=True, slots=True)
class SignalTrace:
    """A signal with every stage's verdict and the order it produced, if any."""

    id: str
    bot: str
    instrument_key: str
    asset_class: str
    side: str
    intent: str
    confidence: float
    edge: float
    stop: float | None
    reason: str
    time: datetime
    evidence: Mapping[str, Any]
    decisions: tuple[StageVerdict, ...]
    client_order_id: str | None
    order_status: str | None

    @property
    def final(self) -> StageVerdict | None:
        """The last verdict on the road: the rejection that stopped it, or the router's answer."""
        return self.decisions[-1] if self.decisions else None


@dataclass(frozen=True, slots=True)
class OrderRecord:
    client_order_id: str
    bot: str
    instrument_key: str
    side: str
    quantity: Decimal
    order_type: str
    limit_price: Decimal | None
    reduce_only: bool
    status: str
    filled_quantity: Decimal
    average_fill_price: Decimal | None
    venue_order_id: str | None
    reason: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class SignalRoad:
    """A signal's whole road: its verdicts, its order, the order's status history and its fills."""

    signal: SignalTrace
    order: OrderRecord | None
    order_events: tuple[OrderEvent, ...]
    fills: tuple[Fill, ...]


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
        """Equity snapshots (oldest first), thinned evenly to at most `max_points`, the last one kept.

        The ids come in time order from the time index alone; only the kept rows are read in full
        (a year of 5-minute snapshots is 105,000 rows).
        """
        if max_points < 2:
            raise ValueError("max_points must be at least 2")
        where, values = ("", []) if since is None else (" where time >= ?", [_stored_time(since)])
        with self._read() as db:
            ids = [
                row[0]
                for row in db.execute(f"select id from equity_snapshots{where} order by time, id", values)
            ]
            step = max(1, -(-len(ids) // max_points))
            kept = ids[::step]
            if ids and kept[-1] != ids[-1]:
                kept.append(ids[-1])
            rows = db.execute(
                f"select {_EQUITY_COLUMNS} from equity_snapshots where id in "
                "(select value from json_each(?)) order by time, id",
                (json.dumps(kept),),
            ).fetchall()
        return [_equity_snapshot(r) for r in rows]

    def latest_equity(self) -> EquitySnapshot | None:
        with self._read() as db:
            row = db.execute(
                f"select {_EQUITY_COLUMNS} from equity_snapshots order by time desc, id desc limit 1"
            ).fetchone()
        return None if row is None else _equity_snapshot(row)

    def export_trades(self, where: TradeFilter | None = None) -> Iterator[ClosedTrade]:
        """Every matching trade, newest first, streamed from one snapshot (a CSV export of a year)."""
        clause, values = (where or TradeFilter()).where()
        with self._read() as db:
            cursor = db.execute(
                "select bot, instrument_key, side, quantity, entry_price, exit_price, gross_pnl, fees, "
                f"opened_at, closed_at from closed_trades{clause} order by closed_at desc, id desc",
                values,
            )
            while rows := cursor.fetchmany(1000):
                yield from (_trade(row) for row in rows)

    def performance_by_asset_class(self, since: datetime | None = None) -> list[Performance]:
        """Closed round trips per asset class, which the journal's orders record per instrument.

        Grouped by instrument first (a few hundred groups), so each instrument's class is one
        index lookup, not a join over every order.
        """
        where, values = TradeFilter(since=since).where()
        with self._read() as db:
            rows = db.execute(
                "select coalesce((select o.asset_class from orders o where o.instrument_key = t.key "
                "limit 1), 'unknown') as asset_class, sum(t.n), sum(t.w), decimal_sum(t.g), decimal_sum(t.f) "
                "from (select instrument_key as key, count(*) as n, decimal_wins(gross_pnl, fees) as w, "
                f"decimal_sum(gross_pnl) as g, decimal_sum(fees) as f from closed_trades{where} "
                "group by instrument_key) t group by 1 order by 1",
                values,
            ).fetchall()
        return [
            Performance(row[0], int(row[1]), int(row[2]), Decimal(row[3]) - Decimal(row[4])) for row in rows
        ]

    def closed_trade_totals(self, timezone: str, after_id: int = 0) -> TradeTotals:
        """Round trips journaled after row `after_id`, summed per bot, instrument and local day.

        Days are cut at local midnight in `timezone`. One query per day touched, each a range of
        the `closed_at` index: a year of 100,000 trades sums in about a second, and a later call
        with the last id seen reads only what was added since.
        """
        zone = ZoneInfo(timezone)
        with self._read() as db:
            first, last, last_id = db.execute(
                "select min(closed_at), max(closed_at), max(id) from closed_trades where id > ?", (after_id,)
            ).fetchone()
            if last_id is None:
                return TradeTotals(after_id, after_id, [])
            groups: list[TotalsGroup] = []
            for day in _days(
                _read_time(first).astimezone(zone).date(), _read_time(last).astimezone(zone).date()
            ):
                start = datetime(day.year, day.month, day.day, tzinfo=zone)
                following = day + timedelta(days=1)
                end = datetime(following.year, following.month, following.day, tzinfo=zone)
                # `+id`: filter on the id without letting the planner scan by it instead of by time
                rows = db.execute(
                    f"select bot, instrument_key, {_TOTALS} from closed_trades where closed_at >= ? "
                    "and closed_at < ? and +id > ? and +id <= ? group by bot, instrument_key",
                    (_stored_time(start), _stored_time(end), after_id, last_id),
                )
                groups.extend(
                    TotalsGroup(bot, key, day, int(trades), int(wins), Decimal(gross), Decimal(fees))
                    for bot, key, trades, wins, gross, fees in rows
                )
        return TradeTotals(after_id, int(last_id), groups)

    # ------------------------------------------------------------------------------ bots and control
    def bot_activity(self, day_start: datetime) -> list[BotActivity]:
        """Every bot the daemon has registered, with its activity since `day_start`.

        The last runs are an index lookup per bot (`bot_runs` holds a week of ticks: millions of
        rows with 500 bots, which a GROUP BY would read in full).
        """
        start = _stored_time(day_start)
        with self._read() as db:
            bots = db.execute(
                "select name, bot_class, asset_class, venue, mode, schedule, "
                "(select finished_at from bot_runs r where r.bot = b.name order by finished_at desc "
                "limit 1), "
                "(select ok from bot_runs r where r.bot = b.name order by finished_at desc limit 1), "
                "(select error || char(31) || finished_at from bot_runs r where r.bot = b.name "
                "and r.finished_at >= ? and not r.ok order by finished_at desc limit 1) "
                "from bots b order by name",
                (start,),
            ).fetchall()
            signals = dict(
                db.execute("select bot, count(*) from signals where time >= ? group by bot", (start,))
            )
            orders = dict(
                db.execute("select bot, count(*) from orders where created_at >= ? group by bot", (start,))
            )
            fills = dict(db.execute("select bot, count(*) from fills where time >= ? group by bot", (start,)))
        activity = []
        for name, bot_class, asset_class, venue, mode, schedule, last_at, last_ok, failed in bots:
            error, _, error_at = (failed or "").rpartition(chr(31))
            activity.append(
                BotActivity(
                    name=name,
                    bot_class=bot_class,
                    asset_class=asset_class,
                    venue=venue,
                    mode=mode,
                    schedule=schedule,
                    last_run_at=_read_time(last_at) if last_at else None,
                    last_run_ok=None if last_ok is None else bool(last_ok),
                    last_error=error if failed else None,
                    last_error_at=_read_time(error_at) if failed else None,
                    signals_today=int(signals.get(name, 0)),
                    orders_today=int(orders.get(name, 0)),
                    fills_today=int(fills.get(name, 0)),
                )
            )
        return activity

    def control_state(self) -> ControlState:
        """The operator's levers as the daemon last persisted them."""
        with self._read() as db:
            row = db.execute(
                "select trading_state, trading_reason, all_paused, all_paused_reason from control "
                "where id = 1"
            ).fetchone()
            paused = dict(db.execute("select bot, reason from paused_bots order by bot"))
        if row is None:
            return ControlState(paused_bots=paused)
        return ControlState(TradingState(row[0]), row[1], bool(row[2]), row[3], paused)

    def paused_bots(self) -> list[PausedBot]:
        with self._read() as db:
            rows = db.execute("select bot, reason, paused_at from paused_bots order by paused_at, bot")
            return [PausedBot(bot, reason, _read_time(at)) for bot, reason, at in rows]

    def daemon_value(self, key: str) -> str | None:
        """A fact the daemon keeps across restarts (`broker_health`, `day_start_equity`, ...)."""
        with self._read() as db:
            row = db.execute("select value from daemon_kv where key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # ------------------------------------------------------------------------------ regimes
    def market_regimes(self) -> list[dict[str, Any]]:
        """Each watched market's current regime with its probabilities, by market."""
        with self._read() as db:
            rows = db.execute(
                "select instrument_key, regime, probability, probabilities, bar_time, fitted_at, fit_bars, "
                "updated_at from market_regimes order by instrument_key"
            ).fetchall()
        return [
            {
                "instrument_key": r[0], "regime": r[1], "probability": r[2],
                "probabilities": json.loads(r[3]), "bar_time": _read_time(r[4]).isoformat(),
                "fitted_at": _read_time(r[5]).isoformat(), "fit_bars": r[6],
                "updated_at": _read_time(r[7]).isoformat(),
            }
            for r in rows
        ]  # fmt: skip

    def regime_fits(self, limit: int = 50) -> list[dict[str, Any]]:
        """The latest regime-model fits (successes and failures), newest first."""
        if not 1 <= limit <= 1000:
            raise ValueError("limit must be 1..1000")
        with self._read() as db:
            rows = db.execute(
                "select time, instrument_key, ok, message, fit_bars, log_likelihood, states from regime_fits "
                "order by time desc, id desc limit ?",
                (limit,),
            ).fetchall()
        return [
            {
                "time": _read_time(r[0]).isoformat(), "instrument_key": r[1], "ok": bool(r[2]),
                "message": r[3], "fit_bars": r[4], "log_likelihood": r[5],
                "states": json.loads(r[6]).get("states", []),
            }
            for r in rows
        ]  # fmt: skip

    def shadow_trades(self, limit: int = 1000) -> list[ShadowTrade]:
        """The latest vetoed entries followed on paper, newest first."""
        if not 1 <= limit <= 100_000:
            raise ValueError("limit must be 1..100000")
        columns = (
            "signal_id", "vetoed_at", "bot", "instrument_key", "side", "stage", "cause", "reason",
            "entry_price", "stop", "horizons", "status", "marks",
        )  # fmt: skip
        with self._read() as db:
            rows = db.execute(
                f"select {', '.join(columns)} from vetoed_trades order by vetoed_at desc, signal_id limit ?",
                (limit,),
            ).fetchall()
        shadows = []
        for row in rows:
            values = dict(zip(columns, row, strict=True))
            values["vetoed_at"] = _read_time(values["vetoed_at"])
            values["horizons"] = json.loads(values["horizons"])
            values["marks"] = json.loads(values["marks"])
            shadows.append(shadow_trade_from(values))
        return shadows

    # ------------------------------------------------------------------------------ prediction markets
    def prediction_edges(self) -> list[EdgeRecord]:
        """Every bot's edge record of every prediction market, by when it was last signalled."""
        columns = (
            "bot", "instrument_key", "domain", "side", "crowd_price", "probability", "edge", "side_price",
            "estimates", "first_seen", "last_seen", "signals", "gate", "gate_reason", "traded",
            "outcome_yes", "settled_at", "pnl", "extra",
        )  # fmt: skip
        with self._read() as db:
            rows = db.execute(
                f"select {', '.join(columns)} from prediction_edges order by last_seen, bot, instrument_key"
            ).fetchall()
        edges = []
        for row in rows:
            values = dict(zip(columns, row, strict=True))
            for name in ("first_seen", "last_seen"):
                values[name] = _read_time(values[name])
            values["settled_at"] = None if values["settled_at"] is None else _read_time(values["settled_at"])
            values["estimates"] = json.loads(values["estimates"])
            values["extra"] = json.loads(values["extra"])
            values["pnl"] = None if values["pnl"] is None else Decimal(values["pnl"])
            edges.append(edge_from(values))
        return edges

    def source_calibrations(self) -> dict[str, dict[str, Calibration]]:
        """Domain -> source -> the source's calibration record in that domain."""
        found: dict[str, dict[str, Calibration]] = {}
        with self._read() as db:
            rows = db.execute(
                "select domain, source, settled, squared_error_sum from source_calibration "
                "order by domain, source"
            ).fetchall()
        for domain, source, settled, squared_error_sum in rows:
            found.setdefault(domain, {})[source] = Calibration(source, int(settled), float(squared_error_sum))
        return found

    # ------------------------------------------------------------------------------ risk events
    def fleet_rounds(self, max_rounds: int = 200) -> list[FleetWeight]:
        """The fleet's allocation rounds, oldest first: every round when there are at most
        `max_rounds`, else that many spread evenly over the history (the last one always in)."""
        with self._read() as db:
            times = [
                row[0] for row in db.execute("select distinct time from fleet_allocations order by time")
            ]
            if not times:
                return []
            if max_rounds <= 1:
                times = times[-1:]
            elif len(times) > max_rounds:
                step = (len(times) - 1) / (max_rounds - 1)
                times = [times[round(i * step)] for i in range(max_rounds)]
            found: list[FleetWeight] = []
            for start in range(0, len(times), 500):
                chunk = times[start : start + 500]
                marks = ", ".join("?" for _ in chunk)
                rows = db.execute(
                    "select time, bot, weight, size_multiplier, trades, posterior_mean, posterior_sd "
                    f"from fleet_allocations where time in ({marks}) order by time, bot",
                    chunk,
                )
                found.extend(
                    FleetWeight(
                        _read_time(r[0]), r[1], float(r[2]), float(r[3]), int(r[4]), float(r[5]), float(r[6])
                    )
                    for r in rows
                )
        return found

    def refusals_by_reason(self) -> dict[str, int]:
        """How many signals each stage refused, keyed `stage: reason code`, most frequent first."""
        with self._read() as db:
            rows = db.execute(
                "select stage, reason_code, count(*) from decisions where verdict = 'reject' "
                "group by stage, reason_code order by count(*) desc, stage, reason_code"
            ).fetchall()
        return {f"{stage}: {code}": int(count) for stage, code, count in rows}

    def risk_events(
        self, limit: int = 50, kinds: Sequence[str] | None = None, since: datetime | None = None
    ) -> list[RiskEvent]:
        """Risk events, newest first."""
        if not 1 <= limit <= 1000:
            raise ValueError("limit must be 1..1000")
        clauses, values = _risk_event_clauses(kinds, since)
        with self._read() as db:
            rows = db.execute(
                f"select time, kind, severity, message, bot, details from risk_events{clauses} "
                "order by time desc, id desc limit ?",
                [*values, limit],
            ).fetchall()
        return [_risk_event(row) for row in rows]

    def latest_risk_event_per_bot(self, kinds: Sequence[str]) -> dict[str, RiskEvent]:
        """Each bot's latest event among `kinds` (e.g. its last size reduction or restoration)."""
        marks = ", ".join("?" for _ in kinds)
        with self._read() as db:
            rows = db.execute(
                "select time, kind, severity, message, bot, details from risk_events where id in "
                f"(select max(id) from risk_events where kind in ({marks}) and bot is not null group by bot)",
                list(kinds),
            ).fetchall()
        return {row[4]: _risk_event(row) for row in rows}

    # ------------------------------------------------------------------------------ positions
    def open_positions(self) -> list[Position]:
        """Open positions with their exit plans, as the daemon last saved them."""
        with self._read() as db:
            rows = db.execute(
                "select bot, instrument_key, quantity, average_entry_price, realized_pnl, fees, opened_at, "
                "entry_quantity, exit_quantity, exit_value, exit_plan from positions where is_open "
                "order by bot, instrument_key"
            ).fetchall()
        return [
            Position(
                bot=r[0], instrument_key=r[1], quantity=Decimal(r[2]), average_entry_price=Decimal(r[3]),
                realized_pnl=Decimal(r[4]), fees=Decimal(r[5]), opened_at=_read_time(r[6]) if r[6] else None,
                entry_quantity=Decimal(r[7]), exit_quantity=Decimal(r[8]), exit_value=Decimal(r[9]),
                exit_plan=exit_plan_from(json.loads(r[10])) if r[10] else None,
            )
            for r in rows
        ]  # fmt: skip

    def asset_classes(self, instrument_keys: Sequence[str]) -> dict[str, str]:
        """The asset class the journal's orders record for each instrument (those it knows)."""
        with self._read() as db:
            found = {}
            for key in set(instrument_keys):
                row = db.execute(
                    "select asset_class from orders where instrument_key = ? limit 1", (key,)
                ).fetchone()
                if row is not None:
                    found[key] = str(row[0])
        return found

    # ------------------------------------------------------------------------------ the decision trace
    def latest_signals(self, limit: int = 50, offset: int = 0, bot: str | None = None) -> list[SignalTrace]:
        """The newest signals, each with every stage's verdict and its order's status."""
        if not 1 <= limit <= 500 or offset < 0:
            raise ValueError("limit must be 1..500 and offset not negative")
        where, values = (" where bot = ?", [bot]) if bot is not None else ("", [])
        with self._read() as db:
            rows = db.execute(
                f"select {_SIGNAL_COLUMNS} from (select * from signals{where} "
                "order by time desc, id desc limit ? offset ?) s "
                "left join orders o on o.signal_id = s.id order by s.time desc, s.id desc",
                [*values, limit, offset],
            ).fetchall()
            verdicts = _verdicts(db, [row[0] for row in rows])
        return [_signal_trace(row, verdicts.get(row[0], ())) for row in rows]

    def signal_road(self, signal_id: str) -> SignalRoad | None:
        """One signal's whole road, or None when the journal has no such signal."""
        with self._read() as db:
            row = db.execute(
                f"select {_SIGNAL_COLUMNS} from signals s left join orders o on o.signal_id = s.id "
                "where s.id = ?",
                (signal_id,),
            ).fetchone()
            if row is None:
                return None
            signal = _signal_trace(row, _verdicts(db, [signal_id]).get(signal_id, ()))
            if signal.client_order_id is None:
                return SignalRoad(signal, None, (), ())
            order_id = signal.client_order_id
            order = _order_record(
                db.execute(
                    f"select {_ORDER_COLUMNS} from orders where client_order_id = ?", (order_id,)
                ).fetchone()
            )
            events = tuple(
                OrderEvent(
                    order_id,
                    None if before is None else OrderStatus(before),
                    OrderStatus(after),
                    _read_time(time),
                    reason,
                )
                for before, after, time, reason in db.execute(
                    "select from_status, to_status, time, reason from order_events "
                    "where client_order_id = ? order by id",
                    (order_id,),
                )
            )
            fills = tuple(
                _fill(r)
                for r in db.execute(
                    f"select {_FILL_COLUMNS} from fills where client_order_id = ? order by time, id",
                    (order_id,),
                )
            )
        return SignalRoad(signal, order, events, fills)


def drawdowns(equity: Sequence[Decimal]) -> list[Decimal]:
    """Each point's fall below the running peak, as a fraction of that peak (0 at a new high, and
    where no positive peak has been seen yet). Computed by `backtest.metrics`, the one definition
    the project uses; a ratio needs no exact decimals, so it goes through float and back."""
    fractions = drawdown_series(np.array([float(value) for value in equity], dtype=np.float64))
    return [ZERO if math.isnan(fraction) else Decimal(repr(float(fraction))) for fraction in fractions]


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


_SIGNAL_COLUMNS = (
    "s.id, s.bot, s.instrument_key, s.asset_class, s.side, s.intent, s.confidence, s.edge, s.stop, s.reason, "
    "s.time, s.evidence, o.client_order_id, o.status"
)


def _signal_trace(row: Sequence[Any], decisions: Sequence[StageVerdict]) -> SignalTrace:
    return SignalTrace(
        id=row[0], bot=row[1], instrument_key=row[2], asset_class=row[3], side=row[4], intent=row[5],
        confidence=float(row[6]), edge=float(row[7]), stop=None if row[8] is None else float(row[8]),
        reason=row[9], time=_read_time(row[10]), evidence=json.loads(row[11]) if row[11] else {},
        decisions=tuple(decisions), client_order_id=row[12], order_status=row[13],
    )  # fmt: skip


def _verdicts(db: sqlite3.Connection, signal_ids: Sequence[str]) -> dict[str, list[StageVerdict]]:
    found: dict[str, list[StageVerdict]] = {}
    for start in range(0, len(signal_ids), 500):  # stay under SQLite's bound-parameter limit
        chunk = signal_ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        rows = db.execute(
            "select signal_id, seq, stage, verdict, reason_code, message, confidence, size_multiplier, "
            f"details, time from decisions where signal_id in ({marks}) order by signal_id, seq, id",
            chunk,
        )
        for r in rows:
            found.setdefault(r[0], []).append(
                StageVerdict(
                    seq=int(r[1]), stage=r[2], verdict=r[3], reason_code=r[4], message=r[5],
                    confidence=r[6], size_multiplier=float(r[7]), details=json.loads(r[8]) if r[8] else {},
                    time=_read_time(r[9]),
                )
            )  # fmt: skip
    return found


_ORDER_COLUMNS = (
    "client_order_id, bot, instrument_key, side, quantity, order_type, limit_price, reduce_only, status, "
    "filled_quantity, average_fill_price, venue_order_id, reason, created_at, updated_at"
)
_FILL_COLUMNS = (
    "client_order_id, venue, venue_trade_id, instrument_key, side, quantity, price, fee, time, settlement"
)


_EQUITY_COLUMNS = "time, equity, cash, realized, unrealized, fees, open_positions, gross_exposure"


def _equity_snapshot(r: Sequence[Any]) -> EquitySnapshot:
    return EquitySnapshot(
        _read_time(r[0]), Decimal(r[1]), Decimal(r[2]), Decimal(r[3]), Decimal(r[4]), Decimal(r[5]),
        int(r[6]), Decimal(r[7]),
    )  # fmt: skip


def _fill(r: Sequence[Any]) -> Fill:
    return Fill(
        client_order_id=r[0], venue=r[1], venue_trade_id=r[2], instrument_key=r[3], side=Side(r[4]),
        quantity=Decimal(r[5]), price=Decimal(r[6]), fee=Decimal(r[7]), time=_read_time(r[8]),
        settlement=bool(r[9]),
    )  # fmt: skip


def _order_record(row: Sequence[Any]) -> OrderRecord:
    return OrderRecord(
        client_order_id=row[0], bot=row[1], instrument_key=row[2], side=row[3], quantity=Decimal(row[4]),
        order_type=row[5], limit_price=None if row[6] is None else Decimal(row[6]), reduce_only=bool(row[7]),
        status=row[8], filled_quantity=Decimal(row[9]),
        average_fill_price=None if row[10] is None else Decimal(row[10]), venue_order_id=row[11],
        reason=row[12], created_at=_read_time(row[13]), updated_at=_read_time(row[14]),
    )  # fmt: skip


def _risk_event_clauses(kinds: Sequence[str] | None, since: datetime | None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    values: list[Any] = []
    if kinds:
        clauses.append(f"kind in ({', '.join('?' for _ in kinds)})")
        values.extend(kinds)
    if since is not None:
        clauses.append("time >= ?")
        values.append(_stored_time(since))
    return (" where " + " and ".join(clauses)) if clauses else "", values


def _risk_event(row: Sequence[Any]) -> RiskEvent:
    return RiskEvent(_read_time(row[0]), row[1], row[2], row[3], row[4], json.loads(row[5]) if row[5] else {})


def open_positions_of(positions: Sequence[Position]) -> list[Position]:
    """Open positions, largest exposure first (a convenience for the surfaces' tables)."""
    return sorted(
        (p for p in positions if p.quantity != 0),
        key=lambda p: abs(p.quantity * p.average_entry_price),
        reverse=True,
    )
