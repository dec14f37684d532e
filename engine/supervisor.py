"""Start and stop training workers as detached processes that outlive the app.

A worker is ``python -m engine.training.worker METADATA [--resume] [--force]`` in its own session
(so closing the terminal or losing the SSH connection sends it no SIGHUP), with stdin closed and
its output appended to ``logs/training_runs/<session_id>/worker.out``. A session asking for more
than one process (``nproc_per_node`` x ``nnodes``) runs the same module under PyTorch's launcher,
``python -m torch.distributed.run``; the recorded pid is then the launcher's, which forwards a
SIGTERM to every rank. Nothing here keeps state
that the files do not: a fresh app finds a running worker through the pid, host and start time
the worker records in its metadata, and stops it the same way (``stop_worker``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import psutil

from engine.errors import BadInputError, OperationError
from engine.liveness import (
    DEAD_PROCESS_REASON,
    check_liveness,
    current_host,
    find_worker_process,
    mark_interrupted_if_unchanged,
    reconcile_dead_session,
)
from engine.schema import ModelConfig
from engine.store import SessionStore, atomic_write_json, read_metadata
from engine.workspace import WORKSPACE_ENV, Workspace

WORKER_MODULE = "engine.training.worker"
WORKER_LOG_NAME = "worker.out"
#: ``logs/training_runs/<id>/worker.pid``: pid, host and start time of the last launched worker,
#: so that any process can stop a worker that has not yet recorded itself in the metadata.
LAUNCH_RECORD_NAME = "worker.pid"
DEFAULT_GRACE_S = 30.0
#: How long a SIGKILLed process may take to disappear before the stop is reported as failed
#: (a process stuck in uninterruptible I/O, state D, ignores even SIGKILL until the I/O ends).
KILL_WAIT_S = 5.0
_STOP_POLL_S = 0.05


@dataclass
class WorkerHandle:
    """A worker started by this process.

    ``poll`` and ``wait`` only work in the process that launched it; any other process finds the
    worker through its metadata (pid, host, process_started_at) instead.
    """

    pid: int
    log_path: Path
    process: subprocess.Popen[bytes]

    def poll(self) -> int | None:
        """The exit code, or None while the worker runs."""
        return self.process.poll()

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the worker to end and return its exit code.

        Raises subprocess.TimeoutExpired when ``timeout`` passes first.
        """
        return self.process.wait(timeout)


def launcher_arguments(config: ModelConfig) -> list[str]:
    """``torch.distributed.run`` (torchrun) arguments for a multi-process session, else none.

    One process in all needs no launcher. On one node torchrun's ``--standalone`` rendezvous
    picks a free port itself; on several, every node names the same c10d endpoint, and the
    rendezvous numbers the nodes unless ``node_rank`` fixes this node's rank.
    """
    if config.nproc_per_node * config.nnodes <= 1:
        return []
    arguments = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        f"--nproc-per-node={config.nproc_per_node}",
        f"--nnodes={config.nnodes}",
    ]
    if config.nnodes == 1:
        return [*arguments, "--standalone"]
    if not config.rdzv_endpoint:
        raise BadInputError(
            f"a session on {config.nnodes} nodes needs rdzv_endpoint, the host:port of the"
            " rendezvous on node 0; relaunch it with --set rdzv_endpoint=HOST:PORT"
        )
    arguments += ["--rdzv-backend=c10d", f"--rdzv-endpoint={config.rdzv_endpoint}"]
    if config.node_rank is not None:
        arguments.append(f"--node-rank={config.node_rank}")
    return arguments


def worker_command(
    metadata_path: Path,
    *,
    resume: bool = False,
    force: bool = False,
    worker_module: str = WORKER_MODULE,
    config: ModelConfig | None = None,
) -> list[str]:
    """The worker's argv: ``python -m MODULE``, under torchrun when ``config`` asks for DDP."""
    launcher = launcher_arguments(config) if config is not None else []
    command = [*(launcher or [sys.executable]), "-m", worker_module, str(metadata_path)]
    if resume:
        command.append("--resume")
    if force:
        command.append("--force")
    return command


def worker_log_path(workspace: Workspace, session_id: str) -> Path:
    """``logs/training_runs/<session_id>/worker.out``: the worker's stdout and stderr."""
    return workspace.run_dir(session_id) / WORKER_LOG_NAME


def _reap_in_background(process: subprocess.Popen[bytes]) -> None:
    # A child that exits stays a zombie until its parent waits on it, and the UI may run for days
    # launching many workers. A daemon thread blocked in wait() reaps it as soon as it ends and
    # keeps Popen's returncode for poll()/wait() (Popen serialises waitpid with a lock, so the
    # two never race). A double fork would also avoid zombies, but it loses the child's exit
    # code and needs a pipe to learn the grandchild's pid. When the app exits first, the daemon
    # thread dies with it and init (or the nearest subreaper) adopts and reaps the worker.
    threading.Thread(target=process.wait, name=f"reap-worker-{process.pid}", daemon=True).start()


