"""Kill the daemon with SIGKILL while it trades, restart it on the same files, audit.

Nothing may be sent twice (the paper venue's own submission log is the
witness) and the positions must equal those recomputed from the fills.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from config.loader import DEFAULT_CONFIG
from storage.database import open_storage

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

# Twitchy parameters so that orders flow within seconds of start-up (the defaults wait for rare
# set-ups); prices in this test move fast too (day_seconds = 120).
FAST_REGISTRY = """
[[bots]]
name = "fast-sol"
class = "bollinger"
instruments = ["SOL/USD", "BTC/USD", "ETH/USD"]
venue = "sim-crypto"
schedule = { interval_seconds = 10 }
regimes = ["bull", "bear", "sideways"]
[bots.params]
num_std = 0.25

[[bots]]
name = "fast-eth"
class = "rsi2"
instruments = ["ETH/USD", "BTC/USD"]
venue = "sim-crypto"
schedule = { interval_seconds = 10 }
regimes = ["bull", "bear", "sideways"]
[bots.params]
entry_threshold = 45
exit_threshold = 55
trend_period = 5

[[bots]]
name = "fast-fx"
class = "dual_momentum"
instruments = ["EUR_USD", "GBP_USD", "AUD_USD"]
venue = "sim-fx"
schedule = { interval_seconds = 10 }
regimes = ["bull", "bear", "sideways"]
[bots.params]
lookback = 3
switch_margin = 0.0

[[bots]]
name = "fast-stocks"
class = "dual_momentum"
instruments = ["SPY", "QQQ", "XLE"]
venue = "sim-stocks"
schedule = { interval_seconds = 10 }
regimes = ["bull", "bear", "sideways"]
[bots.params]
lookback = 3
switch_margin = 0.0
"""


def write_config(tmp_path: Path) -> Path:
    settings = DEFAULT_CONFIG.read_text()
    settings = settings.replace(
        'database = "var/trading.sqlite"', f'database = "{tmp_path / "trading.sqlite"}"'
    )
    settings = settings.replace('var_dir = "var"', f'var_dir = "{tmp_path / "var"}"')
    settings = settings.replace('registry = "bots.toml"', f'registry = "{tmp_path / "bots.toml"}"')
    settings = settings.replace("day_seconds = 3600", "day_seconds = 120")  # fast-moving prices
    settings = settings.replace("reentry_cooldown_minutes = 30.0", "reentry_cooldown_minutes = 0.0")
    settings = settings.replace("daily_loss_limit_usd = 30.0", "daily_loss_limit_usd = 100000.0")
    # orders must flow for the crash to catch some in flight: no vote, no veto, no training run
    for old, new in (
        ("threshold = 0.0", "enabled = false\nthreshold = 0.0"),
        ("max_evidence_age_seconds = 180", "enabled = false\nmax_evidence_age_seconds = 180"),
        ("train_missing_on_start = true", "train_missing_on_start = false"),
    ):
        assert old in settings, old
        settings = settings.replace(old, new)
    (tmp_path / "bots.toml").write_text(FAST_REGISTRY)
    path = tmp_path / "settings.toml"
    path.write_text(settings)
    return path


def start_daemon(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with log.open("ab") as handle:
        return subprocess.Popen(
            [sys.executable, "master_orchestrator.py", "run", "--config", str(config)],
            cwd=ROOT,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
        )


def count_orders(database: Path) -> int:
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(database, timeout=5) as connection:
            return int(connection.execute("select count(*) from orders").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def wait_for_orders(database: Path, at_least: int, process: subprocess.Popen[bytes], timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "daemon died"
        count = count_orders(database)
        if count >= at_least:
            return count
        time.sleep(0.25)
    pytest.fail(f"fewer than {at_least} orders after {timeout} s")


def test_sigkill_then_restart_sends_nothing_twice_and_positions_match_fills(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    database = tmp_path / "trading.sqlite"
    log = tmp_path / "daemon.log"

    first = start_daemon(config, log)
    try:
        before = wait_for_orders(database, 3, first, timeout=150)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)

    second = start_daemon(config, log)
    try:
        wait_for_orders(database, before + 2, second, timeout=180)
        second.send_signal(signal.SIGTERM)
        assert second.wait(10) == 0, log.read_text()[-3000:]
    finally:
        if second.poll() is None:
            second.kill()

    accepted: dict[str, int] = defaultdict(int)
    for venue_db in (tmp_path / "var").glob("paper_*.sqlite"):
        with sqlite3.connect(venue_db) as connection:
            for (client_order_id,) in connection.execute("select client_order_id from orders"):
                accepted[client_order_id] += 1
    assert accepted, "the venues saw no orders"
    assert max(accepted.values()) == 1

    repo = open_storage(database)
    net: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for fill in repo.fills():
        order = repo.load_order(fill.client_order_id)
        assert order is not None
        net[(order.intent.bot, fill.instrument_key)] += fill.quantity * fill.side.sign
    stored = {(p.bot, p.instrument_key): p.quantity for p in repo.load_positions(open_only=False)}
    for key in set(net) | {k for k, q in stored.items() if q != 0}:
        assert stored.get(key, Decimal(0)) == net.get(key, Decimal(0)), key
    assert all(o.status.is_terminal for o in repo.orders()), "an order was left hanging after the restart"
    differences = [e for e in repo.risk_events() if e.kind == "reconcile_difference"]
    assert differences == [], [e.message for e in differences]
