"""Session details: the rows, what can be done and why not, the edit form, help and palette."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console
from textual.widgets import Button, Input, Static

from engine.facade import Engine
from engine.progress import EvaluationDone, ProgressWriter
from engine.schema import TrainingMetadata
from engine.store import SessionStore
from engine.workspace import Workspace
from llmtool_tui.app import StudioApp, make_app
from llmtool_tui.commands import SessionCommands
from llmtool_tui.dialogs import RelaunchEditDialog, RelaunchEdits
from llmtool_tui.screens import DetailScreen, HelpScreen
from llmtool_tui.screens.help import keys_table
from llmtool_tui.screenshots import wait_until
from llmtool_tui.widgets import SessionTable
from tests.pilots import open_detail, open_history, wait_for_screen

BuildMetadata = Callable[..., TrainingMetadata]
SPECIFICATION_ROWS = [
    "Timestamp", "Workflow", "Dataset", "Strategy", "Total Samples", "Training Mode", "Model",
    "Epochs", "Batch Size", "Status",
]  # fmt: skip


def plain(renderable: object) -> str:
    """What a Rich renderable shows, as plain text."""
    console = Console(width=200, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def rendered(screen: DetailScreen, selector: str) -> str:
    """The text a Static of ``screen`` shows."""
    return plain(screen.query_one(selector, Static).content)


def app_for(workspace: Workspace) -> StudioApp:
    return make_app(Engine(workspace), watch=False)


async def test_details_show_the_specification_rows_then_everything_else(
    workspace: Workspace, store: SessionStore, make_metadata: BuildMetadata, dataset: Path
) -> None:
    store.create(make_metadata(status="pending", dataset=str(dataset)))
    async with app_for(workspace).run_test(size=(120, 36)) as pilot:
        screen = await open_detail(pilot)
        assert screen.view is not None
        names = [name for name, _ in screen.view.detail_rows()]
        assert names[: len(SPECIFICATION_ROWS)] == SPECIFICATION_ROWS
        table = rendered(screen, "#detail-table")
        for name in [*SPECIFICATION_ROWS, "Dataset Path", "Learning Rate", "Resumable"]:
            assert name in table
        assert "⏸ pending" in table
        actions = rendered(screen, "#detail-actions")
        assert "Action Mode" in actions
        assert "Continue incomplete training" in actions
        assert screen.check_action("resume", ()) is True
        assert screen.check_action("stop", ()) is False


async def test_a_local_model_shows_its_name_in_the_history_and_its_path_in_the_detail(
    workspace: Workspace, store: SessionStore, make_metadata: BuildMetadata, dataset: Path
) -> None:
    local_model = "/home/researcher/experiments/2025/checkpoints/demo-bert/"
    store.create(make_metadata(status="completed", dataset=str(dataset), model=local_model))
    # 80 columns: the model cell has room for 10 characters, where the path would be cut.
    async with app_for(workspace).run_test(size=(80, 24)) as pilot:
        history = await open_history(pilot)
        table = history.query_one(SessionTable)
        (row,) = table.shown_rows
        assert table.get_cell(row.key, "model").__rich__().plain == "demo-bert"
        await pilot.press("1")
        screen = await wait_for_screen(pilot, DetailScreen)
        await wait_until(pilot, lambda: screen.view is not None)
        assert screen.view is not None
        rows = dict(screen.view.detail_rows())
        assert (rows["Model"], rows["Model Path"]) == ("demo-bert", local_model)
        shown = {
            tuple(cell.strip() for cell in line.strip("│").split("│"))
            for line in rendered(screen, "#detail-table").splitlines()
        }
        assert {("Model", "demo-bert"), ("Model Path", local_model)} <= shown


async def test_resume_is_not_offered_for_a_completed_session(
    workspace: Workspace, store: SessionStore, make_metadata: BuildMetadata, dataset: Path
) -> None:
    store.create(make_metadata(status="completed", dataset=str(dataset)))
    async with app_for(workspace).run_test(size=(120, 36)) as pilot:
        screen = await open_detail(pilot)
        assert screen.check_action("resume", ()) is False
        actions = rendered(screen, "#detail-actions")
        assert "not available: session train_20260101_120000 is completed" in actions
        footer_keys = {key for key, active in screen.active_bindings.items()}
        assert "r" not in footer_keys
        assert {"l", "e", "m", "escape"} <= footer_keys


async def test_resume_of_a_session_whose_dataset_moved_is_offered_with_the_reason(
    workspace: Workspace, store: SessionStore, make_metadata: BuildMetadata, tmp_path: Path
) -> None:
    store.create(make_metadata(status="interrupted", dataset=str(tmp_path / "moved.csv")))
    async with app_for(workspace).run_test(size=(120, 36)) as pilot:
        screen = await open_detail(pilot)
        # Offered: r asks where the file is now (tests/test_resume_after_move.py).
        assert screen.check_action("resume", ()) is True
        actions = rendered(screen, "#detail-actions")
        assert "moved.csv not found; press r to give its new location" in actions


async def test_resume_blocked_by_a_missing_model_says_why(
    workspace: Workspace, store: SessionStore, make_metadata: BuildMetadata, dataset: Path
) -> None:
    store.create(
        make_metadata(status="interrupted", dataset=str(dataset), model="/nowhere/tiny-model")
    )
    async with app_for(workspace).run_test(size=(120, 36)) as pilot:
        screen = await open_detail(pilot)
        # Dimmed in the footer (None), with the reason in the panel.
        assert screen.check_action("resume", ()) is None
        actions = rendered(screen, "#detail-actions")
        assert "not available: model directory /nowhere/tiny-model does not exist" in actions


async def test_detail_follows_its_file_when_it_changes(
    workspace: Workspace, store: SessionStore, make_metadata: BuildMetadata, dataset: Path
) -> None:
    path = store.create(make_metadata(status="pending", dataset=str(dataset)))
    async with make_app(Engine(workspace)).run_test(size=(120, 36)) as pilot:
        screen = await open_detail(pilot)

        def fail(metadata: TrainingMetadata) -> None:
            metadata.execution_status.status = "failed"
            metadata.execution_status.error_message = "[bold]boom[/bold]"

        store.update(path, fail)
        await wait_until(pilot, lambda: screen.view is not None and screen.view.status == "failed")
        table = rendered(screen, "#detail-table")
        assert "✗ failed" in table
        assert "[bold]boom[/bold]" in table
        path.unlink()
        await wait_until(pilot, lambda: screen.view is None)
        assert "cannot be read: file not found" in rendered(screen, "#detail-status")
        assert screen.check_action("relaunch", ()) is False


async def test_edit_form_validates_before_it_returns_the_changes(
    workspace: Workspace, make_metadata: BuildMetadata, dataset: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.csv"
    other.write_text("text,label\na,b\n", encoding="utf-8")
    results: list[RelaunchEdits | None] = []
    async with app_for(workspace).run_test(size=(100, 30)) as pilot:
        dialog = RelaunchEditDialog(make_metadata(dataset=str(dataset)))
        pilot.app.push_screen(dialog, results.append)
        await pilot.pause()
        epochs = dialog.query_one("#field-epochs", Input)
        epochs.value = "0"
        await pilot.pause()
        assert "Epochs: Must be a whole number from 1 to 1000." in str(
            dialog.query_one("#relaunch-errors", Static).render()
        )
        dialog.query_one("#field-dataset", Input).value = str(tmp_path / "missing.csv")
        await pilot.click("#relaunch")
        errors = str(dialog.query_one("#relaunch-errors", Static).render())
        assert "missing.csv does not exist" in errors
        assert results == []
        dialog.query_one("#field-dataset", Input).value = str(other)
        epochs.value = "5"
        dialog.query_one("#field-learning_rate", Input).value = "3e-5"
        # A button ignores clicks during its 0.2 s press effect (Textual's Button): wait for the
        # end of the first click's, as a person would.
        relaunch = dialog.query_one("#relaunch", Button)
        await wait_until(pilot, lambda: not relaunch.has_class("-active"))
        await pilot.click("#relaunch")
        await pilot.pause()
    assert results == [
        RelaunchEdits(dataset=other, overrides={"epochs": "5", "learning_rate": "3e-5"})
    ]


async def test_edit_form_turns_several_models_into_a_model_list(
    workspace: Workspace, make_metadata: BuildMetadata, dataset: Path
) -> None:
    results: list[RelaunchEdits | None] = []
    async with app_for(workspace).run_test(size=(100, 30)) as pilot:
        dialog = RelaunchEditDialog(make_metadata(dataset=str(dataset)))
        pilot.app.push_screen(dialog, results.append)
        await pilot.pause()
        dialog.query_one("#field-model", Input).value = "camembert-base, xlm-roberta-base"
        await pilot.pause()
        await pilot.click("#relaunch")
        await pilot.pause()
        pilot.app.push_screen(RelaunchEditDialog(make_metadata()), results.append)
        await pilot.pause()
        await pilot.press("escape")
    assert results == [
        RelaunchEdits(overrides={"models": "camembert-base, xlm-roberta-base"}),
        None,
    ]


async def test_help_lists_the_keys_that_work_here(
    workspace: Workspace, store: SessionStore, make_metadata: BuildMetadata, dataset: Path
) -> None:
    store.create(make_metadata(status="completed", dataset=str(dataset)))
    async with app_for(workspace).run_test(size=(120, 36)) as pilot:
        await open_detail(pilot)
        await pilot.press("question_mark")
        help_screen = pilot.app.screen
        assert isinstance(help_screen, HelpScreen)
        assert help_screen.title_text == "Selected Session Details"
        listed = {
            description for keys in help_screen.sections.values() for _, description, _ in keys
        }
        assert {"Relaunch", "Edit & relaunch", "Live view", "Back", "Help"} <= listed
        assert "Resume" not in listed
        assert "This screen" in plain(keys_table(help_screen.sections))
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, DetailScreen)


async def test_command_palette_offers_what_applies_on_the_screen(
    workspace: Workspace, store: SessionStore, make_metadata: BuildMetadata, dataset: Path
) -> None:
    store.create(make_metadata(status="completed", dataset=str(dataset)))
    async with app_for(workspace).run_test(size=(120, 36)) as pilot:
        screen = await open_detail(pilot)
        provider = SessionCommands(screen)
        names = [hit.text async for hit in provider.discover()]
        assert "Relaunch with edits" in names
        assert "Live view" in names
        assert "Resume session" not in names
        assert "Toggle all sessions" not in names
        hits = [hit async for hit in provider.search("relaunch edits")]
        assert hits and str(hits[0].text) == "Relaunch with edits"
        await hits[0].command()
        await pilot.pause()
        assert isinstance(pilot.app.screen, RelaunchEditDialog)


async def test_enter_submits_the_edit_form_from_any_field(
    workspace: Workspace, make_metadata: BuildMetadata, dataset: Path
) -> None:
    results: list[RelaunchEdits | None] = []
    async with app_for(workspace).run_test(size=(100, 30)) as pilot:
        for field in ("#field-dataset", "#field-batch_size", "#field-seed"):
            dialog = RelaunchEditDialog(make_metadata(dataset=str(dataset)))
            pilot.app.push_screen(dialog, results.append)
            await pilot.pause()
            dialog.query_one(field, Input).focus()
            await pilot.press("enter")  # submitted, nothing changed
            await pilot.pause()
        escaped = RelaunchEditDialog(make_metadata(dataset=str(dataset)))
        pilot.app.push_screen(escaped, results.append)
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
    assert results == [RelaunchEdits(), RelaunchEdits(), RelaunchEdits(), None]


def table_rows(text: str) -> dict[str, str]:
    """Parameter -> value of a rendered two-column table (a value's first line)."""
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
        if len(cells) == 2 and cells[0]:
            rows.setdefault(cells[0], cells[1])
    return rows


def write_evaluations(workspace: Workspace, session_id: str, *events: EvaluationDone) -> None:
    writer = ProgressWriter(Engine(workspace).progress_path(session_id))
    try:
        for event in events:
            writer.write(event)
    finally:
        writer.close()


@pytest.fixture
def paris(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time two hours ahead of UTC in October (CEST)."""
    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("paris")
async def test_a_running_session_shows_its_best_f1_so_far_in_local_times_and_warns(
    workspace: Workspace, store: SessionStore, make_metadata: BuildMetadata, dataset: Path
) -> None:
    metadata = make_metadata(timestamp="20251005_115959", status="running", dataset=str(dataset))
    status = metadata.execution_status
    # Trained on another machine with a fresh heartbeat: running, whatever runs here.
    status.host, status.pid = "gpu-box-1", 4242
    status.last_heartbeat_at = datetime.now(UTC)
    status.started_at = datetime(2025, 10, 5, 10, 0, 0, tzinfo=UTC)
    status.resumed_at = [datetime(2025, 10, 5, 12, 30, 5, tzinfo=UTC)]
    store.create(metadata)
    write_evaluations(
        workspace, "train_20251005_115959",
        EvaluationDone(model="camembert-base", step=10, epoch=1.0, macro_f1=0.71,
                       predicted_counts={"positive": 3, "negative": 5}),
        # The best evaluation predicted one class for all eight texts.
        EvaluationDone(model="camembert-base", step=20, epoch=2.0, macro_f1=0.79,
                       predicted_counts={"positive": 8, "negative": 0}),
        EvaluationDone(model="camembert-base", step=30, epoch=3.0, macro_f1=0.75),
    )  # fmt: skip
    async with app_for(workspace).run_test(size=(120, 36)) as pilot:
        screen = await open_detail(pilot)
        assert screen.view is not None and screen.view.status == "running"
        rows = table_rows(rendered(screen, "#detail-table"))
        assert rows["Timestamp"] == "2025-10-05 11:59:59"
        # Recorded in UTC, shown in local time; a resume keeps "Started" and adds its own row.
        assert rows["Started"] == "2025-10-05 12:00:00"
        assert rows["Resumed At"] == "2025-10-05 14:30:05"
        assert rows["Completed"] == "-"
        assert rows["Best F1"] == "0.79 so far (epoch 2 · step 20)"
        assert rows["Warnings"] == (
            "camembert-base predicted only class positive on the whole validation set"
            " (its best evaluation, epoch 2 · step 20)"
        )
        # A session of one model has no table of models.
        assert not screen.query_one("#detail-models", Static).display


async def test_a_benchmark_shows_its_models_and_how_the_best_was_chosen(
    workspace: Workspace, store: SessionStore, make_metadata: BuildMetadata, dataset: Path
) -> None:
    metadata = make_metadata(status="interrupted", mode="benchmark", dataset=str(dataset))
    metadata.training_model_config.selected_models = [
        "camembert-base", "/models/local/xlm-small", "bert-base-uncased",
    ]  # fmt: skip
    status = metadata.execution_status
    status.models_trained = ["camembert-base"]
    status.current_model = "/models/local/xlm-small"
    status.best_model_choice = "tie on macro F1 0.8000 between a, b: the first model listed won"
    store.create(metadata)
    write_evaluations(
        workspace, metadata.session_id,
        EvaluationDone(model="camembert-base", step=10, epoch=1.0, macro_f1=0.8),
        EvaluationDone(model="camembert-base", step=20, epoch=2.0, macro_f1=0.75),
        EvaluationDone(model="/models/local/xlm-small", step=10, epoch=1.0, macro_f1=0.82),
    )  # fmt: skip
    async with app_for(workspace).run_test(size=(120, 36)) as pilot:
        screen = await open_detail(pilot)
        rows = table_rows(rendered(screen, "#detail-table"))
        assert rows["Best Model Choice"] == status.best_model_choice
        assert rows["Best F1"] == "0.82 so far (xlm-small, epoch 1 · step 10)"
        models = rendered(screen, "#detail-models")
        assert "Models" in models
        lines = [
            [cell.strip() for cell in line.strip().strip("│").split("│")]
            for line in models.splitlines()
            if line.strip().startswith("│")
        ]
        assert lines == [
            ["Model", "Best F1", "Best at", "Status"],
            ["camembert-base", "0.800", "epoch 1 · step 10", "completed"],
            ["xlm-small", "0.820", "epoch 1 · step 10", "interrupted"],
            ["bert-base-uncased", "-", "-", "pending"],
        ]
