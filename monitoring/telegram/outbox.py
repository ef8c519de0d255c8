"""Outbox: everything the daemon says to Telegram, rate-limited, in the background, never in the way.

Trading code never waits on Telegram. Alerts are `post`ed: a synchronous append to
each allowed chat's queue, nothing more. One sender task per chat drains its queue:
what piled up while it waited (a burst of events, an outage) goes out merged into as
few messages as fit Telegram's size limit, each send paced by the chat's limiter
(`messages_per_second`, Telegram allows about one a second per chat) and bounded by a
timeout. A transient failure (network, timeout, 5xx, flood control) keeps the text at
the head of the queue and retries with backoff; a permanent one (the chat blocked the
bot, malformed text) drops it. Either way it is logged and counted, never raised. A
queue that outgrows `max_queued` while Telegram is down drops its oldest texts.

Replies to commands go through `send_now`/`edit`, paced by the same limiters.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections import deque
from collections.abc import Callable, Iterable
from datetime import timedelta

from aiolimiter import AsyncLimiter
from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut

from monitoring.telegram.formatting import MAX_MESSAGE_CHARS, fit

log = logging.getLogger("monitoring.telegram")

# Telegram's own ceiling for one bot across all chats is about 30 messages a second
GLOBAL_MESSAGES_PER_SECOND = 25
BACKOFF_SECONDS = (1.0, 2.0, 5.0, 15.0, 30.0, 60.0)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def limiter_for(messages_per_second: float) -> AsyncLimiter:
    """At most `messages_per_second`, with a burst of one message (a slow rate as one per period)."""
    if messages_per_second >= 1:
        return AsyncLimiter(messages_per_second, 1.0)
    return AsyncLimiter(1, 1.0 / messages_per_second)


class Outbox:
    def __init__(
        self,
        chat_ids: Iterable[int],
        messages_per_second: float,
        *,
        redact: Callable[[str], str],
        send_timeout_seconds: float = 15.0,
        max_queued: int = 200,
    ) -> None:
        self._chats = sorted(set(chat_ids))
        self._queues: dict[int, deque[str]] = {chat: deque() for chat in self._chats}
        self._wake: dict[int, asyncio.Event] = {chat: asyncio.Event() for chat in self._chats}
        self._limiters = {chat: limiter_for(messages_per_second) for chat in self._chats}
        self._global = AsyncLimiter(GLOBAL_MESSAGES_PER_SECOND, 1.0)
        self._redact = redact
        self._timeout = send_timeout_seconds
        self._max_queued = max_queued
        self._bot: Bot | None = None
        self._connected = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._busy: set[int] = set()
        self._idle = asyncio.Event()  # set while nothing is queued or being sent
        self._idle.set()
        self.sent = 0  # messages delivered
        self.failures = 0  # failed attempts (a retried message may count several)
        self.dropped = 0  # texts given up: permanent errors, overflow

    @property
    def chats(self) -> list[int]:
        return list(self._chats)

    # ------------------------------------------------------------------ the trading side (sync)
    def post(self, text: str) -> None:
        """Queue `text` for every allowed chat. Never blocks, never raises on Telegram's account."""
        for chat in self._chats:
            queue = self._queues[chat]
            if len(queue) >= self._max_queued:
                queue.popleft()
                self.dropped += 1
            queue.append(text)
            self._wake[chat].set()
            self._idle.clear()

    def pending(self) -> int:
        return sum(len(q) for q in self._queues.values()) + len(self._busy)

    # ------------------------------------------------------------------ lifecycle (on the loop)
    def start(self) -> None:
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._sender(chat), name=f"telegram-outbox-{chat}")
                for chat in self._chats
            ]

    def connect(self, bot: Bot) -> None:
        """Telegram is reachable through `bot`: the senders may go."""
        self._bot = bot
        self._connected.set()

    def disconnect(self) -> None:
        self._connected.clear()
        self._bot = None

    async def drain(self, seconds: float) -> bool:
        """Wait until everything queued went out (or was given up); False when `seconds` ran out."""
        if not self._connected.is_set() or not self._tasks:
            return self.pending() == 0
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._idle.wait()
        return self.pending() == 0

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        self.disconnect()

    # ------------------------------------------------------------------ replies (handlers)
    async def send_now(
        self, chat_id: int, text: str, reply_markup: InlineKeyboardMarkup | None = None
    ) -> Message | None:
        """Send a reply now (paced like everything else); None when it could not be sent."""
        try:
            message = await self._send(chat_id, text, reply_markup)
        except Exception as exc:
            self.failures += 1
            log.warning("telegram: reply to chat %s not sent: %s", chat_id, self._describe(exc))
            return None
        self.sent += 1
        return message

    async def edit(self, chat_id: int, message_id: int, text: str) -> bool:
        """Replace a message's text (and drop its buttons)."""
        bot = self._bot
        if bot is None:
            return False
        try:
            await self._pace(chat_id)
            await asyncio.wait_for(
                bot.edit_message_text(
                    fit(text), chat_id=chat_id, message_id=message_id, parse_mode=ParseMode.HTML
                ),
                self._timeout,
            )
        except Exception as exc:
            self.failures += 1
            log.warning(
                "telegram: message %s in chat %s not edited: %s", message_id, chat_id, self._describe(exc)
            )
            return False
        return True

    # ------------------------------------------------------------------ sending
    async def _sender(self, chat: int) -> None:
        queue = self._queues[chat]
        wake = self._wake[chat]
        failures_in_a_row = 0
        while True:
            if not queue:
                wake.clear()
                await wake.wait()
                continue
            await self._connected.wait()
            text = _merge(queue)
            self._busy.add(chat)
            try:
                await self._send(chat, text)
            except Exception as exc:
                self.failures += 1
                if _transient(exc):
                    queue.appendleft(text)  # it goes first once Telegram answers again
                    delay = _retry_delay(exc, failures_in_a_row)
                    failures_in_a_row += 1
                    log.warning(
                        "telegram: alert to chat %s not sent (%s); retrying in %.0f s",
                        chat,
                        self._describe(exc),
                        delay,
                    )
                    self._busy.discard(chat)
                    await asyncio.sleep(delay)
                    continue
                self.dropped += 1
                log.warning("telegram: alert to chat %s dropped: %s", chat, self._describe(exc))
            else:
                failures_in_a_row = 0
                self.sent += 1
            self._busy.discard(chat)
            if not self.pending():
                self._idle.set()

    async def _send(
        self, chat_id: int, text: str, reply_markup: InlineKeyboardMarkup | None = None
    ) -> Message:
        bot = self._bot
        if bot is None:
            raise NetworkError("Telegram is not connected")
        await self._pace(chat_id)
        message = await asyncio.wait_for(
            bot.send_message(
                chat_id,
                fit(text),
                parse_mode=ParseMode.HTML,
                reply_markup=reply_markup,
                link_preview_options=NO_PREVIEW,
            ),
            self._timeout,
        )
        return message

    async def _pace(self, chat_id: int) -> None:
        limiter = self._limiters.get(chat_id)
        if limiter is not None:
            await limiter.acquire()
        await self._global.acquire()

    def _describe(self, exc: BaseException) -> str:
        return self._redact(f"{type(exc).__name__}: {exc}")


def _merge(queue: deque[str]) -> str:
    """Take the oldest text and as many of the following as fit in one message."""
    text = queue.popleft()
    while queue and len(text) + 2 + len(queue[0]) <= MAX_MESSAGE_CHARS:
        text += "\n\n" + queue.popleft()
    return text


def _transient(exc: BaseException) -> bool:
    """Worth retrying: the network, a timeout, flood control, Telegram's own 5xx (a NetworkError
    in python-telegram-bot). BadRequest/Forbidden/InvalidToken will fail again the same way."""
    if isinstance(exc, RetryAfter | TimedOut | TimeoutError | OSError):
        return True
    # BadRequest is a NetworkError in python-telegram-bot's hierarchy, but no retry will fix it
    return isinstance(exc, NetworkError) and not isinstance(exc, BadRequest | Forbidden | InvalidToken)


def _retry_delay(exc: BaseException, failures_in_a_row: int) -> float:
    if isinstance(exc, RetryAfter):
        with warnings.catch_warnings():  # the attribute's type changes across versions, with a warning
            warnings.simplefilter("ignore")
            value = exc.retry_after
        seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
        return seconds + 0.5
    return BACKOFF_SECONDS[min(failures_in_a_row, len(BACKOFF_SECONDS) - 1)]
