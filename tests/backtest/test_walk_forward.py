"""Walk-forward: fold boundaries, no lookahead, in-sample choice, stitching, and serial == pool == Dask."""

from __future__ import annotations

from dataclasses import astuple

import numpy as np
import pytest

from backtest.metrics import PerformanceSummary
from backtest.vectorized import Costs, FloatArray, run_targets, sma_crossover_targets, sma_grid
from backtest.walk_forward import (
    Fold,
    Params,
    WalkForwardResult,
    parameter_stability,
    sma_crossover_fn,
    walk_forward,
    windows,
)

NO_COSTS = Costs(fee_rate=0.0, slippage_rate=0.0)
FEES = Costs(fee_rate=0.001, slippage_rate=0.0005)
DAILY = 252.0


def _random_walk(n_bars: int, seed: int) -> tuple[FloatArray, FloatArray]:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n_bars)))
    open_ = np.concatenate(([100.0], close[:-1])) * np.exp(rng.normal(0.0, 0.002, n_bars))
    return open_, close


OPEN, CLOSE = _random_walk(600, seed=7)
FOLDS = windows(600, 200, 100)  # 4 rolling folds, OOS [200, 300) ... [500, 600)
GRID: list[Params] = list(sma_grid([3, 5, 8], [10, 20, 30]))


def constant_targets(close: FloatArray, params: Params) -> FloatArray:
    """The same target on every bar: (0,) stays flat, (1,) stays long."""
    return np.full(len(close), params[0])


class RecordingTargets:
    """SMA crossover targets that remember how many closes each call was given."""

    def __init__(self) -> None:
        self.lengths: list[int] = []

    def __call__(self, close: FloatArray, params: Params) -> FloatArray:
        self.lengths.append(len(close))
        return sma_crossover_fn(close, params)


def _sma_walk_forward(
    open_: FloatArray = OPEN, close: FloatArray = CLOSE, **options: object
) -> WalkForwardResult:
    return walk_forward(
        open_,
        close,
        GRID,
        sma_crossover_fn,
        FOLDS,
        costs=FEES,
        periods_per_year=DAILY,
        **options,  # type: ignore[arg-type]
    )


def _same_summary(first: PerformanceSummary, second: PerformanceSummary) -> bool:
    return bool(np.array_equal(np.array(astuple(first)), np.array(astuple(second)), equal_nan=True))


def _assert_identical(first: WalkForwardResult, second: WalkForwardResult) -> None:
    assert [fold.params for fold in first.folds] == [fold.params for fold in second.folds]
    for one, other in zip(first.folds, second.folds, strict=True):
        assert one.fold == other.fold
        np.testing.assert_array_equal(one.in_sample_scores, other.in_sample_scores)
        np.testing.assert_array_equal(one.equity, other.equity)
        np.testing.assert_array_equal(one.trades.pnl, other.trades.pnl)
        assert _same_summary(one.summary, other.summary)
    np.testing.assert_array_equal(first.equity, second.equity)
    np.testing.assert_array_equal(first.bar_index, second.bar_index)
    assert _same_summary(first.summary, second.summary)
    assert first.stability == second.stability


# --- windows ---------------------------------------------------------------------------------


def test_rolling_windows_slide_a_fixed_in_sample_by_the_out_of_sample_length() -> None:
    # (10 - 4 - 2) // 2 + 1 = 3 folds; each IS is 4 bars ending where its 2-bar OOS starts
    assert windows(10, 4, 2) == [Fold(0, 0, 4, 4, 6), Fold(1, 2, 6, 6, 8), Fold(2, 4, 8, 8, 10)]


def test_a_longer_step_skips_bars_and_the_last_partial_fold_is_left_out() -> None:
    # (11 - 6) // 3 + 1 = 2 folds; bars 6 and 9..10 are in no OOS window
    assert windows(11, 4, 2, step=3) == [Fold(0, 0, 4, 4, 6), Fold(1, 3, 7, 7, 9)]


def test_anchored_windows_start_every_in_sample_at_bar_zero() -> None:
    assert windows(10, 4, 2, anchored=True) == [
        Fold(0, 0, 4, 4, 6),
        Fold(1, 0, 6, 6, 8),
        Fold(2, 0, 8, 8, 10),
    ]


