"""Step 2: the columns, the header row and the label delimiter (detected, changeable), a preview."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.message import Message
from textual.widgets import Checkbox, DataTable, Label, Select, SelectionList, Static

from llmtool_tui.screens.wizard.step import WizardStep
from llmtool_tui.screens.wizard.ticks import TickBox, TickList
from llmtool_tui.untrusted import literal, visible

if TYPE_CHECKING:
    from engine.analysis import DatasetAnalysis

#: The label Select's choice "several 0/1 columns"; a column name cannot start with a NUL.
INDICATORS = "\0indicator-columns"
#: Width of the text column in the preview; the other columns get PREVIEW_OTHER_WIDTH.
PREVIEW_TEXT_WIDTH = 44
PREVIEW_OTHER_WIDTH = 16
#: The header Select's choices (what the first row is); its blank is detection. Only CSV/TSV
#: files have a header row.
HEADER_CHOICES = {"header": True, "data": False}
HEADER_FORMATS = ("csv", "tsv")
HEADER_SUFFIXES = (".csv", ".tsv")
#: The label delimiters the engine detects, offered in the delimiter Select (blank: detect).
#: Named too, for the fonts where "|" and "l" or "," and "." look alike.
LABEL_DELIMITERS = {
    ",": "',' comma",
    ";": "';' semicolon",
    "|": "'|' bar",
    "_": "'_' underscore",
    "+": "'+' plus",
    " ": "' ' space",
}
#: The start of the analysis's warning that the first row was read as data.
NO_HEADER_WARNING = "no header row: "
LAYOUT_DESCRIPTIONS = {
    "single-column": "one class per text",
    "list-column": "zero or more labels per text, listed in one column",
    "indicator-columns": "one 0/1 column per label",
}


def layout_line(analysis: DatasetAnalysis) -> str:
    """``Labels: single-column (one class per text) · single-label · 4 categories``."""
    config = analysis.dataset_config
    layout = config.label_layout or "single-column"
    parts = [f"Labels: {layout} ({LAYOUT_DESCRIPTIONS.get(layout, layout)})"]
    if config.label_delimiter:
        parts.append(f"delimiter {config.label_delimiter!r}")
    parts += [config.strategy, f"{config.num_categories} categories"]
    return " · ".join(parts)


def header_prompt(analysis: DatasetAnalysis | None, header: bool | None) -> str:
    """The header Select's blank: what detection found (``data (detected)``) while it decides."""
    detected = analysis.dataset_config.header if analysis and header is None else None
    if detected is None:
        return "(detect)"
    return f"{'header' if detected else 'data'} (detected)"


def header_reason(analysis: DatasetAnalysis | None, header: bool | None) -> str:
    """Why detection took the first row for data ('' when it names the columns, or was chosen).

    The analysis says it in a warning that goes on with the columns' names and the command
    line's option; the wizard shows the names in the preview and the option is the Select.
    """
    if analysis is None or header is not None:
        return ""
    for warning in analysis.warnings:
        if warning.startswith(NO_HEADER_WARNING):
            reason = warning.removeprefix(NO_HEADER_WARNING).split("; the columns are named")[0]
            return reason[:1].upper() + reason[1:]
    return ""


def delimiter_prompt(analysis: DatasetAnalysis | None, delimiter: str | None) -> str:
    """The delimiter Select's blank: what detection found (``'_' (detected)``)."""
    if analysis is None or delimiter is not None:
        return "(detect)"
    config = analysis.dataset_config
    if config.label_layout == "indicator-columns":
        return "(indicator columns)"
    if config.label_delimiter:
        found = config.label_delimiter
        # Short enough for a field a third of 80 columns wide.
        return f"{'space' if found == ' ' else repr(found)} (detected)"
    if config.label_layout == "list-column":
        return "lists (detected)"
    return "none (detected)"


def preview_cell(value: str) -> Text:
    """A cell of the preview: the file's text on one line, escaped, cut to the column's width."""
    cell = literal(value)
    cell.no_wrap, cell.overflow = True, "ellipsis"
    return cell


