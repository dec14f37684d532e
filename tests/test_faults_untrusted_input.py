"""A collaborator's hostile metadata file: shown literally, never executed, never a place to write.

The files are dropped into ``logs/training_sessions/`` by atomic rename, as a sync tool would.
They hold Rich/Textual markup in names, paths outside the workspace, ``trust_remote_code`` at two
depths, a 5 MB notes string and a deeply nested value. The listing, ``show --json``, the app's
history and detail screens must show every name as written (brackets included); nothing may be
written outside the workspace; and no model loader may ever be given ``trust_remote_code``.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.widgets import Static

from engine.facade import Engine
from engine.rows import short_model_name
from engine.store import atomic_write_json
from engine.workspace import Workspace
from llmtool_tui.app import make_app
from llmtool_tui.screens import DetailScreen
from llmtool_tui.screenshots import wait_until
from llmtool_tui.widgets import SessionTable
from tests.fakes import REPO_ROOT
from tests.pilots import open_detail, wait_for_screen

pytestmark = pytest.mark.slow

MARKUP_MODEL = "[red]x[/red]"
LINK_MODEL = "[link=file:///etc/passwd]m[/link]"
LINK_TAG = "[link=file:///etc/passwd]tag"
HUGE_NOTES = "[bold]not bold[/bold] " + "n" * 5_000_000
#: Deep, but within the 200 levels a session file may nest (deeper is refused as unreadable:
#: see tests/test_hostile_files.py).
NESTING = 190
ENGINE_DIR = REPO_ROOT / "engine"


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": "[blink]deep[/blink]"}
    for _ in range(depth):
        value = {"level": value}
    return value


def hostile_document(
    example: dict[str, Any], timestamp: str, session_id: str, model_name: str
) -> dict[str, Any]:
    document = json.loads(json.dumps(example))
    document["training_session"].update(timestamp=timestamp, session_id=session_id)
    document["execution_status"] = {"status": "completed"}
    document["dataset_config"]["primary_file"] = "/etc/passwd"
    model = document["model_config"]
    model.update(
        selected_model=model_name,
        selected_models=[model_name],
        training_mode="quick",
        trust_remote_code=True,
        loader_options={"kwargs": {"trust_remote_code": True}},
    )
    document["output_paths"] = {
        "run_dir": "../../x",
        "models_dir": "/etc",
        "results_csv": "../../x/results.csv",
    }
    document["notes"] = HUGE_NOTES
    document["tags"] = [LINK_TAG]
    document["collaborator_extra"] = nested(NESTING)
    return document


def files_under(root: Path, skip: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` outside ``skip``: size and modification time."""
    found = {}
    for directory, subdirectories, names in os.walk(root):
        if Path(directory) == skip:
            subdirectories.clear()
            continue
        subdirectories[:] = [d for d in subdirectories if Path(directory, d) != skip]
        for name in names:
            stat = Path(directory, name).lstat()
            found[str(Path(directory, name))] = (stat.st_size, stat.st_mtime_ns)
    return found


