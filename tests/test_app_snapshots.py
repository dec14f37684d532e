"""How each screen looks, at 80x24 and 120x36, on the demo workspace with a frozen clock.

The scenes are the ones ``python -m llmtool_tui.screenshots`` saves for the README. Update the
baselines after checking the report: ``pytest tests/test_app_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.facade import Engine
from engine.workspace import Workspace
from llmtool_tui.app import make_app
from llmtool_tui.screens import HistoryScreen
from llmtool_tui.screenshots import (
    LONG_MESSAGE_SCENES,
    SCENES,
    Scene,
    build_demo_workspace,
    frozen_clock,
    lengthen_messages,
    make_demo_app,
)

#: Paths are shown on some screens (the dataset's, an empty workspace's): a fixed place keeps
#: them the same from one run to the next.
SNAPSHOT_ROOT = Path("/tmp/llmtool-tui-snapshots")
SIZES = {"80x24": (80, 24), "120x36": (120, 36)}
#: One xdist worker for the whole module: its scenes share SNAPSHOT_ROOT.
pytestmark = pytest.mark.xdist_group("snapshots")

SnapCompare = Callable[..., bool]


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Times shown in local time (log lines, an unreadable file's date) are UTC here."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(scope="module")
def demo_workspace() -> Iterator[Workspace]:
    shutil.rmtree(SNAPSHOT_ROOT, ignore_errors=True)
    yield build_demo_workspace(SNAPSHOT_ROOT / "demo")
    shutil.rmtree(SNAPSHOT_ROOT, ignore_errors=True)


#: Scene and size pairs captured: every scene at every size.
CAPTURED = [
    pytest.param(scene, size, id=f"{scene}-{size_id}")
    for scene in SCENES
    for size_id, size in SIZES.items()
]


@pytest.mark.parametrize(("scene", "size"), CAPTURED)
def test_scene(
    snap_compare: SnapCompare, demo_workspace: Workspace, scene: str, size: tuple[int, int]
) -> None:
    app = make_demo_app(demo_workspace)
    assert snap_compare(app, run_before=SCENES[scene].play, terminal_size=size)


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_empty_history(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    workspace = Workspace(SNAPSHOT_ROOT / "empty")
    shutil.rmtree(workspace.root, ignore_errors=True)
    workspace.root.mkdir(parents=True)
    workspace.ensure()

    def loaded(app: Any) -> bool:
        screen = app.screen
        return (
            isinstance(screen, HistoryScreen) and screen.history is not None and not screen.fetching
        )

    app = make_app(Engine(workspace), clock=frozen_clock, watch=False)
    assert snap_compare(app, run_before=Scene(((("1",), loaded),)).play, terminal_size=size)


#: Issue 20 saw the live view's status line cut at 100 columns; the rest is checked at 80x24.
LONG_MESSAGE_SIZES = {**SIZES, "100x30": (100, 30)}
LONG_MESSAGES = [
    pytest.param(scene, LONG_MESSAGE_SIZES[size_id], id=f"{scene}-{size_id}")
    for scene in LONG_MESSAGE_SCENES
    for size_id in (("80x24", "100x30") if scene == "monitor" else ("80x24",))
]


@pytest.fixture
def long_messages_workspace() -> Iterator[Workspace]:
    root = SNAPSHOT_ROOT / "long-messages"
    shutil.rmtree(root, ignore_errors=True)
    workspace = build_demo_workspace(root)
    lengthen_messages(workspace)
    yield workspace
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize(("scene", "size"), LONG_MESSAGES)
def test_a_long_message_wraps_whole(
    snap_compare: SnapCompare,
    long_messages_workspace: Workspace,
    scene: str,
    size: tuple[int, int],
) -> None:
    """Errors and status lines longer than a line wrap, whole; a dialog too tall scrolls."""
    app = make_demo_app(long_messages_workspace)
    assert snap_compare(app, run_before=LONG_MESSAGE_SCENES[scene].play, terminal_size=size)
