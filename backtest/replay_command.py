"""`python -m backtest replay`: registered bots through the whole daemon over recorded bars.

    python -m backtest replay --bars sim-crypto:BTC/USD=simulated:BTC --bot rsi2-btc
    python -m backtest replay --bars sim-stocks:SPY=spy_1min.csv --bars sim-stocks:QQQ=qqq_1min.parquet
    python -m backtest replay --config my.toml --bars alpaca:SPY=shipped:SPX --bot spy-daily
    python -m backtest replay --bars ... --bot momentum-crypto --param lookback=20,60
    python -m backtest replay --bars ... --bot momentum-crypto --param lookback=20,60 \
        --walk-forward --in-sample 300 --out-of-sample 200

Each `--bars VENUE:SYMBOL=SOURCE` gives one instrument's bars: a .csv or .parquet file, data that
ships with packages (`shipped:SPX|NDX|BTCUSD`) or the simulated world (`simulated:BTC|ETH|SOL`,
`--sim-bars` bars of `--timeframe` seconds). The bars are checked before the run (duplicates,
order, prices); gaps are reported. Without `--bot`, every enabled bot of the registry whose
instruments all have bars runs.

A `--param NAME=V1,V2` grid on one `--bot` replays every combination (a sweep, each set in
`<out>/set-NN/`), ranked by `--objective`; with `--walk-forward` each fold replays every set over
its in-sample bars and the best over the out-of-sample bars after them (`<out>/fold-NN/`). This
is how the bots the vectorized engine cannot express (a basket, a pair, a clock-timed rule) are
swept and walked forward.

The journal goes to `<out>/replay.sqlite` (default `<var_dir>/replays/replay-<stamp>/`), the paper
venues' books under `<out>/var`, and an HTML report beside them. Open the journal in the dashboard
with `python master_orchestrator.py run --dashboard-only --database <out>/replay.sqlite`, and let
the go-live gate count it by listing it in `[go_live] replay_journals`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import math
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import numpy as np
import pandas as pd
from tqdm import tqdm

from backtest.bars import load_bars_file, require_runnable_bars
from backtest.go_live import GoLiveCriteria
from backtest.metrics import summarize
from backtest.report import (
    TRADE_COLUMNS,
    ReportTable,
    number,
    percent,
    print_table,
    summary_rows,
    write_report,
)
from backtest.walk_forward import Fold, windows
from config.loader import DEFAULT_CONFIG, load_config
from ml_models.data import SimulationSettings, check_assets, shipped_bars, simulated_bars
from utils.clock import WALL_CLOCK

if TYPE_CHECKING:  # the daemon's modules load only when a replay runs, not for the other commands
    from backtest.replay import ReplayBars, ReplayPlan, ReplayRecord
    from config.loader import LoadedConfig

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
        metavar="VENUE:SYMBOL=SOURCE",
        help="one instrument's bars: FILE (.csv/.parquet), shipped:NAME or simulated:ASSET; repeatable",
    )
    sub.add_argument(
        "--simulated-days",
        type=float,
        help="instead of --bars: prediction-market bots over N days of the simulated prediction world",
    )
    sub.add_argument(
        "--start",
        help="with --simulated-days: when the replay starts (ISO 8601 with offset; default today 00:00 UTC)",
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
    sub.add_argument(
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="override a parameter of the one --bot; NAME=V1,V2,... replays every combination (a sweep "
        "through the daemon, for bots the vectorized engine cannot express)",
    )
    sub.add_argument(
        "--objective",
        choices=("sharpe", "sortino", "calmar", "total_return"),
        default="sharpe",
        help="what a sweep's best set maximises (of the replay's equity marks)",
    )
    sub.add_argument(
        "--walk-forward",
        action="store_true",
        help="with a --param grid: choose the set in sample, replay it out of sample, fold by fold",
    )
    sub.add_argument("--in-sample", type=int, default=1000, help="walk-forward: bars in sample")
    sub.add_argument("--out-of-sample", type=int, default=250, help="walk-forward: bars out of sample")
    sub.add_argument("--anchored", action="store_true", help="walk-forward: in-sample windows start at bar 0")
    sub.add_argument("--report", help="HTML report path (default <out>/report.html)")
    sub.add_argument("--quiet", action="store_true", help="no progress bar")


def replay_command(options: argparse.Namespace, out: TextIO, err: TextIO) -> Path:
    """Plan, run and read back one replay (or one per parameter set of a sweep); print the record
    and write the report (a sweep's: the best set's, with every set's row)."""
    from backtest.replay import ReplayProblem

    config = load_config(options.config)
    folder = Path(options.out) if options.out else _default_folder(config.settings.system.var_dir)
    if (options.bars is None) == (options.simulated_days is None):
        raise ReplayProblem(
            "give the bars (--bars VENUE:SYMBOL=SOURCE) or --simulated-days N, one of the two"
        )
    bars = [_bars(spec, options, err) for spec in options.bars or []]
    sets = parameter_sets(options.param or [])
    if sets != [{}] and (not options.bot or len(options.bot) != 1):
        raise ReplayProblem("--param overrides the parameters of one bot: name it with one --bot")
    if options.walk_forward:
        if len(sets) < 2:
            raise ReplayProblem("walk-forward chooses between parameter sets: give --param NAME=V1,V2,...")
        return _walk_forward(config, bars, folder, sets, options, out, err)
    if len(sets) == 1:
        plan, record = _replay_once(config, bars, folder, sets[0], options, err)
        _print_record(out, record)
        _print_where(out, plan.database)
        return _write(options, folder, plan, record, ())
    runs = []
    for index, params in enumerate(sets, start=1):
        label = ", ".join(f"{k}={v}" for k, v in params.items())
        print(f"set {index} of {len(sets)}: {label}", file=err)
        plan, record = _replay_once(config, bars, folder / f"set-{index:02d}", params, options, err)
        runs.append((params, plan, record))
    ranked = sorted(runs, key=lambda run: -_score(run[2], options.objective))
    table = _sweep_table(ranked, options.objective)
    print(f"{len(runs)} parameter sets of {options.bot[0]}, best by {options.objective} first", file=out)
    print_table(out, table.header, table.rows)
    best_params, best_plan, best_record = ranked[0]
    print("best: " + ", ".join(f"{k}={v}" for k, v in best_params.items()), file=out)
    _print_record(out, best_record)
    _print_where(out, best_plan.database)
    return _write(options, folder, best_plan, best_record, (table,))


def parameter_sets(specs: Sequence[str]) -> list[dict[str, object]]:
    """Every combination of `NAME=V1,V2,...` specs, values typed as TOML reads them (5, 0.5, true,
    "text"; a bare word is text); [{}] when there are none."""
    from backtest.replay import ReplayProblem

    names: list[str] = []
    choices: list[list[object]] = []
    for spec in specs:
        name, separator, values = spec.partition("=")
        if not separator or not name.strip() or not values.strip():
            raise ReplayProblem(f"--param {spec!r}: write NAME=VALUE or NAME=V1,V2,...")
        if name in names:
            raise ReplayProblem(f"--param {name} is given twice")
        names.append(name.strip())
        choices.append([_typed(value.strip()) for value in values.split(",")])
    return [dict(zip(names, combination, strict=True)) for combination in itertools.product(*choices)]


def _typed(text: str) -> object:
    try:
        value: object = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    return value


def _replay_once(
    config: LoadedConfig,
    bars: Sequence[ReplayBars],
    folder: Path,
    params: Mapping[str, object],
    options: argparse.Namespace,
    err: TextIO,
    *,
    warmup_bars: int | None = None,
    start: datetime | None = None,
    days: float | None = None,
) -> tuple[ReplayPlan, ReplayRecord]:
    from backtest.replay import build_replay, plan_prediction_replay, plan_replay, read_record, run_replay

    if options.simulated_days is not None:
        plan = plan_prediction_replay(
            config,
            folder,
            start=_start(options) if start is None else start,
            days=options.simulated_days if days is None else days,
            bots=options.bot,
            params=params,
        )
    else:
        plan = plan_replay(
            config,
            bars,
            folder,
            bots=options.bot,
            warmup_bars=options.warmup_bars if warmup_bars is None else warmup_bars,
            spread_bps=options.spread_bps,
            params=params,
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
    return plan, read_record(plan.database, settings.system.timezone, criteria)


def _walk_forward(
    config: LoadedConfig,
    bars: Sequence[ReplayBars],
    folder: Path,
    sets: Sequence[Mapping[str, object]],
    options: argparse.Namespace,
    out: TextIO,
    err: TextIO,
) -> Path:
    """Each fold: every set replayed over the in-sample bars, the best (by --objective) replayed over
    the out-of-sample bars that follow; the out-of-sample records chained into one. Each replay
    starts with `--warmup-bars` of history before its window (fold 0 takes them from its own)."""
    from backtest.replay import ReplayBars, ReplayProblem

    if options.simulated_days is not None:
        return _walk_forward_days(config, folder, sets, options, out, err)
    times = pd.DatetimeIndex(bars[0].frame.index)
    if any(not pd.DatetimeIndex(b.frame.index).equals(times) for b in bars[1:]):
        raise ReplayProblem(
            "walk-forward cuts every --bars series at the same bars: give them the same bar times"
        )
    warmup = config.settings.simulation.warmup_bars if options.warmup_bars is None else options.warmup_bars
    try:
        folds = windows(len(times), options.in_sample, options.out_of_sample, anchored=options.anchored)
    except ValueError as exc:
        raise ReplayProblem(str(exc)) from None

    def cut(start: int, end: int) -> list[ReplayBars]:
        return [ReplayBars(b.key, b.frame.iloc[start:end], b.source) for b in bars]

    rows = []
    pieces: list[pd.Series] = []
    trades: list[pd.DataFrame] = []
    for fold in folds:
        is_from = max(0, fold.is_start - warmup)
        is_warmup = fold.is_start - is_from if fold.is_start >= warmup else min(warmup, fold.is_end - 2)
        scored = []
        for index, params in enumerate(sets, start=1):
            print(f"fold {fold.index + 1} of {len(folds)}, in sample, set {index} of {len(sets)}", file=err)
            where = folder / f"fold-{fold.index + 1:02d}" / f"in-sample-{index:02d}"
            _, record = _replay_once(
                config, cut(is_from, fold.is_end), where, params, options, err, warmup_bars=is_warmup
            )
            scored.append((_score(record, options.objective), index, params))
        best_score, _, best = max(scored, key=lambda item: (item[0], -item[1]))
        print(f"fold {fold.index + 1} of {len(folds)}, out of sample", file=err)
        oos_from = fold.oos_start - warmup
        if oos_from < 0:
            raise ReplayProblem(
                f"fold {fold.index + 1}: fewer than {warmup} bars before its out-of-sample window"
            )
        where = folder / f"fold-{fold.index + 1:02d}" / "out-of-sample"
        _, record = _replay_once(
            config, cut(oos_from, fold.oos_end), where, best, options, err, warmup_bars=warmup
        )
        in_sample = f"{times[fold.is_start]:%Y-%m-%d %H:%M} .. {times[fold.is_end - 1]:%Y-%m-%d %H:%M}"
        out_of_sample = f"{times[fold.oos_start]:%Y-%m-%d %H:%M} .. {times[fold.oos_end - 1]:%Y-%m-%d %H:%M}"
        rows.append(_fold_row(fold, in_sample, out_of_sample, best, best_score, record, pieces, trades))
    return _walk_forward_report(
        folder, folds, sets, rows, pieces, trades, options, out, unit="bars", warmup=warmup
    )


def _fold_row(
    fold: Fold,
    in_sample: str,
    out_of_sample: str,
    chosen: Mapping[str, object],
    score: float,
    record: ReplayRecord,
    pieces: list[pd.Series],
    trades: list[pd.DataFrame],
) -> tuple[str, ...]:
    """Chain the fold's out-of-sample record onto `pieces` and `trades`; its row of the fold table."""
    if len(record.equity):
        scale = 1.0 if not pieces else float(pieces[-1].iloc[-1]) / record.starting_equity
        pieces.append(record.equity * scale)
    trades.append(_trade_frame(record))
    return (
        str(fold.index + 1),
        in_sample,
        out_of_sample,
        ", ".join(f"{k}={v}" for k, v in chosen.items()),
        number(score, 3),
        percent(float(record.summary.total_return)),
        str(len(record.trades)),
    )


def _walk_forward_report(
    folder: Path,
    folds: Sequence[Fold],
    sets: Sequence[Mapping[str, object]],
    rows: Sequence[Sequence[str]],
    pieces: Sequence[pd.Series],
    trades: Sequence[pd.DataFrame],
    options: argparse.Namespace,
    out: TextIO,
    *,
    unit: str,
    warmup: int | None = None,
) -> Path:
    """Print the folds and the chained out-of-sample record, and write the walk-forward's report."""
    from backtest.cli import infer_periods_per_year  # the command line's own reading of bar spacing

    header = (
        "fold",
        "in sample",
        "out of sample",
        "chosen",
        f"IS {options.objective}",
        "OOS return",
        "OOS trades",
    )
    table = ReportTable(
        "Folds: the set chosen in sample, its out-of-sample record", header, tuple(tuple(r) for r in rows)
    )
    print(f"{len(folds)} folds over {len(sets)} parameter sets of {options.bot[0]}", file=out)
    print_table(out, header, rows)
    equity = pd.concat(pieces) if pieces else pd.Series(dtype=np.float64)
    trade_list = pd.concat(trades, ignore_index=True) if trades else _trade_frame(None)
    starting = float(equity.iloc[0]) if len(equity) else 0.0
    summary = summarize(
        equity.to_numpy(),
        np.zeros(len(equity)),
        trade_list["pnl"].to_numpy(dtype=np.float64),
        infer_periods_per_year(pd.DatetimeIndex(equity.index)) if len(equity) > 1 else 252.0,
        initial_equity=starting or None,
    )
    print_table(out, ("out of sample", "value"), summary_rows(summary))
    windows_note = (
        f"{'anchored' if options.anchored else 'rolling'} windows: {options.in_sample} {unit} in sample, "
        f"{options.out_of_sample} out of sample"
        + ("" if warmup is None else f", each replay after {warmup} warm-up bars")
    )
    report = Path(options.report) if options.report else folder / "report.html"
    return write_report(
        report,
        title=f"Walk-forward of {options.bot[0]} through the daemon",
        equity=equity,
        trades=trade_list,
        summary=summary,
        tables=[table],
        notes=[windows_note, "exposure is not measured across the chained replays (shown as 0)"],
    )


def _walk_forward_days(
    config: LoadedConfig,
    folder: Path,
    sets: Sequence[Mapping[str, object]],
    options: argparse.Namespace,
    out: TextIO,
    err: TextIO,
) -> Path:
    """Walk-forward over days of the simulated prediction world: `--in-sample` and
    `--out-of-sample` count days; each window is its own replay from the window's first day."""
    from backtest.replay import ReplayProblem

    start = _start(options)
    try:
        folds = windows(
            int(options.simulated_days), options.in_sample, options.out_of_sample, anchored=options.anchored
        )
    except ValueError as exc:
        raise ReplayProblem(f"{exc} (with --simulated-days the windows count days)") from None
    rows = []
    pieces: list[pd.Series] = []
    trades: list[pd.DataFrame] = []
    for fold in folds:
        scored = []
        for index, params in enumerate(sets, start=1):
            print(f"fold {fold.index + 1} of {len(folds)}, in sample, set {index} of {len(sets)}", file=err)
            where = folder / f"fold-{fold.index + 1:02d}" / f"in-sample-{index:02d}"
            days = fold.is_end - fold.is_start
            _, record = _replay_once(
                config,
                [],
                where,
                params,
                options,
                err,
                start=start + timedelta(days=fold.is_start),
                days=days,
            )
            scored.append((_score(record, options.objective), index, params))
        best_score, _, best = max(scored, key=lambda item: (item[0], -item[1]))
        print(f"fold {fold.index + 1} of {len(folds)}, out of sample", file=err)
        where = folder / f"fold-{fold.index + 1:02d}" / "out-of-sample"
        days = fold.oos_end - fold.oos_start
        _, record = _replay_once(
            config, [], where, best, options, err, start=start + timedelta(days=fold.oos_start), days=days
        )
        in_sample, out_of_sample = (
            f"days {fold.is_start}..{fold.is_end - 1}",
            f"days {fold.oos_start}..{fold.oos_end - 1}",
        )
        rows.append(_fold_row(fold, in_sample, out_of_sample, best, best_score, record, pieces, trades))
    return _walk_forward_report(folder, folds, sets, rows, pieces, trades, options, out, unit="days")


def _start(options: argparse.Namespace) -> datetime:
    from backtest.replay import ReplayProblem

    if options.start is None:
        return WALL_CLOCK.now().replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        start = datetime.fromisoformat(options.start)
    except ValueError:
        raise ReplayProblem(f"--start {options.start!r} is not an ISO 8601 time") from None
    if start.tzinfo is None:
        raise ReplayProblem(f"--start {options.start!r} needs its offset, e.g. 2026-08-24T00:00:00+00:00")
    return start


def _score(record: ReplayRecord, objective: str) -> float:
    value = float(getattr(record.summary, objective))
    return value if math.isfinite(value) else -math.inf


def _sweep_table(
    runs: Sequence[tuple[Mapping[str, object], ReplayPlan, ReplayRecord]], objective: str
) -> ReportTable:
    names = list(runs[0][0])
    rows = []
    for params, _, record in runs:
        summary = record.summary
        rows.append(
            (
                *(str(params[name]) for name in names),
                number(_score(record, objective), 3),
                percent(summary.total_return),
                percent(summary.max_drawdown),
                str(len(record.trades)),
            )
        )
    header = (*names, objective, "total return", "max drawdown", "trades")
    return ReportTable(f"Every parameter set, best by {objective} first", header, tuple(rows))


def _print_where(out: TextIO, database: Path) -> None:
    print(f"journal: {database}", file=out)
    print(f"dashboard: python master_orchestrator.py run --dashboard-only --database {database}", file=out)


def _write(
    options: argparse.Namespace,
    folder: Path,
    plan: ReplayPlan,
    record: ReplayRecord,
    tables: Sequence[ReportTable],
) -> Path:
    report = Path(options.report) if options.report else folder / "report.html"
    return write_report(
        report,
        title=f"Replay of {', '.join(plan.bots)} through the daemon",
        equity=record.equity,
        trades=_trade_frame(record),
        summary=record.summary,
        tables=[*tables, _bot_table(record), _refusal_table(record)],
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


def _trade_frame(record: ReplayRecord | None) -> pd.DataFrame:
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
            for t in (record.trades if record is not None else ())
        ],
        columns=list(TRADE_COLUMNS),
    )
