"""The daemon's regime models per market and the RegimeFilter stage that reads them.

The bars come from a small in-memory market: a fixed two-state path (bull, then bear
segments; see test_hmm_regimes) of which only the first `visible` bars have "happened";
a test moves time on by raising `visible`.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from domain.instruments import AssetClass, Instrument
from domain.market import BarSeries
from domain.pipeline import SignalContext
from domain.regimes import Regime, RegimeFit, RegimeReading
from domain.signals import ReasonCode, Side, Signal, SignalIntent
from filters.hmm_regimes import FeatureWindows, RegimeFitError, filtered_probabilities, fit_best_regime_model
from filters.market_regimes import MarketRegimes, RegimeModelSettings
from filters.regime_filter import RegimeFilter
from tests.factories import signal as make_signal
from tests.filters.test_hmm_regimes import two_state_closes
from tests.strategies.bars import series_from_closes
from utils.clock import SimulatedClock
from utils.offload import InlineOffloader, ProcessOffloader

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
STOCK = Instrument("SPY", "sim-stocks", AssetClass.STOCK, Decimal("0.01"), Decimal(1), "SPY")
CONTRACT = Instrument(
    "KXHIGHCHI-26FEB09-B38.5",
    "kalshi",
    AssetClass.PREDICTION,
    Decimal("0.01"),
    Decimal(1),
    "KXHIGHCHI-26FEB09",
)
SETTINGS = RegimeModelSettings(n_states=2, fit_window_bars=1200, seeds=(0, 1), catch_up_bars=50)


@dataclass
class PathMarket:
    """Bars of one path, of which the first `visible` are complete."""

    series: BarSeries
    visible: int
    asked: list[int] = field(default_factory=list)

    async def bars(self, instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None:
        self.asked.append(count)
        if instrument.key != STOCK.key or self.visible == 0:
            return None
        return self.series.truncated(self.visible).tail(count)


@pytest.fixture(scope="module")
def path() -> np.ndarray:
    closes, _ = two_state_closes(seed=0)
    return closes


def regimes_for(
    market: PathMarket, settings: RegimeModelSettings = SETTINGS
) -> tuple[MarketRegimes, SimulatedClock, list[RegimeReading], list[RegimeFit]]:
    clock = SimulatedClock(T0)
    readings: list[RegimeReading] = []
    fits: list[RegimeFit] = []
    service = MarketRegimes(
        market.bars, settings, clock, InlineOffloader(), on_reading=readings.append, on_fit=fits.append
    )
    return service, clock, readings, fits


def market_of(closes: np.ndarray, visible: int) -> PathMarket:
    return PathMarket(series_from_closes(list(closes), key=STOCK.key, half_range=0.01), visible)


# ---------------------------------------------------------------------------------------------------
# Fitting and reading
# ---------------------------------------------------------------------------------------------------
def test_bar_by_bar_readings_equal_the_filtered_probabilities_of_the_whole_series(path: np.ndarray) -> None:
    """The live step (one forward step per new bar, fetched in small windows) gives exactly the
    forward filter over the whole history, bar for bar: no lookahead, no drift."""
    market = market_of(path, 1200)
    service, _, readings, _ = regimes_for(market)
    fit = asyncio.run(service.refit(STOCK))
    assert fit.ok, fit.message
    model = service.model(STOCK.key)
    assert model is not None

    async def walk() -> None:
        for visible in range(1201, 1400):
            market.visible = visible
            await service.reading(STOCK)

    asyncio.run(walk())
    last = readings[-1]
    # the fit filtered its window (path[0:1200]) and the steps carried on: one pass over all of it
    truth = filtered_probabilities(model, path[0:1399])
    by_regime = {regime: truth[-1, k] for k, regime in enumerate(model.state_regimes)}
    assert last.bar_time == datetime.fromtimestamp(market.series.times[1398], UTC)
    for regime, probability in by_regime.items():
        assert last.probabilities[regime] == pytest.approx(probability, abs=1e-12)
    assert len(readings) == 1 + 199  # one at the fit, then one per new bar


def test_a_reading_without_a_new_bar_does_not_step_the_filter_again(path: np.ndarray) -> None:
    market = market_of(path, 1200)
    service, _, readings, _ = regimes_for(market)
    asyncio.run(service.refit(STOCK))
    market.visible = 1201
    first = asyncio.run(service.reading(STOCK))
    again = asyncio.run(service.reading(STOCK))
    assert first is again and len(readings) == 2


def test_a_gap_longer_than_the_catch_up_window_restarts_the_filter_on_the_bars_at_hand(
    path: np.ndarray,
) -> None:
    market = market_of(path, 1200)
    service, _, _, _ = regimes_for(market)
    asyncio.run(service.refit(STOCK))
    model = service.model(STOCK.key)
    assert model is not None
    market.visible = 1600  # 400 bars later, more than warm-up + catch-up (20 + 1 + 50) fetched
    reading = asyncio.run(service.reading(STOCK))
    assert reading is not None
    fetched = path[1600 - (20 + 1 + 50) : 1600]
    restarted = filtered_probabilities(model, fetched)[-1]
    for k, regime in enumerate(model.state_regimes):
        assert reading.probabilities[regime] == pytest.approx(restarted[k], abs=1e-12)


def test_the_regimes_of_a_two_state_path_are_recovered_live(path: np.ndarray) -> None:
    """Fitted on the first 1,200 bars, then read bar by bar to the end of the path: the regime
    the daemon would have used at each bar matches the truth (measured 0.97 on this path)."""
    closes, truth = two_state_closes(seed=0)
    market = market_of(closes, 1200)
    service, _, readings, _ = regimes_for(market)
    asyncio.run(service.refit(STOCK))

    async def walk() -> None:
        for visible in range(1201, len(closes) + 1):
            market.visible = visible
            await service.reading(STOCK)

    asyncio.run(walk())
    live = [r.regime for r in readings[1:]]
    hits = sum(found == true for found, true in zip(live, truth[1200:], strict=True))
    assert hits / len(live) > 0.9


def test_a_refit_keeps_the_labels_of_the_previous_model(path: np.ndarray) -> None:
    market = market_of(path, 1200)
    service, clock, _, fits = regimes_for(market)
    asyncio.run(service.refit(STOCK))
    first = service.model(STOCK.key)
    market.visible = len(path)
    clock.advance_to(T0 + timedelta(days=1))
    asyncio.run(service.refit(STOCK))
    second = service.model(STOCK.key)
    assert first is not None and second is not None and first is not second
    # the state that drifts up and is calm is bull in both fits
    for model in (first, second):
        bull = model.state_regimes.index(Regime.BULL)
        bear = model.state_regimes.index(Regime.BEAR)
        assert model.state_mean_return[bull] > 0 > model.state_mean_return[bear]
        assert model.state_volatility[bull] < model.state_volatility[bear]
    assert "labels carried over" in fits[-1].message
    assert [s["regime"] for s in fits[-1].states] == [r.value for r in second.state_regimes]


def test_too_few_bars_record_a_failed_fit_and_leave_the_market_without_a_regime(path: np.ndarray) -> None:
    market = market_of(path, 100)
    service, _, readings, fits = regimes_for(market)
    fit = asyncio.run(service.refit(STOCK))
    assert not fit.ok and fit.fit_bars == 100
    assert "100 bars of 60 s; a fit needs 120" in fit.message
    assert asyncio.run(service.reading(STOCK)) is None and readings == []
    assert fits == [fit]
    assert "not fitted: 100 bars" in (service.problem(STOCK.key) or "")


def test_a_failed_refit_keeps_the_previous_model_in_use(path: np.ndarray) -> None:
    market = market_of(path, 1200)
    service, clock, _, _ = regimes_for(market)
    asyncio.run(service.refit(STOCK))
    model = service.model(STOCK.key)
    flat = market_of(np.full(1300, 100.0), 1300)  # constant prices: the fit refuses them
    service.bars = flat.bars
    clock.advance_to(T0 + timedelta(days=1))
    fit = asyncio.run(service.refit(STOCK))
    assert not fit.ok and "keeping the previous model" in fit.message
    assert service.model(STOCK.key) is model
    assert service.problem(STOCK.key) is None  # it still has a working model


def test_fits_fall_due_daily_and_a_failure_is_retried_after_its_wait(path: np.ndarray) -> None:
    market = market_of(path, 100)
    service, clock, _, fits = regimes_for(market)
    assert service.due(STOCK, clock.now())
    asyncio.run(service.refit_due([STOCK, CONTRACT]))  # the contract has no model: never fitted
    assert [f.instrument_key for f in fits] == [STOCK.key] and not fits[0].ok
    assert not service.due(STOCK, clock.now() + timedelta(minutes=14))
    assert service.due(STOCK, clock.now() + timedelta(minutes=15))
    market.visible = 1200
    clock.advance_to(T0 + timedelta(minutes=15))
    asyncio.run(service.refit_due([STOCK]))
    assert fits[-1].ok
    assert not service.due(STOCK, clock.now() + timedelta(hours=23))
    assert service.due(STOCK, clock.now() + timedelta(hours=24))


def test_the_best_of_several_seeds_is_kept_and_only_all_failures_fail(path: np.ndarray) -> None:
    window = path[:1200]
    best = fit_best_regime_model(window, seeds=(0, 1, 2), n_states=2, window=1200)
    singles = []
    for seed in (0, 1, 2):
        try:
            singles.append(fit_best_regime_model(window, seeds=(seed,), n_states=2, window=1200))
        except RegimeFitError:
            continue
    assert best.log_likelihood == max(m.log_likelihood for m in singles)
    with pytest.raises(RegimeFitError, match=r"seed 0: .*did not converge"):
        fit_best_regime_model(window, seeds=(0,), n_states=2, window=1200, max_iterations=1)


def test_a_fit_in_a_worker_process_gives_the_same_model_as_inline(path: np.ndarray) -> None:
    market = market_of(path, 1200)
    inline, _, _, _ = regimes_for(market)
    asyncio.run(inline.refit(STOCK))
    offloader = ProcessOffloader(1)
    worker = MarketRegimes(market.bars, SETTINGS, SimulatedClock(T0), offloader)

    async def fit_and_find_pid() -> int:
        await worker.refit(STOCK)
        return await offloader.run(os.getpid)

    try:
        worker_pid = asyncio.run(fit_and_find_pid())
    finally:
        offloader.close()
    assert worker_pid != os.getpid()
    a, b = inline.model(STOCK.key), worker.model(STOCK.key)
    assert a is not None and b is not None
    np.testing.assert_array_equal(a.transitions, b.transitions)
    assert a.state_regimes == b.state_regimes


def test_an_error_in_the_worker_reaches_the_caller_as_itself() -> None:
    offloader = ProcessOffloader(1)

    async def run() -> None:
        await offloader.run(int, "not a number")

    try:
        with pytest.raises(ValueError, match="invalid literal"):
            asyncio.run(run())
    finally:
        offloader.close()


# ---------------------------------------------------------------------------------------------------
# The RegimeFilter stage
# ---------------------------------------------------------------------------------------------------
MULTIPLIERS = {Regime.BULL: 1.0, Regime.SIDEWAYS: 0.75, Regime.BEAR: 0.5}


def signal(instrument: Instrument, bot: str = "rsi2", intent: SignalIntent = SignalIntent.OPEN) -> Signal:
    return make_signal(instrument, Side.BUY, intent, bot=bot, time=T0)


def stage_over(
    market: PathMarket, bot_regimes: dict[str, frozenset[Regime]]
) -> tuple[RegimeFilter, MarketRegimes]:
    service, _, _, _ = regimes_for(market)
    return RegimeFilter(service, bot_regimes, MULTIPLIERS), service


def test_an_entry_in_a_market_without_a_fitted_model_is_refused_with_the_reason(path: np.ndarray) -> None:
    stage, service = stage_over(market_of(path, 100), {})
    before = asyncio.run(stage.evaluate(signal(STOCK), SignalContext(now=T0, confidence=0.6)))
    assert not before.passed and before.reason_code is ReasonCode.REGIME_UNKNOWN
    assert "regime model not fitted yet" in before.message
    asyncio.run(service.refit(STOCK))
    after = asyncio.run(stage.evaluate(signal(STOCK), SignalContext(now=T0, confidence=0.6)))
    assert not after.passed and "a fit needs 120" in after.message


def deep_in(truth: list[Regime], regime: Regime, after: int) -> int:
    """The first bar count past `after` whose last 50 bars were all in `regime`."""
    return next(i for i in range(after, len(truth)) if all(t is regime for t in truth[i - 50 : i]))


def test_the_regime_decides_entry_and_size_and_is_recorded_with_its_probabilities(path: np.ndarray) -> None:
    _, truth = two_state_closes(seed=0)
    bull_at = deep_in(truth, Regime.BULL, 1200)
    market = market_of(path, bull_at)
    stage, service = stage_over(market, {"bear-only": frozenset({Regime.BEAR})})
    asyncio.run(service.refit(STOCK))
    ctx = SignalContext(now=T0, confidence=0.6)
    passed = asyncio.run(stage.evaluate(signal(STOCK), ctx))
    assert passed.passed and passed.size_multiplier == 1.0 and ctx.regime is Regime.BULL
    assert set(passed.details["probabilities"]) == {"bull", "bear"}
    assert passed.details["probabilities"]["bull"] > 0.5
    refused = asyncio.run(stage.evaluate(signal(STOCK, "bear-only"), SignalContext(now=T0, confidence=0.6)))
    assert not refused.passed and refused.reason_code is ReasonCode.REGIME_NOT_TRADED
    assert "bear-only trades only in bear" in refused.message

    market.visible = deep_in(truth, Regime.BEAR, bull_at)  # the market turns; the filter follows
    bear = asyncio.run(stage.evaluate(signal(STOCK, "bear-only"), SignalContext(now=T0, confidence=0.6)))
    assert bear.passed and bear.size_multiplier == 0.5 and bear.details["regime"] == "bear"


def test_exits_and_prediction_contracts_pass_without_a_regime(path: np.ndarray) -> None:
    stage, _ = stage_over(market_of(path, 0), {})
    close = asyncio.run(
        stage.evaluate(signal(STOCK, intent=SignalIntent.CLOSE), SignalContext(now=T0, confidence=1))
    )
    contract = asyncio.run(stage.evaluate(signal(CONTRACT), SignalContext(now=T0, confidence=0.6)))
    assert close.passed and contract.passed and contract.size_multiplier == 1.0
    assert "no regime model for prediction markets" in contract.message


def test_settings_need_enough_bars_for_a_fit() -> None:
    settings = replace(SETTINGS, windows=FeatureWindows(volatility_window=50, trend_window=10))
    assert settings.min_fit_bars == 150


def test_a_market_being_fitted_is_not_due_again_until_its_fit_ends(path: np.ndarray) -> None:
    """The scheduled fit job and the start-up fits run side by side in the live daemon: a market
    one of them is fitting is left alone by the other (it once crashed the job)."""
    market = market_of(path, 1200)
    gate = asyncio.Event()
    seen: list[bool] = []

    class SlowOffloader(InlineOffloader):
        async def run(self, function, *args):  # type: ignore[no-untyped-def]
            await gate.wait()
            return function(*args)

    service = MarketRegimes(market.bars, SETTINGS, SimulatedClock(T0), SlowOffloader())

    async def scenario() -> list[RegimeFit]:
        first = asyncio.create_task(service.refit_due([STOCK]))
        await asyncio.sleep(0)  # the first fit is under way, waiting for its worker
        seen.append(service.due(STOCK, T0))
        second = await service.refit_due([STOCK])  # the overlapping job skips it
        gate.set()
        return [*(await first), *second]

    fits = asyncio.run(scenario())
    assert seen == [False] and len(fits) == 1 and fits[0].ok
