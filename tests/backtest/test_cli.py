"""The backtest command line, called as a function on a tiny hand-checkable bar file and on shipped data."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest

from backtest.cli import infer_periods_per_year, main

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
    out, err = io.StringIO(), io.StringIO()
    code = main([*args, "--quiet"], out=out, err=err)
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
