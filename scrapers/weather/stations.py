"""The settlement-station table: which station, day window and location a weather series settles on.

Read from `config/stations.toml`, one table per venue, because the venues differ: Kalshi's
KXHIGHCHI settles on Chicago Midway's NWS climate report over the local-standard-time day,
Polymarket's Chicago markets on O'Hare's Weather Underground page over the clock-time day.
A venue table may say `inherits = "<venue>"` to take another venue's entries (the simulated
`sim-kalshi` settles as Kalshi does); its own entries replace inherited ones of the same series.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from domain.contracts import ContractSpec, Domain, Measure, Strike
from scrapers.base import NoEstimate

DEFAULT_STATIONS_PATH = Path(__file__).resolve().parents[2] / "config" / "stations.toml"

WEATHER_MEASURES = frozenset({Measure.DAILY_HIGH_F, Measure.DAILY_LOW_F})


class DayRule(StrEnum):
    """Which 24 hours a venue's "day" is at the station."""

    LOCAL_STANDARD = "local_standard"  # NWS CLI: local standard time all year (Kalshi)
    LOCAL_CLOCK = "local_clock"  # the wall-clock day, DST included (Polymarket / Weather Underground)


class StationTableError(ValueError):
    """A bad station table; the message names the file and the key."""

    def __init__(self, file: Path | str, key: str, problem: str) -> None:
        self.file = str(file)
        self.key = key
        self.problem = problem
        super().__init__(f"{self.file}: {key}: {problem}" if key else f"{self.file}: {problem}")


class Station(BaseModel):
    """One series' settlement station, as the venue's rules name it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    station: str = Field(pattern=r"^[A-Z0-9]{4}$")  # ICAO identifier, e.g. KMDW
    name: str = Field(min_length=1)
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    timezone: str
    measure: Measure
    day: DayRule = DayRule.LOCAL_STANDARD
    settlement_source: str = "NWS Daily Climatological Report (CLI)"
    slug_prefix: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown IANA timezone {value!r}") from error
        return value

    @field_validator("measure")
    @classmethod
    def _temperature_measure(cls, value: Measure) -> Measure:
        if value not in WEATHER_MEASURES:
            raise ValueError(f"a station settles daily_high_f or daily_low_f, not {value.value}")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class StationTable:
    """Stations by venue, then by series (a Kalshi series ticker, or a Polymarket entry name)."""

    venues: Mapping[str, Mapping[str, Station]] = field(default_factory=dict)
    source: str = ""

    def for_contract(self, contract: ContractSpec) -> Station | None:
        """The station `contract` settles on at its venue: by series, else by a Polymarket slug prefix."""
        entries = self.venues.get(contract.venue)
        if entries is None:
            return None
        exact = entries.get(contract.series)
        if exact is not None:
            return exact
        for station in entries.values():
            if station.slug_prefix and contract.series.startswith(station.slug_prefix):
                return station
        return None


def load_stations(path: Path | str | None = None) -> StationTable:
    """Read and validate the station table (default: `config/stations.toml`)."""
    file = DEFAULT_STATIONS_PATH if path is None else Path(path)
    try:
        with file.open("rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError as error:
        raise StationTableError(file, "", "file not found") from error
    except tomllib.TOMLDecodeError as error:
        raise StationTableError(file, "", f"not valid TOML: {error}") from error
    return parse_station_table(raw, file)


def parse_station_table(raw: Mapping[str, Any], file: Path | str = "<stations>") -> StationTable:
    """Validate a parsed TOML document into a `StationTable`; errors name `file` and the key."""
    own: dict[str, dict[str, Station]] = {}
    parents: dict[str, str] = {}
    for venue, table in raw.items():
        if not isinstance(table, dict):
            raise StationTableError(file, venue, "expected a table of series")
        entries: dict[str, Station] = {}
        for series, entry in table.items():
            key = f"{venue}.{series}"
            if series == "inherits":
                if not isinstance(entry, str):
                    raise StationTableError(file, key, f"expected a venue name, got {entry!r}")
                parents[venue] = entry
                continue
            if not isinstance(entry, dict):
                raise StationTableError(file, key, f"expected a station table, got {entry!r}")
            entries[series] = _station(entry, file, key)
        own[venue] = entries
    venues = {venue: _resolve(venue, own, parents, file, ()) for venue in own}
    return StationTable(venues, str(file))


def _station(entry: Mapping[str, Any], file: Path | str, key: str) -> Station:
    try:
        return Station.model_validate(entry)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in (key, *first["loc"]))
        if first["type"] == "missing":
            raise StationTableError(file, where, "required key is missing") from None
        if first["type"] == "extra_forbidden":
            allowed = ", ".join(Station.model_fields)
            raise StationTableError(file, where, f"unknown key (expected one of: {allowed})") from None
        shown = first.get("input")
        raise StationTableError(file, where, f"{first['msg']} (got {shown!r})") from None


def _resolve(
    venue: str,
    own: Mapping[str, dict[str, Station]],
    parents: Mapping[str, str],
    file: Path | str,
    seen: tuple[str, ...],
) -> dict[str, Station]:
    parent = parents.get(venue)
    if parent is None:
        return dict(own[venue])
    key = f"{venue}.inherits"
    if parent in (venue, *seen):
        raise StationTableError(file, key, f"inheritance loop through {parent!r}")
    if parent not in own:
        raise StationTableError(file, key, f"no venue {parent!r} in the table to inherit from")
    return {**_resolve(parent, own, parents, file, (*seen, venue)), **own[venue]}


@dataclass(frozen=True, slots=True)
class SettlementQuestion:
    """What a weather source needs from a contract: the station, its day, the measure and the strike."""

    station: Station
    day: date
    measure: Measure
    strike: Strike


def settlement_question(
    table: StationTable, contract: ContractSpec, source: str
) -> SettlementQuestion | NoEstimate:
    """The contract's settlement question, or why source `source` cannot price it."""
    if contract.domain is not Domain.WEATHER:
        return NoEstimate(source, f"{contract.ticker} is a {contract.domain.value} contract, not weather")
    if contract.measure not in WEATHER_MEASURES:
        return NoEstimate(
            source, f"{contract.ticker} settles on {contract.measure.value}, not a daily high/low"
        )
    if contract.day is None:
        return NoEstimate(source, f"{contract.ticker} names no observation day")
    if contract.strike is None:
        return NoEstimate(source, f"{contract.ticker} has no strike to price")
    station = table.for_contract(contract)
    if station is None:
        return NoEstimate(
            source, f"no settlement station for {contract.venue} series {contract.series} in {table.source}"
        )
    if station.measure is not contract.measure:
        return NoEstimate(
            source,
            f"{contract.ticker} settles on {contract.measure.value} but the station table gives"
            f" {station.measure.value} for {contract.venue}.{contract.series}",
        )
    return SettlementQuestion(station, contract.day, contract.measure, contract.strike)
