"""A simulated daemon for the dashboard's tests: a journal filled by a real run, and a daemon that
keeps running on its own thread (its loop moves the simulated clock) while HTTP requests arrive."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from config.loader import LoadedConfig
from master_orchestrator import Orchestrator
from runtime.wiring import SimulatedRun, build_simulated
from tests.runtime.test_orchestrator import START, bot, configured

T = TypeVar("T")
TOKEN = "test-token-0123456789abcdef"


def dashboard_config(tmp_path: Path, **risk: Any) -> LoadedConfig:
    """Three bots that trade (stocks and crypto) and one that fails until it is auto-paused."""
    config = configured(
        tmp_path,
        [
            bot("buyer-crypto", "AlwaysBuyBot", ["BTC/USD", "ETH/USD"], "sim-crypto"),
            bot("buyer-stocks", "AlwaysBuyBot", ["SPY"], "sim-stocks"),
            bot("broken", "FailingBot", ["QQQ"], "sim-stocks"),
        ],
        ai=True,  # the default road, ensemble and veto included: the decision trace shows them
        **{"daily_loss_limit_usd": 1000.0, "losses_to_reduce": 2, **risk},
    )
    settings = config.settings
    dashboard = settings.dashboard.model_copy(update={"port": 0})
    return LoadedConfig(
        settings.model_copy(update={"dashboard": dashboard}),
        config.registry,
        config.settings_path,
        config.registry_path,
    )


def fill_journal(config: LoadedConfig, minutes: int = 40, start: datetime = START) -> SimulatedRun:
    """Run the daemon for `minutes` of simulated time; the journal stays behind."""
    run = build_simulated(config, start)

    async def go() -> None:
        await run.orchestrator.start()
        await run.scheduler.run_until(run.clock.now() + timedelta(minutes=minutes))
        await run.orchestrator.stop()

    asyncio.run(go())
    return run


class RunningDaemon:
    """The orchestrator on a thread of its own, its loop stepping the simulated clock forward.

    The run is built on that thread too (the paper venues' SQLite connections belong to the
    thread that opened them, as in the real daemon). Tests talk to it as the dashboard does,
    from other threads: `call` runs a function on its loop.
    """

    def __init__(
        self,
        build: Callable[[], SimulatedRun],
        step: timedelta = timedelta(seconds=2),
        pause: float = 0.02,
    ) -> None:
        self._build = build
        self._step = step
        self._pause = pause
        self._started = threading.Event()
        self._stop = threading.Event()
        self._moving = threading.Event()  # cleared: the clock stands still (figures hold still to compare)
        self._moving.set()
        self._parked = threading.Event()  # set by the loop once it stands still
        self._thread = threading.Thread(target=self._main, name="simulated-daemon", daemon=True)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.error: BaseException | None = None
        self._run: SimulatedRun | None = None

    @property
    def run(self) -> SimulatedRun:
        assert self._run is not None, "the daemon has not started"
        return self._run

    @property
    def orchestrator(self) -> Orchestrator:
        return self.run.orchestrator

    def __enter__(self) -> RunningDaemon:
        self._thread.start()
        if not self._started.wait(60):
            raise TimeoutError("the simulated daemon did not start within 60 s")
        if self.error is not None:
            raise self.error
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # surfaced to the test by __enter__
            self.error = exc
            self._started.set()

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._run = self._build()
        await self.orchestrator.start()
        self._started.set()
        try:
            while not self._stop.is_set():
                if self._moving.is_set():
                    await self.run.scheduler.run_until(self.run.clock.now() + self._step)
                else:
                    self._parked.set()
                await asyncio.sleep(self._pause)
        finally:
            await self.orchestrator.stop()

    def freeze(self) -> None:
        """Stop the clock (the loop keeps serving calls); the next `call` sees the frozen state."""
        self._parked.clear()
        self._moving.clear()
        if not self._parked.wait(10):  # a step in progress finishes first
            raise TimeoutError("the simulated daemon did not stand still within 10 s")

    def thaw(self) -> None:
        self._moving.set()

    def call(self, function: Callable[[], T], timeout: float = 10.0) -> T:
        """Run `function` on the daemon's loop and return its result."""
        assert self.loop is not None
        result: Future[T] = Future()

        def run() -> None:
            try:
                result.set_result(function())
            except BaseException as exc:
                result.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return result.result(timeout)
