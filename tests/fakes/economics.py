"""FakeFred and FakeClevelandFed: the economic sources' HTTP APIs on local FakeVenueServers.

FakeFred answers `GET /fred/series/observations` the way FRED does (reference
prediction-markets.md §5): `series_id`, `api_key`, `file_type` and the optional
`observation_start` in the query; `{"realtime_start", "realtime_end", "observation_start",
"observation_end", "units", "output_type", "file_type", "order_by", "sort_order", "count",
"offset", "limit", "observations": [{"realtime_start", "realtime_end", "date", "value"}]}`
oldest first, `"."` for a missing value. Without `file_type=json` it answers XML (FRED's
default). Errors are `{"error_code": status, "error_message": "..."}`: a wrong or missing key and
an unknown series are 400s with FRED's wording (UNVERIFIED beyond the shape, which the reference
gives from memory). Its series start from the fixtures `fred_observations_CPIAUCSL.json` and
`fred_observations_GDPNOW.json` (FRED's shape, values invented); `set_series` adds or replaces one.

FakeClevelandFed serves the two FusionCharts files of the Cleveland Fed's inflation nowcasting
page at their real paths, from the fixtures `cleveland_fed_nowcast_month.json` and
`cleveland_fed_nowcast_year.json` (trimmed to two target months, 2026-8 released and 2026-9
current; FusionCharts styling attributes left out; values invented). Like the real site it
refuses a client without a browser User-Agent (403).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.fakes.server import FakeVenueServer, HttpError, Request, Response, ServedFake

FIXTURES = Path(__file__).resolve().parent.parent / "scrapers" / "fixtures"
API_KEY = "0123456789abcdef0123456789abcdef"  # FRED keys are 32 lower-case hex characters
BAD_KEY_MESSAGE = (
    "Bad Request.  The value for variable api_key is not registered.  Read"
    " https://fred.stlouisfed.org/docs/api/api_key.html for more information."
)
UNKNOWN_SERIES_MESSAGE = "Bad Request.  The series does not exist."
TOO_MANY_REQUESTS_MESSAGE = "Too Many Requests.  Exceeded Rate Limit"
OBSERVATIONS_PATH = "/fred/series/observations"
NOWCAST_MONTH_PATH = "/-/media/files/webcharts/inflationnowcasting/nowcast_month.json"
NOWCAST_YEAR_PATH = "/-/media/files/webcharts/inflationnowcasting/nowcast_year.json"
REALTIME = "2026-11-23"


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def fred_error_body(status: int, reason: str) -> dict[str, Any]:
    message = TOO_MANY_REQUESTS_MESSAGE if status == 429 else reason
    return {"error_code": status, "error_message": message}


def fred_observation(day: str, value: str) -> dict[str, str]:
    return {"realtime_start": REALTIME, "realtime_end": REALTIME, "date": day, "value": value}


class FakeFred(ServedFake):
    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.server = FakeVenueServer("fred", error_body=fred_error_body)
        self.server.route("GET", OBSERVATIONS_PATH)(self._observations)
        self.series: dict[str, list[dict[str, str]]] = {
            name: load_fixture(f"fred_observations_{name}.json")["observations"]
            for name in ("CPIAUCSL", "GDPNOW")
        }

    def set_series(self, series_id: str, observations: list[tuple[str, str]]) -> None:
        """Serve `series_id` as these `(YYYY-MM-DD, value)` pairs ("." for missing)."""
        self.series[series_id] = [fred_observation(day, value) for day, value in observations]

    def requests_for(self, series_id: str) -> list[Request]:
        return [
            r
            for r in self.server.requests_to("GET", OBSERVATIONS_PATH)
            if r.query.get("series_id") == series_id
        ]

    def _observations(self, request: Request, match: re.Match[str]) -> Response:
        if request.query.get("api_key") != self.api_key:
            raise HttpError(400, BAD_KEY_MESSAGE)
        series_id = request.query.get("series_id", "")
        if series_id not in self.series:
            raise HttpError(400, UNKNOWN_SERIES_MESSAGE)
        start = request.query.get("observation_start", "1600-01-01")
        rows = [row for row in self.series[series_id] if row["date"] >= start]
        if request.query.get("file_type") != "json":
            items = "".join(f'<observation date="{r["date"]}" value="{r["value"]}"/>' for r in rows)
            return Response(
                200, f'<?xml version="1.0" encoding="utf-8" ?><observations>{items}</observations>'
            )
        body = {
            "realtime_start": REALTIME,
            "realtime_end": REALTIME,
            "observation_start": start,
            "observation_end": "9999-12-31",
            "units": "lin",
            "output_type": 1,
            "file_type": "json",
            "order_by": "observation_date",
            "sort_order": "asc",
            "count": len(rows),
            "offset": 0,
            "limit": 100000,
            "observations": rows,
        }
        return Response(200, body)


class FakeClevelandFed(ServedFake):
    def __init__(self) -> None:
        self.server = FakeVenueServer("cleveland_fed")
        self.files: dict[str, Any] = {
            NOWCAST_MONTH_PATH: load_fixture("cleveland_fed_nowcast_month.json"),
            NOWCAST_YEAR_PATH: load_fixture("cleveland_fed_nowcast_year.json"),
        }
        for path in self.files:
            self.server.route("GET", re.escape(path))(self._file)

    def requests_to(self, path: str) -> list[Request]:
        return self.server.requests_to("GET", path)

    def _file(self, request: Request, match: re.Match[str]) -> Response:
        agent = {k.lower(): v for k, v in request.headers.items()}.get("user-agent", "")
        if not agent.startswith("Mozilla/"):
            raise HttpError(403, "Forbidden")
        return Response(200, self.files[request.path])
