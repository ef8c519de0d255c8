"""Model validation: walk-forward splits with purging and embargo."""

from ml_models.training.splits import WINDOW_KINDS, walk_forward_splits

__all__ = ["WINDOW_KINDS", "walk_forward_splits"]
