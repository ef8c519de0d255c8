import math
from typing import Any

import numpy as np
import pytest
from scipy import integrate, stats

from risk_management.tail_risk import (
    TailMethod,
    book_pnl_samples,
    cornish_fisher_cvar,
    cornish_fisher_is_monotone,
    cornish_fisher_quantile,
    cornish_fisher_var,
    historical_cvar,
    historical_var,
    largest_scale_within_budget,
    normal_cvar,
    normal_var,
    sample_cvar,
    sample_var,
)

# --- historical: hand-worked --------------------------------------------------------------------------------

# Ten days of P&L; sorted: −9, −7, −4, −2, −1, 0, 1, 3, 5, 8
TEN_DAYS = np.array([3.0, -7.0, 0.0, 5.0, -2.0, -9.0, 1.0, 8.0, -4.0, -1.0])


def test_historical_var_is_the_ceil_n_alpha_th_worst_day() -> None:
    assert historical_var(TEN_DAYS, 0.80) == 7.0  # nα = 2 → 2nd worst, −7
    assert historical_var(TEN_DAYS, 0.75) == 4.0  # nα = 2.5 → 3rd worst, −4
    assert historical_var(TEN_DAYS, 0.95) == 9.0  # nα = 0.5 → the worst day


def test_historical_var_matches_numpy_inverted_cdf() -> None:
    sample = np.random.default_rng(3).standard_t(4, size=1001)
    for confidence in (0.9, 0.95, 0.975, 0.99):
        expected = -np.quantile(sample, 1 - confidence, method="inverted_cdf")
        assert historical_var(sample, confidence) == expected


def test_historical_cvar_averages_the_worst_n_alpha_days() -> None:
    assert historical_cvar(TEN_DAYS, 0.80) == pytest.approx((9 + 7) / 2)  # 8.0
    # nα = 2.5: the two worst whole, the third at weight one half → (9 + 7 + 0.5 · 4) / 2.5 = 7.2
    assert historical_cvar(TEN_DAYS, 0.75) == pytest.approx(7.2)
    assert historical_cvar(TEN_DAYS, 0.95) == 9.0


def test_historical_cvar_of_a_whole_tail_count_is_the_plain_mean() -> None:
    # 100 days at 95 %: the mean of the 5 worst, despite 100 × 0.05 = 5.000000000000004 in floating point
    days = np.arange(100.0) - 50.0  # worst five: −50 … −46
    assert historical_var(days, 0.95) == 46.0
    assert historical_cvar(days, 0.95) == pytest.approx(48.0, abs=1e-12)


def test_historical_estimates_converge_to_the_exact_ones() -> None:
    distribution = stats.skewnorm(-4, loc=0.001, scale=0.02)
    sample = distribution.rvs(size=200_000, random_state=np.random.default_rng(20240209))
    for confidence in (0.95, 0.99):
        quantile = distribution.ppf(1 - confidence)
        exact_cvar = -distribution.expect(lambda x: x, ub=quantile, conditional=True)
        assert historical_var(sample, confidence) == pytest.approx(-quantile, rel=0.01)
        assert historical_cvar(sample, confidence) == pytest.approx(exact_cvar, rel=0.01)


# --- parametric normal --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mean", "std", "confidence"), [(0.0, 1.0, 0.95), (0.0005, 0.012, 0.99), (-3.0, 40.0, 0.9)]
)
def test_normal_var_is_minus_scipy_quantile(mean: float, std: float, confidence: float) -> None:
    assert normal_var(mean, std, confidence) == pytest.approx(
        -stats.norm.ppf(1 - confidence, mean, std), rel=1e-12
    )


@pytest.mark.parametrize(
    ("mean", "std", "confidence"), [(0.0, 1.0, 0.95), (0.0005, 0.012, 0.99), (-3.0, 40.0, 0.9)]
)
def test_normal_cvar_is_the_tail_mean_of_the_quantile_function(
    mean: float, std: float, confidence: float
) -> None:
    tail = 1 - confidence
    integral, _ = integrate.quad(lambda u: stats.norm.ppf(u, mean, std), 0, tail, limit=200)

    assert normal_cvar(mean, std, confidence) == pytest.approx(-integral / tail, rel=1e-7)


def test_normal_hand_worked_numbers() -> None:
    # z_0.05 = −1.6449, φ(1.6449) = 0.10314 → VaR = 1.6449σ − μ, CVaR = 2.0627σ − μ; σ = 100, μ = 10
    assert normal_var(10.0, 100.0, 0.95) == pytest.approx(154.49, abs=0.01)
    assert normal_cvar(10.0, 100.0, 0.95) == pytest.approx(196.27, abs=0.01)


