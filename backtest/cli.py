"""The backtest command line: run, sweep, walk-forward, Monte Carlo, stress and replay a registered bot.

    python -m backtest run --shipped SPX --fast 10 --slow 50
    python -m backtest sweep --simulated BTC --fast 5 10 20 --slow 50 100 200
    python -m backtest walk-forward --shipped SPX --fast 5 10 20 --slow 50 100 \\
        --in-sample 1000 --out-of-sample 250 --workers 4
    python -m backtest monte-carlo --bars bars.csv --paths 2000 --seed 7
    python -m backtest stress --shipped NDX --at-index 3000

    python -m backtest run --simulated BTC --bot rsi2-btc
    python -m backtest sweep --simulated BTC --bot rsi2-btc --param entry_threshold=5,10,15
    python -m backtest walk-forward --shipped SPX --rule bollinger --param period=10,20,30 \\
        --param num_std=1.5,2 --in-sample 1000 --out-of-sample 250
    python -m backtest monte-carlo --shipped SPX --rule sma_crossover --param fast=20 --param slow=100
    python -m backtest stress --simulated ETH --bot bollinger-eth --position-fraction 0.5

    python -m backtest replay --bars sim-crypto:BTC/USD=simulated:BTC --bot rsi2-btc
    python -m backtest replay --bars ... --bot momentum-crypto --param lookback=20,60 \
        --walk-forward --in-sample 300 --out-of-sample 200

`replay` is the event-driven engine: the registered bots through the whole daemon (gates, risk
engine, paper broker, journal) over recorded bars; with a `--param` grid it sweeps, and with
`--walk-forward` it walks forward, one replay per set (for the bots the vectorized engine cannot
express); see `backtest.replay_command`. The others are the vectorized engine's.

Bars come from a CSV or Parquet file (`--bars`), the data that ships with installed packages
(`--shipped SPX|NDX|BTCUSD`) or the simulated world (`--simulated BTC|ETH|SOL`), and are
checked before any run (duplicates, order, prices).

The strategy is one of:

- `--bot NAME`: a bot of the registry (`--config` names the settings, whose
  `system.registry` names the registry file), with its registry params; its class must
  be a per-instrument rule (rsi2, bollinger, sma_crossover) and it must trade one instrument;
- `--rule NAME`: one of those rules with its default params;
- neither: the SMA crossover of `--fast/--slow`, long while SMA(fast) is above SMA(slow).

`--param name=value` (repeatable) overrides one parameter of a bot or rule; on sweep and
walk-forward `--param name=v1,v2,v3` gives a grid, the cartesian product of every listed
parameter, each set checked by the rule's params before anything runs. A bot or rule holds
`--position-fraction` of equity (default 1) from the rule's entry to its exit, with none of
the daemon's risk engine (stops, targets, trailing, gates): see `backtest.rule_targets`.

Targets fill at the next bar's open with fees and slippage on. Each command prints a short
table and writes one self-contained HTML report (`--report`, default
`<var_dir>/reports/backtest-<command>-<stamp>.html`).

Progress bars go to stderr, tables to stdout. Exit codes: 0 ok, 2 bad arguments or data
(one line naming the problem), 1 any other failure.
"""

from __future__ import annotations

import argparse
import difflib
import itertools
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import numpy.typing as npt
import pandas as pd
from tqdm import tqdm

from backtest.bars import load_bars_file, require_runnable_bars
from backtest.metrics import PerformanceSummary
from backtest.monte_carlo import MonteCarloConfig, MonteCarloResult, bootstrap_returns, resample_trade_pnls
from backtest.replay_command import add_replay_parser, replay_command
from backtest.report import (
    ReportTable,
    number,
    percent,
    print_table,
    stress_rows,
    summary_rows,
    walk_forward_rows,
    walk_forward_trades,
    write_report,
)
from backtest.rule_targets import RULES, RuleTargetsFn, rule_for, rule_name_for_class, rule_targets
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
from backtest.walk_forward import Params, sma_crossover_fn, walk_forward, walk_forward_series, windows
from config.loader import DEFAULT_CONFIG, ConfigError, load_config
from domain.instruments import AssetClass
from domain.market import BarSeries
from ml_models.data import BarDataError, SimulationSettings, check_assets, shipped_bars, simulated_bars
from utils.clock import WALL_CLOCK

