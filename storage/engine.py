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
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_random

BEGIN_STATEMENT = "storage.begin_statement"  # key in Connection.info: the BEGIN the next transaction emits
DEFAULT_BUSY_TIMEOUT_SECONDS = 10.0

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
            # Switching a new file to WAL needs an exclusive lock, and SQLite answers "database is
            # locked" at once, without its busy handler, when another opener holds one: retry.
            for attempt in Retrying(
                stop=stop_after_delay(busy_timeout_seconds),
                wait=wait_random(0.01, 0.1),
                retry=retry_if_exception(_is_locked),
                reraise=True,
            ):
                with attempt:
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


def _is_locked(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)
