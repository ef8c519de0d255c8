"""The dashboard of a running daemon, over real HTTP: levers, their guards, live figures, live events.

The daemon runs on a thread of its own (simulated clock, real journal, paper venues) with the
dashboard attached exactly as `build_live` attaches it: started on the daemon's loop by
`on_start`, served by waitress on port 0, stopped by `on_shutdown`.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from config.loader import LoadedConfig
from dashboard.app import create_app
from dashboard.context import Dashboard
from dashboard.live import LiveBridge
from dashboard.server import DashboardService, attach_dashboard
from runtime.events import Event
from runtime.wiring import SimulatedRun, build_simulated
from storage.reports import Reports
from tests.dashboard.daemon import TOKEN, RunningDaemon, dashboard_config, fill_journal
from tests.runtime.test_orchestrator import START

pytestmark = pytest.mark.slow


@dataclass(frozen=True, slots=True)
class Live:
    daemon: RunningDaemon
    url: str
    config: LoadedConfig

    def paused(self, bot: str) -> bool:
        control = self.daemon.orchestrator.control
        return self.daemon.call(lambda: control.is_bot_paused(bot))


def start_daemon(
    config: LoadedConfig, environ: dict[str, str], minutes_in: int
) -> tuple[RunningDaemon, list[Any]]:
    services: list[DashboardService | None] = []

    def build() -> SimulatedRun:
        run = build_simulated(config, START + timedelta(minutes=minutes_in))
        services.append(attach_dashboard(run.orchestrator, environ))
        return run

    return RunningDaemon(build), services


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    config = dashboard_config(tmp_path_factory.mktemp("live"))
    fill_journal(config, minutes=20)
    daemon, services = start_daemon(config, {"DASHBOARD_TOKEN": TOKEN}, minutes_in=21)
    with daemon:
        [service] = services
        assert service is not None and service.url is not None
        yield Live(daemon, service.url, config)


class Browserless:
    """An HTTP client that behaves like the dashboard's page: CSRF cookie and header, bearer token."""

    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=15)
        session = self.client.get("/api/session").json()
        self.csrf = session["csrf_token"]

    def post(
        self, path: str, token: str | None = TOKEN, csrf: str | None = "same", **headers: str
    ) -> httpx.Response:
        sent = dict(headers)
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if csrf is not None:
            sent["X-CSRF-Token"] = self.csrf if csrf == "same" else csrf
        return self.client.post(path, headers=sent, json={"reason": "test"})


def test_a_lever_with_the_token_pauses_the_bot_in_the_running_daemon(live: Live) -> None:
    page = Browserless(live.url)
    assert not live.paused("buyer-stocks")
    response = page.post("/api/bots/buyer-stocks/pause")
    assert response.status_code == 200 and response.json()["ok"]
    assert live.paused("buyer-stocks")
    stored = Reports(live.config.settings.system.database).control_state()
    assert stored.paused_bots.get("buyer-stocks") == "test"  # persisted by the daemon's Control
    bots = {b["name"]: b for b in page.client.get("/api/bots").json()["bots"]}
    assert bots["buyer-stocks"]["paused"] and bots["buyer-stocks"]["paused_reason"] == "test"
    assert page.post("/api/bots/buyer-stocks/resume").status_code == 200
    assert not live.paused("buyer-stocks")


def test_without_the_right_token_a_lever_answers_401_and_nothing_changes(live: Live) -> None:
    page = Browserless(live.url)
    missing = page.post("/api/bots/buyer-crypto/pause", token=None)
    assert missing.status_code == 401 and "bearer token" in missing.json()["error"]
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert page.post("/api/bots/buyer-crypto/pause", token="wrong-token-0123456789").status_code == 401
    assert page.post("/api/trading/halt", token=TOKEN[:-1]).status_code == 401
    assert not live.paused("buyer-crypto")
    assert live.daemon.call(lambda: live.daemon.orchestrator.control.trading_state.value) == "active"


