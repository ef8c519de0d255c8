"""The vectorized backtest engine: target positions in, equity, units and round trips out.

A run is a matrix of target positions, one column per parameter set, each entry the
fraction of equity wanted after that bar closes (1 all-in long, 0 flat, -1 all-in short).
A target decided at bar i's close fills at bar i + 1 + delay_bars's open, never on the bar
that decided it. Only a change of target trades: a held position is not rebalanced as its
price drifts.

The fill rule: after a fill at open price p the position is worth target x equity, both
marked at p, where the equity is what is left after paying the fill's own costs (so an
all-in buy leaves no cash, as a broker's "buy with all my cash" would). Buys pay
p x (1 + slippage), sells get p x (1 - slippage), and the fee is `fee_rate` of the traded
notional at that price. There are no margin calls: a short that runs away can take equity
below zero, and the run goes on.

Why no loop over bars is needed: right after a fill the state (cash, units) is fully set
by the equity and the target, so it is one fixed vector times a scalar. The scalar moves
from fill to fill by a factor that depends only on the two fills' targets, prices and
costs, so all of a run's states are one cumulative product over its fills. The side of a
fill (buy or sell) depends only on the previous target and the price drift since its fill:
a position filled at fraction w of equity is worth w*r / (1 - w + w*r) of it once its price
has moved by r. Everything else is array arithmetic, done for every column at once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import talib

from backtest.metrics import PerformanceSummary, summarize

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Costs:
    """Trading costs per side, as fractions of the traded notional (fee) and of the price (slippage)."""

    fee_rate: float = 0.001
    slippage_rate: float = 0.0  # adverse: buys pay price*(1+s), sells get price*(1-s)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.fee_rate) and 0 <= self.fee_rate < 1):
            raise ValueError(f"fee_rate must be in [0, 1), got {self.fee_rate}")
        if not (math.isfinite(self.slippage_rate) and 0 <= self.slippage_rate < 1):
            raise ValueError(f"slippage_rate must be in [0, 1), got {self.slippage_rate}")


@dataclass(frozen=True, slots=True, eq=False)
class RoundTrips:
    """One set's closed round trips as parallel arrays, oldest first.

    A round trip opens when the position leaves flat (or flips sign) and closes when it
    returns to flat (or flips again). Prices are execution prices (slippage in, fee out);
    `units` are those of the opening fill (negative for a short); `pnl` is net of both
    sides' fees and slippage and includes any resizing fills in between.
    """

    entry_index: IntArray
    exit_index: IntArray
    entry_price: FloatArray
    exit_price: FloatArray
    units: FloatArray
    pnl: FloatArray

    def __len__(self) -> int:
        return len(self.pnl)


@dataclass(frozen=True, slots=True, eq=False)
class VectorResult:
    """A run's marks, one column per parameter set; equity is marked at each bar's close.

    A position still open at the end is marked to the last close and is not in `trades`.
    """

    equity: FloatArray  # (n_bars, n_sets)
    units: FloatArray  # (n_bars, n_sets), held after each bar's open fill
    cash: FloatArray  # (n_bars, n_sets)
    fills: IntArray  # (n_sets,) fills that traded a non-zero quantity
    trades: tuple[RoundTrips, ...]  # one per set
    initial_cash: float

    @property
    def final_equity(self) -> FloatArray:
        result: FloatArray = self.equity[-1].copy()
        return result

    @property
    def n_sets(self) -> int:
        return int(self.equity.shape[1])

    def summary(self, periods_per_year: float) -> list[PerformanceSummary]:
        """One summary per set; returns count from the initial cash, so the first bar's move is in."""
        return [
            summarize(
                self.equity[:, column],
                self.units[:, column],
                self.trades[column].pnl,
                periods_per_year,
                initial_equity=self.initial_cash,
            )
            for column in range(self.n_sets)
        ]


