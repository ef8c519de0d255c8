"""The backtest command line: run, sweep, walk-forward, Monte Carlo and stress an SMA crossover.

    python -m backtest run --shipped SPX --fast 10 --slow 50
    python -m backtest sweep --simulated BTC --fast 5 10 20 --slow 50 100 200
    python -m backtest walk-forward --shipped SPX --fast 5 10 20 --slow 50 100 \\
        --in-sample 1000 --out-of-sample 250 --workers 4
    python -m backtest monte-carlo --bars bars.csv --paths 2000 --seed 7
    python -m backtest stress --shipped NDX --at-index 3000

Bars come from a CSV or Parquet file (`--bars`), the data that ships with installed packages
(`--shipped SPX|NDX|BTCUSD`) or the simulated world (`--simulated BTC|ETH|SOL`), and are
checked before any run (duplicates, order, prices). The strategy is long while SMA(fast) is
above SMA(slow), flat otherwise, filled at the next bar's open with fees and slippage on.
Each command prints a short table and writes one self-contained HTML report (`--report`,
default `<var_dir>/reports/backtest-<command>-<stamp>.html`).

Progress bars go to stderr, tables to stdout. Exit codes: 0 ok, 2 bad arguments or data
(one line naming the problem), 1 any other failure.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd
from tqdm import tqdm

from backtest.bars import load_bars_file, require_runnable_bars
from backtest.metrics import PerformanceSummary
from backtest.monte_carlo import MonteCarloConfig, MonteCarloResult, bootstrap_returns, resample_trade_pnls
from backtest.report import (
    ReportTable,
    number,
    percent,
    stress_rows,
    summary_rows,
    walk_forward_rows,
    walk_forward_trades,
    write_report,
)
from backtest.stress import StressBacktest, standard_scenarios, stress_backtest
from backtest.vectorized import (
    Costs,
    FloatArray,
    VectorResult,
    run_targets,
    sma_crossover_targets,
    sma_grid,
    sweep_sma_crossover,
)
from backtest.walk_forward import sma_crossover_fn, walk_forward, windows
from config.loader import DEFAULT_CONFIG, ConfigError, load_config
from domain.instruments import AssetClass
from ml_models.data import BarDataError, SimulationSettings, check_assets, shipped_bars, simulated_bars
from utils.clock import WALL_CLOCK

DESCRIPTION = (
    "Backtest an SMA crossover: run, sweep, walk-forward, Monte Carlo and stress, with an HTML report."
)
SHIPPED_ASSET_CLASSES = {"SPX": AssetClass.STOCK, "NDX": AssetClass.STOCK, "BTCUSD": AssetClass.CRYPTO}
SECONDS_PER_YEAR = 365.25 * 86_400
OBJECTIVES = ("sharpe", "sortino", "calmar", "total_return", "cagr")
SWEEP_ROWS_PRINTED = 10


class UsageProblem(ValueError):
    """Arguments that cannot work together; exit code 2."""


@dataclass(frozen=True, slots=True, eq=False)
class Bars:
    """Checked bars and what they are: a name for titles, the symbol and asset class a stress test needs."""

    name: str
    symbol: str
    asset_class: AssetClass
    frame: pd.DataFrame

    @property
    def open(self) -> FloatArray:
        prices: FloatArray = self.frame["open"].to_numpy(dtype=np.float64)
        return prices

    @property
    def close(self) -> FloatArray:
        prices: FloatArray = self.frame["close"].to_numpy(dtype=np.float64)
        return prices

    @property
    def times(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.frame.index)


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run one command; returns the exit code (0 ok, 2 bad arguments or data, 1 other failure)."""
    stdout, stderr = out or sys.stdout, err or sys.stderr
    parser = _parser()
    try:
        options = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse has already printed its message
        return int(exit_.code) if isinstance(exit_.code, int) else 2
    commands: dict[str, Callable[[argparse.Namespace, TextIO, TextIO], Path]] = {
        "run": run_command,
        "sweep": sweep_command,
        "walk-forward": walk_forward_command,
        "monte-carlo": monte_carlo_command,
        "stress": stress_command,
    }
    try:
        report = commands[options.command](options, stdout, stderr)
    except (BarDataError, UsageProblem, ConfigError, ValueError) as problem:
        print(f"error: {problem}", file=stderr)
        return 2
    except Exception as failure:
        print(f"failed: {type(failure).__name__}: {failure}", file=stderr)
        return 1
    print(f"report: {report}", file=stdout)
    return 0


