"""Bar files and the checks before a run: loaders, duplicates, order, gaps, bad prices."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtest.bars import (
    BarCheck,
    check_bars,
    load_bars_file,
    load_csv_bars,
    load_parquet_bars,
    require_runnable_bars,
)
from ml_models.data import BarDataError, shipped_bars

START = pd.Timestamp("2024-03-01 00:00", tz="UTC")


def bars(minutes: list[int], **overrides: list[float]) -> pd.DataFrame:
    """Clean 1-minute bars at the given minute offsets; `overrides` replace whole columns."""
    n = len(minutes)
    columns = {
        "open": [100.0] * n,
        "high": [101.0] * n,
        "low": [99.0] * n,
        "close": [100.5] * n,
        "volume": [10.0] * n,
    }
    columns.update(overrides)
    index = pd.DatetimeIndex([START + pd.Timedelta(minutes=m) for m in minutes], name="time")
    return pd.DataFrame(columns, index=index)


def test_csv_columns_are_matched_in_any_case_and_times_become_utc(tmp_path: Path) -> None:
    file = tmp_path / "btc.csv"
    file.write_text(
        "Timestamp,OPEN,High,low,Close,Volume\n"
        "2024-03-01T00:00:00+01:00,1,2,0.5,1.5,7\n"
        "2024-03-01T00:01:00+01:00,1.5,2.5,1,2,8\n"
    )
    frame = load_bars_file(file)
    assert list(frame.columns) == ["open", "high", "low", "close", "volume"]
    assert frame.index[0] == pd.Timestamp("2024-02-29 23:00", tz="UTC")
    assert str(frame.index.tz) == "UTC" and frame.index.name == "time"
    assert frame["close"].tolist() == [1.5, 2.0] and frame.dtypes.eq(np.float64).all()


def test_csv_epoch_seconds_are_read_as_utc(tmp_path: Path) -> None:
    file = tmp_path / "bars.csv"
    file.write_text("time,open,high,low,close,volume\n1709251200,1,2,0.5,1.5,7\n")
    assert load_csv_bars(file).index[0] == pd.Timestamp("2024-03-01 00:00", tz="UTC")


def test_a_missing_column_is_named_with_the_file(tmp_path: Path) -> None:
    file = tmp_path / "no_volume.csv"
    file.write_text("time,open,high,low,close\n2024-03-01,1,2,0.5,1.5\n")
    with pytest.raises(BarDataError, match=r"no_volume\.csv: missing column\(s\) volume"):
        load_csv_bars(file)


def test_a_non_numeric_price_is_named(tmp_path: Path) -> None:
    file = tmp_path / "bad.csv"
    file.write_text("time,open,high,low,close,volume\n2024-03-01,1,2,0.5,abc,7\n")
    with pytest.raises(BarDataError, match=r"bad\.csv: column close has non-numeric value 'abc'"):
        load_csv_bars(file)


def test_a_file_without_a_time_column_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "untimed.csv"
    file.write_text("open,high,low,close,volume\n1,2,0.5,1.5,7\n")
    with pytest.raises(BarDataError, match=r"untimed\.csv: no time column"):
        load_csv_bars(file)


def test_an_unknown_suffix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BarDataError, match=r"unknown bar file type '\.xlsx'"):
        load_bars_file(tmp_path / "bars.xlsx")


def test_parquet_without_an_engine_names_the_missing_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name in ("pyarrow", "fastparquet") else real_find_spec(name, *a),
    )
    with pytest.raises(BarDataError, match=r"bars\.parquet: reading Parquet needs the pyarrow package"):
        load_parquet_bars(tmp_path / "bars.parquet")


def test_clean_bars_pass_the_check() -> None:
    check = require_runnable_bars(bars([0, 1, 2, 3]), "clean")
    assert check == BarCheck(
        bars=4,
        expected_period=pd.Timedelta(minutes=1),
        duplicates=0,
        duplicate_times=(),
        unsorted=0,
        unsorted_times=(),
        gaps=0,
        largest_gap=None,
        gap_times=(),
        bad_prices=0,
        bad_price_times=(),
    )
    assert check.runnable and check.gap_note() is None


def test_gaps_beyond_the_median_step_are_counted_but_not_fatal() -> None:
    # steps 1, 1, 4, 1, 1, 3 minutes: median 1; gaps of 4 (after minute 2) and 3 (after minute 8)
    check = require_runnable_bars(bars([0, 1, 2, 6, 7, 8, 11]), "gappy")
    assert (check.gaps, check.largest_gap) == (2, pd.Timedelta(minutes=4))
    assert check.gap_times == (START + pd.Timedelta(minutes=6), START + pd.Timedelta(minutes=11))
    assert check.runnable and "2 gap(s)" in str(check.gap_note())


def test_an_expected_period_overrides_the_median() -> None:
    check = check_bars(bars([0, 5, 10, 15]), expected_period=pd.Timedelta(minutes=1))
    assert check.gaps == 3 and check.largest_gap == pd.Timedelta(minutes=5)


def test_duplicates_are_refused_with_their_timestamps() -> None:
    frame = bars([0, 1, 1, 2])
    check = check_bars(frame)
    assert check.duplicates == 1 and check.duplicate_times == (START + pd.Timedelta(minutes=1),)
    with pytest.raises(
        BarDataError, match=r"dupes: bars refused: 1 duplicate timestamp\(s\), first 2024-03-01T00:01"
    ):
        require_runnable_bars(frame, "dupes")


def test_an_unsorted_index_is_refused() -> None:
    check = check_bars(bars([0, 2, 1, 3]))
    assert check.unsorted == 1 and check.unsorted_times == (START + pd.Timedelta(minutes=1),)
    assert not check.runnable


@pytest.mark.parametrize(
    ("column", "values"),
    [
        ("close", [100.5, np.nan, 100.5]),  # a missing price
        ("open", [100.0, 0.0, 100.0]),  # a non-positive price
        ("high", [101.0, 100.2, 101.0]),  # high below the close 100.5
        ("low", [99.0, 100.2, 99.0]),  # low above the open 100
    ],
)
def test_bad_prices_are_refused_naming_the_bar(column: str, values: list[float]) -> None:
    frame = bars([0, 1, 2], **{column: values})
    check = check_bars(frame)
    assert check.bad_prices == 1 and check.bad_price_times == (START + pd.Timedelta(minutes=1),)
    with pytest.raises(BarDataError, match="1 bar\\(s\\) with a missing or non-positive price"):
        require_runnable_bars(frame, "bad")


def test_every_problem_is_listed_at_once() -> None:
    frame = bars([0, 0, 2, 1], close=[100.5, 100.5, -1.0, 100.5])
    with pytest.raises(BarDataError) as raised:
        require_runnable_bars(frame, "messy")
    message = str(raised.value)
    assert "duplicate" in message and "back in time" in message and "non-positive" in message


def test_on_daily_bars_a_weekend_is_not_a_gap_but_a_missing_weekday_is() -> None:
    # 2024-03-01 is a Friday: Fri, Mon, Tue, Thu (Wednesday missing), Fri, Mon to Fri, then the
    # Monday a week later (a whole week of weekdays missing)
    days = [0, 3, 4, 6, 7, 10, 11, 12, 13, 14, 24]
    frame = bars(days)
    frame.index = pd.DatetimeIndex([START + pd.Timedelta(days=d) for d in days], name="time")
    check = check_bars(frame)
    assert check.expected_period == pd.Timedelta(days=1)
    # Fri -> Mon skips a weekend only; Tue -> Thu skips Wednesday; Fri -> Mon 10 days later skips 5 weekdays
    assert check.gap_times == (START + pd.Timedelta(days=6), START + pd.Timedelta(days=24))
    assert check.largest_gap == pd.Timedelta(days=10)


def test_the_shipped_daily_data_passes_with_its_holidays_as_gaps() -> None:
    check = require_runnable_bars(shipped_bars("SPX"), "SPX")
    assert check.expected_period == pd.Timedelta(days=1)
    # weekends are not gaps; about nine exchange holidays a year over 1999-2018 are (no calendar here)
    assert 100 < check.gaps < 250
