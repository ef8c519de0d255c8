"""The vectorized engine: hand-worked fills, the sweep, no lookahead, and a bar-by-bar reference loop."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
from scipy.optimize import brentq

from backtest.vectorized import (
    Costs,
    run_targets,
    sma_crossover_targets,
    sweep_sma_crossover,
)

OPEN = np.array([100.0, 100.0, 110.0, 120.0, 120.0, 118.0])
CLOSE = np.array([100.0, 105.0, 115.0, 118.0, 121.0, 119.0])
NO_COSTS = Costs(fee_rate=0.0, slippage_rate=0.0)


def test_a_target_fills_at_the_next_open_with_the_fee_on_both_sides() -> None:
    result = run_targets(OPEN, CLOSE, [1.0, 0.0, 0.0, 0.0, 0.0, 0.0], costs=Costs(fee_rate=0.001))
    # decided at bar 0's close, bought at bar 1's open 100 with all the cash, fee included:
    units = 10_000 / (100 * 1.001)  # 99.9000999 units
    # decided flat at bar 1's close, sold at bar 2's open 110, less 0.1 %:
    cash = units * 110 * 0.999  # 10 978.02198
    np.testing.assert_allclose(result.units[:, 0], [0, units, 0, 0, 0, 0], rtol=1e-12)
    np.testing.assert_allclose(result.equity[:, 0], [10_000, units * 105, cash, cash, cash, cash], rtol=1e-12)
    trips = result.trades[0]
    assert (list(trips.entry_index), list(trips.exit_index)) == ([1], [2])
    assert list(trips.entry_price) == [100.0] and list(trips.exit_price) == [110.0]
    assert trips.pnl[0] == pytest.approx(cash - 10_000, rel=1e-12)  # 978.02198
    assert list(result.fills) == [2]


def test_slippage_is_adverse_on_both_sides() -> None:
    costs = Costs(fee_rate=0.0, slippage_rate=0.01)
    result = run_targets(OPEN, CLOSE, [1.0, 0.0, 0.0, 0.0, 0.0, 0.0], costs=costs)
    # buy at 100 * 1.01 = 101: 10 000 / 101 units; sell at 110 * 0.99 = 108.9
    assert result.units[1, 0] == pytest.approx(10_000 / 101)
    assert result.final_equity[0] == pytest.approx(10_000 / 101 * 108.9)  # 10 782.178
    assert result.trades[0].entry_price[0] == pytest.approx(101.0)
    assert result.trades[0].exit_price[0] == pytest.approx(108.9)


def test_per_bar_slippage_overrides_the_flat_rate() -> None:
    slippage = np.array([0.0, 0.02, 0.0, 0.0, 0.0, 0.0])  # only bar 1's open is dear
    result = run_targets(OPEN, CLOSE, [1.0, 0, 0, 0, 0, 0], costs=Costs(0.0, 0.5), slippage=slippage)
    # buy at 102, sell at 110 (bar 2 has no slippage): 10 000 / 102 * 110 = 10 784.31
    assert result.final_equity[0] == pytest.approx(10_000 / 102 * 110)


def test_a_short_gains_when_the_price_falls() -> None:
    open_ = np.array([100.0, 100.0, 90.0, 90.0])
    close = np.array([100.0, 95.0, 90.0, 90.0])
    result = run_targets(open_, close, [-1.0, 0.0, 0.0, 0.0], costs=NO_COSTS)
    # short 100 units at 100: cash 20 000; at bar 1's close 95 equity 20 000 - 9 500 = 10 500;
    # covered at 90: 20 000 - 9 000 = 11 000
    assert result.units[1, 0] == pytest.approx(-100.0)
    np.testing.assert_allclose(result.equity[:, 0], [10_000, 10_500, 11_000, 11_000])
    assert result.trades[0].units[0] == pytest.approx(-100.0)
    assert result.trades[0].pnl[0] == pytest.approx(1_000.0)


def test_a_reversal_closes_one_round_trip_and_opens_another() -> None:
    open_ = np.array([100.0, 100.0, 110.0, 100.0])
    close = np.array([100.0, 105.0, 105.0, 100.0])
    result = run_targets(open_, close, [1.0, -1.0, 0.0, 0.0], costs=NO_COSTS)
    # long 100 at 100, sold at 110 (+1 000), equity 11 000 shorted: 100 units at 110,
    # covered at 100 (+1 000): 12 000
    trips = result.trades[0]
    np.testing.assert_allclose(trips.pnl, [1_000.0, 1_000.0])
    np.testing.assert_allclose(trips.units, [100.0, -100.0])
    assert result.final_equity[0] == pytest.approx(12_000.0)
    assert list(result.fills) == [3]


def test_delay_bars_postpone_the_fill() -> None:
    result = run_targets(OPEN, CLOSE, [1.0, 0, 0, 0, 0, 0], costs=NO_COSTS, delay_bars=1)
    # decided at bar 0, filled at bar 2's open 110; flat decided at bar 1, filled at bar 3's open 120
    assert result.units[1, 0] == 0.0
    assert result.units[2, 0] == pytest.approx(10_000 / 110)
    assert result.final_equity[0] == pytest.approx(10_000 / 110 * 120)


def test_a_position_open_at_the_end_is_marked_to_the_last_close_not_closed() -> None:
    result = run_targets(OPEN, CLOSE, [0, 0, 0, 1.0, 1.0, 1.0], costs=Costs(fee_rate=0.001))
    # bought at bar 4's open 120, marked at bar 5's close 119, no selling fee taken
    assert result.final_equity[0] == pytest.approx(10_000 / (120 * 1.001) * 119)
    assert len(result.trades[0]) == 0
    assert list(result.fills) == [1]


def test_a_target_decided_on_the_last_bar_never_fills() -> None:
    result = run_targets(OPEN, CLOSE, [0, 0, 0, 0, 0, 1.0])
    assert result.final_equity[0] == 10_000.0 and list(result.fills) == [0]


def test_columns_equal_separate_single_runs() -> None:
    rng = np.random.default_rng(5)
    open_, close = random_bars(rng, 400)
    targets = rng.choice([-1.0, 0.0, 0.5, 1.0], size=(400, 6), p=[0.1, 0.5, 0.1, 0.3])
    targets[:, 5] = 0.0  # a set that never trades
    costs = Costs(fee_rate=0.001, slippage_rate=0.0005)
    together = run_targets(open_, close, targets, costs=costs)
    for column in range(6):
        alone = run_targets(open_, close, targets[:, column], costs=costs)
        np.testing.assert_array_equal(together.equity[:, column], alone.equity[:, 0])
        np.testing.assert_array_equal(together.units[:, column], alone.units[:, 0])
        np.testing.assert_array_equal(together.trades[column].pnl, alone.trades[0].pnl)
        assert together.fills[column] == alone.fills[0]


def test_targets_after_a_bar_do_not_change_its_equity() -> None:
    rng = np.random.default_rng(8)
    open_, close = random_bars(rng, 120)
    targets = rng.choice([-1.0, 0.0, 1.0], size=120)
    base = run_targets(open_, close, targets).equity[:, 0]
    for bar in (10, 50, 100):
        changed = targets.copy()
        changed[bar:] = -changed[bar:] + 0.5
        # the target of bar `bar` fills at bar + 1's open: marks through bar `bar` cannot move
        np.testing.assert_array_equal(
            run_targets(open_, close, changed).equity[: bar + 1, 0], base[: bar + 1]
        )


def test_sma_crossover_targets_do_not_look_ahead() -> None:
    _, close = random_bars(np.random.default_rng(2), 150)
    full = sma_crossover_targets(close, [3, 5], [8, 20])
    for bar in range(150):
        truncated = sma_crossover_targets(close[: bar + 1], [3, 5], [8, 20])
        np.testing.assert_array_equal(truncated[-1], full[bar])


def test_sma_crossover_is_long_while_the_fast_average_is_above_the_slow_one() -> None:
    close = np.array([10.0, 11.0, 12.0, 11.0, 9.0, 8.0])
    targets = sma_crossover_targets(close, [2], [3])
    # SMA2: -, 10.5, 11.5, 11.5, 10, 8.5; SMA3: -, -, 11, 11.333, 10.667, 9.333
    np.testing.assert_array_equal(targets[:, 0], [0, 0, 1, 1, 0, 0])


def test_sma_pairs_with_fast_not_below_slow_are_refused() -> None:
    with pytest.raises(ValueError, match="fast < slow"):
        sma_crossover_targets(np.arange(1.0, 30.0), [10, 20], [20, 20])


def test_a_sweep_runs_the_grid_in_one_call_equal_to_single_runs() -> None:
    open_, close = random_bars(np.random.default_rng(4), 600)
    pairs, result = sweep_sma_crossover(open_, close, [5, 10, 30], [20, 30], Costs())
    assert pairs == [(5, 20), (5, 30), (10, 20), (10, 30)]  # (30, 20) and (30, 30) left out
    for column, (fast, slow) in enumerate(pairs):
        alone = run_targets(open_, close, sma_crossover_targets(close, [fast], [slow]))
        np.testing.assert_array_equal(result.equity[:, column], alone.equity[:, 0])


def test_summary_gives_one_performance_summary_per_set() -> None:
    result = run_targets(OPEN, CLOSE, np.array([[1.0, 0.0]] + [[0.0, 0.0]] * 5), costs=NO_COSTS)
    first, second = result.summary(periods_per_year=252)
    # 10 000 -> 11 000 (bought at 100, sold at 110); the idle set earns nothing
    assert first.total_return == pytest.approx(0.1) and first.trades == 1 and first.win_rate == 1.0
    assert second.total_return == 0.0 and second.trades == 0


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ([1.0, np.nan, 0, 0, 0, 0], "targets must be finite"),
        ([1.0, 0, 0], "n_bars=6"),
    ],
)
def test_bad_targets_are_refused(targets: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run_targets(OPEN, CLOSE, targets)


def test_a_target_beyond_what_the_costs_allow_is_refused() -> None:
    flat = np.full(4, 100.0)
    # after the first fill the position is 2 000x equity; the rule x = 1 500 * (1 - 0.001 * (2 000 - x))
    # for a sale down to x solves to x = 3 000, not a sale at all: no fill satisfies it
    with pytest.raises(ValueError, match="too large for the costs"):
        run_targets(flat, flat, [2000.0, 1500.0, 0.0, 0.0])


def test_random_runs_agree_with_a_bar_by_bar_reference_loop() -> None:
    rng = np.random.default_rng(17)
    open_, close = random_bars(rng, 500)
    targets = rng.choice([-1.0, -0.5, 0.0, 0.3, 1.0], size=(500, 3), p=[0.1, 0.1, 0.4, 0.1, 0.3])
    slippage = rng.uniform(0.0, 0.002, size=500)
    costs = Costs(fee_rate=0.001)
    for delay in (0, 2):
        result = run_targets(open_, close, targets, costs=costs, slippage=slippage, delay_bars=delay)
        for column in range(3):
            reference = reference_run(open_, close, targets[:, column], 0.001, slippage, delay)
            np.testing.assert_allclose(result.equity[:, column], reference.equity, rtol=1e-9)
            np.testing.assert_allclose(result.units[:, column], reference.units, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(result.trades[column].pnl, reference.pnls, rtol=1e-9)
            np.testing.assert_array_equal(result.trades[column].entry_index, reference.entries)
            assert result.fills[column] == reference.fills


# ----------------------------------------------------------------------------- helpers
def random_bars(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A geometric random walk; each open a small gap away from the previous close."""
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate(([100.0], close[:-1])) * np.exp(rng.normal(0, 0.002, n))
    return open_, close