def run_targets(
    open_: npt.ArrayLike,
    close: npt.ArrayLike,
    targets: npt.ArrayLike,
    *,
    costs: Costs = Costs(),
    slippage: npt.ArrayLike | None = None,
    initial_cash: float = 10_000.0,
    delay_bars: int = 0,
) -> VectorResult:
    """Trade every column of `targets` (n_bars,) or (n_bars, n_sets) over the same bars.

    `slippage`, when given, is a per-bar rate, (n_bars,) or (n_bars, n_sets), used instead of
    `costs.slippage_rate` for fills at that bar's open.
    """
    prices_open, prices_close = _prices(open_, close)
    n_bars = len(prices_open)
    wanted = _matrix(targets, n_bars, "targets")
    n_sets = wanted.shape[1]
    if not (math.isfinite(initial_cash) and initial_cash > 0):
        raise ValueError(f"initial_cash must be positive, got {initial_cash}")
    if delay_bars < 0:
        raise ValueError(f"delay_bars must not be negative, got {delay_bars}")
    slip = None if slippage is None else _slippage(slippage, n_bars, n_sets)

    # Each set's targets as one contiguous row: every step below runs along it.
    by_set = np.ascontiguousarray(wanted.T)
    shift = 1 + delay_bars
    decisions = by_set[:, : max(n_bars - shift, 0)]  # those that fill inside the data
    changed = np.empty(decisions.shape, dtype=bool)
    if decisions.shape[1]:
        changed[:, 0] = decisions[:, 0] != 0.0
        np.not_equal(decisions[:, 1:], decisions[:, :-1], out=changed[:, 1:])
    fill_set, decided = np.nonzero(changed)  # ordered by set, then bar
    fill_bar = decided + shift
    target = decisions[fill_set, decided]
    target_before = np.where(decided > 0, decisions[fill_set, decided - 1], 0.0)
    slip_at_fills = costs.slippage_rate if slip is None else slip[fill_bar, fill_set]
    states = _fill_states(
        prices_open[fill_bar], target, target_before, slip_at_fills, costs.fee_rate, fill_set, initial_cash
    )

    # Cash and units stay put between fills: repeat each state over its run of bars, the state
    # before any fill over each set's first run.
    run_start = np.concatenate((np.arange(n_sets) * n_bars, fill_set * n_bars + fill_bar))
    order = np.argsort(run_start, kind="stable")
    run_length = np.diff(np.append(run_start[order], n_sets * n_bars))
    units = np.repeat(np.concatenate((np.zeros(n_sets), states.units))[order], run_length)
    cash = np.repeat(np.concatenate((np.full(n_sets, initial_cash), states.cash))[order], run_length)
    units_by_set = units.reshape(n_sets, n_bars)
    cash_by_set = cash.reshape(n_sets, n_bars)
    equity_by_set = cash_by_set + units_by_set * prices_close

    traded = states.units != states.units_before
    return VectorResult(
        equity=equity_by_set.T,  # (n_bars, n_sets) views, each set's column contiguous
        units=units_by_set.T,
        cash=cash_by_set.T,
        fills=np.bincount(fill_set[traded], minlength=n_sets).astype(np.int64),
        trades=_round_trips(states, fill_bar, fill_set, n_sets),
        initial_cash=float(initial_cash),
    )


@dataclass(frozen=True, slots=True, eq=False)
class _FillStates:
    """Per fill (ordered by set, then bar): units and cash after it, units before, execution price
    and cash paid per unit at the raw open (q: (1+s)(1+f) for a buy, (1-s)(1-f) for a sell)."""

    units: FloatArray
    cash: FloatArray
    units_before: FloatArray
    price: FloatArray
    cash_per_unit: FloatArray
    execution_price: FloatArray  # p*(1+s) for a buy, p*(1-s) for a sell; the fee is on top


