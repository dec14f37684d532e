"""Disk full during a checkpoint: a clear failure, the last checkpoint survives, resume works.

The workspace is a small tmpfs (``mount -t tmpfs``, which needs root): the real worker trains the
tiny model, is killed right after its first checkpoint, then the disk is filled so that the next
checkpoint cannot be written. The resumed run must end ``failed`` with a one-line error naming
the cause (the traceback goes to traceback.txt, not to the message), must leave the first
checkpoint complete, and a resume once space is freed must complete the training.

The half-written checkpoint takes the last free bytes: the worker frees the space of incomplete
checkpoints before recording the failure, and names the cause ("disk full while saving a
checkpoint: free space, then resume").
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.schema import ExecutionStatus
from engine.sessions.checkpoints import newest_complete, validate_checkpoint
from tests.test_training_support import (
    KILLED,
    build_tiny_model,
    dataset_config,
    load,
    make_session,
    new_workspace,
    run_dir,
    run_worker,
    tiny_model_config,
    write_tiny_dataset,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

TMPFS_SIZE = "64m"
EXIT_FAILED = 1


@contextmanager
def small_disk(mount_point: Path) -> Iterator[Path]:
    """A 64 MB tmpfs mounted there; the test is skipped only where mounting is not permitted."""
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def free_bytes(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


@dataclass
class DiskFullRun:
    """One session through the scenario: killed after checkpoint 1, resumed on a full disk."""

    survivor: Path
    survivor_complete_after_full_disk: bool
    full_disk_run: subprocess.CompletedProcess[str]
    after_full_disk: ExecutionStatus
    newest_after_full_disk: Path | None
    resumed_after_freeing: subprocess.CompletedProcess[str]
    final: ExecutionStatus


@pytest.fixture(scope="module")
def disk_full_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DiskFullRun]:
    root = tmp_path_factory.mktemp("disk-full")
    # Model and data live on the big disk: only the workspace (run dir, checkpoints) is small.
    model = build_tiny_model(root / "tiny")
    dataset = write_tiny_dataset(root / "data.csv")
    with small_disk(root / "small-disk") as disk:
        workspace = new_workspace(disk / "ws")
        path = make_session(workspace, dataset_config(dataset), tiny_model_config([model]))
        first = run_worker(path, kill_at="after_checkpoint:1")
        assert first.returncode == KILLED, first.stdout + first.stderr
        unit_dirs = [p for p in (run_dir(path) / "checkpoints").iterdir() if p.is_dir()]
        assert len(unit_dirs) == 1
        survivor = newest_complete(unit_dirs[0])
        assert survivor is not None
        checkpoint_size = sum(p.stat().st_size for p in survivor.path.iterdir())

        # Room for the metadata, progress and log writes of a run, not for a checkpoint.
        filler = disk / "filler"
        with filler.open("wb") as handle:
            os.posix_fallocate(handle.fileno(), 0, free_bytes(disk) - checkpoint_size // 3)
        assert free_bytes(disk) < checkpoint_size
        full = run_worker(path, resume=True)
        after_full = load(path).execution_status
        newest = newest_complete(unit_dirs[0])
        survivor_complete = validate_checkpoint(survivor.path) is not None

        filler.unlink()
        resumed = run_worker(path, resume=True)
        yield DiskFullRun(
            survivor=survivor.path,
            survivor_complete_after_full_disk=survivor_complete,
            full_disk_run=full,
            after_full_disk=after_full,
            newest_after_full_disk=newest.path if newest else None,
            resumed_after_freeing=resumed,
            final=load(path).execution_status,
        )


def test_the_last_checkpoint_survives_a_full_disk_and_resume_works_once_freed(
    disk_full_run: DiskFullRun,
) -> None:
    run = disk_full_run
    output = run.full_disk_run.stdout + run.full_disk_run.stderr
    assert run.full_disk_run.returncode != 0, output[-3000:]
    assert "No space left on device" in (run.after_full_disk.error_message or "")
    # The checkpoint written before the disk filled is still complete and is the newest one.
    assert run.survivor_complete_after_full_disk
    assert run.newest_after_full_disk == run.survivor
    resumed = run.resumed_after_freeing
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert run.final.status == "completed"
    assert run.final.resume_count == 2


def test_a_full_disk_fails_the_session_with_a_one_line_error(disk_full_run: DiskFullRun) -> None:
    run = disk_full_run
    assert run.full_disk_run.returncode == EXIT_FAILED
    status = run.after_full_disk
    assert status.status == "failed"
    message = status.error_message or ""
    assert "No space left on device" in message, message
    assert "\n" not in message and "Traceback" not in message
