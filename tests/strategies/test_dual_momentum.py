"""Dual momentum: buy the basket leader if it is rising, leave it when it falls or is outrun.

Lookback 4 bars, switch margin 1 percentage point, ATR(2) over bars 1.0 wide.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from strategies.decision import Action
from strategies.dual_momentum import DualMomentumParams, decide
from tests.strategies.bars import series_from_closes, with_last_close

PARAMS = DualMomentumParams(lookback=4, atr_period=2, switch_margin=0.01)

# Momentum at the last bar is close[5] / close[1] - 1.
A = series_from_closes([100, 100, 101, 102, 103, 105], key="x:A")  # 105 / 100 - 1 = +5 %
B = series_from_closes([50, 50, 50, 51, 51, 51], key="x:B")  # 51 / 50 - 1 = +2 %
C = series_from_closes([20, 20, 20, 19, 19, 19], key="x:C")  # 19 / 20 - 1 = -5 %
FALLING_A = series_from_closes([100, 100, 99, 98, 97, 96], key="x:A")  # -4 %
FALLING_B = series_from_closes([50, 50, 50, 49, 49, 49], key="x:B")  # -2 %


def test_flat_buys_the_leader_when_its_momentum_is_positive() -> None:
    rotation = decide([A, B, C], PARAMS, None)

    assert rotation.member == 0
    decision = rotation.decision
    assert decision.action is Action.ENTER_LONG
    assert decision.evidence["momentum"] == pytest.approx(0.05)
    assert decision.evidence["momentum:x:B"] == pytest.approx(0.02)
    assert decision.edge == pytest.approx(0.05)
    # TRs of A: 1, 1.5, 1.5, 1.5, 2.5; ATR(2): 1.25, 1.375, 1.4375, then (1.4375 + 2.5) / 2.
    assert decision.atr == pytest.approx(1.96875)
    assert decision.stop == pytest.approx(105 - 2 * 1.96875)


def test_leader_order_in_the_basket_does_not_matter() -> None:
    rotation = decide([C, B, A], PARAMS, None)

    assert rotation.member == 2 and rotation.decision.action is Action.ENTER_LONG


def test_flat_stays_flat_when_even_the_leader_is_falling() -> None:
    rotation = decide([FALLING_A, FALLING_B, C], PARAMS, None)

    assert rotation.decision.action is Action.HOLD
    assert rotation.member is None
    assert "absolute momentum fails" in rotation.decision.reason
    assert "x:B" in rotation.decision.reason  # the best of the losers, at -2 %


def test_a_higher_absolute_threshold_blocks_a_weak_leader() -> None:
    demanding = DualMomentumParams(lookback=4, atr_period=2, absolute_threshold=0.06)

    assert decide([A, B, C], demanding, None).decision.action is Action.HOLD  # +5 % < 6 %


def test_on_a_tie_the_first_member_leads() -> None:
    twin = series_from_closes([100, 100, 101, 102, 103, 105], key="x:A2")

    assert decide([A, twin], PARAMS, None).member == 0
    assert decide([twin, A], PARAMS, None).member == 0


def test_confidence_grows_with_momentum_measured_in_its_own_volatility() -> None:
    # A choppy +1 %: log returns of 100, 103, 99, 104, 101 have a sample sd of 0.0436;
    # over 4 bars that is 0.0872, so +1 % is 0.115 sd and a strength of 0.115 / 2.
    choppy = series_from_closes([100, 100, 103, 99, 104, 101], key="x:A")
    sd = float(np.std(np.diff(np.log([100, 103, 99, 104, 101])), ddof=1)) * math.sqrt(4)

    decision = decide([choppy, C], PARAMS, None).decision

    assert sd == pytest.approx(0.0872, abs=1e-4)
    assert decision.confidence == pytest.approx(0.5 + 0.4 * (0.01 / sd) / 2)
    assert decide([A, C], PARAMS, None).decision.confidence == pytest.approx(0.9)  # smooth +5 %: saturated


def test_held_leader_is_kept() -> None:
    rotation = decide([A, B, C], PARAMS, 0)

    assert rotation.member == 0 and rotation.decision.action is Action.HOLD


def test_held_member_is_sold_when_its_momentum_turns_negative() -> None:
    rotation = decide([A, B, C], PARAMS, 2)

    assert rotation.member == 2
    assert rotation.decision.action is Action.EXIT
    assert "absolute momentum lost" in rotation.decision.reason


def test_held_member_is_sold_when_another_leads_by_more_than_the_margin() -> None:
    rotation = decide([A, B, C], PARAMS, 1)  # A +5 % leads B +2 % by 3 points > 1

    assert rotation.member == 1
    assert rotation.decision.action is Action.EXIT
    assert "x:A" in rotation.decision.reason


def test_held_member_is_kept_when_the_lead_is_within_the_margin() -> None:
    close_second = series_from_closes([100, 100, 101, 102, 103, 102.5], key="x:A")  # +2.5 % vs B +2 %

    assert decide([close_second, B, C], PARAMS, 1).decision.action is Action.HOLD


def test_entry_needs_every_member_of_the_basket() -> None:
    rotation = decide([A, None, C], PARAMS, None)

    assert rotation.decision.action is Action.HOLD
    assert "basket member 1" in rotation.decision.reason


def test_entry_needs_enough_bars_in_every_member() -> None:
    rotation = decide([A, B.truncated(4)], PARAMS, None)

    assert rotation.decision.action is Action.HOLD
    assert "x:B" in rotation.decision.reason


def test_entry_needs_bars_ending_at_the_same_time() -> None:
    late = series_from_closes([50, 50, 50, 51, 51, 51], key="x:B", start=A.times[0] - 60)

    assert decide([A, late], PARAMS, None).decision.action is Action.HOLD


def test_held_member_still_exits_on_its_own_momentum_when_others_lack_bars() -> None:
    assert decide([None, None, C], PARAMS, 2).decision.action is Action.EXIT


def test_held_member_with_a_bad_last_close_holds() -> None:
    rotation = decide([A, with_last_close(B, math.nan)], PARAMS, 1)

    assert rotation.decision.action is Action.HOLD


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"lookback": 1}, "lookback"),
        ({"absolute_threshold": -0.01}, "absolute_threshold"),
        ({"switch_margin": -1}, "switch_margin"),
        ({"look_back": 20}, "look_back"),
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(values: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        DualMomentumParams.from_mapping(values)
