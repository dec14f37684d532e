"""Launching detached workers, finding them again, and stopping them (with a fake worker)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import psutil
import pytest

from engine.errors import BadInputError
from engine.facade import Engine
from engine.liveness import check_liveness, current_host
from engine.progress import StatusChanged, StepLogged
from engine.schema import LaunchRecord, TrainingMetadata
from engine.store import MetadataError, SessionStore, read_metadata
from engine.supervisor import launch_worker, stop_worker, worker_command
from engine.tailer import tail_progress
from engine.workspace import WORKSPACE_ENV, Workspace
from llmtool_tui.cli import main
from tests.fakes import (
    FAKE_WORKER_MODULE,
    IDLE_MODULE,
    REPO_ROOT,
    idle_process,
    make_session,
    session_metadata,
    worker_env,
)

# Upper bounds for conditions that normally hold within a second; generous because other jobs
# may load the machine (fsync of the metadata can then take seconds).
WAIT_S = 30.0

LAUNCHER = """
import sys, time
from pathlib import Path
from engine.supervisor import launch_worker
from engine.workspace import Workspace
handle = launch_worker(Workspace(Path(sys.argv[1])), Path(sys.argv[2]), worker_module=sys.argv[3])
print(handle.pid, flush=True)
time.sleep(60)
"""


def _launched_as(metadata: TrainingMetadata, process: psutil.Process) -> None:
    metadata.execution_status.launch = LaunchRecord(
        pid=process.pid,
        host=current_host(),
        process_started_at=process.create_time(),
        launched_at=datetime.now(),
    )


def wait_for(condition: Callable[[], bool], timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.02)


def status_of(path: Path) -> str:
    return read_metadata(path).status


def gone(pid: int) -> bool:
    """The process ended (a zombie whose parent is not us counts: init reaps it eventually)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture
def fake_worker(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Configure the fake worker that launch_worker will start (through the environment)."""

    def configure(**variables: str) -> None:
        for name, value in worker_env(**variables).items():
            monkeypatch.setenv(name, value)

    configure()
    return configure


@pytest.fixture
def running(
    workspace: Workspace, fake_worker: Callable[..., None]
) -> Iterator[tuple[Path, subprocess.Popen[bytes]]]:
    """A session whose fake worker runs until stopped (launched by this process)."""
    fake_worker(FAKE_WORKER_STEPS="0")
    path = make_session(workspace)
    handle = launch_worker(workspace, path, worker_module=FAKE_WORKER_MODULE)
    wait_for(lambda: status_of(path) == "running")
    yield path, handle.process
    if handle.poll() is None:
        handle.process.kill()
        handle.wait(WAIT_S)


def test_worker_command_passes_resume_and_force() -> None:
    command = worker_command(Path("/ws/m.json"), resume=True, force=True)
    expected = [sys.executable, "-m", "engine.training.worker", "/ws/m.json", "--resume", "--force"]
    assert command == expected
    assert worker_command(Path("m.json"))[-1] == "m.json"


def test_launch_detaches_the_worker_and_logs_its_output(
    workspace: Workspace, fake_worker: Callable[..., None]
) -> None:
    fake_worker(FAKE_WORKER_STEPS="10", FAKE_WORKER_STEP_S="0.05")
    path = make_session(workspace)
    handle = launch_worker(workspace, path, worker_module=FAKE_WORKER_MODULE)
    process = psutil.Process(handle.pid)
    # Its own session and process group: no SIGHUP from our terminal, no Ctrl-C of ours.
    assert os.getsid(handle.pid) == handle.pid
    assert os.getpgid(handle.pid) == handle.pid != os.getpgid(0)
    assert Path(process.cwd()) == workspace.root
    assert process.environ()[WORKSPACE_ENV] == str(workspace.root)
    assert os.readlink(f"/proc/{handle.pid}/fd/0") == "/dev/null"
    assert handle.wait(WAIT_S) == 0
    assert handle.poll() == 0
    assert status_of(path) == "completed"
    assert handle.log_path == workspace.run_dir(read_metadata(path).session_id) / "worker.out"
    log = handle.log_path.read_text()
    assert f"fake worker {handle.pid} running" in log
    assert f"-m {FAKE_WORKER_MODULE} {path}" in log


def test_log_is_appended_across_runs(
    workspace: Workspace, fake_worker: Callable[..., None]
) -> None:
    fake_worker(FAKE_WORKER_STEPS="1", FAKE_WORKER_CRASH="1")
    path = make_session(workspace)
    first = launch_worker(workspace, path, worker_module=FAKE_WORKER_MODULE)
    assert first.wait(WAIT_S) == 3
    fake_worker(FAKE_WORKER_STEPS="1", FAKE_WORKER_CRASH="0")
    # The crashed run still says running: the resume takes the session over.
    second = launch_worker(workspace, path, resume=True, worker_module=FAKE_WORKER_MODULE)
    assert second.wait(WAIT_S) == 0
    log = second.log_path.read_text()
    assert f"fake worker {first.pid} running" in log
    assert f"fake worker {second.pid} running" in log
    assert log.index("crashing") < log.index("--resume")
    assert read_metadata(path).execution_status.resume_count == 1


def test_detach_false_keeps_the_worker_in_our_process_group(
    workspace: Workspace, fake_worker: Callable[..., None]
) -> None:
    fake_worker(FAKE_WORKER_STEPS="1")
    path = make_session(workspace)
    handle = launch_worker(workspace, path, detach=False, worker_module=FAKE_WORKER_MODULE)
    try:
        assert os.getpgid(handle.pid) == os.getpgid(0)
    finally:
        assert handle.wait(WAIT_S) == 0


def test_exited_worker_is_reaped_without_anyone_waiting(
    workspace: Workspace, fake_worker: Callable[..., None]
) -> None:
    fake_worker(FAKE_WORKER_STEPS="1")
    path = make_session(workspace)
    handle = launch_worker(workspace, path, worker_module=FAKE_WORKER_MODULE)
    wait_for(lambda: status_of(path) == "completed")
    # A zombie would still exist; the reaper thread collects it.
    wait_for(lambda: not psutil.pid_exists(handle.pid))
    assert handle.poll() == 0


def test_unreadable_metadata_is_refused_before_starting(workspace: Workspace) -> None:
    path = workspace.sessions_dir / "training_metadata_bad.json"
    path.write_text("{")
    with pytest.raises(MetadataError, match="invalid JSON"):
        launch_worker(workspace, path, worker_module=FAKE_WORKER_MODULE)


async def test_worker_survives_its_launcher_and_a_fresh_process_reattaches(
    workspace: Workspace, fake_worker: Callable[..., None]
) -> None:
    fake_worker(FAKE_WORKER_STEPS="0", FAKE_WORKER_STEP_S="0.02")
    path = make_session(workspace)
    launcher = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, str(workspace.root), str(path), FAKE_WORKER_MODULE],
        stdout=subprocess.PIPE,
        cwd=REPO_ROOT,
        start_new_session=True,
    )
    assert launcher.stdout is not None
    worker_pid = int(launcher.stdout.readline())
    await asyncio.to_thread(wait_for, lambda: status_of(path) == "running")
    # What losing the SSH connection does to the launcher's session: SIGHUP, then it is gone.
    os.killpg(launcher.pid, signal.SIGHUP)
    assert launcher.wait(WAIT_S) == -signal.SIGHUP
    assert psutil.Process(worker_pid).is_running()

    # A fresh process knows nothing but the files: it finds the worker and follows it.
    metadata = read_metadata(path)
    assert metadata.execution_status.pid == worker_pid
    liveness = check_liveness(metadata, path, worker_module=FAKE_WORKER_MODULE)
    assert (liveness.status_to_show, liveness.alive) == ("running", True)
    progress = workspace.run_dir(metadata.session_id) / "progress.jsonl"
    seen_after_launcher_died = 0
    async for event in tail_progress(progress, from_start=False, poll_interval=0.02):
        assert isinstance(event, StepLogged)
        seen_after_launcher_died += 1
        if seen_after_launcher_died == 5:
            break

    report = await asyncio.to_thread(
        stop_worker,
        SessionStore(workspace),
        path,
        grace_s=WAIT_S,
        worker_module=FAKE_WORKER_MODULE,
    )
    assert report.outcome == "terminated", report
    assert gone(worker_pid)
    assert status_of(path) == "interrupted"


def test_stop_terminates_gracefully(
    workspace: Workspace, running: tuple[Path, subprocess.Popen[bytes]]
) -> None:
    path, process = running
    report = stop_worker(
        SessionStore(workspace), path, grace_s=WAIT_S, worker_module=FAKE_WORKER_MODULE
    )
    assert report.outcome == "terminated" and report.stopped
    assert report.pid == process.pid and report.waited_s < WAIT_S
    assert process.wait(WAIT_S) == 0
    status = read_metadata(path).execution_status
    # Written by the worker itself, on SIGTERM.
    assert (status.status, status.error_message) == ("interrupted", "stopped by user (SIGTERM)")
    events = (workspace.run_dir(read_metadata(path).session_id) / "progress.jsonl").read_text()
    assert events.strip().splitlines()[-1].find('"interrupted"') != -1


def test_stop_escalates_to_sigkill_after_the_grace_period(
    workspace: Workspace, fake_worker: Callable[..., None]
) -> None:
    fake_worker(FAKE_WORKER_STEPS="0", FAKE_WORKER_ON_TERM="ignore")
    path = make_session(workspace)
    handle = launch_worker(workspace, path, worker_module=FAKE_WORKER_MODULE)
    wait_for(lambda: status_of(path) == "running")
    report = stop_worker(
        SessionStore(workspace), path, grace_s=0.5, worker_module=FAKE_WORKER_MODULE
    )
    assert report.outcome == "killed" and report.stopped
    assert 0.5 <= report.waited_s < 5.0
    assert handle.wait(WAIT_S) == -signal.SIGKILL
    status = read_metadata(path).execution_status
    assert status.status == "interrupted"
    assert status.error_message is not None and "SIGKILL" in status.error_message
    assert status.ended_at is not None
    progress = workspace.run_dir(read_metadata(path).session_id) / "progress.jsonl"
    last = json.loads(progress.read_text().splitlines()[-1])
    assert StatusChanged.model_validate(last).status == "interrupted"


def test_stop_reaches_a_worker_that_is_still_starting(workspace: Workspace) -> None:
    # The idle stand-in never records ``running``: it is a worker importing its libraries.
    path = make_session(workspace)
    handle = launch_worker(workspace, path, worker_module=IDLE_MODULE)
    launch = read_metadata(path).execution_status.launch
    assert launch is not None and (launch.pid, launch.host) == (handle.pid, current_host())
    assert check_liveness(read_metadata(path), path, worker_module=IDLE_MODULE).alive
    # A fresh process, knowing only the files, stops it before it records itself as running.
    report = stop_worker(SessionStore(workspace), path, grace_s=WAIT_S, worker_module=IDLE_MODULE)
    assert report.outcome == "terminated" and report.pid == handle.pid, report
    assert "while starting" in report.message
    # Killed by the signal itself if it came before the process set its handler, as a real
    # worker still importing torch is.
    assert handle.wait(WAIT_S) in (0, -signal.SIGTERM)
    # It never started: the session is as it was before the launch.
    status = read_metadata(path).execution_status
    assert (status.status, status.launch) == ("pending", None)


def test_a_launch_record_naming_another_process_is_not_signalled(workspace: Workspace) -> None:
    path = make_session(workspace)
    with idle_process(path) as stranger:
        # The record names a live process with its true start time, but the process does not
        # run the worker module (a hostile or stale file): nothing is sent to it.
        SessionStore(workspace).update(path, lambda metadata: _launched_as(metadata, stranger))
        report = stop_worker(SessionStore(workspace), path, grace_s=0.1)
        assert report.outcome == "not_running" and report.refused, report
        assert stranger.is_running() and stranger.status() != psutil.STATUS_ZOMBIE
    status = read_metadata(path).execution_status
    assert status.status == "failed" and status.launch is None


def test_stop_of_a_session_that_is_not_running(workspace: Workspace) -> None:
    path = make_session(workspace, status="completed")
    report = stop_worker(SessionStore(workspace), path)
    assert report.outcome == "not_running" and report.refused and not report.stopped
    assert "completed" in report.message


def test_stop_on_another_host_signals_nothing(workspace: Workspace) -> None:
    path = make_session(
        workspace, status="running", pid=os.getpid(), host="gpu-node-7", process_started_at=1.0
    )
    before = path.read_bytes()
    report = stop_worker(SessionStore(workspace), path)
    assert report.outcome == "other_host" and not report.stopped
    assert report.host == "gpu-node-7" and "gpu-node-7" in report.message
    assert path.read_bytes() == before


def test_stop_refuses_to_signal_a_recycled_pid(workspace: Workspace) -> None:
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        started = psutil.Process(stranger.pid).create_time()
        # The recorded worker had this pid, but started an hour earlier: not this process.
        path = make_session(
            workspace,
            status="running",
            pid=stranger.pid,
            host=current_host(),
            process_started_at=started - 3600,
        )
        report = stop_worker(SessionStore(workspace), path, grace_s=0.1)
        assert report.outcome == "not_running"
        time.sleep(0.2)
        assert stranger.poll() is None, "a process that is not the worker was signalled"
        status = read_metadata(path).execution_status
        assert status.status == "interrupted"
        assert status.error_message == "process ended without a final status"
    finally:
        stranger.kill()
        stranger.wait()


def test_stop_after_a_crash_marks_the_session_interrupted(
    workspace: Workspace, fake_worker: Callable[..., None]
) -> None:
    fake_worker(FAKE_WORKER_STEPS="1", FAKE_WORKER_CRASH="1")
    path = make_session(workspace)
    handle = launch_worker(workspace, path, worker_module=FAKE_WORKER_MODULE)
    assert handle.wait(WAIT_S) == 3
    assert status_of(path) == "running"
    report = stop_worker(SessionStore(workspace), path)
    assert report.outcome == "not_running"
    assert status_of(path) == "interrupted"


def test_cli_stop_prints_json_and_exits_0(
    workspace: Workspace,
    running: tuple[Path, subprocess.Popen[bytes]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path, process = running
    session_id = read_metadata(path).session_id
    # The command's engine takes the fake for the worker module (the CLI has no such option).
    monkeypatch.setattr("engine.facade.WORKER_MODULE", FAKE_WORKER_MODULE)
    code = main(["stop", session_id, "--grace", "10", "--json", "--workspace", str(workspace.root)])
    assert code == 0
    output = json.loads(capsys.readouterr().out)
    assert output["outcome"] == "terminated" and output["stopped"] is True
    assert output["pid"] == process.pid and output["session_id"] == session_id
    # Stopping again: there is nothing to stop, which is bad input (exit 2), said on stderr.
    assert main(["stop", session_id, "--workspace", str(workspace.root)]) == 2
    assert "not running" in capsys.readouterr().err


def test_cli_stop_exit_codes_for_failures_and_bad_input(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(workspace.root)
    path = make_session(workspace, status="running", pid=1, host="elsewhere", process_started_at=1)
    assert main(["stop", path.name, "--workspace", root]) == 2
    assert "runs on host 'elsewhere'" in capsys.readouterr().err
    assert main(["stop", "train_19990101_000000", "--workspace", root]) == 2
    assert "no session matches" in capsys.readouterr().err
    assert main(["stop", path.name, "--grace", "-1", "--workspace", root]) == 2
    assert "--grace must be" in capsys.readouterr().err


def test_a_launch_is_recorded_before_it_returns_and_a_second_is_refused(
    workspace: Workspace,
) -> None:
    path = make_session(workspace)
    engine = Engine(workspace, worker_module=IDLE_MODULE)
    handle = launch_worker(workspace, path, worker_module=IDLE_MODULE)
    try:
        # No wait: the file already says who is starting, for any process that looks.
        assert engine.history().sessions[0].status == "starting"
        assert engine.inspect(path).resume_blocker == "the session is starting; stop it first"
        with pytest.raises(BadInputError, match=f"already starting \\(pid {handle.pid} on"):
            launch_worker(workspace, path, worker_module=IDLE_MODULE)
        assert engine.running_sessions()[0].status == "starting"
    finally:
        handle.process.kill()
        handle.wait(WAIT_S)


def test_a_worker_that_dies_while_starting_fails_the_session_with_its_output(
    workspace: Workspace, fake_worker: Callable[..., None]
) -> None:
    # A broken installation: the worker module cannot even be imported.
    missing = "tests.fakes.no_such_worker_module"
    path = make_session(workspace)
    handle = launch_worker(workspace, path, worker_module=missing)
    assert handle.wait(WAIT_S) == 1
    engine = Engine(workspace, worker_module=missing)
    assert engine.history().sessions[0].status == "failed"
    status = read_metadata(path).execution_status
    assert status.status == "failed" and status.launch is None
    assert status.error_message is not None
    assert status.error_message.startswith("the worker exited before it started training: ")
    assert f"No module named {missing}" in status.error_message
    last = workspace.progress_file(read_metadata(path).session_id).read_text().splitlines()[-1]
    assert StatusChanged.model_validate_json(last).status == "failed"


def test_cli_second_resume_while_the_first_starts_is_refused_at_once(
    workspace: Workspace, dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The real worker: it imports torch for seconds before it records ``running``.
    store = SessionStore(workspace)
    metadata = session_metadata()
    metadata.dataset_config.primary_file = str(dataset)
    path = store.create(metadata)
    ws = ["--workspace", str(workspace.root)]
    assert main(["resume", metadata.session_id, "--detach", *ws]) == 0
    capsys.readouterr()
    launch = read_metadata(path).execution_status.launch
    assert launch is not None
    try:
        assert main(["resume", metadata.session_id, "--detach", *ws]) == 2
        error = capsys.readouterr().err
        assert f"already starting (pid {launch.pid} on {current_host()}" in error, error
        assert main(["stop", metadata.session_id, "--grace", str(WAIT_S), *ws]) == 0
    finally:
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(launch.pid).kill()
    wait_for(lambda: gone(launch.pid))
    assert read_metadata(path).execution_status.launch is None
