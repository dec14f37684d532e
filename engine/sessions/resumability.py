"""Whether a session can be resumed, and if not, why (one line naming the fix).

A session can be resumed when it is incomplete: pending, running with a dead worker,
interrupted, or failed after writing a complete checkpoint. It cannot when it is completed
(relaunch it instead), still running, failed before any checkpoint (nothing to resume), or when
resuming would not continue the same training: the dataset is missing or its content changed, a
model is not on this machine, or torch would use another thread count or world size than the
checkpoints were written with (1 and 2 threads already give different weights), or another
precision (fp32, bf16 or fp16 mixed). ``force`` accepts a changed dataset, thread count, world size
or precision; a missing dataset is located
(``Engine.locate_dataset``), a missing model is given by importing the session's template again
with its path.

Cost: a few file reads, plus one sha256 pass over the dataset when its size is unchanged (about
1 s per GB); no torch import.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.errors import Obstacle, Remedy
from engine.files import expand_user
from engine.schema import Precision, TrainingMetadata
from engine.sessions.checkpoints import CHECKPOINTS_DIR_NAME, newest_complete
from engine.workspace import WORKSPACE_ENV, Workspace

#: Overrides the thread count of a session that has none recorded yet (its first run).
THREADS_ENV = "LLMTOOL_TORCH_THREADS"
UNSAVED_METADATA_NAME = "metadata.json"


@dataclass(frozen=True)
class ResumeAssessment:
    """The answer of ``assess_resume``."""

    resumable: bool
    obstacle: Obstacle | None = None
    """Why not, with what to do instead (None when resumable)."""
    checkpoint: Path | None = None
    """Newest complete checkpoint of the unit that resumes (None: it starts from the beginning)."""
    warnings: tuple[str, ...] = ()
    """What ``force`` overrode."""

    @property
    def blocker(self) -> str | None:
        """Why not, in the shell's words (None when resumable)."""
        return None if self.obstacle is None else str(self.obstacle)


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


#: The fix of a difference that only ``force`` accepts.
_FORCE = Remedy(
    shell="resume with --force to accept that", app="press r to resume anyway, after a warning"
)


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


def _world_size_blocker(metadata: TrainingMetadata) -> Obstacle | None:
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
    return Obstacle(
        f"the checkpoints were written by {used} training process(es) and this run would use"
        f" {planned}: the global batch goes from {used * batch} to {planned * batch} rows, so the"
        " steps per epoch, the data order from the checkpoint on and the learning-rate schedule"
        " change, and ranks without a saved RNG state start from a fresh one; the result would"
        f" differ from an uninterrupted run (set nproc_per_node/nnodes back to a world of {used})",
        _FORCE,
        "forceable",
    )


def dataset_blocker(metadata: TrainingMetadata) -> Obstacle | None:
    """Why the session's dataset cannot be used as recorded (missing, changed), else None."""
    config = metadata.dataset_config
    if not config.primary_file:
        return Obstacle(
            "the session names no dataset file",
            Remedy(
                shell="relaunch it with --dataset PATH", app="press e to relaunch it on a dataset"
            ),
        )
    path = expand_user(config.primary_file)
    if not path.is_file():
        return Obstacle(
            f"dataset {path} not found",
            Remedy(
                shell="resume with --dataset NEW_PATH if it moved (the same file is checked),"
                " or relaunch with --dataset NEW_PATH to train on other data",
                app="press r to give its new location",
            ),
            "dataset-missing",
        )
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
        return Obstacle(
            f"dataset {path.name} changed since the session was created ({'; '.join(changes)})",
            Remedy(
                shell="resume with --force to continue on the new data anyway, or relaunch",
                app="press r to resume on the new data anyway, or l to relaunch",
            ),
            "forceable",
        )
    return None


def model_blocker(metadata: TrainingMetadata) -> Obstacle | None:
    """Why a model of the session is not on this machine, else None.

    Read from the disk only (no network): a local directory must exist; a name that was a local
    directory where an imported template was made (``imported.local_models``) is not a hub id and
    must be given. Hub ids are left to the worker, which may download them.
    """
    from engine.sessions.models import model_on_this_machine

    local_elsewhere = set(imported_local_models(metadata))
    for model in metadata.training_model_config.models():
        problem = model_on_this_machine(model, local_elsewhere=model in local_elsewhere)
        if problem is not None:
            return Obstacle(
                problem,
                Remedy(
                    shell="import the session's template again with --model PATH (or relaunch"
                    " with --model)",
                    app="import the template again (i in the history) with the model's folder",
                ),
                "model-missing",
            )
    return None


