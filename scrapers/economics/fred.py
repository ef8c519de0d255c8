"""FRED (St. Louis Fed): the official economic series the other economic models stand on.

Wire format (reference prediction-markets.md §5):
`GET {base}/fred/series/observations?series_id=CPIAUCSL&api_key=KEY&file_type=json`
(`&observation_start=YYYY-MM-DD` optional) answers `{"realtime_start", ..., "count",
"observations": [{"realtime_start", "realtime_end", "date": "2026-09-01", "value": "324.368"}]}`,
oldest first. `value` is a string and `"."` means missing (a month BLS did not publish, a quarter
GDPNow does not cover yet). `file_type` defaults to XML, so `json` is always sent. An error is
HTTP 400 with `{"error_code": 400, "error_message": "Bad Request.  ..."}`. FRED allows about 120
requests a minute per key (community-reported); the `JsonFetcher`'s cache makes repeated questions free.

The key travels as the `api_key` query parameter (FRED takes it nowhere else). It is kept out
of reprs, exception texts, health and evidence (`_redact`); requests-cache leaves `api_key` out
of its cache keys and stored requests by default. `JsonFetcher` itself names only the URL
without its query, so its log lines never carry the key; urllib3 and requests-cache print the
full URL in their DEBUG lines, so a filter on those loggers writes `api_key=***` there.

`FredSource` prices one kind of contract, and only when the answer is already decided:
`FED_FUNDS_UPPER_PCT` (KXFED) for a meeting month that is over (see `upper_bound_after_meeting`).
Everything else it leaves to the models (`GdpNowSource`, `ClevelandFedNowcastSource`) and
offers them the history: `latest(series_id)` and `cpi_mom_history`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from domain.contract_parsing import MalformedSymbol, parse_date_token
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

OBSERVATIONS_PATH = "/fred/series/observations"
MISSING = "."  # FRED's text for "no value for this date"

CPI_SERIES = "CPIAUCSL"  # CPI-U all items, seasonally adjusted index (BLS, monthly)
FED_FUNDS_UPPER_SERIES = "DFEDTARU"  # upper bound of the fed funds target range (daily, 7-day)

# the loggers that print a request's full URL (urllib3 1.x/2.x, requests-cache 1.x)
_LOGGERS_PRINTING_URLS = ("urllib3.connectionpool", "requests_cache.session", "requests_cache.policy.actions")
_KEY_IN_URL = re.compile(r"(api_key=)[^&\s\"']+")


@dataclass(frozen=True, slots=True)
class Observation:
    """One FRED observation: the period's first day (`2026-09-01` is September 2026, `2026-04-01`
    the second quarter) and its value, None where FRED has `"."`."""

    date: date
    value: Decimal | None


@dataclass(frozen=True, slots=True)
class MonthlyChange:
    """A month's percent change from the month before, rounded as the agency publishes it."""

    month: date
    pct: Decimal


def parse_observations(payload: object) -> list[Observation]:
    """The observations of a `/fred/series/observations` JSON answer, in the order FRED sent them.

    Raises `MalformedPayload` for FRED's error object, for a payload without an `observations`
    list, and for an observation whose date or value does not read."""
    if not isinstance(payload, dict):
        raise MalformedPayload(f"FRED answer is not a JSON object but {type(payload).__name__}")
    if "error_code" in payload or "error_message" in payload:
        raise MalformedPayload(
            f"FRED error {payload.get('error_code', '?')}: {payload.get('error_message', '')}"
        )
    rows = payload.get("observations")
    if not isinstance(rows, list):
        raise MalformedPayload("FRED answer has no 'observations' list")
    observations: list[Observation] = []
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise MalformedPayload(f"FRED observation {index} is not a JSON object")
        observations.append(
            Observation(_read_date(row.get("date"), index), _read_value(row.get("value"), index))
        )
    return observations


def _read_date(text: object, index: int) -> date:
    if not isinstance(text, str):
        raise MalformedPayload(f"FRED observation {index} has no 'date' string")
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise MalformedPayload(f"FRED observation {index} has date {text!r}, not YYYY-MM-DD") from error


