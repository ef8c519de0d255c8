"""Scaled exits fixed at entry: stop at 1R, a third off at 1R, a third at 2R, the rest trailing.

R is the distance from entry to the initial stop. After the first target the
stop moves to break-even, so a winner that has paid once cannot become a loser;
after the second, the remaining third rides a 1.5 ATR trailing stop that only
ever tightens. All functions are pure: plan in, plan and step out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum

from domain.instruments import AssetClass, Instrument
from domain.positions import ClosedTrade, ExitPlan
from domain.signals import Side

TARGET_FRACTION = Decimal("0.33")


class ExitKind(StrEnum):
    STOP = "stop"
    FIRST_TARGET = "first_target"
    SECOND_TARGET = "second_target"
    TRAILING_STOP = "trailing_stop"
    TARGET_REMAINDER = "target_remainder"


@dataclass(frozen=True, slots=True)
class ExitStep:
    kind: ExitKind
    quantity: Decimal
    trigger_price: Decimal
    reason: str


def build_exit_plan(
    side: Side, entry_price: Decimal, stop_price: Decimal, atr: Decimal | None, quantity: Decimal
) -> ExitPlan:
    """The plan for a fresh position. Without an ATR the trail uses R/2 (stops sit near 2 ATR)."""
    risk = abs(entry_price - stop_price)
    if risk == 0:
        raise ValueError(f"stop {stop_price} equals entry {entry_price}: R would be zero")
    if (stop_price - entry_price) * side.sign > 0:
        raise ValueError(
            f"stop {stop_price} is on the wrong side of entry {entry_price} for a {side} position"
        )
    trail_unit = atr if atr is not None and atr > 0 else risk / 2
    return ExitPlan(
        side=side,
        entry_price=entry_price,
        stop_price=stop_price,
        risk_per_unit=risk,
        initial_quantity=quantity,
        atr=trail_unit,
        best_price=entry_price,
    )


def evaluate_exit(
    plan: ExitPlan, open_quantity: Decimal, price: Decimal, lot_size: Decimal
) -> tuple[ExitPlan, ExitStep | None]:
    """Advance the plan with a new price; return it with the exit to send now, if any.

    `open_quantity` is the unsigned quantity still held. At most one step is
    returned per call; a price that jumps through both targets takes the first
    now and the second on the next call.
    """
    if open_quantity <= 0:
        return plan, None
    sign = plan.side.sign
    best = max(plan.best_price, price) if sign > 0 else min(plan.best_price, price)
    plan = replace(plan, best_price=best)
    if plan.second_target_done:
        trail = best - sign * plan.trail_atr_multiple * plan.atr
        tighter = max(plan.stop_price, trail) if sign > 0 else min(plan.stop_price, trail)
        plan = replace(plan, stop_price=tighter)

    if (price - plan.stop_price) * sign <= 0:
        kind = ExitKind.TRAILING_STOP if plan.second_target_done else ExitKind.STOP
        reason = f"{kind.value} hit: price {price} through stop {plan.stop_price}"
        return plan, ExitStep(kind, open_quantity, plan.stop_price, reason)

    if plan.target_shortfall > 0:
        # the rest of a target the venue filled only in part: the target was reached, sell it now
        quantity = min(plan.target_shortfall, open_quantity)
        plan = replace(plan, target_shortfall=Decimal(0))
        reason = f"rest of a partly filled target: {quantity} at {price}"
        return plan, ExitStep(ExitKind.TARGET_REMAINDER, quantity, price, reason)

    if not plan.first_target_done and (price - plan.first_target) * sign >= 0:
        quantity = _target_quantity(plan, open_quantity, lot_size)
        plan = replace(plan, first_target_done=True, stop_price=_break_even(plan))
        if quantity == 0:
            return plan, None
        reason = f"first target {plan.first_target} (1R) reached at {price}; stop to break-even"
        return plan, ExitStep(ExitKind.FIRST_TARGET, quantity, plan.first_target, reason)

    if plan.first_target_done and not plan.second_target_done and (price - plan.second_target) * sign >= 0:
        quantity = _target_quantity(plan, open_quantity, lot_size)
        plan = replace(plan, second_target_done=True)
        if quantity == 0:
            return plan, None
        reason = f"second target {plan.second_target} (2R) reached at {price}; trailing the rest"
        return plan, ExitStep(ExitKind.SECOND_TARGET, quantity, plan.second_target, reason)
    return plan, None


def _break_even(plan: ExitPlan) -> Decimal:
    if plan.side.sign > 0:
        return max(plan.stop_price, plan.entry_price)
    return min(plan.stop_price, plan.entry_price)


def _target_quantity(plan: ExitPlan, open_quantity: Decimal, lot_size: Decimal) -> Decimal:
    """A third of the initial size, rounded down to the lot, never more than is held."""
    raw = plan.initial_quantity * TARGET_FRACTION
    lots = (raw / lot_size).quantize(Decimal(1), rounding=ROUND_DOWN)
    return min(lots * lot_size, open_quantity)


def risk_taken(trade: ClosedTrade, plan: ExitPlan | None, instrument: Instrument) -> Decimal:
    """What the trade risked at entry, in money: R (the stop distance x the quantity opened) when it
    had an exit plan; otherwise the most it could lose: a prediction contract's price paid (YES) or
    1 - price (NO, a YES sold), any other position's notional."""
    if plan is not None and plan.risk_per_unit > 0:
        return plan.risk_per_unit * plan.initial_quantity
    if instrument.asset_class is AssetClass.PREDICTION and trade.side is Side.SELL:
        return trade.quantity * (Decimal(1) - trade.entry_price)
    return trade.quantity * trade.entry_price
