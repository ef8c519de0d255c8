"""The edge scorecard: did the consensus engine's edges pay, and which sources earned their weight?

One row per domain and, under it, one per source of that domain. A domain row scores the
consensus: of its edge records, how many settled, how many of those were on the winning side
(`hits`), the consensus's Brier score on them against the crowd's (the YES price it was taken
against), and the trades and P&L. A source row scores one source on the same records: a hit is
a settled record where the source's own side was right (its probability above the crowd's
price says YES, below says NO; exactly at the price it says nothing, which counts as a miss).
Its Brier score comes from its calibration record instead, which covers every settled market
it priced, not only those where an edge was seen. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from domain.prediction_records import Calibration, EdgeRecord

RowLevel = Literal["domain", "source"]


@dataclass(frozen=True, slots=True)
class EdgeRow:
    """A row of the scorecard. `source` is None on a domain row; `crowd_brier` is set on domain
    rows only and `priced` (settled markets in the source's calibration record) on source rows only."""

    level: RowLevel
    domain: str
    source: str | None
    signals: int
    settled: int
    hits: int
    hit_rate: float | None  # None when nothing settled
    brier: float | None  # None when nothing settled (domain) or priced (source)
    crowd_brier: float | None
    priced: int | None
    trades: int
    pnl: Decimal

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "domain": self.domain,
            "source": self.source,
            "signals": self.signals,
            "settled": self.settled,
            "hits": self.hits,
            "hit_rate": self.hit_rate,
            "brier": self.brier,
            "crowd_brier": self.crowd_brier,
            "priced": self.priced,
            "trades": self.trades,
            "pnl": str(self.pnl),
        }


def edge_scorecard(
    edges: Sequence[EdgeRecord], calibrations: Mapping[str, Mapping[str, Calibration]]
) -> list[EdgeRow]:
    """The scorecard of `edges` (every bot's edge records) with the sources' calibration records
    (domain -> source -> record): per domain, its row and then its sources' rows by name."""
    domains = sorted({e.domain for e in edges} | set(calibrations))
    rows: list[EdgeRow] = []
    for domain in domains:
        records = [e for e in edges if e.domain == domain]
        records_calibrations = calibrations.get(domain, {})
        rows.append(_domain_row(domain, records))
        sources = {source for e in records for source in e.estimates} | set(records_calibrations)
        for source in sorted(sources):
            priced_by = [e for e in records if source in e.estimates]
            rows.append(_source_row(domain, source, priced_by, records_calibrations.get(source)))
    return rows


def _domain_row(domain: str, records: Sequence[EdgeRecord]) -> EdgeRow:
    settled = [e for e in records if e.outcome_yes is not None]
    hits = sum(1 for e in settled if e.won)
    return EdgeRow(
        level="domain",
        domain=domain,
        source=None,
        signals=len(records),
        settled=len(settled),
        hits=hits,
        hit_rate=_rate(hits, len(settled)),
        brier=_mean_squared_error((e.probability, _outcome(e)) for e in settled),
        crowd_brier=_mean_squared_error((e.crowd_price, _outcome(e)) for e in settled),
        priced=None,
        trades=sum(1 for e in records if e.traded),
        pnl=_pnl(records),
    )


def _source_row(
    domain: str, source: str, records: Sequence[EdgeRecord], calibration: Calibration | None
) -> EdgeRow:
    settled = [e for e in records if e.outcome_yes is not None]
    hits = sum(1 for e in settled if _source_was_right(e.estimates[source], e))
    priced = 0 if calibration is None else calibration.settled
    brier = None if calibration is None or priced == 0 else calibration.squared_error_sum / priced
    return EdgeRow(
        level="source",
        domain=domain,
        source=source,
        signals=len(records),
        settled=len(settled),
        hits=hits,
        hit_rate=_rate(hits, len(settled)),
        brier=brier,
        crowd_brier=None,
        priced=priced,
        trades=sum(1 for e in records if e.traded),
        pnl=_pnl(records),
    )


def _source_was_right(probability: float, edge: EdgeRecord) -> bool:
    """Whether the side the source's probability takes against the crowd's price paid."""
    if probability == edge.crowd_price:
        return False  # no side taken: not a hit
    return (probability > edge.crowd_price) == edge.outcome_yes


def _outcome(edge: EdgeRecord) -> float:
    return 1.0 if edge.outcome_yes else 0.0


def _rate(hits: int, settled: int) -> float | None:
    return None if settled == 0 else hits / settled


def _mean_squared_error(pairs: Iterable[tuple[float, float]]) -> float | None:
    errors = [(forecast - outcome) ** 2 for forecast, outcome in pairs]
    return None if not errors else sum(errors) / len(errors)


def _pnl(records: Iterable[EdgeRecord]) -> Decimal:
    return sum((e.pnl for e in records if e.pnl is not None), Decimal(0))
