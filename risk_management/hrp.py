"""Hierarchical Risk Parity (López de Prado 2016, "Building Diversified Portfolios that Outperform
Out of Sample", Journal of Portfolio Management 42(4)).

Why HRP and not mean-variance: it never inverts the covariance matrix, so a
noisy or nearly singular estimate (few days of history, many correlated bots)
cannot blow the weights up. It clusters the assets by correlation, orders them
so that similar assets sit next to each other, and then splits the budget top
down, giving each half of the list the share its inverse variance earns.

The steps, exactly as in the paper (and as `pypfopt.HRPOpt`, our test oracle):

1. distance d_ij = sqrt((1 − ρ_ij) / 2), in [0, 1];
2. hierarchical clustering of d with `scipy.cluster.hierarchy.linkage` (single linkage by default);
3. quasi-diagonalisation: order the assets as the dendrogram's leaves, left to right;
4. recursive bisection of that ordered list: each list is cut in two halves by
   position (not along the dendrogram), each half's variance is that of its own
   inverse-variance portfolio, V = wᵀ Σ w with w_i ∝ 1/Σ_ii, and the left half
   gets α = 1 − V_left / (V_left + V_right) of the parent's weight.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import scipy.cluster.hierarchy as sch
from scipy.spatial.distance import squareform

FloatArray = npt.NDArray[np.float64]

LINKAGE_METHODS = ("single", "complete", "average", "weighted", "centroid", "median", "ward")


def hrp_weights(returns: npt.ArrayLike, linkage_method: str = "single") -> FloatArray:
    """HRP weights for the columns of a T×N matrix of returns: positive, summing to 1, in column order.

    Correlation and covariance are the sample ones (ddof=1; only ratios of
    variances matter, so the choice of ddof cannot change the weights).
    One asset gets weight 1. A constant column has no variance to invert and is
    refused, as is any NaN or infinity.
    """
    if linkage_method not in LINKAGE_METHODS:
        raise ValueError(f"linkage_method {linkage_method!r} is not one of {', '.join(LINKAGE_METHODS)}")
    matrix = np.asarray(returns, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"returns must be a T×N matrix, got an array of shape {matrix.shape}")
    observations, assets = matrix.shape
    if assets == 0:
        raise ValueError("returns has no columns: there is nothing to weight")
    if observations < 2:
        raise ValueError(f"returns needs at least 2 rows to estimate a variance, got {observations}")
    if not np.all(np.isfinite(matrix)):
        raise ValueError("returns contains NaN or infinite values")
    # Compare values, not the computed variance: rounding leaves a constant column a variance of ~1e-36.
    constant = np.flatnonzero(np.ptp(matrix, axis=0) == 0.0)
    if constant.size:
        raise ValueError(
            f"returns columns {constant.tolist()} are constant (zero variance); HRP cannot weight them"
        )
    if assets == 1:
        return np.ones(1)

    covariance = np.cov(matrix, rowvar=False, ddof=1)
    order = _quasi_diagonal_order(covariance, linkage_method)
    return _recursive_bisection(covariance, order)


def labelled_hrp_weights(
    returns: Mapping[str, npt.ArrayLike], linkage_method: str = "single"
) -> dict[str, float]:
    """`hrp_weights` keyed by name: takes {name: return series} or a pandas DataFrame (names = columns)."""
    names = [str(name) for name in returns]
    if not names:
        raise ValueError("returns has no columns: there is nothing to weight")
    columns = [np.asarray(returns[name], dtype=np.float64) for name in returns]
    lengths = {column.shape for column in columns}
    if len(lengths) != 1 or columns[0].ndim != 1:
        raise ValueError(f"every return series must be one-dimensional and of the same length, got {lengths}")
    weights = hrp_weights(np.column_stack(columns), linkage_method)
    return dict(zip(names, (float(w) for w in weights), strict=True))


def _quasi_diagonal_order(covariance: FloatArray, linkage_method: str) -> list[int]:
    """Column indices in dendrogram leaf order, so that correlated assets are neighbours."""
    standard_deviations = np.sqrt(np.diag(covariance))
    correlation = covariance / np.outer(standard_deviations, standard_deviations)
    # Rounding can push ρ a hair outside [-1, 1]; the clip keeps the square root real.
    distance = np.sqrt(np.clip((1.0 - correlation) / 2.0, 0.0, 1.0))
    condensed = squareform(distance, checks=False)
    link = sch.linkage(condensed, method=linkage_method)
    return [int(i) for i in sch.leaves_list(link)]


def _recursive_bisection(covariance: FloatArray, order: list[int]) -> FloatArray:
    """Split each ordered list in two halves and share its weight by inverse cluster variance."""
    weights = np.ones(covariance.shape[0])
    clusters = [order]
    while clusters:
        halves = [
            half
            for cluster in clusters
            if len(cluster) > 1
            for half in (cluster[: len(cluster) // 2], cluster[len(cluster) // 2 :])
        ]
        for left, right in zip(halves[::2], halves[1::2], strict=True):
            left_variance = _cluster_variance(covariance, left)
            right_variance = _cluster_variance(covariance, right)
            alpha = 1.0 - left_variance / (left_variance + right_variance)
            weights[left] *= alpha
            weights[right] *= 1.0 - alpha
        clusters = halves
    return weights


def _cluster_variance(covariance: FloatArray, members: list[int]) -> float:
    """Variance of the cluster's inverse-variance portfolio: wᵀ Σ w with w_i ∝ 1/σ_i²."""
    block = covariance[np.ix_(members, members)]
    inverse_variance = 1.0 / np.diag(block)
    w = inverse_variance / inverse_variance.sum()
    return float(w @ block @ w)