DESCRIPTION = (
    "Backtest a registered rule bot, a rule or an SMA crossover: run, sweep, walk-forward, Monte Carlo "
    "and stress, with an HTML report."
)
SHIPPED_ASSET_CLASSES = {"SPX": AssetClass.STOCK, "NDX": AssetClass.STOCK, "BTCUSD": AssetClass.CRYPTO}
SECONDS_PER_YEAR = 365.25 * 86_400
OBJECTIVES = ("sharpe", "sortino", "calmar", "total_return", "cagr")
SWEEP_ROWS_PRINTED = 10
DEFAULT_SLIPPAGE = 0.0001  # never free: half of a 2 bp spread, each side
DEFAULT_FAST, DEFAULT_SLOW = 10, 50
DEFAULT_FAST_GRID, DEFAULT_SLOW_GRID = [5, 10, 20], [50, 100, 200]


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

    def series(self) -> BarSeries:
        """The bars as a strategy reads them (times in epoch seconds, the spacing the median step)."""
        times = self.times.as_unit("ns").asi8.astype(np.float64) / 1e9
        steps = np.diff(times)
        spacing = max(1, round(float(np.median(steps)))) if len(steps) else 1

        def column(name: str) -> FloatArray:
            values: FloatArray = self.frame[name].to_numpy(dtype=np.float64)
            return values

        volume = column("volume") if "volume" in self.frame else np.full(len(times), np.nan)
        return BarSeries(
            self.symbol,
            spacing,
            times,
            column("open"),
            column("high"),
            column("low"),
            column("close"),
            volume,
        )


@dataclass(frozen=True, slots=True)
class RuleChoice:
    """A rule bot (`--bot`) or a bare rule (`--rule`) and the parameter sets to run it with.

    `sets` holds each set's values of the overridden parameters `names`, in that order, on
    top of `base` (the registry's params of a bot, none for a rule); one empty set when
    nothing is overridden. Every set has been checked by the rule's params dataclass.
    """

    label: str
    rule: str
    base: Mapping[str, Any]
    names: tuple[str, ...]
    sets: tuple[tuple[Any, ...], ...]
    position_fraction: float

    def params(self, values: Sequence[Any]) -> dict[str, Any]:
        return {**self.base, **dict(zip(self.names, values, strict=True))}

    def describe(self, values: Sequence[Any]) -> str:
        """`name=value` of each overridden parameter, or what the base params are when none is."""
        if not self.names:
            return "registry params" if self.base else "default params"
        return ", ".join(
            f"{name}={_value_text(value)}" for name, value in zip(self.names, values, strict=True)
        )

    def targets(self, series: BarSeries, values: Sequence[Any]) -> FloatArray:
        return rule_targets(self.rule, self.params(values), series, self.position_fraction)

    def note(self) -> str:
        """How the runs trade, for the report's notes."""
        base = ", ".join(f"{name}={_value_text(value)}" for name, value in self.base.items())
        return (
            f"{self.label}{f' with {base}' if base else ''}: {number(self.position_fraction)} of equity held "
            "from the rule's entry to its exit, without the daemon's risk engine (no stop at 1R, partial "
            "targets, trailing or gates)"
        )


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
        "replay": replay_command,
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
    """One strategy over the bars: summary table, report with equity, drawdown, months, trades."""
    chosen = _single_strategy_of(options)
    bars = load_bars(options, err)
    strategy = chosen(bars)
    result, summary = _run_single(bars, strategy, options)
    _print_summary(out, f"{bars.name}: {strategy.label}", summary, result)
    return write_report(
        _report_path(options),
        title=f"Backtest of {strategy.label} on {bars.name}",
        equity=pd.Series(result.equity[:, 0], index=bars.times),
        trades=result.trades[0],
        summary=summary,
        notes=_notes(bars, options, strategy.note),
    )


