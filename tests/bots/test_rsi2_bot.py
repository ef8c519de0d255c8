"""Rsi2Bot turns the RSI-2 rule into signals: an entry with its stop when flat, a close when holding."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pytest

from bots.base import BotSpec
from bots.rsi2 import Rsi2Bot
from domain.instruments import Instrument
from domain.market import BarSeries
from domain.signals import Side, SignalIntent, make_signal_id
from tests.bots.fake_context import FakeContext, holding, tick
from tests.factories import T0, stock
from tests.strategies.bars import series_from_closes, with_last_close

SPY = stock("SPY")
QQQ = stock("QQQ")
SMALL = {"trend_period": 20, "exit_sma_period": 5, "atr_period": 3}

# See tests/strategies/test_rsi2.py: +2 a bar for 20 bars, then -4 and -8 -> RSI(2) 9.09,
# close 128 above SMA(20) 123.9 and under SMA(5) 135.6, ATR(3) 4.944.
UPTREND = [100.0 + 2 * i for i in range(21)]
PULLBACK = [*UPTREND, 136.0, 128.0]


def bot(params: Mapping[str, Any] = SMALL, *instruments: Instrument) -> Rsi2Bot:
    return Rsi2Bot(
        BotSpec(name="rsi2-test", instruments=instruments or (SPY,), params=params, timeframe_seconds=60)
    )


def bars(closes: list[float], instrument: Instrument = SPY) -> BarSeries:
    return series_from_closes(closes, key=instrument.key)


def test_pullback_when_flat_opens_a_long_with_a_stop_below_the_price() -> None:
    [signal] = tick(bot(), FakeContext({SPY.key: bars(PULLBACK)}))

    assert signal.intent is SignalIntent.OPEN and signal.side is Side.BUY
    assert signal.instrument == SPY and signal.bot == "rsi2-test"
    assert signal.stop is not None and 0 < signal.stop < 128.0
    assert signal.stop == pytest.approx(128 - 2 * 4.944444, rel=1e-6)
    assert isinstance(signal.evidence["atr"], float)
    assert signal.evidence["atr"] == pytest.approx(4.944444, rel=1e-6)
    assert signal.evidence["close"] == 128.0
    assert signal.evidence["rsi"] == pytest.approx(100 * 0.5 / 5.5)
    assert 0 <= signal.confidence <= 1 and signal.edge > 0
    assert "RSI(2)" in signal.reason
    assert signal.id == make_signal_id("rsi2-test", SPY.key, T0, 0)


def test_exit_condition_while_long_closes_with_a_sell() -> None:
    ctx = FakeContext({SPY.key: bars([*PULLBACK, 131.0, 135.0])}, {SPY.key: holding(SPY, "10")})

    [signal] = tick(bot(), ctx)

    assert signal.intent is SignalIntent.CLOSE and signal.side is Side.SELL
    assert signal.stop is None
    assert "SMA(5)" in signal.reason


def test_exit_condition_while_short_closes_with_a_buy() -> None:
    downtrend = [200.0 - 2 * i for i in range(21)]  # RSI 0: below the cover threshold 30
    ctx = FakeContext({SPY.key: bars(downtrend)}, {SPY.key: holding(SPY, "-10")})

    [signal] = tick(bot(), ctx)

    assert signal.intent is SignalIntent.CLOSE and signal.side is Side.BUY


def test_entry_setup_while_holding_emits_nothing() -> None:
    ctx = FakeContext({SPY.key: bars(PULLBACK)}, {SPY.key: holding(SPY, "10")})

    assert tick(bot(), ctx) == []


def test_flat_position_record_counts_as_flat() -> None:
    ctx = FakeContext({SPY.key: bars(PULLBACK)}, {SPY.key: holding(SPY, "0")})

    [signal] = tick(bot(), ctx)

    assert signal.intent is SignalIntent.OPEN


def test_exit_condition_while_flat_emits_nothing() -> None:
    assert tick(bot(), FakeContext({SPY.key: bars(UPTREND)})) == []  # RSI 100, nothing to close


def test_missing_bars_emit_nothing() -> None:
    assert tick(bot(), FakeContext({SPY.key: None})) == []


def test_too_few_bars_emit_nothing() -> None:
    assert tick(bot(), FakeContext({SPY.key: bars(PULLBACK[-19:])})) == []  # SMA(20) needs 20


@pytest.mark.parametrize("bad", [math.nan, 0.0, -128.0])
def test_missing_or_non_positive_last_close_emits_nothing(bad: float) -> None:
    ctx = FakeContext({SPY.key: with_last_close(bars(PULLBACK), bad)})

    assert tick(bot(), ctx) == []


def test_each_instrument_gets_its_own_signal_with_a_distinct_id() -> None:
    ctx = FakeContext({SPY.key: bars(PULLBACK), QQQ.key: bars(PULLBACK, QQQ)})

    signals = tick(bot(SMALL, SPY, QQQ), ctx)

    assert [s.instrument for s in signals] == [SPY, QQQ]
    assert len({s.id for s in signals}) == 2
    assert signals[1].id == make_signal_id("rsi2-test", QQQ.key, T0, 1)


def test_bot_asks_for_enough_bars_for_its_trend_average() -> None:
    ctx = FakeContext({SPY.key: None})

    tick(bot({}), ctx)

    assert ctx.requests == [(SPY.key, 60, 250)]  # SMA(200) + 50 for RSI and ATR to settle


def test_default_parameters_open_on_a_long_uptrend_pullback() -> None:
    uptrend = [100.0 + 0.5 * i for i in range(260)]
    ctx = FakeContext({SPY.key: bars([*uptrend, uptrend[-1] - 1.0, uptrend[-1] - 3.0])})

    [signal] = tick(bot({}), ctx)

    assert signal.side is Side.BUY and signal.stop is not None and signal.stop < uptrend[-1] - 3.0


@pytest.mark.parametrize(
    ("params", "named"), [({"entry_treshold": 5}, "entry_treshold"), ({"trend_period": 0}, "trend_period")]
)
def test_bad_params_are_refused_at_construction_naming_them(params: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        bot(params)
