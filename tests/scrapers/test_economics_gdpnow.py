"""GdpNowSource: KXGDP contracts from FRED's GDPNOW series (fixture in FRED's shape, values
invented), over real HTTP against FakeFred."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from scipy.stats import norm

from domain.contracts import ContractSpec, Domain, Measure, Strike, StrikeType
from scrapers.base import JsonFetcher, NoEstimate, SourceEstimate
from scrapers.economics.fred import FredClient
from scrapers.economics.gdpnow import GdpNowSource, quarter_before
from tests.fakes.economics import API_KEY, FakeFred
from tests.fakes.server import Fault
from utils.request_budget import RequestBudget

NOW = datetime(2026, 7, 20, 15, 0, tzinfo=UTC)


@pytest.fixture
def fake_fred() -> Iterator[FakeFred]:
    fake = FakeFred().start()
    yield fake
    fake.stop()


def source(fake: FakeFred, *, cache_seconds: float = 0, per_day: int = 100) -> GdpNowSource:
    fetcher = JsonFetcher("fred", cache_seconds=cache_seconds, budget=RequestBudget(per_day, tz=UTC))
    return GdpNowSource(FredClient(API_KEY, fetcher, base_url=fake.url))


def gdp_contract(
    release: date = date(2026, 7, 30), floor: str = "2.0", measure: Measure = Measure.GDP_QOQ_SAAR_PCT
) -> ContractSpec:
    event = f"KXGDP-{release:%y%b%d}".upper()
    return ContractSpec(
        venue="kalshi",
        ticker=f"{event}-T{floor}",
        series="KXGDP",
        event=event,
        underlying=event,
        domain=Domain.ECONOMICS,
        measure=measure,
        subject="GDP",
        day=release,
        strike=Strike(StrikeType.GREATER, floor_strike=Decimal(floor)),
    )


@pytest.mark.parametrize(
    ("release", "quarter"),
    [
        (date(2026, 7, 30), date(2026, 4, 1)),
        (date(2026, 1, 29), date(2025, 10, 1)),
        (date(2026, 4, 30), date(2026, 1, 1)),
        (date(2025, 12, 23), date(2025, 7, 1)),  # a delayed Q3 advance release
    ],
)
def test_the_release_date_names_the_quarter_before_its_own(release: date, quarter: date) -> None:
    assert quarter_before(release) == quarter


def test_a_gdp_contract_is_priced_from_its_quarters_nowcast_with_an_eight_tenths_band(
    fake_fred: FakeFred,
) -> None:
    result = asyncio.run(source(fake_fred).estimate(gdp_contract(), NOW))

    # KXGDP-26JUL30 is Q2 2026, GDPNow 2.32; "more than 2.0" means true >= 2.05: Phi(0.3375) = 0.6321
    assert isinstance(result, SourceEstimate)
    assert result.probability == pytest.approx(0.6321, abs=1e-4)
    assert result.probability == pytest.approx(1 - norm.cdf(2.05, loc=2.32, scale=0.8), abs=1e-12)
    assert result.evidence["quarter"] == "2026Q2"
    assert result.evidence["nowcast_pct"] == "2.32"
    assert result.evidence["sigma_pp"] == 0.8
    [request] = fake_fred.requests_for("GDPNOW")
    assert request.query["observation_start"] == "2026-04-01"


def test_a_far_out_of_the_money_strike_is_clipped_to_one_percent(fake_fred: FakeFred) -> None:
    result = asyncio.run(source(fake_fred).estimate(gdp_contract(floor="5.0"), NOW))

    assert isinstance(result, SourceEstimate)
    assert result.probability == 0.01
    assert result.evidence["unclipped_probability"] < 0.01


def test_a_quarter_gdpnow_does_not_cover_yet_has_no_estimate(fake_fred: FakeFred) -> None:
    result = asyncio.run(source(fake_fred).estimate(gdp_contract(release=date(2026, 10, 29)), NOW))

    assert isinstance(result, NoEstimate) and "no nowcast for 2026Q3" in result.reason


def test_after_the_advance_release_time_there_is_no_estimate(fake_fred: FakeFred) -> None:
    release_time = datetime(2026, 7, 30, 12, 30, tzinfo=UTC)  # 08:30 EDT

    before = asyncio.run(source(fake_fred).estimate(gdp_contract(), release_time - timedelta(minutes=1)))
    after = asyncio.run(source(fake_fred).estimate(gdp_contract(), release_time))

    assert isinstance(before, SourceEstimate)
    assert isinstance(after, NoEstimate) and "advance estimate was due" in after.reason


def test_other_measures_are_not_priced_and_ask_nothing(fake_fred: FakeFred) -> None:
    result = asyncio.run(source(fake_fred).estimate(gdp_contract(measure=Measure.CPI_MOM_PCT), NOW))

    assert isinstance(result, NoEstimate)
    assert fake_fred.server.requests == []


def test_a_second_estimate_within_the_cache_time_makes_no_request(fake_fred: FakeFred) -> None:
    gdpnow = source(fake_fred, cache_seconds=3600)

    asyncio.run(gdpnow.estimate(gdp_contract(), NOW))
    asyncio.run(gdpnow.estimate(gdp_contract(floor="2.5"), NOW + timedelta(minutes=10)))

    assert len(fake_fred.requests_for("GDPNOW")) == 1


def test_fred_unavailable_is_a_no_estimate_with_the_reason_and_unhealthy(fake_fred: FakeFred) -> None:
    fake_fred.server.inject(Fault(status=500, times=3))
    gdpnow = source(fake_fred)

    result = asyncio.run(gdpnow.estimate(gdp_contract(), NOW))

    assert isinstance(result, NoEstimate) and "HTTP 500" in result.reason
    health = gdpnow.health()
    assert health.name == "gdpnow" and not health.ok


def test_the_daily_budget_spent_is_a_no_estimate(fake_fred: FakeFred) -> None:
    gdpnow = source(fake_fred, per_day=1)
    asyncio.run(gdpnow.estimate(gdp_contract(), NOW))

    result = asyncio.run(gdpnow.estimate(gdp_contract(), NOW + timedelta(minutes=1)))

    assert isinstance(result, NoEstimate) and "daily budget" in result.reason
    assert len(fake_fred.requests_for("GDPNOW")) == 1
