"""The backtest command line, called as a function on a tiny hand-checkable bar file and on shipped data."""

from __future__ import annotations

import io
import itertools
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtest.cli import infer_periods_per_year, main
from backtest.rule_targets import rule_targets
from backtest.vectorized import run_targets
from config.loader import DEFAULT_CONFIG
from domain.market import BarSeries

# Ten daily bars. SMA(2) > SMA(3) from bar 3's close (10.5 > 10.33) to bar 6's (12.5 > 12.33); at
# bar 7's close 11.5 < 12. So SMA 2/3 buys at bar 4's open (11) and sells at bar 8's open (12).
OPENS = [10, 10, 10, 10, 11, 12, 13, 12, 12, 10]
CLOSES = [10, 10, 10, 11, 12, 13, 12, 11, 10, 10]
# With a 0.1 % fee a side and all cash in: 10,000 x 12 x 0.999 / (11 x 1.001) = 10,887.29.
FINAL_EQUITY = "10887.29"


def _write_bars(path: Path, times: list[str] | None = None) -> Path:
    stamps = times or [f"2024-01-{day:02d}T00:00:00Z" for day in range(1, 11)]
    frame = pd.DataFrame(
        {
            "time": stamps,
            "open": OPENS,
            "high": [max(o, c) for o, c in zip(OPENS, CLOSES, strict=True)],
            "low": [min(o, c) for o, c in zip(OPENS, CLOSES, strict=True)],
            "close": CLOSES,
            "volume": [1.0] * 10,
        }
    )
    frame.to_csv(path, index=False)
    return path