def _read_value(text: object, index: int) -> Decimal | None:
    if text == MISSING:
        return None
    if not isinstance(text, str):
        raise MalformedPayload(f"FRED observation {index} has no 'value' string")
    try:
        value = Decimal(text)
    except InvalidOperation as error:
        raise MalformedPayload(f"FRED observation {index} has value {text!r}, not a number") from error
    if not value.is_finite():
        raise MalformedPayload(f"FRED observation {index} has value {text!r}, not a finite number")
    return value


def month_over_month_pct(observations: Iterable[Observation], *, decimals: int = 1) -> list[MonthlyChange]:
    """Percent change of a monthly index from the month before, rounded half up to `decimals`:
    100 * (I_t / I_{t-1} - 1). A month whose own value or the previous month's is missing (or
    absent) has no change. Computed from the index as published (CPIAUCSL to three decimals),
    which is how BLS computes its published changes; the exact rule Kalshi reads is in each
    market's `rules_primary` (UNVERIFIED that the two never differ)."""
    by_month = {o.date: o.value for o in observations}
    quantum = Decimal(1).scaleb(-decimals)
    changes: list[MonthlyChange] = []
    for month in sorted(by_month):
        current, previous = by_month[month], by_month.get(_previous_month(month))
        if current is None or previous is None or previous == 0:
            continue
        pct = (current / previous - 1) * 100
        changes.append(MonthlyChange(month, pct.quantize(quantum, rounding=ROUND_HALF_UP)))
    return changes


def _previous_month(month: date) -> date:
    return date(month.year - 1, 12, 1) if month.month == 1 else date(month.year, month.month - 1, 1)


def _next_month(month: date) -> date:
    return date(month.year + 1, 1, 1) if month.month == 12 else date(month.year, month.month + 1, 1)


def parse_period_month(period: str) -> date:
    """A ticker's `YYMON` month token (`26AUG`) as the month's first day (2026-08-01)."""
    try:
        token = parse_date_token(period.strip().upper())
    except MalformedSymbol:
        token = None
    if token is None or token.day is not None or token.hour is not None or token.rest:
        raise ValueError(f"period {period!r} is not a YYMON month like 26AUG")
    return date(token.year, token.month, 1)


class _RedactApiKey(logging.Filter):
    """Writes `api_key=***` for the key in a log line that prints a request URL."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _KEY_IN_URL.sub(r"\1***", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def _redact_keys_in_http_logs() -> None:
    for name in _LOGGERS_PRINTING_URLS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactApiKey) for f in logger.filters):
            logger.addFilter(_RedactApiKey())


class FredClient:
    """`series/observations` through a `JsonFetcher`; the key never leaves the request."""

    def __init__(
        self, api_key: str, fetcher: JsonFetcher, base_url: str = "https://api.stlouisfed.org"
    ) -> None:
        self._api_key = api_key
        self.fetcher = fetcher
        _redact_keys_in_http_logs()
        self.base_url = base_url.rstrip("/")

    def __repr__(self) -> str:
        return f"FredClient(base_url={self.base_url!r}, api_key='***')"

    def health(self) -> SourceHealth:
        """The fetcher's health, its last error with the key redacted."""
        health = self.fetcher.health()
        if health.last_error is None:
            return health
        return dataclasses.replace(health, last_error=self._redact(health.last_error))

    def observations(self, series_id: str, now: datetime, start: date | None = None) -> list[Observation]:
        """All observations of `series_id` (from `start` when given), oldest first.

        Raises `SourceUnavailable` (no key, unreachable, refused, rate-limited, out of budget) or
        `MalformedPayload`, their texts free of the key."""
        if not self._api_key:
            raise SourceUnavailable(f"{self.fetcher.name}: no FRED API key configured")
        params: dict[str, Any] = {"series_id": series_id, "api_key": self._api_key, "file_type": "json"}
        if start is not None:
            params["observation_start"] = start.isoformat()
        try:
            payload = self.fetcher.get_json(f"{self.base_url}{OBSERVATIONS_PATH}", now, params)
            return parse_observations(payload)
        except SourceUnavailable as error:
            # `from None`: the chained requests error would print the full URL, key included
            raise SourceUnavailable(self._redact(error.reason)) from None
        except MalformedPayload as error:
            reason = f"{self.fetcher.name}: {series_id}: {self._redact(str(error))}"
            self.fetcher.record_error(now, reason)  # the fetch succeeded, the answer did not
            raise MalformedPayload(reason) from None

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text