def sweep_command(options: argparse.Namespace, out: TextIO, err: TextIO) -> Path:
    """Every parameter set in one vectorized call; the best by `--objective` reported.

    The SMA crossover's sets are the fast x slow pairs (fast < slow); a bot's or rule's the
    grid of its `--param` values."""
    choice = rule_choice(options)
    if choice is not None:
        return _sweep_rule(options, choice, load_bars(options, err), out)
    bars = load_bars(options, err)
    fast_windows, slow_windows = _sma_grid_windows(options)
    _check_windows(fast_windows + slow_windows)
    pairs, result = sweep_sma_crossover(
        bars.open, bars.close, fast_windows, slow_windows, _costs(options), initial_cash=options.cash
    )
    summaries = result.summary(_periods_per_year(options, bars))
    scores, order = _ranked(summaries, options.objective)
    best = int(order[0])
    header = ("fast", "slow", options.objective, "total return", "max drawdown", "trades")
    rows = tuple(
        (str(pairs[i][0]), str(pairs[i][1]), *_score_cells(float(scores[i]), summaries[i])) for i in order
    )
    print(f"{bars.name}: {len(pairs)} pairs, best by {options.objective} first", file=out)
    print_table(out, header, rows[:SWEEP_ROWS_PRINTED])
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


def _sweep_rule(options: argparse.Namespace, choice: RuleChoice, bars: Bars, out: TextIO) -> Path:
    series = bars.series()
    targets = np.column_stack(
        [
            choice.targets(series, values)
            for values in tqdm(choice.sets, desc="parameter sets", unit="set", disable=options.quiet)
        ]
    )
    result = run_targets(bars.open, bars.close, targets, costs=_costs(options), initial_cash=options.cash)
    summaries = result.summary(_periods_per_year(options, bars))
    scores, order = _ranked(summaries, options.objective)
    best = choice.sets[int(order[0])]
    names = choice.names or ("params",)
    header = (*names, options.objective, "total return", "max drawdown", "trades")
    rows = tuple(
        (*_set_cells(choice, choice.sets[i]), *_score_cells(float(scores[i]), summaries[i])) for i in order
    )
    print(
        f"{bars.name}: {choice.label}, {len(choice.sets)} parameter sets, best by {options.objective} first",
        file=out,
    )
    print_table(out, header, rows[:SWEEP_ROWS_PRINTED])
    print(f"best: {choice.label} ({choice.describe(best)})", file=out)
    column = int(order[0])
    return write_report(
        _report_path(options),
        title=f"Sweep of {choice.label} on {bars.name}: best {choice.describe(best)} by {options.objective}",
        equity=pd.Series(result.equity[:, column], index=bars.times),
        trades=result.trades[column],
        summary=summaries[column],
        tables=[ReportTable(f"All {len(choice.sets)} parameter sets, best first", header, rows)],
        notes=[
            f"the equity, summary and trades below are the best set's, {choice.describe(best)}",
            *_notes(bars, options, choice.note()),
        ],
    )


def monte_carlo_command(options: argparse.Namespace, out: TextIO, err: TextIO) -> Path:
    """The run, then its closed trades resampled (or its bar returns block-bootstrapped) `--paths` times."""
    chosen = _single_strategy_of(options)
    bars = load_bars(options, err)
    strategy = chosen(bars)
    result, summary = _run_single(bars, strategy, options)
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
            raise UsageProblem(f"{strategy.label} closed no trade on {bars.name}; try --method returns")
        distribution = resample_trade_pnls(pnls, config, rng)
    else:
        marks = np.concatenate(([options.cash], result.equity[:, 0]))
        distribution = bootstrap_returns(marks[1:] / marks[:-1] - 1.0, config, rng)
    _print_summary(out, f"{bars.name}: {strategy.label}", summary, result)
    _print_monte_carlo(out, distribution, options.method)
    return write_report(
        _report_path(options),
        title=f"Monte Carlo of {strategy.label} on {bars.name} ({options.method})",
        equity=pd.Series(result.equity[:, 0], index=bars.times),
        trades=result.trades[0],
        summary=summary,
        monte_carlo=distribution,
        notes=[_method_note(options.method, options.seed), *_notes(bars, options, strategy.note)],
    )


