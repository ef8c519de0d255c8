"""Cleveland Fed inflation nowcasting for Kalshi's KXCPI (m/m) and KXCPIYOY (y/y) contracts.

The Cleveland Fed publishes, each business day at about 10:00 ET, nowcasts of CPI, core CPI, PCE
and core PCE inflation (reference prediction-markets.md §6). The page's charts read two
unofficial, undocumented FusionCharts files, the month-over-month one (about 7.5 MB) and the
year-over-year one, at

    {base}/-/media/files/webcharts/inflationnowcasting/nowcast_month.json
    {base}/-/media/files/webcharts/inflationnowcasting/nowcast_year.json

Each is a JSON list with one entry per target month since 2013:

- `entry.chart.subcaption` is the target month, `"2026-9"`; `entry.chart._comment` a file stamp
  such as `"2026-10-07 00:00"`.
- `entry.categories[0].category` is the x axis: `{"label": "MM/DD"}` for each day a nowcast was
  made, with release markers mixed in (`{"label": "CPI Aug", "vline": "true", ...}`). A marker
  takes no slot in the data arrays (FusionCharts vLines; counting it shifts every date by one).
  Labels carry no year: it is the one that puts the date nearest the target month (a December
  label on a January chart is the year before).
- `entry.dataset[j]` is `{"seriesname": "CPI Inflation" | "Core CPI Inflation" | "PCE Inflation"
  | "Core PCE Inflation" | "Actual CPI Inflation" | ..., "data": [{"value": "0.2461"}, ...]}`,
  values as strings, `""` (or no `value`) where empty. The last non-empty nowcast value is the
  latest nowcast; an `Actual ...` value means the official number is out.

The site refuses plain clients (per a public scraper), so requests carry a browser User-Agent.

Model: the BLS number, published to one decimal, ~ Normal(latest nowcast, 0.10 pp) and P(YES) by
`band_probability`, for m/m and y/y alike. The 0.10 pp band is a modelling choice (reference §6);
one third-party backtest found the Kalshi price beat the nowcast in 4 of 4 CPI events, so this
is a prior, not an oracle. Probabilities are clipped to [0.01, 0.99] for that reason: a 0.10 pp
Normal puts a 0.3 pp miss at odds of a thousand to one, which energy-price swings make far more
common, and a near-certain claim would outweigh every other source in the consensus; the
unclipped value is in the evidence.

The source answers as of `now`: nowcasts dated after `now` and an actual released after `now`
are ignored, so a cached file replays correctly in simulation.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

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
from scrapers.economics.fred import parse_period_month
from scrapers.probability import band_probability

CHART_DIRECTORY = "/-/media/files/webcharts/inflationnowcasting"
MONTH_FILE = f"{CHART_DIRECTORY}/nowcast_month.json"  # month-over-month % nowcasts
YEAR_FILE = f"{CHART_DIRECTORY}/nowcast_year.json"  # year-over-year % nowcasts

BROWSER_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/130.0 Safari/537.36"
)
CPI_SERIES = "CPI Inflation"
ACTUAL_PREFIX = "Actual "
SIGMA_PP = 0.10
DECIMALS = 1
PROBABILITY_FLOOR, PROBABILITY_CEILING = 0.01, 0.99
PUBLISHED_AT = time(10, 0)  # the nowcasts come out at about 10:00 ET
EASTERN = ZoneInfo("America/New_York")

_TARGET = re.compile(r"(\d{4})-(\d{1,2})")
_DAY_LABEL = re.compile(r"(\d{1,2})/(\d{1,2})")


@dataclass(frozen=True, slots=True)
class NowcastPoint:
    """One day's value of one series: the day it was made (the label's date) and the value, %."""

    made_on: date
    value: Decimal

    def published_at(self) -> datetime:
        return datetime.combine(self.made_on, PUBLISHED_AT, tzinfo=EASTERN)


@dataclass(frozen=True, slots=True)
class TargetNowcasts:
    """Every series of one target month: `series[name]` holds its non-empty points, oldest first."""

    target: date  # the target month's first day
    series: Mapping[str, tuple[NowcastPoint, ...]]
    stamp: str | None = None  # the entry's `chart._comment`

    def points(self, name: str, now: datetime | None = None) -> tuple[NowcastPoint, ...]:
        """The points of `name`, only those published by `now` when given."""
        points = self.series.get(name, ())
        if now is None:
            return points
        return tuple(p for p in points if p.published_at() <= now)

    def latest(self, name: str, now: datetime | None = None) -> NowcastPoint | None:
        points = self.points(name, now)
        return points[-1] if points else None

    def actual(self, name: str, now: datetime | None = None) -> NowcastPoint | None:
        """The official number for `name` (from its `Actual ...` series) if out by `now`."""
        return self.latest(ACTUAL_PREFIX + name, now)


def parse_nowcast_chart(payload: object) -> dict[date, TargetNowcasts]:
    """Every target month of a `nowcast_month.json` / `nowcast_year.json` payload, by month.

    Raises `MalformedPayload` with what was wrong."""
    entries = _entries(payload)
    parsed = (_parse_entry(entry, index) for index, entry in enumerate(entries))
    return {target.target: target for target in parsed}


def find_target(payload: object, target: date) -> TargetNowcasts | None:
    """The target month `target` of a chart payload, or None if the file does not cover it.
    Reads only that month's entry (the month file holds about 160)."""
    for index, entry in enumerate(_entries(payload)):
        if _target_month(entry, index) == target:
            return _parse_entry(entry, index)
    return None


