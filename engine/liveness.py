"""Tell a live training run from a dead one, and a session's worker from any other process.

A session whose file says ``running`` may be a worker that crashed, was killed or lost its machine
without writing a final status; and the file itself is untrusted: it may name any pid of this
host. A process counts as the session's worker only when that is proven: its kernel start time
matches the recorded one (a pid is recycled once its process ends) *and* its command line runs
the worker module on this very metadata file (``-m engine.training.worker <file>``, directly or
under torchrun). Anything else is not the worker: a local ``running`` session without its worker
is shown as ``interrupted`` and written back as such, and nothing is ever signalled.

A worker launched but still starting (importing torch) is recorded by the launcher as a launch
record (``execution_status.launch``) and shown as ``starting``; if its process is gone before it
recorded ``running``, it died while starting and the session is marked ``failed`` with the end of
its output. On another host nothing can be checked but the heartbeat: an old one makes the
session ``stale``, which is shown and never written back, because the run may well be alive there.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import BadInputError, Remedy
from engine.files import read_tail
from engine.store import SessionStore, read_metadata
from engine.vocabulary import Status
from engine.workspace import Workspace

if TYPE_CHECKING:
    from datetime import datetime

    import psutil

    from engine.schema import ExecutionStatus, LaunchRecord, TrainingMetadata

#: ``python -m engine.training.worker METADATA``: the module every training process runs.
WORKER_MODULE = "engine.training.worker"
DEAD_PROCESS_REASON = "process ended without a final status"
DIED_STARTING_REASON = "the worker exited before it started training"
#: Seconds ``stop`` waits after SIGTERM (the worker checkpoints) before it sends SIGKILL.
STOP_GRACE_S = 30.0
#: The worker heartbeats at least every 30 s; four missed heartbeats make a remote run stale.
HEARTBEAT_STALE_AFTER_S = 120.0
#: psutil derives a start time from the boot time, which the kernel recomputes when the wall clock
#: is stepped (NTP), so the same process can read back a slightly different value. A recycled pid
#: would have to be reused within this window of the original start, which does not happen.
START_TIME_TOLERANCE_S = 2.0
#: How much of worker.out is kept in the error of a worker that died while starting.
_OUTPUT_TAIL_BYTES = 4096
_OUTPUT_TAIL_LINES = 3
_OUTPUT_TAIL_CHARACTERS = 500


def current_host() -> str:
    """This machine's host name, as the worker records it in ``execution_status.host``."""
    return socket.gethostname()


def current_process_started_at() -> float:
    """This process's start time as the worker must record it in ``process_started_at``.

    It is the kernel's start time of the process (psutil), not ``time.time()`` at some point of
    the worker's start-up: only the kernel's value can be compared with another process's.
    """
    import psutil  # imported on use: the app imports this module before its first paint

    return psutil.Process().create_time()


def _worker_argument(argv: list[str], worker_module: str) -> str | None:
    """The metadata path in ``... -m MODULE PATH ...`` (python's or torchrun's ``-m``)."""
    for index, argument in enumerate(argv):
        if argument == "-m" and argv[index + 1 : index + 2] == [worker_module]:
            following = argv[index + 2 : index + 3]
        elif argument == f"-m{worker_module}":
            following = argv[index + 1 : index + 2]
        else:
            continue
        return following[0] if following else None
    return None


def runs_session(process: psutil.Process, metadata_path: Path, worker_module: str) -> bool:
    """Whether ``process``'s command line runs ``worker_module`` on ``metadata_path``.

    A relative path is taken from the process's working directory. False when the command line
    or the directory cannot be read (another user's process): what cannot be proven is not ours.
    """
    import psutil

    try:
        argument = _worker_argument(process.cmdline(), worker_module)
        if argument is None:
            return False
        named = Path(argument)
        if not named.is_absolute():
            named = Path(process.cwd()) / named
        return os.path.realpath(named) == os.path.realpath(metadata_path)
    except (psutil.Error, OSError, ValueError):
        return False


