import ast
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from utils.clock import SimulatedClock, WallClock

ROOT = Path(__file__).resolve().parents[2]


def test_simulated_clock_moves_only_when_advanced() -> None:
    start = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    clock = SimulatedClock(start)
    assert clock.now() == start
    clock.advance(90)
    assert clock.now() == start + timedelta(seconds=90)


def test_simulated_clock_refuses_to_go_back() -> None:
    clock = SimulatedClock(datetime(2026, 1, 5, tzinfo=UTC))
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance_to(datetime(2026, 1, 4, tzinfo=UTC))


def test_simulated_clock_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        SimulatedClock(datetime(2026, 1, 5))


def test_simulated_clock_reports_utc_for_other_offsets() -> None:
    clock = SimulatedClock(datetime(2026, 1, 5, 12, tzinfo=timezone(timedelta(hours=2))))
    assert clock.now().utcoffset() == timedelta(0)
    assert clock.now().hour == 10


def test_wall_clock_is_aware_utc() -> None:
    assert WallClock().now().tzinfo is UTC


def test_nothing_but_the_clock_reads_the_system_time() -> None:
    """datetime.now()/utcnow()/time.time() appear only in utils/clock.py (benchmarks may time themselves)."""
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in {".venv", "tests", "benchmarks"} or rel == Path("utils/clock.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr in {"now", "utcnow", "today", "time"}:
                base = node.value
                name = base.id if isinstance(base, ast.Name) else getattr(base, "attr", "")
                if name in {"datetime", "date", "time"} and not (node.attr == "time" and name == "datetime"):
                    offenders.append(f"{rel}:{node.lineno} {name}.{node.attr}")
    assert offenders == []
