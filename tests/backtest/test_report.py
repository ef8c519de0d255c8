"""The HTML backtest report: one self-contained file, figures inline, every text escaped."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtest.metrics import summarize
from backtest.monte_carlo import MonteCarloConfig, summarize_paths
from backtest.report import monthly_returns, trade_table, write_report
from backtest.stress import gap_down, stress_backtest
from backtest.vectorized import Costs, RoundTrips
from domain.instruments import AssetClass

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
BASE_FIGURES = 3  # equity, drawdown, monthly heatmap

# Two months of marks: 100 at the start, 110 at the end of January, 99 at the end of February.
TIMES = pd.DatetimeIndex(["2024-01-30", "2024-01-31", "2024-02-01", "2024-02-29"], tz="UTC", name="time")
EQUITY = pd.Series([100.0, 110.0, 105.0, 99.0], index=TIMES)
TRADES = RoundTrips(
    entry_index=np.array([0, 2], dtype=np.int64),
    exit_index=np.array([1, 3], dtype=np.int64),
    entry_price=np.array([50.0, 52.5]),
    exit_price=np.array([55.0, 49.5]),
    units=np.array([2.0, 2.0]),
    pnl=np.array([10.0, -6.0]),
)


def _images(page: str) -> list[bytes]:
    return [base64.b64decode(data) for data in re.findall(r"src='data:image/png;base64,([^']+)'", page)]


def _cells(page: str) -> list[str]:
    return re.findall(r"<td>([^<]*)</td>", page)


def _write(tmp_path: Path, **extra: object) -> str:
    path = write_report(
        tmp_path / "out" / "report.html",
        title="SMA 2/3",
        equity=EQUITY,
        trades=TRADES,
        summary=summarize(EQUITY.to_numpy(), np.ones(4), TRADES.pnl, 252.0),
        **extra,  # type: ignore[arg-type]  # monte_carlo= or stress=
    )
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The report of the hand-made run, written once for the tests that only read it."""
    return _write(tmp_path_factory.mktemp("report"))


def test_monthly_returns_are_month_end_over_previous_month_end_months_down_years_across() -> None:
    table = monthly_returns(EQUITY)
    # January: 110 / 100 (the first mark) - 1 = +10 %; February: 99 / 110 - 1 = -10 %.
    assert table.loc[1, 2024] == pytest.approx(0.10)
    assert table.loc[2, 2024] == pytest.approx(-0.10)
    assert list(table.index) == list(range(1, 13))
    assert table.loc[3:, 2024].isna().all()


def test_monthly_returns_carry_the_base_over_a_month_without_marks() -> None:
    times = pd.DatetimeIndex(["2024-01-15", "2024-01-31", "2024-03-31"], tz="UTC")
    table = monthly_returns(pd.Series([100.0, 120.0, 90.0], index=times))
    # February has no mark; March is measured from January's end: 90 / 120 - 1 = -25 %.
    assert np.isnan(table.loc[2, 2024])
    assert table.loc[3, 2024] == pytest.approx(-0.25)


def test_report_is_one_self_contained_file_with_one_inline_png_per_figure(page: str) -> None:
    images = _images(page)
    assert page.count("<img") == len(images) == BASE_FIGURES
    assert all(image.startswith(PNG_MAGIC) for image in images)
    assert "<script" not in page and "http://" not in page and "https://" not in page


def test_report_shows_the_summary_figures_as_text(page: str) -> None:
    cells = _cells(page)
    # Total return 99 / 100 - 1 = -1.00 %; max drawdown (110 - 99) / 110 = 10.00 %;
    # win rate 1 of 2 = 50.00 %; profit factor 10 / 6 = 1.67; expectancy (10 - 6) / 2 = 2.00.
    summary = dict(zip(cells[::2], cells[1::2], strict=False))
    assert summary["Total return"] == "-1.00%"
    assert summary["Max drawdown"] == "10.00%"
    assert summary["Win rate"] == "50.00%"
    assert summary["Profit factor"] == "1.67"
    assert summary["Expectancy"] == "2.00"
    assert summary["Trades"] == "2"