def _entries(payload: object) -> list[dict[str, Any]]:
    if not isinstance(payload, list):
        raise MalformedPayload(f"nowcast chart file is not a JSON list but {type(payload).__name__}")
    for index, entry in enumerate(payload):
        if not isinstance(entry, dict):
            raise MalformedPayload(f"nowcast chart entry {index} is not a JSON object")
    return payload


def _target_month(entry: dict[str, Any], index: int) -> date:
    chart = entry.get("chart")
    subcaption = chart.get("subcaption") if isinstance(chart, dict) else None
    match = _TARGET.fullmatch(subcaption.strip()) if isinstance(subcaption, str) else None
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise MalformedPayload(
            f"nowcast chart entry {index} has subcaption {subcaption!r}, not a YYYY-M month"
        )
    return date(int(match.group(1)), int(match.group(2)), 1)


def _parse_entry(entry: dict[str, Any], index: int) -> TargetNowcasts:
    target = _target_month(entry, index)
    where = f"nowcast chart {target:%Y-%m}"
    days = _made_on_days(entry, target, where)
    datasets = entry.get("dataset")
    if not isinstance(datasets, list):
        raise MalformedPayload(f"{where} has no 'dataset' list")
    series: dict[str, tuple[NowcastPoint, ...]] = {}
    for position, dataset in enumerate(datasets):
        name = dataset.get("seriesname") if isinstance(dataset, dict) else None
        data = dataset.get("data") if isinstance(dataset, dict) else None
        if not isinstance(name, str) or not isinstance(data, list):
            raise MalformedPayload(f"{where} dataset {position} has no 'seriesname' and 'data' list")
        if len(data) > len(days):
            raise MalformedPayload(f"{where} series {name!r} has {len(data)} values for {len(days)} dates")
        points = []
        for slot, point in enumerate(data):
            value = _read_value(point, f"{where} series {name!r} value {slot}")
            if value is not None:
                points.append(NowcastPoint(days[slot], value))
        series[name] = tuple(points)
    chart = entry["chart"]
    stamp = chart.get("_comment")
    return TargetNowcasts(target, MappingProxyType(series), stamp if isinstance(stamp, str) else None)


def _made_on_days(entry: dict[str, Any], target: date, where: str) -> list[date]:
    """The dates of the data slots: the `MM/DD` labels of `categories[0]`, markers skipped."""
    categories = entry.get("categories")
    first = categories[0] if isinstance(categories, list) and categories else None
    labels = first.get("category") if isinstance(first, dict) else None
    if not isinstance(labels, list):
        raise MalformedPayload(f"{where} has no categories[0].category list")
    days = []
    for category in labels:
        if not isinstance(category, dict) or _is_true(category.get("vline")):
            continue
        label = category.get("label")
        match = _DAY_LABEL.fullmatch(label.strip()) if isinstance(label, str) else None
        if match is None:
            continue  # a marker such as "CPI Mar" without the vline flag
        days.append(_label_date(int(match.group(1)), int(match.group(2)), target, where))
    return days


def _label_date(month: int, day: int, target: date, where: str) -> date:
    """The year that puts `MM/DD` nearest the target month (nowcasts run from before the target
    month to the release in the month after, so never more than a few months away)."""
    if not 1 <= month <= 12:
        raise MalformedPayload(f"{where} has a date label {month:02d}/{day:02d} with no such month")
    target_index = target.year * 12 + target.month
    year = min(
        (target.year - 1, target.year, target.year + 1), key=lambda y: abs(y * 12 + month - target_index)
    )
    try:
        return date(year, month, day)
    except ValueError as error:
        raise MalformedPayload(f"{where} has a date label {month:02d}/{day:02d} with no such day") from error