@dataclass
class Reference:
    equity: list[float] = field(default_factory=list)
    units: list[float] = field(default_factory=list)
    pnls: list[float] = field(default_factory=list)
    entries: list[int] = field(default_factory=list)
    fills: int = 0


def reference_run(
    open_: np.ndarray, close: np.ndarray, targets: np.ndarray, fee: float, slippage: np.ndarray, delay: int
) -> Reference:
    """The engine's rule written as its definition, one bar at a time: at a fill the new units are
    the root of `units * open = target * equity after paying for the trade`."""
    out = Reference()
    cash, units, held = 10_000.0, 0.0, 0.0
    trip_cash = 0.0  # cash flows of the round trip now open
    for bar in range(len(open_)):
        decided = bar - 1 - delay
        wanted = targets[decided] if decided >= 0 else 0.0
        if wanted != held:
            price, slip = open_[bar], slippage[bar]

            def cash_after(
                new_units: float,
                price: float = price,
                slip: float = slip,
                cash: float = cash,
                units: float = units,
            ) -> float:
                bought = new_units - units
                if bought >= 0:
                    return cash - bought * price * (1 + slip) * (1 + fee)
                return cash - bought * price * (1 - slip) * (1 - fee)

            def mismatch(new_units: float, price: float = price, wanted: float = wanted) -> float:
                return new_units * price - wanted * (cash_after(new_units) + new_units * price)

            reach = 10 * (abs(units) + (cash + units * price) / price)
            new_units = brentq(mismatch, -reach, reach, xtol=1e-14, rtol=1e-15, maxiter=500)
            if wanted == 0.0:
                new_units = 0.0
            new_cash = cash_after(new_units)
            if np.sign(new_units) != np.sign(units):  # the old trip closes, a new one may open
                if units != 0:
                    closing_cash = cash_after(0.0) - cash
                    out.pnls.append(trip_cash + closing_cash)
                    trip_cash = new_cash - cash - closing_cash
                else:
                    trip_cash = new_cash - cash
                if new_units != 0:
                    out.entries.append(bar)
            else:
                trip_cash += new_cash - cash
            out.fills += new_units != units
            cash, units, held = new_cash, new_units, wanted
        out.equity.append(cash + units * close[bar])
        out.units.append(units)
    if units != 0:
        out.entries.pop()  # still open: not a closed round trip
    return out
