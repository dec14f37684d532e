"""Compare Sessions: parameters side by side with differences marked, F1 results, F1 curves.

Opened from the history with two or more marked sessions. Each is read in a thread: its metadata
and live status (``Engine.inspect``, the detail view's rows) and its evaluations
(``Engine.read_evaluations``, from the run's progress.jsonl). Rows whose values differ are marked
``≠`` and highlighted; ``d`` shows only those. Below come the best F1 and the per-class F1 of each
session's best evaluation, and every session's macro F1 per evaluation, overlaid in one chart.
The view is read again whenever the watcher reports a change of one of the sessions' files.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from rich import box
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.screen import Screen
from textual.signal import Signal
from textual.widgets import Footer, Label, Static

from engine.errors import OperationError
from engine.evaluations import best_evaluation
from engine.facade import Engine, SessionView
from engine.progress import EvaluationDone
from engine.store import MetadataError
from engine.watcher import SessionChanges
from llmtool_tui.screens.detail import detail_value
from llmtool_tui.untrusted import literal, visible
from llmtool_tui.widgets.evaluations_table import format_metric
from llmtool_tui.widgets.f1_chart import MAX_SERIES, ChartSeries, F1Chart

TITLE = "Compare Sessions"
#: The widest the parameter names get before they wrap: the sessions' values need the room.
PARAMETER_WIDTH = 24
BEST_F1 = "Best F1"
NO_CURVES = "No evaluation recorded yet: the curves appear once the sessions have evaluated."


@dataclass(frozen=True)
class ComparedSession:
    """One compared session: its view and evaluations, or why it cannot be shown."""

    path: Path
    view: SessionView | None
    evaluations: list[EvaluationDone] = field(default_factory=list)
    error: str | None = None
    """Why the metadata, or the progress file, cannot be read."""

    @property
    def label(self) -> str:
        """The session id (the file name for an unreadable file)."""
        return self.view.metadata.session_id if self.view else self.path.name

    @property
    def best(self) -> EvaluationDone | None:
        """The evaluation with the highest macro F1."""
        return best_evaluation(self.evaluations)

    @property
    def best_f1(self) -> float | None:
        """The recorded best F1, else the best evaluation's (a run still going has none)."""
        recorded = self.view.metadata.execution_status.best_f1 if self.view else None
        if recorded is not None:
            return recorded
        best = self.best
        return best.macro_f1 if best else None


@dataclass(frozen=True)
class ComparedRow:
    """One parameter or result, a value per session."""

    name: str
    values: tuple[str, ...]
    scores: tuple[float | None, ...] | None = None
    """The numbers behind ``values`` for a score row (higher is better); None otherwise."""

    @classmethod
    def of_scores(cls, name: str, scores: Sequence[float | None]) -> ComparedRow:
        """A row of F1 scores, shown with 3 decimals."""
        return cls(name, tuple(format_metric(score) for score in scores), tuple(scores))

    @property
    def differs(self) -> bool:
        """Whether the sessions' values are not all the same."""
        return len(set(self.values)) > 1

    @property
    def top(self) -> float | None:
        """The best score of a score row whose values differ; None otherwise."""
        if not self.scores or not self.differs:
            return None
        return max((score for score in self.scores if score is not None), default=None)


def load_comparison(engine: Engine, paths: Sequence[Path]) -> list[ComparedSession]:
    """Read each session and its evaluations (blocking: the screen calls it in a thread)."""
    compared = []
    for path in paths:
        try:
            view = engine.inspect(path)
        except MetadataError as error:
            compared.append(ComparedSession(path, None, error=error.reason))
            continue
        try:
            evaluations = engine.read_evaluations(view.metadata.session_id)
        except OperationError as error:
            compared.append(ComparedSession(path, view, error=str(error)))
            continue
        compared.append(ComparedSession(path, view, evaluations))
    return compared


def parameter_rows(sessions: Sequence[ComparedSession]) -> list[ComparedRow]:
    """The detail view's rows of every session, in their order; ``-`` where one has none.

    The best F1 is left to the results (``result_rows``), which show it with its classes.
    """
    values = [dict(s.view.detail_rows()) if s.view else {} for s in sessions]
    names = dict.fromkeys(name for rows in values for name in rows if name != BEST_F1)
    return [ComparedRow(name, tuple(rows.get(name, "-") for rows in values)) for name in names]


def evaluation_label(evaluation: EvaluationDone | None) -> str:
    """``epoch 3 · step 450`` (``step 450`` without an epoch); ``-`` for none."""
    if evaluation is None:
        return "-"
    epoch = f"epoch {evaluation.epoch:g} · " if evaluation.epoch is not None else ""
    return f"{epoch}step {evaluation.step}"


def result_rows(sessions: Sequence[ComparedSession]) -> list[ComparedRow]:
    """Best F1, which evaluation was best, and the F1 of each class at that evaluation."""
    best = [s.best for s in sessions]
    classes = dict.fromkeys(
        name for evaluation in best if evaluation for name in evaluation.per_class_f1
    )
    return [
        ComparedRow.of_scores(BEST_F1, [s.best_f1 for s in sessions]),
        ComparedRow("Best evaluation", tuple(evaluation_label(e) for e in best)),
        *(
            ComparedRow.of_scores(
                f"F1 {name}", [e.per_class_f1.get(name) if e else None for e in best]
            )
            for name in classes
        ),
    ]


