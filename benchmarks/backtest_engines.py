"""The engine race: our vectorized engine against vectorbt, backtesting.py and backtrader.

Every engine runs the same strategy on the same bars: an SMA 10/50 crossover, long-only,
all-in (long while SMA(10) > SMA(50) at a bar's close, flat otherwise), fee 0.1 % per
side, filled at the next bar's open. The bars are 1-minute bars
of a seeded geometric random walk (0.1 % per bar), each open at the previous close.
Starting cash is 1e16 (see CASH for why) and final equity is printed as a multiple of it.

Each engine's time is the median of N timed runs (5, or 3 from 1M bars) after one
untimed warm-up run, so vectorbt's numba compilation is NOT counted. A timed run covers
everything from price arrays to the final equity and trade count: indicators, signals,
the simulation. backtrader is skipped at a size once a single run of it took over 120 s.

Then a 100-set sweep (fast 5..50 x slow 60..240, 10 x 10) in one call of ours against
vectorbt's broadcast of the same signals over 100 columns.

    pip install -e .[bench]
    python benchmarks/backtest_engines.py                  # 10k, 100k and 1M bars
    python benchmarks/backtest_engines.py --sizes 10000 100000 --sweep-bars 100000
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import talib
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backtest.vectorized import Costs, run_targets, sma_crossover_targets, sweep_sma_crossover

FAST, SLOW = 10, 50
FEE = 0.001
# Starting cash. SMA 10/50 on 1-minute bars pays 0.2 % a round trip some 13 000 times over 1M bars,
# so equity ends near 2e-12 of where it began. From 10 000, the peers stop trading once equity is
# dust (vectorbt's order-size tolerances, backtesting.py's whole units) while ours trades on, and
# the engines part ways for reasons that have nothing to do with the rule. Equity is shown as a
# multiple of this cash.
CASH = 1e16
SEED = 20_240_301
SLOW_PEER_LIMIT_S = 120.0
SWEEP_FAST = list(range(5, 55, 5))
SWEEP_SLOW = list(range(60, 260, 20))
# The agreement we expect: every engine applies the same rule, but sizes its all-in buy its own
# way (see `explain`), so equity drifts apart by a few parts per million per round trip.
EQUITY_TOLERANCE_PER_TRADE = 1e-5


@dataclass(frozen=True, slots=True)
class Outcome:
    final_equity: float
    trades: int  # round trips, the one still open at the end included


@dataclass(frozen=True, slots=True)
class Timing:
    engine: str
    bars: int
    median_s: float | None  # None: skipped
    outcome: Outcome | None
    note: str = ""


def random_walk_bars(n: int, seed: int = SEED) -> pd.DataFrame:
    """1-minute OHLCV of a geometric random walk; open = previous close (a market that never shuts)."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.001, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    wick = np.abs(rng.normal(0.0, 0.0005, (2, n)))
    index = pd.date_range("2024-01-01", periods=n, freq="1min", tz="UTC", name="time")
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * (1 + wick[0]),
            "low": np.minimum(open_, close) * (1 - wick[1]),
            "close": close,
            "volume": rng.uniform(1.0, 10.0, n),
        },
        index=index,
    )


# ------------------------------------------------------------------------------------- the engines
def ours(bars: pd.DataFrame, like_backtesting_py: bool = False) -> Outcome:
    """`like_backtesting_py`: ignore the signals before bar SLOW, as its warm-up does, and sell a
    position still open at the last close, fee paid, as its finalize_trades does."""
    open_, close = bars["open"].to_numpy(), bars["close"].to_numpy()
    targets = sma_crossover_targets(close, [FAST], [SLOW])
    if like_backtesting_py:
        targets[:SLOW] = 0.0
    result = run_targets(open_, close, targets, costs=Costs(fee_rate=FEE), initial_cash=CASH)
    held = float(result.units[-1, 0])
    final = float(result.final_equity[0])
    if like_backtesting_py:
        final -= abs(held) * close[-1] * FEE
    return Outcome(final, len(result.trades[0]) + int(held != 0))


def vectorbt_engine(bars: pd.DataFrame) -> Outcome:
    import vectorbt as vbt

    close = bars["close"]
    fast = vbt.MA.run(close, FAST).ma
    slow = vbt.MA.run(close, SLOW).ma
    long = (fast > slow).to_numpy()
    # Decided at bar i's close, filled at bar i + 1's open: shift the signals one bar, trade at the open.
    entries = np.concatenate(([False], long[:-1]))
    portfolio = vbt.Portfolio.from_signals(
        close, entries, ~entries, price=bars["open"], fees=FEE, init_cash=CASH, freq="1min"
    )
    return Outcome(float(portfolio.final_value()), int(portfolio.trades.count()))


