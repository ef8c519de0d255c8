"""Parsing a registry's `params` table into a strategy's frozen parameter dataclass.

A misspelt parameter must stop start-up, not silently fall back to its default, so
unknown names are refused with the list of known ones.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

P = TypeVar("P", bound="DataclassInstance")


def parse_params(params_type: type[P], values: Mapping[str, Any]) -> P:
    """Build `params_type` from `values`, checking names and types; ranges are the dataclass's job.

    An int is accepted where a float is expected (TOML writes `5` for five); a bool is
    never taken for a number.
    """
    hints = typing.get_type_hints(params_type)
    names = [f.name for f in dataclasses.fields(params_type)]
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(f"unknown parameter {name!r} ({hint}known: {', '.join(sorted(names))})")
        kwargs[name] = _coerce(name, hints[name], value)
    return params_type(**kwargs)


def _coerce(name: str, expected: Any, value: Any) -> Any:
    if expected is bool:
        if isinstance(value, bool):
            return value
        raise ValueError(f"parameter {name!r} must be true or false, got {value!r}")
    if expected is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ValueError(f"parameter {name!r} must be a whole number, got {value!r}")
    if expected is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise ValueError(f"parameter {name!r} must be a number, got {value!r}")
    raise TypeError(f"parameter {name!r} has an unsupported type {expected!r}")  # a programming error


def require_whole_at_least(name: str, value: int, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"parameter {name!r} must be a whole number of at least {minimum}, got {value!r}")


def require_finite(name: str, value: float) -> None:
    if not math.isfinite(value):
        raise ValueError(f"parameter {name!r} must be a finite number, got {value!r}")


def require_positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"parameter {name!r} must be a positive number, got {value!r}")
