"""Stress tests of the book and of a strategy's backtest, checked against hand-worked losses."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backtest.stress import (
    HISTORICAL_SCENARIOS,
    BookPosition,
    CorrelationToOne,
    LiquidityDrought,
    PriceShock,
    Scenario,
    VolatilitySpike,
    gap_down,
    standard_scenarios,
    stress_backtest,
    stress_book,
)
from backtest.vectorized import Costs, run_targets
from domain.instruments import AssetClass

AAPL = "sim-stocks:AAPL"
SPY = "sim-stocks:SPY"
BTC = "sim-crypto:BTC/USD"
ETH = "sim-crypto:ETH-USD"
YES = "kalshi:KXHIGHCHI-26FEB09-B38.5"


def _stock(key: str, quantity: float) -> BookPosition:
    return BookPosition(instrument_key=key, asset_class=AssetClass.STOCK, quantity=quantity)


def _one(
    positions: list[BookPosition],
    marks: dict[str, float],
    scenario: Scenario,
    limit: float = 1_000.0,
    *,
    equity: float = 10_000.0,
    daily_pnl: float = 0.0,
) -> tuple[float, bool, float]:
    """P&L, breach flag and loss share of equity of `positions` under one scenario."""
    (result,) = stress_book(positions, marks, [scenario], limit, equity=equity, daily_pnl=daily_pnl)
    return result.pnl, result.breaches_daily_loss_limit, result.loss_fraction_of_equity


# --- the book ----------------------------------------------------------------------------------------------


def test_long_stock_loses_quantity_times_price_times_gap() -> None:
    # 10 AAPL at 100 in a 20 % gap down: 10 × 100 × 0.20 = 200 lost, 2 % of 10,000.
    pnl, _, fraction = _one([_stock(AAPL, 10)], {AAPL: 100.0}, gap_down(0.20))
    assert pnl == pytest.approx(-200.0)
    assert fraction == pytest.approx(0.02)


def test_short_stock_gains_in_a_gap_down_and_loses_in_a_volatility_spike() -> None:
    # Gap down 20 %: the short's 10 × 100 × 0.20 = +200.
    # Volatility x2: the price moves 2 × 1.2 % = 2.4 % against the short: 10 × 100 × 0.024 = 24 lost.
    short = [_stock(AAPL, -10)]
    assert _one(short, {AAPL: 100.0}, gap_down(0.20))[0] == pytest.approx(200.0)
    assert _one(short, {AAPL: 100.0}, VolatilitySpike(2.0))[0] == pytest.approx(-24.0)


def test_long_prediction_yes_loses_its_price_per_contract_in_the_worst_case() -> None:
    # 4 YES bought and marked at 0.25 settle at 0: 4 × 0.25 = 1.00 lost, 0.25 a contract.
    position = BookPosition(instrument_key=YES, asset_class=AssetClass.PREDICTION, quantity=4)
    assert _one([position], {YES: 0.25}, gap_down(0.10))[0] == pytest.approx(-1.0)


def test_short_prediction_contract_loses_up_to_one_dollar_in_the_worst_case() -> None:
    # 3 sold at 0.25 settle at 1: 3 × (1 − 0.25) = 2.25 lost.
    position = BookPosition(instrument_key=YES, asset_class=AssetClass.PREDICTION, quantity=-3)
    assert _one([position], {YES: 0.25}, CorrelationToOne(VolatilitySpike(5.0)))[0] == pytest.approx(-2.25)


def test_historical_days_leave_prediction_contracts_alone() -> None:
    position = BookPosition(instrument_key=YES, asset_class=AssetClass.PREDICTION, quantity=4)
    for scenario in HISTORICAL_SCENARIOS:
        assert _one([position], {YES: 0.25}, scenario)[0] == 0.0


def test_contract_multiplier_scales_the_loss() -> None:
    # One E-mini-like contract of 50 × index at 5,000 in a 10 % gap: 50 × 5,000 × 0.10 = 25,000 lost.
    future = BookPosition(instrument_key="cme:ES", asset_class=AssetClass.STOCK, quantity=1, multiplier=50)
    assert _one([future], {"cme:ES": 5_000.0}, gap_down(0.10), equity=100_000.0)[0] == pytest.approx(
        -25_000.0
    )


def test_positions_of_several_bots_in_one_instrument_add_up() -> None:
    # Two bots long AAPL, 10 and 5 at 100, gap 20 %: (10 + 5) × 100 × 0.20 = 300 on the one key.
    book = [_stock(AAPL, 10), _stock(AAPL, 5)]
    (result,) = stress_book(book, {AAPL: 100.0}, [gap_down(0.20)], 30.0, equity=10_000.0)
    assert result.position_pnls == {AAPL: pytest.approx(-300.0)}


def test_breach_flag_compares_the_loss_with_the_daily_limit_as_the_risk_engine_does() -> None:
    book, marks = [_stock(AAPL, 10)], {AAPL: 100.0}
    scenario = gap_down(0.20)  # loses 200
    assert _one(book, marks, scenario, limit=150.0)[1] is True
    assert _one(book, marks, scenario, limit=250.0)[1] is False
    assert _one(book, marks, scenario, limit=200.0)[1] is True  # at the limit halts, as in the engine (<=)
    # 60 already lost today: −60 − 200 = −260 is beyond −250.
    assert _one(book, marks, scenario, limit=250.0, daily_pnl=-60.0)[1] is True


def test_correlation_to_one_moves_every_position_by_the_worst_single_move() -> None:
    # Under a 5x volatility day AAPL moves 5 × 1.2 % = 6 % and BTC 5 × 3.4 % = 17 %: the worst single
    # move is 17 %. Correlated, both longs fall 17 %: (10 × 100 + 0.01 × 60,000) × 0.17 = 1,600 × 0.17 = 272.
    book = [_stock(AAPL, 10), BookPosition(instrument_key=BTC, asset_class=AssetClass.CRYPTO, quantity=0.01)]
    marks = {AAPL: 100.0, BTC: 60_000.0}
    (base,) = stress_book(book, marks, [VolatilitySpike(5.0)], 1_000.0, equity=10_000.0)
    assert base.position_pnls[BTC] / 600.0 == pytest.approx(-0.17)  # the worst single move, on its own
    (correlated,) = stress_book(
        book, marks, [CorrelationToOne(VolatilitySpike(5.0))], 1_000.0, equity=10_000.0
    )
    assert correlated.pnl == pytest.approx(-272.0)
    assert correlated.position_pnls[AAPL] == pytest.approx(-170.0)


def test_correlation_to_one_moves_a_hedged_book_the_way_that_hurts_it() -> None:
    # Long 1,000 of AAPL, short 2,500 of SPY: net short 1,500, so a common 6 % rise costs 1,500 × 0.06 = 90.
    book = [_stock(AAPL, 10), _stock(SPY, -5)]
    assert _one(book, {AAPL: 100.0, SPY: 500.0}, CorrelationToOne(VolatilitySpike(5.0)))[0] == pytest.approx(
        -90.0
    )


def test_historical_scenario_uses_a_symbol_move_over_its_asset_class_move() -> None:
    # 2022-11-08: ETH -15 % (symbol), BTC -10 % (crypto class): 1 × 1,500 × 0.15 + 0.1 × 20,000 × 0.10 = 425.
    ftx = next(s for s in HISTORICAL_SCENARIOS if s.name.startswith("2022-11-08"))
    book = [
        BookPosition(instrument_key=ETH, asset_class=AssetClass.CRYPTO, quantity=1),
        BookPosition(instrument_key=BTC, asset_class=AssetClass.CRYPTO, quantity=0.1),
    ]
    assert _one(book, {ETH: 1_500.0, BTC: 20_000.0}, ftx)[0] == pytest.approx(-425.0)


def test_black_monday_drops_stocks_by_the_sp500_move() -> None:
    # S&P 500 282.70 → 224.84 on 1987-10-19: 10 × 100 × (224.84 / 282.70 − 1) = −204.7.
    black_monday = next(s for s in HISTORICAL_SCENARIOS if s.name.startswith("1987-10-19"))
    assert _one([_stock(AAPL, 10)], {AAPL: 100.0}, black_monday)[0] == pytest.approx(
        1_000.0 * (224.84 / 282.70 - 1.0), abs=0.05
    )


def test_named_days_cover_the_required_dates() -> None:
    dates = {scenario.name[:10] for scenario in HISTORICAL_SCENARIOS}
    assert {"1987-10-19", "2008-10-15", "2010-05-06", "2020-03-16", "2015-01-15", "2022-11-08"} <= dates


def test_liquidity_drought_charges_the_cost_of_getting_out() -> None:
    # Spreads x5 on a 1 bp half spread plus 0.5 % slippage: 0.0055 of 1,000 long and of 2,500 short
    # = 5.50 + 13.75 = 19.25.
    drought = LiquidityDrought(spread_multiplier=5.0, exit_slippage=0.005)
    book = [_stock(AAPL, 10), _stock(SPY, -5)]
    assert _one(book, {AAPL: 100.0, SPY: 500.0}, drought)[0] == pytest.approx(-19.25)


def test_standard_scenarios_run_on_a_mixed_book() -> None:
    book = [
        _stock(AAPL, 10),
        BookPosition(instrument_key="oanda:EUR_CHF", asset_class=AssetClass.FOREX, quantity=1_000),
        BookPosition(instrument_key=YES, asset_class=AssetClass.PREDICTION, quantity=4),
    ]
    marks = {AAPL: 100.0, "oanda:EUR_CHF": 1.20, YES: 0.25}
    results = stress_book(book, marks, standard_scenarios(), 30.0, equity=10_000.0)
    by_name = {result.scenario: result for result in results}
    # CHF day: 1,000 EUR/CHF at 1.20 down 29 % = 1,000 × 1.20 × 0.29 = 348 lost, over the 30 limit.
    chf = by_name["2015-01-15 CHF de-peg"]
    assert chf.pnl == pytest.approx(-348.0)
    assert chf.breaches_daily_loss_limit
    assert len(results) == len(standard_scenarios())


def test_a_position_without_a_mark_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=AAPL):
        stress_book([_stock(AAPL, 10)], {}, [gap_down(0.1)], 30.0, equity=1_000.0)


def test_a_scenario_cannot_move_a_price_below_zero() -> None:
    with pytest.raises(ValueError, match="above -100 %"):
        PriceShock(name="bad", description="", asset_class_moves={AssetClass.STOCK: -1.5})


# --- a strategy's backtest ---------------------------------------------------------------------------------


def _market(n_bars: int = 120, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0005, 0.01, n_bars)))
    open_ = np.concatenate(([100.0], close[:-1])) * np.exp(rng.normal(0.0, 0.002, n_bars))
    return open_, close


@pytest.mark.parametrize("scenario", standard_scenarios(), ids=lambda scenario: scenario.name)
def test_shocked_backtest_equals_the_unshocked_one_before_the_shock_bar(scenario: Scenario) -> None:
    open_, close = _market()
    targets = ((np.arange(120) // 10) % 2).astype(np.float64)
    run = stress_backtest(open_, close, targets, scenario, 60, asset_class=AssetClass.STOCK, symbol="AAPL")
    np.testing.assert_array_equal(run.shocked.equity[:60], run.baseline.equity[:60])


def test_gap_down_scales_an_all_in_long_equity_from_the_shock_bar_on() -> None:
    # All-in from bar 1 and never trading again, equity is units × close: a 20 % gap from bar 60 on
    # leaves the shocked equity at 0.8 × the unshocked one there.
    open_, close = _market()
    run = stress_backtest(
        open_, close, np.ones(120), gap_down(0.20), 60, asset_class=AssetClass.STOCK, symbol="AAPL"
    )
    np.testing.assert_allclose(run.shocked.equity[60:], 0.8 * run.baseline.equity[60:], rtol=1e-12)
    assert run.shocked.final_equity[0] < run.baseline.final_equity[0]


def test_volatility_spike_scales_log_returns_from_the_close_before_the_shock() -> None:
    open_, close = _market()
    shocked = VolatilitySpike(3.0).shock_series(open_, close, 60, AssetClass.STOCK, "AAPL")
    np.testing.assert_array_equal(shocked.close[:60], close[:60])
    np.testing.assert_allclose(
        np.log(shocked.close[60:] / close[59]), 3.0 * np.log(close[60:] / close[59]), rtol=1e-10, atol=1e-12
    )


def test_a_volatility_spike_of_some_bars_ends_and_leaves_its_extra_move_in_later_prices() -> None:
    open_, close = _market()
    shocked = VolatilitySpike(3.0, duration_bars=10).shock_series(open_, close, 60, AssetClass.STOCK, "AAPL")
    # bars 60..69: log moves from the close before the shock tripled
    np.testing.assert_allclose(
        np.log(shocked.close[60:70] / close[59]),
        3.0 * np.log(close[60:70] / close[59]),
        rtol=1e-10,
        atol=1e-12,
    )
    # from bar 70 on the original returns, shifted by the extra move: 2 x log(close[69] / close[59])
    extra = 2.0 * np.log(close[69] / close[59])
    np.testing.assert_allclose(np.log(shocked.close[70:] / close[70:]), extra, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.log(shocked.open_[70:] / open_[70:]), extra, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(shocked.close[:60], close[:60])


def test_liquidity_drought_makes_every_fill_after_the_shock_pay_the_drought_rate() -> None:
    # A strategy that only trades after bar 60 pays k × half spread + s = 5 × 0.0001 + 0.005 = 0.0055 on
    # every fill: the same as a plain run with that slippage rate.
    open_, close = _market()
    targets = np.where(np.arange(120) >= 70, ((np.arange(120) // 7) % 2).astype(np.float64), 0.0)
    drought = LiquidityDrought(spread_multiplier=5.0, exit_slippage=0.005)
    run = stress_backtest(open_, close, targets, drought, 60, asset_class=AssetClass.STOCK, symbol="AAPL")
    plain = run_targets(open_, close, targets, costs=Costs(fee_rate=0.001, slippage_rate=0.0055))
    np.testing.assert_allclose(run.shocked.equity, plain.equity, rtol=1e-12)
    assert run.shocked.final_equity[0] < run.baseline.final_equity[0]
    assert math.isclose(drought.exit_cost_rate(AssetClass.STOCK), 0.0055)
