"""FakeKalshiTrades: Kalshi's public trade tape, `GET /trade-api/v2/markets/trades`, on a local server.

Answers `{"trades": [...], "cursor": "..."}` newest first, filtered by `ticker`, `min_ts` and
`max_ts` (Unix seconds, on `created_time`), at most `limit` (and at most `max_page`, to make
tests page) per answer; the cursor is the offset of the next page, `""` on the last one. The
trades are stored as the raw dicts of a fixture, in whichever era it was written. No key: the
endpoint is public. Faults (429, 5xx) come from `server.inject(Fault(...))`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from tests.fakes.server import FakeVenueServer, HttpError, Request, Response, ServedFake

PATH = "/trade-api/v2/markets/trades"


class FakeKalshiTrades(ServedFake):
    def __init__(self, max_page: int = 1000) -> None:
        self.max_page = max_page
        self.trades: list[dict[str, Any]] = []
        self.server = FakeVenueServer("kalshi-trades")
        self.server.route("GET", PATH)(self._trades)

    @property
    def api_base(self) -> str:
        return f"{self.url}/trade-api/v2"

    @property
    def trade_requests(self) -> list[Request]:
        return self.server.requests_to("GET", PATH)

    def add(self, payload: dict[str, Any]) -> None:
        """Add every trade of a `/markets/trades` answer (a fixture)."""
        self.trades.extend(payload["trades"])

    def _trades(self, request: Request, match: re.Match[str]) -> Response:
        query = request.query
        try:
            limit = int(query.get("limit", "100"))
            offset = int(query.get("cursor") or 0)
            min_ts = int(query["min_ts"]) if "min_ts" in query else None
            max_ts = int(query["max_ts"]) if "max_ts" in query else None
        except ValueError as error:
            raise HttpError(400, f"bad query: {error}") from None
        if not 1 <= limit <= 1000:
            raise HttpError(400, "limit must be between 1 and 1000")
        chosen = []
        for trade in self.trades:
            if query.get("ticker") and trade["ticker"] != query["ticker"]:
                continue
            at = datetime.fromisoformat(trade["created_time"].replace("Z", "+00:00")).timestamp()
            if (min_ts is not None and at < min_ts) or (max_ts is not None and at > max_ts):
                continue
            chosen.append(trade)
        chosen.sort(key=lambda trade: trade["created_time"], reverse=True)
        size = min(limit, self.max_page)
        page = chosen[offset : offset + size]
        cursor = str(offset + size) if offset + size < len(chosen) else ""
        return Response(200, {"trades": page, "cursor": cursor})
