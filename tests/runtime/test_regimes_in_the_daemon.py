"""The regime models inside the daemon: fitted at start, refitted on schedule, read every bar,
stored with their probabilities, and on the road of every entry."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bots.base import Bot, BotContext
from domain.regimes import Regime, RegimeReading
from domain.signals import Signal
from runtime.events import Event
from runtime.wiring import build_simulated
from storage.database import open_storage
from storage.reports import Reports
from tests.runtime.test_orchestrator import START, bot, configured, run_for

pytestmark = pytest.mark.slow


class QuietBot(Bot):
    """Never signals: the regimes must be kept current without anyone asking."""

    async def on_tick(self, ctx: BotContext) -> list[Signal]:
        return []


def quiet(instruments: list[str]) -> dict[str, Any]:
    entry = bot("quiet", "AlwaysBuyBot", instruments, "sim-crypto")
    return {**entry, "class": "tests.runtime.test_regimes_in_the_daemon:QuietBot"}


def regime_config(tmp_path: Path, bots: list[dict[str, Any]], **regimes: Any) -> Any:
    config = configured(tmp_path, bots)
    settings = config.settings.model_copy(
        update={"regimes": config.settings.regimes.model_copy(update=regimes)}
    )
    return type(config)(settings, config.registry, config.settings_path, config.registry_path)


def test_each_traded_market_is_fitted_at_start_and_its_regime_kept_current_without_signals(
    tmp_path: Path,
) -> None:
    bots = [quiet(["BTC/USD", "ETH/USD"])]
    run = build_simulated(regime_config(tmp_path, bots), START)
    run_for(run, timedelta(minutes=5))

    reports = Reports(tmp_path / "trading.sqlite")
    fits = reports.regime_fits()
    assert {f["instrument_key"] for f in fits} == {"sim-crypto:BTC/USD", "sim-crypto:ETH/USD"}
    assert all(f["ok"] for f in fits) and all(f["fit_bars"] == 300 for f in fits)  # the warm-up
    assert all({s["regime"] for s in f["states"]} == {"bull", "sideways", "bear"} for f in fits)
    markets = {m["instrument_key"]: m for m in reports.market_regimes()}
    assert set(markets) == {"sim-crypto:BTC/USD", "sim-crypto:ETH/USD"}
    for market in markets.values():
        assert sum(market["probabilities"].values()) == pytest.approx(1.0)
        assert market["probability"] == max(market["probabilities"].values())
        # the reading job (every minute) filtered each new minute bar: the last is at most 2 minutes old
        bar_time = datetime.fromisoformat(market["bar_time"])
        assert START + timedelta(minutes=3) <= bar_time <= START + timedelta(minutes=4)


def test_models_are_refitted_when_due_and_keep_their_labels(tmp_path: Path) -> None:
    bots = [quiet(["SOL/USD"])]
    run = build_simulated(regime_config(tmp_path, bots, refit_hours=0.05, check_minutes=1.0), START)
    run_for(run, timedelta(minutes=7))
    fits = sorted(Reports(tmp_path / "trading.sqlite").regime_fits(), key=lambda f: f["time"])
    assert len(fits) == 3 and all(f["ok"] for f in fits)  # at start, after 3 and after 6 minutes
    assert fits[-1]["fit_bars"] == 306  # the warm-up plus the six minutes since
    assert "labels carried over" in fits[-1]["message"]
    assert [s["regime"] for s in fits[0]["states"]] == [s["regime"] for s in fits[-1]["states"]]


def test_every_entry_decision_carries_the_regime_and_its_probabilities(tmp_path: Path) -> None:
    bots = [bot("buyer", "AlwaysBuyBot", ["ETH/USD"], "sim-crypto")]
    run = build_simulated(regime_config(tmp_path, bots), START)
    run_for(run, timedelta(seconds=30))
    repo = open_storage(tmp_path / "trading.sqlite")
    regime_steps = [
        d for s in repo.decision_counts_by_signal() for d in repo.decisions(s) if d.stage == "regime"
    ]
    entries = [d for d in regime_steps if "regime" in d.details]
    assert entries, "no entry reached the regime filter"
    for decision in entries:
        probabilities = decision.details["probabilities"]
        assert set(probabilities) == {"bull", "sideways", "bear"}
        assert decision.details["regime"] == max(probabilities, key=probabilities.get)


def test_a_change_of_regime_is_published_and_the_latest_stored(tmp_path: Path) -> None:
    run = build_simulated(regime_config(tmp_path, []), START)
    orchestrator = run.orchestrator
    events: list[Event] = []
    orchestrator.bus.subscribe(events.append)

    def reading(regime: Regime, minute: int) -> RegimeReading:
        other = {r: 0.1 for r in Regime if r is not regime}
        return RegimeReading(
            "sim-crypto:BTC/USD",
            regime,
            {regime: 0.8, **other},
            START + timedelta(minutes=minute),
            START,
            300,
        )

    orchestrator.record_regime_reading(reading(Regime.BULL, 1))
    orchestrator.record_regime_reading(reading(Regime.BULL, 2))
    orchestrator.record_regime_reading(reading(Regime.BEAR, 3))
    asyncio.run(orchestrator.stop())

    changes = [e for e in events if e.kind == "regime_change"]
    assert [(e.payload["from"], e.payload["to"]) for e in changes] == [("bull", "bear")]
    [stored] = Reports(tmp_path / "trading.sqlite").market_regimes()
    assert stored["regime"] == "bear" and stored["probability"] == 0.8
