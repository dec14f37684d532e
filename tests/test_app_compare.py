"""Marking sessions in the history and comparing them: parameters, F1 results, F1 curves."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Static

from engine.comparison import ComparedSession, f1_curves, result_rows
from engine.facade import Engine
from engine.progress import EvaluationDone, ProgressWriter
from engine.schema import TrainingMetadata
from engine.store import SessionStore
from engine.workspace import Workspace
from llmtool_tui.app import StudioApp, make_app
from llmtool_tui.commands import SessionCommands
from llmtool_tui.screens import CompareScreen, HistoryScreen, OptionsScreen
from llmtool_tui.screenshots import wait_until
from llmtool_tui.widgets import F1Chart, SessionTable
from tests.pilots import open_history, plain, wait_for_screen

BuildMetadata = Callable[..., TrainingMetadata]


def write_evaluations(engine: Engine, session_id: str, *events: EvaluationDone) -> None:
    writer = ProgressWriter(engine.progress_path(session_id))
    try:
        for event in events:
            writer.write(event)
    finally:
        writer.close()


@pytest.fixture
def engine(workspace: Workspace) -> Engine:
    return Engine(workspace)


@pytest.fixture
def sessions(store: SessionStore, make_metadata: BuildMetadata, engine: Engine) -> list[Path]:
    """Three completed sessions, newest first; the first two evaluated each epoch."""
    base = time.time() - 1000
    paths = []
    for offset, (timestamp, epochs, best_f1) in enumerate(
        [("20251005_120000", 3, 0.84), ("20251004_120000", 5, 0.79), ("20251003_120000", 3, None)]
    ):
        metadata = make_metadata(timestamp=timestamp, status="completed")
        metadata.training_model_config.epochs = epochs
        metadata.execution_status.best_f1 = best_f1
        path = store.create(metadata)
        os.utime(path, (base - offset, base - offset))
        paths.append(path)
    write_evaluations(
        engine, "train_20251005_120000",
        EvaluationDone(model="camembert-base", step=10, epoch=1.0, macro_f1=0.7,
                       per_class_f1={"positive": 0.8, "negative": 0.6}),
        EvaluationDone(model="camembert-base", step=20, epoch=2.0, macro_f1=0.84,
                       per_class_f1={"positive": 0.9, "negative": 0.78}),
    )  # fmt: skip
    write_evaluations(
        engine, "train_20251004_120000",
        EvaluationDone(model="camembert-base", step=10, epoch=1.0, macro_f1=0.79,
                       per_class_f1={"positive": 0.81, "negative": 0.77}),
    )  # fmt: skip
    return paths


def app_for(engine: Engine) -> StudioApp:
    return make_app(engine, watch=False)


def table_of(history: HistoryScreen) -> SessionTable:
    return history.query_one(SessionTable)


def status_of(screen: CompareScreen | HistoryScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_space_marks_rows_and_c_compares_them(engine: Engine, sessions: list[Path]) -> None:
    async with app_for(engine).run_test(size=(120, 36)) as pilot:
        history = await open_history(pilot)
        table = table_of(history)
        # Compare is dimmed in the footer (and pressing c does nothing) before two sessions
        # are marked.
        assert history.check_action("compare", ()) is None
        assert not history.active_bindings["c"].enabled
        await pilot.press("c")
        assert pilot.app.screen is history
        await pilot.press("space")
        assert table.marked == {str(sessions[0])}
        assert "1 marked · mark another to compare" in status_of(history, "#history-status")
        # Marking moves to the next row, so space again marks the second session.
        await pilot.press("space")
        assert table.marked == {str(sessions[0]), str(sessions[1])}
        assert "2 marked · c compares" in status_of(history, "#history-status")
        assert history.check_action("compare", ()) is True
        index_cell = table.get_cell(str(sessions[0]), "index").__rich__()
        assert index_cell.plain == "● 1"
        # Unmarking: back on the first row, space again.
        await pilot.press("up", "up", "space")
        assert table.marked == {str(sessions[1])}
        await pilot.press("up", "space", "c")
        compare = await wait_for_screen(pilot, CompareScreen)
        assert compare.paths == sessions[:2]


async def test_the_compare_view_shows_differences_results_and_curves(
    engine: Engine, sessions: list[Path]
) -> None:
    async with app_for(engine).run_test(size=(120, 36)) as pilot:
        await open_history(pilot)
        await pilot.press("space", "space", "c")
        compare = await wait_for_screen(pilot, CompareScreen)
        await wait_until(pilot, lambda: compare.comparison is not None)
        table = plain(compare.query_one("#compare-table", Static).content)
        assert "train_20251005_120000" in table
        assert "≠ Epochs" in table
        assert "  Batch Size" in table
        assert "≠ Best F1" in table
        assert "epoch 2 · step 20" in table
        assert "≠ F1 positive" in table
        # The results come first, before any parameter.
        assert table.index("Best F1") < table.index("F1 positive") < table.index("Timestamp")
        # Ids and times differ by construction: shown, never counted nor marked as differences.
        assert "  Session ID" in table and "≠ Session ID" not in table
        assert "  Timestamp" in table
        status = status_of(compare, "#compare-status")
        assert status.startswith("2 sessions · 1 of ")
        assert "parameters differ (≠)" in status
        chart = compare.query_one(F1Chart)
        assert [series.label for series in chart.series] == [
            "train_20251005_120000",
            "train_20251004_120000",
        ]
        assert chart.series[0].points == ((1.0, 0.7), (2.0, 0.84))
        # The legend is above the chart, outside the plot, where it covers no point.
        title = status_of(compare, "#compare-chart-title")
        assert title == "Macro F1 by evaluation  ● train_20251005_120000  ▲ train_20251004_120000"
        assert "train_20251005_120000" not in chart.render().plain

        # Differences only: the rows that are the same go, and those that always differ too;
        # the results stay. d brings every row back.
        assert compare.check_action("differences_only", (True,)) is True
        await pilot.press("d")
        assert compare.differences_only
        table = plain(compare.query_one("#compare-table", Static).content)
        assert "≠ Epochs" in table
        assert "Batch Size" not in table
        for always_differs in ("Session ID", "Timestamp", "Run Directory", "Started"):
            assert always_differs not in table
        assert "≠ Best F1" in table and "F1 negative" in table
        assert compare.check_action("differences_only", (True,)) is False
        assert compare.check_action("differences_only", (False,)) is True
        await pilot.press("d")
        assert "Batch Size" in plain(compare.query_one("#compare-table", Static).content)
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, HistoryScreen)


async def test_results_prefer_the_recorded_best_f1_and_mark_the_best_score(
    engine: Engine, sessions: list[Path]
) -> None:
    compared = engine.compare(sessions).sessions
    rows = {row.name: row for row in result_rows(compared)}
    assert rows["Best F1"].values == ("0.840", "0.790", "-")
    assert rows["Best F1"].top == 0.84
    assert rows["F1 negative"].values == ("0.780", "0.770", "-")
    assert rows["Best evaluation"].values == ("epoch 2 · step 20", "epoch 1 · step 10", "-")
    assert rows["Best evaluation"].top is None
    series, x_label = f1_curves(compared)
    assert x_label == "epoch"
    assert len(series) == 2


def test_curves_fall_back_to_steps_and_split_a_benchmark_by_model(engine: Engine) -> None:
    evaluations = [
        EvaluationDone(model="camembert-base", step=100, epoch=1.0, macro_f1=0.6),
        EvaluationDone(model="xlm-roberta-base", step=100, macro_f1=0.65),
        EvaluationDone(model="xlm-roberta-base", step=200, macro_f1=None),
    ]
    session = ComparedSession(Path("train_x.json"), "train_x", evaluations=tuple(evaluations))
    series, x_label = f1_curves([session])
    assert x_label == "step"
    assert [(line.label, line.points) for line in series] == [
        ("train_x camembert-base", ((100.0, 0.6),)),
        ("train_x xlm-roberta-base", ((100.0, 0.65),)),
    ]


async def test_a_session_without_evaluations_and_one_that_vanished(
    engine: Engine, sessions: list[Path]
) -> None:
    async with app_for(engine).run_test(size=(120, 36)) as pilot:
        history = await open_history(pilot)
        await pilot.press("down", "space", "space")
        assert table_of(history).marked == {str(sessions[1]), str(sessions[2])}
        sessions[1].unlink()
        await pilot.press("c")
        compare = await wait_for_screen(pilot, CompareScreen)
        await wait_until(pilot, lambda: compare.comparison is not None)
        status = status_of(compare, "#compare-status")
        assert "training_metadata_20251004_120000.json: file not found" in status
        # The session that never evaluated has no curve: the chart says so.
        chart = compare.query_one(F1Chart)
        assert chart.series == ()
        assert "No evaluation recorded yet" in str(chart.render())


async def test_marks_survive_a_search_and_escape_clears_them(
    engine: Engine, sessions: list[Path]
) -> None:
    async with app_for(engine).run_test(size=(120, 36)) as pilot:
        history = await open_history(pilot)
        table = table_of(history)
        await pilot.press("space", "space")
        await pilot.press("slash", *"20251003")
        await wait_until(
            pilot, lambda: not history.fetching and [r.index for r in table.shown_rows] == [3]
        )
        await pilot.press("enter", "space")
        # Marked while hidden by the search, the first two stay marked.
        assert table.marked == {str(path) for path in sessions}
        assert "3 marked" in status_of(history, "#history-status")
        await pilot.press("escape")
        await wait_until(pilot, lambda: not history.fetching and table.row_count == 3)
        assert len(table.marked) == 3
        await pilot.press("escape")
        assert table.marked == frozenset()
        assert isinstance(pilot.app.screen, HistoryScreen)
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, OptionsScreen)


async def test_an_unreadable_file_cannot_be_marked(engine: Engine, workspace: Workspace) -> None:
    (workspace.sessions_dir / "broken.json").write_text("{", encoding="utf-8")
    async with app_for(engine).run_test(size=(120, 36)) as pilot:
        history = await open_history(pilot)
        await pilot.press("space")
        assert table_of(history).marked == frozenset()


async def test_the_palette_offers_compare_once_two_are_marked(
    engine: Engine, sessions: list[Path]
) -> None:
    async with app_for(engine).run_test(size=(120, 36)) as pilot:
        history = await open_history(pilot)

        async def commands() -> list[str]:
            return [str(hit.text) async for hit in SessionCommands(history).discover()]

        assert "Compare marked sessions" not in await commands()
        assert {"Search sessions", "F1 chart", "Import template"} <= set(await commands())
        assert "Archive old sessions…" in await commands()
        await pilot.press("space", "space")
        assert "Compare marked sessions" in await commands()
        hits = [hit async for hit in SessionCommands(history).search("compare marked")]
        await hits[0].command()
        await wait_for_screen(pilot, CompareScreen)
