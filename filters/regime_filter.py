"""RegimeFilter stage: entries only in the regimes their bot trades, sized by regime."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from domain.instruments import Instrument
from domain.market import BarSeries
from domain.pipeline import SignalContext
from domain.regimes import Regime
from domain.signals import Decision, ReasonCode, Signal, SignalIntent
from filters.trend_regime import classify_regime

BarsProvider = Callable[[Instrument, int, int], Awaitable[BarSeries | None]]


class RegimeFilter:
    name = "regime"

    def __init__(
        self,
        bars: BarsProvider,
        bot_regimes: Mapping[str, frozenset[Regime]],
        multipliers: Mapping[Regime, float],
        *,
        timeframe_seconds: int,
        fast_window: int,
        slow_window: int,
        sideways_band: float,
    ) -> None:
        self._bars = bars
        self._bot_regimes = bot_regimes
        self._multipliers = multipliers
        self._timeframe = timeframe_seconds
        self._fast = fast_window
        self._slow = slow_window
        self._band = sideways_band
        self._cache: dict[str, tuple[float, Regime, float]] = {}  # key -> (last bar time, regime, score)

    async def current_regime(self, instrument: Instrument) -> tuple[Regime, float] | None:
        series = await self._bars(instrument, self._timeframe, self._slow + 1)
        if series is None or len(series) < self._slow + 1:
            return None
        last_time = float(series.times[-1])
        cached = self._cache.get(instrument.key)
        if cached is not None and cached[0] == last_time:
            return cached[1], cached[2]
        result = classify_regime(series.close, self._fast, self._slow, self._band)
        if result is not None:
            self._cache[instrument.key] = (last_time, result[0], result[1])
        return result

    async def evaluate(self, signal: Signal, ctx: SignalContext) -> Decision:
        if signal.intent is SignalIntent.CLOSE:
            return Decision.accept(self.name, "exits are allowed in every regime")
        found = await self.current_regime(signal.instrument)
        if found is None:
            return Decision.reject(
                self.name,
                ReasonCode.REGIME_UNKNOWN,
                f"not enough clean bars to tell the regime of {signal.instrument.symbol}; entry refused",
            )
        regime, score = found
        ctx.regime = regime
        allowed = self._bot_regimes.get(signal.bot, frozenset(Regime))
        details = {"regime": regime.value, "trend_score": round(score, 3)}
        if regime not in allowed:
            trades = ", ".join(sorted(r.value for r in allowed))
            return Decision.reject(
                self.name,
                ReasonCode.REGIME_NOT_TRADED,
                f"{signal.instrument.symbol} is {regime.value}; {signal.bot} trades only in {trades}",
                details,
            )
        multiplier = self._multipliers.get(regime, 1.0)
        return Decision.accept(
            self.name,
            f"{signal.instrument.symbol} is {regime.value} (trend score {score:+.2f}); size x{multiplier}",
            size_multiplier=multiplier,
            details=details,
        )