def backtesting_py_engine(bars: pd.DataFrame) -> Outcome:
    from backtesting import Backtest, Strategy

    class SmaCross(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            self.fast = self.I(talib.SMA, self.data.Close, FAST)
            self.slow = self.I(talib.SMA, self.data.Close, SLOW)

        def next(self) -> None:
            if self.fast[-1] > self.slow[-1]:
                if not self.position:
                    self.buy()
            elif self.position:
                self.position.close()

    data = bars.rename(columns=str.capitalize)
    data.index = data.index.tz_localize(None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Whole units, which at this cash are some 1e14 of them: the rounding is below 1e-14.
        backtest = Backtest(
            data, SmaCross, cash=CASH, commission=FEE, trade_on_close=False, finalize_trades=True
        )
        stats = backtest.run()
    return Outcome(float(stats["Equity Final [$]"]), int(stats["# Trades"]))


def backtrader_engine(bars: pd.DataFrame) -> Outcome:
    import backtrader as bt

    class SmaCross(bt.Strategy):  # type: ignore[misc]
        def __init__(self) -> None:
            self.fast = bt.indicators.SMA(self.data.close, period=FAST)
            self.slow = bt.indicators.SMA(self.data.close, period=SLOW)
            self.entries = 0

        def next(self) -> None:
            if self.fast[0] > self.slow[0]:
                if not self.position:
                    # All-in at the next open, which is this close: cash / (price * (1 + fee)),
                    # a hair under so the broker's cash check never fails on a rounding.
                    size = self.broker.getcash() / (self.data.close[0] * (1 + FEE)) * (1 - 1e-12)
                    self.buy(size=size)
                    self.entries += 1
            elif self.position:
                self.close()

    cerebro = bt.Cerebro(stdstats=False, cheat_on_open=False)
    cerebro.broker.setcash(CASH)
    cerebro.broker.setcommission(commission=FEE)
    cerebro.adddata(bt.feeds.PandasData(dataname=bars.tz_localize(None)))
    cerebro.addstrategy(SmaCross)
    strategy = cerebro.run()[0]
    return Outcome(float(cerebro.broker.getvalue()), int(strategy.entries))


ENGINES: dict[str, Callable[[pd.DataFrame], Outcome]] = {
    "ours (numpy)": ours,
    "vectorbt": vectorbt_engine,
    "backtesting.py": backtesting_py_engine,
    "backtrader": backtrader_engine,
}


# ------------------------------------------------------------------------------------- the race
def time_engine(
    name: str, engine: Callable[[pd.DataFrame], Outcome], bars: pd.DataFrame, runs: int
) -> Timing:
    started = time.perf_counter()
    outcome = engine(bars)  # warm-up (numba compiles vectorbt's kernels here), not counted
    warm_up = time.perf_counter() - started
    if warm_up > SLOW_PEER_LIMIT_S:
        return Timing(name, len(bars), None, outcome, f"skipped (>{SLOW_PEER_LIMIT_S:.0f} s)")
    if warm_up * runs > 4 * SLOW_PEER_LIMIT_S:
        runs = 1  # one timed run is all a very slow engine gets
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        engine(bars)
        seconds.append(time.perf_counter() - started)
    return Timing(name, len(bars), statistics.median(seconds), outcome, f"median of {runs}")


def race(sizes: list[int], skip: set[str]) -> list[Timing]:
    timings = []
    too_slow: set[str] = set()
    with tqdm(total=len(sizes) * len(ENGINES), desc="engines", unit="run") as progress:
        for size in sizes:
            bars = random_walk_bars(size)
            runs = 5 if size < 1_000_000 else 3
            for name, engine in ENGINES.items():
                progress.set_postfix_str(f"{name} @ {size:,}")
                if name in skip:
                    timings.append(Timing(name, size, None, None, "not run (--skip)"))
                elif name in too_slow:
                    note = f"skipped (>{SLOW_PEER_LIMIT_S:.0f} s: a tenth of these bars took over a tenth)"
                    timings.append(Timing(name, size, None, None, note))
                else:
                    timing = time_engine(name, engine, bars, runs)
                    timings.append(timing)
                    if timing.median_s is None or timing.median_s > SLOW_PEER_LIMIT_S / 10:
                        too_slow.add(name)  # ten times the bars would be past the limit
                progress.update()
    return timings


def print_table(timings: list[Timing]) -> None:
    print()
    header = f"{'engine':<15} {'bars':>9} {'median s':>10} {'bars/s':>13} {'x fastest':>9} "
    print(header + f"{'final / cash':>14} {'trades':>7}  note")
    for size in sorted({t.bars for t in timings}):
        rows = [t for t in timings if t.bars == size]
        fastest = min(t.median_s for t in rows if t.median_s is not None)
        for t in rows:
            if t.median_s is None:
                print(
                    f"{t.engine:<15} {t.bars:>9,} {'-':>10} {'-':>13} {'-':>9} {'-':>14} {'-':>7}  {t.note}"
                )
                continue
            assert t.outcome is not None
            print(
                f"{t.engine:<15} {t.bars:>9,} {t.median_s:>10.4f} {t.bars / t.median_s:>13,.0f} "
                f"{t.median_s / fastest:>9.1f} {t.outcome.final_equity / CASH:>14.6g} {t.outcome.trades:>7}  "
                f"{t.note}"
            )
        print()


def print_agreement(timings: list[Timing]) -> None:
    print("agreement with ours (relative final-equity difference; trade-count difference):")
    for size in sorted({t.bars for t in timings}):
        reference = next(t.outcome for t in timings if t.bars == size and t.engine == "ours (numpy)")
        assert reference is not None
        tolerance = EQUITY_TOLERANCE_PER_TRADE * reference.trades
        for t in timings:
            if t.bars != size or t.outcome is None or t.engine == "ours (numpy)":
                continue
            compared = reference
            if t.engine == "backtesting.py":
                compared = ours(random_walk_bars(size), like_backtesting_py=True)
            relative = t.outcome.final_equity / compared.final_equity - 1
            verdict = (
                "ok" if abs(relative) <= tolerance and t.outcome.trades == compared.trades else "DIFFERS"
            )
            print(
                f"  {t.engine:<15} {size:>9,} bars: equity {relative:+.3e} (tolerance {tolerance:.1e}), "
                f"trades {t.outcome.trades - compared.trades:+d}  {verdict}"
            )
    print(
        "  why they can differ: ours and vectorbt spend cash / (1 + fee) on an all-in buy, backtrader sizes\n"
        "  from the close (= the next open here) with a 1e-12 margin, backtesting.py in whole units;\n"
        "  the peers keep cash in absolute terms, so after equity falls a millionfold their figures carry\n"
        "  rounding of the order of 1e-16 x the starting cash, a visible share of what is left.\n"
        "  backtesting.py first calls next() one bar after the slowest indicator's warm-up (bar 50, not\n"
        "  49), so a signal already long at bar 49 enters a bar late there, and with finalize_trades it\n"
        "  sells a position still open at the last close, paying the exit fee the others do not: it is\n"
        "  compared with ours ignoring the signals before bar 50 and paying that fee."
    )


def sweep(bars_count: int) -> None:
    import vectorbt as vbt

    bars = random_walk_bars(bars_count)
    open_, close = bars["open"].to_numpy(), bars["close"].to_numpy()
    pairs = [(f, s) for f in SWEEP_FAST for s in SWEEP_SLOW]

    def run_ours() -> np.ndarray:
        _, result = sweep_sma_crossover(
            open_, close, SWEEP_FAST, SWEEP_SLOW, Costs(fee_rate=FEE), initial_cash=CASH
        )
        return result.final_equity

    def run_vectorbt() -> np.ndarray:
        series = bars["close"]
        fast = vbt.MA.run(series, [f for f, _ in pairs]).ma.to_numpy()
        slow = vbt.MA.run(series, [s for _, s in pairs]).ma.to_numpy()
        long = fast > slow
        entries = np.vstack((np.zeros((1, len(pairs)), dtype=bool), long[:-1]))
        portfolio = vbt.Portfolio.from_signals(
            series, entries, ~entries, price=bars["open"], fees=FEE, init_cash=CASH, freq="1min"
        )
        return np.asarray(portfolio.final_value())

    print(
        f"sweep: {len(pairs)} parameter sets (fast {SWEEP_FAST[0]}..{SWEEP_FAST[-1]} x slow "
        f"{SWEEP_SLOW[0]}..{SWEEP_SLOW[-1]}) on {bars_count:,} bars, one call each, "
        "median of 3 after a warm-up"
    )
    results = {}
    for name, run in tqdm(
        [("ours (numpy)", run_ours), ("vectorbt", run_vectorbt)], desc="sweep", unit="engine"
    ):
        finals = run()
        timed = []
        for _ in range(3):
            started = time.perf_counter()
            run()
            timed.append(time.perf_counter() - started)
        results[name] = (statistics.median(timed), finals)
    fastest = min(s for s, _ in results.values())
    for name, (median_s, _) in results.items():
        rate = bars_count * len(pairs) / median_s
        print(f"  {name:<13} {median_s:8.3f} s  {rate:>14,.0f} bar-sets/s  x{median_s / fastest:.1f}")
    ratio = results["vectorbt"][1] / results["ours (numpy)"][1] - 1
    print(f"  final equity, vectorbt vs ours: largest relative difference {np.max(np.abs(ratio)):.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--sweep-bars", type=int, default=100_000, help="bars for the sweep; 0 skips it")
    parser.add_argument("--skip", nargs="*", default=[], choices=list(ENGINES), help="engines not to run")
    arguments = parser.parse_args()
    timings = race(arguments.sizes, set(arguments.skip))
    print_table(timings)
    print_agreement(timings)
    if arguments.sweep_bars:
        print()
        sweep(arguments.sweep_bars)
    if any(t.outcome is not None and not math.isfinite(t.outcome.final_equity) for t in timings):
        raise SystemExit("an engine returned a non-finite final equity")


if __name__ == "__main__":
    main()
