"""The journal's hot statements, compiled once and run on the driver's cursor.

The orchestrator writes about fourteen rows per signal, and a signal should
reach its venue within a few milliseconds. Executing a Core statement costs
about 100 µs of SQLAlchemy bookkeeping per row on a small VM, ten times what
SQLite itself needs; `Prepared` keeps the SQL SQLAlchemy generates and the
column types' bind processors (so `ExactDecimal`, `UtcDateTime` and
`JsonDocument` convert exactly as everywhere else) and skips the rest. These
statements run inside the repository's SQLAlchemy transaction, on its connection.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import ClauseElement, Insert, Table, bindparam, insert, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.compiler import SQLCompiler

from storage.models import (
    Base,
    BotRunRow,
    ClosedTradeRow,
    DecisionRow,
    EquitySnapshotRow,
    FillRow,
    MarketRegimeRow,
    OrderEventRow,
    OrderRow,
    PositionRow,
    RegimeFitRow,
    RiskEventRow,
    SignalRow,
    VetoedTradeRow,
)

DIALECT = sqlite.dialect()
BindProcessor = Callable[[Any], Any]
Plan = tuple[str, list[tuple[str, BindProcessor | None]]]


class Prepared:
    """One statement, compiled for SQLite once per set of parameter names."""

    def __init__(self, statement: ClauseElement) -> None:
        self._statement = statement
        self._plans: dict[tuple[str, ...], Plan] = {}

    def execute(self, driver_connection: Any, parameters: Mapping[str, Any]) -> Any:
        """Run with one row of named parameters; returns the driver's cursor."""
        sql, binds = self._plan(tuple(parameters))
        return driver_connection.execute(sql, _row(binds, parameters))

    def execute_many(self, driver_connection: Any, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run once per row; every row must name the same parameters."""
        sql, binds = self._plan(tuple(rows[0]))
        driver_connection.executemany(sql, [_row(binds, row) for row in rows])

    def _plan(self, names: tuple[str, ...]) -> Plan:
        plan = self._plans.get(names)
        if plan is not None:
            return plan
        compiled = cast(SQLCompiler, self._statement.compile(dialect=DIALECT, column_keys=list(names)))
        binds: list[tuple[str, BindProcessor | None]] = [
            (name, compiled.binds[name].type.dialect_impl(DIALECT).bind_processor(DIALECT))
            for name in compiled.positiontup or []
        ]
        self._plans[names] = (compiled.string, binds)
        return self._plans[names]


def _row(binds: list[tuple[str, BindProcessor | None]], parameters: Mapping[str, Any]) -> list[Any]:
    return [parameters[name] if process is None else process(parameters[name]) for name, process in binds]


def table_of(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table), f"{model.__name__} is not mapped to a table"
    return table


def _upsert(table: Table, keys: Collection[str]) -> Insert:
    """INSERT, or on a clash of `keys` overwrite every other column (the primary key stays)."""
    statement = sqlite_insert(table)
    changed = {
        column.name: statement.excluded[column.name]
        for column in table.columns
        if column.name not in keys and not column.primary_key
    }
    return statement.on_conflict_do_update(index_elements=list(keys), set_=changed)


_ORDERS = table_of(OrderRow)

# a signal id is derived from what produced it: a second copy is the same signal seen again
INSERT_SIGNAL = Prepared(sqlite_insert(table_of(SignalRow)).on_conflict_do_nothing(index_elements=["id"]))
INSERT_DECISION = Prepared(insert(table_of(DecisionRow)))
INSERT_ORDER = Prepared(insert(_ORDERS))
INSERT_ORDER_EVENT = Prepared(insert(table_of(OrderEventRow)))
ORDER_STATUS = Prepared(select(_ORDERS.c.status).where(_ORDERS.c.client_order_id == bindparam("order_id")))
UPDATE_ORDER_STATE = Prepared(update(_ORDERS).where(_ORDERS.c.client_order_id == bindparam("order_id")))
INSERT_FILL = Prepared(
    sqlite_insert(table_of(FillRow)).on_conflict_do_nothing(index_elements=["venue", "venue_trade_id"])
)
UPSERT_POSITION = Prepared(_upsert(table_of(PositionRow), ["bot", "instrument_key"]))
INSERT_CLOSED_TRADE = Prepared(insert(table_of(ClosedTradeRow)))
INSERT_EQUITY_SNAPSHOT = Prepared(insert(table_of(EquitySnapshotRow)))
INSERT_RISK_EVENT = Prepared(insert(table_of(RiskEventRow)))
INSERT_BOT_RUN = Prepared(insert(table_of(BotRunRow)))
UPSERT_MARKET_REGIME = Prepared(_upsert(table_of(MarketRegimeRow), ["instrument_key"]))
INSERT_REGIME_FIT = Prepared(insert(table_of(RegimeFitRow)))
_VETOED_TRADES = table_of(VetoedTradeRow)
# a vetoed signal seen again (the same id) is the same shadow trade
INSERT_VETOED_TRADE = Prepared(
    sqlite_insert(_VETOED_TRADES).on_conflict_do_nothing(index_elements=["signal_id"])
)
UPDATE_VETOED_TRADE = Prepared(
    update(_VETOED_TRADES).where(_VETOED_TRADES.c.signal_id == bindparam("shadow_signal_id"))
)
