"""Resuming a session whose dataset moved: located, checked, saved, and the same session goes on.

The engine and the app run against the fake worker (tests.fakes); the command line resumes a real
tiny training stopped after its first checkpoint, on the dataset's new place.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from engine.analysis.fingerprint import fingerprint_file
from engine.errors import BadInputError, DatasetMissingError
from engine.facade import Engine
from engine.schema import TrainingMetadata
from engine.store import SessionStore, read_metadata
from engine.workspace import Workspace
from llmtool_tui.app import make_app
from llmtool_tui.cli import main
from llmtool_tui.dialogs import ConfirmDialog, LocateDatasetDialog
from llmtool_tui.screens import DetailScreen, MonitorScreen
from llmtool_tui.screenshots import wait_until
from tests.fakes import FAKE_WORKER_MODULE, worker_env
from tests.pilots import open_detail, plain, wait_for_screen
from tests.test_training_cli import TINY_FLAGS
from tests.test_training_support import build_tiny_model, write_tiny_dataset

BuildMetadata = Callable[..., TrainingMetadata]
WORKER_TIMEOUT_S = 30.0


@pytest.fixture
def engine(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Engine:
    for name, value in worker_env(FAKE_WORKER_STEPS="5", FAKE_WORKER_STEP_S="0.02").items():
        monkeypatch.setenv(name, value)
    return Engine(workspace, worker_module=FAKE_WORKER_MODULE)


def _interrupted_on(store: SessionStore, make_metadata: BuildMetadata, dataset: Path) -> Path:
    """An interrupted session that recorded ``dataset``'s fingerprint, as an analysis does."""
    metadata = make_metadata(status="interrupted", dataset=str(dataset))
    metadata.dataset_config.fingerprint = fingerprint_file(dataset)
    return store.create(metadata)


def test_resume_takes_the_new_place_of_the_same_file(
    engine: Engine, store: SessionStore, make_metadata: BuildMetadata, dataset: Path, tmp_path: Path
) -> None:
    path = _interrupted_on(store, make_metadata, dataset)
    moved = dataset.rename(tmp_path / "elsewhere.csv")

    with pytest.raises(DatasetMissingError) as missing:
        engine.prepare_resume(path)
    assert "resume or relaunch with --dataset NEW_PATH" in str(missing.value)
    assert "give its new location when asked" in missing.value.in_app()

    prepared = engine.prepare_resume(path, dataset=moved)
    assert prepared.path == path and prepared.resume  # the same session, not a new one
    assert read_metadata(path).dataset_config.primary_file == str(moved.resolve())
    assert [row.path for row in store.list(None).rows] == [path]


def test_resume_refuses_another_file_unless_forced(
    engine: Engine, store: SessionStore, make_metadata: BuildMetadata, dataset: Path, tmp_path: Path
) -> None:
    path = _interrupted_on(store, make_metadata, dataset)
    other = tmp_path / "other.csv"
    other.write_text("text,label\nsomething else,positive\nagain,negative\n")
    dataset.unlink()

    with pytest.raises(BadInputError, match="is not the session's dataset") as refused:
        engine.prepare_resume(path, dataset=other)
    assert "--force" in str(refused.value) and "--force" not in refused.value.in_app()
    assert read_metadata(path).dataset_config.primary_file == str(dataset)

    prepared = engine.prepare_resume(path, dataset=other, force=True)
    assert any("changed since the session was created" in w for w in prepared.warnings)
    assert read_metadata(path).dataset_config.primary_file == str(other.resolve())


async def test_r_on_a_moved_dataset_asks_where_it_is_then_resumes_the_same_session(
    engine: Engine, store: SessionStore, make_metadata: BuildMetadata, dataset: Path, tmp_path: Path
) -> None:
    path = _interrupted_on(store, make_metadata, dataset)
    moved = dataset.rename(tmp_path / "moved.csv")
    async with make_app(engine).run_test(size=(100, 30)) as pilot:
        detail = await open_detail(pilot)
        assert detail.check_action("resume", ()) is True
        actions = plain(detail.query_one("#detail-actions", Static).content)
        assert "press r to give its new location" in actions and "--dataset" not in actions
        await pilot.press("r")
        dialog = await wait_for_screen(pilot, LocateDatasetDialog)
        assert "Then the session resumes from its last checkpoint" in plain(
            dialog.query_one(".dialog-body", Static).content
        )
        dialog.query_one(Input).value = str(moved)
        await pilot.press("enter")
        monitor = await wait_for_screen(pilot, MonitorScreen)
        assert monitor.path == path
        await wait_until(pilot, lambda: monitor.status == "completed", timeout=WORKER_TIMEOUT_S)
    metadata = read_metadata(path)
    assert metadata.dataset_config.primary_file == str(moved.resolve())
    assert metadata.execution_status.resume_count == 1
    assert len(store.list(None).rows) == 1


async def test_r_on_changed_data_says_what_changed_and_resumes_only_when_confirmed(
    engine: Engine, store: SessionStore, make_metadata: BuildMetadata, dataset: Path
) -> None:
    path = _interrupted_on(store, make_metadata, dataset)
    dataset.write_text(dataset.read_text() + "one more,positive\n")
    async with make_app(engine).run_test(size=(100, 30)) as pilot:
        detail = await open_detail(pilot)
        table = plain(detail.query_one("#detail-table", Static).content)
        assert "press r to resume on the new data anyway" in table and "--force" not in table
        await pilot.press("r")
        confirm = await wait_for_screen(pilot, ConfirmDialog)
        assert "changed since the session was created" in confirm.body.plain
        await pilot.press("n")
        await wait_for_screen(pilot, DetailScreen)
        assert read_metadata(path).status == "interrupted"
        await pilot.press("r")
        await wait_for_screen(pilot, ConfirmDialog)
        await pilot.press("y")
        monitor = await wait_for_screen(pilot, MonitorScreen)
        await wait_until(pilot, lambda: monitor.status == "completed", timeout=WORKER_TIMEOUT_S)
    assert read_metadata(path).execution_status.resume_count == 1


def test_the_command_resumes_a_real_training_on_its_moved_dataset(
    workspace: Workspace,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LLMTOOL_TORCH_THREADS", "1")
    model = build_tiny_model(tmp_path / "tiny")
    dataset = write_tiny_dataset(tmp_path / "data.csv")
    ws = ["-w", str(workspace.root)]
    # Stopped (SIGTERM, as `stop` does) right after its first checkpoint.
    monkeypatch.setenv("LLMTOOL_TEST_KILL_AT", "after_checkpoint:1:SIGTERM")
    code = main([*ws, "train", str(dataset), "--model", str(model), *TINY_FLAGS, "--json"])
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert code != 0 and summary["status"] == "interrupted", captured
    monkeypatch.delenv("LLMTOOL_TEST_KILL_AT")
    session = summary["session_id"]

    moved = tmp_path / "moved" / "data.csv"
    moved.parent.mkdir()
    shutil.move(dataset, moved)
    assert main([*ws, "resume", session]) == 2
    err = capsys.readouterr().err
    assert "was moved or deleted" in err and "--dataset NEW_PATH" in err and "\n" not in err.strip()

    assert main([*ws, "resume", session, "--dataset", str(moved), "--json"]) == 0
    resumed = json.loads(capsys.readouterr().out)
    assert resumed["session_id"] == session and resumed["status"] == "completed"
    metadata = read_metadata(Path(resumed["metadata_path"]))
    assert metadata.dataset_config.primary_file == str(moved.resolve())
    assert metadata.execution_status.resume_count == 1
    assert len(SessionStore(workspace).list(None).rows) == 1
