"""Column types that keep money exact, time in UTC, and JSON honest.

SQLite has no decimal type: a NUMERIC column silently turns 0.1 into a binary
float. `ExactDecimal` stores the decimal's own text in a TEXT column instead,
so what is read back is the very `Decimal` that was written (digits and
exponent). `UtcDateTime` refuses naive datetimes, since a naive time in the
journal cannot be placed on the timeline, and always gives back UTC.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import DateTime, Dialect, String, Text
from sqlalchemy.types import TypeDecorator


class ExactDecimal(TypeDecorator[Decimal]):
    """A `Decimal` stored as its text, read back digit for digit."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, Decimal | int):
            # a float here has already lost digits; refuse it rather than store the damage
            raise TypeError(f"exact decimal column got {type(value).__name__} {value!r}; pass a Decimal")
        return str(Decimal(value))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, stored as naive UTC (sortable text in SQLite), read back in UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"datetime column got {type(value).__name__} {value!r}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"naive datetime {value.isoformat()} cannot be stored: pass a timezone-aware time"
            )
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class JsonDocument(TypeDecorator[Any]):
    """A JSON document in a TEXT column.

    Values JSON has no type for are written as text: a `Decimal` as its exact
    digits, a datetime in ISO 8601, an enum as its value. They come back as
    those strings, not as the original types; callers that need a `Decimal`
    back convert it themselves.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return _ENCODER.encode(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


def _to_json(value: object) -> object:
    """What `json` cannot write itself."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    raise TypeError(f"{type(value).__name__} {value!r} cannot be stored as JSON")


_ENCODER = json.JSONEncoder(default=_to_json, separators=(",", ":"))  # built once: dumps() rebuilds it
