"""What the journal hands back that is not a domain object: history rows and summaries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.orders import OrderStatus
from domain.positions import Position
from domain.trading_state import TradingState


@dataclass(frozen=True, slots=True)
class ControlState:
    """The operator's levers as last set; `paused_bots` maps a bot to why it was paused."""

    trading_state: TradingState = TradingState.ACTIVE
    trading_reason: str | None = None
    all_paused: bool = False
    all_paused_reason: str | None = None
    paused_bots: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """One step in an order's status history; `from_status` is None for the step that created it."""

    client_order_id: str
    from_status: OrderStatus | None
    to_status: OrderStatus
    time: datetime
    reason: str | None


@dataclass(frozen=True, slots=True)
class EquitySnapshot:
    time: datetime
    equity: Decimal
    cash: Decimal
    realized: Decimal
    unrealized: Decimal
    fees: Decimal
    open_positions: int
    gross_exposure: Decimal


@dataclass(frozen=True, slots=True)
class RiskEvent:
    time: datetime
    kind: str
    severity: str
    message: str
    bot: str | None
    details: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class BotRun:
    bot: str
    started_at: datetime
    finished_at: datetime
    ok: bool
    error: str | None
    signal_count: int


@dataclass(frozen=True, slots=True)
class BotStatus:
    name: str
    venue: str
    mode: str
    paused: bool
    orders_today: int
    fills_today: int
    last_run: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "venue": self.venue,
            "mode": self.mode,
            "paused": self.paused,
            "orders_today": self.orders_today,
            "fills_today": self.fills_today,
            "last_run": self.last_run.isoformat() if self.last_run else None,
        }


@dataclass(frozen=True, slots=True)
class StatusSummary:
    """What `master_orchestrator.py status` prints: the state, the equity, each bot, open positions."""

    trading_state: TradingState
    trading_reason: str | None
    all_paused: bool
    latest_equity: Decimal | None
    latest_equity_at: datetime | None
    bots: tuple[BotStatus, ...]
    open_positions: tuple[Position, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "trading_state": self.trading_state.value,
            "trading_reason": self.trading_reason,
            "all_paused": self.all_paused,
            "latest_equity": None if self.latest_equity is None else str(self.latest_equity),
            "latest_equity_at": self.latest_equity_at.isoformat() if self.latest_equity_at else None,
            "bots": [bot.to_dict() for bot in self.bots],
            "open_positions": [describe_position(p) for p in self.open_positions],
        }


def describe_position(position: Position) -> str:
    """One line a trader reads: `rsi2-btc  sim-crypto:BTC/USD  +0.5 @ 60123.4`."""
    return (
        f"{position.bot}  {position.instrument_key}  {position.quantity:+} @ {position.average_entry_price}"
    )


@dataclass(frozen=True, slots=True)
class FleetWeight:
    """One sub-bot's weight in one allocation round of the fleet and the posterior behind it."""

    time: datetime
    bot: str
    weight: float
    size_multiplier: float
    trades: int
    posterior_mean: float  # per-trade return in R
    posterior_sd: float  # uncertainty of that mean
