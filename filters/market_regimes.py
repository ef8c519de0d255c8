"""Each watched market's regime model, refitted on a schedule and filtered bar by bar.

The expensive part, fitting the HMM, runs through an `Offloader` (a worker process
in the live daemon, so neither the event loop nor the GIL waits for EM; inline in
simulated runs, so replays stay deterministic). The cheap part, one forward step
per new bar, runs on the loop when a signal asks for the regime.

- A market without a fitted model has no regime: entries there are refused until a
  fit succeeds (never a guess).
- A failed refit keeps the previous model (and its labels); the failure is recorded.
- A refit inherits the previous model's labels (`fit_regime_model(previous=...)`), so
  "bull" stays bull across refits.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from domain.instruments import Instrument
from domain.market import BarSeries
from domain.regimes import RegimeFit, RegimeReading
from filters.hmm_regimes import (
    MIN_FIT_ROWS,
    FeatureWindows,
    RegimeFitError,
    RegimeModel,
    advance_filter,
    fit_best_regime_model,
    regime_probabilities,
)
from utils.clock import Clock
from utils.offload import Offloader

log = logging.getLogger(__name__)

BarsProvider = Callable[[Instrument, int, int], Awaitable[BarSeries | None]]


@dataclass(frozen=True, slots=True)
class RegimeModelSettings:
    """How regime models are fitted and refreshed (from `[regimes]` in the configuration)."""

    timeframe_seconds: int = 60
    fit_window_bars: int = 1000
    n_states: int = 3
    seeds: tuple[int, ...] = (0, 1, 2, 3)
    windows: FeatureWindows = field(default_factory=FeatureWindows)
    refit_after: timedelta = timedelta(days=1)
    retry_after: timedelta = timedelta(minutes=15)
    asset_classes: frozenset[str] = frozenset({"stock", "crypto", "forex"})
    # bars fetched per new-bar step beyond the feature windows; a longer gap restarts the filter
    catch_up_bars: int = 120

    @property
    def min_fit_bars(self) -> int:
        return self.windows.warmup_bars + MIN_FIT_ROWS


@dataclass(frozen=True, slots=True, eq=False)
class FittedMarket:
    """What a fit returns from the worker: the model and the filter's state at the fit window's end."""

    model: RegimeModel
    log_alpha: np.ndarray
    last_bar_time: float  # epoch seconds of the last bar the filter has seen


def fit_market(
    closes: np.ndarray, times: np.ndarray, settings: RegimeModelSettings, previous: RegimeModel | None
) -> FittedMarket:
    """Fit on the closes (the last `fit_window_bars`), then filter them forward to the last bar.

    A top-level function of plain data, so a worker process can run it.
    """
    model = fit_best_regime_model(
        closes,
        seeds=settings.seeds,
        n_states=settings.n_states,
        window=settings.fit_window_bars,
        windows=settings.windows,
        previous=previous,
    )
    window = closes[-settings.fit_window_bars :]
    log_alpha = advance_filter(model, None, window, len(window) - settings.windows.warmup_bars)
    return FittedMarket(model, log_alpha, float(times[-1]))


@dataclass(slots=True)
class _Market:
    fitted: FittedMarket | None = None
    fitted_at: datetime | None = None
    reading: RegimeReading | None = None
    last_attempt: datetime | None = None
    last_failed: bool = False
    last_problem: str | None = None
    fitting: bool = False  # a fit is under way (the scheduled job and a start-up fit may overlap)
    log_alpha: np.ndarray | None = None
    last_bar_time: float = 0.0


@dataclass(slots=True)
class MarketRegimes:
    """The regime models of the markets the daemon trades, and their latest readings."""

    bars: BarsProvider
    settings: RegimeModelSettings
    clock: Clock
    offloader: Offloader
    on_reading: Callable[[RegimeReading], None] = lambda reading: None
    on_fit: Callable[[RegimeFit], None] = lambda fit: None
    _markets: dict[str, _Market] = field(default_factory=dict)

    def watches(self, instrument: Instrument) -> bool:
        """Whether regimes are modelled for this market's asset class (prediction contracts are not)."""
        return instrument.asset_class.value in self.settings.asset_classes

    def readings(self) -> dict[str, RegimeReading]:
        return {key: m.reading for key, m in self._markets.items() if m.reading is not None}

    def model(self, instrument_key: str) -> RegimeModel | None:
        market = self._markets.get(instrument_key)
        return None if market is None or market.fitted is None else market.fitted.model

    def problem(self, instrument_key: str) -> str | None:
        """Why the market has no reading: its model is not fitted yet, or the last fit's failure."""
        market = self._markets.get(instrument_key)
        if market is None or market.last_attempt is None:
            return "regime model not fitted yet"
        if market.fitted is None:
            return f"regime model not fitted: {market.last_problem}"
        return None

    def due(self, instrument: Instrument, now: datetime) -> bool:
        """Never fitted, or the model is older than `refit_after`; a failure waits `retry_after`."""
        market = self._markets.get(instrument.key)
        if market is None or market.last_attempt is None:
            return True
        if market.fitting:
            return False
        if market.last_failed:
            return now - market.last_attempt >= self.settings.retry_after
        assert market.fitted_at is not None
        return now - market.fitted_at >= self.settings.refit_after

    async def refit_due(self, instruments: Iterable[Instrument]) -> list[RegimeFit]:
        """Fit every watched market that is due, one after another; returns what each attempt did."""
        results = []
        for instrument in instruments:
            if self.watches(instrument) and self.due(instrument, self.clock.now()):
                results.append(await self.refit(instrument))
        return results

    async def refit(self, instrument: Instrument) -> RegimeFit:
        """Fit the market's model on its latest bars; on failure the previous model stays in use."""
        market = self._markets.setdefault(instrument.key, _Market())
        market.fitting = True
        try:
            return await self._refit(instrument, market)
        finally:
            market.fitting = False

    async def _refit(self, instrument: Instrument, market: _Market) -> RegimeFit:
        settings = self.settings
        started = self.clock.now()
        market.last_attempt = started
        series = await self.bars(instrument, settings.timeframe_seconds, settings.fit_window_bars)
        count = 0 if series is None else len(series)
        previous = market.fitted.model if market.fitted is not None else None
        if series is None or count < settings.min_fit_bars:
            return self._failed(
                instrument,
                started,
                count,
                f"{count} bars of {settings.timeframe_seconds} s; a fit needs "
                f"{settings.min_fit_bars}" + (" (keeping the previous model)" if previous else ""),
            )
        try:
            fitted = await self.offloader.run(fit_market, series.close, series.times, settings, previous)
        except (RegimeFitError, ValueError) as problem:
            suffix = "; keeping the previous model" if previous else ""
            return self._failed(instrument, started, count, f"{problem}{suffix}")
        market.fitted = fitted
        market.fitted_at = self.clock.now()
        market.last_failed = False
        market.last_problem = None
        market.log_alpha = fitted.log_alpha
        market.last_bar_time = fitted.last_bar_time
        self._publish(instrument.key, market)
        model = fitted.model
        fit = RegimeFit(
            instrument_key=instrument.key,
            time=market.fitted_at,
            ok=True,
            message=(
                f"{model.n_states} states on {model.fit_bars} bars in {model.iterations} EM iterations"
                + ("; labels carried over from the previous fit" if previous else "")
            ),
            fit_bars=model.fit_bars,
            log_likelihood=model.log_likelihood,
            states=tuple(
                {
                    "regime": regime.value,
                    "mean_return": float(model.state_mean_return[k]),
                    "volatility": float(model.state_volatility[k]),
                }
                for k, regime in enumerate(model.state_regimes)
            ),
        )
        log.info("regime model of %s fitted: %s", instrument.key, fit.message)
        self.on_fit(fit)
        return fit

    def _failed(self, instrument: Instrument, started: datetime, bars: int, message: str) -> RegimeFit:
        market = self._markets[instrument.key]
        market.last_failed = True
        market.last_problem = message
        log.warning("regime model of %s not fitted: %s", instrument.key, message)
        fit = RegimeFit(instrument.key, started, False, message, bars)
        self.on_fit(fit)
        return fit

    async def reading(self, instrument: Instrument) -> RegimeReading | None:
        """The market's regime at its latest complete bar; None without a model or without clean bars."""
        market = self._markets.get(instrument.key)
        if market is None or market.fitted is None or market.log_alpha is None:
            return None
        model = market.fitted.model
        warmup = model.windows.warmup_bars
        series = await self.bars(
            instrument, self.settings.timeframe_seconds, warmup + 1 + self.settings.catch_up_bars
        )
        if series is None or len(series) <= warmup:
            return None
        times = series.times
        new_bars = int(np.count_nonzero(times > market.last_bar_time))
        if new_bars == 0:
            return market.reading
        log_alpha: np.ndarray | None = market.log_alpha
        if new_bars > len(series) - warmup:
            # a gap longer than the catch-up window: restart the filter on the bars at hand
            log_alpha, new_bars = None, len(series) - warmup
        try:
            market.log_alpha = advance_filter(model, log_alpha, series.close, new_bars)
        except ValueError as problem:
            log.warning("regime of %s not updated: %s", instrument.key, problem)
            return None
        market.last_bar_time = float(times[-1])
        self._publish(instrument.key, market)
        return market.reading

    def _publish(self, key: str, market: _Market) -> None:
        assert market.fitted is not None and market.log_alpha is not None and market.fitted_at is not None
        probabilities = regime_probabilities(market.fitted.model, market.log_alpha)
        regime = max(probabilities, key=lambda r: probabilities[r])
        market.reading = RegimeReading(
            instrument_key=key,
            regime=regime,
            probabilities=probabilities,
            bar_time=datetime.fromtimestamp(market.last_bar_time, UTC),
            fitted_at=market.fitted_at,
            fit_bars=market.fitted.model.fit_bars,
        )
        self.on_reading(market.reading)
