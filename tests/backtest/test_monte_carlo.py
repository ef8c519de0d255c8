"""Monte Carlo: trade resampling, block bootstrap of returns, execution noise through the engine."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from backtest.monte_carlo import (
    BlockMethod,
    LatencyDistribution,
    MonteCarloConfig,
    SlippageDistribution,
    SlippageShape,
    bootstrap_return_paths,
    bootstrap_returns,
    default_block_length,
    execution_noise,
    resample_trade_pnls,
    resample_trade_returns,
)
from backtest.vectorized import Costs, run_targets


def _market(n_bars: int = 300, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n_bars)))
    open_ = np.concatenate(([100.0], close[:-1])) * np.exp(rng.normal(0.0, 0.002, n_bars))
    return open_, close


def _switching_targets(n_bars: int = 300, every: int = 15) -> np.ndarray:
    """In for `every` bars, out for `every`: a strategy that trades 2 × n_bars / (2 × every) times."""
    return ((np.arange(n_bars) // every) % 2).astype(np.float64)


# --- reproducibility ---------------------------------------------------------------------------------------


def test_same_seed_gives_the_same_trade_resampling_and_another_seed_does_not() -> None:
    pnls = [120.0, -80.0, 45.0, -30.0, 10.0]
    config = MonteCarloConfig(n_paths=300, initial_equity=1_000.0)
    first = resample_trade_pnls(pnls, config, np.random.default_rng(11))
    again = resample_trade_pnls(pnls, config, np.random.default_rng(11))
    other = resample_trade_pnls(pnls, config, np.random.default_rng(12))
    np.testing.assert_array_equal(first.final_equity, again.final_equity)
    np.testing.assert_array_equal(first.equity_bands, again.equity_bands)
    assert not np.array_equal(first.final_equity, other.final_equity)


def test_same_seed_gives_the_same_bootstrap_paths() -> None:
    returns = np.random.default_rng(0).normal(0.0005, 0.01, 200)
    first = bootstrap_return_paths(returns, 50, np.random.default_rng(5), block_length=4)
    again = bootstrap_return_paths(returns, 50, np.random.default_rng(5), block_length=4)
    np.testing.assert_array_equal(first, again)


def test_progress_bar_does_not_change_the_draws() -> None:
    pnls = [5.0, -3.0, 8.0]
    quiet = resample_trade_pnls(pnls, MonteCarloConfig(n_paths=2_500), np.random.default_rng(9))
    shown = resample_trade_pnls(
        pnls, MonteCarloConfig(n_paths=2_500, progress=True), np.random.default_rng(9)
    )
    np.testing.assert_array_equal(quiet.final_equity, shown.final_equity)


# --- trade resampling --------------------------------------------------------------------------------------


def test_identical_trade_pnls_give_a_degenerate_distribution_at_the_hand_worked_sum() -> None:
    # 8 trades of +25 from 1,000: every path ends at 1,000 + 8 × 25 = 1,200, climbing 25 a trade.
    result = resample_trade_pnls(
        [25.0] * 8, MonteCarloConfig(n_paths=200, initial_equity=1_000.0), np.random.default_rng(1)
    )
    np.testing.assert_array_equal(result.final_equity_percentiles, np.full(5, 1_200.0))
    np.testing.assert_array_equal(result.max_drawdown_percentiles, np.zeros(5))
    for level in result.percentiles:
        np.testing.assert_allclose(result.band(level), 1_000.0 + 25.0 * np.arange(9))
    assert result.ruin_probability == 0.0


def test_identical_trade_returns_compound_to_the_hand_worked_product() -> None:
    # 3 trades of +10 % from 1,000: 1,000 × 1.1³ = 1,331.
    result = resample_trade_returns(
        [0.1] * 3, MonteCarloConfig(n_paths=50, initial_equity=1_000.0), np.random.default_rng(1)
    )
    np.testing.assert_allclose(result.final_equity, 1_331.0)
    assert result.final_equity_at(50.0) == pytest.approx(1_331.0)


def test_ruin_probability_is_one_when_every_path_falls_below_the_line() -> None:
    # Every trade loses at least 100; after 6 of them equity is at most 1,000 − 600 = 400 < 0.5 × 1,000.
    config = MonteCarloConfig(n_paths=400, initial_equity=1_000.0, ruin_fraction=0.5)
    result = resample_trade_pnls([-100.0, -150.0], config, np.random.default_rng(2), trades_per_path=6)
    assert result.ruin_probability == 1.0
    assert result.ruined.all()
    assert result.ruin_probability_interval[1] == pytest.approx(1.0)


def test_ruin_probability_is_zero_when_no_path_can_fall_below_the_line() -> None:
    # The worst path loses 100 four times: 1,000 − 400 = 600, not below 0.6 × 1,000 = 600 (ruin is "below").
    config = MonteCarloConfig(n_paths=400, initial_equity=1_000.0, ruin_fraction=0.6)
    result = resample_trade_pnls([-100.0, 50.0], config, np.random.default_rng(3), trades_per_path=4)
    assert result.final_equity.min() == 600.0  # the all-loss path was drawn (probability 1 − (15/16)^400)
    assert result.ruin_probability == 0.0
    assert result.ruin_probability_interval[0] == 0.0


def test_max_drawdown_of_a_path_is_its_fall_from_the_peak() -> None:
    # +100 then −220 from 1,000: peak 1,100, trough 880, drawdown 220 / 1,100 = 0.2 whatever the order
    # after the gain: with one gain and one loss, the paths are (+,+), (+,−), (−,+), (−,−).
    config = MonteCarloConfig(n_paths=500, initial_equity=1_000.0)
    result = resample_trade_pnls([100.0, -220.0], config, np.random.default_rng(4))
    expected = {(100.0, 100.0): 0.0, (100.0, -220.0): 0.2, (-220.0, 100.0): 0.22, (-220.0, -220.0): 0.44}
    for final, drawdown in zip(result.final_equity, result.max_drawdown, strict=True):
        matches = [dd for (a, b), dd in expected.items() if math.isclose(1_000.0 + a + b, final)]
        assert any(math.isclose(drawdown, dd) for dd in matches)


def test_equity_bands_and_percentiles_are_ordered() -> None:
    pnls = np.random.default_rng(8).normal(5.0, 60.0, 120)
    result = resample_trade_pnls(
        pnls, MonteCarloConfig(n_paths=1_000, initial_equity=5_000.0), np.random.default_rng(6)
    )
    assert np.all(np.diff(result.equity_bands, axis=0) >= 0.0)
    assert np.all(np.diff(result.final_equity_percentiles) >= 0.0)
    assert np.all(np.diff(result.max_drawdown_percentiles) >= 0.0)
    assert np.all(result.band(5.0) <= result.band(50.0))
    assert np.all(result.band(50.0) <= result.band(95.0))
    assert result.equity_bands[:, 0] == pytest.approx(np.full(5, 5_000.0))


# --- block bootstrap ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", [BlockMethod.STATIONARY, BlockMethod.CIRCULAR])
def test_bootstrap_mean_of_resampled_means_is_the_sample_mean(method: BlockMethod) -> None:
    # Each resampled series' mean scatters around the sample mean with a standard error near
    # σ/√n (independent returns); the average of N of them within 4 standard errors of σ/√n/√N.
    returns = np.random.default_rng(21).normal(0.0004, 0.01, 500)
    n_paths = 2_000
    paths = bootstrap_return_paths(returns, n_paths, np.random.default_rng(22), block_length=5, method=method)
    standard_error = returns.std(ddof=1) / math.sqrt(returns.size) / math.sqrt(n_paths)
    assert paths.shape == (500, n_paths)
    assert abs(paths.mean(axis=0).mean() - returns.mean()) < 4.0 * standard_error


def test_bootstrapped_equity_compounds_the_resampled_returns() -> None:
    # A constant 1 % return: every path is 1,000 × 1.01^k, whatever the blocks.
    config = MonteCarloConfig(n_paths=20, initial_equity=1_000.0)
    result = bootstrap_returns(np.full(30, 0.01), config, np.random.default_rng(0), block_length=3)
    np.testing.assert_allclose(result.band(50.0), 1_000.0 * 1.01 ** np.arange(31))


def test_default_block_length_is_longer_for_autocorrelated_returns() -> None:
    rng = np.random.default_rng(30)
    noise = rng.normal(0.0, 0.01, 1_000)
    persistent = np.empty_like(noise)
    persistent[0] = noise[0]
    for t in range(1, noise.size):  # AR(1) with φ = 0.8
        persistent[t] = 0.8 * persistent[t - 1] + noise[t]
    assert default_block_length(persistent) > default_block_length(noise) >= 1


# --- execution noise ---------------------------------------------------------------------------------------


def test_execution_noise_with_zero_slippage_and_latency_equals_the_noiseless_run_exactly() -> None:
    open_, close = _market()
    targets = _switching_targets()
    result = execution_noise(
        open_,
        close,
        targets,
        SlippageDistribution(mean_bps=0.0),
        LatencyDistribution(),
        MonteCarloConfig(n_paths=40, initial_equity=10_000.0),
        np.random.default_rng(0),
        costs=Costs(fee_rate=0.001, slippage_rate=0.0002),
    )
    direct = run_targets(open_, close, targets, costs=Costs(fee_rate=0.001, slippage_rate=0.0002))
    assert result.baseline_final_equity == direct.final_equity[0]
    np.testing.assert_array_equal(result.final_equity, np.full(40, direct.final_equity[0]))
    np.testing.assert_array_equal(result.sharpe, np.full(40, result.baseline_sharpe))


def test_a_fixed_latency_equals_the_engine_run_with_that_delay() -> None:
    open_, close = _market()
    targets = _switching_targets()
    result = execution_noise(
        open_,
        close,
        targets,
        SlippageDistribution(mean_bps=0.0),
        LatencyDistribution(delays=(2,), probabilities=(1.0,)),
        MonteCarloConfig(n_paths=10),
        np.random.default_rng(0),
    )
    delayed = run_targets(open_, close, targets, delay_bars=2)
    np.testing.assert_array_equal(result.final_equity, np.full(10, delayed.final_equity[0]))
    assert np.all(result.latency_bars == 2)


@pytest.mark.parametrize("shape", [SlippageShape.HALF_NORMAL, SlippageShape.LOGNORMAL])
def test_more_slippage_never_raises_final_equity_at_the_same_latency(shape: SlippageShape) -> None:
    open_, close = _market()
    targets = _switching_targets()
    latency = LatencyDistribution(delays=(0, 1, 3), probabilities=(0.5, 0.3, 0.2))
    config = MonteCarloConfig(n_paths=200)
    runs = [
        execution_noise(
            open_,
            close,
            targets,
            SlippageDistribution(mean_bps=bps, shape=shape),
            latency,
            config,
            np.random.default_rng(4),
        )
        for bps in (2.0, 10.0, 40.0)
    ]
    for low, high in itertools.pairwise(runs):
        np.testing.assert_array_equal(low.latency_bars, high.latency_bars)
        assert np.all(high.final_equity <= low.final_equity)
        assert np.all(high.final_equity < low.final_equity)  # the strategy trades, so every path pays more
    assert runs[0].distribution.final_equity_at(50.0) < runs[0].baseline_final_equity


@pytest.mark.parametrize("shape", [SlippageShape.HALF_NORMAL, SlippageShape.LOGNORMAL])
def test_slippage_draws_have_the_configured_mean(shape: SlippageShape) -> None:
    # 12 bps = 0.0012 of the price; 200,000 draws put the sample mean within 4 standard errors of it.
    draws = SlippageDistribution(mean_bps=12.0, shape=shape).draw(np.random.default_rng(7), (200_000,))
    assert np.all(draws >= 0.0)
    standard_error = draws.std(ddof=1) / math.sqrt(draws.size)
    assert abs(draws.mean() - 0.0012) < 4.0 * standard_error


def test_latency_draws_follow_the_configured_probabilities() -> None:
    draws = LatencyDistribution(delays=(0, 2), probabilities=(0.25, 0.75)).draw(
        np.random.default_rng(1), 40_000
    )
    share = float(np.mean(draws == 2))
    assert abs(share - 0.75) < 4.0 * math.sqrt(0.75 * 0.25 / 40_000)


# --- validation --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [{"n_paths": 0}, {"initial_equity": -1.0}, {"ruin_fraction": 0.0}, {"percentiles": (50.0, 5.0)}],
)
def test_config_rejects_values_that_make_no_sense(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        MonteCarloConfig(**fields)  # type: ignore[arg-type]


def test_latency_probabilities_must_add_up_to_one() -> None:
    with pytest.raises(ValueError, match="add up to 1"):
        LatencyDistribution(delays=(0, 1), probabilities=(0.5, 0.4))


def test_asking_for_a_percentile_not_computed_names_the_ones_that_were() -> None:
    result = resample_trade_pnls([1.0], MonteCarloConfig(n_paths=5), np.random.default_rng(0))
    with pytest.raises(ValueError, match="was not computed"):
        result.final_equity_at(10.0)
