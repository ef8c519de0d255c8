"""Fixtures: one journal filled by a real simulated run (per worker), and read-only apps over it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from config.loader import LoadedConfig
from dashboard.app import create_app
from dashboard.context import Dashboard
from storage.reports import Reports
from tests.dashboard.daemon import dashboard_config, fill_journal
from utils.clock import SimulatedClock


@dataclass(frozen=True, slots=True)
class Journal:
    """A journal a 40-minute simulated run left behind, and the moment the run ended."""

    config: LoadedConfig
    database: Path
    reports: Reports
    end: datetime


@pytest.fixture(scope="session")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Journal:
    config = dashboard_config(tmp_path_factory.mktemp("journal"))
    run = fill_journal(config, minutes=40)
    database = Path(config.settings.system.database)
    return Journal(config, database, Reports(database), run.clock.now())


@pytest.fixture
def read_only(journal: Journal) -> Dashboard:
    """The dashboard with the daemon down, its clock standing where the run ended."""
    return Dashboard(journal.config.settings, journal.reports, SimulatedClock(journal.end))


@pytest.fixture
def client(read_only: Dashboard) -> FlaskClient:
    return create_app(read_only).test_client()
