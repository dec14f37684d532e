"""Whether a session can be resumed, and if not, why (one line naming the fix).

A session can be resumed when it is incomplete: pending, running with a dead worker,
interrupted, or failed after writing a complete checkpoint. It cannot when it is completed
(relaunch it instead), still running, failed before any checkpoint (nothing to resume), or when
resuming would not continue the same training: the dataset is missing or its content changed, or
torch would use another thread count than the checkpoints were written with (1 and 2 threads
already give different weights). ``force`` accepts the last two.

Cost: a few file reads, plus one sha256 pass over the dataset when its size is unchanged (about
1 s per GB); no torch import.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.files import expand_user
from engine.schema import TrainingMetadata
from engine.sessions.checkpoints import CHECKPOINTS_DIR_NAME, newest_complete
from engine.workspace import WORKSPACE_ENV, Workspace

#: Overrides the thread count of a session that has none recorded yet (its first run).
THREADS_ENV = "LLMTOOL_TORCH_THREADS"
UNSAVED_METADATA_NAME = "metadata.json"


@dataclass(frozen=True)
class ResumeAssessment:
    """The answer of ``assess_resume``."""

    resumable: bool
    blocker: str | None = None
    """Why not, with what to do instead (None when resumable)."""
    checkpoint: Path | None = None
    """Newest complete checkpoint of the unit that resumes (None: it starts from the beginning)."""
    warnings: tuple[str, ...] = ()
    """What ``force`` overrode."""


def workspace_of_metadata(path: Path) -> Workspace:
    """The workspace a metadata file belongs to, from where it is.

    ``<ws>/logs/training_sessions/<file>`` or ``<ws>/logs/training_runs/<id>/<file>`` (an unsaved
    session); anywhere else, ``$LLMTOOL_WORKSPACE`` or the current directory.
    """
    path = path.resolve()
    if path.parent.name == "training_sessions" and path.parent.parent.name == "logs":
        return Workspace(path.parent.parent.parent)
    runs = path.parent.parent
    if runs.name == "training_runs" and runs.parent.name == "logs":
        return Workspace(runs.parent.parent)
    return Workspace.resolve(os.environ.get(WORKSPACE_ENV))


def planned_torch_threads(metadata: TrainingMetadata) -> int | None:
    """Threads the next run will use: the session's recorded count, else ``$LLMTOOL_TORCH_THREADS``.

    None means torch's default (decided by the worker, which imports torch).
    """
    recorded = metadata.training_model_config.torch_threads
    if recorded is not None:
        return recorded
    override = os.environ.get(THREADS_ENV, "").strip()
    return int(override) if override.isdigit() and int(override) > 0 else None


def planned_world_size(metadata: TrainingMetadata) -> int:
    """Training processes the next run will have: ``nproc_per_node`` x ``nnodes``."""
    config = metadata.training_model_config
    return config.nproc_per_node * config.nnodes


def world_size_problem(metadata: TrainingMetadata) -> str | None:
    """What changes when the checkpoints' world size differs from the planned one, else None.

    Each rank reads its own slice of every global batch and its own RNG state from a checkpoint:
    with another number of processes the batches, the step count per epoch and the dropout masks
    all change, so the result can no longer equal an uninterrupted run's.
    """
    # Sessions recorded before world_size existed always ran one process.
    used = metadata.execution_status.world_size or 1
    planned = planned_world_size(metadata)
    if used == planned:
        return None
    batch = metadata.training_model_config.batch_size
    return (
        f"the checkpoints were written by {used} training process(es) and this run would use"
        f" {planned}: the global batch goes from {used * batch} to {planned * batch} rows, so the"
        " steps per epoch, the data order from the checkpoint on and the learning-rate schedule"
        " change, and ranks without a saved RNG state start from a fresh one; the result would"
        f" differ from an uninterrupted run (set nproc_per_node/nnodes back to a world of {used})"
    )


def dataset_blocker(metadata: TrainingMetadata) -> str | None:
    """Why the session's dataset cannot be used as recorded (missing, changed), else None."""
    config = metadata.dataset_config
    if not config.primary_file:
        return "the session names no dataset file; relaunch it with --dataset"
    path = expand_user(config.primary_file)
    if not path.is_file():
        return f"dataset {path} not found; put it back, or relaunch with --dataset NEW_PATH"
    recorded = config.fingerprint
    if recorded is None:
        return None
    from engine.analysis.fingerprint import fingerprint_changes, fingerprint_file

    if path.stat().st_size != recorded.size_bytes:
        changes = [f"size {recorded.size_bytes} -> {path.stat().st_size} bytes"]
    else:
        current = fingerprint_file(path)
        changes = fingerprint_changes(recorded.model_copy(update={"rows": None}), current)
    if changes:
        return f"dataset {path.name} changed since the session was created ({'; '.join(changes)})"
    return None


def _unit_dirs(workspace: Workspace, metadata: TrainingMetadata) -> list[Path]:
    root = workspace.run_dir(metadata.session_id) / CHECKPOINTS_DIR_NAME
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir())


def assess_resume(
    workspace: Workspace, metadata: TrainingMetadata, *, force: bool = False
) -> ResumeAssessment:
    """Whether ``metadata``'s session can be resumed now, and if not, why."""
    session = metadata.session_id
    status = metadata.execution_status.status
    if status == "completed":
        return ResumeAssessment(
            False,
            f"session {session} is completed; resume only continues unfinished sessions — use"
            f" `llmtool-tui relaunch {session}` to train again",
        )

    newest = None
    for unit_dir in _unit_dirs(workspace, metadata):
        info = newest_complete(unit_dir)
        if info is not None and (
            newest is None or info.path.stat().st_mtime > newest.path.stat().st_mtime
        ):
            newest = info
    finished_units = any(
        (unit_dir / "unit_result.json").is_file() for unit_dir in _unit_dirs(workspace, metadata)
    )
    if status == "failed" and newest is None and not finished_units:
        return ResumeAssessment(
            False,
            f"session {session} failed before its first checkpoint: there is nothing to resume;"
            f" fix the cause ({metadata.execution_status.error_message or 'see its traceback'})"
            f" and use `llmtool-tui relaunch {session}`",
        )

    warnings: list[str] = []
    problem = dataset_blocker(metadata)
    if problem is not None:
        missing = not expand_user(metadata.dataset_config.primary_file or "").is_file()
        if missing or not force:
            fix = "" if missing else "; resume with --force to continue on the new data anyway"
            return ResumeAssessment(False, problem + fix)
        warnings.append(problem)

    planned = planned_torch_threads(metadata)
    used = newest.torch_threads if newest is not None else None
    if used is not None and planned is not None and used != planned:
        problem = (
            f"the checkpoints were written with {used} torch threads and this run would use"
            f" {planned}; the result would differ from an uninterrupted run"
        )
        if not force:
            return ResumeAssessment(False, problem + "; resume with --force to accept that")
        warnings.append(problem)
    problem = world_size_problem(metadata) if newest is not None else None
    if problem is not None:
        if not force:
            return ResumeAssessment(False, problem + "; resume with --force to accept that")
        warnings.append(problem)
    return ResumeAssessment(True, None, newest.path if newest else None, tuple(warnings))
