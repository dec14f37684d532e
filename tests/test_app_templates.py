"""Templates from the TUI: export from a session's details, import from the history."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, Static

from engine.facade import Engine
from engine.schema import TrainingMetadata
from engine.store import SessionStore
from engine.workspace import Workspace
from llmtool_tui.app import StudioApp, make_app
from llmtool_tui.dialogs import (
    ConfirmDialog,
    ExportTemplateDialog,
    ImportTemplateDialog,
    MessageDialog,
)
from llmtool_tui.screens import DetailScreen, HistoryScreen
from llmtool_tui.screenshots import wait_until
from llmtool_tui.widgets import SessionTable
from tests.pilots import open_detail, open_history, wait_for_screen

BuildMetadata = Callable[..., TrainingMetadata]
SESSION_ID = "train_20260101_120000"


def app_for(workspace: Workspace) -> StudioApp:
    return make_app(Engine(workspace), watch=False)


def error_of(dialog: ExportTemplateDialog | ImportTemplateDialog, selector: str) -> str:
    return str(dialog.query_one(selector, Static).render())


async def export_dialog(pilot: Pilot[None]) -> ExportTemplateDialog:
    await pilot.press("x")
    dialog = await wait_for_screen(pilot, ExportTemplateDialog)
    return dialog


async def test_export_writes_the_template_and_asks_before_replacing_it(
    workspace: Workspace, store: SessionStore, make_metadata: BuildMetadata
) -> None:
    store.create(make_metadata())
    default = workspace.root / f"{SESSION_ID}.template.json"
    async with app_for(workspace).run_test(size=(120, 36)) as pilot:
        detail = await open_detail(pilot)
        dialog = await export_dialog(pilot)
        assert dialog.query_one(Input).value == str(default)
        await pilot.press("enter")
        await wait_until(pilot, lambda: pilot.app.screen is detail)
        document = json.loads(default.read_text(encoding="utf-8"))
        assert document["template"]["exported_from"] == SESSION_ID
        assert "execution_status" not in document

        # Again: the file exists, and is kept unless the user says to replace it.
        default.write_text("{}", encoding="utf-8")
        dialog = await export_dialog(pilot)
        await pilot.press("enter")
        confirm = await wait_for_screen(pilot, ConfirmDialog)
        assert "exists. Replace it" in confirm.body.plain
        await pilot.press("n")
        assert pilot.app.screen is dialog
        assert default.read_text(encoding="utf-8") == "{}"
        await pilot.press("enter")
        await wait_for_screen(pilot, ConfirmDialog)
        await pilot.press("y")
        await wait_until(pilot, lambda: pilot.app.screen is detail)
        assert "template" in json.loads(default.read_text(encoding="utf-8"))


async def test_export_refusals_are_shown_in_the_dialog(
    workspace: Workspace, store: SessionStore, make_metadata: BuildMetadata
) -> None:
    store.create(make_metadata())
    async with app_for(workspace).run_test(size=(120, 36)) as pilot:
        await open_detail(pilot)
        dialog = await export_dialog(pilot)
        field = dialog.query_one(Input)
        field.value = str(workspace.sessions_dir / "t.json")
        await pilot.press("enter")
        await wait_until(pilot, lambda: "as an unreadable" in error_of(dialog, "#export-error"))
        field.value = str(workspace.root / "missing" / "t.json")
        await pilot.press("enter")
        await wait_until(pilot, lambda: "does not exist" in error_of(dialog, "#export-error"))
        field.value = "  "
        await pilot.press("enter")
        assert error_of(dialog, "#export-error") == "give the path of the file to write"
        assert list(workspace.sessions_dir.glob("t.json")) == []
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, DetailScreen)


async def test_export_warns_about_what_it_removed(
    workspace: Workspace, store: SessionStore, example_document: dict[str, Any]
) -> None:
    example_document["model_config"]["trust_remote_code"] = True
    store.create(TrainingMetadata.from_document(example_document))
    async with app_for(workspace).run_test(size=(120, 36)) as pilot:
        await open_detail(pilot)
        await export_dialog(pilot)
        await pilot.press("enter")
        message = await wait_for_screen(pilot, MessageDialog)
        assert message.title_text == "Template exported"
        assert "removed model_config.trust_remote_code" in message.body.plain


def exported_template(tmp_path: Path, make_metadata: BuildMetadata) -> Path:
    """A colleague's template, exported from their workspace."""
    theirs = Workspace(tmp_path / "theirs")
    theirs.root.mkdir()
    theirs.ensure()
    engine = Engine(theirs)
    path = engine.store.create(make_metadata(dataset="/home/colleague/[data]/debates.csv"))
    output = tmp_path / "shared" / "debates.template.json"
    output.parent.mkdir()
    engine.export_template(path, output)
    return output


