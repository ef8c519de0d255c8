"""The risk stage feeds the engine correlations computed from the markets' own bars."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import numpy as np
import pytest

from domain.instruments import Instrument
from domain.market import BarSeries, Quote
from domain.pipeline import SignalContext
from domain.positions import Position
from domain.signals import ReasonCode
from risk_management.engine import Exposure, RiskEngine
from risk_management.stage import MarketHistory, RiskStage, worst_case_loss
from tests.factories import T0, quote, signal, stock
from tests.risk_management.test_risk_engine import LIMITS, book, exposure


class FixedBars:
    """Bars from given closes, ending at the same bar for every market (a test double we feed)."""

    def __init__(self, closes: dict[str, np.ndarray]) -> None:
        self._closes = closes

    async def __call__(self, instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None:
        closes = self._closes.get(instrument.key)
        if closes is None:
            return None
        closes = closes[-count:]
        times = np.arange(len(closes), dtype=np.float64) * timeframe_seconds
        return BarSeries(instrument.key, timeframe_seconds, times, closes, closes, closes, closes, closes)


def evaluate(candidate_closes: np.ndarray, held_closes: np.ndarray) -> tuple[ReasonCode, dict[str, object]]:
    spy, qqq = stock("SPY"), stock("QQQ")
    bars = FixedBars({spy.key: candidate_closes, qqq.key: held_closes})
    held = book(open_exposures=(exposure("QQQ", "38", "100"),))  # 3,800 of a 4,000 correlated cap

    async def price(instrument: Instrument) -> Quote | None:
        return quote(instrument)

    def no_position(bot: str, instrument: Instrument) -> Position | None:
        return None

    stage = RiskStage(
        RiskEngine(LIMITS),
        lambda: held,
        price,
        no_position,
        MarketHistory(
            bars, {spy.key: spy, qqq.key: qqq}, timeframe_seconds=60, window=60, horizon_seconds=60
        ),
    )
    ctx = SignalContext(now=T0, confidence=0.6)
    decision = asyncio.run(stage.evaluate(signal(spy, stop=98.0), ctx))
    assert ctx.intent is not None or not decision.passed
    return decision.reason_code, dict(decision.details)


def test_a_candidate_moving_with_a_held_market_is_cut_by_the_correlation_cap() -> None:
    rng = np.random.default_rng(11)
    common = rng.normal(0, 0.01, 200)
    spy = 100 * np.exp(np.cumsum(common + rng.normal(0, 0.001, 200)))
    qqq = 100 * np.exp(np.cumsum(common + rng.normal(0, 0.001, 200)))
    independent = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 200)))

    code, details = evaluate(spy, qqq)
    assert code is ReasonCode.OK and details["cut_by_cap"] == "correlated_exposure"
    assert Decimal(str(details["quantity"])) == Decimal(1)

    code, details = evaluate(independent, qqq)
    assert details["cut_by_cap"] != "correlated_exposure"


def test_the_stage_gives_the_engine_the_candidates_hrp_weight_as_pypfopt_computes_it() -> None:
    import pandas as pd
    from pypfopt import HRPOpt

    from risk_management.stage import _candidate_hrp_weight

    rng = np.random.default_rng(5)
    held = {
        "sim-stocks:QQQ": 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 121))),
        "sim-stocks:XLE": 100 * np.exp(np.cumsum(rng.normal(0, 0.03, 121))),
    }
    own = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, 121)))
    returns = pd.DataFrame({k: np.diff(np.log(v)) for k, v in {**held, "candidate": own}.items()})
    expected = HRPOpt(returns=returns).optimize(linkage_method="single")["candidate"]
    assert _candidate_hrp_weight(own, held) == pytest.approx(expected, abs=1e-9)
    assert expected > 0.5  # the calm candidate earns the largest share


def test_a_prediction_entry_is_sized_with_its_venues_kalshi_fee() -> None:
    """p = 0.40 at a 0.25 ask on a Kalshi-fee venue: 100 contracts pay ceil(0.07 x 100 x 0.25 x 0.75)
    = $1.32, so a contract costs 0.2632; full Kelly (0.40 - 0.2632) / 0.7368 = 0.18567, a quarter
    of it 0.046417 of 10,000 = 464.17 USD / 0.25 = 1856 contracts (1780 with a 0.02 fee, 2000 capped
    without any)."""
    from dataclasses import replace

    from domain.fees import KalshiFees
    from tests.risk_management.test_risk_engine import kalshi_contract

    contract = kalshi_contract()

    async def price(instrument: Instrument) -> Quote | None:
        return quote(instrument, bid="0.24", ask="0.25")

    def no_position(bot: str, instrument: Instrument) -> Position | None:
        return None

    # a risk fraction high enough that Kelly binds (at 0.5 % the $0 worst case would: 200 contracts)
    limits = replace(LIMITS, max_quote_age_seconds={"prediction": 60.0}, risk_fraction_per_trade=0.05)
    stage = RiskStage(RiskEngine(limits), lambda: book(), price, no_position, fees={"kalshi": KalshiFees()})
    ctx = SignalContext(now=T0, confidence=0.6)
    entry = signal(contract, stop=None, evidence={"win_probability": 0.40})
    decision = asyncio.run(stage.evaluate(entry, ctx))
    assert decision.passed, decision.message
    assert decision.details["kelly_fraction"] == pytest.approx(0.25 * (0.40 - 0.2632) / (1 - 0.2632))
    assert ctx.intent is not None and ctx.intent.quantity == Decimal(1856)

    # a fee the bot states itself is kept: the venue's schedule does not override evidence
    ctx = SignalContext(now=T0, confidence=0.6)
    stated = signal(contract, stop=None, evidence={"win_probability": 0.40, "fee_per_contract": 0.02})
    asyncio.run(stage.evaluate(stated, ctx))
    assert ctx.intent is not None and ctx.intent.quantity == Decimal(1780)


def test_a_held_prediction_contract_counts_at_its_worst_case_in_the_cvar_budget() -> None:
    """A binary contract has no bar returns: it used to switch the CVaR limit off for every entry.

    Now it loses its price in every scenario: 1,100 YES contracts at 0.95 lose 1,045 when they
    settle at $0, past the budget of 10 % of 10,000 = 1,000, so a SPY entry that can lose in some
    scenario is refused."""
    spy = stock("SPY")
    closes = 100 * np.exp(np.cumsum(np.random.default_rng(5).normal(0, 0.01, 80)))
    bars = FixedBars({spy.key: closes})
    contract = Exposure(
        "other",
        "kalshi:KXHIGHCHI-26FEB09-B38.5",
        "KXHIGHCHI-26FEB09",
        "prediction",
        Decimal(1100),
        Decimal("0.95"),
    )
    assert worst_case_loss(contract) == pytest.approx(1045.0)
    # NO held (a short YES at 0.30) loses 1 - 0.30 a contract
    short = Exposure("other", "kalshi:X-1", "X", "prediction", Decimal(-100), Decimal("0.30"))
    assert worst_case_loss(short) == pytest.approx(70.0)

    async def price(instrument: Instrument) -> Quote | None:
        return quote(instrument)

    def no_position(bot: str, instrument: Instrument) -> Position | None:
        return None

    stage = RiskStage(
        RiskEngine(LIMITS),
        lambda: book(open_exposures=(contract,)),
        price,
        no_position,
        MarketHistory(bars, {spy.key: spy}, timeframe_seconds=60, window=60, horizon_seconds=60),
    )
    decision = asyncio.run(stage.evaluate(signal(spy, stop=98.0), SignalContext(now=T0, confidence=0.6)))
    assert decision.reason_code is ReasonCode.CVAR_BUDGET
