"""The price of a sure dollar across two venues: YES on one, NO on the other, of the same question.

Our instruments are YES contracts on both venues. YES is bought at the ask; NO is bought by
selling YES at the bid, and costs 1 - bid. Holding YES on one venue and NO on the other pays
exactly $1 at settlement whatever happens, provided both settle on the same source (the
matcher, `bots.polymarket.matching`, refuses pairs that do not). So a pair costs

    cost = yes_price + no_price + (fee_yes + fee_no) / contracts,    edge = 1 - cost,

each leg's taker fee taken from its venue's schedule for the whole order of `contracts`
(Kalshi rounds an order's fee up to the cent, so the count matters). The NO leg is a sale of
YES at the bid, so its fee is charged on the YES price traded, fee(contracts, bid); Kalshi's
0.07 C P (1 - P) and Polymarket's rate C P (1 - P) are symmetric in P, so it is the same fee as
a NO bought at 1 - bid would pay.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain.fees import FeeSchedule

__all__ = ["KALSHI", "POLYMARKET", "ArbitrageQuote", "Book", "best_arbitrage", "pair_cost"]

KALSHI = "kalshi"
POLYMARKET = "polymarket"
_ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class Book:
    """The best bid and ask of a market's YES contract, in dollars."""

    bid: Decimal
    ask: Decimal

    def __post_init__(self) -> None:
        if not (self.bid.is_finite() and self.ask.is_finite() and 0 < self.bid < self.ask < 1):
            raise ValueError(f"a book needs 0 < bid < ask < 1, got bid {self.bid} and ask {self.ask}")


@dataclass(frozen=True, slots=True)
class ArbitrageQuote:
    """One direction of the trade: buy YES on `yes_venue` at `yes_price`, NO on `no_venue` at `no_price`.

    `fees` is both legs' taker fees for `contracts` contracts, in dollars; `cost` and `edge` are per
    pair (one YES plus one NO), fees included.
    """

    yes_venue: str
    no_venue: str
    yes_price: Decimal
    no_price: Decimal
    fees: Decimal
    cost: Decimal
    edge: Decimal
    contracts: Decimal


def pair_cost(
    yes_book: Book,
    no_book: Book,
    yes_fees: FeeSchedule,
    no_fees: FeeSchedule,
    contracts: Decimal,
    venues: tuple[str, str],
) -> ArbitrageQuote:
    """YES taken at `yes_book`'s ask, NO by selling YES at `no_book`'s bid, `contracts` of each."""
    if not (contracts.is_finite() and contracts > 0):
        raise ValueError(f"an arbitrage needs a positive contract count, got {contracts}")
    yes_price = yes_book.ask
    no_price = _ONE - no_book.bid
    fees = yes_fees.fee(contracts, yes_book.ask, False) + no_fees.fee(contracts, no_book.bid, False)
    cost = yes_price + no_price + fees / contracts
    return ArbitrageQuote(venues[0], venues[1], yes_price, no_price, fees, cost, _ONE - cost, contracts)


def best_arbitrage(
    kalshi: Book,
    polymarket: Book,
    kalshi_fees: FeeSchedule,
    polymarket_fees: FeeSchedule,
    contracts: Decimal,
) -> ArbitrageQuote | None:
    """The direction with the larger positive edge after both legs' fees, or None when neither pays.

    (At most one direction can be positive before fees: YES Kalshi + NO Polymarket needs Kalshi's ask
    under Polymarket's bid, the other direction Polymarket's ask under Kalshi's bid.)
    """
    candidates = (
        pair_cost(kalshi, polymarket, kalshi_fees, polymarket_fees, contracts, (KALSHI, POLYMARKET)),
        pair_cost(polymarket, kalshi, polymarket_fees, kalshi_fees, contracts, (POLYMARKET, KALSHI)),
    )
    best = max(candidates, key=lambda quote: quote.edge)
    return best if best.edge > 0 else None
