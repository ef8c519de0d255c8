"""Walk-forward optimisation: choose parameters in sample, judge them out of sample only.

The bars are cut into folds, each an in-sample (IS) window followed by an out-of-sample (OOS)
one. Per fold every parameter set of the grid is traded over the IS bars (one `run_targets`
call, one column per set), the best by the objective is kept, and only that set is traded
over the OOS bars. The OOS runs, chained one after the other, are the strategy's record.

Honesty rules, enforced by construction:

- A fold's worker is handed the bars up to its `oos_end` and nothing later, so no later bar
  can change a fold's result.
- Targets for the IS run are computed on the closes up to `is_end`, those for the OOS run on
  the closes up to `oos_end` (a targets function reads its input only up to each bar's own
  index, so the history before a window's start serves as indicator warm-up).
- Each run starts flat with cash at the window's first bar: the first possible fill is at the
  open of the window's second bar, so no fill or P&L is counted before the window starts. A
  position still open at a window's last bar is marked to that close (its exit fee is not
  paid: the fill would need the next bar, which is outside the window).

Folds are independent, so they run in parallel: in worker processes on this machine, or as
one task per fold on a Dask cluster.

A targets function reads either the closes only (`walk_forward`, with a `TargetsFn`) or the
whole bars, open, high, low, close and volume (`walk_forward_series`, with a
`SeriesTargetsFn`, as a rule bot's targets need: see `backtest.rule_targets`).
"""

from __future__ import annotations

import itertools
import math
import os
import pickle
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from backtest.metrics import PerformanceSummary, summarize
from backtest.vectorized import (
    Costs,
    FloatArray,
    IntArray,
    RoundTrips,
    VectorResult,
    run_targets,
    sma_crossover_targets,
)
from domain.market import BarSeries

Params = tuple[float, ...]
# closes up to the end of the window being evaluated -> target per bar (1-D, same length).
TargetsFn = Callable[[FloatArray, Params], FloatArray]
# the same from all the bars up to the end of the window (a BarSeries cut there).
SeriesTargetsFn = Callable[[BarSeries, Params], FloatArray]
# "final_equity" or a PerformanceSummary field where higher is better.
Objective = Literal[
    "sharpe",
    "sortino",
    "calmar",
    "cagr",
    "total_return",
    "final_equity",
    "profit_factor",
    "expectancy",
    "win_rate",
]
Executor = Literal["local", "dask"]

DEFAULT_COSTS = Costs()  # the engine's default fee, no slippage
_MIN_WINDOW = 2  # a decision fills at the next bar's open: a 1-bar window could never trade


@dataclass(frozen=True, slots=True)
class Fold:
    """One fold's bar ranges, half-open: IS bars [is_start, is_end), OOS bars [oos_start, oos_end)."""

    index: int
    is_start: int
    is_end: int
    oos_start: int
    oos_end: int

    def __post_init__(self) -> None:
        if self.index < 0:
            raise ValueError(f"a fold index must not be negative, got {self.index}")
        if not 0 <= self.is_start < self.is_end <= self.oos_start < self.oos_end:
            raise ValueError(
                "a fold needs 0 <= is_start < is_end <= oos_start < oos_end, got "
                f"IS [{self.is_start}, {self.is_end}) and OOS [{self.oos_start}, {self.oos_end})"
            )


@dataclass(frozen=True, slots=True)
class WalkForwardWindows:
    """How the bars are cut: fixed-length OOS windows one after the other, each preceded by its IS window.

    Rolling: the IS window has a fixed length and slides by `step` bars per fold. Anchored: the
    IS window always starts at bar 0 and grows by `step` per fold. `step` defaults to
    `out_of_sample`, so the OOS windows tile the bars; it may not be shorter (overlapping OOS
    windows could not be chained into one record). Only whole folds are made: bars after the
    last whole OOS window are left out.
    """

    n_bars: int
    in_sample: int
    out_of_sample: int
    anchored: bool = False
    step: int | None = None

    def __post_init__(self) -> None:
        for name, length in (("in_sample", self.in_sample), ("out_of_sample", self.out_of_sample)):
            if length < _MIN_WINDOW:
                raise ValueError(
                    f"{name} must be at least {_MIN_WINDOW} bars (a decision fills at the next bar's open), "
                    f"got {length}"
                )
        if self.step is not None and self.step < self.out_of_sample:
            raise ValueError(
                f"step {self.step} is shorter than out_of_sample {self.out_of_sample}: "
                "the out-of-sample windows would overlap"
            )
        needed = self.in_sample + self.out_of_sample
        if needed > self.n_bars:
            raise ValueError(
                f"in_sample {self.in_sample} + out_of_sample {self.out_of_sample} = {needed} bars "
                f"do not fit in n_bars {self.n_bars}"
            )

    @property
    def folds(self) -> tuple[Fold, ...]:
        step = self.out_of_sample if self.step is None else self.step
        count = (self.n_bars - self.in_sample - self.out_of_sample) // step + 1
        result = []
        for index in range(count):
            is_end = self.in_sample + index * step
            is_start = 0 if self.anchored else is_end - self.in_sample
            result.append(Fold(index, is_start, is_end, is_end, is_end + self.out_of_sample))
        return tuple(result)


