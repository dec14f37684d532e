"""A shared template keeps track of its local model: said at import, given with --model, updated.

A session trained on a local model folder exports that folder's name only (a path of one machine
means nothing on another). The import says the model is not here, the session is not offered as
resumable, and importing the file again with the folder (``--model``, or the dialog's Model field)
gives it to the same session.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Input

from engine.errors import BadInputError
from engine.facade import Engine
from engine.schema import TrainingMetadata
from engine.store import SessionStore, read_metadata
from engine.templates import export_template
from engine.workspace import Workspace
from llmtool_tui.app import make_app
from llmtool_tui.cli import main
from llmtool_tui.dialogs import ImportTemplateDialog, MessageDialog
from llmtool_tui.screens import HistoryScreen
from llmtool_tui.screenshots import wait_until
from tests.fakes import model_folder
from tests.pilots import open_history, wait_for_screen

BuildMetadata = Callable[..., TrainingMetadata]


@pytest.fixture
def template(make_metadata: BuildMetadata, tmp_path: Path, dataset: Path) -> Path:
    """The template of an interrupted session trained on a local folder ``tiny`` elsewhere."""
    elsewhere = model_folder(tmp_path / "alice" / "models" / "tiny")
    metadata = make_metadata(status="interrupted", model=str(elsewhere), dataset=str(dataset))
    shared = tmp_path / "shared"
    shared.mkdir()
    path = shared / "session.template.json"
    path.write_text(json.dumps(export_template(metadata).document))
    elsewhere.rename(tmp_path / "alice" / "gone")  # not on the importing machine
    return path


@pytest.fixture
def here(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path / "bob")
    workspace.root.mkdir()
    workspace.ensure()
    return workspace


def test_the_template_says_which_models_were_local_folders(template: Path) -> None:
    document = json.loads(template.read_text())
    assert document["model_config"]["selected_model"] == "tiny"
    assert document["template"]["local_models"] == ["tiny"]


def test_import_names_the_missing_model_and_the_session_is_not_resumable(
    template: Path, here: Workspace, dataset: Path
) -> None:
    engine = Engine(here)
    result = engine.import_template(template, dataset=dataset)
    assert result.created and result.missing_models == ["tiny"]
    assert any("'tiny' was a local directory" in warning for warning in result.warnings)
    view = engine.inspect(result.path)
    assert not view.resumable and not view.resume_needs_answer
    assert view.resume_obstacle is not None
    assert "import the session's template again with --model PATH" in str(view.resume_obstacle)
    assert "with the model's folder" in view.resume_obstacle.in_app()
    with pytest.raises(BadInputError, match="'tiny' was a local directory"):
        engine.prepare_resume(result.path)


def test_importing_again_with_the_model_folder_updates_the_same_session(
    template: Path, here: Workspace, dataset: Path, tmp_path: Path
) -> None:
    engine = Engine(here)
    first = engine.import_template(template, dataset=dataset)
    mtime = first.path.stat().st_mtime_ns
    folder = model_folder(tmp_path / "bob-models" / "tiny")
    second = engine.import_template(template, models=[folder])
    assert (second.created, second.updated, second.path) == (False, True, first.path)
    assert second.missing_models == [] and second.models == [str(folder.resolve())]
    config = read_metadata(first.path).training_model_config
    assert config.selected_model == str(folder.resolve())
    assert config.selected_models == [str(folder.resolve())]
    assert first.path.stat().st_mtime_ns == mtime  # a change of paths does not reorder
    assert engine.inspect(first.path).resumable
    assert len(SessionStore(here).list(None).rows) == 1


def test_a_model_folder_next_to_the_template_is_found(
    template: Path, here: Workspace, dataset: Path
) -> None:
    model_folder(template.parent / "tiny")
    result = Engine(here).import_template(template, dataset=dataset)
    assert result.missing_models == []
    assert result.models == [str((template.parent / "tiny").resolve())]


def test_a_model_folder_that_matches_no_model_is_refused(
    make_metadata: BuildMetadata, tmp_path: Path, here: Workspace
) -> None:
    metadata = make_metadata(mode="benchmark")
    metadata.training_model_config.selected_models = ["/a/tiny", "/a/small"]
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(export_template(metadata).document))
    other = model_folder(tmp_path / "large")
    with pytest.raises(BadInputError, match="the session's models are 'tiny', 'small'"):
        Engine(here).import_template(path, models=[other])
    incomplete = tmp_path / "tiny"
    incomplete.mkdir()
    with pytest.raises(BadInputError, match=r"lacks config\.json"):
        Engine(here).import_template(path, models=[incomplete])
    assert not list(here.sessions_dir.glob("*.json"))


def test_the_import_command_takes_model_and_says_what_is_missing(
    template: Path,
    here: Workspace,
    dataset: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ws = ["--workspace", str(here.root)]
    assert main(["import", str(template), "--dataset", str(dataset), *ws]) == 0
    captured = capsys.readouterr()
    assert "model: tiny (not on this machine)" in captured.out
    assert "--model PATH" in captured.out and "'tiny' was a local directory" in captured.err

    folder = model_folder(tmp_path / "models" / "tiny")
    assert main(["import", str(template), "--model", str(folder), "--json", *ws]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["updated"] is True and document["missing_models"] == []
    assert document["models"] == [str(folder.resolve())]


async def test_the_import_dialog_takes_themodel_folder(
    template: Path, here: Workspace, dataset: Path, tmp_path: Path
) -> None:
    Engine(here).import_template(template, dataset=dataset)
    folder = model_folder(tmp_path / "models" / "tiny")
    async with make_app(Engine(here)).run_test(size=(100, 30)) as pilot:
        await open_history(pilot)
        await pilot.press("i")
        dialog = await wait_for_screen(pilot, ImportTemplateDialog)
        dialog.query_one("#import-file", Input).value = str(template)
        model_field = dialog.query_one("#import-model", Input)
        model_field.value = str(folder)
        model_field.focus()
        await pilot.press("enter")
        report = await wait_for_screen(pilot, MessageDialog)
        shown = report.body.plain
        assert "its paths were updated" in shown and "not on this machine" not in shown
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen))
    (session,) = here.sessions_dir.glob("*.json")
    assert read_metadata(session).training_model_config.selected_model == str(folder.resolve())
