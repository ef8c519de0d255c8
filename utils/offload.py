"""Running heavy computations (model fits, training) away from the event loop.

`ProcessOffloader` hands a top-level function and its plain-data arguments to a worker
process: an HMM fit or an XGBoost retraining then costs the daemon's loop nothing,
not even the GIL. Workers are spawned (never forked: the daemon holds threads and
sockets a fork would copy half-way) and log to the daemon's stderr with its format and
secret redaction. `InlineOffloader` runs the function in place, for simulated runs and
tests, where the same inputs must give the same sequence of events.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from multiprocessing.pool import Pool
from typing import Any, Protocol, TypeVar

from utils.logging_setup import configure_logging

T = TypeVar("T")


class Offloader(Protocol):
    async def run(self, function: Callable[..., T], *args: Any) -> T: ...

    def close(self) -> None: ...


class InlineOffloader:
    """Runs the function on the caller's thread: deterministic, for simulated clocks and tests."""

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        return function(*args)

    def close(self) -> None:
        """Nothing to release."""


class ProcessOffloader:
    """A small pool of spawned worker processes, created on first use.

    A `multiprocessing` pool rather than `concurrent.futures`: closing it terminates the
    workers, so stopping the daemon never waits for a half-done training run.
    """

    def __init__(self, workers: int = 1, log_level: str = "INFO") -> None:
        self._workers = workers
        self._log_level = log_level
        self._pool: Pool | None = None

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        if self._pool is None:
            self._pool = multiprocessing.get_context("spawn").Pool(
                self._workers, initializer=configure_logging, initargs=(self._log_level,)
            )
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()

        def settle(value: T) -> None:
            if not done.done():
                done.set_result(value)

        def fail(error: BaseException) -> None:
            if not done.done():
                done.set_exception(error)

        self._pool.apply_async(
            function,
            args,
            callback=lambda value: loop.call_soon_threadsafe(settle, value),
            error_callback=lambda error: loop.call_soon_threadsafe(fail, error),
        )
        return await done

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None
