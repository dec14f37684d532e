"""Headless ``sessions``, ``show`` and ``schema`` commands, and the command line's conventions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.facade import Engine
from engine.schema import TrainingMetadata
from engine.store import SessionStore
from engine.workspace import Workspace
from llmtool_tui.cli import main

MakeMetadata = Callable[..., TrainingMetadata]


def _seed(store: SessionStore, make_metadata: MakeMetadata) -> list[Path]:
    paths = [
        store.create(make_metadata("20251005_234530", "completed", "camembert-base", "quick")),
        store.create(
            make_metadata(
                "20251005_223000",
                "pending",
                "xlm-roberta-base",
                "benchmark",
                "/d/training_data.jsonl",
            )
        ),
        store.create(
            make_metadata(
                "20251005_180000", "completed", "bert", "distributed", "/d/multilabel_data.jsonl"
            )
        ),
    ]
    for age, path in enumerate(paths):
        os.utime(path, (1_800_000_000 - age * 60, 1_800_000_000 - age * 60))
    return paths


def test_sessions_json(
    store: SessionStore,
    workspace: Workspace,
    make_metadata: MakeMetadata,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _seed(store, make_metadata)
    (store.directory / "broken.json").write_text("{")
    assert main(["sessions", "--json", "--workspace", str(workspace.root)]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = data["sessions"]
    assert [r["index"] for r in rows] == [1, 2, 3]
    assert rows[0] == {
        "index": 1,
        "session_id": "train_20251005_234530",
        "file": "training_metadata_20251005_234530.json",
        "date": "2025-10-05 23:45",
        "mode": "quick",
        "dataset": "annotated_data.csv",
        "model": "camembert-base",
        "status": "completed",
        "best_f1": None,
    }
    assert rows[2]["model"] == "(multiple)"
    assert data["unreadable"] == [
        {
            "file": "broken.json",
            "error": "invalid JSON at line 1 column 1: EOF while parsing an object",
        }
    ]


def test_sessions_table_and_workspace_before_subcommand(
    store: SessionStore,
    workspace: Workspace,
    make_metadata: MakeMetadata,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _seed(store, make_metadata)
    assert main(["--workspace", str(workspace.root), "sessions", "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert "Previous Training Sessions (2 most recent)" in out
    assert "✓ completed" in out and "⏸ pending" in out
    assert "multilabel_data" not in out
    assert "3 files in all" in out


def test_sessions_uses_environment_workspace(
    store: SessionStore,
    workspace: Workspace,
    make_metadata: MakeMetadata,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _seed(store, make_metadata)
    monkeypatch.setenv("LLMTOOL_WORKSPACE", str(workspace.root))
    assert main(["sessions", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["sessions"]) == 3


def test_sessions_in_a_fresh_workspace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sessions", "-w", str(tmp_path)]) == 0
    assert "No training sessions found" in capsys.readouterr().out


def test_show_by_index_id_and_file(
    store: SessionStore,
    workspace: Workspace,
    make_metadata: MakeMetadata,
    capsys: pytest.CaptureFixture[str],
) -> None:
    paths = _seed(store, make_metadata)
    for reference in ("1", "train_20251005_234530", paths[0].name, str(paths[0])):
        assert main(["show", reference, "--json", "-w", str(workspace.root)]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["metadata"]["training_session"]["session_id"] == "train_20251005_234530"
        assert data["status"] == "completed"
        assert data["resumable"] is False
        assert "relaunch" in data["resume_blocker"]
    assert main(["show", "2", "-w", str(workspace.root)]) == 0
    out = capsys.readouterr().out
    assert "Selected Session Details" in out
    for row in (
        "Timestamp",
        "Workflow",
        "Strategy",
        "Total Samples",
        "Training Mode",
        "Epochs",
        "Batch Size",
        "xlm-roberta-base",
    ):
        assert row in out


def test_show_unknown_session_is_bad_input(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", "train_nope", "-w", str(workspace.root)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("llmtool-tui: error: no session matches 'train_nope'")
    assert "\n" not in err


def test_show_unreadable_file_is_bad_input_with_reason(
    store: SessionStore, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    (store.directory / "broken.json").write_text('{"training_session": 3}')
    assert main(["show", "broken.json", "-w", str(workspace.root)]) == 2
    assert "invalid field" in capsys.readouterr().err


def test_schema_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert {"training_session", "model_config", "execution_status"} <= set(schema["properties"])


def test_console_script_and_module_agree(workspace: Workspace) -> None:
    root = Path(__file__).resolve().parent.parent
    via_module = subprocess.run(
        [sys.executable, "-m", "llmtool_tui", "sessions", "--json", "-w", str(workspace.root)],
        capture_output=True,
        text=True,
        cwd=root,
        check=True,
    )
    script = Path(sys.executable).with_name("llmtool-tui")
    via_script = subprocess.run(
        [str(script), "sessions", "--json", "-w", str(workspace.root)],
        capture_output=True,
        text=True,
        cwd=root,
        check=True,
    )
    assert (
        json.loads(via_module.stdout)
        == json.loads(via_script.stdout)
        == {"sessions": [], "unreadable": []}
    )


def test_bad_limit_is_one_line_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["sessions", "--limit", "0", "-w", str(tmp_path)]) == 2
    assert "--limit must be at least 1" in capsys.readouterr().err


def test_sessions_filter_searches_all_sessions_and_keeps_history_numbers(
    store: SessionStore,
    workspace: Workspace,
    make_metadata: MakeMetadata,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _seed(store, make_metadata)
    ws = ["-w", str(workspace.root)]
    assert main(["sessions", "--json", "--filter", "mode:distributed", *ws]) == 0
    rows = json.loads(capsys.readouterr().out)["sessions"]
    assert [(r["index"], r["dataset"]) for r in rows] == [(3, "multilabel_data.jsonl")]
    assert main(["sessions", "--filter", "status:pending", "--limit", "1", *ws]) == 0
    out = capsys.readouterr().out
    assert "Previous Training Sessions (filter: status:pending)" in out
    assert "⏸ pending" in out and "completed" not in out
    assert main(["sessions", "--filter", "colour:red", *ws]) == 2
    assert "colour" in capsys.readouterr().err


def test_a_local_model_is_listed_by_name_and_its_path_is_kept_in_json_and_show(
    store: SessionStore,
    workspace: Workspace,
    make_metadata: MakeMetadata,
    capsys: pytest.CaptureFixture[str],
) -> None:
    local_model = "/home/researcher/checkpoints/demo-bert"
    store.create(make_metadata("20251005_234530", "completed", local_model))
    ws = ["-w", str(workspace.root)]
    assert main(["sessions", *ws]) == 0
    out = capsys.readouterr().out
    assert "demo-bert" in out and "researcher" not in out
    assert main(["sessions", "--json", *ws]) == 0
    (row,) = json.loads(capsys.readouterr().out)["sessions"]
    assert row["model"] == local_model
    # The search still finds the session by any part of the path.
    assert main(["sessions", "--json", "--filter", "model:researcher", *ws]) == 0
    assert len(json.loads(capsys.readouterr().out)["sessions"]) == 1
    assert main(["show", "1", *ws]) == 0
    out = capsys.readouterr().out
    assert "Model Path" in out and "researcher" in out


def test_best_f1_column_and_sort_keep_history_numbers_and_notes_move_nothing(
    store: SessionStore,
    workspace: Workspace,
    make_metadata: MakeMetadata,
    capsys: pytest.CaptureFixture[str],
) -> None:
    paths = _seed(store, make_metadata)
    for path, best_f1 in zip(paths, (0.812, None, 0.9), strict=True):
        mtime = path.stat().st_mtime_ns
        # Through the store's locked update, keeping the order of _seed.
        store.update(
            path,
            lambda m, f1=best_f1: setattr(m.execution_status, "best_f1", f1),
            keep_mtime=True,
        )
        assert path.stat().st_mtime_ns == mtime
    ws = ["-w", str(workspace.root)]
    assert main(["sessions", *ws]) == 0
    out = capsys.readouterr().out
    assert "Best F1" in out
    assert [line.split()[-1] for line in out.splitlines() if "2025-10-05" in line] == [
        "0.812",
        "-",
        "0.900",
    ]

    assert main(["sessions", "--sort", "best-f1", "--json", *ws]) == 0
    rows = json.loads(capsys.readouterr().out)["sessions"]
    assert [(row["index"], row["best_f1"]) for row in rows] == [(3, 0.9), (1, 0.812), (2, None)]

    # A note saved from another terminal moves no session: `show 2` names the same one.
    assert main(["show", "2", "--json", *ws]) == 0
    second = json.loads(capsys.readouterr().out)["file"]
    Engine(workspace).save_notes(paths[2], notes="the oldest, annotated", tags=["paper"])
    assert main(["show", "2", "--json", *ws]) == 0
    assert json.loads(capsys.readouterr().out)["file"] == second
