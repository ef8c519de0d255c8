"""The prediction markets' place on the road: the consensus and the 3-gate entry as one stage.

A prediction-market entry reaches this stage with the estimates its bot read; the stage takes
the consensus again at the price of the moment (the calibration may have learned since), then
the three gates of `gates.py` in order: edge after spread and fees, the ML gate, the recent
trades. The first that fails rejects the entry with its reason code and sentence, and every
gate's numbers go into the decision's details, so the journal says which gate refused what.
Each verdict is also kept as the bot's `EdgeRecord` of the market (`on_edge`): the dashboard's
edge table and the ML gate's training set.

`AssetClassSplit` puts this stage and the price ensemble in one slot of the road: a prediction
signal goes to the consensus, every other one to the ensemble.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bots.event_trading.consensus import Consensus
from bots.event_trading.desk import EdgeDesk
from bots.event_trading.gates import (
    BookTop,
    EdgeFeatures,
    GateResult,
    edge_gate,
    price_gate,
    side_probability,
)
from domain.contracts import ContractSpec
from domain.fees import FeeSchedule
from domain.instruments import AssetClass, Instrument
from domain.market import Quote
from domain.pipeline import SignalContext, Stage
from domain.prediction_records import EdgeRecord
from domain.signals import Decision, ReasonCode, Signal, SignalIntent
from scrapers.base import MalformedPayload, SourceEstimate, SourceUnavailable
from scrapers.router import Estimates

log = logging.getLogger(__name__)

QuoteOf = Callable[[Instrument], Awaitable[Quote | None]]
EdgeRecorder = Callable[[EdgeRecord], None]


@dataclass(frozen=True, slots=True)
class GateSettings:
    min_edge: float = 0.05
    price_lookback: timedelta = timedelta(hours=1)
    max_premium_to_vwap: float = 0.03
    max_adverse_drift: float = 0.10
    spike_move: float = 0.08
    spike_window: timedelta = timedelta(minutes=5)


def estimates_from_evidence(contract: ContractSpec, evidence: Mapping[str, Any], now: datetime) -> Estimates:
    """The estimates a bot put in its signal (`evidence["estimates"]`: source -> YES probability)."""
    raw = evidence.get("estimates")
    if not isinstance(raw, Mapping):
        raise ValueError("the signal carries no estimates (evidence['estimates'])")
    estimates = []
    for source, value in raw.items():
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ValueError(f"estimate of {source!r} is not a number: {value!r}")
        estimates.append(SourceEstimate(str(source), float(value), now))
    return Estimates(contract, tuple(estimates), ())


class PredictionGateStage:
    name = "consensus"

    def __init__(
        self,
        desk: EdgeDesk,
        quote_of: QuoteOf,
        fees: Mapping[str, FeeSchedule],
        settings: GateSettings = GateSettings(),
        on_edge: EdgeRecorder | None = None,
    ) -> None:
        self._desk = desk
        self._quote_of = quote_of
        self._fees = dict(fees)
        self._settings = settings
        self._on_edge = on_edge

    async def evaluate(self, signal: Signal, ctx: SignalContext) -> Decision:
        if signal.intent is SignalIntent.CLOSE:
            return Decision.accept(self.name, "exits are not gated")
        contract = signal.instrument.contract
        if contract is None:
            return Decision.reject(
                self.name,
                ReasonCode.NO_CONSENSUS,
                f"{signal.instrument.symbol}: the market's terms are unknown, so no source can price it",
            )
        try:
            found = estimates_from_evidence(contract, signal.evidence, ctx.now)
        except ValueError as error:
            return Decision.reject(self.name, ReasonCode.NO_CONSENSUS, f"{contract.ticker}: {error}")
        quote = await self._quote_of(signal.instrument)
        if quote is None:
            return Decision.reject(
                self.name, ReasonCode.NO_PRICE, f"no price for {contract.ticker}: the consensus has no crowd"
            )
        crowd = float(quote.mid)
        verdict = self._desk.consensus(contract, found, crowd)
        details: dict[str, Any] = {"consensus": verdict.to_dict(), "gates": []}
        if not verdict.has_edge or verdict.probability is None or verdict.side is None:
            return Decision.reject(self.name, ReasonCode.NO_CONSENSUS, verdict.reason, details)
        if verdict.side != _side_of(signal):
            why = f"the consensus now favours {verdict.side.upper()}, not this entry ({verdict.reason})"
            return Decision.reject(self.name, ReasonCode.NO_CONSENSUS, why, details)
        fees = self._fees.get(signal.instrument.venue)
        if fees is None:
            return Decision.reject(
                self.name, ReasonCode.EDGE_TOO_SMALL, f"no fee schedule for {signal.instrument.venue}"
            )
        book = BookTop(quote.bid, quote.ask)
        settings = self._settings
        results: list[GateResult] = []
        edge = edge_gate(verdict, book, fees, min_edge=settings.min_edge)
        results.append(edge)
        side = verdict.side
        side_p = side_probability(verdict.probability, side)
        cost = float(book.ask(side)) + float(str(edge.details.get("fee_per_contract", 0)))
        probabilities = [e.probability for e in found.estimates]
        spread = max(probabilities) - min(probabilities)
        features = EdgeFeatures(side_p - cost, cost, len(probabilities), spread)
        if edge.passed:
            ml = self._desk.ml_gate.check(features, side_p)
            results.append(ml)
            if ml.passed:
                try:
                    trades = await self._desk.trades(
                        signal.instrument.venue, contract.ticker, ctx.now - settings.price_lookback, ctx.now
                    )
                except (SourceUnavailable, MalformedPayload) as error:
                    why = f"the trade tape cannot be read ({error}), so the price cannot be checked"
                    results.append(GateResult("price", False, why))
                    trades = None
                if trades is not None:
                    results.append(
                        price_gate(
                            trades,
                            side,
                            float(book.ask(side)),
                            ctx.now,
                            lookback=settings.price_lookback,
                            max_premium_to_vwap=settings.max_premium_to_vwap,
                            max_adverse_drift=settings.max_adverse_drift,
                            spike_move=settings.spike_move,
                            spike_window=settings.spike_window,
                        )
                    )
        details["gates"] = [result.to_dict() for result in results]
        failed = next((result for result in results if not result.passed), None)
        self._remember(
            self._record(
                signal,
                contract,
                verdict,
                found,
                features,
                None if failed is None else failed.gate,
                "" if failed is None else failed.reason,
            )
        )
        if failed is not None:
            code = {"edge": ReasonCode.EDGE_TOO_SMALL, "ml": ReasonCode.ML_GATE}.get(
                failed.gate, ReasonCode.PRICE_GATE
            )
            return Decision.reject(self.name, code, f"{failed.gate} gate: {failed.reason}", details)
        summary = "; ".join(result.reason for result in results)
        return Decision.accept(
            self.name, f"{verdict.reason}; {summary}", confidence=verdict.probability, details=details
        )

    def _record(
        self,
        signal: Signal,
        contract: ContractSpec,
        verdict: Consensus,
        found: Estimates,
        features: EdgeFeatures,
        gate: str | None,
        reason: str,
    ) -> EdgeRecord:
        assert verdict.side is not None and verdict.probability is not None
        return EdgeRecord(
            bot=signal.bot,
            instrument_key=signal.instrument.key,
            domain=contract.domain.value,
            side=verdict.side,
            crowd_price=verdict.crowd_price,
            probability=verdict.probability,
            edge=features.edge,
            side_price=features.side_price,
            estimates={e.source: e.probability for e in found.estimates},
            first_seen=signal.time,
            last_seen=signal.time,
            gate=gate,
            gate_reason=reason,
        )

    def _remember(self, record: EdgeRecord) -> None:
        if self._on_edge is None:
            return
        try:
            self._on_edge(record)
        except Exception:  # the journal of edges must never stop the road
            log.exception("could not record the edge of %s on %s", record.bot, record.instrument_key)


def _side_of(signal: Signal) -> str:
    """The contract side an entry buys: our Kalshi instruments are the YES contract."""
    return "yes" if signal.side.sign > 0 else "no"


class AssetClassSplit:
    """One slot of the road, two stages: prediction signals to one, all others to the other
    (None: pass them untouched, saying so).

    A prediction signal of a bot in `self_priced` (a `bots.self_priced.SelfPricedBot`: a bias
    fader, an arbitrage) has no domain sources to agree on: it passes on its bot's own pricing,
    which its reason states, and the risk engine sizes and limits it as any other."""

    def __init__(
        self,
        name: str,
        prediction: Stage | None,
        other: Stage | None,
        self_priced: frozenset[str] = frozenset(),
    ) -> None:
        self.name = name
        self._prediction = prediction
        self._other = other
        self._self_priced = self_priced

    async def evaluate(self, signal: Signal, ctx: SignalContext) -> Decision:
        if signal.instrument.asset_class is AssetClass.PREDICTION:
            if signal.bot in self._self_priced:
                return Decision.accept(self.name, f"priced by {signal.bot}'s own model: {signal.reason}")
            if self._prediction is None:
                return Decision.reject(
                    self.name,
                    ReasonCode.NO_CONSENSUS,
                    f"{signal.bot} is no event-trading bot and prices nothing itself: "
                    "no stage of this daemon can price its prediction-market entry",
                )
            return await self._prediction.evaluate(signal, ctx)
        if self._other is None:
            return Decision.accept(self.name, "the ensemble is off")
        return await self._other.evaluate(signal, ctx)