def find_worker_process(
    pid: int | None,
    started_at: float | None,
    metadata_path: Path,
    *,
    worker_module: str = WORKER_MODULE,
) -> psutil.Process | None:
    """The live process ``pid`` if it is provably the worker of ``metadata_path``, else None.

    Proven means: the pid exists and is not a zombie, its kernel start time is ``started_at``
    (within START_TIME_TOLERANCE_S), and its command line runs ``worker_module`` on the file.
    Without a recorded start time nothing is proven (a file may name any pid): None.
    """
    import psutil  # imported on use: the app imports this module before its first paint

    if pid is None or started_at is None or pid <= 0:
        return None
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        if abs(process.create_time() - started_at) > START_TIME_TOLERANCE_S:
            return None
    except (psutil.Error, OverflowError, ValueError):
        # Gone, hidden from this user, or a pid the OS cannot even represent.
        return None
    return process if runs_session(process, metadata_path, worker_module) else None


@dataclass(frozen=True)
class Liveness:
    """How a session's status should be shown, after checking its process."""

    status_to_show: str
    """The recorded status, ``interrupted`` for a dead local run, ``stale`` for a silent remote
    one."""
    reason: str | None
    """Why the shown status differs from the recorded one."""
    stale: bool
    """A remote run whose last heartbeat is older than the threshold."""
    local: bool
    """The run's recorded host is this machine."""
    alive: bool | None
    """Whether the worker process is alive; None when it cannot be checked (not running, or on
    another host)."""


def _age_s(value: datetime, now: datetime | None) -> float | None:
    """Seconds since ``value`` (a naive datetime is local time, what datetime.now() writes).

    None when the recorded time cannot be placed on this clock (year 1 or 9999 in a local
    timezone overflows).
    """
    try:
        current = now.timestamp() if now is not None else time.time()
        return current - value.timestamp()
    except (OverflowError, ValueError, OSError):
        return None


def _format_age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _is_this_host(host: str | None, this_host: str) -> bool:
    return host is not None and host.lower() == this_host.lower()


def _launch_liveness(
    launch: LaunchRecord,
    metadata_path: Path,
    *,
    now: datetime | None,
    this_host: str,
    stale_after_s: float,
    worker_module: str,
) -> Liveness:
    """A session whose worker was launched and has not yet recorded ``running``."""
    if _is_this_host(launch.host, this_host):
        process = find_worker_process(
            launch.pid, launch.process_started_at, metadata_path, worker_module=worker_module
        )
        if process is not None:
            return Liveness("starting", None, stale=False, local=True, alive=True)
        return Liveness("failed", DIED_STARTING_REASON, stale=False, local=True, alive=False)
    age = _age_s(launch.launched_at, now)
    if age is None or age > stale_after_s:
        since = "" if age is None else f" {_format_age(age)} ago"
        return Liveness(
            "stale",
            f"launched on host {launch.host}{since} and never reported running",
            stale=True,
            local=False,
            alive=None,
        )
    return Liveness("starting", None, stale=False, local=False, alive=None)


