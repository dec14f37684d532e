"""The history's window applies the watcher's changes by key, and its first rows need no pydantic.

``Engine.updated`` must give the same window as a fresh listing would, while reading only the
files that changed (and a file that enters the window from beyond it): the cost of a change does
not grow with the number of session files.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from textual.app import App

from engine.facade import Engine
from engine.first_listing import FirstListing
from engine.history import History
from engine.schema import TrainingMetadata
from engine.store import scan_keys
from engine.watcher import SessionChanges, SessionWatcher
from engine.workspace import Workspace
from llmtool_tui.live_history import LiveHistory
from tests.fakes import IDLE_MODULE, REPO_ROOT, idle_process, record_running, session_metadata

BASE_MTIME = 1_700_000_000


def write(workspace: Workspace, second: int, **status: object) -> Path:
    """A session file whose modification time is ``second`` seconds after the base."""
    metadata = session_metadata(f"20250101_12{second // 60:02d}{second % 60:02d}", **status)
    path = workspace.sessions_dir / f"training_metadata_{second:04d}.json"
    path.write_text(json.dumps(metadata.to_document()), encoding="utf-8")
    os.utime(path, (BASE_MTIME + second, BASE_MTIME + second))
    return path


def changes_of(watcher: SessionWatcher, *paths: Path) -> SessionChanges:
    """What the watcher reports for ``paths`` (as its event loop would, without waiting)."""
    return watcher._report([str(path) for path in paths])


def shown(history: History) -> list[tuple[str, int | None, str]]:
    return [(row.path.name, row.index, row.status) for row in history.rows]


@pytest.fixture
def files(workspace: Workspace) -> list[Path]:
    return [write(workspace, second) for second in range(30)]


@pytest.fixture
def watcher(workspace: Workspace, engine: Engine, files: list[Path]) -> SessionWatcher:
    watcher = SessionWatcher(workspace.sessions_dir, cache=engine.store.cache)
    watcher._reported = scan_keys(watcher.sessions_dir)
    return watcher


@pytest.fixture
def engine(workspace: Workspace) -> Engine:
    return Engine(workspace)


def test_changes_give_the_window_a_fresh_listing_gives(
    workspace: Workspace, engine: Engine, files: list[Path], watcher: SessionWatcher
) -> None:
    history = engine.history()
    assert [row.index for row in history.rows] == list(range(1, 21))
    # A new file (newest), an old one modified (it moves up), a broken file dropped in
    # (unreadable, not numbered).
    new = write(workspace, 100)
    files[3].write_text(files[3].read_text().replace('"pending"', '"completed"'))
    os.utime(files[3], (BASE_MTIME + 102, BASE_MTIME + 102))
    broken = workspace.sessions_dir / "training_metadata_broken.json"
    broken.write_text("{")
    os.utime(broken, (BASE_MTIME + 103, BASE_MTIME + 103))
    parses = engine.store.cache.parses
    history = engine.updated(history, changes_of(watcher, new, files[3], broken))
    assert engine.store.cache.parses - parses == 3  # the watcher's reads, nothing more
    assert shown(history) == shown(engine.history())
    assert history.total_files == 32
    assert history.rows[0].path == broken and history.rows[0].index is None
    assert history.rows[1].path == files[3] and history.rows[1].status == "completed"

    # Removed files: five rows from beyond the window enter it. Three were read by the first
    # listing and are still cached; only the other two are read.
    for path in files[25:]:
        path.unlink()
    parses = engine.store.cache.parses
    history = engine.updated(history, changes_of(watcher, *files[25:]))
    assert engine.store.cache.parses - parses == 2
    assert shown(history) == shown(engine.history())


def test_notes_and_tags_move_no_session_but_training_activity_does(
    workspace: Workspace, engine: Engine, files: list[Path], watcher: SessionWatcher
) -> None:
    history = engine.history()
    second = history.rows[1].path
    annotated = files[20]  # the 10th newest
    engine.save_notes(annotated, notes="compare with the baseline")
    engine.save_notes(history.rows[-1].path, tags=["paper"])
    updated = engine.updated(history, changes_of(watcher, annotated, history.rows[-1].path))
    # Same rows, same numbers: `show 2` still names the same session, here and in a command.
    assert shown(updated) == shown(history) == shown(engine.history())
    assert engine.store.resolve("2") == second
    assert updated.rows[9].stat != history.rows[9].stat  # the new content was taken

    # Progress written by the worker (training activity) moves its session to the top.
    def one_more_step(metadata: TrainingMetadata) -> None:
        metadata.execution_status.step = (metadata.execution_status.step or 0) + 1

    engine.store.update(annotated, one_more_step)
    updated = engine.updated(updated, changes_of(watcher, annotated))
    assert updated.rows[0].path == annotated
    assert shown(updated) == shown(engine.history())


def test_a_change_costs_the_same_whatever_the_number_of_files(
    workspace: Workspace, engine: Engine, files: list[Path], watcher: SessionWatcher
) -> None:
    for second in range(30, 2_000):
        write(workspace, second)
    watcher._reported = scan_keys(watcher.sessions_dir)
    history = engine.history()
    parses = engine.store.cache.parses
    new = write(workspace, 5_000)
    updated = engine.updated(history, changes_of(watcher, new))
    assert engine.store.cache.parses - parses == 1  # the new file, read by the watcher
    assert updated.rows[0].path == new and updated.rows[0].index == 1
    assert len(updated.rows) == 20 and updated.total_files == 2_001


def test_every_session_mode_takes_changes_without_a_window(
    workspace: Workspace, engine: Engine, files: list[Path], watcher: SessionWatcher
) -> None:
    history = engine.history(limit=None)
    files[0].unlink()
    updated = engine.updated(history, changes_of(watcher, files[0]))
    assert len(updated.rows) == 29
    assert [row.index for row in updated.rows] == list(range(1, 30))


def test_a_search_is_listed_again(
    workspace: Workspace, engine: Engine, files: list[Path], watcher: SessionWatcher
) -> None:
    from engine.filters import parse_filter

    search = parse_filter("status:completed")
    assert engine.history(session_filter=search).rows == []
    files[5].write_text(files[5].read_text().replace('"pending"', '"completed"'))
    updated = engine.updated(engine.history(session_filter=search), changes_of(watcher, files[5]))
    assert [row.path for row in updated.rows] == [files[5]]
    # It keeps its number in the whole history (show N finds it).
    assert updated.rows[0].index == 1


def test_first_rows_are_made_without_pydantic_then_validated(
    workspace: Workspace, engine: Engine, files: list[Path]
) -> None:
    # Valid JSON, but a field of the wrong type: only the validation can tell.
    files[29].write_text(files[29].read_text().replace('"epochs": 3', '"epochs": "three"'))
    first = engine.history(validate=False)
    assert not first.validated and first.rows[0].readable and first.rows[0].index == 1
    checked = engine.checked(first)
    assert checked.validated
    assert checked.rows[0].error is not None and "epochs" in checked.rows[0].error
    assert [row.index for row in checked.rows] == [None, *range(1, 20)]


def test_a_listing_without_validation_imports_no_pydantic(
    workspace: Workspace, files: list[Path]
) -> None:
    script = (
        "import sys\n"
        "from engine.facade import Engine\n"
        "from engine.workspace import Workspace\n"
        f"history = Engine(Workspace.resolve({str(workspace.root)!r})).history(validate=False)\n"
        "assert len(history.rows) == 20, history\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pydantic'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout


def test_the_apps_first_listing_by_a_child_process_is_what_the_app_would_list_itself(
    workspace: Workspace, files: list[Path]
) -> None:
    # As the command line does it: forked in a fresh interpreter, before any thread starts.
    (workspace.sessions_dir / "training_metadata_broken.json").write_text("{not json")
    files[29].write_text(files[29].read_text().replace('"epochs": 3', '"epochs": "three"'))
    script = (
        "import pickle, sys\n"
        "from engine.facade import Engine\n"
        "from engine.workspace import Workspace\n"
        f"engine = Engine(Workspace.resolve({str(workspace.root)!r}))\n"
        "first = engine.list_in_background()\n"
        "listed = first.listed()\n"
        "checked = first.checked(listed)\n"
        "assert first.listed() is None  # taken once\n"
        "own = engine.history(validate=False)\n"
        "sys.stdout.buffer.write(pickle.dumps((listed, checked, own, engine.checked(own))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, check=True
    )
    listed, checked, own_listed, own_checked = pickle.loads(done.stdout)
    assert (listed, checked) == (own_listed, own_checked)
    assert not listed.validated and checked.validated and len(checked.keys) == 31
    assert {row.path.name for row in checked.unreadable} == {
        "training_metadata_broken.json", files[29].name
    }  # fmt: skip


async def test_a_first_listing_whose_child_failed_gives_nothing_and_the_app_lists_itself(
    workspace: Workspace, engine: Engine, files: list[Path]
) -> None:
    reading, writing = os.pipe()
    os.close(writing)
    failed = subprocess.Popen([sys.executable, "-c", "raise SystemExit(1)"])
    async with App().run_test() as pilot:
        live = LiveHistory(pilot.app, engine, FirstListing(failed.pid, reading))
        await live.list_and_follow()
    assert live.history is not None and live.history.validated
    assert shown(live.history) == shown(engine.history())


def test_a_worker_that_dies_is_seen_without_any_file_change(workspace: Workspace) -> None:
    path = write(workspace, 1)
    engine = Engine(workspace, worker_module=IDLE_MODULE)
    with idle_process(path) as worker:
        record_running(workspace, path, worker)
        history = engine.history()
        assert history.rows[0].status == "running"
        assert engine.rechecked(history) is history  # nothing changed: no new window
    # The process is gone; the file still says running.
    rechecked = engine.rechecked(history)
    assert rechecked.rows[0].status == "interrupted"