# --- the commands -----------------------------------------------------------------------------------------


def run_command(options: argparse.Namespace, out: TextIO, err: TextIO) -> Path:
    """One SMA crossover over the bars: summary table, report with equity, drawdown, months, trades."""
    bars = load_bars(options, err)
    fast, slow = _pair(options.fast, options.slow)
    result, summary = _run_pair(bars, fast, slow, options)
    _print_summary(out, f"{bars.name}: SMA {fast}/{slow}", summary, result)
    return write_report(
        _report_path(options),
        title=f"Backtest of SMA {fast}/{slow} on {bars.name}",
        equity=pd.Series(result.equity[:, 0], index=bars.times),
        trades=result.trades[0],
        summary=summary,
        notes=_notes(bars, options),
    )


def sweep_command(options: argparse.Namespace, out: TextIO, err: TextIO) -> Path:
    """Every fast x slow pair (fast < slow) in one vectorized call; the best by `--objective` reported."""
    bars = load_bars(options, err)
    _check_windows(options.fast + options.slow)
    pairs, result = sweep_sma_crossover(
        bars.open, bars.close, options.fast, options.slow, _costs(options), initial_cash=options.cash
    )
    summaries = result.summary(_periods_per_year(options, bars))
    scores = np.array([_objective(summary, options.objective) for summary in summaries])
    order = np.argsort(-np.where(np.isnan(scores), -np.inf, scores), kind="stable")
    best = int(order[0])
    header = ("fast", "slow", options.objective, "total return", "max drawdown", "trades")
    rows = tuple(
        (
            str(pairs[i][0]),
            str(pairs[i][1]),
            number(float(scores[i]), 3),
            percent(summaries[i].total_return),
            percent(summaries[i].max_drawdown),
            str(summaries[i].trades),
        )
        for i in order
    )
    print(f"{bars.name}: {len(pairs)} pairs, best by {options.objective} first", file=out)
    _print_table(out, header, rows[:SWEEP_ROWS_PRINTED])
    fast, slow = pairs[best]
    print(f"best: SMA {fast}/{slow}", file=out)
    return write_report(
        _report_path(options),
        title=f"Sweep of SMA crossovers on {bars.name}: best {fast}/{slow} by {options.objective}",
        equity=pd.Series(result.equity[:, best], index=bars.times),
        trades=result.trades[best],
        summary=summaries[best],
        tables=[ReportTable(f"All {len(pairs)} pairs, best first", header, rows)],
        notes=[
            f"the equity, summary and trades below are the best pair's, SMA {fast}/{slow}",
            *_notes(bars, options),
        ],
    )


def monte_carlo_command(options: argparse.Namespace, out: TextIO, err: TextIO) -> Path:
    """The run, then its closed trades resampled (or its bar returns block-bootstrapped) `--paths` times."""
    bars = load_bars(options, err)
    fast, slow = _pair(options.fast, options.slow)
    result, summary = _run_pair(bars, fast, slow, options)
    config = MonteCarloConfig(
        n_paths=options.paths,
        initial_equity=options.cash,
        ruin_fraction=options.ruin,
        progress=not options.quiet,
    )
    rng = np.random.default_rng(options.seed)
    if options.method == "trades":
        pnls = result.trades[0].pnl
        if len(pnls) == 0:
            raise UsageProblem(f"SMA {fast}/{slow} closed no trade on {bars.name}; try --method returns")
        distribution = resample_trade_pnls(pnls, config, rng)
    else:
        marks = np.concatenate(([options.cash], result.equity[:, 0]))
        distribution = bootstrap_returns(marks[1:] / marks[:-1] - 1.0, config, rng)
    _print_summary(out, f"{bars.name}: SMA {fast}/{slow}", summary, result)
    _print_monte_carlo(out, distribution, options.method)
    return write_report(
        _report_path(options),
        title=f"Monte Carlo of SMA {fast}/{slow} on {bars.name} ({options.method})",
        equity=pd.Series(result.equity[:, 0], index=bars.times),
        trades=result.trades[0],
        summary=summary,
        monte_carlo=distribution,
        notes=[_method_note(options.method, options.seed), *_notes(bars, options)],
    )


