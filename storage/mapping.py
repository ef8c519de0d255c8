"""Domain objects to column values and back: the only code that knows both shapes.

Writers produce plain dicts for Core inserts (fast: no unit of work per row);
readers take the typed rows the ORM loads and rebuild frozen domain values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.instruments import AssetClass, Instrument
from domain.orders import Fill, Order, OrderIntent, OrderStatus, OrderType, TimeInForce
from domain.positions import ClosedTrade, ExitPlan, Position
from domain.prediction_records import EdgeRecord
from domain.shadow_trades import Mark, ShadowTrade, status_of
from domain.signals import Decision, ReasonCode, Side, Signal, SignalIntent, Verdict
from storage.models import (
    ClosedTradeRow,
    DecisionRow,
    EquitySnapshotRow,
    FillRow,
    InstrumentColumns,
    OrderEventRow,
    OrderRow,
    PositionRow,
    RiskEventRow,
    SignalRow,
)
from storage.records import EquitySnapshot, OrderEvent, RiskEvent


def instrument_values(instrument: Instrument) -> dict[str, Any]:
    return {
        "instrument_key": instrument.key,
        "symbol": instrument.symbol,
        "venue": instrument.venue,
        "asset_class": instrument.asset_class.value,
        "tick_size": instrument.tick_size,
        "lot_size": instrument.lot_size,
        "underlying": instrument.underlying,
        "min_quantity": instrument.min_quantity,
        "min_notional": instrument.min_notional,
        "quote_currency": instrument.quote_currency,
    }


def instrument_from(row: InstrumentColumns) -> Instrument:
    return Instrument(
        symbol=row.symbol,
        venue=row.venue,
        asset_class=AssetClass(row.asset_class),
        tick_size=row.tick_size,
        lot_size=row.lot_size,
        underlying=row.underlying,
        min_quantity=row.min_quantity,
        min_notional=row.min_notional,
        quote_currency=row.quote_currency,
    )


# -- signals and decisions --------------------------------------------------------------------
def signal_values(signal: Signal) -> dict[str, Any]:
    return {
        "id": signal.id,
        "bot": signal.bot,
        **instrument_values(signal.instrument),
        "side": signal.side.value,
        "intent": signal.intent.value,
        "confidence": signal.confidence,
        "edge": signal.edge,
        "stop": signal.stop,
        "reason": signal.reason,
        "time": signal.time,
        "evidence": dict(signal.evidence),
        "close_quantity": signal.close_quantity,
        "limit_price": signal.limit_price,
        "max_quantity": signal.max_quantity,
    }


def signal_from(row: SignalRow) -> Signal:
    return Signal(
        id=row.id,
        bot=row.bot,
        instrument=instrument_from(row),
        side=Side(row.side),
        intent=SignalIntent(row.intent),
        confidence=row.confidence,
        edge=row.edge,
        stop=row.stop,
        reason=row.reason,
        time=row.time,
        evidence=row.evidence,
        close_quantity=row.close_quantity,
        limit_price=row.limit_price,
        max_quantity=row.max_quantity,
    )


def decision_values(signal_id: str, seq: int, decision: Decision, time: datetime) -> dict[str, Any]:
    return {
        "signal_id": signal_id,
        "seq": seq,
        "stage": decision.stage,
        "verdict": decision.verdict.value,
        "reason_code": decision.reason_code.value,
        "message": decision.message,
        "confidence": decision.confidence,
        "size_multiplier": decision.size_multiplier,
        "details": dict(decision.details),
        "time": time,
    }


def decision_from(row: DecisionRow) -> Decision:
    return Decision(
        stage=row.stage,
        verdict=Verdict(row.verdict),
        reason_code=ReasonCode(row.reason_code),
        message=row.message,
        confidence=row.confidence,
        size_multiplier=row.size_multiplier,
        details=row.details,
    )


# -- orders and fills -------------------------------------------------------------------------
def order_values(order: Order) -> dict[str, Any]:
    """The whole row: the intent (fixed at insert) and the order's current state."""
    intent = order.intent
    return {
        "client_order_id": intent.client_order_id,
        "signal_id": intent.signal_id,
        "bot": intent.bot,
        **instrument_values(intent.instrument),
        "side": intent.side.value,
        "quantity": intent.quantity,
        "order_type": intent.order_type.value,
        "time_in_force": intent.time_in_force.value,
        "limit_price": intent.limit_price,
        "reduce_only": intent.reduce_only,
        "created_at": intent.created_at,
        **order_state_values(order),
    }


def order_state_values(order: Order) -> dict[str, Any]:
    """The columns that change over an order's life."""
    return {
        "status": order.status.value,
        "filled_quantity": order.filled_quantity,
        "average_fill_price": order.average_fill_price,
        "venue_order_id": order.venue_order_id,
        "reason": order.reject_reason,
        "updated_at": order.updated_at,
    }


