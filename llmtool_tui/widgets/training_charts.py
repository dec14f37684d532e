"""A run's curves in the live view: training loss and validation macro F1 against steps.

One line per model in benchmark mode, per label in distributed mode. A run logs up to millions of
steps; the losses kept stay bounded (MAX_POINTS, neighbours merged as more arrive), and each
redraw averages them into one point per column of the chart and smooths them, so the curve is
the trend, not the noise of single batches.

The charts are mounted with the first curve: plotext's import costs about 0.2 s, which the live
view's first frame (where the run stands) does not wait for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from engine.evaluations import VALIDATION
from engine.progress import EvaluationDone, ModelStarted, ProgressEvent, StepLogged
from engine.rows import short_model_name

#: Losses kept per model; past this, neighbouring points are merged two by two.
MAX_POINTS = 2048
#: TensorBoard's default smoothing weight: each drawn point is 60% the trend before it.
SMOOTHING = 0.6
#: Columns of a chart taken by its y tick labels and frame, which hold no point.
Y_LABEL_COLUMNS = 10
#: Below each chart, what it shows (the row of the x label: no row spent on a title).
LOSS_LABEL = "training loss by step"
F1_LABEL = "validation macro F1 by step"
NO_CURVES = "Curves: no training loss logged yet."
NO_LOSS = "No training loss logged yet."
NO_F1 = "No validation macro F1 yet."


class LossCurve:
    """A model's training losses by step, in bounded memory (weighted means of merged points)."""

    def __init__(self) -> None:
        self.points: list[tuple[float, float, int]] = []
        """(step, mean loss, steps merged into it), in the order logged."""

    def add(self, step: int, loss: float) -> None:
        """Take the loss logged at ``step``."""
        if self.points and step <= self.points[-1][0]:
            # A resume logs again from its checkpoint's step: the new losses replace the old.
            self.points = [point for point in self.points if point[0] < step]
        self.points.append((float(step), loss, 1))
        if len(self.points) > MAX_POINTS:
            # An odd count leaves the newest point alone, kept as it is.
            even = len(self.points) // 2 * 2
            merged = [
                _merge(first, second)
                for first, second in zip(self.points[0:even:2], self.points[1:even:2], strict=True)
            ]
            self.points = merged + self.points[even:]

    def drawn(self, columns: int) -> tuple[tuple[float, float], ...]:
        """The curve for a chart ``columns`` wide: one point per column at most, smoothed."""
        return smooth(downsample(self.points, columns))


def _merge(
    first: tuple[float, float, int], second: tuple[float, float, int]
) -> tuple[float, float, int]:
    weight = first[2] + second[2]
    step = (first[0] * first[2] + second[0] * second[2]) / weight
    return step, (first[1] * first[2] + second[1] * second[2]) / weight, weight


def downsample(
    points: Sequence[tuple[float, float, int]], buckets: int
) -> list[tuple[float, float]]:
    """The weighted mean (step, loss) of the points in each of ``buckets`` equal step ranges."""
    if len(points) <= buckets:
        return [(step, loss) for step, loss, _ in points]
    low, high = points[0][0], points[-1][0]
    width = (high - low) / buckets or 1.0
    sums: dict[int, list[float]] = {}
    for step, loss, weight in points:
        total = sums.setdefault(min(buckets - 1, int((step - low) / width)), [0.0, 0.0, 0.0])
        total[0] += step * weight
        total[1] += loss * weight
        total[2] += weight
    return [(total[0] / total[2], total[1] / total[2]) for _, total in sorted(sums.items())]


