"""The settlement-station table: per venue, by series, with errors that name the file and the key."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from domain.contracts import ContractSpec, Domain, Measure, Strike, StrikeType
from scrapers.weather.stations import DayRule, StationTableError, load_stations

GOOD_ENTRY = """
[kalshi.KXHIGHCHI]
station = "KMDW"
name = "Chicago Midway"
latitude = 41.7861
longitude = -87.7522
timezone = "America/Chicago"
measure = "daily_high_f"
"""


def contract(
    venue: str = "kalshi", series: str = "KXHIGHCHI", measure: Measure = Measure.DAILY_HIGH_F
) -> ContractSpec:
    return ContractSpec(
        venue=venue,
        ticker=f"{series}-26JUL08-T87",
        series=series,
        event=f"{series}-26JUL08",
        underlying=f"{series}-26JUL08",
        domain=Domain.WEATHER,
        measure=measure,
        subject="CHI",
        day=date(2026, 7, 8),
        strike=Strike(StrikeType.GREATER, floor_strike=Decimal(87)),
    )


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "stations.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_kalshi_chicago_high_settles_at_midway_on_the_standard_time_day() -> None:
    station = load_stations().for_contract(contract())

    assert station is not None
    assert (station.station, station.name, station.timezone) == ("KMDW", "Chicago Midway", "America/Chicago")
    assert station.measure is Measure.DAILY_HIGH_F
    assert station.day is DayRule.LOCAL_STANDARD


def test_kalshi_chicago_low_series_is_a_low_at_midway() -> None:
    station = load_stations().for_contract(contract(series="KXLOWTCHI", measure=Measure.DAILY_LOW_F))

    assert station is not None and station.station == "KMDW" and station.measure is Measure.DAILY_LOW_F


def test_every_kalshi_series_of_the_reference_table_has_its_station() -> None:
    expected = {
        "KXHIGHNY": "KNYC", "KXHIGHCHI": "KMDW", "KXHIGHMIA": "KMIA", "KXHIGHAUS": "KAUS",
        "KXHIGHDEN": "KDEN", "KXHIGHLAX": "KLAX", "KXHIGHPHIL": "KPHL", "KXHIGHTDC": "KDCA",
        "KXHIGHTBOS": "KBOS", "KXHIGHTATL": "KATL", "KXHIGHTDAL": "KDFW", "KXHIGHTHOU": "KHOU",
        "KXHIGHTSFO": "KSFO", "KXHIGHTSEA": "KSEA", "KXHIGHTPHX": "KPHX", "KXHIGHTLV": "KLAS",
        "KXHIGHTMIN": "KMSP", "KXHIGHTNOLA": "KMSY", "KXHIGHTOKC": "KOKC", "KXHIGHTSATX": "KSAT",
    }  # fmt: skip
    kalshi = load_stations().venues["kalshi"]

    assert {series: kalshi[series].station for series in expected} == expected


def test_sim_kalshi_inherits_kalshis_stations() -> None:
    table = load_stations()

    assert table.venues["sim-kalshi"] == table.venues["kalshi"]
    station = table.for_contract(contract(venue="sim-kalshi"))
    assert station is not None and station.station == "KMDW"


def test_polymarket_chicago_settles_at_ohare_on_the_clock_day_by_slug_prefix() -> None:
    slug = "highest-temperature-in-chicago-on-july-8"
    station = load_stations().for_contract(contract(venue="polymarket", series=slug))

    assert station is not None
    assert station.station == "KORD"
    assert station.day is DayRule.LOCAL_CLOCK


def test_unknown_venue_or_series_has_no_station() -> None:
    table = load_stations()

    assert table.for_contract(contract(venue="nowhere")) is None
    assert table.for_contract(contract(series="KXHIGHXYZ")) is None


def test_entry_in_the_inheriting_venue_replaces_the_inherited_one(tmp_path: Path) -> None:
    text = (
        GOOD_ENTRY
        + '\n[sim-kalshi]\ninherits = "kalshi"\n'
        + GOOD_ENTRY.replace("[kalshi.KXHIGHCHI]", "[sim-kalshi.KXHIGHCHI]").replace('"KMDW"', '"KORD"')
    )

    table = load_stations(write(tmp_path, text))

    assert table.venues["kalshi"]["KXHIGHCHI"].station == "KMDW"
    assert table.venues["sim-kalshi"]["KXHIGHCHI"].station == "KORD"


@pytest.mark.parametrize(
    ("edit", "key", "problem"),
    [
        (
            ("latitude = 41.7861", "latitude = 141.7861"),
            "kalshi.KXHIGHCHI.latitude",
            "less than or equal to 90",
        ),
        (
            ('timezone = "America/Chicago"', 'timezone = "America/Chicgo"'),
            "kalshi.KXHIGHCHI.timezone",
            "unknown",
        ),
        (('measure = "daily_high_f"', 'measure = "cpi_mom_pct"'), "kalshi.KXHIGHCHI.measure", "daily_high_f"),
        (('name = "Chicago Midway"\n', ""), "kalshi.KXHIGHCHI.name", "required key is missing"),
        (('station = "KMDW"', 'station = "KMDW"\nstaton = "KMDW"'), "kalshi.KXHIGHCHI.staton", "unknown key"),
    ],
)
def test_bad_entry_names_the_file_and_the_key(
    tmp_path: Path, edit: tuple[str, str], key: str, problem: str
) -> None:
    path = write(tmp_path, GOOD_ENTRY.replace(*edit))

    with pytest.raises(StationTableError) as caught:
        load_stations(path)

    assert str(path) in str(caught.value)
    assert caught.value.key == key
    assert problem in caught.value.problem


def test_inheriting_from_a_missing_venue_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, '[sim-kalshi]\ninherits = "kalshii"\n')

    with pytest.raises(StationTableError, match=r"sim-kalshi\.inherits: no venue 'kalshii'"):
        load_stations(path)


def test_inheritance_loop_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, '[a]\ninherits = "b"\n[b]\ninherits = "a"\n')

    with pytest.raises(StationTableError, match="inheritance loop"):
        load_stations(path)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(StationTableError, match="file not found"):
        load_stations(tmp_path / "absent.toml")
