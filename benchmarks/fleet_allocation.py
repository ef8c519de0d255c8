"""Measurement: does discounted Thompson sampling allocate a fleet's capital better than a static split?

The model (stated once, run as is; the defaults were fixed before the first run, not tuned on it):

- K sub-bots (default 19) over T periods (default 2000). In period t sub-bot i returns
  r_i(t) ~ Normal(edge_i(t), sigma), sigma = 1 %, independent across sub-bots and periods.
- At any time `winners` (3) sub-bots have an edge of +0.2 % a period (a Sharpe ratio of 0.2 a
  period) and the others -0.05 % (a bot without an edge still pays its costs).
  rotating: the winners are drawn afresh (uniformly; the same one may win again) every
  `rotation_period` (200) periods. stationary: the first draw holds for the whole run.
- The fleet returns R(t) = sum_i w_i(t) r_i(t), where w(t) is decided from the returns up to t - 1,
  recomputed every `rebalance` (10) periods and held in between. Every sub-bot trades every period
  whatever its weight (the floor keeps it alive), so every posterior learns from every period
  (full information, not a bandit), each period's return being one observation.

Policies, all with the same floor (1 %) and cap (25 %) but static:

- discounted Thompson, d = 0.97: `AllocationSettings`' default, chosen for the daemon's R units
  (a memory of about 33 observations); here that is a sixth of a rotation, so evidence from the
  previous set of winners has halved 23 periods after a rotation.
- plain Thompson: d = 1, never forgets.
- epsilon-greedy, epsilon 0.1, on the discounted (d = 0.97) posterior means: it sees exactly what
  discounted Thompson sees and differs only in how it turns estimates into weights.
- static: 1/K each, never rebalanced.

Every learner starts at `NormalGammaPosterior.prior(scale=sigma)`: mean 0, the noise's size
roughly known, as it is for returns fed in R units. Two reference rows know the edges and are not
policies one could run: the best allocation within the floor and cap (which is the most any
policy in the table could earn), and the oracle, all in the best sub-bot each period, rebalanced
every period.

Per seed and policy: the cumulative log return sum_t log(1 + R(t)); the expected-value regret
sum_t [max_i edge_i(t) - sum_i w_i(t) edge_i(t)] against that oracle (same units: what the policy
gave up in expected return, summed over periods); the mean share of capital on the current winners.
Means over seeds with standard errors, and how often a policy's log return beat static's on the
same seed's returns (common random numbers).

    .venv/bin/python benchmarks/fleet_allocation.py [--seeds 50] [--periods 2000] [--jobs 2] [--quick]
"""

from __future__ import annotations

import argparse
import math
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bots.fleet.allocation import (
    NormalGammaBatch,
    NormalGammaPosterior,
    epsilon_greedy_allocation,
    equal_allocation,
    thompson_allocation,
)

FloatArray = npt.NDArray[np.float64]
Rule = Literal["thompson", "epsilon_greedy", "equal", "best_within_bounds", "oracle"]


@dataclass(frozen=True, slots=True)
class FleetModel:
    bots: int = 19
    periods: int = 2000
    rotation_period: int | None = 200  # None: stationary edges
    winners: int = 3
    good_edge: float = 0.002
    bad_edge: float = -0.0005
    sigma: float = 0.01

    def __post_init__(self) -> None:
        if not 1 <= self.winners <= self.bots:
            raise ValueError(f"winners must be in [1, bots = {self.bots}], got {self.winners}")
        if self.rotation_period is not None and self.rotation_period < 1:
            raise ValueError(f"rotation_period must be >= 1 or None, got {self.rotation_period}")


@dataclass(frozen=True, slots=True)
class Rules:
    """What every policy but static and the oracle obeys."""

    floor: float = 0.01
    cap: float = 0.25
    rebalance: int = 10
    draws: int = 2000


