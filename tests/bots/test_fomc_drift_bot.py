"""FomcDriftBot: buys the index for the 24 h before a scheduled FOMC statement, sells at the statement.

The 18 March 2026 statement is at 14:00 EDT = 18:00 UTC, so its window is [17 Mar 18:00, 18 Mar 18:00) UTC.
Bars as in tests/strategies/test_fomc_drift.py: last close 101, ATR(3) 3.5 / 3, 3-ATR stop 97.5.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from bots.base import BotSpec
from bots.fomc_drift import FomcDriftBot
from domain.signals import Side, SignalIntent
from tests.bots.fake_context import FakeContext, holding, tick
from tests.factories import stock
from tests.strategies.bars import series_from_closes

SPY = stock("SPY")
QQQ = stock("QQQ")
SMALL = {"atr_period": 3}
CLOSES = [100.0, 100.0, 100.0, 100.0, 101.0]

INSIDE = datetime(2026, 3, 18, 9, 30, tzinfo=UTC)  # 05:30 EDT on the day: 8.5 h before
ANNOUNCEMENT = datetime(2026, 3, 18, 18, 0, tzinfo=UTC)
BETWEEN = datetime(2026, 3, 25, 15, 0, tzinfo=UTC)  # a week after, five weeks before April's window


def bot(params: Mapping[str, Any] = SMALL, *instruments: Any) -> FomcDriftBot:
    return FomcDriftBot(
        BotSpec(name="fomc-test", instruments=instruments or (SPY,), params=params, timeframe_seconds=3600)
    )


def context(now: datetime, quantity: str | None = None, *, bars: bool = True) -> FakeContext:
    positions = {SPY.key: holding(SPY, quantity)} if quantity is not None else {}
    served = {SPY.key: series_from_closes(CLOSES, key=SPY.key)} if bars else {}
    return FakeContext(served, positions, now=now)


def test_flat_inside_the_window_buys_with_a_stop_below_the_price() -> None:
    [signal] = tick(bot(), context(INSIDE))

    assert signal.intent is SignalIntent.OPEN and signal.side is Side.BUY
    assert signal.stop == pytest.approx(101 - 3 * 3.5 / 3)  # 97.5
    assert signal.edge == pytest.approx(0.0049)  # Lucca & Moench's 49 bp
    assert signal.confidence == pytest.approx(0.6)
    assert signal.time == INSIDE
    assert "2026-03-18 18:00 UTC" in signal.reason


def test_long_is_sold_at_the_announcement() -> None:
    [signal] = tick(bot(), context(ANNOUNCEMENT, quantity="10"))

    assert signal.intent is SignalIntent.CLOSE and signal.side is Side.SELL


def test_long_is_sold_after_the_window_even_without_bars() -> None:
    [signal] = tick(bot(), context(BETWEEN, quantity="10", bars=False))

    assert signal.intent is SignalIntent.CLOSE and signal.side is Side.SELL


def test_short_is_bought_back() -> None:
    [signal] = tick(bot(), context(INSIDE, quantity="-10"))

    assert signal.intent is SignalIntent.CLOSE and signal.side is Side.BUY


def test_flat_outside_the_window_and_long_inside_it_emit_nothing() -> None:
    assert tick(bot(), context(BETWEEN)) == []
    assert tick(bot(), context(ANNOUNCEMENT)) == []
    assert tick(bot(), context(INSIDE, quantity="10")) == []


def test_missing_bars_inside_the_window_emit_nothing() -> None:
    assert tick(bot(), context(INSIDE, bars=False)) == []


def test_each_instrument_gets_its_own_signal() -> None:
    ctx = FakeContext(
        {SPY.key: series_from_closes(CLOSES, key=SPY.key), QQQ.key: series_from_closes(CLOSES, key=QQQ.key)},
        now=INSIDE,
    )

    signals = tick(bot(SMALL, SPY, QQQ), ctx)

    assert [s.instrument.key for s in signals] == [SPY.key, QQQ.key]
    assert len({s.id for s in signals}) == 2


def test_the_bot_asks_for_atr_bars_plus_the_settling_bars_at_its_timeframe() -> None:
    ctx = context(INSIDE)
    tick(bot(), ctx)

    assert ctx.requests == [(SPY.key, 3600, 3 + 1 + 50)]  # ATR(3) needs 4 bars, plus 50 settling


def test_registry_schedule_replaces_the_default_one() -> None:
    # Only 20 Jan 2027 14:00 EST (19:00 UTC) scheduled: 18 March 2026 is then no trade.
    params = {**SMALL, "announcements": ["2027-01-20T14:00:00-05:00"]}
    assert tick(bot(params), context(INSIDE)) == []

    [signal] = tick(bot(params), context(datetime(2027, 1, 19, 19, 0, tzinfo=UTC)))

    assert signal.side is Side.BUY and signal.intent is SignalIntent.OPEN


def test_unknown_param_is_refused() -> None:
    with pytest.raises(ValueError, match="'hours'"):
        bot({"hours": 24})
