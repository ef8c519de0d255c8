"""A background WAL checkpointer for SQLite files written on the event loop's hot path."""

from __future__ import annotations

import logging
import sqlite3
import threading
import weakref

# A writer with a background checkpointer still checkpoints itself past this many pages (~40 MB):
# under writes that never pause only the writer can start the log over, and this bounds it.
WRITER_AUTOCHECKPOINT_PAGES = 10_000

log = logging.getLogger(__name__)


class WalCheckpointer:
    """Copies the write-ahead log back into the database file from a background thread.

    Left to itself, SQLite checkpoints inside the COMMIT that takes the log past
    1000 pages: that commit copies the pages and syncs, 20 ms and more on a VM
    disk, about once every 25 signals at full speed. Here a thread checkpoints
    soon after each write (`notify`), on its own connection, with the GIL
    released while SQLite works. The writer keeps a backstop threshold
    (`WRITER_AUTOCHECKPOINT_PAGES`) because, while writes never pause, only a
    writer can start the log over; when it does, the thread has left it almost
    nothing to copy.
    """

    def __init__(self, database: str, delay_seconds: float = 0.05, *, owner: object | None = None) -> None:
        self._database = database
        self._delay = delay_seconds
        self._written = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="journal-wal-checkpoint", daemon=True)
        if owner is not None:
            # an owner dropped without `stop` (a test's daemon, a replay's paper venue) must not
            # leave the thread and its connection's three file descriptors behind for good
            weakref.finalize(owner, _signal_stop, self._stopping, self._written)

    def start(self) -> None:
        self._thread.start()

    def notify(self) -> None:
        """Something was committed: checkpoint within `delay_seconds`."""
        self._written.set()

    def stop(self) -> None:
        self._stopping.set()
        self._written.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        connection = sqlite3.connect(self._database, isolation_level=None, timeout=1.0)
        try:
            while True:
                self._written.wait()
                # gather the writes of the next few milliseconds into one checkpoint
                if self._stopping.wait(self._delay):
                    return
                self._written.clear()
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # a busy file now is fine: the next round catches up
                    log.debug("wal checkpoint of %s skipped: %s", self._database, exc)
        finally:
            connection.close()


def _signal_stop(stopping: threading.Event, written: threading.Event) -> None:
    """Ask a checkpointer's thread to end (from a finalizer: never blocks, holds no owner)."""
    stopping.set()
    written.set()