def order_from(row: OrderRow, seen_trade_ids: Iterable[str] = ()) -> Order:
    intent = OrderIntent(
        client_order_id=row.client_order_id,
        signal_id=row.signal_id,
        bot=row.bot,
        instrument=instrument_from(row),
        side=Side(row.side),
        quantity=row.quantity,
        order_type=OrderType(row.order_type),
        time_in_force=TimeInForce(row.time_in_force),
        created_at=row.created_at,
        limit_price=row.limit_price,
        reduce_only=row.reduce_only,
    )
    return Order(
        intent,
        status=OrderStatus(row.status),
        filled_quantity=row.filled_quantity,
        average_fill_price=row.average_fill_price,
        venue_order_id=row.venue_order_id,
        reject_reason=row.reason,
        updated_at=row.updated_at,
        seen_trade_ids=set(seen_trade_ids),
    )


def fill_values(fill: Fill, bot: str) -> dict[str, Any]:
    return {
        "client_order_id": fill.client_order_id,
        "bot": bot,
        "venue": fill.venue,
        "venue_trade_id": fill.venue_trade_id,
        "instrument_key": fill.instrument_key,
        "side": fill.side.value,
        "quantity": fill.quantity,
        "price": fill.price,
        "fee": fill.fee,
        "time": fill.time,
        "settlement": fill.settlement,
    }


def fill_from(row: FillRow) -> Fill:
    return Fill(
        client_order_id=row.client_order_id,
        venue=row.venue,
        venue_trade_id=row.venue_trade_id,
        instrument_key=row.instrument_key,
        side=Side(row.side),
        quantity=row.quantity,
        price=row.price,
        fee=row.fee,
        time=row.time,
        settlement=row.settlement,
    )


# -- positions and trades ---------------------------------------------------------------------
def position_values(position: Position) -> dict[str, Any]:
    return {
        "bot": position.bot,
        "instrument_key": position.instrument_key,
        "quantity": position.quantity,
        "is_open": position.is_open,
        "average_entry_price": position.average_entry_price,
        "realized_pnl": position.realized_pnl,
        "fees": position.fees,
        "opened_at": position.opened_at,
        "entry_quantity": position.entry_quantity,
        "exit_quantity": position.exit_quantity,
        "exit_value": position.exit_value,
        "exit_plan": None if position.exit_plan is None else exit_plan_document(position.exit_plan),
    }


def position_from(row: PositionRow) -> Position:
    return Position(
        bot=row.bot,
        instrument_key=row.instrument_key,
        quantity=row.quantity,
        average_entry_price=row.average_entry_price,
        realized_pnl=row.realized_pnl,
        fees=row.fees,
        opened_at=row.opened_at,
        entry_quantity=row.entry_quantity,
        exit_quantity=row.exit_quantity,
        exit_value=row.exit_value,
        exit_plan=None if row.exit_plan is None else exit_plan_from(row.exit_plan),
    )


_PLAN_DECIMALS = (
    "entry_price",
    "stop_price",
    "risk_per_unit",
    "initial_quantity",
    "atr",
    "best_price",
    "trail_atr_multiple",
)


def exit_plan_document(plan: ExitPlan) -> dict[str, Any]:
    """JSON for an exit plan; prices as decimal strings so they come back exact."""
    document: dict[str, Any] = {name: str(getattr(plan, name)) for name in _PLAN_DECIMALS}
    document["side"] = plan.side.value
    document["first_target_done"] = plan.first_target_done
    document["second_target_done"] = plan.second_target_done
    document["target_shortfall"] = str(plan.target_shortfall)
    return document


def exit_plan_from(document: dict[str, Any]) -> ExitPlan:
    return ExitPlan(
        side=Side(document["side"]),
        entry_price=Decimal(document["entry_price"]),
        stop_price=Decimal(document["stop_price"]),
        risk_per_unit=Decimal(document["risk_per_unit"]),
        initial_quantity=Decimal(document["initial_quantity"]),
        atr=Decimal(document["atr"]),
        best_price=Decimal(document["best_price"]),
        first_target_done=bool(document["first_target_done"]),
        second_target_done=bool(document["second_target_done"]),
        trail_atr_multiple=Decimal(document["trail_atr_multiple"]),
        target_shortfall=Decimal(document.get("target_shortfall", "0")),  # absent in older rows
    )


def closed_trade_values(trade: ClosedTrade) -> dict[str, Any]:
    return {
        "bot": trade.bot,
        "instrument_key": trade.instrument_key,
        "side": trade.side.value,
        "quantity": trade.quantity,
        "entry_price": trade.entry_price,
        "exit_price": trade.exit_price,
        "gross_pnl": trade.gross_pnl,
        "fees": trade.fees,
        "opened_at": trade.opened_at,
        "closed_at": trade.closed_at,
    }