def imported_local_models(metadata: TrainingMetadata) -> list[str]:
    """Models that were local directories where the session's template was exported.

    Recorded by an import (``imported.local_models``); anything else there is ignored.
    """
    imported = (metadata.model_extra or {}).get("imported")
    names = imported.get("local_models") if isinstance(imported, dict) else None
    return [name for name in names if isinstance(name, str)] if isinstance(names, list) else []


def _unit_dirs(workspace: Workspace, metadata: TrainingMetadata) -> list[Path]:
    root = workspace.run_dir(metadata.session_id) / CHECKPOINTS_DIR_NAME
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir())


def assess_resume(
    workspace: Workspace,
    metadata: TrainingMetadata,
    *,
    force: bool = False,
    precision: Precision | None = None,
) -> ResumeAssessment:
    """Whether ``metadata``'s session can be resumed now, and if not, why.

    ``precision`` is the one this run would train in, as the worker resolved it on its hardware;
    without it (the front ends, which do not import torch), a session set to ``auto`` is left
    to the worker to check.
    """
    session = metadata.session_id
    status = metadata.execution_status.status
    if status == "completed":
        return _refused(
            f"session {session} is completed; resume only continues unfinished sessions",
            Remedy(
                shell=f"use `llmtool-tui relaunch {session}` to train again",
                app="press l to train again as a new session",
            ),
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
        cause = metadata.execution_status.error_message or "see its traceback"
        return _refused(
            f"session {session} failed before its first checkpoint: there is nothing to resume",
            Remedy(
                shell=f"fix the cause ({cause}) and use `llmtool-tui relaunch {session}`",
                app=f"fix the cause ({cause}) and press l to relaunch",
            ),
        )

    warnings: list[str] = []
    obstacles = [dataset_blocker(metadata), model_blocker(metadata)]
    if newest is not None:
        obstacles += [
            _threads_blocker(metadata, newest.torch_threads),
            _world_size_blocker(metadata),
            _precision_blocker(metadata, precision),
        ]
    for obstacle in obstacles:
        if obstacle is None:
            continue
        if obstacle.kind != "forceable" or not force:
            return ResumeAssessment(False, obstacle)
        warnings.append(obstacle.problem)
    return ResumeAssessment(True, None, newest.path if newest else None, tuple(warnings))


def _refused(problem: str, remedy: Remedy) -> ResumeAssessment:
    return ResumeAssessment(False, Obstacle(problem, remedy))


def _threads_blocker(metadata: TrainingMetadata, used: int | None) -> Obstacle | None:
    planned = planned_torch_threads(metadata)
    if used is None or planned is None or used == planned:
        return None
    return Obstacle(
        f"the checkpoints were written with {used} torch threads and this run would use"
        f" {planned}; the result would differ from an uninterrupted run",
        _FORCE,
        "forceable",
    )


#: How each precision is named in a refusal.
_PRECISION_NAMES: dict[str, str] = {
    "fp32": "fp32",
    "bf16": "bf16 mixed precision",
    "fp16": "fp16 mixed precision",
}


def _precision_blocker(metadata: TrainingMetadata, resolved: Precision | None) -> Obstacle | None:
    """What changes when this run's precision differs from the checkpoints', else None.

    The weights and optimizer states are kept in fp32 either way, so the checkpoint loads; but
    every step from it on rounds differently (and fp16's loss scale starts over), so the result
    can no longer equal an uninterrupted run's.
    """
    setting = metadata.training_model_config.precision
    planned = resolved or (None if setting == "auto" else setting)
    # Sessions recorded before precision existed trained in fp32.
    used = (metadata.environment.precision if metadata.environment else None) or "fp32"
    if planned is None or planned == used:
        return None
    scale = (
        ", and fp16's loss scale starts again from its initial value (the first steps may be"
        " skipped as overflows)"
        if planned == "fp16"
        else ""
    )
    back = (
        f"precision auto chose {planned} on this machine: resume where it chooses {used}, or set"
        f" model_config.precision to {used}"
        if setting == "auto"
        else f"set model_config.precision back to {used}"
    )
    return Obstacle(
        f"the checkpoints were written in {_PRECISION_NAMES[used]} and this run would train in"
        f" {_PRECISION_NAMES[planned]}: every step from the checkpoint on rounds differently"
        f"{scale}, so the result would differ from an uninterrupted run ({back})",
        _FORCE,
        "forceable",
    )
