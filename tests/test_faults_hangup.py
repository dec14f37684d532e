"""The terminal hangs up while a session trains: the training goes on and a new app shows it live.

A process in its own session, whose controlling terminal is a pseudo-terminal (``pty.fork``: as
an SSH login), launches a worker through the engine as the app does, then its terminal hangs up
(the test closes the pty's master side, as sshd does when the connection drops): the kernel sends
SIGHUP and the launcher dies of it. The worker (the fake one of tests/fakes: the detachment is
the supervisor's, whichever worker runs) must keep running, heartbeating and writing progress,
and a freshly made app must list it as running and follow its new progress in the live view.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import sys
import time
from collections.abc import Callable, Iterator

import psutil
import pytest

from engine.facade import Engine
from engine.store import read_metadata
from engine.workspace import Workspace
from llmtool_tui.app import make_app
from llmtool_tui.screens import MonitorScreen
from llmtool_tui.screenshots import wait_until
from llmtool_tui.widgets import SessionTable
from llmtool_tui.widgets.progress_panel import ProgressPanel
from tests.fakes import FAKE_WORKER_MODULE, REPO_ROOT, make_session, worker_env
from tests.pilots import open_detail, wait_for_screen

pytestmark = pytest.mark.slow

#: What the launcher runs: the app's way of starting a session (Engine.launch, detached).
LAUNCHER = f"""
import sys, time
from pathlib import Path
from engine.facade import Engine, PreparedRun
from engine.workspace import Workspace

engine = Engine(Workspace(Path(sys.argv[1])), worker_module={FAKE_WORKER_MODULE!r})
path = Path(sys.argv[2])
handle = engine.launch(PreparedRun(path, engine.store.load(path)))
print(f"worker {{handle.pid}}", flush=True)
time.sleep(600)
"""


def read_until(fd: int, marker: bytes, timeout: float = 20.0) -> bytes:
    """Read the pty's output until ``marker`` and the end of its line appear."""
    output = b""
    deadline = time.monotonic() + timeout
    while not (marker in output and output.endswith(b"\n")):
        assert time.monotonic() < deadline, f"no {marker!r} from the launcher: {output!r}"
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            output += os.read(fd, 4096)
    return output


def wait_exit_status(pid: int, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.05)
    raise AssertionError(f"the launcher {pid} did not end after its terminal hung up")


def progress_lines(engine: Engine, session_id: str) -> int:
    return len(engine.progress_path(session_id).read_bytes().splitlines())


def poll_until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def stopped_afterwards() -> Iterator[list[int]]:
    """Pids of workers to stop (SIGKILL if need be) once the test is over."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        try:
            process = psutil.Process(pid)
            process.terminate()
            process.wait(10)
        except psutil.NoSuchProcess:
            continue
        except psutil.TimeoutExpired:
            process.kill()


async def test_training_survives_a_terminal_hangup_and_a_new_app_follows_it(
    workspace: Workspace, stopped_afterwards: list[int]
) -> None:
    path = make_session(workspace)
    engine = Engine(workspace, worker_module=FAKE_WORKER_MODULE)
    env = worker_env(FAKE_WORKER_STEPS="0", FAKE_WORKER_STEP_S="0.05")

    launcher, terminal = pty.fork()  # the child: a new session, the pty as its terminal
    if launcher == 0:
        os.chdir(REPO_ROOT)
        argv = [sys.executable, "-c", LAUNCHER, str(workspace.root), str(path)]
        os.execve(sys.executable, argv, env)
    output = read_until(terminal, b"worker ")
    worker_pid = int(output.split(b"worker ")[1].split()[0])
    stopped_afterwards.append(worker_pid)
    poll_until(lambda: read_metadata(path).execution_status.last_heartbeat_at is not None)
    session_id = read_metadata(path).session_id
    poll_until(lambda: progress_lines(engine, session_id) > 5)

    os.close(terminal)  # the connection drops: the terminal hangs up
    status = wait_exit_status(launcher)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGHUP, status

    before = read_metadata(path).execution_status
    lines_before = progress_lines(engine, session_id)
    time.sleep(2.5)  # more than two heartbeats of the fake worker
    worker = psutil.Process(worker_pid)
    assert worker.is_running() and worker.status() != psutil.STATUS_ZOMBIE
    after = read_metadata(path).execution_status
    assert after.status == "running" and after.pid == worker_pid
    assert before.last_heartbeat_at is not None and after.last_heartbeat_at is not None
    assert after.last_heartbeat_at > before.last_heartbeat_at
    assert progress_lines(engine, session_id) > lines_before

    # A new app knows nothing but the files (and which module its workers run).
    new_engine = Engine(workspace, worker_module=FAKE_WORKER_MODULE)
    async with make_app(new_engine).run_test(size=(120, 36)) as pilot:
        detail = await open_detail(pilot)
        table_rows = pilot.app.screen_stack[-2].query_one(SessionTable)
        row = table_rows.shown_rows[0]
        assert row.session_id == session_id
        assert "running" in table_rows.get_cell(row.key, "status").__rich__().plain
        assert detail.view is not None and detail.view.status == "running"
        await pilot.press("m")
        monitor = await wait_for_screen(pilot, MonitorScreen)
        await wait_until(pilot, lambda: monitor.status == "running")
        panel = monitor.query_one(ProgressPanel)
        await wait_until(pilot, lambda: panel.progress.step > 0)
        first_seen = panel.progress.step
        await wait_until(pilot, lambda: panel.progress.step > first_seen + 5)
