"""The National Weather Service's own forecast (api.weather.gov), priced for temperature contracts.

Two requests (prediction-markets.md §4): `GET {base}/points/{lat},{lon}` names the station's
forecast grid (`properties.forecast`, e.g. `.../gridpoints/LOT/74,70/forecast`); that mapping
is static per point, so it is kept for the life of the process (forgotten if the forecast URL
stops answering, in case the office re-gridded). Then the forecast: fourteen 12-hour periods,
each with a whole-°F `temperature` (or, behind a feature flag, a `{"value": ...}`
QuantitativeValue; both are read).

Which period answers which contract:
- DAILY_HIGH_F: the daytime period (`isDaytime`, 06:00-18:00 local) starting on the settlement
  day: its temperature is the forecast high. Once the day's daytime period has left the
  forecast (after 18:00 local) there is no high to read, and the source abstains.
- DAILY_LOW_F: the overnight period ENDING on the settlement morning (18:00 the evening before
  to 06:00): the climate-day low usually falls around sunrise. A day whose low comes at the
  END of the day (a cold front arriving in the evening) is missed; the next overnight's low is
  not used because it normally falls on the following morning, a different climate day.

P(YES) by `normal_probability(temperature, strike, sigma=3)`: the settled value taken as
Normal(forecast, 3 °F) with the whole-degree continuity correction. 3 °F is an assumed spread
for a 1-2 day max/min temperature forecast, not calibrated here (UNVERIFIED; it should grow
with lead time).

NWS requires a User-Agent naming the application and a contact, and we ask for
`Accept: application/geo+json`; both are set on the fetcher's headers at construction.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from domain.contracts import ContractSpec, Domain, Measure
from scrapers.base import (
    EstimateResult,
    JsonFetcher,
    MalformedPayload,
    NoEstimate,
    SourceEstimate,
    SourceHealth,
    SourceUnavailable,
)
from scrapers.weather.probability import normal_probability
from scrapers.weather.stations import SettlementQuestion, Station, StationTable, settlement_question

log = logging.getLogger(__name__)

SIGMA_F = 3.0


@dataclass(frozen=True, slots=True)
class ForecastPeriod:
    number: int
    name: str
    start: datetime
    end: datetime
    is_daytime: bool
    temperature_f: float | None


@dataclass(frozen=True, slots=True)
class NwsForecast:
    updated_at: datetime
    periods: tuple[ForecastPeriod, ...]


def parse_points(payload: Any) -> str:
    """The forecast URL from a `/points/{lat},{lon}` answer."""
    properties = payload.get("properties") if isinstance(payload, dict) else None
    if not isinstance(properties, dict):
        raise MalformedPayload("points answer has no `properties` object")
    forecast = properties.get("forecast")
    if not isinstance(forecast, str) or not forecast.startswith(("http://", "https://")):
        raise MalformedPayload(f"points answer has no forecast URL (got {forecast!r})")
    return forecast


def parse_forecast(payload: Any) -> NwsForecast:
    """A `/gridpoints/{wfo}/{x},{y}/forecast` answer to its update time and periods."""
    properties = payload.get("properties") if isinstance(payload, dict) else None
    if not isinstance(properties, dict):
        raise MalformedPayload("forecast answer has no `properties` object")
    stamp = properties.get("updateTime") or properties.get("generatedAt")
    updated_at = _instant(stamp, "updateTime")
    raw_periods = properties.get("periods")
    if not isinstance(raw_periods, list) or not raw_periods:
        raise MalformedPayload("forecast answer has no periods")
    return NwsForecast(updated_at, tuple(_period(raw, i) for i, raw in enumerate(raw_periods)))


def period_for(forecast: NwsForecast, day: date, measure: Measure, tz: tzinfo) -> ForecastPeriod | None:
    """The period whose temperature forecasts `measure` on `day` (module docstring), or None."""
    for period in forecast.periods:
        if (
            measure is Measure.DAILY_HIGH_F
            and period.is_daytime
            and period.start.astimezone(tz).date() == day
        ):
            return period
        if (
            measure is Measure.DAILY_LOW_F
            and not period.is_daytime
            and period.end.astimezone(tz).date() == day
        ):
            return period
    return None


class NwsForecastSource:
    """P(YES) of daily high/low contracts from the NWS point forecast (module docstring)."""

    name = "nws_forecast"
    domains = frozenset({Domain.WEATHER})

    def __init__(
        self,
        stations: StationTable,
        fetcher: JsonFetcher,
        *,
        base_url: str = "https://api.weather.gov",
        user_agent: str,
        sigma_f: float = SIGMA_F,
    ) -> None:
        if not user_agent.strip():
            raise ValueError("NWS requires a User-Agent naming the application and a contact")
        self._stations = stations
        self._fetcher = fetcher
        fetcher.headers = {**fetcher.headers, "User-Agent": user_agent, "Accept": "application/geo+json"}
        self._base = base_url.rstrip("/")
        self._sigma = sigma_f
        self._forecast_urls: dict[str, str] = {}

    def health(self) -> SourceHealth:
        return self._fetcher.health()

    async def estimate(self, contract: ContractSpec, now: datetime) -> EstimateResult:
        question = settlement_question(self._stations, contract, self.name)
        if isinstance(question, NoEstimate):
            return question
        try:
            forecast = await asyncio.to_thread(self._forecast, question.station, now)
        except SourceUnavailable as error:
            return NoEstimate(self.name, error.reason)
        except MalformedPayload as error:
            return self._malformed(now, str(error))
        period = period_for(forecast, question.day, question.measure, question.station.zone)
        if period is None:
            kind = "daytime" if question.measure is Measure.DAILY_HIGH_F else "overnight"
            return NoEstimate(
                self.name, f"no {kind} NWS period for {question.day} at {question.station.station}"
            )
        if period.temperature_f is None:
            return NoEstimate(self.name, f"NWS period {period.name!r} has no temperature")
        return self._priced(question, period, forecast, now)

    def _forecast(self, station: Station, now: datetime) -> NwsForecast:
        url = self._forecast_urls.get(station.station)
        if url is None:
            points = f"{self._base}/points/{_coordinate(station.latitude)},{_coordinate(station.longitude)}"
            url = parse_points(self._fetcher.get_json(points, now))
        try:
            payload = self._fetcher.get_json(url, now)
        except SourceUnavailable:
            self._forecast_urls.pop(station.station, None)
            raise
        self._forecast_urls[station.station] = url
        return parse_forecast(payload)

    def _priced(
        self, question: SettlementQuestion, period: ForecastPeriod, forecast: NwsForecast, now: datetime
    ) -> SourceEstimate:
        assert period.temperature_f is not None
        return SourceEstimate(
            source=self.name,
            probability=normal_probability(period.temperature_f, question.strike, self._sigma),
            as_of=min(forecast.updated_at, now),
            evidence={
                "station": question.station.station,
                "day": question.day.isoformat(),
                "measure": question.measure.value,
                "period": period.name,
                "period_start": period.start.isoformat(),
                "period_end": period.end.isoformat(),
                "forecast_f": period.temperature_f,
                "sigma_f": self._sigma,
                "forecast_updated_at": forecast.updated_at.isoformat(),
                "forecast_url": self._forecast_urls.get(question.station.station),
                "rule": "P(Normal(forecast, sigma) in the whole-degree YES range, ±0.5 continuity)",
            },
        )

    def _malformed(self, now: datetime, problem: str) -> NoEstimate:
        reason = f"{self.name}: unexpected NWS answer: {problem}"
        self._fetcher.record_error(now, reason)
        return NoEstimate(self.name, reason)


def _coordinate(value: float) -> str:
    """At most 4 decimals, no trailing zeros: NWS redirects any other spelling of a point."""
    return f"{value:.4f}".rstrip("0").rstrip(".")


def _instant(raw: Any, what: str) -> datetime:
    if not isinstance(raw, str):
        raise MalformedPayload(f"{what} missing (got {raw!r})")
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as error:
        raise MalformedPayload(f"{what} {raw!r} is not an ISO time") from error
    if moment.tzinfo is None:
        raise MalformedPayload(f"{what} {raw!r} has no UTC offset")
    return moment


def _period(raw: Any, index: int) -> ForecastPeriod:
    if not isinstance(raw, dict):
        raise MalformedPayload(f"periods[{index}] is not an object")
    is_daytime = raw.get("isDaytime")
    if not isinstance(is_daytime, bool):
        raise MalformedPayload(f"periods[{index}].isDaytime is {is_daytime!r}")
    number = raw.get("number", index + 1)
    return ForecastPeriod(
        number=number if isinstance(number, int) else index + 1,
        name=str(raw.get("name") or ""),
        start=_instant(raw.get("startTime"), f"periods[{index}].startTime"),
        end=_instant(raw.get("endTime"), f"periods[{index}].endTime"),
        is_daytime=is_daytime,
        temperature_f=_temperature_f(raw, index),
    )


def _temperature_f(raw: dict[str, Any], index: int) -> float | None:
    """`temperature` as an int with `temperatureUnit`, or a QuantitativeValue `{"unitCode", "value"}`."""
    value = raw.get("temperature")
    unit = raw.get("temperatureUnit", "F")
    if isinstance(value, dict):
        unit = {"wmoUnit:degF": "F", "wmoUnit:degC": "C"}.get(str(value.get("unitCode", "wmoUnit:degF")))
        value = value.get("value")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedPayload(f"periods[{index}].temperature is {value!r}")
    if unit == "F":
        return float(value)
    if unit == "C":
        return float(value) * 9 / 5 + 32
    raise MalformedPayload(f"periods[{index}] temperature unit {unit!r} is neither F nor C")
