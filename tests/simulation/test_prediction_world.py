"""The simulated prediction world: Kalshi-style ladders, hidden outcomes, noisy forecasts, a biased crowd."""

from __future__ import annotations

import statistics
from datetime import date
from decimal import Decimal

import pytest

from domain.contracts import StrikeType
from simulation.prediction_world import (
    CITIES,
    CPI_NOWCAST_SD_PP,
    LADDER_OVERROUND,
    NWS_SD_F,
    cpi_months,
    crowd_quote,
    weather_days,
    weather_ladder,
)

START = date(2026, 2, 9)


def test_the_world_is_the_same_for_the_same_seed_and_differs_for_another() -> None:
    first = [e.true_high_f for e in weather_days(START, 5, seed=7)]

    assert first == [e.true_high_f for e in weather_days(START, 5, seed=7)]
    assert first != [e.true_high_f for e in weather_days(START, 5, seed=8)]


def test_a_ladder_has_a_tail_four_two_degree_brackets_and_a_tail_with_real_looking_tickers() -> None:
    ladder = weather_ladder(CITIES[0], START, 40)

    assert [ticker for ticker, _ in ladder] == [
        "KXHIGHCHI-26FEB09-T36",
        "KXHIGHCHI-26FEB09-B36.5",
        "KXHIGHCHI-26FEB09-B38.5",
        "KXHIGHCHI-26FEB09-B40.5",
        "KXHIGHCHI-26FEB09-B42.5",
        "KXHIGHCHI-26FEB09-T43",
    ]
    less, *brackets, greater = [strike for _, strike in ladder]
    assert less.strike_type is StrikeType.LESS and less.cap_strike == 36
    assert [(b.floor_strike, b.cap_strike) for b in brackets] == [(36, 37), (38, 39), (40, 41), (42, 43)]
    assert greater.strike_type is StrikeType.GREATER and greater.floor_strike == 43


@pytest.mark.parametrize("high", range(30, 50))
def test_exactly_one_market_of_a_ladder_pays_for_every_whole_degree(high: int) -> None:
    paying = [
        ticker for ticker, strike in weather_ladder(CITIES[0], START, 40) if strike.pays_yes(Decimal(high))
    ]

    assert len(paying) == 1


def test_each_event_settles_exactly_one_market_yes_and_its_mids_add_up_near_the_overround() -> None:
    for event in weather_days(START, 20, seed=3):
        assert sum(m.outcome_yes for m in event.markets) == 1
        mids = sum(m.crowd_price for m in event.markets)
        # each price is a bid rounded to the cent, and a mid is half a cent above its bid
        assert mids == pytest.approx(LADDER_OVERROUND + 6 * 0.005, abs=0.03)


def test_forecast_errors_have_the_documented_bands() -> None:
    events = list(weather_days(START, 250, seed=11))
    nws_errors = [e.nws_point_f - e.true_high_f for e in events]
    cpi = list(cpi_months(2020, 1, 600, seed=5))
    nowcast_errors = [c.nowcast_pct - float(c.true_mom_pct) for c in cpi]

    # 1000 draws: the sample sd is within about 5 % of the truth; rounding the truth adds sqrt(1/12)
    assert statistics.stdev(nws_errors) == pytest.approx((NWS_SD_F**2 + 1 / 12) ** 0.5, rel=0.08)
    assert statistics.stdev(nowcast_errors) == pytest.approx(
        (CPI_NOWCAST_SD_PP**2 + 0.01 / 12) ** 0.5, rel=0.1
    )
    assert all(len(e.ensemble_f) == 31 for e in events[:5])


def test_cheap_contracts_win_less_often_than_their_price_says() -> None:
    markets = [m for e in weather_days(START, 400, seed=13) for m in e.markets]
    cheap = [m for m in markets if m.crowd_price <= 0.10]

    win_rate = sum(m.outcome_yes for m in cheap) / len(cheap)
    mean_price = sum(m.crowd_price for m in cheap) / len(cheap)
    assert len(cheap) > 100 and win_rate < mean_price  # the favourite-longshot bias


def test_a_crowd_quote_is_one_cent_wide_in_whole_cents_within_1_and_99() -> None:
    assert crowd_quote(0.5) == (Decimal("0.50"), Decimal("0.51"))
    assert crowd_quote(0.0001) == (Decimal("0.01"), Decimal("0.02"))
    assert crowd_quote(0.9999) == (Decimal("0.98"), Decimal("0.99"))
    # the longshot bias: a 4 % belief trades at 7 cents
    assert crowd_quote(0.04)[0] == Decimal("0.07")