def windows(
    n_bars: int, in_sample: int, out_of_sample: int, *, anchored: bool = False, step: int | None = None
) -> list[Fold]:
    """The folds of `WalkForwardWindows(n_bars, in_sample, out_of_sample, anchored, step)`, in order."""
    return list(WalkForwardWindows(n_bars, in_sample, out_of_sample, anchored, step).folds)


@dataclass(frozen=True, slots=True, eq=False)
class FoldResult:
    """One fold: the chosen params, how they scored in sample, and their out-of-sample run.

    `equity` and `units` are marked at each OOS bar's close, the run starting from the
    walk-forward's `initial_cash`; `trades` carry absolute bar indices.
    """

    fold: Fold
    params: Params
    in_sample_score: float
    in_sample_scores: FloatArray  # one per grid entry, in grid order
    equity: FloatArray
    units: FloatArray
    trades: RoundTrips
    summary: PerformanceSummary


@dataclass(frozen=True, slots=True)
class ParameterStability:
    """How steady the choice was from fold to fold.

    - `chosen_counts`: every parameter set chosen at least once with its number of folds,
      most chosen first (grid order breaks ties).
    - `modal_share`: the most chosen set's folds over all folds (1.0: always the same set).
    - `switches`: consecutive folds whose chosen sets differ; `switch_rate` = switches over
      the folds - 1 consecutive pairs (NaN with one fold).
    - `mean_step_of_range`: per parameter position, the mean |p_k - p_(k-1)| over consecutive
      folds divided by that parameter's range in the grid (0: never moves, 1: jumps from one
      end of the grid to the other every fold; 0 when the grid holds it constant, NaN with one
      fold).
    """

    chosen_counts: tuple[tuple[Params, int], ...]
    modal_share: float
    switches: int
    switch_rate: float
    mean_step_of_range: tuple[float, ...]


@dataclass(frozen=True, slots=True, eq=False)
class WalkForwardResult:
    """The out-of-sample record: per fold results and the folds' OOS runs chained into one.

    Each fold's OOS run starts from the previous fold's ending equity (the first from
    `initial_cash`); `bar_index` gives the bar of each stitched mark. Should the chained
    equity reach zero or below, the later folds do not trade and it stays there.
    """

    folds: tuple[FoldResult, ...]
    grid: tuple[Params, ...]
    objective: Objective
    initial_cash: float
    bar_index: IntArray
    equity: FloatArray
    units: FloatArray
    trade_pnls: FloatArray
    summary: PerformanceSummary
    stability: ParameterStability


@dataclass(frozen=True, slots=True, eq=False)
class _FoldTask:
    """All a worker needs for one fold; the bars stop at the fold's `oos_end`."""

    fold: Fold
    series: BarSeries
    grid: tuple[Params, ...]
    targets_fn: SeriesTargetsFn
    costs: Costs
    objective: Objective
    periods_per_year: float
    initial_cash: float


def sma_crossover_fn(close: FloatArray, params: Params) -> FloatArray:
    """Targets for params (fast, slow): long while SMA(fast) > SMA(slow), flat otherwise."""
    if len(params) != 2 or any(value != int(value) for value in params):
        raise ValueError(f"SMA crossover params are two whole window lengths (fast, slow), got {params}")
    fast, slow = (int(value) for value in params)
    targets: FloatArray = sma_crossover_targets(close, [fast], [slow])[:, 0]
    return targets


@dataclass(frozen=True, slots=True)
class ClosesOnly:
    """A closes-only `TargetsFn` as a `SeriesTargetsFn`: it is handed the series' closes only.

    Plain data around a module-level function, so it pickles to worker processes when the
    function does."""

    targets_fn: TargetsFn

    def __call__(self, series: BarSeries, params: Params) -> FloatArray:
        return self.targets_fn(series.close, params)


