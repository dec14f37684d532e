"""Test doubles of the engine tests: metadata files, and a fake worker (``tests.fakes.worker``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

from engine.schema import DatasetConfig, ModelConfig, TrainingMetadata, TrainingSession
from engine.store import SessionStore
from engine.workspace import Workspace

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
FAKE_WORKER_MODULE = "tests.fakes.worker"
#: ``python -m tests.fakes.idle METADATA``: a process that stands for a worker of METADATA when
#: liveness is checked with ``worker_module=IDLE_MODULE``; it does nothing until killed.
IDLE_MODULE = "tests.fakes.idle"


def session_metadata(timestamp: str = "20250101_120000", **status: Any) -> TrainingMetadata:
    """A minimal valid session; ``status`` sets execution_status fields."""
    metadata = TrainingMetadata(
        training_session=TrainingSession(timestamp=timestamp),
        dataset_config=DatasetConfig(primary_file="data.csv", text_column="text"),
        training_model_config=ModelConfig(selected_model="tiny-bert"),
    )
    for name, value in status.items():
        setattr(metadata.execution_status, name, value)
    return metadata


def make_session(workspace: Workspace, timestamp: str = "20250101_120000", **status: Any) -> Path:
    """Create a session file through the store and return its path."""
    workspace.ensure()
    return SessionStore(workspace).create(session_metadata(timestamp, **status))


def model_folder(path: Path) -> Path:
    """A model folder that passes the availability check (config and weights present); nothing
    the tests that use it runs loads it."""
    path.mkdir(parents=True)
    (path / "config.json").write_text('{"model_type": "bert"}')
    (path / "model.safetensors").write_bytes(b"")
    return path


def worker_env(**variables: str) -> dict[str, str]:
    """os.environ plus the repository on PYTHONPATH (to find the fake worker) and ``variables``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if part
    )
    env.update(variables)
    return env


def stamp(index: int) -> str:
    """A distinct session timestamp for ``index`` (one second apart)."""
    base = datetime(2025, 1, 1, 12, 0, 0).timestamp()
    return datetime.fromtimestamp(base + index).strftime("%Y%m%d_%H%M%S")


@contextmanager
def idle_process(metadata_path: Path | str, module: str = IDLE_MODULE) -> Iterator[psutil.Process]:
    """A process running ``python -m module metadata_path`` for the duration of the block.

    It is ready when yielded: started, and (for IDLE_MODULE) past its imports with its SIGTERM
    handler set, so that a slow start on a loaded machine cannot make a test see it half-born.
    """
    child = subprocess.Popen(
        [sys.executable, "-m", module, str(metadata_path)],
        env=worker_env(),
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE if module == IDLE_MODULE else None,
    )
    try:
        if child.stdout is not None:
            ready = child.stdout.readline()
            assert ready == b"ready\n", f"{module} did not start: exit {child.poll()}"
        yield psutil.Process(child.pid)
    finally:
        child.kill()
        child.wait()


def running_as(process: psutil.Process, **fields: Any) -> dict[str, Any]:
    """The execution_status of a session that ``process`` runs on this host."""
    from engine.liveness import current_host

    return {
        "status": "running",
        "pid": process.pid,
        "host": current_host(),
        "process_started_at": process.create_time(),
        **fields,
    }


def record_running(workspace: Workspace, path: Path, process: psutil.Process) -> None:
    """Write into a session's file that ``process`` runs it on this host."""

    def mutate(metadata: TrainingMetadata) -> None:
        for name, value in running_as(process).items():
            setattr(metadata.execution_status, name, value)

    SessionStore(workspace).update(path, mutate)
