"""Selected Session Details: every parameter the metadata knows, and what can be done with it.

The specification's rows come first, then the rest (SessionView.detail_rows()): times in local
time, the best F1 so far while a run goes on, a warning for a model that predicted one class for
the whole validation set. A benchmark's models follow in a table of their own (best F1, the
evaluation it came from, status; how a tie was broken is in the "Best Model Choice" row). Then the
"Action Mode" panel: resume (only for an incomplete, resumable session; otherwise why not),
relaunch as is or with edits, stop a running session, its live view, its notes and tags, its
export as a template, and a prediction with its best model over a file (followed below the
panel while its detached worker runs). The view is read again whenever the watcher reports a
change of its file (and after a save here), so a status shown here is never stale.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar

from rich import box
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.signal import Signal
from textual.widgets import Label, Static

from engine.details import MULTI_LINE_ROWS, WARNINGS_ROW, specification_rows
from engine.facade import Engine, SessionView
from engine.prediction.status import PredictionStatus
from engine.rows import dataset_label
from engine.schema import TrainingMetadata
from engine.store import MetadataError
from engine.watcher import SessionChanges
from llmtool_tui.dialogs.export_template import ExportTemplateDialog, TemplateExported
from llmtool_tui.dialogs.message import MessageDialog
from llmtool_tui.dialogs.notes import NotesDialog
from llmtool_tui.dialogs.predict import PredictDialog
from llmtool_tui.dialogs.relaunch_edit import RelaunchEditDialog, RelaunchEdits
from llmtool_tui.dialogs.tags import TagsDialog
from llmtool_tui.messages import (
    LiveViewRequested,
    RelaunchRequested,
    ResumeRequested,
    StopRequested,
)
from llmtool_tui.screens.wizard.path_suggester import PathSuggester
from llmtool_tui.untrusted import literal, visible
from llmtool_tui.widgets.evaluations_table import format_metric
from llmtool_tui.widgets.footer import Footer
from llmtool_tui.widgets.status import status_text

TITLE = "Selected Session Details"
#: How often a prediction's progress is read again (its worker writes it every 0.5 s).
PREDICTION_POLL_S = 0.5
#: Statuses for which resuming makes no sense at all (rather than being blocked for a reason).
NOT_RESUMABLE_STATUSES = ("completed", "starting", "running", "stale")


def detail_value(name: str, value: str, style: str = "") -> Text:
    """The value of a detail row, from the session file: escaped, and literal (never markup)."""
    return literal(value, style, multiline=name in MULTI_LINE_ROWS)


def details_table(view: SessionView, *, color: bool = True) -> Table:
    """The Parameter/Value table: the specification's rows, a rule, then everything else."""
    table = Table(box=box.SQUARE, expand=True, show_edge=True, pad_edge=True)
    table.add_column("Parameter", no_wrap=True, style="bold")
    table.add_column("Value", overflow="fold", ratio=1)
    rows = view.detail_rows(in_app=True)
    specification_count = len(specification_rows(view.metadata, view.status))
    for position, (name, value) in enumerate(rows):
        if name == "Status":
            shown = status_text(value, color=color)
        else:
            style = ("bold yellow" if color else "bold") if name == WARNINGS_ROW else ""
            shown = detail_value(name, value, style)
        table.add_row(Text(name), shown, end_section=position == specification_count - 1)
    return table


def models_table(view: SessionView) -> Table | None:
    """A benchmark's models: best F1 so far, the evaluation it came from, status; None for a
    session of one model."""
    results = view.model_results()
    if not results:
        return None
    table = Table(box=box.SQUARE, expand=True, title="Models", title_justify="left")
    table.title_style = "bold"
    table.add_column("Model", overflow="fold", ratio=1)
    table.add_column("Best F1", justify="right", no_wrap=True)
    table.add_column("Best at", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    best = view.metadata.execution_status.best_model
    for result in results:
        # The model's name comes from the session's file.
        name = literal(result.name, "bold" if result.model == best else "")
        if result.model == best:
            name.append(" (best)")
        table.add_row(
            name,
            Text(format_metric(result.best_f1)),
            Text(result.best_at),
            Text(result.status),
        )
    return table


def can_predict(view: SessionView) -> bool:
    """Whether the session has a best model to predict with."""
    status = view.metadata.execution_status
    return view.status == "completed" and status.best_model_path is not None


def actions_table(view: SessionView) -> Table:
    """The "Action Mode" panel: each key, what it does, and why resume is not offered."""
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True, style="bold")
    table.add_column(no_wrap=True)
    table.add_column(ratio=1)
    table.title = "Action Mode"
    table.title_justify = "left"
    table.title_style = "bold"

    def action(key: str, name: str, description: str, style: str = "") -> None:
        table.add_row(
            Text(key, style=style), Text(name, style=style), Text(description, style=style)
        )

    obstacle = view.resume_obstacle
    if view.resumable:
        action("r", "resume", "Continue incomplete training from its last checkpoint")
    elif obstacle is not None and view.resume_needs_answer:
        # The reason may name the dataset's path; the app asks where it is, or to confirm.
        action("r", "resume", f"Continue from its last checkpoint ({visible(obstacle.in_app())})")
    else:
        # The reason may name a checkpoint path or the session's files.
        blocker = visible(obstacle.in_app() if obstacle is not None else "no checkpoint")
        action("r", "resume", f"not available: {blocker}", "dim")
    action("l", "relaunch", "Start fresh with the same parameters (a new session)")
    action("e", "edit", "Edit dataset, model, epochs, batch size, learning rate; relaunch")
    if view.status == "running":
        action("s", "stop", "Stop the training (it can be resumed from its last checkpoint)")
    action("m", "live", "Follow progress, evaluations and the log")
    if can_predict(view):
        action("p", "predict", "Run the best model over a file of new texts")
    action("n", "notes", "Edit the session's notes")
    action("t", "tags", "Edit its tags (the history's search finds them: tag:NAME)")
    action("x", "export", "Write its configuration as a shareable template")
    return table


