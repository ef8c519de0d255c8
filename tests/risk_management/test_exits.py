from decimal import Decimal

from domain.signals import Side
from risk_management.exits import ExitKind, build_exit_plan, evaluate_exit

LOT = Decimal(1)


def long_plan():  # type: ignore[no-untyped-def]
    # entry 100, stop 98 -> R = 2; targets 102 and 104; ATR 1 -> trail 1.5
    return build_exit_plan(Side.BUY, Decimal(100), Decimal(98), Decimal(1), Decimal(30))


def test_stop_at_one_r_closes_everything() -> None:
    _, step = evaluate_exit(long_plan(), Decimal(30), Decimal("97.9"), LOT)
    assert step is not None and step.kind is ExitKind.STOP and step.quantity == Decimal(30)


def test_first_target_takes_a_third_and_moves_the_stop_to_break_even() -> None:
    plan, step = evaluate_exit(long_plan(), Decimal(30), Decimal(102), LOT)
    assert step is not None and step.kind is ExitKind.FIRST_TARGET
    assert step.quantity == Decimal(9)  # 33 % of 30 = 9.9 -> 9 (rounded down to the lot)
    assert plan.stop_price == Decimal(100)
    _, again = evaluate_exit(plan, Decimal(21), Decimal("99.9"), LOT)
    assert again is not None and again.kind is ExitKind.STOP and again.quantity == Decimal(21)


def test_second_target_then_trailing_stop_follows_the_best_price() -> None:
    plan, _ = evaluate_exit(long_plan(), Decimal(30), Decimal(102), LOT)
    plan, step = evaluate_exit(plan, Decimal(21), Decimal(104), LOT)
    assert step is not None and step.kind is ExitKind.SECOND_TARGET and step.quantity == Decimal(9)
    plan, none = evaluate_exit(plan, Decimal(12), Decimal(110), LOT)
    assert none is None
    assert plan.stop_price == Decimal("108.5")  # best 110 - 1.5 x ATR 1
    plan, step = evaluate_exit(plan, Decimal(12), Decimal("108.4"), LOT)
    assert step is not None and step.kind is ExitKind.TRAILING_STOP and step.quantity == Decimal(12)


def test_trailing_stop_never_loosens() -> None:
    plan, _ = evaluate_exit(long_plan(), Decimal(30), Decimal(102), LOT)
    plan, _ = evaluate_exit(plan, Decimal(21), Decimal(106), LOT)
    plan, _ = evaluate_exit(plan, Decimal(12), Decimal("105.5"), LOT)
    assert plan.stop_price == Decimal("104.5")  # best 106 - 1.5


def test_short_plan_mirrors_the_long_one() -> None:
    plan = build_exit_plan(Side.SELL, Decimal(50), Decimal(51), None, Decimal(10))
    plan, step = evaluate_exit(plan, Decimal(10), Decimal(49), LOT)
    assert step is not None and step.kind is ExitKind.FIRST_TARGET and step.quantity == Decimal(3)
    assert plan.stop_price == Decimal(50)
    _, stop = evaluate_exit(plan, Decimal(7), Decimal("50.1"), LOT)
    assert stop is not None and stop.kind is ExitKind.STOP


def test_the_rest_of_a_partly_filled_target_goes_at_the_next_check() -> None:
    from dataclasses import replace

    plan, step = evaluate_exit(long_plan(), Decimal(30), Decimal(102), LOT)
    assert step is not None and step.quantity == Decimal(9)
    # the venue filled 4 of the 9: 5 are carried; the price has eased back below the target
    carried = replace(plan, target_shortfall=Decimal(5))
    after, rest = evaluate_exit(carried, Decimal(26), Decimal("101.5"), LOT)
    assert rest is not None and rest.kind is ExitKind.TARGET_REMAINDER and rest.quantity == Decimal(5)
    assert after.target_shortfall == 0 and after.first_target_done
    # but a price through the stop closes everything first
    _, stopped = evaluate_exit(carried, Decimal(26), Decimal("99.9"), LOT)
    assert stopped is not None and stopped.kind is ExitKind.STOP and stopped.quantity == Decimal(26)
