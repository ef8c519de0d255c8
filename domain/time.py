"""Helpers that keep every datetime in the system timezone-aware."""

from __future__ import annotations

from datetime import datetime


def require_aware(moment: datetime, what: str) -> None:
    """Raise if `moment` is naive: a naive datetime is a bug waiting for a DST change."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")
