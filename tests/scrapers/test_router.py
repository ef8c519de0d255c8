"""Routing contracts to the sources of their domain, asked together, each within its time."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from domain.contracts import ContractSpec, Domain, Measure, Strike, StrikeType
from scrapers.base import EstimateResult, NoEstimate, SourceEstimate, SourceHealth
from scrapers.router import SourceRouter

NOW = datetime(2026, 2, 9, 15, 0, tzinfo=UTC)


@dataclass
class Answering:
    name: str
    domains: frozenset[Domain]
    probability: float = 0.4
    delay: float = 0.0
    fail: bool = False
    asked: list[str] = field(default_factory=list)

    def health(self) -> SourceHealth:
        return SourceHealth(self.name)

    async def estimate(self, contract: ContractSpec, now: datetime) -> EstimateResult:
        self.asked.append(contract.ticker)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("parser bug")
        return SourceEstimate(self.name, self.probability, now)


def contract(domain: Domain) -> ContractSpec:
    return ContractSpec(
        "kalshi", "KXHIGHCHI-26FEB09-T40", "KXHIGHCHI", "KXHIGHCHI-26FEB09", "KXHIGHCHI-26FEB09",
        domain, Measure.DAILY_HIGH_F, "CHI", date(2026, 2, 9), Strike(StrikeType.GREATER, Decimal(40)),
    )  # fmt: skip


def test_a_weather_contract_goes_to_the_weather_sources_and_the_all_domain_ones_only() -> None:
    gfs = Answering("gfs_ensemble", frozenset({Domain.WEATHER}))
    odds = Answering("sportsbook_odds", frozenset({Domain.SPORTS}))
    whales = Answering("whale_tracker", frozenset(set(Domain) - {Domain.UNKNOWN}))
    router = SourceRouter([gfs, odds, whales])

    result = asyncio.run(router.estimates(contract(Domain.WEATHER), NOW))

    assert [e.source for e in result.estimates] == ["gfs_ensemble", "whale_tracker"]
    assert odds.asked == []


def test_a_source_kept_to_some_venues_is_not_asked_about_another_venues_markets() -> None:
    real = Answering("gfs_ensemble", frozenset({Domain.WEATHER}))
    simulated = Answering("sim_gfs_ensemble", frozenset({Domain.WEATHER}))
    router = SourceRouter(
        [real, simulated],
        venues={"gfs_ensemble": frozenset({"kalshi"}), "sim_gfs_ensemble": frozenset({"sim-kalshi"})},
    )

    result = asyncio.run(router.estimates(contract(Domain.WEATHER), NOW))  # a market on "kalshi"

    assert [e.source for e in result.estimates] == ["gfs_ensemble"] and result.missing == ()
    assert simulated.asked == []


def test_an_unknown_contract_goes_to_no_source() -> None:
    whales = Answering("whale_tracker", frozenset(set(Domain) - {Domain.UNKNOWN}))

    result = asyncio.run(SourceRouter([whales]).estimates(contract(Domain.UNKNOWN), NOW))

    assert result.estimates == () and result.missing == () and whales.asked == []


def test_a_late_or_broken_source_is_a_reasoned_absence_and_the_others_still_count() -> None:
    weather = frozenset({Domain.WEATHER})
    router = SourceRouter(
        [
            Answering("gfs_ensemble", weather),
            Answering("nws_forecast", weather, delay=5.0),
            Answering("buggy", weather, fail=True),
        ],
        timeout_seconds=0.2,
    )

    result = asyncio.run(router.estimates(contract(Domain.WEATHER), NOW))

    assert [e.source for e in result.estimates] == ["gfs_ensemble"]
    assert {m.source: m.reason for m in result.missing} == {
        "nws_forecast": "no answer within 0.2 s",
        "buggy": "failed: RuntimeError: parser bug",
    }


def test_two_sources_with_one_name_are_refused() -> None:
    with pytest.raises(ValueError, match="distinct"):
        SourceRouter([Answering("a", frozenset()), Answering("a", frozenset())])


def test_health_lists_every_source() -> None:
    router = SourceRouter([Answering("a", frozenset()), Answering("b", frozenset())])

    assert [h.name for h in router.health()] == ["a", "b"]
    assert isinstance(router.health()[0], SourceHealth) and not router.health()[0].ok
    assert NoEstimate("a", "x").reason == "x"