def test_windows_that_do_not_fit_are_refused_naming_the_numbers() -> None:
    with pytest.raises(ValueError, match=r"in_sample 4 \+ out_of_sample 2 = 6 bars do not fit in n_bars 5"):
        windows(5, 4, 2)
    with pytest.raises(ValueError, match="step 1 is shorter than out_of_sample 2"):
        windows(10, 4, 2, step=1)
    with pytest.raises(ValueError, match=r"out_of_sample must be at least 2 bars .*, got 1"):
        windows(10, 4, 1)
    with pytest.raises(ValueError, match=r"in_sample must be at least 2 bars .*, got 0"):
        windows(10, 0, 2)


def test_a_fold_whose_out_of_sample_starts_inside_its_in_sample_is_refused() -> None:
    with pytest.raises(ValueError, match=r"IS \[0, 5\) and OOS \[4, 6\)"):
        Fold(0, 0, 5, 4, 6)


def test_overlapping_out_of_sample_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="cannot be chained"):
        overlapping = [Fold(0, 0, 100, 100, 200), Fold(1, 50, 150, 150, 250)]
        walk_forward(OPEN, CLOSE, GRID, sma_crossover_fn, overlapping, periods_per_year=DAILY, executor=None)


# --- a hand-worked walk-forward -----------------------------------------------------------------


def test_a_hand_worked_walk_forward_picks_in_sample_and_counts_out_of_sample_only() -> None:
    open_ = np.array([10.0, 10.0, 11.0, 12.0, 13.0, 12.0, 11.0, 11.0])
    close = np.array([10.0, 11.0, 12.0, 13.0, 12.0, 11.0, 11.0, 12.0])
    folds = windows(8, 4, 2)  # IS [0, 4) OOS [4, 6); IS [2, 6) OOS [6, 8)
    result = walk_forward(
        open_,
        close,
        [(0.0,), (1.0,)],
        constant_targets,
        folds,
        costs=NO_COSTS,
        objective="final_equity",
        periods_per_year=DAILY,
        executor=None,
    )
    first, second = result.folds
    # Fold 0 IS: long buys at bar 1's open 10 -> 1 000 units, worth 1 000 x 13 = 13 000 at bar 3 > flat 10 000
    assert first.params == (1.0,)
    np.testing.assert_allclose(first.in_sample_scores, [10_000.0, 13_000.0], rtol=1e-12)
    # Fold 0 OOS starts flat at bar 4 (the long decided in sample, at bar 3's close, is not carried over);
    # bar 4's decision buys at bar 5's open 12: 10 000 / 12 x 11 = 9 166.67 at bar 5's close
    np.testing.assert_allclose(first.equity, [10_000.0, 10_000.0 / 12.0 * 11.0], rtol=1e-12)
    assert list(first.units) == [0.0, pytest.approx(10_000.0 / 12.0)]
    # Fold 1 IS: long buys at bar 3's open 12, worth 10 000 / 12 x 11 = 9 166.67 at bar 5 < flat 10 000
    assert second.params == (0.0,)
    assert second.in_sample_score == 10_000.0
    # Stitched: fold 1 stays flat on fold 0's ending equity
    np.testing.assert_allclose(result.equity, [10_000.0] + [10_000.0 / 12.0 * 11.0] * 3, rtol=1e-12)
    assert list(result.bar_index) == [4, 5, 6, 7]
    assert result.summary.total_return == pytest.approx(11.0 / 12.0 - 1.0)  # -8.33 %
    # one switch in one pair of folds; the flag moves across its whole grid range (0 to 1)
    assert result.stability.switches == 1
    assert result.stability.switch_rate == 1.0
    assert result.stability.mean_step_of_range == (1.0,)
    assert result.stability.chosen_counts == (((0.0,), 1), ((1.0,), 1))  # a tie: grid order


def test_parameter_stability_counts_choices_switches_and_steps() -> None:
    grid = sma_grid([5, 8], [20, 30])  # fast spans 8 - 5 = 3, slow 30 - 20 = 10
    stability = parameter_stability([(5, 20), (5, 20), (8, 30), (5, 20)], grid)
    assert stability.chosen_counts == (((5, 20), 3), ((8, 30), 1))
    assert stability.modal_share == 0.75
    assert stability.switches == 2 and stability.switch_rate == pytest.approx(2 / 3)
    # steps (0, 0), (3, 10), (3, 10): means (2, 20/3); over the ranges (2/3, 2/3)
    assert stability.mean_step_of_range == pytest.approx((2 / 3, 2 / 3))


# --- no lookahead -------------------------------------------------------------------------------


def test_the_targets_function_never_sees_a_bar_past_the_window_it_evaluates() -> None:
    for fold in FOLDS:
        recorder = RecordingTargets()
        walk_forward(OPEN, CLOSE, GRID, recorder, [fold], periods_per_year=DAILY, executor=None)
        # one call per grid entry on the closes up to is_end, then one up to oos_end
        assert recorder.lengths == [fold.is_end] * len(GRID) + [fold.oos_end]


