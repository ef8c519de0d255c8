"""Funding rates and open interest of crypto perpetuals, read through ccxt (the I/O edge).

`DerivativesFeed.snapshot("BTC")` reads the linear perpetual BTC/USDT:USDT on one
derivatives exchange (Binance USDⓈ-M by default) and returns a `DerivativesSnapshot`:
plain numbers that `ai.sources.crypto_derivatives` turns into a vote.

How ccxt 4.5.90 is driven (what binanceusdm calls, in its own words):
- `load_markets` (once): GET /fapi/v1/exchangeInfo;
- `fetch_funding_rate`: GET /fapi/v1/premiumIndex?symbol=BTCUSDT: the mark price, the
  funding rate of the interval now running (`lastFundingRate`, the predicted rate) and the
  answer's own `time`;
- `fetch_funding_rate_history`: GET /fapi/v1/fundingRate?symbol=...&limit=N: realised rates;
- `fetch_open_interest`: GET /fapi/v1/openInterest?symbol=...: open interest now, with `time`;
- `fetch_open_interest_history`: GET /futures/data/openInterestHist?symbol=...&period=1h&limit=N:
  hourly `sumOpenInterest` (base units) and `sumOpenInterestValue` (quote currency).

The ccxt exchange is synchronous and not thread-safe: its calls run in a worker thread
(`asyncio.to_thread`), one snapshot's calls at a time under a lock. ccxt's own throttle is
on (`enableRateLimit`), because nothing else paces this feed. Answers are cached per
underlying for `refresh_seconds` of the local monotonic clock, and concurrent callers for
one underlying share one fetch.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import statistics
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import ccxt

from brokers.ccxt_venue import rewrite_urls, venue_reason
from domain.time import require_aware
from utils.single_flight import SingleFlight

# the unified methods a snapshot needs, in ccxt's names
REQUIRED_METHODS = (
    "fetchFundingRate",
    "fetchFundingRateHistory",
    "fetchOpenInterest",
    "fetchOpenInterestHistory",
)
FUNDING_HISTORY_LIMIT = 9  # three days of realised rates at Binance's usual 8 h interval
DEFAULT_FUNDING_INTERVAL_HOURS = 8.0  # Binance's interval for most perpetuals
# Binance keeps 30 days of open-interest statistics and answers at most 500 points a request
MAX_LOOKBACK_HOURS = 499


class DerivativesUnavailable(Exception):
    """The exchange could not be read; `reason` says why in a sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class DerivativesSnapshot:
    """One perpetual's funding and positioning as the exchange reported them.

    - `funding_rate`: the rate of the funding interval now running (Binance's predicted
      `lastFundingRate`), a fraction per `funding_interval_hours` (0.0001 = 0.01 %);
    - `funding_history`: the last realised rates, oldest first;
    - `open_interest`: open contracts now, in base units (one USDⓈ-M contract is one unit of
      the base, e.g. 1 BTC); `open_interest_value` its value in the quote currency when the
      exchange reports one (Binance's current-OI endpoint does not: None there);
    - `open_interest_change`: last / first - 1 of the hourly OI history over `lookback_hours`;
    - `price_change`: the same over the same points of the price implied by that history
      (sumOpenInterestValue / sumOpenInterest, i.e. the mark price the exchange valued OI at);
      both None when the history has fewer than two usable points;
    - `as_of`: the older of the exchange's timestamps on the funding and open-interest readings.
    """

    exchange: str
    symbol: str
    funding_rate: float
    funding_interval_hours: float
    funding_history: tuple[float, ...]
    mark_price: float
    open_interest: float
    open_interest_value: float | None
    open_interest_change: float | None
    price_change: float | None
    lookback_hours: int
    as_of: datetime

    def __post_init__(self) -> None:
        require_aware(self.as_of, f"{self.symbol} derivatives snapshot time")


@dataclass(frozen=True, slots=True)
class _Cached:
    fetched_at: float  # time.monotonic()
    snapshot: DerivativesSnapshot | None


