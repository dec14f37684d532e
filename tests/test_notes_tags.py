"""Notes and tags saved while a worker updates its status: neither writer loses a change."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from multiprocessing.synchronize import Barrier
from pathlib import Path

from engine.facade import Engine
from engine.filters import normalize_tags
from engine.schema import TrainingMetadata
from engine.store import SessionStore, read_metadata
from engine.workspace import Workspace

MakeMetadata = Callable[..., TrainingMetadata]
STATUS_UPDATES = 60
NOTE_UPDATES = 40


def _worker_status_updates(root: str, path: str, start: Barrier, count: int) -> None:
    """What the training worker does: count steps in the file, one locked update per step."""
    store = SessionStore(Workspace(Path(root)))
    start.wait(timeout=60)

    def step(metadata: TrainingMetadata) -> None:
        status = metadata.execution_status
        status.status = "running"
        status.step = (status.step or 0) + 1

    for _ in range(count):
        store.update(Path(path), step)


def _user_notes_and_tags(root: str, path: str, start: Barrier, count: int) -> None:
    """What the UI does when the user edits notes and tags, as fast as it can."""
    store = SessionStore(Workspace(Path(root)))
    start.wait(timeout=60)
    for i in range(count):

        def edit(metadata: TrainingMetadata, i: int = i) -> None:
            metadata.notes = f"note {i}"
            metadata.tags = normalize_tags([*metadata.tags, f"tag-{i}", f"TAG-{i}"])

        store.update(Path(path), edit)


def test_status_updates_and_notes_both_survive_concurrent_writers(
    store: SessionStore, workspace: Workspace, make_metadata: MakeMetadata
) -> None:
    path = store.create(make_metadata())
    context = multiprocessing.get_context("spawn")
    # Both processes start their loops together, so that their updates interleave.
    start = context.Barrier(2)
    writers = [
        context.Process(
            target=_worker_status_updates,
            args=(str(workspace.root), str(path), start, STATUS_UPDATES),
        ),
        context.Process(
            target=_user_notes_and_tags,
            args=(str(workspace.root), str(path), start, NOTE_UPDATES),
        ),
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
        assert writer.exitcode == 0
    metadata = read_metadata(path)
    assert metadata.execution_status.status == "running"
    assert metadata.execution_status.step == STATUS_UPDATES
    assert metadata.notes == f"note {NOTE_UPDATES - 1}"
    assert metadata.tags == [f"tag-{i}" for i in range(NOTE_UPDATES)]
    # The example's unknown keys survive both writers too.
    assert metadata.dataset_config.training_files == {
        "single_label": "/path/to/training_file.jsonl"
    }


def test_facade_save_notes_keeps_a_running_worker_progress(
    store: SessionStore, workspace: Workspace, make_metadata: MakeMetadata
) -> None:
    path = store.create(make_metadata())
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    worker = context.Process(
        target=_worker_status_updates,
        args=(str(workspace.root), str(path), start, STATUS_UPDATES),
    )
    worker.start()
    engine = Engine(workspace)
    start.wait(timeout=60)
    for i in range(NOTE_UPDATES):
        engine.save_notes(path, notes=f"user note {i}", tags=normalize_tags(f"paper, Paper, v{i}"))
    worker.join(timeout=120)
    assert worker.exitcode == 0
    metadata = read_metadata(path)
    assert metadata.execution_status.step == STATUS_UPDATES
    assert metadata.notes == f"user note {NOTE_UPDATES - 1}"
    assert metadata.tags == ["paper", f"v{NOTE_UPDATES - 1}"]