def closed_trade_from(row: ClosedTradeRow) -> ClosedTrade:
    return ClosedTrade(
        bot=row.bot,
        instrument_key=row.instrument_key,
        side=Side(row.side),
        quantity=row.quantity,
        entry_price=row.entry_price,
        exit_price=row.exit_price,
        gross_pnl=row.gross_pnl,
        fees=row.fees,
        opened_at=row.opened_at,
        closed_at=row.closed_at,
    )


# -- history and snapshots --------------------------------------------------------------------
def order_event_from(row: OrderEventRow) -> OrderEvent:
    return OrderEvent(
        client_order_id=row.client_order_id,
        from_status=None if row.from_status is None else OrderStatus(row.from_status),
        to_status=OrderStatus(row.to_status),
        time=row.time,
        reason=row.reason,
    )


def risk_event_from(row: RiskEventRow) -> RiskEvent:
    return RiskEvent(row.time, row.kind, row.severity, row.message, row.bot, row.details)


def equity_snapshot_from(row: EquitySnapshotRow) -> EquitySnapshot:
    return EquitySnapshot(
        time=row.time,
        equity=row.equity,
        cash=row.cash,
        realized=row.realized,
        unrealized=row.unrealized,
        fees=row.fees,
        open_positions=row.open_positions,
        gross_exposure=row.gross_exposure,
    )


def shadow_trade_values(shadow: ShadowTrade, now: datetime) -> dict[str, Any]:
    """A shadow trade's row (`vetoed_trades`)."""
    return {
        "signal_id": shadow.signal_id,
        "vetoed_at": shadow.vetoed_at,
        "bot": shadow.bot,
        "instrument_key": shadow.instrument_key,
        "side": shadow.side.value,
        "stage": shadow.stage,
        "cause": shadow.cause,
        "reason": shadow.reason,
        "entry_price": shadow.entry_price,
        "stop": shadow.stop,
        "horizons": {"minutes": list(shadow.horizons_minutes)},
        "status": shadow.status,
        "marks": {str(h): mark.to_dict() for h, mark in sorted(shadow.marks.items())},
        "updated_at": now,
    }


def shadow_trade_from(values: Mapping[str, Any]) -> ShadowTrade:
    """A shadow trade from its row's values (datetimes aware, JSON columns parsed)."""
    return ShadowTrade(
        signal_id=values["signal_id"],
        bot=values["bot"],
        instrument_key=values["instrument_key"],
        side=Side(values["side"]),
        stage=values["stage"],
        cause=values["cause"],
        reason=values["reason"],
        vetoed_at=values["vetoed_at"],
        entry_price=values["entry_price"],
        stop=values["stop"],
        horizons_minutes=tuple(int(h) for h in values["horizons"]["minutes"]),
        status=status_of(values["status"]),
        marks={int(h): Mark.from_dict(mark) for h, mark in values["marks"].items()},
    )


# -- prediction markets -----------------------------------------------------------------------
def edge_values(edge: EdgeRecord) -> dict[str, Any]:
    """An edge record's row (`prediction_edges`)."""
    return {
        "bot": edge.bot,
        "instrument_key": edge.instrument_key,
        "domain": edge.domain,
        "side": edge.side,
        "crowd_price": edge.crowd_price,
        "probability": edge.probability,
        "edge": edge.edge,
        "side_price": edge.side_price,
        "estimates": {source: float(p) for source, p in edge.estimates.items()},
        "first_seen": edge.first_seen,
        "last_seen": edge.last_seen,
        "signals": edge.signals,
        "gate": edge.gate,
        "gate_reason": edge.gate_reason,
        "traded": edge.traded,
        "outcome_yes": edge.outcome_yes,
        "settled_at": edge.settled_at,
        "pnl": edge.pnl,
        "extra": dict(edge.extra),
    }


def edge_from(values: Mapping[str, Any]) -> EdgeRecord:
    """An edge record from its row's values (datetimes aware, JSON columns parsed, pnl a Decimal)."""
    side = values["side"]
    if side not in ("yes", "no"):
        raise ValueError(f"{values['instrument_key']}: stored edge side {side!r} is neither 'yes' nor 'no'")
    outcome = values["outcome_yes"]
    return EdgeRecord(
        bot=values["bot"],
        instrument_key=values["instrument_key"],
        domain=values["domain"],
        side=side,
        crowd_price=values["crowd_price"],
        probability=values["probability"],
        edge=values["edge"],
        side_price=values["side_price"],
        estimates={str(source): float(p) for source, p in values["estimates"].items()},
        first_seen=values["first_seen"],
        last_seen=values["last_seen"],
        signals=values["signals"],
        gate=values["gate"],
        gate_reason=values["gate_reason"],
        traded=bool(values["traded"]),
        outcome_yes=None if outcome is None else bool(outcome),
        settled_at=values["settled_at"],
        pnl=values["pnl"],
        extra=values["extra"],
    )