class ColumnsStep(WizardStep):
    """The columns and reading choices the analysis used; changing one analyses again."""

    DEFAULT_CSS = """
    ColumnsStep {
        #column-selects {
            /* Three fields a row: the columns, then the header and label delimiter choices. */
            grid-size: 3;
            grid-rows: 2;
            height: auto;
        }
        .column-field {
            height: 2;
            margin-right: 1;
            &.-hidden {
                display: none;
            }
        }
        #header-reason {
            color: $text-muted;
            &.-hidden {
                display: none;
            }
        }
        #indicator-columns {
            max-height: 5;
            &.-hidden {
                display: none;
            }
        }
        #label-layout {
            color: $text-accent;
        }
        #preview {
            height: 1fr;
            margin-top: 1;
        }
    }
    """

    TITLE = "Columns and labels"
    HINT = "Change a choice to analyse again: space opens a list, ↑/↓ and Enter pick."

    @dataclass
    class ColumnsChanged(Message):
        """Different columns, header, label delimiter or rare-class handling were chosen:
        analyse the file again. None (or no label columns) is detection."""

        text_column: str | None
        label_columns: list[str]
        language_column: str | None
        drop_rare_classes: bool
        header: bool | None
        label_delimiter: str | None

    class ColumnsConfirmed(Message):
        """The columns are right: go on to the analysis."""

    def compose_body(self) -> ComposeResult:
        with Grid(id="column-selects"):
            for select_id, caption, prompt in (
                ("text-column", "Text column", "(detect)"),
                ("label-column", "Label column", "(detect)"),
                ("language-column", "Language column", "(detect from texts)"),
            ):
                with Vertical(classes="column-field"):
                    yield Label(caption, markup=False)
                    yield Select[str]([], prompt=prompt, id=select_id, compact=True)
            with Vertical(id="header-field", classes="column-field -hidden"):
                yield Label("First row", markup=False)
                yield Select[str](
                    ((choice, choice) for choice in HEADER_CHOICES),
                    prompt="(detect)",
                    id="header",
                    compact=True,
                )
            with Vertical(classes="column-field"):
                yield Label("Label delimiter", markup=False)
                yield Select[str](
                    ((caption, delimiter) for delimiter, caption in LABEL_DELIMITERS.items()),
                    prompt="(detect)",
                    id="label-delimiter",
                    compact=True,
                )
        yield TickList(id="indicator-columns", classes="-hidden", compact=True)
        yield Static("", id="header-reason", classes="-hidden", markup=False)
        yield Static("", id="label-layout", markup=False)
        yield TickBox(
            "Drop classes with fewer than 2 examples",
            id="drop-rare",
            compact=True,
        )
        yield DataTable(id="preview", cursor_type="none", zebra_stripes=True)

    def enter_step(self) -> None:
        self.refresh_step()
        self.query_one("#text-column", Select).focus()

    def refresh_step(self) -> None:
        """Show the state's columns, choices and analysis (after each analysis)."""
        state = self.state
        columns = state.columns
        indicators = len(state.label_columns) > 1
        self._fill_select(
            "#text-column", [(column, column) for column in columns], state.text_column
        )
        self._fill_select(
            "#label-column",
            [(column, column) for column in columns] + [("several 0/1 columns", INDICATORS)],
            INDICATORS if indicators else next(iter(state.label_columns), None),
        )
        self._fill_select(
            "#language-column", [(column, column) for column in columns], state.language_column
        )
        ticks: SelectionList[str] = self.query_one("#indicator-columns", SelectionList)
        ticks.clear_options()
        ticks.add_options(
            (literal(column), column, column in state.label_columns) for column in columns
        )
        ticks.set_class(not indicators, "-hidden")
        self.query_one("#drop-rare", Checkbox).value = state.drop_rare_classes
        analysis = state.analysis
        self._refresh_reading(analysis, indicators)
        self.query_one("#label-layout", Static).update(
            visible(layout_line(analysis)) if analysis else ""
        )
        self._fill_preview(analysis.preview if analysis else [])

    def _refresh_reading(self, analysis: DatasetAnalysis | None, indicators: bool) -> None:
        """The header choice (CSV/TSV only) and the label delimiter (not for 0/1 columns)."""
        state = self.state
        suffix = state.dataset_path.suffix.lower() if state.dataset_path else ""
        # Until an analysis reads the file, its extension tells: a refused first analysis may
        # be a header read as data (a "class" named after the label column, seen once).
        has_header_row = state.file_format in HEADER_FORMATS or (
            state.file_format is None and suffix in HEADER_SUFFIXES
        )
        self.query_one("#header-field").set_class(not has_header_row, "-hidden")
        header: Select[str] = self.query_one("#header", Select)
        header.prompt = header_prompt(analysis, state.header)
        if state.header is None:
            header.clear()
        else:
            header.value = "header" if state.header else "data"
        reason = header_reason(analysis, state.header) if has_header_row else ""
        reason_line = self.query_one("#header-reason", Static)
        reason_line.update(visible(reason))
        reason_line.set_class(not reason, "-hidden")
        delimiter: Select[str] = self.query_one("#label-delimiter", Select)
        # A delimiter splits one label column's cells; 0/1 columns have none to split.
        delimiter.disabled = indicators
        delimiter.prompt = delimiter_prompt(analysis, state.label_delimiter)
        if state.label_delimiter in LABEL_DELIMITERS:
            delimiter.value = state.label_delimiter
        else:
            delimiter.clear()

    def _fill_select(
        self, selector: str, options: list[tuple[str, str]], value: str | None
    ) -> None:
        select: Select[str] = self.query_one(selector, Select)
        # Captions are the file's column names.
        select.set_options((literal(caption), option) for caption, option in options)
        if value is not None and any(option == value for _, option in options):
            select.value = value

    def _fill_preview(self, rows: list[dict[str, str]]) -> None:
        table = self.query_one("#preview", DataTable)
        table.clear(columns=True)
        if not rows:
            return
        state = self.state
        chosen = [state.text_column, *state.label_columns, state.language_column]
        first = [column for column in chosen if column and column in rows[0]]
        ordered = first + [column for column in rows[0] if column not in first]
        for column in ordered:
            width = PREVIEW_TEXT_WIDTH if column == state.text_column else PREVIEW_OTHER_WIDTH
            table.add_column(literal(column), key=column, width=width)
        for row in rows:
            table.add_row(*(preview_cell(row.get(column, "")) for column in ordered))

    def _select_value(self, selector: str) -> str | None:
        value: Any = self.query_one(selector, Select).value
        return value if isinstance(value, str) else None

    @on(Select.Changed)
    @on(SelectionList.SelectedChanged)
    @on(Checkbox.Changed)
    def _choice_changed(self, event: Message) -> None:
        """Post ColumnsChanged when the widgets say something the state does not."""
        event.stop()
        ticks: SelectionList[str] = self.query_one("#indicator-columns", SelectionList)
        label = self._select_value("#label-column")
        ticks.set_class(label != INDICATORS, "-hidden")
        if label == INDICATORS:
            # In the file's order, whatever the order they were ticked in.
            labels = [column for column in self.state.columns if column in ticks.selected]
            if len(labels) < 2:
                self.show_error("Tick two or more 0/1 indicator columns with space.")
                return
        else:
            labels = [label] if label else []
        header = self._select_value("#header")
        choice = (
            self._select_value("#text-column"),
            labels,
            self._select_value("#language-column"),
            self.query_one("#drop-rare", Checkbox).value,
            HEADER_CHOICES[header] if header else None,
            # The engine refuses a delimiter for 0/1 columns: they have no cells to split.
            None if label == INDICATORS else self._select_value("#label-delimiter"),
        )
        state = self.state
        # Filling the widgets from the state posts these messages too: they change nothing.
        if choice == (
            state.text_column,
            state.label_columns,
            state.language_column,
            state.drop_rare_classes,
            state.header,
            state.label_delimiter,
        ):
            return
        self.show_error(None)
        self.post_message(self.ColumnsChanged(*choice))

    def confirm(self) -> None:
        self.post_message(self.ColumnsConfirmed())
