"""The edge desk: what every event-trading bot and the gate stage share.

One desk per daemon holds the domain sources (behind the `SourceRouter`), each source's
calibration record per domain, the ML gate and the venues' trade tapes. Bots ask it for a
contract's estimates and consensus; the gate stage for the consensus again (at the price of
the moment), the ML gate and the recent trades; the settlement job tells it how markets
settled so the calibration learns. Estimates of one contract are shared for `estimate_ttl`
and concurrent asks join one request, so fifty bots on one market cost one round of sources.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bots.event_trading.consensus import Consensus, ConsensusSettings, consensus, weighted_probability
from bots.event_trading.gates import EdgeFeatures, MlGate, Trade, train_ml_gate
from domain.contracts import ContractSpec
from domain.prediction_records import Calibration, EdgeRecord
from scrapers.base import SourceHealth
from scrapers.router import Estimates, SourceRouter
from scrapers.whales import KalshiTrade
from utils.single_flight import SingleFlight

log = logging.getLogger(__name__)

EstimatesRecorder = Callable[[ContractSpec, Estimates, datetime], None]


class TradeTape(Protocol):
    """A venue's public trades of one market (Kalshi's tape, or the simulated world's)."""

    def trades(self, ticker: str, since: datetime, now: datetime) -> list[KalshiTrade]:
        """Trades of the market in [since, now] (blocking)."""
        ...


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """A source's health and the domains it prices, for the dashboard."""

    health: SourceHealth
    domains: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {**self.health.to_dict(), "domains": list(self.domains)}


def edge_features(record: EdgeRecord) -> EdgeFeatures:
    spread = max(record.estimates.values()) - min(record.estimates.values()) if record.estimates else 0.0
    return EdgeFeatures(record.edge, record.side_price, len(record.estimates), spread)


class EdgeDesk:
    def __init__(
        self,
        router: SourceRouter,
        settings: ConsensusSettings,
        calibrations: Mapping[str, Mapping[str, Calibration]] | None = None,
        *,
        tapes: Mapping[str, TradeTape] | None = None,
        ml_gate: MlGate | None = None,
        estimate_ttl: timedelta = timedelta(seconds=60),
        on_estimates: EstimatesRecorder | None = None,
    ) -> None:
        self.router = router
        self.settings = settings
        self._calibrations = {domain: dict(records) for domain, records in (calibrations or {}).items()}
        self._tapes = dict(tapes or {})
        self.ml_gate = ml_gate or MlGate()
        self._ttl = estimate_ttl
        self._on_estimates = on_estimates
        self._cache: dict[str, tuple[datetime, Estimates]] = {}
        self._asking: SingleFlight[str, Estimates] = SingleFlight()

    # -------------------------------------------------------------------------------- estimates
    async def estimates(self, contract: ContractSpec, now: datetime) -> Estimates:
        """The domain sources' estimates of `contract`, at most `estimate_ttl` old."""
        key = f"{contract.venue}:{contract.ticker}"
        cached = self._cache.get(key)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]

        async def ask() -> Estimates:
            found = await self.router.estimates(contract, now)
            self._cache[key] = (now, found)
            if self._on_estimates is not None and found.estimates:
                try:
                    self._on_estimates(contract, found, now)
                except Exception:  # the journal must not stop the pricing
                    log.exception("could not record the estimates of %s", contract.ticker)
            return found

        return await self._asking.start(key, ask, name=f"estimates {contract.ticker}")

    def consensus(self, contract: ContractSpec, found: Estimates, crowd_price: float) -> Consensus:
        """The consensus of the estimates against the crowd's YES price, with the domain's calibration."""
        calibration = self._calibrations.get(contract.domain.value, {})
        return consensus(found.estimates, crowd_price, calibration, self.settings)

    def fair_value(self, contract: ContractSpec, found: Estimates) -> float | None:
        """The calibration-weighted mean of the estimates, on either side of the crowd (None with
        fewer than `min_sources`): what a market maker quotes around."""
        calibration = self._calibrations.get(contract.domain.value, {})
        return weighted_probability(found.estimates, calibration, self.settings)

    # -------------------------------------------------------------------------------- calibration
    def calibration(self, domain: str) -> dict[str, Calibration]:
        return dict(self._calibrations.get(domain, {}))

    def settle(self, domain: str, probabilities: Mapping[str, float], outcome_yes: bool) -> list[Calibration]:
        """Score each source's last probability for a settled market; the updated records."""
        records = self._calibrations.setdefault(domain, {})
        updated = []
        for source, probability in sorted(probabilities.items()):
            record = records.get(source, Calibration(source)).settle(probability, outcome_yes)
            records[source] = record
            updated.append(record)
        return updated

    def forget(self, instrument_key: str) -> None:
        self._cache.pop(instrument_key, None)

    # -------------------------------------------------------------------------------- ML gate
    def train_ml_gate(self, settled: Iterable[EdgeRecord]) -> MlGate:
        """Refit the ML gate on settled edges (the prior holds until enough have settled)."""
        history = [(edge_features(r), bool(r.won)) for r in settled if r.won is not None and r.estimates]
        self.ml_gate = train_ml_gate(history, self.ml_gate)
        return self.ml_gate

    # -------------------------------------------------------------------------------- tape, health
    async def trades(self, venue: str, ticker: str, since: datetime, now: datetime) -> Sequence[Trade]:
        """The market's recent trades as the price gate reads them (none when the venue has no tape).

        A tape may fetch (Kalshi's), so it is read off the event loop; it raises SourceUnavailable
        or MalformedPayload when it cannot be read."""
        tape = self._tapes.get(venue)
        if tape is None:
            return []
        tape_trades = await asyncio.to_thread(tape.trades, ticker, since, now)
        return [Trade(t.created_time, float(t.yes_price), float(t.count)) for t in tape_trades]

    def health(self) -> list[SourceStatus]:
        statuses = []
        for source in self.router.sources:
            domains = tuple(sorted(domain.value for domain in source.domains))
            statuses.append(SourceStatus(source.health(), domains))
        return statuses
