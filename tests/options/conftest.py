"""QuantLib oracles for the options tests: one vanilla option priced by QuantLib's own engines.

Flat curves, continuous compounding, Actual365Fixed, valuation date fixed below, expiry
`days` calendar days later, so QuantLib's t is exactly days / 365 like ours.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
import QuantLib as ql

VALUATION = ql.Date(2, ql.January, 2026)
DAY_COUNT = ql.Actual365Fixed()

# the grid the brief asks for: moneyness 0.7..1.3, 1 week..2 years, rate 0..8 %, dividend 0..5 %, vol 5..80 %
MONEYNESS = (0.7, 0.85, 0.95, 1.0, 1.05, 1.15, 1.3)  # spot / strike
EXPIRY_DAYS = (7, 30, 91, 365, 730)
RATES = (0.0, 0.03, 0.08)
DIVIDENDS = (0.0, 0.02, 0.05)
VOLS = (0.05, 0.2, 0.45, 0.8)
STRIKE = 100.0


@dataclass(frozen=True)
class GridPoint:
    is_call: bool
    spot: float
    strike: float
    days: int
    rate: float
    dividend: float
    vol: float

    @property
    def t(self) -> float:
        return self.days / 365.0


@dataclass(frozen=True)
class GridArrays:
    is_call: np.ndarray
    spot: np.ndarray
    strike: np.ndarray
    t: np.ndarray
    rate: np.ndarray
    dividend: np.ndarray
    vol: np.ndarray


def grid_points() -> Iterator[GridPoint]:
    for is_call, m, days, r, q, v in itertools.product(
        (True, False), MONEYNESS, EXPIRY_DAYS, RATES, DIVIDENDS, VOLS
    ):
        yield GridPoint(is_call, STRIKE * m, STRIKE, days, r, q, v)


def as_arrays(points: list[GridPoint]) -> GridArrays:
    def column(name: str) -> np.ndarray:
        return np.array([getattr(p, name) for p in points])

    return GridArrays(
        column("is_call"),
        column("spot"),
        column("strike"),
        column("t"),
        column("rate"),
        column("dividend"),
        column("vol"),
    )


@pytest.fixture(scope="session", autouse=True)
def quantlib_evaluation_date() -> Iterator[None]:
    # QuantLib keeps its evaluation date in a global; set it for the session and restore it after
    settings = ql.Settings.instance()
    previous = settings.evaluationDate
    settings.evaluationDate = VALUATION
    yield
    settings.evaluationDate = previous


def quantlib_option(
    point: GridPoint, engine: str = "analytic", steps: int = 0, american: bool = False
) -> ql.VanillaOption:
    """A priced QuantLib VanillaOption; engine "analytic" or a binomial tree name such as "crr"."""
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(point.spot)),
        ql.YieldTermStructureHandle(ql.FlatForward(VALUATION, point.dividend, DAY_COUNT)),
        ql.YieldTermStructureHandle(ql.FlatForward(VALUATION, point.rate, DAY_COUNT)),
        ql.BlackVolTermStructureHandle(
            ql.BlackConstantVol(VALUATION, ql.NullCalendar(), point.vol, DAY_COUNT)
        ),
    )
    kind = ql.Option.Call if point.is_call else ql.Option.Put
    expiry = VALUATION + point.days
    exercise = ql.AmericanExercise(VALUATION, expiry) if american else ql.EuropeanExercise(expiry)
    option = ql.VanillaOption(ql.PlainVanillaPayoff(kind, point.strike), exercise)
    if engine == "analytic":
        option.setPricingEngine(ql.AnalyticEuropeanEngine(process))
    else:
        option.setPricingEngine(ql.BinomialVanillaEngine(process, engine, steps))
    return option
