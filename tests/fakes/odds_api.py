"""FakeOddsApi: The Odds API v4 on a local FakeVenueServer, at its real paths.

- `GET /v4/sports?apiKey=` lists the sports it serves (free: no quota spent, no quota headers).
- `GET /v4/sports/{sport}/odds?apiKey=&regions=&markets=&oddsFormat=&dateFormat=` answers the
  events `serve(sport, payload)` stored (a fixture file in the real format), and spends
  markets x regions credits of the monthly quota, reported as the real API does in the
  `x-requests-remaining`, `x-requests-used` and `x-requests-last` headers.
- Errors are `{"message": "..."}`: a missing or wrong `apiKey` is a 401, a sport it does not
  serve a 404, a missing `regions` a 422; tests make it answer 429 (or 5xx) with
  `server.inject(Fault(status=429))`.
"""

from __future__ import annotations

import re
from typing import Any

from tests.fakes.server import FakeVenueServer, HttpError, Request, Response, ServedFake

API_KEY = "oddsapi-fake-key-7b2e91c4d05a"

MESSAGES = {
    401: "API key is not valid or is missing. Check the apiKey query parameter.",
    429: "Too many requests. Please slow down the frequency of requests.",
}


def odds_api_error_body(status: int, reason: str) -> dict[str, Any]:
    return {"message": MESSAGES.get(status, reason)}


class FakeOddsApi(ServedFake):
    def __init__(self, api_key: str = API_KEY, quota: int = 500) -> None:
        self.api_key = api_key
        self.used = 0
        self.quota = quota
        self.answers: dict[str, list[Any]] = {}
        self.server = FakeVenueServer("the-odds-api", error_body=odds_api_error_body)
        self.server.route("GET", "/v4/sports")(self._sports)
        self.server.route("GET", r"/v4/sports/(?P<sport>[a-z0-9_]+)/odds")(self._odds)

    def serve(self, sport: str, payload: list[Any]) -> None:
        self.answers[sport] = payload

    @property
    def odds_requests(self) -> list[Request]:
        return self.server.requests_to("GET", "/odds")

    def _check_key(self, request: Request) -> None:
        if request.query.get("apiKey") != self.api_key:
            raise HttpError(401, "unauthorised")

    def _sports(self, request: Request, match: re.Match[str]) -> Response:
        self._check_key(request)
        sports = [
            {
                "key": key,
                "group": key.split("_")[0],
                "title": key,
                "description": "",
                "active": True,
                "has_outrights": False,
            }
            for key in sorted(self.answers)
        ]
        return Response(200, sports)

    def _odds(self, request: Request, match: re.Match[str]) -> Response:
        self._check_key(request)
        sport = match["sport"]
        if sport not in self.answers:
            raise HttpError(404, f"Unknown sport: {sport}")
        regions = [r for r in request.query.get("regions", "").split(",") if r]
        if not regions:
            raise HttpError(422, "Missing regions parameter")
        markets = [m for m in request.query.get("markets", "h2h").split(",") if m]
        cost = len(regions) * len(markets)
        self.used += cost
        headers = {
            "x-requests-remaining": str(max(self.quota - self.used, 0)),
            "x-requests-used": str(self.used),
            "x-requests-last": str(cost),
        }
        return Response(200, self.answers[sport], headers)
