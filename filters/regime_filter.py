"""RegimeFilter stage: entries only in the regimes their bot trades, sized by regime.

The regime is the HMM's filtered (forward-only) most probable regime at the market's
latest complete bar (`filters.market_regimes`). A market whose model is not fitted
yet, or whose bars are missing, has no regime: the entry is refused, never guessed.
Markets of asset classes without regime models (prediction contracts) pass at size
x1. Exits pass in every regime.
"""

from __future__ import annotations

from collections.abc import Mapping

from domain.pipeline import SignalContext
from domain.regimes import Regime
from domain.signals import Decision, ReasonCode, Signal, SignalIntent
from filters.market_regimes import MarketRegimes


class RegimeFilter:
    name = "regime"

    def __init__(
        self,
        regimes: MarketRegimes,
        bot_regimes: Mapping[str, frozenset[Regime]],
        multipliers: Mapping[Regime, float],
    ) -> None:
        self._regimes = regimes
        self._bot_regimes = bot_regimes
        self._multipliers = multipliers

    async def evaluate(self, signal: Signal, ctx: SignalContext) -> Decision:
        if signal.intent is SignalIntent.CLOSE:
            return Decision.accept(self.name, "exits are allowed in every regime")
        instrument = signal.instrument
        if not self._regimes.watches(instrument):
            return Decision.accept(
                self.name,
                f"no regime model for {instrument.asset_class.value} markets; size x1",
                details={"regime": None},
            )
        reading = await self._regimes.reading(instrument)
        if reading is None:
            why = self._regimes.problem(instrument.key) or "no clean bars to filter"
            return Decision.reject(
                self.name,
                ReasonCode.REGIME_UNKNOWN,
                f"the regime of {instrument.symbol} is unknown ({why}); entry refused",
            )
        regime = reading.regime
        ctx.regime = regime
        details = {
            "regime": regime.value,
            "probabilities": {r.value: round(p, 4) for r, p in reading.probabilities.items()},
            "bar_time": reading.bar_time.isoformat(),
            "model_fitted_at": reading.fitted_at.isoformat(),
        }
        allowed = self._bot_regimes.get(signal.bot, frozenset(Regime))
        if regime not in allowed:
            trades = ", ".join(sorted(r.value for r in allowed))
            return Decision.reject(
                self.name,
                ReasonCode.REGIME_NOT_TRADED,
                f"{instrument.symbol} is {regime.value} (p {reading.probability:.2f}); "
                f"{signal.bot} trades only in {trades}",
                details,
            )
        multiplier = self._multipliers.get(regime, 1.0)
        return Decision.accept(
            self.name,
            f"{instrument.symbol} is {regime.value} (p {reading.probability:.2f}); size x{multiplier}",
            size_multiplier=multiplier,
            details=details,
        )
