"""GFS ensemble (GEFS, 31 members) from Open-Meteo's ensemble API, priced for temperature contracts.

`GET {base}/v1/ensemble?latitude&longitude&hourly=temperature_2m&models=gfs_seamless
&temperature_unit=fahrenheit&timezone=GMT&past_days=1&forecast_days=N` answers one hourly
column per member: the control `temperature_2m` and `temperature_2m_member01` ... `member30`
(one model requested, so no `_<model>` suffix; prediction-markets.md §3). We ask for GMT and
shift ourselves, because the settlement day is the station's local-STANDARD-time day
(climate_day.py) and Open-Meteo's local times follow DST. `past_days=1` keeps a climate day
that began before today's UTC midnight (a US evening) inside the answer.

Per member: the maximum (DAILY_HIGH_F) or minimum (DAILY_LOW_F) of its hourly values inside the
window, nulls skipped, a member with no value in the window dropped; then P(YES) by
`ensemble_probability` (Laplace-corrected share of members). Hourly instantaneous values miss
the peak between the hours, so member highs run a little low (lows a little high); this source
reports what the model says and does not add a correction it cannot source.

Cache: GEFS runs every 6 hours; a fetcher `cache_seconds` of 30-60 minutes keeps a ladder of
markets on one station at one request. Open-Meteo weights a call by variables x members, so
each request costs about 31 of the free tier's calls (UNVERIFIED quota, §3).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
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
from scrapers.weather.climate_day import settlement_window
from scrapers.weather.probability import ensemble_probability, members_paying_yes, whole_degrees
from scrapers.weather.stations import SettlementQuestion, StationTable, settlement_question

log = logging.getLogger(__name__)

MODEL = "gfs_seamless"  # Open-Meteo remaps it to ncep_gefs_seamless: GEFS 0.25° then 0.5°, 31 members
MEMBER_COLUMN = re.compile(r"temperature_2m(?:_member(\d{2}))?\Z")
FAHRENHEIT = "°F"


@dataclass(frozen=True, slots=True)
class EnsembleForecast:
    """An ensemble answer: UTC hours and, per member (0 = control), one value or None per hour."""

    times: tuple[datetime, ...]
    members: Mapping[int, tuple[float | None, ...]]
    latitude: float
    longitude: float


def parse_ensemble(payload: Any) -> EnsembleForecast:
    """Open-Meteo's `/v1/ensemble` JSON (one location, one model) to an `EnsembleForecast`."""
    if not isinstance(payload, dict):
        raise MalformedPayload(f"expected a JSON object, got {type(payload).__name__}")
    if payload.get("error"):
        raise MalformedPayload(f"Open-Meteo error: {payload.get('reason')!r}")
    hourly = payload.get("hourly")
    units = payload.get("hourly_units")
    if not isinstance(hourly, dict) or not isinstance(units, dict):
        raise MalformedPayload("no `hourly` / `hourly_units` section")
    offset = payload.get("utc_offset_seconds", 0)
    if not isinstance(offset, int):
        raise MalformedPayload(f"utc_offset_seconds is {offset!r}, not an integer")
    times = _times(hourly.get("time"), timedelta(seconds=offset))
    members: dict[int, tuple[float | None, ...]] = {}
    for column, values in hourly.items():
        match = MEMBER_COLUMN.match(column)
        if match is None:
            continue
        if units.get(column) != FAHRENHEIT:
            raise MalformedPayload(f"{column} is in {units.get(column)!r}, expected {FAHRENHEIT}")
        members[int(match.group(1) or 0)] = _values(column, values, len(times))
    if not members:
        raise MalformedPayload("no temperature_2m member columns in `hourly`")
    latitude, longitude = payload.get("latitude"), payload.get("longitude")
    if not isinstance(latitude, int | float) or not isinstance(longitude, int | float):
        raise MalformedPayload("latitude/longitude missing")
    return EnsembleForecast(times, members, float(latitude), float(longitude))


def member_extremes(
    forecast: EnsembleForecast, start: datetime, end: datetime, measure: Measure
) -> dict[int, float] | None:
    """Each member's max (DAILY_HIGH_F) or min (DAILY_LOW_F) over the hours in `[start, end)`.

    None when the answer's hours do not cover the window (the day is outside the forecast);
    members with no value in the window are left out."""
    if not forecast.times or forecast.times[0] > start or forecast.times[-1] < end - timedelta(hours=1):
        return None
    inside = [i for i, moment in enumerate(forecast.times) if start <= moment < end]
    pick = max if measure is Measure.DAILY_HIGH_F else min
    extremes: dict[int, float] = {}
    for member, values in sorted(forecast.members.items()):
        present = [value for i in inside if (value := values[i]) is not None]
        if present:
            extremes[member] = pick(present)
    return extremes


