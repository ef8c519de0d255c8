"""System-wide and per-bot trading states."""

from __future__ import annotations

from enum import StrEnum


class TradingState(StrEnum):
    """ACTIVE trades normally; REDUCING lets only exposure-shrinking orders through (the
    daily-loss halt puts the system here so exits still work); HALTED sends nothing new."""

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"
