"""The consensus engine: when do the domain's sources say a contract is mispriced, and by how much?

An edge exists only when at least `min_sources` independent sources of the contract's
domain produce a probability and every one of them sits on the same side of the crowd's
YES price (all above it: YES is cheap; all below: NO is cheap). A source exactly at the
price has no side, and so breaks the agreement.

The combined probability is a weighted mean of the sources' probabilities. A source's
weight is the inverse of its Brier score on settled markets of that domain, shrunk towards
a prior: with `n` settled markets and squared errors summing to `S`,

    brier = (S + prior_brier * prior_weight) / (n + prior_weight)
    weight = 1 / brier

so a new source starts at the prior (0.20 by default, a little better than the 0.25 of
always saying 50 %) and its record takes over as settled markets accumulate: after
`prior_weight` markets its record and the prior count equally. A source that has been
well calibrated (low Brier) counts more. Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from domain.prediction_records import Calibration
from scrapers.base import SourceEstimate

ContractSide = Literal["yes", "no"]


@dataclass(frozen=True, slots=True)
class ConsensusSettings:
    min_sources: int = 2
    prior_brier: float = 0.20
    prior_weight: float = 10.0  # settled markets' worth of trust in the prior

    def __post_init__(self) -> None:
        if self.min_sources < 1:
            raise ValueError(f"consensus min_sources must be at least 1, got {self.min_sources}")
        if not 0.0 < self.prior_brier <= 1.0:
            raise ValueError(f"consensus prior_brier must be in (0, 1], got {self.prior_brier}")
        if not self.prior_weight > 0:
            raise ValueError(f"consensus prior_weight must be positive, got {self.prior_weight}")


@dataclass(frozen=True, slots=True)
class Consensus:
    """The verdict. `probability` and `side` are set only when there is an edge; `reason` says why not
    otherwise. `weights` (normalised) and `sides` cover every source that gave a probability."""

    probability: float | None
    side: ContractSide | None
    reason: str
    crowd_price: float
    weights: Mapping[str, float] = field(default_factory=dict)
    sides: Mapping[str, ContractSide | None] = field(default_factory=dict)

    @property
    def has_edge(self) -> bool:
        return self.side is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "probability": None if self.probability is None else round(self.probability, 6),
            "side": self.side,
            "reason": self.reason,
            "crowd_price": self.crowd_price,
            "weights": {name: round(w, 6) for name, w in self.weights.items()},
            "sides": dict(self.sides),
        }


def side_of(probability: float, crowd_price: float) -> ContractSide | None:
    if probability > crowd_price:
        return "yes"
    if probability < crowd_price:
        return "no"
    return None


def calibration_weights(
    sources: Sequence[str], calibration: Mapping[str, Calibration], settings: ConsensusSettings
) -> dict[str, float]:
    """Each source's weight: 1 / its shrunk Brier score, normalised to sum to 1 (no record: the prior)."""
    prior, weight = settings.prior_brier, settings.prior_weight
    raw = {name: 1.0 / calibration.get(name, Calibration(name)).brier(prior, weight) for name in sources}
    total = sum(raw.values())
    return {name: w / total for name, w in raw.items()} if total else {}


def weighted_probability(
    estimates: Sequence[SourceEstimate], calibration: Mapping[str, Calibration], settings: ConsensusSettings
) -> float | None:
    """The calibration-weighted mean of the sources' YES probabilities, whatever side of the crowd
    each is on (a market maker's fair value); None with fewer than `min_sources` of them."""
    if len(estimates) < settings.min_sources:
        return None
    weights = calibration_weights([e.source for e in estimates], calibration, settings)
    return sum(weights[e.source] * e.probability for e in estimates)


def consensus(
    estimates: Sequence[SourceEstimate],
    crowd_price: float,
    calibration: Mapping[str, Calibration],
    settings: ConsensusSettings = ConsensusSettings(),
) -> Consensus:
    """The consensus of `estimates` (one per source, all of the contract's domain) against the crowd's
    YES price; `calibration` maps a source to its record in that domain (absent: the prior alone)."""
    if not (math.isfinite(crowd_price) and 0.0 < crowd_price < 1.0):
        raise ValueError(f"crowd YES price must be strictly between 0 and 1, got {crowd_price!r}")
    names = [e.source for e in estimates]
    if len(set(names)) != len(names):
        raise ValueError(f"one estimate per source, got {names}")
    sides = {e.source: side_of(e.probability, crowd_price) for e in estimates}
    weights = calibration_weights(names, calibration, settings)
    if len(estimates) < settings.min_sources:
        why = f"{len(estimates)} source(s) priced it; an edge needs {settings.min_sources} that agree"
        return Consensus(None, None, why, crowd_price, weights, sides)
    agreed = {side for side in sides.values()}
    if len(agreed) != 1 or None in agreed:
        said = ", ".join(f"{name} {side or 'at the price'}" for name, side in sides.items())
        why = f"the sources disagree on the side ({said})"
        return Consensus(None, None, why, crowd_price, weights, sides)
    side: ContractSide = "yes" if "yes" in agreed else "no"
    probability = weighted_probability(estimates, calibration, settings)
    assert probability is not None  # min_sources was checked above
    why = (
        f"{len(estimates)} sources agree on {side.upper()}: {probability:.3f} "
        f"against the crowd's {crowd_price:.3f}"
    )
    return Consensus(probability, side, why, crowd_price, weights, sides)
