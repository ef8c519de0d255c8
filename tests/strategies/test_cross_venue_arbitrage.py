"""The sure dollar across Kalshi and Polymarket: both directions, both legs' fees, worked by hand.

Fee oracles: Kalshi's taker fee is ceil(7 C Pc (100 - Pc) / 10 000) cents (Pc in cents), whose
published rows (prediction-markets.md §1.8) give $1.68 for 100 contracts at 40 ¢ (or 60 ¢);
Polymarket's is C × 0.05 × p (1 - p) here (the weather and economics rate, §2.4).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.fees import KalshiFees, PolymarketFees
from strategies.cross_venue_arbitrage import ArbitrageQuote, Book, best_arbitrage

D = Decimal
KALSHI_FEES = KalshiFees()
POLYMARKET_FEES = PolymarketFees(D("0.05"))


def arbitrage(kalshi: Book, polymarket: Book, contracts: int = 100) -> ArbitrageQuote | None:
    return best_arbitrage(kalshi, polymarket, KALSHI_FEES, POLYMARKET_FEES, D(contracts))


def test_yes_on_kalshi_and_no_on_polymarket_when_kalshis_ask_is_under_polymarkets_bid() -> None:
    quote = arbitrage(Book(D("0.40"), D("0.42")), Book(D("0.470"), D("0.490")))

    # YES at Kalshi's ask 0.42, NO by selling Polymarket's YES at 0.470: 1 - 0.470 = 0.530
    # Kalshi: ceil(7 × 100 × 42 × 58 / 10 000) = ceil(170.52) = 171 ¢ = $1.71
    # Polymarket: 100 × 0.05 × 0.47 × 0.53 = 5 × 0.2491 = $1.2455
    # cost per pair: 0.42 + 0.53 + (1.71 + 1.2455) / 100 = 0.95 + 0.029555 = 0.979555
    assert quote == ArbitrageQuote(
        yes_venue="kalshi",
        no_venue="polymarket",
        yes_price=D("0.42"),
        no_price=D("0.530"),
        fees=D("2.9555"),
        cost=D("0.979555"),
        edge=D("0.020445"),
        contracts=D(100),
    )


def test_kalshi_fee_from_the_published_table_row() -> None:
    quote = arbitrage(Book(D("0.38"), D("0.40")), Book(D("0.450"), D("0.470")))

    # Kalshi 100 @ 0.40: the table's $1.68; Polymarket 100 × 0.05 × 0.45 × 0.55 = $1.2375
    # cost: 0.40 + 0.55 + (1.68 + 1.2375) / 100 = 0.95 + 0.029175 = 0.979175
    assert quote is not None
    assert (quote.fees, quote.cost, quote.edge) == (D("2.9175"), D("0.979175"), D("0.020825"))


def test_yes_on_polymarket_and_no_on_kalshi_when_polymarkets_ask_is_under_kalshis_bid() -> None:
    quote = arbitrage(Book(D("0.60"), D("0.62")), Book(D("0.540"), D("0.560")))

    # YES at Polymarket's ask 0.560, NO by selling Kalshi's YES at 0.60: 1 - 0.60 = 0.40
    # Polymarket: 100 × 0.05 × 0.56 × 0.44 = 5 × 0.2464 = $1.232
    # Kalshi, charged on the YES price traded (0.60): 7 × 100 × 60 × 40 / 10 000 = 168 ¢ (the 40 ¢ row)
    # cost: 0.56 + 0.40 + (1.232 + 1.68) / 100 = 0.96 + 0.02912 = 0.98912
    assert quote is not None
    assert (quote.yes_venue, quote.no_venue) == ("polymarket", "kalshi")
    assert (quote.yes_price, quote.no_price) == (D("0.560"), D("0.40"))
    assert (quote.fees, quote.cost, quote.edge) == (D("2.912"), D("0.98912"), D("0.01088"))


def test_a_price_gap_the_fees_eat_is_no_arbitrage() -> None:
    # before fees YES Kalshi at 0.47 + NO Polymarket at 1 - 0.490 = 0.98: two cents under a dollar;
    # fees: Kalshi ceil(7 × 100 × 47 × 53 / 10 000) = ceil(174.37) = $1.75, Polymarket
    # 100 × 0.05 × 0.49 × 0.51 = $1.2495; 0.98 + 0.029995 = 1.009995 > 1
    # (the other direction, 0.510 + (1 - 0.45) = 1.06, is worse)
    assert arbitrage(Book(D("0.45"), D("0.47")), Book(D("0.490"), D("0.510"))) is None


def test_fees_round_per_order_so_one_contract_keeps_less_of_the_edge() -> None:
    quote = arbitrage(Book(D("0.40"), D("0.42")), Book(D("0.470"), D("0.490")), contracts=1)

    # Kalshi: ceil(7 × 1 × 42 × 58 / 10 000) = ceil(1.7052) = 2 ¢; Polymarket 0.05 × 0.2491 = $0.012455
    # cost: 0.95 + 0.032455 = 0.982455, against 0.979555 for 100 contracts
    assert quote is not None
    assert (quote.fees, quote.edge) == (D("0.032455"), D("0.017545"))


def test_crossed_or_out_of_range_books_and_no_contracts_are_refused() -> None:
    with pytest.raises(ValueError, match="bid"):
        Book(D("0.50"), D("0.50"))
    with pytest.raises(ValueError, match="bid"):
        Book(D("0"), D("0.10"))
    with pytest.raises(ValueError, match="bid"):
        Book(D("0.90"), D("1"))
    with pytest.raises(ValueError, match="contract count"):
        arbitrage(Book(D("0.40"), D("0.42")), Book(D("0.470"), D("0.490")), contracts=0)
