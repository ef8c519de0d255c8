"""GfsEnsembleSource: Open-Meteo's 31-member GFS ensemble, parsed from the recorded answer and fetched
over real HTTP from the local fake.

The fixture (tests/scrapers/fixtures/open_meteo_ensemble_gfs_chicago.json, 2026-07-07..09 at GMT) is
built so the numbers can be worked by hand: member m peaks at 80 + m/2 °F at 20:00 UTC on July 8
(15:00 CDT) and bottoms at 65 + m/2 at 08:00 UTC; member 29 is missing (all null); member 30 has no
values 19-21 UTC on July 8, so its high is its 18:00/22:00 value, 94.0. Two traps sit on the edges
of the climate day: the control reads 86.0 at 05:00 UTC July 9 (00:00 CDT, but 23:00 CST: still
July 8 for the NWS climate report) and member 01 reads 90.0 at 05:00 UTC July 8 (00:00 CDT July 8,
but 23:00 CST July 7).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from domain.contracts import ContractSpec, Domain, Measure, Strike, StrikeType
from scrapers.base import JsonFetcher, MalformedPayload, NoEstimate, SourceEstimate
from scrapers.weather.climate_day import climate_day_window, clock_day_window
from scrapers.weather.open_meteo import GfsEnsembleSource, member_extremes, parse_ensemble
from scrapers.weather.stations import load_stations
from tests.fakes.server import Fault
from tests.fakes.weather import ENSEMBLE_FIXTURE, FakeOpenMeteo, load_fixture
from utils.request_budget import RequestBudget

NOW = datetime(2026, 7, 8, 12, 0, tzinfo=UTC)
JULY_8 = date(2026, 7, 8)
GREATER_87 = Strike(StrikeType.GREATER, floor_strike=Decimal(87))  # high >= 88
BETWEEN_88_89 = Strike(StrikeType.BETWEEN, floor_strike=Decimal(88), cap_strike=Decimal(89))
LESS_70 = Strike(StrikeType.LESS, cap_strike=Decimal(70))  # low <= 69


def contract(
    series: str = "KXHIGHCHI",
    strike: Strike = GREATER_87,
    day: date = JULY_8,
    venue: str = "kalshi",
    measure: Measure = Measure.DAILY_HIGH_F,
    domain: Domain = Domain.WEATHER,
) -> ContractSpec:
    event = f"{series}-{day:%y%b%d}".upper()
    return ContractSpec(
        venue=venue,
        ticker=f"{event}-X",
        series=series,
        event=event,
        underlying=event,
        domain=domain,
        measure=measure,
        subject="CHI",
        day=day,
        strike=strike,
    )


@pytest.fixture
def fake() -> Iterator[FakeOpenMeteo]:
    server = FakeOpenMeteo().start()
    yield server
    server.stop()


def make_source(fake: FakeOpenMeteo, budget: RequestBudget | None = None) -> GfsEnsembleSource:
    fetcher = JsonFetcher("gfs_ensemble", cache_seconds=600, budget=budget)
    return GfsEnsembleSource(load_stations(), fetcher, base_url=fake.url)


def estimate(
    source: GfsEnsembleSource, spec: ContractSpec, now: datetime = NOW
) -> SourceEstimate | NoEstimate:
    return asyncio.run(source.estimate(spec, now))


# ---------------------------------------------------------------------------------------------- parsing
def test_parse_reads_all_31_member_columns_at_utc_hours() -> None:
    forecast = parse_ensemble(load_fixture(ENSEMBLE_FIXTURE))

    assert sorted(forecast.members) == list(range(31))
    assert forecast.times[0] == datetime(2026, 7, 7, 0, tzinfo=UTC)
    assert len(forecast.times) == 72
    assert forecast.members[0][forecast.times.index(datetime(2026, 7, 8, 20, tzinfo=UTC))] == 80.0


def test_parse_shifts_local_times_by_the_utc_offset() -> None:
    payload = load_fixture(ENSEMBLE_FIXTURE) | {"utc_offset_seconds": -18000}

    assert parse_ensemble(payload).times[0] == datetime(2026, 7, 7, 5, tzinfo=UTC)


def test_parse_refuses_celsius() -> None:
    payload = load_fixture(ENSEMBLE_FIXTURE)
    payload["hourly_units"]["temperature_2m_member07"] = "°C"

    with pytest.raises(MalformedPayload, match="member07 is in '°C'"):
        parse_ensemble(payload)


def test_parse_refuses_a_column_shorter_than_the_time_axis() -> None:
    payload = load_fixture(ENSEMBLE_FIXTURE)
    payload["hourly"]["temperature_2m_member03"] = payload["hourly"]["temperature_2m_member03"][:-1]

    with pytest.raises(MalformedPayload, match="member03 is not a list of 72"):
        parse_ensemble(payload)


def test_parse_refuses_an_open_meteo_error_answer() -> None:
    with pytest.raises(MalformedPayload, match="Cannot initialize"):
        parse_ensemble(
            {"error": True, "reason": "Cannot initialize WeatherVariable from invalid String value"}
        )


def test_climate_day_high_takes_the_midnight_trap_of_the_standard_time_day() -> None:
    forecast = parse_ensemble(load_fixture(ENSEMBLE_FIXTURE))

    highs = member_extremes(forecast, *climate_day_window(JULY_8, "America/Chicago"), Measure.DAILY_HIGH_F)

    assert highs is not None
    assert 29 not in highs and len(highs) == 30  # the all-null member is dropped
    assert highs[0] == 86.0  # 05:00 UTC July 9 = 23:00 CST July 8
    assert highs[1] == 80.5  # its 90.0 at 05:00 UTC July 8 belongs to July 7
    assert highs[16] == 88.0
    assert highs[30] == 94.0  # nulls 19-21 UTC skipped


def test_clock_day_high_takes_the_other_midnight() -> None:
    forecast = parse_ensemble(load_fixture(ENSEMBLE_FIXTURE))

    highs = member_extremes(forecast, *clock_day_window(JULY_8, "America/Chicago"), Measure.DAILY_HIGH_F)

    assert highs is not None
    assert (highs[0], highs[1]) == (80.0, 90.0)


def test_climate_day_low_is_the_morning_minimum() -> None:
    forecast = parse_ensemble(load_fixture(ENSEMBLE_FIXTURE))

    lows = member_extremes(forecast, *climate_day_window(JULY_8, "America/Chicago"), Measure.DAILY_LOW_F)

    assert lows is not None
    assert (lows[0], lows[1], lows[8], lows[30]) == (65.0, 65.5, 69.0, 80.0)


def test_a_day_the_answer_does_not_cover_has_no_extremes() -> None:
    forecast = parse_ensemble(load_fixture(ENSEMBLE_FIXTURE))

    window = climate_day_window(date(2026, 7, 9), "America/Chicago")  # ends 06:00 UTC July 10

    assert member_extremes(forecast, *window, Measure.DAILY_HIGH_F) is None


# ---------------------------------------------------------------------------------------------- pricing
def test_kalshi_high_above_87_is_laplace_share_of_members(fake: FakeOpenMeteo) -> None:
    # whole-degree highs >= 88: members 15..28 (87.5 rounds up to 88) and member 30 -> k = 15, n = 30
    result = estimate(make_source(fake), contract())

    assert isinstance(result, SourceEstimate)
    assert result.probability == pytest.approx(16 / 32)
    assert result.evidence["members"] == 30
    assert result.evidence["members_paying_yes"] == 15
    assert result.evidence["station"] == "KMDW"
    assert result.evidence["window_utc"] == ["2026-07-08T06:00:00+00:00", "2026-07-09T06:00:00+00:00"]
    assert result.evidence["member_extremes_f"]["0"] == 86
    assert result.as_of == NOW


def test_request_asks_gfs_members_in_fahrenheit_at_gmt_for_midway(fake: FakeOpenMeteo) -> None:
    estimate(make_source(fake), contract())

    (request,) = fake.ensemble_requests
    assert request.query["latitude"] == "41.7861" and request.query["longitude"] == "-87.7522"
    assert request.query["hourly"] == "temperature_2m"
    assert request.query["models"] == "gfs_seamless"
    assert request.query["temperature_unit"] == "fahrenheit"
    assert request.query["timezone"] == "GMT"
    assert request.query["past_days"] == "1"


def test_kalshi_bracket_88_to_89(fake: FakeOpenMeteo) -> None:
    # whole-degree highs 88 or 89: members 15, 16, 17, 18 -> k = 4
    result = estimate(make_source(fake), contract(strike=BETWEEN_88_89))

    assert isinstance(result, SourceEstimate)
    assert result.probability == pytest.approx(5 / 32)


def test_kalshi_low_below_70(fake: FakeOpenMeteo) -> None:
    # whole-degree lows <= 69: 65 + m/2 < 69.5 for members 0..8 -> k = 9
    result = estimate(
        make_source(fake), contract(series="KXLOWTCHI", strike=LESS_70, measure=Measure.DAILY_LOW_F)
    )

    assert isinstance(result, SourceEstimate)
    assert result.probability == pytest.approx(10 / 32)


def test_polymarket_chicago_prices_the_clock_day_at_ohare(fake: FakeOpenMeteo) -> None:
    # clock day: member 0 tops at 80, member 01 at 90 -> k = 16 of 30
    slug = "highest-temperature-in-chicago-on-july-8"
    result = estimate(make_source(fake), contract(venue="polymarket", series=slug))

    assert isinstance(result, SourceEstimate)
    assert result.probability == pytest.approx(17 / 32)
    assert result.evidence["station"] == "KORD"
    assert fake.ensemble_requests[0].query["latitude"] == "41.9786"


def test_a_ladder_on_one_station_costs_one_request(fake: FakeOpenMeteo) -> None:
    source = make_source(fake)

    estimate(source, contract())
    estimate(source, contract(strike=BETWEEN_88_89), NOW + timedelta(minutes=5))

    assert len(fake.ensemble_requests) == 1


def test_a_day_already_over_asks_nothing(fake: FakeOpenMeteo) -> None:
    result = estimate(make_source(fake), contract(day=date(2026, 7, 7)))

    assert isinstance(result, NoEstimate) and "is over" in result.reason
    assert fake.ensemble_requests == []


def test_a_day_beyond_the_forecast_asks_nothing(fake: FakeOpenMeteo) -> None:
    result = estimate(make_source(fake), contract(day=date(2026, 7, 30)))

    assert isinstance(result, NoEstimate) and "beyond the 10-day" in result.reason
    assert fake.ensemble_requests == []


def test_a_day_missing_from_the_answer_is_no_estimate(fake: FakeOpenMeteo) -> None:
    result = estimate(make_source(fake), contract(day=date(2026, 7, 9)))

    assert isinstance(result, NoEstimate) and "does not cover 2026-07-09" in result.reason


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        (contract(series="KXHIGHXYZ"), "no settlement station"),
        (contract(domain=Domain.ECONOMICS, measure=Measure.CPI_MOM_PCT), "not weather"),
        (contract(measure=Measure.CPI_MOM_PCT), "not a daily high/low"),
        (contract(measure=Measure.DAILY_LOW_F), "station table gives daily_high_f"),
    ],
)
def test_contracts_it_cannot_price_are_no_estimate_without_a_request(
    fake: FakeOpenMeteo, spec: ContractSpec, reason: str
) -> None:
    result = estimate(make_source(fake), spec)

    assert isinstance(result, NoEstimate) and reason in result.reason
    assert fake.ensemble_requests == []


# ---------------------------------------------------------------------------------------------- fetching
def test_daily_budget_spent_is_no_estimate(fake: FakeOpenMeteo) -> None:
    source = make_source(fake, RequestBudget(per_day=1))
    slug = "highest-temperature-in-chicago-on-july-8"

    first = estimate(source, contract())
    second = estimate(source, contract(venue="polymarket", series=slug))  # another point: another URL

    assert isinstance(first, SourceEstimate)
    assert isinstance(second, NoEstimate) and "daily budget of 1 requests spent" in second.reason
    assert len(fake.ensemble_requests) == 1


def test_429_pauses_the_source_until_the_backoff_ends(fake: FakeOpenMeteo) -> None:
    source = make_source(fake)
    fake.server.inject(Fault(status=429, retry_after="120"))

    limited = estimate(source, contract())
    during = estimate(source, contract(), NOW + timedelta(seconds=60))
    after = estimate(source, contract(), NOW + timedelta(seconds=121))

    assert isinstance(limited, NoEstimate) and "429" in limited.reason
    assert isinstance(during, NoEstimate) and "paused" in during.reason
    assert isinstance(after, SourceEstimate)
    assert len(fake.ensemble_requests) == 2


def test_a_5xx_is_retried_then_succeeds(fake: FakeOpenMeteo) -> None:
    fake.server.inject(Fault(status=503, times=1))

    result = estimate(make_source(fake), contract())

    assert isinstance(result, SourceEstimate)
    assert len(fake.ensemble_requests) == 2


def test_health_after_failure_then_success(fake: FakeOpenMeteo) -> None:
    source = make_source(fake)
    fake.server.inject(Fault(status=500, times=3))

    failed = estimate(source, contract())
    health = source.health()
    assert isinstance(failed, NoEstimate) and "after 3 attempts" in failed.reason
    assert not health.ok and health.last_error is not None and health.last_error_at == NOW

    later = NOW + timedelta(minutes=1)
    assert isinstance(estimate(source, contract(), later), SourceEstimate)
    assert source.health().ok and source.health().last_success_at == later


def test_a_malformed_answer_is_no_estimate_and_shows_in_health(fake: FakeOpenMeteo) -> None:
    fake.payload = {"latitude": 41.75, "longitude": -87.75, "hourly": {"time": []}}
    source = make_source(fake)

    result = estimate(source, contract())

    assert isinstance(result, NoEstimate) and "unexpected Open-Meteo answer" in result.reason
    assert not source.health().ok