def stress_command(options: argparse.Namespace, out: TextIO, err: TextIO) -> Path:
    """The standard scenarios each injected at `--at-index` (default the middle bar) of the run."""
    bars = load_bars(options, err)
    fast, slow = _pair(options.fast, options.slow)
    count = len(bars.frame)
    at_index = count // 2 if options.at_index is None else options.at_index
    if not 0 <= at_index < count:
        raise UsageProblem(f"--at-index {at_index} is outside the {count} bars (0 .. {count - 1})")
    targets = sma_crossover_targets(bars.close, [fast], [slow])
    scenarios = standard_scenarios()
    results: list[StressBacktest] = [
        stress_backtest(
            bars.open,
            bars.close,
            targets,
            scenario,
            at_index,
            asset_class=bars.asset_class,
            symbol=bars.symbol,
            costs=_costs(options),
            initial_cash=options.cash,
        )
        for scenario in tqdm(scenarios, desc="stress scenarios", unit="scenario", disable=options.quiet)
    ]
    baseline = results[0].baseline
    summary = baseline.summary(_periods_per_year(options, bars))[0]
    table = stress_rows(results, bars.times)
    print(f"{bars.name}: SMA {fast}/{slow}, shocks at bar {at_index} ({bars.times[at_index]})", file=out)
    _print_table(out, table.header, table.rows)
    return write_report(
        _report_path(options),
        title=f"Stress tests of SMA {fast}/{slow} on {bars.name}",
        equity=pd.Series(baseline.equity[:, 0], index=bars.times),
        trades=baseline.trades[0],
        summary=summary,
        stress=results,
        notes=[
            f"scenarios injected at bar {at_index} ({bars.times[at_index]}) as {bars.asset_class} "
            f"{bars.symbol}; the positions are the unshocked run's",
            *_notes(bars, options),
        ],
    )


def walk_forward_command(options: argparse.Namespace, out: TextIO, err: TextIO) -> Path:
    """Choose the pair in sample, trade it out of sample, fold by fold; report the stitched record."""
    bars = load_bars(options, err)
    _check_windows(options.fast + options.slow)
    grid = [(float(fast), float(slow)) for fast, slow in sma_grid(options.fast, options.slow)]
    folds = windows(len(bars.frame), options.in_sample, options.out_of_sample, anchored=options.anchored)
    result = walk_forward(
        bars.open,
        bars.close,
        grid,
        sma_crossover_fn,
        folds,
        costs=_costs(options),
        objective=options.objective,
        periods_per_year=_periods_per_year(options, bars),
        initial_cash=options.cash,
        executor="dask" if options.scheduler else "local",
        scheduler_address=options.scheduler,
        max_workers=options.workers,
        progress=not options.quiet,
    )
    header, rows = walk_forward_rows(result, bars.times)
    print(f"{bars.name}: {len(folds)} folds over {len(grid)} pairs, chosen by {options.objective}", file=out)
    _print_table(out, header, rows)
    _print_table(out, ("out-of-sample", "value"), summary_rows(result.summary))
    return write_report(
        _report_path(options),
        title=f"Walk-forward of SMA crossovers on {bars.name}",
        equity=pd.Series(result.equity, index=bars.times[result.bar_index]),
        times=bars.times,
        trades=walk_forward_trades(result),
        summary=result.summary,
        walk_forward=result,
        notes=[
            f"{'anchored' if options.anchored else 'rolling'} windows: {options.in_sample} bars in sample, "
            f"{options.out_of_sample} out of sample",
            *_notes(bars, options),
        ],
    )


# --- bars -------------------------------------------------------------------------------------------------


def load_bars(options: argparse.Namespace, err: TextIO) -> Bars:
    """The bars the options name, checked (duplicates, order, prices); gaps are reported on `err`."""
    if options.bars is not None:
        path = Path(options.bars)
        if not path.is_file():
            raise UsageProblem(f"bars file {path} does not exist")
        frame = load_bars_file(path)
        bars = Bars(str(path), path.stem, AssetClass(options.asset_class), frame)
    elif options.shipped is not None:
        asset = options.shipped
        check_assets("shipped", (asset,))
        frame = shipped_bars(asset)
        bars = Bars(f"{asset} (shipped)", asset, SHIPPED_ASSET_CLASSES.get(asset, AssetClass.STOCK), frame)
    else:
        asset = options.simulated
        check_assets("simulated", (asset,))
        settings = SimulationSettings(bars=options.sim_bars, timeframe_seconds=options.timeframe)
        frame = simulated_bars((asset,), settings, progress=_say(err))[asset]
        bars = Bars(f"{asset} (simulated)", f"{asset}/USD", AssetClass.CRYPTO, frame)
    if options.last is not None:
        bars = Bars(bars.name, bars.symbol, bars.asset_class, bars.frame.iloc[-options.last :])
    check = require_runnable_bars(bars.frame, bars.name)
    gaps = check.gap_note()
    if gaps is not None:
        print(f"{bars.name}: note: {gaps}", file=err)
    if len(bars.frame) < 2:
        raise UsageProblem(f"{bars.name}: {len(bars.frame)} bar(s); a backtest needs at least 2")
    return bars


