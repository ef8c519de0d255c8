"""What an option contract is: kind, strike, expiry, exercise style and contract size.

Time to expiry is measured ACT/365 (calendar days / 365) from a valuation date the
caller supplies, the Actual365Fixed convention the QuantLib tests use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from enum import Enum

DAYS_PER_YEAR = 365.0  # ACT/365 fixed


class OptionKind(Enum):
    CALL = "call"
    PUT = "put"


class Exercise(Enum):
    EUROPEAN = "european"
    AMERICAN = "american"


def year_fraction(valuation_date: date, expiry: date) -> float:
    """Years from `valuation_date` to `expiry`, ACT/365; refuses a date after expiry."""
    days = (expiry - valuation_date).days
    if days < 0:
        raise ValueError(f"valuation date {valuation_date} is after expiry {expiry}: the option has expired")
    return days / DAYS_PER_YEAR


@dataclass(frozen=True)
class OptionContract:
    """One listed option; `multiplier` is the number of shares one contract covers."""

    underlying: str
    kind: OptionKind
    strike: float
    expiry: date
    exercise: Exercise = Exercise.EUROPEAN
    multiplier: int = 100

    def __post_init__(self) -> None:
        if not self.underlying.strip():
            raise ValueError("option contract needs an underlying symbol")
        if not isinstance(self.kind, OptionKind):
            raise ValueError(f"option kind must be an OptionKind, got {self.kind!r}")
        if not isinstance(self.exercise, Exercise):
            raise ValueError(f"exercise must be an Exercise, got {self.exercise!r}")
        if not math.isfinite(self.strike) or self.strike <= 0:
            raise ValueError(f"strike must be a positive number, got {self.strike} for {self.underlying}")
        if self.multiplier <= 0:
            raise ValueError(f"multiplier must be positive, got {self.multiplier} for {self.underlying}")

    @property
    def is_call(self) -> bool:
        return self.kind is OptionKind.CALL

    def years_to_expiry(self, valuation_date: date) -> float:
        return year_fraction(valuation_date, self.expiry)

    def intrinsic_value(self, spot: float) -> float:
        """Exercise value per share at underlying price `spot`."""
        if self.is_call:
            return max(spot - self.strike, 0.0)
        return max(self.strike - spot, 0.0)