def _call(*args: str) -> tuple[int, str, str]:
    """The command with `--quiet`, and without slippage unless a test sets it: the hand-worked
    numbers below are simpler without (the default is 1 bp a side, see the last test)."""
    out, err = io.StringIO(), io.StringIO()
    free = [] if "--slippage" in args else ["--slippage", "0"]
    code = main([*args, *free, "--quiet"], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def bars(tmp_path: Path) -> Path:
    return _write_bars(tmp_path / "bars.csv")


def test_run_prints_the_hand_worked_trade_and_writes_the_report(bars: Path, tmp_path: Path) -> None:
    report = tmp_path / "run.html"
    code, out, err = _call("run", "--bars", str(bars), "--fast", "2", "--slow", "3", "--report", str(report))
    assert code == 0, err
    assert re.search(rf"Final equity\s+{FINAL_EQUITY}", out)
    assert re.search(r"Total return\s+8\.87%", out)  # 10,887.29 / 10,000 - 1
    assert re.search(r"Trades\s+1\b", out)
    assert f"report: {report}" in out
    page = report.read_text(encoding="utf-8")
    # Entry at bar 4 (Jan 5) for 11 x 1.0 (no slippage), exit at bar 8 (Jan 9) for 12;
    # units 10,000 / (11 x 1.001) = 908.182726; P&L 887.29.
    trade = "".join(
        f"<td>{cell}</td>"
        for cell in (
            "2024-01-05 00:00:00+00:00",
            "2024-01-09 00:00:00+00:00",
            "11.0000",
            "12.0000",
            "908.182726",
            "887.29",
        )
    )
    assert trade in page


def test_sweep_picks_the_pair_with_the_best_objective(bars: Path, tmp_path: Path) -> None:
    report = tmp_path / "sweep.html"
    code, out, err = _call(
        "sweep",
        "--bars",
        str(bars),
        "--fast",
        "2",
        "3",
        "--slow",
        "3",
        "8",
        "--objective",
        "total_return",
        "--report",
        str(report),
    )
    assert code == 0, err
    # 2/3 makes +8.87 %. 2/8 and 3/8 buy at bar 8's open (12) and sell at bar 9's (10): -16.8 %.
    # 3/3 is no pair. So three pairs, 2/3 the best.
    assert "3 pairs" in out
    assert "best: SMA 2/3" in out
    assert "All 3 pairs, best first" in report.read_text(encoding="utf-8")


def test_monte_carlo_of_one_trade_gives_every_path_the_same_end(bars: Path, tmp_path: Path) -> None:
    report = tmp_path / "mc.html"
    code, out, err = _call(
        "monte-carlo",
        *("--bars", str(bars), "--fast", "2", "--slow", "3"),
        *("--paths", "50", "--seed", "3", "--report", str(report)),
    )
    assert code == 0, err
    # Every path redraws the one trade (+887.29), so every percentile ends at 10,887.29, none ruined.
    assert re.search(rf"p5\s+{FINAL_EQUITY}", out)
    assert re.search(rf"p95\s+{FINAL_EQUITY}", out)
    assert "ruin 0.00%" in out
    page = report.read_text(encoding="utf-8")
    assert "<h2>Monte Carlo</h2>" in page
    assert page.count("<img") == 4  # equity, drawdown, months, bands


def test_stress_shocks_the_middle_bar_by_default(bars: Path, tmp_path: Path) -> None:
    report = tmp_path / "stress.html"
    code, out, err = _call(
        "stress", "--bars", str(bars), "--fast", "2", "--slow", "3", "--report", str(report)
    )
    assert code == 0, err
    assert "shocks at bar 5" in out  # 10 bars // 2
    # Gap down 10 % from bar 5 on: the exit at bar 8's open fills at 12 x 0.9 = 10.8;
    # 10,000 x 10.8 x 0.999 / (11 x 1.001) = 107,892 / 11.011 = 9,798.565 -> 9798.57.
    assert re.search(rf"gap down 10%\s+\S+ \S+\s+{FINAL_EQUITY}\s+9798\.57\s", out)
    assert "gap down 10%" in report.read_text(encoding="utf-8")


def test_walk_forward_on_shipped_data_reports_each_fold(tmp_path: Path) -> None:
    report = tmp_path / "wf.html"
    code, out, err = _call(
        "walk-forward",
        *("--shipped", "SPX", "--last", "1000", "--fast", "5", "10", "--slow", "20", "50"),
        *("--in-sample", "400", "--out-of-sample", "200", "--workers", "1", "--report", str(report)),
    )
    assert code == 0, err
    # (1000 - 400 - 200) // 200 + 1 = 3 folds.
    assert "3 folds over 4 pairs" in out
    page = report.read_text(encoding="utf-8")
    assert "<h2>Walk-forward</h2>" in page
    assert page.count("<img") == 4  # equity, drawdown, months, folds
    fold_rows = re.findall(r"<tr><td>(\d)</td><td>\d{4}-\d\d-\d\d \.\. ", page)
    assert fold_rows == ["0", "1", "2"]


def test_missing_bar_file_is_exit_code_2_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.csv"
    code, _, err = _call("run", "--bars", str(missing))
    assert code == 2
    assert err.strip() == f"error: bars file {missing} does not exist"


def test_duplicated_timestamps_are_exit_code_2_quoting_the_time(tmp_path: Path) -> None:
    times = [f"2024-01-{day:02d}T00:00:00Z" for day in (1, 2, 3, 4, 5, 5, 6, 7, 8, 9)]
    path = _write_bars(tmp_path / "dupes.csv", times)
    code, _, err = _call("run", "--bars", str(path), "--fast", "2", "--slow", "3")
    assert code == 2
    assert "1 duplicate timestamp(s), first 2024-01-05T00:00:00+00:00" in err
    assert "Traceback" not in err


def test_fast_not_below_slow_is_exit_code_2(bars: Path) -> None:
    code, _, err = _call("run", "--bars", str(bars), "--fast", "50", "--slow", "10")
    assert code == 2
    assert err.strip() == "error: --fast 50 must be below --slow 10"


def test_stress_bar_outside_the_data_is_exit_code_2(bars: Path) -> None:
    code, _, err = _call("stress", "--bars", str(bars), "--fast", "2", "--slow", "3", "--at-index", "10")
    assert code == 2
    assert "--at-index 10 is outside the 10 bars" in err


def test_periods_per_year_count_the_bars_over_the_years_they_span() -> None:
    # Six weekday bars, Monday to the next Monday: 5 steps over 7 days = 5 / (7 / 365.25) = 260.89.
    times = pd.DatetimeIndex(
        ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08"], tz="UTC"
    )
    assert infer_periods_per_year(times) == pytest.approx(260.892857, rel=1e-6)


# --- registered bots and rules ------------------------------------------------------------------------------

REGISTRY = """
[[bots]]
name = "bb-walk"
class = "bollinger"
instruments = ["SPY"]
venue = "sim-stocks"
schedule = { interval_seconds = 60 }
params = { period = 15, atr_period = 5 }

[[bots]]
name = "momentum-basket"
class = "dual_momentum"
instruments = ["SPY", "QQQ", "XLE"]
venue = "sim-stocks"
schedule = { interval_seconds = 60 }

[[bots]]
name = "rsi2-pair"
class = "rsi2"
instruments = ["SPY", "QQQ"]
venue = "sim-stocks"
schedule = { interval_seconds = 60 }
"""


def _walk(n_bars: int, seed: int) -> pd.DataFrame:
    """A daily random walk: opens at the previous close, high and low 0.5 % beyond the body."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.015, n_bars)))
    open_ = np.concatenate(([100.0], close[:-1]))
    return pd.DataFrame(
        {
            "time": pd.date_range("2020-01-01", periods=n_bars, freq="D", tz="UTC").strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "open": open_,
            "high": np.maximum(open_, close) * 1.005,
            "low": np.minimum(open_, close) * 0.995,
            "close": close,
            "volume": np.full(n_bars, 1_000.0),
        }
    )


@pytest.fixture
def walk_bars(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    frame = _walk(600, seed=4)
    path = tmp_path / "walk.csv"
    frame.to_csv(path, index=False)
    return path, frame


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The default settings (venues) with a registry of three bots written here."""
    settings = tmp_path / "settings.toml"
    settings.write_text(DEFAULT_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "bots.toml").write_text(REGISTRY, encoding="utf-8")
    return settings


def test_a_bot_sweep_runs_every_combination_and_its_best_equals_a_direct_run(
    walk_bars: tuple[Path, pd.DataFrame], config: Path, tmp_path: Path
) -> None:
    path, frame = walk_bars
    report = tmp_path / "sweep.html"
    code, out, err = _call(
        "sweep",
        *("--bars", str(path), "--bot", "bb-walk", "--config", str(config), "--periods-per-year", "252"),
        *("--param", "num_std=1.5,2,2.5", "--param", "allow_short=true,false", "--report", str(report)),
    )
    assert code == 0, err

    # Direct: the registry's period 15 and ATR(5) under each of the 3 x 2 overrides.
    series = BarSeries(
        "SPY",
        86_400,
        np.arange(len(frame), dtype=np.float64),
        *(frame[c].to_numpy(dtype=np.float64) for c in ("open", "high", "low", "close", "volume")),
    )
    grid = list(itertools.product([1.5, 2.0, 2.5], [True, False]))
    summaries = []
    for num_std, allow_short in grid:
        params = {"period": 15, "atr_period": 5, "num_std": num_std, "allow_short": allow_short}
        targets = rule_targets("bollinger", params, series)
        summaries.append(run_targets(frame["open"], frame["close"], targets).summary(252.0)[0])
    best = max(range(len(grid)), key=lambda i: summaries[i].sharpe)
    num_std, allow_short = grid[best]

    assert "bot bb-walk: bollinger, 6 parameter sets, best by sharpe first" in out
    rows = re.findall(r"^(\d\.?\d*)\s+(true|false)\s+(-?\d+\.\d+)\s+(-?\d+\.\d+)%", out, flags=re.MULTILINE)
    assert len(rows) == 6
    assert sorted((float(n), s == "true") for n, s, _, _ in rows) == sorted(grid)
    assert rows[0][:2] == (f"{num_std:g}", "true" if allow_short else "false")
    assert float(rows[0][2]) == pytest.approx(summaries[best].sharpe, abs=5e-4)
    assert float(rows[0][3]) == pytest.approx(100 * summaries[best].total_return, abs=5e-3)
    flag = "true" if allow_short else "false"
    assert f"best: bot bb-walk: bollinger (num_std={num_std:g}, allow_short={flag})" in out
    assert "All 6 parameter sets, best first" in report.read_text(encoding="utf-8")


def test_a_rule_walk_forward_over_a_small_grid_reports_each_fold(
    walk_bars: tuple[Path, pd.DataFrame], tmp_path: Path
) -> None:
    path, _ = walk_bars
    report = tmp_path / "wf.html"
    code, out, err = _call(
        "walk-forward",
        *("--bars", str(path), "--rule", "bollinger", "--param", "period=10,20", "--param", "num_std=1.5,2"),
        *("--in-sample", "200", "--out-of-sample", "100", "--workers", "2", "--report", str(report)),
    )
    assert code == 0, err
    # (600 - 200 - 100) // 100 + 1 = 4 folds over 2 x 2 sets.
    assert "rule bollinger, 4 folds over 4 parameter sets, chosen by sharpe" in out
    assert "chosen (period, num_std)" in out
    chosen = re.findall(r"^\d\s+\S+ \.\. \S+\s+\S+ \.\. \S+\s+(\S+)", out, flags=re.MULTILINE)
    assert len(chosen) == 4 and set(chosen) <= {"10/1.5", "10/2", "20/1.5", "20/2"}
    page = report.read_text(encoding="utf-8")
    assert "<h2>Walk-forward</h2>" in page
    assert "chosen parameters, in order: period, num_std" in page


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        (("--bot", "bb-wlak"), "unknown bot 'bb-wlak' in "),
        (("--bot", "momentum-basket"), "bot 'momentum-basket': bot class 'dual_momentum' cannot run in the"),
        (("--bot", "rsi2-pair"), "bot 'rsi2-pair' trades SPY, QQQ; the vectorized engine runs one"),
        (("--bot", "bb-walk", "--param", "periods=12"), "--param periods=12: unknown parameter 'periods'"),
        (("--bot", "bb-walk", "--param", "period=1"), "--param period=1: parameter 'period' must be a whole"),
        (
            ("--rule", "rsi2", "--param", "trend_period=2.5"),
            "--param trend_period=2.5: parameter 'trend_period' must be a whole",
        ),
        (
            ("--rule", "rsi2", "--param", "entry_threshold=low"),
            "--param entry_threshold: 'low' is not a number",
        ),
        (("--bot", "bb-walk", "--fast", "5"), "--fast/--slow set the plain SMA crossover's windows"),
        (
            ("--rule", "bollinger", "--param", "period=10,20"),
            "--param period lists several values; only sweep",
        ),
        (("--param", "period=10"), "--param sets a bot's or rule's parameter: give --bot or --rule"),
    ],
)
def test_bad_bot_rule_or_param_is_exit_code_2_with_one_line(
    bars: Path, config: Path, arguments: tuple[str, ...], problem: str
) -> None:
    code, out, err = _call("run", "--bars", str(bars), "--config", str(config), *arguments)

    assert code == 2, out
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(f"error: {problem}")