class GfsEnsembleSource:
    """P(YES) of Kalshi/Polymarket daily high/low contracts from the GEFS members (module docstring)."""

    name = "gfs_ensemble"
    domains = frozenset({Domain.WEATHER})

    def __init__(
        self,
        stations: StationTable,
        fetcher: JsonFetcher,
        base_url: str = "https://ensemble-api.open-meteo.com",
        *,
        forecast_days: int = 10,
    ) -> None:
        if not 1 <= forecast_days <= 35:
            raise ValueError(f"forecast_days must be 1..35 (GEFS reaches 35 days), got {forecast_days}")
        self._stations = stations
        self._fetcher = fetcher
        self._url = base_url.rstrip("/") + "/v1/ensemble"
        self._forecast_days = forecast_days

    def health(self) -> SourceHealth:
        return self._fetcher.health()

    async def estimate(self, contract: ContractSpec, now: datetime) -> EstimateResult:
        question = settlement_question(self._stations, contract, self.name)
        if isinstance(question, NoEstimate):
            return question
        station = question.station
        start, end = settlement_window(question.day, station.zone, station.day)
        if end <= now:
            return NoEstimate(self.name, f"{question.day} at {station.station} is over; nothing to forecast")
        today = now.astimezone(UTC).date()
        horizon = datetime.combine(today + timedelta(days=self._forecast_days), time(0), UTC)
        if end > horizon:
            return NoEstimate(
                self.name, f"{question.day} lies beyond the {self._forecast_days}-day ensemble forecast"
            )
        params = {
            "latitude": station.latitude,
            "longitude": station.longitude,
            "hourly": "temperature_2m",
            "models": MODEL,
            "temperature_unit": "fahrenheit",
            "timezone": "GMT",
            "past_days": 1,
            "forecast_days": self._forecast_days,
        }
        try:
            payload = await asyncio.to_thread(self._fetcher.get_json, self._url, now, params)
        except SourceUnavailable as error:
            return NoEstimate(self.name, error.reason)
        try:
            forecast = parse_ensemble(payload)
        except MalformedPayload as error:
            return self._malformed(now, str(error))
        extremes = member_extremes(forecast, start, end, question.measure)
        if extremes is None:
            return NoEstimate(
                self.name, f"the ensemble answer does not cover {question.day} at {station.station}"
            )
        if not extremes:
            return NoEstimate(
                self.name, f"no ensemble member has a value for {question.day} at {station.station}"
            )
        return self._priced(question, extremes, (start, end), now)

    def _priced(
        self,
        question: SettlementQuestion,
        extremes: Mapping[int, float],
        window: tuple[datetime, datetime],
        now: datetime,
    ) -> SourceEstimate:
        values = list(extremes.values())
        k, n = members_paying_yes(values, question.strike)
        return SourceEstimate(
            source=self.name,
            probability=ensemble_probability(values, question.strike),
            as_of=now,
            evidence={
                "station": question.station.station,
                "station_name": question.station.name,
                "day": question.day.isoformat(),
                "day_rule": question.station.day.value,
                "window_utc": [window[0].isoformat(), window[1].isoformat()],
                "measure": question.measure.value,
                "model": MODEL,
                "members": n,
                "members_paying_yes": k,
                "member_extremes_f": {str(m): int(whole_degrees(v)) for m, v in extremes.items()},
                "rule": "(k + 1) / (n + 2) over members' whole-degree extremes",
            },
        )

    def _malformed(self, now: datetime, problem: str) -> NoEstimate:
        reason = f"{self.name}: unexpected Open-Meteo answer: {problem}"
        self._fetcher.record_error(now, reason)
        return NoEstimate(self.name, reason)


def _times(raw: Any, offset: timedelta) -> tuple[datetime, ...]:
    """`hourly.time`: local times of the requested zone, no offset (`2026-07-08T05:00`), to UTC."""
    if not isinstance(raw, list):
        raise MalformedPayload("hourly.time is not a list")
    try:
        return tuple(datetime.fromisoformat(text).replace(tzinfo=UTC) - offset for text in raw)
    except (TypeError, ValueError) as error:
        raise MalformedPayload(f"hourly.time holds something that is not an ISO time: {error}") from error


def _values(column: str, raw: Any, length: int) -> tuple[float | None, ...]:
    if not isinstance(raw, list) or len(raw) != length:
        raise MalformedPayload(f"hourly.{column} is not a list of {length} values")
    out: list[float | None] = []
    for value in raw:
        if value is None:
            out.append(None)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out.append(float(value))
        else:
            raise MalformedPayload(f"hourly.{column} holds {value!r}")
    return tuple(out)
