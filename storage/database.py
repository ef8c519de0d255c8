"""Opening the journal: the SQLite file, migrated by Alembic to the newest schema."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from storage.engine import BEGIN_STATEMENT, DEFAULT_BUSY_TIMEOUT_SECONDS, sqlite_engine
from storage.repository import Repository

MIGRATIONS = Path(__file__).resolve().with_name("migrations")

log = logging.getLogger(__name__)


def open_storage(
    path: Path | str, *, busy_timeout_seconds: float = DEFAULT_BUSY_TIMEOUT_SECONDS
) -> Repository:
    """Open (creating if needed) the journal at `path`, upgrade its schema to head, return its repository.

    Safe to call from two processes on one file: the migration runs under the
    write lock, so the second opener waits, then finds the schema at head.
    """
    database = Path(path)
    database.parent.mkdir(parents=True, exist_ok=True)
    engine = sqlite_engine(database, busy_timeout_seconds)
    try:
        upgrade_to_head(engine)
        return Repository(engine)
    except BaseException:
        engine.dispose()
        raise


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade_to_head(engine: Engine) -> None:
    """Apply every migration the database lacks, in one transaction holding the write lock.

    A journal already at head is only read, so `status` never waits for the daemon's write lock.
    """
    config = alembic_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as connection:
        with connection.begin():
            current = MigrationContext.configure(connection).get_current_revision()
        if current == head:
            return
        connection.info[BEGIN_STATEMENT] = "BEGIN IMMEDIATE"
        try:
            with connection.begin():  # another opener may have migrated meanwhile: alembic checks again
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
            log.info("journal %s migrated from revision %s to %s", engine.url.database, current, head)
        finally:
            connection.info.pop(BEGIN_STATEMENT, None)