class FredSource:
    """FRED as a `ContractSource` for decided Fed outcomes, and the history other models need."""

    name = "fred"
    domains = frozenset({Domain.ECONOMICS})

    def __init__(self, client: FredClient) -> None:
        self.client = client

    def health(self) -> SourceHealth:
        return self.client.health()

    def latest(
        self, series_id: str, now: datetime, *, lookback: timedelta = timedelta(days=400)
    ) -> Observation | None:
        """The newest observation of `series_id` with a value within `lookback` of `now`, or None."""
        start = (now - lookback).date()
        known = [o for o in self.client.observations(series_id, now, start) if o.value is not None]
        return max(known, key=lambda o: o.date) if known else None

    def cpi_mom_history(self, now: datetime, start: date | None = None) -> list[MonthlyChange]:
        """CPI month-over-month as Kalshi's KXCPI reads it (CPIAUCSL % change to one decimal),
        oldest first: the history a calibration of a CPI nowcast's error band compares against."""
        observations = self.client.observations(
            CPI_SERIES, now, None if start is None else _previous_month(start)
        )
        changes = month_over_month_pct(observations, decimals=1)
        return changes if start is None else [c for c in changes if c.month >= start]

    def upper_bound_after_meeting(self, meeting_month: date, now: datetime) -> Observation | None:
        """The fed funds upper bound decided at the FOMC meeting of `meeting_month`, or None while
        FRED cannot tell yet.

        What it answers exactly: DFEDTARU (the upper bound in effect each day) on the first day of
        the month after the meeting month. A decision takes effect the day after it is announced,
        so by that day at the latest; scheduled meetings are at least five weeks apart, so the next
        one cannot have taken effect yet. None until FRED has an observation dated on or after
        that day. An unscheduled move between the meeting and the month's end (March 2020) would
        be counted as the meeting's: read the market's rules before trusting this for such a month.
        """
        settles_on = _next_month(meeting_month)
        observations = self.client.observations(FED_FUNDS_UPPER_SERIES, now, meeting_month)
        if not any(o.date >= settles_on for o in observations):
            return None
        known = [o for o in observations if o.date <= settles_on and o.value is not None]
        return max(known, key=lambda o: o.date) if known else None

    async def estimate(self, contract: ContractSpec, now: datetime) -> EstimateResult:
        """P(YES) for a KXFED contract whose meeting month is over: 1 or 0 from the decided upper
        bound (a lookup of the outcome, not a model, so not clipped). NoEstimate otherwise."""
        if contract.domain is not Domain.ECONOMICS or contract.measure is not Measure.FED_FUNDS_UPPER_PCT:
            return NoEstimate(
                self.name, f"fred prices only fed-funds upper-bound contracts, not {contract.measure}"
            )
        if contract.strike is None or contract.period is None:
            return NoEstimate(self.name, f"{contract.ticker} has no strike or meeting month")
        try:
            meeting_month = parse_period_month(contract.period)
        except ValueError as error:
            return NoEstimate(self.name, f"{contract.ticker}: {error}")
        try:
            decided = await asyncio.to_thread(self.upper_bound_after_meeting, meeting_month, now)
        except (SourceUnavailable, MalformedPayload) as error:
            return NoEstimate(self.name, str(error))
        if decided is None or decided.value is None:
            return NoEstimate(
                self.name,
                f"{FED_FUNDS_UPPER_SERIES} has no value for {_next_month(meeting_month)} yet: the"
                f" {meeting_month:%b %Y} meeting's outcome is not in FRED, and the current level"
                " does not decide it",
            )
        pays = contract.strike.pays_yes(decided.value)
        return SourceEstimate(
            source=self.name,
            probability=1.0 if pays else 0.0,
            as_of=now,
            evidence={
                "series": FED_FUNDS_UPPER_SERIES,
                "upper_bound_pct": str(decided.value),
                "observation_date": decided.date.isoformat(),
                "meeting_month": f"{meeting_month:%Y-%m}",
                "rule": "upper bound in effect on the first day after the meeting month",
            },
        )