def test_a_request_failing_the_csrf_check_is_refused(live: Live) -> None:
    page = Browserless(live.url)
    forged = "nonce." + "0" * 64  # the right shape, not signed by this server
    for attempt in (
        page.post("/api/bots/buyer-crypto/pause", csrf=None),  # no header
        page.post(
            "/api/bots/buyer-crypto/pause", csrf=Browserless(live.url).csrf
        ),  # header and cookie differ
    ):
        assert attempt.status_code == 403 and "CSRF" in attempt.json()["error"]
    stranger = httpx.Client(base_url=live.url, cookies={"dashboard_csrf": forged})
    planted = stranger.post(
        "/api/bots/buyer-crypto/pause",
        headers={"Authorization": f"Bearer {TOKEN}", "X-CSRF-Token": forged},
    )
    assert planted.status_code == 403
    cross_site = page.post("/api/bots/buyer-crypto/pause", Origin="http://evil.example")
    assert cross_site.status_code == 403 and "cross-site" in cross_site.json()["error"]
    assert not live.paused("buyer-crypto")


def test_with_no_token_configured_control_is_disabled_and_says_why(live: Live) -> None:
    daemon = live.daemon
    assert daemon.loop is not None
    settings = live.config.settings
    no_token = Dashboard(
        settings,
        Reports(settings.system.database),
        daemon.run.clock,
        live=LiveBridge(daemon.orchestrator, daemon.loop),
        token=None,
        token_problem="no token is configured (set DASHBOARD_TOKEN in the daemon's environment)",
    )
    client = create_app(no_token).test_client()
    session = client.get("/api/session").get_json()
    assert session["control"] == {
        "enabled": False,
        "note": "Control actions are disabled: no token is configured "
        "(set DASHBOARD_TOKEN in the daemon's environment).",
    }
    response = client.post("/api/bots/buyer-crypto/pause", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 403 and "no token is configured" in response.get_json()["error"]
    assert not live.paused("buyer-crypto")
    page = client.get("/bots").get_data(as_text=True)
    assert (
        "Control actions are disabled" in page
        and "disabled" in page.split('data-lever="/api/trading/halt"')[1][:80]
    )


def test_pause_all_and_halt_move_the_daemons_levers_and_resume_moves_them_back(live: Live) -> None:
    page = Browserless(live.url)
    control = live.daemon.orchestrator.control
    state = lambda: live.daemon.call(lambda: (control.all_paused, control.trading_state.value))  # noqa: E731
    assert page.post("/api/bots/pause-all").status_code == 200
    assert page.post("/api/trading/halt").status_code == 200
    assert state() == (True, "halted")
    overview = page.client.get("/api/overview").json()
    assert overview["trading"]["state"] == "halted" and overview["trading"]["running_bots"] == 0
    assert any(b["name"] == "trading halted" and b["active"] for b in overview["circuit_breakers"])
    assert page.post("/api/trading/resume").status_code == 200
    assert page.post("/api/bots/resume-all").status_code == 200
    assert state() == (False, "active")
    unknown = page.post("/api/bots/no-such-bot/pause")
    assert unknown.status_code == 404 and "unknown bot" in unknown.json()["error"]


def test_live_figures_come_from_the_running_book(live: Live) -> None:
    daemon = live.daemon
    daemon.freeze()
    try:
        book = daemon.call(daemon.orchestrator.book_snapshot)
        client = httpx.Client(base_url=live.url, timeout=15)
        overview = client.get("/api/overview").json()
        assert overview["source"] == "live book" and overview["read_only"] is False
        assert Decimal(overview["equity"]["value"]) == book.equity
        assert Decimal(overview["equity"]["day_start"]) == book.day_start_equity
        assert Decimal(overview["pnl"]["today"]) == book.daily_pnl
        assert Decimal(overview["exposure"]["gross"]) == book.gross_exposure
        assert overview["brokers"]["source"] == "live"
        assert overview["brokers"]["rows"] == json.loads(
            json.dumps(daemon.call(daemon.orchestrator.broker_health))
        )
        marks = {e.instrument_key: e.mark_price for e in book.open_exposures}
        positions = client.get("/api/positions").json()["positions"]
        assert positions and {p["instrument_key"] for p in positions} == set(marks)
        for row in positions:
            assert Decimal(row["mark"]) == marks[row["instrument_key"]]
            expected = (marks[row["instrument_key"]] - Decimal(row["average_entry_price"])) * Decimal(
                row["quantity"]
            )
            assert Decimal(row["unrealized"]) == expected
        unrealized = sum((Decimal(p["unrealized"]) for p in positions), Decimal(0))
        assert Decimal(overview["pnl"]["unrealized"]) == unrealized
        risk = client.get("/api/risk").json()
        tail = risk["tail_risk"]
        assert tail["available"], tail["reason"]
        assert tail["markets"] == len(marks) and tail["scenarios"] >= 20
        assert 0 < tail["var"] <= tail["cvar"]  # a long book loses in its worst scenarios
        assert tail["budget"] == pytest.approx(
            float(book.equity) * live.config.settings.risk.cvar_budget_fraction
        )
    finally:
        daemon.thaw()


def test_an_event_on_the_bus_reaches_an_open_event_stream(live: Live) -> None:
    daemon = live.daemon
    received: list[dict[str, Any]] = []
    subscribed = threading.Event()

    def listen() -> None:
        with httpx.stream(
            "GET", live.url + "api/events", headers={"Last-Event-ID": "1000000000"}, timeout=15
        ) as stream:
            for line in stream.iter_lines():
                if line.startswith("retry:"):
                    subscribed.set()  # the stream is registered with the feed before its first line
                if line.startswith("data:"):
                    event = json.loads(line[5:])
                    received.append(event)
                    if event["message"] == "dashboard test event":
                        return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert subscribed.wait(10)
    now = daemon.call(daemon.run.clock.now)
    event = Event("risk", now, "dashboard test event", {"kind": "test", "severity": "info"})
    daemon.call(lambda: daemon.orchestrator.bus.publish(event))
    listener.join(10)
    assert received and received[-1]["message"] == "dashboard test event"
    assert received[-1]["kind"] == "risk" and received[-1]["payload"] == {"kind": "test", "severity": "info"}


def test_the_dashboard_starts_with_the_daemon_and_stops_with_it(tmp_path: Any, caplog: Any) -> None:
    config = dashboard_config(tmp_path)
    daemon, services = start_daemon(config, {}, minutes_in=0)
    with caplog.at_level(logging.INFO, logger="dashboard"), daemon:
        [service] = services
        assert service is not None and service.url is not None
        url = service.url
        assert (
            httpx.get(url + "api/session").json()["control"]["enabled"] is False
        )  # no token in the environment
    assert any(r.getMessage().startswith(f"dashboard at {url} (control disabled") for r in caplog.records)
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "api/session", timeout=2)


