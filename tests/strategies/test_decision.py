"""The rules every strategy shares: protective stops, decision invariants, signal intents, params."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from domain.signals import Side, SignalIntent
from strategies.decision import (
    Action,
    StrategyDecision,
    enter,
    exit_position,
    hold,
    order_for,
    protective_stop,
)
from strategies.params import parse_params


def test_protective_stop_sits_multiple_atrs_on_the_losing_side() -> None:
    assert protective_stop(Side.BUY, 100.0, 1.5, 2.0) == pytest.approx(97.0)
    assert protective_stop(Side.SELL, 100.0, 1.5, 2.0) == pytest.approx(103.0)


def test_protective_stop_refuses_a_long_stop_at_or_below_zero() -> None:
    with pytest.raises(ValueError, match="not a price"):
        protective_stop(Side.BUY, 10.0, 5.0, 2.0)  # 10 - 2 x 5 = 0


@pytest.mark.parametrize(
    ("price", "atr", "multiple"), [(math.nan, 1.0, 2.0), (100.0, 0.0, 2.0), (100.0, 1.0, -1.0)]
)
def test_protective_stop_refuses_inputs_that_are_not_positive_numbers(
    price: float, atr: float, multiple: float
) -> None:
    with pytest.raises(ValueError, match="protective stop needs a positive"):
        protective_stop(Side.BUY, price, atr, multiple)


def entry(
    side: Side = Side.BUY, close: float = 100.0, atr: float = 1.0, edge: float = 0.02
) -> StrategyDecision:
    return enter(
        side,
        "test",
        close=close,
        atr=atr,
        stop_atr_multiple=2.0,
        strength=0.5,
        edge=edge,
        evidence={"rsi": 5.0},
    )


def test_entry_carries_stop_atr_and_close_in_its_evidence() -> None:
    decision = entry()

    assert decision.action is Action.ENTER_LONG
    assert decision.stop == pytest.approx(98.0)
    assert dict(decision.evidence) == {"rsi": 5.0, "close": 100.0, "atr": 1.0}
    assert decision.confidence == pytest.approx(0.7)  # 0.5 + 0.4 x strength 0.5


def test_entry_without_a_valid_stop_becomes_a_hold() -> None:
    decision = entry(close=10.0, atr=6.0)  # 10 - 12 < 0

    assert decision.action is Action.HOLD
    assert decision.stop is None
    assert "entry skipped" in decision.reason


def test_entry_without_positive_edge_becomes_a_hold() -> None:
    assert entry(edge=0.0).action is Action.HOLD


def test_decision_refuses_a_stop_on_the_wrong_side() -> None:
    with pytest.raises(ValueError, match="wrong side"):
        StrategyDecision(Action.ENTER_LONG, "x", close=100.0, atr=1.0, stop=101.0, confidence=0.5, edge=0.01)


def test_decision_refuses_a_stop_on_a_hold_and_non_finite_evidence() -> None:
    with pytest.raises(ValueError, match="only an entry"):
        StrategyDecision(Action.HOLD, "x", stop=90.0)
    with pytest.raises(ValueError, match="finite"):
        StrategyDecision(Action.HOLD, "x", evidence={"rsi": math.nan})


def test_hold_and_exit_drop_indicators_without_a_value() -> None:
    decision = hold("warming up", {"close": 100.0, "rsi": None, "atr": math.nan})

    assert dict(decision.evidence) == {"close": 100.0}
    assert decision.atr is None and decision.close == 100.0


def test_exit_closes_the_side_held() -> None:
    exit_decision = exit_position("done", {"close": 100.0})

    assert order_for(exit_decision, Side.BUY) == (Side.SELL, SignalIntent.CLOSE)
    assert order_for(exit_decision, Side.SELL) == (Side.BUY, SignalIntent.CLOSE)
    assert order_for(exit_decision, None) is None  # nothing to close


def test_entry_opens_only_when_flat() -> None:
    assert order_for(entry(), None) == (Side.BUY, SignalIntent.OPEN)
    assert order_for(entry(Side.SELL), None) == (Side.SELL, SignalIntent.OPEN)
    assert order_for(entry(), Side.BUY) is None
    assert order_for(entry(), Side.SELL) is None
    assert order_for(hold("nothing"), None) is None


@dataclass(frozen=True, slots=True)
class ExampleParams:
    period: int = 5
    threshold: float = 1.0
    enabled: bool = False


def test_params_accept_a_whole_number_for_a_float() -> None:
    params = parse_params(ExampleParams, {"threshold": 2, "period": 7, "enabled": True})

    assert params == ExampleParams(7, 2.0, True)
    assert isinstance(params.threshold, float)


def test_unknown_param_names_it_suggests_the_nearest_and_lists_the_known() -> None:
    with pytest.raises(ValueError) as caught:
        parse_params(ExampleParams, {"treshold": 2})

    message = str(caught.value)
    assert "'treshold'" in message and "did you mean 'threshold'" in message
    assert "enabled, period, threshold" in message


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"period": 2.5}, "period"),
        ({"period": True}, "period"),
        ({"threshold": "x"}, "threshold"),
        ({"enabled": 1}, "enabled"),
    ],
)
def test_wrongly_typed_param_is_refused_naming_it(values: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        parse_params(ExampleParams, values)
