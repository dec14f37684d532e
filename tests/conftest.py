"""Shared fixtures: a temporary workspace, metadata factories, the example document."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.schema import TrainingMetadata
from engine.store import SessionStore
from engine.workspace import Workspace

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_FILE = Path(__file__).parent / "data" / "example-training-metadata.json"

# No test may reach the Hugging Face hub: models are built locally by the tests.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def example_document() -> dict[str, Any]:
    """The specification's example metadata document (a verbatim copy kept in tests/data)."""
    return json.loads(EXAMPLE_FILE.read_text(encoding="utf-8"))


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """An empty workspace with its log directories."""
    ws = Workspace(tmp_path / "ws")
    ws.root.mkdir()
    ws.ensure()
    return ws


@pytest.fixture
def store(workspace: Workspace) -> SessionStore:
    return SessionStore(workspace)


@pytest.fixture
def make_metadata(example_document: dict[str, Any]) -> Callable[..., TrainingMetadata]:
    """Build a metadata document from the example, with a given timestamp/status/model."""

    def build(
        timestamp: str = "20260101_120000",
        status: str = "pending",
        model: str = "camembert-base",
        mode: str = "quick",
        dataset: str = "/data/annotated_data.csv",
    ) -> TrainingMetadata:
        document = json.loads(json.dumps(example_document))
        document["training_session"]["timestamp"] = timestamp
        document["training_session"]["session_id"] = f"train_{timestamp}"
        document["execution_status"] = {"status": status, "started_at": None}
        document["model_config"]["selected_model"] = model
        document["model_config"]["training_mode"] = mode
        document["dataset_config"]["primary_file"] = dataset
        return TrainingMetadata.from_document(document)

    return build


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """A two-row labelled CSV (enough for sessions that point at an existing dataset)."""
    path = tmp_path / "annotated_data.csv"
    path.write_text("text,label\nbonjour,positive\nau revoir,negative\n", encoding="utf-8")
    return path
