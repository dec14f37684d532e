"""A terminal line chart of F1 scores: the compare view's curves and the performance chart.

Drawn by textual-plotext (plotext's figures as a Textual widget, working with Textual 8). Each
series is a braille line through its points plus a marker of its own at each point: series stay
apart without colour (NO_COLOR, a monochrome terminal). The markers are named outside the plot
(``legend()``, or a table beside it): plotext draws its legend inside the plot, over the points
of its top left corner. Every tick is placed here, with a label of its own: plotext's own x
labels may repeat (1.00 1.00 2.00 on a narrow axis, a date twice when ticks fall on one day).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.app import RenderResult
from textual_plotext import PlotextPlot

from llmtool_tui.untrusted import visible

#: One marker and one colour per series, in order; a chart never shows more series than this.
MARKERS = ("●", "▲", "■", "◆", "✚", "★", "○", "△")
COLORS = ("cyan+", "orange+", "magenta+", "green+", "red+", "blue+", "yellow+", "white")
#: The same colours as Rich names them, for the legend.
LEGEND_COLORS = (
    "bright_cyan",
    "dark_orange",
    "bright_magenta",
    "bright_green",
    "bright_red",
    "bright_blue",
    "bright_yellow",
    "white",
)
MAX_SERIES = len(MARKERS)
#: F1 axes snap to this step, so that a small difference between curves is not blown up to the
#: whole height by a range that starts at the lowest point.
Y_STEP = 0.05
X_TICKS = 5
#: Steps of a numeric x axis (times a power of ten): ticks on round values.
X_TICK_STEPS = (1.0, 2.0, 2.5, 5.0)
#: Columns an x tick label gets at least, the space between labels included.
X_TICK_COLUMNS = 12
#: F1 ticks fall on multiples of the first of these steps that gives at most MAX_Y_TICKS
#: intervals (plotext's own ticks fall on values such as 0.742).
Y_TICK_STEPS = (0.05, 0.1, 0.2, 0.25, 0.5)
MAX_Y_TICKS = 6
#: Rows of the widget that are not plot rows: the frame's two borders, the x tick labels and the
#: x label.
FRAME_ROWS = 4


@dataclass(frozen=True)
class ChartSeries:
    """One line of the chart."""

    label: str
    """What the legend calls it (a session id, a dataset or a model name: escaped when drawn)."""
    points: tuple[tuple[float, float], ...]
    """(x, F1) pairs, in x order."""


def marker_of(position: int) -> str:
    """The marker of the series at ``position``, as the legend and the tables beside it show it."""
    return MARKERS[position % MAX_SERIES]


def f1_range(values: Sequence[float]) -> tuple[float, float]:
    """An F1 axis around ``values``: steps of Y_STEP, within [0, 1], never empty."""
    low = max(0.0, math.floor((min(values) - Y_STEP / 2) / Y_STEP) * Y_STEP)
    high = min(1.0, math.ceil((max(values) + Y_STEP / 2) / Y_STEP) * Y_STEP)
    return round(low, 2), round(max(high, low + Y_STEP), 2)


def f1_ticks(low: float, high: float, max_intervals: int = MAX_Y_TICKS) -> list[float]:
    """Round F1 values from ``low`` to ``high``, at most ``max_intervals`` intervals apart."""
    step = next(
        (step for step in Y_TICK_STEPS if (high - low) / step <= max_intervals), Y_TICK_STEPS[-1]
    )
    first = math.ceil(round(low / step, 6)) * step
    count = math.floor(round((high - first) / step, 6)) + 1
    return [round(first + i * step, 2) for i in range(count)]


def tick_positions(low: float, high: float, count: int = X_TICKS) -> list[float]:
    """``count`` evenly spaced positions from ``low`` to ``high`` (one when they are equal)."""
    if high <= low:
        return [low]
    return [low + (high - low) * i / (count - 1) for i in range(count)]


def numeric_ticks(
    low: float, high: float, max_intervals: int = X_TICKS - 1, *, integers: bool = False
) -> list[float]:
    """Round values from ``low`` to ``high``, at most ``max_intervals`` apart; whole numbers
    only when ``integers`` (epochs and steps that are all whole: no tick at epoch 1.5)."""
    if high <= low:
        return [low]
    magnitude = 10 ** math.floor(math.log10((high - low) / max(1, max_intervals)))
    steps = [base * magnitude * scale for scale in (1, 10) for base in X_TICK_STEPS]
    step = next(
        (
            step
            for step in steps
            if (high - low) / step <= max_intervals and (not integers or step.is_integer())
        ),
        steps[-1],
    )
    first = math.ceil(round(low / step, 6)) * step
    count = math.floor(round((high - first) / step, 6)) + 1
    return [round(first + i * step, 6) for i in range(count)]


def distinct_ticks(
    positions: Sequence[float], label: Callable[[float], str]
) -> tuple[list[float], list[str]]:
    """The positions and their labels, each label once (the first position that has it)."""
    kept: dict[str, float] = {}
    for position in positions:
        kept.setdefault(label(position), position)
    return list(kept.values()), list(kept)


def number_label(value: float) -> str:
    """A tick value as short as it is exact: ``2``, ``2.5``, ``1e+04``."""
    return f"{value:g}"


class F1Chart(PlotextPlot):
    """F1 (y) against evaluations or time (x); a message instead when there is nothing to plot."""

    DEFAULT_CSS = """
    F1Chart {
        height: 1fr;
        min-height: 8;
    }
    F1Chart.-empty {
        color: $text-muted;
        padding: 1 2;
    }
    """

    def __init__(self, empty_message: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.empty_message = empty_message
        self.series: tuple[ChartSeries, ...] = ()
        self.y_range = (0.0, 1.0)
        """The F1 axis drawn (see f1_range)."""
        self.x_range = (0.0, 1.0)
        """The lowest and highest x of the points drawn."""
        self.x_tick_label: Callable[[float], str] | None = None
        self.x_integers = False
        """Whether every x is a whole number (ticks then fall on whole numbers)."""
        self.add_class("-empty")

    def show_series(
        self,
        series: Sequence[ChartSeries],
        *,
        x_label: str,
        x_tick_label: Callable[[float], str] | None = None,
        empty_message: str | None = None,
    ) -> None:
        """Draw ``series`` (at most MAX_SERIES, the others are left out).

        Args:
            series: the lines; those without points are left out.
            x_label: what the x axis counts.
            x_tick_label: labels of the x ticks (dates); plotext's numbers when None.
            empty_message: shown instead of the chart when no series has a point.
        """
        if empty_message is not None:
            self.empty_message = empty_message
        self.series = tuple(line for line in series if line.points)[:MAX_SERIES]
        self.set_class(not self.series, "-empty")
        plt = self.plt
        plt.clear_figure()
        if self.series:
            self._draw(x_label, x_tick_label)
        self.refresh()

    def _draw(self, x_label: str, x_tick_label: Callable[[float], str] | None) -> None:
        plt = self.plt
        xs = [x for line in self.series for x, _ in line.points]
        ys = [y for line in self.series for _, y in line.points]
        # Lines first, markers after: a marker is never overdrawn by another series' line.
        # No plotext label: its legend would cover the points of the top left corner.
        for position, line in enumerate(self.series):
            plt.plot(*zip(*line.points, strict=True), marker="braille", color=COLORS[position])
        for position, line in enumerate(self.series):
            plt.scatter(
                *zip(*line.points, strict=True), marker=marker_of(position), color=COLORS[position]
            )
        low, high = min(xs), max(xs)
        if low == high:
            # A single x: plotext would stretch one point over an absurd range.
            plt.xlim(low - 1, high + 1)
        else:
            plt.xlim(low, high)
        self.y_range = self.y_axis(ys)
        plt.ylim(*self.y_range)
        self.x_range = (low, high)
        self.x_tick_label = x_tick_label
        self.x_integers = all(x.is_integer() for x in xs)
        plt.xlabel(x_label)

    def y_axis(self, values: Sequence[float]) -> tuple[float, float]:
        """The y range drawn for ``values`` (an F1 axis; the loss chart overrides it)."""
        return f1_range(values)

    def y_ticks(self, rows: int) -> tuple[list[float], list[str]]:
        """The y ticks and their labels for a plot ``rows`` rows high."""
        # plotext puts each tick on its nearest row, and two ticks on one row show either label
        # (0.80 in one run, 0.85 in the next): one every other row at most.
        ticks = f1_ticks(*self.y_range, max_intervals=max(1, min(MAX_Y_TICKS, rows // 2)))
        return ticks, [f"{tick:.2f}" for tick in ticks]

    def x_ticks(self, width: int) -> tuple[list[float], list[str]]:
        """The x ticks for a chart ``width`` columns wide, each label once."""
        low, high = self.x_range
        most = max(1, min(X_TICKS - 1, width // X_TICK_COLUMNS))
        if self.x_tick_label is not None:
            return distinct_ticks(tick_positions(low, high, most + 1), self.x_tick_label)
        positions = numeric_ticks(low, high, most, integers=self.x_integers)
        return distinct_ticks(positions, number_label)

    def legend(self, *, color: bool = True) -> Text:
        """Each series' marker and label, to show beside the chart (labels escaped)."""
        legend = Text()
        for position, line in enumerate(self.series):
            if position:
                legend.append("  ")
            style = LEGEND_COLORS[position] if color else ""
            legend.append(marker_of(position), style=style)
            legend.append(" ")
            legend.append_text(Text(visible(line.label)))
        return legend

    def render(self) -> RenderResult:
        if not self.series:
            return Text(self.empty_message)
        self.plt.yticks(*self.y_ticks(self.size.height - FRAME_ROWS))
        self.plt.xticks(*self.x_ticks(self.size.width))
        return super().render()