@dataclass(frozen=True, slots=True, eq=False)
class World:
    edges: FloatArray  # (periods, bots): the expected return of each sub-bot in each period
    returns: FloatArray  # (periods, bots): what each one earned


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    rule: Rule
    discount: float = 1.0
    epsilon: float = 0.0

    @property
    def learns(self) -> bool:
        return self.rule in ("thompson", "epsilon_greedy")


@dataclass(frozen=True, slots=True)
class Outcome:
    log_return: float
    regret: float
    on_winners: float  # mean share of capital on the sub-bots with the best edge


POLICIES = (
    Policy("discounted Thompson (d=0.97)", "thompson", discount=0.97),
    Policy("plain Thompson (d=1)", "thompson", discount=1.0),
    Policy("epsilon-greedy (e=0.1, d=0.97)", "epsilon_greedy", discount=0.97, epsilon=0.1),
    Policy("static equal", "equal"),
    Policy("[knows edges] best within floor/cap", "best_within_bounds"),
    Policy("[knows edges] oracle, all in the best", "oracle"),
)
STATIC = "static equal"


def simulate_world(model: FleetModel, rng: np.random.Generator) -> World:
    """Edges that rotate every `rotation_period` periods (or never), and returns drawn around them."""
    # Separate streams, so that a seed's noise is the same with rotating and with stationary edges.
    edge_rng, noise_rng = rng.spawn(2)
    span = model.rotation_period or model.periods
    epochs = math.ceil(model.periods / span)
    edges = np.full((model.periods, model.bots), model.bad_edge)
    for epoch in range(epochs):
        chosen = edge_rng.choice(model.bots, size=model.winners, replace=False)
        edges[epoch * span : (epoch + 1) * span, chosen] = model.good_edge
    returns = edges + model.sigma * noise_rng.standard_normal(edges.shape)
    return World(edges, returns)


def best_within_bounds(edges: FloatArray, floor: float, cap: float) -> FloatArray:
    """Per row, the weights maximising w . edge with floor <= w <= cap, sum w = 1: every sub-bot at the
    floor, then what is left poured into the best edges, each up to the cap (a fractional knapsack)."""
    bots = edges.shape[1]
    room = cap - floor
    left = 1.0 - bots * floor
    ranks = np.arange(bots)
    poured = np.clip(left - room * ranks, 0.0, room)  # to the best, the second best, ...
    weights = np.full(edges.shape, floor)
    order = np.argsort(-edges, axis=1, kind="stable")
    np.put_along_axis(weights, order, floor + np.broadcast_to(poured, edges.shape), axis=1)
    return weights


def allocation_path(
    policy: Policy, world: World, rules: Rules, prior: NormalGammaPosterior, rng: np.random.Generator
) -> FloatArray:
    """The weights w(t) a policy holds in each period, decided from the returns before t."""
    periods, bots = world.returns.shape
    if policy.rule == "equal":
        return np.tile(equal_allocation(bots), (periods, 1))
    if policy.rule == "oracle":
        weights = np.zeros((periods, bots))
        weights[np.arange(periods), world.edges.argmax(axis=1)] = 1.0
        return weights
    if policy.rule == "best_within_bounds":
        return best_within_bounds(world.edges, rules.floor, rules.cap)
    posteriors = NormalGammaBatch.at_prior(prior, bots)
    weights = np.empty((periods, bots))
    current = equal_allocation(bots)
    for t in range(periods):
        if t % rules.rebalance == 0:
            if policy.rule == "thompson":
                current = thompson_allocation(
                    posteriors, rng, floor=rules.floor, cap=rules.cap, draws=rules.draws
                )
            else:
                current = epsilon_greedy_allocation(
                    posteriors.mu, policy.epsilon, floor=rules.floor, cap=rules.cap
                )
        weights[t] = current
        posteriors = posteriors.updated(world.returns[t], policy.discount, prior)
    return weights


