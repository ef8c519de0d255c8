"""VenueCaller: how every live adapter talks to its SDK.

One place owns the rules the Broker protocol promises for the outside world:
- blocking SDK calls run in a worker thread, never on the event loop;
- a client-side rate limit (aiolimiter's leaky bucket) is respected before each attempt;
- 429 backs off for the venue's Retry-After (plus jitter), 5xx, timeouts and
  dropped connections retry with exponential jitter, both a bounded number of
  times (tenacity); then the venue is marked disconnected and `RateLimited` or
  `VenueUnavailable` is raised;
- other 4xx answers become `VenueRejected` with the venue's reason, 404 becomes
  `OrderNotFound`; anything the adapter's classifier does not recognise becomes
  `VenueUnavailable` with the exception's text (not retried, not taken for a
  refusal), so no exception leaves an adapter unclassified;
- every call updates the adapter's `BrokerHealth` (latency, last error, connected).

Each adapter supplies a classifier that maps its SDK's exceptions to a `VenueFault`;
`http_fault` and `transport_fault` below cover the common ground.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC
from enum import StrEnum
from typing import Any, TypeVar

from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from brokers.base import (
    BrokerError,
    BrokerHealth,
    DuplicateClientOrderId,
    OrderNotFound,
    RateLimited,
    VenueRejected,
    VenueUnavailable,
)
from utils.clock import WALL_CLOCK

T = TypeVar("T")


class FaultKind(StrEnum):
    RATE_LIMITED = "rate_limited"  # 429: wait for Retry-After, then again
    TRANSIENT = "transient"  # 5xx, timeout, connection refused or dropped: retry
    REJECTED = "rejected"  # 4xx: the venue said no; retrying cannot help
    NOT_FOUND = "not_found"  # 404 on an order lookup
    DUPLICATE = "duplicate"  # the venue already holds this client order id
    UNKNOWN = "unknown"  # not recognised: not retried, and not taken for a refusal either


@dataclass(frozen=True, slots=True)
class VenueFault:
    kind: FaultKind
    reason: str
    status: int | None = None
    retry_after: float | None = None


Classifier = Callable[[BaseException], VenueFault | None]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries: `attempts` tries in all, waits between `base_wait` and `max_wait` seconds."""

    attempts: int = 4
    base_wait: float = 0.25
    max_wait: float = 8.0
    max_retry_after: float = 30.0  # a Retry-After beyond this is not waited out in-line

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("retry policy: attempts must be at least 1")
        if self.base_wait < 0 or self.max_wait < self.base_wait:
            raise ValueError("retry policy: need 0 <= base_wait <= max_wait")


class _Retry(Exception):
    """A classified fault worth another attempt (429 or transient)."""

    def __init__(self, fault: VenueFault) -> None:
        super().__init__(fault.reason)
        self.fault = fault


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None if absent or junk."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - (WALL_CLOCK.now().timestamp() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def http_fault(status: int, reason: str, headers: Mapping[str, str] | None = None) -> VenueFault:
    """The usual meaning of an HTTP status; adapters refine it where their venue differs."""
    retry_after = None
    if headers is not None:
        lowered = {k.lower(): v for k, v in headers.items()}
        retry_after = parse_retry_after(lowered.get("retry-after"))
    if status == 429:
        return VenueFault(FaultKind.RATE_LIMITED, reason or "too many requests", status, retry_after)
    if status >= 500 or status in (408, 425):
        return VenueFault(FaultKind.TRANSIENT, reason or f"HTTP {status}", status, retry_after)
    if status == 404:
        return VenueFault(FaultKind.NOT_FOUND, reason or "not found", status)
    return VenueFault(FaultKind.REJECTED, reason or f"HTTP {status}", status)


RATE_LIMIT_REMAINING_HEADERS = ("x-ratelimit-remaining", "ratelimit-remaining", "x-rate-limit-remaining")


def rate_limit_remaining(headers: Mapping[str, str] | None) -> int | None:
    """Requests left in the venue's window, from the usual headers (Alpaca, IETF draft, others)."""
    if not headers:
        return None
    lowered = {str(k).lower(): v for k, v in headers.items()}
    for name in RATE_LIMIT_REMAINING_HEADERS:
        value = lowered.get(name)
        if value is None:
            continue
        try:
            return max(0, int(str(value).split(",")[0].strip()))
        except ValueError:
            return None
    return None


def note_rate_limit(health: BrokerHealth, headers: Mapping[str, str] | None) -> None:
    """Keep the venue's rate-limit headroom on the health panel when the answer states it."""
    remaining = rate_limit_remaining(headers)
    if remaining is not None:
        health.rate_limit_remaining = remaining


def requests_rate_limit_hook(health: BrokerHealth) -> Callable[..., Any]:
    """A `requests` response hook that keeps `health.rate_limit_remaining` current."""

    def hook(response: Any, *args: Any, **kwargs: Any) -> Any:
        note_rate_limit(health, getattr(response, "headers", None))
        return response

    return hook


def transport_fault(exc: BaseException) -> VenueFault | None:
    """Timeouts and connection failures of requests, urllib3, aiohttp, httpx or plain sockets."""
    for cause in _chain(exc):
        name = type(cause).__name__
        module = type(cause).__module__
        if isinstance(cause, TimeoutError | socket.timeout | ConnectionError):
            return VenueFault(FaultKind.TRANSIENT, f"{name}: {cause}")
        if module.startswith(("requests", "urllib3", "aiohttp", "httpx", "http.client")) and any(
            word in name for word in ("Timeout", "Connection", "Protocol", "RemoteDisconnected", "ReadError")
        ):
            return VenueFault(FaultKind.TRANSIENT, f"{name}: {cause}")
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 8:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


