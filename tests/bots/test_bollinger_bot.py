"""BollingerBot: buys below the lower band with a stop under the price, sells at the middle band."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pytest

from bots.base import BotSpec
from bots.bollinger import BollingerBot
from domain.signals import Side, SignalIntent
from tests.bots.fake_context import FakeContext, holding, tick
from tests.factories import crypto
from tests.strategies.bars import series_from_closes, with_last_close

SOL = crypto("SOL/USD")
SMALL = {"period": 10, "atr_period": 3}

# See tests/strategies/test_bollinger.py: nine closes at 100 then 90 -> bands 93 / 99 / 105, ATR(3) 4.1667.
DROP = [100.0] * 9 + [90.0]
SPIKE = [100.0] * 9 + [110.0]


def bot(params: Mapping[str, Any] = SMALL) -> BollingerBot:
    return BollingerBot(BotSpec(name="bb-test", instruments=(SOL,), params=params, timeframe_seconds=60))


def context(closes: list[float], quantity: str | None = None) -> FakeContext:
    positions = {SOL.key: holding(SOL, quantity)} if quantity is not None else {}
    return FakeContext({SOL.key: series_from_closes(closes, key=SOL.key)}, positions)


def test_close_below_the_lower_band_opens_a_long_with_a_stop_below_the_price() -> None:
    [signal] = tick(bot(), context(DROP))

    assert signal.intent is SignalIntent.OPEN and signal.side is Side.BUY
    assert signal.stop == pytest.approx(90 - 2 * 12.5 / 3)
    assert signal.evidence["atr"] == pytest.approx(12.5 / 3)
    assert signal.evidence["lower_band"] == pytest.approx(93.0)
    assert signal.edge == pytest.approx(9 / 90)


def test_close_above_the_upper_band_opens_a_short_only_when_allowed() -> None:
    assert tick(bot(), context(SPIKE)) == []

    [signal] = tick(bot({**SMALL, "allow_short": True}), context(SPIKE))

    assert signal.side is Side.SELL and signal.intent is SignalIntent.OPEN
    assert signal.stop == pytest.approx(110 + 2 * 12.5 / 3)  # above the price


def test_long_reaching_the_middle_band_is_closed() -> None:
    [signal] = tick(bot(), context([*DROP, 100.0], quantity="3"))

    assert signal.intent is SignalIntent.CLOSE and signal.side is Side.SELL


def test_short_reaching_the_middle_band_is_closed_with_a_buy() -> None:
    [signal] = tick(bot(), context([*SPIKE, 100.0], quantity="-3"))

    assert signal.intent is SignalIntent.CLOSE and signal.side is Side.BUY


def test_entry_setup_while_holding_emits_nothing() -> None:
    assert tick(bot(), context(DROP, quantity="3")) == []


@pytest.mark.parametrize("bad", [math.nan, 0.0])
def test_bad_last_close_emits_nothing(bad: float) -> None:
    ctx = FakeContext({SOL.key: with_last_close(series_from_closes(DROP, key=SOL.key), bad)})

    assert tick(bot(), ctx) == []


def test_missing_bars_emit_nothing() -> None:
    assert tick(bot(), FakeContext({})) == []


def test_unknown_param_is_refused() -> None:
    with pytest.raises(ValueError, match="'std'"):
        bot({"std": 2})
