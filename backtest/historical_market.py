"""HistoricalMarket: recorded bars served as a venue's market data, for the event-driven replay.

The replay's venues are priced at bar resolution. While the clock is inside bar [t, t + p) the
quote is that bar's open, bid and ask half a spread either side (rounded outwards to the tick)
and stamped with the clock's time: the bar's open is the venue's price until the next bar opens.
So an order sent at any moment of a bar fills at that bar's open, the bar after the last one its
bot could see: the vectorized engine's rule (decide at bar i's close, fill at bar i + 1's open).
Between bars (a weekend in daily stock data) and after the last bar there is no quote at all, and
the daemon refuses to trade, as it does when a live feed is silent.

`bars` serves only complete bars (end <= now) of the recorded period or of any whole multiple of
it, aggregated on boundaries that are multiples of the timeframe since the epoch, as the simulated
market does. Nothing the clock has not reached is ever visible.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import numpy.typing as npt
import pandas as pd

from domain.instruments import AssetClass, Instrument
from domain.market import BarSeries, Quote
from risk_management.underlying import underlying_of
from simulation.instruments import SIMULATED_SPECS
from utils.clock import Clock

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
QUOTE_SOURCE = "historical"

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
HalfSpread = Callable[[float], float]  # mid price -> half the bid/ask spread, in price units

# Half-spreads for symbols the simulated world does not list: those of its instruments of the class.
_DEFAULT_SPREADS: dict[AssetClass, tuple[float, float]] = {  # (fraction of mid, absolute)
    AssetClass.STOCK: (1e-4, 0.0),
    AssetClass.CRYPTO: (3e-4, 0.0),
    AssetClass.FOREX: (0.0, 0.00006),
}
_DEFAULT_INCREMENTS: dict[AssetClass, tuple[Decimal, Decimal, Decimal, Decimal]] = {
    # tick, lot, minimum quantity, minimum notional
    AssetClass.STOCK: (Decimal("0.01"), Decimal("1"), Decimal("1"), Decimal(0)),
    AssetClass.CRYPTO: (Decimal("0.01"), Decimal("0.0001"), Decimal(0), Decimal("1")),
    AssetClass.FOREX: (Decimal("0.00001"), Decimal("1"), Decimal("1"), Decimal(0)),
}


def replay_instrument(venue: str, symbol: str, asset_class: AssetClass) -> Instrument:
    """The instrument a replay trades: the simulated world's increments for a symbol it lists
    (so a replay of SPY trades it as the default run does), the asset class's otherwise."""
    if asset_class not in _DEFAULT_INCREMENTS:
        raise ValueError(f"{venue}:{symbol}: a replay trades stock, crypto or forex bars, not {asset_class}")
    for spec in SIMULATED_SPECS:
        known = spec.instrument
        if known.symbol == symbol and known.asset_class is asset_class:
            return Instrument(
                symbol=symbol,
                venue=venue,
                asset_class=asset_class,
                tick_size=known.tick_size,
                lot_size=known.lot_size,
                underlying=known.underlying,
                min_quantity=known.min_quantity,
                min_notional=known.min_notional,
            )
    tick, lot, min_quantity, min_notional = _DEFAULT_INCREMENTS[asset_class]
    return Instrument(
        symbol=symbol,
        venue=venue,
        asset_class=asset_class,
        tick_size=tick,
        lot_size=lot,
        underlying=underlying_of(symbol, asset_class),
        min_quantity=min_quantity,
        min_notional=min_notional,
    )


def half_spread_for(instrument: Instrument, spread_bps: float | None = None) -> HalfSpread:
    """Half the spread the replay quotes around a bar's open: `spread_bps` of the mid when given,
    else the simulated world's spread for its symbols and for the asset class's others."""
    if spread_bps is not None:
        if not (math.isfinite(spread_bps) and spread_bps >= 0):
            raise ValueError(f"spread_bps must be a non-negative number, got {spread_bps}")
        fraction = spread_bps / 10_000
        return lambda mid: mid * fraction / 2
    for spec in SIMULATED_SPECS:
        if (
            spec.instrument.symbol == instrument.symbol
            and spec.instrument.asset_class is instrument.asset_class
        ):
            return spec.half_spread
    relative, absolute = _DEFAULT_SPREADS[instrument.asset_class]
    return lambda mid: (mid * relative + absolute) / 2


@dataclass(frozen=True, slots=True, eq=False)
class RecordedBars:
    """One instrument's recorded bars: start times (epoch seconds) and OHLCV, oldest first."""

    instrument: Instrument
    period_seconds: int
    starts: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    source: str = ""

    def __post_init__(self) -> None:
        if self.period_seconds <= 0 or self.period_seconds % 60:
            raise ValueError(
                f"{self.instrument.key}: bars must be whole minutes apart, got {self.period_seconds} s"
            )
        n = len(self.starts)
        if any(len(a) != n for a in (self.open, self.high, self.low, self.close, self.volume)):
            raise ValueError(f"{self.instrument.key}: OHLCV columns of different lengths")
        if n and not bool(np.all(np.diff(self.starts) >= self.period_seconds)):
            raise ValueError(f"{self.instrument.key}: bars overlap or are out of order")
        if n and bool(np.any(self.starts % self.period_seconds)):
            raise ValueError(
                f"{self.instrument.key}: bar times must fall on multiples of their period "
                f"({self.period_seconds} s since the epoch)"
            )

    @classmethod
    def from_frame(
        cls, instrument: Instrument, frame: pd.DataFrame, period_seconds: int, source: str = ""
    ) -> RecordedBars:
        """From a checked bar frame (`backtest.bars`: UTC index of bar open times, OHLCV columns)."""
        index = pd.DatetimeIndex(frame.index)
        starts = (index.as_unit("s").asi8).astype(np.int64)

        def column(name: str) -> FloatArray:
            values: FloatArray = frame[name].to_numpy(dtype=np.float64, copy=True)
            return values

        return cls(
            instrument,
            period_seconds,
            starts,
            column("open"),
            column("high"),
            column("low"),
            column("close"),
            column("volume"),
            source,
        )

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def end(self) -> datetime:
        """When the last bar closes."""
        return EPOCH + timedelta(seconds=int(self.starts[-1]) + self.period_seconds)


