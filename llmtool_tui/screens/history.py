"""Previous Training Sessions: the live history table, its search, marks, and its empty states.

The refresh path is the only one: the app's watcher reports a batch of changes → the app applies it
to its window of the 20 newest sessions, by key (``LiveHistory``, ``Engine.updated``) → this screen
shows that window → ``SessionTable.show_rows`` diffs it into the table. A search, or every session
(``a``), is this screen's own view: fetched once in a thread, then updated the same way. The
search looks through every session file, not only the rows shown. From here the marked sessions
are compared, the F1 chart opened, templates imported and old sessions archived.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import Screen
from textual.signal import Signal
from textual.timer import Timer
from textual.widgets import DataTable, Input, Label, Static

from engine.errors import BadInputError
from engine.facade import Engine
from engine.filters import FIELDS, SessionFilter, parse_filter
from engine.history import History
from engine.rows import SessionRow
from engine.store import DEFAULT_LIMIT
from engine.watcher import SessionChanges
from llmtool_tui import dialogs
from llmtool_tui.live_history import LiveHistory
from llmtool_tui.messages import CompareRequested, PerformanceChartRequested, SessionChosen
from llmtool_tui.untrusted import literal
from llmtool_tui.widgets.footer import Footer
from llmtool_tui.widgets.session_table import SORT_NAMES, SessionTable

if TYPE_CHECKING:
    from engine.cleanup import CleanupResult
    from engine.templates import ImportResult

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
SEARCH_PLACEHOLDER = (
    "Search: words and fields, e.g. status:failed model:camembert dataset:debates "
    "after:2026-01-01 tag:paper f1>0.8"
)


def empty_state(
    history: History, engine: Engine, search: SessionFilter | None = None
) -> Text | None:
    """The guidance shown above the table when there is nothing (readable) to list."""
    where = engine.workspace.sessions_dir
    if not history.directory_exists:
        return Text.assemble(
            ("No training sessions found\n", "bold"),
            f"{where} does not exist yet: no session was saved in this workspace. ",
            HOW_TO_START,
        )
    if search and not history.sessions:
        return Text.assemble(
            ("No session matches the search\n", "bold"),
            f"“{search.describe()}” matches none of the {history.total_files:,} session files. "
            f"Esc clears the search. Fields: {', '.join(FIELDS)}.",
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
    """The N most recent sessions (or all), live, searchable, sortable and comparable."""

    SUB_TITLE = "Previous Training Sessions"
    AUTO_FOCUS = ""
    """The table is focused when it has rows (``_show_history``), not by the screen's
    activation: that comes after the first rows when they are ready at once, and would focus
    an empty table that is hidden, showing its keys in the footer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("slash", "filter", "Search"),
        Binding("c", "compare", "Compare"),
        Binding("g", "chart", "Chart"),
        # Out of the footer, which has no room left at 80 columns: listed by help (?) and the
        # command palette, and ``a`` by the status line whenever more sessions exist.
        Binding("a", "toggle_all", "All sessions", show=False),
        Binding("i", "import_template", "Import template", show=False),
        Binding("ctrl+d", "cleanup", "Archive old sessions", show=False),
    ]
    #: Keys handled outside the bindings, listed by the help screen.
    HELP_KEYS: tuple[tuple[str, str], ...] = (
        ("Enter", "Open the session's details"),
        ("1-9", "Open the session with that number"),
        ("click header", "Sort by that column"),
        ("Esc", "Clear the search, then the marks, then go back"),
    )

    show_all: reactive[bool] = reactive(False, init=False)
    """Whether every session is listed rather than the DEFAULT_LIMIT most recent."""

    def __init__(
        self, engine: Engine, sessions_changed: Signal[SessionChanges], live: LiveHistory
    ) -> None:
        super().__init__()
        self.engine = engine
        self.sessions_changed = sessions_changed
        self.live = live
        """The app's window of the newest sessions, kept current: what this screen shows unless
        it searches or shows every session."""
        self.history: History | None = None
        """What the table shows."""
        self.search: SessionFilter | None = None
        """The search typed last that could be parsed; None for none."""
        self.shown_search: SessionFilter | None = None
        """The search of ``history``, the one the table shows."""
        self._loading = False
        self._stale = False
        self._pending: SessionChanges | None = None
        """Changes that came while the own view was being fetched or updated."""
        self._number = ""
        self._number_timer: Timer | None = None
        self._cursor_to: str | None = None
        """The file name of a session to put the cursor on as soon as its row is shown (the
        one just imported: its row comes with the next listing or the watcher's batch)."""

    def compose(self) -> ComposeResult:
        yield Label(self._title(), id="history-title", classes="screen-title")
        yield Static("Loading sessions…", id="history-message")
        yield SessionTable(id="sessions")
        yield Static(id="history-status", classes="status-line")
        yield Static(id="row-info", classes="status-line")
        yield Input(placeholder=SEARCH_PLACEHOLDER, id="filter", compact=True)
        yield Static(id="filter-error", classes="form-errors")
        yield Footer()

    def on_mount(self) -> None:
        self.sessions_changed.subscribe(self, self._sessions_changed)
        self.live.changed.subscribe(self, self._live_changed)
        self.set_focus(self.query_one(SessionTable))
        if self.live.history is not None:
            # The app's window is in the first frame, instead of "Loading".
            self._live_changed(self.live.history)

    # -- loading ---------------------------------------------------------------------------

    @property
    def own_view(self) -> bool:
        """Whether the rows are this screen's own (a search, or every session)."""
        return self.search is not None or self.show_all

    def _live_changed(self, history: History) -> None:
        if not self.own_view:
            self.history = history
            self.shown_search = None
            self._show_history()

    def _sessions_changed(self, changes: SessionChanges) -> None:
        if not self.own_view:
            return
        if self._pending is None:
            self._pending = SessionChanges()
        self._pending.merge(changes)
        if not self._loading:
            self._loading = True
            self._load()

    @property
    def marked(self) -> frozenset[str]:
        """Keys (metadata paths) of the sessions marked for a comparison."""
        # Read from the table, not from its MarksChanged message: ``c`` typed right after
        # ``space`` may arrive before the message does.
        tables = self.query(SessionTable)
        return tables.first().marked if tables else frozenset()

    @property
    def fetching(self) -> bool:
        """Whether the rows shown are not yet the ones asked for, validated and live."""
        if self.own_view or self._loading:
            return self._loading or self.history is None or self.history.search != self.search
        return self.live.history is None or not self.live.history.validated

    def _view_changed(self) -> None:
        """The search or ``a`` changed what to show: this screen's own view, or the app's."""
        if self.own_view:
            self.refresh_history()
        elif self.live.history is not None:
            self._live_changed(self.live.history)

    def refresh_history(self) -> None:
        """List the rows again: the app's window, or this screen's own view."""
        self._stale = True
        if not self._loading:
            self._loading = True
            self._load()

    @work(group="history-load", exit_on_error=False)
    async def _load(self) -> None:
        # Not exclusive: under a stream of changes (a worker updating its file) a cancelled
        # fetch would never finish; instead one runs at a time, then one more if asked meanwhile.
        engine = self.engine
        try:
            while self._stale or self._pending is not None:
                if not self.own_view:
                    self._stale, self._pending = False, None
                    await self.live.relist()
                    continue
                search, limit = self.search, None if self.show_all else DEFAULT_LIMIT
                current = self.history
                changes, self._pending = self._pending, None
                if (
                    self._stale
                    or current is None
                    or current.search != search
                    or current.limit != limit
                ):
                    self._stale = False
                    self.history = await asyncio.to_thread(
                        engine.history, limit, session_filter=search
                    )
                elif changes is not None:
                    self.history = await asyncio.to_thread(engine.updated, current, changes)
                self.shown_search = search
                self._show_history()
        finally:
            self._loading = False

    def _show_history(self) -> None:
        history = self.history
        if history is None:
            return
        table = self.query_one(SessionTable)
        rows = history.rows
        table.show_rows(rows)
        if self._cursor_to is not None:
            self._move_cursor_to(table, self._cursor_to)
        message = empty_state(history, self.engine, self.shown_search)
        message_widget = self.query_one("#history-message", Static)
        message_widget.update(message or "")
        message_widget.display = message is not None
        table.display = bool(rows)
        if not rows and self.focused is table:
            # Hidden, the table would keep the focus, and its keys in the footer, until the
            # next layout: nothing has the focus when there is nothing to browse.
            self.set_focus(None)
        elif rows and self.focused is None:
            table.focus()
        self.query_one("#history-title", Label).update(self._title())
        self._show_status()
        self._show_row_info(table.cursor_history_row)

    def _move_cursor_to(self, table: SessionTable, file_name: str) -> None:
        row = next((row for row in table.shown_rows if row.path.name == file_name), None)
        if row is not None:
            self._cursor_to = None
            table.move_cursor(row=table.get_row_index(row.key))

    def _title(self) -> str:
        if self.shown_search:
            return f"{TITLE} (search: {self.shown_search.describe()})"
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
        if self.shown_search:
            matches = len(history.sessions)
            if not self.show_all and matches >= DEFAULT_LIMIT:
                parts.append(f"first {matches} matches · a shows all · Esc clears")
            else:
                parts.append(f"{matches} match{'es' if matches != 1 else ''} · Esc clears")
        elif history.total_files > listed:
            parts.append(f"{listed} of {history.total_files:,} files · a shows all")
        if len(self.marked) == 1:
            parts.append("1 marked · mark another to compare")
        elif self.marked:
            parts.append(f"{len(self.marked)} marked · c compares")
        if history.unreadable:
            parts.append(f"{len(history.unreadable)} unreadable")
        order = SORT_NAMES[table.sort_column] + (" (reversed)" if table.sort_reverse else "")
        parts.append(f"sorted by {order} · o sorts by {SORT_NAMES[table.next_sort]}")
        self.query_one("#history-status", Static).update(Text(" · ".join(parts)))

    def _show_row_info(self, row: SessionRow | None) -> None:
        info = self.query_one("#row-info", Static)
        if row is None:
            info.update("")
        elif row.error is not None:
            info.update(literal(f"{row.path.name} cannot be read: {row.error}", style="red"))
        else:
            info.update(literal(f"{row.session_id} · {row.path.name}"))

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

    @on(SessionTable.MarksChanged)
    def _marks_changed(self) -> None:
        self._show_status()
        self.refresh_bindings()

    def open_row(self, row: SessionRow) -> None:
        """Open a session's details, or say why its file cannot be read."""
        if row.error is not None:
            self.app.push_screen(
                dialogs.MessageDialog(
                    "Session file cannot be read",
                    Text.assemble(
                        literal(row.path.name, "bold"),
                        "\n",
                        literal(row.error),
                        f"\n\n{UNREADABLE_HELP}",
                    ),
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
        self._view_changed()

    def action_filter(self) -> None:
        """Show the filter and type into it."""
        filter_input = self.query_one("#filter", Input)
        filter_input.display = True
        # Focused now, not after a refresh (Widget.focus): keys typed right after ``/`` are
        # already queued and must reach the filter, not the table.
        self.set_focus(filter_input)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        # Parsed at every key: a half-typed term (``status:fai``) shows why it is not a search
        # yet, and the rows of the last valid search stay until it is one.
        try:
            search = parse_filter(event.value)
        except BadInputError as error:
            self._show_filter_error(str(error))
            return
        self._show_filter_error(None)
        self.search = search or None
        self._view_changed()

    def _show_filter_error(self, error: str | None) -> None:
        line = self.query_one("#filter-error", Static)
        line.update(Text(error or ""))
        line.display = error is not None

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self.query_one(SessionTable).focus()

    def action_back(self) -> None:
        """Clear the search first, then the marks; otherwise go back to the options."""
        filter_input = self.query_one("#filter", Input)
        table = self.query_one(SessionTable)
        if filter_input.display:
            filter_input.value = ""
            filter_input.display = False
            self._show_filter_error(None)
            table.focus()
            return
        if self.marked:
            table.set_marked(frozenset())
            return
        self.app.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "compare":
            # Dimmed until two sessions are marked: shown, so that comparing can be found.
            return True if len(self.marked) >= 2 else None
        return True

    def action_compare(self) -> None:
        """Compare the marked sessions side by side."""
        table = self.query_one(SessionTable)
        order = {row.key: position for position, row in enumerate(table.shown_rows)}
        keys = sorted(self.marked, key=lambda key: (order.get(key, len(order)), key))
        self.post_message(CompareRequested([Path(key) for key in keys]))

    def action_chart(self) -> None:
        """Open the chart of the best F1 of sessions over time."""
        self.post_message(PerformanceChartRequested())

    def action_import_template(self) -> None:
        """Make a new session from a template or a collaborator's metadata file."""

        def imported(result: ImportResult | None) -> None:
            if result is None:
                return
            # The new session, or the one this file became before (nothing was written).
            self._cursor_to = result.path.name
            self._move_cursor_to(self.query_one(SessionTable), result.path.name)
            self.refresh_history()
            self.app.push_screen(dialogs.MessageDialog(*dialogs.import_summary(result)))

        self.app.push_screen(dialogs.ImportTemplateDialog(self.engine), imported)

    def action_cleanup(self) -> None:
        """Archive old sessions, after showing what would move."""

        def cleaned(result: CleanupResult | None) -> None:
            if result is None:
                return
            archived = {str(done.item.session_file) for done in result.archived}
            self.query_one(SessionTable).set_marked(self.marked - archived)
            self.refresh_history()

        self.app.push_screen(dialogs.CleanupDialog(self.engine), cleaned)