def check_liveness(
    metadata: TrainingMetadata,
    metadata_path: Path,
    *,
    now: datetime | None = None,
    this_host: str | None = None,
    stale_after_s: float = HEARTBEAT_STALE_AFTER_S,
    worker_module: str = WORKER_MODULE,
) -> Liveness:
    """Check the process of a ``running`` or starting session (a few /proc reads).

    Args:
        metadata: the session's metadata.
        metadata_path: its file: a local worker is recognised by running on this file.
        now: the current time (for the heartbeat age of a remote run); default the clock.
        this_host: this machine's host name; default ``current_host()``.
        stale_after_s: heartbeat age beyond which a remote run is shown as stale.
        worker_module: the module a worker runs (tests start a stand-in).

    Returns:
        The status to show and why. Nothing is written: ``reconcile_dead_session`` does that.
    """
    status = metadata.execution_status
    host = this_host if this_host is not None else current_host()
    if status.launch is not None and status.status != "running":
        return _launch_liveness(
            status.launch,
            metadata_path,
            now=now,
            this_host=host,
            stale_after_s=stale_after_s,
            worker_module=worker_module,
        )
    local = _is_this_host(status.host, host)
    if status.status != "running":
        return Liveness(status.status, None, stale=False, local=local, alive=None)
    if local:
        process = find_worker_process(
            status.pid, status.process_started_at, metadata_path, worker_module=worker_module
        )
        if process is not None:
            return Liveness("running", None, stale=False, local=True, alive=True)
        return Liveness("interrupted", DEAD_PROCESS_REASON, stale=False, local=True, alive=False)
    beat = status.last_heartbeat_at or status.started_at
    where = f"host {status.host}" if status.host else "an unknown host"
    if beat is None:
        return Liveness(
            "stale", f"runs on {where} and never sent a heartbeat", True, local=False, alive=None
        )
    age = _age_s(beat, now)
    if age is None or age > stale_after_s:
        return Liveness(
            "stale",
            f"no heartbeat from {where}" + ("" if age is None else f" for {_format_age(age)}"),
            stale=True,
            local=False,
            alive=None,
        )
    return Liveness("running", None, stale=False, local=False, alive=None)


def refuse_if_active(liveness: Liveness, metadata: TrainingMetadata) -> None:
    """Raise BadInputError when the session has a worker starting or running (or may have).

    The message says who holds it: pid, host and since when.
    """
    status = metadata.execution_status
    session_id = metadata.session_id
    if liveness.status_to_show == "starting" and status.launch is not None:
        launch = status.launch
        raise BadInputError(
            f"session {session_id} is already starting (pid {launch.pid} on {launch.host},"
            f" launched at {launch.launched_at:%Y-%m-%d %H:%M:%S})",
            Remedy(
                shell=f"wait for it, or stop it with `llmtool-tui stop {session_id}`",
                app="wait for it, or press s to stop it",
            ),
        )
    if liveness.status_to_show in ("running", "stale"):
        since = f" since {status.started_at:%Y-%m-%d %H:%M:%S}" if status.started_at else ""
        raise BadInputError(
            f"session {session_id} is already running (pid {status.pid} on {status.host}{since})",
            Remedy(
                shell=f"stop it first with `llmtool-tui stop {session_id}`",
                app="press s to stop it first",
            ),
        )


class _Unchanged(Exception):
    """Raised inside an update to leave the file untouched."""


def _end_if_unchanged(
    store: SessionStore,
    path: Path,
    still_ours: Callable[[ExecutionStatus], bool],
    status: Status,
    reason: Callable[[TrainingMetadata], str],
) -> TrainingMetadata | None:
    """Record that a session ended (``status``, with ``reason``) if ``still_ours`` holds.

    The check and the write happen under the file's lock, so a worker that wrote its own final
    status, or a launch that started a new worker, is never overwritten. A status event is
    appended to the run's progress.jsonl (when the run has one) so that tailers see the end.
    """
    # Imported on use, like psutil: this module is imported before the app's first paint, and
    # engine.progress brings pydantic.
    from engine.progress import utc_now

    def mutate(metadata: TrainingMetadata) -> None:
        execution = metadata.execution_status
        if not still_ours(execution):
            raise _Unchanged
        execution.status = status
        execution.error_message = reason(metadata)
        execution.error_type = None
        execution.ended_at = utc_now()
        execution.launch = None

    try:
        written = store.update(path, mutate)
    except _Unchanged:
        return None
    _append_status_event(
        store.workspace, written, status, written.execution_status.error_message or ""
    )
    return written


def mark_interrupted_if_unchanged(
    store: SessionStore, path: Path, pid: int | None, reason: str
) -> TrainingMetadata | None:
    """Mark a session interrupted, only if it is still ``running`` with the same ``pid``.

    Returns:
        The document as written, or None when it was left unchanged.

    Raises:
        MetadataError, StoreError: the file cannot be read or written.
    """
    return _end_if_unchanged(
        store,
        path,
        lambda execution: execution.status == "running" and execution.pid == pid,
        "interrupted",
        lambda metadata: reason,
    )


