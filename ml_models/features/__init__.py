"""Features for models: bars in, a named, lookahead-free feature frame out.

`compute_features` builds the frame, `feature_spec` describes it (names, parameters,
version, fingerprint) so a model records its exact inputs. `labels` is separate: labels
look ahead by construction and never feed a feature.
"""

from ml_models.features.labels import label_next_return
from ml_models.features.pipeline import (
    DEFAULT_PARAMS,
    FEATURE_SET_VERSION,
    FeatureParams,
    compute_features,
    drop_warm_up,
    feature_spec,
)
from ml_models.features.spec import FeatureSpec

__all__ = [
    "DEFAULT_PARAMS",
    "FEATURE_SET_VERSION",
    "FeatureParams",
    "FeatureSpec",
    "compute_features",
    "drop_warm_up",
    "feature_spec",
    "label_next_return",
]
