"""CpiBaseRateSource: KXCPI contracts priced from the CPI history alone, over real HTTP against
FakeFred (CPIAUCSL in FRED's observation format; the index values are made up so that the
month-over-month changes are round numbers)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from scipy.stats import norm

from domain.contracts import ContractSpec, Domain, Measure, Strike, StrikeType
from scrapers.base import JsonFetcher, NoEstimate, SourceEstimate
from scrapers.economics.cpi_base_rate import CpiBaseRateSource, months_before
from scrapers.economics.fred import FredClient, FredSource
from tests.fakes.economics import API_KEY, FakeFred
from utils.request_budget import RequestBudget

NOW = datetime(2026, 9, 20, 15, 0, tzinfo=UTC)
# the m/m changes of 2025-09 ... 2026-08, in percent
CHANGES = ["0.2", "0.3", "0.2", "0.4", "0.1", "0.3", "0.2", "0.2", "0.3", "0.1", "0.2", "0.3"]


@pytest.fixture
def fake_fred() -> Iterator[FakeFred]:
    fake = FakeFred().start()
    index = Decimal("320")
    observations = [("2025-08-01", f"{index:.3f}")]
    for offset, change in enumerate(CHANGES, start=1):
        index *= 1 + Decimal(change) / 100
        month = date(2025 + (7 + offset) // 12, (7 + offset) % 12 + 1, 1)
        observations.append((month.isoformat(), f"{index:.3f}"))
    observations.append(("2026-09-01", "."))  # not published yet
    fake.set_series("CPIAUCSL", observations)
    yield fake
    fake.stop()


def source(fake: FakeFred, **options: int) -> CpiBaseRateSource:
    fetcher = JsonFetcher("fred", cache_seconds=0, budget=RequestBudget(100, tz=UTC))
    return CpiBaseRateSource(FredSource(FredClient(API_KEY, fetcher, base_url=fake.url)), **options)


def cpi_contract(
    period: str = "26SEP", floor: str = "0.3", measure: Measure = Measure.CPI_MOM_PCT
) -> ContractSpec:
    event = f"KXCPI-{period}"
    return ContractSpec(
        venue="kalshi",
        ticker=f"{event}-T{floor}",
        series="KXCPI",
        event=event,
        underlying=event,
        domain=Domain.ECONOMICS,
        measure=measure,
        subject="CPI",
        period=period,
        strike=Strike(StrikeType.GREATER, floor_strike=Decimal(floor)),
    )


def test_a_cpi_contract_is_priced_from_the_mean_and_spread_of_the_months_before_it(
    fake_fred: FakeFred,
) -> None:
    result = asyncio.run(source(fake_fred).estimate(cpi_contract(), NOW))
    assert isinstance(result, SourceEstimate)
    # twelve months summing to 2.8: mean 0.23333; squared deviations 5 x 0.03333^2 + 4 x 0.06667^2
    # + 0.16667^2 + 2 x 0.13333^2 = 0.086667, over 11: sd 0.088763
    mean, sd = 2.8 / 12, (0.086667 / 11) ** 0.5
    assert result.evidence["months"] == 12
    assert result.evidence["mean_pct"] == pytest.approx(mean, abs=1e-6)
    assert result.evidence["sigma_pp"] == pytest.approx(sd, abs=1e-5)
    # "above 0.3" pays on a published 0.4 or more: a true value of 0.35 or more
    assert result.probability == pytest.approx(norm.sf(0.35, mean, sd), abs=1e-5)
    assert result.probability == pytest.approx(0.0944, abs=5e-4)


def test_a_far_strike_is_clipped_to_two_percent_and_the_raw_value_kept(fake_fred: FakeFred) -> None:
    result = asyncio.run(source(fake_fred).estimate(cpi_contract(floor="0.6"), NOW))
    assert isinstance(result, SourceEstimate)
    assert result.probability == 0.02
    assert float(str(result.evidence["unclipped_probability"])) < 1e-4


def test_too_short_a_history_is_no_estimate_with_the_count(fake_fred: FakeFred) -> None:
    result = asyncio.run(source(fake_fred, months=36, min_months=13).estimate(cpi_contract(), NOW))
    assert isinstance(result, NoEstimate)
    assert "12 published months before 2026-09; it needs 13" in result.reason


def test_only_the_months_before_the_data_month_count(fake_fred: FakeFred) -> None:
    # priced for August, the August change itself (0.3) is not in its history: eleven months
    result = asyncio.run(source(fake_fred, min_months=11).estimate(cpi_contract(period="26AUG"), NOW))
    assert isinstance(result, SourceEstimate)
    assert result.evidence["months"] == 11
    assert result.evidence["mean_pct"] == pytest.approx(2.5 / 11, abs=1e-6)


def test_other_measures_are_not_priced_and_ask_nothing(fake_fred: FakeFred) -> None:
    result = asyncio.run(source(fake_fred).estimate(cpi_contract(measure=Measure.CPI_YOY_PCT), NOW))
    assert isinstance(result, NoEstimate)
    assert fake_fred.requests_for("CPIAUCSL") == []


def test_fred_unavailable_is_a_no_estimate_with_the_reason(fake_fred: FakeFred) -> None:
    fetcher = JsonFetcher("fred", cache_seconds=0, budget=RequestBudget(100, tz=UTC))
    broken = CpiBaseRateSource(FredSource(FredClient("wrong-key", fetcher, base_url=fake_fred.url)))
    result = asyncio.run(broken.estimate(cpi_contract(), NOW))
    assert isinstance(result, NoEstimate)
    assert broken.health().name == "cpi_base_rate" and not broken.health().ok


@pytest.mark.parametrize(
    ("month", "count", "expected"),
    [(date(2026, 9, 1), 36, date(2023, 9, 1)), (date(2026, 1, 1), 1, date(2025, 12, 1))],
)
def test_months_before_counts_calendar_months(month: date, count: int, expected: date) -> None:
    assert months_before(month, count) == expected
