import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.triggers.date import DateTrigger

from runtime.scheduling import LiveScheduler, SimulatedScheduler, cron_trigger, interval_trigger
from utils.clock import WALL_CLOCK, SimulatedClock

START = datetime(2026, 3, 6, 14, 0, tzinfo=UTC)  # a Friday, 09:00 in New York


def test_simulated_scheduler_fires_interval_jobs_in_time_order_on_the_clock() -> None:
    clock = SimulatedClock(START)
    scheduler = SimulatedScheduler(clock)
    fired: list[tuple[str, datetime, datetime]] = []

    def job(name: str):  # type: ignore[no-untyped-def]
        async def run(fire_time: datetime) -> None:
            fired.append((name, fire_time, clock.now()))

        return run

    scheduler.add_job("fast", interval_trigger(10, clock, "UTC"), job("fast"))
    scheduler.add_job("slow", interval_trigger(30, clock, "UTC"), job("slow"))
    asyncio.run(scheduler.run_until(START + timedelta(seconds=60)))  # fires at +1, +11, ...; +31
    assert [f[0] for f in fired].count("fast") == 6
    assert [f[0] for f in fired].count("slow") == 2
    assert all(fire == seen for _, fire, seen in fired)  # the clock stood at each fire time
    assert [f[1] for f in fired] == sorted(f[1] for f in fired)
    assert clock.now() == START + timedelta(seconds=60)


def test_cron_schedule_follows_the_configured_timezone_across_dst() -> None:
    # 09:30 New York is 14:30 UTC before 8 March 2026 and 13:30 UTC after the DST change.
    clock = SimulatedClock(START)
    scheduler = SimulatedScheduler(clock)
    fired: list[datetime] = []

    async def run(fire_time: datetime) -> None:
        fired.append(fire_time.astimezone(UTC))

    scheduler.add_job("open", cron_trigger("30 9 * * mon-fri", "America/New_York"), run)
    asyncio.run(scheduler.run_until(START + timedelta(days=5)))
    assert fired[0] == datetime(2026, 3, 6, 14, 30, tzinfo=UTC)
    assert fired[1] == datetime(2026, 3, 9, 13, 30, tzinfo=UTC)  # Monday, after DST; no weekend runs
    assert len(fired) == 4


def test_interval_jobs_are_staggered_by_name_but_stable() -> None:
    clock = SimulatedClock(START)
    first = interval_trigger(10, clock, "UTC", stagger_key="bot-a").get_next_fire_time(None, START)
    again = interval_trigger(10, clock, "UTC", stagger_key="bot-a").get_next_fire_time(None, START)
    other = interval_trigger(10, clock, "UTC", stagger_key="bot-b").get_next_fire_time(None, START)
    assert first == again
    assert first != other
    assert START < first <= START + timedelta(seconds=11)


def test_removed_job_no_longer_fires() -> None:
    clock = SimulatedClock(START)
    scheduler = SimulatedScheduler(clock)
    count = 0

    async def run(fire_time: datetime) -> None:
        nonlocal count
        count += 1

    scheduler.add_job("j", interval_trigger(10, clock, "UTC"), run)
    asyncio.run(scheduler.run_until(START + timedelta(seconds=25)))
    scheduler.remove_job("j")
    asyncio.run(scheduler.run_until(START + timedelta(seconds=60)))
    assert count == 3  # at +1, +11 and +21 s, none after removal


def test_a_live_job_cancelled_by_the_shutdown_ends_quietly(caplog: pytest.LogCaptureFixture) -> None:
    """A job still waiting when the daemon stops (a regime fit queued behind the start-up round) is
    cancelled by APScheduler's shutdown; that is the expected end, not an ERROR in the log."""
    scheduler = LiveScheduler("UTC", clock=WALL_CLOCK)
    started = asyncio.Event()
    ended: list[str] = []

    async def waits_forever(fire_time: datetime) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            ended.append("cancelled")

    async def scenario() -> None:
        scheduler.add_job("waits", DateTrigger(WALL_CLOCK.now() + timedelta(milliseconds=50)), waits_forever)
        scheduler.start()
        await asyncio.wait_for(started.wait(), timeout=30)
        await scheduler.shutdown()
        for _ in range(20):  # let the cancellation reach the job and APScheduler's wrapper
            await asyncio.sleep(0)

    with caplog.at_level(logging.DEBUG):
        asyncio.run(scenario())
    assert ended == ["cancelled"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
