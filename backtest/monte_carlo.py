"""Monte Carlo of a strategy's record: how lucky was the order of its trades, and how fragile its fills.

Three ways to draw alternative histories, all summarised the same way (`MonteCarloResult`):

- trade resampling: the closed trades' P&Ls (or returns) drawn with replacement into new sequences;
- block bootstrap of per-period returns (`arch.bootstrap`), which keeps short-range dependence
  (volatility clusters, autocorrelation) that drawing single periods would destroy;
- execution noise: the strategy's targets re-run through the vectorized engine with slippage and
  latency drawn per path (`execution_noise`).

Every draw comes from the caller's seeded `numpy.random.Generator`, so a run is reproducible. Equity
paths are laid out like the engine's: one row per step (the first row is the starting equity), one
column per path.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from arch.bootstrap import CircularBlockBootstrap, StationaryBootstrap, optimal_block_length
from scipy import stats
from tqdm import tqdm

from backtest.metrics import max_drawdown, sharpe
from backtest.vectorized import Costs, run_targets
from risk_management.tail_risk import finite_sample

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

DEFAULT_PERCENTILES: tuple[float, ...] = (5.0, 25.0, 50.0, 75.0, 95.0)
# Paths are drawn in chunks of this many so a progress bar can move; the chunking is fixed (not tied
# to `progress`) so that the same seed gives the same paths with or without the bar.
PATHS_PER_CHUNK = 1_000


@dataclass(frozen=True, slots=True)
class MonteCarloConfig:
    """What every Monte Carlo run shares: how many paths, from what equity, what counts as ruin.

    A path is ruined when its equity falls below `ruin_fraction` × `initial_equity` at any step.
    """

    n_paths: int = 1_000
    initial_equity: float = 10_000.0
    ruin_fraction: float = 0.5
    percentiles: tuple[float, ...] = DEFAULT_PERCENTILES
    progress: bool = False

    def __post_init__(self) -> None:
        if self.n_paths < 1:
            raise ValueError(f"n_paths must be at least 1, got {self.n_paths}")
        if not (math.isfinite(self.initial_equity) and self.initial_equity > 0):
            raise ValueError(f"initial_equity must be positive, got {self.initial_equity}")
        if not 0.0 < self.ruin_fraction <= 1.0:
            raise ValueError(f"ruin_fraction must be in (0, 1], got {self.ruin_fraction}")
        _check_percentiles(self.percentiles)


@dataclass(frozen=True, slots=True, eq=False)
class MonteCarloResult:
    """The distribution of outcomes over the paths, and per-step equity bands for a report to plot.

    `final_equity_percentiles[i]`, `max_drawdown_percentiles[i]` and `equity_bands[i]` belong to
    `percentiles[i]`. Max drawdown is a positive fraction of the running peak (0.2 = 20 % down).
    `ruin_probability_interval` is the 95 % Wilson interval of the ruin frequency over the paths.
    """

    percentiles: tuple[float, ...]
    initial_equity: float
    ruin_fraction: float
    final_equity: FloatArray  # (n_paths,)
    max_drawdown: FloatArray  # (n_paths,)
    ruined: BoolArray  # (n_paths,)
    final_equity_percentiles: FloatArray  # (n_percentiles,)
    max_drawdown_percentiles: FloatArray  # (n_percentiles,)
    equity_bands: FloatArray  # (n_percentiles, n_steps + 1)
    ruin_probability: float
    ruin_probability_interval: tuple[float, float]

    def __post_init__(self) -> None:
        _check_percentiles(self.percentiles)
        n_paths = self.final_equity.shape[0]
        n_levels = len(self.percentiles)
        if self.max_drawdown.shape != (n_paths,) or self.ruined.shape != (n_paths,):
            raise ValueError("final_equity, max_drawdown and ruined must have one value per path")
        percentile_shapes = {self.final_equity_percentiles.shape, self.max_drawdown_percentiles.shape}
        if percentile_shapes != {(n_levels,)}:
            raise ValueError("need one final-equity and one drawdown percentile per percentile level")
        if self.equity_bands.ndim != 2 or self.equity_bands.shape[0] != n_levels:
            raise ValueError("equity_bands must have one row per percentile level")
        if not 0.0 <= self.ruin_probability <= 1.0:
            raise ValueError(f"ruin_probability must be in [0, 1], got {self.ruin_probability}")

    @property
    def n_paths(self) -> int:
        return int(self.final_equity.shape[0])

    def final_equity_at(self, percentile: float) -> float:
        return float(self.final_equity_percentiles[self._level_index(percentile)])

    def max_drawdown_at(self, percentile: float) -> float:
        return float(self.max_drawdown_percentiles[self._level_index(percentile)])

    def band(self, percentile: float) -> FloatArray:
        """The equity path's `percentile` at every step (not the path of any one draw)."""
        band: FloatArray = self.equity_bands[self._level_index(percentile)]
        return band

    def _level_index(self, percentile: float) -> int:
        try:
            return self.percentiles.index(percentile)
        except ValueError:
            raise ValueError(f"percentile {percentile} was not computed; have {self.percentiles}") from None


