"""Which sessions can be resumed, and the reason given when one cannot."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import BadInputError
from engine.facade import Engine
from engine.schema import ModelConfig, TrainingMetadata
from engine.sessions.creation import build_session_metadata, create_session
from engine.sessions.resumability import assess_resume, workspace_of_metadata
from engine.store import SessionStore
from engine.workspace import Workspace
from tests.fakes import IDLE_MODULE, idle_process, record_running
from tests.test_training_support import dataset_config, fake_checkpoint, write_tiny_dataset


@pytest.fixture
def session(store: SessionStore, tmp_path: Path) -> TrainingMetadata:
    dataset = write_tiny_dataset(tmp_path / "data.csv")
    model = ModelConfig(selected_model="m", selected_models=["m"], torch_threads=2)
    metadata = build_session_metadata({"dataset_config": dataset_config(dataset)}, model)
    return store.load(create_session(store, metadata))


def _with_status(metadata: TrainingMetadata, status: str) -> TrainingMetadata:
    metadata.execution_status.status = status  # type: ignore[assignment]
    return metadata


def _add_checkpoint(workspace: Workspace, metadata: TrainingMetadata) -> Path:
    unit_dir = workspace.run_dir(metadata.session_id) / "checkpoints" / "m"
    return fake_checkpoint(unit_dir, 8)


def test_completed_says_relaunch(workspace: Workspace, session: TrainingMetadata) -> None:
    assessment = assess_resume(workspace, _with_status(session, "completed"))
    assert not assessment.resumable
    assert f"llmtool-tui relaunch {session.session_id}" in (assessment.blocker or "")


@pytest.mark.parametrize("status", ["pending", "interrupted"])
def test_unfinished_without_checkpoint_starts_over(
    workspace: Workspace, session: TrainingMetadata, status: str
) -> None:
    assessment = assess_resume(workspace, _with_status(session, status))
    assert assessment.resumable and assessment.checkpoint is None


def test_failed_needs_a_checkpoint(workspace: Workspace, session: TrainingMetadata) -> None:
    failed = _with_status(session, "failed")
    failed.execution_status.error_message = "CUDA out of memory"
    assessment = assess_resume(workspace, failed)
    assert not assessment.resumable
    assert "nothing to resume" in (assessment.blocker or "")
    assert "CUDA out of memory" in (assessment.blocker or "")
    checkpoint = _add_checkpoint(workspace, session)
    assessment = assess_resume(workspace, failed)
    assert assessment.resumable and assessment.checkpoint == checkpoint


def test_running_alive_is_refused_and_running_dead_is_resumable(
    workspace: Workspace, session: TrainingMetadata
) -> None:
    # Whether a running session's worker is alive is for the engine to decide (assess_resume
    # only judges the files): prepare_resume refuses a live one, with who holds it.
    path = SessionStore(workspace).resolve(session.session_id)
    engine = Engine(workspace, worker_module=IDLE_MODULE)
    with idle_process(path) as worker:
        record_running(workspace, path, worker)
        with pytest.raises(BadInputError, match=f"already running \\(pid {worker.pid} on"):
            engine.prepare_resume(path)
    # The worker is gone: the session is interrupted, and resumable.
    assert engine.prepare_resume(path).warnings == ()
    assert engine.store.load(path).status == "interrupted"


def test_a_changed_or_missing_dataset_is_refused_unless_forced(
    workspace: Workspace, session: TrainingMetadata
) -> None:
    interrupted = _with_status(session, "interrupted")
    dataset = Path(interrupted.dataset_config.primary_file or "")
    dataset.write_bytes(dataset.read_bytes().replace(b"sports", b"sport", 1))
    assessment = assess_resume(workspace, interrupted)
    assert not assessment.resumable
    assert "changed since the session was created" in (assessment.blocker or "")
    assert "--force" in (assessment.blocker or "")
    forced = assess_resume(workspace, interrupted, force=True)
    assert forced.resumable and forced.warnings and "changed" in forced.warnings[0]
    dataset.unlink()
    for force in (False, True):
        missing = assess_resume(workspace, interrupted, force=force)
        assert not missing.resumable and "not found" in (missing.blocker or "")


def test_a_changed_thread_count_is_refused_unless_forced(
    workspace: Workspace, session: TrainingMetadata
) -> None:
    interrupted = _with_status(session, "interrupted")
    _add_checkpoint(workspace, interrupted)  # written with 2 threads
    assert assess_resume(workspace, interrupted).resumable
    interrupted.training_model_config.torch_threads = 1
    assessment = assess_resume(workspace, interrupted)
    assert not assessment.resumable
    assert "written with 2 torch threads" in (assessment.blocker or "")
    assert "would use 1" in (assessment.blocker or "")
    forced = assess_resume(workspace, interrupted, force=True)
    assert forced.resumable and "2 torch threads" in forced.warnings[0]


def test_the_workspace_is_found_from_the_metadata_location(workspace: Workspace) -> None:
    saved = workspace.sessions_dir / "training_metadata_x.json"
    unsaved = workspace.run_dir("train_x") / "metadata.json"
    assert workspace_of_metadata(saved).root == workspace.root.resolve()
    assert workspace_of_metadata(unsaved).root == workspace.root.resolve()
