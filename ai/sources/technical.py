"""The technical source: RSI, MACD and Bollinger bands on one timeframe's bars, as one vote.

Each indicator (TA-Lib, at the last bar) gives a sub-vote in [-1, 1]:

- RSI(14), contrarian only when stretched: above 70 it votes -(rsi - 70) / 30 (RSI 100 is -1),
  below 30 it votes (30 - rsi) / 30 (RSI 0 is +1), and between 30 and 70 it votes 0.
- MACD(12, 26, 9) histogram, trend-following: histogram / ATR(14), clipped to [-1, 1]; a
  histogram worth a whole average true range is a full vote, so the size is read against
  how much the price moves anyway.
- Bollinger(20, 2) position, fading the bands as `strategies.bollinger` does: with
  position = (close - middle) / (upper - middle) (+1 at the upper band, -1 at the lower),
  the sub-vote is -position clipped to [-1, 1].

The vote is the mean of the three sub-votes. The confidence is how much they agree:
|mean| / mean(|sub-vote|), which is 1 when all point the same way (or are 0) and 0 when
they cancel out; 0 when every sub-vote is 0.

The source abstains when there are no bars, too few for MACD (the slowest, 34 bars),
a missing price, prices that did not move (the bands have no width), or any indicator
without a value at the last bar.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import talib

from ai.data_hub import DataHub
from ai.votes import Abstention, SourceResult, Vote
from domain.market import BarSeries
from domain.signals import Signal

RSI_PERIOD = 14
RSI_OVERBOUGHT = 70.0
RSI_OVERSOLD = 30.0
MACD_FAST, MACD_SLOW, MACD_SIGNAL = 12, 26, 9
ATR_PERIOD = 14
BOLLINGER_PERIOD = 20
BOLLINGER_STD = 2.0
MINIMUM_BARS = MACD_SLOW + MACD_SIGNAL - 1  # TA-Lib's first MACD histogram value is at bar 34


class TechnicalSource:
    def __init__(self, name: str = "technical", timeframe_seconds: int = 60, bars: int = 100) -> None:
        if bars < MINIMUM_BARS:
            raise ValueError(f"{name}: needs at least {MINIMUM_BARS} bars for MACD, configured {bars}")
        self.name = name
        self.timeframe_seconds = timeframe_seconds
        self.bars = bars

    async def vote(self, signal: Signal, hub: DataHub) -> SourceResult:
        series = await hub.bars(signal.instrument, self.timeframe_seconds, self.bars)
        if series is None or len(series) == 0:
            return Abstention(self.name, f"no {self.timeframe_seconds} s bars for {signal.instrument.symbol}")
        return technical_vote(series, self.name)


def rsi_sub_vote(rsi: float) -> float:
    if rsi > RSI_OVERBOUGHT:
        return -(rsi - RSI_OVERBOUGHT) / (100.0 - RSI_OVERBOUGHT)
    if rsi < RSI_OVERSOLD:
        return (RSI_OVERSOLD - rsi) / RSI_OVERSOLD
    return 0.0


def technical_vote(series: BarSeries, source: str = "technical") -> SourceResult:
    """The vote of the bars as they are: pure, so a backtest can ask it bar by bar."""
    if len(series) < MINIMUM_BARS:
        return Abstention(
            source, f"{len(series)} bars; MACD({MACD_FAST},{MACD_SLOW},{MACD_SIGNAL}) needs {MINIMUM_BARS}"
        )
    close, high, low = series.close, series.high, series.low
    if not (np.isfinite(close).all() and np.isfinite(high).all() and np.isfinite(low).all()):
        return Abstention(source, "the bars have missing prices")
    # TA-Lib's default moving average for BBANDS is the simple one, as Bollinger defined the bands
    upper, middle, lower = talib.BBANDS(
        close, timeperiod=BOLLINGER_PERIOD, nbdevup=BOLLINGER_STD, nbdevdn=BOLLINGER_STD
    )
    rsi = talib.RSI(close, RSI_PERIOD)
    histogram = talib.MACD(close, MACD_FAST, MACD_SLOW, MACD_SIGNAL)[2]
    atr = talib.ATR(high, low, close, ATR_PERIOD)
    last = {
        "rsi": float(rsi[-1]),
        "macd_histogram": float(histogram[-1]),
        "atr": float(atr[-1]),
        "bollinger_upper": float(upper[-1]),
        "bollinger_middle": float(middle[-1]),
        "bollinger_lower": float(lower[-1]),
    }
    missing = [name for name, value in last.items() if not math.isfinite(value)]
    if missing:
        return Abstention(source, f"no value at the last bar for {', '.join(missing)}")
    half_width = last["bollinger_upper"] - last["bollinger_middle"]
    # a flat series has RSI 0 in TA-Lib (no gains), which would read as "oversold": refuse instead
    if half_width <= 1e-9 * last["bollinger_middle"] or last["atr"] <= 0:
        return Abstention(source, f"prices did not move over the last {BOLLINGER_PERIOD} bars")

    position = (float(close[-1]) - last["bollinger_middle"]) / half_width
    sub_votes = {
        "rsi": rsi_sub_vote(last["rsi"]),
        "macd": _clip(last["macd_histogram"] / last["atr"]),
        "bollinger": _clip(-position),
    }
    mean = sum(sub_votes.values()) / len(sub_votes)
    mean_size = sum(abs(v) for v in sub_votes.values()) / len(sub_votes)
    confidence = abs(mean) / mean_size if mean_size > 0 else 0.0
    evidence: dict[str, Any] = {
        "rsi": {"value": round(last["rsi"], 4), "vote": round(sub_votes["rsi"], 4)},
        "macd": {
            "histogram": round(last["macd_histogram"], 6),
            "atr": round(last["atr"], 6),
            "vote": round(sub_votes["macd"], 4),
        },
        "bollinger": {
            "close": round(float(close[-1]), 6),
            "upper": round(last["bollinger_upper"], 6),
            "middle": round(last["bollinger_middle"], 6),
            "lower": round(last["bollinger_lower"], 6),
            "position": round(position, 4),
            "vote": round(sub_votes["bollinger"], 4),
        },
        "bars": len(series),
        "timeframe_seconds": series.timeframe_seconds,
    }
    return Vote(
        source,
        _clip(mean),
        min(1.0, confidence),
        evidence,
        as_of=bar_close_time(series),
    )


def bar_close_time(series: BarSeries) -> datetime:
    """When the series' last bar closed (its open time plus the timeframe)."""
    return datetime.fromtimestamp(float(series.times[-1]) + series.timeframe_seconds, UTC)


def _clip(value: float) -> float:
    return min(1.0, max(-1.0, value))
