from datetime import timedelta
from decimal import Decimal

import pytest

from domain.orders import ALLOWED_TRANSITIONS, InvalidOrderTransition, Order, OrderStatus, client_order_id_for
from tests.factories import T0, fill, intent


def test_new_order_submitted_accepted_then_filled_follows_the_table() -> None:
    order = Order(intent(quantity="10"))
    order.transition(OrderStatus.SUBMITTED, T0)
    order.transition(OrderStatus.ACCEPTED, T0)
    assert order.apply_fill(fill(order.client_order_id, quantity="4", price="100", trade_id="a"))
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert order.apply_fill(fill(order.client_order_id, quantity="6", price="101", trade_id="b"))
    assert order.status is OrderStatus.FILLED
    assert order.filled_quantity == Decimal(10)
    assert order.average_fill_price == Decimal("100.6")  # (4*100 + 6*101) / 10


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (OrderStatus.NEW, OrderStatus.FILLED),
        (OrderStatus.NEW, OrderStatus.ACCEPTED),
        (OrderStatus.FILLED, OrderStatus.CANCELED),
        (OrderStatus.REJECTED, OrderStatus.ACCEPTED),
        (OrderStatus.CANCELED, OrderStatus.PENDING_CANCEL),
        (OrderStatus.DENIED, OrderStatus.SUBMITTED),
    ],
)
def test_transition_not_in_the_table_raises(start: OrderStatus, target: OrderStatus) -> None:
    order = Order(intent(), status=start)
    with pytest.raises(InvalidOrderTransition):
        order.transition(target, T0)
    assert order.status is start


def test_terminal_states_allow_no_transition() -> None:
    for status in OrderStatus:
        if status.is_terminal:
            assert ALLOWED_TRANSITIONS[status] == frozenset()


def test_fill_with_a_seen_trade_id_is_dropped() -> None:
    order = Order(intent(quantity="10"), status=OrderStatus.ACCEPTED)
    assert order.apply_fill(fill(order.client_order_id, quantity="5", trade_id="x"))
    assert not order.apply_fill(fill(order.client_order_id, quantity="5", trade_id="x"))
    assert order.filled_quantity == Decimal(5)


def test_fill_after_acknowledged_cancel_is_still_applied() -> None:
    order = Order(intent(quantity="10"), status=OrderStatus.ACCEPTED)
    order.transition(OrderStatus.PENDING_CANCEL, T0)
    order.transition(OrderStatus.CANCELED, T0)
    assert order.apply_fill(fill(order.client_order_id, quantity="3", trade_id="late"))
    assert order.filled_quantity == Decimal(3)
    assert order.status is OrderStatus.CANCELED


def test_overfill_raises() -> None:
    order = Order(intent(quantity="10"), status=OrderStatus.ACCEPTED)
    with pytest.raises(ValueError, match="overfills"):
        order.apply_fill(fill(order.client_order_id, quantity="11"))


def test_client_order_id_is_derived_from_the_signal() -> None:
    assert client_order_id_for("sig-abc") == client_order_id_for("sig-abc")
    assert client_order_id_for("sig-abc") != client_order_id_for("sig-abd")
    assert client_order_id_for("sig-abc", "exit") != client_order_id_for("sig-abc")
    assert len(client_order_id_for("sig-abc")) <= 32


def test_an_order_remembers_its_moves_until_the_journal_takes_them() -> None:
    from domain.orders import StatusChange

    order = Order(intent())
    t1 = T0 + timedelta(seconds=1)
    order.transition(OrderStatus.SUBMITTED, t1)
    order.transition(OrderStatus.REJECTED, t1, "no quote")
    assert order.take_status_changes() == [
        StatusChange(OrderStatus.NEW, OrderStatus.SUBMITTED, t1),
        StatusChange(OrderStatus.SUBMITTED, OrderStatus.REJECTED, t1, "no quote"),
    ]
    assert order.take_status_changes() == []
