"""Market data values: quotes and bars."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import numpy as np

from domain.signals import Side
from domain.time import require_aware


@dataclass(frozen=True, slots=True)
class Quote:
    """Best bid and ask of one instrument at one moment, as a venue reported it."""

    instrument_key: str
    bid: Decimal
    ask: Decimal
    time: datetime
    source: str

    def __post_init__(self) -> None:
        require_aware(self.time, "quote time")
        if not (self.bid.is_finite() and self.ask.is_finite()):
            raise ValueError(f"{self.instrument_key}: quote has a non-finite price")
        if self.bid <= 0 or self.ask <= 0:
            raise ValueError(f"{self.instrument_key}: quote prices must be positive ({self.bid}/{self.ask})")
        if self.ask < self.bid:
            raise ValueError(f"{self.instrument_key}: crossed quote, bid {self.bid} above ask {self.ask}")

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2

    @property
    def spread(self) -> Decimal:
        return self.ask - self.bid

    def touch(self, side: Side) -> Decimal:
        """The price an order of `side` takes at once: the ask for a buy, the bid for a sell."""
        return self.ask if side is Side.BUY else self.bid

    def age_seconds(self, now: datetime) -> float:
        return (now - self.time).total_seconds()


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV bar; `time` is the bar's open time."""

    time: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float

    def __post_init__(self) -> None:
        require_aware(self.time, "bar time")
        values = (self.open, self.high, self.low, self.close)
        if not all(math.isfinite(v) and v > 0 for v in values):
            raise ValueError(f"bar at {self.time.isoformat()} has a missing or non-positive price: {values}")
        if self.high < max(self.open, self.close, self.low) or self.low > min(self.open, self.close):
            raise ValueError(f"bar at {self.time.isoformat()} has high/low outside open/close")


@dataclass(frozen=True, slots=True)
class BarSeries:
    """Bars of one instrument as parallel arrays, oldest first; what strategies compute on.

    `times` are epoch seconds (UTC) of each bar's open. Arrays are float64 and
    must not be mutated (they are shared between bots in one tick).
    """

    instrument_key: str
    timeframe_seconds: int
    times: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.times)
        for name in ("open", "high", "low", "close", "volume"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{self.instrument_key}: bar series column {name} has a different length")

    def __len__(self) -> int:
        return len(self.times)

    def tail(self, count: int) -> BarSeries:
        """The last `count` bars (all of them when there are fewer)."""
        if len(self) <= count:
            return self
        start = len(self) - count
        return BarSeries(
            self.instrument_key,
            self.timeframe_seconds,
            self.times[start:],
            self.open[start:],
            self.high[start:],
            self.low[start:],
            self.close[start:],
            self.volume[start:],
        )

    def truncated(self, count: int) -> BarSeries:
        """The first `count` bars: the series as it was known `count` bars in."""
        return BarSeries(
            self.instrument_key,
            self.timeframe_seconds,
            self.times[:count],
            self.open[:count],
            self.high[:count],
            self.low[:count],
            self.close[:count],
            self.volume[:count],
        )
