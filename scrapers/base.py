"""What every outside data source of the prediction-market models shares.

A source has three separable parts (ARCHITECTURE.md, "Data from outside"):

- **fetch**: HTTP through `JsonFetcher`: one requests-cache session (answers reused for the
  source's cache time, ETag/Last-Modified revalidated), a timeout on every request, bounded
  retries with exponential backoff on connection errors and 5xx (tenacity), a daily request
  budget and a pause after 429s (`utils.request_budget`). What cannot be fetched raises
  `SourceUnavailable` with a sentence; the source then abstains, it never makes data up.
- **parse**: pure functions from the API's real payload to our types, tested on fixtures in
  the exact real format; a payload that does not parse raises `MalformedPayload`.
- **health**: `SourceHealth`, the last success, the last error and the budget left, for the
  dashboard.

A source that prices contracts implements `ContractSource`: `estimate(contract, now)`
answers a probability that YES pays (`SourceEstimate`) or why it cannot (`NoEstimate`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import requests
import tenacity

from domain.contracts import ContractSpec, Domain
from domain.time import require_aware
from utils.http_cache import cached_session, from_cache
from utils.request_budget import EscalatingBackoff, RequestBudget, retry_after_seconds

log = logging.getLogger(__name__)


class SourceUnavailable(Exception):
    """No data: unreachable, refused, rate-limited, out of budget. `reason` is a sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MalformedPayload(ValueError):
    """An answer that is not in the format the parser knows; the message says what was wrong."""


@dataclass(frozen=True, slots=True)
class SourceEstimate:
    """A source's probability that the contract settles YES, when its data was current, and why."""

    source: str
    probability: float
    as_of: datetime
    evidence: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.probability) and 0.0 <= self.probability <= 1.0):
            raise ValueError(f"{self.source}: probability {self.probability!r} is outside [0, 1]")
        require_aware(self.as_of, f"{self.source} estimate time")


@dataclass(frozen=True, slots=True)
class NoEstimate:
    source: str
    reason: str


EstimateResult = SourceEstimate | NoEstimate


@dataclass(slots=True)
class SourceHealth:
    name: str
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    requests_today: int = 0
    daily_budget: int | None = None

    @property
    def ok(self) -> bool:
        if self.last_error_at is None:
            return self.last_success_at is not None
        return self.last_success_at is not None and self.last_success_at > self.last_error_at

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "last_success_at": None if self.last_success_at is None else self.last_success_at.isoformat(),
            "last_error": self.last_error,
            "last_error_at": None if self.last_error_at is None else self.last_error_at.isoformat(),
            "requests_today": self.requests_today,
            "daily_budget": self.daily_budget,
        }


class ContractSource(Protocol):
    """A source that prices prediction-market contracts of some domains."""

    name: str
    domains: frozenset[Domain]

    def health(self) -> SourceHealth: ...

    async def estimate(self, contract: ContractSpec, now: datetime) -> EstimateResult:
        """P(YES) for `contract` from data current at `now`, or why there is none. Never raises for
        missing data: unavailability is a `NoEstimate` with the reason."""
        ...


class _Retryable(Exception):
    """A transient failure worth another try (connection error, timeout, 5xx)."""


@dataclass(slots=True)
class JsonFetcher:
    """GETs JSON (or text) for one source, governed as the module docstring says.

    `cache_path` None keeps the cache in memory (tests); `cache_seconds` is how long an answer
    is reused when the server sends no cache headers of its own. Synchronous: async callers
    run it with `asyncio.to_thread`.
    """

    name: str
    cache_path: Path | None = None
    cache_seconds: float = 300.0
    timeout_seconds: float = 10.0
    attempts: int = 3
    budget: RequestBudget | None = None
    backoff: EscalatingBackoff = field(default_factory=EscalatingBackoff)
    headers: Mapping[str, str] = field(default_factory=dict)
    _session: requests.Session | None = None
    _health: SourceHealth | None = None

    def health(self) -> SourceHealth:
        if self._health is None:
            self._health = SourceHealth(
                self.name, daily_budget=None if self.budget is None else self.budget.per_day
            )
        return self._health

    def get_json(self, url: str, now: datetime, params: Mapping[str, Any] | None = None) -> Any:
        return self.get_json_and_headers(url, now, params)[0]

    def get_json_and_headers(
        self, url: str, now: datetime, params: Mapping[str, Any] | None = None
    ) -> tuple[Any, Mapping[str, str]]:
        """The JSON answer and its response headers (a cached answer replays its stored headers)."""
        response = self._get(url, now, params)
        try:
            return response.json(), dict(response.headers)
        except ValueError as error:
            self.record_error(now, f"answered something that is not JSON ({error})")
            raise SourceUnavailable(f"{self.name}: {url} answered something that is not JSON") from error

    def get_text(self, url: str, now: datetime, params: Mapping[str, Any] | None = None) -> str:
        return self._get(url, now, params).text

    def _get(self, url: str, now: datetime, params: Mapping[str, Any] | None) -> requests.Response:
        if self.backoff.paused(now):
            raise SourceUnavailable(f"{self.name}: rate-limited, paused until {self.backoff.until:%H:%M} UTC")
        if self.budget is not None and not self.budget.allow(now):
            reason = f"{self.name}: {self.budget.describe()}"
            self.record_error(now, reason)
            raise SourceUnavailable(reason)
        session = self._session_now()

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts),
            wait=tenacity.wait_exponential(multiplier=0.5, max=8),
            retry=tenacity.retry_if_exception_type(_Retryable),
            reraise=True,
        )
        try:
            response: requests.Response = retrying(self._attempt, session, url, now, params)
        except _Retryable as error:
            reason = f"{self.name}: {error} after {self.attempts} attempts"
            self.record_error(now, reason)
            raise SourceUnavailable(reason) from error
        if response.status_code == 429:
            until = self.backoff.rate_limited(now, retry_after_seconds(response.headers))
            reason = f"{self.name}: HTTP 429 from {url}; paused until {until:%H:%M} UTC"
            self.record_error(now, reason)
            raise SourceUnavailable(reason)
        if response.status_code >= 400:
            reason = f"{self.name}: HTTP {response.status_code} from {url}: {response.text[:200]}"
            self.record_error(now, reason)
            raise SourceUnavailable(reason)
        self.backoff.succeeded()
        health = self.health()
        health.last_success_at = now
        return response

    def _attempt(
        self, session: requests.Session, url: str, now: datetime, params: Mapping[str, Any] | None
    ) -> requests.Response:
        try:
            response = session.get(
                url, params=params, headers=dict(self.headers), timeout=self.timeout_seconds
            )
        except requests.RequestException as error:
            self._count(now)
            raise _Retryable(f"{type(error).__name__} reaching {url}") from error
        if not from_cache(response):
            self._count(now)
        if response.status_code >= 500:
            raise _Retryable(f"HTTP {response.status_code} from {url}")
        return response

    def _count(self, now: datetime) -> None:
        if self.budget is not None:
            self.budget.spend(now)
            self.health().requests_today = self.budget.spent(now)
        else:
            self.health().requests_today += 1

    def record_error(self, now: datetime, reason: str) -> None:
        """Mark the source broken at `now` (also for an answer that arrived but could not be read)."""
        health = self.health()
        health.last_error, health.last_error_at = reason, now
        log.warning("%s", reason)

    def _session_now(self) -> requests.Session:
        if self._session is None:
            self._session = cached_session(self.cache_path, self.cache_seconds)
        return self._session