def _is_true(flag: object) -> bool:
    return flag is True or (isinstance(flag, str) and flag.strip().lower() in ("true", "1"))


def _read_value(point: object, where: str) -> Decimal | None:
    if not isinstance(point, dict):
        raise MalformedPayload(f"{where} is not a JSON object")
    text = point.get("value")
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if not isinstance(text, str | int | float) or isinstance(text, bool):
        raise MalformedPayload(f"{where} is {text!r}, not a number")
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation as error:
        raise MalformedPayload(f"{where} is {text!r}, not a number") from error
    if not value.is_finite():
        raise MalformedPayload(f"{where} is {text!r}, not a finite number")
    return value


_FILES = {Measure.CPI_MOM_PCT: MONTH_FILE, Measure.CPI_YOY_PCT: YEAR_FILE}


class ClevelandFedNowcastSource:
    """P(YES) for CPI m/m and y/y contracts from the Cleveland Fed's latest CPI nowcast.

    The `fetcher` gets a browser User-Agent unless it already sends one. Give it a cache time of
    an hour or more: the month file is about 7.5 MB and changes once a business day."""

    name = "cleveland_fed"
    domains = frozenset({Domain.ECONOMICS})

    def __init__(self, fetcher: JsonFetcher, base_url: str = "https://www.clevelandfed.org") -> None:
        if not any(key.lower() == "user-agent" for key in fetcher.headers):
            fetcher.headers = {**fetcher.headers, "User-Agent": BROWSER_USER_AGENT}
        self.fetcher = fetcher
        self.base_url = base_url.rstrip("/")

    def health(self) -> SourceHealth:
        return self.fetcher.health()

    def nowcasts(self, measure: Measure, target: date, now: datetime) -> TargetNowcasts | None:
        """The target month's series from the file `measure` reads (blocking: it fetches)."""
        path = _FILES[measure]
        payload = self.fetcher.get_json(f"{self.base_url}{path}", now)
        try:
            return find_target(payload, target)
        except MalformedPayload as error:
            self.fetcher.record_error(now, f"{self.name}: {error}")  # fetched fine, but unreadable
            raise

    async def estimate(self, contract: ContractSpec, now: datetime) -> EstimateResult:
        if contract.domain is not Domain.ECONOMICS or contract.measure not in _FILES:
            return NoEstimate(
                self.name, f"cleveland_fed prices only CPI m/m and y/y contracts, not {contract.measure}"
            )
        if contract.strike is None or contract.period is None:
            return NoEstimate(self.name, f"{contract.ticker} has no strike or data month")
        try:
            target = parse_period_month(contract.period)
        except ValueError as error:
            return NoEstimate(self.name, f"{contract.ticker}: {error}")
        try:
            nowcasts = await asyncio.to_thread(self.nowcasts, contract.measure, target, now)
        except (SourceUnavailable, MalformedPayload) as error:
            return NoEstimate(self.name, str(error))
        month = f"{target:%Y-%m}"
        if nowcasts is None:
            return NoEstimate(self.name, f"the Cleveland Fed has no nowcast for {month} (not yet covered)")
        actual = nowcasts.actual(CPI_SERIES, now)
        if actual is not None:
            return NoEstimate(
                self.name, f"the official CPI for {month} is out ({actual.value}%): nothing to nowcast"
            )
        latest = nowcasts.latest(CPI_SERIES, now)
        if latest is None:
            return NoEstimate(
                self.name, f"the Cleveland Fed has no {CPI_SERIES} nowcast for {month} as of {now:%Y-%m-%d}"
            )
        raw = band_probability(latest.value, contract.strike, SIGMA_PP, decimals=DECIMALS)
        return SourceEstimate(
            source=self.name,
            probability=min(PROBABILITY_CEILING, max(PROBABILITY_FLOOR, raw)),
            as_of=min(latest.published_at(), now),
            evidence={
                "file": _FILES[contract.measure].rsplit("/", 1)[-1],
                "target_month": month,
                "series": CPI_SERIES,
                "nowcast_pct": str(latest.value),
                "nowcast_made_on": latest.made_on.isoformat(),
                "vintages": len(nowcasts.points(CPI_SERIES, now)),
                "file_stamp": nowcasts.stamp,
                "sigma_pp": SIGMA_PP,
                "decimals": DECIMALS,
                "unclipped_probability": raw,
            },
        )