# --- Cornish-Fisher -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99, 0.999])
def test_cornish_fisher_without_skew_or_excess_kurtosis_is_normal(confidence: float) -> None:
    assert cornish_fisher_var(0.001, 0.02, 0.0, 0.0, confidence) == normal_var(0.001, 0.02, confidence)
    assert cornish_fisher_cvar(0.001, 0.02, 0.0, 0.0, confidence) == pytest.approx(
        normal_cvar(0.001, 0.02, confidence), rel=1e-10
    )


def test_cornish_fisher_expansion_hand_worked() -> None:
    # z = −2, S = −1, K = 3: −2 + 3·(−1)/6 + (−8 + 6)·3/24 − (−16 + 10)·1/36 = −2 − 0.5 − 0.25 + 1/6
    assert cornish_fisher_quantile(-2.0, -1.0, 3.0) == pytest.approx(-2.0 - 0.5 - 0.25 + 1 / 6, abs=1e-15)


@pytest.mark.parametrize(
    "distribution",
    [stats.skewnorm(-4, loc=0.001, scale=0.02), stats.skewnorm(-2), stats.lognorm(0.3)],
    ids=["skewnorm(-4) daily", "skewnorm(-2)", "lognormal(0.3)"],
)
@pytest.mark.parametrize("confidence", [0.95, 0.99])
def test_cornish_fisher_is_closer_than_normal_on_a_skewed_distribution(
    distribution: Any, confidence: float
) -> None:
    mean, variance, skew, excess_kurtosis = (float(m) for m in distribution.stats(moments="mvsk"))
    std = math.sqrt(variance)
    quantile = distribution.ppf(1 - confidence)
    exact_var = -quantile
    exact_cvar = -distribution.expect(lambda x: x, ub=quantile, conditional=True)

    cf_var = cornish_fisher_var(mean, std, skew, excess_kurtosis, confidence)
    cf_cvar = cornish_fisher_cvar(mean, std, skew, excess_kurtosis, confidence)

    assert abs(cf_var - exact_var) < abs(normal_var(mean, std, confidence) - exact_var)
    assert abs(cf_cvar - exact_cvar) < abs(normal_cvar(mean, std, confidence) - exact_cvar)


def test_cornish_fisher_cvar_integrates_the_expanded_quantile_function() -> None:
    # Independent route: integrate over u in (0, α) directly instead of over z.
    mean, std, skew, excess_kurtosis, confidence = 0.0, 1.0, -0.5, 2.0, 0.95
    tail = 1 - confidence
    integral, _ = integrate.quad(
        lambda u: cornish_fisher_quantile(float(stats.norm.ppf(u)), skew, excess_kurtosis), 0, tail, limit=200
    )

    assert cornish_fisher_cvar(mean, std, skew, excess_kurtosis, confidence) == pytest.approx(
        -integral / tail, rel=1e-7
    )


def test_cornish_fisher_monotone_domain_matches_a_numerical_check() -> None:
    grid = np.linspace(-10, 10, 4001)
    rng = np.random.default_rng(1)
    for skew, excess_kurtosis in rng.uniform([-2.0, -1.0], [2.0, 8.0], size=(300, 2)):
        increasing = bool(np.all(np.diff(cornish_fisher_quantile(grid, skew, excess_kurtosis)) > 0))  # type: ignore[arg-type]
        assert cornish_fisher_is_monotone(skew, excess_kurtosis) == increasing
    assert cornish_fisher_is_monotone(0.0, 0.0)
    assert not cornish_fisher_is_monotone(-1.0, 0.0)  # strong skew, no fat tails: the expansion turns back


# --- sample dispatch ----------------------------------------------------------------------------------------


def test_sample_methods_use_the_sample_moments() -> None:
    sample = np.random.default_rng(9).normal(0.001, 0.02, size=500)
    mean, std = sample.mean(), sample.std(ddof=1)
    skew, excess_kurtosis = stats.skew(sample), stats.kurtosis(sample)

    assert sample_var(sample, "historical", 0.95) == historical_var(sample, 0.95)
    assert sample_cvar(sample, TailMethod.NORMAL, 0.95) == pytest.approx(normal_cvar(mean, std, 0.95))
    assert sample_var(sample, "cornish_fisher", 0.99) == pytest.approx(
        cornish_fisher_var(mean, std, skew, excess_kurtosis, 0.99)
    )


# --- bad input ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("confidence", [0.0, 1.0, 95.0, -0.5, math.nan])
def test_confidence_outside_zero_one_is_rejected(confidence: float) -> None:
    with pytest.raises(ValueError, match="confidence"):
        historical_var(TEN_DAYS, confidence)
    with pytest.raises(ValueError, match="confidence"):
        normal_cvar(0.0, 1.0, confidence)


@pytest.mark.parametrize("sample", [np.array([]), np.array([1.0, math.nan]), np.ones((3, 2))])
def test_malformed_samples_are_rejected(sample: np.ndarray) -> None:
    with pytest.raises(ValueError, match="pnl"):
        historical_cvar(sample, 0.95)


