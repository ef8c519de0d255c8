"""The crypto derivatives source: perpetual funding and open interest as one vote.

Two tilts in [-1, 1], read from a `DerivativesSnapshot` of the instrument's linear perpetual:

- funding (contrarian): on a perpetual, longs pay shorts when the funding rate is positive,
  so a rate far above the neutral baseline says longs are crowded (lean down) and one far
  below says shorts are (lean up). With the rate normalised to 8 h (rate × 8 / interval
  hours; 0.01 % per 8 h is Binance's interest-rate baseline, what funding settles at when
  the perpetual trades at its index):
  f = -clip((rate_8h - neutral) / (extreme - neutral), -1, 1).
- open interest (trend confirmation): OI rising while the price rises is new longs (up), OI
  rising while it falls is new shorts (down); falling OI is positions closing, no view:
  o = sign(price_change) × clip(oi_change / oi_scale, 0, 1).

The vote is (f + o) / 2. The confidence is agreement × strength: agreement =
|f + o| / (|f| + |o|) (1 when the tilts point the same way or one is silent, 0 when they
cancel) and strength = max(|f|, |o|); 0 when both tilts are 0.

The source abstains for instruments that are not crypto, when the exchange lists no
perpetual for the underlying, when the snapshot is older than `max_age_seconds` at the
hub's time, and when the exchange cannot be read.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

from ai.data_hub import DataHub
from ai.derivatives_feed import DerivativesSnapshot, DerivativesUnavailable
from ai.votes import Abstention, SourceResult, Vote
from domain.instruments import AssetClass
from domain.signals import Signal

NEUTRAL_FUNDING_8H = 0.0001  # Binance's interest-rate component: 0.01 % per 8 h
EXTREME_FUNDING_8H = 0.0005  # five times the baseline: longs are paying heavily


class DerivativesSnapshots(Protocol):
    """What the source needs of a feed (`ai.derivatives_feed.DerivativesFeed` is one)."""

    exchange_id: str

    async def snapshot(self, underlying: str, quote: str = "USDT") -> DerivativesSnapshot | None: ...


def funding_rate_8h(snapshot: DerivativesSnapshot) -> float:
    """The funding rate as if it were paid every 8 h, so intervals of 1, 4 or 8 h compare."""
    return snapshot.funding_rate * 8.0 / snapshot.funding_interval_hours


def derivatives_vote(
    snapshot: DerivativesSnapshot,
    *,
    neutral_funding: float = NEUTRAL_FUNDING_8H,
    extreme_funding: float = EXTREME_FUNDING_8H,
    oi_scale: float = 0.10,
) -> tuple[float, float, dict[str, Any]]:
    """(value, confidence, evidence) of a snapshot, by the rule in the module docstring. Pure.

    `neutral_funding` and `extreme_funding` are per 8 h; `oi_scale` is the OI rise over the
    lookback that makes a full tilt (0.10: OI up 10 %).
    """
    if not extreme_funding > neutral_funding:
        raise ValueError(f"extreme funding {extreme_funding!r} must be above neutral {neutral_funding!r}")
    if not oi_scale > 0:
        raise ValueError(f"oi_scale must be positive, got {oi_scale!r}")
    rate_8h = funding_rate_8h(snapshot)
    funding_tilt = -_clip((rate_8h - neutral_funding) / (extreme_funding - neutral_funding), -1.0, 1.0)
    oi_change, price_change = snapshot.open_interest_change, snapshot.price_change
    if oi_change is None or price_change is None:
        oi_tilt = 0.0
    else:
        oi_tilt = _sign(price_change) * _clip(oi_change / oi_scale, 0.0, 1.0)
    value = (funding_tilt + oi_tilt) / 2
    size = abs(funding_tilt) + abs(oi_tilt)
    agreement = abs(funding_tilt + oi_tilt) / size if size > 0 else 0.0
    confidence = agreement * max(abs(funding_tilt), abs(oi_tilt))
    evidence: dict[str, Any] = {
        "exchange": snapshot.exchange,
        "symbol": snapshot.symbol,
        "funding_rate": snapshot.funding_rate,
        "funding_interval_hours": snapshot.funding_interval_hours,
        "funding_rate_8h": round(rate_8h, 8),
        "open_interest_change": None if oi_change is None else round(oi_change, 6),
        "price_change": None if price_change is None else round(price_change, 6),
        "lookback_hours": snapshot.lookback_hours,
        "funding_tilt": round(funding_tilt, 4),
        "open_interest_tilt": round(oi_tilt, 4),
    }
    return _clip(value, -1.0, 1.0), _clip(confidence, 0.0, 1.0), evidence


class CryptoDerivativesSource:
    """Votes on crypto instruments from their USDⓈ-margined perpetual (`quote` is its quote and settle)."""

    name = "crypto_derivatives"

    def __init__(self, feed: DerivativesSnapshots, max_age_seconds: float = 900, quote: str = "USDT") -> None:
        if not (math.isfinite(max_age_seconds) and max_age_seconds > 0):
            raise ValueError(f"{self.name}: max_age_seconds must be positive, got {max_age_seconds!r}")
        self.feed = feed
        self.max_age_seconds = max_age_seconds
        self.quote = quote

    async def vote(self, signal: Signal, hub: DataHub) -> SourceResult:
        instrument = signal.instrument
        if instrument.asset_class is not AssetClass.CRYPTO:
            return Abstention(self.name, "not a crypto instrument")
        try:
            snapshot = await self.feed.snapshot(instrument.underlying, self.quote)
        except DerivativesUnavailable as error:
            return Abstention(self.name, error.reason)
        if snapshot is None:
            perpetual = f"{instrument.underlying}/{self.quote}:{self.quote}"
            return Abstention(self.name, f"{self.feed.exchange_id} lists no {perpetual} perpetual")
        age = (hub.now - snapshot.as_of).total_seconds()
        if age > self.max_age_seconds:
            limit = f"at most {self.max_age_seconds:.0f} s"
            return Abstention(self.name, f"{snapshot.symbol} derivatives data is {age:.0f} s old ({limit})")
        value, confidence, evidence = derivatives_vote(snapshot)
        return Vote(self.name, value, confidence, evidence, as_of=snapshot.as_of)


def _clip(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


def _sign(value: float) -> float:
    return 1.0 if value > 0 else -1.0 if value < 0 else 0.0
