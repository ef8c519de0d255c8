"""The live panels: overview, bots, open positions and risk, as JSON-ready dicts.

Each panel reads the journal through `Reports`; when the daemon is running, what
only it knows (the book at its current marks, broker health, the streak
multipliers) comes from one visit to its loop (`LiveBridge.state`). Read-only,
the same fields come from the journal: the latest equity snapshot, the stored
broker health, positions valued at their entry price, each labelled as such.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from backtest.stress import BookPosition, standard_scenarios, stress_book
from dashboard.analytics import exit_progress
from dashboard.context import Dashboard, fraction, iso, money
from dashboard.live import LiveState
from domain.instruments import AssetClass
from domain.positions import Position
from domain.trading_state import TradingState
from storage.records import ControlState, RiskEvent

ZERO = Decimal(0)
STREAK_KINDS = ("bot_size_reduced", "bot_size_restored")
CIRCUIT_BREAKER_KINDS = ("daily_loss_halt", "daily_loss_reset", "bot_auto_paused", *STREAK_KINDS)


@dataclass(frozen=True, slots=True)
class BookFigures:
    """The book as the risk limits see it: live from the daemon, or from the journal read-only."""

    source: str  # "live book" or "journal"
    now: datetime
    equity: Decimal | None
    equity_at: datetime | None
    day_start_equity: Decimal | None
    positions: list[Position]
    marks: dict[str, Decimal]  # live marks by instrument (empty read-only)
    asset_classes: dict[str, str]  # by instrument
    position_count: int
    gross_exposure: Decimal | None
    exposure_by_bot: dict[str, Decimal]
    exposure_by_class: dict[str, Decimal]
    size_multipliers: dict[str, float]  # bots trading below full size after a loss streak
    stored_unrealized: Decimal | None = None  # read-only: the latest snapshot's

    @property
    def daily_pnl(self) -> Decimal | None:
        if self.equity is None or self.day_start_equity is None:
            return None
        return self.equity - self.day_start_equity

    @property
    def unrealized(self) -> Decimal | None:
        if not self.marks:
            return self.stored_unrealized
        return sum(
            (
                p.unrealized_pnl(self.marks.get(p.instrument_key, p.average_entry_price))
                for p in self.positions
            ),
            ZERO,
        )


def book_figures(dashboard: Dashboard, live: LiveState | None) -> BookFigures:
    reports = dashboard.reports
    positions = reports.open_positions()
    classes = reports.asset_classes([p.instrument_key for p in positions])
    if live is not None:
        book = live.book
        marks = {e.instrument_key: e.mark_price for e in book.open_exposures}
        by_class: dict[str, Decimal] = {}
        for exposure in book.open_exposures + book.pending_entries:
            by_class[exposure.asset_class] = by_class.get(exposure.asset_class, ZERO) + exposure.notional
        return BookFigures(
            source="live book",
            now=live.now,
            equity=book.equity,
            equity_at=live.now,
            day_start_equity=book.day_start_equity,
            positions=positions,
            marks=marks,
            asset_classes={**classes, **{e.instrument_key: e.asset_class for e in book.open_exposures}},
            position_count=book.position_count,
            gross_exposure=book.gross_exposure,
            exposure_by_bot={
                bot: book.exposure_of(bot=bot)
                for bot in {e.bot for e in book.open_exposures + book.pending_entries}
            },
            exposure_by_class=by_class,
            size_multipliers=dict(book.bot_size_multipliers),
        )
    now = dashboard.clock.now()
    day_start = dashboard.day_start(now)
    latest = reports.latest_equity()
    today = reports.equity_curve(since=day_start, max_points=2)
    day_start_equity = today[0].equity if today else None
    if reports.daemon_value("trading_day") == day_start.date().isoformat():
        stored = reports.daemon_value("day_start_equity")  # what the daemon's daily loss counts from
        day_start_equity = Decimal(stored) if stored is not None else day_start_equity
    by_bot: dict[str, Decimal] = {}
    by_class = {}
    for position in positions:  # at entry price: without the daemon there is no current mark
        notional = position.notional(position.average_entry_price)
        by_bot[position.bot] = by_bot.get(position.bot, ZERO) + notional
        asset_class = classes.get(position.instrument_key, "unknown")
        by_class[asset_class] = by_class.get(asset_class, ZERO) + notional
    streaks = reports.latest_risk_event_per_bot(STREAK_KINDS)
    return BookFigures(
        source="journal",
        now=now,
        equity=latest.equity if latest else None,
        equity_at=latest.time if latest else None,
        day_start_equity=day_start_equity,
        positions=positions,
        marks={},
        asset_classes=classes,
        position_count=len(positions),
        gross_exposure=latest.gross_exposure if latest else None,
        exposure_by_bot=by_bot,
        exposure_by_class=by_class,
        size_multipliers={
            bot: dashboard.settings.risk.loss_streak_multiplier
            for bot, event in streaks.items()
            if event.kind == "bot_size_reduced"
        },
        stored_unrealized=latest.unrealized if latest else None,
    )


# ---------------------------------------------------------------------------------------------------
# Overview
# ---------------------------------------------------------------------------------------------------
def overview(dashboard: Dashboard) -> dict[str, Any]:
    reports = dashboard.reports
    risk = dashboard.settings.risk
    live = dashboard.live.state() if dashboard.live is not None else None
    book = book_figures(dashboard, live)
    day_start = dashboard.day_start(book.now)
    today = dashboard.ledger.on_day(day_start.date())
    total = dashboard.ledger.total()
    control = reports.control_state()
    if live is not None:
        modes = [b.mode for b in live.bots]
        names = [b.name for b in live.bots]
    else:
        known = reports.bot_activity(day_start)
        modes, names = [b.mode for b in known], [b.name for b in known]
    paused = len(names) if control.all_paused else len([n for n in names if n in control.paused_bots])
    unrealized = book.unrealized
    cap = None if book.equity is None else Decimal(str(risk.gross_exposure_cap_fraction)) * book.equity
    limit = Decimal(str(risk.daily_loss_limit_usd))
    daily = book.daily_pnl
    return {
        "as_of": iso(book.now),
        "read_only": dashboard.read_only,
        "daemon": "running" if live is not None else "not running (read-only from the journal)",
        "source": book.source,
        "trading": {
            "state": control.trading_state.value,
            "reason": control.trading_reason,
            "all_paused": control.all_paused,
            "bots": len(names),
            "paused_bots": paused,
            "running_bots": len(names) - paused,
        },
        "modes": {mode: modes.count(mode) for mode in sorted(set(modes))},
        "pnl": {
            "today": money(daily),
            "realized_today": money(today.net_pnl),
            "trades_today": today.trades,
            "wins_today": today.wins,
            "realized_total": money(total.net_pnl),
            "trades_total": total.trades,
            "unrealized": money(unrealized),
            "total": money(None if unrealized is None else total.net_pnl + unrealized),
        },
        "equity": {
            "value": money(book.equity),
            "at": iso(book.equity_at),
            "day_start": money(book.day_start_equity),
        },
        "positions": {"open": book.position_count, "max": risk.max_concurrent_positions},
        "exposure": {
            "gross": money(book.gross_exposure),
            "cap": money(cap),
            "used": fraction(book.gross_exposure, cap),
        },
        "daily_loss": {
            "pnl_today": money(daily),
            "limit": money(limit),
            "used": None if daily is None else max(0.0, float(-daily) / float(limit)),
            "halted": _daily_loss_halted(control),
        },
        "brokers": broker_health(dashboard, live),
        "circuit_breakers": circuit_breakers(dashboard, control, book),
        "risk_events": [risk_event(e) for e in reports.risk_events(limit=15)],
        "equity_today": [
            {"time": iso(point.time), "equity": money(point.equity)}
            for point in reports.equity_curve(since=day_start, max_points=200)
        ],
    }


def broker_health(dashboard: Dashboard, live: LiveState | None) -> dict[str, Any]:
    if live is not None:
        return {"source": "live", "at": iso(live.now), "rows": live.brokers}
    stored = dashboard.reports.daemon_value("broker_health")
    if stored is None:
        return {"source": "journal", "at": None, "rows": []}
    document = json.loads(stored)
    return {"source": "journal", "at": document.get("at"), "rows": document.get("brokers", [])}


def circuit_breakers(dashboard: Dashboard, control: ControlState, book: BookFigures) -> list[dict[str, Any]]:
    """Each automatic brake: whether it holds now, and when and why it last fired."""
    reports = dashboard.reports
    breakers: list[dict[str, Any]] = []
    halt = next(iter(reports.risk_events(limit=1, kinds=["daily_loss_halt"])), None)
    reset = next(iter(reports.risk_events(limit=1, kinds=["daily_loss_reset"])), None)
    breakers.append(
        {
            "name": "daily loss halt",
            "active": _daily_loss_halted(control),
            "bot": None,
            "fired_at": iso(halt.time) if halt else None,
            "reason": halt.message if halt else None,
            "cleared_at": iso(reset.time) if reset else None,
        }
    )
    if control.trading_state is TradingState.HALTED:
        breakers.append(
            {
                "name": "trading halted",
                "active": True,
                "bot": None,
                "fired_at": None,
                "reason": control.trading_reason,
                "cleared_at": None,
            }
        )
    streaks = reports.latest_risk_event_per_bot(STREAK_KINDS)
    for bot in sorted(
        set(book.size_multipliers) | {b for b, e in streaks.items() if e.kind == STREAK_KINDS[0]}
    ):
        event = streaks.get(bot)
        breakers.append(
            {
                "name": "loss-streak size reduction",
                "active": bot in book.size_multipliers,
                "bot": bot,
                "multiplier": book.size_multipliers.get(bot, 1.0),
                "fired_at": iso(event.time) if event else None,
                "reason": event.message if event else None,
                "cleared_at": None,
            }
        )
    for paused in reports.paused_bots():
        if paused.reason.startswith("auto-paused"):
            breakers.append(
                {
                    "name": "bot auto-paused",
                    "active": True,
                    "bot": paused.bot,
                    "fired_at": iso(paused.paused_at),
                    "reason": paused.reason,
                    "cleared_at": None,
                }
            )
    return breakers


def _daily_loss_halted(control: ControlState) -> bool:
    return control.trading_state is TradingState.REDUCING and (control.trading_reason or "").startswith(
        "daily loss limit"
    )


def risk_event(event: RiskEvent) -> dict[str, Any]:
    return {
        "time": iso(event.time),
        "kind": event.kind,
        "severity": event.severity,
        "message": event.message,
        "bot": event.bot,
        "details": dict(event.details),
    }


# ---------------------------------------------------------------------------------------------------
# Bots
# ---------------------------------------------------------------------------------------------------
def bots(dashboard: Dashboard) -> dict[str, Any]:
    live = dashboard.live.state() if dashboard.live is not None else None
    book = book_figures(dashboard, live)
    figures = {f.name: f for f in dashboard.reports.bot_activity(dashboard.day_start(book.now))}
    performance = {p.key: p for p in dashboard.ledger.by_bot()}
    control = dashboard.reports.control_state()
    names = [b.name for b in live.bots] if live is not None else sorted(figures)
    cap = dashboard.settings.risk.max_bot_exposure_fraction
    fleet = {row.bot: row for row in dashboard.reports.fleet_rounds(max_rounds=1)}
    rows = []
    for name in names:
        figure = figures.get(name)
        done = performance.get(name)
        exposure = book.exposure_by_bot.get(name, ZERO)
        paused_reason = control.all_paused_reason if control.all_paused else control.paused_bots.get(name)
        rows.append(
            {
                "name": name,
                "bot_class": figure.bot_class if figure else None,
                "asset_class": figure.asset_class if figure else None,
                "venue": figure.venue if figure else None,
                "mode": figure.mode if figure else None,
                "schedule": figure.schedule if figure else None,
                "paused": control.all_paused or name in control.paused_bots,
                "paused_reason": paused_reason,
                "last_run_at": iso(figure.last_run_at) if figure else None,
                "last_run_ok": figure.last_run_ok if figure else None,
                "last_error": figure.last_error if figure else None,
                "last_error_at": iso(figure.last_error_at) if figure else None,
                "signals_today": figure.signals_today if figure else 0,
                "orders_today": figure.orders_today if figure else 0,
                "fills_today": figure.fills_today if figure else 0,
                "trades": done.trades if done else 0,
                "wins": done.wins if done else 0,
                "win_rate": done.win_rate if done else None,
                "net_pnl": money(done.net_pnl if done else ZERO),
                "allocation": {
                    "exposure": money(exposure),
                    "of_equity": fraction(exposure, book.equity),
                    "cap_of_equity": cap,
                    "size_multiplier": book.size_multipliers.get(name, 1.0),
                    "valued_at": "mark" if book.marks else "entry price",
                },
                # the fleet's latest Thompson weight and size multiplier; None outside the fleet
                "fleet": None
                if name not in fleet
                else {"weight": fleet[name].weight, "size_multiplier": fleet[name].size_multiplier},
            }
        )
    return {
        "as_of": iso(book.now),
        "read_only": dashboard.read_only,
        "all_paused": control.all_paused,
        "trading_state": control.trading_state.value,
        "bots": rows,
    }


# ---------------------------------------------------------------------------------------------------
# Open positions
# ---------------------------------------------------------------------------------------------------
def positions(dashboard: Dashboard) -> dict[str, Any]:
    live = dashboard.live.state() if dashboard.live is not None else None
    book = book_figures(dashboard, live)
    return {
        "as_of": iso(book.now),
        "source": book.source,
        "positions": [position_row(p, book) for p in _largest_first(book.positions)],
    }


def position_row(position: Position, book: BookFigures) -> dict[str, Any]:
    mark = book.marks.get(position.instrument_key)
    plan = position.exit_plan
    progress = None if plan is None else exit_progress(plan, position.quantity, mark)
    return {
        "bot": position.bot,
        "instrument_key": position.instrument_key,
        "asset_class": book.asset_classes.get(position.instrument_key),
        "side": position.side.value if position.side else None,
        "quantity": money(position.quantity),
        "average_entry_price": money(position.average_entry_price),
        "opened_at": iso(position.opened_at),
        "mark": money(mark),
        "unrealized": money(None if mark is None else position.unrealized_pnl(mark)),
        "notional": money(position.notional(mark if mark is not None else position.average_entry_price)),
        "fees": money(position.fees),
        "exit_plan": None
        if progress is None
        else {
            "stage": progress.stage,
            "stop_price": money(progress.stop_price),
            "first_target": money(progress.first_target),
            "second_target": money(progress.second_target),
            "first_target_done": progress.first_target_done,
            "second_target_done": progress.second_target_done,
            "trailing": progress.trailing,
            "remaining_fraction": float(progress.remaining_fraction),
            "r_multiple": None if progress.r_multiple is None else float(progress.r_multiple),
        },
    }


def _largest_first(positions: Sequence[Position]) -> list[Position]:
    return sorted(positions, key=lambda p: abs(p.quantity * p.average_entry_price), reverse=True)


# ---------------------------------------------------------------------------------------------------
# Risk
# ---------------------------------------------------------------------------------------------------
def risk(dashboard: Dashboard) -> dict[str, Any]:
    limits = dashboard.settings.risk
    live = dashboard.live.state() if dashboard.live is not None else None
    book = book_figures(dashboard, live)
    control = dashboard.reports.control_state()
    equity = book.equity
    daily = book.daily_pnl
    gross_cap = None if equity is None else Decimal(str(limits.gross_exposure_cap_fraction)) * equity
    controls = [
        _control("trading state", control.trading_state.value, None, None, control.trading_reason),
        _control(
            "daily loss",
            None if daily is None else max(ZERO, -daily),
            Decimal(str(limits.daily_loss_limit_usd)),
            "usd",
            f"P&L today {daily:.2f}" if daily is not None else "no equity snapshot today yet",
        ),
        _control(
            "open positions",
            Decimal(book.position_count),
            Decimal(limits.max_concurrent_positions),
            "count",
            None,
        ),
        _control(
            "gross exposure",
            book.gross_exposure,
            gross_cap,
            "usd",
            f"{limits.gross_exposure_cap_fraction:.0%} of equity",
        ),
    ]
    classes = sorted(set(limits.max_asset_class_exposure_fraction) | set(book.exposure_by_class))
    for asset_class in classes:
        cap_fraction = limits.max_asset_class_exposure_fraction.get(asset_class)  # type: ignore[call-overload]
        cap = None if cap_fraction is None or equity is None else Decimal(str(cap_fraction)) * equity
        note = (
            f"{cap_fraction:.0%} of equity"
            if cap_fraction is not None
            else "no cap of its own (gross cap only)"
        )
        controls.append(
            _control(
                f"{asset_class} exposure", book.exposure_by_class.get(asset_class, ZERO), cap, "usd", note
            )
        )
    for bot, exposure in sorted(book.exposure_by_bot.items(), key=lambda item: item[1], reverse=True):
        cap = None if equity is None else Decimal(str(limits.max_bot_exposure_fraction)) * equity
        controls.append(
            _control(
                f"{bot} exposure", exposure, cap, "usd", f"{limits.max_bot_exposure_fraction:.0%} of equity"
            )
        )
    streaks = [
        {
            "bot": bot,
            "multiplier": multiplier,
            "losses_to_reduce": limits.losses_to_reduce,
            "wins_to_restore": limits.wins_to_restore,
        }
        for bot, multiplier in sorted(book.size_multipliers.items())
    ]
    return {
        "as_of": iso(book.now),
        "source": book.source,
        "valued_at": "mark" if live is not None else "entry price (no live marks without the daemon)",
        "equity": money(equity),
        "controls": controls,
        "loss_streaks": streaks,
        "tail_risk": tail_risk(dashboard, equity),
        "stress": stress(book, float(limits.daily_loss_limit_usd)),
    }


def stress(book: BookFigures, daily_loss_limit: float) -> dict[str, Any]:
    """The open book under the standard stress scenarios (`backtest.stress`), against the daily loss
    limit: priced at the live marks, or at entry prices when the daemon is down."""
    if book.equity is None or book.equity <= 0:
        return {"available": False, "reason": "no equity snapshot yet", "scenarios": []}
    positions: list[BookPosition] = []
    marks: dict[str, float] = {}
    for position in book.positions:
        if position.quantity == 0:
            continue
        try:
            asset_class = AssetClass(book.asset_classes.get(position.instrument_key, ""))
        except ValueError:
            continue  # an instrument the journal cannot class: left out, and said below
        positions.append(BookPosition(position.instrument_key, asset_class, float(position.quantity)))
        mark = book.marks.get(position.instrument_key, position.average_entry_price)
        marks[position.instrument_key] = float(mark)
    left_out = len([p for p in book.positions if p.quantity != 0]) - len(positions)
    valued_at = "mark" if book.marks else "entry price"
    if not positions:
        return {"available": True, "reason": None, "valued_at": valued_at, "scenarios": []}
    results = stress_book(
        positions,
        marks,
        standard_scenarios(),
        daily_loss_limit,
        equity=float(book.equity),
        daily_pnl=float(book.daily_pnl or 0),
    )
    return {
        "available": True,
        "reason": None if not left_out else f"{left_out} position(s) of an unknown asset class left out",
        "valued_at": valued_at,
        "daily_loss_limit": daily_loss_limit,
        "scenarios": [
            {
                "name": r.scenario,
                "pnl": round(r.pnl, 2),
                "loss_of_equity": r.loss_fraction_of_equity,
                "breaches_daily_loss_limit": r.breaches_daily_loss_limit,
            }
            for r in sorted(results, key=lambda r: r.pnl)
        ],
    }


def tail_risk(dashboard: Dashboard, equity: Decimal | None) -> dict[str, Any]:
    limits = dashboard.settings.risk
    budget = None if equity is None else float(equity) * limits.cvar_budget_fraction
    if dashboard.live is None:
        return {
            "available": False,
            "reason": "needs the running daemon: VaR and CVaR come from its live prices and bar history",
            "budget": budget,
        }
    result = dashboard.live.tail_risk()
    return {
        "available": result.var is not None,
        "reason": result.reason,
        "var": result.var,
        "cvar": result.cvar,
        "confidence": result.confidence,
        "method": result.method,
        "horizon_seconds": result.horizon_seconds,
        "scenarios": result.scenarios,
        "markets": result.markets,
        "missing": list(result.missing),
        "binary_worst_case": result.binary_worst_case,
        "budget": budget,
        "budget_used": None if result.cvar is None or not budget else result.cvar / budget,
    }


def _control(
    name: str, value: Decimal | str | None, limit: Decimal | None, unit: str | None, note: str | None
) -> dict[str, Any]:
    used = fraction(value, limit) if isinstance(value, Decimal) else None
    status = "ok"
    if used is not None:
        status = "breached" if used >= 1 else "warning" if used >= 0.8 else "ok"
    elif isinstance(value, str) and value != TradingState.ACTIVE.value:
        status = "breached"
    return {
        "name": name,
        "value": money(value) if isinstance(value, Decimal) else value,
        "limit": money(limit),
        "unit": unit,
        "used": used,
        "status": status,
        "note": note,
    }
