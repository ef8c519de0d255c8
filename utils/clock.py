"""The only place that reads the system time.

Everything else asks a `Clock`. Live runs use `WallClock`; replay and tests use
`SimulatedClock`, which moves only when told to, so a bot cannot tell the two apart.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

from domain.time import require_aware


class Clock(Protocol):
    def now(self) -> datetime:
        """Timezone-aware UTC now."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (for durations, not dates)."""
        ...


class WallClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


WALL_CLOCK = WallClock()  # for what only ever runs on real time: live venue adapters, their health


class SimulatedClock:
    """A clock that moves only forward and only when advanced."""

    def __init__(self, start: datetime) -> None:
        require_aware(start, "simulated clock start")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._now.timestamp()

    def advance_to(self, moment: datetime) -> None:
        require_aware(moment, "simulated clock target")
        if moment < self._now:
            raise ValueError(
                f"simulated clock cannot go back from {self._now.isoformat()} to {moment.isoformat()}"
            )
        self._now = moment.astimezone(UTC)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("simulated clock cannot go back")
        self._now = self._now + timedelta(seconds=seconds)
