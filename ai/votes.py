"""What every ensemble source returns: a vote with its confidence and evidence, or an abstention.

A vote's `value` is in [-1, 1]: +1 says "up" (a buy agrees), -1 "down" (a sell agrees),
0 no view. `confidence` in [0, 1] says how much the source trusts its own vote.
`as_of` is the time of the newest data the vote rests on. A source abstains, rather
than guessing, when its data is missing, stale or not enough; the abstention says why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from domain.signals import Signal
from domain.time import require_aware


@dataclass(frozen=True, slots=True)
class Vote:
    source: str
    value: float
    confidence: float
    evidence: Mapping[str, Any] = field(default_factory=dict)
    as_of: datetime | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.value) and -1.0 <= self.value <= 1.0):
            raise ValueError(f"{self.source}: vote {self.value!r} is outside [-1, 1]")
        if not (math.isfinite(self.confidence) and 0.0 <= self.confidence <= 1.0):
            raise ValueError(f"{self.source}: confidence {self.confidence!r} is outside [0, 1]")
        if self.as_of is not None:
            require_aware(self.as_of, f"{self.source} vote time")

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "vote": round(self.value, 4),
            "confidence": round(self.confidence, 4),
            "as_of": None if self.as_of is None else self.as_of.isoformat(),
            "evidence": dict(self.evidence),
        }


@dataclass(frozen=True, slots=True)
class Abstention:
    source: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "abstained": self.reason}


SourceResult = Vote | Abstention


class VoteSource(Protocol):
    """One of the ensemble's sources. `name` is its key in `[ensemble.weights]`."""

    name: str

    async def vote(self, signal: Signal, hub: Any) -> SourceResult:
        """The source's view of the signal's instrument; `hub` is the tick's `ai.data_hub.DataHub`."""
        ...
