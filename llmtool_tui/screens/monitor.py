"""Live monitoring of one session: progress, loss and F1 curves, evaluations so far and the
latest log lines.

Everything comes from the session's files (progress.jsonl, followed by ``Engine.tail``, and the
metadata, read by ``Engine.inspect``), so a run started by another process, or before the app was
opened, is shown the same way as one started here. ``Engine.tail`` starts at the present (the
run's summary and the end of its log), so a run of millions of steps opens at once.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.signal import Signal
from textual.widgets import Label, Static

from engine.facade import Engine, SessionView
from engine.progress import EvaluationDone, ProgressEvent, StatusChanged
from engine.store import MetadataError
from engine.watcher import SessionChanges
from llmtool_tui.clock import Clock
from llmtool_tui.messages import ResumeRequested, SessionChosen, StopRequested
from llmtool_tui.untrusted import literal, visible
from llmtool_tui.widgets.evaluations_table import EvaluationsTable
from llmtool_tui.widgets.footer import Footer
from llmtool_tui.widgets.log_view import LogView
from llmtool_tui.widgets.progress_panel import ProgressPanel
from llmtool_tui.widgets.status import status_text
from llmtool_tui.widgets.training_charts import TrainingCharts

TITLE = "Live Training Monitor"
#: Events are shown in batches at this interval: a backlog of thousands of steps (a long run
#: opened late) then costs one repaint, and the UI stays responsive while it is read.
FLUSH_INTERVAL_S = 0.1
#: Events taken from the tail before the reader lets the event loop run other work.
EVENTS_PER_YIELD = 200
#: How often a running session's process is checked when its file did not change: a worker
#: killed with SIGKILL writes nothing, and only this check notices it.
LIVENESS_INTERVAL_S = 10.0
#: How often the curves are drawn again while steps arrive: plotting costs more than a row.
CHART_INTERVAL_S = 1.0


class MonitorScreen(Screen[None]):
    """A session's progress as it happens."""

    SUB_TITLE = "Live Training Monitor"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "resume", "Resume"),
        Binding("s", "stop", "Stop"),
        Binding("d", "details", "Details"),
        Binding("c", "toggle_charts", "Charts"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(
        self,
        engine: Engine,
        sessions_changed: Signal[SessionChanges],
        path: Path,
        session_id: str,
        clock: Clock,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.sessions_changed = sessions_changed
        self.path = path
        self.session_id = session_id
        self.clock = clock
        self.status: str | None = None
        self.resumable = False
        self.events_seen = 0
        self._pending: list[ProgressEvent] = []
        self._caught_up = asyncio.Event()
        """Set by the tail once the events already in the file are read."""

    def compose(self) -> ComposeResult:
        yield Label(TITLE, classes="screen-title")
        yield Static(literal(self.session_id), id="monitor-status", classes="status-line")
        yield ProgressPanel(self.clock, id="monitor-progress")
        yield TrainingCharts(color=not self.app.no_color, id="monitor-charts")
        yield Label("Evaluations", classes="section-title")
        yield EvaluationsTable(id="monitor-evaluations")
        yield LogView(id="monitor-log")
        yield Footer()

    def on_mount(self) -> None:
        log = self.query_one(LogView)
        log.border_title = "Log"
        progress_file = self.engine.progress_path(self.session_id)
        with suppress(ValueError):
            progress_file = progress_file.relative_to(self.engine.workspace.root)
        log.write_line(f"Following {visible(str(progress_file))}")
        log.focus()
        self.sessions_changed.subscribe(self, self._sessions_changed)
        self.check_status()
        self._follow()
        self.set_interval(FLUSH_INTERVAL_S, self._flush)
        self.set_interval(LIVENESS_INTERVAL_S, self._check_if_running)
        self.set_interval(CHART_INTERVAL_S, self._draw_charts)

    @property
    def shows_present(self) -> bool:
        """Whether the events already written are all on screen (the run as it stands, and its
        curves)."""
        caught_up = self._caught_up.is_set() and not self._pending and self.events_seen > 0
        return caught_up and not self.query_one(TrainingCharts).changed

    # -- status ----------------------------------------------------------------------------

    def _sessions_changed(self, changes: SessionChanges) -> None:
        touched = {entry.path for entry in [*changes.added, *changes.changed]}
        if self.path in touched or self.path in changes.removed:
            self.check_status()

    def _check_if_running(self) -> None:
        if self.status in (None, "running", "stale"):
            self.check_status()

    @work(group="monitor-status", exclusive=True, exit_on_error=False)
    async def check_status(self) -> None:
        """Read the session's metadata and live status (in a thread)."""
        try:
            view = await asyncio.to_thread(self.engine.inspect, self.path)
        except MetadataError as exc:
            self.query_one("#monitor-status", Static).update(
                literal(f"{self.session_id}: {exc.reason}", "red")
            )
            return
        self._show_status(view)

    def _show_status(self, view: SessionView) -> None:
        self.status = view.status
        # As the details offer it: also when resuming needs an answer first (where the dataset
        # moved, or whether to accept a change), which the app asks on r.
        self.resumable = view.resumable or view.resume_needs_answer
        config = view.metadata.training_model_config
        panel = self.query_one(ProgressPanel)
        panel.planned_epochs = config.epochs
        if panel.progress.models_total is None and len(config.models()) > 1:
            panel.progress.models_total = len(config.models())
        panel.live = view.status == "running"
        panel.render_progress()
        line = Text.assemble(
            literal(self.session_id), " · ", status_text(view.status, color=not self.app.no_color)
        )
        # Both may quote the session file or worker.out.
        if view.liveness.reason:
            line.append_text(literal(f" ({view.liveness.reason})", "dim"))
        elif view.metadata.execution_status.error_message and view.status != "running":
            line.append_text(literal(f" ({view.metadata.execution_status.error_message})", "dim"))
        self.query_one("#monitor-status", Static).update(line)
        self.refresh_bindings()

    # -- events ------------------------------------------------------------------------------

    @work(group="monitor-tail", exclusive=True, exit_on_error=False)
    async def _follow(self) -> None:
        # Cancelling this worker (the screen closes) cancels the tail, which closes the file.
        async for event in self.engine.tail(self.session_id, caught_up=self._caught_up):
            self._pending.append(event)
            if len(self._pending) % EVENTS_PER_YIELD == 0:
                await asyncio.sleep(0)

    def _flush(self) -> None:
        # The events already written are shown at once, as where the run stands: replayed in
        # batches, a resumed run would show its first attempt's steps, below the checkpoint.
        if not self._caught_up.is_set():
            return
        panel = self.query_one(ProgressPanel)
        if not self._pending:
            if panel.reading:
                # Nothing was written yet: say so rather than "reading".
                panel.reading = False
                panel.render_progress()
            return
        events, self._pending = self._pending, []
        first = self.events_seen == 0
        self.events_seen += len(events)
        panel.reading = False
        evaluations = self.query_one(EvaluationsTable)
        log = self.query_one(LogView)
        charts = self.query_one(TrainingCharts)
        with self.app.batch_update():
            for event in events:
                panel.progress.apply(event)
                if isinstance(event, EvaluationDone):
                    evaluations.add_evaluation(event)
            if first:
                log.write_backlog(events)
            else:
                log.write_events(events)
            charts.add_events(events)
            panel.render_progress()
        if first:
            # Plotting costs a frame of its own: the run's state is painted first, the curves
            # right after it rather than at the next chart interval.
            self.call_after_refresh(self._draw_charts)
        if any(isinstance(event, StatusChanged) for event in events):
            # The worker reports its own end; the metadata says what is shown from now on.
            self.check_status()

    def _draw_charts(self) -> None:
        charts = self.query_one(TrainingCharts)
        if charts.changed and charts.display:
            charts.draw()

    # -- actions -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return self.status == "running"
        if action == "resume":
            return self.resumable
        return True

    def action_resume(self) -> None:
        """Continue the session from its last checkpoint, as the details' ``r`` does."""
        # Not offered again while the launch is under way; the next status read says what
        # the session became.
        self.resumable = False
        self.refresh_bindings()
        self.post_message(ResumeRequested(self.path))

    def action_stop(self) -> None:
        """Stop the session (the app asks first)."""
        self.post_message(StopRequested(self.path, self.session_id))

    def action_toggle_charts(self) -> None:
        """Hide the curves (more rows for the evaluations and the log), or show them again."""
        charts = self.query_one(TrainingCharts)
        charts.display = not charts.display
        if charts.display:
            charts.draw()

    def action_details(self) -> None:
        """Show the session's parameters."""
        self.post_message(SessionChosen(self.path))

    def action_back(self) -> None:
        """Back to where the live view was opened from."""
        self.app.pop_screen()
