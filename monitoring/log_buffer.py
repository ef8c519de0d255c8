"""LogBuffer: the daemon's last log lines in memory, secrets masked, for an operator's `/logs`.

A logging handler like any other: attach it to the root logger and every line the
console shows is also kept here (the newest `capacity` of them). Lines are masked
by the same `RedactingFormatter` as the console, so a traceback that echoes a URL
with a key in it reaches the phone as `***`.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable

from utils.logging_setup import RedactingFormatter

# the console's format, shortened for a phone: time of day, one-letter level
COMPACT_FORMAT = "%(asctime)s %(levelname).1s %(name)s: %(message)s"


class LogBuffer(logging.Handler):
    def __init__(self, secrets: Iterable[str] = (), capacity: int = 500, level: int = logging.INFO) -> None:
        super().__init__(level)
        self._lines: deque[str] = deque(maxlen=capacity)
        formatter = RedactingFormatter(COMPACT_FORMAT, sorted(set(secrets), key=len, reverse=True))
        formatter.datefmt = "%H:%M:%S"
        self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self._lines.append(line)

    def lines(self, count: int) -> list[str]:
        """The newest `count` lines, oldest first (a line may hold a traceback's several lines)."""
        if count <= 0:
            return []
        self.acquire()  # the lock `handle` holds around `emit`: copying a deque mid-append raises
        try:
            snapshot = list(self._lines)
        finally:
            self.release()
        return snapshot[-count:]

    def attach(self, logger: logging.Logger | None = None) -> None:
        (logger or logging.getLogger()).addHandler(self)

    def detach(self, logger: logging.Logger | None = None) -> None:
        (logger or logging.getLogger()).removeHandler(self)
