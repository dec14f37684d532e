"""Compare Sessions: F1 results, then parameters side by side with differences marked, F1 curves.

Opened from the history with two or more marked sessions. The comparison is the engine's
(``Engine.compare``, read in a thread), the one ``llmtool-tui compare`` prints: results first
(best F1, the evaluation it came from, the F1 of each class there), then the parameters, those
whose values differ marked ``≠`` and highlighted. ``d`` shows only those: the rows that differ by
construction (ids, paths, times) are left out then, and shown dimmed otherwise. Below, every
session's macro F1 per evaluation in one chart, its legend above it, outside the plot. The view
is read again whenever the watcher reports a change of one of the sessions' files.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
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
from textual.widgets import Label, Static

from engine.comparison import ComparedRow, ComparedSession, Comparison
from engine.facade import Engine
from engine.watcher import SessionChanges
from llmtool_tui.screens.detail import detail_value
from llmtool_tui.untrusted import literal, visible
from llmtool_tui.widgets.f1_chart import MAX_SERIES, ChartSeries, F1Chart
from llmtool_tui.widgets.footer import Footer

TITLE = "Compare Sessions"
CHART_TITLE = "Macro F1 by evaluation"
#: The widest the parameter names get before they wrap: the sessions' values need the room.
PARAMETER_WIDTH = 24
NO_CURVES = "No evaluation recorded yet: the curves appear once the sessions have evaluated."


def comparison_table(
    sessions: Sequence[ComparedSession],
    results: Sequence[ComparedRow],
    parameters: Sequence[ComparedRow],
    *,
    color: bool = True,
) -> Table:
    """Results then parameters, a column per session; ``≠`` and a highlight where they differ.

    In the results, the best score of each row is shown in bold (green in colour); identity
    rows are dimmed. Session ids, values and class names come from the sessions' files: they
    are escaped.
    """
    differs_style = "bold yellow" if color else "bold"
    best_style = "bold green" if color else "bold underline"
    table = Table(box=box.SQUARE, expand=True, pad_edge=True)
    table.add_column("Parameter", style="bold", max_width=PARAMETER_WIDTH, overflow="fold")
    for session in sessions:
        table.add_column(literal(session.label), overflow="fold", ratio=1)

    def name_cell(row: ComparedRow) -> Text:
        return literal(f"≠ {row.name}" if row.differs else f"  {row.name}")

    for position, row in enumerate(results):
        top = row.top
        scores = row.scores or (None,) * len(row.values)
        table.add_row(
            name_cell(row),
            *(
                Text(value, style=best_style if top is not None and score == top else "")
                for value, score in zip(row.values, scores, strict=True)
            ),
            end_section=position == len(results) - 1,
        )
    for row in parameters:
        style = differs_style if row.differs else "dim" if row.identity else ""
        table.add_row(
            name_cell(row), *(detail_value(row.name, value, style) for value in row.values)
        )
    return table


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
        self.comparison: Comparison | None = None

    def compose(self) -> ComposeResult:
        yield Label(TITLE, classes="screen-title")
        yield Static("Reading the sessions…", id="compare-status", classes="status-line")
        with VerticalScroll(id="compare-scroll"):
            yield Static(id="compare-table")
        yield Static(CHART_TITLE, id="compare-chart-title", classes="section-title")
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
        self.comparison = await asyncio.to_thread(self.engine.compare, self.paths)
        self._show()

    def watch_differences_only(self) -> None:
        self._show()
        self.refresh_bindings()

    def _show(self) -> None:
        comparison = self.comparison
        if comparison is None:
            return
        shown = comparison.shown
        parameters = comparison.differing if self.differences_only else comparison.parameters
        self.query_one("#compare-table", Static).update(
            comparison_table(shown, comparison.results, parameters, color=not self.app.no_color)
            if shown
            else Text("None of the sessions can be read.")
        )
        chart = self.query_one(F1Chart)
        chart.show_series(
            [ChartSeries(curve.label, curve.points) for curve in comparison.curves],
            x_label=comparison.x_axis,
        )
        title = Text(CHART_TITLE)
        if chart.series:
            title.append("  ").append_text(chart.legend(color=not self.app.no_color))
        self.query_one("#compare-chart-title", Static).update(title)
        status = Text(
            f"{len(shown)} sessions · {len(comparison.differing)} of"
            f" {len(comparison.comparable)} parameters differ (≠)"
        )
        if len(comparison.curves) > MAX_SERIES:
            status.append(f" · first {MAX_SERIES} of {len(comparison.curves)} curves drawn")
        for session in comparison.sessions:
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
