"""FeatureSpec records a model's exact inputs and refuses any other; labels look ahead on purpose."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from ml_models.features import (
    DEFAULT_PARAMS,
    FEATURE_SET_VERSION,
    FeatureParams,
    FeatureSpec,
    compute_features,
    feature_spec,
    label_next_return,
)
from tests.strategies.bars import random_walk, series_from_closes


def test_spec_names_are_the_frame_columns_in_order() -> None:
    features = compute_features(series_from_closes(random_walk(1, 50)))
    spec = feature_spec()
    assert spec.names == (
        "ret_1",
        "ret_5",
        "ret_20",
        "vol_20",
        "rsi_14",
        "macd",
        "macd_signal",
        "macd_hist",
        "bb_pos_20",
        "volume_z_20",
        "hour_sin",
        "hour_cos",
        "dow_sin",
        "dow_cos",
    )
    spec.require_columns(features)
    assert spec.version == FEATURE_SET_VERSION


def test_a_recorded_spec_survives_a_json_round_trip_and_still_matches() -> None:
    spec = feature_spec()
    restored = FeatureSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert restored == spec
    assert restored.fingerprint == spec.fingerprint
    spec.require_same(restored)


def test_a_changed_window_is_a_mismatch_naming_the_parameter() -> None:
    trained = feature_spec()
    serving = feature_spec(FeatureParams(volatility_window=30))
    assert trained.fingerprint != serving.fingerprint
    with pytest.raises(ValueError, match=r"parameter volatility_window is 30 instead of 20"):
        trained.require_same(serving)


def test_a_changed_non_name_parameter_is_a_mismatch() -> None:
    with pytest.raises(ValueError, match=r"parameter bollinger_sd is 2\.5 instead of 2\.0"):
        feature_spec().require_same(feature_spec(FeatureParams(bollinger_sd=2.5)))


def test_a_reordered_feature_list_is_a_mismatch() -> None:
    spec = feature_spec()
    reordered = replace(spec, names=(spec.names[1], spec.names[0], *spec.names[2:]))
    with pytest.raises(ValueError, match="different order"):
        spec.require_same(reordered)


def test_a_new_formula_version_is_a_mismatch() -> None:
    spec = feature_spec()
    with pytest.raises(ValueError, match="version 'bar-features-999'"):
        spec.require_same(replace(spec, version="bar-features-999"))


def test_a_frame_with_a_missing_or_reordered_column_does_not_match_the_spec() -> None:
    features = compute_features(series_from_closes(random_walk(2, 50)))
    spec = feature_spec()
    with pytest.raises(ValueError, match=r"missing \['rsi_14'\]"):
        spec.require_columns(features.drop(columns="rsi_14"))
    with pytest.raises(ValueError, match="out of order"):
        spec.require_columns(features[list(reversed(features.columns))])


def test_spec_refuses_duplicate_names_and_incomplete_records() -> None:
    with pytest.raises(ValueError, match="unique"):
        FeatureSpec("v", ("ret_1", "ret_1"), ())
    with pytest.raises(ValueError, match="lacks key 'names'"):
        FeatureSpec.from_dict({"version": "v", "parameters": {}})


def test_default_spec_fingerprint_is_stable() -> None:
    # Changing this value means models trained before can no longer load: bump FEATURE_SET_VERSION.
    assert DEFAULT_PARAMS.spec.fingerprint == feature_spec().fingerprint
    assert len(feature_spec().fingerprint) == 16


def test_label_is_the_sign_of_the_return_over_the_next_horizon() -> None:
    closes = [10.0, 11.0, 11.0, 9.0]
    np.testing.assert_array_equal(label_next_return(closes, 1), [1.0, 0.0, -1.0, np.nan])
    np.testing.assert_array_equal(label_next_return(closes, 2), [1.0, -1.0, np.nan, np.nan])
    np.testing.assert_array_equal(label_next_return(closes, 5), [np.nan] * 4)


def test_label_looks_ahead_so_a_later_close_changes_an_earlier_label() -> None:
    assert label_next_return([10.0, 11.0, 12.0], 2)[0] == 1.0
    assert label_next_return([10.0, 11.0, 9.0], 2)[0] == -1.0


@pytest.mark.parametrize("horizon", [0, -1, 1.5, True])
def test_label_refuses_a_horizon_that_is_not_a_positive_whole_number(horizon: object) -> None:
    with pytest.raises(ValueError, match="label horizon"):
        label_next_return([1.0, 2.0], horizon)  # type: ignore[arg-type]


def test_label_refuses_bad_closes() -> None:
    with pytest.raises(ValueError, match="finite and positive"):
        label_next_return([1.0, np.nan, 2.0], 1)
    with pytest.raises(ValueError, match="one-dimensional"):
        label_next_return([[1.0, 2.0]], 1)
