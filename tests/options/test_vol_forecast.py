"""Realised estimators, EWMA, GARCH and the out-of-sample contest in options/vol_forecast.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
from arch.univariate import GARCH, Normal, ZeroMean

from options.vol_forecast import (
    GarchKind,
    OhlcBars,
    RealisedEstimator,
    VolModel,
    compare_forecasts,
    daily_variances,
    ewma_forecast,
    ewma_variance,
    fit_garch,
    log_returns,
    qlike_loss,
    realised_volatility,
    rolling_realised_volatility,
    yang_zhang_k,
)

# Four hand-made days. Day 1 opens above day 0's close and day 2 below day 1's, so Yang-Zhang's
# overnight term is not zero.
#            open   high   low    close
#   day 0    100    102    99     101
#   day 1    101.5  104    100    103
#   day 2    102    103.5  100.5  101
#   day 3    100.5  101.5  99     100
FOUR_DAYS = OhlcBars(
    open=np.array([100.0, 101.5, 102.0, 100.5]),
    high=np.array([102.0, 104.0, 103.5, 101.5]),
    low=np.array([99.0, 100.0, 100.5, 99.0]),
    close=np.array([101.0, 103.0, 101.0, 100.0]),
)


def test_close_to_close_is_the_sample_deviation_of_log_returns() -> None:
    # r = ln(103/101), ln(101/103), ln(100/101) = 0.0196084714, -0.0196084714, -0.0099503309
    # mean = -0.0033167770; deviations 0.0229252484, -0.0162916944, -0.0066335539
    # squares sum 5.2557e-4 + 2.6542e-4 + 4.4004e-5 = 8.3499e-4; / (3 - 1) = 4.1749518e-4
    assert realised_volatility(FOUR_DAYS, RealisedEstimator.CLOSE_TO_CLOSE, periods_per_year=1) == (
        pytest.approx(math.sqrt(4.174951782e-4), rel=1e-9)
    )


def test_annualising_multiplies_variance_by_periods_per_year() -> None:
    # 252 days a year: sqrt(252 * 4.174951782e-4) = sqrt(0.10520879) = 0.32435904
    assert realised_volatility(FOUR_DAYS, RealisedEstimator.CLOSE_TO_CLOSE) == pytest.approx(
        math.sqrt(252 * 4.174951782e-4), rel=1e-9
    )


def test_parkinson_averages_squared_log_range_over_four_ln_two() -> None:
    # ln(H/L): ln(102/99) = 0.02985296, ln(104/100) = 0.03922071, ln(103.5/100.5) = 0.02941389,
    # ln(101.5/99) = 0.02493895; each squared / (4 ln 2 = 2.7725887):
    # 3.2143224e-4, 5.5481158e-4, 3.1204651e-4, 2.2432146e-4; mean 3.5315295e-4
    terms = daily_variances(FOUR_DAYS, RealisedEstimator.PARKINSON)
    np.testing.assert_allclose(terms, [3.2143224189e-4, 5.5481158381e-4, 3.1204651306e-4, 2.2432145802e-4])
    assert realised_volatility(FOUR_DAYS, RealisedEstimator.PARKINSON, periods_per_year=1) == (
        pytest.approx(math.sqrt(3.5315294920e-4), rel=1e-9)
    )


def test_garman_klass_subtracts_the_open_to_close_part() -> None:
    # day 0: 0.5 * 0.02985296^2 - (2 ln 2 - 1 = 0.38629436) * ln(101/100)^2 (= 0.00995033^2)
    #      = 4.4560e-4 - 3.8247e-5 = 4.0735305e-4
    # days 1-3 likewise: 6.8599604e-4, 3.9509160e-4, 3.0136628e-4; mean 4.4745174e-4
    terms = daily_variances(FOUR_DAYS, RealisedEstimator.GARMAN_KLASS)
    np.testing.assert_allclose(terms, [4.0735305353e-4, 6.8599603500e-4, 3.9509159885e-4, 3.0136627979e-4])
    assert realised_volatility(FOUR_DAYS, RealisedEstimator.GARMAN_KLASS, periods_per_year=1) == (
        pytest.approx(math.sqrt(4.4745174179e-4), rel=1e-9)
    )


def test_rogers_satchell_uses_high_and_low_against_open_and_close() -> None:
    # day 0: ln(H/C) ln(H/O) + ln(L/C) ln(L/O) = 0.00985230 * 0.01980263 + (-0.02000067) * (-0.01005034)
    #      = 1.9510e-4 + 2.0101e-4 = 3.9611477e-4
    # days 1-3 likewise: 6.7518414e-4, 4.3048079e-4, 2.9854893e-4; mean 4.5008216e-4
    terms = daily_variances(FOUR_DAYS, RealisedEstimator.ROGERS_SATCHELL)
    np.testing.assert_allclose(terms, [3.9611477217e-4, 6.7518414122e-4, 4.3048079399e-4, 2.9854892717e-4])
    assert realised_volatility(FOUR_DAYS, RealisedEstimator.ROGERS_SATCHELL, periods_per_year=1) == (
        pytest.approx(math.sqrt(4.5008215864e-4), rel=1e-9)
    )


def test_yang_zhang_combines_overnight_open_to_close_and_rogers_satchell() -> None:
    # n = 3 periods (days 1-3): k = 0.34 / (1.34 + 4/2) = 0.1017964072
    # overnight ln(O_t/C_t-1): ln(101.5/101), ln(102/103), ln(100.5/101) = 0.0049383, -0.0097562, -0.0049628
    #   sample variance 5.6155801e-5
    # open-to-close ln(C/O): 0.0146702, -0.0098523, -0.0049875; sample variance 1.6857409e-4
    # Rogers-Satchell mean over days 1-3: (6.7518414 + 4.3048079 + 2.9854893)e-4 / 3 = 4.6807129e-4
    # total 5.6155801e-5 + 0.1017964 * 1.6857409e-4 + 0.8982036 * 4.6807129e-4 = 4.9373935e-4
    assert yang_zhang_k(3) == pytest.approx(0.1017964072, rel=1e-9)
    assert realised_volatility(FOUR_DAYS, RealisedEstimator.YANG_ZHANG, periods_per_year=1) == (
        pytest.approx(math.sqrt(4.9373935035e-4), rel=1e-8)
    )


def test_parkinson_rolling_window_averages_the_last_days() -> None:
    # window 3 ending on day 3: (5.5481158 + 3.1204651 + 2.2432146)e-4 / 3 = 3.6372652e-4
    rolling = rolling_realised_volatility(FOUR_DAYS, RealisedEstimator.PARKINSON, 3, periods_per_year=1)
    assert np.isnan(rolling[:2]).all()
    assert rolling[3] == pytest.approx(math.sqrt(3.6372651830e-4), rel=1e-9)


@pytest.mark.parametrize("estimator", list(RealisedEstimator))
def test_rolling_window_matches_the_estimator_on_the_window_slice(estimator: RealisedEstimator) -> None:
    rng = np.random.default_rng(3)
    bars = _gbm_bars(rng, days=40, steps_per_day=20, daily_sigma=0.01)
    window = 10
    rolling = rolling_realised_volatility(bars, estimator, window)
    lead = 1 if estimator in (RealisedEstimator.CLOSE_TO_CLOSE, RealisedEstimator.YANG_ZHANG) else 0
    for end in (window + lead - 1 + 3, len(bars) - 1):
        start = end - window + 1 - lead
        piece = OhlcBars(*(getattr(bars, c)[start : end + 1] for c in ("open", "high", "low", "close")))
        assert rolling[end] == pytest.approx(realised_volatility(piece, estimator), rel=1e-9)
    assert np.isnan(rolling[: window + lead - 1]).all()


def _gbm_bars(
    rng: np.random.Generator, days: int, steps_per_day: int, daily_sigma: float, drift: float = 0.0
) -> OhlcBars:
    """Daily bars from a log-price random walk observed `steps_per_day` times a day, no overnight gap."""
    steps = rng.normal(
        drift / steps_per_day, daily_sigma / math.sqrt(steps_per_day), size=(days, steps_per_day)
    )
    paths = np.log(100.0) + np.concatenate([[0.0], np.cumsum(steps)])
    opens = paths[:-1:steps_per_day]
    intraday = np.concatenate([opens[:, None], paths[1:].reshape(days, steps_per_day)], axis=1)
    return OhlcBars(
        open=np.exp(opens),
        high=np.exp(intraday.max(axis=1)),
        low=np.exp(intraday.min(axis=1)),
        close=np.exp(intraday[:, -1]),
    )


RANDOM_WALK_STEPS, RANDOM_WALK_SIGMA = 2000, 0.02


@pytest.fixture(scope="module")
def random_walk_bars() -> OhlcBars:
    """500 days of a log random walk with daily sigma 0.02, observed 2000 times a day."""
    return _gbm_bars(np.random.default_rng(11), 500, RANDOM_WALK_STEPS, RANDOM_WALK_SIGMA, drift=0.0002)


@pytest.mark.parametrize("estimator", list(RealisedEstimator))
def test_estimators_recover_the_volatility_of_a_random_walk(
    estimator: RealisedEstimator, random_walk_bars: OhlcBars
) -> None:
    bars, steps, daily_sigma = random_walk_bars, RANDOM_WALK_STEPS, RANDOM_WALK_SIGMA
    # Sampling error of the variance estimate: the spread of the daily terms / sqrt(days) (for
    # Yang-Zhang, which has no daily term, the close-to-close one bounds it: it is more efficient).
    proxy = RealisedEstimator.CLOSE_TO_CLOSE if estimator is RealisedEstimator.YANG_ZHANG else estimator
    terms = daily_variances(bars, proxy)
    terms = terms[np.isfinite(terms)]
    variance_error = float(np.std(terms, ddof=1)) / math.sqrt(terms.size)
    sigma_error = variance_error / (2 * daily_sigma)  # delta method: d(sqrt v) = dv / (2 sqrt v)
    # Watching the path only `steps` times a day misses part of the true range: the expected
    # shortfall of the range is about 0.5826 * 2 * sigma / sqrt(steps) (Broadie, Glasserman & Kou 1997).
    discretisation = 2 * 0.5826 * daily_sigma / math.sqrt(steps)
    estimate = realised_volatility(bars, estimator, periods_per_year=1)
    assert abs(estimate - daily_sigma) < 4 * sigma_error + discretisation


def test_ohlc_bars_refuse_a_high_below_the_close() -> None:
    with pytest.raises(ValueError, match="bar 1"):
        OhlcBars(open=[10.0, 10.0], high=[11.0, 10.5], low=[9.0, 9.5], close=[10.0, 10.8])


def test_ewma_recursion_by_hand() -> None:
    # s2_0 = 1e-4 (seed); returns 0.01, -0.02, 0.015; lambda 0.94
    # s2_1 = 0.94 * 1e-4 + 0.06 * 0.01^2 = 9.4e-5 + 6e-6 = 1.0e-4
    # s2_2 = 0.94 * 1e-4 + 0.06 * 0.02^2 = 9.4e-5 + 2.4e-5 = 1.18e-4
    # s2_3 = 0.94 * 1.18e-4 + 0.06 * 0.015^2 = 1.1092e-4 + 1.35e-5 = 1.2442e-4
    returns = [0.01, -0.02, 0.015]
    np.testing.assert_allclose(
        ewma_variance(returns, 0.94, initial_variance=1e-4), [1e-4, 1e-4, 1.18e-4, 1.2442e-4], rtol=1e-12
    )
    assert ewma_forecast(returns, 0.94, initial_variance=1e-4) == pytest.approx(1.2442e-4, rel=1e-12)


def test_ewma_seeds_with_the_mean_squared_return_by_default() -> None:
    # mean of 0.01^2, 0.02^2, 0.015^2 = (1 + 4 + 2.25)e-4 / 3 = 2.4166667e-4
    assert ewma_variance([0.01, -0.02, 0.015])[0] == pytest.approx(2.4166666667e-4, rel=1e-9)


def _simulated_garch(nobs: int, params: list[float], seed: int, gjr: bool = False) -> np.ndarray:
    """Decimal returns from arch's simulator; params in percent^2 units (omega, alpha, [gamma], beta)."""
    model = ZeroMean(volatility=GARCH(p=1, o=1 if gjr else 0, q=1), distribution=Normal(seed=seed))
    simulated = model.simulate(params, nobs, burn=500)
    return np.asarray(simulated["data"].to_numpy() / 100.0, dtype=np.float64)


