"""The history table: one row per session file, keyed by the file's path, updated by diff.

Rows are never cleared and refilled: ``show_rows`` adds new rows, updates the cells that changed
and removes gone ones inside one batch, then sorts and puts the cursor back on the same session,
so a live update neither flickers nor moves the user's selection. Rows can be marked (``space``)
for a comparison: a mark is kept by the row's key, so it survives sorting, live updates and a
filter that hides the row for a while.

At 80 columns the Date column shows the day only and a running session's progress its percentage
only, so that the Dataset and Model columns keep room for names: a hub id that does not fit is
shown without its organisation, a local model by its directory's name, never a cut path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.console import JustifyMethod
from rich.text import Text
from textual import events, on
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist, RowKey

from engine.history import f1_label
from engine.rows import SessionRow, model_without_organisation
from llmtool_tui.untrusted import visible
from llmtool_tui.widgets.status import status_rank, status_text

#: (label, column key) in the specification's order.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("#", "index"),
    ("Date", "date"),
    ("Mode", "mode"),
    ("Dataset", "dataset"),
    ("Model", "model"),
    ("Status", "status"),
    ("Best F1", "best_f1"),
)
COLUMN_KEYS = tuple(key for _, key in COLUMNS)
SORT_NAMES = {
    "index": "newest first",
    "date": "date",
    "mode": "mode",
    "dataset": "dataset",
    "model": "model",
    "status": "status",
    "best_f1": "best F1",
}
#: The order ``o`` goes through: best F1 first (the sort a researcher wants most), then the
#: other columns from left to right, then back to the default order.
SORT_CYCLE = ("index", "best_f1", "date", "mode", "dataset", "model", "status")
#: Widest cell of the fixed-width columns: a date, ``distribu…``, ``▶ running 2/3 45%``.
DATE_WIDTH = 16
MODE_WIDTH = 9
STATUS_WIDTH = 18
F1_WIDTH = len("Best F1")
#: In a narrow table: the day without the time, ``⚠ interrupted`` or ``▶ running 45%``.
DAY_WIDTH = 10
NARROW_STATUS_WIDTH = 13
#: Dataset and Model share what is left, never less than this each.
MIN_FLEXIBLE_WIDTH = 8
#: Below this each, the fixed columns take their narrow widths to leave room for names.
COMFORTABLE_FLEXIBLE_WIDTH = 14
#: Room for the vertical scrollbar, which appears as soon as the rows outgrow the screen.
SCROLLBAR_WIDTH = 2
#: A marked row's number is preceded by this; an unmarked one by as many spaces.
MARK = "● "


def running_progress(row: SessionRow, *, with_model: bool = True) -> str:
    """``2/3 45%`` for a running session (the model ``k/n`` only when there are several, and
    ``with_model``)."""
    if row.status != "running" or not row.max_steps:
        return ""
    percent = f"{100 * (row.step or 0) / row.max_steps:.0f}%"
    if with_model and row.models_total and row.models_total > 1 and row.current_model_index:
        return f"{row.current_model_index}/{row.models_total} {percent}"
    return percent


@dataclass(frozen=True)
class SortCell:
    """A cell's text, its style, its width cap and the value it sorts by.

    DataTable sorts rows by cell values only; carrying the sort value in the cell lets the
    default order (newest file first) and the status order (what needs attention first) be
    table sorts too, so that sorting never needs a clear and refill.
    """

    plain: str
    sort_key: Any
    style: str = ""
    cap: int | None = None
    rich_text: Text | None = None
    """A prebuilt Text (the status with its symbol), used instead of ``plain`` + ``style``."""
    justify: JustifyMethod = "left"
    last: bool = False
    """Sorted after every other cell in both directions (a session without a best F1)."""

    def __rich__(self) -> Text:
        text = (
            self.rich_text.copy()
            if self.rich_text is not None
            else Text(self.plain, style=self.style, justify=self.justify, no_wrap=True, end="")
        )
        if self.cap is not None and text.cell_len > self.cap:
            text.truncate(self.cap, overflow="ellipsis")
        return text


def column_caps(table_width: int, index_width: int) -> dict[str, int]:
    """Width caps of the columns so that the table fits ``table_width``.

    Dataset and Model share what the others leave; when that is too little for names (80
    columns), Date and Status take their narrow widths first.
    """
    room = table_width - SCROLLBAR_WIDTH - 2 * len(COLUMNS) - len(MARK) - index_width
    date, status = DATE_WIDTH, STATUS_WIDTH
    if room - (date + MODE_WIDTH + status + F1_WIDTH) < 2 * COMFORTABLE_FLEXIBLE_WIDTH:
        date, status = DAY_WIDTH, NARROW_STATUS_WIDTH
    flexible = max(2 * MIN_FLEXIBLE_WIDTH, room - (date + MODE_WIDTH + status + F1_WIDTH))
    # An odd column goes to Model: ``(multiple)`` then fits at 80 columns.
    dataset = max(MIN_FLEXIBLE_WIDTH, flexible // 2)
    return {
        "date": date,
        "dataset": dataset,
        "model": max(MIN_FLEXIBLE_WIDTH, flexible - dataset),
        "mode": MODE_WIDTH,
        "status": status,
    }


class SessionTable(DataTable[SortCell]):
    """Sessions, newest first; sortable by any column; updated in place."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        # The arrow says what the footer would otherwise hide: marking moves to the next row.
        Binding("space", "toggle_mark", "Mark ↓"),
        # Rows, not columns (DataTable's own Home and End scroll sideways).
        Binding("home", "scroll_top", "First session", show=False),
        Binding("end", "scroll_bottom", "Last session", show=False),
        # Out of the footer (no room at 80 columns): the history's status line names the sort
        # that ``o`` gives next.
        Binding("o", "cycle_sort", "Sort by best F1, then by each column", show=False),
        Binding("O", "reverse_sort", "Reverse sort", show=False),
    ]

    @dataclass
    class SortChanged(Message):
        """The sort column or direction changed."""

        table: SessionTable
        column: str
        reverse: bool

    @dataclass
    class MarksChanged(Message):
        """A row was marked or unmarked; ``marked`` are the keys (metadata paths) marked now."""

        table: SessionTable
        marked: frozenset[str]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._rows: dict[str, SessionRow] = {}
        self._marked: set[str] = set()
        self.sort_column = "index"
        self.sort_reverse = False
        self._caps = column_caps(80, 2)

    def on_mount(self) -> None:
        for label, key in COLUMNS:
            self.add_column(label, key=key)

    # -- content -------------------------------------------------------------------------------

    def row_for_key(self, key: RowKey | str) -> SessionRow | None:
        """The row shown under ``key``."""
        value = key.value if isinstance(key, RowKey) else key
        return self._rows.get(value) if value is not None else None

    @property
    def cursor_history_row(self) -> SessionRow | None:
        """The row under the cursor."""
        if not self._rows or not self.is_valid_row_index(self.cursor_row):
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return self.row_for_key(row_key)

    @property
    def shown_rows(self) -> list[SessionRow]:
        """The rows in display order."""
        return [
            self._rows[key.value]
            for key in (row.key for row in self.ordered_rows)
            if key.value is not None
        ]

    def _cells(self, row: SessionRow) -> dict[str, SortCell]:
        caps = self._caps
        progress = running_progress(row, with_model=caps["status"] >= STATUS_WIDTH)
        # The dataset and model come from the session file (the dataset cell of an unreadable
        # one is its file name): escaped, sorted by what they show. A local model shows its
        # directory's name, which fits at 80 columns where its path would be cut.
        model = row.model_name
        if len(model) > caps["model"]:
            model = model_without_organisation(model)
        return {
            # Newest file first, ties in the engine's order (its history numbers).
            "index": SortCell(
                f"{MARK if row.key in self._marked else ' ' * len(MARK)}"
                f"{'-' if row.index is None else row.index}",
                (-row.mtime, row.index or 0, row.key),
                style="bold" if row.key in self._marked else "",
            ),
            "date": SortCell(row.date[: caps["date"]], (row.date, row.key)),
            "mode": SortCell(row.mode, (row.mode.casefold(), row.key), cap=caps["mode"]),
            "dataset": SortCell(
                visible(row.dataset), (row.dataset.casefold(), row.key), cap=caps["dataset"]
            ),
            "model": SortCell(visible(model), (model.casefold(), row.key), cap=caps["model"]),
            "status": SortCell(
                f"{row.status} {progress}".rstrip(),
                (status_rank(row.status), -row.mtime, row.key),
                cap=caps["status"],
                rich_text=status_text(row.status, color=not self.app.no_color, detail=progress),
            ),
            # Best first; then the newest, as in the default order.
            "best_f1": SortCell(
                f1_label(row.best_f1),
                (-(row.best_f1 or 0.0), -row.mtime, row.key),
                justify="right",
                last=row.best_f1 is None,
            ),
        }

    def show_rows(self, rows: Sequence[SessionRow]) -> None:
        """Make the table show ``rows``: add, update and remove by key, keep the cursor."""
        wanted = {row.key: row for row in rows}
        current = self.cursor_history_row
        cursor_key = current.key if current else None
        cursor_index = self.cursor_row
        with self.app.batch_update():
            changed = False
            for key in [key for key in self._rows if key not in wanted]:
                self.remove_row(key)
                del self._rows[key]
                changed = True
            for row in rows:
                changed = self._put(row) or changed
            if changed:
                # Sorting redraws every row: a refresh that changed nothing (the usual case
                # of a listing fetched again) costs no redraw.
                self._sort()
                self._restore_cursor(cursor_key, cursor_index)

    def _put(self, row: SessionRow, *, force: bool = False) -> bool:
        """Add or update ``row``; whether anything shown changed."""
        old = self._rows.get(row.key)
        self._rows[row.key] = row
        cells = self._cells(row)
        if old is None:
            self.add_row(*(cells[key] for key in COLUMN_KEYS), key=row.key)
            return True
        old_cells = self._cells(old)
        changed = False
        for key in COLUMN_KEYS:
            if force or cells[key] != old_cells[key]:
                self.update_cell(row.key, key, cells[key], update_width=True)
                changed = True
        return changed

    def _restore_cursor(self, key: str | None, fallback_index: int) -> None:
        if not self._rows:
            return
        try:
            index = self.get_row_index(key) if key is not None else fallback_index
        except RowDoesNotExist:
            index = fallback_index
        self.move_cursor(row=min(max(index, 0), self.row_count - 1))

    # -- marks ---------------------------------------------------------------------------------

    @property
    def marked(self) -> frozenset[str]:
        """The keys (metadata paths) of the marked rows, shown or not."""
        return frozenset(self._marked)

    def set_marked(self, keys: set[str] | frozenset[str]) -> None:
        """Mark exactly ``keys``; redraw the rows whose mark changed."""
        changed = self._marked ^ set(keys)
        self._marked = set(keys)
        for key in changed:
            row = self._rows.get(key)
            if row is not None:
                self.update_cell(key, "index", self._cells(row)["index"], update_width=True)
        if changed:
            self.post_message(self.MarksChanged(self, self.marked))

    def action_toggle_mark(self) -> None:
        """Mark the row under the cursor for a comparison, or unmark it."""
        row = self.cursor_history_row
        if row is None or row.error is not None:
            # An unreadable file has no parameters to compare.
            self.app.bell()
            return
        self.set_marked(self._marked ^ {row.key})
        # As in file managers: marking moves on, so that space space marks two rows.
        self.action_cursor_down()

    # -- sorting -------------------------------------------------------------------------------

    def _sort(self) -> None:
        reverse = self.sort_reverse
        # ``last`` is flipped with the order, so that reversing leaves those cells at the end.
        self.sort(
            self.sort_column,
            key=lambda cell: (cell.last != reverse, cell.sort_key),
            reverse=reverse,
        )

    def sort_by(self, column: str, *, reverse: bool = False) -> None:
        """Sort by ``column`` (a key of COLUMNS), keeping the cursor on its session."""
        self.sort_column, self.sort_reverse = column, reverse
        current = self.cursor_history_row
        self._sort()
        self._restore_cursor(current.key if current else None, self.cursor_row)
        self.post_message(self.SortChanged(self, column, reverse))

    @property
    def next_sort(self) -> str:
        """The column ``o`` sorts by next (see SORT_CYCLE)."""
        position = SORT_CYCLE.index(self.sort_column)
        return SORT_CYCLE[(position + 1) % len(SORT_CYCLE)]

    def action_cycle_sort(self) -> None:
        """Sort by best F1, then by each column in turn, then newest first again."""
        self.sort_by(self.next_sort)

    def action_reverse_sort(self) -> None:
        """Reverse the order."""
        self.sort_by(self.sort_column, reverse=not self.sort_reverse)

    @on(DataTable.HeaderSelected)
    def _sort_by_clicked_header(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        column = event.column_key.value or "index"
        self.sort_by(column, reverse=column == self.sort_column and not self.sort_reverse)

    # -- width ---------------------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        index_width = max((len(str(row.index)) for row in self._rows.values()), default=1)
        caps = column_caps(event.size.width, index_width)
        if caps == self._caps:
            return
        self._caps = caps
        with self.app.batch_update():
            for row in list(self._rows.values()):
                self._put(row, force=True)