def _fill_states(
    price: FloatArray,
    target: FloatArray,
    target_before: FloatArray,
    rate: float | FloatArray,
    fee_rate: float,
    fill_set: IntArray,
    initial_cash: float,
) -> _FillStates:
    """The state after each fill (ordered by set, then bar) at open `price`, `target_before` -> `target`."""
    count = len(price)
    first_of_set = np.ones(count, dtype=bool)
    first_of_set[1:] = fill_set[1:] != fill_set[:-1]
    previous = np.arange(count) - 1  # the same set's previous fill, unless first_of_set

    drift = np.where(first_of_set, 1.0, price / price[previous])
    # The held position's share of equity at this open: w*r / (1 - w + w*r).
    with np.errstate(invalid="ignore", divide="ignore"):
        share_before = target_before * drift / (1.0 - target_before + target_before * drift)
    buying = target >= share_before
    cash_per_unit = np.where(buying, (1.0 + rate) * (1.0 + fee_rate), (1.0 - rate) * (1.0 - fee_rate))
    denominator = 1.0 + target * (cash_per_unit - 1.0)
    if np.any(denominator <= 0):
        raise ValueError("a target is too large for the costs: |target| x cost rate must stay below 1")

    # After a fill with value V = cash + units*p*q before it: units = g*V, cash = (1 - p*q*g)*V.
    units_per_value = target / (price * denominator)
    cash_per_value = 1.0 - price * cash_per_unit * units_per_value
    # V at each fill, per unit of the previous fill's V: the factors chain into a product.
    factor = np.where(
        first_of_set,
        1.0,
        cash_per_value[previous] + price * cash_per_unit * units_per_value[previous],
    )
    value = initial_cash * _cumulative_product_per_set(factor, fill_set, first_of_set)
    units = units_per_value * value
    units_before = np.where(first_of_set, 0.0, units[previous])
    execution_price = price * np.where(buying, 1.0 + rate, 1.0 - rate)
    return _FillStates(units, cash_per_value * value, units_before, price, cash_per_unit, execution_price)


def _cumulative_product_per_set(
    factor: FloatArray, fill_set: IntArray, first_of_set: BoolArray
) -> FloatArray:
    """Running product of `factor` restarting at each set's first fill (no mixing between sets,
    which a single cumprod over all of them would do, and could underflow)."""
    if len(factor) == 0:
        return factor.copy()
    starts = np.flatnonzero(first_of_set)
    rank = np.arange(len(factor)) - np.repeat(starts, np.diff(np.append(starts, len(factor))))
    table = np.ones((int(rank.max()) + 1, len(starts)))
    column = np.cumsum(first_of_set) - 1
    table[rank, column] = factor
    np.cumprod(table, axis=0, out=table)
    result: FloatArray = table[rank, column]
    return result


def _round_trips(
    states: _FillStates, fill_bar: IntArray, fill_set: IntArray, n_sets: int
) -> tuple[RoundTrips, ...]:
    before, after = states.units_before, states.units
    flips = np.sign(after) != np.sign(before)
    opens = flips & (after != 0)
    closes = flips & (before != 0)
    per_unit = states.price * states.cash_per_unit  # cash paid per unit bought, received per unit sold
    # Span ids in fill order; sets are contiguous and start flat, so one running count serves all.
    span_after = np.cumsum(opens) - 1
    span_before = span_after - opens
    spans = int(opens.sum())
    # A closing leg (units before -> 0) belongs to the span held before the fill; an opening
    # leg (0 -> units after) or a resize within a span to the span held after it.
    held_after = after != 0
    leg_after = after - np.where(flips, 0.0, before)
    closing_cash = np.bincount(
        span_before[closes], weights=before[closes] * per_unit[closes], minlength=spans
    )
    other_cash = np.bincount(
        span_after[held_after], weights=leg_after[held_after] * per_unit[held_after], minlength=spans
    )
    pnl = closing_cash.astype(np.float64) - other_cash.astype(np.float64)

    exit_bar = np.full(spans, -1, dtype=np.int64)
    exit_price = np.full(spans, np.nan)
    exit_bar[span_before[closes]] = fill_bar[closes]
    exit_price[span_before[closes]] = states.execution_price[closes]
    entry_bar = fill_bar[opens].astype(np.int64)
    entry_price = states.execution_price[opens]
    entry_units = after[opens]
    closed = exit_bar >= 0
    bounds = np.searchsorted(fill_set[opens], np.arange(n_sets + 1))
    result = []
    for column in range(n_sets):
        rows = slice(bounds[column], bounds[column + 1])
        keep = closed[rows]
        result.append(
            RoundTrips(
                entry_index=entry_bar[rows][keep],
                exit_index=exit_bar[rows][keep],
                entry_price=entry_price[rows][keep],
                exit_price=exit_price[rows][keep],
                units=entry_units[rows][keep],
                pnl=pnl[rows][keep],
            )
        )
    return tuple(result)


