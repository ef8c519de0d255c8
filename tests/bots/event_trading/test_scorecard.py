"""The edge scorecard, worked by hand: the consensus per domain, and each source's own side."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bots.event_trading.scorecard import EdgeRow, edge_scorecard
from domain.prediction_records import Calibration, ContractSide, EdgeRecord

NOW = datetime(2026, 2, 9, 15, 0, tzinfo=UTC)
D = Decimal


def record(
    key: str,
    side: ContractSide,
    crowd_price: float,
    probability: float,
    estimates: dict[str, float],
    *,
    outcome_yes: bool | None,
    pnl: str | None = None,
    domain: str = "weather",
) -> EdgeRecord:
    return EdgeRecord(
        bot="weather_edge",
        instrument_key=key,
        domain=domain,
        side=side,
        crowd_price=crowd_price,
        probability=probability,
        edge=0.1,
        side_price=crowd_price if side == "yes" else 1 - crowd_price,
        estimates=estimates,
        first_seen=NOW,
        last_seen=NOW,
        traded=pnl is not None,
        outcome_yes=outcome_yes,
        settled_at=None if outcome_yes is None else NOW + timedelta(days=1),
        pnl=None if pnl is None else D(pnl),
    )


# A: YES at 0.40, consensus 0.70; both sources above the price; settles YES: a hit for all.
# B: NO at a YES price of 0.60, consensus 0.30; both below; settles NO: a hit for all.
# C: YES at 0.50, consensus 0.80 from nws alone; settles NO: a miss.
# D: unsettled, not traded.
EDGES = [
    record("KXA", "yes", 0.40, 0.70, {"nws": 0.75, "gfs": 0.65}, outcome_yes=True, pnl="0.55"),
    record("KXB", "no", 0.60, 0.30, {"nws": 0.25, "gfs": 0.35}, outcome_yes=False, pnl="0.58"),
    record("KXC", "yes", 0.50, 0.80, {"nws": 0.80}, outcome_yes=False, pnl="-0.52"),
    record("KXD", "yes", 0.60, 0.85, {"nws": 0.90, "gfs": 0.80}, outcome_yes=None),
]
CALIBRATIONS = {
    "weather": {
        "nws": Calibration("nws", 5, 0.8),
        "gfs": Calibration("gfs", 4, 1.0),
        "ecmwf": Calibration("ecmwf", 2, 0.1),  # priced settled markets, never behind an edge
    }
}


def rows_by_source(rows: list[EdgeRow]) -> dict[str | None, EdgeRow]:
    return {row.source: row for row in rows}


def test_the_domain_row_scores_the_consensus_against_the_crowd() -> None:
    domain = edge_scorecard(EDGES, CALIBRATIONS)[0]

    assert (domain.level, domain.domain, domain.source) == ("domain", "weather", None)
    assert (domain.signals, domain.settled, domain.hits, domain.trades) == (4, 3, 2, 3)
    assert domain.hit_rate == pytest.approx(2 / 3)
    # consensus: (0.70 - 1)² + (0.30 - 0)² + (0.80 - 0)² = 0.09 + 0.09 + 0.64 = 0.82, over 3
    assert domain.brier == pytest.approx(0.82 / 3)
    # crowd: (0.40 - 1)² + (0.60 - 0)² + (0.50 - 0)² = 0.36 + 0.36 + 0.25 = 0.97, over 3
    assert domain.crowd_brier == pytest.approx(0.97 / 3)
    assert domain.priced is None
    assert domain.pnl == D("0.61")  # 0.55 + 0.58 - 0.52; the untraded record counts 0


def test_a_source_row_scores_its_own_side_on_the_records_it_priced() -> None:
    rows = rows_by_source(edge_scorecard(EDGES, CALIBRATIONS))

    nws = rows["nws"]
    # A: 0.75 > 0.40 says YES, settled YES; B: 0.25 < 0.60 says NO, settled NO; C: 0.80 > 0.50, settled NO
    assert (nws.signals, nws.settled, nws.hits, nws.trades, nws.pnl) == (4, 3, 2, 3, D("0.61"))
    assert nws.hit_rate == pytest.approx(2 / 3)
    assert (nws.brier, nws.priced, nws.crowd_brier) == (pytest.approx(0.8 / 5), 5, None)

    gfs = rows["gfs"]  # A, B and D: both settled ones hits
    assert (gfs.signals, gfs.settled, gfs.hits, gfs.hit_rate, gfs.trades) == (3, 2, 2, 1.0, 2)
    assert gfs.pnl == D("1.13")
    assert (gfs.brier, gfs.priced) == (pytest.approx(1.0 / 4), 4)


def test_a_source_with_a_calibration_record_but_no_edge_gets_a_row() -> None:
    ecmwf = rows_by_source(edge_scorecard(EDGES, CALIBRATIONS))["ecmwf"]

    assert (ecmwf.signals, ecmwf.settled, ecmwf.hits, ecmwf.hit_rate, ecmwf.trades) == (0, 0, 0, None, 0)
    assert (ecmwf.brier, ecmwf.priced, ecmwf.pnl) == (pytest.approx(0.05), 2, D(0))


def test_rows_are_by_domain_with_the_domain_row_first_then_its_sources_by_name() -> None:
    economics = record("KXCPI", "no", 0.30, 0.20, {"fred": 0.20}, outcome_yes=None, domain="economics")

    rows = edge_scorecard([*EDGES, economics], CALIBRATIONS)

    assert [(row.domain, row.source) for row in rows] == [
        ("economics", None),
        ("economics", "fred"),
        ("weather", None),
        ("weather", "ecmwf"),
        ("weather", "gfs"),
        ("weather", "nws"),
    ]


def test_nothing_settled_leaves_the_rates_and_scores_unknown() -> None:
    unsettled = record("KXD", "yes", 0.60, 0.85, {"nws": 0.90}, outcome_yes=None)

    domain, nws = edge_scorecard([unsettled], {})

    assert (domain.settled, domain.hit_rate, domain.brier, domain.crowd_brier) == (0, None, None, None)
    assert (nws.settled, nws.hit_rate, nws.brier, nws.priced) == (0, None, None, 0)


def test_a_no_edge_that_settles_yes_is_a_miss_and_a_source_below_the_price_misses_with_it() -> None:
    lost = record("KXE", "no", 0.50, 0.30, {"nws": 0.20, "gfs": 0.40}, outcome_yes=True, pnl="-0.50")

    rows = rows_by_source(edge_scorecard([lost], {}))

    assert (rows[None].hits, rows[None].hit_rate) == (0, 0.0)
    assert rows[None].brier == pytest.approx(0.49)  # (0.30 - 1)²
    assert rows[None].crowd_brier == pytest.approx(0.25)  # (0.50 - 1)²
    assert (rows["nws"].hits, rows["gfs"].hits) == (0, 0)


def test_a_source_exactly_at_the_crowd_price_took_no_side_and_misses() -> None:
    at_price = record("KXF", "no", 0.60, 0.40, {"nws": 0.30, "gfs": 0.60}, outcome_yes=False)

    rows = rows_by_source(edge_scorecard([at_price], {}))

    assert rows[None].hits == 1 and rows["nws"].hits == 1  # NO paid
    assert (rows["gfs"].settled, rows["gfs"].hits, rows["gfs"].hit_rate) == (1, 0, 0.0)


def test_a_domain_known_only_from_calibration_records_gets_its_rows() -> None:
    rows = edge_scorecard([], {"economics": {"fred": Calibration("fred", 3, 0.3)}})

    assert [(r.level, r.source, r.signals, r.priced) for r in rows] == [
        ("domain", None, 0, None),
        ("source", "fred", 0, 3),
    ]
    assert rows[0].pnl == D(0) and rows[1].brier == pytest.approx(0.1)


def test_a_row_as_a_dict_carries_pnl_as_exact_text() -> None:
    row = edge_scorecard(EDGES, CALIBRATIONS)[0].to_dict()

    assert row["pnl"] == "0.61" and row["level"] == "domain" and row["source"] is None
    assert set(row) == {
        "level", "domain", "source", "signals", "settled", "hits", "hit_rate", "brier",
        "crowd_brier", "priced", "trades", "pnl",
    }  # fmt: skip
