"""The contract every stage of the road implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from domain.orders import OrderIntent
from domain.regimes import Regime
from domain.signals import Decision, Signal


@dataclass(slots=True)
class SignalContext:
    """What earlier stages hand to later ones while one signal travels the road.

    `size_multiplier` is the product of every multiplier granted so far; the
    risk engine applies it when it sizes. The risk stage leaves the sized
    `intent` here for the router.
    """

    now: datetime
    size_multiplier: float = 1.0
    confidence: float | None = None
    regime: Regime | None = None
    intent: OrderIntent | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    def absorb(self, decision: Decision) -> None:
        self.size_multiplier *= decision.size_multiplier
        if decision.confidence is not None:
            self.confidence = decision.confidence


class Stage(Protocol):
    name: str

    async def evaluate(self, signal: Signal, ctx: SignalContext) -> Decision: ...
