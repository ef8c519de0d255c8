"""RsiExtremesBot: buys a deeply oversold fast RSI with a tight stop, sells the bounce."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pytest

from bots.aggressive.rsi_extremes import RsiExtremesBot
from bots.base import BotSpec
from domain.signals import Side, SignalIntent
from tests.bots.fake_context import FakeContext, holding, tick
from tests.factories import crypto
from tests.strategies.bars import series_from_closes, with_last_close

BTC = crypto("BTC/USD")
SMALL = {"rsi_period": 2, "oversold": 15, "exit_level": 50, "exit_sma_period": 3, "atr_period": 2}

# See tests/strategies/test_rsi_extremes.py: at bar 4 RSI(2) 10 < 15, close 96 under SMA(3) 99, ATR(2) 3;
# a bar 5 close of 98 is above SMA(3) 97.67; the mirror RISE has RSI(2) 90 at bar 4 and covers at 102.
DROP = [100.0, 101.0, 102.0, 99.0, 96.0]
BOUNCE = [*DROP, 98.0]
RISE = [100.0, 99.0, 98.0, 101.0, 104.0]


def bot(params: Mapping[str, Any] = SMALL) -> RsiExtremesBot:
    return RsiExtremesBot(
        BotSpec(name="rsi-extremes-test", instruments=(BTC,), params=params, timeframe_seconds=60)
    )


def context(closes: list[float], quantity: str | None = None) -> FakeContext:
    positions = {BTC.key: holding(BTC, quantity)} if quantity is not None else {}
    return FakeContext({BTC.key: series_from_closes(closes, key=BTC.key)}, positions)


def test_oversold_rsi_when_flat_opens_a_long_with_a_tight_stop() -> None:
    [signal] = tick(bot(), context(DROP))

    assert signal.intent is SignalIntent.OPEN and signal.side is Side.BUY
    assert signal.instrument == BTC
    assert signal.stop == pytest.approx(91.5)  # 96 - 1.5 x ATR 3
    assert signal.evidence["rsi"] == pytest.approx(10.0)
    assert signal.edge == pytest.approx(3.0 / 96)  # back to SMA(3) 99


def test_bounce_above_the_exit_sma_closes_the_long() -> None:
    [signal] = tick(bot(), context(BOUNCE, quantity="0.5"))

    assert signal.intent is SignalIntent.CLOSE and signal.side is Side.SELL
    assert signal.stop is None


def test_overbought_rsi_opens_a_short_only_when_allowed() -> None:
    assert tick(bot(), context(RISE)) == []

    [signal] = tick(bot({**SMALL, "allow_short": True}), context(RISE))

    assert signal.side is Side.SELL and signal.intent is SignalIntent.OPEN
    assert signal.stop == pytest.approx(108.5)  # 104 + 1.5 x 3


def test_short_is_covered_with_a_buy_when_the_close_drops_below_the_exit_sma() -> None:
    # Bar 5 close 102 under SMA(3) (101 + 104 + 102) / 3 = 102.33.
    [signal] = tick(bot({**SMALL, "allow_short": True}), context([*RISE, 102.0], quantity="-0.5"))

    assert signal.intent is SignalIntent.CLOSE and signal.side is Side.BUY


def test_oversold_while_holding_emits_nothing() -> None:
    assert tick(bot(), context(DROP, quantity="0.5")) == []


def test_the_bot_asks_for_the_atr_and_the_settling_bars_at_its_timeframe() -> None:
    ctx = context(DROP)
    tick(bot({}), ctx)

    assert ctx.requests == [(BTC.key, 60, 15 + 50)]  # max(RSI 7 + 1, SMA 10, ATR 14 + 1) + 50


@pytest.mark.parametrize("bad", [math.nan, 0.0])
def test_bad_last_close_emits_nothing(bad: float) -> None:
    ctx = FakeContext({BTC.key: with_last_close(series_from_closes(DROP, key=BTC.key), bad)})

    assert tick(bot(), ctx) == []


def test_missing_bars_emit_nothing() -> None:
    assert tick(bot(), FakeContext({})) == []


def test_unknown_or_inconsistent_params_are_refused() -> None:
    with pytest.raises(ValueError, match="'max_holding_bars'"):
        bot({"max_holding_bars": 15})
    with pytest.raises(ValueError, match="'exit_level'"):
        bot({"oversold": 20, "exit_level": 10})
