"""An order's status history: the rows that record a move from one status to another."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from domain.orders import ALLOWED_TRANSITIONS, OrderStatus


def event_rows(
    client_order_id: str, start: OrderStatus | None, end: OrderStatus, time: datetime, reason: str | None
) -> list[dict[str, Any]]:
    """The `order_events` rows for a move from `start` (None: the order is new) to `end`.

    The orchestrator may move an order more than one step between two writes (NEW ->
    SUBMITTED -> ACCEPTED while the router waits for the venue). The state machine
    allowed each step, so the rows record the legal path, every step at `time`, with
    `reason` on the last.
    """
    steps = (end,) if start is None else status_path(start, end)
    rows = []
    before = start
    for number, step in enumerate(steps, start=1):
        rows.append(
            {
                "client_order_id": client_order_id,
                "from_status": None if before is None else before.value,
                "to_status": step.value,
                "time": time,
                "reason": reason if number == len(steps) else None,
            }
        )
        before = step
    return rows


@cache
def status_path(start: OrderStatus, end: OrderStatus) -> tuple[OrderStatus, ...]:
    """The shortest chain of legal moves from `start` to `end` (without `start`).

    When the table allows no such chain (the stored status came from another copy of the order),
    the single observed move is returned: the journal records what it saw rather than refuse it.
    """
    paths: dict[OrderStatus, tuple[OrderStatus, ...]] = {start: ()}
    frontier = [start]
    while frontier:
        following: list[OrderStatus] = []
        for status in frontier:
            for successor in sorted(ALLOWED_TRANSITIONS[status]):
                if successor in paths:
                    continue
                paths[successor] = (*paths[status], successor)
                if successor is end:
                    return paths[successor]
                following.append(successor)
        frontier = following
    return (end,)
