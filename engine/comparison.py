"""Sessions side by side: their results, which parameters differ, their macro F1 curves.

The compare view of the app and ``llmtool-tui compare`` show the same ``Comparison``, made by
``Engine.compare`` from each session's detail rows and evaluations. Results come first (best F1,
the evaluation it came from, the F1 of each class there): they are what a comparison is for.
Parameters follow, each marked when the sessions' values differ; the rows that differ between
any two sessions by construction (ids, paths, times) are kept apart as identity rows, so that
"differences only" shows the differences that say something.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.evaluations import best_evaluation, by_model, evaluation_label
from engine.progress import EvaluationDone

BEST_F1 = "Best F1"
BEST_EVALUATION = "Best evaluation"
#: Detail rows unique to each session by construction: an id, a time, a path of its own.
IDENTITY_ROWS = frozenset(
    {
        "Timestamp",
        "Session ID",
        "Parent Session",
        "Started",
        "Resumed At",
        "Completed",
        "Best Model Path",
        "Last Checkpoint",
        "Results CSV",
        "Run Directory",
        "Liveness",
    }
)
#: Detail rows shown with the results instead (best F1 with its classes).
RESULT_DETAIL_ROWS = frozenset({BEST_F1})
#: Detail rows compared by their verdict alone (``no``), the words before the colon: the reason
#: after it names the session, and would make the row differ always.
VERDICT_ROWS = frozenset({"Resumable"})
MISSING = "-"


@dataclass(frozen=True)
class ComparedSession:
    """One compared session: its detail rows and evaluations, or why it cannot be read."""

    path: Path
    session_id: str | None
    """None when the file cannot be read."""
    rows: tuple[tuple[str, str], ...] = ()
    """The detail view's rows."""
    evaluations: tuple[EvaluationDone, ...] = ()
    recorded_best_f1: float | None = None
    error: str | None = None
    """Why the metadata, or the progress file, cannot be read."""

    @classmethod
    def unreadable(cls, path: Path, reason: str) -> ComparedSession:
        """A file that cannot be read, with the reason."""
        return cls(path, None, error=reason)

    @property
    def readable(self) -> bool:
        return self.session_id is not None

    @property
    def label(self) -> str:
        """The session id (the file name for an unreadable file)."""
        return self.session_id or self.path.name

    @property
    def best(self) -> EvaluationDone | None:
        """The validation evaluation with the highest macro F1."""
        return best_evaluation(self.evaluations)

    @property
    def best_f1(self) -> float | None:
        """The recorded best F1, else the best evaluation's (a run still going has none)."""
        if self.recorded_best_f1 is not None:
            return self.recorded_best_f1
        best = self.best
        return best.macro_f1 if best else None


@dataclass(frozen=True)
class ComparedRow:
    """One result or parameter, a value per session."""

    name: str
    values: tuple[str, ...]
    scores: tuple[float | None, ...] | None = None
    """The numbers behind ``values`` for a score row (higher is better); None otherwise."""
    identity: bool = False
    """A row that differs by construction (see IDENTITY_ROWS)."""

    @classmethod
    def of_scores(cls, name: str, scores: Sequence[float | None]) -> ComparedRow:
        """A row of F1 scores, shown with 3 decimals."""
        return cls(name, tuple(format_score(score) for score in scores), tuple(scores))

    @property
    def differs(self) -> bool:
        """Whether the sessions' values are not all the same (never for an identity row)."""
        return not self.identity and len(set(self.values)) > 1

    @property
    def top(self) -> float | None:
        """The best score of a score row whose values differ; None otherwise."""
        if not self.scores or not self.differs:
            return None
        return max((score for score in self.scores if score is not None), default=None)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"name": self.name, "values": list(self.values)}
        if self.scores is not None:
            document["scores"] = list(self.scores)
        document["differs"] = self.differs
        document["identity"] = self.identity
        return document


@dataclass(frozen=True)
class Curve:
    """Macro F1 per evaluation of one session (of one model of a benchmark)."""

    label: str
    points: tuple[tuple[float, float], ...]
    """(x, macro F1) pairs, in x order."""


