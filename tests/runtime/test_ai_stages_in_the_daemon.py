"""The default road: RegimeFilter -> Ensemble -> Veto -> RiskEngine -> Router, journaled stage by stage."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from dashboard.context import Dashboard
from dashboard.models import models
from domain.signals import SignalIntent
from runtime.wiring import build_simulated
from storage.database import open_storage
from storage.reports import Reports
from tests.fakes.anthropic_api import API_KEY as ANTHROPIC_KEY
from tests.fakes.anthropic_api import FakeAnthropic
from tests.runtime.test_orchestrator import START, bot, configured, run_for

pytestmark = pytest.mark.slow


def test_an_entry_travels_every_stage_in_order_with_the_votes_and_the_veto_journaled(tmp_path: Path) -> None:
    bots = [bot("buyer", "AlwaysBuyBot", ["ETH/USD"], "sim-crypto")]
    run = build_simulated(configured(tmp_path, bots, ai=True), START)
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


VERDICT = json.dumps(
    {"decision": "veto", "category": "event_timing", "reason": "CPI in ten minutes", "confidence": 0.8}
)


def test_with_an_api_key_the_llm_veto_joins_the_road_and_its_spend_reaches_the_dashboard(
    tmp_path: Path,
) -> None:
    claude = FakeAnthropic().start()
    try:
        for _ in range(20):
            claude.reply_text(
                VERDICT,
                input_tokens=900,
                output_tokens=50,
            )
        config = configured(tmp_path, [bot("buyer", "AlwaysBuyBot", ["ETH/USD"], "sim-crypto")], ai=True)
        llm = config.settings.veto.llm.model_copy(update={"base_url": claude.url})
        veto = config.settings.veto.model_copy(update={"llm": llm})
        settings = config.settings.model_copy(update={"veto": veto})
        config = type(config)(settings, config.registry, config.settings_path, config.registry_path)
        run = build_simulated(config, START, environ={"ANTHROPIC_API_KEY": ANTHROPIC_KEY})
        assert [stage.name for stage in run.orchestrator.stages] == [
            "regime",
            "ensemble",
            "veto",
            "veto_llm",
            "risk",
        ]
        run_for(run, timedelta(seconds=30))
    finally:
        claude.stop()

    assert claude.requests, "the LLM was never asked"
    repo = open_storage(tmp_path / "trading.sqlite")
    llm_steps = [
        d for s in repo.decision_counts_by_signal() for d in repo.decisions(s) if d.stage == "veto_llm"
    ]
    assert llm_steps and all(not d.passed for d in llm_steps)
    assert "LLM veto (event_timing): CPI in ten minutes" in llm_steps[0].message
    assert llm_steps[0].details["llm"]["prompt_version"] == "veto-v1"
    assert not repo.fills()  # every entry was vetoed
    calls = len(claude.requests)
    board = Dashboard(settings, Reports(tmp_path / "trading.sqlite"), run.clock)
    spend = models(board)["llm_spend"]
    assert (
        spend["calls"] == calls and spend["tokens_in"] == 900 * calls and spend["model"] == "claude-haiku-5-5"
    )
    assert spend["cost_usd"] == pytest.approx(calls * (900 * 1.0 + 50 * 5.0) / 1e6)


def test_without_a_key_the_rules_veto_decides_alone(tmp_path: Path) -> None:
    run = build_simulated(configured(tmp_path, [], ai=True), START, environ={})
    assert "veto_llm" not in [stage.name for stage in run.orchestrator.stages]
