"""The price process: a day's calibrated statistics spread over day_seconds one-second steps."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulation.calibration import RegimeCalibration, calibrate_all, fit_regimes
from simulation.paths import (
    CHUNK_SECONDS,
    PathModel,
    PathState,
    generate_chunk,
    initial_state,
    step_parameters,
)

HAND = RegimeCalibration("hand", (0.001, -0.002), (0.01, 0.03), ((0.98, 0.02), (0.08, 0.92)), 252, 1000)


def one_instrument(calibration: RegimeCalibration, day_seconds: int, seed: int = 11) -> PathModel:
    return PathModel(
        seed=seed,
        steps=(step_parameters(calibration, day_seconds),),
        factor_loadings=(0.0,),
        factor_of=(0,),
        factor_count=1,
        volume_per_minute=(100.0,),
    )


def long_path(model: PathModel, chunks: int) -> tuple[np.ndarray, np.ndarray]:
    """Log prices and regimes of `chunks` consecutive chunks, starting at log price 0."""
    state = initial_state(model, [0.0])
    prices, regimes = [], []
    for index in range(chunks):
        chunk = generate_chunk(model, index, state)
        prices.append(chunk.log_prices[0])
        regimes.append(chunk.regimes[0])
        state = chunk.end
    return np.concatenate(prices), np.concatenate(regimes)


def test_step_parameters_by_hand() -> None:
    # day of 100 steps: mean 0.001/100 = 1e-5, vol 0.01/sqrt(100) = 0.001.
    # persistence l = 1 - 0.02 - 0.08 = 0.9; l^(1/100) = exp(ln 0.9 / 100) = 0.99894695;
    # leave calm per step = 0.02 * (1 - 0.99894695) / 0.10 = 0.00021061.
    step = step_parameters(HAND, 100)
    assert step.means == pytest.approx((1e-5, -2e-5))
    assert step.vols == pytest.approx((0.001, 0.003))
    assert step.leave[0] == pytest.approx(0.00021061, rel=1e-4)
    assert step.leave[1] == pytest.approx(4 * 0.00021061, rel=1e-4)


def test_one_hundred_steps_of_the_step_chain_are_the_daily_chain() -> None:
    step = step_parameters(HAND, 100)
    a, b = step.leave
    daily = np.linalg.matrix_power(np.array([[1 - a, a], [b, 1 - b]]), 100)
    assert daily == pytest.approx(np.array(HAND.transition), abs=1e-12)


def test_a_chunk_depends_only_on_seed_index_and_start_state() -> None:
    model = one_instrument(HAND, 60)
    start = PathState((math.log(100.0),), (0,))
    first = generate_chunk(model, 5, start)
    again = generate_chunk(model, 5, start)
    assert np.array_equal(first.log_prices, again.log_prices)
    assert np.array_equal(first.regimes, again.regimes)
    other_seed = generate_chunk(one_instrument(HAND, 60, seed=12), 5, start)
    assert not np.array_equal(first.log_prices, other_seed.log_prices)


@pytest.fixture(scope="module")
def spy_path() -> tuple[RegimeCalibration, np.ndarray, np.ndarray]:
    """3.6 million one-second steps of SPY with 60-second days: 60,000 simulated days."""
    calibration = calibrate_all()["SPY"]
    log_prices, regimes = long_path(one_instrument(calibration, 60), 1000)
    return calibration, log_prices, regimes


def test_calibrated_regime_vols_and_means_come_back_from_a_long_path(
    spy_path: tuple[RegimeCalibration, np.ndarray, np.ndarray],
) -> None:
    calibration, log_prices, regimes = spy_path
    returns = np.diff(log_prices, prepend=0.0)
    for regime in (0, 1):
        in_regime = returns[regimes == regime]
        assert len(in_regime) > 500_000
        # per-step vol x sqrt(60 steps a day) is the daily vol; measured 0.9994 and 1.0005 of it
        assert in_regime.std() * math.sqrt(60) == pytest.approx(calibration.daily_vols[regime], rel=0.01)
        # the drift is tiny next to the noise: compare within five standard errors of a day's mean
        standard_error = in_regime.std() / math.sqrt(len(in_regime)) * 60
        assert in_regime.mean() * 60 == pytest.approx(calibration.daily_means[regime], abs=5 * standard_error)


def test_refitting_the_hmm_on_simulated_days_recovers_the_calibration(
    spy_path: tuple[RegimeCalibration, np.ndarray, np.ndarray],
) -> None:
    """End to end: the simulated days, aggregated from their seconds, fitted like the real data."""
    calibration, log_prices, regimes = spy_path
    daily_returns = np.diff(log_prices[59::60])
    refit = fit_regimes(daily_returns, "simulated SPY")
    # measured: vols within 0.2 %, leave probabilities within 4 %
    assert refit.daily_vols == pytest.approx(calibration.daily_vols, rel=0.03)
    assert refit.transition[0][1] == pytest.approx(calibration.transition[0][1], rel=0.15)
    assert refit.transition[1][0] == pytest.approx(calibration.transition[1][0], rel=0.15)
    # and the share of time in the calm regime is the calibrated stationary share
    assert (regimes == 0).mean() == pytest.approx(calibration.stationary[0], abs=0.03)


def test_a_regime_that_never_switches_stays_put_across_chunks() -> None:
    stuck = RegimeCalibration("stuck", (0.0, 0.0), (0.01, 0.02), ((1.0, 0.0), (0.0, 1.0)), 252, 10)
    model = one_instrument(stuck, 60)
    _, regimes = long_path(model, 3)
    assert len(regimes) == 3 * CHUNK_SECONDS
    assert len(set(regimes.tolist())) == 1


def test_volumes_are_positive_and_one_per_minute() -> None:
    chunk = generate_chunk(one_instrument(HAND, 60), 0, PathState((0.0,), (0,)))
    assert chunk.minute_volumes.shape == (1, CHUNK_SECONDS // 60)
    assert (chunk.minute_volumes > 0).all()
