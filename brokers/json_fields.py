"""Typed reads of a venue's JSON: every adapter's parsers use these, so junk fails the same way.

Each raises `ValueError` naming `what` (where in the answer) and the offending value;
the adapter turns that into a BrokerError with its reason (`LiveAdapter.parsed`).
Numbers become Decimal through their text, never through binary floats.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any


def json_object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{what}: expected a JSON object, got {type(value).__name__}")
    return value


def json_list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{what}: expected a JSON list, got {type(value).__name__}")
    return value


def text_field(payload: Mapping[str, Any], key: str, what: str) -> str:
    """A non-empty string field, without surrounding whitespace."""
    value = payload.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what}: {key!r} is {value!r}, expected a non-empty string")
    return value.strip()


def decimal_of(value: Any, what: str) -> Decimal:
    """A JSON number or numeric string as Decimal (NaN and infinities pass: see `finite_decimal`)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError(f"{what}: expected a number, got {value!r}")
    try:
        return Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation:
        raise ValueError(f"{what}: {value!r} is not a number") from None


def finite_decimal(value: Any, what: str) -> Decimal:
    number = decimal_of(value, what)
    if not number.is_finite():
        raise ValueError(f"{what}: {value!r} is not a finite number")
    return number
