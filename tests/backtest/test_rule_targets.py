"""Rule targets: the vectorized engine's positions are the ones the daemon's bot takes bar by bar."""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from backtest.rule_targets import RuleTargetsFn, rule_name_for_class, rule_targets, vectorizable
from backtest.vectorized import sma_crossover_targets
from bots.aggressive.multi_momentum import MultiMomentumBot
from bots.aggressive.rsi_extremes import RsiExtremesBot
from bots.base import Bot, BotContext, BotSpec
from bots.bollinger import BollingerBot
from bots.donchian import DonchianBot
from bots.fleet.crypto.grid_trader import GridTraderBot
from bots.fleet.crypto.weekly_momentum import WeeklyMomentumBot
from bots.macd_trend import MacdTrendBot
from bots.rsi2 import Rsi2Bot
from bots.rule_bot import PerInstrumentRuleBot
from bots.sma_crossover import SmaCrossoverBot
from domain.market import BarSeries
from domain.signals import Signal, SignalIntent
from tests.bots.fake_context import FakeContext, holding, tick
from tests.factories import stock
from tests.strategies.bars import random_walk, series_from_closes

SPY = stock("SPY")
BOTS: dict[str, type[PerInstrumentRuleBot]] = {
    "rsi2": Rsi2Bot,
    "bollinger": BollingerBot,
    "sma_crossover": SmaCrossoverBot,
    "donchian": DonchianBot,
    "macd_trend": MacdTrendBot,
    "rsi_extremes": RsiExtremesBot,
    "multi_momentum": MultiMomentumBot,
    "grid": GridTraderBot,
    "weekly_momentum": WeeklyMomentumBot,
}
CASES: list[tuple[str, dict[str, Any]]] = [
    ("rsi2", {"trend_period": 20, "exit_sma_period": 5, "atr_period": 3, "entry_threshold": 20}),
    ("rsi2", {"trend_period": 20, "atr_period": 3, "entry_threshold": 20, "allow_short": True}),
    ("bollinger", {"period": 10, "num_std": 1.5, "atr_period": 3}),
    ("bollinger", {"period": 10, "num_std": 1.5, "atr_period": 3, "allow_short": True}),
    ("sma_crossover", {"fast": 3, "slow": 12, "atr_period": 5}),
    ("sma_crossover", {"fast": 3, "slow": 12, "atr_period": 5, "allow_short": True}),
    ("donchian", {"entry_period": 10, "exit_period": 5, "atr_period": 5}),
    ("donchian", {"entry_period": 10, "exit_period": 5, "atr_period": 5, "allow_short": True}),
    ("macd_trend", {"fast": 3, "slow": 8, "signal": 4, "trend_period": 20, "atr_period": 5}),
    (
        "macd_trend",
        {"fast": 3, "slow": 8, "signal": 4, "trend_period": 0, "atr_period": 5, "allow_short": True},
    ),
    ("rsi_extremes", {"rsi_period": 5, "oversold": 20, "atr_period": 5}),
    ("rsi_extremes", {"rsi_period": 5, "oversold": 20, "atr_period": 5, "allow_short": True}),
    (
        "multi_momentum",
        {"fast_lookback": 3, "mid_lookback": 8, "slow_lookback": 20, "min_return": 0.005, "atr_period": 5},
    ),
    (
        "multi_momentum",
        {
            "fast_lookback": 3,
            "mid_lookback": 8,
            "slow_lookback": 20,
            "min_return": 0.005,
            "atr_period": 5,
            "allow_short": True,
        },
    ),
    ("grid", {"period": 20, "atr_period": 5}),
    ("grid", {"period": 20, "atr_period": 5, "allow_short": True}),
    ("weekly_momentum", {"lookback_bars": 7, "atr_period": 5}),
    ("weekly_momentum", {"lookback_bars": 7, "atr_period": 5, "allow_short": True}),
]


class IdleBot(Bot):
    """A bot that is no per-instrument rule, named by its module path."""

    async def on_tick(self, ctx: BotContext) -> list[Signal]:
        return []


def replay_the_bot(name: str, params: Mapping[str, Any], series: BarSeries) -> list[float]:
    """The bot itself, ticked once per bar on the bars known then, holding what its signals left it."""
    bot = BOTS[name](BotSpec(name=f"{name}-replay", instruments=(SPY,), params=params))
    quantity: str | None = None
    positions = []
    for t in range(1, len(series) + 1):
        held = {SPY.key: holding(SPY, quantity)} if quantity is not None else {}
        for signal in tick(bot, FakeContext({SPY.key: series.truncated(t)}, held)):
            quantity = (
                None if signal.intent is SignalIntent.CLOSE else ("1" if signal.side.sign > 0 else "-1")
            )
        positions.append(0.0 if quantity is None else float(quantity))
    return positions


