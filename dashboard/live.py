"""The bridge between the dashboard's threads and the running daemon's event loop.

The orchestrator, its Control, its bus and its brokers belong to one asyncio loop.
A waitress worker thread never touches them directly: `LiveBridge` runs each call
on that loop (`run_coroutine_threadsafe`) and waits a bounded time for the answer.
`EventFeed` is the other direction: a bus subscriber (it runs on the loop) that
copies each event into the bounded queue of every open Server-Sent-Events stream.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import queue
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from dashboard.analytics import TailRisk, book_tail_risk
from domain.market import BarSeries
from risk_management.engine import BookSnapshot
from risk_management.stage import scenario_exposures
from runtime.events import Event

if TYPE_CHECKING:
    from master_orchestrator import Orchestrator

T = TypeVar("T")
CALL_TIMEOUT_SECONDS = 5.0
TAIL_RISK_TIMEOUT_SECONDS = 20.0  # one bar request per held market, through the price chain


class DaemonUnavailable(RuntimeError):
    """The daemon's loop did not answer (stopped, or busy past the timeout)."""


@dataclass(frozen=True, slots=True)
class RegisteredBotView:
    name: str
    venue: str
    mode: str
    schedule: str
    instruments: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LiveState:
    """What only the running daemon knows, read in one visit to its loop."""

    now: datetime
    book: BookSnapshot
    brokers: list[dict[str, object]]
    bots: tuple[RegisteredBotView, ...]


class LiveBridge:
    def __init__(
        self,
        orchestrator: Orchestrator,
        loop: asyncio.AbstractEventLoop,
        timeout: float = CALL_TIMEOUT_SECONDS,
    ) -> None:
        self._orchestrator = orchestrator
        self._loop = loop
        self._timeout = timeout

    # -- calls onto the loop -------------------------------------------------------------------
    def run(self, make: Callable[[], Awaitable[T]], timeout: float | None = None) -> T:
        """Await `make()` on the daemon's loop from this (foreign) thread."""
        limit = self._timeout if timeout is None else timeout

        async def call() -> T:
            return await make()

        if self._loop.is_closed():
            raise DaemonUnavailable("the daemon has stopped")
        try:
            future = asyncio.run_coroutine_threadsafe(call(), self._loop)
        except RuntimeError as exc:  # the loop closed between the check and the call
            raise DaemonUnavailable("the daemon has stopped") from exc
        try:
            return future.result(limit)
        except TimeoutError as exc:
            future.cancel()
            raise DaemonUnavailable(f"the daemon did not answer within {limit:.0f} s") from exc

    def call(self, function: Callable[[], T]) -> T:
        """Run a plain function on the daemon's loop (Control and the book are not thread-safe)."""

        async def wrapped() -> T:
            return function()

        return self.run(wrapped)

    # -- reading -------------------------------------------------------------------------------
    def state(self) -> LiveState:
        orchestrator = self._orchestrator

        def read() -> LiveState:
            bots = tuple(
                RegisteredBotView(
                    b.name,
                    b.entry.venue,
                    b.entry.mode,
                    b.schedule_text,
                    tuple(i.key for i in b.bot.instruments),
                )
                for b in orchestrator.bots
            )
            return LiveState(
                orchestrator.clock.now(), orchestrator.book_snapshot(), orchestrator.broker_health(), bots
            )

        return self.call(read)

    def tail_risk(self) -> TailRisk:
        """VaR/CVaR of the open book, from the bars the daemon's price chain serves."""
        orchestrator = self._orchestrator
        risk = orchestrator.settings.risk

        async def compute() -> TailRisk:
            book = orchestrator.book_snapshot()
            exposures, binary = scenario_exposures(book.open_exposures)
            count = risk.correlation_window_bars + 1
            history: dict[str, BarSeries | None] = {}
            for key in exposures:
                instrument = orchestrator.instruments.get(key)
                series = None
                if instrument is not None:
                    series = await orchestrator.prices.bars(
                        instrument, risk.correlation_timeframe_seconds, count
                    )
                history[key] = series
            return book_tail_risk(
                exposures,
                history,
                timeframe_seconds=risk.correlation_timeframe_seconds,
                horizon_seconds=risk.cvar_horizon_seconds,
                method=risk.cvar_method,
                confidence=risk.cvar_confidence,
                binary_worst_case=binary,
            )

        return self.run(compute, TAIL_RISK_TIMEOUT_SECONDS)

    # -- the operator's levers -----------------------------------------------------------------
    def pause_bot(self, bot: str, reason: str) -> None:
        self.call(lambda: self._orchestrator.control.pause_bot(bot, reason))

    def resume_bot(self, bot: str, reason: str) -> None:
        self.call(lambda: self._orchestrator.control.resume_bot(bot, reason))

    def pause_all(self, reason: str) -> None:
        self.call(lambda: self._orchestrator.control.pause_all(reason))

    def resume_all(self, reason: str) -> None:
        self.call(lambda: self._orchestrator.control.resume_all(reason))

    def halt_trading(self, reason: str) -> None:
        self.call(lambda: self._orchestrator.control.halt_trading(reason))

    def resume_trading(self, reason: str) -> None:
        self.call(lambda: self._orchestrator.control.resume_trading(reason))