class DetailScreen(Screen[None]):
    """One session's parameters, status and actions."""

    SUB_TITLE = "Selected Session Details"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "resume", "Resume"),
        Binding("l", "relaunch", "Relaunch"),
        Binding("e", "relaunch_edited", "Edit & relaunch"),
        Binding("s", "stop", "Stop"),
        Binding("m", "live", "Live view"),
        # Out of the footer, which has no room left at 80 columns: the Action Mode panel and
        # help (?) list them.
        Binding("n", "notes", "Notes", show=False),
        Binding("t", "tags", "Tags", show=False),
        Binding("x", "export_template", "Export template", show=False),
        Binding("p", "predict", "Predict", show=False),
        Binding("escape", "back", "Back"),
    ]

    def __init__(
        self, engine: Engine, sessions_changed: Signal[SessionChanges], path: Path
    ) -> None:
        super().__init__()
        self.engine = engine
        self.sessions_changed = sessions_changed
        self.path = path
        self.view: SessionView | None = None
        self._predictions_looked_for = False

    def compose(self) -> ComposeResult:
        yield Label(TITLE, classes="screen-title")
        yield Static(literal(self.path.name), id="detail-status", classes="status-line")
        with VerticalScroll(id="detail-scroll"):
            yield Static(id="detail-table")
            yield Static(id="detail-models")
        yield Static(id="detail-actions")
        yield Static(id="detail-prediction", classes="status-line")
        yield Footer()

    def on_mount(self) -> None:
        self.sessions_changed.subscribe(self, self._sessions_changed)
        self.query_one("#detail-scroll").focus()
        self.query_one("#detail-prediction").display = False
        self.load()

    def _sessions_changed(self, changes: SessionChanges) -> None:
        touched = {entry.path for entry in [*changes.added, *changes.changed]}
        if self.path in touched or self.path in changes.removed:
            self.load()

    @work(group="inspect", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        """Read the session again (in a thread) and show it."""
        try:
            view = await asyncio.to_thread(self.engine.inspect, self.path)
        except MetadataError as exc:
            self.view = None
            self._show_unreadable(exc.reason)
        else:
            self.view = view
            self._show_view(view)
            if not self._predictions_looked_for and can_predict(view):
                # A prediction started earlier (from this app before it was closed, another
                # app or the shell) is followed as one started here.
                self._predictions_looked_for = True
                running = await asyncio.to_thread(
                    self.engine.running_predictions, view.metadata.session_id
                )
                for status in running[:1]:
                    self.follow_prediction(Path(status.job_dir))
        self.refresh_bindings()

    def _show_view(self, view: SessionView) -> None:
        status = Text.assemble(
            literal(view.metadata.session_id),
            " · ",
            status_text(view.status, color=not self.app.no_color),
        )
        if view.liveness.reason:
            # The reason may quote the session's host or worker.out.
            status.append_text(literal(f" ({view.liveness.reason})", "dim"))
        self.query_one("#detail-status", Static).update(status)
        self.query_one("#detail-table", Static).update(
            details_table(view, color=not self.app.no_color)
        )
        models = models_table(view)
        models_shown = self.query_one("#detail-models", Static)
        models_shown.update(models or "")
        models_shown.display = models is not None
        actions = self.query_one("#detail-actions", Static)
        actions.update(actions_table(view))
        actions.display = True

    def _show_unreadable(self, reason: str) -> None:
        self.query_one("#detail-status", Static).update(
            literal(f"{self.path.name} cannot be read: {reason}", "red")
        )
        self.query_one("#detail-table", Static).update("")
        self.query_one("#detail-models", Static).display = False
        self.query_one("#detail-actions", Static).display = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        view = self.view
        if action == "back":
            return True
        if view is None:
            return False
        if action == "resume":
            if view.resumable or view.resume_needs_answer:
                return True
            # Blocked for a reason (shown in the panel): dimmed; pointless (completed): hidden.
            return False if view.status in NOT_RESUMABLE_STATUSES else None
        if action == "stop":
            return view.status == "running"
        if action == "predict":
            return can_predict(view)
        return True

    def action_resume(self) -> None:
        """Continue the session from its last checkpoint."""
        self.post_message(ResumeRequested(self.path))

    def action_relaunch(self) -> None:
        """Start a new session with the same parameters."""
        self.post_message(RelaunchRequested(self.path))

    def action_relaunch_edited(self) -> None:
        """Edit the dataset and hyperparameters, then start a new session."""
        if self.view is None:
            return

        def relaunch(edits: RelaunchEdits | None) -> None:
            if edits is not None:
                self.post_message(RelaunchRequested(self.path, edits))

        self.app.push_screen(RelaunchEditDialog(self.view.metadata), relaunch)

    def action_stop(self) -> None:
        """Stop the running session (the app asks first)."""
        if self.view is not None:
            self.post_message(StopRequested(self.path, self.view.metadata.session_id))

    def action_live(self) -> None:
        """Follow the session's progress."""
        if self.view is not None:
            self.post_message(LiveViewRequested(self.path, self.view.metadata.session_id))

    def _saved(self, metadata: TrainingMetadata | None) -> None:
        # Read again at once: the watcher would too, but not in a workspace it does not follow.
        if metadata is not None:
            self.load()

    def action_notes(self) -> None:
        """Edit the session's notes."""
        if self.view is not None:
            self.app.push_screen(
                NotesDialog(self.engine, self.path, self.view.metadata), self._saved
            )

    def action_tags(self) -> None:
        """Edit the session's tags."""
        if self.view is not None:
            self.app.push_screen(
                TagsDialog(self.engine, self.path, self.view.metadata), self._saved
            )

    def action_export_template(self) -> None:
        """Write the session's configuration as a template file."""
        if self.view is None:
            return
        session_id = self.view.metadata.session_id

        def exported(done: TemplateExported | None) -> None:
            if done is None:
                return
            message = f"Exported {session_id} to {done.output}"
            if done.warnings:
                # A str body: the dialog escapes the id and the warnings (which name keys).
                self.app.push_screen(
                    MessageDialog("Template exported", "\n".join([message, "", *done.warnings]))
                )
            else:
                self.notify(visible(message), markup=False)

        self.app.push_screen(ExportTemplateDialog(self.engine, self.path, session_id), exported)

    def action_predict(self) -> None:
        """Ask for a file and an output, then predict in the background."""
        if self.view is None or not can_predict(self.view):
            return

        def started(status: PredictionStatus | None) -> None:
            if status is not None:
                self.follow_prediction(Path(status.job_dir))

        self.app.push_screen(
            PredictDialog(self.engine, self.path, self.view.metadata, path_suggester=PathSuggester),
            started,
        )

    @work(group="prediction", exclusive=True, exit_on_error=False)
    async def follow_prediction(self, job_dir: Path) -> None:
        """Show a prediction's progress below the actions until it ends, then read the session
        again (it holds the prediction's entry)."""
        line = self.query_one("#detail-prediction", Static)
        line.display = True
        while True:
            status = await asyncio.to_thread(self.engine.prediction_status, job_dir)
            if status is not None and status.state != "running":
                break
            line.update(_prediction_progress(status))
            await asyncio.sleep(PREDICTION_POLL_S)
        if status.state == "completed":
            line.update(literal(f"✓ {status.message}"))
            self.notify(visible(f"Predicted: {status.message}"), markup=False)
        else:
            # The message may name the file, or quote an exception.
            line.update(literal(f"✗ prediction {status.state}: {status.message}", "red"))
        self.load()

    def action_back(self) -> None:
        """Back to the history."""
        self.app.pop_screen()


def _prediction_progress(status: PredictionStatus | None) -> Text:
    """``Predicting new.csv: 1,200 / 5,000 rows (24%)  850 rows/s  ETA 0:04``."""
    if status is None or not status.rows_total:
        return Text("Predicting: starting…")
    text = literal(f"Predicting {dataset_label(status.file)}: ")
    text.append(f"{status.rows_done:,} / {status.rows_total:,} rows ({status.fraction:.0%})")
    # The message comes from the job's status file.
    speed = status.speed_words() or status.message or ""
    if speed:
        text.append_text(literal(f"  {speed}"))
    return text
