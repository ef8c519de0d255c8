"""The prediction-market journal: edge records, the sources' estimates, settlements, calibration."""

from __future__ import annotations

import dataclasses
from datetime import UTC, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from domain.orders import Fill, Order
from domain.prediction_records import Calibration, EdgeRecord, Settlement
from domain.signals import Side
from storage.reports import Reports
from storage.repository import Repository
from tests.factories import T0, intent, signal

EASTERN = timezone(timedelta(hours=-5))  # any aware zone; stored as UTC
LATER = T0 + timedelta(minutes=10)


def edge(bot: str = "weather_edge", key: str = "KXHIGHCHI-26MAR02-B38.5", **overrides: object) -> EdgeRecord:
    values: dict[str, object] = {
        "bot": bot,
        "instrument_key": key,
        "domain": "weather",
        "side": "yes",
        "crowd_price": 0.22,
        "probability": 0.35,
        "edge": 0.11,
        "side_price": 0.24,
        "estimates": {"gfs_ensemble": 0.40, "nws_forecast": 0.30},
        "first_seen": T0,
        "last_seen": T0,
        "gate": None,
        "gate_reason": "",
        "extra": {"ticker": key, "close_time": "2026-03-03T05:00:00+00:00"},
    }
    values.update(overrides)
    return EdgeRecord(**values)  # type: ignore[arg-type]


def settlement(key: str = "KXHIGHCHI-26MAR02-B38.5", outcome_yes: bool = True) -> Settlement:
    return Settlement(key, outcome_yes, T0 + timedelta(days=1))


# ---------------------------------------------------------------------------------------------- edges
def test_a_new_edge_is_stored_as_given(repo: Repository) -> None:
    given = edge(signals=3, traded=True)

    stored = repo.record_edge(given)

    assert stored == given
    assert repo.edges() == [given]


def test_a_second_signal_takes_its_figures_counts_one_more_and_keeps_first_seen(repo: Repository) -> None:
    repo.record_edge(edge(traded=True))

    again = edge(
        probability=0.41, crowd_price=0.25, edge=0.13, last_seen=LATER, first_seen=LATER,
        gate="max_entry_price", gate_reason="entry 0.34 above the 0.30 cap", traded=False,
        estimates={"gfs_ensemble": 0.45},
    )  # fmt: skip
    stored = repo.record_edge(again)

    expected = dataclasses.replace(again, signals=2, first_seen=T0, traded=True)
    assert stored == expected
    assert repo.edges() == [expected]


def test_a_settled_edge_is_final(repo: Repository) -> None:
    repo.record_edge(edge())
    repo.settle_edges(settlement(outcome_yes=False), {})
    settled = repo.edges()[0]

    returned = repo.record_edge(edge(probability=0.5, last_seen=LATER))

    assert returned == settled and repo.edges() == [settled]
    assert settled.signals == 1 and settled.probability == 0.35


def test_edge_times_come_back_in_utc_and_any_zone_is_accepted(repo: Repository) -> None:
    local = T0.astimezone(EASTERN)

    stored = repo.record_edge(edge(first_seen=local, last_seen=local))

    assert stored.first_seen == T0 and stored.first_seen.tzinfo == UTC


def test_marking_an_edge_traded_touches_only_that_bots_record(repo: Repository) -> None:
    repo.record_edge(edge(bot="a"))
    repo.record_edge(edge(bot="b"))

    repo.mark_edge_traded("a", "KXHIGHCHI-26MAR02-B38.5")
    repo.mark_edge_traded("a", "KX-NOT-RECORDED")  # no record: nothing happens

    assert {(e.bot, e.traded) for e in repo.edges()} == {("a", True), ("b", False)}


def test_settling_sets_the_outcome_on_every_unsettled_record_and_pnl_for_the_bots_given(
    repo: Repository,
) -> None:
    repo.record_edge(edge(bot="a", traded=True))
    repo.record_edge(edge(bot="b"))
    repo.record_edge(edge(bot="a", key="KXOTHER"))

    count = repo.settle_edges(settlement(outcome_yes=True), {"a": Decimal("0.76")})

    assert count == 2
    by_bot = {(e.bot, e.instrument_key): e for e in repo.edges()}
    a, b = by_bot["a", "KXHIGHCHI-26MAR02-B38.5"], by_bot["b", "KXHIGHCHI-26MAR02-B38.5"]
    assert (a.outcome_yes, a.settled_at, a.pnl, a.won) == (
        True,
        T0 + timedelta(days=1),
        Decimal("0.76"),
        True,
    )
    assert (b.outcome_yes, b.pnl) == (True, None)
    assert not by_bot["a", "KXOTHER"].settled
    assert repo.settle_edges(settlement(outcome_yes=False), {"a": Decimal(5)}) == 0  # already settled
    assert repo.edges(settled=True)[0].pnl == Decimal("0.76")


