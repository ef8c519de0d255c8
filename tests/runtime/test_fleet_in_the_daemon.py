"""The fleet in the running daemon: its sub-bots' trades teach the allocator, each round is journaled,
the risk engine sizes the sub-bots by their allocation, and a restart goes on from the same posteriors."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from config.loader import LoadedConfig
from domain.signals import ReasonCode
from runtime.wiring import build_simulated
from storage.database import open_storage
from storage.records import FleetWeight
from tests.runtime.test_limits_in_the_daemon import eager
from tests.runtime.test_orchestrator import START, configured, run_for

pytestmark = pytest.mark.slow


def fleet_config(tmp_path: Path) -> LoadedConfig:
    bots = [
        {**eager("fleet-btc", ["BTC/USD"], "sim-crypto", flip=True), "fleet": True},
        {**eager("fleet-eth", ["ETH/USD"], "sim-crypto", flip=True), "fleet": True},
        eager("solo-sol", ["SOL/USD"], "sim-crypto", flip=True),
    ]
    # every flip loses the spread and fees: the loss-streak rule would halve the sizes and hide the fleet's
    config = configured(tmp_path, bots, losses_to_reduce=100_000, daily_loss_limit_usd=1_000_000.0)
    # two sub-bots under the default 25 % cap could only ever split 50/50: let one hold up to 80 %
    fleet = config.settings.fleet.model_copy(
        update={"allocation_minutes": 1.0, "cap": 0.8, "daily_loss_limit_usd": 1_000_000.0}
    )
    settings = config.settings.model_copy(update={"fleet": fleet})
    return LoadedConfig(settings, config.registry, config.settings_path, config.registry_path)


def rounds(weights: list[FleetWeight]) -> dict[object, dict[str, FleetWeight]]:
    found: dict[object, dict[str, FleetWeight]] = {}
    for w in weights:
        found.setdefault(w.time, {})[w.bot] = w
    return found


def test_the_fleet_learns_allocates_journals_and_sizes_its_sub_bots(tmp_path: Path) -> None:
    config = fleet_config(tmp_path)
    run = build_simulated(config, START)
    run_for(run, timedelta(minutes=20))
    repo = open_storage(tmp_path / "trading.sqlite")
    allocations = rounds(repo.fleet_allocations())
    # a round at start and one a minute after; only the sub-bots, their weights summing to one
    assert len(allocations) >= 20
    for by_bot in allocations.values():
        assert set(by_bot) == {"fleet-btc", "fleet-eth"}
        assert sum(w.weight for w in by_bot.values()) == pytest.approx(1.0)
        for w in by_bot.values():  # two sub-bots: an equal share is 0.5, the multiplier weight x 2
            assert w.size_multiplier == pytest.approx(min(2 * w.weight, 2.0))
    # every closed trade of a sub-bot was learnt from, and none of the solo bot's
    trades = repo.closed_trades()
    last = allocations[max(allocations)]  # type: ignore[type-var]
    learnt_by_then = {
        bot: len([t for t in trades if t.bot == bot and t.closed_at <= last[bot].time])
        for bot in ("fleet-btc", "fleet-eth")
    }
    assert learnt_by_then["fleet-btc"] > 5 and learnt_by_then["fleet-eth"] > 5
    assert {bot: last[bot].trades for bot in learnt_by_then} == learnt_by_then
    # flips lose the spread and the fees every time: the posteriors learnt a negative return in R
    assert all(last[bot].posterior_mean < 0 for bot in learnt_by_then)
    # the risk engine sized each entry with the multiplier of the round before it
    times = sorted(allocations)  # type: ignore[type-var]
    checked = 0
    used: list[float] = []
    for decision_time, bot, multiplier in _entry_multipliers(tmp_path / "trading.sqlite"):
        before = [t for t in times if t <= decision_time]
        if not before or bot not in ("fleet-btc", "fleet-eth"):
            assert bot == "solo-sol" or not before
            if bot == "solo-sol":
                assert multiplier == 1.0
            continue
        assert multiplier == pytest.approx(allocations[before[-1]][bot].size_multiplier)
        checked += 1
        used.append(multiplier)
    assert checked > 10
    assert max(abs(m - 1.0) for m in used) > 0.05  # the allocation moved sizes, not just x1 throughout


def test_a_restart_goes_on_from_the_journaled_posteriors(tmp_path: Path) -> None:
    config = fleet_config(tmp_path)
    run_for(build_simulated(config, START), timedelta(minutes=10))
    before = rounds(open_storage(tmp_path / "trading.sqlite").fleet_allocations())
    last_before = before[max(before)]  # type: ignore[type-var]

    restarted = build_simulated(config, START + timedelta(minutes=10))
    fleet = restarted.orchestrator.fleet
    assert fleet is not None
    for bot in ("fleet-btc", "fleet-eth"):
        assert fleet.trades[bot] >= last_before[bot].trades > 0
        posterior = fleet.allocator.posterior(bot)
        trades_since = fleet.trades[bot] - last_before[bot].trades
        if trades_since == 0:  # nothing closed between the last round and the stop
            assert posterior.mu == pytest.approx(last_before[bot].posterior_mean)


def _entry_multipliers(database: Path) -> list[tuple[datetime, str, float]]:
    """(time, bot, fleet size multiplier) of every entry the risk engine sized."""
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "select d.time, s.bot, d.details from decisions d join signals s on s.id = d.signal_id "
            "where d.stage = 'risk' and d.verdict = 'pass' and d.details like '%fleet_size_multiplier%'"
        ).fetchall()
    found = []
    for time, bot, details in rows:
        multiplier = float(json.loads(details)["fleet_size_multiplier"])
        found.append((datetime.fromisoformat(time).replace(tzinfo=UTC), bot, multiplier))
    return found


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        ({"max_positions": 1}, ReasonCode.FLEET_MAX_POSITIONS),
        ({"gross_exposure_cap_fraction": 0.001}, ReasonCode.FLEET_EXPOSURE),
        ({"daily_loss_limit_usd": 0.5}, ReasonCode.FLEET_DAILY_LOSS),
    ],
)
def test_the_fleets_own_limits_fire_in_the_daemon_for_its_sub_bots_only(
    tmp_path: Path, limits: dict[str, float], expected: ReasonCode
) -> None:
    config = fleet_config(tmp_path)
    fleet = config.settings.fleet.model_copy(update=limits)
    config = LoadedConfig(
        config.settings.model_copy(update={"fleet": fleet}),
        config.registry,
        config.settings_path,
        config.registry_path,
    )
    run_for(build_simulated(config, START), timedelta(minutes=10))
    with sqlite3.connect(tmp_path / "trading.sqlite") as db:
        refused = db.execute(
            "select s.bot, count(*) from decisions d join signals s on s.id = d.signal_id "
            "where d.reason_code = ? group by s.bot",
            (expected.value,),
        ).fetchall()
        solo_fills = db.execute("select count(*) from fills where bot = 'solo-sol'").fetchone()[0]
    assert refused and {bot for bot, _ in refused} <= {"fleet-btc", "fleet-eth"}
    assert solo_fills > 0  # the bot outside the fleet trades on
    if expected is ReasonCode.FLEET_DAILY_LOSS:
        [event] = [
            e for e in open_storage(tmp_path / "trading.sqlite").risk_events() if e.kind == "fleet_daily_loss"
        ]
        assert event.severity == "critical" and "breached -0.5" in event.message


def test_the_regime_controller_learns_per_regime_and_judges_each_sub_bot_in_its_markets_regime_now(
    tmp_path: Path,
) -> None:
    config = fleet_config(tmp_path)
    fleet = config.settings.fleet.model_copy(update={"controller": "regime"})
    config = LoadedConfig(
        config.settings.model_copy(update={"fleet": fleet}),
        config.registry,
        config.settings_path,
        config.registry_path,
    )
    run = build_simulated(config, START)
    run_for(run, timedelta(minutes=15))
    controller = run.orchestrator.fleet
    assert controller is not None and controller.by_regime
    # every trade taught the posterior of the regime its market was in (a regime the daemon read)
    learnt = set(controller.regime_allocator.regimes)
    assert learnt and learnt <= {"bull", "sideways", "bear"}
    trades = {b: controller.trades[b] for b in ("fleet-btc", "fleet-eth")}
    assert all(count > 0 for count in trades.values())
    # the last round judged each sub-bot on its posterior in its market's regime at that moment
    rows = open_storage(tmp_path / "trading.sqlite").fleet_allocations()
    last = {r.bot: r for r in rows if r.time == rows[-1].time}
    now_regimes = {"fleet-btc": "sim-crypto:BTC/USD", "fleet-eth": "sim-crypto:ETH/USD"}
    for bot, market in now_regimes.items():
        regime = run.orchestrator.market_regime(market) or "none"
        posterior = controller.regime_allocator.posterior(bot, regime)
        if controller.trades[bot] == last[bot].trades:  # nothing learnt after the round
            assert last[bot].posterior_mean == pytest.approx(posterior.mu)