@pytest.mark.parametrize(("name", "params"), CASES)
def test_targets_equal_a_bar_by_bar_replay_of_the_bot(name: str, params: dict[str, Any]) -> None:
    # 300 bars: longer than any of these bots' fetch window (at most 21 + 50), so the bot sees a window.
    series = series_from_closes(random_walk(5, 300, step=0.02), key=SPY.key)

    targets = rule_targets(name, params, series)

    np.testing.assert_array_equal(targets, replay_the_bot(name, params, series))
    changes = np.count_nonzero(np.diff(targets))
    assert changes >= 4  # entries and exits both happen: the comparison is not vacuous
    if params.get("allow_short"):
        assert targets.min() == -1.0 and targets.max() == 1.0


def test_hand_worked_sma_crossover_targets_hold_each_position_until_the_rule_exits() -> None:
    # tests/strategies/test_sma_crossover.py: SMA(2) > SMA(4) from bar 4 to bar 6; below from bar 7 to 9
    # (equal at bar 3, above again at bar 10). A short enters only flat: the exit at bar 7, the entry at 8.
    closes = [100.0, 100.0, 100.0, 100.0, 101.0, 104.0, 104.0, 100.0, 96.0, 100.0, 104.0]
    series = series_from_closes(closes)
    params: dict[str, Any] = {"fast": 2, "slow": 4, "atr_period": 3}

    long_only = rule_targets("sma_crossover", params, series)
    both = rule_targets("sma_crossover", {**params, "allow_short": True}, series, position_fraction=0.5)

    assert long_only.tolist() == [0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1]
    assert both.tolist() == [0, 0, 0, 0, 0.5, 0.5, 0.5, 0, -0.5, -0.5, 0]


def test_sma_crossover_targets_equal_the_vectorized_engines_own() -> None:
    # Long while SMA(fast) > SMA(slow) in both; the rule's ATR(14) has a value once SMA(30) has.
    closes = random_walk(17, 2_000, step=0.015)
    series = series_from_closes(closes)

    targets = rule_targets("sma_crossover", {"fast": 8, "slow": 30}, series)

    np.testing.assert_array_equal(targets, sma_crossover_targets(np.asarray(closes), [8], [30])[:, 0])
    assert np.count_nonzero(np.diff(targets)) > 20


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("dual_momentum", "trades a basket"),
        ("pairs", "trades two legs of a cointegrated pair"),
        ("event_trading", "trades prediction-market contracts"),
    ],
)
def test_classes_that_cannot_be_expressed_are_refused_with_their_reason(name: str, why: str) -> None:
    series = series_from_closes(random_walk(1, 50))
    assert not vectorizable(name)

    with pytest.raises(ValueError, match=f"{name!r} cannot run in the vectorized engine: it {why}"):
        rule_targets(name, {}, series)


def test_registry_class_paths_resolve_to_their_rule_or_their_reason() -> None:
    assert rule_name_for_class("bots.bollinger:BollingerBot") == "bollinger"
    assert rule_name_for_class("sma_crossover") == "sma_crossover"
    assert rule_name_for_class("bots.macd_trend:MacdTrendBot") == "macd_trend"
    assert rule_name_for_class("donchian") == "donchian"
    assert rule_name_for_class("bots.aggressive.rsi_extremes:RsiExtremesBot") == "rsi_extremes"
    assert rule_name_for_class("multi_momentum") == "multi_momentum"
    assert rule_name_for_class("bots.fleet.crypto.grid_trader:GridTraderBot") == "grid"
    assert rule_name_for_class("bots.fleet.crypto.weekly_momentum:WeeklyMomentumBot") == "weekly_momentum"
    with pytest.raises(ValueError, match="trades a basket"):
        rule_name_for_class("bots.dual_momentum:DualMomentumBot")
    with pytest.raises(ValueError, match="trades two legs"):
        rule_name_for_class("bots.pairs:PairsBot")
    with pytest.raises(ValueError, match="not a per-instrument rule"):
        rule_name_for_class("tests.backtest.test_rule_targets:IdleBot")


def test_unknown_rule_and_bad_parameters_are_refused_by_name() -> None:
    series = series_from_closes(random_walk(1, 50))
    with pytest.raises(ValueError, match="unknown rule 'macd'"):
        rule_targets("macd", {}, series)
    with pytest.raises(ValueError, match="'entry_treshold'"):
        rule_targets("rsi2", {"entry_treshold": 5}, series)
    with pytest.raises(ValueError, match="position_fraction"):
        rule_targets("rsi2", {}, series, position_fraction=0.0)


def test_walk_forward_targets_fn_restores_each_parameters_type_and_pickles() -> None:
    targets_fn = RuleTargetsFn(
        "rsi2", ("entry_threshold", "trend_period", "allow_short"), (("atr_period", 3),)
    )

    params = targets_fn.params_for((5.0, 20.0, 1.0))

    assert params == {"atr_period": 3, "entry_threshold": 5.0, "trend_period": 20, "allow_short": True}
    assert type(params["trend_period"]) is int
    assert pickle.loads(pickle.dumps(targets_fn)) == targets_fn
    with pytest.raises(ValueError, match="'trend_period' must be a whole number"):
        targets_fn.params_for((5.0, 20.5, 0.0))
    series = series_from_closes(random_walk(3, 120, step=0.02))
    np.testing.assert_array_equal(targets_fn(series, (5.0, 20.0, 1.0)), rule_targets("rsi2", params, series))
