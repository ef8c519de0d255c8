"""What a replay's journal says about itself, and the go-live record it holds.

A replay marks its journal with the span it replayed when it starts. The read-only dashboard and
the go-live gate ask whether a journal is a replay's, up to when, and how each bot fared, through
read-only SQLite (`storage.reports`), without loading the daemon.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from backtest.go_live import GateResult, GoLiveCriteria, gate_from_trades
from storage.reports import Reports
from storage.repository import Repository

REPLAY_KEY = "replay"  # daemon value: what was replayed, over which span (JSON)


class NotAReplay(ValueError):
    """A journal listed as a replay's that is missing, unreadable or a daemon's own."""


@dataclass(frozen=True, slots=True)
class ReplayGate:
    """One bot's record in one replay's journal against the go-live gate."""

    journal: str
    result: GateResult


def mark_replay(repository: Repository, description: Mapping[str, object]) -> None:
    """Mark the journal as a replay's; `description` needs ISO `start` and `end`."""
    for key in ("start", "end"):
        datetime.fromisoformat(str(description[key]))  # refuse a description the readers cannot use
    repository.set_daemon_value(REPLAY_KEY, json.dumps(dict(description)))


def replay_span(database: Path | str) -> tuple[datetime, datetime] | None:
    """The (start, end) of the replay whose journal `database` is; None for a daemon's own journal."""
    try:
        text = Reports(database).daemon_value(REPLAY_KEY)
    except sqlite3.Error as exc:
        raise NotAReplay(f"{database}: not a readable journal ({exc})") from None
    if text is None:
        return None
    described = json.loads(text)
    return datetime.fromisoformat(described["start"]), datetime.fromisoformat(described["end"])


def replay_gates(
    database: Path | str, bots: Iterable[str] | None, timezone: str, criteria: GoLiveCriteria
) -> dict[str, ReplayGate]:
    """Each of `bots` (default: every bot with a closed trade there) against the gate on its closed
    trades in the replay journal `database`, its days counted up to the replay's last day (a
    replay's record does not fade with the calendar).

    Raises NotAReplay when the file is missing, unreadable or not a replay's journal.
    """
    path = Path(database)
    if not path.is_file():
        raise NotAReplay(f"replay journal {path} does not exist")
    asked = None if bots is None else tuple(bots)
    return dict(_gates_of(str(path), _file_state(path), asked, timezone, criteria))


def _file_state(path: Path) -> tuple[tuple[int, int], ...]:
    """(modified, size) of the journal and of its write-ahead log: what changes when it is written.

    An empty log counts as none: the first reader of a journal at rest creates one.
    """
    state = []
    for part in (path, path.with_name(path.name + "-wal")):
        try:
            stat = part.stat()
        except FileNotFoundError:
            state.append((0, 0))
            continue
        state.append((stat.st_mtime_ns, stat.st_size) if stat.st_size else (0, 0))
    return tuple(state)


@functools.lru_cache(maxsize=32)
def _gates_of(
    database: str,
    file_state: tuple[tuple[int, int], ...],
    bots: tuple[str, ...] | None,
    timezone: str,
    criteria: GoLiveCriteria,
) -> dict[str, ReplayGate]:
    """`replay_gates` of a journal as it stands (`file_state`): the dashboard's Go / No-Go table
    asks on every refresh, and a finished replay's journal does not change."""
    path = Path(database)
    span = replay_span(path)
    if span is None:
        raise NotAReplay(
            f"{path} is a daemon's journal, not a replay's (python -m backtest replay writes those)"
        )
    zone = ZoneInfo(timezone)
    last_day = span[1].astimezone(zone).date()
    trades = list(Reports(path).export_trades())
    names = sorted({t.bot for t in trades}) if bots is None else [*bots]
    return {
        bot: ReplayGate(str(path), gate_from_trades(bot, trades, zone, last_day, criteria)) for bot in names
    }
