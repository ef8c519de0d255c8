"""The consensus engine: two or more agreeing sources, weighted by their calibration, hand-worked."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bots.event_trading.consensus import ConsensusSettings, consensus
from domain.prediction_records import Calibration
from scrapers.base import SourceEstimate

NOW = datetime(2026, 2, 9, 15, 0, tzinfo=UTC)


def estimate(source: str, probability: float) -> SourceEstimate:
    return SourceEstimate(source, probability, NOW)


def test_two_sources_above_the_price_give_a_yes_edge_weighted_by_the_prior_alone() -> None:
    result = consensus([estimate("gfs_ensemble", 0.40), estimate("nws_forecast", 0.30)], 0.22, {})

    # no record yet: both at the prior Brier 0.20, weight 5 each -> an equal mean
    assert result.side == "yes" and result.has_edge
    assert result.probability == pytest.approx(0.35)
    assert result.weights == pytest.approx({"gfs_ensemble": 0.5, "nws_forecast": 0.5})


def test_a_better_calibrated_source_counts_more() -> None:
    # gfs: 30 settled, squared errors 3.0 -> brier (3.0 + 0.2 * 10) / 40 = 0.125, weight 8
    # nws: 10 settled, squared errors 3.0 -> brier (3.0 + 2.0) / 20 = 0.25, weight 4
    record = {
        "gfs_ensemble": Calibration("gfs_ensemble", 30, 3.0),
        "nws_forecast": Calibration("nws_forecast", 10, 3.0),
    }

    result = consensus([estimate("gfs_ensemble", 0.10), estimate("nws_forecast", 0.16)], 0.30, record)

    assert result.side == "no"
    assert result.weights == pytest.approx({"gfs_ensemble": 8 / 12, "nws_forecast": 4 / 12})
    assert result.probability == pytest.approx((8 * 0.10 + 4 * 0.16) / 12)  # 0.12


def test_one_source_is_not_enough() -> None:
    result = consensus([estimate("gfs_ensemble", 0.60)], 0.20, {})

    assert not result.has_edge and result.probability is None
    assert result.reason == "1 source(s) priced it; an edge needs 2 that agree"


def test_sources_on_opposite_sides_of_the_price_give_no_edge() -> None:
    result = consensus([estimate("gfs_ensemble", 0.40), estimate("nws_forecast", 0.15)], 0.22, {})

    assert not result.has_edge
    assert result.sides == {"gfs_ensemble": "yes", "nws_forecast": "no"}
    assert "disagree" in result.reason


def test_a_source_exactly_at_the_price_breaks_the_agreement() -> None:
    result = consensus([estimate("gfs_ensemble", 0.40), estimate("nws_forecast", 0.22)], 0.22, {})

    assert not result.has_edge and result.sides["nws_forecast"] is None


def test_a_calibration_record_grows_by_the_squared_error_of_each_settlement() -> None:
    record = Calibration("gfs_ensemble").settle(0.8, True).settle(0.3, True).settle(0.1, False)

    # (0.2)^2 + (0.7)^2 + (0.1)^2 = 0.04 + 0.49 + 0.01
    assert record.settled == 3 and record.squared_error_sum == pytest.approx(0.54)
    assert record.brier(0.20, 10.0) == pytest.approx((0.54 + 2.0) / 13)


def test_settings_and_prices_are_checked() -> None:
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        consensus([estimate("a", 0.5), estimate("b", 0.6)], 1.0, {})
    with pytest.raises(ValueError, match="one estimate per source"):
        consensus([estimate("a", 0.5), estimate("a", 0.6)], 0.4, {})
    with pytest.raises(ValueError, match="min_sources"):
        ConsensusSettings(min_sources=0)
