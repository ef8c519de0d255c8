"""GridTraderBot: buys a fall down the grid under the moving centre, sells it back at the centre."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pytest

from bots.base import BotSpec
from bots.fleet.crypto.grid_trader import GridTraderBot
from domain.regimes import Regime
from domain.signals import Side, SignalIntent
from tests.bots.fake_context import FakeContext, holding, tick
from tests.factories import crypto
from tests.strategies.bars import series_from_closes, with_last_close

BTC = crypto("BTC/USD")
SMALL = {"period": 4, "step_atr": 0.5, "atr_period": 2}

# See tests/strategies/test_grid.py: after four closes of 100, a close of 96 is at or below the buy
# level 96.25 (centre SMA(4) 99, step 0.5 x ATR(2) 2.75 = 1.375); a bar 5 close of 99 is back at
# the centre 98.75. RISE is the mirror image (sell level 103.75, covered at 101).
FLAT = [100.0, 100.0, 100.0, 100.0]
FALL = [*FLAT, 96.0]
RISE = [*FLAT, 104.0]


def bot(params: Mapping[str, Any] = SMALL, regimes: frozenset[Regime] = frozenset(Regime)) -> GridTraderBot:
    return GridTraderBot(
        BotSpec(name="grid-test", instruments=(BTC,), params=params, regimes=regimes, timeframe_seconds=60)
    )


def context(closes: list[float], quantity: str | None = None) -> FakeContext:
    positions = {BTC.key: holding(BTC, quantity)} if quantity is not None else {}
    return FakeContext({BTC.key: series_from_closes(closes, key=BTC.key)}, positions)


def test_fall_to_the_buy_level_when_flat_opens_a_long_two_steps_above_its_stop() -> None:
    [signal] = tick(bot(), context(FALL))

    assert signal.intent is SignalIntent.OPEN and signal.side is Side.BUY
    assert signal.stop == pytest.approx(93.25)  # 96 - 2 x 1.375
    assert signal.evidence["centre"] == pytest.approx(99.0)
    assert signal.edge == pytest.approx(3.0 / 96)


def test_the_bot_leaves_regimes_to_the_daemon() -> None:
    # Declared sideways-only, it still proposes the entry: the daemon's regime filter refuses it
    # outside the sideways regime, from the registry's `regimes` list.
    [signal] = tick(bot(regimes=frozenset({Regime.SIDEWAYS})), context(FALL))

    assert signal.intent is SignalIntent.OPEN


def test_close_back_at_the_centre_closes_the_long() -> None:
    [signal] = tick(bot(), context([*FALL, 99.0], quantity="0.1"))

    assert signal.intent is SignalIntent.CLOSE and signal.side is Side.SELL


def test_rise_to_the_sell_level_opens_a_short_only_when_allowed() -> None:
    assert tick(bot(), context(RISE)) == []

    [signal] = tick(bot({**SMALL, "allow_short": True}), context(RISE))

    assert signal.side is Side.SELL and signal.intent is SignalIntent.OPEN
    assert signal.stop == pytest.approx(106.75)  # 104 + 2 x 1.375


def test_short_is_covered_with_a_buy_back_at_the_centre() -> None:
    [signal] = tick(bot({**SMALL, "allow_short": True}), context([*RISE, 101.0], quantity="-0.1"))

    assert signal.intent is SignalIntent.CLOSE and signal.side is Side.BUY


def test_a_deeper_fall_while_holding_adds_no_second_level() -> None:
    # One net position per instrument: a classic grid would buy again one level lower.
    assert tick(bot(), context([*FALL, 90.0], quantity="0.1")) == []


def test_the_bot_asks_for_the_centre_and_the_settling_bars() -> None:
    ctx = context(FALL)
    tick(bot({}), ctx)

    assert ctx.requests == [(BTC.key, 60, 60 + 50)]  # max(SMA 60, ATR 14 + 1) + 50


@pytest.mark.parametrize("bad", [math.nan, 0.0])
def test_bad_last_close_emits_nothing(bad: float) -> None:
    ctx = FakeContext({BTC.key: with_last_close(series_from_closes(FALL, key=BTC.key), bad)})

    assert tick(bot(), ctx) == []


def test_missing_bars_emit_nothing() -> None:
    assert tick(bot(), FakeContext({})) == []


def test_unknown_or_bad_params_are_refused() -> None:
    with pytest.raises(ValueError, match="'levels'"):
        bot({"levels": 3})
    with pytest.raises(ValueError, match="'step_atr'"):
        bot({"step_atr": 0})
