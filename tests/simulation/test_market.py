"""SimulatedMarket: deterministic, lazy, no lookahead, bounded, and continuable from a checkpoint."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from brokers.base import MarketDataSource
from domain.instruments import AssetClass, Instrument
from domain.market import BarSeries, Quote
from simulation.market import SimulatedMarket
from tests.factories import stock
from utils.clock import SimulatedClock

START = datetime(2026, 3, 2, 14, 30, 17, 250_000, tzinfo=UTC)  # deliberately not on a minute


def market_at(start: datetime = START, seed: int = 7, warmup_bars: int = 120) -> SimulatedMarket:
    return SimulatedMarket(
        SimulatedClock(start), seed, day_seconds=3600, warmup_bars=warmup_bars, retained_days=1
    )


def clock_of(market: SimulatedMarket) -> SimulatedClock:
    clock = market._clock
    assert isinstance(clock, SimulatedClock)
    return clock


def by_symbol(market: SimulatedMarket, symbol: str) -> Instrument:
    return next(i for i in market.instruments() if i.symbol == symbol)


def quote(market: SimulatedMarket, symbol: str) -> Quote:
    answer = asyncio.run(market.quote(by_symbol(market, symbol)))
    assert answer is not None
    return answer


def bars(market: SimulatedMarket, symbol: str, timeframe: int, count: int) -> BarSeries:
    series = asyncio.run(market.bars(by_symbol(market, symbol), timeframe, count))
    assert series is not None
    return series


def assert_same_bars(a: BarSeries, b: BarSeries) -> None:
    for column in ("times", "open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(a, column), getattr(b, column)), column


def test_the_nine_instruments_and_their_trading_rules() -> None:
    instruments = {i.symbol: i for i in market_at().instruments()}
    assert set(instruments) == {
        "SPY",
        "QQQ",
        "XLE",
        "BTC/USD",
        "ETH/USD",
        "SOL/USD",
        "EUR_USD",
        "GBP_USD",
        "AUD_USD",
    }
    assert instruments["SPY"].venue == "sim-stocks" and instruments["SPY"].asset_class is AssetClass.STOCK
    assert instruments["BTC/USD"].lot_size == Decimal("0.0001") and instruments["BTC/USD"].min_notional == 1
    assert instruments["BTC/USD"].underlying == "BTC"
    assert instruments["EUR_USD"].tick_size == Decimal("0.00001") and instruments["EUR_USD"].venue == "sim-fx"


def test_mids_start_at_their_reference_levels_after_the_warmup_history() -> None:
    market = market_at()
    for symbol, level in {"SPY": 500, "BTC/USD": 60_000, "EUR_USD": 1.08, "AUD_USD": 0.66}.items():
        # the quote is rounded outward to the tick, so the mid is within a tick of the level
        assert float(quote(market, symbol).mid) == pytest.approx(level, rel=1e-4), symbol


def test_the_market_is_a_market_data_source() -> None:
    assert isinstance(market_at(), MarketDataSource)


def test_quotes_are_on_the_tick_with_bid_below_ask_at_the_current_second() -> None:
    market = market_at()
    clock_of(market).advance(3600.7)
    for instrument in market.instruments():
        answer = quote(market, instrument.symbol)
        assert answer.bid < answer.ask
        assert answer.bid % instrument.tick_size == 0 and answer.ask % instrument.tick_size == 0
        assert answer.time == (START + timedelta(seconds=3600.7)).replace(microsecond=0)
        assert answer.source == "simulated"


def test_spreads_follow_each_asset_class() -> None:
    market = market_at()
    spy, btc, eur = quote(market, "SPY"), quote(market, "BTC/USD"), quote(market, "EUR_USD")
    # 1 bp of ~500 is 0.05, widened outward to whole ticks: 5 to 7 cents
    assert Decimal("0.05") <= spy.spread <= Decimal("0.07")
    # 3 bp of ~60,000 is ~18 dollars
    assert float(btc.spread / btc.mid) == pytest.approx(3e-4, rel=0.05)
    # 0.6 pip, plus at most one tick of rounding on each side
    assert Decimal("0.00006") <= eur.spread <= Decimal("0.00008")


def test_unknown_instruments_get_no_quote_and_no_bars() -> None:
    market = market_at()
    stranger = stock("TSLA")
    assert asyncio.run(market.quote(stranger)) is None
    assert asyncio.run(market.bars(stranger, 60, 10)) is None


def test_warmup_bars_of_history_exist_at_the_start() -> None:
    market = market_at(warmup_bars=120)
    series = bars(market, "SPY", 60, 500)
    assert len(series) == 120
    # the last complete one-minute bar ends at the start's minute, 14:30:00
    assert series.times[-1] + 60 == datetime(2026, 3, 2, 14, 30, tzinfo=UTC).timestamp()
    assert np.all(np.diff(series.times) == 60)


def test_bars_never_include_a_bar_that_has_not_ended() -> None:
    market = market_at()
    clock = clock_of(market)
    for step in (1, 59, 61, 299, 301, 1234):
        clock.advance(step)
        now = clock.now().timestamp()
        for timeframe in (60, 300, 900):
            series = bars(market, "QQQ", timeframe, 20)
            assert series.times[-1] + timeframe <= now
            assert series.times[-1] + 2 * timeframe > now  # and the latest complete one is there
            assert np.all(series.times % timeframe == 0)


def test_bars_asked_again_before_a_new_bar_ends_are_the_same_read_only_series() -> None:
    """Bots ticking every 10 s share one series per bar; nobody may write into it."""
    market = market_at()
    clock = clock_of(market)
    clock.advance_to(datetime(2026, 3, 2, 15, 40, 2, tzinfo=UTC))
    first = bars(market, "SPY", 60, 30)
    clock.advance(50)  # 15:40:52, the 15:40 bar has not ended
    assert bars(market, "SPY", 60, 30) is first
    with pytest.raises(ValueError, match="read-only"):
        first.close[-1] = 0.0
    clock.advance(10)  # 15:41:02: the 15:40 bar has ended and is served
    later = bars(market, "SPY", 60, 30)
    assert later is not first and later.times[-1] == first.times[-1] + 60
    assert_same_bars(window(first, 29), window(later.truncated(29), 29))


def test_bars_at_a_time_equal_the_later_series_truncated_to_that_time() -> None:
    """No lookahead: what was known at t is exactly what the later history says about t."""
    market = market_at()
    clock = clock_of(market)
    clock.advance(2 * 3600 + 17)
    earlier = {tf: bars(market, "BTC/USD", tf, 30) for tf in (60, 300)}
    clock.advance(5 * 3600 + 3)
    for timeframe, before in earlier.items():
        later = bars(market, "BTC/USD", timeframe, 1000)
        known = int(np.searchsorted(later.times, before.times[-1], side="right"))
        assert_same_bars(before, window(later.truncated(known), len(before)))


def window(series: BarSeries, last: int) -> BarSeries:
    """The last `last` bars of `series`."""
    columns = (series.times, series.open, series.high, series.low, series.close, series.volume)
    return BarSeries(series.instrument_key, series.timeframe_seconds, *(c[-last:] for c in columns))


def test_ohlc_of_a_five_minute_bar_aggregates_its_one_minute_bars() -> None:
    market = market_at()
    clock_of(market).advance_to(datetime(2026, 3, 2, 15, 40, 2, tzinfo=UTC))
    minutes = bars(market, "ETH/USD", 60, 10)  # the last five: 15:35 to 15:39
    fives = bars(market, "ETH/USD", 300, 2)  # the last: 15:35
    last_five = slice(-5, None)
    assert fives.times[-1] == minutes.times[-5]
    assert fives.open[-1] == minutes.open[-5]
    assert fives.high[-1] == minutes.high[last_five].max()
    assert fives.low[-1] == minutes.low[last_five].min()
    assert fives.close[-1] == minutes.close[-1]
    assert fives.volume[-1] == pytest.approx(minutes.volume[last_five].sum())
    assert np.all(minutes.high >= np.maximum(minutes.open, minutes.close))
    assert np.all(minutes.low <= np.minimum(minutes.open, minutes.close))
    assert np.all(minutes.volume > 0)


def test_a_timeframe_that_is_not_whole_minutes_gets_no_bars() -> None:
    market = market_at()
    assert asyncio.run(market.bars(by_symbol(market, "SPY"), 90, 10)) is None
    assert asyncio.run(market.bars(by_symbol(market, "SPY"), 60, 0)) is None


def test_same_seed_gives_the_same_path_however_often_it_is_asked() -> None:
    eager, lazy = market_at(), market_at()
    xle = by_symbol(eager, "XLE")
    samples = range(997, 3 * 3600, 997)

    async def ask_every_second() -> dict[int, Quote | None]:
        seen: dict[int, Quote | None] = {}
        for second in range(1, 3 * 3600 + 1):  # three hours, across chunk boundaries
            clock_of(eager).advance(1)
            seen[second] = await eager.quote(xle)
        return seen

    async def ask_at_samples() -> dict[int, Quote | None]:
        seen: dict[int, Quote | None] = {}
        for second in samples:
            clock_of(lazy).advance_to(START + timedelta(seconds=second))
            seen[second] = await lazy.quote(xle)
        return seen

    eager_quotes = asyncio.run(ask_every_second())
    lazy_quotes = asyncio.run(ask_at_samples())
    assert all(lazy_quotes[s] is not None and lazy_quotes[s] == eager_quotes[s] for s in samples)
    clock_of(lazy).advance_to(clock_of(eager).now())
    assert_same_bars(bars(eager, "XLE", 60, 500), bars(lazy, "XLE", 60, 500))


def test_another_seed_gives_another_path() -> None:
    first, second = market_at(seed=7), market_at(seed=8)
    for market in (first, second):
        clock_of(market).advance(600)
    assert not np.array_equal(bars(first, "SPY", 60, 100).close, bars(second, "SPY", 60, 100).close)


def test_instruments_of_one_asset_class_move_together() -> None:
    market = market_at()
    clock_of(market).advance(86_400)
    returns = {
        s: np.diff(np.log(bars(market, s, 60, 1440).close)) for s in ("SPY", "QQQ", "BTC/USD", "EUR_USD")
    }
    # loadings 0.90 and 0.85 on the stock factor: correlation 0.765 within a regime
    assert np.corrcoef(returns["SPY"], returns["QQQ"])[0, 1] > 0.6
    # separate asset-class factors: no correlation beyond noise (1,439 returns, s.e. ~0.026)
    assert abs(np.corrcoef(returns["BTC/USD"], returns["EUR_USD"])[0, 1]) < 0.1


def test_history_served_and_memory_held_stay_bounded() -> None:
    market = market_at()
    # retained_days=1 of 3600 s is below the 24-hour floor, so a day of minutes is served
    assert market.retained_seconds == 86_400
    clock_of(market).advance(2 * 86_400)
    assert len(bars(market, "SPY", 60, 10_000)) == 1440
    after_two_days = market.retained_bytes
    clock_of(market).advance(3 * 86_400)
    assert len(bars(market, "SPY", 60, 10_000)) == 1440
    assert market.retained_bytes <= after_two_days
    assert market.retained_bytes < 2_000_000


def test_a_loaded_checkpoint_continues_the_same_path(tmp_path: Path) -> None:
    uninterrupted = market_at()
    clock_of(uninterrupted).advance(5 * 3600 + 123)
    quote(uninterrupted, "SOL/USD")
    checkpoint = tmp_path / "var" / "simulated_market.json"
    uninterrupted.save_state(checkpoint)
    # the restarted daemon's market is built at the restart time, then loads the file
    restarted = market_at(start=clock_of(uninterrupted).now())
    assert restarted.load_state(checkpoint)
    for step in (0, 1, 30, 3600, 7 * 3600 + 11):
        for market in (uninterrupted, restarted):
            clock_of(market).advance(step)
        for symbol in ("SPY", "SOL/USD", "GBP_USD"):
            assert quote(restarted, symbol) == quote(uninterrupted, symbol)
            for timeframe in (60, 900):
                assert_same_bars(
                    bars(restarted, symbol, timeframe, 300), bars(uninterrupted, symbol, timeframe, 300)
                )


def test_a_checkpoint_is_written_atomically_as_json(tmp_path: Path) -> None:
    market = market_at()
    path = tmp_path / "state.json"
    market.save_state(path)
    document = json.loads(path.read_text())
    assert document["seed"] == 7 and len(document["log_prices"]) == 9
    assert not (tmp_path / "state.json.tmp").exists()


def test_a_checkpoint_of_another_seed_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    other = market_at(seed=99)
    clock_of(other).advance(7200)
    other.save_state(path)
    fresh, reference = market_at(seed=7), market_at(seed=7)
    assert fresh.load_state(path) is False
    assert quote(fresh, "SPY") == quote(reference, "SPY")


def test_an_unreadable_checkpoint_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("{not json")
    assert market_at().load_state(path) is False


@pytest.mark.slow
def test_a_full_simulated_day_serves_every_quote_and_bar_asked() -> None:
    """86,400 one-second steps x 9 instruments, quotes every 5 s and bars every minute (how long it
    takes is for a benchmark, not a test)."""
    market = SimulatedMarket(SimulatedClock(START), 7, day_seconds=3600, warmup_bars=300, retained_days=3.0)
    clock = clock_of(market)
    instruments = market.instruments()
    served = {"quotes": 0, "bars": 0}

    async def day() -> None:
        for step in range(86_400 // 5):
            clock.advance(5)
            for instrument in instruments:
                if await market.quote(instrument) is not None:
                    served["quotes"] += 1
            if step % 12 == 0:
                for instrument in instruments:
                    series = await market.bars(instrument, 60, 300)
                    if series is not None and len(series) == 300:
                        served["bars"] += 1

    asyncio.run(day())
    assert served == {"quotes": 86_400 // 5 * 9, "bars": 86_400 // 60 * 9}
