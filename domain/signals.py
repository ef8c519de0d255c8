"""Signals a bot emits and the decisions each pipeline stage takes on them."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from domain.instruments import Instrument
from domain.time import require_aware


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class SignalIntent(StrEnum):
    """Whether a signal opens (or adds to) exposure or closes it."""

    OPEN = "open"
    CLOSE = "close"


def make_signal_id(bot: str, instrument_key: str, tick_time: datetime, sequence: int) -> str:
    """Deterministic id: the same bot, instrument, tick and position in the tick give the same id.

    Deterministic ids make a replayed or re-run tick recognisable, and the
    client order id is derived from this id (see `client_order_id_for`).
    """
    require_aware(tick_time, "signal tick time")
    raw = f"{bot}|{instrument_key}|{tick_time.isoformat()}|{sequence}"
    return "sig-" + hashlib.sha256(raw.encode()).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class Signal:
    """A bot's wish to trade, before any stage has looked at it.

    `confidence` is in [0, 1]; `edge` is the expected return of the trade as a
    fraction (0.01 = 1 %); `stop` is the protective price that defines 1R.
    `evidence` carries what the bot saw, for the decision trace.

    A `limit_price` makes the order a resting limit order (good till canceled) at that price
    instead of an immediate one: a maker's quote. It must not cross the book (the risk engine
    refuses one that would take), and it lives until the bot's next tick, which cancels it
    before the bot looks again. `max_quantity` caps what the risk engine may size an entry to
    (a quote's size); the engine may still size it smaller.
    """

    id: str
    bot: str
    instrument: Instrument
    side: Side
    intent: SignalIntent
    confidence: float
    edge: float
    stop: float | None
    reason: str
    time: datetime
    evidence: Mapping[str, Any] = field(default_factory=dict)
    close_quantity: Decimal | None = None  # CLOSE only: how much to close; None closes all
    limit_price: Decimal | None = None  # a resting limit order at this price (see above)
    max_quantity: Decimal | None = None  # OPEN only: the most the entry may be sized to

    def __post_init__(self) -> None:
        require_aware(self.time, "signal time")
        if self.close_quantity is not None and (
            self.intent is not SignalIntent.CLOSE or self.close_quantity <= 0
        ):
            raise ValueError(f"signal {self.id}: close_quantity must be positive and only on a CLOSE signal")
        if self.limit_price is not None and not (self.limit_price.is_finite() and self.limit_price > 0):
            raise ValueError(
                f"signal {self.id}: limit_price must be a positive price, got {self.limit_price}"
            )
        if self.max_quantity is not None and (
            self.intent is not SignalIntent.OPEN
            or not self.max_quantity.is_finite()
            or self.max_quantity <= 0
        ):
            raise ValueError(f"signal {self.id}: max_quantity must be positive and only on an OPEN signal")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"signal {self.id}: confidence {self.confidence} outside [0, 1]")
        if not math.isfinite(self.edge):
            raise ValueError(f"signal {self.id}: edge must be finite")
        if self.stop is not None and not (math.isfinite(self.stop) and self.stop > 0):
            raise ValueError(f"signal {self.id}: stop must be a positive price, got {self.stop}")
        object.__setattr__(self, "evidence", MappingProxyType(dict(self.evidence)))


class Verdict(StrEnum):
    PASS = "pass"
    REJECT = "reject"


class ReasonCode(StrEnum):
    """Why a stage passed or rejected a signal; the dashboard groups by these."""

    OK = "ok"
    REGIME_NOT_TRADED = "regime_not_traded"
    REGIME_UNKNOWN = "regime_unknown"
    TRADING_HALTED = "trading_halted"
    TRADING_REDUCING = "trading_reducing"
    BOT_PAUSED = "bot_paused"
    DAILY_LOSS_LIMIT = "daily_loss_limit"
    MAX_POSITIONS = "max_positions"
    GROSS_EXPOSURE = "gross_exposure"
    BOT_EXPOSURE = "bot_exposure"
    ASSET_CLASS_EXPOSURE = "asset_class_exposure"
    CORRELATED_EXPOSURE = "correlated_exposure"
    CONTRADICTORY_POSITION = "contradictory_position"
    CVAR_BUDGET = "cvar_budget"
    HRP_ALLOCATION = "hrp_allocation"
    PREDICTION_PRICE_CAP = "prediction_price_cap"
    REENTRY_COOLDOWN = "reentry_cooldown"
    ALREADY_IN_POSITION = "already_in_position"
    NO_POSITION_TO_CLOSE = "no_position_to_close"
    NO_PRICE = "no_price"
    STALE_PRICE = "stale_price"
    SIZE_ZERO = "size_zero"
    BELOW_VENUE_MINIMUM = "below_venue_minimum"
    MAX_ORDER_NOTIONAL = "max_order_notional"
    INSUFFICIENT_CASH = "insufficient_cash"
    NO_ROUTE = "no_route"
    BROKER_ERROR = "broker_error"
    VENUE_REJECTED = "venue_rejected"
    ENSEMBLE_DISAGREES = "ensemble_disagrees"
    ENSEMBLE_NO_DATA = "ensemble_no_data"
    VETOED = "vetoed"
    NO_CONSENSUS = "no_consensus"  # prediction markets: the domain sources do not agree on an edge
    EDGE_TOO_SMALL = "edge_too_small"  # gate 1: the edge after the spread and fees is below the minimum
    ML_GATE = "ml_gate"  # gate 2: the model (or its prior) of which edges win says no
    PRICE_GATE = "price_gate"  # gate 3: the recent trades show a spike, an adverse drift or a premium
    FLEET_DAILY_LOSS = "fleet_daily_loss"  # the fleet's sub-bots lost their daily limit together
    FLEET_MAX_POSITIONS = "fleet_max_positions"
    FLEET_EXPOSURE = "fleet_exposure"
    LIMIT_WOULD_TAKE = "limit_would_take"  # a resting quote priced through the book would take, not make


@dataclass(frozen=True, slots=True)
class Decision:
    """One stage's verdict on one signal.

    A passing decision may change the signal's confidence or scale its size
    (`size_multiplier`); a rejection carries a reason code and a sentence a
    trader understands.
    """

    stage: str
    verdict: Verdict
    reason_code: ReasonCode
    message: str
    confidence: float | None = None
    size_multiplier: float = 1.0
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASS

    @classmethod
    def accept(
        cls,
        stage: str,
        message: str,
        *,
        confidence: float | None = None,
        size_multiplier: float = 1.0,
        details: Mapping[str, Any] | None = None,
    ) -> Decision:
        return cls(stage, Verdict.PASS, ReasonCode.OK, message, confidence, size_multiplier, details or {})

    @classmethod
    def reject(
        cls, stage: str, code: ReasonCode, message: str, details: Mapping[str, Any] | None = None
    ) -> Decision:
        return cls(stage, Verdict.REJECT, code, message, None, 1.0, details or {})
