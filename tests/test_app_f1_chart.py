"""The F1 chart widget: axes that keep small differences visible, markers, the empty message."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult

from llmtool_tui.widgets import ChartSeries, F1Chart
from llmtool_tui.widgets.f1_chart import (
    MARKERS,
    MAX_SERIES,
    distinct_ticks,
    f1_range,
    f1_ticks,
    numeric_ticks,
    tick_positions,
)


class ChartApp(App[None]):
    def compose(self) -> ComposeResult:
        yield F1Chart("Nothing to draw yet.")


def test_the_f1_axis_hugs_the_values_in_round_steps() -> None:
    assert f1_range([0.81, 0.89]) == (0.75, 0.95)
    assert f1_range([0.0]) == (0.0, 0.05)
    assert f1_range([1.0, 0.99]) == (0.95, 1.0)
    assert f1_ticks(0.75, 0.95) == [0.75, 0.8, 0.85, 0.9, 0.95]
    assert f1_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert f1_ticks(0.35, 0.95) == [0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    assert tick_positions(1.0, 3.0, count=3) == [1.0, 2.0, 3.0]
    assert tick_positions(2.0, 2.0) == [2.0]


async def test_series_are_drawn_with_a_marker_each_and_labelled() -> None:
    app = ChartApp()
    async with app.run_test(size=(80, 20)) as pilot:
        chart = app.query_one(F1Chart)
        assert str(chart.render()) == "Nothing to draw yet."
        assert chart.has_class("-empty")
        chart.show_series(
            [
                ChartSeries("first", ((1.0, 0.7), (2.0, 0.8))),
                ChartSeries("empty", ()),
                ChartSeries("second", ((1.0, 0.75),)),
            ],
            x_label="epoch",
            x_tick_label=lambda x: f"e{x:g}",
        )
        await pilot.pause()
        assert [line.label for line in chart.series] == ["first", "second"]
        assert not chart.has_class("-empty")
        drawn = chart.render()
        assert isinstance(drawn, Text)
        text = drawn.plain
        assert MARKERS[0] in text and MARKERS[1] in text
        assert "e1" in text and "e2" in text
        assert "0.80" in text and "epoch" in text
        # The legend is not drawn in the plot, where it would cover the top left points: the
        # screen shows it beside the chart.
        assert "first" not in text and "second" not in text
        assert chart.legend(color=False).plain == f"{MARKERS[0]} first  {MARKERS[1]} second"

        chart.show_series([], x_label="epoch", empty_message="No evaluation yet.")
        assert str(chart.render()) == "No evaluation yet."


async def test_a_chart_draws_at_most_as_many_series_as_it_has_markers() -> None:
    app = ChartApp()
    async with app.run_test(size=(80, 20)):
        chart = app.query_one(F1Chart)
        many = [ChartSeries(f"s{i}", ((float(i), 0.5),)) for i in range(MAX_SERIES + 3)]
        chart.show_series(many, x_label="step")
        assert len(chart.series) == MAX_SERIES


async def test_a_short_chart_has_fewer_ticks_and_never_two_on_one_row() -> None:
    # Seven ticks (0.65 to 0.95 by 0.05) on a plot of six rows: two would share a row and either
    # label would show. The compare view at 80x24 has such a chart.
    assert f1_ticks(0.65, 0.95, max_intervals=3) == [0.7, 0.8, 0.9]
    app = ChartApp()
    async with app.run_test(size=(80, 10)) as pilot:
        chart = app.query_one(F1Chart)
        chart.show_series([ChartSeries("a", ((1.0, 0.68), (3.0, 0.91)))], x_label="epoch")
        await pilot.pause()
        assert chart.size.height == 10
        rows = chart.render().plain.splitlines()
        labels = [row.split("┤")[0].strip() for row in rows if "┤" in row]
        assert labels == ["0.90", "0.80", "0.70"]


def x_labels(chart: F1Chart) -> list[str]:
    """The x tick labels as drawn: the row under the plot's bottom edge."""
    rows = chart.render().plain.splitlines()
    bottom = next(i for i, row in enumerate(rows) if "└" in row)
    return rows[bottom + 1].split()


def test_x_ticks_fall_on_round_values_each_once() -> None:
    assert numeric_ticks(1.0, 3.0, 4, integers=True) == [1.0, 2.0, 3.0]
    assert numeric_ticks(1.0, 3.0, 4) == [1.0, 1.5, 2.0, 2.5, 3.0]
    assert numeric_ticks(10.0, 240.0, 5, integers=True) == [50.0, 100.0, 150.0, 200.0]
    assert numeric_ticks(5.0, 5.0) == [5.0]
    # Two positions on one day: the date once.
    assert distinct_ticks([0.0, 0.4, 1.0], lambda x: "2025-10-05" if x < 1 else "2025-10-06") == (
        [0.0, 1.0],
        ["2025-10-05", "2025-10-06"],
    )


async def test_no_tick_label_is_drawn_twice() -> None:
    app = ChartApp()
    async with app.run_test(size=(40, 12)) as pilot:
        chart = app.query_one(F1Chart)
        # Two epochs on a narrow chart: plotext's own labels would be 1.00 1.00 2.00 2.00.
        chart.show_series([ChartSeries("a", ((1.0, 0.7), (2.0, 0.8)))], x_label="epoch")
        await pilot.pause()
        assert x_labels(chart) == ["1", "2"]
        # Sessions of one day on a date axis: the day once.
        chart.show_series(
            [ChartSeries("a", ((0.0, 0.7), (0.3, 0.8)))],
            x_label="session date",
            x_tick_label=lambda x: "2025-10-05",
        )
        await pilot.pause()
        assert x_labels(chart) == ["2025-10-05"]
