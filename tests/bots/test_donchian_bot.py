"""DonchianBot: buys a breakout with a stop under the price, sells when the exit channel breaks."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pytest

from bots.base import BotSpec
from bots.donchian import DonchianBot
from domain.signals import Side, SignalIntent
from tests.bots.fake_context import FakeContext, holding, tick
from tests.factories import stock
from tests.strategies.bars import series_from_closes, with_last_close

SPY = stock("SPY")
SMALL = {"entry_period": 3, "exit_period": 2, "atr_period": 2}

# See tests/strategies/test_donchian.py: at bar 4 close 103 breaks the 3-bar high 101.5 (ATR(2) 2.0);
# at bar 6 close 101 falls below the 2-bar low 101.5; at bar 7 close 99 breaks the 3-bar low 100.5.
BREAKOUT = [100.0, 101.0, 100.0, 101.0, 103.0]
EXIT_BREAK = [*BREAKOUT, 102.0, 101.0]
BREAKDOWN = [*EXIT_BREAK, 99.0]


def bot(params: Mapping[str, Any] = SMALL) -> DonchianBot:
    return DonchianBot(BotSpec(name="donchian-test", instruments=(SPY,), params=params, timeframe_seconds=60))


def context(closes: list[float], quantity: str | None = None) -> FakeContext:
    positions = {SPY.key: holding(SPY, quantity)} if quantity is not None else {}
    return FakeContext({SPY.key: series_from_closes(closes, key=SPY.key)}, positions)


def test_breakout_when_flat_opens_a_long_with_a_stop_below_the_price() -> None:
    [signal] = tick(bot(), context(BREAKOUT))

    assert signal.intent is SignalIntent.OPEN and signal.side is Side.BUY
    assert signal.stop == pytest.approx(99.0)  # 103 - 2 x ATR 2.0
    assert signal.evidence["entry_high"] == pytest.approx(101.5)
    assert signal.evidence["atr"] == pytest.approx(2.0)
    assert signal.edge == pytest.approx(2.0 / 103)


def test_close_below_the_exit_channel_closes_the_long() -> None:
    [signal] = tick(bot(), context(EXIT_BREAK, quantity="3"))

    assert signal.intent is SignalIntent.CLOSE and signal.side is Side.SELL


def test_breakdown_opens_a_short_only_when_allowed() -> None:
    assert tick(bot(), context(BREAKDOWN)) == []

    [signal] = tick(bot({**SMALL, "allow_short": True}), context(BREAKDOWN))

    assert signal.side is Side.SELL and signal.intent is SignalIntent.OPEN
    assert signal.stop == pytest.approx(99 + 2 * 2.0625)


def test_short_is_covered_with_a_buy_when_the_close_breaks_the_exit_channels_high() -> None:
    # Bar 4: close 103 above the 2-bar high 101.5.
    [signal] = tick(bot({**SMALL, "allow_short": True}), context(BREAKOUT, quantity="-3"))

    assert signal.intent is SignalIntent.CLOSE and signal.side is Side.BUY


def test_breakout_while_holding_emits_nothing() -> None:
    assert tick(bot(), context(BREAKOUT, quantity="3")) == []


def test_the_bot_asks_for_the_channel_the_atr_and_the_settling_bars() -> None:
    ctx = context(BREAKOUT)
    tick(bot(), ctx)

    assert ctx.requests == [(SPY.key, 60, 4 + 50)]  # max(entry 3 + 1, ATR 2 + 1) + 50


@pytest.mark.parametrize("bad", [math.nan, 0.0])
def test_bad_last_close_emits_nothing(bad: float) -> None:
    ctx = FakeContext({SPY.key: with_last_close(series_from_closes(BREAKOUT, key=SPY.key), bad)})

    assert tick(bot(), ctx) == []


def test_missing_bars_emit_nothing() -> None:
    assert tick(bot(), FakeContext({})) == []


def test_unknown_or_inconsistent_params_are_refused() -> None:
    with pytest.raises(ValueError, match="'entry_window'"):
        bot({"entry_window": 5})
    with pytest.raises(ValueError, match="'exit_period'"):
        bot({"entry_period": 10, "exit_period": 20})