def infer_periods_per_year(times: pd.DatetimeIndex) -> float:
    """Bars per year as the bars themselves are spaced: (n - 1) steps over the years they span.

    Counting bars over the span (not one year over the median step) makes daily stock bars
    come out near 252, not 365: nights, weekends and holidays are simply not there.
    """
    if len(times) < 2:
        raise UsageProblem(f"{len(times)} bar(s) cannot tell a bar spacing; give --periods-per-year")
    span = float((times[-1] - times[0]).total_seconds())
    if span <= 0:
        raise UsageProblem("the bars span no time; give --periods-per-year")
    return (len(times) - 1) / (span / SECONDS_PER_YEAR)


# --- shared pieces ----------------------------------------------------------------------------------------


def _run_pair(
    bars: Bars, fast: int, slow: int, options: argparse.Namespace
) -> tuple[VectorResult, PerformanceSummary]:
    targets = sma_crossover_targets(bars.close, [fast], [slow])
    result = run_targets(bars.open, bars.close, targets, costs=_costs(options), initial_cash=options.cash)
    return result, result.summary(_periods_per_year(options, bars))[0]


def _pair(fast: int, slow: int) -> tuple[int, int]:
    _check_windows([fast, slow])
    if fast >= slow:
        raise UsageProblem(f"--fast {fast} must be below --slow {slow}")
    return fast, slow


def _check_windows(windows: Sequence[int]) -> None:
    short = [window for window in windows if window < 2]
    if short:
        raise UsageProblem(f"SMA windows must be at least 2 bars, got {short}")


def _costs(options: argparse.Namespace) -> Costs:
    return Costs(fee_rate=options.fee, slippage_rate=options.slippage)


def _periods_per_year(options: argparse.Namespace, bars: Bars) -> float:
    given: float | None = options.periods_per_year
    return given if given is not None else infer_periods_per_year(bars.times)


def _objective(summary: PerformanceSummary, name: str) -> float:
    value = getattr(summary, name)
    return float(value)


def _notes(bars: Bars, options: argparse.Namespace) -> list[str]:
    times = bars.times
    return [
        f"{len(times)} bars, {times[0]} .. {times[-1]}; {number(_periods_per_year(options, bars), 1)} "
        "bars a year" + (" (inferred from the bar spacing)" if options.periods_per_year is None else ""),
        f"long while SMA(fast) > SMA(slow), else flat; fills at the next bar's open; "
        f"fee {percent(options.fee, 3)} and slippage {percent(options.slippage, 3)} per side; "
        f"starting cash {number(options.cash)}",
    ]


def _method_note(method: str, seed: int) -> str:
    if method == "trades":
        return f"closed trades' P&Ls drawn with replacement, seed {seed}; bands are per trade"
    return f"bar returns block-bootstrapped (stationary, optimal block length), seed {seed}; bands per bar"


def _report_path(options: argparse.Namespace) -> Path:
    if options.report is not None:
        return Path(options.report)
    stamp = WALL_CLOCK.now().strftime("%Y%m%dT%H%M%SZ")
    var_dir = Path(load_config(options.config).settings.system.var_dir)
    return var_dir / "reports" / f"backtest-{options.command}-{stamp}.html"


def _print_summary(out: TextIO, heading: str, summary: PerformanceSummary, result: VectorResult) -> None:
    print(heading, file=out)
    rows = [*summary_rows(summary), ("Final equity", number(float(result.final_equity[0])))]
    _print_table(out, ("figure", "value"), rows)


def _print_monte_carlo(out: TextIO, result: MonteCarloResult, method: str) -> None:
    low, high = result.ruin_probability_interval
    print(
        f"Monte Carlo ({method}, {result.n_paths} paths): ruin {percent(result.ruin_probability)} "
        f"(95% interval {percent(low)} .. {percent(high)})",
        file=out,
    )
    rows = [
        (f"p{level:g}", number(result.final_equity_at(level)), percent(result.max_drawdown_at(level)))
        for level in result.percentiles
    ]
    _print_table(out, ("percentile", "final equity", "max drawdown"), rows)


