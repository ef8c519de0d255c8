"""The catalog resolves registry `class` values to Bot classes, and says clearly when it cannot."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bots.aggressive.multi_momentum import MultiMomentumBot
from bots.aggressive.rsi_extremes import RsiExtremesBot
from bots.base import Bot, BotContext
from bots.bollinger import BollingerBot
from bots.catalog import known_bots, load_bot_class
from bots.donchian import DonchianBot
from bots.dual_momentum import DualMomentumBot
from bots.fleet.crypto.grid_trader import GridTraderBot
from bots.fleet.crypto.weekly_momentum import WeeklyMomentumBot
from bots.fomc_drift import FomcDriftBot
from bots.macd_trend import MacdTrendBot
from bots.pairs import PairsBot
from bots.rsi2 import Rsi2Bot
from bots.sma_crossover import SmaCrossoverBot
from config.loader import load_config
from domain.signals import Signal
from runtime.registry import build_bots
from runtime.venues import simulated_venues
from runtime.wiring import with_paths
from simulation.market import SimulatedMarket
from simulation.prediction_market import SimulatedPredictionMarket
from utils.clock import SimulatedClock


class QuietBot(Bot):
    """A plug-in bot outside the catalog, named by its module path."""

    async def on_tick(self, ctx: BotContext) -> list[Signal]:
        return []


class NotABot:
    pass


def test_short_names_resolve_to_the_built_in_bots() -> None:
    assert load_bot_class("rsi2") is Rsi2Bot
    assert load_bot_class("dual_momentum") is DualMomentumBot
    assert load_bot_class("bollinger") is BollingerBot
    assert load_bot_class("sma_crossover") is SmaCrossoverBot
    assert load_bot_class("donchian") is DonchianBot
    assert load_bot_class("macd_trend") is MacdTrendBot
    assert load_bot_class("pairs") is PairsBot
    assert load_bot_class("rsi_extremes") is RsiExtremesBot
    assert load_bot_class("multi_momentum") is MultiMomentumBot
    assert load_bot_class("grid") is GridTraderBot
    assert load_bot_class("weekly_momentum") is WeeklyMomentumBot
    assert load_bot_class("fomc_drift") is FomcDriftBot


def test_module_path_resolves_to_any_bot_subclass() -> None:
    assert load_bot_class("bots.rsi2:Rsi2Bot") is Rsi2Bot
    assert load_bot_class("tests.bots.test_catalog:QuietBot") is QuietBot


def test_benchmark_bot_path_loads() -> None:
    # benchmarks/pipeline_latency.py registers 500 of these by path.
    assert load_bot_class("benchmarks.pipeline_latency:IdleBot").__name__ == "IdleBot"


def test_known_bots_describes_every_short_name_and_each_loads() -> None:
    described = known_bots()

    assert set(described) == {
        "rsi2",
        "dual_momentum",
        "bollinger",
        "sma_crossover",
        "donchian",
        "macd_trend",
        "pairs",
        "event_trading",
        "rsi_extremes",
        "multi_momentum",
        "grid",
        "weekly_momentum",
        "fomc_drift",
        "longshot_fader",
        "cross_venue_arbitrage",
        "market_maker",
    }
    for name, summary in described.items():
        assert summary
        assert issubclass(load_bot_class(name), Bot)


def test_unknown_short_name_lists_the_known_ones_and_suggests_the_nearest() -> None:
    with pytest.raises(ValueError) as caught:
        load_bot_class("rsi3")

    message = str(caught.value)
    assert "'rsi3'" in message and "did you mean 'rsi2'" in message
    assert (
        "bollinger, cross_venue_arbitrage, donchian, dual_momentum, event_trading, fomc_drift, grid, "
        "longshot_fader, macd_trend, market_maker, "
        "multi_momentum, pairs, rsi2, rsi_extremes, sma_crossover, weekly_momentum" in message
    )
    assert "module:ClassName" in message


@pytest.mark.parametrize(
    ("name", "complaint"),
    [
        ("no_such_package.bots:Bot", "cannot import module 'no_such_package.bots'"),
        ("bots.rsi2:Rsi3Bot", "has no 'Rsi3Bot'"),
        ("tests.bots.test_catalog:NotABot", "not a subclass of bots.base.Bot"),
        ("domain.signals:make_signal_id", "not a subclass of bots.base.Bot"),
        ("bots.base:Bot", "abstract"),
        ("bots.rsi2:", "not a 'package.module:ClassName' path"),
        (":Rsi2Bot", "not a 'package.module:ClassName' path"),
        ("bots.rsi2:Rsi2Bot:extra", "not a 'package.module:ClassName' path"),
    ],
)
def test_bad_class_paths_are_refused_saying_why(name: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint.replace(".", r"\.")):
        load_bot_class(name)


def test_every_bot_in_the_default_registry_builds_with_its_params(tmp_path: Path) -> None:
    config = with_paths(load_config(), database=tmp_path / "trading.sqlite", var_dir=tmp_path)
    clock = SimulatedClock(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    venues = simulated_venues(
        config.settings,
        SimulatedMarket(clock, seed=7, day_seconds=3600, warmup_bars=0, retained_days=1.0),
        clock,
        # the default run lists Kalshi's world with its games, and the Polymarket twin
        SimulatedPredictionMarket(clock, seed=7, days=30, polymarket=True, sports=True),
    )
    built = build_bots(config, venues.by_venue())  # each with the instruments its venue lists
    assert [b.name for b in built] == [entry.name for entry in config.registry.bots if entry.enabled]
    for registered in built:
        assert registered.bot.instruments, registered.name