@dataclass(slots=True, eq=False)
class _Aggregate:
    """Bars of one timeframe: start times, end times and OHLCV, oldest first."""

    starts: IntArray
    ends: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray


@dataclass(slots=True, eq=False)
class _Listed:
    recorded: RecordedBars
    half_spread: HalfSpread
    aggregates: dict[int, _Aggregate] = field(default_factory=dict)


class HistoricalMarket:
    """Recorded bars as a `MarketDataSource` on the replay's clock (see the module docstring)."""

    def __init__(
        self,
        clock: Clock,
        recorded: Sequence[RecordedBars],
        half_spreads: Mapping[str, HalfSpread] | None = None,
    ) -> None:
        self._clock = clock
        self._listed: dict[str, _Listed] = {}
        for bars in recorded:
            key = bars.instrument.key
            if key in self._listed:
                raise ValueError(f"{key}: two sets of bars for one instrument")
            if not len(bars):
                raise ValueError(f"{key}: no bars")
            spread = (half_spreads or {}).get(key) or half_spread_for(bars.instrument)
            self._listed[key] = _Listed(bars, spread)

    def instruments(self) -> list[Instrument]:
        return [listed.recorded.instrument for listed in self._listed.values()]

    async def quote(self, instrument: Instrument) -> Quote | None:
        """The current bar's open ± half the spread, on the tick; None between bars and after the last."""
        listed = self._listed.get(instrument.key)
        if listed is None:
            return None
        bars = listed.recorded
        now = self._clock.now()
        second = int((now - EPOCH).total_seconds())
        i = int(np.searchsorted(bars.starts, second, side="right")) - 1
        if i < 0 or second >= bars.starts[i] + bars.period_seconds:
            return None
        mid = float(bars.open[i])
        if not (math.isfinite(mid) and mid > 0):
            return None
        tick = bars.instrument.tick_size
        half = listed.half_spread(mid)
        bid_ticks = math.floor((mid - half) / float(tick))
        ask_ticks = max(math.ceil((mid + half) / float(tick)), bid_ticks + 1)
        if bid_ticks < 1:
            return None
        return Quote(instrument.key, Decimal(bid_ticks) * tick, Decimal(ask_ticks) * tick, now, QUOTE_SOURCE)

    async def bars(self, instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None:
        """The last `count` complete bars (end <= now) of the timeframe; None for an unknown
        instrument, a timeframe that is not a whole multiple of the recorded period, or no bar yet."""
        listed = self._listed.get(instrument.key)
        if listed is None or count <= 0 or timeframe_seconds <= 0:
            return None
        period = listed.recorded.period_seconds
        if timeframe_seconds % period:
            return None
        aggregate = listed.aggregates.get(timeframe_seconds)
        if aggregate is None:
            aggregate = _aggregate(listed.recorded, timeframe_seconds)
            listed.aggregates[timeframe_seconds] = aggregate
        second = int((self._clock.now() - EPOCH).total_seconds())
        stop = int(np.searchsorted(aggregate.ends, second, side="right"))
        if stop == 0:
            return None
        window = slice(max(0, stop - count), stop)
        return BarSeries(
            instrument_key=instrument.key,
            timeframe_seconds=timeframe_seconds,
            times=aggregate.starts[window].astype(np.float64),
            open=aggregate.open[window].copy(),
            high=aggregate.high[window].copy(),
            low=aggregate.low[window].copy(),
            close=aggregate.close[window].copy(),
            volume=aggregate.volume[window].copy(),
        )


def _aggregate(bars: RecordedBars, timeframe_seconds: int) -> _Aggregate:
    """Bars of `timeframe_seconds` from the recorded ones, grouped on multiples of the timeframe.

    A group ends at its boundary even when recorded bars are missing inside it (a gap), so it is
    served once the clock passes that boundary, never before.
    """
    if timeframe_seconds == bars.period_seconds:
        return _Aggregate(
            bars.starts,
            bars.starts + bars.period_seconds,
            bars.open,
            bars.high,
            bars.low,
            bars.close,
            bars.volume,
        )
    groups = bars.starts // timeframe_seconds
    first = np.flatnonzero(np.concatenate(([True], groups[1:] != groups[:-1])))
    last = np.concatenate((first[1:] - 1, [len(groups) - 1]))
    starts = groups[first] * timeframe_seconds
    return _Aggregate(
        starts=starts,
        ends=starts + timeframe_seconds,
        open=bars.open[first],
        high=np.maximum.reduceat(bars.high, first),
        low=np.minimum.reduceat(bars.low, first),
        close=bars.close[last],
        volume=np.add.reduceat(bars.volume, first),
    )
