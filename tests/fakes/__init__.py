"""Test doubles of the engine tests: metadata files, and a fake worker (``tests.fakes.worker``)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.schema import DatasetConfig, ModelConfig, TrainingMetadata, TrainingSession
from engine.store import SessionStore
from engine.workspace import Workspace

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
FAKE_WORKER_MODULE = "tests.fakes.worker"


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
