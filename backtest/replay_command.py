"""`python -m backtest replay`: registered bots through the whole daemon over recorded bars.

    python -m backtest replay --bars sim-crypto:BTC/USD=simulated:BTC --bot rsi2-btc
    python -m backtest replay --bars sim-stocks:SPY=spy_1min.csv --bars sim-stocks:QQQ=qqq_1min.parquet
    python -m backtest replay --config my.toml --bars alpaca:SPY=shipped:SPX --bot spy-daily

Each `--bars VENUE:SYMBOL=SOURCE` gives one instrument's bars: a .csv or .parquet file, data that
ships with packages (`shipped:SPX|NDX|BTCUSD`) or the simulated world (`simulated:BTC|ETH|SOL`,
`--sim-bars` bars of `--timeframe` seconds). The bars are checked before the run (duplicates,
order, prices); gaps are reported. Without `--bot`, every enabled bot of the registry whose
instruments all have bars runs.

The journal goes to `<out>/replay.sqlite` (default `<var_dir>/replays/replay-<stamp>/`), the paper
venues' books under `<out>/var`, and an HTML report beside them. Open the journal in the dashboard
with `python master_orchestrator.py run --dashboard-only --database <out>/replay.sqlite`, and let
the go-live gate count it by listing it in `[go_live] replay_journals`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import pandas as pd
from tqdm import tqdm

from backtest.bars import load_bars_file, require_runnable_bars
from backtest.go_live import GoLiveCriteria
from backtest.report import (
    TRADE_COLUMNS,
    ReportTable,
    number,
    percent,
    print_table,
    summary_rows,
    write_report,
)
from config.loader import DEFAULT_CONFIG, load_config
from ml_models.data import SimulationSettings, check_assets, shipped_bars, simulated_bars
from utils.clock import WALL_CLOCK

if TYPE_CHECKING:  # the daemon's modules load only when a replay runs, not for the other commands
    from backtest.replay import ReplayBars, ReplayRecord

REFUSALS_SHOWN = 8


def add_replay_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `replay` subcommand's arguments, on the backtest command line's subparsers."""
    sub = commands.add_parser(
        "replay",
        help="registered bots through the whole daemon (gates, risk engine, paper broker, journal)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    sub.add_argument(
        "--bars",
        action="append",
        required=True,
        metavar="VENUE:SYMBOL=SOURCE",
        help="one instrument's bars: FILE (.csv/.parquet), shipped:NAME or simulated:ASSET; repeatable",
    )
    sub.add_argument(
        "--bot",
        action="append",
        metavar="NAME",
        help="a registry bot to run (repeatable; default: all with bars)",
    )
    sub.add_argument("--config", default=str(DEFAULT_CONFIG), help="settings TOML and its registry")
    sub.add_argument(
        "--out", help="folder for the journal and report (default <var_dir>/replays/replay-<stamp>)"
    )
    sub.add_argument(
        "--warmup-bars", type=int, help="bars of history before the clock starts (default [simulation])"
    )
    sub.add_argument(
        "--spread-bps", type=float, help="bid/ask spread around each open, bps (default: per class)"
    )
    sub.add_argument("--sim-bars", type=int, default=3000, help="bars of a simulated:ASSET source")
    sub.add_argument("--timeframe", type=int, default=60, help="seconds per bar of a simulated:ASSET source")
    sub.add_argument("--report", help="HTML report path (default <out>/report.html)")
    sub.add_argument("--quiet", action="store_true", help="no progress bar")


def replay_command(options: argparse.Namespace, out: TextIO, err: TextIO) -> Path:
    """Plan, run and read back one replay; print its record and write its report."""
    from backtest.replay import build_replay, plan_replay, read_record, run_replay

    config = load_config(options.config)
    folder = Path(options.out) if options.out else _default_folder(config.settings.system.var_dir)
    bars = [_bars(spec, options, err) for spec in options.bars]
    plan = plan_replay(
        config, bars, folder, bots=options.bot, warmup_bars=options.warmup_bars, spread_bps=options.spread_bps
    )
    for note in plan.notes:
        print(f"note: {note}", file=err)
    replay = build_replay(plan)
    with tqdm(total=100, desc="replay", unit="%", disable=options.quiet, file=err) as bar:

        def progress(done: float) -> None:
            bar.update(round(done * 100) - bar.n)

        with _quiet_daemon():
            asyncio.run(run_replay(replay, progress))
    settings = plan.config.settings
    go_live = settings.go_live
    criteria = GoLiveCriteria(go_live.min_trades, go_live.min_win_rate, go_live.min_sharpe)
    record = read_record(plan.database, settings.system.timezone, criteria)
    _print_record(out, record)
    print(f"journal: {plan.database}", file=out)
    print(
        f"dashboard: python master_orchestrator.py run --dashboard-only --database {plan.database}",
        file=out,
    )
    report = Path(options.report) if options.report else folder / "report.html"
    return write_report(
        report,
        title=f"Replay of {', '.join(plan.bots)} through the daemon",
        equity=record.equity,
        trades=_trade_frame(record),
        summary=record.summary,
        tables=[_bot_table(record), _refusal_table(record)],
        notes=list(plan.notes),
    )


