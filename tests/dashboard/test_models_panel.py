"""The "Regimes & models" panel: /api/regimes over a real journal, /api/models over a real registry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from ai import NEWS_STATUS_KEY
from config.loader import load_config
from dashboard.app import create_app
from dashboard.context import Dashboard
from domain.regimes import Regime, RegimeFit, RegimeReading
from ml_models.models import ModelRegistry
from ml_models.training.train import TrainingResult, XgbParams, train_asset
from runtime.wiring import with_paths
from storage.database import open_storage
from storage.reports import Reports
from storage.repository import Repository
from tests.ml_models.synthetic_bars import SMALL_SPLIT, planted_signal_bars
from utils.clock import SimulatedClock

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
TINY_TREES = XgbParams(n_estimators=5, max_depth=2)
MULTIPLIERS = {"bull": 1.0, "sideways": 0.6, "bear": 0.25}
SOURCE = "simulated: seed 1, 1000 bars of 60 s"


@dataclass(frozen=True, slots=True)
class Panel:
    client: FlaskClient
    repository: Repository
    registry: ModelRegistry
    var_dir: Path


@pytest.fixture(scope="module")
def trained() -> TrainingResult:
    result = train_asset(planted_signal_bars(), asset="BTC", split=SMALL_SPLIT, xgb_params=TINY_TREES)
    assert result.promoted, "the planted signal should beat the baseline even with five trees"
    return result


@pytest.fixture
def panel(tmp_path: Path) -> Iterator[Panel]:
    """A dashboard over an empty journal and registry folder of its own, regimes sized by MULTIPLIERS."""
    config = with_paths(load_config(), database=tmp_path / "journal.sqlite", var_dir=tmp_path / "var")
    regimes = config.settings.regimes.model_copy(update={"multipliers": MULTIPLIERS})
    settings = config.settings.model_copy(update={"regimes": regimes})
    repository = open_storage(settings.system.database)
    board = Dashboard(settings, Reports(settings.system.database), SimulatedClock(NOW))
    yield Panel(
        create_app(board).test_client(),
        repository,
        ModelRegistry(tmp_path / "var" / "models"),
        tmp_path / "var",
    )
    repository.close()


def get(client: FlaskClient, url: str) -> Any:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.get_data(as_text=True))
    return response.get_json()


def reading(key: str, regime: Regime, bull: float, sideways: float, bear: float) -> RegimeReading:
    probabilities = {Regime.BULL: bull, Regime.SIDEWAYS: sideways, Regime.BEAR: bear}
    return RegimeReading(
        key, regime, probabilities, NOW - timedelta(minutes=1), NOW - timedelta(hours=3), 1000
    )


def fit(key: str, at: datetime, ok: bool = True, message: str = "converged") -> RegimeFit:
    states = ({"regime": "bull", "mean_return": 0.001, "volatility": 0.01},) if ok else ()
    return RegimeFit(key, at, ok, message, 1000, -1234.5 if ok else None, states)


# ---------------------------------------------------------------------------------------------------
# Regimes
# ---------------------------------------------------------------------------------------------------
def test_each_market_shows_its_regime_probabilities_and_size_multiplier(panel: Panel) -> None:
    panel.repository.save_market_regime(reading("sim-stocks:SPY", Regime.BEAR, 0.05, 0.15, 0.8), NOW)
    panel.repository.save_market_regime(reading("sim-crypto:BTC/USD", Regime.BULL, 0.7, 0.2, 0.1), NOW)

    data = get(panel.client, "/api/regimes")

    btc, spy = data["markets"]
    assert (btc["instrument_key"], btc["regime"], btc["multiplier"]) == ("sim-crypto:BTC/USD", "bull", 1.0)
    assert btc["probability"] == 0.7
    assert btc["probabilities"] == {"bull": 0.7, "sideways": 0.2, "bear": 0.1}
    assert (spy["instrument_key"], spy["regime"], spy["multiplier"]) == ("sim-stocks:SPY", "bear", 0.25)
    assert spy["probabilities"]["bear"] == 0.8
    assert spy["fitted_at"] == (NOW - timedelta(hours=3)).isoformat() and spy["fit_bars"] == 1000
    assert data["multipliers"] == MULTIPLIERS
    assert data["refit_hours"] == 24.0 and data["timeframe_seconds"] == 60


def test_no_regime_model_fitted_yet_answers_empty_lists(panel: Panel) -> None:
    data = get(panel.client, "/api/regimes")

    assert data["markets"] == [] and data["fits"] == []


def test_regime_fits_are_listed_newest_first_with_their_failures(panel: Panel) -> None:
    panel.repository.record_regime_fit(fit("sim-crypto:BTC/USD", NOW - timedelta(hours=2)))
    panel.repository.record_regime_fit(
        fit("sim-stocks:SPY", NOW - timedelta(hours=1), ok=False, message="only 90 bars; needs 150")
    )
    panel.repository.record_regime_fit(fit("sim-crypto:ETH/USD", NOW))

    fits = get(panel.client, "/api/regimes")["fits"]

    assert [f["instrument_key"] for f in fits] == [
        "sim-crypto:ETH/USD",
        "sim-stocks:SPY",
        "sim-crypto:BTC/USD",
    ]
    assert [f["ok"] for f in fits] == [True, False, True]
    assert fits[1]["message"] == "only 90 bars; needs 150" and fits[1]["states"] == []


def test_only_the_latest_thirty_regime_fits_are_shown(panel: Panel) -> None:
    for minute in range(35):
        panel.repository.record_regime_fit(fit("sim-crypto:BTC/USD", NOW + timedelta(minutes=minute)))

    fits = get(panel.client, "/api/regimes")["fits"]

    assert len(fits) == 30
    assert fits[0]["time"] == (NOW + timedelta(minutes=34)).isoformat()
    assert fits[-1]["time"] == (NOW + timedelta(minutes=5)).isoformat()


# ---------------------------------------------------------------------------------------------------
# ML models
# ---------------------------------------------------------------------------------------------------
def test_the_model_in_use_is_the_newest_promoted_even_when_a_newer_one_was_not(
    panel: Panel, trained: TrainingResult
) -> None:
    panel.registry.save(trained, data_source=SOURCE, created_at=NOW - timedelta(days=2))
    panel.registry.save(trained, data_source=SOURCE, created_at=NOW - timedelta(days=1))
    rejected = replace(trained, promoted=False, promotion_reason="mean log loss not beaten")
    panel.registry.save(
        rejected,
        data_source="sim bars, seed 9",
        created_at=NOW,
        comparison={"reason": "log loss 0.699 does not beat v2's 0.655"},
    )

    [btc] = get(panel.client, "/api/models")["assets"]

    assert btc["asset"] == "BTC" and btc["versions"] == 3
    assert btc["in_use"]["version"] == 2 and btc["in_use"]["promoted"] is True
    assert btc["in_use"]["created_at"] == (NOW - timedelta(days=1)).isoformat()
    latest = btc["latest"]
    assert (latest["version"], latest["promoted"]) == (3, False)
    assert latest["data_source"] == "sim bars, seed 9"
    assert latest["promotion_reason"] == "mean log loss not beaten"
    assert latest["comparison_reason"] == "log loss 0.699 does not beat v2's 0.655"
    assert btc["in_use"]["comparison_reason"] is None


def test_a_models_summary_carries_its_metrics_window_and_features(
    panel: Panel, trained: TrainingResult
) -> None:
    panel.registry.save(trained, data_source=SOURCE, created_at=NOW)

    [btc] = get(panel.client, "/api/models")["assets"]

    summary = btc["latest"]
    assert btc["in_use"] == summary
    assert summary["data_source"] == SOURCE and summary["horizon"] == 1
    assert summary["features"] == len(trained.spec.names) > 0
    assert summary["mean_metrics"] == pytest.approx(trained.mean_model.to_dict())
    assert summary["baseline_metrics"] == pytest.approx(trained.mean_baseline.to_dict())
    assert summary["training_window"] == {
        "start": trained.train_start.isoformat(),
        "end": trained.train_end.isoformat(),
        "rows": trained.rows,
    }
    assert summary["promotion_reason"] == trained.promotion_reason


def test_an_asset_without_a_promoted_version_has_no_model_in_use(
    panel: Panel, trained: TrainingResult
) -> None:
    panel.registry.save(replace(trained, asset="ETH", promoted=False), data_source=SOURCE, created_at=NOW)
    panel.registry.save(trained, data_source=SOURCE, created_at=NOW)

    eth_and_btc = get(panel.client, "/api/models")["assets"]

    assert [(a["asset"], a["in_use"] is None, a["latest"]["version"]) for a in eth_and_btc] == [
        ("BTC", False, 1),
        ("ETH", True, 1),
    ]


def test_a_record_saved_before_data_source_existed_has_none(panel: Panel, trained: TrainingResult) -> None:
    record = panel.registry.save(trained, data_source=SOURCE, created_at=NOW)
    metadata_file = record.path / "metadata.json"
    metadata = json.loads(metadata_file.read_text())
    del metadata["data_source"]
    metadata_file.write_text(json.dumps(metadata))

    [btc] = get(panel.client, "/api/models")["assets"]

    assert btc["latest"]["data_source"] is None and btc["latest"]["version"] == 1


def test_an_absent_registry_folder_means_no_models(panel: Panel) -> None:
    data = get(panel.client, "/api/models")

    assert not (panel.var_dir / "models").exists()
    assert data["assets"] == [] and data["problem"] is None
    assert data["registry"] == str(panel.var_dir / "models")


def test_an_unreadable_metadata_file_is_reported_not_a_500(panel: Panel, trained: TrainingResult) -> None:
    record = panel.registry.save(trained, data_source=SOURCE, created_at=NOW)
    (record.path / "metadata.json").write_text("{ half a file")

    data = get(panel.client, "/api/models")

    assert data["assets"] == [] and "could not be read" in data["problem"]


# ---------------------------------------------------------------------------------------------------
# The retraining run
# ---------------------------------------------------------------------------------------------------
def test_the_last_retraining_runs_status_is_shown(panel: Panel) -> None:
    status = {
        "state": "done",
        "started_at": NOW.isoformat(),
        "finished_at": (NOW + timedelta(minutes=4)).isoformat(),
        "source": "journal bars",
        "message": "1 of 2 assets promoted",
        "outcomes": [
            {"asset": "BTC", "version": 4, "promoted": True, "in_use_version": 4, "reason": "beats v3"},
            {
                "asset": "ETH",
                "version": None,
                "promoted": False,
                "in_use_version": 2,
                "reason": "too few bars",
            },
        ],
    }
    panel.repository.set_daemon_value("ml_retraining", json.dumps(status))

    assert get(panel.client, "/api/models")["retraining"] == status


def test_no_retraining_run_yet_is_none(panel: Panel) -> None:
    assert get(panel.client, "/api/models")["retraining"] is None


@pytest.mark.parametrize("stored", ["{not json", "[1, 2]", '{"outcomes": []}', "null"])
def test_a_junk_retraining_status_reads_as_none_not_a_500(panel: Panel, stored: str) -> None:
    panel.repository.set_daemon_value("ml_retraining", stored)

    assert get(panel.client, "/api/models")["retraining"] is None


# ---------------------------------------------------------------------------------------------------
# News
# ---------------------------------------------------------------------------------------------------
def test_without_a_news_feed_the_panel_says_how_to_configure_one(panel: Panel) -> None:
    news = get(panel.client, "/api/models")["news"]

    assert news["scorer"] is None
    assert news["reason"] == "no news feed configured ([news] rss_feeds, or NEWSAPI_KEY in the environment)"


def test_the_active_scorer_and_each_feeds_health_are_shown(panel: Panel) -> None:
    status = {
        "scorer": "Loughran-McDonald lexicon (no FinBERT model configured)",
        "sources": {"NewsAPI": "429, paused until 15:10", "Markets Wire": "ok, 12 items at 14:03"},
        "stories": 12,
        "added_last_refresh": 3,
        "refreshed_at": NOW.isoformat(),
    }
    panel.repository.set_daemon_value(NEWS_STATUS_KEY, json.dumps(status))

    assert get(panel.client, "/api/models")["news"] == {**status, "reason": None}


def test_a_junk_news_status_reads_as_not_refreshed(panel: Panel) -> None:
    panel.repository.set_daemon_value(NEWS_STATUS_KEY, "{not json")

    assert get(panel.client, "/api/models")["news"]["scorer"] is None


# ---------------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------------
def test_the_page_is_served_and_every_page_links_to_it(panel: Panel) -> None:
    response = panel.client.get("/models")
    page = response.get_data(as_text=True)
    overview = panel.client.get("/").get_data(as_text=True)

    assert "<title>Regimes &amp; models · trading dashboard</title>" in page
    assert 'data-page="models"' in page and 'id="regimes-table"' in page and 'id="models-table"' in page
    assert 'href="/models"' in overview
    assert "<script>" not in page and response.headers["Content-Security-Policy"].startswith(
        "default-src 'self'"
    )
