"""What the HMM regime detector costs and how well it recovers known regimes.

Prints, for the simulated two-state series of the tests (bull +0.10 %/bar vol 0.5 %,
bear -0.15 %/bar vol 1.5 %, segments of 200-400 bars) over several seeds: fit time,
EM iterations, filtered-probability time for the whole series and per bar, and the
accuracy of the filtered regime against the truth, in sample and on a fresh path.
Then the S&P 500 check (arch.data.sp500): 2- and 3-state fits on the 2000 bars to
2007-12-31, filtered out of sample through 2009: share of bear bars in the crisis
(2008-09-01 to 2009-03-31) and in calm 2006.

    .venv/bin/python benchmarks/hmm_regimes.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domain.regimes import Regime
from filters.hmm_regimes import (
    RegimeFitError,
    advance_filter,
    current_regime,
    filtered_probabilities,
    fit_best_regime_model,
    fit_regime_model,
    regimes_from_probabilities,
)
from tests.filters.test_hmm_regimes import accuracy, two_state_closes

SEEDS = range(5)


def simulated() -> None:
    print("simulated two-state series (2 states, window = whole series)")
    header = ("seed", 4), ("bars", 5), ("fit s", 6), ("iters", 5), ("filter s", 8), ("us/bar", 6)
    print(" ".join(f"{name:>{width}}" for name, width in header), f"{'in-sample':>9} {'fresh':>6}")
    in_sample: list[float] = []
    fresh: list[float] = []
    for seed in SEEDS:
        closes, truth = two_state_closes(seed)
        started = time.perf_counter()
        model = fit_regime_model(closes, n_states=2, window=len(closes), seed=0)
        fitted = time.perf_counter()
        probabilities = filtered_probabilities(model, closes)
        filtered = time.perf_counter()
        in_sample.append(accuracy(regimes_from_probabilities(model, probabilities), truth))
        other, other_truth = two_state_closes(seed + 100)
        fresh.append(
            accuracy(regimes_from_probabilities(model, filtered_probabilities(model, other)), other_truth)
        )
        print(
            f"{seed:>4} {len(closes):>5} {fitted - started:>6.3f} {model.iterations:>5} "
            f"{filtered - fitted:>8.3f} {(filtered - fitted) / len(closes) * 1e6:>6.1f} "
            f"{in_sample[-1]:>9.3f} {fresh[-1]:>6.3f}"
        )
    print(
        f"accuracy: in sample median {statistics.median(in_sample):.3f} min {min(in_sample):.3f}; "
        f"fresh path median {statistics.median(fresh):.3f} min {min(fresh):.3f}"
    )
    closes, _ = two_state_closes(0)
    model = fit_regime_model(closes, n_states=2, window=len(closes), seed=0)
    tail = closes[-500:]
    started = time.perf_counter()
    for _ in range(20):
        current_regime(model, tail)
    print(f"current_regime on the last 500 bars: {(time.perf_counter() - started) / 20 * 1000:.1f} ms")


def sp500() -> None:
    from arch.data import sp500 as data

    closes = data.load()["Adj Close"]
    upto = closes[:"2009-12-31"]
    crisis = (upto.index >= "2008-09-01") & (upto.index <= "2009-03-31")
    calm = upto.index.year == 2006
    print("\nS&P 500, fitted on the 2000 bars to 2007-12-31, filtered out of sample through 2009")
    for n_states in (2, 3):
        started = time.perf_counter()
        model = fit_regime_model(closes[:"2007-12-31"].to_numpy(), n_states=n_states, window=2000, seed=0)
        fit_seconds = time.perf_counter() - started
        found = np.array(
            regimes_from_probabilities(model, filtered_probabilities(model, upto.to_numpy())), dtype=object
        )
        states = ", ".join(
            f"{regime.value} mean {mean * 100:+.3f}% vol {vol * 100:.2f}%"
            for regime, mean, vol in zip(
                model.state_regimes, model.state_mean_return, model.state_volatility, strict=True
            )
        )
        print(f"  {n_states} states: fit {fit_seconds:.2f} s in {model.iterations} iterations; {states}")
        print(
            f"    bear share: crisis {np.mean(found[crisis] == Regime.BEAR):.2f}, "
            f"2006 {np.mean(found[calm] == Regime.BEAR):.2f}"
        )


def daemon_costs() -> None:
    """What the daemon pays: a fit with its EM starts (in a worker), and one filter step per new bar."""
    closes, _ = two_state_closes(0)
    window = closes[:1000]
    print("\ndaemon costs (3 states, fit window 1000 bars)")
    for seed in range(4):
        started = time.perf_counter()
        try:
            fitted = fit_best_regime_model(window, seeds=(seed,), n_states=3, window=1000)
            outcome = f"converged in {fitted.iterations} iterations"
        except RegimeFitError:
            outcome = "did not converge (200 iterations)"
        print(f"  EM start {seed}: {time.perf_counter() - started:.3f} s, {outcome}")
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        fit_best_regime_model(window, seeds=(0, 1, 2, 3), n_states=3, window=1000)
        runs.append(time.perf_counter() - started)
    print(f"  a daemon fit (4 EM starts, best kept): median {statistics.median(runs):.3f} s")
    model = fit_best_regime_model(window, seeds=(0, 1, 2, 3), n_states=3, window=1000)
    log_alpha = advance_filter(model, None, window, len(window) - model.windows.warmup_bars)
    recent = closes[1000 - 141 : 1001]  # what a step fetches: warm-up + 1 + 120 catch-up bars
    steps = []
    for _ in range(200):
        started = time.perf_counter()
        advance_filter(model, log_alpha, recent, 1)
        steps.append(time.perf_counter() - started)
    print(
        f"  one filter step for a new bar: median {statistics.median(steps) * 1e6:.0f} us, "
        f"p99 {np.percentile(steps, 99) * 1e6:.0f} us"
    )


if __name__ == "__main__":
    simulated()
    sp500()
    daemon_costs()
