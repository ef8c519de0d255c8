"""FRED: the pure parser on fixtures in FRED's real shape (reference §5; values invented), the
client over real HTTP against FakeFred (cache, budget, 429, 5xx, health, the key kept secret),
and FredSource's decided KXFED outcomes and CPI m/m history."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from domain.contracts import ContractSpec, Domain, Measure, Strike, StrikeType
from scrapers.base import JsonFetcher, MalformedPayload, NoEstimate, SourceEstimate, SourceUnavailable
from scrapers.economics.fred import (
    FredClient,
    FredSource,
    MonthlyChange,
    Observation,
    month_over_month_pct,
    parse_observations,
    parse_period_month,
)
from tests.fakes.economics import API_KEY, FakeFred, load_fixture
from tests.fakes.server import Fault
from utils.request_budget import EscalatingBackoff, RequestBudget

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture
def fake_fred() -> Iterator[FakeFred]:
    fake = FakeFred().start()
    yield fake
    fake.stop()


def fetcher(*, per_day: int = 100, cache_seconds: float = 0, attempts: int = 3) -> JsonFetcher:
    # cache_seconds 0: every call reaches the fake unless a test asks for the cache
    return JsonFetcher(
        "fred",
        cache_seconds=cache_seconds,
        attempts=attempts,
        budget=RequestBudget(per_day, tz=UTC),
        backoff=EscalatingBackoff(first_seconds=60, factor=2, max_seconds=3600),
    )


def client(fake: FakeFred, *, key: str = API_KEY, **options: Any) -> FredClient:
    return FredClient(key, fetcher(**options), base_url=fake.url)


def fed_contract(
    period: str = "27APR", floor: str = "4.25", measure: Measure = Measure.FED_FUNDS_UPPER_PCT
) -> ContractSpec:
    return ContractSpec(
        venue="kalshi",
        ticker=f"KXFED-{period}-T{floor}",
        series="KXFED",
        event=f"KXFED-{period}",
        underlying=f"KXFED-{period}",
        domain=Domain.ECONOMICS,
        measure=measure,
        subject="FED",
        period=period,
        strike=Strike(StrikeType.GREATER, floor_strike=Decimal(floor)),
    )


def serve_april_2027_cut(fake: FakeFred, *, through: str = "2027-05-02") -> None:
    """The upper bound cut from 4.50 to 4.25 at the Apr 27-28 2027 meeting, effective Apr 29."""
    days = [date(2027, 4, 1) + timedelta(days=n) for n in range(40)]
    rows = [
        (d.isoformat(), "4.50" if d < date(2027, 4, 29) else "4.25") for d in days if d.isoformat() <= through
    ]
    fake.set_series("DFEDTARU", [("2027-03-31", "4.50"), *rows])


# ---------------------------------------------------------------------- the parser
def test_parse_observations_reads_dates_and_decimal_values_with_dot_as_missing() -> None:
    observations = parse_observations(load_fixture("fred_observations_CPIAUCSL.json"))

    assert len(observations) == 10
    assert observations[0] == Observation(date(2026, 1, 1), Decimal("322.000"))
    assert observations[3] == Observation(date(2026, 4, 1), None)
    assert observations[-1] == Observation(date(2026, 10, 1), None)


def test_parse_observations_reads_the_quarterly_gdpnow_series() -> None:
    observations = parse_observations(load_fixture("fred_observations_GDPNOW.json"))

    assert [o.date for o in observations][-2:] == [date(2026, 4, 1), date(2026, 7, 1)]
    assert observations[-2].value == Decimal("2.32")
    assert observations[-1].value is None


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ([], "not a JSON object"),
        (
            {"error_code": 400, "error_message": "Bad Request.  The series does not exist."},
            "series does not exist",
        ),
        ({"count": 0}, "no 'observations' list"),
        ({"observations": ["2026-01-01"]}, "observation 0 is not a JSON object"),
        ({"observations": [{"date": "01/01/2026", "value": "1"}]}, "not YYYY-MM-DD"),
        ({"observations": [{"date": "2026-01-01", "value": "n/a"}]}, "not a number"),
        ({"observations": [{"date": "2026-01-01", "value": "NaN"}]}, "not a finite number"),
        ({"observations": [{"date": "2026-01-01"}]}, "no 'value' string"),
    ],
)
def test_parse_observations_rejects_malformed_payloads_with_the_reason(payload: Any, reason: str) -> None:
    with pytest.raises(MalformedPayload, match=reason):
        parse_observations(payload)


def test_cpi_month_over_month_is_rounded_to_one_decimal_and_skips_months_next_to_a_gap() -> None:
    observations = parse_observations(load_fixture("fred_observations_CPIAUCSL.json"))

    changes = month_over_month_pct(observations, decimals=1)

    # 322.966 / 322.000 = +0.300%; 323.289 / 322.966 = +0.100%; April is ".", so neither April nor
    # May has a change; 325.2 / 324 = +0.370%; 325.3 / 325.2 = +0.031%; 324.975 / 325.3 = -0.0999%;
    # 326 / 324.975 = +0.315%
    assert changes == [
        MonthlyChange(date(2026, 2, 1), Decimal("0.3")),
        MonthlyChange(date(2026, 3, 1), Decimal("0.1")),
        MonthlyChange(date(2026, 6, 1), Decimal("0.4")),
        MonthlyChange(date(2026, 7, 1), Decimal("0.0")),
        MonthlyChange(date(2026, 8, 1), Decimal("-0.1")),
        MonthlyChange(date(2026, 9, 1), Decimal("0.3")),
    ]


def test_month_over_month_rounds_a_half_up() -> None:
    observations = [
        Observation(date(2026, 5, 1), Decimal("324.000")),
        Observation(date(2026, 6, 1), Decimal("324.810")),
    ]

    assert month_over_month_pct(observations) == [
        MonthlyChange(date(2026, 6, 1), Decimal("0.3"))
    ]  # 0.25 exactly


def test_parse_period_month_reads_the_ticker_month_token() -> None:
    assert parse_period_month("26AUG") == date(2026, 8, 1)
    assert parse_period_month("27apr") == date(2027, 4, 1)
    with pytest.raises(ValueError, match="YYMON"):
        parse_period_month("26JUL30")


# ---------------------------------------------------------------------- the client over HTTP
def test_observations_sends_the_documented_query_and_returns_parsed_values(fake_fred: FakeFred) -> None:
    observations = client(fake_fred).observations("CPIAUCSL", NOW, start=date(2026, 8, 1))

    assert [o.date for o in observations] == [date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)]
    [request] = fake_fred.requests_for("CPIAUCSL")
    assert request.query == {
        "series_id": "CPIAUCSL",
        "api_key": API_KEY,
        "file_type": "json",
        "observation_start": "2026-08-01",
    }


def test_a_second_question_within_the_cache_time_makes_no_request(fake_fred: FakeFred) -> None:
    fred = client(fake_fred, cache_seconds=3600)

    first = fred.observations("GDPNOW", NOW)
    second = fred.observations("GDPNOW", NOW + timedelta(minutes=5))

    assert first == second
    assert len(fake_fred.requests_for("GDPNOW")) == 1
    assert fred.health().requests_today == 1


def test_the_daily_budget_stops_requests_and_shows_in_health(fake_fred: FakeFred) -> None:
    fred = client(fake_fred, per_day=1)
    fred.observations("CPIAUCSL", NOW)

    with pytest.raises(SourceUnavailable, match="daily budget of 1 requests spent"):
        fred.observations("GDPNOW", NOW)

    assert fake_fred.requests_for("GDPNOW") == []
    health = fred.health()
    assert health.requests_today == 1 and health.daily_budget == 1
    assert not health.ok


def test_a_429_pauses_the_client_without_further_requests(fake_fred: FakeFred) -> None:
    fake_fred.server.inject(Fault(status=429, retry_after="120"))
    fred = client(fake_fred)

    with pytest.raises(SourceUnavailable, match="HTTP 429"):
        fred.observations("CPIAUCSL", NOW)
    with pytest.raises(SourceUnavailable, match="paused until"):
        fred.observations("CPIAUCSL", NOW + timedelta(seconds=60))

    assert len(fake_fred.requests_for("CPIAUCSL")) == 1
    assert fred.observations("CPIAUCSL", NOW + timedelta(seconds=121))  # the pause is over


def test_a_5xx_is_retried_and_then_succeeds(fake_fred: FakeFred) -> None:
    fake_fred.server.inject(Fault(status=503))
    fred = client(fake_fred)

    observations = fred.observations("GDPNOW", NOW)

    assert len(observations) == 5
    assert len(fake_fred.requests_for("GDPNOW")) == 2
    assert fred.health().ok


def test_health_records_success_then_failure(fake_fred: FakeFred) -> None:
    fred = client(fake_fred)
    fred.observations("GDPNOW", NOW)
    assert fred.health().ok and fred.health().last_success_at == NOW

    with pytest.raises(SourceUnavailable, match="HTTP 400"):
        fred.observations("NOSUCHSERIES", NOW + timedelta(minutes=1))

    health = fred.health()
    assert not health.ok
    assert health.last_error_at == NOW + timedelta(minutes=1)
    assert "series does not exist" in (health.last_error or "")


def test_a_bad_key_is_unavailable_and_the_key_appears_nowhere(
    fake_fred: FakeFred, caplog: pytest.LogCaptureFixture
) -> None:
    wrong_key = "fedcba9876543210fedcba9876543210"
    fred = client(fake_fred, key=wrong_key)

    with caplog.at_level(logging.DEBUG), pytest.raises(SourceUnavailable) as raised:
        fred.observations("CPIAUCSL", NOW)

    assert "api_key is not registered" in raised.value.reason
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    for text in (str(raised.value), repr(fred), str(fred.health().to_dict()), caplog.text):
        assert wrong_key not in text


def test_an_unreachable_server_leaks_no_key_through_the_chained_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fred = FredClient(API_KEY, fetcher(attempts=1), base_url="http://127.0.0.1:9")  # discard port: refused

    with caplog.at_level(logging.DEBUG), pytest.raises(SourceUnavailable) as raised:
        fred.observations("CPIAUCSL", NOW)

    assert "ConnectionError" in raised.value.reason
    assert raised.value.__cause__ is None  # requests' own error names the full URL, key included
    assert API_KEY not in str(raised.value) + caplog.text + str(fred.health().to_dict())


def test_without_a_key_the_client_is_unavailable_without_asking(fake_fred: FakeFred) -> None:
    with pytest.raises(SourceUnavailable, match="no FRED API key"):
        client(fake_fred, key="").observations("CPIAUCSL", NOW)

    assert fake_fred.server.requests == []


def test_a_malformed_answer_raises_and_marks_health_broken(fake_fred: FakeFred) -> None:
    fake_fred.set_series("BROKEN", [("2026-01-01", "n/a")])
    fred = client(fake_fred)

    with pytest.raises(MalformedPayload, match="BROKEN: FRED observation 0 has value 'n/a'"):
        fred.observations("BROKEN", NOW)

    assert not fred.health().ok


# ---------------------------------------------------------------------- FredSource
def test_latest_is_the_newest_observation_with_a_value(fake_fred: FakeFred) -> None:
    serve_april_2027_cut(fake_fred)
    source = FredSource(client(fake_fred))

    latest = source.latest("DFEDTARU", datetime(2027, 5, 3, 12, tzinfo=UTC))

    assert latest == Observation(date(2027, 5, 2), Decimal("4.25"))
    assert fake_fred.requests_for("DFEDTARU")[0].query["observation_start"] == "2026-03-29"  # 400 days back


def test_latest_skips_a_trailing_missing_value(fake_fred: FakeFred) -> None:
    latest = FredSource(client(fake_fred)).latest("CPIAUCSL", NOW)

    assert latest == Observation(date(2026, 9, 1), Decimal("326.000"))


def test_cpi_mom_history_from_a_start_month(fake_fred: FakeFred) -> None:
    history = FredSource(client(fake_fred)).cpi_mom_history(NOW, start=date(2026, 7, 1))

    assert history == [
        MonthlyChange(date(2026, 7, 1), Decimal("0.0")),
        MonthlyChange(date(2026, 8, 1), Decimal("-0.1")),
        MonthlyChange(date(2026, 9, 1), Decimal("0.3")),
    ]
    assert fake_fred.requests_for("CPIAUCSL")[0].query["observation_start"] == "2026-06-01"


def test_a_fed_contract_for_a_finished_meeting_month_is_decided_by_the_upper_bound_after_it(
    fake_fred: FakeFred,
) -> None:
    serve_april_2027_cut(fake_fred)
    source = FredSource(client(fake_fred))
    now = datetime(2027, 5, 3, 12, tzinfo=UTC)

    above_425 = asyncio.run(source.estimate(fed_contract(floor="4.25"), now))
    above_400 = asyncio.run(source.estimate(fed_contract(floor="4.00"), now))

    assert isinstance(above_425, SourceEstimate) and above_425.probability == 0.0  # 4.25 is not above 4.25
    assert isinstance(above_400, SourceEstimate) and above_400.probability == 1.0
    assert above_425.evidence["upper_bound_pct"] == "4.25"
    assert above_425.evidence["observation_date"] == "2027-05-01"
    assert fake_fred.requests_for("DFEDTARU")[0].query["observation_start"] == "2027-04-01"


def test_a_fed_contract_is_not_estimated_before_fred_covers_the_day_after_the_meeting_month(
    fake_fred: FakeFred,
) -> None:
    serve_april_2027_cut(fake_fred, through="2027-04-30")
    source = FredSource(client(fake_fred))

    result = asyncio.run(source.estimate(fed_contract(), datetime(2027, 4, 30, 18, tzinfo=UTC)))

    assert isinstance(result, NoEstimate)
    assert "2027-05-01" in result.reason and "does not decide it" in result.reason


def test_fred_source_abstains_on_other_measures_without_a_request(fake_fred: FakeFred) -> None:
    source = FredSource(client(fake_fred))

    result = asyncio.run(source.estimate(fed_contract(measure=Measure.CPI_MOM_PCT), NOW))

    assert isinstance(result, NoEstimate) and "fed-funds upper-bound" in result.reason
    assert fake_fred.server.requests == []


def test_fred_source_abstains_when_fred_is_unavailable(fake_fred: FakeFred) -> None:
    source = FredSource(client(fake_fred, key="fedcba9876543210fedcba9876543210"))

    result = asyncio.run(source.estimate(fed_contract(), NOW))

    assert isinstance(result, NoEstimate) and "HTTP 400" in result.reason
    assert source.name == "fred" and source.domains == frozenset({Domain.ECONOMICS})
