"""Fake Open-Meteo ensemble API and fake api.weather.gov, serving the recorded fixtures at the real paths.

`FakeOpenMeteo`: `GET /v1/ensemble` answers `tests/scrapers/fixtures/open_meteo_ensemble_gfs_chicago.json`
whatever the point (one grid cell near Chicago), after checking the parameters our client must send;
errors are Open-Meteo's `{"error": true, "reason": ...}` with HTTP 400.

`FakeNws`: `GET /points/41.7861,-87.7522` (Chicago Midway) answers
`nws_points_kmdw.json` with every `https://api.weather.gov` link rewritten to this server, so the
client follows the `forecast` URL here; `GET /gridpoints/LOT/74,70/forecast` answers
`nws_forecast_lot_74_70.json`. Other points are NWS's 404 problem document. Errors are
`application/problem+json`-shaped: `{"correlationId", "title", "type", "status", "detail", "instance"}`.

Fixture formats and eras: Open-Meteo's ensemble JSON as its source (HEAD 2026-08-20) writes it,
`timezone=GMT`, one model (`gfs_seamless`, so no model suffix), control `temperature_2m` and
`temperature_2m_member01..30`; api.weather.gov GeoJSON as captured 2019-2026 (prediction-markets.md
§3, §4). The numbers are built for hand-worked tests (see tests/scrapers/test_weather_open_meteo.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.fakes.server import FakeVenueServer, HttpError, Request, Response, ServedFake

FIXTURES = Path(__file__).resolve().parents[1] / "scrapers" / "fixtures"
ENSEMBLE_FIXTURE = FIXTURES / "open_meteo_ensemble_gfs_chicago.json"
POINTS_FIXTURE = FIXTURES / "nws_points_kmdw.json"
FORECAST_FIXTURE = FIXTURES / "nws_forecast_lot_74_70.json"
NWS_HOST = "https://api.weather.gov"
MIDWAY_POINT = "41.7861,-87.7522"


def load_fixture(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def open_meteo_error_body(status: int, reason: str) -> dict[str, Any]:
    return {"error": True, "reason": reason}


def nws_error_body(status: int, reason: str) -> dict[str, Any]:
    return {
        "correlationId": "1b2c3d4e",
        "title": reason,
        "type": "https://api.weather.gov/problems/Unexpected" if status >= 500 else "about:blank",
        "status": status,
        "detail": reason,
        "instance": "https://api.weather.gov/requests/1b2c3d4e",
    }


class FakeOpenMeteo(ServedFake):
    REQUIRED = ("latitude", "longitude", "hourly", "models", "temperature_unit", "timezone")

    def __init__(self) -> None:
        self.server = FakeVenueServer("open-meteo", error_body=open_meteo_error_body)
        self.server.route("GET", "/v1/ensemble")(self._ensemble)
        self.payload: Any = load_fixture(ENSEMBLE_FIXTURE)

    @property
    def ensemble_requests(self) -> list[Request]:
        return self.server.requests_to("GET", "/v1/ensemble")

    def _ensemble(self, request: Request, match: re.Match[str]) -> Response:
        missing = [name for name in self.REQUIRED if name not in request.query]
        if missing:
            raise HttpError(400, f"Parameter {missing[0]} is required")
        if "temperature_2m" not in request.query["hourly"].split(","):
            raise HttpError(400, "this fake serves hourly temperature_2m only")
        if request.query["timezone"] != "GMT" or request.query["temperature_unit"] != "fahrenheit":
            raise HttpError(400, "this fake's recording is in °F at GMT")
        return Response(200, self.payload)


class FakeNws(ServedFake):
    def __init__(self) -> None:
        self.server = FakeVenueServer("nws", error_body=nws_error_body)
        self.server.route("GET", r"/points/(?P<point>[-0-9.]+,[-0-9.]+)")(self._points)
        self.server.route("GET", r"/gridpoints/LOT/74,70/forecast")(self._forecast)
        self.forecast_payload: Any = load_fixture(FORECAST_FIXTURE)

    @property
    def points_requests(self) -> list[Request]:
        return self.server.requests_to("GET", "/points/")

    @property
    def forecast_requests(self) -> list[Request]:
        return self.server.requests_to("GET", "/forecast")

    def _points(self, request: Request, match: re.Match[str]) -> Response:
        if match.group("point") != MIDWAY_POINT:
            raise HttpError(404, "Data Unavailable For Requested Point")
        text = POINTS_FIXTURE.read_text(encoding="utf-8").replace(NWS_HOST, self.url)
        return Response(200, json.loads(text))

    def _forecast(self, request: Request, match: re.Match[str]) -> Response:
        return Response(200, self.forecast_payload)
