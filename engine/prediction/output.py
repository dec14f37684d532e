"""The predictions as columns beside the input's, written atomically; their scores against the
file's own labels; and the entry they leave in the session's metadata.

Probabilities arrive as one row per input row (NaN for a row without text, which gets no
prediction). Single-label: the label of the highest probability and that probability.
Multi-label (one-vs-all models included): every label whose probability is over the threshold
(joined by ``;`` in a CSV, a list in JSONL and Parquet) and each label's probability.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.errors import OperationError
from engine.files import fsync_path
from engine.prediction.plan import (
    PREDICTED_LABEL,
    PREDICTED_LABELS,
    PREDICTED_PROBABILITY,
    PROBABILITY_PREFIX,
    PredictionPlan,
)

if TYPE_CHECKING:
    import pandas as pd

    from engine.schema import PredictionRecord

#: Joins a row's labels in a CSV cell (JSONL and Parquet hold lists).
CSV_LABEL_DELIMITER = ";"


@dataclass(frozen=True)
class Evaluation:
    """The predictions scored against the labels the file holds."""

    rows: int
    """Rows scored: with a text and labels the model knows."""
    unknown_label_rows: int
    """Rows left out because they carry a label the model was not trained on."""
    macro_f1: float
    accuracy: float
    per_class_f1: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "unknown_label_rows": self.unknown_label_rows,
            "macro_f1": self.macro_f1,
            "accuracy": self.accuracy,
            "per_class_f1": self.per_class_f1,
        }


def prediction_frame(plan: PredictionPlan, probabilities: np.ndarray) -> pd.DataFrame:
    """The input's columns, then the predictions' (see the module's docstring)."""
    frame = plan.table.frame.copy(deep=False)
    labels = plan.model.labels
    predicted = ~np.isnan(probabilities[:, 0])
    if plan.model.multi_label:
        over = probabilities > plan.threshold
        chosen: list[Any] = [
            [labels[j] for j in np.flatnonzero(row)] if has else None
            for row, has in zip(over, predicted, strict=True)
        ]
        if plan.output_format == "csv":
            chosen = [None if row is None else CSV_LABEL_DELIMITER.join(row) for row in chosen]
        frame[PREDICTED_LABELS] = chosen
        for position, label in enumerate(labels):
            frame[PROBABILITY_PREFIX + label] = probabilities[:, position].astype(np.float64)
        return frame
    best = np.nan_to_num(probabilities, nan=-1.0).argmax(axis=1)
    frame[PREDICTED_LABEL] = [
        labels[index] if has else None for index, has in zip(best, predicted, strict=True)
    ]
    frame[PREDICTED_PROBABILITY] = np.where(
        predicted, probabilities[np.arange(len(best)), best], np.nan
    ).astype(np.float64)
    return frame


def write_output(frame: pd.DataFrame, output: Path, output_format: str) -> None:
    """Write ``frame`` to ``output`` atomically: a temporary file beside it, synced, renamed.

    Raises:
        OperationError: the file cannot be written (disk full, permissions, a value Parquet
            cannot hold).
    """
    temp = output.with_name(f".{output.name}.tmp-{os.getpid()}")
    try:
        if output_format == "csv":
            frame.to_csv(temp, index=False)
        elif output_format == "jsonl":
            frame.to_json(temp, orient="records", lines=True, force_ascii=False)
        else:
            frame.to_parquet(temp, index=False)
        fsync_path(temp)
        os.replace(temp, output)
        fsync_path(output.parent)
    except Exception as exc:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise OperationError(f"cannot write {output}: {reason}") from None


def evaluate(plan: PredictionPlan, probabilities: np.ndarray) -> Evaluation | None:
    """Macro F1, accuracy and per-class F1 against the file's labels; None when the file has no
    label column of the session, or no row to score."""
    from engine.analysis.columns import parse_labels
    from engine.training.metrics import score

    if plan.label_spec is None:
        return None
    labels = plan.model.labels
    index = {label: position for position, label in enumerate(labels)}
    rows: list[int] = []
    targets: list[list[int]] = []
    unknown = 0
    for row, truth in enumerate(parse_labels(plan.table.frame, plan.label_spec)):
        if truth is None or np.isnan(probabilities[row, 0]):
            continue
        if not plan.model.multi_label and len(truth) != 1:
            continue
        if any(label not in index for label in truth):
            unknown += 1
            continue
        rows.append(row)
        targets.append([index[label] for label in truth])
    if not rows:
        return None
    scored = probabilities[rows]
    if plan.model.multi_label:
        truth_matrix = np.zeros((len(rows), len(labels)), dtype=int)
        for position, target in enumerate(targets):
            truth_matrix[position, target] = 1
        # score() gives the labels whose logit is positive: over the threshold here.
        scores = score(scored - plan.threshold, truth_matrix, labels, True)
    else:
        scores = score(scored, np.array([target[0] for target in targets]), labels, False)
    return Evaluation(
        len(rows), unknown, scores.macro_f1, scores.accuracy, dict(scores.per_class_f1)
    )


def prediction_record(
    plan: PredictionPlan, evaluation: Evaluation | None, duration_s: float
) -> PredictionRecord:
    """The session's ``predictions`` entry of a finished prediction."""
    from engine.progress import utc_now
    from engine.schema import PredictionRecord

    return PredictionRecord(
        file=str(plan.file),
        output=str(plan.output),
        rows=plan.rows,
        text_column=plan.text_column,
        model_path=str(plan.model.path),
        finished_at=utc_now(),
        duration_s=round(duration_s, 3),
        threshold=plan.threshold if plan.model.multi_label else None,
        evaluated_rows=evaluation.rows if evaluation else None,
        macro_f1=evaluation.macro_f1 if evaluation else None,
        accuracy=evaluation.accuracy if evaluation else None,
        per_class_f1=dict(evaluation.per_class_f1) if evaluation else {},
    )
