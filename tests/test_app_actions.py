"""Resume, relaunch (as is and edited), stop, the missing dataset dialog and quitting.

Workers are real detached processes: the facade's launch is pointed at the fake worker of
``tests.fakes`` (which follows the worker's contract without training), everything else is the
real engine.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from engine.facade import Engine, PreparedRun
from engine.rows import SessionRow
from engine.schema import TrainingMetadata
from engine.store import SessionStore, read_metadata
from engine.supervisor import WorkerHandle, launch_worker
from engine.workspace import Workspace
from llmtool_tui.app import StudioApp, make_app
from llmtool_tui.dialogs import ConfirmDialog, LocateDatasetDialog, RelaunchEditDialog
from llmtool_tui.screens import DetailScreen, MonitorScreen
from llmtool_tui.screenshots import wait_until
from llmtool_tui.widgets import ProgressPanel
from tests.fakes import (
    FAKE_WORKER_MODULE,
    IDLE_MODULE,
    idle_process,
    model_folder,
    record_running,
    worker_env,
)
from tests.pilots import open_detail

BuildMetadata = Callable[..., TrainingMetadata]
#: A worker is a new Python process: on a loaded 2-core machine it takes seconds to start.
WORKER_TIMEOUT_S = 30.0


class FakeWorkerEngine(Engine):
    """The real facade, whose workers are the fake worker instead of a training."""

    def __init__(self, workspace: Workspace) -> None:
        super().__init__(workspace, worker_module=FAKE_WORKER_MODULE)
        self.handles: list[WorkerHandle] = []

    def launch(self, prepared: PreparedRun, *, detach: bool = True) -> WorkerHandle:
        handle = super().launch(prepared, detach=detach)
        self.handles.append(handle)
        return handle


@pytest.fixture
def engine(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeWorkerEngine]:
    """An engine whose workers are fake ones; any still running at the end is killed."""
    for name, value in worker_env(FAKE_WORKER_STEPS="20", FAKE_WORKER_STEP_S="0.02").items():
        monkeypatch.setenv(name, value)
    engine = FakeWorkerEngine(workspace)
    yield engine
    for handle in engine.handles:
        if handle.poll() is None:
            handle.process.kill()
            handle.wait(5)


@pytest.fixture
def local_model(tmp_path: Path) -> Path:
    """A model directory that passes the availability check (the fake worker never loads it)."""
    return model_folder(tmp_path / "local-model")


async def wait_for_completed_run(pilot: Pilot[None]) -> MonitorScreen:
    app = pilot.app
    await wait_until(pilot, lambda: isinstance(app.screen, MonitorScreen))
    monitor = app.screen
    assert isinstance(monitor, MonitorScreen)
    panel = monitor.query_one(ProgressPanel)
    await wait_until(
        pilot,
        lambda: monitor.status == "completed" and panel.progress.step == 20,
        timeout=WORKER_TIMEOUT_S,
    )
    return monitor


def sessions_in(store: SessionStore) -> dict[str, TrainingMetadata]:
    return {
        row.session_id: row.metadata
        for row in store.list(None, metadata=True).rows
        if row.metadata is not None
    }


async def test_resume_starts_the_worker_and_follows_it_live(
    engine: FakeWorkerEngine, store: SessionStore, make_metadata: BuildMetadata, dataset: Path
) -> None:
    path = store.create(make_metadata(status="interrupted", dataset=str(dataset)))
    async with make_app(engine).run_test(size=(100, 30)) as pilot:
        await open_detail(pilot)
        await pilot.press("r")
        monitor = await wait_for_completed_run(pilot)
        assert monitor.path == path
        assert monitor.session_id == "train_20260101_120000"
        assert "Step 20/20" in str(monitor.query_one("#progress-steps").render())
    metadata = read_metadata(path)
    assert metadata.status == "completed"
    assert metadata.execution_status.resume_count == 1


async def test_relaunch_asks_then_starts_a_new_session(
    engine: FakeWorkerEngine,
    store: SessionStore,
    make_metadata: BuildMetadata,
    dataset: Path,
    local_model: Path,
) -> None:
    store.create(make_metadata(status="completed", dataset=str(dataset), model=str(local_model)))
    async with make_app(engine).run_test(size=(100, 30)) as pilot:
        await open_detail(pilot)
        await pilot.press("l")
        assert isinstance(pilot.app.screen, ConfirmDialog)
        await pilot.press("n")
        assert isinstance(pilot.app.screen, DetailScreen)
        await pilot.press("l", "y")
        monitor = await wait_for_completed_run(pilot)
    sessions = sessions_in(store)
    assert len(sessions) == 2
    new = sessions[monitor.session_id]
    assert new.training_session.parent_session_id == "train_20260101_120000"
    assert new.status == "completed"


async def test_relaunch_with_edits_uses_the_edited_values(
    engine: FakeWorkerEngine,
    store: SessionStore,
    make_metadata: BuildMetadata,
    dataset: Path,
    local_model: Path,
) -> None:
    store.create(make_metadata(status="completed", dataset=str(dataset), model=str(local_model)))
    async with make_app(engine).run_test(size=(100, 30)) as pilot:
        await open_detail(pilot)
        await pilot.press("e")
        dialog = pilot.app.screen
        assert isinstance(dialog, RelaunchEditDialog)
        dialog.query_one("#field-epochs", Input).value = "5"
        dialog.query_one("#field-batch_size", Input).value = "8"
        await pilot.click("#relaunch")
        monitor = await wait_for_completed_run(pilot)
    config = sessions_in(store)[monitor.session_id].training_model_config
    assert (config.epochs, config.batch_size, config.selected_model) == (5, 8, str(local_model))


async def test_stop_asks_then_stops_a_running_worker(
    engine: FakeWorkerEngine,
    store: SessionStore,
    make_metadata: BuildMetadata,
    dataset: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_WORKER_STEPS", "0")
    path = store.create(make_metadata(status="pending", dataset=str(dataset)))
    # Started by "another process": the app finds it through its metadata only.
    handle = launch_worker(engine.workspace, path, worker_module=FAKE_WORKER_MODULE)
    engine.handles.append(handle)
    async with make_app(engine).run_test(size=(100, 30)) as pilot:
        detail = await open_detail(pilot)
        await wait_until(
            pilot,
            lambda: detail.view is not None and detail.view.status == "running",
            timeout=WORKER_TIMEOUT_S,
        )
        await pilot.press("m")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, MonitorScreen))
        monitor = pilot.app.screen
        assert isinstance(monitor, MonitorScreen)
        await wait_until(pilot, lambda: monitor.status == "running")
        await pilot.press("s")
        assert isinstance(pilot.app.screen, ConfirmDialog)
        await pilot.press("y")
        await wait_until(pilot, lambda: monitor.status == "interrupted", timeout=WORKER_TIMEOUT_S)
        assert monitor.check_action("stop", ()) is False
    assert read_metadata(path).status == "interrupted"
    handle.wait(10)


async def test_missing_dataset_offers_to_locate_it_then_relaunches(
    engine: FakeWorkerEngine,
    store: SessionStore,
    make_metadata: BuildMetadata,
    dataset: Path,
    tmp_path: Path,
    local_model: Path,
) -> None:
    path = store.create(
        make_metadata(
            status="completed", dataset=str(tmp_path / "moved.csv"), model=str(local_model)
        )
    )
    async with make_app(engine).run_test(size=(100, 30)) as pilot:
        await open_detail(pilot)
        await pilot.press("l", "y")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, LocateDatasetDialog))
        dialog = pilot.app.screen
        assert isinstance(dialog, LocateDatasetDialog)
        assert dialog.recorded_dataset == str(tmp_path / "moved.csv")
        dialog.query_one(Input).value = str(dataset)
        await pilot.press("enter")
        monitor = await wait_for_completed_run(pilot)
    assert read_metadata(path).dataset_config.primary_file == str(dataset)
    assert sessions_in(store)[monitor.session_id].dataset_config.primary_file == str(dataset)


async def test_quit_warns_that_running_sessions_keep_running(
    workspace: Workspace, store: SessionStore, make_metadata: BuildMetadata
) -> None:
    path = store.create(make_metadata(status="pending"))
    # A stand-in process plays the worker: alive, on this host, running on the session's file.
    with idle_process(path) as worker:
        record_running(workspace, path, worker)
        app = make_app(Engine(workspace, worker_module=IDLE_MODULE), watch=False)
        async with app.run_test() as pilot:
            await pilot.press("3")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
            assert isinstance(app.screen, ConfirmDialog)
            assert "1 training session is running (train_20260101_120000)" in app.screen.body.plain
            assert "It keeps running after you quit" in app.screen.body.plain
            await pilot.press("n")
            assert not isinstance(app.screen, ConfirmDialog)
            await pilot.press("ctrl+q")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
            await pilot.press("y")
        assert app.return_code == 0
        assert worker.is_running()


async def test_quit_without_running_sessions_does_not_ask(workspace: Workspace) -> None:
    app: StudioApp = make_app(Engine(workspace), watch=False)
    exits: list[object] = []
    app.exit = lambda *args, **kwargs: exits.append(args)  # type: ignore[method-assign]
    async with app.run_test() as pilot:
        await pilot.press("q")
        await wait_until(pilot, lambda: bool(exits))
        assert not isinstance(app.screen, ConfirmDialog)


async def test_a_slow_quit_check_says_what_it_is_doing(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Engine(workspace)

    def slow_check() -> list[SessionRow]:
        time.sleep(1.0)  # thousands of session files on a cold disk
        return []

    monkeypatch.setattr(engine, "running_sessions", slow_check)
    app: StudioApp = make_app(engine, watch=False)
    exits: list[object] = []
    notices: list[str] = []
    app.exit = lambda *args, **kwargs: exits.append(args)  # type: ignore[method-assign]
    monkeypatch.setattr(app, "notify", lambda message, **kwargs: notices.append(message))
    async with app.run_test() as pilot:
        await pilot.press("q")
        await wait_until(pilot, lambda: bool(exits))
    assert notices == ["Checking for running sessions…"]
