"""Market regimes the regime filter assigns and bots declare they trade in."""

from __future__ import annotations

from enum import StrEnum


class Regime(StrEnum):
    BULL = "bull"
    BEAR = "bear"
    SIDEWAYS = "sideways"