def cli(workspace: Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmtool_tui", *args, "--workspace", str(workspace.root)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def plain(renderable: object) -> str:
    console = Console(width=240, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


@pytest.fixture
def hostile_workspace(tmp_path: Path, example_document: dict[str, Any]) -> Workspace:
    # Deep enough that "../../x" from the workspace or its sessions folder stays in tmp_path.
    workspace = Workspace(tmp_path / "a" / "b" / "ws")
    workspace.root.mkdir(parents=True)
    workspace.ensure()
    for age, (timestamp, session_id, model_name) in enumerate(
        (
            ("20260101_120000", "train_20260101_120000", MARKUP_MODEL),
            ("20260101_110000", "../../x", LINK_MODEL),
        )
    ):
        document = hostile_document(example_document, timestamp, session_id, model_name)
        # Written beside, then renamed in: how a sync tool or a collaborator's copy lands.
        staging = workspace.root / f"incoming_{timestamp}.json"
        atomic_write_json(staging, document)
        os.utime(staging, (1_700_000_000 - age, 1_700_000_000 - age))  # the first is newest
        os.replace(staging, workspace.sessions_dir / f"training_metadata_{timestamp}.json")
    return workspace


async def test_hostile_metadata_is_shown_literally_and_nothing_is_written_outside(
    tmp_path: Path, hostile_workspace: Workspace
) -> None:
    workspace = hostile_workspace
    passwd = Path("/etc/passwd").stat()
    before = files_under(tmp_path, skip=workspace.root)

    listing = cli(workspace, "sessions", "--json")
    assert listing.returncode == 0, listing.stderr
    rows = json.loads(listing.stdout)["sessions"]
    assert len(rows) == 2, listing.stdout[:2000]
    assert {row["session_id"] for row in rows} == {"train_20260101_120000", "../../x"}
    assert MARKUP_MODEL in listing.stdout and LINK_MODEL in listing.stdout

    shown = cli(workspace, "show", "train_20260101_120000", "--json")
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    text = json.dumps(document)
    for literal in (MARKUP_MODEL, LINK_TAG, "/etc/passwd", "../../x"):
        assert literal in text
    assert HUGE_NOTES in text
    table = cli(workspace, "show", "1")
    assert table.returncode == 0, table.stderr
    assert MARKUP_MODEL in table.stdout and "/etc/passwd" in table.stdout

    async with make_app(Engine(workspace)).run_test(size=(240, 60)) as pilot:
        detail = await open_detail(pilot, "1")
        history = pilot.app.screen_stack[-2]
        session_table = history.query_one(SessionTable)
        cells = [
            plain(session_table.get_cell(row.key, column).__rich__())
            for row in session_table.shown_rows
            for column in ("model", "dataset")
        ]
        assert any(MARKUP_MODEL in cell for cell in cells), cells
        # Its slashes make the link a local path to the history, which shows its last part; its
        # detail shows it whole (Model Path), literally too.
        assert any(short_model_name(LINK_MODEL) in cell for cell in cells), cells
        detail_text = plain(detail.query_one("#detail-table", Static).content)
        for literal in (MARKUP_MODEL, LINK_TAG, "/etc/passwd"):
            assert literal in detail_text, literal
        await pilot.press("escape", "2")
        detail = await wait_for_screen(pilot, DetailScreen)
        await wait_until(pilot, lambda: detail.view is not None)
        assert LINK_MODEL in plain(detail.query_one("#detail-table", Static).content)

    assert files_under(tmp_path, skip=workspace.root) == before
    assert not (workspace.root.parent.parent / "x").exists()
    assert Path("/etc/passwd").stat().st_mtime_ns == passwd.st_mtime_ns
    # A hostile session id names no folder outside the workspace's run directories.
    assert workspace.run_dir("../../x").parent == workspace.runs_dir


def from_pretrained_calls() -> list[tuple[str, ast.Call]]:
    calls = []
    for source in sorted(ENGINE_DIR.rglob("*.py")):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "from_pretrained"
            ):
                calls.append((f"{source.relative_to(REPO_ROOT)}:{node.lineno}", node))
    return calls


def test_no_model_loader_is_ever_given_trust_remote_code() -> None:
    """Every from_pretrained call of the engine names its arguments: none can come from a file.

    A ``**kwargs`` built from the metadata could smuggle ``trust_remote_code`` in; a literal
    ``trust_remote_code=True`` would switch it on for everyone.
    """
    calls = from_pretrained_calls()
    assert len(calls) >= 2  # the worker's tokenizer and model loads at least
    for where, call in calls:
        for keyword in call.keywords:
            assert keyword.arg is not None, f"{where}: **kwargs passed to from_pretrained"
            if keyword.arg == "trust_remote_code":
                assert isinstance(keyword.value, ast.Constant) and keyword.value.value is False, (
                    f"{where}: trust_remote_code must never be true"
                )


def test_import_drops_trust_remote_code_at_every_depth(
    tmp_path: Path, hostile_workspace: Workspace
) -> None:
    source = hostile_workspace.sessions_dir / "training_metadata_20260101_120000.json"
    document = json.loads(source.read_text(encoding="utf-8"))
    document["collaborator_extra"] = nested(3)  # the import refuses nesting deeper than 64
    shared = tmp_path / "from_a_collaborator.json"
    shared.write_text(json.dumps(document), encoding="utf-8")

    # A fresh workspace: in the hostile one, the file's session is already there (same uuid) and
    # the import would rightly return it instead of creating one.
    workspace = Workspace(tmp_path / "fresh")
    workspace.root.mkdir()
    workspace.ensure()
    imported = cli(workspace, "import", str(shared), "--json")
    assert imported.returncode == 0, imported.stderr
    result = json.loads(imported.stdout)
    assert result["created"] is True
    new_path = Path(result["file"])
    assert new_path.parent == workspace.sessions_dir
    text = new_path.read_text(encoding="utf-8")
    assert "trust_remote_code" not in text
    model = json.loads(text)["model_config"]
    assert model["selected_models"] == [MARKUP_MODEL]
