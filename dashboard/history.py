"""The record panels: closed trades (filtered, paginated, CSV), the decision trace and analytics."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from ai.veto_followup import scorecard
from backtest.go_live import DAYS_PER_YEAR, GateResult, GoLiveCriteria, calendar_series, gate
from backtest.replay_journal import NotAReplay, replay_gates
from bots.event_trading.scorecard import edge_scorecard
from dashboard.context import Dashboard, iso, money
from domain.positions import ClosedTrade
from domain.prediction_records import PREDICTION_SOURCES_KEY
from storage.reports import Performance, SignalTrace, StageVerdict, TradeFilter, drawdowns, max_drawdown

log = logging.getLogger("dashboard")
MAX_PAGE_SIZE = 200


class BadQuery(ValueError):
    """A query parameter the dashboard cannot use; the message says which and why."""


# ---------------------------------------------------------------------------------------------------
# Closed trades
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TradeQuery:
    where: TradeFilter
    page: int
    per_page: int


def trade_query(dashboard: Dashboard, args: Mapping[str, str]) -> TradeQuery:
    """Filters from the query string: bot, instrument, from and to (local dates, both inclusive)."""
    zone = dashboard.timezone
    since = until = None
    if args.get("from"):
        since = datetime.combine(_date(args["from"], "from"), datetime.min.time(), zone)
    if args.get("to"):
        until = datetime.combine(_date(args["to"], "to") + timedelta(days=1), datetime.min.time(), zone)
    page = _integer(args.get("page", "1"), "page", 1, 10_000_000)
    per_page = _integer(args.get("per_page", "50"), "per_page", 1, MAX_PAGE_SIZE)
    where = TradeFilter(
        bot=args.get("bot") or None, instrument_key=args.get("instrument") or None, since=since, until=until
    )
    return TradeQuery(where, page, per_page)


def trades(dashboard: Dashboard, query: TradeQuery) -> dict[str, Any]:
    page = dashboard.reports.trades(query.per_page, (query.page - 1) * query.per_page, query.where)
    where = query.where
    return {
        "filters": {
            "bot": where.bot,
            "instrument": where.instrument_key,
            "since": iso(where.since),
            "until": iso(where.until),
        },
        "page": query.page,
        "per_page": query.per_page,
        "total": page.total,
        "pages": max(1, -(-page.total // query.per_page)),
        "trades": [trade_row(t) for t in page.trades],
    }


def trade_row(trade: ClosedTrade) -> dict[str, Any]:
    return {
        "bot": trade.bot,
        "instrument_key": trade.instrument_key,
        "side": trade.side.value,
        "quantity": money(trade.quantity),
        "entry_price": money(trade.entry_price),
        "exit_price": money(trade.exit_price),
        "gross_pnl": money(trade.gross_pnl),
        "fees": money(trade.fees),
        "net_pnl": money(trade.net_pnl),
        "opened_at": iso(trade.opened_at),
        "closed_at": iso(trade.closed_at),
    }


CSV_COLUMNS = (
    "closed_at",
    "opened_at",
    "bot",
    "instrument_key",
    "side",
    "quantity",
    "entry_price",
    "exit_price",
    "gross_pnl",
    "fees",
    "net_pnl",
)


def trades_csv(dashboard: Dashboard, where: TradeFilter) -> Iterator[str]:
    """Every matching trade (not one page), newest first, streamed a thousand rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for number, trade in enumerate(dashboard.reports.export_trades(where), start=1):
        row = trade_row(trade)
        writer.writerow([row[column] for column in CSV_COLUMNS])
        if number % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


# ---------------------------------------------------------------------------------------------------
# The decision trace
# ---------------------------------------------------------------------------------------------------
def signals(dashboard: Dashboard, args: Mapping[str, str]) -> dict[str, Any]:
    limit = _integer(args.get("limit", "50"), "limit", 1, MAX_PAGE_SIZE)
    offset = _integer(args.get("offset", "0"), "offset", 0, 10_000_000)
    bot = args.get("bot") or None
    found = dashboard.reports.latest_signals(limit, offset, bot)
    return {"limit": limit, "offset": offset, "bot": bot, "signals": [signal_row(s) for s in found]}