def score(world: World, weights: FloatArray) -> Outcome:
    fleet_returns = (weights * world.returns).sum(axis=1)
    best_edge = world.edges.max(axis=1)
    regret = best_edge - (weights * world.edges).sum(axis=1)
    on_winners = np.where(world.edges == best_edge[:, np.newaxis], weights, 0.0).sum(axis=1)
    return Outcome(float(np.log1p(fleet_returns).sum()), float(regret.sum()), float(on_winners.mean()))


def run_seed(model: FleetModel, policies: tuple[Policy, ...], rules: Rules, seed: int) -> dict[str, Outcome]:
    world = simulate_world(model, np.random.default_rng((seed, 0)))
    prior = NormalGammaPosterior.prior(scale=model.sigma)
    outcomes = {}
    for index, policy in enumerate(policies, start=1):
        rng = np.random.default_rng((seed, index))
        outcomes[policy.name] = score(world, allocation_path(policy, world, rules, prior, rng))
    return outcomes


def run_scenario(
    name: str, model: FleetModel, rules: Rules, seeds: int, jobs: int
) -> dict[str, list[Outcome]]:
    """Every policy on every seed's world; the seeds spread over `jobs` processes."""
    run = partial(run_seed, model, POLICIES, rules)
    results: dict[str, list[Outcome]] = {policy.name: [] for policy in POLICIES}
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for outcomes in tqdm(pool.map(run, range(seeds)), total=seeds, desc=name, unit="seed"):
            for policy_name, outcome in outcomes.items():
                results[policy_name].append(outcome)
    return results


def _mean_and_error(values: FloatArray) -> tuple[float, float]:
    error = values.std(ddof=1) / math.sqrt(len(values)) if len(values) > 1 else math.nan
    return float(values.mean()), float(error)


def print_table(name: str, model: FleetModel, rules: Rules, results: dict[str, list[Outcome]]) -> None:
    seeds = len(results[STATIC])
    rotation = f"every {model.rotation_period} periods" if model.rotation_period else "never"
    print(
        f"\n### {name}: {model.bots} sub-bots, {model.periods} periods, {seeds} seeds; "
        f"{model.winners} winners at {model.good_edge:+.2%}, the rest at {model.bad_edge:+.2%}, "
        f"sigma {model.sigma:.0%}; winners change {rotation}; rebalance every {rules.rebalance}, "
        f"floor {rules.floor:.0%}, cap {rules.cap:.0%}\n"
    )
    print("| policy | cum. log return | s.e. | regret | s.e. | on winners | beats static |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    static = np.array([o.log_return for o in results[STATIC]])
    for policy_name, outcomes in results.items():
        log_return, log_error = _mean_and_error(np.array([o.log_return for o in outcomes]))
        regret, regret_error = _mean_and_error(np.array([o.regret for o in outcomes]))
        on_winners = np.mean([o.on_winners for o in outcomes])
        beats = int(np.sum(np.array([o.log_return for o in outcomes]) > static))
        beats_text = "-" if policy_name == STATIC else f"{beats}/{seeds}"
        print(
            f"| {policy_name} | {log_return:.3f} | {log_error:.3f} | {regret:.3f} | {regret_error:.3f} "
            f"| {on_winners:.0%} | {beats_text} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--bots", type=int, default=19)
    parser.add_argument("--periods", type=int, default=2000)
    parser.add_argument("--rotation-period", type=int, default=200)
    parser.add_argument("--rebalance", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2, help="processes the seeds are spread over")
    parser.add_argument("--quick", action="store_true", help="5 seeds of 600 periods")
    arguments = parser.parse_args()
    seeds, periods = (5, 600) if arguments.quick else (arguments.seeds, arguments.periods)
    rotating = FleetModel(bots=arguments.bots, periods=periods, rotation_period=arguments.rotation_period)
    rules = Rules(rebalance=arguments.rebalance)
    for name, model in (
        ("rotating edges", rotating),
        ("stationary edges", replace(rotating, rotation_period=None)),
    ):
        print_table(name, model, rules, run_scenario(name, model, rules, seeds, arguments.jobs))


if __name__ == "__main__":
    main()
