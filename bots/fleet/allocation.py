"""Capital allocation across the fleet's sub-bots by Thompson sampling (pure: no clock, no I/O).

What is modelled. One number per closed trade of a sub-bot, its risk-adjusted return x. The daemon
should feed the trade's net P&L divided by the risk taken at entry, its R (quantity times the
distance to the 1R stop; for a prediction market, the stake, which is all it can lose). R units put
a crypto scalper and a Kalshi bot on one scale, and that scale is near 1, which the default prior
assumes (see `NormalGammaPosterior.prior`).

Why Normal-Gamma and not Beta. A Beta posterior models a win rate: it would rank a bot that wins
60 % of its trades at +0.5R (and loses 1R) above one that wins 40 % at +3R, the wrong way round.
Returns are continuous, signed and of unknown scale, so x ~ Normal(m, 1/tau) with the mean m and
the precision tau both unknown; the Normal-Gamma is their conjugate prior, so an update is a few
additions, and the marginal of m is a Student-t that stays wide while the scale itself is still
uncertain (a bot with few trades). Trade returns have fatter tails than a Normal; it is the
posterior of their *mean* that is sampled, and over tens of trades that is close to Normal anyway.

Parameters (K. Murphy, "Conjugate Bayesian analysis of the Gaussian distribution", 2007, sec. 3):
tau ~ Gamma(alpha, rate=beta), m | tau ~ Normal(mu, 1 / (kappa tau)). One observation x gives

    kappa' = kappa + 1,    mu' = (kappa mu + x) / (kappa + 1),    alpha' = alpha + 1/2,
    beta'  = beta + kappa (x - mu)^2 / (2 (kappa + 1)),

and the marginal of m is a Student-t with 2 alpha degrees of freedom, location mu and scale
sqrt(beta / (alpha kappa)).

Forgetting (a sub-bot's edge comes and goes with its market). Before each update the posterior p
is pulled toward the prior p0: the new density is p^d p0^(1-d), normalised ("stabilised forgetting",
R. Kulhavy and M. B. Zarrop, "On a general concept of forgetting", Int. J. Control 58(4), 1993; the
power prior of J. Ibrahim and M.-H. Chen, Statistical Science 15(1), 2000, discounts old evidence by
the same power). For an exponential family that is the convex combination d eta + (1 - d) eta0 of
the natural parameters, which for the Normal-Gamma reads

    kappa_d = d kappa + (1-d) kappa0,        alpha_d = d alpha + (1-d) alpha0,
    mu_d    = (d kappa mu + (1-d) kappa0 mu0) / kappa_d,
    beta_d  = d beta + (1-d) beta0 + d (1-d) kappa kappa0 (mu - mu0)^2 / (2 kappa_d).

An observation s updates old then weighs d^s: the memory is about 1 / (1 - d) trades (33 at
d = 0.97), and the posterior is never surer than kappa0 + 1 / (1 - d) pseudo-trades. d = 1 is plain
Bayesian updating, which never forgets.

Allocation. Thompson sampling as probability matching: a sub-bot's raw weight is the posterior
probability that its mean return is the fleet's highest, estimated as the share of `draws` joint
samples in which it is the largest. The raw weights are then projected onto
{floor <= w_i <= cap, sum w = 1}: the floor keeps every sub-bot trading, so its posterior keeps
learning, and the cap keeps one lucky streak from taking the whole book.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import brentq

FloatArray = npt.NDArray[np.float64]

# A vector already inside the bounds and summing to 1 within this is returned as it is, so that
# weights read back from the journal are not moved by rounding.
SUM_TOLERANCE = 1e-12


# ----------------------------------------------------------------------------------- posteriors
@dataclass(frozen=True, slots=True)
class NormalGammaPosterior:
    """Posterior over the mean m and precision tau of one sub-bot's per-trade return (module docstring)."""

    mu: float
    kappa: float
    alpha: float
    beta: float

    def __post_init__(self) -> None:
        values = {"mu": self.mu, "kappa": self.kappa, "alpha": self.alpha, "beta": self.beta}
        for name, value in values.items():
            if not math.isfinite(value):
                raise ValueError(f"Normal-Gamma {name} must be finite, got {value}")
        for name in ("kappa", "alpha", "beta"):
            if values[name] <= 0:
                raise ValueError(f"Normal-Gamma {name} must be > 0, got {values[name]}")

    @classmethod
    def prior(
        cls, mean: float = 0.0, scale: float = 1.0, kappa: float = 1.0, alpha: float = 1.0
    ) -> NormalGammaPosterior:
        """A weakly informative prior centred on `mean` (0: no edge until trades show one).

        `scale` is the typical size of one trade's return (1 for returns in R). beta = alpha scale^2,
        so the precision's prior mean is 1 / scale^2 and the mean's prior is a Student-t with
        2 alpha dof, location `mean` and scale scale / sqrt(kappa). kappa = 1: the prior mean counts
        as one trade; alpha = 1: the prior scale as two. A handful of trades outweighs it.
        """
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"prior scale must be a positive number, got {scale}")
        return cls(mu=mean, kappa=kappa, alpha=alpha, beta=alpha * scale * scale)

    def decayed(self, discount: float, prior: NormalGammaPosterior) -> NormalGammaPosterior:
        """This posterior pulled toward `prior` by `discount` (module docstring: p^d p0^(1-d))."""
        return NormalGammaBatch.of([self]).decayed(discount, prior).posterior(0)

    def updated(
        self, x: float, discount: float = 1.0, prior: NormalGammaPosterior | None = None
    ) -> NormalGammaPosterior:
        """Forget by `discount` toward `prior` (needed when discount < 1), then learn from one return x."""
        return NormalGammaBatch.of([self]).updated(np.array([x]), discount, prior).posterior(0)

    def updated_many(
        self, xs: Iterable[float], discount: float = 1.0, prior: NormalGammaPosterior | None = None
    ) -> NormalGammaPosterior:
        """`updated` once per return, in order (with forgetting, the order matters)."""
        posterior = self
        for x in xs:
            posterior = posterior.updated(x, discount, prior)
        return posterior

    def sample_means(self, rng: np.random.Generator, n: int) -> FloatArray:
        """n draws of the mean m: tau ~ Gamma(alpha, rate=beta), then m ~ Normal(mu, 1 / (kappa tau))."""
        return NormalGammaBatch.of([self]).sample_means(rng, n)[:, 0]


