"""Walk-forward validation splits with purging and embargo (López de Prado, "Advances in
Financial Machine Learning", 2018, ch. 7).

Rows are samples in time order; the label of row i resolves `label_horizon` rows later
(e.g. `label_next_return(closes, horizon)`), so its label window is [i, i + label_horizon].

- Walk-forward: each fold trains only on rows before its test window and tests on the
  next `test_size` rows; the `n_folds` test windows are the latest rows of the data.
- Purging: a training row whose label window reaches the test window, i.e. any row in
  [test_start - label_horizon, test_start), is dropped; its label would be computed from
  prices inside the test window.
- Embargo: `embargo` rows follow each test window before the next fold's test window
  begins; they are scored by no fold. Training is strictly earlier than testing here,
  so no training row of a fold lies after its test window; the gap keeps consecutive
  folds' scores apart where features with long windows correlate them.

Together: no training index of a fold lies in [test_start - label_horizon, test_stop + embargo),
where test_stop is one past the last test row.

Windows: "expanding" trains on every eligible earlier row; "rolling" on the latest
`train_min` eligible rows only, so every fold trains on exactly `train_min` rows.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

IndexArray = npt.NDArray[np.intp]
WINDOW_KINDS = ("expanding", "rolling")


def walk_forward_splits(
    n_samples: int,
    *,
    n_folds: int,
    train_min: int,
    test_size: int,
    label_horizon: int,
    embargo: int,
    window: str = "expanding",
) -> Iterator[tuple[IndexArray, IndexArray]]:
    """(train_idx, test_idx) for each fold, oldest fold first; arguments are checked before the first.

    Fold k (0-based) tests rows [s_k, s_k + test_size) where
    s_k = n_samples - n_folds * test_size - (n_folds - 1) * embargo + k * (test_size + embargo),
    and trains on rows before s_k - label_horizon (all of them, or the last `train_min`).
    The first fold must still have `train_min` training rows, else ValueError.

    Example: n_samples=20, n_folds=2, train_min=6, test_size=4, label_horizon=2, embargo=1,
    expanding: fold 0 trains on 0..8 and tests 11..14; fold 1 trains on 0..13, tests 16..19.
    """
    for name, value, minimum in (
        ("n_samples", n_samples, 1),
        ("n_folds", n_folds, 1),
        ("train_min", train_min, 1),
        ("test_size", test_size, 1),
        ("label_horizon", label_horizon, 0),
        ("embargo", embargo, 0),
    ):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
            raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    if window not in WINDOW_KINDS:
        raise ValueError(f"window must be one of {WINDOW_KINDS}, got {window!r}")
    first_test_start = n_samples - n_folds * test_size - (n_folds - 1) * embargo
    needed = train_min + label_horizon + n_folds * test_size + (n_folds - 1) * embargo
    if first_test_start - label_horizon < train_min:
        raise ValueError(
            f"{n_samples} samples are too few for {n_folds} folds: need {needed} "
            f"(train_min {train_min} + label_horizon {label_horizon} purged + {n_folds} x test_size "
            f"{test_size} + {n_folds - 1} x embargo {embargo})"
        )
    return _folds(first_test_start, n_folds, train_min, test_size, label_horizon, embargo, window)


def _folds(
    first_test_start: int,
    n_folds: int,
    train_min: int,
    test_size: int,
    label_horizon: int,
    embargo: int,
    window: str,
) -> Iterator[tuple[IndexArray, IndexArray]]:
    for fold in range(n_folds):
        test_start = first_test_start + fold * (test_size + embargo)
        train_stop = test_start - label_horizon  # purged: rows whose label reaches the test window
        train_start = 0 if window == "expanding" else train_stop - train_min
        yield (
            np.arange(train_start, train_stop, dtype=np.intp),
            np.arange(test_start, test_start + test_size, dtype=np.intp),
        )
