"""No strategy looks ahead: what it decides at bar t does not change when later bars exist.

For every t, the decision on the bars known at t (`decide` on the series truncated at t)
must equal the decision a backtest reads at bar t - 1 from indicators computed over the
whole series (`decide_at`). Any indicator that peeked at later bars (a centred window,
a full-series normalisation) would break the equality.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.market import BarSeries
from domain.signals import Side
from strategies import (
    bollinger,
    donchian,
    dual_momentum,
    grid,
    macd_trend,
    multi_momentum,
    pairs,
    rsi2,
    rsi_extremes,
    sma_crossover,
    weekly_momentum,
)
from strategies.decision import Action, StrategyDecision
from tests.strategies.bars import random_walk, series_from_closes
from tests.strategies.test_pairs import cointegrated_pair

RSI2 = rsi2.Rsi2Params(trend_period=10, exit_sma_period=5, atr_period=3, entry_threshold=20, allow_short=True)
BOLLINGER = bollinger.BollingerParams(period=8, num_std=1.5, atr_period=3, allow_short=True)
SMA = sma_crossover.SmaCrossoverParams(fast=3, slow=8, atr_period=3, allow_short=True)
MOMENTUM = dual_momentum.DualMomentumParams(lookback=5, atr_period=3, switch_margin=0.002)
DONCHIAN = donchian.DonchianParams(entry_period=5, exit_period=3, atr_period=3, allow_short=True)
MACD = macd_trend.MacdTrendParams(fast=3, slow=6, signal=3, trend_period=10, atr_period=3, allow_short=True)
RSI_EXTREMES = rsi_extremes.RsiExtremesParams(
    rsi_period=3, oversold=20, exit_sma_period=5, atr_period=3, allow_short=True
)
MULTI_MOMENTUM = multi_momentum.MultiMomentumParams(
    fast_lookback=2, mid_lookback=5, slow_lookback=10, min_return=0.005, atr_period=3, allow_short=True
)
GRID = grid.GridParams(period=10, atr_period=3, allow_short=True)
WEEKLY_MOMENTUM = weekly_momentum.WeeklyMomentumParams(
    lookback_bars=5, threshold=0.01, atr_period=3, allow_short=True
)
PAIRS = pairs.PairsParams(
    formation_bars=20,
    max_pvalue=0.2,
    break_pvalue=0.5,
    entry_z=1.5,
    exit_z=0.3,
    max_holding_bars=8,
    atr_period=3,
)
PAIR_HOLDINGS: tuple[pairs.PairHolding | None, ...] = (
    None,
    pairs.PairHolding(Side.BUY, 2),
    pairs.PairHolding(Side.SELL, 9),
)
HOLDINGS: tuple[Side | None, ...] = (None, Side.BUY, Side.SELL)

walks = st.tuples(st.integers(0, 2**32 - 1), st.integers(2, 80))


def same_prefix(full: npt.NDArray[np.float64], prefix: npt.NDArray[np.float64]) -> bool:
    return bool(np.array_equal(full[: len(prefix)], prefix, equal_nan=True))


def rsi2_decisions(series: BarSeries) -> list[tuple[StrategyDecision, StrategyDecision]]:
    full = rsi2.compute_indicators(series, RSI2)
    pairs = []
    for t in range(1, len(series) + 1):
        known = series.truncated(t)
        prefix = rsi2.compute_indicators(known, RSI2)
        for name in ("rsi", "trend_sma", "exit_sma", "atr"):
            assert same_prefix(getattr(full, name), getattr(prefix, name)), (name, t)
        for holding in HOLDINGS:
            pairs.append(
                (rsi2.decide(known, RSI2, holding), rsi2.decide_at(series, full, t - 1, RSI2, holding))
            )
    return pairs


def bollinger_decisions(series: BarSeries) -> list[tuple[StrategyDecision, StrategyDecision]]:
    full = bollinger.compute_indicators(series, BOLLINGER)
    pairs = []
    for t in range(1, len(series) + 1):
        known = series.truncated(t)
        prefix = bollinger.compute_indicators(known, BOLLINGER)
        for name in ("upper", "middle", "lower", "atr"):
            assert same_prefix(getattr(full, name), getattr(prefix, name)), (name, t)
        for holding in HOLDINGS:
            pairs.append(
                (
                    bollinger.decide(known, BOLLINGER, holding),
                    bollinger.decide_at(series, full, t - 1, BOLLINGER, holding),
                )
            )
    return pairs


def sma_decisions(series: BarSeries) -> list[tuple[StrategyDecision, StrategyDecision]]:
    full = sma_crossover.compute_indicators(series, SMA)
    pairs = []
    for t in range(1, len(series) + 1):
        known = series.truncated(t)
        prefix = sma_crossover.compute_indicators(known, SMA)
        for name in ("fast_sma", "slow_sma", "atr"):
            assert same_prefix(getattr(full, name), getattr(prefix, name)), (name, t)
        for holding in HOLDINGS:
            pairs.append(
                (
                    sma_crossover.decide(known, SMA, holding),
                    sma_crossover.decide_at(series, full, t - 1, SMA, holding),
                )
            )
    return pairs


def donchian_decisions(series: BarSeries) -> list[tuple[StrategyDecision, StrategyDecision]]:
    full = donchian.compute_indicators(series, DONCHIAN)
    pairs = []
    for t in range(1, len(series) + 1):
        known = series.truncated(t)
        prefix = donchian.compute_indicators(known, DONCHIAN)
        for name in ("entry_high", "entry_low", "exit_high", "exit_low", "atr"):
            assert same_prefix(getattr(full, name), getattr(prefix, name)), (name, t)
        for holding in HOLDINGS:
            pairs.append(
                (
                    donchian.decide(known, DONCHIAN, holding),
                    donchian.decide_at(series, full, t - 1, DONCHIAN, holding),
                )
            )
    return pairs


def macd_decisions(series: BarSeries) -> list[tuple[StrategyDecision, StrategyDecision]]:
    full = macd_trend.compute_indicators(series, MACD)
    pairs = []
    for t in range(1, len(series) + 1):
        known = series.truncated(t)
        prefix = macd_trend.compute_indicators(known, MACD)
        for name in ("macd", "macd_signal", "histogram", "trend_sma", "atr"):
            assert same_prefix(getattr(full, name), getattr(prefix, name)), (name, t)
        for holding in HOLDINGS:
            pairs.append(
                (
                    macd_trend.decide(known, MACD, holding),
                    macd_trend.decide_at(series, full, t - 1, MACD, holding),
                )
            )
    return pairs


def rsi_extremes_decisions(series: BarSeries) -> list[tuple[StrategyDecision, StrategyDecision]]:
    full = rsi_extremes.compute_indicators(series, RSI_EXTREMES)
    pairs = []
    for t in range(1, len(series) + 1):
        known = series.truncated(t)
        prefix = rsi_extremes.compute_indicators(known, RSI_EXTREMES)
        for name in ("rsi", "exit_sma", "atr"):
            assert same_prefix(getattr(full, name), getattr(prefix, name)), (name, t)
        for holding in HOLDINGS:
            pairs.append(
                (
                    rsi_extremes.decide(known, RSI_EXTREMES, holding),
                    rsi_extremes.decide_at(series, full, t - 1, RSI_EXTREMES, holding),
                )
            )
    return pairs


def multi_momentum_decisions(series: BarSeries) -> list[tuple[StrategyDecision, StrategyDecision]]:
    full = multi_momentum.compute_indicators(series, MULTI_MOMENTUM)
    pairs = []
    for t in range(1, len(series) + 1):
        known = series.truncated(t)
        prefix = multi_momentum.compute_indicators(known, MULTI_MOMENTUM)
        for name in ("fast_return", "mid_return", "slow_return", "atr"):
            assert same_prefix(getattr(full, name), getattr(prefix, name)), (name, t)
        for holding in HOLDINGS:
            pairs.append(
                (
                    multi_momentum.decide(known, MULTI_MOMENTUM, holding),
                    multi_momentum.decide_at(series, full, t - 1, MULTI_MOMENTUM, holding),
                )
            )
    return pairs


def grid_decisions(series: BarSeries) -> list[tuple[StrategyDecision, StrategyDecision]]:
    full = grid.compute_indicators(series, GRID)
    pairs = []
    for t in range(1, len(series) + 1):
        known = series.truncated(t)
        prefix = grid.compute_indicators(known, GRID)
        for name in ("centre", "atr"):
            assert same_prefix(getattr(full, name), getattr(prefix, name)), (name, t)
        for holding in HOLDINGS:
            pairs.append(
                (grid.decide(known, GRID, holding), grid.decide_at(series, full, t - 1, GRID, holding))
            )
    return pairs


def weekly_momentum_decisions(series: BarSeries) -> list[tuple[StrategyDecision, StrategyDecision]]:
    full = weekly_momentum.compute_indicators(series, WEEKLY_MOMENTUM)
    pairs = []
    for t in range(1, len(series) + 1):
        known = series.truncated(t)
        prefix = weekly_momentum.compute_indicators(known, WEEKLY_MOMENTUM)
        for name in ("lookback_return", "sma", "atr"):
            assert same_prefix(getattr(full, name), getattr(prefix, name)), (name, t)
        for holding in HOLDINGS:
            pairs.append(
                (
                    weekly_momentum.decide(known, WEEKLY_MOMENTUM, holding),
                    weekly_momentum.decide_at(series, full, t - 1, WEEKLY_MOMENTUM, holding),
                )
            )
    return pairs


def pair_decisions(series_a: BarSeries, series_b: BarSeries) -> set[Action]:
    """Checks `decide` on both legs cut at each bar against `decide_at`; returns the actions seen."""
    full = pairs.compute_indicators(series_a, series_b, PAIRS)
    actions = set()
    for t in range(1, len(series_a) + 1):
        known_a, known_b = series_a.truncated(t), series_b.truncated(t)
        for holding in PAIR_HOLDINGS:
            now = pairs.decide(known_a, known_b, PAIRS, holding)
            assert now == pairs.decide_at(series_a, series_b, full, t - 1, PAIRS, holding)
            actions.add(now.action)
    return actions


def momentum_decisions(basket: list[BarSeries]) -> list[tuple[StrategyDecision, StrategyDecision]]:
    full = [dual_momentum.compute_indicators(s, MOMENTUM) for s in basket]
    pairs = []
    for t in range(1, len(basket[0]) + 1):
        known = [s.truncated(t) for s in basket]
        for held in (None, *range(len(basket))):
            now = dual_momentum.decide(known, MOMENTUM, held)
            backtest = dual_momentum.decide_at(basket, full, t - 1, MOMENTUM, held)
            assert now.member == backtest.member
            pairs.append((now.decision, backtest.decision))
    return pairs


def assert_all_equal(pairs: list[tuple[StrategyDecision, StrategyDecision]]) -> set[Action]:
    for now, backtest in pairs:
        assert now == backtest
    return {now.action for now, _ in pairs}


@settings(max_examples=40, deadline=None)
@given(walks)
def test_rsi2_decisions_use_no_future_bars(walk: tuple[int, int]) -> None:
    seed, length = walk
    assert_all_equal(rsi2_decisions(series_from_closes(random_walk(seed, length, step=0.02))))


@settings(max_examples=40, deadline=None)
@given(walks)
def test_bollinger_decisions_use_no_future_bars(walk: tuple[int, int]) -> None:
    seed, length = walk
    assert_all_equal(bollinger_decisions(series_from_closes(random_walk(seed, length, step=0.02))))


@settings(max_examples=40, deadline=None)
@given(walks)
def test_sma_crossover_decisions_use_no_future_bars(walk: tuple[int, int]) -> None:
    seed, length = walk
    assert_all_equal(sma_decisions(series_from_closes(random_walk(seed, length, step=0.02))))


@settings(max_examples=30, deadline=None)
@given(walks)
def test_dual_momentum_decisions_use_no_future_bars(walk: tuple[int, int]) -> None:
    seed, length = walk
    basket = [
        series_from_closes(random_walk(seed + member, length, step=0.01), key=f"x:M{member}")
        for member in range(3)
    ]
    assert_all_equal(momentum_decisions(basket))


@settings(max_examples=40, deadline=None)
@given(walks)
def test_donchian_decisions_use_no_future_bars(walk: tuple[int, int]) -> None:
    seed, length = walk
    assert_all_equal(donchian_decisions(series_from_closes(random_walk(seed, length, step=0.02))))


@settings(max_examples=40, deadline=None)
@given(walks)
def test_macd_trend_decisions_use_no_future_bars(walk: tuple[int, int]) -> None:
    seed, length = walk
    assert_all_equal(macd_decisions(series_from_closes(random_walk(seed, length, step=0.02))))


@settings(max_examples=40, deadline=None)
@given(walks)
def test_rsi_extremes_decisions_use_no_future_bars(walk: tuple[int, int]) -> None:
    seed, length = walk
    assert_all_equal(rsi_extremes_decisions(series_from_closes(random_walk(seed, length, step=0.02))))


@settings(max_examples=40, deadline=None)
@given(walks)
def test_multi_momentum_decisions_use_no_future_bars(walk: tuple[int, int]) -> None:
    seed, length = walk
    assert_all_equal(multi_momentum_decisions(series_from_closes(random_walk(seed, length, step=0.02))))


@settings(max_examples=40, deadline=None)
@given(walks)
def test_grid_decisions_use_no_future_bars(walk: tuple[int, int]) -> None:
    seed, length = walk
    assert_all_equal(grid_decisions(series_from_closes(random_walk(seed, length, step=0.02))))


@settings(max_examples=40, deadline=None)
@given(walks)
def test_weekly_momentum_decisions_use_no_future_bars(walk: tuple[int, int]) -> None:
    seed, length = walk
    assert_all_equal(weekly_momentum_decisions(series_from_closes(random_walk(seed, length, step=0.02))))


@settings(max_examples=10, deadline=None)
@given(st.tuples(st.integers(0, 2**32 - 1), st.integers(2, 60)), st.booleans())
def test_pairs_decisions_use_no_future_bars(walk: tuple[int, int], cointegrated: bool) -> None:
    seed, length = walk
    if cointegrated:
        pair_decisions(*cointegrated_pair(seed, length))
    else:
        pair_decisions(
            series_from_closes(random_walk(seed, length), key="x:A"),
            series_from_closes(random_walk(seed + 1, length), key="x:B"),
        )


Check = Callable[[BarSeries], list[tuple[StrategyDecision, StrategyDecision]]]


def test_the_lookahead_checks_see_entries_and_exits() -> None:
    """The random-walk properties above are not vacuous: over a long walk every action occurs."""
    series = series_from_closes(random_walk(11, 400, step=0.02))
    basket = [series_from_closes(random_walk(11 + m, 400), key=f"x:M{m}") for m in range(3)]
    checks: list[Check] = [
        rsi2_decisions,
        bollinger_decisions,
        sma_decisions,
        donchian_decisions,
        macd_decisions,
        rsi_extremes_decisions,
        multi_momentum_decisions,
        grid_decisions,
        weekly_momentum_decisions,
    ]

    for check in checks:
        assert assert_all_equal(check(series)) == set(Action)
    assert assert_all_equal(momentum_decisions(basket)) == {Action.ENTER_LONG, Action.EXIT, Action.HOLD}
    assert pair_decisions(*cointegrated_pair(11, 150)) == set(Action)
