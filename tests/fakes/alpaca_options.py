"""FakeAlpacaOptions: Alpaca's option-chain snapshots endpoint on a local FakeVenueServer.

It serves `GET /v1beta1/options/snapshots/{underlying}`, the path alpaca-py 0.44's
`OptionHistoricalDataClient.get_option_chain` calls, in the wire format its parsers read:
`{"snapshots": {OCC symbol: {"latestQuote": {...}, "latestTrade": {...}, "impliedVolatility": x,
"greeks": {...}}}, "next_page_token": token or null}`. The SDK asks for `limit=1000` and follows
`next_page_token` itself; `page_size` caps each page below that so a small chain still spans
several pages. Tokens are opaque base64 strings, as Alpaca's are. The filters `type`,
`expiration_date`, `expiration_date_gte`/`_lte` and `strike_price_gte`/`_lte` are applied from the
OCC symbol. As Alpaca does, it answers 401 without both key headers, and an unknown underlying with
no snapshots rather than an error.

The chains come from fixture files shaped after alpaca-py 0.44's models and parsers (no live
response can be captured here); see tests/options/fixtures/alpaca_option_chain_spy.json.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from tests.fakes.alpaca import API_KEY, SECRET_KEY, alpaca_error_body
from tests.fakes.server import FakeVenueServer, HttpError, Request, ServedFake

FIXTURES = Path(__file__).resolve().parent.parent / "options" / "fixtures"
SPY_CHAIN_FIXTURE = FIXTURES / "alpaca_option_chain_spy.json"
MAX_PAGE = 1000  # Alpaca's largest option-chain page


def load_snapshots(path: Path) -> dict[str, dict[str, Any]]:
    """The `snapshots` object of a fixture file (its `_comment` stays behind)."""
    snapshots: dict[str, dict[str, Any]] = json.loads(path.read_text())["snapshots"]
    return snapshots


def _encode(symbol: str) -> str:
    return base64.b64encode(symbol.encode()).decode()


def _decode(token: str) -> str:
    try:
        return base64.b64decode(token.encode(), validate=True).decode()
    except ValueError:
        raise HttpError(400, f"invalid page_token {token!r}") from None


def _expiry_text(symbol: str) -> str:
    """yyyy-mm-dd from the OCC symbol's yymmdd."""
    digits = symbol[-15:-9]
    return f"20{digits[:2]}-{digits[2:4]}-{digits[4:]}"


def _matches(symbol: str, query: dict[str, str]) -> bool:
    kind = "call" if symbol[-9] == "C" else "put"
    strike = int(symbol[-8:]) / 1000
    expiry = _expiry_text(symbol)
    checks = (
        query.get("type") in (None, kind),
        query.get("expiration_date") in (None, expiry),
        expiry >= query.get("expiration_date_gte", expiry),
        expiry <= query.get("expiration_date_lte", expiry),
        strike >= float(query.get("strike_price_gte", strike)),
        strike <= float(query.get("strike_price_lte", strike)),
    )
    return all(checks)


class FakeAlpacaOptions(ServedFake):
    def __init__(self, page_size: int = MAX_PAGE) -> None:
        self.server = FakeVenueServer("alpaca-options", error_body=alpaca_error_body)
        self.chains: dict[str, dict[str, dict[str, Any]]] = {}
        self.page_size = page_size
        self.server.route("GET", r"/v1beta1/options/snapshots/(?P<underlying>[A-Za-z0-9.]+)")(self._chain)

    def serve_chain(self, underlying: str, snapshots: dict[str, dict[str, Any]]) -> None:
        self.chains[underlying] = snapshots

    def _chain(self, request: Request, match: Any) -> dict[str, Any]:
        headers = {k.lower(): v for k, v in request.headers.items()}
        if headers.get("apca-api-key-id") != API_KEY or headers.get("apca-api-secret-key") != SECRET_KEY:
            raise HttpError(401, "request is not authorized")
        query = request.query
        limit = int(query.get("limit") or 100)
        if not 1 <= limit <= MAX_PAGE:
            raise HttpError(422, f"invalid limit: must be between 1 and {MAX_PAGE}")
        snapshots = self.chains.get(match["underlying"], {})
        symbols = sorted(s for s in snapshots if _matches(s, query))
        token = query.get("page_token")
        if token:
            after = _decode(token)
            symbols = [s for s in symbols if s >= after]
        size = min(limit, self.page_size)
        page, rest = symbols[:size], symbols[size:]
        return {
            "snapshots": {s: snapshots[s] for s in page},
            "next_page_token": _encode(rest[0]) if rest else None,
        }
