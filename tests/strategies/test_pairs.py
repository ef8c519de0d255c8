"""Pairs on a cointegrated pair: hedge ratio, z-score and p-value per window, and the z thresholds.

Two kinds of data. A hand-made 10-bar window whose hedge ratio and z-score can be worked by
hand (its cointegration gate is opened wide, `max_pvalue` 1, so only z decides), and seeded
generated pairs for the p-value gate, with statsmodels as the oracle: `coint` for the
p-value, `OLS` for the hedge ratio and the spread.

The hand-made window: log B_i = log 100 + 0.01 i for i = 1..10, log A_i = 1.5 log B_i + 0.01 e_i.
A residual pattern e orthogonal to 1 and to i leaves the OLS fit at beta 1.5 and intercept 0
exactly, so the spread log A - 1.5 log B is 0.01 e, with mean 0. Two such patterns:

  u = (8, 5, 2, -1, -4, -7, -10, -13, -16) / 36 for i = 1..9, then u_10 = 1
      sum u = -36/36 + 1 = 0; sum i u_i = (8 + 10 + 6 - 4 - 20 - 42 - 70 - 104 - 144) / 36 + 10 = 0
      sum u^2 = 684 / 1296 + 1 = 1.527778; std = sqrt(1.527778 / 10) = 0.390868
      z at bar 10 = 1 / 0.390868 = +2.558409 (for any scale of u)
  w = (1, -2, 0, 2, -1, 0, 0, 0, 0, 0): sum 0, sum i w_i = 1 - 4 + 8 - 5 = 0, sum w^2 = 10,
      sum u w = (8 - 10 - 2 + 4) / 36 = 0; z at bar 10 = 0
  u + w: std = sqrt((1.527778 + 10) / 10) = 1.073675, z at bar 10 = 1 / 1.073675 = +0.931381
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
import statsmodels.api as sm
from statsmodels.tsa.stattools import coint

from domain.market import BarSeries
from domain.signals import Side
from strategies.decision import Action
from strategies.pairs import (
    PairHolding,
    PairsParams,
    cointegration_statistics,
    compute_indicators,
    decide,
    decide_at,
)
from tests.strategies.bars import series_from_closes, with_last_close

STEPS = np.arange(1, 11, dtype=np.float64)
U = np.append((11 - 3 * STEPS[:9]) / 36, 1.0)
W = np.array([1.0, -2, 0, 2, -1, 0, 0, 0, 0, 0])
Z_U = 2.558409  # z of the pattern u at its last bar
Z_U_PLUS_W = 0.931381
U_SPREAD_STD = 0.01 * 0.390868

HAND = PairsParams(formation_bars=10, atr_period=3, max_pvalue=1.0, break_pvalue=1.0)
GENERATED = PairsParams(formation_bars=60, atr_period=5)


def log_b() -> npt.NDArray[np.float64]:
    return math.log(100) + 0.01 * STEPS


def hand_pair(residual: npt.NDArray[np.float64]) -> tuple[BarSeries, BarSeries]:
    """The 10-bar window with log A = 1.5 log B + 0.01 x `residual`."""
    log_a = 1.5 * log_b() + 0.01 * residual
    return (
        series_from_closes(np.exp(log_a).tolist(), key="x:A"),
        series_from_closes(np.exp(log_b()).tolist(), key="x:B"),
    )


def cointegrated_pair(seed: int, length: int) -> tuple[BarSeries, BarSeries]:
    """B a geometric random walk (1 % a bar); log A = 1.5 log B - 0.5 log 100 + AR(1) noise with
    coefficient 0.5 and 0.5 % shocks: cointegrated with hedge ratio 1.5."""
    rng = np.random.default_rng(seed)
    log_b = math.log(100) + np.concatenate([[0.0], np.cumsum(rng.normal(0.0, 0.01, length - 1))])
    shocks = rng.normal(0.0, 0.005, length)
    noise = np.zeros(length)
    for t in range(1, length):
        noise[t] = 0.5 * noise[t - 1] + shocks[t]
    log_a = 1.5 * log_b - 0.5 * math.log(100) + noise
    return (
        series_from_closes(np.exp(log_a).tolist(), key="x:A", half_range=0.2),
        series_from_closes(np.exp(log_b).tolist(), key="x:B", half_range=0.2),
    )


def independent_pair(seed: int, length: int) -> tuple[BarSeries, BarSeries]:
    """Two independent geometric random walks (1 % a bar): not cointegrated."""
    rng = np.random.default_rng(seed)
    walks = [
        100 * np.exp(np.concatenate([[0.0], np.cumsum(rng.normal(0.0, 0.01, length - 1))])) for _ in "AB"
    ]
    return (
        series_from_closes(walks[0].tolist(), key="x:A"),
        series_from_closes(walks[1].tolist(), key="x:B"),
    )


def oracle(series_a: BarSeries, series_b: BarSeries, index: int, window: int) -> tuple[float, float, float]:
    """statsmodels' p-value, hedge ratio and z-score for the window ending at bar `index`."""
    log_a = np.log(series_a.close[index - window + 1 : index + 1])
    log_b = np.log(series_b.close[index - window + 1 : index + 1])
    fit = sm.OLS(log_a, sm.add_constant(log_b)).fit()
    residuals = fit.resid  # the spread minus its mean: OLS with a constant leaves residuals of mean 0
    pvalue = coint(log_a, log_b, trend="c", maxlag=1, autolag=None)[1]
    return float(pvalue), float(fit.params[1]), float(residuals[-1] / np.std(residuals))