def signal_row(signal: SignalTrace) -> dict[str, Any]:
    final = signal.final
    return {
        "id": signal.id,
        "bot": signal.bot,
        "instrument_key": signal.instrument_key,
        "asset_class": signal.asset_class,
        "side": signal.side,
        "intent": signal.intent,
        "confidence": signal.confidence,
        "edge": signal.edge,
        "stop": signal.stop,
        "reason": signal.reason,
        "time": iso(signal.time),
        "final": None if final is None else verdict_row(final),
        "decisions": [verdict_row(d) for d in signal.decisions],
        "client_order_id": signal.client_order_id,
        "order_status": signal.order_status,
    }


def verdict_row(verdict: StageVerdict) -> dict[str, Any]:
    return {
        "seq": verdict.seq,
        "stage": verdict.stage,
        "verdict": verdict.verdict,
        "reason_code": verdict.reason_code,
        "message": verdict.message,
        "confidence": verdict.confidence,
        "size_multiplier": verdict.size_multiplier,
        "details": dict(verdict.details),
        "time": iso(verdict.time),
    }


def signal_road(dashboard: Dashboard, signal_id: str) -> dict[str, Any] | None:
    road = dashboard.reports.signal_road(signal_id)
    if road is None:
        return None
    order = road.order
    return {
        "signal": {**signal_row(road.signal), "evidence": dict(road.signal.evidence)},
        "order": None
        if order is None
        else {
            "client_order_id": order.client_order_id,
            "status": order.status,
            "side": order.side,
            "quantity": money(order.quantity),
            "order_type": order.order_type,
            "limit_price": money(order.limit_price),
            "reduce_only": order.reduce_only,
            "filled_quantity": money(order.filled_quantity),
            "average_fill_price": money(order.average_fill_price),
            "venue_order_id": order.venue_order_id,
            "reason": order.reason,
            "created_at": iso(order.created_at),
            "updated_at": iso(order.updated_at),
        },
        "order_events": [
            {
                "from_status": None if e.from_status is None else e.from_status.value,
                "to_status": e.to_status.value,
                "time": iso(e.time),
                "reason": e.reason,
            }
            for e in road.order_events
        ],
        "fills": [
            {
                "venue": f.venue,
                "venue_trade_id": f.venue_trade_id,
                "side": f.side.value,
                "quantity": money(f.quantity),
                "price": money(f.price),
                "fee": money(f.fee),
                "time": iso(f.time),
            }
            for f in road.fills
        ],
    }


# ---------------------------------------------------------------------------------------------------
# Analytics
# ---------------------------------------------------------------------------------------------------
VETO_SCORECARD_BASIS = (
    "Each vetoed entry is followed on paper: entered at the quote when it was vetoed (a buy at the ask, "
    "a sell at the bid) and marked at each horizon on the exit side of the quote, or when its stop is hit; "
    "returns before fees. A negative mean return means the vetoed entries would have lost money: "
    "the veto saved it."
)


def analytics(dashboard: Dashboard) -> dict[str, Any]:
    reports = dashboard.reports
    now = dashboard.live.state().now if dashboard.live is not None else dashboard.clock.now()
    curve = reports.equity_curve(max_points=500)
    equity = [point.equity for point in curve]
    ledger = dashboard.ledger
    performance = ledger.by_bot()
    today = now.astimezone(dashboard.timezone).date()
    return {
        "as_of": iso(now),
        "equity_curve": [
            {"time": iso(point.time), "equity": money(point.equity), "drawdown": float(drawdown)}
            for point, drawdown in zip(curve, drawdowns(equity), strict=True)
        ],
        "max_drawdown": float(max_drawdown(equity)),
        "by_bot": [performance_row(p) for p in performance],
        "by_asset_class": [
            performance_row(p) for p in ledger.by_asset_class(reports.asset_classes(ledger.instruments()))
        ],
        "daily_pnl": [
            {"day": d.day.isoformat(), "net_pnl": money(d.net_pnl), "trades": d.trades}
            for d in ledger.days(today - timedelta(days=29), today)
        ],
        "validation_gate": validation(dashboard, performance, today),
        "veto_scorecard": veto_scorecard(dashboard),
        "edge_table": edge_table(dashboard),
    }


