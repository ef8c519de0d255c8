"""Two schedulers behind one interface, both driven by APScheduler's own triggers.

`LiveScheduler` wraps APScheduler's `AsyncIOScheduler` (one instance per job at a
time, misfires coalesced). `SimulatedScheduler` computes the same fire times
from the same trigger objects but moves a `SimulatedClock` from one fire time
to the next, so a replay is the live daemon with a different clock.

Every job receives its *scheduled* fire time, which gives ticks a stable
identity (signal ids are derived from it) and lets lateness be measured.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import zlib
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from utils.clock import Clock, SimulatedClock

log = logging.getLogger(__name__)

JobFunc = Callable[[datetime], Awaitable[None]]


class Scheduler(Protocol):
    def add_job(self, job_id: str, trigger: BaseTrigger, func: JobFunc) -> None: ...

    def remove_job(self, job_id: str) -> None: ...

    def job_ids(self) -> list[str]: ...

    def start(self) -> None: ...

    async def shutdown(self) -> None: ...


def interval_trigger(seconds: int, clock: Clock, timezone: str, stagger_key: str = "") -> IntervalTrigger:
    """An interval trigger anchored on the clock, staggered by a hash of `stagger_key`.

    Staggering spreads 500 bots on the same interval over the interval instead
    of firing them all in the same instant; the offset is stable per key.
    """
    offset_ms = zlib.crc32(stagger_key.encode()) % (seconds * 1000) if stagger_key else 0
    start = clock.now() + timedelta(seconds=1, milliseconds=offset_ms)
    return IntervalTrigger(seconds=seconds, start_date=start, timezone=timezone)


def cron_trigger(expression: str, timezone: str) -> CronTrigger:
    return CronTrigger.from_crontab(expression, timezone=timezone)


class LiveScheduler:
    """APScheduler's AsyncIOScheduler with the scheduled fire time handed to each job."""

    def __init__(self, timezone: str, misfire_grace_seconds: int = 30, clock: Clock | None = None) -> None:
        self._scheduler = AsyncIOScheduler(timezone=timezone)
        self._scheduler.add_listener(self._on_submitted, EVENT_JOB_SUBMITTED)
        self._scheduled: dict[str, datetime] = {}
        self._grace = misfire_grace_seconds
        self._shutting_down = False
        self._clock = clock
        # how late the latest jobs started (seconds), for monitoring and the benchmark; bounded
        self.lateness_seconds: deque[float] = deque(maxlen=100_000)

    def _on_submitted(self, event: JobSubmissionEvent) -> None:
        # Runs synchronously inside APScheduler's wake-up, before the job's task starts.
        self._scheduled[event.job_id] = event.scheduled_run_times[-1]

    def add_job(self, job_id: str, trigger: BaseTrigger, func: JobFunc) -> None:
        async def run() -> None:
            fire_time = self._scheduled.pop(job_id)
            if self._clock is not None:
                self.lateness_seconds.append((self._clock.now() - fire_time).total_seconds())
            try:
                await func(fire_time)
            except asyncio.CancelledError:
                if not self._shutting_down:
                    raise
                # shutdown cancels the jobs still waiting (a regime fit queued behind the start-up
                # round): an expected end, not a failure for APScheduler to log as an error
                log.debug("job %s cancelled by the shutdown", job_id)

        self._scheduler.add_job(
            run,
            trigger=trigger,
            id=job_id,
            name=job_id,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=self._grace,
            replace_existing=True,
        )

    def remove_job(self, job_id: str) -> None:
        self._scheduler.remove_job(job_id)

    def job_ids(self) -> list[str]:
        return sorted(job.id for job in self._scheduler.get_jobs())

    def start(self) -> None:
        self._scheduler.start()

    async def shutdown(self) -> None:
        self._shutting_down = True
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)


class SimulatedScheduler:
    """Runs jobs at their trigger times on a simulated clock, one at a time, in time order."""

    def __init__(self, clock: SimulatedClock) -> None:
        self._clock = clock
        self._heap: list[tuple[datetime, int, str]] = []
        self._jobs: dict[str, tuple[BaseTrigger, JobFunc]] = {}
        self._order = itertools.count()
        self.lateness_seconds: list[float] = []

    def add_job(self, job_id: str, trigger: BaseTrigger, func: JobFunc) -> None:
        self._jobs[job_id] = (trigger, func)
        self._push(job_id, trigger.get_next_fire_time(None, self._clock.now()))

    def remove_job(self, job_id: str) -> None:
        self._jobs.pop(job_id, None)

    def job_ids(self) -> list[str]:
        return sorted(self._jobs)

    def start(self) -> None:
        """Nothing to start: time moves only inside `run_until`."""

    async def shutdown(self) -> None:
        self._heap.clear()

    def _push(self, job_id: str, fire_time: Any) -> None:
        if fire_time is not None:
            heapq.heappush(self._heap, (fire_time, next(self._order), job_id))

    async def run_until(self, end: datetime) -> int:
        """Fire every job due up to `end` in time order; return how many ran."""
        ran = 0
        while self._heap and self._heap[0][0] <= end:
            fire_time, _, job_id = heapq.heappop(self._heap)
            job = self._jobs.get(job_id)
            if job is None:
                continue  # removed
            trigger, func = job
            if fire_time > self._clock.now():
                self._clock.advance_to(fire_time)
            self.lateness_seconds.append((self._clock.now() - fire_time).total_seconds())
            await func(fire_time)
            ran += 1
            await asyncio.sleep(0)  # let tasks the job started make progress, as the live loop would
            self._push(job_id, trigger.get_next_fire_time(fire_time, fire_time))
        if end > self._clock.now():
            self._clock.advance_to(end)
        return ran