def test_window_statistics_give_the_hand_worked_hedge_ratio_spread_and_z() -> None:
    log_a = 1.5 * log_b() + 0.01 * U

    statistics = cointegration_statistics(log_a, log_b(), adf_lags=1)

    assert statistics is not None
    assert statistics.hedge_ratio == pytest.approx(1.5, abs=1e-9)
    assert statistics.spread_mean == pytest.approx(0.0, abs=1e-9)
    assert statistics.spread == pytest.approx(0.01, abs=1e-9)  # 0.01 x u_10
    assert statistics.spread_std == pytest.approx(U_SPREAD_STD, rel=1e-5)
    assert statistics.zscore == pytest.approx(Z_U, rel=1e-6)
    assert statistics.pvalue == pytest.approx(coint(log_a, log_b(), maxlag=1, autolag=None)[1], rel=1e-12)


def test_rolling_statistics_equal_statsmodels_on_each_window() -> None:
    series_a, series_b = cointegrated_pair(7, 200)

    indicators = compute_indicators(series_a, series_b, GENERATED)

    assert np.isnan(indicators.pvalue[:59]).all()  # the first window ends at bar 59
    for index in (59, 100, 140, 199):
        pvalue, hedge_ratio, z = oracle(series_a, series_b, index, 60)
        assert indicators.pvalue[index] == pytest.approx(pvalue, rel=1e-9)
        assert indicators.hedge_ratio[index] == pytest.approx(hedge_ratio, rel=1e-9)
        assert indicators.zscore[index] == pytest.approx(z, rel=1e-7)
    assert np.nanmedian(indicators.hedge_ratio) == pytest.approx(1.5, abs=0.05)  # the pair's true ratio
    assert np.nanmax(indicators.pvalue) < 0.05  # cointegrated in every window


def test_spread_stretched_above_its_mean_sells_a_and_buys_b() -> None:
    series_a, series_b = hand_pair(U)  # z +2.558 > entry_z 2
    pvalue = coint(np.log(series_a.close), np.log(series_b.close), maxlag=1, autolag=None)[1]

    decision = decide(series_a, series_b, HAND, None)

    assert decision.action is Action.ENTER_SHORT
    assert decision.legs is not None
    leg_a, leg_b = decision.legs
    assert (leg_a.side, leg_b.side) == (Side.SELL, Side.BUY)
    assert decision.zscore == pytest.approx(Z_U, rel=1e-6)
    assert decision.hedge_ratio == pytest.approx(1.5, abs=1e-9)
    assert leg_a.close == pytest.approx(series_a.close[-1])
    assert leg_a.stop == pytest.approx(leg_a.close + 3 * leg_a.atr)  # a short's stop is above
    assert leg_b.stop == pytest.approx(leg_b.close - 3 * leg_b.atr)
    # edge: (|z| - exit_z) x std / (1 + beta) = (2.558409 - 0.5) x 0.00390868 / 2.5 = 0.0032182
    assert decision.edge == pytest.approx(0.0032182, rel=1e-4)
    # confidence from the p-value: 0.5 + 0.4 x (1 - p / max_pvalue 1)
    assert decision.confidence == pytest.approx(0.5 + 0.4 * (1 - pvalue))
    assert decision.evidence["zscore"] == pytest.approx(Z_U, rel=1e-6)