def test_negative_or_missing_moments_are_rejected() -> None:
    with pytest.raises(ValueError, match="std"):
        normal_var(0.0, -1.0, 0.95)
    with pytest.raises(ValueError, match="finite"):
        cornish_fisher_cvar(0.0, 1.0, math.nan, 0.0, 0.95)


def test_unknown_method_is_rejected() -> None:
    with pytest.raises(ValueError, match="monte_carlo"):
        sample_cvar(TEN_DAYS, "monte_carlo", 0.95)


# --- the book -----------------------------------------------------------------------------------------------


def test_book_pnl_is_exposure_times_return_per_day() -> None:
    exposures = np.array([1_000.0, -500.0])  # long 1,000 USD of A, short 500 USD of B
    returns = np.array([[0.01, 0.02], [-0.03, 0.01], [0.0, -0.04]])

    # day 1: 10 − 10 = 0; day 2: −30 − 5 = −35; day 3: 0 + 20 = 20
    np.testing.assert_allclose(book_pnl_samples(exposures, returns), [0.0, -35.0, 20.0], atol=1e-12)


def test_book_pnl_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="T×2"):
        book_pnl_samples(np.array([1.0, 2.0]), np.ones((5, 3)))


# Four scenarios at 75 %: nα = 1, so the historical CVaR is the single worst scenario's loss.
BOOK = np.array([-10.0, 0.0, 5.0, 10.0])


def test_budget_scale_of_a_same_direction_order() -> None:
    # candidate = 2 × book → CVaR(book + s·candidate) = 10(1 + 2s): budget 15 → s = 0.25
    assert largest_scale_within_budget(BOOK, 2 * BOOK, 15.0, "historical", 0.75) == pytest.approx(
        0.25, abs=1e-10
    )


def test_budget_scale_of_a_diversifying_order() -> None:
    # candidate loses 20 on a day the book is flat: CVaR = max(10, 20s) → budget 12 → s = 0.6
    candidate = np.array([0.0, -20.0, 0.0, 0.0])
    assert largest_scale_within_budget(BOOK, candidate, 12.0, "historical", 0.75) == pytest.approx(
        0.6, abs=1e-10
    )


def test_budget_scale_is_one_when_the_whole_order_fits() -> None:
    assert largest_scale_within_budget(BOOK, 2 * BOOK, 35.0, "historical", 0.75) == 1.0
    assert (
        largest_scale_within_budget(BOOK, np.array([0.0, -10.0, 0.0, 0.0]), 10.0, "historical", 0.75) == 1.0
    )


def test_budget_scale_is_zero_when_the_book_alone_breaches() -> None:
    assert largest_scale_within_budget(BOOK, 2 * BOOK, 8.0, "historical", 0.75) == 0.0


def test_a_hedge_that_brings_the_book_back_within_budget_passes_whole() -> None:
    hedge = np.array([6.0, 0.0, 0.0, -3.0])  # book + hedge = [−4, 0, 5, 7] → CVaR 4
    assert largest_scale_within_budget(BOOK, hedge, 8.0, "historical", 0.75) == 1.0


def test_budget_scale_under_the_normal_method_solves_the_closed_form() -> None:
    rng = np.random.default_rng(12)
    book = rng.normal(50.0, 1_000.0, size=250)
    candidate = 0.5 * book + rng.normal(10.0, 400.0, size=250)  # adds to the book's risk
    budget = 2_500.0  # the book alone: about 1,900; with the whole candidate: about 3,000

    scale = largest_scale_within_budget(book, candidate, budget, TailMethod.NORMAL, 0.95)

    combined = book + scale * candidate
    assert 0.0 < scale < 1.0
    assert normal_cvar(combined.mean(), combined.std(ddof=1), 0.95) == pytest.approx(budget, rel=1e-9)


def test_budget_scale_under_cornish_fisher_lands_on_the_budget() -> None:
    rng = np.random.default_rng(13)
    book = rng.standard_t(5, size=500) * 100.0
    candidate = -np.abs(rng.normal(0.0, 60.0, size=500)) + 30.0  # a short-volatility-like payoff
    book_alone = sample_cvar(book, "cornish_fisher", 0.95)
    budget = (book_alone + sample_cvar(book + candidate, "cornish_fisher", 0.95)) / 2

    scale = largest_scale_within_budget(book, candidate, budget, "cornish_fisher", 0.95)

    assert 0.0 < scale < 1.0
    assert sample_cvar(book + scale * candidate, "cornish_fisher", 0.95) == pytest.approx(budget, rel=1e-9)


def test_budget_scaler_rejects_mismatched_scenarios_and_bad_budgets() -> None:
    with pytest.raises(ValueError, match="same scenarios"):
        largest_scale_within_budget(BOOK, BOOK[:3], 10.0)
    with pytest.raises(ValueError, match="budget"):
        largest_scale_within_budget(BOOK, BOOK, math.nan)
    with pytest.raises(ValueError, match="budget"):
        largest_scale_within_budget(BOOK, BOOK, -1.0)