def test_report_tables_the_hand_worked_month_returns(page: str) -> None:
    assert re.search(r"<td>Jan</td><td>10.00%</td>", page)
    assert re.search(r"<td>Feb</td><td>-10.00%</td>", page)
    assert "<td>Mar</td>" not in page  # months without marks are left out of the table


def test_report_lists_each_trade_with_its_times_prices_units_and_pnl(page: str) -> None:
    first = "".join(
        f"<td>{cell}</td>"
        for cell in (
            "2024-01-30 00:00:00+00:00",
            "2024-01-31 00:00:00+00:00",
            "50.0000",
            "55.0000",
            "2.000000",
            "10.00",
        )
    )
    assert first in page
    assert "<h2>Trades (2)</h2>" in page


def test_report_escapes_the_title_and_notes(tmp_path: Path) -> None:
    path = write_report(
        tmp_path / "report.html",
        title="<script>alert('x')</script> & co",
        equity=EQUITY,
        trades=TRADES,
        summary=summarize(EQUITY.to_numpy(), np.ones(4), TRADES.pnl, 252.0),
        notes=["<b>bold</b>"],
    )
    page = path.read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page
    assert "<script>" not in page and "<b>" not in page


def test_report_takes_equity_as_an_array_with_its_times(tmp_path: Path) -> None:
    path = write_report(
        tmp_path / "report.html",
        title="array",
        equity=EQUITY.to_numpy(),
        times=TIMES,
        trades=trade_table(TRADES, TIMES),
        summary=summarize(EQUITY.to_numpy(), np.ones(4), TRADES.pnl, 252.0),
    )
    assert re.search(r"<td>Feb</td><td>-10.00%</td>", path.read_text(encoding="utf-8"))


def test_report_refuses_an_array_equity_without_times(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs its bar times"):
        write_report(
            tmp_path / "report.html",
            title="no times",
            equity=EQUITY.to_numpy(),
            trades=TRADES,
            summary=summarize(EQUITY.to_numpy(), np.ones(4), TRADES.pnl, 252.0),
        )


def test_report_adds_monte_carlo_bands_and_their_percentiles(tmp_path: Path) -> None:
    # Two paths from 100: one ends at 120, one at 80 (after dipping to 40, below half: ruin).
    paths = np.array([[100.0, 100.0], [110.0, 40.0], [120.0, 80.0]])
    config = MonteCarloConfig(n_paths=2, initial_equity=100.0, percentiles=(5.0, 50.0, 95.0))
    page = _write(tmp_path, monte_carlo=summarize_paths(paths, config))
    assert len(_images(page)) == BASE_FIGURES + 1
    # p50 of final equity {80, 120} = 100; ruin in 1 of 2 paths = 50 %.
    assert "<td>p50</td><td>100.00</td>" in page
    assert "in 50.00% of them" in page


def test_report_tables_stress_results_against_the_unshocked_run(tmp_path: Path) -> None:
    flat = np.full(4, 100.0)
    result = stress_backtest(
        flat,
        flat,
        np.ones(4),
        gap_down(0.10),
        2,
        asset_class=AssetClass.STOCK,
        symbol="SPY",
        costs=Costs(fee_rate=0.0),
    )
    page = _write(tmp_path, stress=[result])
    # Long 10,000 / 100 = 100 units from bar 1's open; prices from bar 2 on are 90: 100 x 90 = 9,000.
    row = "".join(
        f"<td>{cell}</td>"
        for cell in (
            "gap down 10%",
            "2024-02-01 00:00:00+00:00",
            "10000.00",
            "9000.00",
            "-10.00%",
            "0.00%",
            "10.00%",
        )
    )
    assert row in page
