"""A fake Binance USDⓈ-M futures REST API (public market data), as ccxt's `binanceusdm` calls it.

Paths, parameters and JSON shapes follow Binance's USDⓈ-M futures documentation:
- `GET /fapi/v1/exchangeInfo`: the perpetuals listed (contractType PERPETUAL, marginAsset);
- `GET /fapi/v1/premiumIndex?symbol=`: mark and index price, `lastFundingRate` (the rate of
  the interval now running), `interestRate`, `nextFundingTime`, `time`;
- `GET /fapi/v1/fundingRate?symbol=&limit=`: realised rates, oldest first, the last `limit`;
- `GET /fapi/v1/openInterest?symbol=`: open interest now, in base units, with `time`;
- `GET /futures/data/openInterestHist?symbol=&period=&limit=`: `sumOpenInterest` (base units)
  and `sumOpenInterestValue` (USDT), oldest first, the last `limit` (default 30).
Numbers leave as decimal strings, times as epoch milliseconds, as Binance sends them.
Errors are `{"code": <negative int>, "msg": "..."}`: -1121 "Invalid symbol." for a symbol not
listed; a 429 from `inject(Fault(status=429, retry_after=...))` carries Retry-After.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tests.fakes.binance import error_body
from tests.fakes.server import FakeVenueServer, HttpError, Request, ServedFake

PERPETUAL_DELIVERY_DATE = 4133404800000  # Binance's "never" for a perpetual (2100-12-25)


@dataclass(frozen=True, slots=True)
class Perpetual:
    """One USDⓈ-M perpetual as exchangeInfo lists it."""

    symbol: str  # Binance's id, e.g. "BTCUSDT"
    base: str
    quote: str = "USDT"
    tick_size: str = "0.10"
    step_size: str = "0.001"
    status: str = "TRADING"


@dataclass(frozen=True, slots=True)
class Funding:
    rate: Decimal
    next_funding_time: datetime
    mark_price: Decimal
    index_price: Decimal
    interest_rate: Decimal
    time: datetime


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _text(value: Decimal, places: int = 8) -> str:
    return f"{value:.{places}f}"


class FakeBinanceFutures(ServedFake):
    """`start()` it, point ccxt's binanceusdm at `url`, set the market with the `set_*` methods."""

    def __init__(self) -> None:
        self.perpetuals: dict[str, Perpetual] = {}
        self.funding: dict[str, Funding] = {}
        self.funding_history: dict[str, list[tuple[datetime, Decimal]]] = {}
        self.open_interest: dict[str, tuple[Decimal, datetime]] = {}
        self.open_interest_history: dict[str, list[tuple[datetime, Decimal, Decimal]]] = {}
        self.server = FakeVenueServer("binance-futures", error_body)
        self._routes()

    # ------------------------------------------------------------------ set-up
    def list_perpetual(self, perpetual: Perpetual) -> None:
        self.perpetuals[perpetual.symbol] = perpetual

    def set_funding(
        self,
        symbol: str,
        rate: Decimal,
        next_time: datetime,
        *,
        mark_price: Decimal = Decimal("50000"),
        index_price: Decimal | None = None,
        interest_rate: Decimal = Decimal("0.0001"),
        time: datetime | None = None,
    ) -> None:
        """premiumIndex's answer for `symbol`; `time` (the answer's own stamp) defaults to now."""
        self.funding[symbol] = Funding(
            rate,
            next_time,
            mark_price,
            mark_price if index_price is None else index_price,
            interest_rate,
            time or datetime.now(UTC),
        )

    def set_funding_history(self, symbol: str, rates: list[tuple[datetime, Decimal]]) -> None:
        """Realised rates as (funding time, rate)."""
        self.funding_history[symbol] = sorted(rates)

    def set_open_interest(self, symbol: str, amount: Decimal, time: datetime | None = None) -> None:
        self.open_interest[symbol] = (amount, time or datetime.now(UTC))

    def set_open_interest_history(self, symbol: str, points: list[tuple[datetime, Decimal, Decimal]]) -> None:
        """Statistics as (timestamp, sumOpenInterest in base units, sumOpenInterestValue in USDT)."""
        self.open_interest_history[symbol] = sorted(points)

    # ------------------------------------------------------------------ routes
    def _listed(self, request: Request) -> Perpetual:
        perpetual = self.perpetuals.get(request.query.get("symbol", ""))
        if perpetual is None:
            raise HttpError(400, "Invalid symbol.")
        return perpetual

    def _routes(self) -> None:
        route = self.server.route

        @route("GET", "/fapi/v1/exchangeInfo")
        def exchange_info(request: Request, match: Any) -> Any:
            return {
                "timezone": "UTC",
                "serverTime": _ms(datetime.now(UTC)),
                "futuresType": "U_MARGINED",
                "rateLimits": [
                    {
                        "rateLimitType": "REQUEST_WEIGHT",
                        "interval": "MINUTE",
                        "intervalNum": 1,
                        "limit": 2400,
                    },
                    {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
                ],
                "exchangeFilters": [],
                "assets": [],
                "symbols": [self._symbol_json(p) for p in self.perpetuals.values()],
            }

        @route("GET", "/fapi/v1/premiumIndex")
        def premium_index(request: Request, match: Any) -> Any:
            if "symbol" not in request.query:
                return [self._premium_json(s) for s in self.perpetuals if s in self.funding]
            perpetual = self._listed(request)
            if perpetual.symbol not in self.funding:
                raise HttpError(400, "Invalid symbol.")
            return self._premium_json(perpetual.symbol)

        @route("GET", "/fapi/v1/fundingRate")
        def funding_rate(request: Request, match: Any) -> Any:
            perpetual = self._listed(request)
            limit = int(request.query.get("limit", "100"))
            rows = self.funding_history.get(perpetual.symbol, [])[-limit:]
            mark = self.funding.get(perpetual.symbol)
            return [
                {
                    "symbol": perpetual.symbol,
                    "fundingTime": _ms(when),
                    "fundingRate": _text(rate),
                    "markPrice": _text(mark.mark_price) if mark else "",
                }
                for when, rate in rows
            ]

        @route("GET", "/fapi/v1/openInterest")
        def open_interest(request: Request, match: Any) -> Any:
            perpetual = self._listed(request)
            amount, when = self.open_interest.get(perpetual.symbol, (Decimal(0), datetime.now(UTC)))
            return {"openInterest": _text(amount, 3), "symbol": perpetual.symbol, "time": _ms(when)}

        @route("GET", "/futures/data/openInterestHist")
        def open_interest_hist(request: Request, match: Any) -> Any:
            perpetual = self._listed(request)
            limit = int(request.query.get("limit", "30"))
            rows = self.open_interest_history.get(perpetual.symbol, [])[-limit:]
            return [
                {
                    "symbol": perpetual.symbol,
                    "sumOpenInterest": _text(amount),
                    "sumOpenInterestValue": _text(value),
                    "CMCCirculatingSupply": "19800000.00",
                    "timestamp": _ms(when),
                }
                for when, amount, value in rows
            ]

    def _premium_json(self, symbol: str) -> dict[str, Any]:
        funding = self.funding[symbol]
        return {
            "symbol": symbol,
            "markPrice": _text(funding.mark_price),
            "indexPrice": _text(funding.index_price),
            "estimatedSettlePrice": _text(funding.index_price),
            "lastFundingRate": _text(funding.rate),
            "interestRate": _text(funding.interest_rate),
            "nextFundingTime": _ms(funding.next_funding_time),
            "time": _ms(funding.time),
        }

    def _symbol_json(self, perpetual: Perpetual) -> dict[str, Any]:
        return {
            "symbol": perpetual.symbol,
            "pair": perpetual.symbol,
            "contractType": "PERPETUAL",
            "deliveryDate": PERPETUAL_DELIVERY_DATE,
            "onboardDate": 1569398400000,
            "status": perpetual.status,
            "maintMarginPercent": "2.5000",
            "requiredMarginPercent": "5.0000",
            "baseAsset": perpetual.base,
            "quoteAsset": perpetual.quote,
            "marginAsset": perpetual.quote,
            "pricePrecision": 2,
            "quantityPrecision": 3,
            "baseAssetPrecision": 8,
            "quotePrecision": 8,
            "underlyingType": "COIN",
            "underlyingSubType": ["PoW"],
            "triggerProtect": "0.0500",
            "liquidationFee": "0.012500",
            "marketTakeBound": "0.05",
            "maxMoveOrderLimit": 10000,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": "556.80",
                    "maxPrice": "4529764",
                    "tickSize": perpetual.tick_size,
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": perpetual.step_size,
                    "maxQty": "1000",
                    "stepSize": perpetual.step_size,
                },
                {
                    "filterType": "MARKET_LOT_SIZE",
                    "minQty": perpetual.step_size,
                    "maxQty": "120",
                    "stepSize": perpetual.step_size,
                },
                {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
                {"filterType": "MIN_NOTIONAL", "notional": "100"},
                {
                    "filterType": "PERCENT_PRICE",
                    "multiplierUp": "1.0500",
                    "multiplierDown": "0.9500",
                    "multiplierDecimal": "4",
                },
            ],
            "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET"],
            "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
            "permissionSets": ["GRID", "COPY"],
        }
