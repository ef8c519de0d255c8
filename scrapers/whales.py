"""The whale tracker: large takers on a Kalshi market tilt the crowd's price a little their way.

Fetch: Kalshi's public trade tape, `GET /trade-api/v2/markets/trades?ticker=&limit=&min_ts=&cursor=`
(no key), answering `{"trades": [{trade_id, ticker, count_fp, yes_price_dollars, no_price_dollars,
taker_side, created_time}], "cursor": ""}` in the current era; legacy-era trades carry integer
`count` and cent `yes_price` / `no_price` instead, and are read too (the number helpers of
`brokers.kalshi_payloads`).

Model (ours, a heuristic, not from a paper): start from the crowd's YES price `c`. A trade's
notional is its count times the price its taker paid (the YES price for a YES taker, the NO price
for a NO taker). Trades of at least `min_notional` USD are "whale" trades; with `N` the sum of
their notionals and `s_i` +1 for a YES taker, -1 for a NO taker,

    tilt = sum_i s_i * min(n_i, N/3) / N        (in [-1, 1])
    p    = c + max_shift * tilt

The estimate is dampened so one trader cannot move it far: the whole tilt moves `p` at most
`max_shift` (5 points), and because Kalshi's tape is anonymous (two trades may be one trader)
each single trade's share of the net flow is capped at 1/3, so one trade moves `p` at most
`max_shift / 3` and it takes three whales agreeing to move it the full `max_shift`.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from brokers.kalshi_payloads import (
    count_field,
    dollars_field,
    list_field,
    next_cursor,
    object_field,
    time_field,
)
from domain.contracts import ContractSpec, Domain
from scrapers.base import (
    EstimateResult,
    JsonFetcher,
    MalformedPayload,
    NoEstimate,
    SourceEstimate,
    SourceHealth,
    SourceUnavailable,
)

ONE = Decimal(1)
ZERO = Decimal(0)
TRADES_PER_PAGE = 1000  # the endpoint's maximum `limit`
MAX_PAGES = 5  # a market busier than 5,000 trades in the lookback is read from its newest 5,000
SINGLE_TRADE_SHARE = 1 / 3
# p stays inside Kalshi's tradable 1..99 cent range: flow alone never makes an outcome certain.
PROBABILITY_FLOOR, PROBABILITY_CEILING = 0.01, 0.99

CrowdPrice = Callable[[ContractSpec], float | None]


@dataclass(frozen=True, slots=True)
class KalshiTrade:
    """One trade on the public tape; `yes_price` in dollars, `taker_side` "yes" or "no"."""

    id: str
    ticker: str
    count: Decimal
    yes_price: Decimal
    taker_side: str
    created_time: datetime

    @property
    def taker_price(self) -> Decimal:
        """What the taker paid per contract: the YES price, or the NO price `1 - yes`."""
        return self.yes_price if self.taker_side == "yes" else ONE - self.yes_price

    @property
    def notional(self) -> Decimal:
        return self.count * self.taker_price


def parse_trades(payload: Any) -> list[KalshiTrade]:
    """`GET /markets/trades`: the page's trades (current `_fp`/`dollars_field` era, or legacy integers).

    Raises `MalformedPayload` saying which trade and field were wrong."""
    try:
        root = object_field(payload, None, "trades")
        return [_trade(item) for item in list_field(root, "trades", "trades")]
    except ValueError as error:
        raise MalformedPayload(str(error)) from error


def _trade(item: Any) -> KalshiTrade:
    trade = object_field(item, None, "trade")
    trade_id = trade.get("trade_id")
    if not isinstance(trade_id, str) or not trade_id:
        raise ValueError(f"trade: trade_id is missing ({trade_id!r})")
    what = f"trade {trade_id}"
    count = count_field(trade, "count", what)
    yes_price = dollars_field(trade, "yes_price", what)
    assert count is not None and yes_price is not None  # required=True raises instead
    if count <= 0:
        raise ValueError(f"{what}: count must be positive, got {count}")
    if not ZERO < yes_price < ONE:
        raise ValueError(f"{what}: yes price {yes_price} is not inside (0, 1)")
    side = trade.get("taker_side")
    if side not in ("yes", "no"):
        raise ValueError(f"{what}: taker_side is {side!r}, expected 'yes' or 'no'")
    ticker = trade.get("ticker")
    if not isinstance(ticker, str) or not ticker:
        raise ValueError(f"{what}: ticker is missing ({ticker!r})")
    return KalshiTrade(
        trade_id,
        ticker,
        count,
        yes_price,
        side,
        time_field(trade.get("created_time"), f"{what} created_time"),
    )


def whale_probability(
    trades: Sequence[KalshiTrade],
    crowd_price: float,
    *,
    min_notional: float,
    max_shift: float = 0.05,
) -> tuple[float, dict[str, Any]]:
    """The crowd's YES price tilted toward the large takers' net flow (see the module docstring).

    With no trade of `min_notional` or more the tilt is 0 and `p` is the crowd price."""
    whales = [trade for trade in trades if trade.notional >= Decimal(str(min_notional))]
    total = float(sum((trade.notional for trade in whales), ZERO))
    cap = total * SINGLE_TRADE_SHARE
    tilt = 0.0
    yes_flow = no_flow = 0.0
    for trade in whales:
        notional = float(trade.notional)
        sign = 1.0 if trade.taker_side == "yes" else -1.0
        tilt += sign * min(notional, cap) / total
        if sign > 0:
            yes_flow += notional
        else:
            no_flow += notional
    raw = crowd_price + max_shift * tilt
    probability = min(max(raw, PROBABILITY_FLOOR), PROBABILITY_CEILING)
    evidence: dict[str, Any] = {
        "crowd_price": crowd_price,
        "whale_trades": len(whales),
        "trades_seen": len(trades),
        "min_notional_usd": min_notional,
        "yes_taker_notional_usd": round(yes_flow, 2),
        "no_taker_notional_usd": round(no_flow, 2),
        "tilt": tilt,
        "max_shift": max_shift,
        "single_trade_share_cap": SINGLE_TRADE_SHARE,
        "largest_trades": [
            {"trade_id": t.id, "taker_side": t.taker_side, "notional_usd": str(t.notional)}
            for t in sorted(whales, key=lambda t: t.notional, reverse=True)[:5]
        ],
    }
    return probability, evidence


def tape_estimate(
    source: str,
    ticker: str,
    trades: Sequence[KalshiTrade],
    crowd: float | None,
    now: datetime,
    *,
    lookback: timedelta,
    min_notional_usd: float,
    max_shift: float,
) -> EstimateResult:
    """The whale tracker's answer from a market's trade tape (whoever read it: the venue's public
    tape, or the simulated world's). `crowd` is the crowd's YES price (None: the last trade's)."""
    since = now - lookback
    recent = [t for t in trades if t.ticker == ticker and since <= t.created_time <= now]
    crowd_source = "crowd_price callable"
    if crowd is None and recent:
        crowd, crowd_source = float(max(recent, key=lambda t: t.created_time).yes_price), "last trade"
    if crowd is None:
        return NoEstimate(source, f"no crowd price for {ticker} (no trade in {lookback})")
    if not (math.isfinite(crowd) and 0.0 < crowd < 1.0):
        return NoEstimate(source, f"crowd price {crowd!r} for {ticker} is not inside (0, 1)")
    threshold = Decimal(str(min_notional_usd))
    if not any(t.notional >= threshold for t in recent):
        return NoEstimate(source, f"no trade of ${min_notional_usd:,.0f} or more on {ticker} in {lookback}")
    probability, evidence = whale_probability(
        recent, crowd, min_notional=min_notional_usd, max_shift=max_shift
    )
    as_of = max(t.created_time for t in recent)
    evidence = {
        **evidence,
        "crowd_price_from": crowd_source,
        "since": since.isoformat(),
        "as_of": as_of.isoformat(),
    }
    return SourceEstimate(source, probability, as_of, evidence)


class WhaleTracker:
    """P(YES) for any Kalshi contract: its crowd price nudged by the last `lookback` of large trades.

    The crowd price comes from `crowd_price(contract)` when given and not None, else from the
    market's own newest trade on the fetched tape. No whale trade in the lookback is a
    `NoEstimate`: without one this source has nothing of its own to say.
    """

    name = "whale_tracker"
    domains: frozenset[Domain] = frozenset(domain for domain in Domain if domain is not Domain.UNKNOWN)

    def __init__(
        self,
        fetcher: JsonFetcher,
        base_url: str = "https://api.elections.kalshi.com/trade-api/v2",
        min_notional_usd: float = 500,
        lookback: timedelta = timedelta(hours=6),
        crowd_price: CrowdPrice | None = None,
        max_shift: float = 0.05,
    ) -> None:
        self._fetcher = fetcher
        self.base_url = base_url.rstrip("/")
        self.min_notional_usd = min_notional_usd
        self.lookback = lookback
        self.max_shift = max_shift
        self._crowd_price = crowd_price

    def health(self) -> SourceHealth:
        return self._fetcher.health()

    async def estimate(self, contract: ContractSpec, now: datetime) -> EstimateResult:
        if contract.domain not in self.domains:
            return NoEstimate(self.name, f"{contract.ticker}: no domain to price")
        if "kalshi" not in contract.venue.lower():
            return NoEstimate(
                self.name, f"reads Kalshi's trade tape; {contract.ticker} is on {contract.venue}"
            )
        try:
            return await asyncio.to_thread(self._estimate, contract, now)
        except SourceUnavailable as error:
            return NoEstimate(self.name, error.reason)
        except MalformedPayload as error:
            return NoEstimate(self.name, f"trades of {contract.ticker} did not parse: {error}")

    def _estimate(self, contract: ContractSpec, now: datetime) -> EstimateResult:
        since = now - self.lookback
        trades = self._trades(contract.ticker, since, now)
        crowd = self._crowd_price(contract) if self._crowd_price is not None else None
        return tape_estimate(
            self.name,
            contract.ticker,
            trades,
            crowd,
            now,
            lookback=self.lookback,
            min_notional_usd=self.min_notional_usd,
            max_shift=self.max_shift,
        )

    def trades(self, ticker: str, since: datetime, now: datetime) -> list[KalshiTrade]:
        """The market's public trades in [since, now], oldest first (blocking: it fetches; the price
        gate reads the same cached pages). Raises SourceUnavailable or MalformedPayload."""
        tape = [
            t
            for t in self._trades(ticker, since, now)
            if t.ticker == ticker and since <= t.created_time <= now
        ]
        return sorted(tape, key=lambda t: t.created_time)

    def _trades(self, ticker: str, since: datetime, now: datetime) -> list[KalshiTrade]:
        # `min_ts` is rounded down to the fetcher's cache time so that a second look within it asks
        # the same URL (and is answered from the cache); trades before `since` are dropped after.
        step = max(1, int(self._fetcher.cache_seconds))
        min_ts = int(since.timestamp()) // step * step
        trades: list[KalshiTrade] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {"ticker": ticker, "limit": TRADES_PER_PAGE, "min_ts": min_ts}
            if cursor is not None:
                params["cursor"] = cursor
            payload = self._fetcher.get_json(f"{self.base_url}/markets/trades", now, params)
            trades.extend(parse_trades(payload))
            try:
                cursor = next_cursor(payload)
            except ValueError as error:
                raise MalformedPayload(str(error)) from error
            if cursor is None:
                break
        return trades
