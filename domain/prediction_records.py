"""What the daemon keeps about prediction markets: settlements and the edges its bots signalled.

A `Settlement` is the venue's final word on a market: a YES contract pays $1 or $0. An
`EdgeRecord` is one bot's running record of one market in which the consensus engine found
an edge: the latest consensus, the sources behind it, how far the entry got down the road
and, once the market settles, whether the side was right and what the trade made. The
edge-detection table on the dashboard and the ML gate's training set are read from them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

from domain.time import require_aware

ContractSide = Literal["yes", "no"]
# the daemon's key-value entry with each prediction source's health (JSON), for the dashboard
PREDICTION_SOURCES_KEY = "prediction_sources"


@dataclass(frozen=True, slots=True)
class Settlement:
    """A market's settlement: `outcome_yes` says whether YES pays its $1."""

    instrument_key: str
    outcome_yes: bool
    settled_at: datetime

    def __post_init__(self) -> None:
        require_aware(self.settled_at, "settlement time")

    @property
    def yes_value(self) -> Decimal:
        """What one YES contract is worth at settlement, in dollars."""
        return Decimal(1) if self.outcome_yes else Decimal(0)


@dataclass(frozen=True, slots=True)
class EdgeRecord:
    """One bot's record of one market where the consensus saw an edge (one row per bot and market).

    `probability` is the consensus YES probability and `crowd_price` the YES price it was
    taken against, at the latest signal; `estimates` maps each source to its YES probability
    then. `edge` is the side's probability less what the side costs (after fees) and
    `side_price` that cost, both as the gates saw them. `gate` names the first gate the
    latest signal failed (None: it passed them all) with `gate_reason`. `traded` is set when
    an entry filled; `outcome_yes`, `settled_at` and `pnl` (the bot's net P&L in the market,
    None when it did not trade) when the market settles.
    """

    bot: str
    instrument_key: str
    domain: str
    side: ContractSide
    crowd_price: float
    probability: float
    edge: float
    side_price: float
    estimates: Mapping[str, float]
    first_seen: datetime
    last_seen: datetime
    signals: int = 1
    gate: str | None = None
    gate_reason: str = ""
    traded: bool = False
    outcome_yes: bool | None = None
    settled_at: datetime | None = None
    pnl: Decimal | None = None
    extra: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require_aware(self.first_seen, "edge first seen")
        require_aware(self.last_seen, "edge last seen")
        if self.side not in ("yes", "no"):
            raise ValueError(f"{self.instrument_key}: edge side must be 'yes' or 'no', got {self.side!r}")
        if self.signals < 1:
            raise ValueError(f"{self.instrument_key}: an edge record counts at least one signal")

    @property
    def settled(self) -> bool:
        return self.outcome_yes is not None

    @property
    def won(self) -> bool | None:
        """Whether the edge's side paid (None until settled)."""
        if self.outcome_yes is None:
            return None
        return self.outcome_yes == (self.side == "yes")


@dataclass(frozen=True, slots=True)
class Calibration:
    """One source's record in one domain: how many settled markets it priced, and its squared errors."""

    source: str
    settled: int = 0
    squared_error_sum: float = 0.0

    def __post_init__(self) -> None:
        if self.settled < 0 or not (math.isfinite(self.squared_error_sum) and self.squared_error_sum >= 0):
            raise ValueError(f"{self.source}: a calibration record cannot be negative")

    def brier(self, prior_brier: float, prior_weight: float) -> float:
        return (self.squared_error_sum + prior_brier * prior_weight) / (self.settled + prior_weight)

    def settle(self, probability: float, outcome_yes: bool) -> Calibration:
        """The record after a market the source priced at `probability` settled."""
        error = (probability - (1.0 if outcome_yes else 0.0)) ** 2
        return Calibration(self.source, self.settled + 1, self.squared_error_sum + error)
