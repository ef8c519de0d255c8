"""SimulatedMarket: quotes and bars of the nine simulated instruments, made lazily on demand.

Prices exist up to the clock's current second and no further as far as anyone
outside can tell: the path is generated an hour-long chunk at a time (see
`simulation.paths`), but a quote is always the current second's and a bar is
served only once its end has passed. Before the clock's start time the market
holds `warmup_bars` complete one-minute bars, so indicators have data at once.

Retention: bars are served for the last `max(retained_days * day_seconds,
warmup_bars minutes, 24 hours)` of clock time, where a simulated day is
`day_seconds` of clock time. One-second prices are kept only for the current and
the previous chunk (at most two hours), since only quotes read them. The 24-hour
floor keeps 15-minute strategies fed (96 bars) at a cost of about 0.5 MB.
"""

from __future__ import annotations

import json
import logging
import math
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from domain.instruments import Instrument
from domain.market import BarSeries, Quote
from simulation.calibration import calibrate_all
from simulation.instruments import ASSET_CLASS_FACTORS, SIMULATED_SPECS
from simulation.paths import (
    CHUNK_SECONDS,
    Chunk,
    PathModel,
    PathState,
    generate_chunk,
    initial_state,
    step_parameters,
)
from utils.clock import Clock

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MIN_RETAINED_SECONDS = 86_400
STATE_FORMAT = 1
QUOTE_SOURCE = "simulated"