def veto_scorecard(dashboard: Dashboard, recent: int = 20) -> dict[str, Any]:
    """Whether the veto earns its keep: the vetoed entries' paper outcomes, by cause."""
    follow_up = dashboard.settings.veto.follow_up
    horizons = sorted(set(follow_up.horizons_minutes))
    shadows = dashboard.reports.shadow_trades(limit=10_000)
    return {
        "enabled": dashboard.settings.veto.enabled and follow_up.enabled,
        "basis": VETO_SCORECARD_BASIS,
        "horizons_minutes": horizons,
        "rows": [row.to_dict() for row in scorecard(shadows, horizons)],
        "recent": [
            {
                "signal_id": s.signal_id,
                "vetoed_at": iso(s.vetoed_at),
                "bot": s.bot,
                "instrument_key": s.instrument_key,
                "side": s.side.value,
                "cause": s.cause,
                "reason": s.reason,
                "entry_price": s.entry_price,
                "status": s.status,
                "marks": {str(h): m.to_dict() for h, m in sorted(s.marks.items())},
            }
            for s in shadows[:recent]
        ],
    }


def edge_table(dashboard: Dashboard) -> dict[str, Any]:
    """The edge-detection table: the consensus and each source, per domain, on the edges the
    prediction-market bots signalled; and the sources' health as the daemon last stored it."""
    reports = dashboard.reports
    rows = edge_scorecard(reports.prediction_edges(), reports.source_calibrations())
    return {
        "rows": [row.to_dict() for row in rows],
        "sources": prediction_sources(reports.daemon_value(PREDICTION_SOURCES_KEY)),
    }


def prediction_sources(stored: str | None) -> list[dict[str, Any]]:
    """The stored list of source health (`SourceHealth.to_dict()` plus `domains`); absent or
    malformed: none, since a page must not fail over what another process wrote."""
    if stored is None:
        return []
    try:
        sources = json.loads(stored)
    except ValueError:
        log.warning("the stored %s is not JSON; showing no sources", PREDICTION_SOURCES_KEY)
        return []
    if not isinstance(sources, list) or not all(isinstance(s, dict) and "name" in s for s in sources):
        log.warning("the stored %s is not a list of sources; showing none", PREDICTION_SOURCES_KEY)
        return []
    return sources


def performance_row(performance: Performance) -> dict[str, Any]:
    return {
        "key": performance.key,
        "trades": performance.trades,
        "wins": performance.wins,
        "win_rate": performance.win_rate,
        "net_pnl": money(performance.net_pnl),
    }


def validation(dashboard: Dashboard, performance: list[Performance], today: date) -> dict[str, Any]:
    """Each bot against the go-live gate on its paper record and on every replay journal
    `[go_live] replay_journals` lists; a row shows the record that passes, if one does."""
    daily = dashboard.ledger.daily_by_bot()
    go_live = dashboard.settings.go_live
    criteria = GoLiveCriteria(go_live.min_trades, go_live.min_win_rate, go_live.min_sharpe)
    records: dict[str, list[tuple[str, GateResult]]] = {}
    for bot in performance:
        days = daily.get(bot.key, {})
        first = min(days, default=today)
        series = calendar_series(days, first, max(today, first))
        records.setdefault(bot.key, []).append(
            ("paper", gate(bot.key, bot.trades, bot.wins, series, criteria))
        )
    problems = []
    for journal in go_live.replay_journals:
        try:
            gates = replay_gates(journal, None, dashboard.settings.system.timezone, criteria)
        except NotAReplay as exc:
            problems.append(str(exc))
            continue
        for name, replayed in gates.items():
            records.setdefault(name, []).append((f"replay {Path(journal).parent.name}", replayed.result))
    rows = []
    for name in sorted(records):
        shown = next(((kind, r) for kind, r in records[name] if r.go), records[name][0])
        kind, result = shown
        rows.append(
            {
                "bot": result.bot,
                "record": kind,
                "trades": result.trades,
                "win_rate": result.win_rate,
                "sharpe": result.sharpe,
                "days": result.days,
                "go": result.go,
                "failures": list(result.failures),
            }
        )
    return {
        "criteria": {
            "min_trades": criteria.min_trades,
            "min_win_rate": criteria.min_win_rate,
            "min_sharpe": criteria.min_sharpe,
        },
        "sharpe_basis": (
            f"daily net P&L over every calendar day from the bot's first trade to today "
            f"(no-trade days count as 0; a replay's days end on its last day), mean / standard deviation "
            f"x sqrt({DAYS_PER_YEAR})"
        ),
        "journal_problems": problems,
        "bots": rows,
    }


# ---------------------------------------------------------------------------------------------------
def _date(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadQuery(f"{name} must be a date like 2026-03-02, got {text!r}") from None


def _integer(text: str, name: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise BadQuery(f"{name} must be a whole number, got {text!r}") from None
    if not low <= value <= high:
        raise BadQuery(f"{name} must be between {low} and {high}, got {value}")
    return value