class BlockMethod(StrEnum):
    """`arch.bootstrap` block schemes: random (geometric) block lengths, or fixed ones wrapped round."""

    STATIONARY = "stationary"
    CIRCULAR = "circular"


# --- summarising paths ------------------------------------------------------------------------------------


def summarize_paths(equity_paths: npt.ArrayLike, config: MonteCarloConfig) -> MonteCarloResult:
    """Final equity, max drawdown, ruin and bands of `equity_paths` (n_steps + 1, n_paths).

    Row 0 is the starting equity of every path; `config.initial_equity` is the ruin reference.
    """
    paths = np.asarray(equity_paths, dtype=np.float64)
    if paths.ndim != 2 or paths.shape[0] < 1 or paths.shape[1] < 1:
        raise ValueError(f"equity_paths must be (n_steps + 1, n_paths) and non-empty, got {paths.shape}")
    if not np.all(np.isfinite(paths)):
        raise ValueError("equity_paths must be finite")
    levels = np.asarray(config.percentiles, dtype=np.float64)
    final = paths[-1].copy()
    drawdown = np.asarray(max_drawdown(paths), dtype=np.float64).reshape(paths.shape[1])
    ruined = np.any(paths < config.ruin_fraction * config.initial_equity, axis=0)
    ruin_count = int(ruined.sum())
    interval = stats.binomtest(ruin_count, ruined.size).proportion_ci(0.95, method="wilson")
    return MonteCarloResult(
        percentiles=config.percentiles,
        initial_equity=config.initial_equity,
        ruin_fraction=config.ruin_fraction,
        final_equity=final,
        max_drawdown=drawdown,
        ruined=ruined,
        final_equity_percentiles=np.percentile(final, levels),
        max_drawdown_percentiles=np.percentile(drawdown, levels),
        equity_bands=np.percentile(paths, levels, axis=1),
        ruin_probability=ruin_count / ruined.size,
        ruin_probability_interval=(float(interval.low), float(interval.high)),
    )


# --- trade resampling -------------------------------------------------------------------------------------


def resample_trade_pnls(
    trade_pnls: npt.ArrayLike,
    config: MonteCarloConfig,
    rng: np.random.Generator,
    *,
    trades_per_path: int | None = None,
) -> MonteCarloResult:
    """Draw the trades' P&Ls (currency, net of fees) with replacement into `config.n_paths` sequences.

    Each path adds its P&Ls to the starting equity: equity_k = initial + Σ_{j≤k} pnl_j. A path holds
    as many trades as the record unless `trades_per_path` says otherwise (e.g. a year's worth).
    """
    pnls = finite_sample("trade_pnls", trade_pnls)
    steps = _draw_with_replacement(pnls, trades_per_path or pnls.size, config, rng)
    paths = config.initial_equity + _cumulate(steps, np.add)
    return summarize_paths(paths, config)


