"""The SQLite engine under the journal.

WAL lets the `status` command and the dashboard read while the daemon writes.
SQLite's Python driver decides on its own when to BEGIN (never before a SELECT
or a CREATE TABLE); we take that job over, so a read sees one consistent
snapshot, DDL is transactional, and a write takes the write lock up front
(BEGIN IMMEDIATE) instead of failing half-way when another process got there first.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event

BEGIN_STATEMENT = "storage.begin_statement"  # key in Connection.info: the BEGIN the next transaction emits
DEFAULT_BUSY_TIMEOUT_SECONDS = 10.0
# A writer with a background checkpointer still checkpoints itself past this many pages (~40 MB):
# under writes that never pause only the writer can start the log over, and this bounds it.
WRITER_AUTOCHECKPOINT_PAGES = 10_000

log = logging.getLogger(__name__)


def sqlite_engine(database: Path, busy_timeout_seconds: float = DEFAULT_BUSY_TIMEOUT_SECONDS) -> Engine:
    """An engine whose connections are in WAL mode, enforce foreign keys and wait on a busy file."""
    engine = create_engine(
        URL.create("sqlite+pysqlite", database=str(database)),
        # the repository serialises its own use with a lock; the dashboard thread may call it
        connect_args={"check_same_thread": False},
    )
    busy_timeout_ms = round(busy_timeout_seconds * 1000)

    def configure(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, see `begin` below
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
            cursor.execute("PRAGMA journal_mode = WAL")
            # WAL with synchronous=NORMAL: a commit survives a process crash (the crash test's
            # SIGKILL); only a power cut can lose the last commits, never corrupt the file.
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    def begin(connection: Connection) -> None:
        # straight to the driver: exec_driver_sql would cost a full statement execution per transaction
        driver = connection.connection.driver_connection
        assert driver is not None
        driver.execute(connection.info.get(BEGIN_STATEMENT, "BEGIN"))

    event.listen(engine, "connect", configure)
    event.listen(engine, "begin", begin)
    return engine


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

    def __init__(self, database: str, delay_seconds: float = 0.05) -> None:
        self._database = database
        self._delay = delay_seconds
        self._written = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="journal-wal-checkpoint", daemon=True)

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
