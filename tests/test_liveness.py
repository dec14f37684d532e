"""Liveness: a session's worker proven on this host, its heartbeat trusted on another.

A process counts as a session's worker only when its start time matches the recorded one and its
command line runs the worker module on the session's own file. ``tests.fakes.idle`` stands for
the worker module here (``worker_module=IDLE_MODULE``): a process that runs it on the metadata
file is "the worker"; any other process, pid 1 included, is not.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest

from engine.facade import Engine
from engine.liveness import (
    DEAD_PROCESS_REASON,
    HEARTBEAT_STALE_AFTER_S,
    check_liveness,
    current_host,
    current_process_started_at,
    find_worker_process,
    mark_interrupted_if_unchanged,
    reconcile_dead_session,
)
from engine.progress import StatusChanged, parse_event
from engine.store import SessionStore, read_metadata
from engine.supervisor import launch_worker
from engine.workspace import Workspace
from tests.fakes import (
    FAKE_WORKER_MODULE,
    IDLE_MODULE,
    idle_process,
    make_session,
    record_running,
    running_as,
    session_metadata,
    worker_env,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
#: A metadata path for checks that never reach the command line.
SOME_FILE = Path("/nonexistent/training_metadata_20250101_120000.json")


def local_running(pid: int, started_at: float | None) -> dict[str, Any]:
    return {
        "status": "running",
        "pid": pid,
        "host": current_host(),
        "process_started_at": started_at,
    }


def ended_pid() -> int:
    """The pid of a process that has ended and been reaped."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.fixture
def session_file(workspace: Workspace) -> Path:
    """A session's metadata file (pending); tests run processes on its path."""
    return make_session(workspace)


@pytest.fixture
def worker(session_file: Path) -> Iterator[psutil.Process]:
    """A process running the stand-in worker module on ``session_file``."""
    with idle_process(session_file) as process:
        yield process


def live(metadata_path: Path, process: psutil.Process, **fields: Any) -> Any:
    return check_liveness(
        session_metadata(**running_as(process, **fields)),
        metadata_path,
        worker_module=IDLE_MODULE,
    )


@pytest.mark.parametrize("status", ["pending", "completed", "failed", "interrupted"])
def test_sessions_not_running_are_shown_as_recorded(status: str) -> None:
    liveness = check_liveness(session_metadata(status=status, pid=ended_pid()), SOME_FILE)
    assert (liveness.status_to_show, liveness.reason, liveness.alive) == (status, None, None)
    assert not liveness.stale


def test_the_worker_on_this_file_is_running(session_file: Path, worker: psutil.Process) -> None:
    liveness = live(session_file, worker)
    assert (liveness.status_to_show, liveness.alive, liveness.local) == ("running", True, True)


def test_start_time_within_tolerance_is_the_same_process(
    session_file: Path, worker: psutil.Process
) -> None:
    assert live(session_file, worker, process_started_at=worker.create_time() + 0.5).alive


def test_a_worker_of_another_file_is_not_this_sessions(
    workspace: Workspace, worker: psutil.Process
) -> None:
    other = make_session(workspace, "20250101_130000")
    liveness = live(other, worker)
    assert (liveness.status_to_show, liveness.alive) == ("interrupted", False)


def test_another_module_on_this_file_is_not_the_worker(
    session_file: Path, worker: psutil.Process
) -> None:
    # The default worker module is engine.training.worker: the stand-in does not run it.
    liveness = check_liveness(session_metadata(**running_as(worker)), session_file)
    assert (liveness.status_to_show, liveness.alive) == ("interrupted", False)


def test_a_relative_path_is_taken_from_the_workers_directory(session_file: Path) -> None:
    relative = os.path.relpath(session_file, Path(__file__).resolve().parent.parent)
    with idle_process(relative) as process:  # started in the repository root
        assert live(session_file, process).alive


