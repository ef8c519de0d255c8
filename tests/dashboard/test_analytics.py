"""The dashboard's arithmetic, worked by hand: the book's VaR/CVaR, exit progress, the
prediction-market edge table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from flask.testing import FlaskClient

from bots.event_trading.scorecard import edge_scorecard
from dashboard.analytics import book_tail_risk, exit_progress
from dashboard.app import create_app
from dashboard.context import Dashboard
from domain.market import BarSeries
from domain.positions import ExitPlan
from domain.prediction_records import Calibration, EdgeRecord, Settlement
from domain.signals import Side
from scrapers.base import SourceHealth
from storage.database import open_storage
from storage.reports import Reports
from storage.repository import Repository
from tests.dashboard.daemon import dashboard_config
from utils.clock import SimulatedClock

D = Decimal


def bars(key: str, times: list[int], returns: list[float]) -> BarSeries:
    closes = 100 * np.cumprod([1.0, *(1 + r for r in returns)])
    t = np.array(times, dtype=np.float64)
    return BarSeries(key, 60, t, closes, closes, closes, closes, np.ones_like(closes))


RETURNS_A = [0.01] * 18 + [-0.02, -0.05]
RETURNS_B = [0.0] * 18 + [0.01, 0.02]
TIMES = [60 * i for i in range(21)]


def test_var_and_cvar_of_a_long_short_book_worked_by_hand() -> None:
    # P&L per scenario: +1000 × r_A − 500 × r_B = 10 eighteen times, then −25, then −60.
    # At 90 % the tail is the 2 worst of 20: VaR is the 2nd worst loss, CVaR the mean of both.
    risk = book_tail_risk(
        {"A": 1000.0, "B": -500.0},
        {"A": bars("A", TIMES, RETURNS_A), "B": bars("B", TIMES, RETURNS_B)},
        timeframe_seconds=60,
        horizon_seconds=60,
        method="historical",
        confidence=0.9,
    )
    assert risk.var == pytest.approx(25.0) and risk.cvar == pytest.approx(42.5)
    assert (risk.scenarios, risk.markets, risk.reason) == (20, 2, None)
    longer = book_tail_risk(
        {"A": 1000.0, "B": -500.0},
        {"A": bars("A", TIMES, RETURNS_A), "B": bars("B", TIMES, RETURNS_B)},
        timeframe_seconds=60,
        horizon_seconds=240,  # four bars: returns scale by sqrt(4) = 2
        method="historical",
        confidence=0.9,
    )
    assert longer.var == pytest.approx(50.0) and longer.cvar == pytest.approx(85.0)


def test_prediction_contracts_are_lost_in_every_scenario_not_left_out() -> None:
    # the long-short book above (VaR 25, CVaR 42.5 at 90 %) plus prediction contracts whose worst
    # settlement costs 30: every scenario loses 30 more, so VaR 55 and CVaR 72.5
    risk = book_tail_risk(
        {"A": 1000.0, "B": -500.0},
        {"A": bars("A", TIMES, RETURNS_A), "B": bars("B", TIMES, RETURNS_B)},
        timeframe_seconds=60,
        horizon_seconds=60,
        method="historical",
        confidence=0.9,
        binary_worst_case=30.0,
    )
    assert risk.var == pytest.approx(55.0) and risk.cvar == pytest.approx(72.5)
    assert risk.binary_worst_case == 30.0
    # a book of prediction contracts alone: its worst case is its tail
    only = book_tail_risk(
        {},
        {},
        timeframe_seconds=60,
        horizon_seconds=60,
        method="historical",
        confidence=0.9,
        binary_worst_case=30.0,
    )
    assert (only.var, only.cvar, only.reason) == (30.0, 30.0, None)


def test_markets_are_aligned_on_the_bars_they_share() -> None:
    # B has one bar more, at a time A does not (A's market was closed): it drops out of both
    extra_times = [*TIMES[:10], 570, *TIMES[10:]]
    extra_returns = [*RETURNS_B[:9], 0.0, *RETURNS_B[9:]]  # the extra close repeats the one before
    closes_b = bars("B", extra_times, extra_returns)
    risk = book_tail_risk(
        {"A": 1000.0, "B": -500.0},
        {"A": bars("A", TIMES, RETURNS_A), "B": closes_b},
        timeframe_seconds=60,
        horizon_seconds=60,
        method="historical",
        confidence=0.9,
    )
    assert risk.scenarios == 20 and risk.var == pytest.approx(25.0)


def test_var_is_unavailable_rather_than_partial() -> None:
    kwargs = {"timeframe_seconds": 60, "horizon_seconds": 60, "method": "historical", "confidence": 0.9}
    missing = book_tail_risk(
        {"A": 1000.0, "B": -500.0}, {"A": bars("A", TIMES, RETURNS_A), "B": None}, **kwargs
    )  # type: ignore[arg-type]
    assert (
        missing.var is None and missing.missing == ("B",) and "no bar history for B" in (missing.reason or "")
    )
    short = book_tail_risk({"A": 1.0}, {"A": bars("A", TIMES[:5], RETURNS_A[:4])}, **kwargs)  # type: ignore[arg-type]
    assert short.var is None and "share 5 bars; 21 are needed" in (short.reason or "")
    assert book_tail_risk({}, {}, **kwargs).reason == "no open positions"  # type: ignore[arg-type]


def test_exit_progress_reads_the_plan_and_the_mark_in_units_of_risk() -> None:
    plan = ExitPlan(Side.BUY, D(100), D(98), D(2), D(30), D("1.5"), D(100))
    fresh = exit_progress(plan, D(30), D(103))
    assert fresh.r_multiple == D("1.5") and fresh.stage.startswith("waiting for the first target")
    assert (fresh.first_target, fresh.second_target, fresh.remaining_fraction) == (D(102), D(104), D(1))
    assert exit_progress(plan, D(30), None).r_multiple is None
    later = ExitPlan(Side.SELL, D(100), D(100), D(2), D(30), D("1.5"), D(95), first_target_done=True)
    progress = exit_progress(later, D(-20), D(97))
    assert progress.r_multiple == D("1.5") and progress.first_target == D(98)  # a short gains as price falls
    assert progress.remaining_fraction == D(20) / D(30) and progress.stage.startswith("first target taken")
    trailing = exit_progress(
        ExitPlan(Side.BUY, D(100), D(103), D(2), D(30), D("1.5"), D(106), True, True), D(10), D(105)
    )
    assert trailing.trailing and "trailing stop" in trailing.stage


# ---------------------------------------------------------------------------------------------- edge table
EDGE_TIME = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
CHICAGO_HIGH = "kalshi:KXHIGHCHI-26MAR02-B38.5"


def edge_record(key: str, **overrides: object) -> EdgeRecord:
    values: dict[str, object] = {
        "bot": "weather-edge",
        "instrument_key": key,
        "domain": "weather",
        "side": "yes",
        "crowd_price": 0.40,
        "probability": 0.70,
        "edge": 0.28,
        "side_price": 0.42,
        "estimates": {"nws_forecast": 0.75, "gfs_ensemble": 0.65},
        "first_seen": EDGE_TIME,
        "last_seen": EDGE_TIME,
        "traded": True,
    }
    values.update(overrides)
    return EdgeRecord(**values)  # type: ignore[arg-type]


def nws_health() -> dict[str, object]:
    health = SourceHealth("nws_forecast", EDGE_TIME, None, None, 12, 500).to_dict()
    return {**health, "domains": ["weather"]}


@pytest.fixture
def edge_journal(tmp_path: Path) -> Iterator[tuple[FlaskClient, Repository]]:
    """A fresh journal (no trading run) and the read-only dashboard over it."""
    settings = dashboard_config(tmp_path).settings
    repository = open_storage(settings.system.database)
    dashboard = Dashboard(settings, Reports(settings.system.database), SimulatedClock(EDGE_TIME))
    yield create_app(dashboard).test_client(), repository
    repository.close()


def test_the_edge_table_scores_the_journals_edges_and_lists_the_stored_sources(
    edge_journal: tuple[FlaskClient, Repository],
) -> None:
    client, repository = edge_journal
    repository.record_edge(edge_record(CHICAGO_HIGH))
    new_york = edge_record(
        "kalshi:KXHIGHNY-26MAR02-B40.5",
        side="no",
        probability=0.3,
        crowd_price=0.6,
        estimates={"nws_forecast": 0.25},
        traded=False,
    )
    repository.record_edge(new_york)
    repository.settle_edges(
        Settlement(CHICAGO_HIGH, True, EDGE_TIME + timedelta(hours=9)), {"weather-edge": D("5.80")}
    )
    repository.save_calibrations("weather", [Calibration("nws_forecast", 4, 0.2)], EDGE_TIME)
    repository.set_daemon_value("prediction_sources", json.dumps([nws_health()]))

    table = client.get("/api/analytics").get_json()["edge_table"]

    assert table["rows"] == [
        row.to_dict() for row in edge_scorecard(repository.edges(), repository.calibrations())
    ]
    domain, gfs, nws = table["rows"]
    # one of two edges settled, on the right side: (0.70 - 1)² = 0.09 against the crowd's (0.40 - 1)² = 0.36
    assert (domain["signals"], domain["settled"], domain["hits"], domain["trades"]) == (2, 1, 1, 1)
    assert domain["brier"] == pytest.approx(0.09) and domain["crowd_brier"] == pytest.approx(0.36)
    assert domain["pnl"] == "5.80" and domain["source"] is None
    assert (gfs["source"], nws["source"]) == ("gfs_ensemble", "nws_forecast")
    assert (nws["signals"], nws["priced"], nws["brier"]) == (2, 4, pytest.approx(0.05))  # 0.2 over 4 markets
    assert (gfs["priced"], gfs["brier"]) == (0, None)
    assert table["sources"] == [json.loads(json.dumps(nws_health()))]


def test_without_edges_or_sources_the_edge_table_is_empty(
    edge_journal: tuple[FlaskClient, Repository],
) -> None:
    client, _ = edge_journal

    assert client.get("/api/analytics").get_json()["edge_table"] == {"rows": [], "sources": []}


@pytest.mark.parametrize("stored", ["not json {", '{"name": "nws_forecast"}', "[1, 2]", '[{"ok": true}]'])
def test_a_malformed_stored_source_list_shows_no_sources_rather_than_failing(
    edge_journal: tuple[FlaskClient, Repository], stored: str
) -> None:
    client, repository = edge_journal
    repository.set_daemon_value("prediction_sources", stored)

    response = client.get("/api/analytics")

    assert response.status_code == 200 and response.get_json()["edge_table"]["sources"] == []
