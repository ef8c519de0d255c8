"""Governing requests to an outside source: a daily request budget and the pause after HTTP 429s.

Both are state, not sleeps: a client asks `allow(now)` / `paused(now)` before each request,
so the caller's clock (wall or simulated) decides, and nothing blocks.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, tzinfo

import tenacity


class RequestBudget:
    """At most `per_day` network requests per local calendar day in `tz` (reset at local midnight)."""

    def __init__(self, per_day: int = 100, tz: tzinfo = UTC) -> None:
        if per_day < 1:
            raise ValueError(f"request budget must be at least 1 a day, got {per_day}")
        self.per_day = per_day
        self.tz = tz
        self._day: object = None
        self._spent = 0

    def _roll(self, now: datetime) -> None:
        day = now.astimezone(self.tz).date()
        if day != self._day:
            self._day, self._spent = day, 0

    def allow(self, now: datetime) -> bool:
        self._roll(now)
        return self._spent < self.per_day

    def spend(self, now: datetime) -> None:
        self._roll(now)
        self._spent += 1

    def spent(self, now: datetime) -> int:
        self._roll(now)
        return self._spent

    def describe(self) -> str:
        return f"daily budget of {self.per_day} requests spent"


class EscalatingBackoff:
    """The pause after HTTP 429s: `first_seconds`, times `factor` for each consecutive 429, at most
    `max_seconds`, or the server's Retry-After when that is longer; a success resets it.

    It is state, not a sleep: the client asks `paused(now)` before each request."""

    def __init__(self, first_seconds: float = 60, factor: float = 2, max_seconds: float = 3600) -> None:
        if first_seconds <= 0 or factor < 1 or max_seconds < first_seconds:
            raise ValueError("backoff needs first_seconds > 0, factor >= 1 and max_seconds >= first_seconds")
        self._wait = tenacity.wait_exponential(multiplier=first_seconds, exp_base=factor, max=max_seconds)
        self.consecutive = 0
        self.until: datetime | None = None

    def wait_seconds(self, consecutive: int) -> float:
        """The pause after the `consecutive`-th 429 in a row (1-based)."""
        state = tenacity.RetryCallState(tenacity.Retrying(), None, (), {})
        state.attempt_number = consecutive
        return float(self._wait(state))

    def rate_limited(self, now: datetime, retry_after_seconds: float | None = None) -> datetime:
        self.consecutive += 1
        seconds = self.wait_seconds(self.consecutive)
        if retry_after_seconds is not None and retry_after_seconds > seconds:
            seconds = retry_after_seconds
        self.until = now + timedelta(seconds=seconds)
        return self.until

    def succeeded(self) -> None:
        self.consecutive = 0
        self.until = None

    def paused(self, now: datetime) -> bool:
        return self.until is not None and now < self.until


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """A Retry-After header given in seconds, or None (absent, or an HTTP date we do not honour)."""
    value = headers.get("Retry-After")
    try:
        return None if value is None else float(value)
    except ValueError:
        return None