class VenueCaller:
    """Runs an adapter's SDK calls with the retry, rate-limit and health rules above."""

    def __init__(
        self,
        health: BrokerHealth,
        classify: Classifier,
        policy: RetryPolicy | None = None,
        requests_per_second: float | None = None,
        call_timeout_seconds: float = 30.0,
    ) -> None:
        self.health = health
        self._classify = classify
        self.policy = policy or RetryPolicy()
        self._requests_per_second = requests_per_second
        # an AsyncLimiter belongs to one event loop; a new loop (a test, a restart) gets its own
        self._limiter: AsyncLimiter | None = None
        self._limiter_loop: asyncio.AbstractEventLoop | None = None
        self._call_timeout = call_timeout_seconds
        self.attempts_made = 0  # for the health panel and tests: every attempt, retries included

    async def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` in a worker thread, retried by the policy."""
        return await self.retrying(what, lambda: self.once(what, fn, *args, **kwargs))

    async def retrying(self, what: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run `attempt` (made of `once` calls) until it succeeds or the policy gives up.

        Use this for a unit of several calls that must be retried together, e.g.
        'look the client order id up, and only if absent, send the order'.
        """
        policy = self.policy
        retrying = AsyncRetrying(
            stop=stop_after_attempt(policy.attempts),
            wait=self._wait,
            retry=retry_if_exception(lambda e: isinstance(e, _Retry)),
            reraise=True,
        )
        try:
            async for state in retrying:
                with state:
                    return await attempt()
        except _Retry as exhausted:
            fault = exhausted.fault
            self.health.connected = False
            self._note_error(f"{what}: gave up after {policy.attempts} attempts: {fault.reason}")
            if fault.kind is FaultKind.RATE_LIMITED:
                raise RateLimited(f"{self.health.venue} {what}: rate limited: {fault.reason}") from None
            raise VenueUnavailable(f"{self.health.venue} {what}: {fault.reason}") from None
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    async def once(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """One attempt: a classified `BrokerError` on a final fault, `_Retry` on a retryable one."""
        if self._requests_per_second:
            loop = asyncio.get_running_loop()
            if self._limiter is None or self._limiter_loop is not loop:
                self._limiter = AsyncLimiter(self._requests_per_second, 1.0)
                self._limiter_loop = loop
            await self._limiter.acquire()
        self.attempts_made += 1
        started = time.perf_counter()
        try:
            result = await asyncio.wait_for(asyncio.to_thread(fn, *args, **kwargs), self._call_timeout)
        except BrokerError:
            raise
        except Exception as exc:  # every SDK exception is classified here, nowhere else
            fault = self._fault_of(exc)
            self._note_error(f"{what}: {fault.reason}")
            if fault.kind in (FaultKind.RATE_LIMITED, FaultKind.TRANSIENT):
                raise _Retry(fault) from exc
            if fault.kind is FaultKind.NOT_FOUND:
                raise OrderNotFound(f"{self.health.venue} {what}: {fault.reason}") from exc
            if fault.kind is FaultKind.DUPLICATE:
                raise DuplicateClientOrderId(f"{self.health.venue} {what}: {fault.reason}") from exc
            if fault.kind is FaultKind.UNKNOWN:
                # It may be our bug or a venue change: whether an order went out is unknown,
                # so it must not be booked as refused; the caller re-queries by client id.
                raise VenueUnavailable(f"{self.health.venue} {what}: {fault.reason}") from exc
            raise VenueRejected(fault.reason, fault.status) from exc
        self.health.last_latency_ms = (time.perf_counter() - started) * 1000.0
        self.health.last_success_at = WALL_CLOCK.now()
        self.health.connected = True
        return result

    def _fault_of(self, exc: Exception) -> VenueFault:
        if isinstance(exc, asyncio.TimeoutError | TimeoutError):
            return VenueFault(FaultKind.TRANSIENT, f"no answer within {self._call_timeout:g} s")
        try:
            fault = self._classify(exc)
        except Exception as broken:  # a classifier bug must not hide the venue's error
            fault = VenueFault(FaultKind.TRANSIENT, f"{type(exc).__name__}: {exc} (classifier: {broken})")
        if fault is None:
            fault = transport_fault(exc)
        if fault is None:
            fault = VenueFault(FaultKind.UNKNOWN, f"unexpected {type(exc).__name__}: {exc}")
        return fault

    def _wait(self, state: RetryCallState) -> float:
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        fault = exc.fault if isinstance(exc, _Retry) else None
        policy = self.policy
        if fault is not None and fault.retry_after is not None:
            # the venue said when; a little jitter keeps many bots from returning in step
            return min(fault.retry_after, policy.max_retry_after) + random.uniform(0, 0.1)
        ceiling = min(policy.max_wait, policy.base_wait * 2 ** (state.attempt_number - 1))
        return random.uniform(policy.base_wait / 2, max(policy.base_wait / 2, ceiling))

    def _note_error(self, message: str) -> None:
        self.health.last_error = message
        self.health.last_error_at = WALL_CLOCK.now()
