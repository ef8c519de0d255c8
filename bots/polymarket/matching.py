"""Which Polymarket market asks the same question as which Kalshi market, and which pairs are safe.

Markets pair by their terms, never by ticker or title: the same `domain`, `measure`, `subject`,
`day` and `period` (none of them UNKNOWN), and the same `strike` (type and bounds), or for an
outcome market without a strike the same `outcome` text (case aside). Such a question-twin is
still refused when it is not the same bet:

- a side does not say what settles it (an empty `resolution_source`);
- the two settle on different sources (Kalshi's KXHIGHCHI on Midway's NWS climate report,
  Polymarket's Chicago markets on Weather Underground's O'Hare page: the two highs differ now
  and then, and YES on one with NO on the other then loses both legs);
- more than one Kalshi market claims the Polymarket one (ambiguous: the terms do not decide).

A Polymarket market parsed from Gamma has measure UNKNOWN until a parser reads its question, so
it never pairs: the safe default.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from domain.contracts import ContractSpec, Domain, Measure, Strike
from domain.instruments import Instrument

__all__ = ["MarketPair", "MatchResult", "Unmatched", "match_markets", "question_key", "same_source"]


log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MarketPair:
    """A Kalshi market and a Polymarket market that settle on the same question from the same source."""

    kalshi: ContractSpec
    polymarket: ContractSpec


@dataclass(frozen=True, slots=True)
class Unmatched:
    """A Polymarket market that asks a Kalshi market's question but may not be paired with it, and why."""

    contract: ContractSpec
    reason: str


@dataclass(frozen=True, slots=True)
class MatchResult:
    pairs: tuple[MarketPair, ...]
    refused: tuple[Unmatched, ...]


# (domain, measure, subject, day, period, strike, outcome casefolded or None when there is a strike)
QuestionKey = tuple[Domain, Measure, str, date | None, str | None, Strike | None, str | None]


def question_key(contract: ContractSpec) -> QuestionKey | None:
    """What decides whether two contracts ask the same question; None when it cannot be said."""
    if contract.domain is Domain.UNKNOWN or contract.measure is Measure.UNKNOWN:
        return None
    outcome: str | None = None
    if contract.strike is None:
        if not contract.outcome or not contract.outcome.strip():
            return None  # neither a strike nor a named outcome: nothing says where YES pays
        outcome = contract.outcome.strip().casefold()
    return (
        contract.domain,
        contract.measure,
        contract.subject,
        contract.day,
        contract.period,
        contract.strike,
        outcome,
    )


def _normalised(source: str) -> str:
    return " ".join(source.casefold().split())


def same_source(first: ContractSpec, second: ContractSpec) -> bool:
    """Whether two contracts name one resolution source (case and spacing aside); never if one is silent."""
    ours, theirs = _normalised(first.resolution_source), _normalised(second.resolution_source)
    return bool(ours) and ours == theirs


def _refusal(kalshi: ContractSpec, polymarket: ContractSpec) -> str | None:
    """Why a question-twin is not the same bet, or None when it is."""
    silent = [c.ticker for c in (kalshi, polymarket) if not c.resolution_source.strip()]
    if silent:
        return " and ".join(silent) + (" does" if len(silent) == 1 else " do") + " not say what settles it"
    if not same_source(kalshi, polymarket):
        return (
            f"{kalshi.ticker} settles on {kalshi.resolution_source!r} but {polymarket.ticker} on "
            f"{polymarket.resolution_source!r}: the two can settle differently, so YES on one and "
            "NO on the other is not a sure dollar"
        )
    return None


def match_markets(kalshi: Sequence[ContractSpec], polymarket: Sequence[ContractSpec]) -> MatchResult:
    """Pair each Polymarket contract with the one Kalshi contract asking its question (see the module doc).

    Polymarket contracts with no Kalshi twin are left out of both lists. Pairs and refusals come in
    Kalshi ticker order (then Polymarket ticker), whatever the order of the inputs.
    """
    by_question: dict[QuestionKey, list[ContractSpec]] = defaultdict(list)
    for contract in kalshi:
        key = question_key(contract)
        if key is not None:
            by_question[key].append(contract)
    pairs: list[MarketPair] = []
    refused: list[tuple[str, Unmatched]] = []
    for contract in polymarket:
        key = question_key(contract)
        twins = sorted(by_question.get(key, []), key=lambda c: c.ticker) if key is not None else []
        if not twins:
            continue
        if len(twins) > 1:
            claimants = ", ".join(twin.ticker for twin in twins)
            reason = (
                f"{contract.ticker} asks the same question as {len(twins)} Kalshi markets ({claimants}), "
                "so which one it mirrors is ambiguous"
            )
            refused.append((twins[0].ticker, Unmatched(contract, reason)))
            continue
        reason_or_none = _refusal(twins[0], contract)
        if reason_or_none is None:
            pairs.append(MarketPair(twins[0], contract))
        else:
            refused.append((twins[0].ticker, Unmatched(contract, reason_or_none)))
    pairs.sort(key=lambda pair: (pair.kalshi.ticker, pair.polymarket.ticker))
    refused.sort(key=lambda item: (item[0], item[1].contract.ticker))
    return MatchResult(tuple(pairs), tuple(unmatched for _, unmatched in refused))


class PairedMarkets:
    """The matched pairs among a bot's markets on the two venues, as (Kalshi instrument, Polymarket
    instrument), computed again only when the bot's markets change (the listing job adds some).
    Polymarket's markets are the ones its symbols say (`0x<condition id>:<token id>`)."""

    def __init__(self) -> None:
        self._count = -1
        self._pairs: list[tuple[Instrument, Instrument]] = []
        self.refused: tuple[Unmatched, ...] = ()

    def of(self, instruments: Sequence[Instrument]) -> list[tuple[Instrument, Instrument]]:
        if len(instruments) == self._count:
            return self._pairs
        by_ticker = {(i.venue, i.symbol): i for i in instruments}
        polymarket = [i.contract for i in instruments if i.contract and _is_polymarket(i)]
        kalshi = [i.contract for i in instruments if i.contract and not _is_polymarket(i)]
        result = match_markets(kalshi, polymarket)
        self._pairs = [
            (
                by_ticker[(p.kalshi.venue, p.kalshi.ticker)],
                by_ticker[(p.polymarket.venue, p.polymarket.ticker)],
            )
            for p in result.pairs
        ]
        if result.refused and result.refused != self.refused:
            log.info(
                "%d market(s) on both venues not paired, e.g. %s",
                len(result.refused),
                result.refused[0].reason,
            )
        self.refused = result.refused
        self._count = len(instruments)
        return self._pairs


def _is_polymarket(instrument: Instrument) -> bool:
    return instrument.symbol.startswith(("0x", "0X"))
