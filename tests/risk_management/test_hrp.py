import math
import warnings

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from risk_management.hrp import hrp_weights, labelled_hrp_weights

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pypfopt's import chain raises deprecation warnings we do not own
    from pypfopt import HRPOpt

ORACLE_TOLERANCE = 1e-6


def _pypfopt_weights(
    returns: npt.NDArray[np.float64], linkage_method: str = "single"
) -> npt.NDArray[np.float64]:
    """The oracle: PyPortfolioOpt's López de Prado implementation, in column order."""
    frame = pd.DataFrame(returns, columns=[f"a{i:02d}" for i in range(returns.shape[1])])
    weights = HRPOpt(returns=frame).optimize(linkage_method=linkage_method)
    return np.array([weights[name] for name in frame.columns])


def _correlated_returns(seed: int, observations: int, assets: int) -> npt.NDArray[np.float64]:
    """Returns with a random covariance: random factor loadings plus idiosyncratic noise, random vols."""
    rng = np.random.default_rng(seed)
    loadings = rng.normal(size=(assets, 2))
    covariance = loadings @ loadings.T + np.diag(rng.uniform(0.2, 1.5, size=assets))
    vols = rng.uniform(0.005, 0.04, size=assets)
    scale = vols / np.sqrt(np.diag(covariance))
    return rng.multivariate_normal(np.zeros(assets), covariance * np.outer(scale, scale), size=observations)


def _reference_example() -> npt.NDArray[np.float64]:
    """offline.md's HRP example: 500×5 multivariate normal, seed 42, A–B correlated 0.8, C–D 0.5.

    The vols of the original script are not recorded; these are ours, so the weights are checked against the
    oracle on the same data rather than against the four-decimal numbers in offline.md.
    """
    correlation = np.eye(5)
    correlation[0, 1] = correlation[1, 0] = 0.8
    correlation[2, 3] = correlation[3, 2] = 0.5
    vols = np.array([0.010, 0.0125, 0.016, 0.020, 0.008])
    return np.random.default_rng(42).multivariate_normal(
        np.zeros(5), correlation * np.outer(vols, vols), size=500
    )


def test_reference_example_matches_pypfopt() -> None:
    returns = _reference_example()

    weights = hrp_weights(returns)

    np.testing.assert_allclose(weights, _pypfopt_weights(returns), rtol=0, atol=ORACLE_TOLERANCE)
    # the shape of the offline.md answer: E (alone, lowest vol) heaviest, D (highest vol, in a pair) lightest
    assert weights.argmax() == 4
    assert weights.argmin() == 3


@pytest.mark.parametrize("assets", range(2, 13))
def test_seeded_random_books_match_pypfopt(assets: int) -> None:
    returns = _correlated_returns(seed=1000 + assets, observations=60 + 20 * assets, assets=assets)

    np.testing.assert_allclose(hrp_weights(returns), _pypfopt_weights(returns), rtol=0, atol=ORACLE_TOLERANCE)


@pytest.mark.parametrize("linkage_method", ["complete", "average", "ward"])
def test_other_linkages_match_pypfopt(linkage_method: str) -> None:
    returns = _correlated_returns(seed=5, observations=250, assets=8)

    np.testing.assert_allclose(
        hrp_weights(returns, linkage_method), _pypfopt_weights(returns, linkage_method), atol=ORACLE_TOLERANCE
    )


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    assets=st.integers(min_value=2, max_value=12),
    extra_observations=st.integers(min_value=1, max_value=200),
)
def test_generated_books_match_pypfopt(seed: int, assets: int, extra_observations: int) -> None:
    returns = _correlated_returns(seed, assets + extra_observations, assets)

    weights = hrp_weights(returns)

    np.testing.assert_allclose(weights, _pypfopt_weights(returns), rtol=0, atol=ORACLE_TOLERANCE)
    assert math.isclose(weights.sum(), 1.0, abs_tol=1e-12)
    assert np.all(weights > 0)


def test_two_uncorrelated_assets_split_by_inverse_variance() -> None:
    # Hand-worked: vols 1 and 2 with zero sample correlation → weights ∝ 1/1 and 1/4 → 0.8 and 0.2.
    returns = np.array([[1.0, 2.0], [-1.0, 2.0], [1.0, -2.0], [-1.0, -2.0]])

    np.testing.assert_allclose(hrp_weights(returns), [0.8, 0.2], atol=1e-12)


def test_one_asset_takes_the_whole_weight() -> None:
    assert hrp_weights(np.array([[0.01], [-0.02], [0.005]])).tolist() == [1.0]


def test_labelled_weights_follow_the_names() -> None:
    returns = _correlated_returns(seed=3, observations=120, assets=4)
    frame = pd.DataFrame(returns, columns=["SPY", "QQQ", "GLD", "TLT"])

    from_frame = labelled_hrp_weights(frame)
    from_dict = labelled_hrp_weights({name: frame[name].to_numpy() for name in frame.columns})

    assert list(from_frame) == ["SPY", "QQQ", "GLD", "TLT"]
    assert from_frame == from_dict
    np.testing.assert_allclose(list(from_frame.values()), hrp_weights(returns), atol=0)


def test_constant_column_is_rejected() -> None:
    returns = _correlated_returns(seed=4, observations=50, assets=3)
    returns[:, 1] = 0.002

    with pytest.raises(ValueError, match=r"columns \[1\] are constant"):
        hrp_weights(returns)


@pytest.mark.parametrize(
    "returns",
    [
        np.array([0.01, 0.02, 0.03]),  # not a matrix
        np.array([[0.01, 0.02]]),  # one row: no variance
        np.empty((10, 0)),  # no columns
        np.array([[0.01, math.nan], [0.02, 0.01], [0.0, 0.03]]),
    ],
)
def test_malformed_returns_are_rejected(returns: npt.NDArray[np.float64]) -> None:
    with pytest.raises(ValueError):
        hrp_weights(returns)


def test_unknown_linkage_is_rejected() -> None:
    with pytest.raises(ValueError, match="linkage_method"):
        hrp_weights(_correlated_returns(seed=1, observations=30, assets=3), "nearest")


def test_labelled_series_of_different_lengths_are_rejected() -> None:
    with pytest.raises(ValueError, match="same length"):
        labelled_hrp_weights({"A": [0.01, 0.02, 0.0], "B": [0.01, 0.0]})