def comparison_table(
    sessions: Sequence[ComparedSession],
    parameters: Sequence[ComparedRow],
    results: Sequence[ComparedRow],
    *,
    color: bool = True,
) -> Table:
    """Parameters then results, a column per session; ``≠`` and a highlight where they differ.

    In the results, the best score of each row is shown in bold (green in colour). Session ids,
    values and class names come from the sessions' files: they are escaped.
    """
    differs_style = "bold yellow" if color else "bold"
    best_style = "bold green" if color else "bold underline"
    table = Table(box=box.SQUARE, expand=True, pad_edge=True)
    table.add_column("Parameter", style="bold", max_width=PARAMETER_WIDTH, overflow="fold")
    for session in sessions:
        table.add_column(literal(session.label), overflow="fold", ratio=1)

    def name_cell(row: ComparedRow) -> Text:
        return literal(f"≠ {row.name}" if row.differs else f"  {row.name}")

    for position, row in enumerate(parameters):
        style = differs_style if row.differs else ""
        table.add_row(
            name_cell(row),
            *(detail_value(row.name, value, style) for value in row.values),
            end_section=position == len(parameters) - 1,
        )
    for row in results:
        top = row.top
        scores = row.scores or (None,) * len(row.values)
        table.add_row(
            name_cell(row),
            *(
                Text(value, style=best_style if top is not None and score == top else "")
                for value, score in zip(row.values, scores, strict=True)
            ),
        )
    return table


def f1_series(sessions: Sequence[ComparedSession]) -> tuple[list[ChartSeries], str]:
    """Macro F1 per evaluation: a line per session (per model of a benchmark) and the x axis.

    Returns:
        The series, and ``epoch`` when every evaluation knows its epoch (the common scale of
        sessions with different batch sizes), else ``step``.
    """
    evaluations = [e for s in sessions for e in s.evaluations if e.macro_f1 is not None]
    by_epoch = all(e.epoch is not None for e in evaluations)
    series = []
    for session in sessions:
        by_model: dict[str | None, list[EvaluationDone]] = {}
        for evaluation in session.evaluations:
            if evaluation.macro_f1 is not None:
                by_model.setdefault(evaluation.model, []).append(evaluation)
        for model, done in by_model.items():
            label = session.label if len(by_model) == 1 else f"{session.label} {model or '-'}"
            points = sorted(
                (float(e.epoch if by_epoch and e.epoch is not None else e.step), e.macro_f1 or 0.0)
                for e in done
            )
            series.append(ChartSeries(label, tuple(points)))
    return series, "epoch" if by_epoch else "step"


class CompareScreen(Screen[None]):
    """Two or more sessions side by side."""

    SUB_TITLE = "Compare Sessions"

    BINDINGS: ClassVar[list[BindingType]] = [
        # One key, two actions: check_action shows the one that applies, so the footer says
        # what ``d`` will do.
        Binding("d", "differences_only(True)", "Differences only"),
        Binding("d", "differences_only(False)", "All rows"),
        Binding("escape", "back", "Back"),
    ]

    differences_only: reactive[bool] = reactive(False, init=False)
    """Whether only the rows whose values differ are shown."""

    def __init__(
        self, engine: Engine, sessions_changed: Signal[SessionChanges], paths: Sequence[Path]
    ) -> None:
        super().__init__()
        self.engine = engine
        self.sessions_changed = sessions_changed
        self.paths = list(paths)
        self.sessions: list[ComparedSession] | None = None

    def compose(self) -> ComposeResult:
        yield Label(TITLE, classes="screen-title")
        yield Static("Reading the sessions…", id="compare-status", classes="status-line")
        with VerticalScroll(id="compare-scroll"):
            yield Static(id="compare-table")
        yield Label("Macro F1 by evaluation", classes="section-title")
        yield F1Chart(NO_CURVES, id="compare-chart")
        yield Footer()

    def on_mount(self) -> None:
        self.sessions_changed.subscribe(self, self._sessions_changed)
        self.query_one("#compare-scroll").focus()
        self.load()

    def _sessions_changed(self, changes: SessionChanges) -> None:
        touched = {entry.path for entry in [*changes.added, *changes.changed]}
        if touched.intersection(self.paths) or set(changes.removed).intersection(self.paths):
            self.load()

    @work(group="compare-load", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        """Read the sessions again (in a thread) and show them."""
        self.sessions = await asyncio.to_thread(load_comparison, self.engine, self.paths)
        self._show()

    def watch_differences_only(self) -> None:
        self._show()
        self.refresh_bindings()

    def _show(self) -> None:
        sessions = self.sessions
        if sessions is None:
            return
        shown = [session for session in sessions if session.view is not None]
        parameters = all_parameters = parameter_rows(shown)
        results = result_rows(shown)
        differing = sum(row.differs for row in parameters)
        if self.differences_only:
            parameters = [row for row in parameters if row.differs]
            results = [row for row in results if row.differs]
        self.query_one("#compare-table", Static).update(
            comparison_table(shown, parameters, results, color=not self.app.no_color)
            if shown
            else Text("None of the sessions can be read.")
        )
        series, x_label = f1_series(shown)
        self.query_one(F1Chart).show_series(series, x_label=x_label)
        status = Text(
            f"{len(shown)} sessions · {differing} of {len(all_parameters)} parameters differ (≠)"
        )
        if len(series) > MAX_SERIES:
            status.append(f" · first {MAX_SERIES} of {len(series)} curves drawn")
        for session in sessions:
            if session.error:
                status.append(f" · {visible(session.label)}: {visible(session.error)}", style="red")
        self.query_one("#compare-status", Static).update(status)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "differences_only":
            return parameters[0] != self.differences_only
        return True

    def action_differences_only(self, only: bool) -> None:
        """Show only the rows that differ, or every row."""
        self.differences_only = only

    def action_back(self) -> None:
        """Back to the history."""
        self.app.pop_screen()
