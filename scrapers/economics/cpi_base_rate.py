"""The CPI base rate: Kalshi's KXCPI contracts priced from the recent history of CPI alone.

A statistical model that knows nothing of the month it prices. The published month-over-month
changes (FRED's CPIAUCSL, to one decimal, as KXCPI reads them) of the `months` months before the
contract's data month give a mean and a sample standard deviation; the month's number is taken
as Normal(mean, sd) and P(YES) follows from `band_probability`, as for the nowcast.

Why the consensus wants it: the Cleveland Fed nowcast reads the month's own data, the base rate
only the past, so their errors are independent. Where both sit on the same side of the crowd's
price, the crowd is off from the month's data and from history alike. Alone it is weak (three
years of CPI m/m spread about 0.15-0.2 pp, against the nowcast's 0.10 pp); the consensus
weights it by its measured calibration.

Probabilities are clipped to [0.02, 0.98]: a Normal fitted to three years of data cannot
support odds beyond fifty to one in its tails (one energy shock is enough), and a near-certain
claim would outweigh every other source. The standard deviation has a floor of 0.05 pp (half a
published step) so that a run of identical months does not make the model certain. The
unclipped value is in the evidence. Fewer than `min_months` changes: no estimate.
"""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from domain.contracts import ContractSpec, Domain, Measure, Strike
from scrapers.base import (
    EstimateResult,
    MalformedPayload,
    NoEstimate,
    SourceEstimate,
    SourceHealth,
    SourceUnavailable,
)
from scrapers.economics.fred import FredSource, parse_period_month
from scrapers.probability import band_probability

PROBABILITY_FLOOR = 0.02
PROBABILITY_CEILING = 0.98
MIN_SIGMA_PP = 0.05
DECIMALS = 1  # KXCPI settles on the change published to one decimal


def base_rate(changes: Sequence[Decimal]) -> tuple[float, float]:
    """The mean and the sample standard deviation (floored at `MIN_SIGMA_PP`) of `changes`, in pp."""
    if len(changes) < 2:
        raise ValueError(f"a base rate needs at least two months, got {len(changes)}")
    values = [float(c) for c in changes]
    return statistics.fmean(values), max(MIN_SIGMA_PP, statistics.stdev(values))


def base_rate_probability(mean_pct: float, sigma_pp: float, strike: Strike) -> tuple[float, float]:
    """P(YES) clipped to [`PROBABILITY_FLOOR`, `PROBABILITY_CEILING`], and unclipped."""
    raw = band_probability(mean_pct, strike, sigma_pp, decimals=DECIMALS)
    return min(PROBABILITY_CEILING, max(PROBABILITY_FLOOR, raw)), raw


def months_before(month: date, count: int) -> date:
    """The first day of the month `count` months before `month`."""
    index = month.year * 12 + month.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


class CpiBaseRateSource:
    """P(YES) for CPI m/m contracts from the mean and spread of the months before their data month."""

    name = "cpi_base_rate"
    domains = frozenset({Domain.ECONOMICS})

    def __init__(self, fred: FredSource, months: int = 36, min_months: int = 12) -> None:
        if not 2 <= min_months <= months:
            raise ValueError(f"cpi_base_rate needs 2 <= min_months <= months, got {min_months} and {months}")
        self.fred = fred
        self.months = months
        self.min_months = min_months

    def health(self) -> SourceHealth:
        return dataclasses.replace(self.fred.health(), name=self.name)

    async def estimate(self, contract: ContractSpec, now: datetime) -> EstimateResult:
        if contract.domain is not Domain.ECONOMICS or contract.measure is not Measure.CPI_MOM_PCT:
            return NoEstimate(
                self.name, f"the CPI base rate prices only CPI m/m contracts, not {contract.measure}"
            )
        if contract.strike is None or contract.period is None:
            return NoEstimate(self.name, f"{contract.ticker} has no strike or data month")
        try:
            target = parse_period_month(contract.period)
        except ValueError as error:
            return NoEstimate(self.name, str(error))
        start = months_before(target, self.months)
        try:
            history = await asyncio.to_thread(self.fred.cpi_mom_history, now, start)
        except (SourceUnavailable, MalformedPayload) as error:
            return NoEstimate(self.name, str(error))
        changes = [c.pct for c in history if c.month < target][-self.months :]
        if len(changes) < self.min_months:
            why = f"{len(changes)} published months before {target:%Y-%m}; it needs {self.min_months}"
            return NoEstimate(self.name, why)
        mean, sigma = base_rate(changes)
        probability, raw = base_rate_probability(mean, sigma, contract.strike)
        return SourceEstimate(
            source=self.name,
            probability=probability,
            as_of=now,
            evidence={
                "series": "CPIAUCSL",
                "data_month": target.isoformat(),
                "months": len(changes),
                "mean_pct": round(mean, 6),
                "sigma_pp": round(sigma, 6),
                "last_month": history[-1].month.isoformat() if history else None,
                "unclipped_probability": raw,
            },
        )
