"""The 3-gate entry for prediction markets: edge after costs, the ML gate, price intelligence.

Each gate is a pure function over plain data that answers a `GateResult` (passed or not, a
sentence, the numbers). A bot journals every gate's result with its signal, so a refused
entry says which gate refused it and why.

1. **Edge** (`edge_gate`): the consensus probability of the side against what buying that side
   costs now: the ask (so the spread is paid) plus the venue's taker fee per contract, taken on
   `fee_lot` contracts (Kalshi rounds a whole order's fee up to the cent, so one contract alone
   would overstate it). edge = P(side) − (ask + fee per contract); it must reach `min_edge`.
2. **ML gate** (`MlGate`): a model of which edges have won. Until `min_training` settled signals
   exist it applies a documented prior: refuse sides the consensus itself gives less than
   `min_side_probability` (our own longshots: the longshot bias of §8 cuts both ways, a 5 ¢
   contract wins about 4 %), and refuse when the sources spread more than `max_source_spread`
   apart (they agree on the side but not on the size). Once trained (`train_ml_gate`: a
   logistic regression on edge, side price, number of sources and source spread), it passes an
   entry whose predicted win probability makes the expected value at the ask positive.
3. **Price intelligence** (`price_gate`): the venue's recent trades: their VWAP over the last
   hour, the drift of the last price from an hour ago, and spikes (a move of at least
   `spike_move` within `spike_window`). It refuses buying more than `max_premium_to_vwap` above
   the VWAP, a drift of more than `max_adverse_drift` against the side (someone is trading on
   what we do not know), and any spike in the window (wait for the price to settle).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from bots.event_trading.consensus import Consensus, ContractSide
from domain.fees import FEE_LOT, FeeSchedule, taker_fee_per_contract


@dataclass(frozen=True, slots=True)
class GateResult:
    gate: str
    passed: bool
    reason: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "gate": self.gate,
            "passed": self.passed,
            "reason": self.reason,
            "details": dict(self.details),
        }


@dataclass(frozen=True, slots=True)
class BookTop:
    """The YES side's best bid and ask in dollars; NO's ask is 1 − YES bid."""

    yes_bid: Decimal
    yes_ask: Decimal

    def ask(self, side: ContractSide) -> Decimal:
        return self.yes_ask if side == "yes" else Decimal(1) - self.yes_bid


def side_probability(probability: float, side: ContractSide) -> float:
    return probability if side == "yes" else 1.0 - probability


# ------------------------------------------------------------------------------------------ 1. edge
def edge_gate(
    consensus: Consensus,
    book: BookTop,
    fees: FeeSchedule,
    *,
    min_edge: float = 0.05,
    fee_lot: Decimal = FEE_LOT,
) -> GateResult:
    if consensus.probability is None or consensus.side is None:
        return GateResult("edge", False, f"no consensus edge: {consensus.reason}")
    side = consensus.side
    ask = book.ask(side)
    if not Decimal(0) < ask < Decimal(1):
        return GateResult("edge", False, f"no usable {side.upper()} ask ({ask})")
    fee = taker_fee_per_contract(fees, ask, fee_lot)
    cost = ask + fee
    probability = side_probability(consensus.probability, side)
    edge = probability - float(cost)
    details = {
        "side": side,
        "probability": round(probability, 6),
        "ask": str(ask),
        "fee_per_contract": str(fee),
        "edge": round(edge, 6),
        "min_edge": min_edge,
    }
    summary = f"P({side.upper()}) {probability:.3f} vs ask {ask} + fee {fee:.4f}: edge {edge:+.3f}"
    if edge >= min_edge:
        return GateResult("edge", True, summary, details)
    return GateResult("edge", False, f"{summary}, below the {min_edge:.3f} needed", details)


# ------------------------------------------------------------------------------------------ 2. ML
@dataclass(frozen=True, slots=True)
class EdgeFeatures:
    """What the ML gate sees of a candidate entry (and of each settled one it learns from)."""

    edge: float
    side_price: float
    sources: int
    source_spread: float  # max − min of the sources' probabilities

    def row(self) -> list[float]:
        return [self.edge, self.side_price, float(self.sources), self.source_spread]


@dataclass(frozen=True, slots=True)
class MlGate:
    min_training: int = 200
    min_side_probability: float = 0.15
    max_source_spread: float = 0.25
    model: Pipeline | None = None
    trained_on: int = 0

    def check(self, features: EdgeFeatures, side_probability_: float) -> GateResult:
        details: dict[str, Any] = {
            "edge": round(features.edge, 6),
            "side_price": round(features.side_price, 6),
            "sources": features.sources,
            "source_spread": round(features.source_spread, 6),
        }
        if self.model is None or self.trained_on < self.min_training:
            details["basis"] = f"prior ({self.trained_on} of {self.min_training} settled signals to train on)"
            if side_probability_ < self.min_side_probability:
                why = (
                    f"prior: P(side) {side_probability_:.3f} is one of our own longshots "
                    f"(below {self.min_side_probability:.2f})"
                )
                return GateResult("ml", False, why, details)
            if features.source_spread > self.max_source_spread:
                spread = features.source_spread
                why = f"prior: the sources spread {spread:.3f} apart (at most {self.max_source_spread})"
                return GateResult("ml", False, why, details)
            return GateResult("ml", True, "prior: no longshot, sources close together", details)
        win = float(self.model.predict_proba(np.array([features.row()]))[0, 1])
        expected = win * (1.0 - features.side_price) - (1.0 - win) * features.side_price
        details.update(basis=f"logistic model on {self.trained_on} settled signals", p_win=round(win, 4))
        details["expected_value"] = round(expected, 6)
        summary = f"model: P(win) {win:.3f}, EV {expected:+.3f} per contract"
        return GateResult("ml", expected > 0, summary, details)


def train_ml_gate(history: Sequence[tuple[EdgeFeatures, bool]], base: MlGate = MlGate()) -> MlGate:
    """The gate with a logistic regression fitted on settled signals (features, won); the prior
    stays in force while there are fewer than `base.min_training` or only one outcome."""
    outcomes = {won for _, won in history}
    if len(history) < base.min_training or len(outcomes) < 2:
        return replace(base, model=None, trained_on=len(history))
    x = np.array([features.row() for features, _ in history])
    y = np.array([1 if won else 0 for _, won in history])
    # standardised first: the features live on different small scales, and the penalty of a
    # plain logistic regression would otherwise flatten the edge's effect
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000)).fit(x, y)
    return replace(base, model=model, trained_on=len(history))


# ------------------------------------------------------------------------------------------ 3. price
@dataclass(frozen=True, slots=True)
class Trade:
    time: datetime
    yes_price: float
    count: float


def vwap(trades: Sequence[Trade]) -> float | None:
    volume = sum(t.count for t in trades)
    return None if volume <= 0 else sum(t.yes_price * t.count for t in trades) / volume


def price_gate(
    trades: Sequence[Trade],
    side: ContractSide,
    entry_price: float,
    now: datetime,
    *,
    lookback: timedelta = timedelta(hours=1),
    max_premium_to_vwap: float = 0.03,
    max_adverse_drift: float = 0.10,
    spike_move: float = 0.08,
    spike_window: timedelta = timedelta(minutes=5),
) -> GateResult:
    """`entry_price` is what the side costs (its ask); prices of `trades` are YES prices."""
    recent = sorted((t for t in trades if now - lookback <= t.time <= now), key=lambda t: t.time)
    if not recent:
        return GateResult("price", True, "no trades in the last hour: nothing to read", {"trades": 0})
    yes_vwap = vwap(recent)
    assert yes_vwap is not None or sum(t.count for t in recent) <= 0
    side_vwap = None if yes_vwap is None else (yes_vwap if side == "yes" else 1.0 - yes_vwap)
    drift_yes = recent[-1].yes_price - recent[0].yes_price
    drift_side = drift_yes if side == "yes" else -drift_yes
    window = [t.yes_price for t in recent if t.time >= now - spike_window]
    spike = (max(window) - min(window)) if len(window) >= 2 else 0.0
    details = {
        "trades": len(recent),
        "vwap_side": None if side_vwap is None else round(side_vwap, 6),
        "drift_side": round(drift_side, 6),
        "spike": round(spike, 6),
        "entry_price": entry_price,
    }
    if spike >= spike_move:
        window_minutes = spike_window.total_seconds() / 60
        why = f"price spiked {spike:.3f} within {window_minutes:g} minutes; wait for it to settle"
        return GateResult("price", False, why, details)
    if drift_side < -max_adverse_drift:
        why = f"the {side.upper()} price drifted {drift_side:+.3f} in the last hour, against this entry"
        return GateResult("price", False, why, details)
    if side_vwap is not None and entry_price > side_vwap + max_premium_to_vwap:
        premium = max_premium_to_vwap
        why = f"entry {entry_price:.3f} is more than {premium:.2f} above the hour's VWAP {side_vwap:.3f}"
        return GateResult("price", False, why, details)
    return GateResult("price", True, f"{len(recent)} trades: no spike, drift {drift_side:+.3f}", details)
