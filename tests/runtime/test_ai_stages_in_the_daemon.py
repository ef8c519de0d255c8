"""The default road: RegimeFilter -> Ensemble -> Veto -> RiskEngine -> Router, journaled stage by stage."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from ai import NEWS_STATUS_KEY
from config.schema import ScheduledEventSettings
from dashboard.context import Dashboard
from dashboard.history import veto_scorecard
from dashboard.models import models
from domain.signals import SignalIntent
from runtime.wiring import build_simulated
from storage.database import open_storage
from storage.reports import Reports
from tests.fakes.anthropic_api import API_KEY as ANTHROPIC_KEY
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.newsapi import API_KEY as NEWSAPI_KEY
from tests.fakes.newsapi import FakeNewsApi
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
    assert sources["news"]["abstained"].startswith("no news feed configured")
    assert sources["market_analyst"]["abstained"].startswith("no LLM key in the environment")
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


VIEW = json.dumps(
    {
        "direction": "up",
        "strength": 0.8,
        "confidence": 0.9,
        "horizon": "hours",
        "reason": "higher lows on the hourly bars",
        "data_quality": "ok",
    }
)
VERDICT = json.dumps(
    {"decision": "veto", "category": "event_timing", "reason": "CPI in ten minutes", "confidence": 0.8}
)


def test_with_an_api_key_the_llm_veto_joins_the_road_and_its_spend_reaches_the_dashboard(
    tmp_path: Path,
) -> None:
    claude = FakeAnthropic().start()
    try:
        # the first entry's ensemble asks the analyst (its view then serves for 30 minutes), then the veto
        claude.reply_text(VIEW, input_tokens=900, output_tokens=50)
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
    analyst_votes = [
        v
        for s in repo.decision_counts_by_signal()
        for d in repo.decisions(s)
        if d.stage == "ensemble"
        for v in d.details["ensemble"]["sources"]
        if v["source"] == "market_analyst"
    ]
    assert analyst_votes[0]["vote"] == 0.8 and analyst_votes[0]["confidence"] == 0.9
    assert analyst_votes[0]["evidence"]["prompt_version"] == "analyst-v1"
    assert all(v.get("vote") == 0.8 for v in analyst_votes) and analyst_votes[-1]["evidence"]["cached"]
    analyst_calls = [r for r in claude.requests if "analyst" in json.dumps(r.body).lower()]
    assert len(analyst_calls) == 1
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


def test_every_vetoed_entry_is_followed_on_paper_and_scored_on_the_dashboard(tmp_path: Path) -> None:
    config = configured(tmp_path, [bot("buyer", "AlwaysBuyBot", ["ETH/USD"], "sim-crypto")], ai=True)
    cpi = ScheduledEventSettings(
        name="CPI", time=START + timedelta(minutes=10)
    )  # every entry is inside 30 min
    follow_up = config.settings.veto.follow_up.model_copy(
        update={"horizons_minutes": [1, 3], "check_seconds": 10}
    )
    veto = config.settings.veto.model_copy(update={"events": [cpi], "follow_up": follow_up})
    settings = config.settings.model_copy(update={"veto": veto})
    config = type(config)(settings, config.registry, config.settings_path, config.registry_path)
    run = build_simulated(config, START)
    run_for(run, timedelta(minutes=6))

    repo = open_storage(tmp_path / "trading.sqlite")
    vetoed = {
        s
        for s in repo.decision_counts_by_signal()
        if any(d.stage == "veto" and not d.passed for d in repo.decisions(s))
    }
    shadows = repo.shadow_trades()
    assert vetoed and {s.signal_id for s in shadows} == vetoed
    assert not repo.fills()
    assert all(s.cause == "rules:event_window" and s.entry_price and s.entry_price > 0 for s in shadows)
    done = [s for s in shadows if s.status == "done"]
    assert done, "no vetoed entry was followed to its last horizon"
    for shadow in done:
        assert set(shadow.marks) == {1, 3}
        for horizon, mark in shadow.marks.items():
            assert mark.by == "stop" or mark.at >= shadow.vetoed_at + timedelta(minutes=horizon)
            assert mark.return_fraction == pytest.approx(
                (mark.price - shadow.entry_price) / shadow.entry_price
            )

    card = veto_scorecard(Dashboard(settings, Reports(tmp_path / "trading.sqlite"), run.clock))
    rows = {row["cause"]: row for row in card["rows"]}
    assert rows["all"]["vetoed"] == len(shadows) == rows["rules:event_window"]["vetoed"]
    marked = [s.marks[3].return_fraction for s in done]
    assert rows["all"]["horizons"]["3"]["marked"] == len(marked)
    assert rows["all"]["horizons"]["3"]["mean_return"] == pytest.approx(sum(marked) / len(marked), abs=1e-6)


BAD_ETH_NEWS = (
    "Ethereum losses mount as exchange fraud lawsuit widens",
    "Ether falls on bankruptcy fears and weak demand",
    "ETH slump deepens after default of major lender",
)


def test_strong_bad_news_from_newsapi_votes_in_the_ensemble_and_vetoes_buys(tmp_path: Path) -> None:
    newsapi = FakeNewsApi().start()
    try:
        for minutes, title in enumerate(BAD_ETH_NEWS):
            newsapi.add(title, START - timedelta(minutes=30 + 10 * minutes))
        config = configured(tmp_path, [bot("buyer", "AlwaysBuyBot", ["ETH/USD"], "sim-crypto")], ai=True)
        news = config.settings.news.model_copy(update={"newsapi_base_url": newsapi.url})
        # every entry passes the vote, so that the veto is what meets the news
        ensemble = config.settings.ensemble.model_copy(update={"threshold": -1.0})
        settings = config.settings.model_copy(update={"news": news, "ensemble": ensemble})
        config = type(config)(settings, config.registry, config.settings_path, config.registry_path)
        run = build_simulated(config, START, environ={"NEWSAPI_KEY": NEWSAPI_KEY})
        run_for(run, timedelta(minutes=2))
    finally:
        newsapi.stop()

    assert newsapi.everything_requests, "NewsAPI was never asked"
    assert all(r.headers.get("X-Api-Key") == NEWSAPI_KEY for r in newsapi.everything_requests)
    repo = open_storage(tmp_path / "trading.sqlite")
    entries = [s for s in repo.decision_counts_by_signal() if repo.load_signal(s).intent is SignalIntent.OPEN]
    assert entries and not repo.fills()
    for signal_id in entries:
        road = {d.stage: d for d in repo.decisions(signal_id)}
        votes = {v["source"]: v for v in road["ensemble"].details["ensemble"]["sources"]}
        assert votes["news"]["evidence"]["stories"] == 3 and votes["news"]["vote"] < -0.99
        veto = road["veto"]
        assert not veto.passed and [r["rule"] for r in veto.details["veto"]["fired"]] == [
            "contradicting_news"
        ]
        assert "over 3 items" in veto.details["veto"]["news"]
    status = json.loads(repo.get_daemon_value(NEWS_STATUS_KEY) or "{}")
    assert status["scorer"].startswith("Loughran-McDonald lexicon") and "no FinBERT model" in status["scorer"]
    assert status["sources"]["NewsAPI"].startswith("ok") and status["stories"] == 3
    board = Dashboard(settings, Reports(tmp_path / "trading.sqlite"), run.clock)
    assert models(board)["news"]["scorer"] == status["scorer"]
    assert NEWSAPI_KEY not in json.dumps(status)
