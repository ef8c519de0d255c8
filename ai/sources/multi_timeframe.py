"""The multi-timeframe source: do trend and momentum point the same way from 15 minutes to a day?

Per timeframe, at the last bar (TA-Lib):

- trend = sign(close / SMA(20) - 1): above its 20-bar mean is up;
- momentum = sign(ROC(10)): higher than 10 bars ago is up;
- the timeframe's sub-vote is the mean of the two (so -1, -0.5, 0, 0.5 or 1).

A timeframe needs 21 bars to count. The vote is the mean over the timeframes that
count, and needs at least two of them, else the source abstains. The confidence is
the share of the counted timeframes whose sub-vote has the vote's sign (0 when the
vote is 0: there is no direction to agree with).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import talib

from ai.data_hub import DataHub
from ai.sources.technical import bar_close_time
from ai.votes import Abstention, SourceResult, Vote
from domain.market import BarSeries
from domain.signals import Signal

SMA_PERIOD = 20
ROC_PERIOD = 10
MINIMUM_BARS = 21
MINIMUM_TIMEFRAMES = 2


class MultiTimeframeSource:
    def __init__(
        self, name: str = "multi_timeframe", timeframes: Sequence[int] = (900, 3600, 14400, 86400)
    ) -> None:
        if len(set(timeframes)) < MINIMUM_TIMEFRAMES:
            raise ValueError(f"{name}: needs at least {MINIMUM_TIMEFRAMES} distinct timeframes")
        self.name = name
        self.timeframes = tuple(timeframes)

    async def vote(self, signal: Signal, hub: DataHub) -> SourceResult:
        fetched = await asyncio.gather(
            *(hub.bars(signal.instrument, timeframe, MINIMUM_BARS) for timeframe in self.timeframes)
        )
        return multi_timeframe_vote(dict(zip(self.timeframes, fetched, strict=True)), self.name)


def multi_timeframe_vote(
    series_by_timeframe: dict[int, BarSeries | None], source: str = "multi_timeframe"
) -> SourceResult:
    """The vote of the bars as they are, one series (or None) per timeframe in seconds."""
    evidence: dict[str, Any] = {}
    sub_votes: list[float] = []
    close_times = []
    for timeframe, series in series_by_timeframe.items():
        reading = _timeframe_reading(series)
        evidence[timeframe_label(timeframe)] = reading
        if series is not None and reading["used"]:
            sub_votes.append(reading["vote"])
            close_times.append(bar_close_time(series))
    if len(sub_votes) < MINIMUM_TIMEFRAMES:
        skipped = "; ".join(f"{label}: {r['skipped']}" for label, r in evidence.items() if not r["used"])
        return Abstention(
            source, f"fewer than {MINIMUM_TIMEFRAMES} timeframes with {MINIMUM_BARS}+ bars ({skipped})"
        )
    vote = sum(sub_votes) / len(sub_votes)
    direction = float(np.sign(vote))
    agreeing = sum(1 for v in sub_votes if direction != 0 and np.sign(v) == direction)
    return Vote(
        source,
        vote,
        agreeing / len(sub_votes),
        evidence,
        as_of=max(close_times),
    )


def _timeframe_reading(series: BarSeries | None) -> dict[str, Any]:
    if series is None or len(series) == 0:
        return {"used": False, "skipped": "no bars"}
    if len(series) < MINIMUM_BARS:
        return {"used": False, "skipped": f"{len(series)} bars, {MINIMUM_BARS} needed"}
    close = series.close
    last_close = float(close[-1])
    sma = float(talib.SMA(close, SMA_PERIOD)[-1])
    roc = float(talib.ROC(close, ROC_PERIOD)[-1])
    if not all(math.isfinite(x) for x in (last_close, sma, roc)) or sma <= 0:
        return {"used": False, "skipped": "missing prices in the last bars"}
    trend = float(np.sign(last_close / sma - 1.0))
    momentum = float(np.sign(roc))
    return {
        "used": True,
        "close": round(last_close, 6),
        "sma20": round(sma, 6),
        "trend": trend,
        "roc10_percent": round(roc, 4),
        "momentum": momentum,
        "vote": (trend + momentum) / 2,
        "bars": len(series),
    }


def timeframe_label(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