def _write_launch_record(path: Path, pid: int, command: list[str]) -> None:
    try:
        # Popen returns once the child exec'd, so this is the worker's own start time.
        started_at = psutil.Process(pid).create_time()
    except psutil.NoSuchProcess:
        return  # already gone: nothing will ever need to stop it
    record = {"pid": pid, "host": current_host(), "process_started_at": started_at, "argv": command}
    # The record only serves to stop a worker during its start-up: failing to write it must not
    # report a worker that is running as not started.
    with contextlib.suppress(OSError):
        atomic_write_json(path, record)


def launch_worker(
    workspace: Workspace,
    metadata_path: Path,
    *,
    resume: bool = False,
    force: bool = False,
    detach: bool = True,
    worker_module: str = WORKER_MODULE,
) -> WorkerHandle:
    """Start the training worker of one session.

    Args:
        workspace: the workspace; it is the worker's cwd and its ``LLMTOOL_WORKSPACE``.
        metadata_path: the session's metadata file (its session id names the run directory).
        resume: pass ``--resume`` (continue from the newest checkpoint).
        force: pass ``--force`` (run even when the dataset's fingerprint changed).
        detach: start the worker in its own session and process group, so that it survives the
            app, the terminal and the SSH connection. With False it stays in the caller's process
            group, so that Ctrl-C in a foreground ``train`` reaches it too.
        worker_module: the module run with ``python -m`` (tests substitute a fake worker).

    Returns:
        A handle with the pid and the log path; the child is reaped by a background thread.

    Raises:
        MetadataError: the metadata file cannot be read.
        BadInputError: a multi-node session lacks its rendezvous endpoint.
        OperationError: the process could not be started.
    """
    metadata_path = Path(metadata_path).resolve()
    metadata = read_metadata(metadata_path)
    session_id = metadata.session_id
    log_path = worker_log_path(workspace, session_id)
    command = worker_command(
        metadata_path,
        resume=resume,
        force=force,
        worker_module=worker_module,
        config=metadata.training_model_config,
    )
    env = dict(os.environ)
    env[WORKSPACE_ENV] = str(workspace.root)
    # Output goes to a file, which Python block-buffers: without this, the last lines before a
    # crash or a SIGKILL would never reach worker.out.
    env["PYTHONUNBUFFERED"] = "1"
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        # Appended, not truncated: a resumed session keeps the output of its earlier runs.
        with log_path.open("ab") as log:
            header = f"--- {datetime.now().isoformat(timespec='seconds')} {' '.join(command)}\n"
            log.write(header.encode())
            log.flush()
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=workspace.root,
                env=env,
                start_new_session=detach,
                close_fds=True,
            )
    except OSError as exc:
        raise OperationError(
            f"cannot start the training worker for {session_id}: {exc.strerror or exc};"
            f" check that {workspace.root} and {log_path.parent} are writable"
        ) from None
    _reap_in_background(process)
    _write_launch_record(log_path.parent / LAUNCH_RECORD_NAME, process.pid, command)
    return WorkerHandle(pid=process.pid, log_path=log_path, process=process)


StopOutcome = Literal["terminated", "killed", "not_running", "other_host", "failed"]


@dataclass(frozen=True)
class StopReport:
    """What ``stop_worker`` did."""

    outcome: StopOutcome
    """terminated (exited after SIGTERM), killed (needed SIGKILL), not_running, other_host
    (runs on another machine: cannot be signalled from here), failed (could not be stopped)."""
    session_id: str
    message: str
    """One line for the user."""
    pid: int | None = None
    host: str | None = None
    waited_s: float = 0.0
    """Seconds between SIGTERM and the end of the process (or the SIGKILL)."""

    @property
    def stopped(self) -> bool:
        """True when the session is not running any more (stopped now or already)."""
        return self.outcome in ("terminated", "killed", "not_running")

    def to_json(self) -> dict[str, Any]:
        """The ``stop --json`` form."""
        return {
            "session_id": self.session_id,
            "outcome": self.outcome,
            "stopped": self.stopped,
            "pid": self.pid,
            "host": self.host,
            "waited_s": round(self.waited_s, 3),
            "message": self.message,
        }


