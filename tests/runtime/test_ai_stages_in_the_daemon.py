"""The default road: RegimeFilter -> Ensemble -> Veto -> RiskEngine -> Router, journaled stage by stage."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from domain.signals import SignalIntent
from runtime.wiring import build_simulated
from storage.database import open_storage
from tests.runtime.test_orchestrator import START, bot, configured, run_for

pytestmark = pytest.mark.slow


def test_an_entry_travels_every_stage_in_order_with_the_votes_and_the_veto_journaled(tmp_path: Path) -> None:
    bots = [bot("buyer", "AlwaysBuyBot", ["ETH/USD"], "sim-crypto")]
    run = build_simulated(configured(tmp_path, bots), START)
    assert [stage.name for stage in run.orchestrator.stages] == ["regime", "ensemble", "veto", "risk"]
    run_for(run, timedelta(minutes=3))

    repo = open_storage(tmp_path / "trading.sqlite")
    entries = [s for s in repo.decision_counts_by_signal() if repo.load_signal(s).intent is SignalIntent.OPEN]
    roads = [repo.decisions(s) for s in entries]
    filled = [d for d in roads if d[-1].stage == "router" and d[-1].passed]
    assert filled, "no entry reached the venue"
    road = filled[0]
    assert [d.stage for d in road] == ["regime", "ensemble", "veto", "risk", "router"]
    ensemble = road[1].details["ensemble"]
    sources = {s["source"]: s for s in ensemble["sources"]}
    assert set(sources) == {
        "ml_model", "market_analyst", "multi_timeframe", "bot_consensus",
        "technical", "crypto_derivatives", "macro", "news",
    }  # fmt: skip
    assert sources["news"]["abstained"] == "no news feed in this build yet"
    voted = [s for s in ensemble["sources"] if "vote" in s]
    assert voted and abs(sum(ensemble["weights"].values()) - 1) < 1e-9
    assert set(ensemble["weights"]) == {s["source"] for s in voted}
    assert ensemble["agreement"] >= 0.0  # the default threshold
    veto = road[2].details["veto"]
    assert veto["fired"] == [] and "duplicate_signal" in veto["rules_checked"]


def test_ensemble_and_veto_can_be_switched_off(tmp_path: Path) -> None:
    config = configured(tmp_path, [])
    settings = config.settings.model_copy(
        update={
            "ensemble": config.settings.ensemble.model_copy(update={"enabled": False}),
            "veto": config.settings.veto.model_copy(update={"enabled": False}),
        }
    )
    run = build_simulated(
        type(config)(settings, config.registry, config.settings_path, config.registry_path), START
    )
    assert [stage.name for stage in run.orchestrator.stages] == ["regime", "risk"]
