"""Bar sources for the ML command line: the simulated world, and real daily data shipped with packages.

Both give one validated frame per asset: a UTC DatetimeIndex of bar open times and the
columns open, high, low, close, volume, oldest bar first.

- `simulated`: BTC, ETH and SOL from `SimulatedMarket`. A `SimulatedClock` starts at a
  fixed moment and is advanced bar-span by bar-span until the requested number of bars has
  passed; the path depends only on the seed and that start, so the same arguments give the
  same bars, and asking for more bars extends the same path into the future.
- `shipped`: daily OHLCV that ships inside installed packages, so no network is needed:
  `arch.data.sp500` as SPX and `arch.data.nasdaq` as NDX (1999-2018, about 5,000 days),
  and backtesting.py's monthly BTCUSD when that package is installed.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from domain.instruments import Instrument
from ml_models.features.bars import OHLCV_COLUMNS, ohlcv_arrays
from simulation.instruments import SIMULATED_SPECS
from simulation.market import SimulatedMarket
from utils.clock import SimulatedClock

T = TypeVar("T")

Progress = Callable[[str], None]

SOURCES = ("simulated", "shipped")
SIMULATED_SYMBOLS = {"BTC": "BTC/USD", "ETH": "ETH/USD", "SOL": "SOL/USD"}
# Modules (and the attribute holding the frame or its loader) of the packaged data sets.
SHIPPED_DATASETS = {
    "SPX": ("arch.data.sp500", "load"),
    "NDX": ("arch.data.nasdaq", "load"),
    "BTCUSD": ("backtesting.test", "BTCUSD"),
}
# A fixed start keeps the simulated path reproducible from the seed alone.
SIMULATION_START = datetime(2024, 1, 1, tzinfo=UTC)
PROGRESS_STEPS = 10


class BarDataError(ValueError):
    """The requested bars cannot be had or are not usable; the message names the asset and the problem."""


@dataclass(frozen=True, slots=True)
class SimulationSettings:
    """How much of the simulated world to run: `bars` bars of `timeframe_seconds` each."""

    bars: int = 3000
    timeframe_seconds: int = 300
    seed: int = 7
    day_seconds: int = 3600

    def __post_init__(self) -> None:
        if self.bars < 1:
            raise BarDataError(f"bars must be at least 1, got {self.bars}")
        if self.timeframe_seconds < 60 or self.timeframe_seconds % 60:
            raise BarDataError(f"timeframe must be a whole number of minutes, got {self.timeframe_seconds} s")


def assets_of(source: str) -> tuple[str, ...]:
    """The asset names a source can serve."""
    if source == "simulated":
        return tuple(SIMULATED_SYMBOLS)
    if source == "shipped":
        return tuple(name for name, (module, _) in SHIPPED_DATASETS.items() if _installed(module))
    raise BarDataError(f"unknown source {source!r}; choose one of {', '.join(SOURCES)}")


def check_assets(source: str, assets: tuple[str, ...]) -> None:
    """BarDataError naming every asset the source does not serve."""
    known = assets_of(source)
    unknown = [a for a in assets if a not in known]
    if unknown:
        raise BarDataError(
            f"unknown asset(s) {', '.join(unknown)} for source {source}; it serves {', '.join(known)}"
        )
    if not assets:
        raise BarDataError("no assets named")


def load_bars(
    source: str,
    assets: tuple[str, ...],
    *,
    simulation: SimulationSettings = SimulationSettings(),
    progress: Progress | None = None,
) -> dict[str, pd.DataFrame]:
    """Validated bars of each asset from `source` ("simulated" or "shipped")."""
    check_assets(source, assets)
    if source == "simulated":
        frames = simulated_bars(assets, simulation, progress)
    else:
        frames = {asset: shipped_bars(asset) for asset in assets}
    for asset, frame in frames.items():
        validate_bars(asset, frame)
    return frames


def describe_source(source: str, asset: str, frame: pd.DataFrame, simulation: SimulationSettings) -> str:
    """What a model's registry record says about its bars: where from, how many, which span."""
    if source == "simulated":
        origin = (
            f"simulated world {SIMULATED_SYMBOLS[asset]}, seed {simulation.seed}, "
            f"{simulation.timeframe_seconds} s bars"
        )
    elif source == "shipped":
        origin = f"shipped data {SHIPPED_DATASETS[asset][0]}"
    else:
        origin = source
    span = f"{frame.index[0].isoformat()} .. {frame.index[-1].isoformat()}" if len(frame) else "empty"
    return f"{origin}; {len(frame)} bars, {span}"


