"""Calibration: regimes fitted on the shipped history describe that history."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulation.calibration import (
    CRYPTO_TARGET_ANNUAL_VOL,
    HISTORICAL_SOURCES,
    RegimeCalibration,
    calibrate_all,
    fit_regimes,
    log_returns,
)


def test_every_simulated_instrument_has_a_calibration_with_the_calm_regime_first() -> None:
    calibrations = calibrate_all()
    assert set(calibrations) == {*HISTORICAL_SOURCES, *CRYPTO_TARGET_ANNUAL_VOL}
    for symbol, calibration in calibrations.items():
        calm, turbulent = calibration.daily_vols
        assert calm < turbulent, symbol
        # both regimes are persistent: a day is more likely to stay than to switch
        assert calibration.transition[0][0] > 0.5 and calibration.transition[1][1] > 0.5, symbol


@pytest.mark.parametrize("symbol", sorted(HISTORICAL_SOURCES))
def test_fitted_regime_mixture_reproduces_the_sample_vol_of_its_history(symbol: str) -> None:
    """The stationary mixture of the two regimes has the data's own daily vol (within 3 %)."""
    returns = log_returns(HISTORICAL_SOURCES[symbol][1]())
    calibration = calibrate_all()[symbol]
    assert calibration.observations == len(returns)
    assert calibration.daily_vol == pytest.approx(float(returns.std()), rel=0.03)


def test_fitting_the_same_returns_twice_gives_identical_regimes() -> None:
    returns = log_returns(HISTORICAL_SOURCES["SPY"][1]())
    assert fit_regimes(returns, "a") == fit_regimes(returns, "a")


def test_crypto_regimes_are_the_nasdaq_regimes_scaled_to_their_target_vol() -> None:
    calibrations = calibrate_all()
    nasdaq = calibrations["QQQ"]
    for symbol, target in CRYPTO_TARGET_ANNUAL_VOL.items():
        crypto = calibrations[symbol]
        assert crypto.annual_vol == pytest.approx(target, rel=1e-9)
        assert crypto.days_per_year == 365
        assert crypto.transition == nasdaq.transition
        assert crypto.daily_vols[1] / crypto.daily_vols[0] == pytest.approx(
            nasdaq.daily_vols[1] / nasdaq.daily_vols[0]
        )
        assert crypto.daily_means[0] / crypto.daily_vols[0] == pytest.approx(
            nasdaq.daily_means[0] / nasdaq.daily_vols[0]
        )


def test_stationary_odds_and_mixture_vol_by_hand() -> None:
    # leave calm 2 %, leave turbulent 8 %: calm 0.08/0.10 = 80 % of days.
    # variance = 0.8 * (0.01^2 + 0) + 0.2 * (0.03^2 + 0) = 0.00008 + 0.00018 = 0.00026
    calibration = RegimeCalibration("hand", (0.0, 0.0), (0.01, 0.03), ((0.98, 0.02), (0.08, 0.92)), 252, 1000)
    assert calibration.stationary == pytest.approx((0.8, 0.2))
    assert calibration.daily_vol == pytest.approx(math.sqrt(0.00026))
    scaled = calibration.scaled("double", 2 * calibration.annual_vol, 252)
    assert scaled.daily_vols == pytest.approx((0.02, 0.06))


def test_log_returns_skip_missing_and_non_positive_prices() -> None:
    returns = log_returns(np.array([100.0, np.nan, 110.0, 0.0, 121.0]))
    assert returns == pytest.approx([math.log(1.1), math.log(1.1)])


def test_a_transition_row_that_does_not_sum_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="not a probability distribution"):
        RegimeCalibration("bad", (0.0, 0.0), (0.01, 0.02), ((0.9, 0.2), (0.1, 0.9)), 252, 10)