def walk_forward(
    open_: npt.ArrayLike,
    close: npt.ArrayLike,
    grid: Sequence[Params],
    targets_fn: TargetsFn,
    folds: Sequence[Fold],
    *,
    costs: Costs = DEFAULT_COSTS,
    objective: Objective = "sharpe",
    periods_per_year: float,
    initial_cash: float = 10_000.0,
    executor: Executor | None = "local",
    scheduler_address: str | None = None,
    max_workers: int | None = None,
    progress: bool = False,
) -> WalkForwardResult:
    """`walk_forward_series` for a targets function of the closes only, on open and close prices.

    The series it builds has no high, low or volume (NaN): `targets_fn` sees the closes only.
    """
    prices_open = np.asarray(open_, dtype=np.float64)
    prices_close = np.asarray(close, dtype=np.float64)
    if prices_open.ndim != 1 or prices_open.shape != prices_close.shape:
        raise ValueError(
            f"open and close must be 1-D and the same length, got {prices_open.shape}, {prices_close.shape}"
        )
    unknown = np.full(len(prices_close), np.nan)
    series = BarSeries(
        instrument_key="closes",
        timeframe_seconds=1,
        times=np.arange(len(prices_close), dtype=np.float64),
        open=prices_open,
        high=unknown,
        low=unknown,
        close=prices_close,
        volume=unknown,
    )
    return walk_forward_series(
        series,
        grid,
        ClosesOnly(targets_fn),
        folds,
        costs=costs,
        objective=objective,
        periods_per_year=periods_per_year,
        initial_cash=initial_cash,
        executor=executor,
        scheduler_address=scheduler_address,
        max_workers=max_workers,
        progress=progress,
    )


def walk_forward_series(
    series: BarSeries,
    grid: Sequence[Params],
    targets_fn: SeriesTargetsFn,
    folds: Sequence[Fold],
    *,
    costs: Costs = DEFAULT_COSTS,
    objective: Objective = "sharpe",
    periods_per_year: float,
    initial_cash: float = 10_000.0,
    executor: Executor | None = "local",
    scheduler_address: str | None = None,
    max_workers: int | None = None,
    progress: bool = False,
) -> WalkForwardResult:
    """Optimise over `grid` in each fold's IS bars, trade the winner over its OOS bars, chain the OOS runs.

    Trades fill at `series.open` and are marked at `series.close`; `targets_fn` is handed the
    series cut at the end of the window it evaluates (read-only arrays).

    The best set maximises `objective` over the IS run (NaN scores count as the worst; ties go
    to the earlier grid entry). `executor`: None runs the folds one by one here; "local" in a
    process pool of `max_workers` (default `os.cpu_count()`; 1 runs them here, one by one);
    "dask" as one task per fold on the Dask scheduler at `scheduler_address`. Worker
    processes receive `targets_fn` by pickling, so it must be a module-level function (no
    lambda, closure or nested function) or an instance of a module-level class holding plain
    data (such as `ClosesOnly` or `backtest.rule_targets.RuleTargetsFn`); a TypeError says so
    otherwise.
    """
    params_grid = _checked_grid(grid)
    if objective not in get_args(Objective):
        raise ValueError(f"objective must be one of {', '.join(get_args(Objective))}; got {objective!r}")
    if not (math.isfinite(periods_per_year) and periods_per_year > 0):
        raise ValueError(f"periods_per_year must be positive, got {periods_per_year}")
    _check_folds(folds, len(series))
    tasks = [
        _FoldTask(
            fold=fold,
            series=series.truncated(fold.oos_end),
            grid=params_grid,
            targets_fn=targets_fn,
            costs=costs,
            objective=objective,
            periods_per_year=periods_per_year,
            initial_cash=initial_cash,
        )
        for fold in folds
    ]
    results = _run_folds(tasks, executor, scheduler_address, max_workers, progress)
    bar_index, equity, units, pnls = stitch_out_of_sample(results, initial_cash)
    return WalkForwardResult(
        folds=tuple(results),
        grid=params_grid,
        objective=objective,
        initial_cash=float(initial_cash),
        bar_index=bar_index,
        equity=equity,
        units=units,
        trade_pnls=pnls,
        summary=summarize(equity, units, pnls, periods_per_year, initial_equity=initial_cash),
        stability=parameter_stability([result.params for result in results], params_grid),
    )


