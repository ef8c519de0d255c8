"""The simulated forecasters and the replay that scores the consensus against the crowd."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from scipy.stats import norm

from domain.contracts import ContractSpec, Domain, Measure, Strike, StrikeType
from scrapers.base import NoEstimate, SourceEstimate
from scrapers.weather.probability import ensemble_probability, normal_probability
from scrapers.whales import tape_estimate
from simulation.prediction_market import SimulatedPredictionMarket
from simulation.prediction_sources import WorldForecasts, replay_scores, simulated_sources
from simulation.prediction_world import SimulatedMarket, cpi_months, weather_days
from utils.clock import SimulatedClock

NOW = datetime(2026, 2, 9, 15, 0, tzinfo=UTC)


def market(ticker: str, bid: str, ask: str, outcome: bool) -> SimulatedMarket:
    contract = ContractSpec(
        "sim-kalshi", ticker, "KXHIGHCHI", "KXHIGHCHI-26FEB09", "KXHIGHCHI-26FEB09",
        Domain.WEATHER, Measure.DAILY_HIGH_F, "CHI", date(2026, 2, 9),
        Strike(StrikeType.GREATER, floor_strike=Decimal(40)),
    )  # fmt: skip
    return SimulatedMarket(contract, Decimal(bid), Decimal(ask), outcome)


def test_the_simulated_sources_run_the_real_models_on_the_worlds_forecasts() -> None:
    event = next(weather_days(date(2026, 2, 9), 1, seed=4))
    world = WorldForecasts([event])
    gfs, nws, cleveland, *_ = simulated_sources(world)
    contract = event.markets[2].contract

    expected = ensemble_probability(event.ensemble_f, contract.strike)
    assert asyncio.run(gfs.estimate(contract, NOW)) == SourceEstimate(
        "sim_gfs_ensemble", expected, NOW, {"simulated": True, "forecast_probability": expected}
    )
    nws_estimate = asyncio.run(nws.estimate(contract, NOW))
    assert isinstance(nws_estimate, SourceEstimate)
    assert nws_estimate.probability == normal_probability(event.nws_point_f, contract.strike, 3.0)
    assert isinstance(asyncio.run(cleveland.estimate(contract, NOW)), NoEstimate)  # not its domain


def test_a_cpi_market_is_priced_by_the_nowcast_band() -> None:
    month = next(cpi_months(2026, 8, 1, seed=9))
    world = WorldForecasts(cpi=[month])
    _, _, cleveland, *_ = simulated_sources(world)

    estimate = asyncio.run(cleveland.estimate(month.markets[3].contract, NOW))

    assert isinstance(estimate, SourceEstimate) and 0 < estimate.probability < 1


def test_a_cpi_market_is_priced_by_the_base_rate_of_the_worlds_long_run_cpi() -> None:
    month = next(cpi_months(2026, 8, 1, seed=9))
    world = WorldForecasts(cpi=[month])
    _, _, _, base_rate, *_ = simulated_sources(world)
    above = month.markets[3].contract  # CPI m/m above 0.3 %: a published 0.4 or more
    assert above.strike is not None and above.strike.floor_strike == Decimal("0.3")

    estimate = asyncio.run(base_rate.estimate(above, NOW))

    # Normal(0.25, 0.15): P(true value >= 0.35) = 1 - Phi(0.6667)
    assert isinstance(estimate, SourceEstimate)
    assert estimate.probability == pytest.approx(norm.sf(0.35, 0.25, 0.15), abs=1e-9)
    assert estimate.probability == pytest.approx(0.2525, abs=1e-4)
    # a weather contract is outside its domain
    weather = market("KXHIGHCHI-26FEB09-T40", "0.30", "0.31", True).contract
    assert isinstance(asyncio.run(base_rate.estimate(weather, NOW)), NoEstimate)


def test_the_replay_scores_briers_edges_and_pnl_by_hand() -> None:
    # two markets of one event; both sources say 0.6 on the first (crowd 0.305) and disagree on the second
    first = market("KXHIGHCHI-26FEB09-T40", "0.30", "0.31", True)
    second = market("KXHIGHCHI-26FEB09-T41", "0.50", "0.51", False)
    forecasts = {
        "a": lambda c: 0.6 if c.ticker.endswith("T40") else 0.7,
        "b": lambda c: 0.6 if c.ticker.endswith("T40") else 0.3,
    }

    scores = replay_scores([[first, second]], forecasts)

    assert scores.markets == scores.consensus_markets == 2
    # consensus means: 0.6 (outcome 1) and 0.5 (outcome 0): (0.16 + 0.25) / 2
    assert scores.brier_consensus == pytest.approx((0.16 + 0.25) / 2)
    # crowd mids 0.305 and 0.505: ((0.695)^2 + (0.505)^2) / 2
    assert scores.brier_crowd == pytest.approx((0.695**2 + 0.505**2) / 2)
    assert scores.edges == 1 and scores.trades == 1
    # bought YES at 0.31 + fee 0.0150 (0.07 * 100 * 0.31 * 0.69 = 1.4973 -> $1.50 on 100): won 1
    assert scores.pnl_per_contract == pytest.approx(1 - 0.31 - 0.0150)
    # after settling, a erred by 0.16 + 0.49, b by 0.16 + 0.09: b weighs more
    assert scores.weights["b"] > scores.weights["a"]


def test_over_a_simulated_quarter_the_consensus_beats_the_crowd() -> None:
    weather = list(weather_days(date(2026, 1, 1), 90, seed=21))
    world = WorldForecasts(weather)

    scores = replay_scores(
        [e.markets for e in weather], {"sim_gfs_ensemble": world.gfs, "sim_nws_forecast": world.nws}
    )

    assert scores.markets == 90 * 4 * 6
    assert scores.brier_consensus < scores.brier_crowd


def test_with_the_market_the_forecasters_learn_as_the_crowd_does_and_the_whale_reads_its_tape() -> None:
    start = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
    clock = SimulatedClock(start)
    market = SimulatedPredictionMarket(clock, seed=7, days=3)
    gfs, _, _, _, _, _, whale = simulated_sources(WorldForecasts(market.weather, market.cpi), market)
    listed = market.open_markets(start)[0]
    key = listed.instrument.key
    first = asyncio.run(gfs.estimate(listed.contract, start))
    assert isinstance(first, SourceEstimate)
    forecast = first.evidence["forecast_probability"]
    information = market.information(key, start)
    assert information is not None and 0 < information < 1
    # what it said before anything was known, moved towards the outcome by the share now known
    outcome = 1.0 if listed.market.outcome_yes else 0.0
    assert first.probability == pytest.approx(forecast + (outcome - forecast) * information)
    # the crowd's mid learns by the same share
    mid = listed.mid_at(start)
    assert mid == pytest.approx(
        listed.market.crowd_price + (outcome - listed.market.crowd_price) * information
    )
    # after the close neither has anything to say
    after = listed.closes_at + timedelta(minutes=1)
    assert isinstance(asyncio.run(gfs.estimate(listed.contract, after)), NoEstimate)
    assert isinstance(asyncio.run(whale.estimate(listed.contract, after)), NoEstimate)
    # the tape is the same whenever it is read, and the whale tracker answers from it
    tape = market.trades(listed.contract.ticker, start - timedelta(hours=6), start)
    assert tape == market.trades(listed.contract.ticker, start - timedelta(hours=6), start)
    assert all(start - timedelta(hours=6) <= t.created_time <= start for t in tape)
    answer = asyncio.run(whale.estimate(listed.contract, start))
    expected = tape_estimate(
        "sim_whale_tracker",
        listed.contract.ticker,
        tape,
        mid,
        start,
        lookback=timedelta(hours=6),
        min_notional_usd=500.0,
        max_shift=0.05,
    )
    assert answer == expected
