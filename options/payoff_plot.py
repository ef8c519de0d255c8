"""Payoff diagrams: a strategy's profit at expiry (and optionally today) drawn to a PNG.

.venv/bin/python -m options.payoff_plot   # writes docs/screenshots/options_iron_condor.png
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from options.bsm import FloatArray, bsm_price
from options.portfolio import VolInput
from options.strategies import (
    LegSpec,
    StrategyPosition,
    breakevens,
    iron_condor,
    payoff_at_expiry,
    value_before_expiry,
)

_POINTS = 601


@dataclass(frozen=True)
class TodayCurve:
    """Market inputs for the curve of the strategy's value if closed on `valuation_date` (BSM)."""

    vol: VolInput
    rate: float
    dividend: float
    valuation_date: date


def price_grid(strategy: StrategyPosition, spot: float | None = None) -> FloatArray:
    """Underlying prices from 30 % below the lowest to 30 % above the highest strike (or spot)."""
    anchors = [*strategy.strikes, *(stock.price for stock in strategy.stocks)]
    if spot is not None:
        anchors.append(spot)
    return np.linspace(0.7 * min(anchors), 1.3 * max(anchors), _POINTS)


def plot_payoff(
    strategy: StrategyPosition, path: Path, spot: float | None = None, today: TodayCurve | None = None
) -> Path:
    """Draw the payoff at expiry (and today's value curve if `today` is given) to the PNG at `path`."""
    prices = price_grid(strategy, spot)
    at_expiry = payoff_at_expiry(strategy, prices)
    # a bare Figure on the Agg canvas: no pyplot, so no global figure registry or backend switch
    figure = Figure(figsize=(8, 4.5), dpi=120)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    axes.axhline(0.0, color="grey", linewidth=0.8)
    axes.fill_between(
        prices, at_expiry, 0.0, where=at_expiry >= 0, interpolate=True, color="tab:green", alpha=0.15
    )
    axes.fill_between(
        prices, at_expiry, 0.0, where=at_expiry < 0, interpolate=True, color="tab:red", alpha=0.15
    )
    axes.plot(prices, at_expiry, color="black", linewidth=1.8, label="at expiry")
    if today is not None:
        now = value_before_expiry(
            strategy, prices, today.vol, today.rate, today.dividend, today.valuation_date
        )
        axes.plot(prices, now, color="tab:blue", linestyle="--", label=f"on {today.valuation_date}")
    for level in breakevens(strategy):
        axes.axvline(level, color="tab:orange", linestyle=":", linewidth=1.0)
        axes.annotate(f"{level:.2f}", (level, 0.0), textcoords="offset points", xytext=(4, 6))
    if spot is not None:
        axes.axvline(spot, color="tab:blue", linewidth=0.8, alpha=0.6, label=f"spot {spot:g}")
    underlying = strategy.legs[0].underlying
    axes.set_title(f"{strategy.name.capitalize()} on {underlying}: profit and loss")
    axes.set_xlabel(f"{underlying} price")
    axes.set_ylabel("profit / loss (currency)")
    axes.legend(loc="best")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path


def _example_iron_condor(path: Path) -> Path:
    """The README's example: a 90/95/105/110 iron condor on a spot of 100, priced with BSM at 20 % vol."""
    valuation, expiry = date(2026, 3, 2), date(2026, 4, 17)
    strikes = (90.0, 95.0, 105.0, 110.0)
    t = (expiry - valuation).days / 365.0
    kinds = np.array([False, False, True, True])
    premiums = bsm_price(kinds, 100.0, np.array(strikes), t, 0.04, 0.20)
    condor = iron_condor(
        LegSpec("SPY", expiry), strikes, (premiums[0], premiums[1], premiums[2], premiums[3])
    )
    return plot_payoff(condor, path, spot=100.0, today=TodayCurve(0.20, 0.04, 0.0, date(2026, 3, 30)))


if __name__ == "__main__":
    written = _example_iron_condor(Path("docs/screenshots/options_iron_condor.png"))
    print(f"wrote {written}")
