"""NwsForecastSource: api.weather.gov's point forecast, parsed from recorded answers and fetched over
real HTTP from the local fake (points for Chicago Midway, then the LOT 74,70 forecast issued the
morning of 2026-07-08: Today 81, Tonight 70, Thursday 86, ...)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from scipy.stats import norm

from domain.contracts import ContractSpec, Domain, Measure, Strike, StrikeType
from scrapers.base import JsonFetcher, MalformedPayload, NoEstimate, SourceEstimate
from scrapers.weather.nws import NwsForecastSource, parse_forecast, parse_points, period_for
from scrapers.weather.stations import load_stations
from tests.fakes.server import Fault
from tests.fakes.weather import FORECAST_FIXTURE, POINTS_FIXTURE, FakeNws, load_fixture
from utils.request_budget import RequestBudget

NOW = datetime(2026, 7, 8, 12, 0, tzinfo=UTC)
JULY_8 = date(2026, 7, 8)
CHICAGO = ZoneInfo("America/Chicago")
USER_AGENT = "(multi-asset-trader tests, ops@example.com)"
GREATER_87 = Strike(StrikeType.GREATER, floor_strike=Decimal(87))
BETWEEN_80_81 = Strike(StrikeType.BETWEEN, floor_strike=Decimal(80), cap_strike=Decimal(81))
LESS_70 = Strike(StrikeType.LESS, cap_strike=Decimal(70))


def contract(
    series: str = "KXHIGHCHI",
    strike: Strike = GREATER_87,
    day: date = JULY_8,
    measure: Measure = Measure.DAILY_HIGH_F,
) -> ContractSpec:
    event = f"{series}-{day:%y%b%d}".upper()
    return ContractSpec(
        venue="kalshi",
        ticker=f"{event}-X",
        series=series,
        event=event,
        underlying=event,
        domain=Domain.WEATHER,
        measure=measure,
        subject="CHI",
        day=day,
        strike=strike,
    )


@pytest.fixture
def fake() -> Iterator[FakeNws]:
    server = FakeNws().start()
    yield server
    server.stop()


def make_source(
    fake: FakeNws, cache_seconds: float = 600, budget: RequestBudget | None = None
) -> NwsForecastSource:
    fetcher = JsonFetcher("nws_forecast", cache_seconds=cache_seconds, budget=budget)
    return NwsForecastSource(load_stations(), fetcher, base_url=fake.url, user_agent=USER_AGENT)


def estimate(
    source: NwsForecastSource, spec: ContractSpec, now: datetime = NOW
) -> SourceEstimate | NoEstimate:
    return asyncio.run(source.estimate(spec, now))


# ---------------------------------------------------------------------------------------------- parsing
def test_points_give_the_forecast_url() -> None:
    assert (
        parse_points(load_fixture(POINTS_FIXTURE)) == "https://api.weather.gov/gridpoints/LOT/74,70/forecast"
    )


def test_points_without_a_forecast_url_are_malformed() -> None:
    with pytest.raises(MalformedPayload, match="no forecast URL"):
        parse_points({"properties": {"gridId": "LOT"}})


def test_forecast_periods_and_update_time() -> None:
    forecast = parse_forecast(load_fixture(FORECAST_FIXTURE))

    assert forecast.updated_at == datetime(2026, 7, 8, 9, 47, 12, tzinfo=UTC)
    assert len(forecast.periods) == 14
    first = forecast.periods[0]
    assert (first.name, first.is_daytime, first.temperature_f) == ("Today", True, 81.0)
    assert first.start == datetime(2026, 7, 8, 11, tzinfo=UTC)


def test_temperature_as_a_quantitative_value_is_read() -> None:
    payload = load_fixture(FORECAST_FIXTURE)
    payload["properties"]["periods"][0]["temperature"] = {"unitCode": "wmoUnit:degF", "value": 81}
    payload["properties"]["periods"][1]["temperature"] = {"unitCode": "wmoUnit:degC", "value": 21.0}

    periods = parse_forecast(payload).periods

    assert periods[0].temperature_f == 81.0
    assert periods[1].temperature_f == pytest.approx(69.8)


def test_high_is_the_daytime_period_of_the_day_and_low_the_overnight_ending_that_morning() -> None:
    forecast = parse_forecast(load_fixture(FORECAST_FIXTURE))

    high = period_for(forecast, JULY_8, Measure.DAILY_HIGH_F, CHICAGO)
    low_9th = period_for(forecast, date(2026, 7, 9), Measure.DAILY_LOW_F, CHICAGO)

    assert high is not None and (high.name, high.temperature_f) == ("Today", 81.0)
    assert low_9th is not None and (low_9th.name, low_9th.temperature_f) == ("Tonight", 70.0)
    assert period_for(forecast, JULY_8, Measure.DAILY_LOW_F, CHICAGO) is None  # last night left the forecast


def test_forecast_without_periods_is_malformed() -> None:
    with pytest.raises(MalformedPayload, match="no periods"):
        parse_forecast({"properties": {"updateTime": "2026-07-08T09:47:12+00:00", "periods": []}})


# ---------------------------------------------------------------------------------------------- pricing
def test_high_above_87_is_the_normal_tail_above_87_and_a_half(fake: FakeNws) -> None:
    # forecast 81, sigma 3: P(X >= 87.5) = 1 - Phi(6.5 / 3) = 0.015130
    result = estimate(make_source(fake), contract())

    assert isinstance(result, SourceEstimate)
    assert result.probability == pytest.approx(0.015130, abs=1e-6)
    assert result.probability == pytest.approx(norm.sf(87.5, loc=81, scale=3))
    assert result.evidence["forecast_f"] == 81.0 and result.evidence["period"] == "Today"
    assert result.as_of == datetime(2026, 7, 8, 9, 47, 12, tzinfo=UTC)


def test_bracket_80_to_81_around_a_forecast_of_81(fake: FakeNws) -> None:
    # P(79.5 <= X < 81.5) = Phi(1/6) - Phi(-1/2) = 0.566184 - 0.308538 = 0.257646
    result = estimate(make_source(fake), contract(strike=BETWEEN_80_81))

    assert isinstance(result, SourceEstimate)
    assert result.probability == pytest.approx(0.257646, abs=1e-6)


def test_low_uses_the_overnight_ending_that_morning(fake: FakeNws) -> None:
    # July 9 low: "Tonight" (July 8 18:00 - July 9 06:00) at 70; less than 70 -> X < 69.5:
    # Phi((69.5 - 70) / 3) = Phi(-1/6) = 0.433816
    spec = contract(series="KXLOWTCHI", strike=LESS_70, day=date(2026, 7, 9), measure=Measure.DAILY_LOW_F)

    result = estimate(make_source(fake), spec)

    assert isinstance(result, SourceEstimate)
    assert result.probability == pytest.approx(0.433816, abs=1e-6)
    assert result.evidence["period"] == "Tonight"


def test_a_low_whose_night_left_the_forecast_is_no_estimate(fake: FakeNws) -> None:
    spec = contract(series="KXLOWTCHI", strike=LESS_70, measure=Measure.DAILY_LOW_F)

    result = estimate(make_source(fake), spec)

    assert isinstance(result, NoEstimate) and "no overnight NWS period for 2026-07-08" in result.reason


def test_requests_carry_user_agent_and_geojson_accept(fake: FakeNws) -> None:
    estimate(make_source(fake), contract())

    for request in fake.server.requests:
        headers = {key.lower(): value for key, value in request.headers.items()}
        assert headers["user-agent"] == USER_AGENT
        assert headers["accept"] == "application/geo+json"
    assert [r.path for r in fake.server.requests] == [
        "/points/41.7861,-87.7522",
        "/gridpoints/LOT/74,70/forecast",
    ]


def test_empty_user_agent_is_refused(fake: FakeNws) -> None:
    with pytest.raises(ValueError, match="User-Agent"):
        NwsForecastSource(load_stations(), JsonFetcher("nws"), base_url=fake.url, user_agent=" ")


# ---------------------------------------------------------------------------------------------- fetching
def test_a_second_estimate_within_the_cache_time_makes_no_request(fake: FakeNws) -> None:
    source = make_source(fake)

    estimate(source, contract())
    estimate(source, contract(strike=BETWEEN_80_81), NOW + timedelta(minutes=5))

    assert len(fake.points_requests) == 1 and len(fake.forecast_requests) == 1


def test_the_point_is_resolved_once_even_when_forecasts_are_refetched(fake: FakeNws) -> None:
    source = make_source(fake, cache_seconds=0)  # every forecast answer is stale at once

    estimate(source, contract())
    estimate(source, contract(), NOW + timedelta(hours=1))

    assert len(fake.points_requests) == 1 and len(fake.forecast_requests) == 2


def test_a_station_off_the_nws_grid_is_no_estimate(fake: FakeNws) -> None:
    spec = contract(series="KXHIGHNY")  # the fake knows Midway only: a 404 problem document

    result = estimate(make_source(fake), spec)

    assert isinstance(result, NoEstimate) and "HTTP 404" in result.reason


def test_daily_budget_spent_is_no_estimate(fake: FakeNws) -> None:
    result = estimate(make_source(fake, budget=RequestBudget(per_day=1)), contract())

    assert isinstance(result, NoEstimate) and "daily budget of 1 requests spent" in result.reason
    assert len(fake.points_requests) == 1 and fake.forecast_requests == []


def test_429_pauses_the_source(fake: FakeNws) -> None:
    source = make_source(fake)
    fake.server.inject(Fault(status=429, path_contains="/forecast"))

    limited = estimate(source, contract())
    during = estimate(source, contract(), NOW + timedelta(seconds=30))
    after = estimate(source, contract(), NOW + timedelta(seconds=61))

    assert isinstance(limited, NoEstimate) and "429" in limited.reason
    assert isinstance(during, NoEstimate) and "paused" in during.reason
    assert isinstance(after, SourceEstimate)
    assert len(fake.forecast_requests) == 2


def test_a_5xx_forecast_is_retried_then_succeeds(fake: FakeNws) -> None:
    fake.server.inject(Fault(status=500, path_contains="/forecast", times=1))

    result = estimate(make_source(fake), contract())

    assert isinstance(result, SourceEstimate)
    assert len(fake.forecast_requests) == 2


def test_health_after_failure_then_success(fake: FakeNws) -> None:
    source = make_source(fake)
    fake.server.inject(Fault(status=503, path_contains="/forecast", times=3))

    assert isinstance(estimate(source, contract()), NoEstimate)
    assert not source.health().ok and source.health().last_error_at == NOW

    later = NOW + timedelta(minutes=2)
    assert isinstance(estimate(source, contract(), later), SourceEstimate)
    assert source.health().ok and source.health().last_success_at == later


def test_a_malformed_forecast_is_no_estimate_and_shows_in_health(fake: FakeNws) -> None:
    fake.forecast_payload = {"properties": {"updateTime": "2026-07-08T09:47:12+00:00"}}
    source = make_source(fake)

    result = estimate(source, contract())

    assert isinstance(result, NoEstimate) and "unexpected NWS answer" in result.reason
    assert not source.health().ok
