"""The journal's tables, as SQLAlchemy 2 typed declarative models.

Every `Mapped[Decimal]` is an `ExactDecimal` (text, exact) and every
`Mapped[datetime]` a `UtcDateTime` (aware in, aware UTC out), through the
type map on `Base`. The schema itself is created by the Alembic migrations in
`storage/migrations`, never by `create_all`; a change here needs a new
revision there (a test compares the two).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.column_types import ExactDecimal, JsonDocument, UtcDateTime

# Named constraints, so later migrations (batch mode on SQLite) can find and alter them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        Decimal: ExactDecimal(),
        datetime: UtcDateTime(),
        dict[str, Any]: JsonDocument(),
        str: String(),
    }


class InstrumentColumns:
    """An instrument's fields, copied into a row so the row alone rebuilds the `Instrument`."""

    instrument_key: Mapped[str] = mapped_column(index=True)
    symbol: Mapped[str]
    venue: Mapped[str]
    asset_class: Mapped[str]
    tick_size: Mapped[Decimal]
    lot_size: Mapped[Decimal]
    underlying: Mapped[str]
    min_quantity: Mapped[Decimal]
    min_notional: Mapped[Decimal]
    quote_currency: Mapped[str]


class BotRow(Base):
    __tablename__ = "bots"

    name: Mapped[str] = mapped_column(primary_key=True)
    bot_class: Mapped[str]
    asset_class: Mapped[str]
    venue: Mapped[str]
    mode: Mapped[str]
    schedule: Mapped[str]
    params: Mapped[dict[str, Any]]
    first_seen_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class BotRunRow(Base):
    """One tick of one bot: when it ran, whether it raised, how many signals it produced."""

    __tablename__ = "bot_runs"
    __table_args__ = (Index("ix_bot_runs_bot_finished_at", "bot", "finished_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bot: Mapped[str]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    ok: Mapped[bool]
    error: Mapped[str | None]
    signal_count: Mapped[int]


class SignalRow(InstrumentColumns, Base):
    __tablename__ = "signals"

    id: Mapped[str] = mapped_column(primary_key=True)
    bot: Mapped[str] = mapped_column(index=True)
    side: Mapped[str]
    intent: Mapped[str]
    confidence: Mapped[float]
    edge: Mapped[float]
    stop: Mapped[float | None]
    reason: Mapped[str]
    time: Mapped[datetime] = mapped_column(index=True)
    evidence: Mapped[dict[str, Any]]
    close_quantity: Mapped[Decimal | None]
    limit_price: Mapped[Decimal | None]
    max_quantity: Mapped[Decimal | None]


class DecisionRow(Base):
    """One stage's verdict on one signal; `seq` is the stage's place on the road (0 first)."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    signal_id: Mapped[str] = mapped_column(ForeignKey("signals.id"), index=True)
    seq: Mapped[int]
    stage: Mapped[str]
    verdict: Mapped[str]
    reason_code: Mapped[str] = mapped_column(index=True)
    message: Mapped[str]
    confidence: Mapped[float | None]
    size_multiplier: Mapped[float]
    details: Mapped[dict[str, Any]]
    time: Mapped[datetime]


class OrderRow(InstrumentColumns, Base):
    """The order intent (as the risk engine sized it) and the order's current state."""

    __tablename__ = "orders"

    client_order_id: Mapped[str] = mapped_column(primary_key=True)
    signal_id: Mapped[str] = mapped_column(index=True)
    bot: Mapped[str] = mapped_column(index=True)
    side: Mapped[str]
    quantity: Mapped[Decimal]
    order_type: Mapped[str]
    time_in_force: Mapped[str]
    limit_price: Mapped[Decimal | None]
    reduce_only: Mapped[bool]
    created_at: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(index=True)
    filled_quantity: Mapped[Decimal]
    average_fill_price: Mapped[Decimal | None]
    venue_order_id: Mapped[str | None]
    reason: Mapped[str | None]
    updated_at: Mapped[datetime]


class OrderEventRow(Base):
    """Append-only history of an order's status: `from_status` is NULL for the NEW row."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_order_id: Mapped[str] = mapped_column(ForeignKey("orders.client_order_id"), index=True)
    from_status: Mapped[str | None]
    to_status: Mapped[str]
    time: Mapped[datetime]
    reason: Mapped[str | None]


class FillRow(Base):
    """An execution. A venue's trade id is unique on that venue: the second copy is never stored."""

    __tablename__ = "fills"
    __table_args__ = (UniqueConstraint("venue", "venue_trade_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_order_id: Mapped[str] = mapped_column(ForeignKey("orders.client_order_id"), index=True)
    bot: Mapped[str] = mapped_column(index=True)
    venue: Mapped[str]
    venue_trade_id: Mapped[str]
    instrument_key: Mapped[str]
    side: Mapped[str]
    quantity: Mapped[Decimal]
    price: Mapped[Decimal]
    fee: Mapped[Decimal]
    time: Mapped[datetime] = mapped_column(index=True)
    # a prediction market's payout at settlement (its price may be 0: the losing side)
    settlement: Mapped[bool] = mapped_column(server_default=false())


class PositionRow(Base):
    """A bot's current holding of one instrument; a flat position keeps its row with quantity 0."""

    __tablename__ = "positions"
    __table_args__ = (UniqueConstraint("bot", "instrument_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bot: Mapped[str]
    instrument_key: Mapped[str]
    quantity: Mapped[Decimal]
    # Decimals are text, so SQL cannot compare them with zero; this flag can.
    is_open: Mapped[bool] = mapped_column(index=True)
    average_entry_price: Mapped[Decimal]
    realized_pnl: Mapped[Decimal]
    fees: Mapped[Decimal]
    opened_at: Mapped[datetime | None]
    entry_quantity: Mapped[Decimal]
    exit_quantity: Mapped[Decimal]
    exit_value: Mapped[Decimal]
    exit_plan: Mapped[dict[str, Any] | None]


class ClosedTradeRow(Base):
    __tablename__ = "closed_trades"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bot: Mapped[str] = mapped_column(index=True)
    instrument_key: Mapped[str]
    side: Mapped[str]
    quantity: Mapped[Decimal]
    entry_price: Mapped[Decimal]
    exit_price: Mapped[Decimal]
    gross_pnl: Mapped[Decimal]
    fees: Mapped[Decimal]
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime] = mapped_column(index=True)


class EquitySnapshotRow(Base):
    __tablename__ = "equity_snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[datetime] = mapped_column(index=True)
    equity: Mapped[Decimal]
    cash: Mapped[Decimal]
    realized: Mapped[Decimal]
    unrealized: Mapped[Decimal]
    fees: Mapped[Decimal]
    open_positions: Mapped[int]
    gross_exposure: Mapped[Decimal]


class RiskEventRow(Base):
    __tablename__ = "risk_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[datetime] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(index=True)
    severity: Mapped[str]
    message: Mapped[str]
    bot: Mapped[str | None]
    details: Mapped[dict[str, Any]]


class ControlRow(Base):
    """The operator's system-wide levers: a single row, id 1."""

    __tablename__ = "control"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trading_state: Mapped[str]
    trading_reason: Mapped[str | None]
    all_paused: Mapped[bool]
    all_paused_reason: Mapped[str | None]
    updated_at: Mapped[datetime | None]


class PausedBotRow(Base):
    """A bot the operator (or the orchestrator) paused; resuming deletes the row."""

    __tablename__ = "paused_bots"

    bot: Mapped[str] = mapped_column(primary_key=True)
    reason: Mapped[str]
    paused_at: Mapped[datetime]


class DaemonValueRow(Base):
    """Small facts the daemon must remember across restarts (the trading day, its start equity)."""

    __tablename__ = "daemon_kv"

    key: Mapped[str] = mapped_column(primary_key=True)
    value: Mapped[str]


class MarketRegimeRow(Base):
    """The latest regime of each market the regime filter watches (one row per market, updated per bar)."""

    __tablename__ = "market_regimes"

    instrument_key: Mapped[str] = mapped_column(primary_key=True)
    regime: Mapped[str]
    probability: Mapped[float]
    probabilities: Mapped[dict[str, Any]]  # regime name -> filtered probability at bar_time
    bar_time: Mapped[datetime]  # open time of the last bar the filter has seen
    fitted_at: Mapped[datetime]  # when the model in use was fitted
    fit_bars: Mapped[int]
    updated_at: Mapped[datetime]


class RegimeFitRow(Base):
    """Every regime-model fit the daemon attempted: what it produced, or why it failed."""

    __tablename__ = "regime_fits"
    __table_args__ = (Index("ix_regime_fits_instrument_key_time", "instrument_key", "time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[datetime] = mapped_column(index=True)
    instrument_key: Mapped[str]
    ok: Mapped[bool]
    message: Mapped[str]
    fit_bars: Mapped[int]
    log_likelihood: Mapped[float | None]
    states: Mapped[dict[str, Any]]  # per state: regime, mean return and volatility per bar


class VetoedTradeRow(Base):
    """Every vetoed entry, followed on paper (`ai.veto_followup`): entry quote, stop and the
    marks at each horizon, so the dashboard can show what the vetoes saved or cost."""

    __tablename__ = "vetoed_trades"
    __table_args__ = (Index("ix_vetoed_trades_status_vetoed_at", "status", "vetoed_at"),)

    signal_id: Mapped[str] = mapped_column(primary_key=True)
    vetoed_at: Mapped[datetime] = mapped_column(index=True)
    bot: Mapped[str]
    instrument_key: Mapped[str]
    side: Mapped[str]
    stage: Mapped[str]
    cause: Mapped[str]  # rules:<rule>+<rule>, llm:<category> or llm:policy:<outcome>
    reason: Mapped[str]
    entry_price: Mapped[float | None]  # None: no usable quote when vetoed (never a guess)
    stop: Mapped[float | None]
    horizons: Mapped[dict[str, Any]]  # {"minutes": [60, 240, 1440]}
    status: Mapped[str]  # following / done / unpriced
    marks: Mapped[dict[str, Any]]  # horizon minutes (as text) -> {at, price, return, by}
    updated_at: Mapped[datetime]


class PredictionEdgeRow(Base):
    """One bot's record of one prediction market where the consensus saw an edge
    (`domain.prediction_records.EdgeRecord`); a new signal leaves a settled row as it is."""

    __tablename__ = "prediction_edges"

    bot: Mapped[str] = mapped_column(primary_key=True)
    instrument_key: Mapped[str] = mapped_column(primary_key=True, index=True)  # settling finds it by market
    domain: Mapped[str]
    side: Mapped[str]  # yes / no
    crowd_price: Mapped[float]
    probability: Mapped[float]
    edge: Mapped[float]
    side_price: Mapped[float]
    estimates: Mapped[dict[str, Any]]  # source -> YES probability at the latest signal
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime] = mapped_column(index=True)
    signals: Mapped[int]
    gate: Mapped[str | None]
    gate_reason: Mapped[str]
    traded: Mapped[bool]
    outcome_yes: Mapped[bool | None]  # None until the market settles
    settled_at: Mapped[datetime | None]
    pnl: Mapped[Decimal | None]  # None: the bot did not trade the market
    extra: Mapped[dict[str, Any]]


class PredictionEstimateRow(Base):
    """The latest YES probability each source gave a market, kept until the market settles
    (when they are scored into `source_calibration`)."""

    __tablename__ = "prediction_estimates"

    instrument_key: Mapped[str] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(primary_key=True)
    domain: Mapped[str]
    probability: Mapped[float]
    time: Mapped[datetime]


class PredictionSettlementRow(Base):
    """A prediction market's settlement, recorded once."""

    __tablename__ = "prediction_settlements"

    instrument_key: Mapped[str] = mapped_column(primary_key=True)
    outcome_yes: Mapped[bool]
    settled_at: Mapped[datetime]


class SourceCalibrationRow(Base):
    """A source's record in one domain: settled markets it priced and its squared errors (the
    consensus engine's weights, `bots.event_trading.consensus.Calibration`)."""

    __tablename__ = "source_calibration"

    domain: Mapped[str] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(primary_key=True)
    settled: Mapped[int]
    squared_error_sum: Mapped[float]
    updated_at: Mapped[datetime]


class FleetAllocationRow(Base):
    """One sub-bot's weight in one allocation round of the fleet, with the posterior it was drawn from
    (`bots.fleet.allocation`): the fleet page's table and its allocation-over-time chart."""

    __tablename__ = "fleet_allocations"
    __table_args__ = (Index("ix_fleet_allocations_bot_time", "bot", "time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[datetime] = mapped_column(index=True)
    bot: Mapped[str]
    weight: Mapped[float]
    size_multiplier: Mapped[float]
    trades: Mapped[int]  # closed trades learnt from (all time, before forgetting)
    posterior_mean: Mapped[float]  # mean per-trade return in R
    posterior_sd: Mapped[float]  # standard deviation of that mean (Student-t scale x its sd factor)
