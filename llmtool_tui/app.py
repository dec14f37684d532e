"""The Training Studio app: the options menu, the live history, session details and live views.

One factory, ``make_app``, builds the app for the CLI, the tests and the screenshots, with its
dependencies (the engine, the clock) injected. The app routes between screens: screens post the
messages of ``llmtool_tui.messages`` and the app decides what comes next, runs the engine's
actions in threads, and asks before anything that cannot be taken back at once.
"""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.signal import Signal
from textual.worker import Worker, WorkerState

from engine.errors import (
    BadInputError,
    DatasetMissingError,
    OperationError,
    ResumeRefusedError,
    in_app,
)
from engine.facade import Engine, LaunchedSession
from engine.store import MetadataError, StoreError
from engine.watcher import SessionChanges
from llmtool_tui import dialogs, screens
from llmtool_tui.clock import Clock, utc_clock
from llmtool_tui.commands import SessionCommands
from llmtool_tui.live_history import RECHECK_INTERVAL_S, LiveHistory
from llmtool_tui.messages import (
    CompareRequested,
    LiveViewRequested,
    PerformanceChartRequested,
    RelaunchRequested,
    ResumeRequested,
    SessionChosen,
    SessionLaunched,
    StopRequested,
)
from llmtool_tui.untrusted import visible

if TYPE_CHECKING:
    from engine.first_listing import FirstListing

#: Seconds the quit check may take before the app says what it is doing.
QUIT_CHECK_NOTICE_S = 0.5
#: Errors of the engine that are the user's to act on: shown as they say (escaped: they name
#: files, ids and paths), never as a traceback.
USER_ERRORS = (BadInputError, OperationError, MetadataError, StoreError)


