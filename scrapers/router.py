"""Routing a contract to the sources that know its domain, and asking them together.

No source is used outside its domain: a weather contract goes to the weather sources (and to
those that cover every domain, like the whale tracker), never to a sportsbook. A contract of
`Domain.UNKNOWN` goes to none (its series was logged once when it was parsed). Sources are
asked concurrently, each within `timeout_seconds`; a source that is late, or raises, counts as
a `NoEstimate` with the reason, so one broken source never holds up or breaks the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.contracts import ContractSpec, Domain
from scrapers.base import ContractSource, EstimateResult, NoEstimate, SourceEstimate, SourceHealth

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Estimates:
    """What the domain's sources said about one contract: their probabilities, and why the others had none."""

    contract: ContractSpec
    estimates: tuple[SourceEstimate, ...]
    missing: tuple[NoEstimate, ...]


class SourceRouter:
    """`venues` (source name -> venues) keeps a source to the markets of those venues: the simulated
    world's forecasters price only its markets, and the real sources never the simulated ones."""

    def __init__(
        self,
        sources: Sequence[ContractSource],
        timeout_seconds: float = 10.0,
        venues: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        names = [source.name for source in sources]
        if len(set(names)) != len(names):
            raise ValueError(f"source names must be distinct, got {names}")
        if not timeout_seconds > 0:
            raise ValueError(f"source timeout must be positive, got {timeout_seconds!r}")
        self._sources = tuple(sources)
        self._timeout = timeout_seconds
        self._venues = dict(venues or {})

    @property
    def sources(self) -> tuple[ContractSource, ...]:
        return self._sources

    def sources_for(self, contract: ContractSpec) -> list[ContractSource]:
        if contract.domain is Domain.UNKNOWN:
            return []
        return [
            source
            for source in self._sources
            if contract.domain in source.domains
            and contract.venue in self._venues.get(source.name, frozenset({contract.venue}))
        ]

    async def estimates(self, contract: ContractSpec, now: datetime) -> Estimates:
        sources = self.sources_for(contract)
        results = await asyncio.gather(*(self._ask(source, contract, now) for source in sources))
        return Estimates(
            contract,
            tuple(r for r in results if isinstance(r, SourceEstimate)),
            tuple(r for r in results if isinstance(r, NoEstimate)),
        )

    def health(self) -> list[SourceHealth]:
        return [source.health() for source in self._sources]

    async def _ask(self, source: ContractSource, contract: ContractSpec, now: datetime) -> EstimateResult:
        try:
            result = await asyncio.wait_for(source.estimate(contract, now), self._timeout)
        except TimeoutError:
            return NoEstimate(source.name, f"no answer within {self._timeout:g} s")
        except Exception as error:  # a bug in one source must not take the others down
            log.exception("source %s failed on %s", source.name, contract.ticker)
            return NoEstimate(source.name, f"failed: {type(error).__name__}: {error}")
        if result.source != source.name:
            return NoEstimate(source.name, f"answered as {result.source!r}")
        return result
