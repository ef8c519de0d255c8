"""Option positions in the risk limits: counted by their delta-adjusted exposure, not their premium.

The oracle for the delta is QuantLib's analytic European engine; the limits are the risk
engine's own, on the book of `test_risk_engine` (equity 10,000, gross cap 80 %).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import QuantLib as ql

from domain.signals import ReasonCode, Side
from options.contracts import OptionContract, OptionKind
from options.portfolio import OptionPosition
from risk_management.option_exposure import option_exposure
from tests.factories import signal, stock
from tests.risk_management.test_risk_engine import assess, book, exposure

TODAY = date(2026, 3, 2)
EXPIRY = date(2026, 6, 1)
SPOT, VOL, RATE = 100.0, 0.20, 0.04


def quantlib_delta(kind: OptionKind, strike: float) -> float:
    today = ql.Date(TODAY.day, TODAY.month, TODAY.year)
    ql.Settings.instance().evaluationDate = today
    day_count = ql.Actual365Fixed()
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(SPOT)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, 0.0, day_count)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, RATE, day_count)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), VOL, day_count)),
    )
    option_type = ql.Option.Call if kind is OptionKind.CALL else ql.Option.Put
    option = ql.VanillaOption(
        ql.PlainVanillaPayoff(option_type, strike),
        ql.EuropeanExercise(ql.Date(EXPIRY.day, EXPIRY.month, EXPIRY.year)),
    )
    option.setPricingEngine(ql.AnalyticEuropeanEngine(process))
    return float(option.delta())


def spy_options(kind: OptionKind, contracts: float, strike: float = 100.0, premium: float = 4.5):  # type: ignore[no-untyped-def]
    position = OptionPosition(OptionContract("SPY", kind, strike, EXPIRY), contracts, premium)
    return option_exposure(
        "options-bot",
        f"alpaca-us:SPY260601{'C' if kind is OptionKind.CALL else 'P'}00100000",
        position,
        mark_price=Decimal(str(premium)),
        spot=SPOT,
        vol=VOL,
        rate=RATE,
        dividend=0.0,
        valuation_date=TODAY,
    )


def test_an_options_exposure_is_delta_times_contracts_times_multiplier_times_spot() -> None:
    calls = spy_options(OptionKind.CALL, 2)
    expected = quantlib_delta(OptionKind.CALL, 100.0) * 2 * 100 * SPOT  # about 0.56 x 200 x 100
    assert calls.delta_notional is not None
    assert abs(float(calls.delta_notional) - expected) < 0.01
    assert calls.notional == abs(calls.delta_notional)  # not the premium's 2 x 100 x 4.50 = 900
    assert calls.stance is not None and (calls.underlying, calls.stance.direction) == ("SPY", 1)
    written_puts = spy_options(OptionKind.PUT, -2)
    assert written_puts.stance is not None and written_puts.stance.direction == 1  # short a put: long SPY
    long_puts = spy_options(OptionKind.PUT, 2)
    assert long_puts.delta_notional is not None and long_puts.delta_notional < 0
    assert long_puts.stance is not None and long_puts.stance.direction == -1


def test_the_gross_cap_counts_an_options_delta_exposure_not_its_premium() -> None:
    # two calls: premium 900, but about 5,600 of SPY by delta; with 2,500 of QQQ the 8,000 cap is full
    calls = spy_options(OptionKind.CALL, 2)
    full = book(open_exposures=(calls, exposure("QQQ", "25", "100")))
    assert full.gross_exposure > Decimal(8_000)
    assert assess(signal(stock("IWM")), snapshot=full).decision.reason_code is ReasonCode.GROSS_EXPOSURE
    # the same book counted by premium would have left room for the entry
    by_premium = book(open_exposures=(exposure("SPYC", "200", "4.5"), exposure("QQQ", "25", "100")))
    assert assess(signal(stock("IWM")), snapshot=by_premium).decision.passed


def test_a_short_stock_entry_against_held_calls_is_a_contradiction() -> None:
    calls = spy_options(OptionKind.CALL, 1)
    held = book(open_exposures=(calls,))
    short = assess(signal(stock("SPY"), Side.SELL, stop=102.0), snapshot=held)
    assert short.decision.reason_code is ReasonCode.CONTRADICTORY_POSITION
