"""Out-of-sample scores of P(up) forecasts, the base-rate baseline, and the promotion rule.

A fold is scored twice: the model's probabilities, and the baseline's, a constant equal to
the share of "up" labels in that fold's TRAINING rows (what a model with no information
would say). The baseline's AUC is 0.5 by definition: a constant ranks nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.metrics import accuracy_score, brier_score_loss, log_loss, roc_auc_score

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Scores:
    """Accuracy (at P(up) >= 0.5), log loss, ROC AUC (NaN when the test rows hold one class), Brier."""

    accuracy: float
    log_loss: float
    auc: float
    brier: float

    def to_dict(self) -> dict[str, float | None]:
        # JSON has no NaN: an undefined AUC is written as null.
        return {
            name: (None if math.isnan(value) else value)
            for name, value in (
                ("accuracy", self.accuracy),
                ("log_loss", self.log_loss),
                ("auc", self.auc),
                ("brier", self.brier),
            )
        }


def score_probabilities(up: IntArray, p_up: FloatArray) -> Scores:
    """Scores of the probabilities `p_up` against the 0/1 outcomes `up` (sklearn.metrics)."""
    if len(up) == 0 or len(up) != len(p_up):
        raise ValueError(f"need as many outcomes as forecasts, and at least one: {len(up)} vs {len(p_up)}")
    both_classes = len(np.unique(up)) == 2
    return Scores(
        accuracy=float(accuracy_score(up, (p_up >= 0.5).astype(np.int64))),
        log_loss=float(log_loss(up, p_up, labels=[0, 1])),
        auc=float(roc_auc_score(up, p_up)) if both_classes else math.nan,
        brier=float(brier_score_loss(up, p_up, pos_label=1)),
    )


def base_rate_scores(train_up: IntArray, test_up: IntArray) -> Scores:
    """The constant forecast "P(up) = share of up in the training rows", scored on the test rows."""
    if len(train_up) == 0:
        raise ValueError("the baseline needs at least one training row")
    rate = float(np.mean(train_up))
    scores = score_probabilities(test_up, np.full(len(test_up), rate))
    # A constant forecast cannot rank: its AUC is 0.5 whenever AUC is defined at all.
    auc = 0.5 if len(np.unique(test_up)) == 2 else math.nan
    return Scores(scores.accuracy, scores.log_loss, auc, scores.brier)


def mean_scores(folds: Sequence[Scores]) -> Scores:
    """Per-metric mean over folds; AUC averages the folds where it is defined (NaN if none)."""
    if not folds:
        raise ValueError("no folds to average")
    aucs = [s.auc for s in folds if not math.isnan(s.auc)]
    return Scores(
        accuracy=float(np.mean([s.accuracy for s in folds])),
        log_loss=float(np.mean([s.log_loss for s in folds])),
        auc=float(np.mean(aucs)) if aucs else math.nan,
        brier=float(np.mean([s.brier for s in folds])),
    )


@dataclass(frozen=True, slots=True)
class PromotionRule:
    """A model is promoted only when it beats the base-rate baseline out of sample, on both counts:

    1. its mean log loss over the folds is below the baseline's mean by more than
       `log_loss_margin` (nats per row; the default 0.002 keeps a tie or noise-level
       edge from passing), and
    2. its AUC is above 0.5 on a strict majority of folds (an undefined AUC counts as not
       above), so one lucky fold cannot carry a model that ranks no better than chance.
    """

    log_loss_margin: float = 0.002

    def __post_init__(self) -> None:
        if not (math.isfinite(self.log_loss_margin) and self.log_loss_margin >= 0):
            raise ValueError(f"log_loss_margin must be a finite number >= 0, got {self.log_loss_margin!r}")

    def decide(self, model: Sequence[Scores], baseline: Sequence[Scores]) -> tuple[bool, str]:
        """(promoted, the reason in words) for per-fold model and baseline scores."""
        if not model or len(model) != len(baseline):
            raise ValueError(f"need one baseline per fold: {len(model)} model, {len(baseline)} baseline")
        model_loss = float(np.mean([s.log_loss for s in model]))
        baseline_loss = float(np.mean([s.log_loss for s in baseline]))
        above = sum(1 for s in model if s.auc > 0.5)  # NaN > 0.5 is False
        loss_ok = model_loss < baseline_loss - self.log_loss_margin
        auc_ok = above * 2 > len(model)
        reason = (
            f"mean log loss {model_loss:.5f} vs baseline {baseline_loss:.5f} "
            f"(needs < {baseline_loss - self.log_loss_margin:.5f}): {'ok' if loss_ok else 'not beaten'}; "
            f"AUC > 0.5 on {above} of {len(model)} folds: {'ok' if auc_ok else 'no majority'}"
        )
        return loss_ok and auc_ok, reason
