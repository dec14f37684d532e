"""``llmtool-tui compare``: the app's comparison from a shell, as a table or JSON."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.facade import Engine
from engine.progress import EvaluationDone, ProgressWriter
from engine.schema import TrainingMetadata
from engine.store import SessionStore
from engine.workspace import Workspace
from llmtool_tui.cli import main

MakeMetadata = Callable[..., TrainingMetadata]


@pytest.fixture
def sessions(store: SessionStore, make_metadata: MakeMetadata, workspace: Workspace) -> list[Path]:
    """Two completed sessions, 3 and 5 epochs, newest first, the first one with evaluations."""
    paths = []
    for age, (timestamp, epochs, best_f1) in enumerate(
        [("20251005_120000", 3, 0.84), ("20251004_120000", 5, 0.79)]
    ):
        metadata = make_metadata(timestamp=timestamp, status="completed")
        metadata.training_model_config.epochs = epochs
        metadata.execution_status.best_f1 = best_f1
        path = store.create(metadata)
        os.utime(path, (1_800_000_000 - age * 60, 1_800_000_000 - age * 60))
        paths.append(path)
    writer = ProgressWriter(Engine(workspace).progress_path("train_20251005_120000"))
    for step, f1 in ((10, 0.7), (20, 0.84)):
        writer.write(
            EvaluationDone(
                model="camembert-base",
                step=step,
                epoch=step / 10,
                macro_f1=f1,
                per_class_f1={"positive": f1 + 0.05, "[red]neg\x1b[2J": f1 - 0.05},
            )
        )
    writer.close()
    return paths


def run(workspace: Workspace, *args: str) -> int:
    return main(["compare", *args, "--workspace", str(workspace.root)])


def test_compare_shows_results_first_then_only_what_differs(
    sessions: list[Path], workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    # By history number and by id: the resolver of every command.
    assert run(workspace, "1", "train_20251004_120000") == 0
    out = capsys.readouterr().out
    assert "train_20251005_120000" in out and "train_20251004_120000" in out
    assert out.index("Best F1") < out.index("Best evaluation") < out.index("≠ Epochs")
    assert "0.840" in out and "epoch 2 · step 20" in out
    # A class name from the progress file, escaped, never obeyed.
    assert "F1 [red]neg\\x1b[2J" in out and "\x1b" not in out
    # Only what differs: not what is the same, nor what always differs (ids, times, paths).
    for left_out in ("Batch Size", "Session ID", "Timestamp", "Results CSV"):
        assert left_out not in out
    assert "1 of " in out and "`--all` shows every one" in out

    assert run(workspace, "1", "2", "--all") == 0
    out = capsys.readouterr().out
    assert "  Batch Size" in out and "  Session ID" in out and "≠ Epochs" in out


def test_compare_json_has_everything(
    sessions: list[Path], workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(workspace, "1", "2", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert [s["session_id"] for s in data["sessions"]] == [
        "train_20251005_120000",
        "train_20251004_120000",
    ]
    assert data["sessions"][0]["best_evaluation"]["step"] == 20
    results = {row["name"]: row for row in data["results"]}
    assert results["Best F1"]["scores"] == [0.84, 0.79]
    assert results["F1 [red]neg\x1b[2J"]["values"] == ["0.790", "-"]
    parameters = {row["name"]: row for row in data["parameters"]}
    assert parameters["Epochs"] == {
        "name": "Epochs",
        "values": ["3", "5"],
        "differs": True,
        "identity": False,
    }
    assert parameters["Session ID"]["identity"] and not parameters["Session ID"]["differs"]
    assert data["curves"] == [
        {"label": "train_20251005_120000", "points": [[1.0, 0.7], [2.0, 0.84]]}
    ]
    assert data["x_axis"] == "epoch"


def test_compare_refuses_one_session_and_names_an_unreadable_one(
    sessions: list[Path], workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(workspace, "1") == 2
    assert "compare needs two or more sessions (got 1)" in capsys.readouterr().err
    assert run(workspace, "1", "train_19990101_000000") == 2
    assert "train_19990101_000000" in capsys.readouterr().err
    broken = workspace.sessions_dir / "broken.json"
    broken.write_text("{", encoding="utf-8")
    assert run(workspace, "1", "2", str(broken)) == 2
    captured = capsys.readouterr()
    assert "broken.json" in captured.err
    # The others are still compared.
    assert "train_20251005_120000" in captured.out
