"""Evaluation metrics: macro F1, accuracy and per-class F1 (scikit-learn), single- or multi-label.

Multi-label predictions are the labels whose logit is positive (sigmoid above 0.5); accuracy is
then the share of texts whose whole label set is right (scikit-learn's subset accuracy).

Each evaluation also counts the predictions per class: a model that predicts one class for the
whole validation set (a collapsed model, which a macro F1 alone does not make obvious) is then
named in the session's details.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MACRO_F1 = "macro_f1"
ACCURACY = "accuracy"
#: Prefix of per-class F1 metric keys: ``f1::<label>`` (labels may contain any character).
PER_CLASS_PREFIX = "f1::"
#: Prefix of the per-class prediction counts: ``predicted::<label>``.
PREDICTED_PREFIX = "predicted::"


@dataclass(frozen=True)
class Scores:
    """The metrics of one evaluation."""

    macro_f1: float
    accuracy: float
    per_class_f1: dict[str, float]
    predicted_counts: dict[str, int] = field(default_factory=dict)
    """Texts predicted as each class (multi-label: texts given each label)."""

    def as_metrics(self) -> dict[str, float]:
        """Flat metric names as Trainer logs them (it adds the ``eval_`` prefix)."""
        metrics = {MACRO_F1: self.macro_f1, ACCURACY: self.accuracy}
        metrics.update({PER_CLASS_PREFIX + name: f1 for name, f1 in self.per_class_f1.items()})
        # Trainer logs floats: the counts travel as floats and are read back as integers.
        metrics.update(
            {PREDICTED_PREFIX + name: float(n) for name, n in self.predicted_counts.items()}
        )
        return metrics


def score(
    logits: np.ndarray, targets: np.ndarray, label_names: Sequence[str], multi_label: bool
) -> Scores:
    """Metrics of ``logits`` against ``targets`` (class ids, or 0/1 rows when multi-label)."""
    from sklearn.metrics import accuracy_score, f1_score

    if multi_label:
        predicted = (logits > 0).astype(int)
        truth = np.asarray(targets).astype(int)
        labels: list[int] | None = None
    else:
        predicted = np.asarray(logits).argmax(axis=-1)
        truth = np.asarray(targets).astype(int)
        labels = list(range(len(label_names)))
    per_class = f1_score(truth, predicted, average=None, labels=labels, zero_division=0)
    counts = (
        predicted.sum(axis=0) if multi_label else np.bincount(predicted, minlength=len(label_names))
    )
    return Scores(
        macro_f1=float(f1_score(truth, predicted, average="macro", labels=labels, zero_division=0)),
        accuracy=float(accuracy_score(truth, predicted)),
        per_class_f1={
            name: float(value) for name, value in zip(label_names, per_class, strict=True)
        },
        predicted_counts={
            name: int(count) for name, count in zip(label_names, counts, strict=True)
        },
    )


def metrics_function(
    label_names: Sequence[str], multi_label: bool
) -> Callable[[Any], dict[str, float]]:
    """A ``compute_metrics`` for Trainer."""

    def compute(prediction: Any) -> dict[str, float]:
        logits = prediction.predictions
        if isinstance(logits, tuple):
            logits = logits[0]
        return score(logits, prediction.label_ids, label_names, multi_label).as_metrics()

    return compute


def scores_from_metrics(metrics: dict[str, float], prefix: str = "eval_") -> Scores:
    """Read back the scores from a Trainer metrics dictionary."""
    per_class_key = prefix + PER_CLASS_PREFIX
    predicted_key = prefix + PREDICTED_PREFIX
    return Scores(
        macro_f1=float(metrics[prefix + MACRO_F1]),
        accuracy=float(metrics[prefix + ACCURACY]),
        per_class_f1={
            key[len(per_class_key) :]: float(value)
            for key, value in metrics.items()
            if key.startswith(per_class_key)
        },
        predicted_counts={
            key[len(predicted_key) :]: round(value)
            for key, value in metrics.items()
            if key.startswith(predicted_key)
        },
    )