def test_a_taken_port_leaves_the_daemon_trading_without_a_dashboard(tmp_path: Any, caplog: Any) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    base = dashboard_config(tmp_path)
    settings = base.settings.model_copy(
        update={"dashboard": base.settings.dashboard.model_copy(update={"port": port})}
    )
    config = LoadedConfig(settings, base.registry, base.settings_path, base.registry_path)
    daemon, services = start_daemon(config, {"DASHBOARD_TOKEN": TOKEN}, minutes_in=0)
    try:
        with caplog.at_level(logging.INFO), daemon:
            [service] = services
            assert service is not None and service.url is None
            started = daemon.call(daemon.run.clock.now)
            while daemon.call(daemon.run.clock.now) < started + timedelta(seconds=30):
                pass  # the daemon keeps ticking
        assert any(
            f"dashboard not started: cannot listen on 127.0.0.1:{port}" in r.getMessage()
            for r in caplog.records
        )
        assert Reports(settings.system.database).trades().total >= 0 and any(
            "daemon running" in r.getMessage() for r in caplog.records
        )
    finally:
        taken.close()


def test_a_disabled_dashboard_is_not_attached(tmp_path: Any) -> None:
    base = dashboard_config(tmp_path)
    off = base.settings.model_copy(
        update={"dashboard": base.settings.dashboard.model_copy(update={"enabled": False})}
    )
    run = build_simulated(LoadedConfig(off, base.registry, base.settings_path, base.registry_path), START)
    try:
        assert attach_dashboard(run.orchestrator, {"DASHBOARD_TOKEN": TOKEN}) is None
        assert run.orchestrator.on_start == []
    finally:
        run.orchestrator.repository.close()
