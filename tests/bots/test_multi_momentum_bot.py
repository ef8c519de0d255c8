"""MultiMomentumBot: buys when momentum agrees over three lookbacks, sells when the fastest turns."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pytest

from bots.aggressive.multi_momentum import MultiMomentumBot
from bots.base import BotSpec
from domain.signals import Side, SignalIntent
from tests.bots.fake_context import FakeContext, holding, tick
from tests.factories import crypto
from tests.strategies.bars import series_from_closes, with_last_close

ETH = crypto("ETH/USD")
SMALL = {"fast_lookback": 1, "mid_lookback": 2, "slow_lookback": 4, "min_return": 0.01, "atr_period": 2}

# See tests/strategies/test_multi_momentum.py: at bar 4 of UP the 1-, 2- and 4-bar returns are
# +0.10, +0.10 and +0.25 with ATR(2) 7.1875 (bars 1.0 wide); a bar 5 close of 109 turns the
# 1-bar return negative. DOWN is the mirror image.
UP = [88.0, 100.0, 100.0, 100.0, 110.0]
DOWN = [112.0, 100.0, 100.0, 100.0, 90.0]


def bot(params: Mapping[str, Any] = SMALL) -> MultiMomentumBot:
    return MultiMomentumBot(
        BotSpec(name="multi-momentum-test", instruments=(ETH,), params=params, timeframe_seconds=60)
    )


def context(closes: list[float], quantity: str | None = None) -> FakeContext:
    positions = {ETH.key: holding(ETH, quantity)} if quantity is not None else {}
    return FakeContext({ETH.key: series_from_closes(closes, key=ETH.key)}, positions)


def test_agreeing_momentum_when_flat_opens_a_long_with_a_stop_below_the_price() -> None:
    [signal] = tick(bot(), context(UP))

    assert signal.intent is SignalIntent.OPEN and signal.side is Side.BUY
    assert signal.stop == pytest.approx(110 - 1.5 * 7.1875)  # 99.21875
    assert signal.evidence["fast_return"] == pytest.approx(0.10)
    assert signal.edge == pytest.approx((0.10 + 0.10 / 2 + 0.25 / 4) / 3)


def test_fast_return_turning_negative_closes_the_long() -> None:
    [signal] = tick(bot(), context([*UP, 109.0], quantity="2"))

    assert signal.intent is SignalIntent.CLOSE and signal.side is Side.SELL


def test_agreeing_downward_momentum_opens_a_short_only_when_allowed() -> None:
    assert tick(bot(), context(DOWN)) == []

    [signal] = tick(bot({**SMALL, "allow_short": True}), context(DOWN))

    assert signal.side is Side.SELL and signal.intent is SignalIntent.OPEN
    assert signal.stop == pytest.approx(90 + 1.5 * 7.1875)


def test_short_is_covered_with_a_buy_when_the_fast_return_turns_positive() -> None:
    [signal] = tick(bot({**SMALL, "allow_short": True}), context([*DOWN, 91.0], quantity="-2"))

    assert signal.intent is SignalIntent.CLOSE and signal.side is Side.BUY


def test_agreeing_momentum_while_holding_emits_nothing() -> None:
    assert tick(bot(), context(UP, quantity="2")) == []


def test_the_bot_asks_for_the_slow_lookback_and_the_settling_bars() -> None:
    ctx = context(UP)
    tick(bot({}), ctx)

    assert ctx.requests == [(ETH.key, 60, 61 + 50)]  # max(slow 60 + 1, ATR 14 + 1) + 50


@pytest.mark.parametrize("bad", [math.nan, 0.0])
def test_bad_last_close_emits_nothing(bad: float) -> None:
    ctx = FakeContext({ETH.key: with_last_close(series_from_closes(UP, key=ETH.key), bad)})

    assert tick(bot(), ctx) == []


def test_missing_bars_emit_nothing() -> None:
    assert tick(bot(), FakeContext({})) == []


def test_unknown_or_inconsistent_params_are_refused() -> None:
    with pytest.raises(ValueError, match="'lookbacks'"):
        bot({"lookbacks": [5, 15, 60]})
    with pytest.raises(ValueError, match="'slow_lookback'"):
        bot({"mid_lookback": 15, "slow_lookback": 10})
