"""ClevelandFedNowcastSource: the FusionCharts parser on trimmed fixtures of nowcast_month.json and
nowcast_year.json (structure per reference §6 and public scrapers; values invented; two target
months, 2026-8 released on 09/11 and 2026-9 current, with release markers), and the source over
real HTTP against FakeClevelandFed."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from scipy.stats import norm

from domain.contracts import ContractSpec, Domain, Measure, Strike, StrikeType
from scrapers.base import JsonFetcher, MalformedPayload, NoEstimate, SourceEstimate
from scrapers.economics.cleveland_fed import (
    ClevelandFedNowcastSource,
    NowcastPoint,
    find_target,
    parse_nowcast_chart,
)
from tests.fakes.economics import NOWCAST_MONTH_PATH, NOWCAST_YEAR_PATH, FakeClevelandFed, load_fixture
from tests.fakes.server import Fault
from utils.request_budget import EscalatingBackoff, RequestBudget

NOW = datetime(2026, 9, 25, 15, 0, tzinfo=UTC)  # 11:00 EDT, after the day's 10:00 nowcast


@pytest.fixture
def fake_cleveland() -> Iterator[FakeClevelandFed]:
    fake = FakeClevelandFed().start()
    yield fake
    fake.stop()


def source(
    fake: FakeClevelandFed, *, cache_seconds: float = 0, per_day: int = 100
) -> ClevelandFedNowcastSource:
    fetcher = JsonFetcher(
        "cleveland_fed",
        cache_seconds=cache_seconds,
        budget=RequestBudget(per_day, tz=UTC),
        backoff=EscalatingBackoff(first_seconds=60),
    )
    return ClevelandFedNowcastSource(fetcher, base_url=fake.url)


def cpi_contract(
    period: str = "26SEP", strike: Strike | None = None, measure: Measure = Measure.CPI_MOM_PCT
) -> ContractSpec:
    series = "KXCPI" if measure is Measure.CPI_MOM_PCT else "KXCPIYOY"
    strike = strike or Strike(StrikeType.GREATER, floor_strike=Decimal("0.3"))
    return ContractSpec(
        venue="kalshi",
        ticker=f"{series}-{period}-T0.3",
        series=series,
        event=f"{series}-{period}",
        underlying=f"{series}-{period}",
        domain=Domain.ECONOMICS,
        measure=measure,
        subject="CPI",
        period=period,
        strike=strike,
    )


# ---------------------------------------------------------------------- the parser
def test_parse_reads_every_target_month_of_the_month_file() -> None:
    targets = parse_nowcast_chart(load_fixture("cleveland_fed_nowcast_month.json"))

    assert sorted(targets) == [date(2026, 8, 1), date(2026, 9, 1)]
    september = targets[date(2026, 9, 1)]
    assert september.latest("CPI Inflation") == NowcastPoint(date(2026, 9, 25), Decimal("0.3200"))
    assert september.actual("CPI Inflation") is None
    assert september.stamp == "2026-09-25 00:00"


def test_release_markers_take_no_data_slot() -> None:
    september = parse_nowcast_chart(load_fixture("cleveland_fed_nowcast_month.json"))[date(2026, 9, 1)]

    # labels 08/31 09/01 09/10 [CPI Aug] 09/11 09/24 09/25: the fourth value belongs to 09/11
    days = [p.made_on for p in september.points("CPI Inflation")]
    assert days == [
        date(2026, 8, 31),
        date(2026, 9, 1),
        date(2026, 9, 10),
        date(2026, 9, 11),
        date(2026, 9, 24),
        date(2026, 9, 25),
    ]
    assert september.points("CPI Inflation")[3].value == Decimal("0.2534")


def test_a_released_month_has_its_actual_on_the_release_day_and_empty_nowcasts_skipped() -> None:
    august = parse_nowcast_chart(load_fixture("cleveland_fed_nowcast_month.json"))[date(2026, 8, 1)]

    assert august.actual("CPI Inflation") == NowcastPoint(date(2026, 9, 11), Decimal("-0.1"))
    assert august.latest("CPI Inflation") == NowcastPoint(date(2026, 9, 10), Decimal("-0.0522"))
    assert len(august.points("CPI Inflation")) == 6  # the release day's "" is not a nowcast


def test_a_label_in_december_on_a_january_chart_is_the_year_before() -> None:
    entry = {
        "chart": {"subcaption": "2027-1"},
        "categories": [{"category": [{"label": "12/31"}, {"label": "01/04"}, {"label": "02/01"}]}],
        "dataset": [{"seriesname": "CPI Inflation", "data": [{"value": "0.21"}, {}, {"value": "0.25"}]}],
    }

    january = parse_nowcast_chart([entry])[date(2027, 1, 1)]

    assert [p.made_on for p in january.points("CPI Inflation")] == [date(2026, 12, 31), date(2027, 2, 1)]


def test_find_target_reads_only_the_month_asked_for() -> None:
    payload = load_fixture("cleveland_fed_nowcast_month.json")

    assert find_target(payload, date(2026, 9, 1)) is not None
    assert find_target(payload, date(2026, 10, 1)) is None


def _broken(change: Any) -> list[dict[str, Any]]:
    payload: list[dict[str, Any]] = copy.deepcopy(load_fixture("cleveland_fed_nowcast_month.json"))
    change(payload[0])
    return payload


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"chart": {}}, "not a JSON list"),
        (["x"], "entry 0 is not a JSON object"),
        (_broken(lambda e: e["chart"].update(subcaption="2026:Q3")), "not a YYYY-M month"),
        (_broken(lambda e: e.pop("categories")), "no categories"),
        (_broken(lambda e: e.pop("dataset")), "no 'dataset' list"),
        (_broken(lambda e: e["dataset"][0]["data"].append({"value": "0.1"})), "8 values for 7 dates"),
        (_broken(lambda e: e["dataset"][0]["data"][0].update(value="n/a")), "'n/a', not a number"),
        (_broken(lambda e: e["categories"][0]["category"][0].update(label="02/30")), "no such day"),
    ],
)
def test_parse_rejects_malformed_charts_with_the_reason(payload: Any, reason: str) -> None:
    with pytest.raises(MalformedPayload, match=reason):
        parse_nowcast_chart(payload)


# ---------------------------------------------------------------------- the source over HTTP
def test_cpi_mom_contract_is_priced_from_the_latest_nowcast_with_a_tenth_band(
    fake_cleveland: FakeClevelandFed,
) -> None:
    result = asyncio.run(source(fake_cleveland).estimate(cpi_contract(), NOW))

    # nowcast 0.32, "more than 0.3%": true >= 0.35, 1 - Phi(0.3) = 0.3821
    assert isinstance(result, SourceEstimate)
    assert result.probability == pytest.approx(0.3821, abs=1e-4)
    assert result.evidence["nowcast_pct"] == "0.3200"
    assert result.evidence["nowcast_made_on"] == "2026-09-25"
    assert result.evidence["vintages"] == 6
    assert result.as_of == datetime(2026, 9, 25, 14, 0, tzinfo=UTC)  # 10:00 EDT
    [request] = fake_cleveland.requests_to(NOWCAST_MONTH_PATH)
    assert request.headers["User-Agent"].startswith("Mozilla/5.0")


def test_cpi_yoy_contract_reads_the_year_file(fake_cleveland: FakeClevelandFed) -> None:
    bracket = Strike(StrikeType.BETWEEN, floor_strike=Decimal("2.8"), cap_strike=Decimal("2.9"))

    result = asyncio.run(
        source(fake_cleveland).estimate(cpi_contract(strike=bracket, measure=Measure.CPI_YOY_PCT), NOW)
    )

    # nowcast 2.812, published 2.8 or 2.9: true in [2.75, 2.95)
    assert isinstance(result, SourceEstimate)
    expected = norm.cdf(2.95, loc=2.812, scale=0.1) - norm.cdf(2.75, loc=2.812, scale=0.1)
    assert result.probability == pytest.approx(expected, abs=1e-12)
    assert fake_cleveland.requests_to(NOWCAST_YEAR_PATH) and not fake_cleveland.requests_to(
        NOWCAST_MONTH_PATH
    )


def test_a_month_whose_official_number_is_out_has_no_estimate(fake_cleveland: FakeClevelandFed) -> None:
    result = asyncio.run(source(fake_cleveland).estimate(cpi_contract(period="26AUG"), NOW))

    assert isinstance(result, NoEstimate) and "official CPI for 2026-08 is out (-0.1%)" in result.reason


def test_before_the_release_the_same_month_is_priced_from_the_nowcast_known_then(
    fake_cleveland: FakeClevelandFed,
) -> None:
    september_10 = datetime(2026, 9, 10, 15, 0, tzinfo=UTC)
    strike = Strike(StrikeType.LESS, cap_strike=Decimal("0.0"))

    result = asyncio.run(
        source(fake_cleveland).estimate(cpi_contract(period="26AUG", strike=strike), september_10)
    )

    # nowcast -0.0522 on 09/10; published < 0.0 means true < -0.05
    assert isinstance(result, SourceEstimate)
    assert result.evidence["nowcast_made_on"] == "2026-09-10"
    assert result.probability == pytest.approx(norm.cdf(-0.05, loc=-0.0522, scale=0.1), abs=1e-12)


def test_a_month_not_yet_covered_has_no_estimate(fake_cleveland: FakeClevelandFed) -> None:
    result = asyncio.run(source(fake_cleveland).estimate(cpi_contract(period="26OCT"), NOW))

    assert isinstance(result, NoEstimate) and "no nowcast for 2026-10" in result.reason


def test_other_measures_are_not_priced_and_ask_nothing(fake_cleveland: FakeClevelandFed) -> None:
    result = asyncio.run(source(fake_cleveland).estimate(cpi_contract(measure=Measure.GDP_QOQ_SAAR_PCT), NOW))

    assert isinstance(result, NoEstimate)
    assert fake_cleveland.server.requests == []


def test_a_second_estimate_within_the_cache_time_makes_no_request(fake_cleveland: FakeClevelandFed) -> None:
    cleveland = source(fake_cleveland, cache_seconds=3600)

    asyncio.run(cleveland.estimate(cpi_contract(), NOW))
    asyncio.run(cleveland.estimate(cpi_contract(period="26AUG"), NOW + timedelta(minutes=30)))

    assert len(fake_cleveland.requests_to(NOWCAST_MONTH_PATH)) == 1


def test_the_daily_budget_spent_is_a_no_estimate(fake_cleveland: FakeClevelandFed) -> None:
    cleveland = source(fake_cleveland, per_day=1)
    asyncio.run(cleveland.estimate(cpi_contract(), NOW))

    result = asyncio.run(cleveland.estimate(cpi_contract(), NOW + timedelta(minutes=1)))

    assert isinstance(result, NoEstimate) and "daily budget" in result.reason
    assert len(fake_cleveland.requests_to(NOWCAST_MONTH_PATH)) == 1


def test_a_429_pauses_the_source(fake_cleveland: FakeClevelandFed) -> None:
    fake_cleveland.server.inject(Fault(status=429))
    cleveland = source(fake_cleveland)

    first = asyncio.run(cleveland.estimate(cpi_contract(), NOW))
    second = asyncio.run(cleveland.estimate(cpi_contract(), NOW + timedelta(seconds=30)))

    assert isinstance(first, NoEstimate) and "HTTP 429" in first.reason
    assert isinstance(second, NoEstimate) and "paused until" in second.reason
    assert len(fake_cleveland.requests_to(NOWCAST_MONTH_PATH)) == 1


def test_a_5xx_is_retried_then_priced_and_health_is_ok(fake_cleveland: FakeClevelandFed) -> None:
    fake_cleveland.server.inject(Fault(status=502))
    cleveland = source(fake_cleveland)

    result = asyncio.run(cleveland.estimate(cpi_contract(), NOW))

    assert isinstance(result, SourceEstimate)
    assert len(fake_cleveland.requests_to(NOWCAST_MONTH_PATH)) == 2
    assert cleveland.health().ok and cleveland.health().last_success_at == NOW


def test_health_after_a_failure_and_a_malformed_file(fake_cleveland: FakeClevelandFed) -> None:
    fake_cleveland.files[NOWCAST_MONTH_PATH] = {"not": "a list"}
    cleveland = source(fake_cleveland)

    result = asyncio.run(cleveland.estimate(cpi_contract(), NOW))

    assert isinstance(result, NoEstimate) and "not a JSON list" in result.reason
    health = cleveland.health()
    assert not health.ok and "not a JSON list" in (health.last_error or "")


def test_a_client_without_a_browser_user_agent_is_refused(fake_cleveland: FakeClevelandFed) -> None:
    fetcher = JsonFetcher("cleveland_fed", cache_seconds=0, headers={"User-Agent": "python-requests/2.32"})
    cleveland = ClevelandFedNowcastSource(fetcher, base_url=fake_cleveland.url)

    result = asyncio.run(cleveland.estimate(cpi_contract(), NOW))

    assert isinstance(result, NoEstimate) and "HTTP 403" in result.reason
