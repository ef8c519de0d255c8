"""A simple trend/volatility regime rule, the stand-in until the HMM detector lands.

The trend is the log distance between a fast and a slow moving average; it is
measured in units of the noise a random walk would show over the slow window
(per-bar volatility times the square root of half the window). Inside
`sideways_band` of those units the market is sideways; outside it, bull or bear
by the sign. Pure: closes in, regime out.
"""

from __future__ import annotations

import math

import numpy as np
import talib

from domain.regimes import Regime


def classify_regime(
    closes: np.ndarray, fast_window: int, slow_window: int, sideways_band: float
) -> tuple[Regime, float] | None:
    """The regime at the last close and its trend score; None with too little data."""
    if len(closes) < slow_window + 1:
        return None
    closes = np.asarray(closes, dtype=np.float64)
    if not np.all(np.isfinite(closes[-(slow_window + 1) :])) or np.any(closes[-(slow_window + 1) :] <= 0):
        return None
    fast = talib.SMA(closes, timeperiod=fast_window)[-1]
    slow = talib.SMA(closes, timeperiod=slow_window)[-1]
    returns = np.diff(np.log(closes[-(slow_window + 1) :]))
    volatility = float(np.std(returns, ddof=1))
    if not (math.isfinite(fast) and math.isfinite(slow)) or volatility == 0:
        return None
    score = math.log(fast / slow) / (volatility * math.sqrt(slow_window / 2))
    if abs(score) < sideways_band:
        return Regime.SIDEWAYS, score
    return (Regime.BULL if score > 0 else Regime.BEAR), score
