"""The JSON API, read-only over a journal a simulated run filled: every figure against `Reports`."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from dashboard.app import create_app
from dashboard.context import Dashboard, iso
from storage.database import open_storage
from storage.records import FleetWeight
from storage.reports import Reports, TradeFilter
from tests.dashboard.conftest import Journal
from utils.clock import SimulatedClock


def get(client: FlaskClient, url: str) -> Any:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.get_data(as_text=True))
    return response.get_json()


def test_overview_figures_are_the_journals(
    client: FlaskClient, read_only: Dashboard, journal: Journal
) -> None:
    data = get(client, "/api/overview")
    reports = journal.reports
    summary = reports.pnl_summary(read_only.day_start(journal.end))
    stored_start = reports.daemon_value("day_start_equity")
    assert data["read_only"] is True and data["source"] == "journal"
    assert summary.equity is not None and stored_start is not None
    assert Decimal(data["equity"]["value"]) == summary.equity
    assert Decimal(data["equity"]["day_start"]) == Decimal(stored_start)
    assert Decimal(data["pnl"]["today"]) == summary.equity - Decimal(stored_start)
    assert Decimal(data["pnl"]["realized_today"]) == summary.realized_today
    assert Decimal(data["pnl"]["realized_total"]) == summary.realized_total
    assert summary.unrealized is not None
    assert Decimal(data["pnl"]["unrealized"]) == summary.unrealized
    assert Decimal(data["pnl"]["total"]) == summary.realized_total + summary.unrealized
    assert (data["pnl"]["trades_today"], data["pnl"]["trades_total"]) == (
        summary.trades_today,
        summary.trades_total,
    )
    assert summary.trades_total > 0, "the simulated run closed no trade: the figures prove nothing"
    # the three bots, one of them auto-paused after five failures; all in paper mode
    assert data["trading"] == {
        "state": "active",
        "reason": None,
        "all_paused": False,
        "bots": 3,
        "paused_bots": 1,
        "running_bots": 2,
    }
    assert data["modes"] == {"paper": 3}
    assert data["positions"]["open"] == len(reports.open_positions()) and data["positions"]["max"] == 25


def test_overview_gauges_are_worked_from_the_limits(client: FlaskClient, journal: Journal) -> None:
    data = get(client, "/api/overview")
    settings = journal.config.settings
    equity = Decimal(data["equity"]["value"])
    gross = Decimal(data["exposure"]["gross"])
    cap = Decimal(str(settings.risk.gross_exposure_cap_fraction)) * equity
    assert Decimal(data["exposure"]["cap"]) == cap
    assert data["exposure"]["used"] == float(gross) / float(cap)
    daily = Decimal(data["daily_loss"]["pnl_today"])
    assert Decimal(data["daily_loss"]["limit"]) == Decimal("1000.0")
    assert data["daily_loss"]["used"] == max(0.0, float(-daily) / 1000.0)
    assert data["daily_loss"]["halted"] is False


def test_overview_shows_brokers_breakers_and_risk_events_from_the_journal(
    client: FlaskClient, journal: Journal
) -> None:
    data = get(client, "/api/overview")
    assert data["brokers"]["source"] == "journal"
    assert {(row["venue"], row["mode"], row["connected"]) for row in data["brokers"]["rows"]} == {
        ("sim-crypto", "paper", True),
        ("sim-fx", "paper", True),
        ("sim-kalshi", "paper", True),
        ("sim-polymarket", "paper", True),
        ("sim-stocks", "paper", True),
    }
    breakers = {(b["name"], b["bot"]): b for b in data["circuit_breakers"]}
    paused = breakers[("bot auto-paused", "broken")]
    [auto_paused] = [p for p in journal.reports.paused_bots() if p.bot == "broken"]
    assert (
        paused["active"]
        and paused["reason"] == auto_paused.reason
        and "5 consecutive failures" in paused["reason"]
    )
    assert paused["fired_at"] == auto_paused.paused_at.isoformat()
    assert breakers[("daily loss halt", None)]["active"] is False
    # two losses in a row cut buyer-crypto's size (losses_to_reduce = 2 in this configuration)
    reduced = journal.reports.latest_risk_event_per_bot(["bot_size_reduced", "bot_size_restored"])
    for bot, event in reduced.items():
        streak = breakers[("loss-streak size reduction", bot)]
        assert streak["active"] == (event.kind == "bot_size_reduced") and streak["reason"] == event.message
    assert [e["message"] for e in data["risk_events"]] == [
        e.message for e in journal.reports.risk_events(limit=15)
    ]


def test_bots_table_is_the_journals_bot_figures(
    client: FlaskClient, read_only: Dashboard, journal: Journal
) -> None:
    data = get(client, "/api/bots")
    activity = {f.name: f for f in journal.reports.bot_activity(read_only.day_start(journal.end))}
    performance = {p.key: p for p in journal.reports.performance_by_bot()}
    rows = {row["name"]: row for row in data["bots"]}
    assert set(rows) == set(activity) == {"broken", "buyer-crypto", "buyer-stocks"}
    for name, row in rows.items():
        figure = activity[name]
        assert (row["asset_class"], row["venue"], row["mode"], row["schedule"]) == (
            figure.asset_class,
            figure.venue,
            figure.mode,
            figure.schedule,
        )
        assert (row["signals_today"], row["orders_today"]) == (figure.signals_today, figure.orders_today)
        done = performance.get(name)
        assert row["trades"] == (done.trades if done else 0) and row["wins"] == (done.wins if done else 0)
        assert Decimal(row["net_pnl"]) == (done.net_pnl if done else 0)
        assert row["win_rate"] == (done.win_rate if done else None)
    broken = rows["broken"]
    assert (
        broken["paused"]
        and broken["last_error"] == "RuntimeError: strategy bug"
        and broken["last_run_ok"] is False
    )
    # allocation read-only: the bot's open positions at their entry prices, over the latest equity
    equity = journal.reports.pnl_summary(read_only.day_start(journal.end)).equity
    assert equity is not None
    for name in ("buyer-crypto", "buyer-stocks"):
        held = sum(
            (
                abs(p.quantity) * p.average_entry_price
                for p in journal.reports.open_positions()
                if p.bot == name
            ),
            Decimal(0),
        )
        allocation = rows[name]["allocation"]
        assert Decimal(allocation["exposure"]) == held and allocation["valued_at"] == "entry price"
        assert allocation["of_equity"] == float(held) / float(equity) and allocation["cap_of_equity"] == 0.25


def test_positions_carry_their_exit_plan_progress(client: FlaskClient, journal: Journal) -> None:
    data = get(client, "/api/positions")
    held = {(p.bot, p.instrument_key): p for p in journal.reports.open_positions()}
    assert held, "the simulated run left no open position"
    assert {(row["bot"], row["instrument_key"]) for row in data["positions"]} == set(held)
    for row in data["positions"]:
        position = held[(row["bot"], row["instrument_key"])]
        assert Decimal(row["quantity"]) == position.quantity
        assert Decimal(row["average_entry_price"]) == position.average_entry_price
        assert row["mark"] is None and row["unrealized"] is None  # no live price without the daemon
        plan = position.exit_plan
        assert plan is not None and row["exit_plan"] is not None
        assert (
            Decimal(row["exit_plan"]["first_target"])
            == plan.entry_price + plan.side.sign * plan.risk_per_unit
        )
        assert Decimal(row["exit_plan"]["stop_price"]) == plan.stop_price
        assert row["exit_plan"]["first_target_done"] == plan.first_target_done
        assert row["exit_plan"]["remaining_fraction"] == float(abs(position.quantity) / plan.initial_quantity)


def test_trades_are_paginated_and_filtered_on_the_server(client: FlaskClient, journal: Journal) -> None:
    every = journal.reports.trades(limit=1000)
    first = get(client, "/api/trades?per_page=3")
    assert first["total"] == every.total and first["pages"] == -(-every.total // 3)
    second = get(client, "/api/trades?per_page=3&page=2")
    shown = [(t["closed_at"], Decimal(t["net_pnl"])) for t in first["trades"] + second["trades"]]
    assert shown == [(t.closed_at.isoformat(), t.net_pnl) for t in every.trades[:6]]
    only = get(client, "/api/trades?bot=buyer-stocks")
    assert only["total"] == journal.reports.trades(where=TradeFilter(bot="buyer-stocks")).total
    assert {t["bot"] for t in only["trades"]} == {"buyer-stocks"}
    btc = get(client, "/api/trades?instrument=sim-crypto:BTC/USD")
    assert {t["instrument_key"] for t in btc["trades"]} == {"sim-crypto:BTC/USD"}
    # local dates, both ends included: the run's day holds every trade, the day before none
    assert get(client, "/api/trades?from=2026-03-02&to=2026-03-02")["total"] == every.total
    assert get(client, "/api/trades?from=2026-03-01&to=2026-03-01")["total"] == 0


def test_bad_trade_filters_answer_400_with_the_reason(client: FlaskClient) -> None:
    response = client.get("/api/trades?from=yesterday")
    assert response.status_code == 400 and "from must be a date" in response.get_json()["error"]
    assert client.get("/api/trades?per_page=5000").status_code == 400
    assert client.get("/api/signals?limit=x").status_code == 400


def test_csv_export_holds_every_matching_trade(client: FlaskClient, journal: Journal) -> None:
    response = client.get("/api/trades.csv?bot=buyer-crypto")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    expected = list(journal.reports.export_trades(TradeFilter(bot="buyer-crypto")))
    assert len(rows) == len(expected) > 0
    assert [(r["closed_at"], Decimal(r["net_pnl"])) for r in rows] == [
        (t.closed_at.isoformat(), t.net_pnl) for t in expected
    ]


def test_the_decision_trace_lists_each_stages_verdict(client: FlaskClient, journal: Journal) -> None:
    data = get(client, "/api/signals?limit=10")
    expected = journal.reports.latest_signals(10)
    assert [s["id"] for s in data["signals"]] == [s.id for s in expected]
    for row, signal in zip(data["signals"], expected, strict=True):
        assert [(d["stage"], d["verdict"], d["reason_code"]) for d in row["decisions"]] == [
            (d.stage, d.verdict, d.reason_code) for d in signal.decisions
        ]
        assert signal.final is not None and row["final"]["message"] == signal.final.message
        assert row["order_status"] == signal.order_status
    older = get(client, "/api/signals?limit=5&offset=5")
    assert [s["id"] for s in older["signals"]] == [s.id for s in expected[5:10]]
    assert {s["bot"] for s in get(client, "/api/signals?bot=buyer-stocks")["signals"]} == {"buyer-stocks"}


def test_a_signals_page_shows_its_whole_road(client: FlaskClient, journal: Journal) -> None:
    traded = next(s for s in journal.reports.latest_signals(50) if s.order_status == "filled")
    data = get(client, f"/api/signals/{traded.id}")
    road = journal.reports.signal_road(traded.id)
    assert road is not None and road.order is not None
    stages = [d["stage"] for d in data["signal"]["decisions"]]
    assert stages == ["regime", "ensemble", "veto", "risk", "router"]
    assert data["order"]["status"] == "filled"
    assert Decimal(data["order"]["filled_quantity"]) == road.order.filled_quantity
    assert [(e["from_status"], e["to_status"]) for e in data["order_events"]] == [
        (None if e.from_status is None else e.from_status.value, e.to_status.value) for e in road.order_events
    ]
    assert data["order_events"][-1]["to_status"] == "filled"
    assert [Decimal(f["quantity"]) for f in data["fills"]] == [f.quantity for f in road.fills]
    assert client.get("/api/signals/sig-nothing").status_code == 404


def test_analytics_curves_and_tables_are_the_journals(client: FlaskClient, journal: Journal) -> None:
    data = get(client, "/api/analytics")
    curve = journal.reports.equity_curve(max_points=500)
    assert [Decimal(p["equity"]) for p in data["equity_curve"]] == [p.equity for p in curve]
    peak = Decimal(0)
    for point in data["equity_curve"]:  # drawdown worked by hand: the fall from the running peak
        peak = max(peak, Decimal(point["equity"]))
        assert abs(point["drawdown"] - float((peak - Decimal(point["equity"])) / peak)) < 1e-12
    assert data["max_drawdown"] == max(p["drawdown"] for p in data["equity_curve"]) > 0
    assert {r["key"]: Decimal(r["net_pnl"]) for r in data["by_bot"]} == {
        p.key: p.net_pnl for p in journal.reports.performance_by_bot()
    }
    by_class = {r["key"]: Decimal(r["net_pnl"]) for r in data["by_asset_class"]}
    assert by_class == {p.key: p.net_pnl for p in journal.reports.performance_by_asset_class()}
    assert set(by_class) == {"crypto", "stock"}
    days = {d["day"]: Decimal(d["net_pnl"]) for d in data["daily_pnl"]}
    assert len(days) == 30 and list(days)[-1] == "2026-03-02"
    assert days == {
        d.day.isoformat(): d.net_pnl for d in journal.reports.daily_pnl("America/New_York", 30, journal.end)
    }
    gate = {row["bot"]: row for row in data["validation_gate"]["bots"]}
    for performance in journal.reports.performance_by_bot():
        row = gate[performance.key]
        assert row["trades"] == performance.trades and row["go"] is False  # a 40-minute run is no proof
        assert f"{performance.trades} trades, needs 100+" in row["failures"]
        assert row["days"] == 1 and row["sharpe"] is None  # one day: no standard deviation
    assert "daily net P&L" in data["validation_gate"]["sharpe_basis"]
    vetoes = data["veto_scorecard"]
    shadows = journal.reports.shadow_trades()
    assert vetoes["horizons_minutes"] == [60, 240, 1440]
    if shadows:
        assert vetoes["rows"][0]["cause"] == "all" and vetoes["rows"][0]["vetoed"] == len(shadows)
    else:
        assert vetoes["rows"] == [] and vetoes["recent"] == []
    assert set(data["edge_table"]) == {"rows", "sources"}


def test_risk_controls_against_their_limits_and_no_var_without_the_daemon(
    client: FlaskClient, journal: Journal
) -> None:
    data = get(client, "/api/risk")
    overview = get(client, "/api/overview")
    controls = {c["name"]: c for c in data["controls"]}
    assert controls["trading state"]["value"] == "active"
    assert Decimal(controls["daily loss"]["value"]) == max(Decimal(0), -Decimal(overview["pnl"]["today"]))
    assert controls["open positions"]["value"] == str(overview["positions"]["open"])
    assert controls["gross exposure"]["limit"] == overview["exposure"]["cap"]
    equity = Decimal(data["equity"])
    positions = journal.reports.open_positions()
    classes = journal.reports.asset_classes([p.instrument_key for p in positions])
    for asset_class, cap in journal.config.settings.risk.max_asset_class_exposure_fraction.items():
        held = sum(
            (
                abs(p.quantity) * p.average_entry_price
                for p in positions
                if classes[p.instrument_key] == asset_class
            ),
            Decimal(0),
        )
        control = controls[f"{asset_class} exposure"]
        assert Decimal(control["value"]) == held and Decimal(control["limit"]) == Decimal(str(cap)) * equity
    assert data["tail_risk"]["available"] is False
    assert data["tail_risk"]["reason"].startswith("needs the running daemon")
    # stress: without the daemon the book is valued at entry prices; a 10 % gap down takes 10 % off
    # every stock and crypto position (signed), leaves currency pairs alone, and settles prediction
    # contracts against their holder
    stress = data["stress"]
    assert stress["available"] and stress["valued_at"] == "entry price"
    expected = 0.0
    for p in positions:
        entry, quantity = float(p.average_entry_price), float(p.quantity)
        if classes[p.instrument_key] in ("stock", "crypto"):
            expected += -0.10 * quantity * entry
        elif classes[p.instrument_key] == "prediction":
            expected += -quantity * entry if quantity > 0 else quantity * (1 - entry)
    assert expected < 0  # the journal holds long positions
    gap = {row["name"]: row for row in stress["scenarios"]}["gap down 10%"]
    assert gap["pnl"] == pytest.approx(expected, abs=0.01)
    assert gap["loss_of_equity"] == pytest.approx(-expected / float(equity), abs=1e-4)
    daily = Decimal(overview["pnl"]["today"])
    limit = journal.config.settings.risk.daily_loss_limit_usd
    assert gap["breaches_daily_loss_limit"] == (float(daily) + gap["pnl"] <= -float(limit))


def test_read_only_mode_refuses_every_lever_and_changes_nothing(
    client: FlaskClient, journal: Journal
) -> None:
    session = get(client, "/api/session")
    assert session["read_only"] and not session["control"]["enabled"]
    before = journal.reports.control_state()
    for path in ("/api/bots/buyer-stocks/pause", "/api/bots/pause-all", "/api/trading/halt"):
        response = client.post(path, headers={"Authorization": "Bearer anything-at-all-123456"})
        assert response.status_code == 403 and "Read-only" in response.get_json()["error"]
    assert journal.reports.control_state() == before
    assert client.get("/api/events").status_code == 404  # no bus without the daemon


def test_pages_load_only_assets_of_their_own(client: FlaskClient) -> None:
    for path in (
        "/",
        "/bots",
        "/positions",
        "/signals",
        "/analytics",
        "/risk",
        "/fleet",
        "/models",
        "/signals/sig-x",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sources and all(s.startswith(("/", "#", "data:")) for s in sources), sources  # no CDN
        assert "<script>" not in html  # nothing inline: the CSP allows scripts from 'self' only
        assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert 'data-read-only="true"' in html
    bots = client.get("/bots").get_data(as_text=True)
    assert "data-lever" not in bots and "Read-only" in bots  # read-only never shows a lever
    for asset in (
        "vendor/bootstrap.min.css",
        "vendor/bootstrap.bundle.min.js",
        "vendor/chart.umd.js",
        "app.js",
    ):
        assert client.get(f"/static/{asset}").status_code == 200


def test_a_journal_the_daemon_never_wrote_to_answers_every_endpoint(tmp_path: Path, journal: Journal) -> None:
    path = tmp_path / "fresh.sqlite"
    open_storage(path).close()
    fresh = Dashboard(journal.config.settings, Reports(path), SimulatedClock(journal.end))
    client = create_app(fresh).test_client()
    for endpoint in (
        "/api/overview",
        "/api/bots",
        "/api/positions",
        "/api/trades",
        "/api/signals",
        "/api/analytics",
        "/api/risk",
        "/api/regimes",
        "/api/models",
        "/api/fleet",
    ):
        assert client.get(endpoint).status_code == 200, endpoint
    overview = get(client, "/api/overview")
    assert overview["equity"]["value"] is None and overview["pnl"]["realized_total"] == "0"
    assert overview["daily_loss"]["used"] is None and overview["brokers"]["rows"] == []
    assert get(client, "/api/analytics")["equity_curve"] == []


def test_the_fleet_page_shows_each_sub_bots_latest_weight_and_the_allocation_over_time(
    tmp_path: Path, journal: Journal
) -> None:
    path = tmp_path / "fleet.sqlite"
    repository = open_storage(path)
    start = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    # three rounds of three sub-bots; "c" joins in the second round
    weights = [{"a": 0.6, "b": 0.4}, {"a": 0.5, "b": 0.3, "c": 0.2}, {"a": 0.2, "b": 0.3, "c": 0.5}]
    for n, round_weights in enumerate(weights):
        at = start + timedelta(hours=n)
        repository.record_fleet_allocation(
            [FleetWeight(at, bot, w, 3 * w, 10 * n, 0.1 * n, 0.5) for bot, w in round_weights.items()]
        )
    repository.close()
    client = create_app(
        Dashboard(journal.config.settings, Reports(path), SimulatedClock(journal.end))
    ).test_client()
    figures = get(client, "/api/fleet")
    assert figures["rounds"] == 3 and figures["as_of"] == iso(start + timedelta(hours=2))
    assert [(b["bot"], b["weight"]) for b in figures["bots"]] == [("c", 0.5), ("b", 0.3), ("a", 0.2)]
    assert figures["bots"][0]["size_multiplier"] == 1.5 and figures["bots"][0]["trades"] == 20
    assert figures["history"]["weights"] == {
        "a": [0.6, 0.5, 0.2],
        "b": [0.4, 0.3, 0.3],
        "c": [None, 0.2, 0.5],
    }
    # the bots page gives each sub-bot its latest weight
    assert Reports(path).fleet_rounds(max_rounds=1) == [
        FleetWeight(start + timedelta(hours=2), bot, w, 3 * w, 20, 0.2, 0.5)
        for bot, w in sorted(weights[2].items())
    ]
    # a long history is thinned to the rounds asked for, the first and the last kept
    assert sorted({w.time for w in Reports(path).fleet_rounds(max_rounds=2)}) == [
        start,
        start + timedelta(hours=2),
    ]