def test_spread_stretched_below_its_mean_buys_a_and_sells_b() -> None:
    decision = decide(*hand_pair(-U), HAND, None)  # z -2.558

    assert decision.action is Action.ENTER_LONG
    assert decision.legs is not None
    assert (decision.legs[0].side, decision.legs[1].side) == (Side.BUY, Side.SELL)


def test_spread_inside_the_entry_band_is_no_entry() -> None:
    series_a, series_b = hand_pair(U)
    demanding = PairsParams(formation_bars=10, atr_period=3, max_pvalue=1.0, break_pvalue=1.0, entry_z=2.6)

    decision = decide(series_a, series_b, demanding, None)  # 2.558 < 2.6

    assert decision.action is Action.HOLD
    assert decision.legs is None
    assert "inside ±2.6 standard deviations" in decision.reason


def test_held_pair_is_kept_until_the_spread_is_back_inside_exit_z() -> None:
    series_a, series_b = hand_pair(U + W)  # z +0.931
    short_spread = PairHolding(Side.SELL, bars_held=5)
    wider_exit = PairsParams(formation_bars=10, atr_period=3, max_pvalue=1.0, break_pvalue=1.0, exit_z=1.0)

    held = decide(series_a, series_b, HAND, short_spread)  # 0.931 is not below exit_z 0.5
    closed = decide(series_a, series_b, wider_exit, short_spread)  # 0.931 < 1.0

    assert held.action is Action.HOLD
    assert held.zscore == pytest.approx(Z_U_PLUS_W, rel=1e-6)
    assert closed.action is Action.EXIT
    assert "spread back within 1 standard deviations" in closed.reason
    assert decide(series_a, series_b, HAND, None).action is Action.HOLD  # flat: no entry at 0.931


@pytest.mark.parametrize("side_a", [Side.BUY, Side.SELL])
def test_spread_back_at_its_mean_closes_either_side(side_a: Side) -> None:
    decision = decide(*hand_pair(W), HAND, PairHolding(side_a, bars_held=5))  # z 0

    assert decision.action is Action.EXIT
    assert decision.legs is None
    assert decision.confidence == 1.0


def test_spread_jumping_over_the_band_in_one_bar_closes() -> None:
    # Long the spread (entered below -2), now at +2.558: past -exit_z, the reversion is done.
    decision = decide(*hand_pair(U), HAND, PairHolding(Side.BUY, bars_held=5))

    assert decision.action is Action.EXIT


def test_pair_is_closed_after_max_holding_bars() -> None:
    series_a, series_b = hand_pair(U + W)  # z +0.931: the spread alone would keep it

    assert decide(series_a, series_b, HAND, PairHolding(Side.SELL, bars_held=119)).action is Action.HOLD
    decision = decide(series_a, series_b, HAND, PairHolding(Side.SELL, bars_held=120))

    assert decision.action is Action.EXIT
    assert "held 120 bars, the limit is 120" in decision.reason


def test_generated_cointegrated_pair_enters_when_z_passes_entry_z() -> None:
    # Seed 7, bar 140: statsmodels gives z +2.04 and p-value 0.0004 on the 60-bar window.
    series_a, series_b = cointegrated_pair(7, 200)
    pvalue, _, z = oracle(series_a, series_b, 140, 60)
    assert pvalue < 0.05 and z > 2.0

    decision = decide(series_a.truncated(141), series_b.truncated(141), GENERATED, None)

    assert decision.action is Action.ENTER_SHORT
    assert decision.zscore == pytest.approx(z, rel=1e-7)


