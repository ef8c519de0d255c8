"""Performance metrics against hand-worked examples (arithmetic in the comments) and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from backtest.metrics import (
    PerformanceSummary,
    cagr,
    calmar,
    drawdown_series,
    expectancy,
    exposure,
    max_drawdown,
    profit_factor,
    sharpe,
    sortino,
    summarize,
    win_rate,
)

RETURNS = [0.01, -0.02, 0.03, 0.00]
EQUITY = [100.0, 120.0, 90.0, 110.0, 80.0, 130.0]
PNLS = [10.0, -5.0, 20.0, -15.0, 0.0]


def test_sharpe_is_mean_over_sample_deviation_annualised() -> None:
    # mean = 0.02 / 4 = 0.005; deviations 0.005, -0.025, 0.025, -0.005
    # squares 0.000025 + 0.000625 + 0.000625 + 0.000025 = 0.0013, over n - 1 = 3
    expected = 0.005 / math.sqrt(0.0013 / 3) * math.sqrt(252)
    assert sharpe(RETURNS, 252) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(3.8129, abs=1e-4)


def test_sharpe_subtracts_the_per_period_risk_free_rate() -> None:
    # excess mean 0.005 - 0.001 = 0.004; the deviation does not change
    assert sharpe(RETURNS, 252, risk_free=0.001) == pytest.approx(
        0.004 / math.sqrt(0.0013 / 3) * math.sqrt(252), rel=1e-12
    )


def test_sharpe_agrees_with_scipy_on_random_returns() -> None:
    returns = np.random.default_rng(3).normal(0.0005, 0.01, 500)
    expected = np.mean(returns) / stats.tstd(returns) * math.sqrt(365)
    assert sharpe(returns, 365) == pytest.approx(expected, rel=1e-12)


def test_sortino_takes_the_downside_deviation_over_all_periods() -> None:
    # min(r, 0) = 0, -0.02, 0, 0: mean square 0.0004 / 4 = 0.0001, root 0.01 (all 4 periods count)
    assert sortino(RETURNS, 252) == pytest.approx(0.005 / 0.01 * math.sqrt(252), rel=1e-12)


def test_sortino_measures_against_the_target() -> None:
    # r - 0.01 = 0, -0.03, 0.02, -0.01: mean -0.02 / 4 = -0.005
    # downside squares 0.0009 + 0.0001 = 0.001, over 4: 0.00025
    assert sortino(RETURNS, 12, target=0.01) == pytest.approx(-0.005 / math.sqrt(0.00025) * math.sqrt(12))


def test_drawdown_is_the_fall_from_the_running_peak_as_a_positive_fraction() -> None:
    # peaks 100, 120, 120, 120, 120, 130: falls 0, 0, 30/120, 10/120, 40/120, 0
    assert drawdown_series(EQUITY) == pytest.approx([0, 0, 0.25, 10 / 120, 40 / 120, 0])
    assert max_drawdown(EQUITY) == pytest.approx(1 / 3)


def test_cagr_compounds_over_the_periods_between_marks() -> None:
    # 3 marks span 2 periods = 2 years at 1 period a year: 1.21 ** (1 / 2) - 1 = 0.1
    assert cagr([100.0, 110.0, 121.0], 1) == pytest.approx(0.1)
    # 13 monthly marks are one year: 100 -> 112 is 12 %
    assert cagr(np.linspace(100.0, 112.0, 13), 12) == pytest.approx(0.12)


def test_calmar_is_cagr_over_max_drawdown() -> None:
    # CAGR 1.21 ** 0.5 - 1 = 0.1; drawdown 20 / 100 = 0.2; 0.1 / 0.2 = 0.5
    assert calmar([100.0, 80.0, 121.0], 1) == pytest.approx(0.5)


def test_trade_metrics_on_a_hand_worked_list() -> None:
    # wins 10 and 20, losses 5 and 15, one break-even
    assert win_rate(PNLS) == pytest.approx(2 / 5)
    assert profit_factor(PNLS) == pytest.approx(30 / 20)
    assert expectancy(PNLS) == pytest.approx(10 / 5)


def test_profit_factor_is_inf_without_a_loss_and_zero_without_a_win() -> None:
    assert profit_factor([5.0, 3.0]) == math.inf
    assert profit_factor([-1.0, -2.0]) == 0.0


def test_exposure_is_the_share_of_bars_holding_a_position() -> None:
    assert exposure([0.0, 1.0, 1.0, 0.0, -0.5]) == pytest.approx(3 / 5)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("sharpe of one period", sharpe([0.01], 252)),
        ("sharpe of a flat series", sharpe([0.01, 0.01, 0.01], 252)),
        ("sharpe of nothing", sharpe([], 252)),
        ("sortino without a losing period", sortino([0.01, 0.02], 252)),
        ("sortino of nothing", sortino([], 252)),
        ("max drawdown of nothing", max_drawdown([])),
        ("cagr of one mark", cagr([100.0], 252)),
        ("cagr from a non-positive start", cagr([0.0, 10.0], 252)),
        ("calmar without a drawdown", calmar([100.0, 110.0, 120.0], 1)),
        ("win rate without trades", win_rate([])),
        ("profit factor without trades", profit_factor([])),
        ("profit factor of break-even trades", profit_factor([0.0, 0.0])),
        ("expectancy without trades", expectancy([])),
        ("exposure of nothing", exposure([])),
    ],
)
def test_undefined_cases_are_nan_not_an_error(name: str, value: float) -> None:
    assert math.isnan(value), name


def test_two_dimensional_input_equals_each_column_alone() -> None:
    rng = np.random.default_rng(11)
    returns = rng.normal(0.0, 0.01, (300, 4))
    returns[:, 3] = 0.002  # a flat column: NaN Sharpe, NaN Sortino, no drawdown
    equity = 100 * np.cumprod(1 + returns, axis=0)
    positions = rng.integers(-1, 2, (300, 4)).astype(float)
    together = {
        "sharpe": sharpe(returns, 252),
        "sortino": sortino(returns, 252),
        "max_drawdown": max_drawdown(equity),
        "cagr": cagr(equity, 252),
        "calmar": calmar(equity, 252),
        "exposure": exposure(positions),
    }
    for column in range(4):
        alone = {
            "sharpe": sharpe(returns[:, column], 252),
            "sortino": sortino(returns[:, column], 252),
            "max_drawdown": max_drawdown(equity[:, column]),
            "cagr": cagr(equity[:, column], 252),
            "calmar": calmar(equity[:, column], 252),
            "exposure": exposure(positions[:, column]),
        }
        for name, values in together.items():
            assert np.asarray(values)[column] == pytest.approx(alone[name], nan_ok=True), name
    np.testing.assert_allclose(drawdown_series(equity)[:, 2], drawdown_series(equity[:, 2]), rtol=0, atol=0)


def test_summarize_counts_the_first_period_from_the_initial_equity() -> None:
    # marks 100 -> 101 -> 98.98 -> 101.9494 -> 101.9494 are the returns 0.01, -0.02, 0.03, 0.00
    equity = [101.0, 98.98, 101.9494, 101.9494]
    summary = summarize(equity, [1.0, 1.0, 0.0, 0.0], PNLS, 252, initial_equity=100.0)
    assert isinstance(summary, PerformanceSummary)
    assert summary.periods == 4
    assert summary.total_return == pytest.approx(0.019494)
    assert summary.sharpe == pytest.approx(0.005 / math.sqrt(0.0013 / 3) * math.sqrt(252), rel=1e-9)
    assert summary.sortino == pytest.approx(0.5 * math.sqrt(252), rel=1e-9)
    assert summary.max_drawdown == pytest.approx(0.02)  # 101 -> 98.98
    assert summary.exposure == pytest.approx(0.5)
    assert (summary.trades, summary.win_rate, summary.profit_factor) == (5, pytest.approx(0.4), 1.5)


def test_summary_refuses_a_negative_drawdown() -> None:
    with pytest.raises(ValueError, match="max_drawdown"):
        PerformanceSummary(1, 0.0, 0.0, 0.0, 0.0, -0.1, 0.0, 0.0, 0, 0.0, 0.0, 0.0)