# ---------------------------------------------------------------------------------------------------
# Server-Sent Events
# ---------------------------------------------------------------------------------------------------
KEEPALIVE_SECONDS = 15.0
STREAM_SECONDS = 300.0  # a stream ends after this; the browser reconnects (and frees a server thread)
_CLOSED = object()


@dataclass(frozen=True, slots=True)
class FeedItem:
    id: int
    data: str  # the event as JSON


class FeedSubscription:
    def __init__(self, feed: EventFeed, size: int) -> None:
        self._feed = feed
        self.queue: queue.Queue[object] = queue.Queue(maxsize=size)
        self.dropped = 0

    def offer(self, item: object) -> None:
        try:
            self.queue.put_nowait(item)
        except queue.Full:
            self.dropped += 1  # a stalled browser loses events rather than holding the daemon

    def stream(
        self, after: int | None, keepalive: float, duration: float, clock: Callable[[], float]
    ) -> Iterator[str]:
        """The SSE text: the backlog after event `after`, then live events, keep-alives, until done."""
        try:
            yield "retry: 3000\n\n"
            for item in self._feed.backlog(after):
                yield _sse(item)
            deadline = clock() + duration
            while True:
                left = deadline - clock()
                if left <= 0:
                    return
                try:
                    next_item = self.queue.get(timeout=min(keepalive, left))
                except queue.Empty:
                    yield ": keep-alive\n\n"
                    continue
                if not isinstance(next_item, FeedItem):  # the feed closed
                    return
                yield _sse(next_item)
        finally:
            self._feed.unsubscribe(self)


class EventFeed:
    """Fans the bus's events out to at most `max_clients` SSE streams, keeping the last few for new ones."""

    def __init__(self, max_clients: int = 8, queue_size: int = 500, backlog: int = 50) -> None:
        self._lock = threading.Lock()
        self._subscriptions: set[FeedSubscription] = set()
        self._recent: deque[FeedItem] = deque(maxlen=backlog)
        self._ids = itertools.count(1)
        self._max_clients = max_clients
        self._queue_size = queue_size
        self._closed = False

    def publish(self, event: Event) -> None:
        """The bus subscriber: called on the daemon's loop, never blocks."""
        data = {
            "kind": event.kind,
            "time": event.time.isoformat(),
            "message": event.message,
            "payload": dict(event.payload),
        }
        with self._lock:
            number = next(self._ids)
            item = FeedItem(number, json.dumps({"id": number, **data}, default=str))
            self._recent.append(item)
            subscribers = list(self._subscriptions)
        for subscription in subscribers:
            subscription.offer(item)

    def subscribe(self) -> FeedSubscription | None:
        """A new stream's queue, or None when the feed is full or closed."""
        with self._lock:
            if self._closed or len(self._subscriptions) >= self._max_clients:
                return None
            subscription = FeedSubscription(self, self._queue_size)
            self._subscriptions.add(subscription)
            return subscription

    def unsubscribe(self, subscription: FeedSubscription) -> None:
        with self._lock:
            self._subscriptions.discard(subscription)

    def backlog(self, after: int | None) -> list[FeedItem]:
        with self._lock:
            recent = list(self._recent)
        if after is None:
            return recent
        return [item for item in recent if item.id > after]

    @property
    def clients(self) -> int:
        with self._lock:
            return len(self._subscriptions)

    def close(self) -> None:
        """End every open stream (the server is stopping)."""
        with self._lock:
            self._closed = True
            subscribers = list(self._subscriptions)
        for subscription in subscribers:
            subscription.offer(_CLOSED)


def _sse(item: FeedItem) -> str:
    return f"id: {item.id}\ndata: {item.data}\n\n"