def test_garch_one_step_forecast_follows_the_fitted_equation() -> None:
    returns = _simulated_garch(1500, [0.05, 0.08, 0.9], seed=1)
    fit = fit_garch(returns, GarchKind.GARCH, horizon=2)
    e = fit.last_residual
    one_step = fit.omega + fit.alpha * e**2 + fit.beta * fit.last_variance
    assert fit.variance_forecasts[0] == pytest.approx(one_step, rel=1e-9)
    # two steps: E[e^2] = sigma2, so sigma2_T+2 = omega + (alpha + beta) sigma2_T+1
    two_step = fit.omega + (fit.alpha + fit.beta) * one_step
    assert fit.variance_forecasts[1] == pytest.approx(two_step, rel=1e-9)
    assert fit.alpha + fit.beta < 1.0
    assert fit.last_residual == pytest.approx(returns[-1] - fit.mu, rel=1e-9)


def test_gjr_garch_one_step_forecast_adds_gamma_after_a_negative_shock() -> None:
    returns = _simulated_garch(1500, [0.05, 0.03, 0.1, 0.88], seed=2, gjr=True)
    returns[-1] = -abs(returns[-1]) - 0.01  # make the last shock negative so gamma counts
    fit = fit_garch(returns, GarchKind.GJR_GARCH, horizon=2)
    e = fit.last_residual
    assert e < 0
    one_step = fit.omega + (fit.alpha + fit.gamma) * e**2 + fit.beta * fit.last_variance
    assert fit.variance_forecasts[0] == pytest.approx(one_step, rel=1e-9)
    # two steps with symmetric shocks: half of them negative, so gamma enters halved
    two_step = fit.omega + (fit.alpha + fit.gamma / 2 + fit.beta) * one_step
    assert fit.variance_forecasts[1] == pytest.approx(two_step, rel=1e-9)
    assert fit.gamma > 0


