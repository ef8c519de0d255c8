"""Two-sided quotes around a fair value (strategies/market_making.py), with the numbers by hand.

Defaults: half_spread 0.02, skew 0.001 a contract, min_edge 0.01, quote_size 10, max_inventory 10,
prices within [0.05, 0.95]; Polymarket's 0.001 tick.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from strategies.market_making import Level, QuoteParams, make_quotes

D = Decimal
TICK = D("0.001")
PARAMS = QuoteParams()


def test_flat_the_quotes_sit_half_a_spread_either_side_of_the_fair_value() -> None:
    quotes = make_quotes(0.40, D(0), D("0.370"), D("0.390"), TICK, PARAMS)
    assert quotes.reservation == pytest.approx(0.40)
    assert quotes.bid == Level(D("0.380"), D(10))  # floor(0.40 - 0.02) on the tick
    assert quotes.ask == Level(D("0.420"), D(10))  # ceil(0.40 + 0.02), not 0.421 from float noise


def test_a_long_inventory_lowers_both_quotes_and_shrinks_the_bid_to_the_limit() -> None:
    # r = 0.40 - 0.001 x 6 = 0.394: bid floor(0.374), ask ceil(0.414); bid size 10 - 6 = 4
    quotes = make_quotes(0.40, D(6), D("0.370"), D("0.390"), TICK, PARAMS)
    assert quotes.reservation == pytest.approx(0.394)
    assert quotes.bid == Level(D("0.374"), D(4))
    assert quotes.ask == Level(D("0.414"), D(10))


def test_at_the_inventory_limit_only_the_reducing_side_is_quoted() -> None:
    # long 10: no bid; r = 0.39, ask ceil(0.41) = 0.410, exactly the fair value plus min_edge
    quotes = make_quotes(0.40, D(10), D("0.370"), D("0.390"), TICK, PARAMS)
    assert quotes.bid is None and quotes.ask == Level(D("0.410"), D(10))


def test_a_bid_that_would_reach_the_ask_is_stepped_one_tick_under_it() -> None:
    # the market's ask 0.365 is under the 0.380 bid: the bid rests at 0.364, still under 0.40 - 0.01
    quotes = make_quotes(0.40, D(0), D("0.350"), D("0.365"), TICK, PARAMS)
    assert quotes.bid == Level(D("0.364"), D(10)) and quotes.ask == Level(D("0.420"), D(10))


def test_an_offer_that_would_reach_the_bid_is_stepped_one_tick_over_it() -> None:
    quotes = make_quotes(0.40, D(0), D("0.430"), D("0.450"), TICK, PARAMS)
    assert quotes.ask == Level(D("0.431"), D(10)) and quotes.bid == Level(D("0.380"), D(10))


def test_a_side_that_would_leave_less_than_the_edge_against_the_fair_value_is_dropped() -> None:
    # short 10 with skew 0.003: r = 0.40 + 0.03 = 0.43, the bid floor(0.41) = 0.410 (under the
    # market's 0.450 ask) is above 0.40 - 0.01 = 0.39, and an offer would take the position past
    # -10: no quote at all
    quotes = make_quotes(0.40, D(-10), D("0.400"), D("0.450"), TICK, PARAMS.with_values(skew=0.003))
    assert quotes.bid is None and quotes.ask is None


def test_quotes_outside_the_price_bounds_are_dropped() -> None:
    # fair 0.06: the bid floor(0.04) = 0.040 is under min_price 0.05; the offer 0.080 stays
    quotes = make_quotes(0.06, D(0), D("0.050"), D("0.070"), TICK, PARAMS)
    assert quotes.bid is None and quotes.ask == Level(D("0.080"), D(10))


def test_a_crossed_market_or_a_fair_value_outside_the_unit_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="bid < ask"):
        make_quotes(0.40, D(0), D("0.40"), D("0.39"), TICK, PARAMS)
    with pytest.raises(ValueError, match="fair value"):
        make_quotes(1.0, D(0), D("0.37"), D("0.39"), TICK, PARAMS)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"half_spread": 0.6}, "half_spread"),
        ({"min_edge": 0.03}, "no quote could keep it"),
        ({"skew": -0.001}, "must not be negative"),
        ({"min_price": 0.9, "max_price": 0.1}, "min_price"),
        ({"quote_size": 0}, "quote_size"),
    ],
)
def test_incoherent_parameters_are_refused(changes: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PARAMS.with_values(**changes)