def stitch_out_of_sample(
    folds: Sequence[FoldResult], initial_cash: float
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray]:
    """(bar index, equity, units, closed trades' pnl) of the folds' OOS runs chained in order.

    Each fold ran from `initial_cash`; a run's cash, units and P&L all scale with its starting
    equity, so starting it from the previous fold's ending equity E scales them by E / initial_cash.
    """
    level = float(initial_cash)
    bar_index, equity, units, pnls = [], [], [], []
    for result in folds:
        bar_index.append(np.arange(result.fold.oos_start, result.fold.oos_end, dtype=np.int64))
        if level <= 0:  # nothing left to trade with
            equity.append(np.full(len(result.equity), level))
            units.append(np.zeros(len(result.units)))
            continue
        scale = level / initial_cash
        equity.append(result.equity * scale)
        units.append(result.units * scale)
        pnls.append(result.trades.pnl * scale)
        level = float(equity[-1][-1])
    return (
        np.concatenate(bar_index) if bar_index else np.empty(0, dtype=np.int64),
        np.concatenate(equity) if equity else np.empty(0),
        np.concatenate(units) if units else np.empty(0),
        np.concatenate(pnls) if pnls else np.empty(0),
    )


def parameter_stability(chosen: Sequence[Params], grid: Sequence[Params]) -> ParameterStability:
    """The stability figures of the sets `chosen` fold by fold (see `ParameterStability`)."""
    if not chosen:
        raise ValueError("parameter stability needs at least one fold's choice")
    counts = Counter(chosen)
    grid_order = {params: position for position, params in enumerate(grid)}
    ranked = sorted(counts.items(), key=lambda item: (-item[1], grid_order.get(item[0], len(grid_order))))
    switches = sum(before != after for before, after in itertools.pairwise(chosen))
    pairs = len(chosen) - 1
    values = np.asarray(chosen, dtype=np.float64)
    grid_values = np.asarray(grid, dtype=np.float64)
    spread = grid_values.max(axis=0) - grid_values.min(axis=0)
    if pairs:
        mean_step = np.abs(np.diff(values, axis=0)).mean(axis=0)
        step_of_range = np.divide(mean_step, spread, out=np.zeros_like(mean_step), where=spread > 0)
    else:
        step_of_range = np.full(values.shape[1], np.nan)
    return ParameterStability(
        chosen_counts=tuple(ranked),
        modal_share=ranked[0][1] / len(chosen),
        switches=switches,
        switch_rate=switches / pairs if pairs else math.nan,
        mean_step_of_range=tuple(float(value) for value in step_of_range),
    )


def _run_fold(task: _FoldTask) -> FoldResult:
    """Choose the best set over the IS bars, then trade it over the OOS bars only."""
    fold = task.fold
    in_sample = slice(fold.is_start, fold.is_end)
    is_targets = np.column_stack(
        [_targets(task.targets_fn, task.series, fold.is_end, params)[in_sample] for params in task.grid]
    )
    is_run = run_targets(
        task.series.open[in_sample],
        task.series.close[in_sample],
        is_targets,
        costs=task.costs,
        initial_cash=task.initial_cash,
    )
    scores = _scores(is_run, task.objective, task.periods_per_year)
    best = int(np.argmax(np.where(np.isnan(scores), -np.inf, scores)))
    chosen = task.grid[best]

    out_of_sample = slice(fold.oos_start, fold.oos_end)
    oos_targets = _targets(task.targets_fn, task.series, fold.oos_end, chosen)[out_of_sample]
    oos_run = run_targets(
        task.series.open[out_of_sample],
        task.series.close[out_of_sample],
        oos_targets,
        costs=task.costs,
        initial_cash=task.initial_cash,
    )
    trips = oos_run.trades[0]
    return FoldResult(
        fold=fold,
        params=chosen,
        in_sample_score=float(scores[best]),
        in_sample_scores=scores,
        equity=oos_run.equity[:, 0].copy(),
        units=oos_run.units[:, 0].copy(),
        trades=RoundTrips(
            entry_index=trips.entry_index + fold.oos_start,
            exit_index=trips.exit_index + fold.oos_start,
            entry_price=trips.entry_price,
            exit_price=trips.exit_price,
            units=trips.units,
            pnl=trips.pnl,
        ),
        summary=oos_run.summary(task.periods_per_year)[0],
    )


def _targets(targets_fn: SeriesTargetsFn, series: BarSeries, end: int, params: Params) -> FloatArray:
    """`targets_fn` over the bars before `end` only, handed over read-only."""
    targets = np.asarray(targets_fn(_read_only(series.truncated(end)), params), dtype=np.float64)
    if targets.ndim == 2 and targets.shape[1] == 1:
        targets = targets[:, 0]
    if targets.shape != (end,):
        raise ValueError(
            f"the targets function must return one target per close it is given: {end} closes, "
            f"got shape {targets.shape} for params {params}"
        )
    return targets


