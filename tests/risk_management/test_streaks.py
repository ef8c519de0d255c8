"""Consecutive-loss reduction and its restoration, worked by hand."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from risk_management.streaks import StreakRule, streak_multiplier

RULE = StreakRule(losses_to_reduce=10, reduced_multiplier=0.5, wins_to_restore=3)
LOSS, WIN, FLAT = -5.0, 7.0, 0.0


def test_nine_losses_keep_full_size_and_the_tenth_halves_it() -> None:
    assert streak_multiplier([LOSS] * 9, RULE) == 1.0
    assert streak_multiplier([LOSS] * 10, RULE) == 0.5


def test_a_win_inside_the_losing_run_restarts_the_count() -> None:
    assert streak_multiplier([LOSS] * 9 + [WIN] + [LOSS] * 9, RULE) == 1.0


def test_full_size_returns_only_after_the_configured_win_streak() -> None:
    reduced = [LOSS] * 10
    assert streak_multiplier([*reduced, WIN, WIN], RULE) == 0.5
    assert streak_multiplier([*reduced, WIN, WIN, LOSS, WIN, WIN], RULE) == 0.5  # the loss reset the wins
    assert streak_multiplier([*reduced, WIN, WIN, WIN], RULE) == 1.0


def test_break_even_trades_neither_count_nor_break_a_streak() -> None:
    assert streak_multiplier([LOSS] * 5 + [FLAT] + [LOSS] * 5, RULE) == 0.5


def test_bad_rules_are_refused() -> None:
    with pytest.raises(ValueError, match="reduced_multiplier"):
        StreakRule(reduced_multiplier=0.0)
    with pytest.raises(ValueError, match="at least 1"):
        StreakRule(losses_to_reduce=0)


@given(st.lists(st.sampled_from([LOSS, WIN, FLAT]), max_size=60))
def test_the_multiplier_is_one_of_the_two_sizes_and_needs_enough_losses(results: list[float]) -> None:
    multiplier = streak_multiplier(results, RULE)
    assert multiplier in (0.5, 1.0)
    if sum(1 for r in results if r < 0) < RULE.losses_to_reduce:
        assert multiplier == 1.0
