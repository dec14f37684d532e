"""Results of sessions: a session's evaluations from its progress file, every session's best F1.

The TUI's compare view overlays sessions' per-evaluation macro F1 and shows their per-class F1;
its performance chart plots the best F1 of sessions over time. Both read here, synchronously:
the UI calls these through the facade in a thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from engine.errors import OperationError
from engine.files import bounded_lines, open_regular
from engine.progress import MAX_LINE_BYTES, EvaluationDone, parse_event
from engine.store import SessionStore

#: Cheap test run before a line is parsed: a long run's file holds thousands of step events for
#: each evaluation, and JSON parsing plus validation of every one of them would dominate.
_EVALUATION_MARK = b"evaluation"
#: The split evaluated during training; the others (``test``) are evaluated once, at the end.
VALIDATION = "validation"


def read_evaluations(progress_file: Path) -> list[EvaluationDone]:
    """The evaluations recorded in a run's ``progress.jsonl``, in the order they happened.

    Lines that cannot be parsed (a killed worker's partial last line, another tool's junk) are
    skipped. An evaluation repeated after a resume (same model, split and step) replaces the
    earlier one, at the earlier one's place, as the live view's table does. The final evaluation
    on a test part falls on the step of the last validation one: the split keeps them apart.

    Returns:
        The evaluations; empty when the file does not exist (a session that never ran).

    Raises:
        OperationError: the file exists but cannot be read.
    """
    found: dict[tuple[str | None, str, int], EvaluationDone] = {}
    try:
        # The run folder is untrusted: a FIFO or link there is refused, not read or followed.
        with open_regular(progress_file, follow_symlinks=False) as handle:
            for line in bounded_lines(handle, MAX_LINE_BYTES):
                if _EVALUATION_MARK not in line:
                    continue
                event = parse_event(line)
                if isinstance(event, EvaluationDone):
                    found[(event.model, event.split, event.step)] = event
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise OperationError(f"cannot read {progress_file}: {exc.strerror or exc}") from None
    return list(found.values())


def best_evaluation(evaluations: Iterable[EvaluationDone]) -> EvaluationDone | None:
    """The validation evaluation with the highest macro F1 (the first of equals, as Trainer
    keeps the first checkpoint that reached it); None when none has one."""
    scored = [
        evaluation
        for evaluation in evaluations
        if evaluation.macro_f1 is not None and evaluation.split == VALIDATION
    ]
    return max(scored, key=lambda evaluation: evaluation.macro_f1 or 0.0, default=None)


def evaluation_label(evaluation: EvaluationDone | None) -> str:
    """``epoch 3 · step 450`` (``step 450`` without an epoch); ``-`` for none."""
    if evaluation is None:
        return "-"
    epoch = f"epoch {evaluation.epoch:g} · " if evaluation.epoch is not None else ""
    return f"{epoch}step {evaluation.step}"


def single_predicted_class(evaluation: EvaluationDone) -> str | None:
    """The one class ``evaluation`` predicted for every text of its split, if it did (a model
    that collapsed onto one class); None otherwise, or when the counts were not recorded."""
    predicted = [name for name, count in evaluation.predicted_counts.items() if count > 0]
    return predicted[0] if len(predicted) == 1 else None


def by_model(evaluations: Iterable[EvaluationDone]) -> dict[str | None, list[EvaluationDone]]:
    """The validation evaluations of each model (each unit), in the order models first appear."""
    found: dict[str | None, list[EvaluationDone]] = {}
    for evaluation in evaluations:
        if evaluation.split == VALIDATION:
            found.setdefault(evaluation.model, []).append(evaluation)
    return found


@dataclass(frozen=True)
class SessionScore:
    """One point of the performance chart: a session's best F1 and what it is grouped by."""

    session_id: str
    created: datetime
    """When the session was created (its timestamp, else its file's modification time)."""
    dataset: str
    """The dataset's file name."""
    model: str
    """The best model, else the session's model (``(multiple)`` for a benchmark without one)."""
    best_f1: float | None
    """The recorded best macro F1; None for a session without a result."""


def session_scores(store: SessionStore) -> list[SessionScore]:
    """The best F1 of every readable session of the store, oldest first.

    Unreadable files are left out: they have no result to plot.
    """
    scores = []
    for row in store.list(limit=None, metadata=True).rows:
        if row.metadata is None:
            continue
        scores.append(
            SessionScore(
                session_id=row.session_id,
                created=datetime.strptime(row.date, "%Y-%m-%d %H:%M"),
                dataset=row.dataset,
                model=row.metadata.execution_status.best_model or row.model,
                best_f1=row.best_f1,
            )
        )
    scores.sort(key=lambda score: (score.created, score.session_id))
    return scores
