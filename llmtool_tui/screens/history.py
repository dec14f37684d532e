"""Previous Training Sessions: the live history table, its filter, and its empty and error states.

The refresh path is the only one: the app's watcher publishes a change → this screen fetches the
history in a thread (``Engine.ahistory``) → ``SessionTable.show_rows`` diffs it into the table.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import Screen
from textual.signal import Signal
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Label, Static

from engine.facade import Engine, History
from engine.store import DEFAULT_LIMIT
from engine.watcher import SessionChanges
from llmtool_tui.dialogs.message import MessageDialog
from llmtool_tui.messages import SessionChosen
from llmtool_tui.widgets.session_table import SORT_NAMES, HistoryRow, SessionTable

TITLE = "Previous Training Sessions"
#: How long a typed number waits for another digit when it could still grow (``1`` of ``12``).
NUMBER_DELAY_S = 0.6
UNREADABLE_HELP = (
    "Verify the JSON file is not corrupted (use a JSON validator) and that all "
    "required fields are present; the reason is shown below the table."
)
HOW_TO_START = (
    "Start one with 2 · New Training Session on the options screen, or from a shell "
    "with `llmtool-tui train DATASET`."
)


def history_rows(history: History, engine: Engine) -> list[HistoryRow]:
    """Readable sessions and unreadable files, newest first."""
    rows = [
        HistoryRow.from_summary(summary, engine.workspace.sessions_dir / summary.file)
        for summary in history.sessions
    ]
    rows += [HistoryRow.from_unreadable(unreadable) for unreadable in history.unreadable]
    rows.sort(key=lambda row: row.mtime, reverse=True)
    return rows


def empty_state(history: History, engine: Engine) -> Text | None:
    """The guidance shown above the table when there is nothing (readable) to list."""
    where = engine.workspace.sessions_dir
    if not history.directory_exists:
        return Text.assemble(
            ("No training sessions found\n", "bold"),
            f"{where} does not exist yet: no session was saved in this workspace. ",
            HOW_TO_START,
        )
    if not history.sessions and not history.unreadable:
        return Text.assemble(
            ("No training sessions found\n", "bold"),
            f"{where} holds no session file. Sessions appear here as soon as they are saved. ",
            HOW_TO_START,
        )
    if not history.sessions:
        return Text.assemble(
            (f"None of the {len(history.unreadable)} session files could be read\n", "bold"),
            UNREADABLE_HELP,
        )
    return None


class HistoryScreen(Screen[None]):
    """The N most recent sessions (or all), live, filterable and sortable."""

    SUB_TITLE = "Previous Training Sessions"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("a", "toggle_all", "All sessions"),
        Binding("slash", "filter", "Filter"),
    ]
    #: Keys handled outside the bindings, listed by the help screen.
    HELP_KEYS: tuple[tuple[str, str], ...] = (
        ("Enter", "Open the session's details"),
        ("1-9", "Open the session with that number"),
        ("click header", "Sort by that column"),
    )

    show_all: reactive[bool] = reactive(False, init=False)
    """Whether every session is listed rather than the DEFAULT_LIMIT most recent."""

    def __init__(self, engine: Engine, sessions_changed: Signal[SessionChanges]) -> None:
        super().__init__()
        self.engine = engine
        self.sessions_changed = sessions_changed
        self.history: History | None = None
        self._loading = False
        self._stale = False
        self._number = ""
        self._number_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Label(self._title(), id="history-title", classes="screen-title")
        yield Static("Loading sessions…", id="history-message")
        yield SessionTable(id="sessions")
        yield Static(id="history-status", classes="status-line")
        yield Static(id="row-info", classes="status-line")
        yield Input(
            placeholder="Filter: words found in date, mode, dataset, model or status",
            id="filter",
            compact=True,
        )
        yield Footer()

    def on_mount(self) -> None:
        self.sessions_changed.subscribe(self, self._sessions_changed)
        self.query_one(SessionTable).focus()
        self.refresh_history()

    # -- loading ---------------------------------------------------------------------------

    def _sessions_changed(self, changes: SessionChanges) -> None:
        self.refresh_history()

    def refresh_history(self) -> None:
        """Fetch the history again; changes arriving meanwhile cause one more fetch after it."""
        if self._loading:
            self._stale = True
            return
        self._loading = True
        self._load()

    @work(group="history-load", exit_on_error=False)
    async def _load(self) -> None:
        # Not exclusive: under a stream of changes (a worker updating its file) a cancelled
        # fetch would never finish; instead one fetch runs, and one more if changes came in.
        try:
            while True:
                self._stale = False
                limit = None if self.show_all else DEFAULT_LIMIT
                self.history = await self.engine.ahistory(limit)
                self._show_history()
                if not self._stale:
                    break
        finally:
            self._loading = False

    def _show_history(self) -> None:
        history = self.history
        if history is None:
            return
        table = self.query_one(SessionTable)
        query = self.query_one("#filter", Input).value
        rows = history_rows(history, self.engine)
        table.show_rows([row for row in rows if row.matches(query)] if query else rows)
        message = empty_state(history, self.engine)
        message_widget = self.query_one("#history-message", Static)
        message_widget.update(message or "")
        message_widget.display = message is not None
        table.display = bool(rows)
        self.query_one("#history-title", Label).update(self._title())
        self._show_status()
        self._show_row_info(table.cursor_history_row)

    def _title(self) -> str:
        if not self.show_all:
            return f"{TITLE} ({DEFAULT_LIMIT} most recent)"
        count = len(self.history.sessions) if self.history else 0
        return f"{TITLE} (all {count:,})"

    def _show_status(self) -> None:
        history = self.history
        if history is None:
            return
        table = self.query_one(SessionTable)
        listed = len(history.sessions) + len(history.unreadable)
        parts = []
        query = self.query_one("#filter", Input).value
        if query:
            parts.append(f"filter “{query}”: {table.row_count} of {listed} · Esc clears")
        if history.total_files > listed:
            parts.append(f"{listed} of {history.total_files:,} files · a shows all")
        if history.unreadable:
            parts.append(f"{len(history.unreadable)} unreadable")
        order = SORT_NAMES[table.sort_column] + (" (reversed)" if table.sort_reverse else "")
        parts.append(f"sorted by {order}")
        self.query_one("#history-status", Static).update(Text(" · ".join(parts)))

    def _show_row_info(self, row: HistoryRow | None) -> None:
        info = self.query_one("#row-info", Static)
        if row is None:
            info.update("")
        elif row.error is not None:
            info.update(Text(f"{row.path.name} cannot be read: {row.error}", style="red"))
        else:
            info.update(Text(f"{row.session_id} · {row.path.name}"))

    # -- table events ------------------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#sessions")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_row_info(self.query_one(SessionTable).row_for_key(event.row_key))

    @on(DataTable.RowSelected, "#sessions")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        row = self.query_one(SessionTable).row_for_key(event.row_key)
        if row is not None:
            self.open_row(row)

    @on(SessionTable.SortChanged)
    def _sort_changed(self) -> None:
        self._show_status()

    def open_row(self, row: HistoryRow) -> None:
        """Open a session's details, or say why its file cannot be read."""
        if row.error is not None:
            self.app.push_screen(
                MessageDialog(
                    "Session file cannot be read",
                    Text.assemble((row.path.name, "bold"), f"\n{row.error}\n\n{UNREADABLE_HELP}"),
                )
            )
            return
        self.post_message(SessionChosen(row.path))

    # -- typing a session number ------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        filter_input = self.query_one("#filter", Input)
        if self.focused is filter_input and event.is_printable and event.character:
            # Typed right after "/", these keys were already queued for the table when the
            # focus moved; the filter takes them (its own keys never reach the screen).
            event.stop()
            filter_input.insert_text_at_cursor(event.character)
        elif self.focused is not self.query_one(SessionTable):
            return
        elif event.key == "slash":
            event.stop()
            event.prevent_default()
            self.action_filter()
        elif event.character is not None and event.character.isdigit():
            event.stop()
            self._type_digit(event.character)

    def _type_digit(self, digit: str) -> None:
        if self._number_timer is not None:
            self._number_timer.stop()
            self._number_timer = None
        table = self.query_one(SessionTable)
        numbers = {str(row.index): row for row in table.shown_rows if row.index is not None}
        typed = self._number + digit
        if not any(number.startswith(typed) for number in numbers):
            typed = digit if any(number.startswith(digit) for number in numbers) else ""
        self._number = typed
        if not typed:
            self.app.bell()
            return
        row = numbers.get(typed)
        if row is not None:
            table.move_cursor(row=table.get_row_index(row.key))
        if any(number.startswith(typed) and number != typed for number in numbers):
            # ``1`` may still become ``12``: open it only if no other digit follows soon.
            self._number_timer = self.set_timer(NUMBER_DELAY_S, self._open_typed_number)
        else:
            self._open_typed_number()

    def _open_typed_number(self) -> None:
        table = self.query_one(SessionTable)
        typed, self._number, self._number_timer = self._number, "", None
        row = next((row for row in table.shown_rows if str(row.index) == typed), None)
        if row is not None:
            self.open_row(row)

    # -- actions -------------------------------------------------------------------------------

    def action_toggle_all(self) -> None:
        """List every session, or the most recent ones again."""
        self.show_all = not self.show_all

    def watch_show_all(self, show_all: bool) -> None:
        self.query_one("#history-title", Label).update(self._title())
        if show_all and self.history is not None:
            # Every file is parsed: thousands take a few seconds.
            files = self.history.total_files
            self.query_one("#history-status", Static).update(f"Loading {files:,} sessions…")
        self.refresh_history()

    def action_filter(self) -> None:
        """Show the filter and type into it."""
        filter_input = self.query_one("#filter", Input)
        filter_input.display = True
        # Focused now, not after a refresh (Widget.focus): keys typed right after ``/`` are
        # already queued and must reach the filter, not the table.
        self.set_focus(filter_input)

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        self._show_history()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self.query_one(SessionTable).focus()

    def action_back(self) -> None:
        """Clear an active filter first; otherwise go back to the options."""
        filter_input = self.query_one("#filter", Input)
        if filter_input.display:
            filter_input.value = ""
            filter_input.display = False
            self.query_one(SessionTable).focus()
            return
        self.app.pop_screen()
