"""DualMomentumBot: buys the rising basket leader when flat, closes a held member that fell or was outrun."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from bots.base import BotSpec
from bots.dual_momentum import DualMomentumBot
from domain.instruments import Instrument
from domain.market import BarSeries
from domain.positions import Position
from domain.signals import Side, SignalIntent, make_signal_id
from tests.bots.fake_context import FakeContext, holding, tick
from tests.factories import T0, stock
from tests.strategies.bars import series_from_closes

SPY, QQQ, XLE = stock("SPY"), stock("QQQ"), stock("XLE")
BASKET = (SPY, QQQ, XLE)
SMALL = {"lookback": 4, "atr_period": 2, "switch_margin": 0.01}

# Momentum over 4 bars (see tests/strategies/test_dual_momentum.py): SPY +5 %, QQQ +2 %, XLE -5 %.
CLOSES = {
    SPY: [100.0, 100, 101, 102, 103, 105],
    QQQ: [50.0, 50, 50, 51, 51, 51],
    XLE: [20.0, 20, 20, 19, 19, 19],
}


def bot(params: Mapping[str, Any] = SMALL) -> DualMomentumBot:
    return DualMomentumBot(BotSpec(name="dm-test", instruments=BASKET, params=params, timeframe_seconds=60))


def context(
    closes: Mapping[Instrument, list[float] | None] = CLOSES,
    positions: Mapping[Instrument, Position] | None = None,
) -> FakeContext:
    bars: dict[str, BarSeries | None] = {
        i.key: None if c is None else series_from_closes(c, key=i.key) for i, c in closes.items()
    }
    return FakeContext(bars, {i.key: p for i, p in (positions or {}).items()})


def test_flat_buys_the_leader_with_a_stop_below_its_price() -> None:
    [signal] = tick(bot(), context())

    assert signal.instrument == SPY
    assert signal.intent is SignalIntent.OPEN and signal.side is Side.BUY
    assert signal.stop == pytest.approx(105 - 2 * 1.96875)
    assert signal.evidence["atr"] == pytest.approx(1.96875)
    assert signal.evidence["momentum"] == pytest.approx(0.05)
    assert signal.edge == pytest.approx(0.05)
    assert signal.id == make_signal_id("dm-test", SPY.key, T0, 0)  # sequence = basket position


def test_held_leader_gives_no_signal_at_all() -> None:
    assert tick(bot(), context(positions={SPY: holding(SPY, "5")})) == []


def test_held_member_outrun_by_the_leader_is_closed_without_buying_the_leader_yet() -> None:
    [signal] = tick(bot(), context(positions={QQQ: holding(QQQ, "5")}))

    assert signal.instrument == QQQ
    assert signal.intent is SignalIntent.CLOSE and signal.side is Side.SELL
    assert signal.id == make_signal_id("dm-test", QQQ.key, T0, 1)


def test_held_member_with_negative_momentum_is_closed() -> None:
    [signal] = tick(bot(), context(positions={XLE: holding(XLE, "5")}))

    assert signal.instrument == XLE and signal.intent is SignalIntent.CLOSE


def test_each_of_several_held_members_is_judged_on_its_own() -> None:
    signals = tick(bot(), context(positions={SPY: holding(SPY, "5"), XLE: holding(XLE, "5")}))

    assert [(s.instrument, s.intent) for s in signals] == [(XLE, SignalIntent.CLOSE)]


def test_member_without_bars_blocks_the_entry() -> None:
    assert tick(bot(), context({**CLOSES, QQQ: None})) == []


def test_held_member_is_still_closed_when_another_member_has_no_bars() -> None:
    [signal] = tick(bot(), context({**CLOSES, SPY: None}, positions={XLE: holding(XLE, "5")}))

    assert signal.instrument == XLE and signal.intent is SignalIntent.CLOSE


def test_falling_basket_stays_flat() -> None:
    falling = {SPY: [100.0, 100, 99, 98, 97, 96], QQQ: [50.0, 50, 50, 49, 49, 49], XLE: CLOSES[XLE]}

    assert tick(bot(), context(falling)) == []


def test_bot_fetches_every_member_with_enough_bars_for_the_lookback() -> None:
    ctx = context()

    tick(bot({}), ctx)

    assert ctx.requests == [(i.key, 60, 61 + 50) for i in BASKET]  # 60-bar return needs 61 bars


def test_unknown_param_is_refused() -> None:
    with pytest.raises(ValueError, match="'lookback_bars'"):
        bot({"lookback_bars": 20})
