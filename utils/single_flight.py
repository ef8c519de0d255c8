"""One running task per key: a second caller for a key whose work is under way joins it.

The event loop keeps only weak references to tasks; this keeps the strong ones until each
task ends, then forgets it, so the next caller for that key starts afresh.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class SingleFlight(Generic[K, T]):
    def __init__(self) -> None:
        self._running: dict[K, asyncio.Task[T]] = {}

    def get(self, key: K) -> asyncio.Task[T] | None:
        return self._running.get(key)

    def start(
        self, key: K, work: Callable[[], Coroutine[Any, Any, T]], name: str | None = None
    ) -> asyncio.Task[T]:
        """The task running for `key`, or a new one running `work()`."""
        task = self._running.get(key)
        if task is not None:
            return task
        task = asyncio.create_task(work(), name=name)
        self._running[key] = task

        def forget(done: asyncio.Task[T]) -> None:
            if self._running.get(key) is done:
                del self._running[key]

        task.add_done_callback(forget)
        return task

    def tasks(self) -> list[asyncio.Task[T]]:
        return list(self._running.values())

    def __len__(self) -> int:
        return len(self._running)
