"""A model report people can look at: feature importance, calibration and walk-forward equity as PNGs,
embedded in a `report.md` beside them with the metrics table.

The arithmetic (`forward_log_returns`, `walk_forward_equity`, `calibration_bins`,
`gain_importance`) is plain functions over arrays; only `write_report` touches files.
matplotlib runs on the Agg backend: no display is needed or used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot loads: files only, no display

import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
import pandas as pd
import xgboost
from matplotlib.figure import Figure

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

POSITION_MODES = ("long-flat", "long-short")
CALIBRATION_BINS = 10


@dataclass(frozen=True, slots=True, eq=False)
class AssetSection:
    """What the report shows for one model: its gains, its out-of-sample forecasts and their equity."""

    title: str  # e.g. "BTC v3"
    importance: dict[str, float]  # feature name -> mean gain per split
    up: IntArray  # outcomes of the forecast rows, 1 = up
    p_up: FloatArray  # the forecasts P(up)
    equity: pd.Series  # growth of 1 trading the forecasts, indexed by bar time
    buy_and_hold: pd.Series  # growth of 1 holding the asset over the same rows
    equity_label: str  # how the equity was made, in words


def forward_log_returns(close: pd.Series, horizon: int) -> pd.Series:
    """log(close[t + horizon] / close[t]) at each bar t; NaN for the last `horizon` bars (no future yet)."""
    values = close.to_numpy(dtype=np.float64)
    out = np.full(len(values), np.nan)
    if len(values) > horizon:
        out[:-horizon] = np.log(values[horizon:] / values[:-horizon])
    return pd.Series(out, index=close.index, name=f"forward_log_return_{horizon}")


def positions(p_up: FloatArray, mode: str) -> FloatArray:
    """+1 (long) where P(up) > 0.5; otherwise 0 (flat) in "long-flat" mode, -1 (short) in "long-short"."""
    if mode not in POSITION_MODES:
        raise ValueError(f"position mode must be one of {POSITION_MODES}, got {mode!r}")
    otherwise = 0.0 if mode == "long-flat" else -1.0
    return np.where(p_up > 0.5, 1.0, otherwise)


def walk_forward_equity(
    forward_returns: FloatArray, p_up: FloatArray, *, horizon: int, mode: str, fee_bps: float = 0.0
) -> FloatArray:
    """Growth of 1 when each row's forecast sets the position for the next `horizon` bars.

    A row's forecast covers `horizon` bars and a new one arrives every bar, so each
    position carries 1/horizon of the capital (horizon staggered books), which makes
    overlapping forecasts add up instead of multiplying the exposure. Fees cost
    `fee_bps` basis points per unit of position changed, the first entry included.
    """
    if len(forward_returns) != len(p_up):
        raise ValueError(f"{len(forward_returns)} returns for {len(p_up)} forecasts")
    if not np.isfinite(forward_returns).all():
        raise ValueError("forward returns must be finite: drop rows whose horizon has not passed")
    held = positions(p_up, mode)
    turnover = np.abs(np.diff(held, prepend=0.0))
    per_row = held * forward_returns / horizon - turnover * fee_bps / 10_000.0
    return np.asarray(np.exp(np.cumsum(per_row)), dtype=np.float64)


def calibration_bins(
    up: IntArray, p_up: FloatArray, bins: int = CALIBRATION_BINS
) -> tuple[FloatArray, FloatArray, IntArray]:
    """(mean forecast, observed share up, count) per non-empty equal-width bin over the forecasts' range.

    The range, not 0..1: P(up) of a market forecast sits near 0.5, and ten bins over 0..1
    would put nearly every row in two of them.
    """
    low, high = float(np.min(p_up)), float(np.max(p_up))
    if high - low < 1e-9:
        return np.array([low]), np.array([float(np.mean(up))]), np.array([len(up)], dtype=np.int64)
    edges = np.linspace(low, high, bins + 1)
    which = np.clip(np.searchsorted(edges, p_up, side="right") - 1, 0, bins - 1)
    counts = np.bincount(which, minlength=bins).astype(np.int64)
    filled = counts > 0
    mean_p = np.bincount(which, weights=p_up, minlength=bins)[filled] / counts[filled]
    share = np.bincount(which, weights=up.astype(np.float64), minlength=bins)[filled] / counts[filled]
    return mean_p, share, counts[filled]


def gain_importance(model: xgboost.XGBClassifier, names: Sequence[str]) -> dict[str, float]:
    """XGBoost's "gain" per feature: the mean loss reduction of its splits (0 if no tree splits on it).

    The models are fitted on plain arrays, so the booster calls the features f0, f1, ...
    in column order; the spec's names put the words back.
    """
    scores = model.get_booster().get_score(importance_type="gain")
    by_position = {f"f{i}": name for i, name in enumerate(names)}
    gains = dict.fromkeys(names, 0.0)
    for key, value in scores.items():
        name = by_position.get(key, key)
        if name in gains:
            gains[name] = float(np.sum(value))
    return gains


def write_report(
    directory: Path,
    *,
    title: str,
    table_header: Sequence[str],
    table_rows: Sequence[Sequence[str]],
    sections: Sequence[AssetSection],
    notes: Sequence[str] = (),
) -> Path:
    """Write the PNGs of every section and `report.md` embedding them; returns the report's path."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = [f"# {title}", "", *_markdown_table(table_header, table_rows), ""]
    lines += [f"- {note}" for note in notes]
    for section in sections:
        stem = _file_stem(section.title)
        images = (
            (f"{stem}_importance.png", "feature importance (gain)", _plot_importance),
            (f"{stem}_calibration.png", "calibration", _plot_calibration),
            (f"{stem}_equity.png", "walk-forward equity", _plot_equity),
        )
        lines += ["", f"## {section.title}", ""]
        lines += [
            f"Out-of-sample rows: {len(section.up)}; share up {float(np.mean(section.up)):.3f}; "
            f"final equity {_last(section.equity):.4f} vs buy and hold {_last(section.buy_and_hold):.4f} "
            f"({section.equity_label}).",
            "",
        ]
        for file_name, caption, plot in images:
            plot(section, directory / file_name)
            lines.append(f"![{section.title} {caption}]({file_name})")
            lines.append("")
    path = directory / "report.md"
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    return path


