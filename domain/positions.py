"""Positions, their exit plans, and closed trades.

A position is rebuilt from its fills by `apply_fill`, a pure function, so the
books can always be recomputed from the fill journal and compared.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from domain.orders import Fill
from domain.signals import Side

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class ExitPlan:
    """The exits fixed at entry: stop at 1R, a third off at 1R, a third at 2R, the rest trailing.

    `risk_per_unit` is R: the distance from entry to the initial stop.
    `stop_price` is the live stop (moved to break-even after the first target,
    then ratcheted by the 1.5 ATR trail after the second); `best_price` is the
    most favourable price seen since entry, which the trail follows.
    """

    side: Side
    entry_price: Decimal
    stop_price: Decimal
    risk_per_unit: Decimal
    initial_quantity: Decimal
    atr: Decimal
    best_price: Decimal
    first_target_done: bool = False
    second_target_done: bool = False
    trail_atr_multiple: Decimal = Decimal("1.5")
    # a target exit the venue filled only in part leaves this much to sell at the next check
    target_shortfall: Decimal = Decimal(0)

    @property
    def first_target(self) -> Decimal:
        return self.entry_price + self.side.sign * self.risk_per_unit

    @property
    def second_target(self) -> Decimal:
        return self.entry_price + self.side.sign * 2 * self.risk_per_unit


@dataclass(frozen=True, slots=True)
class Position:
    """A bot's net holding of one instrument. `quantity` is signed (short < 0)."""

    bot: str
    instrument_key: str
    quantity: Decimal = ZERO
    average_entry_price: Decimal = ZERO
    realized_pnl: Decimal = ZERO  # gross of fees, since the position opened
    fees: Decimal = ZERO
    opened_at: datetime | None = None
    entry_quantity: Decimal = ZERO  # total bought (long) or sold (short) to open
    exit_quantity: Decimal = ZERO
    exit_value: Decimal = ZERO
    exit_plan: ExitPlan | None = None

    @property
    def is_open(self) -> bool:
        return self.quantity != 0

    @property
    def side(self) -> Side | None:
        if self.quantity > 0:
            return Side.BUY
        if self.quantity < 0:
            return Side.SELL
        return None

    def unrealized_pnl(self, mark_price: Decimal) -> Decimal:
        return (mark_price - self.average_entry_price) * self.quantity

    def notional(self, mark_price: Decimal) -> Decimal:
        return abs(self.quantity) * mark_price


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """A round trip from flat to flat, with P&L after fees."""

    bot: str
    instrument_key: str
    side: Side
    quantity: Decimal
    entry_price: Decimal
    exit_price: Decimal
    gross_pnl: Decimal
    fees: Decimal
    opened_at: datetime
    closed_at: datetime

    @property
    def net_pnl(self) -> Decimal:
        return self.gross_pnl - self.fees


def apply_fill(position: Position, fill: Fill) -> tuple[Position, ClosedTrade | None]:
    """Return the position after `fill`, and the trade it closed if it went flat.

    A fill that crosses through zero closes the old position (a ClosedTrade)
    and opens the remainder at the fill price; the exit plan is dropped then,
    since it belonged to the old position.
    """
    signed = fill.quantity * fill.side.sign
    qty = position.quantity
    if qty == 0 or (qty > 0) == (signed > 0):
        return _add(position, fill, signed), None

    closing = min(abs(signed), abs(qty))
    direction = 1 if qty > 0 else -1
    realized = (fill.price - position.average_entry_price) * closing * direction
    fee_share = fill.fee * closing / fill.quantity
    after = replace(
        position,
        quantity=qty + closing * -direction,
        realized_pnl=position.realized_pnl + realized,
        fees=position.fees + fee_share,
        exit_quantity=position.exit_quantity + closing,
        exit_value=position.exit_value + closing * fill.price,
    )
    if after.quantity != 0:
        return after, None

    opened_at = position.opened_at or fill.time
    trade = ClosedTrade(
        bot=position.bot,
        instrument_key=position.instrument_key,
        side=Side.BUY if direction > 0 else Side.SELL,
        quantity=after.entry_quantity,
        entry_price=position.average_entry_price,
        exit_price=after.exit_value / after.exit_quantity,
        gross_pnl=after.realized_pnl,
        fees=after.fees,
        opened_at=opened_at,
        closed_at=fill.time,
    )
    flat = Position(bot=position.bot, instrument_key=position.instrument_key)
    remainder = abs(signed) - closing
    if remainder == 0:
        return flat, trade
    rest_fill = replace(fill, quantity=remainder, fee=fill.fee - fee_share)
    reopened, _ = apply_fill(flat, rest_fill)
    return reopened, trade


def _add(position: Position, fill: Fill, signed: Decimal) -> Position:
    new_qty = position.quantity + signed
    total_cost = position.average_entry_price * abs(position.quantity) + fill.price * fill.quantity
    return replace(
        position,
        quantity=new_qty,
        average_entry_price=total_cost / abs(new_qty),
        fees=position.fees + fill.fee,
        opened_at=position.opened_at or fill.time,
        entry_quantity=position.entry_quantity + fill.quantity,
    )
