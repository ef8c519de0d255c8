"""Training labels. These LOOK AHEAD by construction and must never feed a feature.

Kept apart from the feature pipeline on purpose: `compute_features` does not import
this module, and the truncation tests hold the features to "bar t sees bars up to t".
A label at bar t is what a model learns to predict from the features at bar t; when
validating, purge training rows whose label window reaches into the test window
(`ml_models.training.splits`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def label_next_return(closes: npt.ArrayLike, horizon: int) -> FloatArray:
    """Sign of the return from close t to close t + `horizon`: +1.0, -1.0, or 0.0 when unchanged.

    Uses close[t + horizon], a FUTURE value at bar t. The last `horizon` rows have no
    future close yet and are NaN; drop them (with the matching feature rows) before training.
    """
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 1:
        raise ValueError(f"label horizon must be a whole number of bars >= 1, got {horizon!r}")
    close = np.asarray(closes, dtype=np.float64)
    if close.ndim != 1:
        raise ValueError(f"closes must be one-dimensional, got shape {close.shape}")
    if not np.all(np.isfinite(close)) or np.any(close <= 0):
        raise ValueError("closes must be finite and positive")
    labels = np.full(len(close), np.nan)
    if len(close) > horizon:
        labels[:-horizon] = np.sign(close[horizon:] - close[:-horizon])
    return labels
