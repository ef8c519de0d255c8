"""The column types: money exact to the last digit, time aware and in UTC, JSON that takes our values."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Engine, Integer, MetaData, Table, delete, insert, select
from sqlalchemy.exc import StatementError

from domain.signals import Side
from storage.column_types import ExactDecimal, JsonDocument, UtcDateTime
from storage.engine import sqlite_engine

metadata = MetaData()
values = Table(
    "values_under_test",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("amount", ExactDecimal),
    Column("moment", UtcDateTime),
    Column("document", JsonDocument),
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = sqlite_engine(Path(tmp_path_factory.mktemp("types")) / "types.sqlite")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def round_trip(engine: Engine, **row: Any) -> Any:
    with engine.begin() as connection:
        connection.execute(delete(values))
        connection.execute(insert(values).values(id=1, **row))
        return connection.execute(select(values).where(values.c.id == 1)).one()


@settings(max_examples=300, deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_any_finite_decimal_comes_back_digit_for_digit(engine: Engine, amount: Decimal) -> None:
    stored = round_trip(engine, amount=amount).amount
    assert stored == amount
    assert stored.as_tuple() == amount.as_tuple()  # same digits and exponent, not merely equal


@pytest.mark.parametrize(
    "amount",
    ["0.00000001", "1E-8", "-0.000000000000000001", "123456789012345678901234567890.123456789", "0.10", "-0"],
)
def test_satoshis_and_long_decimals_survive(engine: Engine, amount: str) -> None:
    stored = round_trip(engine, amount=Decimal(amount)).amount
    assert str(stored) == str(Decimal(amount))


def test_a_float_is_refused_because_it_has_already_lost_digits(engine: Engine) -> None:
    with pytest.raises(StatementError, match="pass a Decimal"):
        round_trip(engine, amount=0.1)


def test_an_int_is_stored_as_an_exact_decimal(engine: Engine) -> None:
    assert round_trip(engine, amount=42).amount == Decimal(42)


def test_a_naive_datetime_is_refused_with_a_clear_error(engine: Engine) -> None:
    with pytest.raises(StatementError, match="naive datetime 2026-03-02T14:30:00 cannot be stored"):
        round_trip(engine, moment=datetime(2026, 3, 2, 14, 30))


def test_an_aware_datetime_comes_back_as_the_same_instant_in_utc(engine: Engine) -> None:
    new_york_winter = timezone(timedelta(hours=-5))
    moment = datetime(2026, 3, 2, 9, 30, 0, 123456, tzinfo=new_york_winter)
    stored = round_trip(engine, moment=moment).moment
    assert stored == moment
    assert stored.tzinfo is UTC
    assert stored == datetime(2026, 3, 2, 14, 30, 0, 123456, tzinfo=UTC)


def test_stored_times_sort_in_time_order(engine: Engine) -> None:
    """Range queries (`closed_at >= since`) compare the stored text, so its order must be time order."""
    moments = [datetime(2026, 3, 2, 14, 30, tzinfo=UTC) + timedelta(microseconds=m) for m in (0, 1, 999_999)]
    moments.append(datetime(2026, 3, 2, 9, 31, tzinfo=timezone(timedelta(hours=-5))))  # 14:31 UTC
    with engine.begin() as connection:
        connection.execute(delete(values))
        for number, moment in enumerate(reversed(moments)):
            connection.execute(insert(values).values(id=number, moment=moment))
        ordered = connection.execute(select(values.c.moment).order_by(values.c.moment)).scalars().all()
    assert ordered == sorted(moments)


def test_json_documents_write_decimals_as_exact_text_and_enums_as_values(engine: Engine) -> None:
    document = {"price": Decimal("0.00000001"), "side": Side.BUY, "at": datetime(2026, 3, 2, tzinfo=UTC)}
    stored = round_trip(engine, document=document).document
    assert stored == {"price": "1E-8", "side": "buy", "at": "2026-03-02T00:00:00+00:00"}
    assert Decimal(stored["price"]) == Decimal("0.00000001")


def test_json_refuses_what_it_cannot_write(engine: Engine) -> None:
    with pytest.raises(StatementError, match="cannot be stored as JSON"):
        round_trip(engine, document={"bad": object()})
