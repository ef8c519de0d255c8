"""The Bot plug-in surface: a small class with one hook.

A bot reads market data and its own positions through `BotContext` and returns
signals. Everything operational (risk, routing, persistence, alerts) happens
outside it, so the same bot runs live, on paper and in replay.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from domain.instruments import Instrument
from domain.market import BarSeries, Quote
from domain.positions import Position
from domain.regimes import Regime
from domain.signals import Side, Signal, SignalIntent, make_signal_id
from strategies.decision import StrategyDecision


@dataclass(frozen=True, slots=True)
class BotSpec:
    """A bot's identity and parameters, as the registry built it."""

    name: str
    instruments: tuple[Instrument, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    regimes: frozenset[Regime] = frozenset(Regime)
    timeframe_seconds: int = 60


class BotContext(Protocol):
    """What a bot may see during one tick."""

    @property
    def now(self) -> datetime: ...

    @property
    def tick_time(self) -> datetime:
        """The scheduled fire time of this tick (stable across reruns of the same tick)."""
        ...

    async def bars(self, instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None: ...

    async def quote(self, instrument: Instrument) -> Quote | None: ...

    def position(self, instrument: Instrument) -> Position | None:
        """This bot's open position in `instrument`, or None when flat."""
        ...


class Bot(ABC):
    """Subclass and implement `on_tick`. Parameters arrive validated in `spec.params`."""

    def __init__(self, spec: BotSpec) -> None:
        self.spec = spec

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def instruments(self) -> Sequence[Instrument]:
        return self.spec.instruments

    @abstractmethod
    async def on_tick(self, ctx: BotContext) -> list[Signal]:
        """Look at the market and return zero or more signals."""

    def signal(
        self,
        ctx: BotContext,
        instrument: Instrument,
        side: Side,
        intent: SignalIntent,
        *,
        confidence: float,
        edge: float,
        stop: float | None,
        reason: str,
        evidence: Mapping[str, Any] | None = None,
        sequence: int = 0,
        close_quantity: Decimal | None = None,
        limit_price: Decimal | None = None,
        max_quantity: Decimal | None = None,
    ) -> Signal:
        """Build a signal whose id is derived from this bot, instrument and tick."""
        return Signal(
            id=make_signal_id(self.name, instrument.key, ctx.tick_time, sequence),
            bot=self.name,
            instrument=instrument,
            side=side,
            intent=intent,
            confidence=confidence,
            edge=edge,
            stop=stop,
            reason=reason,
            time=ctx.now,
            evidence=evidence or {},
            close_quantity=close_quantity,
            limit_price=limit_price,
            max_quantity=max_quantity,
        )

    def signal_for(
        self,
        ctx: BotContext,
        instrument: Instrument,
        side: Side,
        intent: SignalIntent,
        decision: StrategyDecision,
        sequence: int = 0,
    ) -> Signal:
        """The signal that carries a strategy's decision (its confidence, edge, stop, reason, evidence)."""
        return self.signal(
            ctx,
            instrument,
            side,
            intent,
            confidence=decision.confidence,
            edge=decision.edge,
            stop=decision.stop,
            reason=decision.reason,
            evidence=decision.evidence,
            sequence=sequence,
        )
