"""Start and stop training workers as detached processes that outlive the app.

A worker is ``python -m engine.training.worker METADATA [--resume] [--force]`` in its own session
(so closing the terminal or losing the SSH connection sends it no SIGHUP), with stdin closed and
its output appended to ``logs/training_runs/<session_id>/worker.out``. A session asking for more
than one process (``nproc_per_node`` x ``nnodes``) runs the same module under PyTorch's launcher,
torchrun, through ``python -m engine.training.launcher`` (which keeps the worker's exit codes);
the recorded pid is then the launcher's, which forwards a SIGTERM to every rank.

The launch is recorded in the metadata under the file's lock before ``launch_worker`` returns
(``execution_status.launch``: pid, host, start time), so the session shows as starting at once
and a second launch is refused until the worker has recorded ``running`` or is gone. Nothing here
keeps state that the files do not: a fresh app finds a starting or running worker through what
the metadata records, and ``stop_worker`` signals a process only when it is provably the
session's worker (see engine.liveness).
"""

from __future__ import annotations

import contextlib
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
from engine.files import open_append
from engine.liveness import (
    DEAD_PROCESS_REASON,
    STOP_GRACE_S,
    WORKER_MODULE,
    check_liveness,
    clear_launch_if_unchanged,
    current_host,
    find_worker_process,
    mark_interrupted_if_unchanged,
    reconcile_dead_session,
    refuse_if_active,
)
from engine.progress import utc_now
from engine.schema import LaunchRecord, ModelConfig, TrainingMetadata
from engine.store import SessionStore, read_metadata
from engine.workspace import WORKSPACE_ENV, Workspace

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


#: torchrun, run in-process with the worker's exit codes (see engine.training.launcher).
LAUNCHER_MODULE = "engine.training.launcher"