class StudioApp(App[None]):
    """llmtool-tui's Training Studio."""

    CSS_PATH = "app.tcss"
    TITLE = "llmtool-tui"
    SUB_TITLE = "Training Studio"
    COMMANDS = App.COMMANDS | {SessionCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help"),
        Binding("ctrl+q", "quit", "Quit", priority=True, show=False),
    ]

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock = utc_clock,
        watch: bool = True,
        first_listing: FirstListing | None = None,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.clock = clock
        self.watch_sessions = watch
        self.sessions_changed: Signal[SessionChanges] = Signal(self, "sessions_changed")
        """Published with each batch of changes of ``logs/training_sessions/``."""
        self.live_history = LiveHistory(self, engine, first_listing)
        """The history's 20 newest sessions, listed by a child process forked at start-up (or
        after the first frame) and kept current."""
        self._listing_started = False

    def get_default_screen(self) -> Screen[None]:
        return screens.OptionsScreen()

    def on_mount(self) -> None:
        if self.live_history.listing_in_background:
            # Only a wait on the child's pipe: the rows are taken as soon as they are sent.
            self._start_listing()
        else:
            # After the first frame: the history's listing (a stat of every session file) and
            # the watcher's start would otherwise delay it.
            self.call_after_refresh(self._start_listing)
        self.call_after_refresh(self._import_history_screen)
        self.set_interval(RECHECK_INTERVAL_S, self._recheck_running)

    def _import_history_screen(self) -> None:
        # While the menu waits for a key rather than after it: option 1 is the usual first
        # choice, and its module (the table, the search) took about 25 ms of its opening.
        importlib.import_module("llmtool_tui.screens.history")

    def _start_listing(self) -> None:
        # Also called by the history's opening: a callback after refresh waits for the refresh
        # of the screen current when it was asked, and a key typed before the menu's first
        # frame covers that screen, which is then not refreshed until it shows again.
        if not self._listing_started:
            self._listing_started = True
            self._list_and_watch()

    @work(group="session-watcher", exit_on_error=False)
    async def _list_and_watch(self) -> None:
        # The listing first, as it is what ``1`` waits for; then one watcher for the whole app
        # (screens subscribe to the signals), starting from that listing: what changed since is
        # reported, and the directory is not scanned a second time.
        await self.live_history.list_and_follow(
            self.sessions_changed if self.watch_sessions else None
        )

    @work(group="history-liveness", exclusive=True, exit_on_error=False)
    async def _recheck_running(self) -> None:
        await self.live_history.recheck()

    @on(Worker.StateChanged)
    def _report_worker_error(self, event: Worker.StateChanged) -> None:
        """The one place a failed background job is reported (they never end the app)."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        said = visible(str(error))
        if event.worker.group == "session-watcher":
            self.notify(
                f"Live updates stopped: {said}. Restart with --poll on a network filesystem.",
                title="Watcher",
                severity="error",
                timeout=30,
                markup=False,
            )
        elif isinstance(error, USER_ERRORS):
            self.notify(visible(in_app(error)), severity="error", timeout=15, markup=False)
        else:
            self.notify(
                f"{type(error).__name__}: {said}",
                title="Unexpected error",
                severity="error",
                timeout=30,
                markup=False,
            )

    # -- navigation --------------------------------------------------------------------------

    def _screen_below(self) -> Screen[object] | None:
        return self.screen_stack[-2] if len(self.screen_stack) > 1 else None

    def action_open_history(self) -> None:
        """Option 1: the history of previous sessions."""
        self._start_listing()
        self.push_screen(
            screens.HistoryScreen(self.engine, self.sessions_changed, self.live_history)
        )

    def action_new_session(self) -> None:
        """Option 2: the New Training Session wizard; a launched session opens in its live view."""

        def closed(launched: LaunchedSession | None) -> None:
            if launched is not None:
                self.post_message(SessionLaunched(launched))

        wizard = screens.NewSessionWizard(self.engine, history=self.live_history.history)
        self.push_screen(wizard, closed)

    def action_help(self) -> None:
        """Show the keys of the current screen."""
        if isinstance(self.screen, screens.HelpScreen):
            return
        self.push_screen(screens.HelpScreen.for_screen(self.screen))

    def on_session_chosen(self, message: SessionChosen) -> None:
        below = self._screen_below()
        if isinstance(below, screens.DetailScreen) and below.path == message.path:
            self.pop_screen()
        else:
            self.push_screen(screens.DetailScreen(self.engine, self.sessions_changed, message.path))

    def on_live_view_requested(self, message: LiveViewRequested) -> None:
        below = self._screen_below()
        if isinstance(below, screens.MonitorScreen) and below.path == message.path:
            self.pop_screen()
        else:
            self._open_live_view(message.path, message.session_id)

    def _open_live_view(self, path: Path, session_id: str) -> None:
        if isinstance(self.screen, screens.MonitorScreen) and self.screen.path == path:
            # Resumed from its own live view (r): it follows the same file, the new run's too.
            return
        self.push_screen(
            screens.MonitorScreen(self.engine, self.sessions_changed, path, session_id, self.clock)
        )

    def on_compare_requested(self, message: CompareRequested) -> None:
        self.push_screen(screens.CompareScreen(self.engine, self.sessions_changed, message.paths))

    def on_performance_chart_requested(self, message: PerformanceChartRequested) -> None:
        self.push_screen(screens.PerformanceScreen(self.engine, self.sessions_changed))

    def on_session_launched(self, message: SessionLaunched) -> None:
        launched = message.launched
        self.notify(f"Started {visible(launched.session_id)} (pid {launched.pid})", markup=False)
        self._open_live_view(launched.metadata_path, launched.session_id)

    # -- actions on sessions -----------------------------------------------------------------

    def on_resume_requested(self, message: ResumeRequested) -> None:
        self._launch("resume", message.path)

    def _ask_to_force_resume(self, path: Path, refused: ResumeRefusedError) -> None:
        """A change only ``force`` accepts (data, threads, world size): say it, ask, resume."""

        def confirmed(answer: bool | None) -> None:
            if answer:
                self._launch("resume", path, force=True)

        self.push_screen(
            dialogs.ConfirmDialog(
                "Resume anyway?",
                f"{refused.obstacle.problem}.\n\nResume from the last checkpoint"
                " anyway, or relaunch (l) to train again from the start.",
                confirm_label="Resume anyway",
                cancel_label="Cancel",
            ),
            confirmed,
        )

    def on_relaunch_requested(self, message: RelaunchRequested) -> None:
        if message.edits is not None:
            self._launch("relaunch", message.path, message.edits.dataset, message.edits.overrides)
            return

        def confirmed(answer: bool | None) -> None:
            if answer:
                self._launch("relaunch", message.path)

        self.push_screen(
            dialogs.ConfirmDialog(
                "Relaunch training",
                f"Start a new session with the parameters of {message.path.name}? "
                "The original session is left as it is.",
                confirm_label="Relaunch",
                cancel_label="Cancel",
            ),
            confirmed,
        )

    @work(group="session-actions", exit_on_error=False)
    async def _launch(
        self,
        how: Literal["resume", "relaunch"],
        path: Path,
        dataset: Path | None = None,
        overrides: dict[str, str] | None = None,
        *,
        force: bool = False,
    ) -> None:
        engine = self.engine
        try:
            if how == "resume":
                launched: LaunchedSession = await asyncio.to_thread(
                    engine.resume, path, force=force
                )
            else:
                launched = await asyncio.to_thread(
                    engine.relaunch, path, dataset=dataset, overrides=overrides
                )
        except DatasetMissingError as missing:
            # Located, the same session resumes (or the relaunch starts) on the file found.
            def located(metadata: object) -> None:
                if metadata is not None:
                    self._launch(how, path, None, overrides, force=force)

            self.push_screen(
                dialogs.LocateDatasetDialog(engine, path, missing.dataset, then=how), located
            )
            return
        except ResumeRefusedError as refused:
            if refused.obstacle.kind != "forceable" or force:
                raise
            self._ask_to_force_resume(path, refused)
            return
        self.post_message(SessionLaunched(launched))

    def on_stop_requested(self, message: StopRequested) -> None:
        def confirmed(answer: bool | None) -> None:
            if answer:
                self._stop(message.path)

        self.push_screen(
            dialogs.ConfirmDialog(
                "Stop training",
                f"Stop {message.session_id}? The worker saves a checkpoint and the session is "
                "marked interrupted: it can be resumed later.",
                confirm_label="Stop",
                cancel_label="Keep running",
            ),
            confirmed,
        )

    @work(group="session-actions", exit_on_error=False)
    async def _stop(self, path: Path) -> None:
        self.notify("Stopping… (the worker saves a checkpoint first)", markup=False)
        report = await asyncio.to_thread(self.engine.stop, path)
        self.notify(
            visible(report.message),
            severity="information" if report.stopped else "error",
            markup=False,
        )

    # -- quitting ------------------------------------------------------------------------------

    async def action_quit(self) -> None:
        """Quit; when sessions are running, say they keep running and ask first."""
        self._quit_after_check()

    @work(group="quit", exclusive=True, exit_on_error=False)
    async def _quit_after_check(self) -> None:
        # Every session file is read (thousands take a second or more): say so when it lasts.
        slow = self.set_timer(
            QUIT_CHECK_NOTICE_S,
            lambda: self.notify("Checking for running sessions…", timeout=5, markup=False),
        )
        try:
            running = await asyncio.to_thread(self.engine.running_sessions)
        finally:
            slow.stop()
        if not running:
            self.exit()
            return

        def confirmed(answer: bool | None) -> None:
            if answer:
                self.exit()

        self.push_screen(
            dialogs.ConfirmDialog(
                "Quit",
                keep_running_notice([row.session_id for row in running]),
                confirm_label="Quit",
                cancel_label="Stay",
            ),
            confirmed,
        )


def keep_running_notice(session_ids: list[str]) -> str:
    """What the quit dialog says of the running sessions, in agreement with their number."""
    named = ", ".join(session_ids[:3])
    if len(session_ids) > 3:
        named += f" and {len(session_ids) - 3} more"
    if len(session_ids) == 1:
        return (
            f"1 training session is running ({named}). It keeps running after you quit; open"
            " llmtool-tui again to follow it."
        )
    return (
        f"{len(session_ids)} training sessions are running ({named}). They keep running after"
        " you quit; open llmtool-tui again to follow them."
    )


def make_app(
    engine: Engine,
    *,
    clock: Clock | None = None,
    watch: bool = True,
    first_listing: FirstListing | None = None,
) -> StudioApp:
    """The app over ``engine``: the one factory of the CLI, the tests and the screenshots.

    Args:
        engine: the facade of the workspace to show.
        clock: the current time (aware); tests and screenshots pass a frozen one.
        watch: follow ``logs/training_sessions/`` live (screenshots of a still workspace don't).
        first_listing: the history's window being listed by a child process
            (``Engine.list_in_background``); without, the app lists it itself.

    Returns:
        The app, not yet running.
    """
    return StudioApp(engine, clock=clock or utc_clock, watch=watch, first_listing=first_listing)


def run_app(engine: Engine, first_listing: FirstListing | None = None) -> int:
    """Run the app in the terminal until the user quits; the exit code of the CLI."""
    make_app(engine, first_listing=first_listing).run()
    return 0