def resample_trade_returns(
    trade_returns: npt.ArrayLike,
    config: MonteCarloConfig,
    rng: np.random.Generator,
    *,
    trades_per_path: int | None = None,
) -> MonteCarloResult:
    """Like `resample_trade_pnls` for trades given as returns on equity: equity_k = initial × Π (1 + r_j)."""
    returns = _returns("trade_returns", trade_returns)
    steps = _draw_with_replacement(returns, trades_per_path or returns.size, config, rng)
    paths = config.initial_equity * _cumulate(1.0 + steps, np.multiply, start=1.0)
    return summarize_paths(paths, config)


def _draw_with_replacement(
    values: FloatArray, steps_per_path: int, config: MonteCarloConfig, rng: np.random.Generator
) -> FloatArray:
    if steps_per_path < 1:
        raise ValueError(f"trades_per_path must be at least 1, got {steps_per_path}")
    columns = [
        values[rng.integers(0, values.size, size=(steps_per_path, width))]
        for width in _chunk_widths(config, "resampling trades")
    ]
    return np.concatenate(columns, axis=1)


# --- block bootstrap of period returns --------------------------------------------------------------------


def default_block_length(returns: npt.ArrayLike, method: BlockMethod = BlockMethod.STATIONARY) -> int:
    """Politis–White (2004, with Patton–Politis–White 2009's correction) optimal block length, rounded up.

    From `arch.bootstrap.optimal_block_length`; at least 1 (serially independent returns give ~1).
    """
    sample = _returns("returns", returns)
    table = optimal_block_length(sample)
    length = float(table[method.value].iloc[0])
    return max(1, math.ceil(length)) if math.isfinite(length) else 1


def bootstrap_return_paths(
    returns: npt.ArrayLike,
    n_paths: int,
    rng: np.random.Generator,
    *,
    block_length: int | None = None,
    method: BlockMethod = BlockMethod.STATIONARY,
    progress: bool = False,
) -> FloatArray:
    """Block-bootstrapped return series, (n_periods, n_paths), each as long as `returns`.

    `block_length` is the (mean, for the stationary scheme) block length in periods; by default the
    optimal one for `returns` (`default_block_length`).
    """
    sample = _returns("returns", returns)
    if n_paths < 1:
        raise ValueError(f"n_paths must be at least 1, got {n_paths}")
    length = default_block_length(sample, method) if block_length is None else block_length
    if length < 1:
        raise ValueError(f"block_length must be at least 1, got {length}")
    scheme = StationaryBootstrap if method is BlockMethod.STATIONARY else CircularBlockBootstrap
    bootstrap = scheme(length, sample, seed=rng)
    paths = np.empty((sample.size, n_paths), dtype=np.float64)
    for path in tqdm(range(n_paths), disable=not progress, desc="bootstrapping returns", unit="path"):
        paths[:, path] = sample[bootstrap.update_indices()]
    return paths


def bootstrap_returns(
    returns: npt.ArrayLike,
    config: MonteCarloConfig,
    rng: np.random.Generator,
    *,
    block_length: int | None = None,
    method: BlockMethod = BlockMethod.STATIONARY,
) -> MonteCarloResult:
    """Equity outcomes of `config.n_paths` block-bootstrapped histories of per-period `returns`."""
    resampled = bootstrap_return_paths(
        returns,
        config.n_paths,
        rng,
        block_length=block_length,
        method=method,
        progress=config.progress,
    )
    paths = config.initial_equity * _cumulate(1.0 + resampled, np.multiply, start=1.0)
    return summarize_paths(paths, config)


# --- execution noise -------------------------------------------------------------------------------------


class SlippageShape(StrEnum):
    HALF_NORMAL = "half_normal"
    LOGNORMAL = "lognormal"