def test_qlike_is_smallest_when_the_forecast_equals_the_proxy() -> None:
    # ln(h) + p/h at p = 2: h = 2 gives ln 2 + 1 = 1.6931472; h = 1 gives 0 + 2; h = 4 gives ln 4 + 0.5
    losses = qlike_loss([2.0, 2.0, 2.0], [2.0, 1.0, 4.0])
    np.testing.assert_allclose(losses, [math.log(2) + 1, 2.0, math.log(4) + 0.5])


def test_garch_beats_a_constant_variance_out_of_sample_on_a_garch_series() -> None:
    returns = _simulated_garch(1200, [0.05, 0.1, 0.85], seed=5)
    comparison = compare_forecasts(
        returns,
        test_size=400,
        models=(VolModel.CONSTANT, VolModel.EWMA, VolModel.GARCH),
        refit_every=100,
    )
    qlike = comparison.losses["qlike"]
    assert qlike[VolModel.GARCH] < qlike[VolModel.CONSTANT]
    assert comparison.best("qlike") != VolModel.CONSTANT
    assert list(comparison.forecasts.columns) == ["constant", "ewma", "garch", "proxy"]
    np.testing.assert_allclose(comparison.forecasts["proxy"], returns[800:] ** 2)


def test_out_of_sample_forecasts_do_not_see_the_return_they_forecast() -> None:
    returns = _simulated_garch(400, [0.05, 0.1, 0.85], seed=6)
    shocked = returns.copy()
    shocked[-1] = 0.25  # a crash on the last day must not change any forecast, that day's included
    models = (VolModel.CONSTANT, VolModel.EWMA, VolModel.GJR_GARCH)
    before = compare_forecasts(returns, 100, models=models, refit_every=50).forecasts
    after = compare_forecasts(shocked, 100, models=models, refit_every=50).forecasts
    for model in models:
        np.testing.assert_allclose(after[str(model)], before[str(model)], rtol=1e-12)


def test_log_returns_refuse_non_positive_prices() -> None:
    with pytest.raises(ValueError, match="positive"):
        log_returns([100.0, 0.0, 101.0])
