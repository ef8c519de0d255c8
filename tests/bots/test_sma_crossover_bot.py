"""SmaCrossoverBot: buys on the cross with a stop under the price, sells on the cross back."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pytest

from bots.base import BotSpec
from bots.sma_crossover import SmaCrossoverBot
from domain.signals import Side, SignalIntent
from tests.bots.fake_context import FakeContext, holding, tick
from tests.factories import crypto
from tests.strategies.bars import series_from_closes, with_last_close

ETH = crypto("ETH/USD")
SMALL = {"fast": 2, "slow": 4, "atr_period": 3}

# See tests/strategies/test_sma_crossover.py: at bar 4 SMA(2) 100.5 > SMA(4) 100.25, ATR(3) 3.5 / 3;
# at bar 7 SMA(2) 102 < SMA(4) 102.25; at bar 8 SMA(2) 98 < SMA(4) 101.
CROSS_UP = [100.0, 100.0, 100.0, 100.0, 101.0]
CROSS_BACK = [*CROSS_UP, 104.0, 104.0, 100.0]
BELOW = [*CROSS_BACK, 96.0]


def bot(params: Mapping[str, Any] = SMALL) -> SmaCrossoverBot:
    return SmaCrossoverBot(BotSpec(name="sma-test", instruments=(ETH,), params=params, timeframe_seconds=60))


def context(closes: list[float], quantity: str | None = None) -> FakeContext:
    positions = {ETH.key: holding(ETH, quantity)} if quantity is not None else {}
    return FakeContext({ETH.key: series_from_closes(closes, key=ETH.key)}, positions)


def test_cross_up_when_flat_opens_a_long_with_a_stop_below_the_price() -> None:
    [signal] = tick(bot(), context(CROSS_UP))

    assert signal.intent is SignalIntent.OPEN and signal.side is Side.BUY
    assert signal.stop == pytest.approx(101 - 3 * 3.5 / 3)  # 97.5
    assert signal.evidence["fast_sma"] == pytest.approx(100.5)
    assert signal.evidence["slow_sma"] == pytest.approx(100.25)
    assert signal.edge == pytest.approx(0.25 / 101)


def test_cross_back_closes_the_long() -> None:
    [signal] = tick(bot(), context(CROSS_BACK, quantity="2"))

    assert signal.intent is SignalIntent.CLOSE and signal.side is Side.SELL


def test_fast_below_slow_opens_a_short_only_when_allowed() -> None:
    assert tick(bot(), context(BELOW)) == []

    [signal] = tick(bot({**SMALL, "allow_short": True}), context(BELOW))

    assert signal.side is Side.SELL and signal.intent is SignalIntent.OPEN
    assert signal.stop is not None and signal.stop > 96.0


def test_short_is_covered_with_a_buy_when_fast_rises_back_above_slow() -> None:
    # Bar 10 of the strategy test: SMA(2) 102 >= SMA(4) 100.
    [signal] = tick(bot({**SMALL, "allow_short": True}), context([*BELOW, 100.0, 104.0], quantity="-2"))

    assert signal.intent is SignalIntent.CLOSE and signal.side is Side.BUY


def test_entry_setup_while_holding_emits_nothing() -> None:
    assert tick(bot(), context(CROSS_UP, quantity="2")) == []


def test_the_bot_asks_for_the_slow_window_plus_the_settling_bars() -> None:
    ctx = context(CROSS_UP)
    tick(bot(), ctx)

    assert ctx.requests == [(ETH.key, 60, 4 + 50)]  # max(slow 4, ATR 3 + 1) + 50


@pytest.mark.parametrize("bad", [math.nan, 0.0])
def test_bad_last_close_emits_nothing(bad: float) -> None:
    ctx = FakeContext({ETH.key: with_last_close(series_from_closes(CROSS_UP, key=ETH.key), bad)})

    assert tick(bot(), ctx) == []


def test_missing_bars_emit_nothing() -> None:
    assert tick(bot(), FakeContext({})) == []


def test_unknown_param_is_refused() -> None:
    with pytest.raises(ValueError, match="'fast_window'"):
        bot({"fast_window": 5})
