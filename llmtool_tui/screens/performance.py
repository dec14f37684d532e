"""Performance: the best F1 of sessions over time, a line per dataset or per model.

Opened with ``g`` from the history; ``g`` here switches between grouping by dataset and by model
(a benchmark counts under its best model). The scores come from ``Engine.session_scores`` in a
thread, and again whenever the watcher reports a change. Sessions without a result (running,
failed, pending) are counted but not drawn. The table under the chart repeats each line's marker
with its numbers, so the chart reads without colour.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import ClassVar, Literal

from rich import box
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import Screen
from textual.signal import Signal
from textual.widgets import Label, Static

from engine.evaluations import SessionScore
from engine.facade import Engine
from engine.watcher import SessionChanges
from llmtool_tui.untrusted import literal
from llmtool_tui.widgets.evaluations_table import format_metric
from llmtool_tui.widgets.f1_chart import MAX_SERIES, ChartSeries, F1Chart, marker_of
from llmtool_tui.widgets.footer import Footer

TITLE = "Best F1 over time"
NO_RESULTS = "No session has a result yet: completed sessions appear here with their best F1."
Grouping = Literal["dataset", "model"]
#: Below this many days between the first and the last session, x ticks show the time too.
DAYS_FOR_DATE_TICKS = 3


@dataclass(frozen=True)
class ScoreGroup:
    """The sessions of one dataset (or model) that have a result, oldest first."""

    name: str
    scores: tuple[SessionScore, ...]

    @property
    def best(self) -> float:
        """The highest best F1 of the group."""
        return max(score.best_f1 or 0.0 for score in self.scores)

    @property
    def latest(self) -> float:
        """The best F1 of the group's newest session."""
        return self.scores[-1].best_f1 or 0.0


def group_scores(scores: Sequence[SessionScore], by: Grouping) -> list[ScoreGroup]:
    """Sessions with a result, grouped; the groups with the most sessions first."""
    groups: dict[str, list[SessionScore]] = {}
    for score in scores:
        if score.best_f1 is not None:
            groups.setdefault(getattr(score, by), []).append(score)
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0].casefold()))
    return [ScoreGroup(name, tuple(members)) for name, members in ordered]


def day_number(moment: datetime) -> float:
    """A date and time as days (proleptic ordinal), the chart's x."""
    return moment.toordinal() + (moment.hour * 60 + moment.minute) / 1440


def day_label(with_time: bool) -> Callable[[float], str]:
    """Tick labels of the x axis: dates, with the time when the sessions span a few days."""

    def label(position: float) -> str:
        day = date.fromordinal(int(position))
        if not with_time:
            return day.isoformat()
        minutes = round((position - int(position)) * 1440)
        return f"{day:%m-%d} {minutes // 60:02d}:{minutes % 60:02d}"

    return label


def groups_table(groups: Sequence[ScoreGroup], by: Grouping) -> Table:
    """Each drawn group with its marker, number of sessions, best and latest F1."""
    table = Table(box=box.SIMPLE_HEAD, expand=True, pad_edge=False)
    table.add_column("", no_wrap=True)
    table.add_column(by.capitalize(), ratio=1, overflow="ellipsis", no_wrap=True)
    table.add_column("Sessions", justify="right")
    table.add_column("Best F1", justify="right")
    table.add_column("Latest F1", justify="right")
    for position, group in enumerate(groups[:MAX_SERIES]):
        table.add_row(
            marker_of(position),
            literal(group.name),  # a dataset's or a model's name, from the session files
            str(len(group.scores)),
            format_metric(group.best),
            format_metric(group.latest),
        )
    return table


class PerformanceScreen(Screen[None]):
    """The best F1 of sessions over time."""

    SUB_TITLE = "Best F1 over time"

    BINDINGS: ClassVar[list[BindingType]] = [
        # One key, two actions: check_action shows the one that applies.
        Binding("g", "group_by('model')", "Group by model"),
        Binding("g", "group_by('dataset')", "Group by dataset"),
        Binding("escape", "back", "Back"),
    ]

    grouping: reactive[Grouping] = reactive[Grouping]("dataset", init=False)
    """What a line of the chart is: a dataset or a model."""

    def __init__(self, engine: Engine, sessions_changed: Signal[SessionChanges]) -> None:
        super().__init__()
        self.engine = engine
        self.sessions_changed = sessions_changed
        self.scores: list[SessionScore] | None = None

    def compose(self) -> ComposeResult:
        yield Label(self._title(), id="performance-title", classes="screen-title")
        yield Static("Reading the sessions…", id="performance-status", classes="status-line")
        yield F1Chart(NO_RESULTS, id="performance-chart")
        yield Static(id="performance-groups")
        yield Footer()

    def on_mount(self) -> None:
        self.sessions_changed.subscribe(self, self._sessions_changed)
        self.load()

    def _sessions_changed(self, changes: SessionChanges) -> None:
        self.load()

    @work(group="performance-load", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        """Read every session's best F1 again (in a thread) and draw them."""
        self.scores = await asyncio.to_thread(self.engine.session_scores)
        self._show()

    def _title(self) -> str:
        return f"{TITLE}, by {self.grouping}"

    def watch_grouping(self) -> None:
        self.query_one("#performance-title", Label).update(self._title())
        self._show()
        self.refresh_bindings()

    def _show(self) -> None:
        scores = self.scores
        if scores is None:
            return
        groups = group_scores(scores, self.grouping)
        series = [
            ChartSeries(
                group.name,
                tuple((day_number(s.created), s.best_f1 or 0.0) for s in group.scores),
            )
            for group in groups
        ]
        xs = [x for line in series[:MAX_SERIES] for x, _ in line.points]
        with_time = bool(xs) and max(xs) - min(xs) < DAYS_FOR_DATE_TICKS
        self.query_one(F1Chart).show_series(
            series, x_label="session date", x_tick_label=day_label(with_time)
        )
        self.query_one("#performance-groups", Static).update(
            groups_table(groups, self.grouping) if groups else ""
        )
        with_result = sum(len(group.scores) for group in groups)
        status = f"{with_result} of {len(scores)} sessions have a result"
        if len(groups) > MAX_SERIES:
            status += f" · the {MAX_SERIES} {self.grouping}s with most sessions of {len(groups)}"
        self.query_one("#performance-status", Static).update(Text(status))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "group_by":
            return parameters[0] != self.grouping
        return True

    def action_group_by(self, grouping: Grouping) -> None:
        """Draw a line per dataset or per model."""
        self.grouping = grouping

    def action_back(self) -> None:
        """Back to the history."""
        self.app.pop_screen()