def validate_bars(asset: str, frame: pd.DataFrame) -> None:
    """BarDataError unless prices are finite and positive, volumes finite, times strictly increasing."""
    try:
        ohlcv_arrays(frame)
    except ValueError as problem:
        raise BarDataError(f"{asset}: {problem}") from None


def _run_to_end(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that awaits nothing outside itself (the simulated world's `bars`) to its end,
    also from a thread whose event loop is running (the simulated daemon retrains inline): there
    it runs on a loop of its own in a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def simulated_bars(
    assets: tuple[str, ...], settings: SimulationSettings, progress: Progress | None = None
) -> dict[str, pd.DataFrame]:
    """`settings.bars` bars per asset, made by advancing a simulated clock through the world."""
    say = progress or (lambda _message: None)
    span = settings.bars * settings.timeframe_seconds
    clock = SimulatedClock(SIMULATION_START)
    # Retain the whole run (plus a day of slack), or the oldest bars would be dropped on the way.
    market = SimulatedMarket(
        clock,
        seed=settings.seed,
        day_seconds=settings.day_seconds,
        warmup_bars=0,
        retained_days=(span + 86_400) / settings.day_seconds,
    )
    instruments = {asset: _simulated_instrument(asset) for asset in assets}
    first = next(iter(instruments.values()))
    # Step in tenths and ask for a bar each time, so the path is generated (and reported) as it goes.
    for step in range(1, PROGRESS_STEPS + 1):
        clock.advance_to(SIMULATION_START + pd.Timedelta(seconds=span * step // PROGRESS_STEPS))
        _run_to_end(market.bars(first, settings.timeframe_seconds, 1))
        say(f"simulated world: {step * 100 // PROGRESS_STEPS}% of {settings.bars} bars generated")
    frames = {}
    for asset, instrument in instruments.items():
        series = _run_to_end(market.bars(instrument, settings.timeframe_seconds, settings.bars))
        if series is None or len(series) != settings.bars:
            got = 0 if series is None else len(series)
            raise BarDataError(f"{asset}: the simulated world served {got} bars, not {settings.bars}")
        index = pd.to_datetime(np.asarray(series.times, dtype=np.int64), unit="s", utc=True)
        frames[asset] = pd.DataFrame(
            {name: np.asarray(getattr(series, name), dtype=np.float64) for name in OHLCV_COLUMNS},
            index=pd.DatetimeIndex(index, name="time"),
        )
    return frames


def shipped_bars(asset: str) -> pd.DataFrame:
    """The packaged daily (or monthly) OHLCV of `asset`, columns renamed to lower case, index in UTC."""
    module_name, attribute = SHIPPED_DATASETS[asset]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise BarDataError(f"{asset}: its data ships with {module_name}, which is not installed") from None
    loaded = getattr(module, attribute)
    raw = loaded() if callable(loaded) else loaded
    if not isinstance(raw, pd.DataFrame):
        raise BarDataError(f"{asset}: {module_name}.{attribute} is not a DataFrame")
    by_lower = {str(column).lower(): column for column in raw.columns}
    missing = [name for name in OHLCV_COLUMNS if name not in by_lower]
    if missing:
        raise BarDataError(f"{asset}: {module_name} data lacks column(s) {', '.join(missing)}")
    # The unadjusted close, like the open, high and low it belongs with.
    frame = pd.DataFrame({name: raw[by_lower[name]].astype(np.float64) for name in OHLCV_COLUMNS})
    index = pd.DatetimeIndex(raw.index)
    frame.index = pd.DatetimeIndex(
        index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC"), name="time"
    )
    return frame


def _installed(module: str) -> bool:
    # backtesting.py is optional: its BTCUSD is offered only where the package is installed.
    return importlib.util.find_spec(module.split(".")[0]) is not None


def _simulated_instrument(asset: str) -> Instrument:
    symbol = SIMULATED_SYMBOLS[asset]
    return next(spec.instrument for spec in SIMULATED_SPECS if spec.instrument.symbol == symbol)
