"""The macro source: the regime context of the signal's market and of reference markets.

Each market's current HMM regime reading (`filters.market_regimes`) gives
P(bull) - P(bear); the vote is their mean over the signal's own market and the
configured reference markets that have a reading (e.g. SPY for the whole book), and
the confidence the mean probability of the regimes those readings name. Abstains
when none of them has a reading.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ai.votes import Abstention, SourceResult, Vote
from domain.regimes import Regime, RegimeReading
from domain.signals import Signal


@dataclass(slots=True)
class RegimeContextSource:
    readings: Callable[[], Mapping[str, RegimeReading]]  # e.g. MarketRegimes.readings
    reference_keys: Sequence[str] = ()
    name: str = "macro"

    async def vote(self, signal: Signal, hub: object) -> SourceResult:
        readings = self.readings()
        keys = [signal.instrument.key, *(k for k in self.reference_keys if k != signal.instrument.key)]
        used: list[RegimeReading] = [readings[k] for k in keys if k in readings]
        if not used:
            return Abstention(self.name, "no regime reading for the market or its references yet")
        tilts = [r.probabilities.get(Regime.BULL, 0.0) - r.probabilities.get(Regime.BEAR, 0.0) for r in used]
        return Vote(
            self.name,
            max(-1.0, min(1.0, sum(tilts) / len(tilts))),
            sum(r.probability for r in used) / len(used),
            {
                r.instrument_key: {"regime": r.regime.value, "tilt": round(t, 4)}
                for r, t in zip(used, tilts, strict=True)
            },
            max(r.bar_time for r in used),
        )