def test_changing_bars_after_a_fold_leaves_that_fold_unchanged() -> None:
    cut = FOLDS[1].oos_end  # 400
    open_, close = OPEN.copy(), CLOSE.copy()
    shock = np.linspace(1.0, 0.5, len(close) - cut)  # a crash the first two folds must not know about
    open_[cut:] *= shock
    close[cut:] *= shock
    base, changed = _sma_walk_forward(executor=None), _sma_walk_forward(open_, close, executor=None)
    for fold in (0, 1):
        assert changed.folds[fold].params == base.folds[fold].params
        np.testing.assert_array_equal(changed.folds[fold].in_sample_scores, base.folds[fold].in_sample_scores)
        np.testing.assert_array_equal(changed.folds[fold].equity, base.folds[fold].equity)
    np.testing.assert_array_equal(changed.equity[:200], base.equity[:200])
    assert not np.array_equal(changed.equity[200:], base.equity[200:])  # the later folds did see it


def test_no_fill_happens_before_the_out_of_sample_window_starts() -> None:
    result = _sma_walk_forward(executor=None)
    for fold in result.folds:
        assert fold.units[0] == 0.0 and fold.equity[0] == 10_000.0
        assert np.all(fold.trades.entry_index > fold.fold.oos_start)
        assert np.all(fold.trades.exit_index < fold.fold.oos_end)


# --- the choice and the stitching ---------------------------------------------------------------


def test_the_chosen_params_are_the_in_sample_argmax_of_the_objective() -> None:
    result = _sma_walk_forward(executor=None, objective="sharpe")
    fast, slow = [int(f) for f, _ in GRID], [int(s) for _, s in GRID]
    for fold in result.folds:
        start, end = fold.fold.is_start, fold.fold.is_end
        targets = sma_crossover_targets(CLOSE[:end], fast, slow)[start:end]
        run = run_targets(OPEN[start:end], CLOSE[start:end], targets, costs=FEES)
        sharpes = np.array([summary.sharpe for summary in run.summary(DAILY)])
        assert fold.params == GRID[int(np.nanargmax(sharpes))]
        assert fold.in_sample_score == pytest.approx(np.nanmax(sharpes), rel=1e-12)
    assert len({fold.params for fold in result.folds}) > 1  # the choice does move on this data


def test_the_stitched_equity_chains_each_fold_from_the_previous_ending_equity() -> None:
    result = _sma_walk_forward(executor=None)
    cash, pieces = 10_000.0, []
    for fold in result.folds:
        start, end = fold.fold.oos_start, fold.fold.oos_end
        targets = sma_crossover_targets(CLOSE[:end], [int(fold.params[0])], [int(fold.params[1])])[start:end]
        run = run_targets(OPEN[start:end], CLOSE[start:end], targets, costs=FEES, initial_cash=cash)
        pieces.append(run.equity[:, 0])
        cash = float(run.final_equity[0])
    np.testing.assert_allclose(result.equity, np.concatenate(pieces), rtol=1e-12)
    assert result.summary.total_return == pytest.approx(cash / 10_000.0 - 1.0, rel=1e-12)
    assert result.summary.trades == sum(fold.summary.trades for fold in result.folds)


# --- executors ----------------------------------------------------------------------------------


def test_serial_process_pool_and_dask_runs_give_identical_results() -> None:
    from distributed import LocalCluster

    serial = _sma_walk_forward(executor="local", max_workers=1)
    pooled = _sma_walk_forward(executor="local", max_workers=2)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:  # type: ignore[no-untyped-call]
        on_dask = _sma_walk_forward(executor="dask", scheduler_address=cluster.scheduler_address)
    _assert_identical(serial, pooled)
    _assert_identical(serial, on_dask)


def test_a_targets_function_that_cannot_be_pickled_is_refused_for_worker_processes() -> None:
    def nested(close: FloatArray, params: Params) -> FloatArray:
        return sma_crossover_fn(close, params)

    with pytest.raises(TypeError, match="must be a module-level function"):
        walk_forward(
            OPEN, CLOSE, GRID, nested, FOLDS, periods_per_year=DAILY, executor="local", max_workers=2
        )


def test_the_dask_executor_needs_a_scheduler_address() -> None:
    with pytest.raises(ValueError, match="needs a scheduler_address"):
        _sma_walk_forward(executor="dask")
