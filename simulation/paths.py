"""The price process: regime-switching geometric Brownian motion in one-second steps (pure).

One calibrated *day* of statistics unfolds over `day_seconds` steps: each step's
log return has mean `daily_mean / day_seconds` and vol `daily_vol / sqrt(day_seconds)`
in its regime, and the regime chain is the daily chain's `day_seconds`-th root,
so a simulated day has the daily mean, vol and switching odds of the data.

Paths are made in fixed-size chunks. A chunk depends only on the seed, its index
and the state the previous chunk ended in, never on when or how often anyone
asked, so the same seed always gives the same path.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from simulation.calibration import RegimeCalibration

CHUNK_SECONDS = 3600  # a multiple of 60, so chunks hold whole one-minute bars
# The random stream of an instrument's starting regime: far above any chunk index.
_INITIAL_REGIME_TAG = 2**40
_FACTOR_STREAM_BASE = 1000


@dataclass(frozen=True, slots=True)
class StepParameters:
    """Per-step log-return mean and vol, and the probability of leaving each regime, by regime."""

    means: tuple[float, float]
    vols: tuple[float, float]
    leave: tuple[float, float]


def step_parameters(calibration: RegimeCalibration, day_seconds: int) -> StepParameters:
    """Spread a day's statistics over `day_seconds` one-second steps.

    For a two-state chain with daily leave probabilities a and b, P^t has
    off-diagonals a(1 - l^t)/(a + b) with l = 1 - a - b, so the per-step chain
    uses t = 1/day_seconds. When l <= 0 (regimes that flip more often than they
    stay) no real root exists and the daily probability is divided evenly instead.
    """
    if day_seconds <= 0:
        raise ValueError(f"day_seconds must be positive, got {day_seconds}")
    a, b = calibration.transition[0][1], calibration.transition[1][0]
    persistence = 1.0 - a - b
    if a + b == 0:
        leave = (0.0, 0.0)
    elif persistence > 0:
        shrink = (1.0 - persistence ** (1.0 / day_seconds)) / (a + b)
        leave = (a * shrink, b * shrink)
    else:
        leave = (a / day_seconds, b / day_seconds)
    root = math.sqrt(day_seconds)
    return StepParameters(
        means=(calibration.daily_means[0] / day_seconds, calibration.daily_means[1] / day_seconds),
        vols=(calibration.daily_vols[0] / root, calibration.daily_vols[1] / root),
        leave=leave,
    )


@dataclass(frozen=True, slots=True)
class PathState:
    """Where every instrument's path stands between two steps: log price and regime."""

    log_prices: tuple[float, ...]
    regimes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class PathModel:
    """Everything that shapes the paths, one entry per instrument (same order everywhere)."""

    seed: int
    steps: tuple[StepParameters, ...]
    factor_loadings: tuple[float, ...]
    factor_of: tuple[int, ...]  # which common factor drives each instrument
    factor_count: int
    volume_per_minute: tuple[float, ...]

    def __post_init__(self) -> None:
        n = len(self.steps)
        if not (len(self.factor_loadings) == len(self.factor_of) == len(self.volume_per_minute) == n):
            raise ValueError("path model: every per-instrument tuple needs one entry per instrument")
        if any(not 0 <= f < self.factor_count for f in self.factor_of):
            raise ValueError("path model: factor index out of range")


@dataclass(frozen=True, slots=True)
class Chunk:
    """CHUNK_SECONDS steps of every instrument; row i is instrument i, column j is step j."""

    index: int
    log_prices: np.ndarray  # log mid at the end of each second
    regimes: np.ndarray  # regime of each step (int8)
    minute_volumes: np.ndarray  # traded quantity per one-minute bar
    end: PathState


def _generator(*entropy: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(list(entropy))))


def _seed_entropy(seed: int) -> int:
    return seed % 2**64  # SeedSequence takes non-negative integers only


def initial_state(model: PathModel, log_prices: Sequence[float]) -> PathState:
    """Each instrument starts at its given log price, in a regime drawn from the long-run odds."""
    regimes = []
    for i, step in enumerate(model.steps):
        a, b = step.leave
        calm_share = b / (a + b) if a + b > 0 else 1.0
        draw = _generator(_seed_entropy(model.seed), i, _INITIAL_REGIME_TAG).random()
        regimes.append(0 if draw < calm_share else 1)
    return PathState(tuple(float(p) for p in log_prices), tuple(regimes))


def _regime_path(rng: np.random.Generator, start: int, leave: tuple[float, float], n: int) -> np.ndarray:
    """Regimes of n steps after `start`, by drawing geometric spell lengths.

    One draw per regime switch instead of one per step; the geometric law is
    memoryless, so cutting a spell at a chunk boundary changes nothing.
    """
    out = np.empty(n, dtype=np.int8)
    position, state = 0, start
    while position < n:
        p = leave[state]
        # the d-th coming step is the first in the other regime
        d = int(rng.geometric(p)) if p > 0 else n + 1
        end = min(position + d - 1, n)
        out[position:end] = state
        position = end
        if position < n:
            state = 1 - state
            out[position] = state
            position += 1
    return out


def generate_chunk(model: PathModel, index: int, start: PathState) -> Chunk:
    """The `index`-th chunk of the path, continuing from `start` (vectorised with numpy)."""
    n_instruments = len(model.steps)
    seed = _seed_entropy(model.seed)
    factors = np.stack(
        [
            _generator(seed, _FACTOR_STREAM_BASE + f, index).standard_normal(CHUNK_SECONDS)
            for f in range(model.factor_count)
        ]
    )
    minutes = CHUNK_SECONDS // 60
    log_prices = np.empty((n_instruments, CHUNK_SECONDS))
    regimes = np.empty((n_instruments, CHUNK_SECONDS), dtype=np.int8)
    volumes = np.empty((n_instruments, minutes))
    for i, step in enumerate(model.steps):
        regime_rng, shock_rng, volume_rng = (
            np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence([seed, i, index]).spawn(3)
        )
        regime = _regime_path(regime_rng, start.regimes[i], step.leave, CHUNK_SECONDS)
        loading = model.factor_loadings[i]
        shocks = loading * factors[model.factor_of[i]] + math.sqrt(1.0 - loading * loading) * (
            shock_rng.standard_normal(CHUNK_SECONDS)
        )
        means, vols = np.asarray(step.means), np.asarray(step.vols)
        returns = means[regime] + vols[regime] * shocks
        path = start.log_prices[i] + np.cumsum(returns)
        log_prices[i] = path
        regimes[i] = regime
        # Volume rises with the size of the minute's move (relative to a calm minute) and
        # carries lognormal noise with mean one.
        previous = np.concatenate(([start.log_prices[i]], path[59:-1:60]))
        moves = np.abs(path[59::60] - previous) / (step.vols[0] * math.sqrt(60.0))
        noise = np.exp(0.3 * volume_rng.standard_normal(minutes) - 0.045)
        volumes[i] = model.volume_per_minute[i] * (0.5 + 0.5 * moves) * noise
    end = PathState(
        tuple(float(v) for v in log_prices[:, -1]),
        tuple(int(r) for r in regimes[:, -1]),
    )
    return Chunk(index, log_prices, regimes, volumes, end)
