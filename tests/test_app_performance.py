"""The performance chart: best F1 of sessions over time, by dataset or by model."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from textual.widgets import Label, Static

from engine.evaluations import SessionScore
from engine.facade import Engine
from engine.schema import TrainingMetadata
from engine.store import SessionStore
from engine.workspace import Workspace
from llmtool_tui.app import make_app
from llmtool_tui.screens import HistoryScreen, PerformanceScreen
from llmtool_tui.screens.performance import day_label, day_number, group_scores
from llmtool_tui.screenshots import wait_until
from llmtool_tui.widgets import F1Chart
from tests.pilots import open_history, plain, wait_for_screen

BuildMetadata = Callable[..., TrainingMetadata]


def add_result(
    store: SessionStore,
    make_metadata: BuildMetadata,
    timestamp: str,
    best_f1: float | None,
    **fields: str,
) -> None:
    metadata = make_metadata(timestamp=timestamp, status="completed", **fields)
    metadata.execution_status.best_f1 = best_f1
    store.create(metadata)


async def test_g_opens_the_chart_by_dataset_and_g_switches_to_models(
    workspace: Workspace, store: SessionStore, make_metadata: BuildMetadata
) -> None:
    add_result(store, make_metadata, "20260101_100000", 0.70, dataset="/d/debates.csv")
    add_result(store, make_metadata, "20260110_100000", 0.78, dataset="/d/debates.csv",
               model="flaubert")  # fmt: skip
    add_result(store, make_metadata, "20260105_100000", 0.81, dataset="/d/tweets.csv")
    add_result(store, make_metadata, "20260112_100000", None, dataset="/d/tweets.csv")
    async with make_app(Engine(workspace), watch=False).run_test(size=(120, 36)) as pilot:
        await open_history(pilot)
        await pilot.press("g")
        chart_screen = await wait_for_screen(pilot, PerformanceScreen)
        await wait_until(pilot, lambda: chart_screen.scores is not None)
        chart = chart_screen.query_one(F1Chart)
        assert [line.label for line in chart.series] == ["debates.csv", "tweets.csv"]
        debates = chart.series[0].points
        assert [f1 for _, f1 in debates] == [0.70, 0.78]
        assert debates[0][0] == day_number(datetime(2026, 1, 1, 10, 0))
        assert "3 of 4 sessions have a result" in str(
            chart_screen.query_one("#performance-status", Static).render()
        )
        groups = plain(chart_screen.query_one("#performance-groups", Static).content)
        assert "debates.csv" in groups
        assert "0.780" in groups
        assert chart_screen.check_action("group_by", ("model",)) is True
        assert chart_screen.check_action("group_by", ("dataset",)) is False

        await pilot.press("g")
        assert chart_screen.grouping == "model"
        title = str(chart_screen.query_one("#performance-title", Label).render())
        assert title == "Best F1 over time, by model"
        assert [line.label for line in chart.series] == ["camembert-base", "flaubert"]
        await pilot.press("g")
        assert chart_screen.grouping == "dataset"
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, HistoryScreen)


async def test_a_workspace_without_results_says_so(
    workspace: Workspace, store: SessionStore, make_metadata: BuildMetadata
) -> None:
    add_result(store, make_metadata, "20260101_100000", None)
    async with make_app(Engine(workspace), watch=False).run_test(size=(80, 24)) as pilot:
        await open_history(pilot)
        await pilot.press("g")
        chart_screen = await wait_for_screen(pilot, PerformanceScreen)
        await wait_until(pilot, lambda: chart_screen.scores is not None)
        chart = chart_screen.query_one(F1Chart)
        assert chart.series == ()
        assert str(chart.render()).startswith("No session has a result yet")
        assert "0 of 1 sessions have a result" in str(
            chart_screen.query_one("#performance-status", Static).render()
        )


def test_groups_put_the_busiest_first_and_skip_sessions_without_result() -> None:
    def score(session_id: str, dataset: str, best_f1: float | None, day: int) -> SessionScore:
        return SessionScore(session_id, datetime(2026, 1, day), dataset, "m", best_f1)

    groups = group_scores(
        [
            score("a", "b.csv", 0.5, 1),
            score("b", "a.csv", 0.6, 2),
            score("c", "b.csv", 0.7, 3),
            score("d", "c.csv", None, 4),
        ],
        "dataset",
    )
    assert [(group.name, len(group.scores)) for group in groups] == [("b.csv", 2), ("a.csv", 1)]
    assert (groups[0].best, groups[0].latest) == (0.7, 0.7)


def test_tick_labels_are_dates_or_times() -> None:
    moment = day_number(datetime(2026, 1, 2, 13, 30))
    assert day_label(False)(moment) == date(2026, 1, 2).isoformat()
    assert day_label(True)(moment) == "01-02 13:30"
