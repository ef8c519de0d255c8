"""Batches are atomic; outside one, each write stands alone; another reader sees what was committed."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from domain.orders import Order
from domain.signals import Decision
from storage.database import open_storage
from storage.repository import OrderAlreadyJournaled, Repository
from tests.factories import T0, intent, signal


class Boom(Exception):
    pass


def journal_signal_with_order(repo: Repository, sequence: int = 0) -> tuple[str, Order]:
    sig = signal(sequence=sequence)
    order = Order(intent(signal_id=sig.id))
    repo.record_signal(sig)
    repo.record_decision(sig.id, 0, Decision.accept("regime", "bull"), T0)
    repo.record_decision(sig.id, 1, Decision.accept("risk", "buy 10 SPY"), T0)
    repo.insert_order(order)
    return sig.id, order


def test_an_exception_in_a_batch_leaves_nothing_behind(repo: Repository) -> None:
    with pytest.raises(Boom), repo.batch():
        signal_id, order = journal_signal_with_order(repo)
        raise Boom

    assert repo.load_signal(signal_id) is None
    assert repo.decision_counts_by_signal() == {}
    assert repo.load_order(order.client_order_id) is None
    assert repo.order_events() == []


def test_a_completed_batch_lands_whole(repo: Repository) -> None:
    with repo.batch():
        signal_id, order = journal_signal_with_order(repo)
    assert repo.decision_counts_by_signal() == {signal_id: 2}
    assert repo.load_order(order.client_order_id) is not None


def test_a_batch_inside_a_batch_is_part_of_the_outer_one(repo: Repository) -> None:
    with pytest.raises(Boom), repo.batch():
        with repo.batch():
            signal_id, _ = journal_signal_with_order(repo)
        raise Boom
    assert repo.load_signal(signal_id) is None


def test_a_duplicate_intent_rolls_back_its_whole_batch(repo: Repository) -> None:
    _, order = journal_signal_with_order(repo, sequence=0)
    second = signal(sequence=1)
    with pytest.raises(OrderAlreadyJournaled), repo.batch():
        repo.record_signal(second)
        repo.insert_order(Order(order.intent))
    assert repo.load_signal(second.id) is None


def test_outside_a_batch_each_write_is_committed_at_once(repo: Repository, journal_path: Path) -> None:
    other = open_storage(journal_path)
    try:
        sig = signal()
        repo.record_signal(sig)
        assert other.load_signal(sig.id) == sig
    finally:
        other.close()


def test_another_repository_sees_a_batch_only_once_it_is_committed(
    repo: Repository, journal_path: Path
) -> None:
    reader = open_storage(journal_path)
    try:
        with repo.batch():
            signal_id, _ = journal_signal_with_order(repo)
            assert reader.load_signal(signal_id) is None  # WAL: reads on, without waiting for the writer
        assert reader.load_signal(signal_id) is not None
        assert reader.decision_counts_by_signal() == {signal_id: 2}
    finally:
        reader.close()


def test_a_second_writer_waits_for_the_first_instead_of_failing(repo: Repository, journal_path: Path) -> None:
    other = open_storage(journal_path)
    finished = threading.Event()
    errors: list[BaseException] = []

    def write_from_other() -> None:
        try:
            other.set_daemon_value("from", "other")
        except BaseException as exc:  # pragma: no cover - reported by the assertion below
            errors.append(exc)
        finally:
            finished.set()

    try:
        with repo.batch():
            repo.set_daemon_value("from", "first")
            thread = threading.Thread(target=write_from_other)
            thread.start()
            time.sleep(0.3)
            assert not finished.is_set()  # blocked on the write lock, not failed
        thread.join(timeout=10)
        assert errors == []
        assert repo.get_daemon_value("from") == "other"
    finally:
        other.close()


def test_the_repository_can_be_used_from_another_thread(repo: Repository) -> None:
    """The dashboard's thread pauses bots through Control, on the orchestrator's repository."""
    thread = threading.Thread(target=lambda: repo.set_bot_paused("bot-a", True, "from the dashboard", T0))
    thread.start()
    thread.join(timeout=10)
    assert repo.control_state().paused_bots == {"bot-a": "from the dashboard"}
