"""Walk-forward splits: training strictly before testing, purged of label overlap, embargoed."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ml_models.training import walk_forward_splits


def as_lists(n_samples: int, **kwargs: object) -> list[tuple[list[int], list[int]]]:
    return [(train.tolist(), test.tolist()) for train, test in walk_forward_splits(n_samples, **kwargs)]  # type: ignore[arg-type]


def test_hand_worked_expanding_split() -> None:
    # 20 rows, 2 folds of 4, 1-row embargo: test windows end at the last row and sit 1 apart:
    # 11..14 and 16..19 (15 is the embargo). Labels look 2 rows ahead, so rows 9-10 (fold 0)
    # and 14-15 (fold 1) are purged from training.
    folds = as_lists(20, n_folds=2, train_min=6, test_size=4, label_horizon=2, embargo=1)
    assert folds == [
        ([0, 1, 2, 3, 4, 5, 6, 7, 8], [11, 12, 13, 14]),
        ([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13], [16, 17, 18, 19]),
    ]


def test_hand_worked_rolling_split_trains_on_exactly_train_min_rows() -> None:
    folds = as_lists(20, n_folds=2, train_min=6, test_size=4, label_horizon=2, embargo=1, window="rolling")
    assert folds == [
        ([3, 4, 5, 6, 7, 8], [11, 12, 13, 14]),
        ([8, 9, 10, 11, 12, 13], [16, 17, 18, 19]),
    ]


def test_smallest_possible_sample_count_leaves_exactly_train_min_rows_in_the_first_fold() -> None:
    # needed = train_min 5 + horizon 3 + 3 x 2 test + 2 x 1 embargo = 16
    folds = as_lists(16, n_folds=3, train_min=5, test_size=2, label_horizon=3, embargo=1)
    assert folds[0] == ([0, 1, 2, 3, 4], [8, 9])
    assert [test for _, test in folds] == [[8, 9], [11, 12], [14, 15]]


SPLIT_GRID = [
    (n, k, m, s, h, e, w)
    for n, k, m, s, h, e, w in itertools.product(
        (60, 137), (1, 3, 5), (5, 12), (1, 7), (0, 1, 5), (0, 2, 4), ("expanding", "rolling")
    )
    if n >= m + h + k * s + (k - 1) * e
]


def test_no_training_row_touches_the_purge_and_embargo_band_over_a_grid_of_settings() -> None:
    assert len(SPLIT_GRID) > 400
    for n_samples, n_folds, train_min, test_size, label_horizon, embargo, window in SPLIT_GRID:
        case = (n_samples, n_folds, train_min, test_size, label_horizon, embargo, window)
        folds = list(
            walk_forward_splits(
                n_samples,
                n_folds=n_folds,
                train_min=train_min,
                test_size=test_size,
                label_horizon=label_horizon,
                embargo=embargo,
                window=window,
            )
        )
        assert len(folds) == n_folds, case
        assert folds[-1][1][-1] == n_samples - 1, case  # the latest rows are tested
        previous_test_stop = None
        for train, test in folds:
            test_start, test_stop = int(test[0]), int(test[-1]) + 1
            assert np.array_equal(test, np.arange(test_start, test_stop)), case
            assert len(test) == test_size, case
            band = (train >= test_start - label_horizon) & (train < test_stop + embargo)
            assert not band.any(), case
            assert train.max() < test_start - label_horizon, case  # walk-forward: only the past trains
            assert np.all(np.diff(train) == 1), case
            if window == "rolling":
                assert len(train) == train_min, case
            else:
                assert train[0] == 0 and len(train) >= train_min, case
            if previous_test_stop is not None:
                assert test_start == previous_test_stop + embargo, case  # in time order, embargo apart
            previous_test_stop = test_stop


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_folds": 0}, "n_folds must be a whole number >= 1, got 0"),
        ({"train_min": -3}, "train_min must be a whole number >= 1"),
        ({"test_size": 2.5}, "test_size must be a whole number"),
        ({"label_horizon": -1}, "label_horizon must be a whole number >= 0"),
        ({"embargo": True}, "embargo must be a whole number"),
        ({"window": "anchored"}, "window must be one of"),
        ({"n_folds": 4}, r"20 samples are too few for 4 folds: need 27"),
    ],
)
def test_bad_arguments_are_refused_before_any_fold_is_produced(
    kwargs: dict[str, object], message: str
) -> None:
    arguments: dict[str, object] = {
        "n_folds": 2,
        "train_min": 6,
        "test_size": 4,
        "label_horizon": 2,
        "embargo": 1,
        **kwargs,
    }
    with pytest.raises(ValueError, match=message):
        walk_forward_splits(20, **arguments)  # type: ignore[arg-type]


def test_zero_samples_is_refused() -> None:
    with pytest.raises(ValueError, match="n_samples"):
        walk_forward_splits(0, n_folds=1, train_min=1, test_size=1, label_horizon=0, embargo=0)
