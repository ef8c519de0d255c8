"""PairsBot: opens both legs when the spread is stretched, closes both when it returns."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from bots.base import BotSpec
from bots.pairs import PairsBot, bars_held
from domain.market import BarSeries
from domain.positions import Position
from domain.signals import Side, SignalIntent, make_signal_id
from tests.bots.fake_context import FakeContext, tick
from tests.factories import T0, stock
from tests.strategies.bars import series_from_closes
from tests.strategies.test_pairs import Z_U, U, W, log_b

KO, PEP = stock("KO"), stock("PEP")
# The hand-made 10-bar window of tests/strategies/test_pairs.py, the p-value gate opened wide.
SMALL = {"formation_bars": 10, "atr_period": 3, "max_pvalue": 1.0, "break_pvalue": 1.0}
LAST_CLOSE = T0 + timedelta(minutes=10)  # 10 one-minute bars from T0: the last closes at T0 + 10 min


def bot(params: Mapping[str, Any] = SMALL) -> PairsBot:
    return PairsBot(BotSpec(name="pairs-test", instruments=(KO, PEP), params=params, timeframe_seconds=60))


def bars(residual: npt.NDArray[np.float64], shift_b: float = 0.0) -> dict[str, BarSeries | None]:
    """KO = A with log A = 1.5 log B + 0.01 x `residual`, PEP = B."""
    log_a = 1.5 * log_b() + 0.01 * residual
    return {
        KO.key: series_from_closes(np.exp(log_a).tolist(), key=KO.key),
        PEP.key: series_from_closes(np.exp(log_b()).tolist(), key=PEP.key, start=T0.timestamp() + shift_b),
    }


def position(key: str, quantity: str, opened_at: datetime | None = None) -> Position:
    return Position(
        bot="pairs-test",
        instrument_key=key,
        quantity=Decimal(quantity),
        average_entry_price=Decimal(100),
        opened_at=opened_at,
    )


def short_spread(opened_at: datetime | None = None) -> dict[str, Position]:
    """Short KO, long PEP: the pair entered when the spread was stretched above its mean."""
    return {KO.key: position(KO.key, "-10", opened_at), PEP.key: position(PEP.key, "15", opened_at)}


@pytest.mark.parametrize("instruments", [(KO,), (KO, PEP, stock("SPY"))])
def test_a_pair_bot_needs_exactly_two_instruments(instruments: tuple[Any, ...]) -> None:
    with pytest.raises(ValueError, match="exactly two instruments"):
        PairsBot(BotSpec(name="pairs-test", instruments=instruments, params=SMALL))


def test_stretched_spread_when_flat_opens_both_legs_with_their_stops() -> None:
    # z +2.558 > 2: short KO (A), long PEP (B).
    signals = tick(bot(), FakeContext(bars(U)))

    assert [(s.instrument, s.side, s.intent) for s in signals] == [
        (KO, Side.SELL, SignalIntent.OPEN),
        (PEP, Side.BUY, SignalIntent.OPEN),
    ]
    sell_ko, buy_pep = signals
    assert sell_ko.id == make_signal_id("pairs-test", KO.key, T0, 0)
    assert buy_pep.id == make_signal_id("pairs-test", PEP.key, T0, 1)
    for signal in signals:
        assert signal.evidence["hedge_ratio"] == pytest.approx(1.5, abs=1e-9)
        assert signal.evidence["zscore"] == pytest.approx(Z_U, rel=1e-6)
        assert signal.edge == pytest.approx(0.0032182, rel=1e-4)  # see the strategy test
    assert sell_ko.evidence["atr"] == sell_ko.evidence["atr_a"]  # each leg's own ATR, for its exit plan
    assert buy_pep.evidence["atr"] == buy_pep.evidence["atr_b"]
    assert sell_ko.stop == pytest.approx(sell_ko.evidence["close_a"] + 3 * sell_ko.evidence["atr_a"])
    assert buy_pep.stop == pytest.approx(buy_pep.evidence["close_b"] - 3 * buy_pep.evidence["atr_b"])


def test_spread_back_at_its_mean_closes_both_legs() -> None:
    signals = tick(bot(), FakeContext(bars(W), short_spread()))  # z 0

    assert [(s.instrument, s.side, s.intent) for s in signals] == [
        (KO, Side.BUY, SignalIntent.CLOSE),
        (PEP, Side.SELL, SignalIntent.CLOSE),
    ]
    assert [s.stop for s in signals] == [None, None]


def test_held_pair_with_the_spread_between_the_bands_emits_nothing() -> None:
    assert tick(bot(), FakeContext(bars(U + W), short_spread())) == []  # z 0.931


def test_pair_held_for_max_holding_bars_is_closed() -> None:
    params = {**SMALL, "max_holding_bars": 5}
    five_bars_ago = LAST_CLOSE - timedelta(minutes=5)

    assert (
        tick(bot(params), FakeContext(bars(U + W), short_spread(five_bars_ago + timedelta(minutes=1)))) == []
    )
    signals = tick(bot(params), FakeContext(bars(U + W), short_spread(five_bars_ago)))

    assert [(s.instrument, s.intent) for s in signals] == [
        (KO, SignalIntent.CLOSE),
        (PEP, SignalIntent.CLOSE),
    ]
    assert "held 5 bars" in signals[0].reason


@pytest.mark.parametrize(("held", "closing_side"), [(KO, Side.BUY), (PEP, Side.SELL)])
def test_a_lone_leg_is_closed(held: Any, closing_side: Side) -> None:
    lone = {held.key: short_spread()[held.key]}

    [signal] = tick(bot(), FakeContext(bars(U), lone))

    assert signal.instrument == held
    assert signal.intent is SignalIntent.CLOSE and signal.side is closing_side
    assert "half a pair is no hedge" in signal.reason


def test_bars_ending_at_different_times_emit_nothing() -> None:
    assert tick(bot(), FakeContext(bars(U, shift_b=60.0))) == []


def test_missing_bars_of_one_leg_emit_nothing() -> None:
    assert tick(bot(), FakeContext({**bars(U), PEP.key: None})) == []


def test_the_bot_fetches_both_legs_with_the_formation_window_and_the_settling_bars() -> None:
    ctx = FakeContext(bars(U))
    tick(bot(), ctx)

    assert ctx.requests == [(KO.key, 60, 10 + 50), (PEP.key, 60, 10 + 50)]  # max(10, ATR 3 + 1) + 50


def test_bars_held_counts_the_bars_closed_since_the_position_opened() -> None:
    series = series_from_closes([100.0] * 10)  # bars open at T0 + 0..9 min, the last closes at T0 + 10 min

    assert bars_held(series, LAST_CLOSE - timedelta(minutes=3)) == 3  # opened at the close of bar 6
    assert bars_held(series, LAST_CLOSE - timedelta(seconds=30)) == 1  # opened during the last bar
    assert bars_held(series, LAST_CLOSE) == 0
    assert bars_held(series, None) == 0


def test_unknown_param_is_refused() -> None:
    with pytest.raises(ValueError, match="'lookback'"):
        bot({"lookback": 20})