@dataclass(frozen=True, slots=True, eq=False)
class NormalGammaBatch:
    """Independent posteriors of n sub-bots as parallel 1-D arrays: the arithmetic, vectorised.

    `NormalGammaPosterior` delegates here, so both follow one set of formulas; simulations with
    many sub-bots use this directly.
    """

    mu: FloatArray
    kappa: FloatArray
    alpha: FloatArray
    beta: FloatArray

    def __post_init__(self) -> None:
        arrays = {"mu": self.mu, "kappa": self.kappa, "alpha": self.alpha, "beta": self.beta}
        shape = self.mu.shape
        # The fast test first (a simulation builds millions of these); the slow one finds the culprit.
        same_shape = all(values.ndim == 1 and values.shape == shape for values in arrays.values())
        total = float(self.mu.sum() + self.kappa.sum() + self.alpha.sum() + self.beta.sum())
        if (
            same_shape
            and math.isfinite(total)
            and min(self.kappa.min(initial=1.0), self.alpha.min(initial=1.0), self.beta.min(initial=1.0)) > 0
        ):
            return
        for name, values in arrays.items():
            if values.ndim != 1 or values.shape != shape:
                raise ValueError(f"Normal-Gamma {name} must be 1-D of shape {shape}, got {values.shape}")
            if not np.all(np.isfinite(values)):
                raise ValueError(f"Normal-Gamma {name} must be finite, got {values}")
        for name in ("kappa", "alpha", "beta"):
            if not np.all(arrays[name] > 0):
                raise ValueError(f"Normal-Gamma {name} must be > 0, got {arrays[name]}")

    @classmethod
    def of(cls, posteriors: Sequence[NormalGammaPosterior]) -> NormalGammaBatch:
        def column(name: str) -> FloatArray:
            return np.array([getattr(p, name) for p in posteriors], dtype=np.float64)

        return cls(column("mu"), column("kappa"), column("alpha"), column("beta"))

    @classmethod
    def at_prior(cls, prior: NormalGammaPosterior, n: int) -> NormalGammaBatch:
        return cls.of([prior] * n)

    def __len__(self) -> int:
        return len(self.mu)

    def posterior(self, index: int) -> NormalGammaPosterior:
        return NormalGammaPosterior(
            float(self.mu[index]), float(self.kappa[index]), float(self.alpha[index]), float(self.beta[index])
        )

    def decayed(self, discount: float, prior: NormalGammaPosterior) -> NormalGammaBatch:
        """Every posterior pulled toward `prior`: d eta + (1 - d) eta0 in natural parameters."""
        return NormalGammaBatch(*self._decayed(discount, prior))

    def updated(
        self, xs: npt.ArrayLike, discount: float = 1.0, prior: NormalGammaPosterior | None = None
    ) -> NormalGammaBatch:
        """One new return per sub-bot (xs has length n): forget by `discount`, then the conjugate update."""
        values = np.asarray(xs, dtype=np.float64)
        if values.shape != self.mu.shape or not math.isfinite(float(values.sum())):
            raise ValueError(f"need one finite return per posterior ({len(self)}), got {values}")
        _check_discount(discount)
        if discount < 1.0:
            if prior is None:
                raise ValueError("forgetting pulls toward the prior: pass prior= when discount < 1")
            mu, kappa, alpha, beta = self._decayed(discount, prior)
        else:
            mu, kappa, alpha, beta = self.mu, self.kappa, self.alpha, self.beta
        kappa_after = kappa + 1.0
        mu_after = (kappa * mu + values) / kappa_after
        beta_after = beta + kappa * (values - mu) ** 2 / (2.0 * kappa_after)
        return NormalGammaBatch(mu_after, kappa_after, alpha + 0.5, beta_after)

    def _decayed(
        self, discount: float, prior: NormalGammaPosterior
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        _check_discount(discount)
        if discount == 1.0:  # nothing to forget: keep the numbers exactly as they are
            return self.mu, self.kappa, self.alpha, self.beta
        d, keep = discount, 1.0 - discount
        kappa = d * self.kappa + keep * prior.kappa
        mu = (d * self.kappa * self.mu + keep * prior.kappa * prior.mu) / kappa
        alpha = d * self.alpha + keep * prior.alpha
        # The last term is the spread between the two means, which the pooled mean no longer carries.
        spread = d * keep * self.kappa * prior.kappa * (self.mu - prior.mu) ** 2 / (2.0 * kappa)
        beta = d * self.beta + keep * prior.beta + spread
        return mu, kappa, alpha, beta

    def sample_means(self, rng: np.random.Generator, draws: int) -> FloatArray:
        """Joint draws, shape (draws, n): tau ~ Gamma(alpha, rate=beta), m ~ Normal(mu, 1/(kappa tau))."""
        if draws < 1:
            raise ValueError(f"draws must be >= 1, got {draws}")
        shape = (draws, len(self))
        precision = rng.gamma(self.alpha, 1.0 / self.beta, size=shape)
        means: FloatArray = self.mu + rng.standard_normal(shape) / np.sqrt(self.kappa * precision)
        return means


def _check_discount(discount: float) -> None:
    if not 0.0 < discount <= 1.0:
        raise ValueError(f"discount must be in (0, 1] (1: no forgetting), got {discount}")


# ----------------------------------------------------------------------------------- allocation rules
def _check_bounds(n: int, floor: float, cap: float) -> None:
    if n < 1:
        raise ValueError("cannot allocate among no sub-bots")
    if not 0.0 <= floor <= cap <= 1.0:
        raise ValueError(f"need 0 <= floor <= cap <= 1, got floor {floor} and cap {cap}")
    if floor * n > 1.0 + SUM_TOLERANCE:
        raise ValueError(f"floor {floor} x {n} sub-bots = {floor * n:.4g} > 1: lower the floor")
    if cap * n < 1.0 - SUM_TOLERANCE:
        raise ValueError(f"cap {cap} x {n} sub-bots = {cap * n:.4g} < 1: raise the cap or add sub-bots")


def project_weights(raw: npt.ArrayLike, *, floor: float, cap: float) -> FloatArray:
    """The allocation nearest (in Euclidean distance) to `raw` with floor <= w_i <= cap and sum w = 1.

    The projection's optimality conditions give w_i = clip(raw_i - shift, floor, cap) with one shift
    for all (W. Wang and C. Lu, "Projection onto the capped simplex", 2015): water-filling. The sum
    falls continuously as the shift grows, from n cap at shift = min(raw) - cap to n floor at
    shift = max(raw) - floor, so brentq finds the shift where it is 1. An already feasible vector
    comes back unchanged. The result sums to 1 within about n x 1e-15.
    """
    values = np.asarray(raw, dtype=np.float64)
    if values.ndim != 1 or not np.all(np.isfinite(values)):
        raise ValueError(f"raw weights must be a finite 1-D array, got {values}")
    _check_bounds(len(values), floor, cap)
    if np.all((values >= floor) & (values <= cap)) and abs(values.sum() - 1.0) <= SUM_TOLERANCE:
        return values.copy()

    def excess(shift: float) -> float:
        return float(np.clip(values - shift, floor, cap).sum() - 1.0)

    shift = brentq(excess, float(values.min()) - cap, float(values.max()) - floor, xtol=1e-15)
    weights: FloatArray = np.clip(values - shift, floor, cap)
    return weights


def probability_of_best(
    posteriors: Sequence[NormalGammaPosterior] | NormalGammaBatch, rng: np.random.Generator, draws: int = 2000
) -> FloatArray:
    """Monte Carlo estimate of P(sub-bot i has the highest mean): its share of `draws` joint samples."""
    batch = posteriors if isinstance(posteriors, NormalGammaBatch) else NormalGammaBatch.of(posteriors)
    winners = batch.sample_means(rng, draws).argmax(axis=1)
    shares: FloatArray = np.bincount(winners, minlength=len(batch)) / draws
    return shares


def thompson_allocation(
    posteriors: Sequence[NormalGammaPosterior] | NormalGammaBatch,
    rng: np.random.Generator,
    *,
    floor: float,
    cap: float,
    draws: int = 2000,
) -> FloatArray:
    """Weights = P(best) (`probability_of_best`), projected onto floor <= w_i <= cap, sum w = 1."""
    _check_bounds(len(posteriors), floor, cap)
    return project_weights(probability_of_best(posteriors, rng, draws), floor=floor, cap=cap)


def epsilon_greedy_allocation(
    estimates: npt.ArrayLike, epsilon: float, *, floor: float, cap: float
) -> FloatArray:
    """1 - epsilon on the best estimate (split among ties), epsilon spread evenly; then projected."""
    values = np.asarray(estimates, dtype=np.float64)
    if values.ndim != 1 or len(values) == 0 or not np.all(np.isfinite(values)):
        raise ValueError(f"estimates must be a finite, non-empty 1-D array, got {values}")
    if not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
    best = (values == values.max()).astype(np.float64)
    raw = epsilon / len(values) + (1.0 - epsilon) * best / best.sum()
    return project_weights(raw, floor=floor, cap=cap)


def equal_allocation(n: int) -> FloatArray:
    """1/n each: the static baseline."""
    if n < 1:
        raise ValueError("cannot allocate among no sub-bots")
    return np.full(n, 1.0 / n)


# ----------------------------------------------------------------------------------- the fleet's allocators
@dataclass(frozen=True, slots=True)
class AllocationSettings:
    """How the fleet allocates: forgetting per trade, bounds per sub-bot, prior, Monte Carlo draws.

    discount 0.97: a memory of about 33 trades. Over 33 trades with 1R of noise the standard error
    of the mean is 0.17R, so an edge of a third of an R stands two standard errors clear of zero;
    a shorter memory cannot tell such edges from luck, a longer one is slow to see them go.
    """

    discount: float = 0.97
    floor: float = 0.01
    cap: float = 0.25
    prior: NormalGammaPosterior = field(default_factory=NormalGammaPosterior.prior)
    draws: int = 2000

    def __post_init__(self) -> None:
        _check_discount(self.discount)
        if not 0.0 <= self.floor <= self.cap <= 1.0:
            raise ValueError(f"need 0 <= floor <= cap <= 1, got floor {self.floor} and cap {self.cap}")
        if self.draws < 1:
            raise ValueError(f"draws must be >= 1, got {self.draws}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AllocationSettings:
        return cls(**{**data, "prior": NormalGammaPosterior(**data["prior"])})


def _allocate(
    names: Sequence[str],
    posteriors: Sequence[NormalGammaPosterior],
    settings: AllocationSettings,
    rng: np.random.Generator,
) -> dict[str, float]:
    if not names:
        raise ValueError("no sub-bot has joined the fleet")
    weights = thompson_allocation(
        posteriors, rng, floor=settings.floor, cap=settings.cap, draws=settings.draws
    )
    return {name: float(weight) for name, weight in zip(names, weights, strict=True)}


class FleetAllocator:
    """The posteriors of named sub-bots: `record` after each closed trade, `allocate` on a schedule.

    Sub-bots are allocated in name order, so a seeded rng gives the same weights whatever the order
    they joined in. `to_dict` / `from_dict` are what the daemon journals and restores.
    """

    def __init__(
        self,
        settings: AllocationSettings | None = None,
        posteriors: Mapping[str, NormalGammaPosterior] | None = None,
    ) -> None:
        self.settings = settings if settings is not None else AllocationSettings()
        self._posteriors: dict[str, NormalGammaPosterior] = dict(posteriors or {})

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._posteriors))

    def posterior(self, name: str) -> NormalGammaPosterior:
        self._check_joined(name)
        return self._posteriors[name]

    def join(self, name: str) -> None:
        """Add a sub-bot at the prior; a sub-bot already in the fleet keeps its posterior."""
        self._posteriors.setdefault(name, self.settings.prior)

    def record(self, name: str, x: float) -> None:
        """Learn from one closed trade's risk-adjusted return (in R), forgetting first."""
        self._check_joined(name)
        settings = self.settings
        self._posteriors[name] = self._posteriors[name].updated(x, settings.discount, settings.prior)

    def allocate(self, rng: np.random.Generator) -> dict[str, float]:
        names = self.names
        return _allocate(names, [self._posteriors[n] for n in names], self.settings, rng)

    def to_dict(self) -> dict[str, Any]:
        return {
            "settings": self.settings.to_dict(),
            "posteriors": {name: asdict(self._posteriors[name]) for name in self.names},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FleetAllocator:
        posteriors = {name: NormalGammaPosterior(**p) for name, p in data["posteriors"].items()}
        return cls(AllocationSettings.from_dict(data["settings"]), posteriors)

    def _check_joined(self, name: str) -> None:
        if name not in self._posteriors:
            raise ValueError(f"sub-bot {name!r} has not joined the fleet (joined: {', '.join(self.names)})")


class RegimeFleetAllocator:
    """One posterior per (sub-bot, regime): which sub-bots to trust in which market regime.

    A trade teaches only the posterior of the regime it was closed in, and forgetting runs per trade
    in that regime, so what a sub-bot showed in the last bear market is still there when the next
    one comes. A sub-bot with no trade yet in a regime is at the prior there.
    """

    def __init__(
        self,
        settings: AllocationSettings | None = None,
        names: Iterable[str] = (),
        posteriors: Mapping[str, Mapping[str, NormalGammaPosterior]] | None = None,
    ) -> None:
        self.settings = settings if settings is not None else AllocationSettings()
        self._names: set[str] = set(names)
        self._posteriors: dict[str, dict[str, NormalGammaPosterior]] = {
            regime: dict(by_name) for regime, by_name in (posteriors or {}).items()
        }
        for by_name in self._posteriors.values():
            self._names.update(by_name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._names))

    @property
    def regimes(self) -> tuple[str, ...]:
        """The regimes some sub-bot has a record in."""
        return tuple(sorted(self._posteriors))

    def join(self, name: str) -> None:
        self._names.add(name)

    def posterior(self, name: str, regime: str) -> NormalGammaPosterior:
        self._check_joined(name)
        return self._posteriors.get(regime, {}).get(name, self.settings.prior)

    def record(self, name: str, regime: str, x: float) -> None:
        settings = self.settings
        updated = self.posterior(name, regime).updated(x, settings.discount, settings.prior)
        self._posteriors.setdefault(regime, {})[name] = updated

    def allocate(self, rng: np.random.Generator, regime: str) -> dict[str, float]:
        names = self.names
        return _allocate(names, [self.posterior(n, regime) for n in names], self.settings, rng)

    def allocate_each(self, rng: np.random.Generator, regimes: Mapping[str, str]) -> dict[str, float]:
        """Each sub-bot judged in the regime its own market is in now (`regimes`: name -> regime)."""
        names = self.names
        missing = [n for n in names if n not in regimes]
        if missing:
            raise ValueError(f"no current regime for {', '.join(missing)}")
        return _allocate(names, [self.posterior(n, regimes[n]) for n in names], self.settings, rng)

    def to_dict(self) -> dict[str, Any]:
        return {
            "settings": self.settings.to_dict(),
            "names": list(self.names),
            "posteriors": {
                regime: {name: asdict(p) for name, p in sorted(by_name.items())}
                for regime, by_name in sorted(self._posteriors.items())
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RegimeFleetAllocator:
        posteriors = {
            regime: {name: NormalGammaPosterior(**p) for name, p in by_name.items()}
            for regime, by_name in data["posteriors"].items()
        }
        return cls(AllocationSettings.from_dict(data["settings"]), data["names"], posteriors)

    def _check_joined(self, name: str) -> None:
        if name not in self._names:
            raise ValueError(f"sub-bot {name!r} has not joined the fleet (joined: {', '.join(self.names)})")
