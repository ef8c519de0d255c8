"""The event-driven replay: registered bots through the whole daemon over recorded bars.

Planning is checked on its own (what runs, what is refused and why); one replay of simulated
one-minute BTC bars is then run through the real daemon and its journal is audited against the
bars: every fill at the open of the bar it happened in, every decision on complete bars only.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pandas as pd
import pytest

from backtest.bars import load_bars_file
from backtest.cli import main
from backtest.go_live import GoLiveCriteria
from backtest.replay import (
    ReplayBars,
    ReplayPlan,
    ReplayProblem,
    build_replay,
    plan_replay,
    read_record,
)
from backtest.replay_command import parameter_sets
from backtest.replay_journal import NotAReplay, replay_gates, replay_span
from config.loader import LoadedConfig, load_config
from domain.signals import Side
from ml_models.data import SimulationSettings, simulated_bars
from storage.database import open_storage

ROOT = Path(__file__).resolve().parents[2]
BTC_KEY = "sim-crypto:BTC/USD"

SETTINGS = """
[system]
database = "{base}/unused.sqlite"
var_dir = "{base}/var"
registry = "bots.toml"

[dashboard]
enabled = false

[risk]
daily_loss_limit_usd = 1000.0

[venues.sim-crypto]
asset_class = "crypto"
taker_fee_bps = 10.0
slippage_bps = 2.0

[venues.sim-kalshi]
asset_class = "prediction"
fee_model = "kalshi"

[venues.alpaca]
kind = "alpaca"
asset_class = "stock"
symbols = ["SPY"]
"""

BOTS = """
[[bots]]
name = "rsi2-btc"
class = "rsi2"
instruments = ["BTC/USD"]
venue = "sim-crypto"
schedule = {{ interval_seconds = 60 }}
timeframe_seconds = 60
params = {{ trend_period = 30, entry_threshold = 20.0 }}

[[bots]]
name = "spy-live"
class = "rsi2"
instruments = ["SPY"]
venue = "alpaca"
mode = "live"
schedule = {{ interval_seconds = 60 }}