class DerivativesFeed:
    """Snapshots of linear perpetuals on one ccxt derivatives exchange.

    `base_url` points every API URL at another host (a proxy, or a local fake), keeping the
    paths. Construction refuses an exchange ccxt does not know or one without the unified
    methods in `REQUIRED_METHODS`.
    """

    def __init__(
        self,
        exchange_id: str = "binanceusdm",
        base_url: str | None = None,
        refresh_seconds: float = 60,
        timeout_seconds: float = 10,
        oi_lookback_hours: int = 24,
    ) -> None:
        if not (math.isfinite(refresh_seconds) and refresh_seconds >= 0):
            raise ValueError(f"derivatives feed: refresh_seconds must be >= 0, got {refresh_seconds!r}")
        if not (math.isfinite(timeout_seconds) and timeout_seconds > 0):
            raise ValueError(f"derivatives feed: timeout_seconds must be positive, got {timeout_seconds!r}")
        if not 1 <= oi_lookback_hours <= MAX_LOOKBACK_HOURS:
            raise ValueError(
                f"derivatives feed: oi_lookback_hours must be 1..{MAX_LOOKBACK_HOURS}, "
                f"got {oi_lookback_hours!r}"
            )
        exchange_class = getattr(ccxt, exchange_id, None)
        if exchange_id not in ccxt.exchanges or exchange_class is None:
            raise ValueError(f"derivatives feed: ccxt {ccxt.__version__} has no exchange {exchange_id!r}")
        exchange = exchange_class({"enableRateLimit": True, "timeout": int(timeout_seconds * 1000)})
        missing = [name for name in REQUIRED_METHODS if not exchange.has.get(name)]
        if missing:
            raise ValueError(f"derivatives feed: ccxt's {exchange_id} lacks {', '.join(missing)}")
        if base_url:
            exchange.urls["api"] = rewrite_urls(exchange.urls["api"], base_url)
        self.exchange_id = exchange_id
        self.refresh_seconds = refresh_seconds
        self.oi_lookback_hours = oi_lookback_hours
        self._exchange = exchange
        self._exchange_lock = threading.Lock()  # ccxt objects are not thread-safe
        self._markets_loaded = False
        self._cache: dict[tuple[str, str], _Cached] = {}
        self._fetches: SingleFlight[tuple[str, str], DerivativesSnapshot | None] = SingleFlight()

    async def snapshot(self, underlying: str, quote: str = "USDT") -> DerivativesSnapshot | None:
        """The linear perpetual `{underlying}/{quote}:{quote}`, or None when the exchange lists none.

        Raises DerivativesUnavailable when the exchange cannot be read.
        """
        key = (underlying.upper(), quote.upper())
        cached = self._cache.get(key)
        if cached is not None and time.monotonic() - cached.fetched_at < self.refresh_seconds:
            return cached.snapshot
        task = self._fetches.start(key, lambda: self._fetch(key))
        # shielded: one caller giving up (a source timeout) does not cancel the others' fetch
        return await asyncio.shield(task)

    async def _fetch(self, key: tuple[str, str]) -> DerivativesSnapshot | None:
        snapshot = await asyncio.to_thread(self._read, *key)
        self._cache[key] = _Cached(time.monotonic(), snapshot)
        return snapshot

    # ------------------------------------------------------------------ in the worker thread
    def _read(self, underlying: str, quote: str) -> DerivativesSnapshot | None:
        with self._exchange_lock:
            try:
                return self._read_unlocked(underlying, quote)
            except ccxt.BaseError as error:
                raise DerivativesUnavailable(self._reason(error)) from error
            except (KeyError, TypeError, ValueError) as error:
                # ccxt's parsers assume the documented shapes: anything else is an unreadable answer
                raise DerivativesUnavailable(
                    f"unreadable answer from {self.exchange_id}: {type(error).__name__}: {error}"
                ) from error

    def _read_unlocked(self, underlying: str, quote: str) -> DerivativesSnapshot | None:
        exchange = self._exchange
        exchange.last_response_headers = None
        if not self._markets_loaded:
            exchange.load_markets()
            self._markets_loaded = True
        symbol = f"{underlying}/{quote}:{quote}"
        market = (exchange.markets or {}).get(symbol)
        if market is None or not market.get("swap") or not market.get("linear"):
            return None
        funding = exchange.fetch_funding_rate(symbol)
        history = exchange.fetch_funding_rate_history(symbol, limit=FUNDING_HISTORY_LIMIT)
        interest = exchange.fetch_open_interest(symbol)
        interest_history = exchange.fetch_open_interest_history(
            symbol, "1h", limit=self.oi_lookback_hours + 1
        )
        return self._snapshot(symbol, funding, history, interest, interest_history)

    def _snapshot(
        self,
        symbol: str,
        funding: Mapping[str, Any],
        history: Sequence[Mapping[str, Any]],
        interest: Mapping[str, Any],
        interest_history: Sequence[Mapping[str, Any]],
    ) -> DerivativesSnapshot:
        rate = _number(funding.get("fundingRate"))
        mark = _number(funding.get("markPrice"))
        amount = _number(interest.get("openInterestAmount"))
        missing = [
            name
            for name, value in (("funding rate", rate), ("mark price", mark), ("open interest", amount))
            if value is None
        ]
        stamps = [s for s in (funding.get("timestamp"), interest.get("timestamp")) if isinstance(s, int)]
        if missing or rate is None or mark is None or amount is None:
            raise DerivativesUnavailable(f"{self.exchange_id} gave no {', '.join(missing)} for {symbol}")
        if len(stamps) < 2:
            raise DerivativesUnavailable(f"{self.exchange_id} did not time its readings for {symbol}")
        rates = [_number(entry.get("fundingRate")) for entry in history]
        oi_change, price_change = _changes(interest_history)
        return DerivativesSnapshot(
            exchange=self.exchange_id,
            symbol=symbol,
            funding_rate=rate,
            funding_interval_hours=_interval_hours(funding.get("interval"), history),
            funding_history=tuple(r for r in rates if r is not None),
            mark_price=mark,
            open_interest=amount,
            open_interest_value=_number(interest.get("openInterestValue")),
            open_interest_change=oi_change,
            price_change=price_change,
            lookback_hours=self.oi_lookback_hours,
            as_of=datetime.fromtimestamp(min(stamps) / 1000, UTC),
        )

    def _reason(self, error: ccxt.BaseError) -> str:
        words = venue_reason(str(error), self.exchange_id)
        if isinstance(error, ccxt.RateLimitExceeded | ccxt.DDoSProtection):
            headers = self._exchange.last_response_headers or {}
            retry_after = headers.get("Retry-After")
            wait = f" (retry after {retry_after} s)" if retry_after else ""
            return f"{self.exchange_id} is rate-limiting us{wait}: {words}"
        if isinstance(error, ccxt.NetworkError):
            return f"could not reach {self.exchange_id} ({type(error).__name__}): {words}"
        if isinstance(error, ccxt.ExchangeError):
            return f"{self.exchange_id} refused the request: {words}"
        return f"{self.exchange_id} failed ({type(error).__name__}): {words}"


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _interval_hours(interval: Any, history: Sequence[Mapping[str, Any]]) -> float:
    """ccxt's "8h" where the exchange says so, else the usual spacing of the realised rates, else 8 h."""
    if isinstance(interval, str) and interval.endswith("h"):
        try:
            return float(interval[:-1])
        except ValueError:
            pass
    times = [entry.get("timestamp") for entry in history]
    stamps = [t for t in times if isinstance(t, int)]
    gaps = [(later - earlier) / 3_600_000 for earlier, later in itertools.pairwise(stamps)]
    gaps = [gap for gap in gaps if gap > 0]
    if gaps:
        return float(statistics.median(gaps))
    return DEFAULT_FUNDING_INTERVAL_HOURS


def _changes(points: Sequence[Mapping[str, Any]]) -> tuple[float | None, float | None]:
    """(OI change, implied price change) from the first to the last point of the OI history."""
    usable = [
        (amount, _number(p.get("openInterestValue")))
        for p in points
        if (amount := _number(p.get("openInterestAmount"))) is not None and amount > 0
    ]
    if len(usable) < 2:
        return None, None
    (first_amount, first_value), (last_amount, last_value) = usable[0], usable[-1]
    oi_change = last_amount / first_amount - 1
    if first_value is None or last_value is None or first_value <= 0:
        return oi_change, None
    return oi_change, (last_value / last_amount) / (first_value / first_amount) - 1
