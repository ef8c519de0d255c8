"""Exact prediction-market trading fees, in Decimal (never float).

Kalshi (fee schedule; docs `fee_rounding`): per order,
    fee = round_up_to_cent(multiplier x rate x C x P x (1 - P))
with rate 0.07 for takers; makers pay 0.0175 only on series whose `fee_type`
is `quadratic_with_maker_fees` (0.035 on `quadratic_with_combo_maker_fees`,
whose maker multiplier is 0.5 instead of 0.25) and nothing otherwise. C is the
contract count and P the price in dollars. In float, 0.07 x 100 x 0.5 x 0.5 is
1.7500000000000002 and rounds up to $1.76; Kalshi charges $1.75.

Polymarket (CLOB V2): takers pay C x rate x (P(1 - P))^exponent, read per market
from its `feeSchedule`; makers pay nothing. The exchange settles in pUSD with 6
decimals, so the fee is rounded up to $0.000001 here (the venue's own rounding
is not documented; up is the conservative side for sizing).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, localcontext
from enum import StrEnum
from typing import Protocol


class FeeSchedule(Protocol):
    """The fee of one fill. Paper venues charge it; sizing reads the cost per contract from it."""

    def fee(self, quantity: Decimal, price: Decimal, maker: bool) -> Decimal: ...


FEE_LOT = Decimal(100)


def taker_fee_per_contract(schedule: FeeSchedule, price: Decimal, lot: Decimal = FEE_LOT) -> Decimal:
    """The taker fee of one contract at `price`, as the fee of `lot` contracts divided out: a venue
    that rounds an order's fee up to the cent (Kalshi) would overstate a single contract's."""
    return schedule.fee(lot, price, False) / lot


CENT = Decimal("0.01")
MICRO_DOLLAR = Decimal("0.000001")
KALSHI_TAKER_RATE = Decimal("0.07")
ONE = Decimal(1)


class KalshiFeeType(StrEnum):
    QUADRATIC = "quadratic"
    QUADRATIC_WITH_MAKER_FEES = "quadratic_with_maker_fees"
    QUADRATIC_WITH_COMBO_MAKER_FEES = "quadratic_with_combo_maker_fees"
    FLAT = "flat"


_KALSHI_MAKER_SHARE = {
    KalshiFeeType.QUADRATIC: Decimal(0),
    KalshiFeeType.QUADRATIC_WITH_MAKER_FEES: Decimal("0.25"),
    KalshiFeeType.QUADRATIC_WITH_COMBO_MAKER_FEES: Decimal("0.5"),
}


def _check_price(price: Decimal) -> None:
    if not price.is_finite() or not ZERO < price < ONE:
        raise ValueError(f"a prediction-market price must lie strictly between 0 and 1, got {price}")


def _check_contracts(contracts: Decimal) -> None:
    if not contracts.is_finite() or contracts < 0:
        raise ValueError(f"contract count must be a non-negative number, got {contracts}")


ZERO = Decimal(0)


def kalshi_fee(
    contracts: Decimal,
    price: Decimal,
    *,
    maker: bool = False,
    fee_type: KalshiFeeType = KalshiFeeType.QUADRATIC,
    multiplier: Decimal = ONE,
) -> Decimal:
    """Kalshi's fee in dollars for one order of `contracts` at `price`, rounded up to the cent."""
    _check_contracts(contracts)
    _check_price(price)
    if fee_type is KalshiFeeType.FLAT:
        raise ValueError("flat-fee Kalshi series use a specific fee table this model does not know")
    if not multiplier.is_finite() or multiplier < 0:
        raise ValueError(f"fee multiplier must be a non-negative number, got {multiplier}")
    rate = KALSHI_TAKER_RATE * (_KALSHI_MAKER_SHARE[fee_type] if maker else ONE)
    with localcontext() as ctx:
        ctx.prec = 50  # exact for any realistic count and a 4- or 6-decimal price
        raw = multiplier * rate * contracts * price * (ONE - price)
        return raw.quantize(CENT, rounding=ROUND_CEILING)


def polymarket_fee(
    contracts: Decimal, price: Decimal, *, rate: Decimal, exponent: Decimal = ONE, maker: bool = False
) -> Decimal:
    """Polymarket's taker fee in dollars (makers pay nothing), rounded up to $0.000001."""
    _check_contracts(contracts)
    _check_price(price)
    if not rate.is_finite() or rate < 0:
        raise ValueError(f"fee rate must be a non-negative number, got {rate}")
    if maker:
        return ZERO
    with localcontext() as ctx:
        ctx.prec = 50
        variance = price * (ONE - price)
        factor = variance if exponent == ONE else variance**exponent
        return (contracts * rate * factor).quantize(MICRO_DOLLAR, rounding=ROUND_CEILING)


@dataclass(frozen=True, slots=True)
class KalshiFees:
    """A Kalshi series' fee schedule as a paper venue's fee model (`fee(quantity, price, maker)`)."""

    fee_type: KalshiFeeType = KalshiFeeType.QUADRATIC
    multiplier: Decimal = ONE

    def fee(self, quantity: Decimal, price: Decimal, maker: bool) -> Decimal:
        return kalshi_fee(quantity, price, maker=maker, fee_type=self.fee_type, multiplier=self.multiplier)


@dataclass(frozen=True, slots=True)
class PolymarketFees:
    """A Polymarket market's fee schedule (`feeSchedule.rate`, `exponent`) as a fee model."""

    rate: Decimal
    exponent: Decimal = ONE

    def fee(self, quantity: Decimal, price: Decimal, maker: bool) -> Decimal:
        return polymarket_fee(quantity, price, rate=self.rate, exponent=self.exponent, maker=maker)