class SimulatedMarket:
    """The simulated world's prices; a `MarketDataSource` for the paper brokers and the price chain."""

    def __init__(
        self, clock: Clock, seed: int, day_seconds: int, warmup_bars: int, retained_days: int | float
    ) -> None:
        if day_seconds <= 0:
            raise ValueError(f"day_seconds must be positive, got {day_seconds}")
        if warmup_bars < 0:
            raise ValueError(f"warmup_bars must not be negative, got {warmup_bars}")
        if not retained_days > 0:
            raise ValueError(f"retained_days must be positive, got {retained_days}")
        self._clock = clock
        self._seed = seed
        self._day_seconds = day_seconds
        self._specs = SIMULATED_SPECS
        self._index = {spec.instrument.key: i for i, spec in enumerate(self._specs)}
        self._ticks = np.array([[float(spec.instrument.tick_size)] for spec in self._specs])
        calibrations = calibrate_all()
        self._model = PathModel(
            seed=seed,
            steps=tuple(
                step_parameters(calibrations[spec.instrument.symbol], day_seconds) for spec in self._specs
            ),
            factor_loadings=tuple(spec.factor_loading for spec in self._specs),
            factor_of=tuple(ASSET_CLASS_FACTORS.index(spec.instrument.asset_class) for spec in self._specs),
            factor_count=len(ASSET_CLASS_FACTORS),
            volume_per_minute=tuple(spec.volume_per_minute for spec in self._specs),
        )
        retained = max(math.ceil(retained_days * day_seconds), warmup_bars * 60, MIN_RETAINED_SECONDS)
        self._retained_seconds = -(-retained // 60) * 60  # whole minutes
        start = _epoch_second(clock.now())
        origin = start - start % 60 - warmup_bars * 60
        self._reset(origin, 0, self._anchored_start(origin, start))

    # ------------------------------------------------------------------------------------------
    # The MarketDataSource surface
    # ------------------------------------------------------------------------------------------
    def instruments(self) -> list[Instrument]:
        return [spec.instrument for spec in self._specs]

    @property
    def retained_seconds(self) -> int:
        """How far back bars are served: max(retained_days simulated days, warmup bars, 24 h)."""
        return self._retained_seconds

    @property
    def retained_bytes(self) -> int:
        """Memory held by the path (one-second prices and one-minute bars), for monitoring."""
        arrays = [*self._seconds.values(), self._open, self._high, self._low, self._close, self._volume]
        return sum(a.nbytes for a in arrays)

    async def quote(self, instrument: Instrument) -> Quote | None:
        """Bid and ask around the current second's mid, on the tick; None for unknown instruments."""
        i = self._index.get(instrument.key)
        if i is None:
            return None
        second = _epoch_second(self._clock.now())
        cached = self._last_quotes.get(i)
        if cached is not None and cached[0] == second:
            return cached[1]  # several stages ask for the same price within one second
        mid = self._mid(i, second)
        if mid is None:
            return None
        spec = self._specs[i]
        half = spec.half_spread(mid)
        tick = float(self._ticks[i, 0])
        bid_ticks = math.floor((mid - half) / tick)
        ask_ticks = max(math.ceil((mid + half) / tick), bid_ticks + 1)
        if bid_ticks < 1:
            return None
        tick_size = spec.instrument.tick_size
        quote = Quote(
            instrument.key,
            Decimal(bid_ticks) * tick_size,
            Decimal(ask_ticks) * tick_size,
            EPOCH + timedelta(seconds=second),
            QUOTE_SOURCE,
        )
        self._last_quotes[i] = (second, quote)
        return quote

    async def bars(self, instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None:
        """The last `count` complete bars (end <= now), aligned to multiples of the timeframe.

        Fewer when less history is retained; None for an unknown instrument, a
        timeframe that is not a whole number of minutes, or no complete bar at all.
        """
        i = self._index.get(instrument.key)
        if i is None or timeframe_seconds <= 0 or timeframe_seconds % 60 or count <= 0:
            return None
        now = _epoch_second(self._clock.now())
        self._generate_through(now)
        end = now // timeframe_seconds * timeframe_seconds
        oldest = max(self._visible_start(now), self._bars_start)
        first_full = -(-oldest // timeframe_seconds) * timeframe_seconds
        first = max(first_full, end - count * timeframe_seconds)
        if first >= end:
            return None
        cached = self._last_bars.get((i, timeframe_seconds, count))
        if cached is not None and cached[0] == (first, end):
            return cached[1]  # bots ticking every few seconds ask again before a new bar ends
        series = self._bars_between(i, instrument.key, timeframe_seconds, first, end)
        self._last_bars[(i, timeframe_seconds, count)] = ((first, end), series)
        return series

    def _bars_between(self, i: int, key: str, timeframe_seconds: int, first: int, end: int) -> BarSeries:
        per_bar = timeframe_seconds // 60
        start_index = (first - self._bars_start) // 60
        stop_index = (end - self._bars_start) // 60
        window = slice(start_index, stop_index)
        n_bars = (stop_index - start_index) // per_bar
        highs = self._high[i, window].reshape(n_bars, per_bar).max(axis=1)
        lows = self._low[i, window].reshape(n_bars, per_bar).min(axis=1)
        volumes = self._volume[i, window].reshape(n_bars, per_bar).sum(axis=1)
        columns = (
            np.arange(first, end, timeframe_seconds, dtype=np.float64),
            self._open[i, start_index:stop_index:per_bar].copy(),
            highs,
            lows,
            self._close[i, start_index + per_bar - 1 : stop_index : per_bar].copy(),
            volumes,
        )
        for column in columns:
            column.flags.writeable = False  # one series is handed to every bot that asks
        times, opens, high, low, close, volume = columns
        return BarSeries(
            instrument_key=key,
            timeframe_seconds=timeframe_seconds,
            times=times,
            open=opens,
            high=high,
            low=low,
            close=close,
            volume=volume,
        )

    # ------------------------------------------------------------------------------------------
    # Checkpoints
    # ------------------------------------------------------------------------------------------
    def save_state(self, path: Path) -> None:
        """Write a checkpoint from which `load_state` continues exactly this path (atomic).

        The checkpoint is the path's state at the start of the oldest chunk still
        visible in bars; a loaded market regenerates forward from there.
        """
        now = _epoch_second(self._clock.now())
        self._generate_through(now)
        oldest = max(self._visible_start(now), self._bars_start)
        chunk = (oldest - self._origin) // CHUNK_SECONDS
        state = self._chunk_starts[chunk]
        document = {
            "format": STATE_FORMAT,
            "seed": self._seed,
            "day_seconds": self._day_seconds,
            "chunk_seconds": CHUNK_SECONDS,
            "instruments": list(self._index),
            "origin": self._origin,
            "checkpoint_chunk": chunk,
            "log_prices": list(state.log_prices),
            "regimes": list(state.regimes),
            "saved_at": (EPOCH + timedelta(seconds=now)).isoformat(),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        with temporary.open("w", encoding="utf-8") as handle:
            json.dump(document, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)

    def load_state(self, path: Path) -> bool:
        """Continue the path saved in `path`; False (with a warning) when it cannot be used.

        A checkpoint of another seed, day length or instrument list, or one from
        after the clock's present, describes another world: the market then keeps
        its fresh path rather than refusing to start.
        """
        try:
            document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            problem = self._checkpoint_problem(document)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            problem = f"unreadable ({exc})"
        if problem is not None:
            log.warning("simulated market checkpoint %s ignored: %s; starting a fresh path", path, problem)
            return False
        state = PathState(
            tuple(float(v) for v in document["log_prices"]), tuple(int(r) for r in document["regimes"])
        )
        self._reset(int(document["origin"]), int(document["checkpoint_chunk"]), state)
        return True

    def _checkpoint_problem(self, document: dict[str, Any]) -> str | None:
        expected = {
            "format": STATE_FORMAT,
            "seed": self._seed,
            "day_seconds": self._day_seconds,
            "chunk_seconds": CHUNK_SECONDS,
            "instruments": list(self._index),
        }
        for key, value in expected.items():
            if document.get(key) != value:
                return f"{key} is {document.get(key)!r}, this market has {value!r}"
        if len(document["log_prices"]) != len(self._specs) or len(document["regimes"]) != len(self._specs):
            return "the per-instrument state has the wrong length"
        chunk_start = int(document["origin"]) + int(document["checkpoint_chunk"]) * CHUNK_SECONDS
        now = _epoch_second(self._clock.now())
        if now < chunk_start:
            return f"it starts at {chunk_start}, after the clock's present {now}"
        return None

    # ------------------------------------------------------------------------------------------
    # The path
    # ------------------------------------------------------------------------------------------
    def _reset(self, origin: int, chunk: int, state: PathState) -> None:
        n = len(self._specs)
        self._origin = origin
        self._next_chunk = chunk
        self._next_state = state
        self._chunk_starts: dict[int, PathState] = {chunk: state}
        self._seconds: dict[int, np.ndarray] = {}
        self._last_quotes: dict[int, tuple[int, Quote]] = {}
        # (instrument, timeframe, count) -> ((first, end), series): the bars last served
        self._last_bars: dict[tuple[int, int, int], tuple[tuple[int, int], BarSeries]] = {}
        self._bars_start = origin + chunk * CHUNK_SECONDS
        self._open = np.empty((n, 0))
        self._high = np.empty((n, 0))
        self._low = np.empty((n, 0))
        self._close = np.empty((n, 0))
        self._volume = np.empty((n, 0))

    def _anchored_start(self, origin: int, start: int) -> PathState:
        """The state at `origin` that puts each mid exactly at its reference price at `start`.

        The warmup history leads up to the reference level instead of drifting away
        from it: the path is walked once from log price 0 (log prices only add up,
        so the walk is the same shape at any level) and shifted.
        """
        probe = initial_state(self._model, [0.0] * len(self._specs))
        chunk_index, offset = divmod(start - origin, CHUNK_SECONDS)
        state = probe
        for index in range(chunk_index):
            state = generate_chunk(self._model, index, state).end
        walked = generate_chunk(self._model, chunk_index, state).log_prices[:, offset]
        levels = [math.log(spec.start_price) - float(w) for spec, w in zip(self._specs, walked, strict=True)]
        return PathState(tuple(levels), probe.regimes)

    def _visible_start(self, now: int) -> int:
        """Oldest bar open time served at `now`: a function of `now` alone, whatever was generated."""
        return max(self._origin, now - now % 60 - self._retained_seconds)

    def _mid(self, i: int, second: int) -> float | None:
        if second < self._origin:
            return None
        self._generate_through(second)
        chunk, offset = divmod(second - self._origin, CHUNK_SECONDS)
        prices = self._seconds.get(chunk)
        return None if prices is None else float(prices[i, offset])

    def _generate_through(self, second: int) -> None:
        while self._origin + self._next_chunk * CHUNK_SECONDS <= second:
            chunk = generate_chunk(self._model, self._next_chunk, self._next_state)
            self._append(chunk)
            self._next_chunk += 1
            self._next_state = chunk.end

    def _append(self, chunk: Chunk) -> None:
        prices = np.exp(chunk.log_prices)
        self._seconds[chunk.index] = prices
        for old in [c for c in self._seconds if c < chunk.index - 1]:
            del self._seconds[old]
        by_minute = prices.reshape(len(self._specs), CHUNK_SECONDS // 60, 60)
        ticks = self._ticks

        def on_tick(values: np.ndarray) -> np.ndarray:
            return np.asarray(np.round(values / ticks) * ticks)

        self._open = np.concatenate((self._open, on_tick(by_minute[:, :, 0])), axis=1)
        self._high = np.concatenate((self._high, on_tick(by_minute.max(axis=2))), axis=1)
        self._low = np.concatenate((self._low, on_tick(by_minute.min(axis=2))), axis=1)
        self._close = np.concatenate((self._close, on_tick(by_minute[:, :, -1])), axis=1)
        self._volume = np.concatenate((self._volume, np.round(chunk.minute_volumes, 4)), axis=1)
        self._chunk_starts[chunk.index + 1] = chunk.end
        # The clock is inside the newest chunk, so nothing older than this is ever visible again
        # (one chunk of slack for a wall clock that steps back a little).
        chunk_start = self._origin + chunk.index * CHUNK_SECONDS
        keep_from = chunk_start - CHUNK_SECONDS - self._retained_seconds
        if keep_from > self._bars_start:
            drop = (keep_from - self._bars_start) // 60
            self._open, self._high, self._low, self._close, self._volume = (
                a[:, drop:] for a in (self._open, self._high, self._low, self._close, self._volume)
            )
            self._bars_start += drop * 60
        for old in [
            c for c in self._chunk_starts if self._origin + (c + 1) * CHUNK_SECONDS <= self._bars_start
        ]:
            del self._chunk_starts[old]


def _epoch_second(moment: datetime) -> int:
    """Whole seconds since the epoch, floored, computed without float rounding."""
    return (moment - EPOCH) // timedelta(seconds=1)