def test_edges_filter_by_settled_and_come_in_last_seen_order(repo: Repository) -> None:
    repo.record_edge(edge(key="late", last_seen=LATER))
    repo.record_edge(edge(key="early"))
    repo.settle_edges(settlement("late"), {})

    assert [e.instrument_key for e in repo.edges()] == ["early", "late"]
    assert [e.instrument_key for e in repo.edges(settled=True)] == ["late"]
    assert [e.instrument_key for e in repo.edges(settled=False)] == ["early"]


def test_edge_writes_in_a_batch_land_together_or_not_at_all(repo: Repository) -> None:
    with pytest.raises(RuntimeError), repo.batch():
        repo.record_edge(edge())
        repo.save_estimates("KXHIGHCHI-26MAR02-B38.5", "weather", {"nws_forecast": 0.3}, T0)
        raise RuntimeError("the tick failed")

    assert repo.edges() == [] and repo.estimates_for("KXHIGHCHI-26MAR02-B38.5") == {}


# ---------------------------------------------------------------------------------------------- estimates
def test_the_first_estimate_per_source_is_kept_until_forgotten(repo: Repository) -> None:
    repo.save_estimates("KXA", "weather", {"gfs": 0.40, "nws": 0.30}, T0)
    repo.save_estimates("KXA", "weather", {"nws": 0.35}, LATER)
    repo.save_estimates("KXB", "weather", {"nws": 0.9}, T0)

    assert repo.estimates_for("KXA") == {"gfs": 0.40, "nws": 0.30}  # each source's first view stays

    repo.forget_estimates("KXA")

    assert repo.estimates_for("KXA") == {} and repo.estimates_for("KXB") == {"nws": 0.9}


# ---------------------------------------------------------------------------------------------- settlements
def test_a_settlement_is_recorded_once(repo: Repository) -> None:
    assert repo.record_settlement(settlement(outcome_yes=True))
    assert not repo.record_settlement(settlement(outcome_yes=False))
    assert repo.record_settlement(settlement("KXB", outcome_yes=False))

    assert repo.settled_instrument_keys() == {"KXHIGHCHI-26MAR02-B38.5", "KXB"}


# ---------------------------------------------------------------------------------------------- calibration
def test_calibrations_are_upserted_per_domain_and_source(repo: Repository) -> None:
    assert repo.calibrations() == {}
    repo.save_calibrations("weather", [Calibration("gfs", 3, 0.5), Calibration("nws", 1, 0.04)], T0)
    repo.save_calibrations("economics", [Calibration("fred", 2, 0.2)], T0)

    repo.save_calibrations("weather", [Calibration("gfs", 4, 0.66)], LATER)

    assert repo.calibrations() == {
        "weather": {"gfs": Calibration("gfs", 4, 0.66), "nws": Calibration("nws", 1, 0.04)},
        "economics": {"fred": Calibration("fred", 2, 0.2)},
    }


# ---------------------------------------------------------------------------------------------- readers
def test_the_read_only_reports_see_the_same_edges_and_calibrations(
    repo: Repository, journal_path: Path
) -> None:
    repo.record_edge(edge(bot="a", traded=True))
    repo.record_edge(edge(bot="b", key="KXB", side="no", gate="min_edge", gate_reason="edge 0.01 under 0.05"))
    repo.settle_edges(settlement(), {"a": Decimal("0.76")})
    repo.save_calibrations("weather", [Calibration("gfs", 3, 0.5)], T0)
    reports = Reports(journal_path)

    assert reports.prediction_edges() == repo.edges()
    assert reports.source_calibrations() == repo.calibrations()


def test_a_settlement_fill_at_price_zero_round_trips(repo: Repository, journal_path: Path) -> None:
    entry = signal()
    repo.record_signal(entry)
    order = Order(intent(signal_id=entry.id))
    repo.insert_order(order)
    payout = Fill(
        client_order_id=order.client_order_id, venue="kalshi", venue_trade_id="settle-1",
        instrument_key="KXA", side=Side.SELL, quantity=Decimal(10), price=Decimal(0), fee=Decimal(0),
        time=T0, settlement=True,
    )  # fmt: skip
    ordinary = dataclasses.replace(payout, venue_trade_id="t-1", price=Decimal("0.3"), settlement=False)

    assert repo.record_fill(payout, "weather_edge") and repo.record_fill(ordinary, "weather_edge")

    assert repo.fills() == [payout, ordinary]
    road = Reports(journal_path).signal_road(entry.id)
    assert road is not None and road.fills == (payout, ordinary)
