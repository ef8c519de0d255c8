"""The 3-gate entry: edge after fees and spread, the ML gate, price intelligence, with numbers by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bots.event_trading.consensus import Consensus
from bots.event_trading.gates import (
    BookTop,
    EdgeFeatures,
    MlGate,
    Trade,
    edge_gate,
    price_gate,
    train_ml_gate,
    vwap,
)
from domain.fees import KalshiFees

NOW = datetime(2026, 2, 9, 15, 0, tzinfo=UTC)
KALSHI = KalshiFees()


def agreed(probability: float, side: str, crowd: float = 0.22) -> Consensus:
    return Consensus(probability, side, "agreed", crowd)  # type: ignore[arg-type]


# --- 1. edge ---------------------------------------------------------------------------------------


def test_a_yes_edge_pays_the_ask_and_the_fee_per_contract() -> None:
    # fee on 100 contracts at 0.22: 0.07 * 100 * 0.22 * 0.78 = 1.2012 -> $1.21, 0.0121 a contract
    # cost 0.22 + 0.0121 = 0.2321; edge 0.35 - 0.2321 = 0.1179
    result = edge_gate(agreed(0.35, "yes"), BookTop(Decimal("0.20"), Decimal("0.22")), KALSHI)

    assert result.passed
    assert result.details["fee_per_contract"] == "0.0121"
    assert result.details["edge"] == pytest.approx(0.1179)


def test_a_no_edge_buys_no_at_one_minus_the_yes_bid() -> None:
    # NO ask = 1 - 0.30 = 0.70; fee on 100 at 0.70: 0.07 * 100 * 0.21 = 1.47 -> 0.0147 a contract
    # P(NO) = 0.88; edge 0.88 - 0.7147 = 0.1653
    result = edge_gate(agreed(0.12, "no", 0.32), BookTop(Decimal("0.30"), Decimal("0.34")), KALSHI)

    assert result.passed and result.details["ask"] == "0.70"
    assert result.details["edge"] == pytest.approx(0.1653)


def test_an_edge_the_costs_eat_is_refused() -> None:
    result = edge_gate(agreed(0.25, "yes"), BookTop(Decimal("0.20"), Decimal("0.22")), KALSHI)

    assert not result.passed
    assert result.details["edge"] == pytest.approx(0.25 - 0.2321)
    assert "below the 0.050 needed" in result.reason


def test_no_consensus_means_no_edge_to_take() -> None:
    none = Consensus(None, None, "1 source(s) priced it; an edge needs 2 that agree", 0.22)

    result = edge_gate(none, BookTop(Decimal("0.20"), Decimal("0.22")), KALSHI)

    assert not result.passed and "an edge needs 2" in result.reason


# --- 2. ML gate ------------------------------------------------------------------------------------


def test_the_prior_refuses_our_own_longshots_and_spread_out_sources() -> None:
    gate = MlGate()

    assert not gate.check(EdgeFeatures(0.06, 0.04, 2, 0.05), 0.10).passed
    assert not gate.check(EdgeFeatures(0.10, 0.30, 2, 0.30), 0.40).passed
    passed = gate.check(EdgeFeatures(0.10, 0.30, 2, 0.10), 0.40)
    assert passed.passed and "prior (0 of 200" in passed.details["basis"]


def test_a_trained_gate_passes_the_kind_of_edge_that_won_and_refuses_the_kind_that_lost() -> None:
    # 300 settled signals: those with an edge above 0.10 won, the others lost
    history = [
        (EdgeFeatures(edge, 0.30, 2, 0.05), edge > 0.10) for edge in (i / 1000 for i in range(-50, 250))
    ]

    gate = train_ml_gate(history)

    assert gate.trained_on == 300 and gate.model is not None
    assert gate.check(EdgeFeatures(0.22, 0.30, 2, 0.05), 0.52).passed
    refused = gate.check(EdgeFeatures(0.0, 0.30, 2, 0.05), 0.30)
    assert not refused.passed and refused.details["expected_value"] < 0


def test_too_few_or_one_sided_records_keep_the_prior() -> None:
    few = train_ml_gate([(EdgeFeatures(0.1, 0.3, 2, 0.0), True)] * 50)
    one_sided = train_ml_gate([(EdgeFeatures(0.1, 0.3, 2, 0.0), True)] * 500)

    assert few.model is None and few.trained_on == 50
    assert one_sided.model is None


# --- 3. price intelligence -------------------------------------------------------------------------


def trade(minutes_ago: float, price: float, count: float = 10) -> Trade:
    return Trade(NOW - timedelta(minutes=minutes_ago), price, count)


def test_vwap_weighs_prices_by_contracts() -> None:
    # (0.20 * 10 + 0.26 * 30) / 40 = 0.245
    assert vwap([trade(30, 0.20, 10), trade(10, 0.26, 30)]) == pytest.approx(0.245)


def test_a_calm_market_near_its_vwap_passes() -> None:
    trades = [trade(50, 0.21), trade(30, 0.22), trade(10, 0.22)]

    result = price_gate(trades, "yes", 0.23, NOW)

    assert result.passed and result.details["trades"] == 3


def test_a_spike_in_the_last_five_minutes_waits() -> None:
    trades = [trade(50, 0.21), trade(4, 0.20), trade(1, 0.29)]

    result = price_gate(trades, "yes", 0.30, NOW)

    assert not result.passed and "spiked 0.090" in result.reason


def test_a_drift_against_the_side_is_refused_and_seen_from_the_no_side_too() -> None:
    rising = [trade(55, 0.20), trade(30, 0.26), trade(20, 0.32)]  # YES up 0.12 in the hour

    assert not price_gate(rising, "no", 0.70, NOW).passed  # against NO
    assert price_gate(rising, "yes", 0.33, NOW, max_premium_to_vwap=0.10).passed  # with it


def test_buying_far_above_the_hours_vwap_is_refused() -> None:
    trades = [trade(50, 0.20), trade(30, 0.21), trade(20, 0.20)]

    result = price_gate(trades, "yes", 0.26, NOW)

    assert not result.passed and "above the hour's VWAP" in result.reason