[[bots]]
name = "btc-off"
class = "rsi2"
instruments = ["BTC/USD"]
venue = "sim-crypto"
enabled = false
schedule = {{ interval_seconds = 120 }}
timeframe_seconds = 120
"""


def write_config(base: Path) -> LoadedConfig:
    base.mkdir(parents=True, exist_ok=True)
    (base / "bots.toml").write_text(BOTS.format())
    (base / "settings.toml").write_text(SETTINGS.format(base=base))
    return load_config(base / "settings.toml")


def minute_bars(
    count: int, start: str = "2026-01-05T00:00:00Z", first: float = 100.0, minutes: int = 1
) -> pd.DataFrame:
    times = pd.date_range(start, periods=count, freq=f"{minutes}min", name="time")
    opens = first + np.arange(count, dtype=np.float64)
    return pd.DataFrame(
        {"open": opens, "high": opens + 1.5, "low": opens - 0.5, "close": opens + 1.0, "volume": 1.0},
        index=times,
    )


# --- planning -----------------------------------------------------------------------------------------------


def test_without_names_every_enabled_bot_whose_instruments_have_bars_runs_in_paper_on_a_bar_priced_venue(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path / "config")
    spy = minute_bars(400, first=500.0)
    plan = plan_replay(
        config,
        [ReplayBars(BTC_KEY, minute_bars(400), "btc"), ReplayBars("alpaca:SPY", spy, "spy")],
        tmp_path / "out",
        warmup_bars=100,
    )
    assert plan.bots == ("rsi2-btc", "spy-live")  # btc-off is disabled
    settings = plan.config.settings
    assert set(settings.venues) == {"sim-crypto", "alpaca"}  # the prediction venue is left out
    assert settings.venues["alpaca"].kind == "simulated" and settings.venues["alpaca"].symbols == []
    assert settings.venues["sim-crypto"].taker_fee_bps == 10.0  # the venue keeps its costs
    assert [b.mode for b in plan.config.registry.bots] == ["paper", "paper"]
    assert settings.system.database == str(tmp_path / "out" / "replay.sqlite")
    assert settings.ml.enabled is False and settings.news.enabled is False
    # the clock starts after the warm-up bars and stops when the last bar closes
    assert plan.start == datetime(2026, 1, 5, 1, 40, tzinfo=ZoneInfo("UTC"))
    assert plan.end == datetime(2026, 1, 5, 6, 40, tzinfo=ZoneInfo("UTC"))
    assert any("live bot(s) spy-live replay in paper mode" in note for note in plan.notes)


@pytest.mark.parametrize(
    ("key", "minutes", "bots", "message"),
    [
        ("nowhere:BTC/USD", 1, None, "no venue 'nowhere'"),
        ("BTC/USD", 1, None, "VENUE:SYMBOL"),
        ("sim-kalshi:KXHIGHCHI-26FEB09-B38.5", 1, None, "prediction contracts settle"),
        (BTC_KEY, 1, ["spy-live"], "trades alpaca:SPY, which have no bars: add --bars alpaca:SPY=FILE"),
        (
            BTC_KEY,
            2,
            ["rsi2-btc"],
            "reads 1 min bars of BTC/USD, which cannot be built from its bars 2 min apart",
        ),
        (BTC_KEY, 1, ["nobody"], "no bot named nobody"),
    ],
)
def test_a_replay_that_cannot_run_is_refused_with_what_to_fix(
    tmp_path: Path, key: str, minutes: int, bots: list[str] | None, message: str
) -> None:
    config = write_config(tmp_path / "config")
    bars = [ReplayBars(key, minute_bars(400, minutes=minutes), "x")]
    with pytest.raises(ReplayProblem, match=message):
        plan_replay(config, bars, tmp_path / "out", bots=bots, warmup_bars=10)


def test_bars_of_no_bot_and_too_short_a_history_are_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config")
    eth = ReplayBars("sim-crypto:ETH/USD", minute_bars(400), "eth")
    with pytest.raises(ReplayProblem, match=r"no enabled bot .* trades only sim-crypto:ETH/USD"):
        plan_replay(config, [eth], tmp_path / "out")
    with pytest.raises(ReplayProblem, match="400 bars, not more than the 400 warm-up bars"):
        plan_replay(config, [ReplayBars(BTC_KEY, minute_bars(400), "btc")], tmp_path / "out", warmup_bars=400)


def test_a_daemons_own_journal_is_not_taken_for_a_replays(tmp_path: Path) -> None:
    database = tmp_path / "trading.sqlite"
    open_storage(database).close()
    assert replay_span(database) is None
    with pytest.raises(NotAReplay, match="a daemon's journal, not a replay's"):
        replay_gates(database, None, "UTC", GoLiveCriteria())
    with pytest.raises(NotAReplay, match="does not exist"):
        replay_gates(tmp_path / "missing.sqlite", None, "UTC", GoLiveCriteria())


# --- one replay through the daemon --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Replayed:
    plan: ReplayPlan
    bars: pd.DataFrame
    printed: str
    report: Path


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Replayed:
    """One replay through the command line: simulated BTC minute bars from a CSV file, one bot."""
    base = tmp_path_factory.mktemp("replay")
    config = write_config(base / "config")
    frame = simulated_bars(("BTC",), SimulationSettings(bars=900, timeframe_seconds=60))["BTC"]
    frame.to_csv(base / "btc.csv")
    out, err = io.StringIO(), io.StringIO()
    arguments = ["--bars", f"{BTC_KEY}={base / 'btc.csv'}", "--bot", "rsi2-btc", "--warmup-bars", "200"]
    code = main(
        ["replay", "--config", str(config.settings_path), *arguments, "--out", str(base / "out"), "--quiet"],
        out=out,
        err=err,
    )
    assert code == 0, err.getvalue()
    plan = plan_replay(
        config, [ReplayBars(BTC_KEY, load_bars_file(base / "btc.csv"), "")], base / "out", warmup_bars=200
    )
    return Replayed(plan, frame, out.getvalue(), base / "out" / "report.html")


pytestmark = pytest.mark.slow


def test_the_journal_is_marked_as_a_replay_of_its_span(replayed: Replayed) -> None:
    assert replay_span(replayed.plan.database) == (replayed.plan.start, replayed.plan.end)


def test_every_fill_is_at_the_open_of_the_bar_it_happened_in(replayed: Replayed) -> None:
    repo = open_storage(replayed.plan.database)
    fills = repo.fills()
    assert len(fills) >= 4, "the replay should trade; a test of no fills proves nothing"
    opens = replayed.bars["open"]
    venue = replayed.plan.config.settings.venues["sim-crypto"]
    # the worst a fill can be from the open: the ask (half the 3 bps spread, rounded up to the cent),
    # then the fixed slippage and the impact of its notional, rounded up to the cent again
    tick = Decimal("0.01")
    for fill in fills:
        bar = opens.index[opens.index.searchsorted(pd.Timestamp(fill.time), side="right") - 1]
        assert pd.Timestamp(fill.time) < bar + pd.Timedelta(minutes=1)
        open_ = Decimal(str(opens[bar]))
        half = Decimal("1.5e-4")
        slip = Decimal(str(venue.slippage_bps)) / 10_000
        slip += Decimal(str(venue.impact_bps_per_10k_usd)) / 10_000 * fill.price * fill.quantity / 10_000
        if fill.side is Side.BUY:
            worst = (open_ * (1 + half) + tick) * (1 + slip) + tick
            assert open_ <= fill.price <= worst, (fill, open_)
        else:
            worst = (open_ * (1 - half) - tick) * (1 - slip) - tick
            assert worst <= fill.price <= open_, (fill, open_)


def test_every_decision_saw_complete_bars_only(replayed: Replayed) -> None:
    """A signal's `close` evidence is the close of the last bar that had ended when it was made,
    never the close of the bar still forming (which the replay holds but must not show)."""
    with sqlite3.connect(replayed.plan.database) as db:
        ids = [row[0] for row in db.execute("select id from signals")]
    assert ids
    repo = open_storage(replayed.plan.database)
    closes = replayed.bars["close"]
    ends = closes.index + pd.Timedelta(minutes=1)
    for signal_id in ids:
        sent = repo.load_signal(signal_id)
        assert sent is not None
        last_complete = ends.searchsorted(pd.Timestamp(sent.time), side="right") - 1
        assert sent.evidence["close"] == pytest.approx(closes.iloc[last_complete], rel=1e-12), signal_id


def test_the_record_counts_each_bot_and_the_go_live_gate_reads_it_up_to_the_replays_end(
    replayed: Replayed,
) -> None:
    settings = replayed.plan.config.settings
    record = read_record(replayed.plan.database, settings.system.timezone, GoLiveCriteria(min_trades=1))
    [bot] = record.bots
    repo = open_storage(replayed.plan.database)
    trades = repo.closed_trades()
    assert bot.bot == "rsi2-btc" and bot.trades == len(trades) > 0
    assert bot.net_pnl == sum((t.net_pnl for t in trades), Decimal(0))
    # every calendar day of the replay (it ends on its last day, not today) is in the gate's series
    first = min(t.closed_at for t in trades).astimezone(ZoneInfo(settings.system.timezone)).date()
    last = replayed.plan.end.astimezone(ZoneInfo(settings.system.timezone)).date()
    assert bot.gate.days == (last - first).days + 1
    # the book's marks: the first snapshot is the starting cash, the last one the end of the run
    assert record.starting_equity == pytest.approx(float(settings.venues["sim-crypto"].starting_cash_usd))
    assert record.equity.index[-1] <= pd.Timestamp(replayed.plan.end)
    gates = replay_gates(replayed.plan.database, None, settings.system.timezone, GoLiveCriteria(min_trades=1))
    assert gates["rsi2-btc"].result == bot.gate


def test_the_gate_is_read_from_a_journal_once_until_the_journal_changes(
    replayed: Replayed, tmp_path: Path
) -> None:
    """The Go / No-Go table asks on every dashboard refresh; a finished replay is read once."""
    journal = tmp_path / "replay.sqlite"
    with sqlite3.connect(replayed.plan.database) as source, sqlite3.connect(journal) as copy:
        source.backup(copy)
    criteria = GoLiveCriteria(min_trades=1)
    first = replay_gates(journal, None, "UTC", criteria)
    again = replay_gates(journal, None, "UTC", criteria)
    assert again == first and again["rsi2-btc"] is first["rsi2-btc"]  # the same answer, not re-read

    with sqlite3.connect(journal) as db:  # the journal changes: one closed trade fewer
        (oldest,) = db.execute("select min(id) from closed_trades").fetchone()
        db.execute("delete from closed_trades where id = ?", (oldest,))
    changed = replay_gates(journal, None, "UTC", criteria)
    assert changed["rsi2-btc"].result.trades == first["rsi2-btc"].result.trades - 1


def test_the_dashboard_opens_the_replays_journal_as_of_its_last_day(replayed: Replayed) -> None:
    command = [
        sys.executable,
        "master_orchestrator.py",
        "run",
        "--dashboard-only",
        "--database",
        str(replayed.plan.database),
        "--port",
        "0",
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ}
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert "is a replay of" in first, first
        line = process.stdout.readline()
        assert "read-only" in line and "http://127.0.0.1:" in line, line
        url = line[line.index("http://") :].split()[0]
        page = httpx.get(url, timeout=15).text
        assert "Read-only: a replay of 2024-01-01 " in page  # the banner says which journal this is
        overview = httpx.get(url + "api/overview", timeout=15).json()
        assert datetime.fromisoformat(overview["as_of"]) == replayed.plan.end  # "now" is the replay's end
        zone = ZoneInfo(load_config().settings.system.timezone)
        last_day = replayed.plan.end.astimezone(zone).date()
        trades = open_storage(replayed.plan.database).closed_trades()
        on_last_day = [t for t in trades if t.closed_at.astimezone(zone).date() == last_day]
        assert overview["pnl"]["trades_today"] == len(on_last_day) > 0
        assert overview["pnl"]["trades_total"] == len(trades)
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)
        assert process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_a_second_replay_into_the_same_folder_is_refused(replayed: Replayed) -> None:
    with pytest.raises(ReplayProblem, match="exists: a replay writes a new journal"):
        build_replay(replayed.plan)
    assert timedelta(0) < replayed.plan.end - replayed.plan.start


def test_the_command_prints_each_bots_record_and_how_to_open_the_journal(replayed: Replayed) -> None:
    printed = replayed.printed
    repo = open_storage(replayed.plan.database)
    trades = repo.closed_trades()
    assert f"{len(repo.fills())} fills, {len(trades)} closed trades" in printed
    assert "rsi2-btc" in printed and "no: " in printed  # its few trades do not pass the gate
    assert f"--dashboard-only --database {replayed.plan.database}" in printed
    html = replayed.report.read_text()
    assert "Replay of rsi2-btc through the daemon" in html and "Signals refused, by stage and reason" in html


def test_a_bars_argument_without_an_instrument_is_a_usage_error(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config")
    err = io.StringIO()
    arguments = ["replay", "--config", str(config.settings_path), "--bars", "btc.csv", "--out", str(tmp_path)]
    assert main(arguments, out=io.StringIO(), err=err) == 2
    assert "write VENUE:SYMBOL=SOURCE" in err.getvalue()


# --- sweeps and walk-forward through the daemon (for bots the vectorized engine cannot express) -----------

BASKET_BOTS = """
[[bots]]
name = "momentum-pair"
class = "dual_momentum"
instruments = ["BTC/USD", "ETH/USD"]
venue = "sim-crypto"
schedule = { interval_seconds = 60 }
timeframe_seconds = 60
params = { lookback = 30 }
"""


def test_parameter_sets_are_every_combination_typed_as_toml_reads_them() -> None:
    assert parameter_sets([]) == [{}]
    sets = parameter_sets(["lookback=20,60", "switch_margin=0.001", "allow_short=true,false", "mode=fast"])
    assert sets == [
        {"lookback": 20, "switch_margin": 0.001, "allow_short": True, "mode": "fast"},
        {"lookback": 20, "switch_margin": 0.001, "allow_short": False, "mode": "fast"},
        {"lookback": 60, "switch_margin": 0.001, "allow_short": True, "mode": "fast"},
        {"lookback": 60, "switch_margin": 0.001, "allow_short": False, "mode": "fast"},
    ]
    for bad in (["lookback"], ["=5"], ["lookback="]):
        with pytest.raises(ReplayProblem, match="write NAME=VALUE"):
            parameter_sets(bad)
    with pytest.raises(ReplayProblem, match="given twice"):
        parameter_sets(["lookback=5", "lookback=6"])


@pytest.fixture(scope="module")
def basket(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    base = tmp_path_factory.mktemp("basket")
    (base / "bots.toml").write_text(BASKET_BOTS)
    (base / "settings.toml").write_text(SETTINGS.format(base=base))
    frames = simulated_bars(("BTC", "ETH"), SimulationSettings(bars=420, timeframe_seconds=60))
    arguments = ["--config", str(base / "settings.toml"), "--bot", "momentum-pair", "--quiet"]
    for asset, frame in frames.items():
        frame.to_csv(base / f"{asset}.csv")
        arguments += ["--bars", f"sim-crypto:{asset}/USD={base / f'{asset}.csv'}"]
    return base, arguments


def test_a_basket_bot_is_swept_through_the_daemon_one_replay_per_set(basket: tuple[Path, list[str]]) -> None:
    base, arguments = basket
    out = io.StringIO()
    code = main(
        [
            "replay",
            *arguments,
            "--param",
            "lookback=10,40",
            "--warmup-bars",
            "100",
            "--out",
            str(base / "sweep"),
        ],
        out=out,
        err=io.StringIO(),
    )
    assert code == 0, out.getvalue()
    printed = out.getvalue()
    assert "2 parameter sets of momentum-pair, best by sharpe first" in printed
    # each set replayed with its own parameters, into its own journal
    journaled = {}
    for number in (1, 2):
        with sqlite3.connect(base / "sweep" / f"set-{number:02d}" / "replay.sqlite") as db:
            [(params,)] = db.execute("select params from bots where name = 'momentum-pair'").fetchall()
        journaled[number] = json.loads(params)["lookback"]
    assert journaled == {1: 10, 2: 40}
    # the best set printed first is the one with the higher Sharpe of its equity
    criteria = GoLiveCriteria()
    sharpe = {
        journaled[n]: read_record(
            base / "sweep" / f"set-{n:02d}" / "replay.sqlite", "UTC", criteria
        ).summary.sharpe
        for n in (1, 2)
    }
    best = max(sharpe, key=lambda lookback: sharpe[lookback])
    assert f"best: lookback={best}" in printed


def test_a_basket_bot_walks_forward_through_the_daemon(basket: tuple[Path, list[str]]) -> None:
    base, arguments = basket
    out = io.StringIO()
    folder = base / "walk"
    walk = ["--walk-forward", "--in-sample", "160", "--out-of-sample", "100", "--warmup-bars", "100"]
    code = main(
        ["replay", *arguments, "--param", "lookback=10,40", *walk, "--out", str(folder)],
        out=out,
        err=io.StringIO(),
    )
    assert code == 0, out.getvalue()
    printed = out.getvalue()
    assert "2 folds over 2 parameter sets of momentum-pair" in printed
    times = load_bars_file(base / "BTC.csv").index
    for fold, oos_start in ((1, 160), (2, 260)):
        oos = folder / f"fold-{fold:02d}" / "out-of-sample" / "replay.sqlite"
        # the out-of-sample replay starts where its in-sample window ended, after its warm-up bars
        span = replay_span(oos)
        assert span is not None and span[0] == times[oos_start].to_pydatetime()
        with sqlite3.connect(oos) as db:
            [(params,)] = db.execute("select params from bots where name = 'momentum-pair'").fetchall()
        chosen = json.loads(params)["lookback"]
        # it replayed the set that scored best in sample
        scores = {
            lookback: read_record(
                folder / f"fold-{fold:02d}" / f"in-sample-{n:02d}" / "replay.sqlite", "UTC", GoLiveCriteria()
            ).summary.sharpe
            for n, lookback in ((1, 10), (2, 40))
        }
        finite = {k: v for k, v in scores.items() if v == v}
        if finite:
            assert chosen == max(finite, key=lambda lookback: finite[lookback])
    assert "Walk-forward of momentum-pair through the daemon" in (folder / "report.html").read_text()


# --- prediction-market bots: replayed over the simulated prediction world -----------------------------------


def test_prediction_bots_replay_through_the_daemon_over_days_of_the_simulated_world(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    start = "2026-08-24T00:00:00+00:00"
    arguments = ["replay", "--simulated-days", "1", "--start", start, "--bot", "weather-edges"]
    code = main([*arguments, "--out", str(tmp_path / "weather"), "--quiet"], out=out, err=err)
    assert code == 0, err.getvalue()
    database = tmp_path / "weather" / "replay.sqlite"
    begin = datetime.fromisoformat(start)
    assert replay_span(database) == (begin, begin + timedelta(days=1))  # the gate and dashboard read it
    repo = open_storage(database)
    fills = repo.fills()
    assert fills and {f.venue for f in fills} == {"sim-kalshi"}  # the bot traded the simulated contracts
    assert {status.name for status in repo.status_summary(begin).bots} == {"weather-edges"}
    assert "weather-edges" in out.getvalue() and "consensus: " in out.getvalue()  # its refusals, by gate


def test_a_prediction_replay_refuses_bar_bots_and_windows_longer_than_its_days(tmp_path: Path) -> None:
    for extra, message in (
        (["--bot", "rsi2-btc"], "trade(s) bars, not the simulated prediction world"),
        (
            ["--walk-forward", "--param", "max_price=0.2,0.3", "--bot", "weather-edges", "--in-sample", "30"],
            "with --simulated-days the windows count days",
        ),
        (["--bars", "sim-crypto:BTC/USD=simulated:BTC"], "one of the two"),
    ):
        err = io.StringIO()
        arguments = ["replay", "--simulated-days", "1", "--out", str(tmp_path / "x"), "--quiet", *extra]
        assert main(arguments, out=io.StringIO(), err=err) == 2
        assert message in err.getvalue(), err.getvalue()
