"""The fleet's allocator: Normal-Gamma updates worked by hand, sampling checked against scipy's
Student-t, forgetting checked as the geometric mixture it claims to be, the projection against
scipy's optimiser, and the benchmark's bookkeeping."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from benchmarks.fleet_allocation import (
    POLICIES,
    FleetModel,
    Policy,
    Rules,
    allocation_path,
    run_seed,
    simulate_world,
)
from bots.fleet.allocation import (
    AllocationSettings,
    FleetAllocator,
    NormalGammaBatch,
    NormalGammaPosterior,
    RegimeFleetAllocator,
    epsilon_greedy_allocation,
    equal_allocation,
    probability_of_best,
    project_weights,
    thompson_allocation,
)

PRIOR = NormalGammaPosterior.prior()  # mu 0, kappa 1, alpha 1, beta 1


def assert_posterior(
    actual: NormalGammaPosterior, mu: float, kappa: float, alpha: float, beta: float
) -> None:
    assert (actual.mu, actual.kappa, actual.alpha, actual.beta) == pytest.approx((mu, kappa, alpha, beta))


# ----------------------------------------------------------------------------------- the posterior
def test_default_prior_is_centred_on_zero_with_unit_scale() -> None:
    assert_posterior(PRIOR, 0.0, 1.0, 1.0, 1.0)
    # beta = alpha scale^2: scale 0.5 with alpha 2 gives beta 0.5.
    assert_posterior(NormalGammaPosterior.prior(scale=0.5, alpha=2.0), 0.0, 1.0, 2.0, 0.5)


def test_conjugate_update_matches_hand_worked_example() -> None:
    # x = 2 on (0, 1, 1, 1): kappa 2, mu (1*0 + 2)/2 = 1, alpha 1.5, beta 1 + 1*(2-0)^2/(2*2) = 2.
    once = PRIOR.updated(2.0)
    assert_posterior(once, 1.0, 2.0, 1.5, 2.0)
    # x = -1 on that: kappa 3, mu (2*1 - 1)/3 = 1/3, alpha 2, beta 2 + 2*(-1-1)^2/(2*3) = 2 + 4/3 = 10/3.
    assert_posterior(once.updated(-1.0), 1 / 3, 3.0, 2.0, 10 / 3)


def test_updated_many_matches_the_batch_formula() -> None:
    # Murphy (2007) eq. 86-89, n = 4 returns 1, 2, 3, -2: mean 1, sum of squared deviations 0+1+4+9 = 14.
    # kappa 1+4 = 5; mu (1*0 + 4*1)/5 = 0.8; alpha 1 + 4/2 = 3; beta 1 + 14/2 + 1*4*(1-0)^2/(2*5) = 8.4.
    assert_posterior(PRIOR.updated_many([1.0, 2.0, 3.0, -2.0]), 0.8, 5.0, 3.0, 8.4)


def test_sample_means_follow_the_student_t_marginal() -> None:
    posterior = NormalGammaPosterior(mu=0.3, kappa=4.0, alpha=3.0, beta=2.0)
    marginal = stats.t(df=2 * 3.0, loc=0.3, scale=math.sqrt(2.0 / (3.0 * 4.0)))
    n = 200_000
    draws = posterior.sample_means(np.random.default_rng(7), n)
    levels = np.array([0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99])
    expected = marginal.ppf(levels)
    # Four standard errors of a sample quantile: sqrt(p (1 - p) / n) / density at the quantile.
    tolerance = 4 * np.sqrt(levels * (1 - levels) / n) / marginal.pdf(expected)
    assert np.all(np.abs(np.quantile(draws, levels) - expected) < tolerance)
    assert stats.kstest(draws, marginal.cdf).pvalue > 0.001


def test_decay_matches_hand_worked_example() -> None:
    # (mu 1, kappa 2, alpha 1.5, beta 2) toward the prior (0, 1, 1, 1) with d = 0.5:
    # kappa 0.5*2 + 0.5*1 = 1.5; mu (0.5*2*1 + 0.5*1*0)/1.5 = 2/3; alpha 0.5*1.5 + 0.5*1 = 1.25;
    # beta 0.5*2 + 0.5*1 + 0.5*0.5*2*1*(1-0)^2/(2*1.5) = 1.5 + 1/6 = 5/3.
    decayed = NormalGammaPosterior(1.0, 2.0, 1.5, 2.0).decayed(0.5, PRIOR)
    assert_posterior(decayed, 2 / 3, 1.5, 1.25, 5 / 3)


def _log_density(p: NormalGammaPosterior, mean: np.ndarray, precision: np.ndarray) -> np.ndarray:
    return stats.gamma.logpdf(precision, p.alpha, scale=1 / p.beta) + stats.norm.logpdf(
        mean, p.mu, 1 / np.sqrt(p.kappa * precision)
    )


def test_decay_is_the_normalised_geometric_mixture_of_posterior_and_prior() -> None:
    # p_d must be proportional to p^d p0^(1-d): their log ratio is the same at every (mean, precision).
    prior = NormalGammaPosterior(mu=-0.2, kappa=2.0, alpha=1.5, beta=0.8)
    posterior = NormalGammaPosterior(mu=0.7, kappa=30.0, alpha=16.0, beta=9.0)
    decayed = posterior.decayed(0.8, prior)
    mean, precision = np.meshgrid(np.linspace(-1, 2, 7), np.linspace(0.3, 4, 7))
    mixture = 0.8 * _log_density(posterior, mean, precision) + 0.2 * _log_density(prior, mean, precision)
    log_ratio = mixture - _log_density(decayed, mean, precision)
    assert np.ptp(log_ratio) == pytest.approx(0.0, abs=1e-9)


def test_discount_one_is_plain_updating() -> None:
    posterior = NormalGammaPosterior(0.4, 3.0, 2.5, 1.7)
    assert posterior.decayed(1.0, PRIOR) == posterior
    assert posterior.updated(0.9, 1.0, PRIOR) == posterior.updated(0.9)


def test_discounting_lets_an_old_losing_run_fade() -> None:
    trades = [-1.0] * 50 + [1.0] * 50
    plain = PRIOR.updated_many(trades, 1.0)
    forgetful = PRIOR.updated_many(trades, 0.9, PRIOR)
    # Plain: kappa mu = 0 + 50*(-1) + 50*(+1) = 0, so mu = 0.
    assert plain.mu == pytest.approx(0.0, abs=1e-12)
    # With d = 0.9 and mu0 = 0: kappa mu <- d kappa mu + x, so kappa mu = sum_j d^j x_(100-j)
    # = (1 - d^50)/(1 - d) - d^50 (1 - d^50)/(1 - d) = (1 - d^50)^2 / (1 - d) = 9.89719;
    # kappa <- d kappa + (1 - d) 1 + 1 from 1 gives 1 + (1 - d^100)/(1 - d) = 10.99973; mu = 0.89977.
    assert forgetful.mu == pytest.approx(0.899766, abs=1e-6)
    assert forgetful.kappa == pytest.approx(10.999734, abs=1e-6)


def test_forgetting_without_a_prior_is_refused() -> None:
    with pytest.raises(ValueError, match="pass prior="):
        PRIOR.updated(1.0, 0.9)


@pytest.mark.parametrize(
    "fields",
    [(0.0, 0.0, 1.0, 1.0), (0.0, 1.0, -1.0, 1.0), (0.0, 1.0, 1.0, 0.0), (math.nan, 1.0, 1.0, 1.0)],
)
def test_invalid_posterior_is_refused(fields: tuple[float, float, float, float]) -> None:
    with pytest.raises(ValueError, match="Normal-Gamma"):
        NormalGammaPosterior(*fields)


@pytest.mark.parametrize("discount", [0.0, 1.5])
def test_discount_outside_zero_one_is_refused(discount: float) -> None:
    with pytest.raises(ValueError, match="discount"):
        PRIOR.updated(1.0, discount, PRIOR)


def test_batch_update_equals_one_update_per_sub_bot() -> None:
    posteriors = [PRIOR, NormalGammaPosterior(0.5, 3.0, 2.0, 1.5)]
    batch = NormalGammaBatch.of(posteriors).updated([1.0, -2.0], 0.9, PRIOR)
    assert batch.posterior(0) == PRIOR.updated(1.0, 0.9, PRIOR)
    assert batch.posterior(1) == posteriors[1].updated(-2.0, 0.9, PRIOR)


# ----------------------------------------------------------------------------------- projection
def test_projection_matches_hand_worked_example() -> None:
    # w_i = clip(v_i - shift, 0.1, 0.5): with shift -0.05, (0.7, 0.2, 0.1, 0) -> 0.5 (capped), 0.25,
    # 0.15, 0.1 (floored, since 0.05 < 0.1): 0.5 + 0.25 + 0.15 + 0.1 = 1.
    weights = project_weights([0.7, 0.2, 0.1, 0.0], floor=0.1, cap=0.5)
    np.testing.assert_allclose(weights, [0.5, 0.25, 0.15, 0.1], atol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_projection_is_the_nearest_feasible_allocation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    raw = rng.dirichlet(np.full(8, 0.3)) * rng.uniform(0.5, 1.5)
    floor, cap = 0.05, 0.3
    weights = project_weights(raw, floor=floor, cap=cap)
    assert weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(weights >= floor) and np.all(weights <= cap)
    nearest = optimize.minimize(
        lambda w: float(np.sum((w - raw) ** 2)),
        np.full(8, 1 / 8),
        jac=lambda w: 2 * (w - raw),
        bounds=[(floor, cap)] * 8,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0}],
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 500},
    )
    np.testing.assert_allclose(weights, nearest.x, atol=1e-6)


def test_projection_leaves_a_feasible_allocation_unchanged() -> None:
    feasible = np.array([0.25, 0.25, 0.2, 0.2, 0.1])
    np.testing.assert_array_equal(project_weights(feasible, floor=0.05, cap=0.3), feasible)


@pytest.mark.parametrize(
    ("floor", "cap", "reason"), [(0.3, 0.5, "lower the floor"), (0.0, 0.2, "raise the cap")]
)
def test_projection_refuses_impossible_bounds(floor: float, cap: float, reason: str) -> None:
    # 4 sub-bots: a floor of 0.3 needs 1.2, a cap of 0.2 reaches only 0.8.
    with pytest.raises(ValueError, match=reason):
        project_weights([0.25, 0.25, 0.25, 0.25], floor=floor, cap=cap)


# ----------------------------------------------------------------------------------- allocation rules
def test_probability_of_best_matches_numerical_integration() -> None:
    # P(m1 > m2) for independent Student-t marginals = integral of pdf1(x) cdf2(x) dx.
    first = NormalGammaPosterior(0.2, 5.0, 3.0, 2.0)
    second = NormalGammaPosterior(0.0, 8.0, 4.0, 3.0)

    def marginal(p: NormalGammaPosterior) -> stats.rv_continuous:
        return stats.t(df=2 * p.alpha, loc=p.mu, scale=math.sqrt(p.beta / (p.alpha * p.kappa)))

    exact, _ = integrate.quad(lambda x: marginal(first).pdf(x) * marginal(second).cdf(x), -np.inf, np.inf)
    draws = 100_000
    estimate = probability_of_best([first, second], np.random.default_rng(3), draws)
    error = math.sqrt(exact * (1 - exact) / draws)
    assert estimate[0] == pytest.approx(exact, abs=4 * error)
    assert estimate.sum() == pytest.approx(1.0)


def test_thompson_gives_the_clearly_best_sub_bot_the_cap() -> None:
    # Best almost surely wins every draw: raw (1, 0, 0, 0, 0) -> capped 0.4, the other 0.6 split evenly.
    sure = dict(kappa=1000.0, alpha=500.0, beta=500.0)
    posteriors = [NormalGammaPosterior(mu=1.0, **sure)] + [NormalGammaPosterior(mu=0.0, **sure)] * 4
    weights = thompson_allocation(posteriors, np.random.default_rng(1), floor=0.05, cap=0.4)
    np.testing.assert_allclose(weights, [0.4, 0.15, 0.15, 0.15, 0.15], atol=1e-12)


def test_epsilon_greedy_matches_hand_worked_example() -> None:
    # epsilon 0.2 over 4: 0.05 each, plus 0.8 on the best: (0.85, 0.05, 0.05, 0.05); projected with
    # cap 0.5 and floor 0.1: 0.5 to the best, the other 0.5 split evenly, 1/6 each.
    weights = epsilon_greedy_allocation([0.3, 0.1, 0.2, 0.0], 0.2, floor=0.1, cap=0.5)
    np.testing.assert_allclose(weights, [0.5, 1 / 6, 1 / 6, 1 / 6], atol=1e-12)


def test_epsilon_greedy_splits_ties_between_the_best() -> None:
    weights = epsilon_greedy_allocation([0.3, 0.3, 0.0, 0.0], 0.0, floor=0.0, cap=1.0)
    np.testing.assert_allclose(weights, [0.5, 0.5, 0.0, 0.0], atol=1e-12)


def test_equal_allocation_splits_evenly() -> None:
    np.testing.assert_allclose(equal_allocation(4), [0.25] * 4)


# ----------------------------------------------------------------------------------- the allocators
def test_allocator_records_with_forgetting() -> None:
    allocator = FleetAllocator(AllocationSettings(discount=0.5, floor=0.0, cap=1.0))
    allocator.join("crypto_momentum")
    allocator.record("crypto_momentum", 2.0)
    allocator.record("crypto_momentum", 2.0)
    # First: the prior decayed toward itself is the prior; x = 2 gives (1, 2, 1.5, 2) (see above).
    # Second: decayed to (2/3, 1.5, 1.25, 5/3), then x = 2: kappa 2.5, mu (1.5*2/3 + 2)/2.5 = 1.2,
    # alpha 1.75, beta 5/3 + 1.5*(2 - 2/3)^2/(2*2.5) = 5/3 + 8/15 = 2.2.
    assert_posterior(allocator.posterior("crypto_momentum"), 1.2, 2.5, 1.75, 2.2)


def test_a_sub_bot_joining_late_starts_at_the_prior() -> None:
    allocator = FleetAllocator()
    allocator.join("kalshi_weather")
    for _ in range(20):
        allocator.record("kalshi_weather", 0.5)
    allocator.join("forex_carry")
    allocator.join("kalshi_weather")  # joining again keeps what it learned
    assert allocator.posterior("forex_carry") == allocator.settings.prior
    assert allocator.posterior("kalshi_weather").mu > 0.4


def test_record_for_a_sub_bot_that_never_joined_is_refused() -> None:
    allocator = FleetAllocator()
    allocator.join("kalshi_weather")
    with pytest.raises(ValueError, match="'kalshi_wether' has not joined"):
        allocator.record("kalshi_wether", 1.0)


def test_allocator_gives_a_steady_winner_the_cap() -> None:
    allocator = FleetAllocator(AllocationSettings(floor=0.05, cap=0.4))
    rng = np.random.default_rng(5)
    for name in ("a", "b", "c", "d", "e"):
        allocator.join(name)
        for x in rng.normal(1.0 if name == "c" else -0.5, 0.5, 40):
            allocator.record(name, float(x))
    weights = allocator.allocate(np.random.default_rng(0))
    assert weights == pytest.approx({"a": 0.15, "b": 0.15, "c": 0.4, "d": 0.15, "e": 0.15})


def test_allocator_round_trips_through_its_journal_form() -> None:
    allocator = FleetAllocator(AllocationSettings(discount=0.95, floor=0.02, cap=0.5))
    for name, x in [("b", 0.7), ("a", -0.3), ("c", 1.2), ("a", 0.1)]:
        allocator.join(name)
        allocator.record(name, x)
    restored = FleetAllocator.from_dict(json.loads(json.dumps(allocator.to_dict())))
    assert restored.settings == allocator.settings
    assert restored.names == ("a", "b", "c")
    assert [restored.posterior(n) for n in restored.names] == [
        allocator.posterior(n) for n in allocator.names
    ]
    assert restored.allocate(np.random.default_rng(9)) == allocator.allocate(np.random.default_rng(9))


def test_regime_allocator_trusts_each_sub_bot_where_it_earned_it() -> None:
    allocator = RegimeFleetAllocator(AllocationSettings(floor=0.05, cap=0.4))
    for name in ("trend", "mean_reversion", "carry", "grid"):
        allocator.join(name)
    for _ in range(40):
        allocator.record("trend", "bull", 1.0)
        allocator.record("trend", "sideways", -1.0)
        allocator.record("mean_reversion", "bull", -1.0)
        allocator.record("mean_reversion", "sideways", 1.0)
    rng = np.random.default_rng(2)
    assert allocator.allocate(rng, "bull")["trend"] == pytest.approx(0.4)
    assert allocator.allocate(rng, "sideways")["mean_reversion"] == pytest.approx(0.4)
    assert allocator.posterior("trend", "bear") == allocator.settings.prior


def test_regime_allocator_judges_each_sub_bot_in_its_own_markets_regime() -> None:
    # trend earned in bull markets and lost sideways, mean_reversion the reverse: with trend's market
    # bull and mean_reversion's sideways both are at their best and lead (the two without a record
    # keep a share: their wide prior can still draw the best mean)
    allocator = RegimeFleetAllocator(AllocationSettings(floor=0.05, cap=0.4))
    for name in ("trend", "mean_reversion", "carry", "grid"):
        allocator.join(name)
    for _ in range(40):
        allocator.record("trend", "bull", 1.0)
        allocator.record("trend", "sideways", -1.0)
        allocator.record("mean_reversion", "bull", -1.0)
        allocator.record("mean_reversion", "sideways", 1.0)
    rng = np.random.default_rng(5)
    both_good = {"trend": "bull", "mean_reversion": "sideways", "carry": "bull", "grid": "none"}
    good = allocator.allocate_each(rng, both_good)
    assert min(good["trend"], good["mean_reversion"]) > max(good["carry"], good["grid"])
    assert good["trend"] == pytest.approx(good["mean_reversion"], abs=0.05)
    # swap the regimes: both are now where they lost; the two without a record take the cap (0.4 each)
    # and the 0.2 left is split between them
    both_bad = {**both_good, "trend": "sideways", "mean_reversion": "bull"}
    bad = allocator.allocate_each(rng, both_bad)
    assert bad["carry"] == pytest.approx(0.4) and bad["grid"] == pytest.approx(0.4)
    assert bad["trend"] + bad["mean_reversion"] == pytest.approx(0.2)
    assert bad["trend"] < good["trend"] / 2
    with pytest.raises(ValueError, match="no current regime for grid"):
        allocator.allocate_each(rng, {"trend": "bull", "mean_reversion": "bull", "carry": "bull"})


def test_regime_allocator_round_trips_through_its_journal_form() -> None:
    allocator = RegimeFleetAllocator(AllocationSettings(floor=0.0, cap=1.0), names=["grid"])
    allocator.record("grid", "bear", -0.4)
    allocator.join("trend")
    restored = RegimeFleetAllocator.from_dict(json.loads(json.dumps(allocator.to_dict())))
    assert restored.names == ("grid", "trend")
    assert restored.posterior("grid", "bear") == allocator.posterior("grid", "bear")
    assert restored.allocate(np.random.default_rng(4), "bear") == allocator.allocate(
        np.random.default_rng(4), "bear"
    )


def test_allocating_a_fleet_too_small_for_the_cap_is_refused() -> None:
    allocator = FleetAllocator(AllocationSettings(cap=0.25))
    for name in ("a", "b", "c"):
        allocator.join(name)
    with pytest.raises(ValueError, match="raise the cap or add sub-bots"):
        allocator.allocate(np.random.default_rng(0))


# ----------------------------------------------------------------------------------- the benchmark
def test_benchmark_bookkeeping_on_two_short_seeds() -> None:
    model = FleetModel(periods=200, rotation_period=50)
    rules = Rules()
    for seed in (0, 1):
        outcomes = run_seed(model, POLICIES, rules, seed)
        assert all(o.regret >= -1e-12 for o in outcomes.values())
        assert outcomes["[knows edges] oracle, all in the best"].regret == pytest.approx(0.0, abs=1e-12)
        # Static: every period gives up best - mean edge = 0.002 - (3*0.002 - 16*0.0005)/19.
        static_gap = 0.002 - (3 * 0.002 - 16 * 0.0005) / 19
        assert outcomes["static equal"].regret == pytest.approx(200 * static_gap)
        # Best within bounds: 0.75 on the winners, 0.25 on the rest: 0.25*(0.002 + 0.0005) a period.
        assert outcomes["[knows edges] best within floor/cap"].regret == pytest.approx(200 * 0.000625)


def test_benchmark_policies_hold_feasible_weights_decided_before_each_period() -> None:
    model = FleetModel(periods=200, rotation_period=50)
    world = simulate_world(model, np.random.default_rng(0))
    prior = NormalGammaPosterior.prior(scale=model.sigma)
    policy = Policy("discounted Thompson", "thompson", discount=0.97)
    weights = allocation_path(policy, world, Rules(), prior, np.random.default_rng(1))
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-12)
    assert weights.min() >= 0.01 - 1e-12 and weights.max() <= 0.25 + 1e-12
    # Nothing is known before the first period, so the first allocation is near equal, and the
    # weights only change on rebalancing periods.
    np.testing.assert_allclose(weights[0], 1 / 19, atol=0.03)
    changes = np.flatnonzero(np.any(weights[1:] != weights[:-1], axis=1)) + 1
    assert np.all(changes % 10 == 0)