def stress_command(options: argparse.Namespace, out: TextIO, err: TextIO) -> Path:
    """The standard scenarios each injected at `--at-index` (default the middle bar) of the run."""
    chosen = _single_strategy_of(options)
    bars = load_bars(options, err)
    strategy = chosen(bars)
    count = len(bars.frame)
    at_index = count // 2 if options.at_index is None else options.at_index
    if not 0 <= at_index < count:
        raise UsageProblem(f"--at-index {at_index} is outside the {count} bars (0 .. {count - 1})")
    scenarios = standard_scenarios(bars_per_day=_bars_per_day(bars.times))
    results: list[StressBacktest] = [
        stress_backtest(
            bars.open,
            bars.close,
            strategy.targets,
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
    print(f"{bars.name}: {strategy.label}, shocks at bar {at_index} ({bars.times[at_index]})", file=out)
    print_table(out, table.header, table.rows)
    return write_report(
        _report_path(options),
        title=f"Stress tests of {strategy.label} on {bars.name}",
        equity=pd.Series(baseline.equity[:, 0], index=bars.times),
        trades=baseline.trades[0],
        summary=summary,
        stress=results,
        notes=[
            f"scenarios injected at bar {at_index} ({bars.times[at_index]}) as {bars.asset_class} "
            f"{bars.symbol}; the positions are the unshocked run's",
            *_notes(bars, options, strategy.note),
        ],
    )


def walk_forward_command(options: argparse.Namespace, out: TextIO, err: TextIO) -> Path:
    """Choose the parameters in sample, trade them out of sample, fold by fold; report the stitched record."""
    choice = rule_choice(options)
    if choice is not None and not choice.names:
        raise UsageProblem(
            "walk-forward chooses between parameter sets: give a grid with --param name=v1,v2,..."
        )
    bars = load_bars(options, err)
    if choice is None:
        fast_windows, slow_windows = _sma_grid_windows(options)
        _check_windows(fast_windows + slow_windows)
        grid: list[Params] = [
            (float(fast), float(slow)) for fast, slow in sma_grid(fast_windows, slow_windows)
        ]
    else:
        grid = [tuple(float(value) for value in values) for values in choice.sets]
    folds = windows(len(bars.frame), options.in_sample, options.out_of_sample, anchored=options.anchored)
    run_options: dict[str, Any] = {
        "costs": _costs(options),
        "objective": options.objective,
        "periods_per_year": _periods_per_year(options, bars),
        "initial_cash": options.cash,
        "executor": "dask" if options.scheduler else "local",
        "scheduler_address": options.scheduler,
        "max_workers": options.workers,
        "progress": not options.quiet,
    }
    if choice is None:
        result = walk_forward(bars.open, bars.close, grid, sma_crossover_fn, folds, **run_options)
        subject, sets, title = "SMA crossovers", f"{len(grid)} pairs", f"SMA crossovers on {bars.name}"
        extra_notes: list[str] = []
    else:
        targets_fn = RuleTargetsFn(
            choice.rule, choice.names, tuple(choice.base.items()), choice.position_fraction
        )
        result = walk_forward_series(bars.series(), grid, targets_fn, folds, **run_options)
        subject, sets = choice.label, f"{len(grid)} parameter sets"
        title = f"{choice.label} on {bars.name}"
        extra_notes = [f"chosen parameters, in order: {', '.join(choice.names)}"]
    header, rows = walk_forward_rows(result, bars.times)
    if choice is not None:
        header = tuple(f"chosen ({', '.join(choice.names)})" if cell == "chosen" else cell for cell in header)
        print(
            f"{bars.name}: {subject}, {len(folds)} folds over {sets}, chosen by {options.objective}", file=out
        )
    else:
        print(f"{bars.name}: {len(folds)} folds over {sets}, chosen by {options.objective}", file=out)
    print_table(out, header, rows)
    print_table(out, ("out-of-sample", "value"), summary_rows(result.summary))
    return write_report(
        _report_path(options),
        title=f"Walk-forward of {title}",
        equity=pd.Series(result.equity, index=bars.times[result.bar_index]),
        times=bars.times,
        trades=walk_forward_trades(result),
        summary=result.summary,
        walk_forward=result,
        notes=[
            f"{'anchored' if options.anchored else 'rolling'} windows: {options.in_sample} bars in sample, "
            f"{options.out_of_sample} out of sample",
            *extra_notes,
            *_notes(bars, options, None if choice is None else choice.note()),
        ],
    )


# --- the strategy -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class SingleStrategy:
    """One parameter set's targets over the bars, what to call it and how it trades (for the notes)."""

    label: str
    targets: FloatArray
    note: str | None  # None: the SMA crossover's standard note


def _single_strategy_of(options: argparse.Namespace) -> Callable[[Bars], SingleStrategy]:
    """What run, monte-carlo and stress trade, checked before any bar is loaded; called with the bars."""
    choice = rule_choice(options)
    if choice is None:
        fast, slow = _pair(
            DEFAULT_FAST if options.fast is None else options.fast,
            DEFAULT_SLOW if options.slow is None else options.slow,
        )

        def sma(bars: Bars) -> SingleStrategy:
            return SingleStrategy(
                f"SMA {fast}/{slow}", sma_crossover_targets(bars.close, [fast], [slow]), None
            )

        return sma
    rule = choice
    [values] = rule.sets

    def chosen(bars: Bars) -> SingleStrategy:
        label = f"{rule.label} ({rule.describe(values)})"
        return SingleStrategy(label, rule.targets(bars.series(), values), rule.note())

    return chosen


def rule_choice(options: argparse.Namespace) -> RuleChoice | None:
    """The bot or rule the options name with its checked parameter sets; None for the SMA crossover.

    Raises UsageProblem naming the problem: --fast/--slow with a bot or rule, a bot that is not
    in the registry, not a per-instrument rule or trading more than one instrument, a bad
    --param, or a grid where the command runs one set.
    """
    if options.bot is None and options.rule is None:
        if options.param:
            raise UsageProblem("--param sets a bot's or rule's parameter: give --bot or --rule")
        if options.position_fraction is not None:
            raise UsageProblem(
                "--position-fraction sizes a bot or rule: give --bot or --rule (--rule sma_crossover "
                "for a sized SMA crossover)"
            )
        return None
    if options.fast is not None or options.slow is not None:
        raise UsageProblem(
            "--fast/--slow set the plain SMA crossover's windows and cannot go with --bot or --rule "
            "(use --param fast=... --param slow=... with --rule sma_crossover)"
        )
    if options.bot is not None:
        label, rule_name, base = _registry_bot(options.bot, options.config)
    else:
        rule_name = options.rule
        label, base = f"rule {rule_name}", {}
    rule = rule_for(rule_name)
    names, value_lists = _overrides(options.param)
    if options.command not in GRID_COMMANDS:
        listed = [name for name, values in zip(names, value_lists, strict=True) if len(values) > 1]
        if listed:
            raise UsageProblem(
                f"--param {listed[0]} lists several values; only {' and '.join(GRID_COMMANDS)} take a grid"
            )
    sets = tuple(itertools.product(*value_lists))
    for values in sets:
        try:
            rule.parse({**base, **dict(zip(names, values, strict=True))})
        except ValueError as problem:
            given = ", ".join(f"{n}={_value_text(v)}" for n, v in zip(names, values, strict=True))
            where = f"--param {given}" if given else f"{label}'s params"
            raise UsageProblem(f"{where}: {problem}") from None
    fraction = 1.0 if options.position_fraction is None else options.position_fraction
    return RuleChoice(label, rule_name, base, names, sets, fraction)


GRID_COMMANDS = ("sweep", "walk-forward")


def _registry_bot(name: str, config_path: str) -> tuple[str, str, dict[str, Any]]:
    """(label, rule name, registry params) of the registry's bot `name`."""
    config = load_config(config_path)
    entries = {entry.name: entry for entry in config.registry.bots}
    entry = entries.get(name)
    if entry is None:
        close = difflib.get_close_matches(name, list(entries), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise UsageProblem(
            f"unknown bot {name!r} in {config.registry_path} ({hint}known: {', '.join(sorted(entries))})"
        )
    try:
        rule_name = rule_name_for_class(entry.bot_class)
    except ValueError as problem:
        raise UsageProblem(f"bot {name!r}: {problem}") from None
    if len(entry.instruments) != 1 or any(c in entry.instruments[0] for c in "*?["):
        raise UsageProblem(
            f"bot {name!r} trades {', '.join(entry.instruments)}; the vectorized engine runs one "
            "instrument at a time (register a bot for one, or use --rule with --param)"
        )
    return f"bot {name}: {rule_name}", rule_name, dict(entry.params)


def _overrides(texts: Sequence[str] | None) -> tuple[tuple[str, ...], list[list[bool | int | float]]]:
    """The names and value lists of `--param name=v1,v2,...` texts, in the order given."""
    names: list[str] = []
    value_lists: list[list[bool | int | float]] = []
    for text in texts or ():
        name, equals, values = text.partition("=")
        name = name.strip()
        if not equals or not name or not values.strip():
            raise UsageProblem(f"--param {text!r} is not name=value (or name=v1,v2,...)")
        if name in names:
            raise UsageProblem(f"--param {name} is given twice; list its values once: {name}=v1,v2,...")
        names.append(name)
        value_lists.append([_param_value(name, value) for value in values.split(",")])
    return tuple(names), value_lists


def _param_value(name: str, text: str) -> bool | int | float:
    """A `--param` value: true/false, a whole number or a finite number."""
    word = text.strip()
    if word.lower() in ("true", "false"):
        return word.lower() == "true"
    try:
        return int(word)
    except ValueError:
        pass
    try:
        value = float(word)
    except ValueError:
        raise UsageProblem(f"--param {name}: {word!r} is not a number, true or false") from None
    if not math.isfinite(value):
        raise UsageProblem(f"--param {name}: {word!r} is not a finite number")
    return value


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _set_cells(choice: RuleChoice, values: Sequence[Any]) -> tuple[str, ...]:
    if not choice.names:
        return (choice.describe(values),)
    return tuple(_value_text(value) for value in values)


def _ranked(
    summaries: Sequence[PerformanceSummary], objective: str
) -> tuple[FloatArray, npt.NDArray[np.intp]]:
    """Each set's score and the sets' order, best first (NaN scores last, ties in set order)."""
    scores = np.array([_objective(summary, objective) for summary in summaries])
    order = np.argsort(-np.where(np.isnan(scores), -np.inf, scores), kind="stable")
    return scores, order


def _score_cells(score: float, summary: PerformanceSummary) -> tuple[str, str, str, str]:
    return (
        number(score, 3),
        percent(summary.total_return),
        percent(summary.max_drawdown),
        str(summary.trades),
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


def _bars_per_day(times: pd.DatetimeIndex) -> int:
    """Bars in a day at the bars' median spacing (at least 1): how long the volatility day lasts."""
    if len(times) < 2:
        return 1
    step = float(np.median(np.diff(times.as_unit("s").asi8)))
    return max(1, round(86_400 / step)) if step > 0 else 1


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


def _run_single(
    bars: Bars, strategy: SingleStrategy, options: argparse.Namespace
) -> tuple[VectorResult, PerformanceSummary]:
    result = run_targets(
        bars.open, bars.close, strategy.targets, costs=_costs(options), initial_cash=options.cash
    )
    return result, result.summary(_periods_per_year(options, bars))[0]


def _sma_grid_windows(options: argparse.Namespace) -> tuple[list[int], list[int]]:
    fast: list[int] = DEFAULT_FAST_GRID if options.fast is None else options.fast
    slow: list[int] = DEFAULT_SLOW_GRID if options.slow is None else options.slow
    return list(fast), list(slow)


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


def _notes(bars: Bars, options: argparse.Namespace, strategy: str | None = None) -> list[str]:
    """The bars and the trading rules; `strategy` describes a bot or rule (None: the SMA crossover)."""
    times = bars.times
    trading = (
        f"fills at the next bar's open; fee {percent(options.fee, 3)} and slippage "
        f"{percent(options.slippage, 3)} per side; starting cash {number(options.cash)}"
    )
    return [
        f"{len(times)} bars, {times[0]} .. {times[-1]}; {number(_periods_per_year(options, bars), 1)} "
        "bars a year" + (" (inferred from the bar spacing)" if options.periods_per_year is None else ""),
        f"long while SMA(fast) > SMA(slow), else flat; {trading}"
        if strategy is None
        else f"{strategy}; {trading}",
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
    print_table(out, ("figure", "value"), rows)


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
    print_table(out, ("percentile", "final equity", "max drawdown"), rows)


def _say(err: TextIO) -> Callable[[str], None]:
    def say(message: str) -> None:
        print(message, file=err, flush=True)

    return say


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
        strategy = sub.add_mutually_exclusive_group()
        strategy.add_argument(
            "--bot", metavar="NAME", help="a bot of the registry (a one-instrument rule bot)"
        )
        strategy.add_argument("--rule", choices=sorted(RULES), help="a rule with its default params")
        sub.add_argument(
            "--param",
            action="append",
            metavar="NAME=VALUE",
            help="override a bot's or rule's parameter"
            + ("; NAME=V1,V2,... sweeps it (the grid: every combination)" if grid else ""),
        )
        sub.add_argument(
            "--position-fraction",
            type=_positive_float,
            help="a bot's or rule's position as a fraction of equity (default 1)",
        )
        if grid:
            sub.add_argument(
                "--fast",
                type=_positive_int,
                nargs="+",
                help=f"fast SMA windows (default {DEFAULT_FAST_GRID})",
            )
            sub.add_argument(
                "--slow",
                type=_positive_int,
                nargs="+",
                help=f"slow SMA windows (default {DEFAULT_SLOW_GRID})",
            )
        else:
            sub.add_argument(
                "--fast", type=_positive_int, help=f"fast SMA window, bars (default {DEFAULT_FAST})"
            )
            sub.add_argument(
                "--slow", type=_positive_int, help=f"slow SMA window, bars (default {DEFAULT_SLOW})"
            )
        sub.add_argument("--fee", type=_rate, default=0.001, help="fee per side, fraction of the notional")
        sub.add_argument(
            "--slippage",
            type=_rate,
            default=DEFAULT_SLIPPAGE,
            help="half the bid/ask spread plus slippage, per side, fraction of the price (default 1 bp)",
        )
        sub.add_argument("--cash", type=_positive_float, default=10_000.0, help="starting cash")
        sub.add_argument(
            "--periods-per-year", type=_positive_float, help="bars a year (default: from the bar spacing)"
        )
        sub.add_argument("--report", help="HTML report path (default: <var_dir>/reports/backtest-...)")
        sub.add_argument(
            "--config", default=str(DEFAULT_CONFIG), help="settings TOML (var_dir, and the registry of --bot)"
        )
        sub.add_argument("--quiet", action="store_true", help="no progress bars")

    run = commands.add_parser("run", help="one bot, rule or SMA crossover, with its report")
    common(run, grid=False)

    sweep = commands.add_parser("sweep", help="every parameter set of a grid; the best one's report")
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
    add_replay_parser(commands)
    return parser
