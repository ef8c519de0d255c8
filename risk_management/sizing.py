"""Position sizing: pure arithmetic over plain numbers."""

from __future__ import annotations

from decimal import Decimal


def fixed_fraction_quantity(
    equity: Decimal, risk_fraction: float, entry_price: Decimal, stop_price: Decimal, multiplier: float = 1.0
) -> Decimal:
    """Units such that hitting the stop loses `risk_fraction` of equity (times `multiplier`).

    Example: equity 10,000, risk 0.5 %, entry 100, stop 98 → risk budget 50,
    2 per unit at risk → 25 units. Unrounded; the caller rounds to the lot.
    """
    risk_per_unit = abs(entry_price - stop_price)
    if equity <= 0 or risk_per_unit == 0 or risk_fraction <= 0 or multiplier <= 0:
        return Decimal(0)
    budget = equity * Decimal(str(risk_fraction)) * Decimal(str(multiplier))
    return budget / risk_per_unit


def cap_quantity_by_notional(quantity: Decimal, price: Decimal, max_notional: Decimal) -> Decimal:
    """The smaller of `quantity` and what `max_notional` buys at `price`."""
    if price <= 0:
        return Decimal(0)
    return min(quantity, max(max_notional, Decimal(0)) / price)