@dataclass(frozen=True)
class Comparison:
    """What the compare view and ``compare`` show."""

    sessions: tuple[ComparedSession, ...]
    """Every session asked for, readable or not, in the order asked."""
    results: tuple[ComparedRow, ...]
    parameters: tuple[ComparedRow, ...]
    curves: tuple[Curve, ...] = ()
    x_axis: str = "epoch"
    """What the curves' x counts: ``epoch`` when every evaluation knows its epoch (the common
    scale of sessions with different batch sizes), else ``step``."""

    @property
    def shown(self) -> tuple[ComparedSession, ...]:
        """The sessions that can be read: a column each."""
        return tuple(session for session in self.sessions if session.readable)

    @property
    def differing(self) -> tuple[ComparedRow, ...]:
        """The parameters whose values differ (identity rows aside)."""
        return tuple(row for row in self.parameters if row.differs)

    @property
    def comparable(self) -> tuple[ComparedRow, ...]:
        """The parameters that may differ or not (identity rows aside)."""
        return tuple(row for row in self.parameters if not row.identity)

    def to_json(self) -> dict[str, Any]:
        """The ``compare --json`` document: everything, values as the detail shows them."""
        return {
            "sessions": [
                {
                    "file": str(session.path),
                    "session_id": session.session_id,
                    "error": session.error,
                    "best_f1": session.best_f1,
                    "best_evaluation": (
                        session.best.model_dump(mode="json") if session.best else None
                    ),
                }
                for session in self.sessions
            ],
            "results": [row.to_json() for row in self.results],
            "parameters": [row.to_json() for row in self.parameters],
            "curves": [
                {"label": curve.label, "points": [list(point) for point in curve.points]}
                for curve in self.curves
            ],
            "x_axis": self.x_axis,
        }


def format_score(value: float | None) -> str:
    """An F1 score with 3 decimals, ``-`` when unknown."""
    return MISSING if value is None else f"{value:.3f}"


def _compared_value(name: str, value: str) -> str:
    return value.split(":", 1)[0] if name in VERDICT_ROWS else value


def parameter_rows(sessions: Sequence[ComparedSession]) -> list[ComparedRow]:
    """The detail rows of every session, in their order; ``-`` where one has none."""
    values = [
        {name: _compared_value(name, value) for name, value in session.rows} for session in sessions
    ]
    names = dict.fromkeys(
        name for rows in values for name in rows if name not in RESULT_DETAIL_ROWS
    )
    return [
        ComparedRow(
            name,
            tuple(rows.get(name, MISSING) for rows in values),
            identity=name in IDENTITY_ROWS,
        )
        for name in names
    ]


def result_rows(sessions: Sequence[ComparedSession]) -> list[ComparedRow]:
    """Best F1, which evaluation was best, and the F1 of each class at that evaluation."""
    best = [session.best for session in sessions]
    classes = dict.fromkeys(
        name for evaluation in best if evaluation for name in evaluation.per_class_f1
    )
    return [
        ComparedRow.of_scores(BEST_F1, [session.best_f1 for session in sessions]),
        ComparedRow(BEST_EVALUATION, tuple(evaluation_label(e) for e in best)),
        *(
            ComparedRow.of_scores(
                f"F1 {name}", [e.per_class_f1.get(name) if e else None for e in best]
            )
            for name in classes
        ),
    ]


def f1_curves(sessions: Sequence[ComparedSession]) -> tuple[list[Curve], str]:
    """Macro F1 per validation evaluation: a curve per session (per model of a benchmark).

    Returns:
        The curves, and what their x counts (see ``Comparison.x_axis``).
    """
    scored = [
        {model: [e for e in done if e.macro_f1 is not None] for model, done in models.items()}
        for models in (by_model(session.evaluations) for session in sessions)
    ]
    by_epoch = all(
        e.epoch is not None for models in scored for done in models.values() for e in done
    )
    curves = []
    for session, models in zip(sessions, scored, strict=True):
        models = {model: done for model, done in models.items() if done}
        for model, done in models.items():
            label = session.label if len(models) == 1 else f"{session.label} {model or MISSING}"
            points = sorted(
                (float(e.epoch if by_epoch and e.epoch is not None else e.step), e.macro_f1 or 0.0)
                for e in done
            )
            curves.append(Curve(label, tuple(points)))
    return curves, "epoch" if by_epoch else "step"


def compare_sessions(sessions: Sequence[ComparedSession]) -> Comparison:
    """The comparison of ``sessions`` (those that cannot be read have no column)."""
    shown = [session for session in sessions if session.readable]
    curves, x_axis = f1_curves(shown)
    return Comparison(
        sessions=tuple(sessions),
        results=tuple(result_rows(shown)),
        parameters=tuple(parameter_rows(shown)),
        curves=tuple(curves),
        x_axis=x_axis,
    )