def smooth(points: Sequence[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    """An exponential moving average of the losses (debiased, as TensorBoard's)."""
    smoothed, trend = [], 0.0
    for count, (step, loss) in enumerate(points, start=1):
        trend = trend * SMOOTHING + loss * (1 - SMOOTHING)
        smoothed.append((step, trend / (1 - SMOOTHING**count)))
    return tuple(smoothed)


class TrainingCharts(Horizontal):
    """Loss and macro F1 side by side, each with its legend above it."""

    DEFAULT_CSS = """
    TrainingCharts {
        height: 9;
    }
    TrainingCharts > Vertical {
        width: 1fr;
        height: 1fr;
        overflow: hidden;
    }
    TrainingCharts .chart-legend {
        height: 1;
        padding: 0 1;
    }
    TrainingCharts LossChart, TrainingCharts F1Chart {
        height: 1fr;
        min-height: 6;
    }
    /* Nothing to draw yet: one row saying so, the others left to the table and the log. */
    TrainingCharts.-empty {
        height: 1;
    }
    TrainingCharts #charts-empty {
        color: $text-muted;
        padding: 0 1;
    }
    """

    def __init__(self, *, color: bool = True, id: str | None = None) -> None:
        super().__init__(id=id)
        self.color = color
        self.losses: dict[str, LossCurve] = {}
        self.f1: dict[str, dict[int, float]] = {}
        self.names: dict[str, str] = {}
        """Each model's legend: its label in distributed mode, else its short name."""
        self.changed = False
        """Whether events arrived since the last drawing."""
        self.charts_mounted = False
        """Whether the charts were mounted (with the first curve)."""
        self.add_class("-empty")

    def compose(self) -> ComposeResult:
        yield Static(NO_CURVES, id="charts-empty")

    async def _mount_charts(self) -> None:
        from llmtool_tui.widgets.f1_chart import F1Chart
        from llmtool_tui.widgets.loss_chart import LossChart

        await self.query_one("#charts-empty").remove()
        await self.mount(
            Vertical(
                Static(id="loss-legend", classes="chart-legend"),
                LossChart(NO_LOSS, id="loss-chart"),
            ),
            Vertical(Static(id="f1-legend", classes="chart-legend"), F1Chart(NO_F1, id="f1-chart")),
        )
        self.remove_class("-empty")
        self.draw()

    def add_events(self, events: Iterable[ProgressEvent]) -> None:
        """Take the steps and validation evaluations of ``events`` (drawn by ``draw``)."""
        for event in events:
            match event:
                case StepLogged(model=model, loss=loss) if loss is not None:
                    self.losses.setdefault(model or "", LossCurve()).add(event.step, loss)
                    self.changed = True
                case EvaluationDone(model=model, macro_f1=f1) if (
                    f1 is not None and event.split == VALIDATION
                ):
                    self.f1.setdefault(model or "", {})[event.step] = f1
                    self.changed = True
                case ModelStarted(model=model, label=label):
                    self.names[model] = label or short_model_name(model)

    def _legend(self, model: str) -> str:
        return self.names.get(model) or short_model_name(model) or "model"

    def draw(self) -> None:
        """Draw the curves taken so far, for the charts' current width."""
        if not (self.losses or self.f1):
            return
        if not self.charts_mounted:
            self.charts_mounted = True
            self.run_worker(self._mount_charts(), group="training-charts")
            return
        if len(self.query("#loss-chart, #f1-chart")) < 2:
            return  # still being mounted: _mount_charts draws them once they are
        self.changed = False
        # Imported here, as they are mounted: see the module docstring.
        from llmtool_tui.widgets.f1_chart import ChartSeries, F1Chart

        loss_chart, f1_chart = (
            self.query_one("#loss-chart", F1Chart),
            self.query_one("#f1-chart", F1Chart),
        )
        columns = max(10, (loss_chart.size.width or 40) - Y_LABEL_COLUMNS)
        loss_chart.show_series(
            [
                ChartSeries(self._legend(model), curve.drawn(columns))
                for model, curve in self.losses.items()
            ],
            x_label=LOSS_LABEL,
        )
        f1_chart.show_series(
            [
                ChartSeries(
                    self._legend(model),
                    tuple((float(step), f1) for step, f1 in sorted(points.items())),
                )
                for model, points in self.f1.items()
            ],
            x_label=F1_LABEL,
        )
        for chart, legend in ((loss_chart, "#loss-legend"), (f1_chart, "#f1-legend")):
            self.query_one(legend, Static).update(chart.legend(color=self.color))

    def on_resize(self) -> None:
        if self.losses or self.f1:
            self.draw()
