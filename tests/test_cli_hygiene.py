"""Headless hygiene: a reader that goes away (``| head``), and ``stop`` of a finished session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from engine.store import read_metadata
from engine.supervisor import launch_worker
from engine.workspace import Workspace
from llmtool_tui.cli import BROKEN_PIPE_EXIT, main
from tests.fakes import FAKE_WORKER_MODULE, REPO_ROOT, make_session, stamp, worker_env

WAIT_S = 30.0


def _run_with_reader_gone(workspace: Workspace, *args: str) -> tuple[int, str]:
    """Run the command with its stdout on a pipe whose reader has already left (as ``head``
    once it has its lines). Returns the exit code and stderr."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "llmtool_tui", *args, "--workspace", str(workspace.root)],
            stdout=write_end,
            stderr=subprocess.PIPE,
            cwd=REPO_ROOT,
            env=worker_env(),
            timeout=WAIT_S,
            check=False,
        )
    finally:
        os.close(write_end)
    return done.returncode, done.stderr.decode()


@pytest.mark.parametrize(
    "command", [["show", "1", "--json"], ["sessions", "--json"], ["show", "1"], ["sessions"]]
)
def test_a_reader_that_left_ends_the_command_quietly(
    workspace: Workspace, command: list[str]
) -> None:
    make_session(workspace, stamp(0))
    make_session(workspace, stamp(1))
    code, error = _run_with_reader_gone(workspace, *command)
    assert error == ""
    assert code == BROKEN_PIPE_EXIT


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_stop_of_a_completed_session_says_it_was_not_running(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    path = make_session(workspace, status="completed")
    assert main(["stop", path.name, "--json", "--workspace", str(workspace.root)]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["stopped"] is False and report["outcome"] == "not_running"
    assert report["message"].endswith("is completed, not running")


def test_stop_of_a_session_that_completes_meanwhile_says_it_was_not_stopped(
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A worker in its last steps, as the real one saving its best model: SIGTERM no longer
    # stops it, and it completes within the grace period.
    for name, value in worker_env(FAKE_WORKER_STEPS="40", FAKE_WORKER_ON_TERM="ignore").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("engine.facade.WORKER_MODULE", FAKE_WORKER_MODULE)
    path = make_session(workspace)
    handle = launch_worker(workspace, path, worker_module=FAKE_WORKER_MODULE)
    _wait_for(lambda: read_metadata(path).status == "running")
    root = str(workspace.root)
    code = main(["stop", path.name, "--grace", str(WAIT_S), "--json", "--workspace", root])
    assert handle.wait(WAIT_S) == 0
    report = json.loads(capsys.readouterr().out)
    assert code == 2, report
    assert report["stopped"] is False and report["outcome"] == "not_running"
    assert "completed" in report["message"] and "not running" in report["message"]
    assert read_metadata(path).status == "completed"