def test_walking_a_cointegrated_pair_enters_beyond_entry_z_and_exits_inside_exit_z() -> None:
    series_a, series_b = cointegrated_pair(7, 200)
    indicators = compute_indicators(series_a, series_b, GENERATED)
    holding: PairHolding | None = None
    entries: list[int] = []
    exits: list[int] = []
    for index in range(len(series_a)):
        decision = decide_at(series_a, series_b, indicators, index, GENERATED, holding)
        z = indicators.zscore[index]
        if decision.legs is not None:
            assert abs(z) > 2.0 and indicators.pvalue[index] < 0.05
            holding = PairHolding(decision.legs[0].side, 0)
            entries.append(index)
        elif decision.action is Action.EXIT:
            assert holding is not None
            # Every window's p-value is below 0.05 (see above) and no trade lasts 120 bars: only
            # the spread's return to the exit band can close it.
            assert (z < 0.5) if holding.side_a is Side.SELL else (z > -0.5)
            holding = None
            exits.append(index)
        elif holding is not None:
            holding = PairHolding(holding.side_a, holding.bars_held + 1)

    assert len(entries) >= 3 and len(exits) >= 3


def test_independent_walks_are_not_entered_and_a_held_pair_closes_when_cointegration_breaks() -> None:
    # Seed 3, bar 112: statsmodels gives z +2.85 but a p-value of 0.47, above break_pvalue 0.2.
    series_a, series_b = (s.truncated(113) for s in independent_pair(3, 200))
    pvalue, _, z = oracle(series_a, series_b, 112, 60)
    assert pvalue > 0.2 and z > 2.0

    flat = decide(series_a, series_b, GENERATED, None)
    held = decide(series_a, series_b, GENERATED, PairHolding(Side.SELL, bars_held=3))

    assert flat.action is Action.HOLD
    assert "not cointegrated" in flat.reason
    assert held.action is Action.EXIT
    assert "cointegration broke" in held.reason
    assert held.pvalue == pytest.approx(pvalue, rel=1e-9)


def test_legs_whose_bars_end_at_different_times_give_no_decision() -> None:
    series_a, series_b = hand_pair(U)
    later_b = series_from_closes(series_b.close.tolist(), key="x:B", start=float(series_b.times[0]) + 60)

    decision = decide(series_a, later_b, HAND, None)

    assert decision.action is Action.HOLD
    assert "not at the same time" in decision.reason
    with pytest.raises(ValueError, match="aligned bar for bar"):
        compute_indicators(series_a, later_b, HAND)


def test_a_leg_that_did_not_move_gives_no_statistics() -> None:
    flat_b = series_from_closes([100.0] * 10, key="x:B")
    series_a, _ = hand_pair(U)

    assert cointegration_statistics(np.log(series_a.close), np.log(flat_b.close), 1) is None
    assert "no spread" in decide(series_a, flat_b, HAND, None).reason


@pytest.mark.parametrize("bad", [math.nan, 0.0])
def test_missing_or_non_positive_last_close_holds(bad: float) -> None:
    series_a, series_b = hand_pair(U)

    decision = decide(with_last_close(series_a, bad), series_b, HAND, None)

    assert decision.action is Action.HOLD
    assert "missing or non-positive" in decision.reason


def test_warm_up_holds_until_both_legs_fill_the_window() -> None:
    series_a, series_b = hand_pair(U)

    decision = decide(series_a.truncated(9), series_b.truncated(9), HAND, None)

    assert decision.action is Action.HOLD
    assert "need 10 bars of each leg, have 9" in decision.reason


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"formation_bars": 9}, "formation_bars"),
        ({"max_pvalue": 0.0}, "max_pvalue"),
        ({"max_pvalue": 0.3, "break_pvalue": 0.2}, "break_pvalue"),
        ({"entry_z": 1.0, "exit_z": 1.0}, "exit_z"),
        ({"exit_z": -0.1}, "exit_z"),
        ({"max_holding_bars": 0}, "max_holding_bars"),
        ({"formation_bars": 10, "adf_lags": 4}, "adf_lags"),
        ({"hedge_ratio": 1.5}, "hedge_ratio"),
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(values: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        PairsParams.from_mapping(values)


def test_bars_to_fetch_cover_the_formation_window_and_the_settling_bars() -> None:
    assert PairsParams().bars_to_fetch == 240 + 50  # max(formation 240, ATR 14 + 1) + 50