def _read_only(series: BarSeries) -> BarSeries:
    """The same bars as views no one can write through."""
    columns = []
    for values in (series.times, series.open, series.high, series.low, series.close, series.volume):
        view = np.asarray(values, dtype=np.float64).view()
        view.flags.writeable = False
        columns.append(view)
    times, open_, high, low, close, volume = columns
    return BarSeries(series.instrument_key, series.timeframe_seconds, times, open_, high, low, close, volume)


def _scores(run: VectorResult, objective: Objective, periods_per_year: float) -> FloatArray:
    if objective == "final_equity":
        return run.final_equity
    return np.array(
        [getattr(summary, objective) for summary in run.summary(periods_per_year)], dtype=np.float64
    )


def _checked_grid(grid: Sequence[Params]) -> tuple[Params, ...]:
    params_grid = tuple(tuple(params) for params in grid)
    if not params_grid:
        raise ValueError("the parameter grid is empty")
    lengths = {len(params) for params in params_grid}
    if len(lengths) != 1 or 0 in lengths:
        raise ValueError(
            f"every parameter set must have the same, non-zero number of values; got lengths {lengths}"
        )
    if len(set(params_grid)) != len(params_grid):
        raise ValueError("the parameter grid repeats a set")
    return params_grid


def _check_folds(folds: Sequence[Fold], n_bars: int) -> None:
    if not folds:
        raise ValueError("no folds to run")
    for fold in folds:
        if fold.oos_end > n_bars:
            raise ValueError(f"fold {fold.index} ends at bar {fold.oos_end}, past the {n_bars} bars given")
    for before, after in itertools.pairwise(folds):
        if after.oos_start < before.oos_end:
            raise ValueError(
                f"fold {after.index}'s out-of-sample bars [{after.oos_start}, {after.oos_end}) start before "
                f"fold {before.index}'s [{before.oos_start}, {before.oos_end}) end: they cannot be chained"
            )


def _run_folds(
    tasks: list[_FoldTask],
    executor: Executor | None,
    scheduler_address: str | None,
    max_workers: int | None,
    progress: bool,
) -> list[FoldResult]:
    if executor not in (None, "local", "dask"):
        raise ValueError(f"executor must be 'local', 'dask' or None, got {executor!r}")
    if max_workers is not None and max_workers < 1:
        raise ValueError(f"max_workers must be at least 1, got {max_workers}")
    if executor == "dask" and not scheduler_address:
        raise ValueError("the dask executor needs a scheduler_address (such as 'tcp://127.0.0.1:8786')")
    workers = max_workers if max_workers is not None else (os.cpu_count() or 1)
    in_process = executor is None or (executor == "local" and workers == 1)
    if not in_process:
        _require_picklable(tasks[0].targets_fn)

    with tqdm(total=len(tasks), disable=not progress, desc="walk-forward folds", unit="fold") as bar:
        if in_process:
            results = []
            for task in tasks:
                results.append(_run_fold(task))
                bar.update()
            return results
        if executor == "local":
            with ProcessPoolExecutor(max_workers=min(workers, len(tasks))) as pool:
                futures = [pool.submit(_run_fold, task) for task in tasks]
                for _ in as_completed(futures):
                    bar.update()
                return [future.result() for future in futures]
        return _run_on_dask(tasks, str(scheduler_address), bar)


def _run_on_dask(tasks: list[_FoldTask], scheduler_address: str, bar: tqdm[None]) -> list[FoldResult]:
    # Imported here: distributed is heavy and only this path needs it.
    from distributed import Client
    from distributed import as_completed as completed_on_dask

    with Client(scheduler_address) as client:  # type: ignore[no-untyped-call]
        futures = [client.submit(_run_fold, task, pure=False) for task in tasks]
        for _ in completed_on_dask(futures):  # type: ignore[no-untyped-call]
            bar.update()
        results: list[FoldResult] = client.gather(futures)
    return results


def _require_picklable(targets_fn: SeriesTargetsFn) -> None:
    try:
        pickle.dumps(targets_fn)
    except (pickle.PicklingError, AttributeError, TypeError) as error:
        named = targets_fn.targets_fn if isinstance(targets_fn, ClosesOnly) else targets_fn
        raise TypeError(
            f"targets_fn {getattr(named, '__qualname__', named)!r} cannot be sent to worker "
            "processes: "
            "it must be a module-level function (not a lambda, closure or nested function); "
            "or run the folds here with executor=None or max_workers=1"
        ) from error