async def import_file(pilot: Pilot[None], source: Path, dataset: Path | None = None) -> None:
    await pilot.press("i")
    dialog = await wait_for_screen(pilot, ImportTemplateDialog)
    dialog.query_one("#import-file", Input).value = str(source)
    if dataset is not None:
        dialog.query_one("#import-dataset", Input).value = str(dataset)
    await pilot.click("#import")


async def test_import_makes_a_pending_session_once(
    workspace: Workspace, tmp_path: Path, make_metadata: BuildMetadata
) -> None:
    template = exported_template(tmp_path, make_metadata)
    async with app_for(workspace).run_test(size=(120, 36)) as pilot:
        history = await open_history(pilot)
        await import_file(pilot, template)
        message = await wait_for_screen(pilot, MessageDialog)
        assert message.title_text == "Template imported"
        body = message.body.plain
        assert "status pending" in body
        assert "Dataset: debates.csv (not found: locate it before training)" in body
        assert "dataset 'debates.csv' was not found next to debates.template.json" in body
        await pilot.press("escape")
        table = history.query_one(SessionTable)
        await wait_until(pilot, lambda: table.row_count == 1)
        assert table.shown_rows[0].status == "pending"

        # The same file again: recognised, nothing written.
        await import_file(pilot, template)
        message = await wait_for_screen(pilot, MessageDialog)
        assert message.title_text == "Already imported"
        assert f"imported already as session {table.shown_rows[0].session_id}" in (
            message.body.plain
        )
    assert len(list(workspace.sessions_dir.glob("*.json"))) == 1


async def test_import_with_the_dataset_found_here(
    workspace: Workspace, tmp_path: Path, make_metadata: BuildMetadata
) -> None:
    template = exported_template(tmp_path, make_metadata)
    dataset = tmp_path / "debates.csv"
    dataset.write_text("text,label\na,b\n", encoding="utf-8")
    async with app_for(workspace).run_test(size=(120, 36)) as pilot:
        await open_history(pilot)
        await import_file(pilot, template, dataset)
        message = await wait_for_screen(pilot, MessageDialog)
        assert f"Dataset: {dataset}" in message.body.plain
        assert "not found" not in message.body.plain


async def test_import_refusals_are_shown_in_the_dialog(
    workspace: Workspace, tmp_path: Path
) -> None:
    not_metadata = tmp_path / "notes.json"
    not_metadata.write_text("[1, 2]", encoding="utf-8")
    async with app_for(workspace).run_test(size=(120, 36)) as pilot:
        await open_history(pilot)
        await import_file(pilot, tmp_path / "missing.json")
        dialog = await wait_for_screen(pilot, ImportTemplateDialog)
        await wait_until(pilot, lambda: "check the path" in error_of(dialog, "#import-error"))
        file_field = dialog.query_one("#import-file", Input)
        file_field.value = str(not_metadata)
        file_field.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: "notes.json" in error_of(dialog, "#import-error"))
        assert error_of(dialog, "#import-error").startswith("cannot import notes.json")
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, HistoryScreen)
    assert list(workspace.sessions_dir.glob("*.json")) == []