def test_the_sma_crossover_rule_repeats_the_hand_worked_trade_and_scales_with_the_fraction(
    bars: Path,
) -> None:
    # ATR(1) has a value from bar 1 and SMA(3) from bar 2, so the rule trades exactly as SMA 2/3 above.
    rule = ("--rule", "sma_crossover", "--param", "fast=2", "--param", "slow=3", "--param", "atr_period=1")
    code, out, err = _call("run", "--bars", str(bars), *rule, "--report", str(bars.with_suffix(".html")))
    assert code == 0, err
    assert "rule sma_crossover (fast=2, slow=3, atr_period=1)" in out
    assert re.search(rf"Final equity\s+{FINAL_EQUITY}", out)

    # Half the equity: units 0.5 x 10,000 / (11 x (1 + 0.5 x 0.001)) = 454.3183, cash left
    # 10,000 - 454.3183 x 11 x 1.001 = 4,997.50; the sale adds 454.3183 x 12 x 0.999 = 5,446.37.
    half = ("--position-fraction", "0.5", "--report", str(bars.with_suffix(".half.html")))
    code, out, err = _call("run", "--bars", str(bars), *rule, *half)
    assert code == 0, err
    assert re.search(r"Final equity\s+10443\.87", out)


def test_a_walk_forward_of_a_rule_needs_a_grid(bars: Path) -> None:
    code, _, err = _call("walk-forward", "--bars", str(bars), "--rule", "rsi2")

    assert code == 2
    assert err.strip() == (
        "error: walk-forward chooses between parameter sets: give a grid with --param name=v1,v2,..."
    )


def test_trading_is_never_free_by_default(bars: Path, tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    arguments = [
        "run",
        "--bars",
        str(bars),
        "--fast",
        "2",
        "--slow",
        "3",
        "--report",
        str(tmp_path / "r.html"),
    ]
    assert main([*arguments, "--quiet"], out=out, err=err) == 0, err.getvalue()
    # the hand-worked trade above with 1 bp a side: buy at 11 x 1.0001 = 11.0011, sell at 12 x 0.9999
    # = 11.9988; 10,000 / (11.0011 x 1.001) x 11.9988 x 0.999 = 10,885.12 (against 10,887.29 free)
    assert re.search(r"Final equity\s+10885\.12", out.getvalue()), out.getvalue()
    assert "slippage 0.010%" in (tmp_path / "r.html").read_text(encoding="utf-8")
