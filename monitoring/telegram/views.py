"""The replies to each command, as Telegram HTML: pure functions from figures to text.

The figures come from `storage.reports.Reports` and the live orchestrator (see
`commands`); nothing here reads a database, a clock or the network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from monitoring.telegram.formatting import (
    MAX_MESSAGE_CHARS,
    bold,
    escape,
    keep_last_lines,
    market,
    money,
    pairs,
    percent,
    pre,
    price,
    quantity,
    shorten,
    table,
    titled,
)
from storage.reports import DayPnl, Performance, PnlSummary, TradePage


@dataclass(frozen=True, slots=True)
class CommandHelp:
    name: str
    arguments: str
    description: str  # one line, also what Telegram's command menu shows


COMMANDS: tuple[CommandHelp, ...] = (
    CommandHelp("status", "", "trading state, equity, P&L today, venues"),
    CommandHelp("pnl", "", "P&L today and all time"),
    CommandHelp("daily", "[n]", "P&L per day, last n days (7)"),
    CommandHelp("balance", "", "cash per venue account"),
    CommandHelp("positions", "", "open positions, numbered for /close"),
    CommandHelp("trades", "[n]", "last n closed trades (10)"),
    CommandHelp("performance", "", "P&L per bot, all time"),
    CommandHelp("bots", "", "bots, their venue and state"),
    CommandHelp("pause", "<bot|all>", "pause a bot or all bots"),
    CommandHelp("resume", "<bot|all>", "resume a bot or all bots"),
    CommandHelp("halt", "", "halt trading: nothing new is sent"),
    CommandHelp("resume_trading", "", "resume trading after a halt"),
    CommandHelp("close", "<n|bot market>", "close a position (asks first)"),
    CommandHelp("logs", "[n]", "last n log lines (20)"),
    CommandHelp("help", "", "this list"),
)


@dataclass(frozen=True, slots=True)
class PositionLine:
    number: int
    bot: str
    instrument_key: str
    quantity: Decimal  # signed
    entry_price: Decimal
    mark: Decimal | None  # None: no fresh price

    @property
    def unrealized(self) -> Decimal | None:
        return None if self.mark is None else (self.mark - self.entry_price) * self.quantity


@dataclass(frozen=True, slots=True)
class BotLine:
    name: str
    venue: str
    mode: str
    paused_reason: str | None  # None: active


def help_view() -> str:
    lines = [f"/{c.name} {c.arguments}".rstrip() + f" - {c.description}" for c in COMMANDS]
    return bold("Commands") + "\n" + escape("\n".join(lines))


def status_view(
    trading_state: str,
    trading_reason: str | None,
    bots: Sequence[BotLine],
    summary: PnlSummary,
    brokers: Sequence[Mapping[str, object]],
    alerts: tuple[int, int],
) -> str:
    paused = sum(1 for b in bots if b.paused_reason is not None)
    rows: list[tuple[str, str]] = [("trading", trading_state.upper())]
    if trading_reason:
        rows.append(("why", trading_reason))
    rows.append(("bots", f"{len(bots) - paused} active, {paused} paused"))
    if summary.equity is not None:
        rows.append(("equity", money(summary.equity, signed=False)))
    today = summary.pnl_today
    rows.append(("P&L today", "-" if today is None else money(today)))
    rows.append(("trades today", f"{summary.trades_today}"))
    if summary.open_positions is not None:
        plural = "" if summary.open_positions == 1 else "s"
        rows.append(("open", f"{summary.open_positions} position{plural}"))
    down = [b for b in brokers if not _healthy(b)]
    rows.append(("venues", "all healthy" if not down else f"{len(down)} of {len(brokers)} DOWN"))
    for broker in down:
        rows.append(("", f"{broker.get('venue')} ({broker.get('mode')})"))
    sent, failed = alerts
    rows.append(("telegram", f"{sent} sent, {failed} failed"))
    return titled("Status", _wrapped_pairs(rows))


def pnl_view(summary: PnlSummary) -> str:
    today = summary.pnl_today
    rows = [
        ("P&L today", "-" if today is None else money(today)),
        ("realized today", money(summary.realized_today)),
        ("trades today", f"{summary.trades_today} ({summary.wins_today} won)"),
        ("unrealized", "-" if summary.unrealized is None else money(summary.unrealized)),
        ("realized total", money(summary.realized_total)),
        ("trades total", f"{summary.trades_total}"),
        ("equity", "-" if summary.equity is None else money(summary.equity, signed=False)),
    ]
    return titled("P&L", pairs(rows), note="realized: closed trades net of fees")


def daily_view(days: Sequence[DayPnl]) -> str:
    rows = [
        (_day(d.day), str(d.trades), percent(d.wins / d.trades if d.trades else None), money(d.net_pnl))
        for d in reversed(days)  # newest first: the day a trader asks about
    ]
    total = sum((d.net_pnl for d in days), Decimal(0))
    count = sum(d.trades for d in days)
    rows.append(("total", str(count), "", money(total)))
    body = table(("day", "trades", "win", "net"), rows, right=(1, 2, 3))
    return titled(f"P&L per day, last {len(days)}", body)


def balance_view(rows: Sequence[Mapping[str, object]]) -> str:
    lines = []
    errors = []
    for row in rows:
        venue = str(row.get("venue"))
        if row.get("mode") == "live":
            venue += " LIVE"
        if "error" in row:
            lines.append((venue, "-", "-"))
            errors.append(f"{venue}: {row['error']}")
            continue
        cash, free = row.get("cash"), row.get("free")
        lines.append(
            (
                venue,
                money(cash, signed=False) if isinstance(cash, Decimal) else str(cash),
                money(free, signed=False) if isinstance(free, Decimal) else str(free),
            )
        )
    body = table(("account", "cash", "free"), lines, right=(1, 2)) if lines else "no venue accounts"
    return titled("Balances", body, note="\n".join(errors))


def positions_view(positions: Sequence[PositionLine]) -> str:
    if not positions:
        return titled("Positions", "no open positions")
    lines: list[str] = []
    total = Decimal(0)
    for line in positions:
        unrealized = line.unrealized
        shown = "?" if unrealized is None else money(unrealized)
        total += unrealized or Decimal(0)
        head = f"{line.number} {line.bot} {market(line.instrument_key)}"
        lines.append(f"{shorten(head, 31 - len(shown)):<{31 - len(shown)}} {shown}")
        # prices without thousands separators here: entry and mark must share one phone line
        mark = "no price" if line.mark is None else f"→ {price(line.mark, grouped=False)}"
        size = quantity(line.quantity, signed=True)
        lines.append(shorten(f"  {size} @ {price(line.entry_price, grouped=False)} {mark}", 32))
    lines.append(f"{'unrealized':<20}{money(total):>12}")
    return titled("Positions", "\n".join(lines), note="/close <n> closes one (you confirm first)")


def trades_view(page: TradePage, zone: ZoneInfo, now: datetime) -> str:
    if not page.trades:
        return titled("Trades", "no closed trades yet")
    today = now.astimezone(zone).date()
    rows = []
    for trade in page.trades:
        closed = trade.closed_at.astimezone(zone)
        when = closed.strftime("%H:%M") if closed.date() == today else closed.strftime("%m-%d")
        rows.append((when, trade.bot, market(trade.instrument_key), money(trade.net_pnl)))
    body = table(("when", "bot", "market", "net"), rows, right=(3,))
    return titled(f"Last {len(page.trades)} of {page.total} trades", body, note="net of fees")


def performance_view(rows: Sequence[Performance]) -> str:
    if not rows:
        return titled("Performance", "no closed trades yet")
    lines = [(p.key, str(p.trades), percent(p.win_rate), money(p.net_pnl)) for p in rows]
    trades = sum(p.trades for p in rows)
    wins = sum(p.wins for p in rows)
    lines.append(
        (
            "total",
            str(trades),
            percent(wins / trades if trades else None),
            money(sum((p.net_pnl for p in rows), Decimal(0))),
        )
    )
    return titled("Performance per bot", table(("bot", "n", "win", "net"), lines, right=(1, 2, 3)))


def bots_view(bots: Sequence[BotLine], all_paused: bool) -> str:
    rows = [
        (b.name, f"{b.venue}{' LIVE' if b.mode == 'live' else ''}", "paused" if b.paused_reason else "on")
        for b in bots
    ]
    body = table(("bot", "venue", "state"), rows) if rows else "no bots"
    notes = [f"{b.name}: {b.paused_reason}" for b in bots if b.paused_reason]
    if all_paused:
        notes.insert(0, "ALL bots are paused (/resume all)")
    return titled("Bots", body, note="\n".join(shorten(n, 120) for n in notes))


def logs_view(lines: Sequence[str]) -> str:
    if not lines:
        return titled("Logs", "no log lines yet")
    room = MAX_MESSAGE_CHARS - 40
    kept = keep_last_lines(lines, room)
    return bold(f"Last {len(kept)} log lines") + "\n" + pre("\n".join(kept))


def _day(day: date) -> str:
    return day.strftime("%a %m-%d")


def _healthy(broker: Mapping[str, object]) -> bool:
    return bool(broker.get("connected")) and bool(broker.get("reconciled", True))


def _wrapped_pairs(rows: Sequence[tuple[str, str]]) -> str:
    """Label/value lines where a long value (a halt's reason) wraps under its label."""
    label_width = max(len(label) for label, _ in rows)
    room = 32 - label_width - 1
    lines = []
    for label, value in rows:
        chunks = [value[i : i + room] for i in range(0, len(value), room)] or [""]
        lines.append(f"{label.ljust(label_width)} {chunks[0]}".rstrip())
        lines.extend(f"{'':<{label_width}} {chunk}" for chunk in chunks[1:3])
    return "\n".join(lines)
