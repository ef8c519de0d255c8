"""Read-only over real HTTP: waitress on port 0 serves what the test client sees, and
`master_orchestrator.py run --dashboard-only` serves the journal until it is interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from flask.testing import FlaskClient

from config.loader import DEFAULT_CONFIG
from dashboard.app import create_app
from dashboard.context import Dashboard
from dashboard.server import DashboardServer
from master_orchestrator import _dashboard_only
from tests.dashboard.conftest import Journal

ROOT = Path(__file__).resolve().parents[2]
ENDPOINTS = (
    "/api/overview",
    "/api/bots",
    "/api/positions",
    "/api/trades?per_page=5&page=2",
    "/api/signals?limit=20",
    "/api/analytics",
    "/api/risk",
)


@pytest.fixture
def server(read_only: Dashboard) -> Iterator[DashboardServer]:
    served = DashboardServer(create_app(read_only), "127.0.0.1", 0)
    served.start()
    yield served
    served.stop()


def test_waitress_serves_every_endpoint_as_the_app_computes_it(
    server: DashboardServer, client: FlaskClient
) -> None:
    with httpx.Client(base_url=server.url, timeout=15) as http:
        for endpoint in ENDPOINTS:
            response = http.get(endpoint)
            assert response.status_code == 200, endpoint
            assert response.headers["Content-Type"] == "application/json"
            assert response.json() == client.get(endpoint).get_json(), endpoint
        csv = http.get("/api/trades.csv")
        assert csv.status_code == 200 and csv.text == client.get("/api/trades.csv").get_data(as_text=True)
        page = http.get("/")
        assert page.status_code == 200 and "dashboard_csrf=" in page.headers["set-cookie"]
        assert "SameSite=Strict" in page.headers["set-cookie"]
        assert http.get("/static/vendor/chart.umd.js").text.startswith("/*!\n * Chart.js v4")
        refused = http.post("/api/trading/halt", headers={"Authorization": "Bearer x" * 3})
        assert refused.status_code == 403


def test_stopping_the_server_closes_its_port(read_only: Dashboard) -> None:
    served = DashboardServer(create_app(read_only), "127.0.0.1", 0)
    served.start()
    assert httpx.get(served.url + "api/session").status_code == 200
    served.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(served.url + "api/session", timeout=2)


def settings_file(tmp_path: Path, journal: Journal) -> Path:
    """The default settings pointed at the test journal, the dashboard on any free port."""
    text = DEFAULT_CONFIG.read_text()
    text = text.replace('database = "var/trading.sqlite"', f'database = "{journal.database}"')
    text = text.replace('var_dir = "var"', f'var_dir = "{tmp_path / "var"}"')
    text = text.replace('registry = "bots.toml"', f'registry = "{DEFAULT_CONFIG.parent / "bots.toml"}"')
    text = text.replace("port = 8050", "port = 0")
    path = tmp_path / "settings.toml"
    path.write_text(text)
    return path


@pytest.mark.slow
def test_dashboard_only_serves_the_journal_read_only_until_interrupted(
    tmp_path: Path, journal: Journal
) -> None:
    command = [sys.executable, "master_orchestrator.py", "run", "--dashboard-only", "--config"]
    process = subprocess.Popen(
        [*command, str(settings_file(tmp_path, journal))],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "DASHBOARD_TOKEN": "a-token-that-must-not-matter", "PYTHONFAULTHANDLER": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "read-only" in line and "http://127.0.0.1:" in line, line
        url = line[line.index("http://") :].split()[0]
        overview = httpx.get(url + "api/overview", timeout=15).json()
        assert overview["read_only"] is True and overview["source"] == "journal"
        assert (
            Decimal(overview["pnl"]["realized_total"])
            == journal.reports.pnl_summary(journal.end).realized_total
        )
        refused = httpx.post(
            url + "api/bots/buyer-stocks/pause",
            headers={"Authorization": "Bearer a-token-that-must-not-matter"},
        )
        assert refused.status_code == 403 and "Read-only" in refused.json()["error"]
        process.send_signal(signal.SIGINT)
        # communicate, not wait: it drains the pipe, which a chatty exit could otherwise fill and block on
        try:
            output, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)  # faulthandler prints where every thread is stuck
            output, _ = process.communicate(timeout=10)
            pytest.fail(f"no exit within 20 s of Ctrl-C; its threads:\n{output[-6000:]}")
        assert process.returncode == 0, output[-2000:]
    finally:
        if process.poll() is None:
            process.kill()
    assert not journal.reports.control_state().paused_bots.get("buyer-stocks")


def test_dashboard_only_says_so_when_there_is_no_journal(tmp_path: Path, journal: Journal) -> None:
    settings = settings_file(tmp_path, journal)
    settings.write_text(settings.read_text().replace(str(journal.database), str(tmp_path / "none.sqlite")))
    assert _dashboard_only(str(settings)) == 1  # what `run --dashboard-only` calls
