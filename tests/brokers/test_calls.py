"""VenueCaller: retries, Retry-After, classification and health, driven by functions that fail on cue."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from brokers.base import (
    BrokerHealth,
    DuplicateClientOrderId,
    OrderNotFound,
    RateLimited,
    VenueRejected,
    VenueUnavailable,
)
from brokers.calls import (
    FaultKind,
    RetryPolicy,
    VenueCaller,
    VenueFault,
    http_fault,
    parse_retry_after,
    rate_limit_remaining,
    transport_fault,
)

FAST = RetryPolicy(attempts=3, base_wait=0.01, max_wait=0.02)


class StatusError(Exception):
    """What an SDK raises for an HTTP error: a status, a message and the response headers."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def classify(exc: BaseException) -> VenueFault | None:
    if isinstance(exc, StatusError):
        return http_fault(exc.status, exc.message, exc.headers)
    return None


class Script:
    """A callable that raises the queued exceptions in turn, then returns `result`; it counts calls."""

    def __init__(self, *failures: BaseException, result: str = "ok") -> None:
        self.failures = list(failures)
        self.result = result
        self.calls: list[float] = []

    def __call__(self) -> str:
        self.calls.append(time.monotonic())
        if self.failures:
            raise self.failures.pop(0)
        return self.result


def caller(policy: RetryPolicy = FAST, **kwargs: object) -> VenueCaller:
    return VenueCaller(BrokerHealth(venue="test"), classify, policy, **kwargs)  # type: ignore[arg-type]


def run(fn: Callable[[], object], venue: VenueCaller | None = None) -> object:
    venue = venue or caller()
    return asyncio.run(venue.call("op", fn))


def test_success_records_latency_and_connection() -> None:
    venue = caller()
    assert run(Script(), venue) == "ok"
    assert venue.health.connected
    assert venue.health.last_latency_ms is not None
    assert venue.health.last_success_at is not None


def test_server_errors_are_retried_then_succeed() -> None:
    script = Script(StatusError(500, "boom"), StatusError(502, "bad gateway"))
    assert run(script) == "ok"
    assert len(script.calls) == 3


def test_retries_are_bounded_and_leave_the_venue_disconnected() -> None:
    venue = caller()
    script = Script(*(StatusError(503, "maintenance") for _ in range(10)))
    with pytest.raises(VenueUnavailable, match="maintenance"):
        run(script, venue)
    assert len(script.calls) == FAST.attempts
    assert not venue.health.connected
    assert venue.health.last_error is not None and "maintenance" in venue.health.last_error
    assert run(Script(), venue) == "ok"
    assert venue.health.connected


def test_rate_limit_waits_for_retry_after() -> None:
    script = Script(StatusError(429, "slow down", {"Retry-After": "1"}))
    assert run(script) == "ok"
    assert script.calls[1] - script.calls[0] >= 1.0


def test_a_rate_limit_that_persists_raises_rate_limited() -> None:
    script = Script(*(StatusError(429, "slow down", {"retry-after": "0"}) for _ in range(5)))
    with pytest.raises(RateLimited):
        run(script)


def test_a_refusal_is_not_retried_and_keeps_the_venue_reason() -> None:
    script = Script(StatusError(403, "insufficient buying power"))
    with pytest.raises(VenueRejected) as refused:
        run(script)
    assert refused.value.reason == "insufficient buying power"
    assert refused.value.status == 403
    assert len(script.calls) == 1


def test_not_found_and_duplicates_have_their_own_errors() -> None:
    with pytest.raises(OrderNotFound):
        run(Script(StatusError(404, "no such order")))

    def duplicate(exc: BaseException) -> VenueFault | None:
        return VenueFault(FaultKind.DUPLICATE, str(exc))

    venue = VenueCaller(BrokerHealth(venue="test"), duplicate, FAST)
    with pytest.raises(DuplicateClientOrderId):
        run(Script(ValueError("client id in use")), venue)


def test_timeouts_and_dropped_connections_are_transient() -> None:
    script = Script(TimeoutError("read timed out"), ConnectionResetError("reset by peer"))
    assert run(script) == "ok"
    assert len(script.calls) == 3


def test_an_unknown_exception_is_neither_retried_nor_taken_for_a_refusal() -> None:
    script = Script(KeyError("surprise"))
    with pytest.raises(VenueUnavailable, match="unexpected KeyError"):
        run(script)
    assert len(script.calls) == 1


def test_a_call_that_hangs_is_cut_off_by_the_guard_timeout() -> None:
    once = RetryPolicy(attempts=1)
    venue = VenueCaller(BrokerHealth(venue="test"), classify, once, call_timeout_seconds=0.2)

    def hang() -> str:
        time.sleep(0.6)
        return "late"

    with pytest.raises(VenueUnavailable, match=r"no answer within 0\.2 s"):
        run(hang, venue)


def test_client_side_rate_limit_spaces_calls() -> None:
    venue = caller(requests_per_second=5.0)

    async def burst() -> list[float]:
        script = Script()
        for _ in range(8):
            await venue.call("op", script)
        return script.calls

    calls = asyncio.run(burst())
    # a bucket of 5 per second lets 5 through at once; the next 3 wait about 0.2 s each
    assert calls[-1] - calls[0] >= 0.4


@pytest.mark.parametrize(
    ("header", "expected"),
    [("3", 3.0), ("0", 0.0), ("2.5", 2.5), ("", None), (None, None), ("soon", None), ("-4", 0.0)],
)
def test_parse_retry_after_seconds(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_parse_retry_after_http_date() -> None:
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(header, now=now.timestamp()) == pytest.approx(30.0)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (429, FaultKind.RATE_LIMITED),
        (500, FaultKind.TRANSIENT),
        (503, FaultKind.TRANSIENT),
        (408, FaultKind.TRANSIENT),
        (404, FaultKind.NOT_FOUND),
        (400, FaultKind.REJECTED),
        (401, FaultKind.REJECTED),
        (422, FaultKind.REJECTED),
    ],
)
def test_http_statuses_map_to_fault_kinds(status: int, kind: FaultKind) -> None:
    assert http_fault(status, "why").kind is kind


def test_transport_fault_looks_through_wrapped_exceptions() -> None:
    try:
        try:
            raise TimeoutError("socket read timed out")
        except TimeoutError as inner:
            raise RuntimeError("SDK wrapper") from inner
    except RuntimeError as outer:
        fault = transport_fault(outer)
    assert fault is not None and fault.kind is FaultKind.TRANSIENT
    assert transport_fault(ValueError("bad json")) is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-RateLimit-Remaining": "197"}, 197),
        ({"ratelimit-remaining": "5, 10;w=1"}, 5),
        ({"x-rate-limit-remaining": "-3"}, 0),
        ({"X-RateLimit-Remaining": "lots"}, None),
        ({"Content-Type": "application/json"}, None),
        (None, None),
    ],
)
def test_rate_limit_headroom_is_read_from_the_usual_headers(
    headers: dict[str, str] | None, expected: int | None
) -> None:
    assert rate_limit_remaining(headers) == expected