@pytest.mark.parametrize("start_time", [None, "the process's own"], ids=["none", "forged"])
def test_a_foreign_process_is_never_the_worker(session_file: Path, start_time: str | None) -> None:
    # A file naming an unrelated live process, even with its true start time (anyone can
    # read it from /proc), is not believed.
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        process = psutil.Process(sleeper.pid)
        started = process.create_time() if start_time else None
        liveness = live(session_file, process, process_started_at=started)
        assert (liveness.status_to_show, liveness.alive) == ("interrupted", False)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_pid_1_and_this_process_are_not_workers(session_file: Path) -> None:
    for pid in (1, os.getpid()):
        process = psutil.Process(pid)
        assert live(session_file, process).status_to_show == "interrupted"
        assert find_worker_process(pid, process.create_time(), session_file) is None


def test_without_a_recorded_start_time_nothing_is_proven(
    session_file: Path, worker: psutil.Process
) -> None:
    assert not live(session_file, worker, process_started_at=None).alive


def test_dead_local_worker_is_interrupted() -> None:
    liveness = check_liveness(
        session_metadata(**local_running(ended_pid(), time.time())), SOME_FILE
    )
    assert (liveness.status_to_show, liveness.alive) == ("interrupted", False)
    assert liveness.reason == DEAD_PROCESS_REASON


def test_recycled_pid_is_not_the_worker(session_file: Path, worker: psutil.Process) -> None:
    # The stand-in plays a process that got the old worker's pid, started an hour later.
    liveness = live(session_file, worker, process_started_at=worker.create_time() - 3600)
    assert (liveness.status_to_show, liveness.alive) == ("interrupted", False)


