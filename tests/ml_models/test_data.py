"""Bar sources of the ML command line: the simulated world gives the bars asked for, in time order;
shipped data loads without a network; unusable bars are refused with the asset and the problem named."""

from __future__ import annotations

import asyncio

import numpy as np
import pandas as pd
import pytest

from ml_models.data import BarDataError, SimulationSettings, assets_of, load_bars, shipped_bars, validate_bars


def test_simulated_source_yields_the_requested_bars_in_time_order() -> None:
    progress: list[str] = []

    frames = load_bars(
        "simulated",
        ("BTC", "SOL"),
        simulation=SimulationSettings(bars=600, timeframe_seconds=300),
        progress=progress.append,
    )

    for frame in frames.values():
        assert len(frame) == 600
        steps = (frame.index[1:] - frame.index[:-1]).total_seconds()
        assert (steps == 300).all()
        assert (frame[["open", "high", "low", "close"]] > 0).all().all()
    assert not frames["BTC"]["close"].equals(frames["SOL"]["close"])
    assert progress[-1] == "simulated world: 100% of 600 bars generated"


def test_shipped_source_loads_daily_spx_and_ndx() -> None:
    frames = load_bars("shipped", ("SPX", "NDX"))

    for frame in frames.values():
        assert list(frame.columns) == ["open", "high", "low", "close", "volume"]
        assert len(frame) > 4000
        assert str(frame.index.tz) == "UTC"
        assert frame.index.is_monotonic_increasing


def test_unknown_source_is_refused_naming_the_choices() -> None:
    with pytest.raises(BarDataError, match=r"unknown source 'yahoo'; choose one of simulated, shipped"):
        assets_of("yahoo")


def test_asset_not_served_by_the_source_is_refused() -> None:
    with pytest.raises(BarDataError, match=r"unknown asset\(s\) BTC for source shipped"):
        load_bars("shipped", ("BTC",))


def test_bars_with_a_missing_close_are_refused_naming_the_asset_and_bar() -> None:
    frame = shipped_bars("SPX").iloc[:50].copy()
    frame.iloc[7, frame.columns.get_loc("close")] = np.nan

    with pytest.raises(BarDataError, match="SPX: column close has a missing or non-finite value at bar 7"):
        validate_bars("SPX", frame)


def test_bars_out_of_time_order_are_refused() -> None:
    frame = shipped_bars("NDX").iloc[:10]
    shuffled = pd.concat([frame.iloc[5:], frame.iloc[:5]])

    with pytest.raises(BarDataError, match="NDX: bar times must be strictly increasing"):
        validate_bars("NDX", shuffled)


def test_bars_with_a_non_positive_price_are_refused() -> None:
    frame = shipped_bars("SPX").iloc[:10].copy()
    frame.iloc[3, frame.columns.get_loc("low")] = 0.0

    with pytest.raises(BarDataError, match="SPX: column low has a non-positive price at bar 3"):
        validate_bars("SPX", frame)


def test_simulated_bars_load_the_same_from_inside_a_running_event_loop() -> None:
    # the simulated daemon retrains inline, on its own event loop (the weekly cron job)
    settings = SimulationSettings(bars=200, timeframe_seconds=300)
    outside = load_bars("simulated", ("ETH",), simulation=settings)

    async def from_the_loop() -> dict[str, pd.DataFrame]:
        return load_bars("simulated", ("ETH",), simulation=settings)

    inside = asyncio.run(from_the_loop())
    pd.testing.assert_frame_equal(inside["ETH"], outside["ETH"])
