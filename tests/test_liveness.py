"""Liveness: a running session's process checked on this host, its heartbeat on another."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
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
    mark_interrupted_if_unchanged,
    reconcile_dead_session,
)
from engine.progress import StatusChanged, parse_event
from engine.store import SessionStore, read_metadata
from engine.supervisor import launch_worker
from engine.workspace import Workspace
from tests.fakes import FAKE_WORKER_MODULE, make_session, session_metadata, worker_env

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


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


@pytest.mark.parametrize("status", ["pending", "completed", "failed", "interrupted"])
def test_sessions_not_running_are_shown_as_recorded(status: str) -> None:
    liveness = check_liveness(session_metadata(status=status, pid=ended_pid()))
    assert (liveness.status_to_show, liveness.reason, liveness.alive) == (status, None, None)
    assert not liveness.stale


def test_live_local_worker_is_running() -> None:
    metadata = session_metadata(**local_running(os.getpid(), current_process_started_at()))
    liveness = check_liveness(metadata)
    assert (liveness.status_to_show, liveness.alive, liveness.local) == ("running", True, True)


def test_start_time_within_tolerance_is_the_same_process() -> None:
    started = current_process_started_at() + 0.5
    assert check_liveness(session_metadata(**local_running(os.getpid(), started))).alive


def test_dead_local_worker_is_interrupted() -> None:
    liveness = check_liveness(session_metadata(**local_running(ended_pid(), time.time())))
    assert (liveness.status_to_show, liveness.alive) == ("interrupted", False)
    assert liveness.reason == DEAD_PROCESS_REASON


def test_recycled_pid_is_not_the_worker() -> None:
    # This test's own process stands for an unrelated process that got the worker's old pid.
    started = current_process_started_at() - 3600
    liveness = check_liveness(session_metadata(**local_running(os.getpid(), started)))
    assert (liveness.status_to_show, liveness.alive) == ("interrupted", False)


def test_zombie_worker_is_dead() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        started = psutil.Process(child.pid).create_time()
        deadline = time.monotonic() + 5
        while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert not check_liveness(session_metadata(**local_running(child.pid, started))).alive
    finally:
        child.wait()


def test_host_names_compare_without_case() -> None:
    metadata = session_metadata(**local_running(os.getpid(), current_process_started_at()))
    liveness = check_liveness(metadata, this_host=current_host().upper())
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
    liveness = check_liveness(metadata, now=NOW)
    assert (liveness.status_to_show, liveness.stale, liveness.local) == ("running", False, False)
    assert liveness.alive is None


def test_remote_run_with_an_old_heartbeat_is_stale() -> None:
    beat = NOW - timedelta(seconds=HEARTBEAT_STALE_AFTER_S + 60)
    liveness = check_liveness(session_metadata(**remote(beat)), now=NOW)
    assert (liveness.status_to_show, liveness.stale, liveness.alive) == ("stale", True, None)
    assert liveness.reason == "no heartbeat from host gpu-node-7 for 3 min"


def test_remote_run_without_any_heartbeat_is_stale() -> None:
    liveness = check_liveness(session_metadata(**remote(None)), now=NOW)
    assert liveness.stale and liveness.reason is not None and "never" in liveness.reason


def test_naive_heartbeat_is_local_time() -> None:
    beat = datetime.now() - timedelta(seconds=10)
    assert not check_liveness(session_metadata(**remote(beat))).stale


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
    path = make_session(workspace, **local_running(os.getpid(), current_process_started_at()))
    before = path.read_bytes()
    assert reconcile_dead_session(SessionStore(workspace), path) is None
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


def test_killed_worker_is_detected_within_two_seconds(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in worker_env(FAKE_WORKER_STEPS="0").items():
        monkeypatch.setenv(name, value)
    path = make_session(workspace)
    handle = launch_worker(workspace, path, worker_module=FAKE_WORKER_MODULE)
    deadline = time.monotonic() + 10
    while read_metadata(path).status != "running":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert check_liveness(read_metadata(path)).alive
    os.kill(handle.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    while check_liveness(read_metadata(path)).alive:
        assert time.monotonic() - killed_at < 2.0
        time.sleep(0.01)
    assert reconcile_dead_session(SessionStore(workspace), path) is not None
    assert read_metadata(path).status == "interrupted"
    handle.wait(5)


def test_worker_start_time_is_the_kernel_one() -> None:
    assert current_process_started_at() == psutil.Process().create_time()
    assert current_process_started_at() < time.time()


def test_running_sessions_validate_only_files_that_say_running(workspace: Workspace) -> None:
    for second in range(40):
        make_session(workspace, f"20250101_1200{second:02d}", status="completed")
    alive = make_session(
        workspace, "20250102_000000", **local_running(os.getpid(), current_process_started_at())
    )
    dead = make_session(workspace, "20250102_000001", **local_running(ended_pid(), time.time()))
    engine = Engine(workspace)
    running = engine.running_sessions()
    assert [summary.file for summary in running] == [alive.name]
    # The dead run was found (and written back as interrupted); the 40 completed sessions were
    # never validated, which is what makes quitting quick among thousands of files.
    assert read_metadata(dead).execution_status.status == "interrupted"
    assert engine.store.cache.parses <= 2