def test_zombie_worker_is_dead(session_file: Path) -> None:
    child = subprocess.Popen([sys.executable, "-m", IDLE_MODULE, str(session_file)])
    try:
        process = psutil.Process(child.pid)
        os.kill(child.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while process.status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert not live(session_file, process).alive
    finally:
        child.wait()


def test_host_names_compare_without_case(session_file: Path, worker: psutil.Process) -> None:
    metadata = session_metadata(**running_as(worker))
    liveness = check_liveness(
        metadata, session_file, this_host=current_host().upper(), worker_module=IDLE_MODULE
    )
    assert liveness.local and liveness.alive


def remote(heartbeat: datetime | None) -> dict[str, Any]:
    return {
        "status": "running",
        "pid": os.getpid(),
        "host": "gpu-node-7",
        "process_started_at": 1.0,
        "last_heartbeat_at": heartbeat,
    }


def test_remote_run_with_a_recent_heartbeat_is_running() -> None:
    metadata = session_metadata(**remote(NOW - timedelta(seconds=30)))
    liveness = check_liveness(metadata, SOME_FILE, now=NOW)
    assert (liveness.status_to_show, liveness.stale, liveness.local) == ("running", False, False)
    assert liveness.alive is None


def test_remote_run_with_an_old_heartbeat_is_stale() -> None:
    beat = NOW - timedelta(seconds=HEARTBEAT_STALE_AFTER_S + 60)
    liveness = check_liveness(session_metadata(**remote(beat)), SOME_FILE, now=NOW)
    assert (liveness.status_to_show, liveness.stale, liveness.alive) == ("stale", True, None)
    assert liveness.reason == "no heartbeat from host gpu-node-7 for 3 min"


def test_remote_run_without_any_heartbeat_is_stale() -> None:
    liveness = check_liveness(session_metadata(**remote(None)), SOME_FILE, now=NOW)
    assert liveness.stale and liveness.reason is not None and "never" in liveness.reason


def test_naive_heartbeat_is_local_time() -> None:
    beat = datetime.now() - timedelta(seconds=10)
    assert not check_liveness(session_metadata(**remote(beat)), SOME_FILE).stale


def test_a_heartbeat_off_this_clock_is_stale_not_an_error() -> None:
    beat = datetime(1, 1, 1, 0, 0)
    liveness = check_liveness(session_metadata(**remote(beat)), SOME_FILE)
    assert liveness.stale and liveness.reason == "no heartbeat from host gpu-node-7"


def test_stale_remote_session_is_never_written_back(workspace: Workspace) -> None:
    path = make_session(workspace, **remote(NOW - timedelta(hours=5)))
    before = path.read_bytes()
    assert reconcile_dead_session(SessionStore(workspace), path) is None
    assert path.read_bytes() == before


def test_reconcile_writes_interrupted_and_a_progress_event(workspace: Workspace) -> None:
    path = make_session(workspace, **local_running(ended_pid(), time.time()))
    run_dir = workspace.run_dir(read_metadata(path).session_id)
    run_dir.mkdir(parents=True)
    written = reconcile_dead_session(SessionStore(workspace), path)
    assert written is not None
    status = read_metadata(path).execution_status
    assert (status.status, status.error_message) == ("interrupted", DEAD_PROCESS_REASON)
    assert status.ended_at is not None
    event = parse_event((run_dir / "progress.jsonl").read_text().splitlines()[-1])
    assert isinstance(event, StatusChanged) and event.status == "interrupted"
    # Once written, there is nothing more to do.
    assert reconcile_dead_session(SessionStore(workspace), path) is None


def test_reconcile_leaves_a_live_worker_alone(workspace: Workspace) -> None:
    path = make_session(workspace)
    with idle_process(path) as process:
        record_running(workspace, path, process)
        before = path.read_bytes()
        store = SessionStore(workspace)
        assert reconcile_dead_session(store, path, worker_module=IDLE_MODULE) is None
        assert path.read_bytes() == before


def test_mark_interrupted_only_when_still_running_with_the_same_pid(
    workspace: Workspace,
) -> None:
    store = SessionStore(workspace)
    # A resume started a new worker (another pid) since the dead one was seen.
    path = make_session(workspace, **local_running(os.getpid(), current_process_started_at()))
    before = path.read_bytes()
    assert mark_interrupted_if_unchanged(store, path, ended_pid(), "gone") is None
    # The worker wrote its own final status meanwhile.
    finished = make_session(workspace, "20250101_130000", status="completed", pid=4242)
    assert mark_interrupted_if_unchanged(store, finished, 4242, "gone") is None
    assert path.read_bytes() == before
    assert read_metadata(finished).status == "completed"


def test_a_killed_worker_is_seen_dead_at_the_next_look(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in worker_env(FAKE_WORKER_STEPS="0").items():
        monkeypatch.setenv(name, value)
    path = make_session(workspace)
    handle = launch_worker(workspace, path, worker_module=FAKE_WORKER_MODULE)

    def alive() -> bool | None:
        return check_liveness(read_metadata(path), path, worker_module=FAKE_WORKER_MODULE).alive

    deadline = time.monotonic() + 10
    while read_metadata(path).status != "running":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert alive()
    os.kill(handle.pid, signal.SIGKILL)
    handle.wait(5)  # reaped: the pid is gone
    # The very next look sees it: nothing is cached between two checks.
    assert alive() is False
    assert reconcile_dead_session(SessionStore(workspace), path) is not None
    assert read_metadata(path).status == "interrupted"


def test_worker_start_time_is_the_kernel_one() -> None:
    assert current_process_started_at() == psutil.Process().create_time()
    assert current_process_started_at() < time.time()


def test_running_sessions_validate_only_files_that_say_running(workspace: Workspace) -> None:
    for second in range(40):
        make_session(workspace, f"20250101_1200{second:02d}", status="completed")
    alive = make_session(workspace, "20250102_000000")
    dead = make_session(workspace, "20250102_000001", **local_running(ended_pid(), time.time()))
    engine = Engine(workspace, worker_module=IDLE_MODULE)
    with idle_process(alive) as process:
        record_running(workspace, alive, process)
        running = engine.running_sessions()
    assert [row.path.name for row in running] == [alive.name]
    # The dead run was found (and written back as interrupted); the 40 completed sessions were
    # never validated, which is what makes quitting quick among thousands of files.
    assert read_metadata(dead).execution_status.status == "interrupted"
    assert engine.store.cache.parses <= 2