@dataclass(frozen=True, slots=True)
class SlippageDistribution:
    """Extra slippage per fill, in basis points of the price, always adverse.

    Both shapes are set by their mean: a half-normal's scale is mean × √(π/2) (its mean is
    scale × √(2/π)); a lognormal with log-deviation σ has μ = ln(mean) − σ²/2 (its mean is e^(μ+σ²/2)).
    A mean of zero draws no slippage at all.
    """

    mean_bps: float
    shape: SlippageShape = SlippageShape.HALF_NORMAL
    lognormal_sigma: float = 0.5

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mean_bps) and self.mean_bps >= 0):
            raise ValueError(f"mean_bps must be a non-negative number of basis points, got {self.mean_bps}")
        if not (math.isfinite(self.lognormal_sigma) and self.lognormal_sigma > 0):
            raise ValueError(f"lognormal_sigma must be positive, got {self.lognormal_sigma}")

    def draw(self, rng: np.random.Generator, size: tuple[int, ...]) -> FloatArray:
        """Slippage rates (fractions of the price, 1 bp = 0.0001) of the given shape."""
        mean = self.mean_bps / 10_000.0
        if mean == 0.0:
            return np.zeros(size, dtype=np.float64)
        if self.shape is SlippageShape.HALF_NORMAL:
            distribution = stats.halfnorm(scale=mean * math.sqrt(math.pi / 2.0))
        else:
            sigma = self.lognormal_sigma
            distribution = stats.lognorm(s=sigma, scale=math.exp(math.log(mean) - sigma**2 / 2.0))
        return np.asarray(distribution.rvs(size=size, random_state=rng), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class LatencyDistribution:
    """Extra delay of every fill, in whole bars, drawn once per path: `delays[i]` with `probabilities[i]`."""

    delays: tuple[int, ...] = (0,)
    probabilities: tuple[float, ...] = (1.0,)

    def __post_init__(self) -> None:
        if not self.delays or len(self.delays) != len(self.probabilities):
            raise ValueError("latency needs one probability per delay, and at least one delay")
        if any(delay < 0 for delay in self.delays) or len(set(self.delays)) != len(self.delays):
            raise ValueError(f"delays must be distinct whole bars >= 0, got {self.delays}")
        if any(not 0.0 <= p <= 1.0 for p in self.probabilities) or not math.isclose(
            math.fsum(self.probabilities), 1.0, abs_tol=1e-9
        ):
            raise ValueError(f"probabilities must lie in [0, 1] and add up to 1, got {self.probabilities}")

    def draw(self, rng: np.random.Generator, size: int) -> IntArray:
        weights = np.asarray(self.probabilities, dtype=np.float64)
        return rng.choice(np.asarray(self.delays, dtype=np.int64), size=size, p=weights / weights.sum())


@dataclass(frozen=True, slots=True, eq=False)
class ExecutionNoiseResult:
    """The strategy's outcomes with noisy fills, path by path, next to its noiseless run.

    Path i ran with `latency_bars[i]` bars of extra delay and its own slippage draws.
    """

    baseline_final_equity: float
    baseline_sharpe: float
    final_equity: FloatArray  # (n_paths,)
    sharpe: FloatArray  # (n_paths,)
    latency_bars: IntArray  # (n_paths,)
    distribution: MonteCarloResult

    def __post_init__(self) -> None:
        n_paths = self.final_equity.shape[0]
        if self.sharpe.shape != (n_paths,) or self.latency_bars.shape != (n_paths,):
            raise ValueError("final_equity, sharpe and latency_bars must have one value per path")

    @property
    def sharpe_percentiles(self) -> FloatArray:
        """Sharpe ratio at `distribution.percentiles` (NaN Sharpes, of runs that never moved, left out)."""
        levels = np.asarray(self.distribution.percentiles, dtype=np.float64)
        finite = self.sharpe[np.isfinite(self.sharpe)]
        if finite.size == 0:
            return np.full(levels.size, np.nan)
        return np.percentile(finite, levels)


def execution_noise(
    open_: npt.ArrayLike,
    close: npt.ArrayLike,
    targets: npt.ArrayLike,
    slippage: SlippageDistribution,
    latency: LatencyDistribution,
    config: MonteCarloConfig,
    rng: np.random.Generator,
    *,
    costs: Costs | None = None,
    periods_per_year: float = 252.0,
) -> ExecutionNoiseResult:
    """Re-run one strategy's `targets` (n_bars,) with noisy fills, `config.n_paths` times.

    Each path gets a latency drawn from `latency` and, for every bar, a slippage rate of
    `costs.slippage_rate` (default `Costs()`) plus a draw from `slippage` (only the bars where it
    trades use theirs).
    Paths sharing a latency run as the columns of one `run_targets` call. The noiseless run is the
    same targets with `costs` as given and no extra delay; `config.initial_equity` is the starting cash.
    """
    opens = np.asarray(open_, dtype=np.float64)
    closes = np.asarray(close, dtype=np.float64)
    wanted = np.asarray(targets, dtype=np.float64)
    if wanted.ndim == 2 and wanted.shape[1] == 1:
        wanted = wanted[:, 0]
    if wanted.ndim != 1 or wanted.shape != closes.shape:
        raise ValueError(
            f"targets must be one strategy's (n_bars,) column, got {wanted.shape}, bars {closes.shape}"
        )
    costs = costs or Costs()
    cash = config.initial_equity
    baseline = run_targets(opens, closes, wanted, costs=costs, initial_cash=cash)

    delays = latency.draw(rng, config.n_paths)
    slippage_rates = costs.slippage_rate + slippage.draw(rng, (closes.size, config.n_paths))
    equity = np.empty((closes.size + 1, config.n_paths), dtype=np.float64)
    equity[0] = cash
    groups = np.unique(delays)
    for delay in tqdm(groups, disable=not config.progress, desc="execution noise", unit="latency"):
        columns = np.flatnonzero(delays == delay)
        run = run_targets(
            opens,
            closes,
            np.repeat(wanted[:, np.newaxis], columns.size, axis=1),
            costs=costs,
            slippage=slippage_rates[:, columns],
            initial_cash=cash,
            delay_bars=int(delay),
        )
        equity[1:, columns] = run.equity

    baseline_path = np.concatenate(([cash], baseline.equity[:, 0]))
    # One call for the baseline and the paths, so that equal equity gives bit-equal Sharpe ratios.
    sharpes = np.asarray(
        sharpe(_period_returns(np.column_stack((baseline_path, equity))), periods_per_year), dtype=np.float64
    )
    return ExecutionNoiseResult(
        baseline_final_equity=float(baseline_path[-1]),
        baseline_sharpe=float(sharpes[0]),
        final_equity=equity[-1].copy(),
        sharpe=sharpes[1:],
        latency_bars=delays,
        distribution=summarize_paths(equity, config),
    )


def _period_returns(equity: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore"):
        result: FloatArray = equity[1:] / equity[:-1] - 1.0
    return result


# --- helpers ----------------------------------------------------------------------------------------------


def _chunk_widths(config: MonteCarloConfig, description: str) -> Iterator[int]:
    with tqdm(total=config.n_paths, disable=not config.progress, desc=description, unit="path") as bar:
        for start in range(0, config.n_paths, PATHS_PER_CHUNK):
            width = min(PATHS_PER_CHUNK, config.n_paths - start)
            yield width
            bar.update(width)


def _cumulate(steps: FloatArray, accumulate: np.ufunc, start: float = 0.0) -> FloatArray:
    """Running sum/product down the rows, with a first row of `start` (the step before any trade)."""
    first = np.full((1, steps.shape[1]), start, dtype=np.float64)
    return np.vstack([first, accumulate.accumulate(steps, axis=0)])


def _returns(name: str, values: npt.ArrayLike) -> FloatArray:
    sample = finite_sample(name, values)
    if np.any(sample <= -1.0):
        raise ValueError(f"{name}: a return of -100 % or worse leaves nothing to compound ({sample.min()})")
    return sample


def _check_percentiles(percentiles: tuple[float, ...]) -> None:
    if not percentiles:
        raise ValueError("percentiles must not be empty")
    if any(not 0.0 <= level <= 100.0 for level in percentiles):
        raise ValueError(f"percentiles must lie in [0, 100], got {percentiles}")
    if any(b <= a for a, b in itertools.pairwise(percentiles)):
        raise ValueError(f"percentiles must be strictly increasing, got {percentiles}")
