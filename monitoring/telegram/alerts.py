"""Alerts: what an operator must hear about, from the EventBus to the Outbox.

The subscriber is on the trading road's critical path (events are published inside
`_apply_fill`, Control's levers, the risk checks), so it only sorts and appends:
- fills, closed trades and bot errors gather in a batch: the first opens a window of
  `alert_batch_seconds` on the orchestrator's clock (a one-off job on its scheduler,
  so a replay batches on simulated time) and everything arriving inside it goes out as
  one message when it closes;
- halts and trading-state changes, risk events of severity error or critical (the
  daily loss limit among them), paused bots and broker health changes go out at once.
The daily summary is a cron job on the same scheduler at `daily_summary_time` local.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from apscheduler.triggers.date import DateTrigger

from monitoring.telegram.formatting import (
    bold,
    escape,
    market,
    money,
    pairs,
    pre,
    price,
    quantity,
    shorten,
    table,
)
from monitoring.telegram.outbox import Outbox
from runtime.control import Control
from runtime.events import Event
from runtime.scheduling import Scheduler, cron_trigger
from storage.reports import Performance, PnlSummary, Reports
from utils.clock import Clock

log = logging.getLogger("monitoring.telegram")

BATCH_JOB = "telegram:alert-batch"
SUMMARY_JOB = "telegram:daily-summary"
BATCHED_KINDS = frozenset({"fill", "trade_closed", "bot_error"})
MAX_BATCH_LINES = 40  # a fill is two lines; past this a batch says how many more there were
MAX_SUMMARY_BOTS = 12


# ==============================================================================================
# Texts (pure)
# ==============================================================================================
def _decimal(value: object) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def fill_lines(payload: dict[str, object]) -> list[str]:
    """`BUY BTC/USD 0.0123 @ 60,123.45` over `  buyer entry` (exit, LIVE when so)."""
    side = str(payload.get("side", "?")).upper()
    size = _decimal(payload.get("quantity"))
    at = _decimal(payload.get("price"))
    head = (
        f"{side} {market(str(payload.get('instrument_key', '?')))} "
        f"{quantity(size) if size is not None else '?'} @ {price(at) if at is not None else '?'}"
    )
    role = "exit" if payload.get("exit") else "entry"
    if payload.get("exit") and _decimal(payload.get("position_quantity")) == 0:
        role = "exit, flat"
    live = " LIVE" if payload.get("mode") == "live" else ""
    return [shorten(head, 32), shorten(f"  {payload.get('bot', '?')} {role}{live}", 32)]


def closed_lines(payload: dict[str, object]) -> list[str]:
    net = _decimal(payload.get("net_pnl"))
    head = f"= {market(str(payload.get('instrument_key', '?')))} net {money(net) if net is not None else '?'}"
    return [shorten(head, 32), shorten(f"  {payload.get('bot', '?')} round trip closed", 32)]


def batch_text(events: Sequence[Event]) -> str:
    """One message for a batch: the fills and closed trades in a table-like block, bot errors
    (often the same one repeating until the bot is auto-paused) counted."""
    trade_lines: list[str] = []
    fills = closed = 0
    errors: Counter[str] = Counter()
    for event in events:
        payload = dict(event.payload)
        if event.kind == "fill":
            fills += 1
            trade_lines.extend(fill_lines(payload))
        elif event.kind == "trade_closed":
            closed += 1
            trade_lines.extend(closed_lines(payload))
        else:
            errors[event.message] += 1
    parts = []
    if trade_lines:
        shown = trade_lines[:MAX_BATCH_LINES]
        if len(trade_lines) > len(shown):
            shown.append(f"... and {(len(trade_lines) - len(shown)) // 2} more")
        counts = [f"{fills} fill{'s' if fills != 1 else ''}"] + ([f"{closed} closed"] if closed else [])
        parts.append(f"{bold('Trades')} ({', '.join(counts)})\n{pre(chr(10).join(shown))}")
    if errors:
        lines = [f"{message}" + (f" (x{count})" if count > 1 else "") for message, count in errors.items()]
        parts.append(f"❗ {bold('Bot errors')}\n{escape(chr(10).join(lines))}")
    return "\n".join(parts)


def immediate_text(event: Event) -> str | None:
    """The alert for an event that must not wait for a batch; None for events we do not forward."""
    payload = event.payload
    if event.kind == "trading_state":
        state = str(payload.get("state", "")).lower()
        reason = event.message.split(": ", 1)[1] if ": " in event.message else event.message
        if state == "halted":
            return f"🛑 {bold('Trading HALTED')}: nothing new is sent\n{escape(reason)}"
        if state == "reducing":
            return f"⚠️ {bold('Trading REDUCING')}: exits only\n{escape(reason)}"
        return f"✅ {bold('Trading active')}\n{escape(reason)}"
    if event.kind == "risk":
        severity = str(payload.get("severity", ""))
        if severity not in ("error", "critical"):
            return None
        icon = "🚨" if severity == "critical" else "❗"
        title = f"Risk: {payload.get('kind', 'event')}"
        return f"{icon} {bold(title)} ({escape(severity)})\n{escape(event.message)}"
    if event.kind == "bot_paused":
        bot = str(payload.get("bot", "?"))
        title = "All bots paused" if bot == "all" else f"{bot} paused"
        return f"⏸ {bold(title)}\n{escape(event.message)}"
    if event.kind == "bot_resumed":
        return f"▶️ {escape(event.message)}"
    if event.kind == "broker_health":
        route = f"{payload.get('venue', '?')} ({payload.get('mode', '?')})"
        if payload.get("healthy"):
            return f"🔌 {escape(route)} is back"
        return f"🔌 {bold(f'{route} DOWN')}\n{escape(event.message)}"
    if event.kind == "models_retrained":
        outcomes = payload.get("outcomes")
        lines = [
            f"{o.get('asset', '?')}: {o.get('reason', '')}"
            for o in (outcomes if isinstance(outcomes, list) else [])
            if isinstance(o, dict)
        ]
        body = "\n".join(escape(line) for line in lines)
        return f"🧠 {bold('Models retrained')}: {escape(event.message)}" + (f"\n{body}" if body else "")
    return None


def daily_summary_text(
    day: date,
    summary: PnlSummary,
    by_bot: Sequence[Performance],
    trading_state: str,
    paused_bots: int,
) -> str:
    today = summary.pnl_today
    rows = [
        ("P&L today", "-" if today is None else money(today)),
        ("realized", money(summary.realized_today)),
        ("trades", f"{summary.trades_today} ({summary.wins_today} won)"),
        ("equity", "-" if summary.equity is None else money(summary.equity, signed=False)),
        ("open positions", "-" if summary.open_positions is None else str(summary.open_positions)),
        ("trading", trading_state.upper()),
    ]
    if paused_bots:
        rows.append(("paused bots", str(paused_bots)))
    text = f"📊 {bold('Daily summary')} {escape(day.strftime('%a %Y-%m-%d'))}\n{pre(pairs(rows))}"
    if by_bot:
        ranked = sorted(by_bot, key=lambda p: abs(p.net_pnl), reverse=True)
        shown = ranked[:MAX_SUMMARY_BOTS]
        lines = [(p.key, str(p.trades), money(p.net_pnl)) for p in shown]
        body = table(("bot today", "n", "net"), lines, right=(1, 2))
        if len(ranked) > len(shown):
            body += f"\n... and {len(ranked) - len(shown)} more bots"
        text += "\n" + pre(body)
    return text


# ==============================================================================================
# The subscriber
# ==============================================================================================
class Alerts:
    def __init__(
        self,
        outbox: Outbox,
        scheduler: Scheduler,
        clock: Clock,
        *,
        batch_seconds: float,
        reports: Reports,
        control: Control,
        timezone: str,
        summary_time: str,
    ) -> None:
        self._outbox = outbox
        self._scheduler = scheduler
        self._clock = clock
        self._window = timedelta(seconds=batch_seconds)
        self._reports = reports
        self._control = control
        self._timezone = timezone
        self._summary_time = summary_time
        self._batch: list[Event] = []
        self._deadline: datetime | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._closed = False

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Events from another thread (a dashboard worker) are handed to this loop first."""
        self._loop = loop
        self._loop_thread = threading.get_ident()

    # ------------------------------------------------------------------ the bus side
    def on_event(self, event: Event) -> None:
        """The EventBus subscriber: sort and append, nothing that can wait or fail on Telegram."""
        if self._closed:
            return
        loop = self._loop
        if loop is not None and threading.get_ident() != self._loop_thread:
            loop.call_soon_threadsafe(self._accept, event)
            return
        self._accept(event)

    def _accept(self, event: Event) -> None:
        if event.kind in BATCHED_KINDS:
            self._add_to_batch(event)
            return
        text = immediate_text(event)
        if text is not None:
            self._outbox.post(text)

    def _add_to_batch(self, event: Event) -> None:
        now = self._clock.now()
        if self._batch and self._deadline is not None and now >= self._deadline:
            self.flush()  # the window closed but its job has not run yet (a busy or simulated clock)
        self._batch.append(event)
        if len(self._batch) > 1:
            return
        self._deadline = now + self._window
        try:
            self._scheduler.add_job(BATCH_JOB, DateTrigger(run_date=self._deadline), self._batch_job)
        except Exception:
            log.exception("telegram: could not schedule the alert batch; sending it now")
            self.flush()

    async def _batch_job(self, fire_time: datetime) -> None:
        # a stale run (a batch flushed early, then a new one) finds the new deadline still ahead
        if self._batch and self._deadline is not None and self._clock.now() >= self._deadline:
            self.flush()

    def flush(self) -> None:
        """Send the batch now (its window closed, or the daemon is stopping)."""
        batch, self._batch, self._deadline = self._batch, [], None
        if batch:
            self._outbox.post(batch_text(batch))

    def close(self) -> None:
        self.flush()
        self._closed = True

    # ------------------------------------------------------------------ the daily summary
    def schedule_daily_summary(self) -> None:
        hours, minutes = (int(part) for part in self._summary_time.split(":"))
        trigger = cron_trigger(f"{minutes} {hours} * * *", self._timezone)
        self._scheduler.add_job(SUMMARY_JOB, trigger, self._summary_job)

    async def _summary_job(self, fire_time: datetime) -> None:
        # a job that raises would stop a replay's scheduler: a failed summary is only logged
        try:
            text = await self.daily_summary(fire_time)
        except Exception:
            log.exception("telegram: daily summary failed")
            return
        self._outbox.post(text)

    async def daily_summary(self, moment: datetime) -> str:
        zone = ZoneInfo(self._timezone)
        day = moment.astimezone(zone).date()
        day_start = datetime(day.year, day.month, day.day, tzinfo=zone)
        summary, by_bot = await asyncio.to_thread(self._read_day, day_start)
        paused = len(self._control.paused_bots())
        return daily_summary_text(day, summary, by_bot, self._control.trading_state.value, paused)

    def _read_day(self, day_start: datetime) -> tuple[PnlSummary, list[Performance]]:
        return self._reports.pnl_summary(day_start), self._reports.performance_by_bot(since=day_start)