def launcher_arguments(config: ModelConfig) -> list[str]:
    """The launcher's (torchrun's) arguments for a multi-process session, else none.

    One process in all needs no launcher. On one node torchrun's ``--standalone`` rendezvous
    picks a free port itself; on several, every node names the same c10d endpoint. The c10d
    rendezvous numbers the ranks itself (torchrun ignores ``--node-rank`` there); ``node_rank``
    says which node hosts the rendezvous (0), which matters where the endpoint's host name
    matches several nodes (``localhost``, or nodes sharing an address), each of which would
    otherwise try to host it, and a node that lost the race would fail when the host left.
    """
    if config.nproc_per_node * config.nnodes <= 1:
        return []
    arguments = [
        sys.executable,
        "-m",
        LAUNCHER_MODULE,
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
        arguments.append(f"--rdzv-conf=is_host={int(config.node_rank == 0)}")
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


def _reap_in_background(process: subprocess.Popen[bytes]) -> None:
    # A child that exits stays a zombie until its parent waits on it, and the UI may run for days
    # launching many workers. A daemon thread blocked in wait() reaps it as soon as it ends and
    # keeps Popen's returncode for poll()/wait() (Popen serialises waitpid with a lock, so the
    # two never race). A double fork would also avoid zombies, but it loses the child's exit
    # code and needs a pipe to learn the grandchild's pid. When the app exits first, the daemon
    # thread dies with it and init (or the nearest subreaper) adopts and reaps the worker.
    threading.Thread(target=process.wait, name=f"reap-worker-{process.pid}", daemon=True).start()


def _terminate_unrecorded(process: subprocess.Popen[bytes]) -> None:
    """End a worker whose launch could not be recorded: it has done nothing yet."""
    with contextlib.suppress(OSError):
        process.kill()


def launch_worker(
    workspace: Workspace,
    metadata_path: Path,
    *,
    resume: bool = False,
    force: bool = False,
    detach: bool = True,
    worker_module: str = WORKER_MODULE,
) -> WorkerHandle:
    """Start the training worker of one session, and record the launch before returning.

    Under the metadata file's lock: the session must have no live worker (starting or
    running), the process is started, and ``execution_status.launch`` records its pid, host and
    start time. A second launch of the same session, from any process, is therefore refused at
    once with who holds it; and a worker that dies before it records ``running`` is found and
    the session marked failed (see engine.liveness).

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
        BadInputError: the session is already starting or running, or a multi-node session
            lacks its rendezvous endpoint.
        OperationError: the process could not be started.
        StoreError: the launch could not be recorded (the started process is killed).
    """
    metadata_path = Path(metadata_path).resolve()
    store = SessionStore(workspace)
    started: list[WorkerHandle] = []

    def start_and_record(metadata: TrainingMetadata) -> None:
        liveness = check_liveness(metadata, metadata_path, worker_module=worker_module)
        refuse_if_active(liveness, metadata)
        status = metadata.execution_status
        if status.status == "running" and liveness.local and liveness.alive is False:
            # The last worker died without a word: say so before this launch hides it.
            status.status = "interrupted"
            status.error_message = liveness.reason
        handle = _start_process(
            workspace,
            metadata_path,
            metadata,
            resume=resume,
            force=force,
            detach=detach,
            worker_module=worker_module,
        )
        started.append(handle)
        status.launch = LaunchRecord(
            pid=handle.pid,
            host=current_host(),
            process_started_at=_process_started_at(handle.pid),
            launched_at=utc_now(),
            resume=resume,
        )

    try:
        store.update(metadata_path, start_and_record)
    except BaseException:
        # Started but not recorded (the write failed): nothing must run that the files do not
        # show.
        for handle in started:
            _terminate_unrecorded(handle.process)
        raise
    return started[0]


def _process_started_at(pid: int) -> float:
    try:
        # Popen returns once the child exec'd, so this is the worker's own start time.
        return psutil.Process(pid).create_time()
    except psutil.NoSuchProcess:
        # Already gone: the record then names a dead process, which liveness reports as a
        # worker that died while starting.
        return time.time()


def _start_process(
    workspace: Workspace,
    metadata_path: Path,
    metadata: TrainingMetadata,
    *,
    resume: bool,
    force: bool,
    detach: bool,
    worker_module: str,
) -> WorkerHandle:
    session_id = metadata.session_id
    log_path = workspace.worker_output(session_id)
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
        # Appended, not truncated: a resumed session keeps the output of its earlier runs. Never
        # through a link planted in the run folder (it would write outside the workspace).
        log_fd = open_append(log_path)
    except OSError as exc:
        raise OperationError(
            f"cannot open {log_path} for the worker's output: {exc.strerror or exc};"
            f" check that {log_path.parent} is writable and holds no link named {log_path.name}"
        ) from None
    try:
        header = f"--- {datetime.now().isoformat(timespec='seconds')} {' '.join(command)}\n"
        os.write(log_fd, header.encode())
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
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
    finally:
        os.close(log_fd)
    _reap_in_background(process)
    return WorkerHandle(pid=process.pid, log_path=log_path, process=process)


StopOutcome = Literal["terminated", "killed", "not_running", "other_host", "failed"]


@dataclass(frozen=True)
class StopReport:
    """What ``stop_worker`` did."""

    outcome: StopOutcome
    """terminated (exited after SIGTERM), killed (needed SIGKILL), not_running (no worker of
    this session runs here: nothing was signalled), other_host (runs on another machine: cannot
    be signalled from here), failed (could not be stopped)."""
    session_id: str
    message: str
    """One line for the user."""
    pid: int | None = None
    host: str | None = None
    waited_s: float = 0.0
    """Seconds between SIGTERM and the end of the process (or the SIGKILL)."""

    @property
    def stopped(self) -> bool:
        """True when a worker was stopped now."""
        return self.outcome in ("terminated", "killed")

    @property
    def refused(self) -> bool:
        """True when there was nothing here to stop (not running, or on another host)."""
        return self.outcome in ("not_running", "other_host")

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


def _worker_to_stop(
    store: SessionStore, metadata_path: Path, metadata: TrainingMetadata, worker_module: str
) -> tuple[psutil.Process | None, StopReport | None]:
    """The process to signal, or the report of why none may be signalled."""
    session_id = metadata.session_id
    status = metadata.execution_status
    liveness = check_liveness(metadata, metadata_path, worker_module=worker_module)
    launch = status.launch if status.status != "running" else None
    pid = launch.pid if launch is not None else status.pid
    host = launch.host if launch is not None else status.host
    if liveness.status_to_show not in ("running", "starting", "stale") and not (
        liveness.local and liveness.alive is False
    ):
        return None, StopReport(
            "not_running", session_id, f"{session_id} is {status.status}, not running"
        )
    if not liveness.local:
        return None, StopReport(
            "other_host",
            session_id,
            f"{session_id} runs on host {host!r}, not on {current_host()!r}: stop it on {host}",
            pid=pid,
            host=host,
        )
    process = None
    if liveness.alive:
        started_at = launch.process_started_at if launch is not None else status.process_started_at
        process = find_worker_process(pid, started_at, metadata_path, worker_module=worker_module)
    if process is None:
        # Not (or no longer) provably this session's worker: nothing is signalled, and the
        # file is told the truth (interrupted, or failed while starting).
        reconcile_dead_session(store, metadata_path, worker_module=worker_module)
        shown = "failed while starting" if launch is not None else "marked interrupted"
        reason = liveness.reason or DEAD_PROCESS_REASON
        return None, StopReport(
            "not_running",
            session_id,
            f"{session_id} has no worker running here ({reason}): nothing was signalled; {shown}",
            pid=pid,
            host=host,
        )
    return process, None


def stop_worker(
    store: SessionStore,
    metadata_path: Path,
    *,
    grace_s: float = STOP_GRACE_S,
    worker_module: str = WORKER_MODULE,
) -> StopReport:
    """Stop a session's worker: SIGTERM, then SIGKILL after ``grace_s`` seconds.

    The worker answers SIGTERM by checkpointing and marking itself interrupted. After a
    SIGKILL it cannot, so the session is marked interrupted here. Only a process that is
    provably the session's worker is signalled (its start time and command line match, see
    engine.liveness): a file naming any other pid, a recycled pid, or a file without a recorded
    start time gets a ``not_running`` report and nothing is sent. A worker still starting
    (importing torch, before it records ``running``) is found through the launch record.

    Raises:
        MetadataError: the metadata file cannot be read.
        StoreError: the metadata could not be updated after a SIGKILL.
    """
    metadata = read_metadata(metadata_path)
    session_id = metadata.session_id
    process, refusal = _worker_to_stop(store, metadata_path, metadata, worker_module)
    if refusal is not None:
        return refusal
    assert process is not None
    starting = metadata.execution_status.status != "running"
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
    if starting:
        # Stopped before it recorded anything: the session is as it was before the launch.
        clear_launch_if_unchanged(store, metadata_path, pid)
    during = " while starting" if starting else ""
    if outcome == "terminated" and read_metadata(metadata_path).status == "completed":
        # The SIGTERM came in its last moments (saving the best model), when a stop no longer
        # interrupts anything: it completed, and was not stopped.
        return StopReport(
            "not_running",
            session_id,
            f"{session_id} is completed, not running: it finished before the stop took effect",
            pid=pid,
            host=host,
            waited_s=waited,
        )
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
