"""The HTML report of a backtest: one self-contained file a person can open anywhere.

Figures are matplotlib (Agg backend) PNGs embedded as base64 `data:` URIs, styles are inline,
and there is no script: the file needs no network, no CDN and no JavaScript. Every piece of
text that reaches the page (titles, scenario names, parameters, notes) is HTML-escaped.

The arithmetic (`monthly_returns`, `trade_table`, `summary_rows`) is plain functions over
pandas objects; only `write_report` touches a file.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import matplotlib

matplotlib.use("Agg")  # before pyplot loads: files only, no display

import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from backtest.metrics import PerformanceSummary, drawdown_series, max_drawdown
from backtest.monte_carlo import MonteCarloResult
from backtest.stress import StressBacktest
from backtest.vectorized import RoundTrips
from backtest.walk_forward import WalkForwardResult

FloatArray = npt.NDArray[np.float64]

TRADE_COLUMNS = ("entry_time", "exit_time", "entry_price", "exit_price", "units", "pnl")
MAX_TRADE_ROWS = 1_000  # a report stays a few MB: longer trade lists show their first rows only
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DPI = 90


@dataclass(frozen=True, slots=True)
class ReportTable:
    """An extra table for the report (a sweep's grid, say): a caption, a header and rows of text."""

    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def __post_init__(self) -> None:
        widths = {len(row) for row in self.rows}
        if widths - {len(self.header)}:
            raise ValueError(
                f"{self.caption}: every row needs {len(self.header)} cells, got {sorted(widths)}"
            )


# --- the arithmetic ---------------------------------------------------------------------------------------


def equity_series(equity: pd.Series | npt.ArrayLike, times: pd.DatetimeIndex | None = None) -> pd.Series:
    """The equity as a float Series on a DatetimeIndex: `equity` if a Series, else `equity` on `times`."""
    if isinstance(equity, pd.Series):
        series = equity.astype(np.float64)
    else:
        if times is None:
            raise ValueError("equity given as an array needs its bar times")
        values = np.asarray(equity, dtype=np.float64)
        if values.ndim != 1 or len(values) != len(times):
            raise ValueError(f"equity must be 1-D with one mark per time: {values.shape} for {len(times)}")
        series = pd.Series(values, index=times)
    if not isinstance(series.index, pd.DatetimeIndex):
        raise ValueError("equity must be indexed by bar times (a DatetimeIndex)")
    if series.empty:
        raise ValueError("equity has no marks")
    return series


def monthly_returns(equity: pd.Series) -> pd.DataFrame:
    """Each calendar month's return, months (1..12) down, years across; NaN where a month has no marks.

    A month's return is its last mark over the previous month's last mark; the first month's is
    over the series' first mark (so a run's first month starts where the run does).
    """
    month_end = equity.resample("ME").last()
    base = month_end.ffill().shift(1)
    base.iloc[0] = float(equity.iloc[0])
    returns = month_end / base - 1.0
    index = pd.DatetimeIndex(returns.index)
    table = pd.DataFrame({"month": index.month, "year": index.year, "return": returns.to_numpy()})
    grid = table.pivot(index="month", columns="year", values="return")
    return grid.reindex(range(1, 13))


def trade_table(trades: RoundTrips | pd.DataFrame, times: pd.DatetimeIndex) -> pd.DataFrame:
    """The round trips as rows: entry/exit time, execution prices, units and net P&L.

    A DataFrame is taken as already laid out and must have those columns.
    """
    if isinstance(trades, pd.DataFrame):
        missing = [name for name in TRADE_COLUMNS if name not in trades.columns]
        if missing:
            raise ValueError(f"trade table lacks column(s) {', '.join(missing)}")
        return trades.loc[:, list(TRADE_COLUMNS)]
    if len(trades) and int(max(trades.entry_index.max(), trades.exit_index.max())) >= len(times):
        raise ValueError(f"a trade's bar lies beyond the {len(times)} bar times")
    return pd.DataFrame(
        {
            "entry_time": times[trades.entry_index],
            "exit_time": times[trades.exit_index],
            "entry_price": trades.entry_price,
            "exit_price": trades.exit_price,
            "units": trades.units,
            "pnl": trades.pnl,
        }
    )


def summary_rows(summary: PerformanceSummary) -> list[tuple[str, str]]:
    """The summary's figures as (name, text): fractions as percentages, ratios to 2 decimals."""
    return [
        ("Periods", str(summary.periods)),
        ("Total return", percent(summary.total_return)),
        ("CAGR", percent(summary.cagr)),
        ("Sharpe", number(summary.sharpe)),
        ("Sortino", number(summary.sortino)),
        ("Max drawdown", percent(summary.max_drawdown)),
        ("Calmar", number(summary.calmar)),
        ("Exposure", percent(summary.exposure)),
        ("Trades", str(summary.trades)),
        ("Win rate", percent(summary.win_rate)),
        ("Profit factor", number(summary.profit_factor)),
        ("Expectancy", number(summary.expectancy)),
    ]


def print_table(out: TextIO, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """`rows` under `header` as plain text, each column padded to its widest cell (for the terminal)."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    for line in (header, *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)), file=out)


def percent(value: float, digits: int = 2) -> str:
    """0.1234 -> '12.34%'; NaN -> 'n/a'."""
    if math.isnan(value):
        return "n/a"
    return f"{value * 100:.{digits}f}%"


def number(value: float, digits: int = 2) -> str:
    """A ratio or an amount to `digits` decimals; NaN -> 'n/a', infinity -> 'inf'."""
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}f}"


def stress_rows(results: Sequence[StressBacktest], times: pd.DatetimeIndex) -> ReportTable:
    """One row per scenario: where it hit, final equity without and with it, and the shocked drawdown."""
    rows = []
    for result in results:
        baseline = float(result.baseline.final_equity[0])
        shocked = float(result.shocked.final_equity[0])
        at = times[result.at_index] if result.at_index < len(times) else result.at_index
        rows.append(
            (
                result.scenario,
                str(at),
                number(baseline),
                number(shocked),
                percent(shocked / baseline - 1.0) if baseline > 0 else "n/a",
                percent(float(max_drawdown(result.baseline.equity[:, 0]))),
                percent(float(max_drawdown(result.shocked.equity[:, 0]))),
            )
        )
    header = (
        "scenario",
        "shock at",
        "final equity",
        "shocked final equity",
        "change",
        "max drawdown",
        "shocked max drawdown",
    )
    return ReportTable("Stress scenarios (the same positions, prices shocked)", header, tuple(rows))


# --- the file ---------------------------------------------------------------------------------------------


def write_report(
    path: Path | str,
    *,
    title: str,
    equity: pd.Series | npt.ArrayLike,
    trades: RoundTrips | pd.DataFrame,
    summary: PerformanceSummary,
    times: pd.DatetimeIndex | None = None,
    monte_carlo: MonteCarloResult | None = None,
    walk_forward: WalkForwardResult | None = None,
    stress: Sequence[StressBacktest] | None = None,
    tables: Sequence[ReportTable] = (),
    notes: Sequence[str] = (),
) -> Path:
    """Write the report to `path` (its folder made if missing) and return the path.

    `times` are the run's bar times, which trade indices, walk-forward windows and stress shock
    bars count in (default: the equity's index). `equity` is a Series on bar times (a
    walk-forward's stitched equity covers its out-of-sample bars only) or an array with one mark
    per time; `trades` are round trips or a table with `TRADE_COLUMNS`.
    """
    marks = equity_series(equity, times)
    index = pd.DatetimeIndex(marks.index if times is None else times)
    parts = [f"<h1>{_text(title)}</h1>"]
    parts += [f"<p class='note'>{_text(note)}</p>" for note in notes]
    parts += ["<h2>Summary</h2>", _html_table(("figure", "value"), summary_rows(summary))]
    parts += ["<h2>Equity</h2>", _figure(lambda axes: _plot_equity(axes, marks), "equity curve")]
    parts += ["<h2>Drawdown</h2>", _figure(lambda axes: _plot_drawdown(axes, marks), "drawdown")]
    monthly = monthly_returns(marks)
    parts += [
        "<h2>Monthly returns</h2>",
        _figure(lambda axes: _plot_monthly(axes, monthly), "monthly returns heatmap", size=(8, 5)),
        _monthly_table(monthly),
    ]
    for table in tables:
        parts += [f"<h2>{_text(table.caption)}</h2>", _html_table(table.header, table.rows)]
    if monte_carlo is not None:
        parts += _monte_carlo_section(monte_carlo)
    if walk_forward is not None:
        parts += _walk_forward_section(walk_forward, index)
    if stress:
        table = stress_rows(stress, index)
        parts += [f"<h2>{_text(table.caption)}</h2>", _html_table(table.header, table.rows)]
    parts += _trades_section(trade_table(trades, index))

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(_page(title, "\n".join(parts)), encoding="utf-8")
    return target


def _monte_carlo_section(result: MonteCarloResult) -> list[str]:
    levels = result.percentiles
    rows = [
        (f"p{level:g}", number(result.final_equity_at(level)), percent(result.max_drawdown_at(level)))
        for level in levels
    ]
    low, high = result.ruin_probability_interval
    return [
        "<h2>Monte Carlo</h2>",
        f"<p>{result.n_paths} paths; ruin (equity below {percent(result.ruin_fraction, 0)} of "
        f"{number(result.initial_equity)}) in {percent(result.ruin_probability)} of them "
        f"(95% Wilson interval {percent(low)} .. {percent(high)}).</p>",
        _figure(lambda axes: _plot_bands(axes, result), "Monte Carlo equity bands"),
        _html_table(("percentile", "final equity", "max drawdown"), rows),
    ]


def _walk_forward_section(result: WalkForwardResult, times: pd.DatetimeIndex) -> list[str]:
    stability = result.stability
    steps = ", ".join(number(value) for value in stability.mean_step_of_range)
    return [
        "<h2>Walk-forward</h2>",
        f"<p>{len(result.folds)} folds, parameters chosen in sample by {_text(result.objective)}; "
        f"the equity, summary and trades above are the out-of-sample record only. Parameter stability: "
        f"the most chosen set in {percent(stability.modal_share, 0)} of the folds, switches between "
        f"consecutive folds {percent(stability.switch_rate, 0)}, mean step per fold as a share of the "
        f"grid's range {_text(steps)}.</p>",
        _figure(lambda axes: _plot_walk_forward(axes, result, times), "walk-forward windows", size=(9, 4.5)),
        _html_table(*walk_forward_rows(result, times)),
    ]


def walk_forward_rows(
    result: WalkForwardResult, times: pd.DatetimeIndex
) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """A header and one row per fold: its windows, chosen parameters, in-sample score, OOS figures."""
    header: tuple[str, ...] = (
        "fold",
        "in-sample",
        "out-of-sample",
        "chosen",
        f"in-sample {result.objective}",
        "OOS return",
        "OOS Sharpe",
        "OOS max drawdown",
        "OOS trades",
    )
    rows: list[tuple[str, ...]] = []
    for item in result.folds:
        fold = item.fold
        rows.append(
            (
                str(fold.index),
                f"{times[fold.is_start]:%Y-%m-%d} .. {times[fold.is_end - 1]:%Y-%m-%d}",
                f"{times[fold.oos_start]:%Y-%m-%d} .. {times[fold.oos_end - 1]:%Y-%m-%d}",
                _params(item.params),
                number(item.in_sample_score, 3),
                percent(item.summary.total_return),
                number(item.summary.sharpe),
                percent(item.summary.max_drawdown),
                str(item.summary.trades),
            )
        )
    return header, rows


def walk_forward_trades(result: WalkForwardResult) -> RoundTrips:
    """The folds' out-of-sample round trips as the stitched record holds them: each fold's units and
    P&L scaled by the equity it started from over the initial cash, as `stitch_out_of_sample` does."""
    pieces: list[tuple[RoundTrips, float]] = []
    level = result.initial_cash
    for item in result.folds:
        if level <= 0:
            break
        pieces.append((item.trades, level / result.initial_cash))
        level = level / result.initial_cash * float(item.equity[-1])
    return RoundTrips(
        entry_index=np.concatenate([t.entry_index for t, _ in pieces] or [np.empty(0, np.int64)]),
        exit_index=np.concatenate([t.exit_index for t, _ in pieces] or [np.empty(0, np.int64)]),
        entry_price=np.concatenate([t.entry_price for t, _ in pieces] or [np.empty(0)]),
        exit_price=np.concatenate([t.exit_price for t, _ in pieces] or [np.empty(0)]),
        units=np.concatenate([t.units * scale for t, scale in pieces] or [np.empty(0)]),
        pnl=np.concatenate([t.pnl * scale for t, scale in pieces] or [np.empty(0)]),
    )


def _params(params: Sequence[float]) -> str:
    return "/".join(f"{value:g}" for value in params)


def _trades_section(table: pd.DataFrame) -> list[str]:
    shown = table.iloc[:MAX_TRADE_ROWS]
    rows = [
        (
            str(row.entry_time),
            str(row.exit_time),
            number(float(row.entry_price), 4),
            number(float(row.exit_price), 4),
            number(float(row.units), 6),
            number(float(row.pnl)),
        )
        for row in shown.itertuples(index=False)
    ]
    header = ("entry time", "exit time", "entry price", "exit price", "units", "P&L")
    parts = [f"<h2>Trades ({len(table)})</h2>"]
    if len(table) > MAX_TRADE_ROWS:
        parts.append(f"<p class='note'>The first {MAX_TRADE_ROWS} of {len(table)} round trips.</p>")
    parts.append(_html_table(header, rows) if rows else "<p>No closed round trips.</p>")
    return parts


def _monthly_table(monthly: pd.DataFrame) -> str:
    header = ("month", *(str(year) for year in monthly.columns))
    rows = [
        (MONTH_NAMES[month - 1], *(percent(float(value)) for value in monthly.loc[month]))
        for month in monthly.index
        if monthly.loc[month].notna().any()
    ]
    return _html_table(header, rows)


# --- figures ----------------------------------------------------------------------------------------------


def _plot_equity(axes: Axes, equity: pd.Series) -> None:
    axes.plot(equity.index, equity.to_numpy(), color="tab:blue", linewidth=1.0)
    axes.set_ylabel("equity")
    axes.set_title("Equity (marked at each close)")
    axes.grid(alpha=0.3)


def _plot_drawdown(axes: Axes, equity: pd.Series) -> None:
    drawdown = -drawdown_series(equity.to_numpy(dtype=np.float64)) * 100.0
    axes.fill_between(equity.index, drawdown, 0.0, color="tab:red", alpha=0.4, linewidth=0)
    axes.set_ylabel("drawdown, % below the running peak")
    axes.set_title("Drawdown")
    axes.grid(alpha=0.3)


def _plot_monthly(axes: Axes, monthly: pd.DataFrame) -> None:
    values = monthly.to_numpy(dtype=np.float64) * 100.0
    finite = values[np.isfinite(values)]
    limit = float(np.abs(finite).max()) if finite.size and np.abs(finite).max() > 0 else 1.0
    image = axes.imshow(values, cmap="RdYlGn", vmin=-limit, vmax=limit, aspect="auto")
    axes.set_yticks(range(12), MONTH_NAMES)
    axes.set_xticks(
        range(len(monthly.columns)),
        [str(year) for year in monthly.columns],
        rotation=45 if len(monthly.columns) > 8 else 0,
        fontsize=8,
    )
    for (row, column), value in np.ndenumerate(values):
        if np.isfinite(value):
            axes.text(column, row, f"{value:.1f}", ha="center", va="center", fontsize=7)
    axes.figure.colorbar(image, ax=axes, label="return, %")
    axes.set_title("Monthly returns, %")


def _plot_bands(axes: Axes, result: MonteCarloResult) -> None:
    steps = np.arange(result.equity_bands.shape[1])
    levels = result.percentiles
    # Pair the outermost levels, then the next ones in: p5-p95, p25-p75, ...
    for depth in range(len(levels) // 2):
        low, high = levels[depth], levels[-1 - depth]
        axes.fill_between(
            steps,
            result.band(low),
            result.band(high),
            color="tab:blue",
            alpha=0.15 + 0.15 * depth,
            linewidth=0,
            label=f"p{low:g}..p{high:g}",
        )
    if len(levels) % 2:
        middle = levels[len(levels) // 2]
        axes.plot(steps, result.band(middle), color="tab:blue", linewidth=1.2, label=f"p{middle:g}")
    axes.axhline(result.initial_equity, color="black", linewidth=0.5)
    axes.set_xlabel("step (0 = start)")
    axes.set_ylabel("equity")
    axes.set_title(f"Monte Carlo equity bands over {result.n_paths} paths")
    axes.legend(loc="upper left", fontsize=8)
    axes.grid(alpha=0.3)


def _plot_walk_forward(axes: Axes, result: WalkForwardResult, times: pd.DatetimeIndex) -> None:
    """Each fold a row of the bottom third (grey in-sample, green out-of-sample, the chosen
    parameters written on it) under the stitched out-of-sample equity."""
    last = len(times) - 1
    row_height = 0.3 / max(len(result.folds), 1)
    for row, item in enumerate(result.folds):
        fold, first = item.fold, row == 0
        low, high = row * row_height, (row + 0.85) * row_height
        axes.axvspan(
            times[fold.is_start],
            times[min(fold.is_end, last)],
            ymin=low,
            ymax=high,
            color="tab:grey",
            alpha=0.35,
            label="in-sample" if first else None,
        )
        axes.axvspan(
            times[fold.oos_start],
            times[min(fold.oos_end, last)],
            ymin=low,
            ymax=high,
            color="tab:green",
            alpha=0.5,
            label="out-of-sample" if first else None,
        )
        axes.annotate(
            _params(item.params),
            (times[min(fold.oos_end, last)], (low + high) / 2),
            xycoords=("data", "axes fraction"),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=6,
        )
    axes.plot(times[result.bar_index], result.equity, color="tab:blue", label="stitched out-of-sample equity")
    bottom, top = axes.get_ylim()
    axes.set_ylim(bottom - (top - bottom) * 0.45, top)  # room for the fold rows below the curve
    axes.set_ylabel("equity")
    axes.set_title("Walk-forward: folds, chosen parameters, stitched out-of-sample equity", fontsize=10)
    axes.legend(loc="upper left", fontsize=8)
    axes.grid(alpha=0.3)


def _figure(draw: Callable[[Axes], None], alt: str, size: tuple[float, float] = (9, 3.8)) -> str:
    figure: Figure = plt.figure(figsize=size)
    try:
        draw(figure.add_subplot())
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI)
    finally:
        plt.close(figure)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"<img alt='{_text(alt)}' src='data:image/png;base64,{encoded}'>"


# --- HTML -------------------------------------------------------------------------------------------------


def _text(value: object) -> str:
    return html.escape(str(value), quote=True)


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{_text(cell)}</th>" for cell in header)
    body = "\n".join("<tr>" + "".join(f"<td>{_text(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table>\n<tr>{head}</tr>\n{body}\n</table>"


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }
th { background: #f2f2f2; }
td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; display: block; margin: 0.5em 0; }
.note { color: #555; }
"""


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        f"<title>{_text(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
