"""The live feed's fan-out and the guards on the levers, without a server."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime

from config.loader import load_config
from dashboard.context import control_token
from dashboard.live import EventFeed
from dashboard.security import CsrfTokens
from runtime.events import Event

T = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def event(message: str) -> Event:
    return Event("fill", T, message, {"bot": "a", "price": "1.5"})


def test_every_open_stream_gets_each_event_and_a_new_one_gets_the_recent_ones() -> None:
    feed = EventFeed(max_clients=2, backlog=3)
    first, second = feed.subscribe(), feed.subscribe()
    assert first is not None and second is not None
    assert feed.subscribe() is None  # full: the page falls back to its periodic refresh
    for number in range(5):
        feed.publish(event(f"e{number}"))
    assert first.queue.qsize() == second.queue.qsize() == 5
    assert [json.loads(i.data)["message"] for i in feed.backlog(None)] == ["e2", "e3", "e4"]
    assert [i.id for i in feed.backlog(4)] == [5]  # a reconnecting browser's Last-Event-ID


def test_a_stream_writes_server_sent_events_and_ends_when_the_feed_closes() -> None:
    feed = EventFeed()
    feed.publish(event("before"))
    subscription = feed.subscribe()
    assert subscription is not None
    ticks = itertools.count()
    stream = subscription.stream(None, keepalive=0.01, duration=60, clock=lambda: float(next(ticks)) * 0)
    assert next(stream) == "retry: 3000\n\n"
    backlog = next(stream)
    assert (
        backlog.startswith("id: 1\ndata: ") and json.loads(backlog.split("data: ")[1])["message"] == "before"
    )
    assert next(stream) == ": keep-alive\n\n"  # nothing new within the keep-alive interval
    feed.publish(event("live"))
    assert json.loads(next(stream).split("data: ")[1])["payload"] == {"bot": "a", "price": "1.5"}
    feed.close()
    assert list(stream) == []
    assert feed.clients == 0 and feed.subscribe() is None


def test_a_stream_ends_after_its_duration_so_the_browser_reconnects() -> None:
    feed = EventFeed()
    subscription = feed.subscribe()
    assert subscription is not None
    moments = iter([0.0, 0.0, 100.0])
    assert list(subscription.stream(None, keepalive=0.01, duration=50, clock=lambda: next(moments))) == [
        "retry: 3000\n\n",
        ": keep-alive\n\n",
    ]
    assert feed.clients == 0


def test_a_stalled_stream_loses_events_instead_of_blocking_the_daemon() -> None:
    feed = EventFeed(queue_size=2)
    subscription = feed.subscribe()
    assert subscription is not None
    for number in range(5):
        feed.publish(event(f"e{number}"))  # returns at once although nobody reads
    assert subscription.queue.qsize() == 2 and subscription.dropped == 3


def test_csrf_tokens_are_signed_by_this_server_only() -> None:
    tokens = CsrfTokens()
    issued = tokens.issue()
    assert tokens.valid(issued) and issued != tokens.issue()
    nonce, _, signature = issued.partition(".")
    assert not tokens.valid(f"{nonce}x.{signature}")
    assert not CsrfTokens().valid(issued)  # another process's key
    assert not tokens.valid("") and not tokens.valid("no-dot")


def test_the_control_token_comes_from_the_named_variable_and_must_be_long() -> None:
    settings = load_config().settings
    assert control_token(settings, {}) == (
        None,
        "no token is configured (set DASHBOARD_TOKEN in the daemon's environment)",
    )
    assert control_token(settings, {"DASHBOARD_TOKEN": "short"}) == (
        None,
        "DASHBOARD_TOKEN is shorter than 16 characters",
    )
    assert control_token(settings, {"DASHBOARD_TOKEN": " 0123456789abcdef \n"}) == ("0123456789abcdef", None)
    renamed = settings.model_copy(
        update={"dashboard": settings.dashboard.model_copy(update={"token_env": "OPS"})}
    )
    assert control_token(renamed, {"OPS": "0123456789abcdefg"}) == ("0123456789abcdefg", None)