def _markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def _file_stem(title: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in title).strip("_")


def _last(series: pd.Series) -> float:
    return float(series.iloc[-1]) if len(series) else 1.0


def _plot_importance(section: AssetSection, path: Path) -> None:
    ordered = sorted(section.importance.items(), key=lambda item: item[1])
    figure, axes = plt.subplots(figsize=(7, 4.5))
    axes.barh([name for name, _ in ordered], [gain for _, gain in ordered], color="tab:blue")
    axes.set_xlabel("gain (mean loss reduction per split)")
    axes.set_title(f"{section.title}: feature importance (gain)")
    _save(figure, path)


def _plot_calibration(section: AssetSection, path: Path) -> None:
    mean_p, share, counts = calibration_bins(section.up, section.p_up)
    figure, (curve, histogram) = plt.subplots(
        2, 1, figsize=(6, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    low = min(float(np.min(mean_p)), float(np.min(share)), 0.4)
    high = max(float(np.max(mean_p)), float(np.max(share)), 0.6)
    curve.plot([low, high], [low, high], linestyle="--", color="grey", label="perfectly calibrated")
    curve.plot(mean_p, share, marker="o", color="tab:orange", label="model")
    for x, y, n in zip(mean_p, share, counts, strict=True):
        curve.annotate(f"n={n}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    curve.set_ylabel("observed share up")
    curve.set_title(f"{section.title}: calibration (reliability)")
    curve.legend(loc="upper left")
    histogram.hist(section.p_up, bins=CALIBRATION_BINS, color="tab:orange")
    histogram.set_xlabel("forecast P(up)")
    histogram.set_ylabel("rows")
    _save(figure, path)


def _plot_equity(section: AssetSection, path: Path) -> None:
    figure, axes = plt.subplots(figsize=(8, 4))
    x = np.arange(len(section.equity))
    axes.plot(x, section.equity.to_numpy(), color="tab:green", label=section.equity_label)
    axes.plot(x, section.buy_and_hold.to_numpy(), color="grey", linewidth=0.8, label="buy and hold")
    axes.axhline(1.0, color="black", linewidth=0.5)
    if len(section.equity):
        axes.set_xlabel(
            f"out-of-sample rows, {section.equity.index[0]:%Y-%m-%d %H:%M} .. "
            f"{section.equity.index[-1]:%Y-%m-%d %H:%M} UTC"
        )
    axes.set_ylabel("growth of 1")
    axes.set_title(f"{section.title}: walk-forward equity")
    axes.legend(loc="best", fontsize=8)
    _save(figure, path)


def _save(figure: Figure, path: Path) -> None:
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
