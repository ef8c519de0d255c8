"""HistoricalMarket: recorded bars as a venue's prices, with nothing the clock has not reached visible."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from backtest.historical_market import HistoricalMarket, RecordedBars, half_spread_for, replay_instrument
from domain.instruments import AssetClass
from utils.clock import SimulatedClock

T0 = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)  # on a whole minute (and a multiple of 5 minutes)
BTC = replay_instrument("sim-crypto", "BTC/USD", AssetClass.CRYPTO)


def minute_frame(opens: list[float], start: datetime = T0, skip: tuple[int, ...] = ()) -> pd.DataFrame:
    """One-minute bars: open as given, close = open + 1, high = close + 0.5, low = open - 0.5."""
    times = [start + timedelta(minutes=i) for i in range(len(opens)) if i not in skip]
    kept = [o for i, o in enumerate(opens) if i not in skip]
    return pd.DataFrame(
        {
            "open": kept,
            "high": [o + 1.5 for o in kept],
            "low": [o - 0.5 for o in kept],
            "close": [o + 1.0 for o in kept],
            "volume": [10.0] * len(kept),
        },
        index=pd.DatetimeIndex(times, name="time"),
    )


def market_at(moment: datetime, frame: pd.DataFrame, spread_bps: float = 0.0) -> HistoricalMarket:
    clock = SimulatedClock(moment)
    recorded = RecordedBars.from_frame(BTC, frame, 60, "test")
    return HistoricalMarket(clock, [recorded], {BTC.key: half_spread_for(BTC, spread_bps)})


def test_the_quote_inside_a_bar_is_its_open_with_the_spread_rounded_outwards_to_the_tick() -> None:
    frame = minute_frame([100.0, 200.0, 300.0])
    # 20 bps around 200.00: half is 0.20, so bid 199.80 and ask 200.20; at 30 s into the second bar
    quote = asyncio.run(market_at(T0 + timedelta(seconds=90), frame, spread_bps=20).quote(BTC))
    assert quote is not None
    assert (quote.bid, quote.ask) == (Decimal("199.80"), Decimal("200.20"))
    assert quote.time == T0 + timedelta(seconds=90)  # the venue's price until the next bar opens
    # 3 bps around 100.00: half 0.015 -> bid floors to 99.98, ask ceils to 100.02
    quote = asyncio.run(market_at(T0, frame, spread_bps=3).quote(BTC))
    assert quote is not None and (quote.bid, quote.ask) == (Decimal("99.98"), Decimal("100.02"))


def test_there_is_no_quote_before_the_first_bar_in_a_gap_or_after_the_last_bar() -> None:
    frame = minute_frame([100.0, 101.0, 102.0, 103.0], skip=(2,))  # the 14:32 bar is missing
    for moment in (
        T0 - timedelta(seconds=1),
        T0 + timedelta(minutes=2, seconds=30),
        T0 + timedelta(minutes=4),
    ):
        assert asyncio.run(market_at(moment, frame).quote(BTC)) is None, moment
    assert asyncio.run(market_at(T0 + timedelta(minutes=3), frame).quote(BTC)) is not None


def test_bars_are_served_only_once_complete_so_the_current_bars_close_is_never_seen() -> None:
    frame = minute_frame([100.0, 110.0, 120.0, 130.0])
    # 30 s into the third bar: two bars are complete; the third's close (121) is in the future
    series = asyncio.run(market_at(T0 + timedelta(minutes=2, seconds=30), frame).bars(BTC, 60, 10))
    assert series is not None
    assert list(series.close) == [101.0, 111.0]
    assert list(series.times) == [T0.timestamp(), T0.timestamp() + 60]
    # exactly at the third bar's close it is complete
    series = asyncio.run(market_at(T0 + timedelta(minutes=3), frame).bars(BTC, 60, 2))
    assert series is not None and list(series.close) == [111.0, 121.0]  # the last two only
    assert asyncio.run(market_at(T0 + timedelta(seconds=59), frame).bars(BTC, 60, 5)) is None


def test_coarser_bars_match_pandas_resampling_on_epoch_aligned_boundaries() -> None:
    rng = np.random.default_rng(3)
    opens = list(100 + np.cumsum(rng.normal(0, 1, 33)))
    frame = minute_frame(opens, start=T0 + timedelta(minutes=2), skip=(7, 8))  # starts mid-group, has a gap
    moment = T0 + timedelta(minutes=30)  # the 14:55-15:00 group is complete, 15:00-15:05 is not
    series = asyncio.run(market_at(moment, frame).bars(BTC, 300, 100))
    assert series is not None
    # the oracle: pandas' own 5-minute resampling of the bars that ended by `moment`
    seen = frame[frame.index + pd.Timedelta(minutes=1) <= moment]
    expected = seen.resample("5min", origin="epoch").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    expected = expected[expected.index + pd.Timedelta(minutes=5) <= moment].dropna()
    assert list(series.times) == [t.timestamp() for t in expected.index]
    for column in ("open", "high", "low", "close", "volume"):
        np.testing.assert_allclose(getattr(series, column), expected[column].to_numpy())


def test_a_timeframe_the_bars_cannot_build_and_an_unknown_instrument_get_nothing() -> None:
    market = market_at(T0 + timedelta(minutes=10), minute_frame([100.0] * 10))
    assert asyncio.run(market.bars(BTC, 90, 5)) is None  # 90 s is not a whole number of 1-minute bars
    other = replay_instrument("sim-crypto", "ETH/USD", AssetClass.CRYPTO)
    assert asyncio.run(market.bars(other, 60, 5)) is None
    assert asyncio.run(market.quote(other)) is None


def test_recorded_bars_refuse_times_off_their_period_and_overlaps() -> None:
    off = minute_frame([100.0, 101.0], start=T0 + timedelta(seconds=15))
    with pytest.raises(ValueError, match="multiples of their period"):
        RecordedBars.from_frame(BTC, off, 60)
    with pytest.raises(ValueError, match="overlap"):
        RecordedBars.from_frame(BTC, minute_frame([100.0, 101.0]), 120)


def test_replayed_instruments_trade_in_the_simulated_worlds_increments_or_their_classs() -> None:
    spy = replay_instrument("alpaca", "SPY", AssetClass.STOCK)
    assert (spy.key, spy.tick_size, spy.lot_size, spy.min_quantity) == ("alpaca:SPY", Decimal("0.01"), 1, 1)
    pair = replay_instrument("oanda", "EUR/USD", AssetClass.FOREX)
    assert pair.tick_size == Decimal("0.00001") and pair.underlying == "EUR/USD"
    with pytest.raises(ValueError, match="stock, crypto or forex"):
        replay_instrument("kalshi", "KXHIGHCHI-26FEB09-B38.5", AssetClass.PREDICTION)
