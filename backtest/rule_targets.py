"""The target positions a per-instrument rule bot takes over a whole series, for the vectorized engine.

One generic loop serves every rule (rsi2, bollinger, sma_crossover, donchian, macd_trend,
rsi_extremes, multi_momentum, grid, weekly_momentum): the rule's indicators are computed once
over the full series, then the bars are walked with the holding state (flat, long or short),
calling the strategy's own `decide_at` and `order_for` exactly as `PerInstrumentRuleBot.on_tick`
does. The target after bar i's close is +f while long, -f while short and 0 while flat (f the
position fraction); the engine fills it at bar i + 1's open. The lookahead tests prove
`decide_at` on the full series equals `decide` on the series cut at each bar, so these are the
decisions the daemon's bot takes bar by bar (up to the Wilder-smoothed indicators' and MACD's
EMAs' start, which the bot's fetched window moves by a negligible amount: see
`strategies.decision.SETTLE_BARS`).

Why a Python loop and not array arithmetic: a rule's next action depends on what it holds
(an exit rule applies only while holding, an entry only while flat), so bar i needs the
state bar i - 1 left. The loop is O(n), one `decide_at` per bar.

What this engine cannot express and the daemon does: the risk engine's exit plan (the
protective stop at 1R, partial profit targets, the ATR trail) and its gates (sizing by
risk, exposure and drawdown limits, regimes, the AI veto). Here a position is held until
the rule itself exits, at a fixed fraction of equity; replay a bot through the daemon to
see those.

Classes that cannot be expressed at all: dual_momentum (it trades a basket: one target
column per member, chosen by comparing members), pairs (it trades two legs at once, sized
by the risk engine leg by leg) and event_trading (it trades prediction contracts that
settle at 0 or 1, not bars of one instrument).
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from backtest.vectorized import FloatArray
from bots.catalog import load_bot_class
from domain.market import BarSeries
from domain.signals import Side, SignalIntent
from strategies import (
    bollinger,
    donchian,
    grid,
    macd_trend,
    multi_momentum,
    rsi2,
    rsi_extremes,
    sma_crossover,
    weekly_momentum,
)
from strategies.decision import StrategyDecision, order_for

Params = tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Rule:
    """A per-instrument rule: how to parse its parameters, compute its indicators and decide at a bar."""

    params_type: type[Any]  # a frozen params dataclass with `from_mapping`
    compute_indicators: Callable[[BarSeries, Any], Any]
    decide_at: Callable[[BarSeries, Any, int, Any, Side | None], StrategyDecision]
    bot_path: str  # the catalog's `module:Class` of the bot that applies the rule

    def parse(self, params: Mapping[str, Any]) -> Any:
        """The params dataclass from `params`; ValueError naming a bad or unknown parameter."""
        return self.params_type.from_mapping(params)

    @property
    def parameter_types(self) -> dict[str, type[Any]]:
        """Each parameter's name and type (int, float or bool), in the dataclass's order."""
        hints = typing.get_type_hints(self.params_type)
        return {field.name: hints[field.name] for field in dataclasses.fields(self.params_type)}


RULES: dict[str, Rule] = {
    "rsi2": Rule(rsi2.Rsi2Params, rsi2.compute_indicators, rsi2.decide_at, "bots.rsi2:Rsi2Bot"),
    "bollinger": Rule(
        bollinger.BollingerParams,
        bollinger.compute_indicators,
        bollinger.decide_at,
        "bots.bollinger:BollingerBot",
    ),
    "sma_crossover": Rule(
        sma_crossover.SmaCrossoverParams,
        sma_crossover.compute_indicators,
        sma_crossover.decide_at,
        "bots.sma_crossover:SmaCrossoverBot",
    ),
    "donchian": Rule(
        donchian.DonchianParams, donchian.compute_indicators, donchian.decide_at, "bots.donchian:DonchianBot"
    ),
    "macd_trend": Rule(
        macd_trend.MacdTrendParams,
        macd_trend.compute_indicators,
        macd_trend.decide_at,
        "bots.macd_trend:MacdTrendBot",
    ),
    "rsi_extremes": Rule(
        rsi_extremes.RsiExtremesParams,
        rsi_extremes.compute_indicators,
        rsi_extremes.decide_at,
        "bots.aggressive.rsi_extremes:RsiExtremesBot",
    ),
    "multi_momentum": Rule(
        multi_momentum.MultiMomentumParams,
        multi_momentum.compute_indicators,
        multi_momentum.decide_at,
        "bots.aggressive.multi_momentum:MultiMomentumBot",
    ),
    "grid": Rule(
        grid.GridParams,
        grid.compute_indicators,
        grid.decide_at,
        "bots.fleet.crypto.grid_trader:GridTraderBot",
    ),
    "weekly_momentum": Rule(
        weekly_momentum.WeeklyMomentumParams,
        weekly_momentum.compute_indicators,
        weekly_momentum.decide_at,
        "bots.fleet.crypto.weekly_momentum:WeeklyMomentumBot",
    ),
}

NOT_VECTORIZABLE: dict[str, str] = {
    "dual_momentum": "it trades a basket, choosing between its members bar by bar, not one instrument",
    "pairs": "it trades two legs of a cointegrated pair, entered and closed together, not one instrument",
    "event_trading": "it trades prediction-market contracts that settle at 0 or 1, not one instrument's bars",
}

_NOT_VECTORIZABLE_PATHS = {
    "dual_momentum": "bots.dual_momentum:DualMomentumBot",
    "pairs": "bots.pairs:PairsBot",
    "event_trading": "bots.event_trading.bot:EventTradingBot",
}


def vectorizable(name: str) -> bool:
    """Whether the catalog short name `name` is a rule this module can turn into targets."""
    return name in RULES


def rule_for(name: str) -> Rule:
    """The rule of a catalog short name; ValueError saying why for any other name."""
    rule = RULES.get(name)
    if rule is not None:
        return rule
    reason = NOT_VECTORIZABLE.get(name)
    if reason is not None:
        raise ValueError(f"bot class {name!r} cannot run in the vectorized engine: {reason}")
    raise ValueError(f"unknown rule {name!r} (vectorizable: {', '.join(sorted(RULES))})")


def rule_name_for_class(bot_class: str) -> str:
    """The rule name of a registry `class` value: a short name, or a `module:Class` path of a rule bot.

    ValueError saying why for a class that does not load or is not a per-instrument rule bot.
    """
    if bot_class in RULES or bot_class in NOT_VECTORIZABLE:
        rule_for(bot_class)  # raises for the classes that cannot be expressed
        return bot_class
    loaded = load_bot_class(bot_class)
    for name, rule in RULES.items():
        if load_bot_class(rule.bot_path) is loaded:
            return name
    # Named by where they live, not imported: the event-trading bot pulls in the AI stack.
    where = f"{loaded.__module__}:{loaded.__qualname__}"
    for name, path in _NOT_VECTORIZABLE_PATHS.items():
        if where == path:
            rule_for(name)
    raise ValueError(
        f"bot class {bot_class!r} is not a per-instrument rule the vectorized engine knows "
        f"(vectorizable: {', '.join(sorted(RULES))})"
    )


def rule_targets(
    name: str, params: Mapping[str, Any], series: BarSeries, position_fraction: float = 1.0
) -> FloatArray:
    """The target after each bar's close of rule `name` with `params` over `series`.

    `position_fraction` (> 0) is the size of a position as a fraction of equity: +f long,
    -f short, 0 flat.
    """
    if not (math.isfinite(position_fraction) and position_fraction > 0):
        raise ValueError(f"position_fraction must be a positive number, got {position_fraction}")
    rule = rule_for(name)
    parsed = rule.parse(params)
    indicators = rule.compute_indicators(series, parsed)
    targets = np.zeros(len(series), dtype=np.float64)
    holding: Side | None = None
    for index in range(len(series)):
        order = order_for(rule.decide_at(series, indicators, index, parsed, holding), holding)
        if order is not None:
            side, intent = order
            holding = side if intent is SignalIntent.OPEN else None
        if holding is not None:
            targets[index] = holding.sign * position_fraction
    return targets


@dataclass(frozen=True, slots=True)
class RuleTargetsFn:
    """A walk-forward targets function for a rule: a grid entry's values (floats, in `names` order)
    override `base` params. A module-level class of plain data, so it pickles to worker processes."""

    rule: str
    names: tuple[str, ...]
    base: tuple[tuple[str, Any], ...] = ()
    position_fraction: float = 1.0

    def params_for(self, values: Params) -> dict[str, Any]:
        """The params mapping for one grid entry, each value back in its parameter's type."""
        if len(values) != len(self.names):
            raise ValueError(f"{len(self.names)} parameters {self.names} but {len(values)} values {values}")
        types = rule_for(self.rule).parameter_types
        params = dict(self.base)
        for name, value in zip(self.names, values, strict=True):
            params[name] = typed_value(name, types[name], value)
        return params

    def __call__(self, series: BarSeries, values: Params) -> FloatArray:
        return rule_targets(self.rule, self.params_for(values), series, self.position_fraction)


def typed_value(name: str, kind: type[Any], value: float) -> int | float | bool:
    """A grid's float back as the parameter's type: 5.0 -> 5 for a whole number, 1.0 -> True for a flag."""
    if kind is bool:
        return bool(value)
    if kind is int:
        if value != int(value):
            raise ValueError(f"parameter {name!r} must be a whole number, got {value}")
        return int(value)
    return float(value)
