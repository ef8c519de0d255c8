"""Opening the journal: the file, its pragmas, the migrations, and more than one process on it."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage.database import alembic_config, open_storage
from storage.engine import sqlite_engine
from storage.models import Base
from tests.factories import T0, signal

ROOT = Path(__file__).resolve().parents[2]
TABLES = {
    "alembic_version",
    "bots",
    "bot_runs",
    "signals",
    "decisions",
    "orders",
    "order_events",
    "fills",
    "positions",
    "closed_trades",
    "equity_snapshots",
    "risk_events",
    "control",
    "paused_bots",
    "daemon_kv",
}


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def tables_and_revision(path: Path) -> tuple[set[str], list[str]]:
    with sqlite3.connect(path) as connection:
        tables = {r[0] for r in connection.execute("select name from sqlite_master where type = 'table'")}
        revisions = [r[0] for r in connection.execute("select version_num from alembic_version")]
    return tables, revisions


def test_opening_creates_the_folder_and_the_whole_schema(tmp_path: Path) -> None:
    path = tmp_path / "not" / "yet" / "there.sqlite"
    open_storage(path).close()
    tables, revisions = tables_and_revision(path)
    assert tables >= TABLES
    assert revisions == [head_revision()]


def test_an_empty_file_is_migrated_to_head(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    path.touch()
    open_storage(path).close()
    assert tables_and_revision(path) == (tables_and_revision(path)[0], [head_revision()])
    assert "orders" in tables_and_revision(path)[0]


def test_reopening_keeps_the_data_and_the_revision(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    first = open_storage(path)
    sig = signal()
    first.record_signal(sig)
    first.close()

    again = open_storage(path)
    try:
        assert again.load_signal(sig.id) == sig
    finally:
        again.close()
    assert tables_and_revision(path)[1] == [head_revision()]


def test_the_connection_is_in_wal_mode_with_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path / "journal.sqlite", busy_timeout_seconds=2.5)
    try:
        with engine.connect() as connection:
            pragmas = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            }
        assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 2500}
    finally:
        engine.dispose()


def test_the_models_and_the_migrations_describe_the_same_schema(tmp_path: Path) -> None:
    """A model changed without a new revision would leave a difference here."""
    path = tmp_path / "journal.sqlite"
    open_storage(path).close()
    engine = sqlite_engine(path)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_a_new_journal_trades_with_nothing_paused(tmp_path: Path) -> None:
    repo = open_storage(tmp_path / "journal.sqlite")
    try:
        state = repo.control_state()
        assert (state.trading_state.value, state.all_paused, dict(state.paused_bots)) == ("active", False, {})
    finally:
        repo.close()


OPEN_AND_WRITE = """
import sys
from decimal import Decimal
from datetime import UTC, datetime
from storage.database import open_storage
repo = open_storage(sys.argv[1])
repo.set_daemon_value(sys.argv[2], "written")
repo.close()
"""


def test_processes_opening_a_new_file_at_once_migrate_it_once(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    processes = [
        subprocess.Popen([sys.executable, "-c", OPEN_AND_WRITE, str(path), f"process-{n}"], cwd=ROOT)
        for n in range(4)
    ]
    assert [p.wait(timeout=60) for p in processes] == [0, 0, 0, 0]
    repo = open_storage(path)
    try:
        assert all(repo.get_daemon_value(f"process-{n}") == "written" for n in range(4))
    finally:
        repo.close()
    assert tables_and_revision(path)[1] == [head_revision()]


READ_STATUS = """
import sys
from datetime import UTC, datetime
from storage.database import open_storage
repo = open_storage(sys.argv[1])
print(repo.status_summary(datetime(2026, 3, 2, tzinfo=UTC)).to_dict()["latest_equity"])
repo.close()
"""


def test_another_process_reads_what_the_daemon_committed_while_it_keeps_writing(tmp_path: Path) -> None:
    from decimal import Decimal

    path = tmp_path / "journal.sqlite"
    daemon = open_storage(path)
    try:
        daemon.record_equity(
            T0, Decimal("100123.45"), Decimal(0), Decimal(0), Decimal(0), Decimal(0), 0, Decimal(0)
        )
        with daemon.batch():  # the daemon is mid-write while the status command reads
            daemon.set_daemon_value("trading_day", "2026-03-02")
            result = subprocess.run(
                [sys.executable, "-c", READ_STATUS, str(path)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=60,
            )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "100123.45"
    finally:
        daemon.close()


def signals_in_the_main_file(path: Path) -> int:
    """Rows of `signals` in the database file itself: immutable=1 ignores the write-ahead log."""
    main_file = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return int(main_file.execute("select count(*) from signals").fetchone()[0])
    except sqlite3.OperationalError:  # not even the schema has been copied over yet
        return 0
    finally:
        main_file.close()


def test_the_log_is_copied_into_the_database_file_in_the_background(tmp_path: Path) -> None:
    """The writer leaves checkpoints to a background thread; the main file catches up within moments."""
    path = tmp_path / "journal.sqlite"
    repo = open_storage(path)
    try:
        sig = signal()
        repo.record_signal(sig)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if signals_in_the_main_file(path) == 1:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the signal never reached the database file")
    finally:
        repo.close()


def checkpoint_threads() -> int:
    return sum(thread.name == "journal-wal-checkpoint" for thread in threading.enumerate())


def test_only_a_writer_starts_a_checkpoint_thread_and_closing_stops_it(tmp_path: Path) -> None:
    before = checkpoint_threads()
    reader = open_storage(tmp_path / "journal.sqlite")
    reader.status_summary(T0)
    assert checkpoint_threads() == before  # `status` only reads: no thread
    writer = open_storage(tmp_path / "journal.sqlite")
    writer.set_daemon_value("trading_day", "2026-03-02")
    assert checkpoint_threads() == before + 1
    writer.close()
    reader.close()
    assert checkpoint_threads() == before


def test_closing_twice_is_harmless(tmp_path: Path) -> None:
    repo = open_storage(tmp_path / "journal.sqlite")
    repo.close()
    repo.close()
