"""Tell a live training run from a dead one, from its metadata alone.

A session whose file says ``running`` may be a worker that crashed, was killed or lost its machine
without writing a final status. On this host that is decided for sure: the recorded pid must be
alive and its process start time must match the recorded one (a pid is recycled once its process
ends, possibly by an unrelated process). A dead run is shown as ``interrupted`` and written back as
such. On another host nothing can be checked but the heartbeat: an old one makes the session
``stale``, which is shown and never written back, because the run may well be alive there.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from engine.store import SessionStore, read_metadata
from engine.workspace import Workspace

if TYPE_CHECKING:
    import psutil

    from engine.schema import TrainingMetadata

DEAD_PROCESS_REASON = "process ended without a final status"
#: The worker heartbeats at least every 30 s; four missed heartbeats make a remote run stale.
HEARTBEAT_STALE_AFTER_S = 120.0
#: psutil derives a start time from the boot time, which the kernel recomputes when the wall clock
#: is stepped (NTP), so the same process can read back a slightly different value. A recycled pid
#: would have to be reused within this window of the original start, which does not happen.
START_TIME_TOLERANCE_S = 2.0


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


def find_worker_process(pid: int | None, started_at: float | None) -> psutil.Process | None:
    """The live process with ``pid`` if it is the one started at ``started_at``, else None.

    None when the pid is gone, is a zombie, or belongs to a process started at another time
    (a recycled pid). Without a recorded start time, only the pid can be checked.
    """
    import psutil  # imported on use: the app imports this module before its first paint

    if pid is None or pid <= 0:
        return None
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        if started_at is not None and abs(process.create_time() - started_at) > (
            START_TIME_TOLERANCE_S
        ):
            return None
    except psutil.NoSuchProcess:
        return None
    except psutil.AccessDenied:
        # Another user's process whose details are hidden: it exists, and what cannot be
        # verified must not be declared dead (that would write ``interrupted`` over a live run).
        pass
    return process


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


def _timestamp(value: datetime) -> float:
    # A naive datetime is read as local time, which is what datetime.now() writes.
    return value.timestamp()


def _format_age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def check_liveness(
    metadata: TrainingMetadata,
    *,
    now: datetime | None = None,
    this_host: str | None = None,
    stale_after_s: float = HEARTBEAT_STALE_AFTER_S,
) -> Liveness:
    """Check the process of a ``running`` session (a few microseconds of /proc reads).

    Args:
        metadata: the session's metadata.
        now: the current time (for the heartbeat age of a remote run); default the clock.
        this_host: this machine's host name; default ``current_host()``.
        stale_after_s: heartbeat age beyond which a remote run is shown as stale.

    Returns:
        The status to show and why. Nothing is written: ``reconcile_dead_session`` does that.
    """
    status = metadata.execution_status
    host = this_host if this_host is not None else current_host()
    local = status.host is not None and status.host.lower() == host.lower()
    if status.status != "running":
        return Liveness(status.status, None, stale=False, local=local, alive=None)
    if local:
        if find_worker_process(status.pid, status.process_started_at) is not None:
            return Liveness("running", None, stale=False, local=True, alive=True)
        return Liveness("interrupted", DEAD_PROCESS_REASON, stale=False, local=True, alive=False)
    current = _timestamp(now) if now is not None else time.time()
    beat = status.last_heartbeat_at or status.started_at
    where = f"host {status.host}" if status.host else "an unknown host"
    if beat is None:
        return Liveness(
            "stale", f"runs on {where} and never sent a heartbeat", True, local=False, alive=None
        )
    age = current - _timestamp(beat)
    if age > stale_after_s:
        return Liveness(
            "stale",
            f"no heartbeat from {where} for {_format_age(age)}",
            stale=True,
            local=False,
            alive=None,
        )
    return Liveness("running", None, stale=False, local=False, alive=None)


class _Unchanged(Exception):
    """Raised inside an update to leave the file untouched."""


def mark_interrupted_if_unchanged(
    store: SessionStore, path: Path, pid: int | None, reason: str
) -> TrainingMetadata | None:
    """Mark a session interrupted, only if it is still ``running`` with the same ``pid``.

    The check and the write happen under the file's lock, so a worker that wrote its own final
    status, or a resume that started a new worker, is never overwritten. A status event is
    appended to the run's progress.jsonl (when the run has one) so that tailers see the end.

    Returns:
        The document as written, or None when it was left unchanged.

    Raises:
        MetadataError, StoreError: the file cannot be read or written.
    """
    # Imported on use, like psutil: this module is imported before the app's first paint, and
    # engine.progress brings pydantic.
    from engine.progress import utc_now

    def mutate(metadata: TrainingMetadata) -> None:
        status = metadata.execution_status
        if status.status != "running" or status.pid != pid:
            raise _Unchanged
        status.status = "interrupted"
        status.error_message = reason
        status.error_type = None
        status.ended_at = utc_now()

    try:
        written = store.update(path, mutate)
    except _Unchanged:
        return None
    _append_status_event(store.workspace, written, reason)
    return written


def _append_status_event(workspace: Workspace, metadata: TrainingMetadata, reason: str) -> None:
    progress_path = workspace.run_dir(metadata.session_id) / "progress.jsonl"
    if not progress_path.parent.is_dir():
        return
    from engine.progress import ProgressWriter, StatusChanged

    writer = ProgressWriter(progress_path)
    try:
        writer.write(StatusChanged(status="interrupted", message=reason))
    finally:
        writer.close()


def reconcile_dead_session(store: SessionStore, path: Path) -> TrainingMetadata | None:
    """Write ``interrupted`` into a ``running`` session whose local worker is dead.

    Returns:
        The document as written, or None when nothing was written (alive, not running, on
        another host, or changed meanwhile).

    Raises:
        MetadataError, StoreError: the file cannot be read or written.
    """
    metadata = read_metadata(path)
    liveness = check_liveness(metadata)
    if not liveness.local or liveness.alive is not False:
        return None
    return mark_interrupted_if_unchanged(
        store, path, metadata.execution_status.pid, liveness.reason or DEAD_PROCESS_REASON
    )
