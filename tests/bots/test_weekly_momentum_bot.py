"""WeeklyMomentumBot: long while the week's return is positive and the close above its average."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pytest

from bots.base import BotSpec
from bots.fleet.crypto.weekly_momentum import WeeklyMomentumBot
from domain.signals import Side, SignalIntent
from tests.bots.fake_context import FakeContext, holding, tick
from tests.factories import crypto
from tests.strategies.bars import series_from_closes, with_last_close

BTC = crypto("BTC/USD")
DAY = 86_400
SMALL = {"lookback_bars": 3, "atr_period": 2}

# See tests/strategies/test_weekly_momentum.py: at bar 3 of UP the 3-bar return is 102 / 100 - 1 = 0.02
# with close 102 above SMA(3) 99.67 and ATR(2) 2.75; a bar 4 close of 97 turns the return negative
# (97 / 98 - 1). DOWN is the mirror image.
UP = [100.0, 98.0, 99.0, 102.0]
DOWN = [100.0, 102.0, 101.0, 98.0]


def bot(params: Mapping[str, Any] = SMALL) -> WeeklyMomentumBot:
    return WeeklyMomentumBot(
        BotSpec(name="weekly-momentum-test", instruments=(BTC,), params=params, timeframe_seconds=DAY)
    )


def context(closes: list[float], quantity: str | None = None) -> FakeContext:
    positions = {BTC.key: holding(BTC, quantity)} if quantity is not None else {}
    series = series_from_closes(closes, key=BTC.key, timeframe_seconds=DAY)
    return FakeContext({BTC.key: series}, positions)


def test_positive_week_above_its_average_opens_a_long_with_a_wide_stop() -> None:
    [signal] = tick(bot(), context(UP))

    assert signal.intent is SignalIntent.OPEN and signal.side is Side.BUY
    assert signal.stop == pytest.approx(93.75)  # 102 - 3 x ATR 2.75
    assert signal.evidence["lookback_return"] == pytest.approx(0.02)
    assert signal.edge == pytest.approx(0.02)  # 0.02 / 3 a bar for 3 bars


def test_negative_week_closes_the_long() -> None:
    [signal] = tick(bot(), context([*UP, 97.0], quantity="0.1"))

    assert signal.intent is SignalIntent.CLOSE and signal.side is Side.SELL


def test_negative_week_below_its_average_opens_a_short_only_when_allowed() -> None:
    assert tick(bot(), context(DOWN)) == []

    [signal] = tick(bot({**SMALL, "allow_short": True}), context(DOWN))

    assert signal.side is Side.SELL and signal.intent is SignalIntent.OPEN
    assert signal.stop == pytest.approx(106.25)  # 98 + 3 x 2.75


def test_short_is_covered_with_a_buy_when_the_week_turns_positive() -> None:
    [signal] = tick(bot({**SMALL, "allow_short": True}), context([*DOWN, 103.0], quantity="-0.1"))

    assert signal.intent is SignalIntent.CLOSE and signal.side is Side.BUY


def test_positive_week_while_holding_emits_nothing() -> None:
    assert tick(bot(), context(UP, quantity="0.1")) == []


def test_the_bot_asks_for_a_week_of_its_own_bars_the_atr_and_the_settling_bars() -> None:
    ctx = context(UP)
    tick(bot({"lookback_bars": 168}), ctx)

    assert ctx.requests == [(BTC.key, DAY, 169 + 50)]  # max(lookback 168 + 1, ATR 14 + 1) + 50


@pytest.mark.parametrize("bad", [math.nan, 0.0])
def test_bad_last_close_emits_nothing(bad: float) -> None:
    series = series_from_closes(UP, key=BTC.key, timeframe_seconds=DAY)
    ctx = FakeContext({BTC.key: with_last_close(series, bad)})

    assert tick(bot(), ctx) == []


def test_missing_bars_emit_nothing() -> None:
    assert tick(bot(), FakeContext({})) == []


def test_unknown_or_bad_params_are_refused() -> None:
    with pytest.raises(ValueError, match="'lookback'"):
        bot({"lookback": 7})
    with pytest.raises(ValueError, match="'threshold'"):
        bot({"threshold": -0.01})