def _say(err: TextIO) -> Callable[[str], None]:
    def say(message: str) -> None:
        print(message, file=err, flush=True)

    return say


def _print_table(out: TextIO, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    for line in (header, *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)), file=out)


# --- arguments --------------------------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text}")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a fraction in [0, 1), got {text}") from None
    if not (math.isfinite(value) and 0 <= value < 1):
        raise argparse.ArgumentTypeError(f"must be a fraction in [0, 1), got {text}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m backtest", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser, *, grid: bool) -> None:
        source = sub.add_mutually_exclusive_group(required=True)
        source.add_argument("--bars", metavar="FILE", help="a .csv or .parquet bar file")
        source.add_argument("--shipped", metavar="ASSET", help="data shipped with packages: SPX, NDX, BTCUSD")
        source.add_argument("--simulated", metavar="ASSET", help="the simulated world: BTC, ETH, SOL")
        sub.add_argument(
            "--asset-class",
            choices=[str(c) for c in AssetClass],
            default=str(AssetClass.STOCK),
            help="what a --bars file holds (stress scenarios move each class its own way)",
        )
        sub.add_argument("--sim-bars", type=_positive_int, default=SimulationSettings().bars)
        sub.add_argument("--timeframe", type=_positive_int, default=300, help="simulated bar length, seconds")
        sub.add_argument("--last", type=_positive_int, help="use only the newest N bars")
        if grid:
            sub.add_argument("--fast", type=_positive_int, nargs="+", default=[5, 10, 20])
            sub.add_argument("--slow", type=_positive_int, nargs="+", default=[50, 100, 200])
        else:
            sub.add_argument("--fast", type=_positive_int, default=10, help="fast SMA window, bars")
            sub.add_argument("--slow", type=_positive_int, default=50, help="slow SMA window, bars")
        sub.add_argument("--fee", type=_rate, default=0.001, help="fee per side, fraction of the notional")
        sub.add_argument(
            "--slippage", type=_rate, default=0.0, help="slippage per side, fraction of the price"
        )
        sub.add_argument("--cash", type=_positive_float, default=10_000.0, help="starting cash")
        sub.add_argument(
            "--periods-per-year", type=_positive_float, help="bars a year (default: from the bar spacing)"
        )
        sub.add_argument("--report", help="HTML report path (default: <var_dir>/reports/backtest-...)")
        sub.add_argument("--config", default=str(DEFAULT_CONFIG), help="settings TOML (var_dir)")
        sub.add_argument("--quiet", action="store_true", help="no progress bars")

    run = commands.add_parser("run", help="one SMA crossover, with its report")
    common(run, grid=False)

    sweep = commands.add_parser("sweep", help="every fast x slow pair; the best one's report")
    common(sweep, grid=True)
    sweep.add_argument("--objective", choices=OBJECTIVES, default="sharpe")

    walk = commands.add_parser("walk-forward", help="optimise in-sample, trade out-of-sample, fold by fold")
    common(walk, grid=True)
    walk.add_argument("--objective", choices=OBJECTIVES, default="sharpe")
    walk.add_argument("--in-sample", type=_positive_int, default=1_000, help="bars per in-sample window")
    walk.add_argument(
        "--out-of-sample", type=_positive_int, default=250, help="bars per out-of-sample window"
    )
    walk.add_argument("--anchored", action="store_true", help="every in-sample window starts at bar 0")
    walk.add_argument("--scheduler", metavar="ADDRESS", help="run the folds on this Dask scheduler")
    walk.add_argument("--workers", type=_positive_int, help="local worker processes (default: the cores)")

    monte = commands.add_parser("monte-carlo", help="resample the trades or bootstrap the returns")
    common(monte, grid=False)
    monte.add_argument("--paths", type=_positive_int, default=1_000)
    monte.add_argument("--seed", type=int, default=0, help="random seed (the same seed, the same paths)")
    monte.add_argument("--method", choices=("trades", "returns"), default="trades")
    monte.add_argument("--ruin", type=_rate, default=0.5, help="ruin: equity below this share of the start")

    stress = commands.add_parser("stress", help="the standard shock scenarios injected into the run")
    common(stress, grid=False)
    stress.add_argument("--at-index", type=int, help="the shocked bar (default: the middle one)")
    return parser