def sma_crossover_targets(close: FloatArray, fast: Sequence[int], slow: Sequence[int]) -> FloatArray:
    """Long (1) while SMA(fast) > SMA(slow), flat (0) otherwise and during the warm-up; one column
    per (fast[j], slow[j]) pair. Each SMA at bar i reads closes up to i only."""
    if len(fast) != len(slow) or not fast:
        raise ValueError(f"fast and slow must pair up one to one, got {len(fast)} and {len(slow)} windows")
    bad = [(f, s) for f, s in zip(fast, slow, strict=True) if not 2 <= f < s]
    if bad:
        raise ValueError(f"each pair needs 2 <= fast < slow; refused {bad}")
    prices = np.ascontiguousarray(close, dtype=np.float64)
    # One SMA per distinct window (a handful), shared by every pair that uses it.
    averages = {window: talib.SMA(prices, timeperiod=window) for window in {*fast, *slow}}
    with np.errstate(invalid="ignore"):  # NaN warm-up compares False: flat
        rows = [averages[f] > averages[s] for f, s in zip(fast, slow, strict=True)]
    # Built set by set and handed over transposed: each set's column is contiguous, as the engine reads it.
    return np.vstack(rows).astype(np.float64).T


def sma_grid(fast: Sequence[int], slow: Sequence[int]) -> list[tuple[int, int]]:
    """Every (fast, slow) of the grid with fast < slow, fast-major."""
    pairs = [(f, s) for f in fast for s in slow if f < s]
    if not pairs:
        raise ValueError(f"no fast window is below a slow one: fast {list(fast)}, slow {list(slow)}")
    return pairs


def sweep_sma_crossover(
    open_: FloatArray,
    close: FloatArray,
    fast: Sequence[int],
    slow: Sequence[int],
    costs: Costs = Costs(),
    *,
    initial_cash: float = 10_000.0,
) -> tuple[list[tuple[int, int]], VectorResult]:
    """The whole fast x slow grid (pairs with fast >= slow left out) in one `run_targets` call;
    the pairs come back in column order."""
    pairs = sma_grid(fast, slow)
    targets = sma_crossover_targets(close, [f for f, _ in pairs], [s for _, s in pairs])
    return pairs, run_targets(open_, close, targets, costs=costs, initial_cash=initial_cash)


def _prices(open_: npt.ArrayLike, close: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    prices_open = np.asarray(open_, dtype=np.float64)
    prices_close = np.asarray(close, dtype=np.float64)
    if prices_open.ndim != 1 or prices_close.shape != prices_open.shape:
        raise ValueError(
            "open and close must be 1-D and the same length, "
            f"got {prices_open.shape} and {prices_close.shape}"
        )
    for name, values in (("open", prices_open), ("close", prices_close)):
        bad = np.flatnonzero(~(np.isfinite(values) & (values > 0)))
        if bad.size:
            raise ValueError(f"{name} prices must be finite and positive; bar {bad[0]} has {values[bad[0]]}")
    return prices_open, prices_close


def _matrix(values: npt.ArrayLike, n_bars: int, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, np.newaxis]
    if array.ndim != 2 or array.shape[0] != n_bars:
        raise ValueError(
            f"{name} must be (n_bars,) or (n_bars, n_sets) with n_bars={n_bars}, got {array.shape}"
        )
    if np.isfinite(array).all():
        return array
    bad = np.argwhere(~np.isfinite(array))
    if len(bad):
        raise ValueError(f"{name} must be finite; bar {bad[0][0]}, set {bad[0][1]} is {array[tuple(bad[0])]}")
    return array


def _slippage(values: npt.ArrayLike, n_bars: int, n_sets: int) -> FloatArray:
    rates = _matrix(values, n_bars, "slippage")
    if rates.shape[1] not in (1, n_sets):
        raise ValueError(f"slippage has {rates.shape[1]} columns for {n_sets} sets")
    if np.any((rates < 0) | (rates >= 1)):
        raise ValueError("slippage rates must be in [0, 1)")
    return np.broadcast_to(rates, (n_bars, n_sets))
