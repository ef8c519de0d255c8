"""A vetoed entry followed on paper (a shadow trade) and its marks; the logic is in `ai.veto_followup`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from domain.signals import Side

Status = Literal["following", "done", "unpriced"]
_STATUSES: dict[str, Status] = {"following": "following", "done": "done", "unpriced": "unpriced"}


def status_of(text: str) -> Status:
    try:
        return _STATUSES[text]
    except KeyError:
        raise ValueError(f"unknown shadow-trade status {text!r}") from None


@dataclass(frozen=True, slots=True)
class Mark:
    """The shadow trade's value at one horizon: when it was taken, at what price, the return,
    and whether the horizon was reached or the stop ended the trade first."""

    at: datetime
    price: float
    return_fraction: float
    by: Literal["horizon", "stop"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "price": self.price,
            "return": self.return_fraction,
            "by": self.by,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Mark:
        by = raw["by"]
        if by not in ("horizon", "stop"):
            raise ValueError(f"mark 'by' must be 'horizon' or 'stop', got {by!r}")
        return cls(datetime.fromisoformat(raw["at"]), float(raw["price"]), float(raw["return"]), by)


@dataclass(frozen=True, slots=True)
class ShadowTrade:
    """One vetoed entry and how it would have gone. `marks` maps a horizon in minutes to its mark."""

    signal_id: str
    bot: str
    instrument_key: str
    side: Side
    stage: str
    cause: str
    reason: str
    vetoed_at: datetime
    entry_price: float | None
    stop: float | None
    horizons_minutes: tuple[int, ...]
    status: Status = "following"
    marks: Mapping[int, Mark] = field(default_factory=dict)

    def last_due(self) -> datetime:
        return self.vetoed_at + timedelta(minutes=max(self.horizons_minutes))
