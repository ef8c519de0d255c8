"""Atlanta Fed GDPNow (via FRED's `GDPNOW` series) for Kalshi's KXGDP contracts.

A KXGDP event is named for the BEA release date (`KXGDP-26JUL30`, `ContractSpec.day`) and settles
on the **advance** estimate of real GDP growth, q/q SAAR, published to one decimal (reference
§1.11). The advance release comes about 30 days after the quarter ends, so the quarter a contract
asks about is the one before the quarter its release date falls in: 2026-07-30 is Q2 2026.

FRED's `GDPNOW` is quarterly, dated the quarter's first day (`2026-04-01` is Q2), and the current
quarter's value is revised in place as the Atlanta Fed updates its nowcast until the advance
release; `"."` where the model has no nowcast for the quarter yet.

Model: advance estimate ~ Normal(GDPNow, 0.8 pp), P(YES) by `band_probability` on the one-decimal
grid. The 0.8 pp band is a modelling choice, of the order of the Atlanta Fed's reported average
absolute error of its final nowcasts against the advance estimate (UNVERIFIED here; early in a
quarter the error is larger, so the band is optimistic then). Probabilities are clipped to
[0.01, 0.99]: the Normal tail understates how often the nowcast misses by 2-3 pp (2020, shocks
late in the quarter), and a near-certain claim from one nowcast would outweigh every other
source in the consensus; the unclipped value is in the evidence.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from domain.contracts import ContractSpec, Domain, Measure
from scrapers.base import (
    EstimateResult,
    MalformedPayload,
    NoEstimate,
    SourceEstimate,
    SourceHealth,
    SourceUnavailable,
)
from scrapers.economics.fred import FredClient, Observation
from scrapers.probability import band_probability

GDPNOW_SERIES = "GDPNOW"
SIGMA_PP = 0.8
DECIMALS = 1
PROBABILITY_FLOOR, PROBABILITY_CEILING = 0.01, 0.99
BEA_RELEASE_TIME = time(8, 30)  # BEA publishes GDP at 08:30 Eastern
EASTERN = ZoneInfo("America/New_York")


def quarter_before(release_day: date) -> date:
    """The first day of the quarter an advance release on `release_day` covers: the quarter
    before the one `release_day` is in (2026-07-30 -> 2026-04-01, 2026-01-29 -> 2025-10-01)."""
    first_month = (release_day.month - 1) // 3 * 3 + 1
    if first_month == 1:
        return date(release_day.year - 1, 10, 1)
    return date(release_day.year, first_month - 3, 1)


def quarter_label(quarter_start: date) -> str:
    return f"{quarter_start.year}Q{(quarter_start.month - 1) // 3 + 1}"


def nowcast_for_quarter(observations: list[Observation], quarter_start: date) -> Observation | None:
    """The observation dated `quarter_start` if it has a value."""
    for observation in observations:
        if observation.date == quarter_start and observation.value is not None:
            return observation
    return None


class GdpNowSource:
    """P(YES) for GDP_QOQ_SAAR_PCT contracts from the latest GDPNow nowcast of their quarter."""

    name = "gdpnow"
    domains = frozenset({Domain.ECONOMICS})

    def __init__(self, fred: FredClient) -> None:
        self.fred = fred

    def health(self) -> SourceHealth:
        return dataclasses.replace(self.fred.health(), name=self.name)

    async def estimate(self, contract: ContractSpec, now: datetime) -> EstimateResult:
        if contract.domain is not Domain.ECONOMICS or contract.measure is not Measure.GDP_QOQ_SAAR_PCT:
            return NoEstimate(self.name, f"gdpnow prices only GDP q/q SAAR contracts, not {contract.measure}")
        if contract.strike is None or contract.day is None:
            return NoEstimate(self.name, f"{contract.ticker} has no strike or release date")
        released_at = datetime.combine(contract.day, BEA_RELEASE_TIME, tzinfo=EASTERN)
        if now >= released_at:
            return NoEstimate(
                self.name,
                f"the advance estimate was due {released_at:%Y-%m-%d %H:%M %Z}; a nowcast no longer applies",
            )
        quarter = quarter_before(contract.day)
        try:
            observations = await asyncio.to_thread(self.fred.observations, GDPNOW_SERIES, now, quarter)
        except (SourceUnavailable, MalformedPayload) as error:
            return NoEstimate(self.name, str(error))
        nowcast = nowcast_for_quarter(observations, quarter)
        if nowcast is None or nowcast.value is None:
            return NoEstimate(self.name, f"GDPNow has no nowcast for {quarter_label(quarter)} yet")
        raw = band_probability(nowcast.value, contract.strike, SIGMA_PP, decimals=DECIMALS)
        return SourceEstimate(
            source=self.name,
            probability=min(PROBABILITY_CEILING, max(PROBABILITY_FLOOR, raw)),
            as_of=now,
            evidence={
                "series": GDPNOW_SERIES,
                "quarter": quarter_label(quarter),
                "nowcast_pct": str(nowcast.value),
                "sigma_pp": SIGMA_PP,
                "decimals": DECIMALS,
                "release_day": contract.day.isoformat(),
                "unclipped_probability": raw,
            },
        )