def _default_folder(var_dir: str) -> Path:
    stamp = WALL_CLOCK.now().strftime("%Y%m%dT%H%M%SZ")
    return Path(var_dir) / "replays" / f"replay-{stamp}"


def _bars(spec: str, options: argparse.Namespace, err: TextIO) -> ReplayBars:
    from backtest.replay import ReplayBars, ReplayProblem

    key, separator, source = spec.partition("=")
    if not separator or not key or not source:
        raise ReplayProblem(f"--bars {spec!r}: write VENUE:SYMBOL=SOURCE, e.g. sim-crypto:BTC/USD=btc.csv")
    kind, colon, name = source.partition(":")
    if colon and kind == "shipped":
        check_assets("shipped", (name,))
        frame, described = shipped_bars(name), f"{name} (shipped)"
    elif colon and kind == "simulated":
        check_assets("simulated", (name,))
        if options.sim_bars < 2 or options.timeframe < 60 or options.timeframe % 60:
            raise ReplayProblem("--sim-bars must be at least 2 and --timeframe a whole number of minutes")
        settings = SimulationSettings(bars=options.sim_bars, timeframe_seconds=options.timeframe)
        frame = simulated_bars((name,), settings)[name]
        described = f"{name} (simulated, {options.sim_bars} bars of {options.timeframe} s)"
    else:
        path = Path(source)
        if not path.is_file():
            raise ReplayProblem(
                f"--bars {key}: {path} is not a file (or write shipped:NAME, simulated:ASSET)"
            )
        frame, described = load_bars_file(path), str(path)
    check = require_runnable_bars(frame, described)
    gaps = check.gap_note()
    if gaps is not None:
        print(f"{key}: note: {gaps}", file=err)
    return ReplayBars(key, frame, described)


@contextlib.contextmanager
def _quiet_daemon() -> Iterator[None]:
    """The daemon logs every tick at INFO; a replay's progress bar says enough, so INFO is held back."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        root.setLevel(level)


def _print_record(out: TextIO, record: ReplayRecord) -> None:
    final = float(record.equity.iloc[-1]) if len(record.equity) else float("nan")
    print(
        f"replayed {record.start.isoformat()} .. {record.end.isoformat()}: {record.fills} fills, "
        f"{len(record.trades)} closed trades; equity {number(record.starting_equity)} -> {number(final)}",
        file=out,
    )
    table = _bot_table(record)
    print_table(out, table.header, table.rows)
    refusals = _refusal_table(record)
    if refusals.rows:
        print("most frequent refusals:", file=out)
        print_table(out, refusals.header, refusals.rows[:REFUSALS_SHOWN])
    print_table(out, ("book", "value"), summary_rows(record.summary))


def _bot_table(record: ReplayRecord) -> ReportTable:
    rows = tuple(
        (
            bot.bot,
            str(bot.trades),
            "-" if not bot.trades else percent(bot.wins / bot.trades, 1),
            number(float(bot.net_pnl)),
            number(float(bot.fees)),
            "-" if bot.gate.sharpe is None else number(bot.gate.sharpe),
            "GO" if bot.gate.go else "no: " + "; ".join(bot.gate.failures),
        )
        for bot in record.bots
    )
    return ReportTable(
        "Each bot's record and the go-live gate",
        ("bot", "trades", "win rate", "net P&L", "fees", "daily Sharpe", "go-live"),
        rows,
    )


def _refusal_table(record: ReplayRecord) -> ReportTable:
    rows = tuple((reason, str(count)) for reason, count in record.refusals.items())
    return ReportTable("Signals refused, by stage and reason", ("stage: reason", "signals"), rows)


def _trade_frame(record: ReplayRecord) -> pd.DataFrame:
    return pd.DataFrame(
        [
            (
                t.opened_at,
                t.closed_at,
                float(t.entry_price),
                float(t.exit_price),
                float(t.quantity * Decimal(t.side.sign)),
                float(t.net_pnl),
            )
            for t in record.trades
        ],
        columns=list(TRADE_COLUMNS),
    )
