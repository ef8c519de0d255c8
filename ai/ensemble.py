"""The Ensemble stage: a weighted vote of independent sources on each entry.

Every source looks at the signal's instrument and answers with a vote in [-1, 1]
(+1 "up", -1 "down") and a confidence, or abstains when it has no fresh data
(`ai.votes`). The weighted vote, seen from the signal's side, is the *agreement*;
an entry passes when the agreement reaches the configured threshold. Exits are not
put to the vote: a position must always be closable.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from ai.data_hub import DataHub
from ai.votes import Abstention, SourceResult, Vote, VoteSource
from domain.pipeline import SignalContext
from domain.signals import Decision, ReasonCode, Side, Signal, SignalIntent

log = logging.getLogger(__name__)

ALL_ABSTAIN_POLICIES = ("pass", "reject")


@dataclass(frozen=True, slots=True)
class EnsembleSettings:
    """`weights` maps a source's name to its weight (>= 0; they need not sum to 1).

    `threshold` is the agreement an entry needs; `when_all_abstain` says what happens
    to an entry when no source has a vote: "pass" it unjudged, or "reject" it.
    `max_vote_age_seconds` maps a source to the oldest data it may vote on: a vote whose
    `as_of` is older than that at the evaluation's time becomes an abstention (a source
    missing from it has no limit here, only its own).
    """

    weights: Mapping[str, float]
    threshold: float = 0.1
    source_timeout_seconds: float = 2.0
    when_all_abstain: str = "pass"
    max_vote_age_seconds: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, weight in self.weights.items():
            if not (math.isfinite(weight) and weight >= 0):
                raise ValueError(f"ensemble weight of {name!r} must be a finite number >= 0, got {weight!r}")
        if not (math.isfinite(self.threshold) and -1.0 <= self.threshold <= 1.0):
            raise ValueError(f"ensemble threshold must be in [-1, 1], got {self.threshold!r}")
        if not (math.isfinite(self.source_timeout_seconds) and self.source_timeout_seconds > 0):
            raise ValueError(f"ensemble source timeout must be positive, got {self.source_timeout_seconds!r}")
        if self.when_all_abstain not in ALL_ABSTAIN_POLICIES:
            raise ValueError(
                f"ensemble when_all_abstain must be 'pass' or 'reject', got {self.when_all_abstain!r}"
            )
        for name, limit in self.max_vote_age_seconds.items():
            if not (math.isfinite(limit) and limit > 0):
                raise ValueError(f"ensemble max_vote_age_seconds of {name!r} must be positive, got {limit!r}")
        object.__setattr__(self, "weights", MappingProxyType(dict(self.weights)))
        object.__setattr__(self, "max_vote_age_seconds", MappingProxyType(dict(self.max_vote_age_seconds)))


@dataclass(frozen=True, slots=True)
class EnsembleOutcome:
    """The combined vote. `used_weights` holds only the sources that counted, renormalised to sum to 1;
    `votes` holds every result given, abstentions included."""

    vote: float
    agreement: float
    confidence: float
    used_weights: dict[str, float]
    votes: list[SourceResult] = field(default_factory=list)

    @property
    def abstained_all(self) -> bool:
        return not self.used_weights


def combine(results: Sequence[SourceResult], weights: Mapping[str, float], side: Side) -> EnsembleOutcome:
    """Weighted mean of the votes that count, seen from `side`.

    A vote counts when its source has a positive weight; abstentions and sources
    with weight 0 or no weight at all are left out, and the weights of the rest are
    renormalised over them (w_i / sum of the counted weights). With v_i a vote and
    c_i its confidence:

        vote       = sum(w_i * v_i) / sum(w_i)
        agreement  = vote for a buy, -vote for a sell
        confidence = sum(w_i * c_i) / sum(w_i)

    When nothing counts, the outcome has `abstained_all` and zeros.
    """
    counted = [r for r in results if isinstance(r, Vote) and weights.get(r.source, 0.0) > 0]
    if not counted:
        return EnsembleOutcome(0.0, 0.0, 0.0, {}, list(results))
    total = sum(weights[v.source] for v in counted)
    used_weights: dict[str, float] = {}
    for v in counted:
        used_weights[v.source] = used_weights.get(v.source, 0.0) + weights[v.source] / total
    vote = sum(weights[v.source] * v.value for v in counted) / total
    confidence = sum(weights[v.source] * v.confidence for v in counted) / total
    vote = min(1.0, max(-1.0, vote))  # rounding can push a unanimous vote a hair past 1
    confidence = min(1.0, max(0.0, confidence))
    return EnsembleOutcome(vote, side.sign * vote, confidence, used_weights, list(results))


class EnsembleStage:
    name = "ensemble"

    def __init__(
        self,
        sources: Sequence[VoteSource],
        settings: EnsembleSettings,
        hub_factory: Callable[[], DataHub],
    ) -> None:
        names = [source.name for source in sources]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"ensemble sources must have distinct names; repeated: {', '.join(duplicates)}")
        self._sources = tuple(sources)
        self._settings = settings
        self._hub_factory = hub_factory

    async def evaluate(self, signal: Signal, ctx: SignalContext) -> Decision:
        if signal.intent is SignalIntent.CLOSE:
            return Decision.accept(self.name, "exits are not put to the vote")
        hub = self._hub_factory()
        results = list(await asyncio.gather(*(self._ask(source, signal, hub) for source in self._sources)))
        outcome = combine(results, self._settings.weights, signal.side)
        details = {"ensemble": self._details(outcome, results)}
        side = signal.side.value
        if outcome.abstained_all:
            why = "; ".join(_no_vote_reason(r) for r in results) or "no sources"
            if self._settings.when_all_abstain == "pass":
                return Decision.accept(
                    self.name,
                    f"no ensemble source voted on the {side} ({why}); passed without a vote",
                    details=details,
                )
            return Decision.reject(
                self.name,
                ReasonCode.ENSEMBLE_NO_DATA,
                f"no ensemble source voted on the {side} of {signal.instrument.symbol} ({why}); "
                "entry refused",
                details,
            )
        threshold = self._settings.threshold
        summary = (
            f"ensemble {outcome.agreement:+.2f} for the {side} "
            f"({len(outcome.used_weights)} of {len(results)} sources; threshold {threshold:.2f}); "
            f"confidence {outcome.confidence:.2f}"
        )
        if outcome.agreement >= threshold:
            return Decision.accept(self.name, summary, confidence=outcome.confidence, details=details)
        return Decision.reject(
            self.name,
            ReasonCode.ENSEMBLE_DISAGREES,
            f"{summary}: below the threshold for {signal.instrument.symbol}",
            details,
        )

    async def _ask(self, source: VoteSource, signal: Signal, hub: DataHub) -> SourceResult:
        timeout = self._settings.source_timeout_seconds
        try:
            result = await asyncio.wait_for(source.vote(signal, hub), timeout)
        except TimeoutError:
            return Abstention(source.name, f"no answer within {timeout:g} s")
        except Exception as exc:
            log.exception("ensemble source %s failed on signal %s", source.name, signal.id)
            return Abstention(source.name, f"failed: {type(exc).__name__}: {exc}")
        if not isinstance(result, Vote | Abstention) or result.source != source.name:
            log.error("ensemble source %s answered %r; counted as an abstention", source.name, result)
            return Abstention(source.name, "answered with something other than its own vote or abstention")
        return self._fresh(result, hub.now)

    def _fresh(self, result: SourceResult, now: datetime) -> SourceResult:
        """`result`, or an abstention when it is a vote on data older than its source's limit."""
        limit = self._settings.max_vote_age_seconds.get(result.source)
        if not isinstance(result, Vote) or result.as_of is None or limit is None:
            return result
        age = (now - result.as_of).total_seconds()
        if age <= limit:
            return result
        return Abstention(
            result.source,
            f"its data is {age:.0f} s old (as of {result.as_of:%Y-%m-%d %H:%M:%S %Z}; at most {limit:.0f} s)",
        )

    def _details(self, outcome: EnsembleOutcome, results: Sequence[SourceResult]) -> dict[str, Any]:
        def rounded(value: float) -> float | None:
            return None if outcome.abstained_all else round(value, 4)

        return {
            "vote": rounded(outcome.vote),
            "agreement": rounded(outcome.agreement),
            "confidence": rounded(outcome.confidence),
            "threshold": self._settings.threshold,
            "weights": {name: round(w, 4) for name, w in outcome.used_weights.items()},
            "sources": [r.to_dict() for r in results],
        }


def _no_vote_reason(result: SourceResult) -> str:
    if isinstance(result, Abstention):
        return f"{result.source}: {result.reason}"
    return f"{result.source}: no weight"
