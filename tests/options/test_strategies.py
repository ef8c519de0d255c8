"""Strategies: hand-worked payoffs, extremes and breakevens; Greeks; the payoff diagram."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from options.bsm import bsm_greeks
from options.payoff_plot import TodayCurve, plot_payoff
from options.strategies import (
    LegSpec,
    bear_put_spread,
    breakevens,
    bull_call_spread,
    bull_put_spread,
    covered_call,
    iron_condor,
    long_straddle,
    long_strangle,
    max_loss,
    max_profit,
    payoff_at_expiry,
    protective_put,
    short_straddle,
    short_strangle,
    strategy_greeks,
)

VALUATION = date(2026, 3, 2)
SPEC = LegSpec("XYZ", date(2026, 6, 19))  # 109 days out; one contract = 100 shares


def test_bull_call_spread_payoff_extremes_and_breakeven() -> None:
    # buy the 100 call for 5, write the 110 call for 2: net debit 3 a share = 300
    # S_T = 90:  both worthless            -> -300
    # S_T = 105: (105 - 100 - 3) x 100     -> +200
    # S_T = 120: (10 - 3) x 100            -> +700 (capped by the written call)
    spread = bull_call_spread(SPEC, 100.0, 110.0, 5.0, 2.0)
    np.testing.assert_allclose(payoff_at_expiry(spread, [90.0, 105.0, 120.0]), [-300.0, 200.0, 700.0])
    assert max_profit(spread) == pytest.approx(700.0)
    assert max_loss(spread) == pytest.approx(300.0)
    assert breakevens(spread) == pytest.approx((103.0,))  # 100 + 3 of debit


def test_long_straddle_payoff_extremes_and_breakevens() -> None:
    # buy the 100 call for 5 and the 100 put for 4: cost 9 a share = 900
    # S_T = 80:  (20 - 9) x 100 = +1,100;  S_T = 100: -900;  S_T = 120: (20 - 9) x 100 = +1,100
    straddle = long_straddle(SPEC, 100.0, call_premium=5.0, put_premium=4.0)
    np.testing.assert_allclose(payoff_at_expiry(straddle, [80.0, 100.0, 120.0]), [1100.0, -900.0, 1100.0])
    assert max_profit(straddle) == math.inf  # the call keeps paying as S_T rises
    assert max_loss(straddle) == pytest.approx(900.0)
    assert breakevens(straddle) == pytest.approx((91.0, 109.0))  # 100 -/+ 9


def test_iron_condor_payoff_extremes_and_breakevens() -> None:
    # buy 80 put 0.50, write 90 put 1.50, write 110 call 1.50, buy 120 call 0.50:
    # credit = -0.5 + 1.5 + 1.5 - 0.5 = 2.00 a share = 200
    # S_T = 70:  put spread at full width 10: (2 - 10) x 100 = -800
    # S_T = 85:  written 90 put pays out 5:   (2 - 5) x 100 = -300
    # S_T = 100: everything expires worthless: +200
    # S_T = 130: call spread at full width:  -800
    condor = iron_condor(SPEC, (80.0, 90.0, 110.0, 120.0), (0.5, 1.5, 1.5, 0.5))
    np.testing.assert_allclose(
        payoff_at_expiry(condor, [70.0, 85.0, 100.0, 130.0]), [-800.0, -300.0, 200.0, -800.0]
    )
    assert max_profit(condor) == pytest.approx(200.0)
    assert max_loss(condor) == pytest.approx(800.0)  # width 10 - credit 2, x 100
    assert breakevens(condor) == pytest.approx((88.0, 112.0))  # 90 - 2 and 110 + 2


def test_covered_call_caps_profit_and_keeps_the_stock_downside() -> None:
    # own 100 shares at 100, write the 105 call for 2: max profit (105 - 100 + 2) x 100 = 700,
    # worst case the stock goes to 0: (0 - 100 + 2) x 100 = -9,800; breakeven 100 - 2 = 98
    covered = covered_call(SPEC, stock_price=100.0, strike=105.0, premium=2.0)
    assert max_profit(covered) == pytest.approx(700.0)
    assert max_loss(covered) == pytest.approx(9800.0)
    assert breakevens(covered) == pytest.approx((98.0,))


def test_protective_put_floors_the_loss() -> None:
    # own 100 shares at 100, buy the 95 put for 3: floor (95 - 100 - 3) x 100 = -800, breakeven 103
    hedged = protective_put(SPEC, stock_price=100.0, strike=95.0, premium=3.0)
    assert max_loss(hedged) == pytest.approx(800.0)
    assert max_profit(hedged) == math.inf
    assert breakevens(hedged) == pytest.approx((103.0,))


def test_short_straddle_and_strangle_have_unbounded_loss() -> None:
    straddle = short_straddle(SPEC, 100.0, call_premium=5.0, put_premium=4.0)
    assert max_loss(straddle) == math.inf
    assert max_profit(straddle) == pytest.approx(900.0)
    # short 95 put 2 / 105 call 3: credit 5; breakevens 95 - 5 = 90 and 105 + 5 = 110
    strangle = short_strangle(SPEC, 95.0, 105.0, put_premium=2.0, call_premium=3.0)
    assert max_loss(strangle) == math.inf
    assert breakevens(strangle) == pytest.approx((90.0, 110.0))


def test_long_strangle_loss_is_the_premium_paid() -> None:
    strangle = long_strangle(SPEC, 95.0, 105.0, put_premium=2.0, call_premium=3.0)
    assert max_loss(strangle) == pytest.approx(500.0)
    assert breakevens(strangle) == pytest.approx((90.0, 110.0))


def test_put_spreads_mirror_each_other() -> None:
    # bear put: buy 110 put for 8, write 100 put for 3: debit 5; max profit (10 - 5) x 100 = 500
    bear = bear_put_spread(SPEC, 100.0, 110.0, lower_premium=3.0, upper_premium=8.0)
    assert (max_profit(bear), max_loss(bear)) == pytest.approx((500.0, 500.0))
    assert breakevens(bear) == pytest.approx((105.0,))
    bull = bull_put_spread(SPEC, 100.0, 110.0, lower_premium=3.0, upper_premium=8.0)
    np.testing.assert_allclose(payoff_at_expiry(bull, [95.0, 108.0]), -payoff_at_expiry(bear, [95.0, 108.0]))


def test_strategy_greeks_sum_the_legs() -> None:
    # long straddle at 100: 100 x (call Greeks + put Greeks); t = 109/365
    straddle = long_straddle(SPEC, 100.0, call_premium=5.0, put_premium=4.0)
    greeks = strategy_greeks(straddle, 100.0, 0.25, 0.03, 0.0, VALUATION)
    t = 109 / 365
    call, put = bsm_greeks(True, 100.0, 100.0, t, 0.03, 0.25), bsm_greeks(False, 100.0, 100.0, t, 0.03, 0.25)
    assert float(greeks.delta) == pytest.approx(100 * (float(call.delta) + float(put.delta)), rel=1e-12)
    assert float(greeks.vega) == pytest.approx(200 * float(call.vega), rel=1e-12)  # equal vegas
    short = strategy_greeks(short_straddle(SPEC, 100.0, 5.0, 4.0), 100.0, 0.25, 0.03, 0.0, VALUATION)
    assert float(short.gamma) == pytest.approx(-float(greeks.gamma), rel=1e-12)


def test_strikes_out_of_order_are_refused() -> None:
    with pytest.raises(ValueError, match="increasing strikes"):
        iron_condor(SPEC, (80.0, 110.0, 90.0, 120.0), (0.5, 1.5, 1.5, 0.5))


def test_plot_payoff_writes_a_png(tmp_path: Path) -> None:
    condor = iron_condor(SPEC, (80.0, 90.0, 110.0, 120.0), (0.5, 1.5, 1.5, 0.5))
    path = plot_payoff(
        condor, tmp_path / "condor.png", spot=100.0, today=TodayCurve(0.25, 0.03, 0.0, VALUATION)
    )
    assert path.exists()
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
