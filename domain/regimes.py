"""Market regimes the regime filter assigns and bots declare they trade in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.time import require_aware


class Regime(StrEnum):
    BULL = "bull"
    BEAR = "bear"
    SIDEWAYS = "sideways"


@dataclass(frozen=True, slots=True)
class RegimeReading:
    """A market's regime at its latest bar, as the fitted regime model filters it.

    `probabilities` holds every regime the model knows (summing to 1); `regime` is the
    most probable. `fitted_at` and `fit_bars` say which model produced the reading.
    """

    instrument_key: str
    regime: Regime
    probabilities: Mapping[Regime, float]
    bar_time: datetime
    fitted_at: datetime
    fit_bars: int

    def __post_init__(self) -> None:
        require_aware(self.bar_time, "regime bar time")
        require_aware(self.fitted_at, "regime fit time")

    @property
    def probability(self) -> float:
        return self.probabilities[self.regime]


@dataclass(frozen=True, slots=True)
class RegimeFit:
    """One attempt to fit a market's regime model: the states it found, or why it failed."""

    instrument_key: str
    time: datetime
    ok: bool
    message: str
    fit_bars: int
    log_likelihood: float | None = None
    # per state, in model order: {"regime": ..., "mean_return": ..., "volatility": ...}
    states: tuple[Mapping[str, object], ...] = ()
