"""Orders in the journal: written before they leave, their history legal, fills never counted twice."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from itertools import count, pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.orders import ALLOWED_TRANSITIONS, Order, OrderStatus
from domain.signals import Decision, Side
from storage.database import open_storage
from storage.order_history import status_path
from storage.repository import OrderAlreadyJournaled, Repository
from tests.factories import T0, fill, intent, signal


def journaled(repo: Repository, signal_id: str = "sig-1", quantity: str = "10") -> Order:
    order = Order(intent(signal_id=signal_id, quantity=quantity))
    repo.insert_order(order)
    return order


def moves(repo: Repository, order: Order) -> list[tuple[OrderStatus | None, OrderStatus]]:
    return [(e.from_status, e.to_status) for e in repo.order_events(order.client_order_id)]


def test_a_new_order_starts_its_history_at_new(repo: Repository) -> None:
    order = journaled(repo)
    [event] = repo.order_events(order.client_order_id)
    assert (event.from_status, event.to_status, event.time) == (None, OrderStatus.NEW, T0)


def test_the_same_intent_cannot_be_journaled_twice(repo: Repository) -> None:
    order = journaled(repo)
    with pytest.raises(OrderAlreadyJournaled, match=order.client_order_id):
        repo.insert_order(Order(order.intent))
    assert len(repo.orders()) == 1
    assert moves(repo, order) == [(None, OrderStatus.NEW)]


def test_updating_an_order_that_was_never_journaled_is_refused(repo: Repository) -> None:
    with pytest.raises(LookupError, match="not in the journal"):
        repo.update_order(Order(intent()))


def test_a_status_change_appends_one_event_with_its_reason(repo: Repository) -> None:
    order = journaled(repo)
    order.transition(OrderStatus.SUBMITTED, T0 + timedelta(seconds=1))
    repo.update_order(order, "sent to sim-stocks")
    assert moves(repo, order) == [(None, OrderStatus.NEW), (OrderStatus.NEW, OrderStatus.SUBMITTED)]
    assert repo.order_events(order.client_order_id)[-1].reason == "sent to sim-stocks"
    assert repo.order_events(order.client_order_id)[-1].time == T0 + timedelta(seconds=1)


def test_an_update_without_a_status_change_appends_nothing(repo: Repository) -> None:
    order = journaled(repo)
    order.venue_order_id = "v-1"
    repo.update_order(order)
    assert moves(repo, order) == [(None, OrderStatus.NEW)]
    loaded = repo.load_order(order.client_order_id)
    assert loaded is not None and loaded.venue_order_id == "v-1"


def test_steps_taken_between_two_writes_are_recorded_as_the_legal_path(repo: Repository) -> None:
    """The router moves NEW -> SUBMITTED -> ACCEPTED before the orchestrator writes once."""
    order = journaled(repo)
    order.transition(OrderStatus.SUBMITTED, T0)
    order.transition(OrderStatus.ACCEPTED, T0 + timedelta(milliseconds=3))
    repo.update_order(order, "accepted by sim-stocks")

    assert moves(repo, order) == [
        (None, OrderStatus.NEW),
        (OrderStatus.NEW, OrderStatus.SUBMITTED),
        (OrderStatus.SUBMITTED, OrderStatus.ACCEPTED),
    ]
    reasons = [e.reason for e in repo.order_events(order.client_order_id)]
    assert reasons == [None, None, "accepted by sim-stocks"]


def test_an_immediate_fill_of_a_new_order_is_recorded_through_submitted(repo: Repository) -> None:
    order = journaled(repo)
    first = fill(order.client_order_id, quantity="10", trade_id="t1")
    repo.record_fill(first, "bot-a")
    order.apply_fill(first)
    repo.update_order(order)
    assert moves(repo, order)[1:] == [
        (OrderStatus.NEW, OrderStatus.SUBMITTED),
        (OrderStatus.SUBMITTED, OrderStatus.FILLED),
    ]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_status_path_is_a_chain_of_allowed_moves(data: st.DataObject) -> None:
    start = data.draw(st.sampled_from(list(OrderStatus)))
    end = data.draw(st.sampled_from([s for s in OrderStatus if s is not start]))
    path = status_path(start, end)
    assert path[-1] is end
    chain = [start, *path]
    reachable = all(after in ALLOWED_TRANSITIONS[before] for before, after in pairwise(chain))
    if not reachable:
        assert path == (end,)  # nothing legal leads there: the observed move is kept as it was seen


@pytest.fixture(scope="module")
def shared_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Repository]:
    repository = open_storage(tmp_path_factory.mktemp("walks") / "journal.sqlite")
    yield repository
    repository.close()


_walks = count()


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_any_walk_of_the_state_machine_journals_only_legal_moves(
    shared_repo: Repository, data: st.DataObject
) -> None:
    repo = shared_repo
    order = journaled(repo, f"sig-walk-{next(_walks)}")
    for step in range(data.draw(st.integers(0, 6))):
        options = sorted(ALLOWED_TRANSITIONS[order.status])
        if not options:
            break
        order.transition(data.draw(st.sampled_from(options)), T0 + timedelta(seconds=step))
        if data.draw(st.booleans()):  # the orchestrator writes after some steps, not after each
            repo.update_order(order)
    repo.update_order(order)

    history = moves(repo, order)
    assert history[0] == (None, OrderStatus.NEW)
    for before, after in history[1:]:
        assert before is not None and after in ALLOWED_TRANSITIONS[before]
    assert [after for _, after in history[:-1]] == [before for before, _ in history[1:]]  # a chain
    assert history[-1][1] is order.status


def test_a_duplicate_fill_is_refused_and_writes_nothing(repo: Repository) -> None:
    order = journaled(repo)
    first = fill(order.client_order_id, quantity="4", price="100", trade_id="t1")
    replayed = fill(order.client_order_id, quantity="6", price="101", trade_id="t1", seconds=5)

    assert repo.record_fill(first, "bot-a") is True
    assert repo.record_fill(replayed, "bot-a") is False
    assert repo.fills() == [first]


def test_the_same_trade_id_on_another_venue_is_another_fill(repo: Repository) -> None:
    order = journaled(repo)
    here = fill(order.client_order_id, quantity="1", trade_id="t1")
    elsewhere = replace(here, venue="sim-other")
    assert repo.record_fill(here, "bot-a") and repo.record_fill(elsewhere, "bot-a")
    assert len(repo.fills()) == 2


def test_a_reloaded_order_recognises_fills_it_has_already_applied(repo: Repository) -> None:
    order = journaled(repo)
    partial = fill(order.client_order_id, quantity="4", trade_id="t1")
    repo.record_fill(partial, "bot-a")
    order.apply_fill(partial)
    repo.update_order(order)

    reloaded = repo.load_order(order.client_order_id)

    assert reloaded is not None
    assert reloaded.apply_fill(partial) is False
    assert reloaded.filled_quantity == Decimal(4)


def test_open_orders_are_those_not_in_a_terminal_status(repo: Repository) -> None:
    resting = journaled(repo, "sig-resting")
    resting.transition(OrderStatus.SUBMITTED, T0)
    repo.update_order(resting)
    denied = journaled(repo, "sig-denied")
    denied.transition(OrderStatus.DENIED, T0, "halted")
    repo.update_order(denied)
    fresh = journaled(repo, "sig-fresh")

    open_ids = {o.client_order_id for o in repo.load_open_orders()}

    assert open_ids == {resting.client_order_id, fresh.client_order_id}
    assert {o.client_order_id for o in repo.orders()} == open_ids | {denied.client_order_id}


def test_decision_counts_are_per_signal(repo: Repository) -> None:
    passed, rejected = signal(sequence=0), signal(side=Side.SELL, sequence=1)
    for sig, stages in ((passed, 3), (rejected, 1)):
        repo.record_signal(sig)
        for seq in range(stages):
            repo.record_decision(sig.id, seq, Decision.accept(f"stage-{seq}", "ok"), T0)
    assert repo.decision_counts_by_signal() == {passed.id: 3, rejected.id: 1}


def test_a_signal_seen_again_keeps_its_first_record(repo: Repository) -> None:
    sig = signal()
    repo.record_signal(sig)
    repo.record_signal(sig)
    assert repo.load_signal(sig.id) == sig


def test_moves_between_two_writes_are_journaled_as_they_happened(repo: Repository) -> None:
    order = journaled(repo)
    order.transition(OrderStatus.SUBMITTED, T0 + timedelta(seconds=1))
    order.transition(OrderStatus.ACCEPTED, T0 + timedelta(seconds=3))
    order.transition(OrderStatus.CANCELED, T0 + timedelta(seconds=7), "operator cancel")
    repo.update_order(order)
    events = repo.order_events(order.client_order_id)
    assert [(e.from_status, e.to_status, e.time, e.reason) for e in events[1:]] == [
        (OrderStatus.NEW, OrderStatus.SUBMITTED, T0 + timedelta(seconds=1), None),
        (OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, T0 + timedelta(seconds=3), None),
        (OrderStatus.ACCEPTED, OrderStatus.CANCELED, T0 + timedelta(seconds=7), "operator cancel"),
    ]
    repo.update_order(order)  # nothing new happened: nothing new is written
    assert len(repo.order_events(order.client_order_id)) == 4
