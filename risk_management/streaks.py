"""The consecutive-loss size reduction: pure over a bot's closed-trade results, oldest first."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StreakRule:
    """After `losses_to_reduce` losses in a row a bot trades at `reduced_multiplier`; it gets full
    size back after `wins_to_restore` wins in a row. A break-even trade (P&L exactly 0) counts
    as neither and breaks neither streak."""

    losses_to_reduce: int = 10
    reduced_multiplier: float = 0.5
    wins_to_restore: int = 3

    def __post_init__(self) -> None:
        if self.losses_to_reduce < 1 or self.wins_to_restore < 1:
            raise ValueError("losses_to_reduce and wins_to_restore must be at least 1")
        if not 0 < self.reduced_multiplier <= 1:
            raise ValueError(f"reduced_multiplier must be in (0, 1], got {self.reduced_multiplier}")


class StreakTracker:
    """The running state of `StreakRule` for one bot; feed it each closed trade's net P&L."""

    __slots__ = ("_losses", "_reduced", "_wins", "rule")

    def __init__(self, rule: StreakRule) -> None:
        self.rule = rule
        self._reduced = False
        self._losses = 0
        self._wins = 0

    @property
    def multiplier(self) -> float:
        return self.rule.reduced_multiplier if self._reduced else 1.0

    @property
    def losses_in_a_row(self) -> int:
        return self._losses

    def record(self, net_result: float) -> bool:
        """Count one trade; True when this trade changed the multiplier."""
        if net_result < 0:
            self._losses, self._wins = self._losses + 1, 0
        elif net_result > 0:
            self._losses, self._wins = 0, self._wins + 1
        else:
            return False  # break-even: neither streak moves
        before = self._reduced
        if not self._reduced and self._losses >= self.rule.losses_to_reduce:
            self._reduced = True
        elif self._reduced and self._wins >= self.rule.wins_to_restore:
            self._reduced = False
        return self._reduced != before


def streak_multiplier(net_results: Iterable[float], rule: StreakRule) -> float:
    """The size multiplier a bot has earned by its record of net trade P&Ls, oldest first.

    Example (10 losses to reduce, 3 wins to restore): 10 losses → 0.5; then 2 wins → still 0.5
    (a loss in between would restart the count of wins); a third win → 1.0.
    """
    tracker = StreakTracker(rule)
    for result in net_results:
        tracker.record(result)
    return tracker.multiplier