def worker_output_tail(workspace: Workspace, session_id: str) -> str:
    """The last lines of a session's ``worker.out`` on one line, for an error message."""
    try:
        raw = read_tail(workspace.worker_output(session_id), _OUTPUT_TAIL_BYTES)
    except OSError as exc:
        return f"worker.out cannot be read ({exc.strerror or exc})"
    lines = [line.strip() for line in raw.decode("utf-8", "replace").splitlines()]
    # The launcher's own header lines (``--- <time> <command>``) say nothing about the failure.
    kept = [line for line in lines if line and not line.startswith("--- ")][-_OUTPUT_TAIL_LINES:]
    if not kept:
        return "worker.out is empty"
    text = " | ".join(kept)
    return text if len(text) <= _OUTPUT_TAIL_CHARACTERS else "…" + text[-_OUTPUT_TAIL_CHARACTERS:]


def mark_failed_start_if_unchanged(
    store: SessionStore, path: Path, launch_pid: int
) -> TrainingMetadata | None:
    """Mark ``failed`` a session whose launched worker (``launch_pid``) died while starting.

    Only when the launch record still names that pid: a worker that recorded ``running``
    meanwhile, or a newer launch, is left alone. The error message holds the end of
    ``worker.out`` (an import error, a bad interpreter).

    Returns:
        The document as written, or None when it was left unchanged.

    Raises:
        MetadataError, StoreError: the file cannot be read or written.
    """
    return _end_if_unchanged(
        store,
        path,
        lambda execution: (
            execution.status != "running"
            and execution.launch is not None
            and execution.launch.pid == launch_pid
        ),
        "failed",
        lambda metadata: (
            f"{DIED_STARTING_REASON}: {worker_output_tail(store.workspace, metadata.session_id)}"
        ),
    )


def clear_launch_if_unchanged(
    store: SessionStore, path: Path, launch_pid: int
) -> TrainingMetadata | None:
    """Remove the launch record naming ``launch_pid`` (a worker stopped or refused while starting).

    The status is left as it was: the session never started.

    Raises:
        MetadataError, StoreError: the file cannot be read or written.
    """

    def mutate(metadata: TrainingMetadata) -> None:
        launch = metadata.execution_status.launch
        if launch is None or launch.pid != launch_pid:
            raise _Unchanged
        metadata.execution_status.launch = None

    try:
        return store.update(path, mutate)
    except _Unchanged:
        return None


def _append_status_event(
    workspace: Workspace, metadata: TrainingMetadata, status: Status, reason: str
) -> None:
    progress_path = workspace.progress_file(metadata.session_id)
    if not progress_path.parent.is_dir():
        return
    from engine.progress import ProgressWriter, StatusChanged

    # The run folder is untrusted: ProgressWriter refuses a link or FIFO planted there.
    try:
        writer = ProgressWriter(progress_path)
    except OSError:
        return
    try:
        writer.write(StatusChanged(status=status, message=reason))
    finally:
        writer.close()


def reconcile_dead_session(
    store: SessionStore, path: Path, *, worker_module: str = WORKER_MODULE
) -> TrainingMetadata | None:
    """Write the true status of a local session whose worker is gone.

    A ``running`` session whose worker is not (provably) alive becomes ``interrupted``; a
    session whose launched worker died before it recorded ``running`` becomes ``failed``.

    Returns:
        The document as written, or None when nothing was written (alive, not running, on
        another host, or changed meanwhile).

    Raises:
        MetadataError, StoreError: the file cannot be read or written.
    """
    metadata = read_metadata(path)
    liveness = check_liveness(metadata, path, worker_module=worker_module)
    if not liveness.local or liveness.alive is not False:
        return None
    status = metadata.execution_status
    if status.launch is not None and status.status != "running":
        return mark_failed_start_if_unchanged(store, path, status.launch.pid)
    return mark_interrupted_if_unchanged(
        store, path, status.pid, liveness.reason or DEAD_PROCESS_REASON
    )
