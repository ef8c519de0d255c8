from decimal import Decimal

from risk_management.sizing import cap_quantity_by_notional, fixed_fraction_quantity


def test_fixed_fraction_risks_the_fraction_of_equity_to_the_stop() -> None:
    # equity 10,000 x 0.5 % = 50 at risk; 2 per unit to the stop -> 25 units
    assert fixed_fraction_quantity(Decimal(10_000), 0.005, Decimal(100), Decimal(98)) == Decimal(25)


def test_fixed_fraction_scales_with_the_multiplier() -> None:
    assert fixed_fraction_quantity(Decimal(10_000), 0.005, Decimal(100), Decimal(98), 0.5) == Decimal("12.5")


def test_fixed_fraction_is_zero_without_risk_distance_or_equity() -> None:
    assert fixed_fraction_quantity(Decimal(10_000), 0.005, Decimal(100), Decimal(100)) == 0
    assert fixed_fraction_quantity(Decimal(0), 0.005, Decimal(100), Decimal(98)) == 0


def test_notional_cap_limits_quantity() -> None:
    assert cap_quantity_by_notional(Decimal(25), Decimal(100), Decimal(1_000)) == Decimal(10)
    assert cap_quantity_by_notional(Decimal(5), Decimal(100), Decimal(1_000)) == Decimal(5)
    assert cap_quantity_by_notional(Decimal(5), Decimal(100), Decimal(-1)) == Decimal(0)
