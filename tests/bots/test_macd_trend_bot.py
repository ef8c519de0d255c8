"""MacdTrendBot: buys the MACD cross above its signal line in an uptrend, sells the cross back."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pytest

from bots.base import BotSpec
from bots.macd_trend import MacdTrendBot
from domain.signals import Side, SignalIntent
from tests.bots.fake_context import FakeContext, holding, tick
from tests.factories import crypto
from tests.strategies.bars import series_from_closes, with_last_close

BTC = crypto("BTC/USD")
SMALL = {"fast": 2, "slow": 3, "signal": 2, "trend_period": 5, "atr_period": 3}

# See tests/strategies/test_macd_trend.py: flat at 100, then 101.8 crosses MACD 0.3 over signal 0.2
# (ATR(3) 4.3 / 3, SMA(5) 100.36); 101.8 again keeps MACD above; 100 crosses it below (-0.1417 < -0.0167).
# Rising to 103.6 and 105.4 instead keeps MACD above its signal for a third bar: no cross.
CROSS_UP = [*[100.0] * 6, 101.8]
CROSS_DOWN = [*CROSS_UP, 101.8, 100.0]
RISING = [*CROSS_UP, 103.6, 105.4]


def bot(params: Mapping[str, Any] = SMALL) -> MacdTrendBot:
    return MacdTrendBot(BotSpec(name="macd-test", instruments=(BTC,), params=params, timeframe_seconds=60))


def context(closes: list[float], quantity: str | None = None) -> FakeContext:
    positions = {BTC.key: holding(BTC, quantity)} if quantity is not None else {}
    return FakeContext({BTC.key: series_from_closes(closes, key=BTC.key)}, positions)


def test_cross_up_when_flat_opens_a_long_with_a_stop_below_the_price() -> None:
    [signal] = tick(bot(), context(CROSS_UP))

    assert signal.intent is SignalIntent.OPEN and signal.side is Side.BUY
    assert signal.stop == pytest.approx(101.8 - 3 * 4.3 / 3)  # 97.5
    assert signal.evidence["macd"] == pytest.approx(0.3)
    assert signal.evidence["macd_signal"] == pytest.approx(0.2)
    assert signal.edge == pytest.approx(0.1 / 101.8)


def test_macd_above_its_signal_for_a_third_bar_opens_nothing_new() -> None:
    assert tick(bot(), context(RISING)) == []


def test_cross_down_closes_the_long() -> None:
    [signal] = tick(bot(), context(CROSS_DOWN, quantity="0.5"))

    assert signal.intent is SignalIntent.CLOSE and signal.side is Side.SELL


def test_cross_down_under_the_trend_opens_a_short_only_when_allowed() -> None:
    assert tick(bot(), context(CROSS_DOWN)) == []

    [signal] = tick(bot({**SMALL, "allow_short": True}), context(CROSS_DOWN))

    assert signal.side is Side.SELL and signal.intent is SignalIntent.OPEN
    assert signal.stop is not None and signal.stop > 100.0


def test_short_is_covered_with_a_buy_when_macd_rises_above_its_signal() -> None:
    [signal] = tick(bot({**SMALL, "allow_short": True}), context(CROSS_UP, quantity="-0.5"))

    assert signal.intent is SignalIntent.CLOSE and signal.side is Side.BUY


def test_the_bot_asks_for_the_trend_window_plus_the_settling_bars() -> None:
    ctx = context(CROSS_UP)
    tick(bot(), ctx)

    assert ctx.requests == [(BTC.key, 60, 6 + 50)]  # max(slow 3 + signal 2 + 1, SMA 5, ATR 3 + 1) + 50


@pytest.mark.parametrize("bad", [math.nan, 0.0])
def test_bad_last_close_emits_nothing(bad: float) -> None:
    ctx = FakeContext({BTC.key: with_last_close(series_from_closes(CROSS_UP, key=BTC.key), bad)})

    assert tick(bot(), ctx) == []


def test_missing_bars_emit_nothing() -> None:
    assert tick(bot(), FakeContext({})) == []


def test_unknown_param_is_refused() -> None:
    with pytest.raises(ValueError, match="'signal_period'"):
        bot({"signal_period": 9})
