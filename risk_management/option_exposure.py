"""An option position as the risk limits see it: its delta-adjusted exposure to the underlying.

The premium of a call says little about the risk it carries: ten at-the-money calls on a $100
stock cost about $4,000 but move like 500 shares, $50,000 of stock. So the limits count an
option by delta x contracts x multiplier x spot (`options.portfolio.delta_adjusted_exposure`,
BSM for European exercise, a CRR tree for American), and it bets on its underlying the way its
delta points: a long call or a short put is long the underlying, a long put or a short call
short, for the contradictory-position blocker. Pure: the caller brings the spot, the volatility
and the valuation date.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from domain.instruments import AssetClass
from options.portfolio import OptionPosition, delta_adjusted_exposure
from risk_management.engine import Exposure
from risk_management.underlying import Stance, underlying_of


def option_exposure(
    bot: str,
    instrument_key: str,
    position: OptionPosition,
    *,
    mark_price: Decimal,
    spot: float,
    vol: float,
    rate: float,
    dividend: float,
    valuation_date: date,
    asset_class: AssetClass = AssetClass.STOCK,
) -> Exposure:
    """The `Exposure` of `position` (`mark_price` the option's premium per share) on `valuation_date`."""
    delta_notional = Decimal(
        str(delta_adjusted_exposure([position], spot, vol, rate, dividend, valuation_date))
    ).quantize(Decimal("0.01"))
    direction = 1 if delta_notional > 0 else -1 if delta_notional < 0 else 0
    return Exposure(
        bot=bot,
        instrument_key=instrument_key,
        underlying=underlying_of(position.underlying, asset_class),
        asset_class=asset_class.value,
        signed_quantity=Decimal(str(position.shares_controlled)),
        mark_price=mark_price,
        stance=Stance(underlying_of(position.underlying, asset_class), direction, asset_class=asset_class),
        delta_notional=delta_notional,
    )
