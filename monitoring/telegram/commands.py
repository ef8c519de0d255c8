"""The operator's commands: read the figures, pull the levers, answer in phone-width HTML.

Handlers run on the daemon's own loop (python-telegram-bot lives inside it), so they
call the orchestrator and Control directly, as the trading code does; journal reads go
through `storage.reports.Reports` in a worker thread, so a long report never stalls a tick.
Every handler answers with one message; an exception becomes a short apology in the
chat and a log line, never a crash of the bot.

Only chats on the allow-list reach a handler: the guard in group -1 stops every other
update, logs the chat id and command, and answers nothing.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from domain.orders import Order, OrderStatus
from domain.positions import Position
from monitoring.log_buffer import LogBuffer
from monitoring.telegram import views
from monitoring.telegram.access import AllowList
from monitoring.telegram.formatting import bold, escape, market, money, price, quantity
from monitoring.telegram.outbox import Outbox
from storage.reports import Reports, TradeFilter, open_positions_of

if TYPE_CHECKING:
    from master_orchestrator import Orchestrator

log = logging.getLogger("monitoring.telegram")

CONFIRMATION_SECONDS = 120.0  # a /close button older than this is refused: the book may have moved
VENUE_TIMEOUT_SECONDS = 20.0  # /balance and quotes for /positions ask the venues
QUOTE_TIMEOUT_SECONDS = 5.0


class UsageError(Exception):
    """A command the operator typed wrong: the message is the whole reply."""


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    markup: InlineKeyboardMarkup | None = None


@dataclass(frozen=True, slots=True)
class PendingClose:
    bot: str
    instrument_key: str
    chat_id: int
    asked_at: float  # the orchestrator clock's monotonic seconds


Handler = Callable[[int, list[str]], Awaitable[Reply]]


class Commands:
    def __init__(
        self,
        orchestrator: Orchestrator,
        reports: Reports,
        outbox: Outbox,
        access: AllowList,
        log_buffer: LogBuffer,
        describe: Callable[[BaseException], str],
    ) -> None:
        self._orchestrator = orchestrator
        self._reports = reports
        self._outbox = outbox
        self._access = access
        self._log_buffer = log_buffer
        self._describe = describe
        self._zone = ZoneInfo(orchestrator.settings.system.timezone)
        self._pending: dict[str, PendingClose] = {}
        self.accepting = True  # False once the daemon stops: the journal is about to close

    # ==========================================================================================
    # Wiring into python-telegram-bot
    # ==========================================================================================
    def register(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        app.add_handler(TypeHandler(Update, self._guard), group=-1)
        table: dict[str, Handler] = {
            "status": self.status,
            "pnl": self.pnl,
            "daily": self.daily,
            "balance": self.balance,
            "positions": self.positions,
            "trades": self.trades,
            "performance": self.performance,
            "bots": self.bots,
            "pause": self.pause,
            "resume": self.resume,
            "halt": self.halt,
            "resume_trading": self.resume_trading,
            "close": self.close,
            "logs": self.logs,
            "help": self.help,
            "start": self.help,  # what a Telegram client sends on first contact
        }
        for name, handler in table.items():
            app.add_handler(CommandHandler(name, self._answer(name, handler)))
        app.add_handler(CallbackQueryHandler(self._on_button))
        app.add_handler(MessageHandler(filters.ALL, self._answer("unknown", self.unknown)))

    async def _guard(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Group -1: drop every update from a chat not on the allow-list, without a word back."""
        if not isinstance(update, Update):
            raise ApplicationHandlerStop
        chat = update.effective_chat
        chat_id = chat.id if chat is not None else None
        if not self._access.allows(chat_id):
            log.warning("telegram: ignored %r from chat %s (not on the allow-list)", _what(update), chat_id)
            raise ApplicationHandlerStop
        if not self.accepting:
            log.info("telegram: ignored %r from chat %s: the daemon is stopping", _what(update), chat_id)
            raise ApplicationHandlerStop

    def _answer(
        self, name: str, handler: Handler
    ) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]:
        async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            chat = update.effective_chat
            if chat is None:
                return
            args = [str(a) for a in (context.args or [])]
            try:
                reply = await handler(chat.id, args)
            except UsageError as exc:
                reply = Reply(str(exc))
            except Exception as exc:
                log.exception("telegram: /%s from chat %s failed", name, chat.id)
                reply = Reply(f"⚠️ /{escape(name)} failed: {escape(self._describe(exc))}")
            await self._outbox.send_now(chat.id, reply.text, reply.markup)

        return answer

    # ==========================================================================================
    # Reading
    # ==========================================================================================
    def _now(self) -> datetime:
        return self._orchestrator.clock.now()

    def _day_start(self) -> datetime:
        day = self._now().astimezone(self._zone).date()
        return datetime(day.year, day.month, day.day, tzinfo=self._zone)

    def _bot_lines(self) -> list[views.BotLine]:
        control = self._orchestrator.control
        paused = control.paused_bots()
        lines = []
        for registered in self._orchestrator.bots:
            reason = paused.get(registered.name)
            if reason is None and control.all_paused:
                reason = "all bots paused"
            entry = registered.entry
            lines.append(views.BotLine(registered.name, entry.venue, entry.mode, reason))
        return lines

    async def status(self, chat_id: int, args: list[str]) -> Reply:
        summary = await asyncio.to_thread(self._reports.pnl_summary, self._day_start())
        control = self._orchestrator.control
        return Reply(
            views.status_view(
                control.trading_state.value,
                control.trading_reason,
                self._bot_lines(),
                summary,
                self._orchestrator.broker_health(),
                (self._outbox.sent, self._outbox.failures),
            )
        )

    async def pnl(self, chat_id: int, args: list[str]) -> Reply:
        summary = await asyncio.to_thread(self._reports.pnl_summary, self._day_start())
        return Reply(views.pnl_view(summary))

    async def daily(self, chat_id: int, args: list[str]) -> Reply:
        days = _count(args, default=7, maximum=31, usage="/daily [days], e.g. /daily 14")
        rows = await asyncio.to_thread(
            self._reports.daily_pnl, self._orchestrator.settings.system.timezone, days, self._now()
        )
        return Reply(views.daily_view(rows))

    async def balance(self, chat_id: int, args: list[str]) -> Reply:
        rows = await asyncio.wait_for(self._orchestrator.venue_balances(), VENUE_TIMEOUT_SECONDS)
        return Reply(views.balance_view(rows))

    def _open_positions(self) -> list[Position]:
        """Open positions in /positions' order, which is what /close <n> counts in."""
        return open_positions_of(self._orchestrator.book.open_positions())

    async def positions(self, chat_id: int, args: list[str]) -> Reply:
        lines = []
        for number, position in enumerate(self._open_positions(), start=1):
            lines.append(
                views.PositionLine(
                    number,
                    position.bot,
                    position.instrument_key,
                    position.quantity,
                    position.average_entry_price,
                    await self._mark(position.instrument_key),
                )
            )
        return Reply(views.positions_view(lines))

    async def _mark(self, instrument_key: str) -> Decimal | None:
        instrument = self._orchestrator.instruments.get(instrument_key)
        if instrument is None:
            return None
        try:
            quote = await asyncio.wait_for(self._orchestrator.prices.quote(instrument), QUOTE_TIMEOUT_SECONDS)
        except Exception:  # no price is a valid answer here; the reply says "no price"
            return None
        return None if quote is None else quote.mid

    async def trades(self, chat_id: int, args: list[str]) -> Reply:
        count = _count(args, default=10, maximum=50, usage="/trades [n], e.g. /trades 20")
        page = await asyncio.to_thread(self._reports.trades, count)
        return Reply(views.trades_view(page, self._zone, self._now()))

    async def performance(self, chat_id: int, args: list[str]) -> Reply:
        rows = await asyncio.to_thread(self._reports.performance_by_bot)
        return Reply(views.performance_view(rows))

    async def bots(self, chat_id: int, args: list[str]) -> Reply:
        return Reply(views.bots_view(self._bot_lines(), self._orchestrator.control.all_paused))

    async def logs(self, chat_id: int, args: list[str]) -> Reply:
        count = _count(args, default=20, maximum=100, usage="/logs [n], e.g. /logs 50")
        return Reply(views.logs_view(self._log_buffer.lines(count)))

    async def help(self, chat_id: int, args: list[str]) -> Reply:
        return Reply(views.help_view())

    async def unknown(self, chat_id: int, args: list[str]) -> Reply:
        return Reply("I do not know that one; /help lists the commands.")

    # ==========================================================================================
    # Levers
    # ==========================================================================================
    def _known_bot(self, args: list[str], verb: str) -> str:
        if len(args) != 1:
            raise UsageError(f"usage: /{verb} &lt;bot|all&gt; (/bots lists them)")
        name = args[0]
        if name != "all" and name not in {b.name for b in self._orchestrator.bots}:
            raise UsageError(f"unknown bot {bold(name)}; /bots lists them")
        return name

    async def pause(self, chat_id: int, args: list[str]) -> Reply:
        name = self._known_bot(args, "pause")
        control = self._orchestrator.control
        if name == "all":
            control.pause_all(f"all bots paused from Telegram (chat {chat_id})")
            return Reply(f"⏸ {bold('All bots paused')}. /resume all to resume.")
        control.pause_bot(name, f"paused from Telegram (chat {chat_id})")
        return Reply(f"⏸ {bold(name)} paused. /resume {escape(name)} to resume.")

    async def resume(self, chat_id: int, args: list[str]) -> Reply:
        name = self._known_bot(args, "resume")
        control = self._orchestrator.control
        if name == "all":
            control.resume_all(f"all bots resumed from Telegram (chat {chat_id})")
            still = len(control.paused_bots())
            note = f" ({still} paused one by one stay paused: /bots)" if still else ""
            return Reply(f"▶️ {bold('All bots resumed')}{escape(note)}.")
        control.resume_bot(name, f"resumed from Telegram (chat {chat_id})")
        note = " (but ALL bots are paused: /resume all)" if control.all_paused else ""
        return Reply(f"▶️ {bold(name)} resumed{escape(note)}.")

    async def halt(self, chat_id: int, args: list[str]) -> Reply:
        self._orchestrator.control.halt_trading(f"halted from Telegram (chat {chat_id})")
        return Reply(
            f"🛑 {bold('Trading HALTED')}: nothing new is sent, open positions stay as they are.\n"
            "/resume_trading to trade again."
        )

    async def resume_trading(self, chat_id: int, args: list[str]) -> Reply:
        self._orchestrator.control.resume_trading(f"resumed from Telegram (chat {chat_id})")
        return Reply(f"✅ {bold('Trading active')} again.")

    # ------------------------------------------------------------------ /close and its button
    async def close(self, chat_id: int, args: list[str]) -> Reply:
        position = self._resolve(args)
        side = "long" if position.quantity > 0 else "short"
        token = secrets.token_hex(6)
        self._pending[token] = PendingClose(
            position.bot, position.instrument_key, chat_id, self._orchestrator.clock.monotonic()
        )
        buttons = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton("Close it", callback_data=f"close:{token}"),
                    InlineKeyboardButton("Cancel", callback_data=f"cancel:{token}"),
                ]
            ]
        )
        text = (
            f"Close {bold(position.bot)} {bold(market(position.instrument_key))}?\n"
            f"{side} {escape(quantity(position.quantity, signed=True))} @ "
            f"{escape(price(position.average_entry_price))}, at market"
        )
        return Reply(text, buttons)

    def _resolve(self, args: list[str]) -> Position:
        positions = self._open_positions()
        usage = "usage: /close &lt;n&gt; (the number in /positions) or /close &lt;bot&gt; &lt;market&gt;"
        if not positions:
            raise UsageError("no open positions")
        if not args:
            raise UsageError(usage)
        if len(args) == 1 and args[0].isdigit():
            number = int(args[0])
            if not 1 <= number <= len(positions):
                raise UsageError(f"there is no position {number}; /positions lists {len(positions)}")
            return positions[number - 1]
        wanted_market = args[-1].lower()
        candidates = [
            p
            for p in positions
            if wanted_market in (p.instrument_key.lower(), market(p.instrument_key).lower())
            and (len(args) == 1 or p.bot == args[0])
        ]
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            raise UsageError(f"no open position matches {escape(' '.join(args))}; see /positions")
        holders = ", ".join(sorted(p.bot for p in candidates))
        raise UsageError(f"several bots hold it ({escape(holders)}): /close &lt;bot&gt; &lt;market&gt;")

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        chat = update.effective_chat
        if query is None or chat is None:
            return
        action, _, token = (query.data or "").partition(":")
        pending = self._pending.pop(token, None)
        expired = pending is not None and (
            self._orchestrator.clock.monotonic() - pending.asked_at > CONFIRMATION_SECONDS
        )
        if pending is None or expired or pending.chat_id != chat.id or action not in ("close", "cancel"):
            outcome = "This confirmation is no longer valid; send /close again."
        elif action == "cancel":
            outcome = f"Close of {bold(pending.bot)} {bold(market(pending.instrument_key))} cancelled."
        else:
            try:
                outcome = await self._close_now(pending, chat.id)
            except Exception as exc:
                log.exception("telegram: close of %s/%s failed", pending.bot, pending.instrument_key)
                outcome = f"⚠️ close failed: {escape(self._describe(exc))}"
        try:
            await asyncio.wait_for(query.answer(), 10.0)
        except Exception as exc:
            log.info("telegram: button press not acknowledged: %s", self._describe(exc))
        message = query.message
        if message is not None and await self._outbox.edit(chat.id, message.message_id, outcome):
            return
        await self._outbox.send_now(chat.id, outcome)

    async def _close_now(self, pending: PendingClose, chat_id: int) -> str:
        name = f"{bold(pending.bot)} {bold(market(pending.instrument_key))}"
        try:
            order = await self._orchestrator.close_position(
                pending.bot, pending.instrument_key, f"closed from Telegram (chat {chat_id})"
            )
        except KeyError:
            return f"Nothing to close: {name} is flat now."
        if order is None:
            state = self._orchestrator.control.trading_state.value
            return (
                f"❌ Close of {name} refused before it was sent (trading {escape(state)}); see the dashboard."
            )
        return await self._outcome(name, order)

    async def _outcome(self, name: str, order: Order) -> str:
        done = f"{escape(order.intent.side.value.upper())} {escape(quantity(order.filled_quantity))}"
        if order.average_fill_price is not None:
            done += f" @ {escape(price(order.average_fill_price))}"
        if order.status is OrderStatus.FILLED:
            where = TradeFilter(bot=order.intent.bot, instrument_key=order.intent.instrument.key)
            page = await asyncio.to_thread(self._reports.trades, 1, 0, where)
            net = ""
            if page.trades and page.trades[0].closed_at >= order.intent.created_at:
                net = f"\nround trip net {escape(money(page.trades[0].net_pnl))}"
            return f"✅ Closed {name}: {done}{net}"
        if order.status.is_terminal:
            why = escape(order.reject_reason or "no reason given")
            filled = f"; filled {done}" if order.filled_quantity else ""
            return f"❌ Close of {name} {escape(order.status.value)}: {why}{filled}"
        return f"⏳ Close order for {name} is {escape(order.status.value)}; its fills will be announced."


def _count(args: list[str], *, default: int, maximum: int, usage: str) -> int:
    if not args:
        return default
    if len(args) > 1 or not args[0].isdigit() or int(args[0]) < 1:
        raise UsageError(f"usage: {escape(usage)}")
    return min(int(args[0]), maximum)


def _what(update: Update) -> str:
    """The command (first word) or the button an update carries, cut short, for the log."""
    if update.callback_query is not None:
        return f"button {str(update.callback_query.data)[:24]}"
    message = update.effective_message
    text = message.text if message is not None and message.text else "(no text)"
    return text.split()[0][:32] if text.split() else "(no text)"
