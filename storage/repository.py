"""The journal's one door: every record the daemon writes, and what it reads back.

The repository speaks domain objects (Signal, Decision, Order, Fill, Position,
ClosedTrade); the rows are its business. It holds one connection for its whole
life. The hot writes (everything the road journals per signal) run as
precompiled statements on it (`storage.statements`); rare writes are Core
statements; reads load typed rows through a Session bound to it.

Transactions: outside `batch()` every write commits on its own; inside, all
writes of the block commit together or not at all. Reads outside a batch see
the latest committed data, including another process's.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Engine, Select, delete, func, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from domain.orders import Fill, Order, OrderStatus
from domain.positions import ClosedTrade, Position
from domain.prediction_records import Calibration, EdgeRecord, Settlement
from domain.regimes import RegimeFit, RegimeReading
from domain.shadow_trades import ShadowTrade
from domain.signals import Decision, Signal
from domain.trading_state import TradingState
from storage import mapping, order_history, statements
from storage.engine import BEGIN_STATEMENT
from storage.models import (
    BotRow,
    BotRunRow,
    ClosedTradeRow,
    ControlRow,
    DaemonValueRow,
    DecisionRow,
    EquitySnapshotRow,
    FillRow,
    FleetAllocationRow,
    OrderEventRow,
    OrderRow,
    PausedBotRow,
    PositionRow,
    PredictionEdgeRow,
    PredictionEstimateRow,
    PredictionSettlementRow,
    RiskEventRow,
    SignalRow,
    SourceCalibrationRow,
    VetoedTradeRow,
)
from storage.records import (
    BotRun,
    BotStatus,
    ControlState,
    EquitySnapshot,
    FleetWeight,
    OrderEvent,
    RiskEvent,
    StatusSummary,
)
from storage.statements import table_of
from utils.sqlite_checkpoint import WRITER_AUTOCHECKPOINT_PAGES, WalCheckpointer

RowT = TypeVar("RowT")
CONTROL_ROW_ID = 1
OPEN_STATUSES = tuple(s.value for s in OrderStatus if s.is_open)
_EDGES = table_of(PredictionEdgeRow)
_ESTIMATES = table_of(PredictionEstimateRow)
_SETTLEMENTS = table_of(PredictionSettlementRow)
_CALIBRATION = table_of(SourceCalibrationRow)
_FLEET = table_of(FleetAllocationRow)


class OrderAlreadyJournaled(ValueError):
    """An order intent with this client order id is already in the journal: it must not be sent again."""


class Repository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection = engine.connect()
        driver = self._connection.connection.driver_connection
        assert driver is not None, "the journal's connection has no driver connection"
        self._driver: Any = driver  # the sqlite3 connection, for `statements.Prepared`
        self._session = Session(bind=self._connection, autoflush=False, expire_on_commit=False)
        # The dashboard's thread reaches the journal through Control; one lock keeps the
        # connection (and a batch's transaction) to one thread at a time.
        self._lock = threading.RLock()
        self._closed = False
        self._checkpointer: WalCheckpointer | None = None  # started by the first write

    # ==========================================================================================
    # Transactions
    # ==========================================================================================
    @contextmanager
    def batch(self) -> Iterator[None]:
        """Make the enclosed writes one transaction: all of them land, or (on an exception) none.

        A batch inside a batch joins the outer one.
        """
        with self._transaction(write=True):
            yield

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[None]:
        with self._lock:
            if self._connection.in_transaction():
                yield  # joins the enclosing batch
                return
            if write and self._checkpointer is None:
                self._start_checkpointer()
            # a read needs only a snapshot; a write takes the write lock before its first statement,
            # so it waits for another writer (busy timeout) instead of failing mid-transaction
            self._connection.info[BEGIN_STATEMENT] = "BEGIN IMMEDIATE" if write else "BEGIN"
            try:
                with self._connection.begin():
                    yield
            finally:
                self._session.close()  # forget loaded rows: the next read must see fresh data
            if write and self._checkpointer is not None:
                self._checkpointer.notify()

    def _start_checkpointer(self) -> None:
        database = self._engine.url.database
        if not database:
            return
        self._driver.execute(f"PRAGMA wal_autocheckpoint = {WRITER_AUTOCHECKPOINT_PAGES}")
        self._checkpointer = WalCheckpointer(database, owner=self)
        self._checkpointer.start()

    def _rows(self, statement: Select[RowT]) -> Sequence[RowT]:
        # populate_existing: a row loaded earlier in this batch may have been updated since by Core
        return self._session.scalars(statement.execution_options(populate_existing=True)).all()

    def _get(self, model: type[RowT], key: object) -> RowT | None:
        return self._session.get(model, key, populate_existing=True)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._checkpointer is not None:
                self._checkpointer.stop()
            self._session.close()
            self._connection.close()
            self._engine.dispose()

    # ==========================================================================================
    # Bots
    # ==========================================================================================
    def upsert_bot(
        self,
        name: str,
        bot_class: str,
        asset_class: str,
        venue: str,
        mode: str,
        schedule: str,
        params: Mapping[str, Any],
        now: datetime,
    ) -> None:
        values = {
            "bot_class": bot_class,
            "asset_class": asset_class,
            "venue": venue,
            "mode": mode,
            "schedule": schedule,
            "params": dict(params),
            "updated_at": now,
        }
        statement = sqlite_insert(BotRow).values(name=name, first_seen_at=now, **values)
        with self._transaction(write=True):
            self._connection.execute(statement.on_conflict_do_update(index_elements=["name"], set_=values))

    def record_bot_run(
        self,
        bot: str,
        started_at: datetime,
        finished_at: datetime,
        ok: bool,
        error: str | None,
        signal_count: int,
    ) -> None:
        row = {
            "bot": bot,
            "started_at": started_at,
            "finished_at": finished_at,
            "ok": ok,
            "error": error,
            "signal_count": signal_count,
        }
        with self._transaction(write=True):
            statements.INSERT_BOT_RUN.execute(self._driver, row)

    def bot_runs(self, bot: str | None = None) -> list[BotRun]:
        """Recorded ticks, oldest first (all bots when `bot` is None)."""
        statement = select(BotRunRow).order_by(BotRunRow.finished_at, BotRunRow.id)
        if bot is not None:
            statement = statement.where(BotRunRow.bot == bot)
        with self._transaction(write=False):
            return [
                BotRun(r.bot, r.started_at, r.finished_at, r.ok, r.error, r.signal_count)
                for r in self._rows(statement)
            ]

    def prune_bot_runs(self, before: datetime) -> int:
        """Forget ticks that finished before `before`; return how many. One row per tick adds up
        (500 bots every 10 s: 4.3 million a day), and only recent runs are ever read."""
        with self._transaction(write=True):
            result = self._connection.execute(delete(BotRunRow).where(BotRunRow.finished_at < before))
            return int(result.rowcount or 0)

    # ==========================================================================================
    # Signals and decisions
    # ==========================================================================================
    def record_signal(self, signal: Signal) -> None:
        """Journal a signal. Its id is derived from what produced it, so a second copy is the same
        signal seen again (a replayed tick): the first record stands."""
        with self._transaction(write=True):
            statements.INSERT_SIGNAL.execute(self._driver, mapping.signal_values(signal))

    def record_decision(self, signal_id: str, seq: int, decision: Decision, now: datetime) -> None:
        row = mapping.decision_values(signal_id, seq, decision, now)
        with self._transaction(write=True):
            statements.INSERT_DECISION.execute(self._driver, row)

    def load_signal(self, signal_id: str) -> Signal | None:
        with self._transaction(write=False):
            row = self._get(SignalRow, signal_id)
            return None if row is None else mapping.signal_from(row)

    def decisions(self, signal_id: str) -> list[Decision]:
        """The decisions on one signal, in the order the stages took them."""
        statement = select(DecisionRow).where(DecisionRow.signal_id == signal_id)
        statement = statement.order_by(DecisionRow.seq, DecisionRow.id)
        with self._transaction(write=False):
            return [mapping.decision_from(row) for row in self._rows(statement)]

    def decision_counts_by_signal(self) -> dict[str, int]:
        statement = select(DecisionRow.signal_id, func.count()).group_by(DecisionRow.signal_id)
        with self._transaction(write=False):
            return {signal_id: count for signal_id, count in self._connection.execute(statement)}

    # ==========================================================================================
    # Orders
    # ==========================================================================================
    def insert_order(self, order: Order) -> None:
        """Journal a new order with its whole intent, and its first history row (None -> NEW).

        Raises `OrderAlreadyJournaled` for a client order id already here: the intent was
        written (and perhaps sent) before, and must not go out twice.
        """
        with self._transaction(write=True):
            try:
                statements.INSERT_ORDER.execute(self._driver, mapping.order_values(order))
            except sqlite3.IntegrityError as exc:
                raise OrderAlreadyJournaled(
                    f"order {order.client_order_id} (signal {order.intent.signal_id}) is already journaled"
                ) from exc
            self._append_events(order.client_order_id, None, OrderStatus.NEW, order.intent.created_at, None)
            self._journal_changes(order, OrderStatus.NEW, None)

    def update_order(self, order: Order, reason: str | None = None) -> None:
        """Write the order's current state; if its status changed, append the move to its history.

        See `_journal_changes` for how the moves since the last write are recorded.
        """
        client_order_id = order.client_order_id
        with self._transaction(write=True):
            found = statements.ORDER_STATUS.execute(self._driver, {"order_id": client_order_id}).fetchone()
            stored = None if found is None else found[0]
            if stored is None:
                raise LookupError(f"order {client_order_id} is not in the journal; insert_order it first")
            state = mapping.order_state_values(order)
            statements.UPDATE_ORDER_STATE.execute(self._driver, {"order_id": client_order_id, **state})
            self._journal_changes(order, OrderStatus(stored), reason)

    def _journal_changes(self, order: Order, previous: OrderStatus, reason: str | None) -> None:
        """Append the order's moves since `previous` to its history.

        The order remembers its own moves, so they are written as they happened, each at its own
        time, with `reason` on the last. An order rebuilt elsewhere (no remembered moves) gets the
        legal path from the stored status, stamped with its `updated_at`.
        """
        client_order_id = order.client_order_id
        changes = order.take_status_changes()
        if changes and changes[0].from_status is previous:
            rows = [
                {
                    "client_order_id": client_order_id,
                    "from_status": change.from_status.value,
                    "to_status": change.to_status.value,
                    "time": change.time,
                    "reason": reason if number == len(changes) and reason is not None else change.reason,
                }
                for number, change in enumerate(changes, start=1)
            ]
            statements.INSERT_ORDER_EVENT.execute_many(self._driver, rows)
        elif previous is not order.status:
            why = reason if reason is not None else order.reject_reason
            self._append_events(client_order_id, previous, order.status, order.updated_at, why)

    def _append_events(
        self,
        client_order_id: str,
        start: OrderStatus | None,
        end: OrderStatus,
        time: datetime,
        reason: str | None,
    ) -> None:
        rows = order_history.event_rows(client_order_id, start, end, time, reason)
        statements.INSERT_ORDER_EVENT.execute_many(self._driver, rows)

    def load_order(self, client_order_id: str) -> Order | None:
        with self._transaction(write=False):
            row = self._get(OrderRow, client_order_id)
            if row is None:
                return None
            return mapping.order_from(row, self._trade_ids([client_order_id]).get(client_order_id, ()))

    def load_open_orders(self) -> list[Order]:
        """Orders not yet in a terminal status: what reconciliation must resolve after a restart."""
        return self._orders(OrderRow.status.in_(OPEN_STATUSES))

    def orders(self) -> list[Order]:
        """Every journaled order, oldest first."""
        return self._orders(None)

    def _orders(self, condition: Any) -> list[Order]:
        statement = select(OrderRow).order_by(OrderRow.created_at, OrderRow.client_order_id)
        if condition is not None:
            statement = statement.where(condition)
        with self._transaction(write=False):
            rows = self._rows(statement)
            wanted = None if condition is None else [row.client_order_id for row in rows]
            trade_ids = self._trade_ids(wanted)
            return [mapping.order_from(row, trade_ids.get(row.client_order_id, ())) for row in rows]

    def _trade_ids(self, client_order_ids: list[str] | None) -> dict[str, list[str]]:
        """Venue trade ids already applied, per order (all orders when None), so a reloaded order
        still recognises a fill it has seen."""
        statement = select(FillRow.client_order_id, FillRow.venue_trade_id)
        if client_order_ids is not None:
            statement = statement.where(FillRow.client_order_id.in_(client_order_ids))
        found: dict[str, list[str]] = defaultdict(list)
        for client_order_id, trade_id in self._connection.execute(statement):
            found[client_order_id].append(trade_id)
        return found

    def order_events(self, client_order_id: str | None = None) -> list[OrderEvent]:
        """Status history, oldest first; of one order, or of all."""
        statement = select(OrderEventRow).order_by(OrderEventRow.id)
        if client_order_id is not None:
            statement = statement.where(OrderEventRow.client_order_id == client_order_id)
        with self._transaction(write=False):
            return [mapping.order_event_from(row) for row in self._rows(statement)]

    # ==========================================================================================
    # Fills, positions, closed trades
    # ==========================================================================================
    def record_fill(self, fill: Fill, bot: str) -> bool:
        """Journal a fill; False (and nothing written) when its venue trade id was seen before."""
        row = mapping.fill_values(fill, bot)
        with self._transaction(write=True):
            inserted: int = statements.INSERT_FILL.execute(self._driver, row).rowcount
        return inserted == 1

    def fills(self) -> list[Fill]:
        statement = select(FillRow).order_by(FillRow.time, FillRow.id)
        with self._transaction(write=False):
            return [mapping.fill_from(row) for row in self._rows(statement)]

    def save_position(self, position: Position) -> None:
        """Store a bot's position in one instrument, replacing the previous state (a flat one too)."""
        with self._transaction(write=True):
            statements.UPSERT_POSITION.execute(self._driver, mapping.position_values(position))

    def load_positions(self, open_only: bool = False) -> list[Position]:
        statement = select(PositionRow).order_by(PositionRow.bot, PositionRow.instrument_key)
        if open_only:
            statement = statement.where(PositionRow.is_open)
        with self._transaction(write=False):
            return [mapping.position_from(row) for row in self._rows(statement)]

    def record_closed_trade(self, trade: ClosedTrade) -> None:
        with self._transaction(write=True):
            statements.INSERT_CLOSED_TRADE.execute(self._driver, mapping.closed_trade_values(trade))

    def closed_trades_in(self, instrument_key: str) -> list[ClosedTrade]:
        """Every round trip closed in one market, oldest first."""
        statement = (
            select(ClosedTradeRow)
            .where(ClosedTradeRow.instrument_key == instrument_key)
            .order_by(ClosedTradeRow.closed_at, ClosedTradeRow.id)
        )
        with self._transaction(write=False):
            return [mapping.closed_trade_from(row) for row in self._rows(statement)]

    def closed_trades(self, since: datetime | None = None) -> list[ClosedTrade]:
        """Round trips closed at or after `since` (all when None), oldest first."""
        statement = select(ClosedTradeRow).order_by(ClosedTradeRow.closed_at, ClosedTradeRow.id)
        if since is not None:
            statement = statement.where(ClosedTradeRow.closed_at >= since)
        with self._transaction(write=False):
            return [mapping.closed_trade_from(row) for row in self._rows(statement)]

    # ==========================================================================================
    # Equity and risk events
    # ==========================================================================================
    def record_equity(
        self,
        time: datetime,
        equity: Decimal,
        cash: Decimal,
        realized: Decimal,
        unrealized: Decimal,
        fees: Decimal,
        open_positions: int,
        gross_exposure: Decimal,
    ) -> None:
        row = {
            "time": time,
            "equity": equity,
            "cash": cash,
            "realized": realized,
            "unrealized": unrealized,
            "fees": fees,
            "open_positions": open_positions,
            "gross_exposure": gross_exposure,
        }
        with self._transaction(write=True):
            statements.INSERT_EQUITY_SNAPSHOT.execute(self._driver, row)

    def equity_snapshots(self, since: datetime | None = None) -> list[EquitySnapshot]:
        statement = select(EquitySnapshotRow).order_by(EquitySnapshotRow.time, EquitySnapshotRow.id)
        if since is not None:
            statement = statement.where(EquitySnapshotRow.time >= since)
        with self._transaction(write=False):
            return [mapping.equity_snapshot_from(row) for row in self._rows(statement)]

    def record_fleet_allocation(self, weights: Sequence[FleetWeight]) -> None:
        """One allocation round of the fleet, every sub-bot's row in one transaction."""
        if not weights:
            return
        rows = [
            {
                "time": w.time,
                "bot": w.bot,
                "weight": w.weight,
                "size_multiplier": w.size_multiplier,
                "trades": w.trades,
                "posterior_mean": w.posterior_mean,
                "posterior_sd": w.posterior_sd,
            }
            for w in weights
        ]
        with self._transaction(write=True):
            self._connection.execute(sqlite_insert(_FLEET), rows)

    def fleet_allocations(self, since: datetime | None = None) -> list[FleetWeight]:
        statement = select(FleetAllocationRow).order_by(FleetAllocationRow.time, FleetAllocationRow.bot)
        if since is not None:
            statement = statement.where(FleetAllocationRow.time >= since)
        with self._transaction(write=False):
            return [
                FleetWeight(
                    r.time, r.bot, r.weight, r.size_multiplier, r.trades, r.posterior_mean, r.posterior_sd
                )
                for r in self._rows(statement)
            ]

    def record_risk_event(
        self,
        time: datetime,
        kind: str,
        severity: str,
        message: str,
        *,
        bot: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        row = {
            "time": time,
            "kind": kind,
            "severity": severity,
            "message": message,
            "bot": bot,
            "details": dict(details or {}),
        }
        with self._transaction(write=True):
            statements.INSERT_RISK_EVENT.execute(self._driver, row)

    def risk_events(self, since: datetime | None = None) -> list[RiskEvent]:
        statement = select(RiskEventRow).order_by(RiskEventRow.time, RiskEventRow.id)
        if since is not None:
            statement = statement.where(RiskEventRow.time >= since)
        with self._transaction(write=False):
            return [mapping.risk_event_from(row) for row in self._rows(statement)]

    # ==========================================================================================
    # Market regimes
    # ==========================================================================================
    def save_market_regime(self, reading: RegimeReading, now: datetime) -> None:
        """The market's current regime (one row per market, replaced at each new bar)."""
        row = {
            "instrument_key": reading.instrument_key,
            "regime": reading.regime.value,
            "probability": reading.probability,
            "probabilities": {r.value: p for r, p in reading.probabilities.items()},
            "bar_time": reading.bar_time,
            "fitted_at": reading.fitted_at,
            "fit_bars": reading.fit_bars,
            "updated_at": now,
        }
        with self._transaction(write=True):
            statements.UPSERT_MARKET_REGIME.execute(self._driver, row)

    def record_regime_fit(self, fit: RegimeFit) -> None:
        row = {
            "time": fit.time,
            "instrument_key": fit.instrument_key,
            "ok": fit.ok,
            "message": fit.message,
            "fit_bars": fit.fit_bars,
            "log_likelihood": fit.log_likelihood,
            "states": {"states": [dict(state) for state in fit.states]},
        }
        with self._transaction(write=True):
            statements.INSERT_REGIME_FIT.execute(self._driver, row)

    # ==========================================================================================
    # Vetoed entries followed on paper (veto analytics)
    # ==========================================================================================
    def record_shadow_trade(self, shadow: ShadowTrade, now: datetime) -> None:
        """A vetoed entry's shadow trade; recording the same signal again changes nothing."""
        with self._transaction(write=True):
            statements.INSERT_VETOED_TRADE.execute(self._driver, mapping.shadow_trade_values(shadow, now))

    def update_shadow_trade(self, shadow: ShadowTrade, now: datetime) -> None:
        values = mapping.shadow_trade_values(shadow, now)
        changed = {key: values[key] for key in ("status", "marks", "updated_at")}
        with self._transaction(write=True):
            statements.UPDATE_VETOED_TRADE.execute(
                self._driver, {"shadow_signal_id": shadow.signal_id, **changed}
            )

    def shadow_trades(self, status: str | None = None, since: datetime | None = None) -> list[ShadowTrade]:
        """Shadow trades, oldest first; `status` "following" gives the ones still being followed."""
        table = VetoedTradeRow.__table__
        statement = select(table).order_by(table.c.vetoed_at, table.c.signal_id)
        if status is not None:
            statement = statement.where(table.c.status == status)
        if since is not None:
            statement = statement.where(table.c.vetoed_at >= since)
        with self._transaction(write=False):
            rows = self._session.execute(statement).mappings()
            return [mapping.shadow_trade_from(dict(row)) for row in rows]

    # ==========================================================================================
    # Prediction markets: edges, the sources' estimates, settlements, calibration
    # ==========================================================================================
    def record_edge(self, edge: EdgeRecord) -> EdgeRecord:
        """Record a signal of `edge` (one row per bot and market) and return the stored record.

        A new market is stored as given. A market already recorded and not yet settled takes the
        new signal's figures, counts one more signal, keeps when it was first seen and stays
        traded once traded. A settled record is final: it is returned unchanged.
        """
        key = (_EDGES.c.bot == edge.bot) & (_EDGES.c.instrument_key == edge.instrument_key)
        with self._transaction(write=True):
            found = self._connection.execute(select(_EDGES).where(key)).mappings().first()
            if found is not None:
                old = mapping.edge_from(dict(found))
                if old.settled:
                    return old
                edge = replace(
                    edge,
                    signals=old.signals + 1,
                    first_seen=old.first_seen,
                    traded=old.traded or edge.traded,
                )
            values = mapping.edge_values(edge)
            changed = {name: value for name, value in values.items() if name not in ("bot", "instrument_key")}
            statement = sqlite_insert(_EDGES).values(values)
            self._connection.execute(
                statement.on_conflict_do_update(index_elements=["bot", "instrument_key"], set_=changed)
            )
            # read back: JSON and UTC times come back as every later reader will see them
            return mapping.edge_from(
                dict(self._connection.execute(select(_EDGES).where(key)).mappings().one())
            )

    def mark_edge_traded(self, bot: str, instrument_key: str) -> None:
        """An entry on the edge filled (no record of the market for that bot: nothing happens)."""
        key = (_EDGES.c.bot == bot) & (_EDGES.c.instrument_key == instrument_key)
        with self._transaction(write=True):
            self._connection.execute(update(_EDGES).where(key).values(traded=True))

    def settle_edges(self, settlement: Settlement, pnl_by_bot: Mapping[str, Decimal]) -> int:
        """Settle every unsettled edge record of the market; return how many.

        Each gets the outcome and the settlement time; a bot in `pnl_by_bot` also its net P&L in
        the market (the others keep None: they did not trade it).
        """
        unsettled = (_EDGES.c.instrument_key == settlement.instrument_key) & _EDGES.c.outcome_yes.is_(None)
        with self._transaction(write=True):
            bots = list(self._connection.execute(select(_EDGES.c.bot).where(unsettled)).scalars())
            for bot in bots:
                values: dict[str, Any] = {
                    "outcome_yes": settlement.outcome_yes,
                    "settled_at": settlement.settled_at,
                }
                if bot in pnl_by_bot:
                    values["pnl"] = pnl_by_bot[bot]
                self._connection.execute(
                    update(_EDGES).where(unsettled & (_EDGES.c.bot == bot)).values(values)
                )
            return len(bots)

    def edges(self, *, settled: bool | None = None) -> list[EdgeRecord]:
        """Edge records, by when they were last signalled (settled only, unsettled only, or all)."""
        statement = select(_EDGES).order_by(_EDGES.c.last_seen, _EDGES.c.bot, _EDGES.c.instrument_key)
        if settled is True:
            statement = statement.where(_EDGES.c.outcome_yes.is_not(None))
        elif settled is False:
            statement = statement.where(_EDGES.c.outcome_yes.is_(None))
        with self._transaction(write=False):
            return [mapping.edge_from(dict(row)) for row in self._connection.execute(statement).mappings()]

    def save_estimates(
        self, instrument_key: str, domain: str, probabilities: Mapping[str, float], time: datetime
    ) -> None:
        """Keep each source's first YES probability for the market, scored when it settles.

        The first, not the latest: a forecaster is judged on its view at the longest lead time
        the daemon saw, not on near-certain readings just before the settlement, which would
        flatter every source alike and so say nothing about which one to trust."""
        if not probabilities:
            return
        rows = [
            {
                "instrument_key": instrument_key,
                "source": source,
                "domain": domain,
                "probability": p,
                "time": time,
            }
            for source, p in probabilities.items()
        ]
        statement = sqlite_insert(_ESTIMATES).on_conflict_do_nothing(
            index_elements=["instrument_key", "source"]
        )
        with self._transaction(write=True):
            self._connection.execute(statement, rows)

    def estimates_for(self, instrument_key: str) -> dict[str, float]:
        """Source -> the first YES probability it gave the market."""
        statement = select(_ESTIMATES.c.source, _ESTIMATES.c.probability).where(
            _ESTIMATES.c.instrument_key == instrument_key
        )
        with self._transaction(write=False):
            return {source: probability for source, probability in self._connection.execute(statement)}

    def estimated_instrument_keys(self) -> set[str]:
        """The markets holding sources' probabilities that no settlement has scored yet."""
        with self._transaction(write=False):
            return set(self._connection.execute(select(_ESTIMATES.c.instrument_key).distinct()).scalars())

    def forget_estimates(self, instrument_key: str) -> None:
        with self._transaction(write=True):
            self._connection.execute(delete(_ESTIMATES).where(_ESTIMATES.c.instrument_key == instrument_key))

    def record_settlement(self, settlement: Settlement) -> bool:
        """Record a market's settlement; False (and nothing changed) when it was recorded before."""
        statement = sqlite_insert(_SETTLEMENTS).values(
            instrument_key=settlement.instrument_key,
            outcome_yes=settlement.outcome_yes,
            settled_at=settlement.settled_at,
        )
        with self._transaction(write=True):
            result = self._connection.execute(
                statement.on_conflict_do_nothing(index_elements=["instrument_key"])
            )
            return int(result.rowcount or 0) == 1

    def settled_instrument_keys(self) -> set[str]:
        with self._transaction(write=False):
            return set(self._connection.execute(select(_SETTLEMENTS.c.instrument_key)).scalars())

    def calibrations(self) -> dict[str, dict[str, Calibration]]:
        """Domain -> source -> the source's calibration record in that domain."""
        statement = select(_CALIBRATION.c.domain, _CALIBRATION.c.source, _CALIBRATION.c.settled,
                           _CALIBRATION.c.squared_error_sum)  # fmt: skip
        found: dict[str, dict[str, Calibration]] = defaultdict(dict)
        with self._transaction(write=False):
            for domain, source, settled, squared_error_sum in self._connection.execute(statement):
                found[domain][source] = Calibration(source, settled, squared_error_sum)
        return dict(found)

    def save_calibrations(self, domain: str, records: Iterable[Calibration], now: datetime) -> None:
        """Store the sources' calibration records in `domain`, replacing the ones stored before."""
        rows = [
            {
                "domain": domain,
                "source": record.source,
                "settled": record.settled,
                "squared_error_sum": record.squared_error_sum,
                "updated_at": now,
            }
            for record in records
        ]
        if not rows:
            return
        statement = sqlite_insert(_CALIBRATION)
        changed = {name: statement.excluded[name] for name in ("settled", "squared_error_sum", "updated_at")}
        with self._transaction(write=True):
            self._connection.execute(
                statement.on_conflict_do_update(index_elements=["domain", "source"], set_=changed), rows
            )

    # ==========================================================================================
    # Control and daemon state
    # ==========================================================================================
    def control_state(self) -> ControlState:
        with self._transaction(write=False):
            return self._control_state()

    def _control_state(self) -> ControlState:
        row = self._get(ControlRow, CONTROL_ROW_ID)
        paused = {r.bot: r.reason for r in self._rows(select(PausedBotRow).order_by(PausedBotRow.bot))}
        if row is None:
            return ControlState(paused_bots=paused)
        return ControlState(
            trading_state=TradingState(row.trading_state),
            trading_reason=row.trading_reason,
            all_paused=row.all_paused,
            all_paused_reason=row.all_paused_reason,
            paused_bots=paused,
        )

    def set_trading_state(self, state: str, reason: str | None, now: datetime) -> None:
        """Persist the system-wide trading state (a `TradingState` value) and why it was set."""
        self._set_control(trading_state=TradingState(state).value, trading_reason=reason, updated_at=now)

    def set_all_paused(self, paused: bool, reason: str | None, now: datetime) -> None:
        self._set_control(all_paused=paused, all_paused_reason=reason if paused else None, updated_at=now)

    def _set_control(self, **values: Any) -> None:
        defaults = {"trading_state": TradingState.ACTIVE.value, "all_paused": False}
        statement = sqlite_insert(ControlRow).values(id=CONTROL_ROW_ID, **{**defaults, **values})
        with self._transaction(write=True):
            self._connection.execute(statement.on_conflict_do_update(index_elements=["id"], set_=values))

    def set_bot_paused(self, bot: str, paused: bool, reason: str, now: datetime) -> None:
        with self._transaction(write=True):
            if paused:
                statement = sqlite_insert(PausedBotRow).values(bot=bot, reason=reason, paused_at=now)
                self._connection.execute(
                    statement.on_conflict_do_update(
                        index_elements=["bot"], set_={"reason": reason, "paused_at": now}
                    )
                )
            else:
                self._connection.execute(delete(PausedBotRow).where(PausedBotRow.bot == bot))

    def get_daemon_value(self, key: str) -> str | None:
        with self._transaction(write=False):
            return self._connection.execute(
                select(DaemonValueRow.value).where(DaemonValueRow.key == key)
            ).scalar_one_or_none()

    def set_daemon_value(self, key: str, value: str) -> None:
        statement = sqlite_insert(DaemonValueRow).values(key=key, value=value)
        with self._transaction(write=True):
            self._connection.execute(
                statement.on_conflict_do_update(index_elements=["key"], set_={"value": value})
            )

    # ==========================================================================================
    # Status
    # ==========================================================================================
    def status_summary(self, day_start: datetime) -> StatusSummary:
        """The trading state, the latest equity, each bot's activity since `day_start`, open positions.

        Read in one snapshot, so the numbers agree with each other even while the daemon writes.
        """
        with self._transaction(write=False):
            control = self._control_state()
            latest = self._session.scalars(
                select(EquitySnapshotRow)
                .order_by(EquitySnapshotRow.time.desc(), EquitySnapshotRow.id.desc())
                .limit(1)
            ).first()
            orders_today = self._count_by_bot(OrderRow.bot, OrderRow.created_at >= day_start)
            fills_today = self._count_by_bot(FillRow.bot, FillRow.time >= day_start)
            last_run_statement = select(BotRunRow.bot, func.max(BotRunRow.finished_at)).group_by(
                BotRunRow.bot
            )
            last_runs = {bot: finished for bot, finished in self._connection.execute(last_run_statement)}
            bots = tuple(
                BotStatus(
                    name=row.name,
                    venue=row.venue,
                    mode=row.mode,
                    paused=control.all_paused or row.name in control.paused_bots,
                    orders_today=orders_today.get(row.name, 0),
                    fills_today=fills_today.get(row.name, 0),
                    last_run=last_runs.get(row.name),
                )
                for row in self._rows(select(BotRow).order_by(BotRow.name))
            )
            positions = tuple(
                mapping.position_from(row)
                for row in self._rows(
                    select(PositionRow)
                    .where(PositionRow.is_open)
                    .order_by(PositionRow.bot, PositionRow.instrument_key)
                )
            )
        return StatusSummary(
            trading_state=control.trading_state,
            trading_reason=control.trading_reason,
            all_paused=control.all_paused,
            latest_equity=None if latest is None else latest.equity,
            latest_equity_at=None if latest is None else latest.time,
            bots=bots,
            open_positions=positions,
        )

    def _count_by_bot(self, bot_column: Any, condition: Any) -> dict[str, int]:
        statement = select(bot_column, func.count()).where(condition).group_by(bot_column)
        return {bot: count for bot, count in self._connection.execute(statement)}