def _wait_gone(process: psutil.Process, timeout: float) -> bool:
    """Whether ``process`` ended within ``timeout``.

    Polled rather than waited on: when the worker is our own child, the reaper thread of
    launch_worker must be the one to collect its exit code. A zombie counts as ended, and
    is_running() compares start times, so a recycled pid does too.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            if not process.is_running() or process.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_STOP_POLL_S)


def _kill(process: psutil.Process) -> None:
    # The worker leads its own process group (start_new_session), and its data-loader
    # subprocesses belong to it: SIGKILL the whole group so none of them outlives it. SIGTERM
    # goes to the worker alone, so that it can checkpoint before its helpers vanish.
    try:
        if os.getpgid(process.pid) == process.pid:
            os.killpg(process.pid, signal.SIGKILL)
            return
    except ProcessLookupError:
        return
    process.kill()


def _terminate(process: psutil.Process, grace_s: float) -> tuple[str, float]:
    """SIGTERM, then SIGKILL after ``grace_s`` seconds.

    Returns:
        ``terminated``, ``killed`` or ``stuck`` (alive after SIGKILL), and the seconds from the
        SIGTERM to the exit or to the SIGKILL.

    Raises:
        psutil.AccessDenied: the process belongs to another user.
    """
    started = time.monotonic()
    try:
        process.send_signal(signal.SIGTERM)
    except psutil.NoSuchProcess:
        return "terminated", 0.0
    if _wait_gone(process, grace_s):
        return "terminated", time.monotonic() - started
    waited = time.monotonic() - started
    with contextlib.suppress(psutil.NoSuchProcess):
        _kill(process)
    return ("killed" if _wait_gone(process, KILL_WAIT_S) else "stuck"), waited


def _starting_worker(workspace: Workspace, session_id: str) -> psutil.Process | None:
    """The worker launched for a session that has not yet recorded itself as running."""
    try:
        record = json.loads((workspace.run_dir(session_id) / LAUNCH_RECORD_NAME).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("host") != current_host():
        return None
    pid, started_at = record.get("pid"), record.get("process_started_at")
    if not isinstance(pid, int) or not isinstance(started_at, int | float):
        return None
    return find_worker_process(pid, float(started_at))


def stop_worker(
    store: SessionStore, metadata_path: Path, *, grace_s: float = DEFAULT_GRACE_S
) -> StopReport:
    """Stop a session's worker: SIGTERM, then SIGKILL after ``grace_s`` seconds.

    The worker answers SIGTERM by checkpointing and marking itself interrupted. After a
    SIGKILL it cannot, so the session is marked interrupted here. A pid whose process start time
    differs from the recorded one is never signalled (the pid was recycled). A worker still
    starting (importing torch, before it records ``running``) is found through the launch
    record that launch_worker leaves in the run directory.

    Raises:
        MetadataError: the metadata file cannot be read.
        StoreError: the metadata could not be updated after a SIGKILL.
    """
    metadata = read_metadata(metadata_path)
    session_id = metadata.session_id
    status = metadata.execution_status
    starting = status.status != "running"
    if starting:
        process = _starting_worker(store.workspace, session_id)
        if process is None:
            return StopReport(
                "not_running", session_id, f"{session_id} is {status.status}, not running"
            )
    else:
        liveness = check_liveness(metadata)
        if not liveness.local:
            return StopReport(
                "other_host",
                session_id,
                f"{session_id} runs on host {status.host!r}, not on {current_host()!r}:"
                f" stop it on {status.host}",
                pid=status.pid,
                host=status.host,
            )
        process = find_worker_process(status.pid, status.process_started_at)
        if process is None:
            reconcile_dead_session(store, metadata_path)
            return StopReport(
                "not_running",
                session_id,
                f"{session_id} was not running ({liveness.reason or DEAD_PROCESS_REASON});"
                " marked interrupted",
                pid=status.pid,
                host=status.host,
            )
    pid, host = process.pid, current_host()
    try:
        outcome, waited = _terminate(process, grace_s)
    except psutil.AccessDenied:
        return StopReport(
            "failed",
            session_id,
            f"{session_id}: not allowed to signal pid {pid} (owned by another user);"
            " stop it as that user",
            pid=pid,
            host=host,
        )
    if outcome == "stuck":
        return StopReport(
            "failed",
            session_id,
            f"{session_id}: pid {pid} survived SIGKILL for {KILL_WAIT_S:.0f} s"
            " (stuck in uninterruptible I/O?); check it with `ps` and retry",
            pid=pid,
            host=host,
            waited_s=waited,
        )
    during = " while starting" if starting else ""
    if outcome == "terminated":
        # The worker normally wrote its own final status; this only repairs a worker that
        # died on the way out without writing one.
        mark_interrupted_if_unchanged(
            store, metadata_path, pid, "stopped by user; " + DEAD_PROCESS_REASON
        )
        return StopReport(
            "terminated",
            session_id,
            f"{session_id} stopped{during} (pid {pid} exited {waited:.1f} s after SIGTERM)",
            pid=pid,
            host=host,
            waited_s=waited,
        )
    mark_interrupted_if_unchanged(
        store,
        metadata_path,
        pid,
        f"stopped by user: killed (SIGKILL) after not exiting within {grace_s:g} s of SIGTERM;"
        " the last checkpoint may be older than the last step",
    )
    return StopReport(
        "killed",
        session_id,
        f"{session_id} killed{during} (pid {pid} ignored SIGTERM for {waited:.1f} s);"
        " marked interrupted",
        pid=pid,
        host=host,
        waited_s=waited,
    )


async def stop_worker_async(
    store: SessionStore, metadata_path: Path, *, grace_s: float = DEFAULT_GRACE_S
) -> StopReport:
    """``stop_worker`` in a thread: it blocks for up to ``grace_s`` seconds."""
    return await asyncio.to_thread(stop_worker, store, metadata_path, grace_s=grace_s)
