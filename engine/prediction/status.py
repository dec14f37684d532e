"""A prediction job's progress file, ``status.json`` in its folder: written by the run, followed
by the app.

The run replaces the file atomically (at most every PROGRESS_INTERVAL_S, and at each change of
state), so a reader never sees half of it: polling it is all the app needs, from any process and
after a restart. A file saying ``running`` whose process is gone (killed, power cut) is read as
``interrupted``: running the same prediction again continues it.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

import psutil

from engine.files import read_regular
from engine.store import atomic_write_json

STATUS_FILE = "status.json"
REQUEST_FILE = "request.json"
WORKER_OUTPUT_FILE = "worker.out"
#: How often a running prediction rewrites its status at most.
PROGRESS_INTERVAL_S = 0.5
MAX_STATUS_BYTES = 1024 * 1024
#: Two start times closer than this are the same process (psutil's are floats of the boot clock).
START_TIME_TOLERANCE_S = 1.0

State = Literal["running", "completed", "failed", "interrupted"]


@dataclass(frozen=True)
class PredictionStatus:
    """Where a prediction stands."""

    session_id: str
    file: str
    output: str
    state: State
    rows_done: int
    rows_total: int
    chunks_done: int = 0
    chunks_total: int = 0
    chunks_reused: int = 0
    """Chunks found already predicted by an earlier, stopped run (not computed again)."""
    rows_per_s: float | None = None
    """Rows predicted per second by this run (reused chunks aside)."""
    eta_s: float | None = None
    elapsed_s: float = 0.0
    """Seconds spent so far, over every run of this prediction."""
    pid: int | None = None
    process_started_at: float | None = None
    message: str | None = None
    """Why it failed or stopped; when completed, the result in words."""
    job_dir: str = ""

    @property
    def fraction(self) -> float:
        return self.rows_done / self.rows_total if self.rows_total else 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def speed_words(self) -> str:
        """``2 of 9 chunks kept  850 rows/s  ETA 0:04``: what the progress bars show beside the
        rows."""
        parts = []
        if self.chunks_reused:
            parts.append(f"{self.chunks_reused} of {self.chunks_total} chunks kept")
        if self.rows_per_s is not None:
            parts.append(f"{self.rows_per_s:,.0f} rows/s")
        if self.eta_s is not None and self.state == "running":
            parts.append(f"ETA {clock_duration(self.eta_s)}")
        return "  ".join(parts)


def clock_duration(seconds: float) -> str:
    """``0:04``, ``12:30``, ``1:02:03``."""
    whole = max(0, math.ceil(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def write_status(job_dir: Path, status: PredictionStatus) -> None:
    """Replace the job's status file with ``status`` (atomically).

    A running status is replaced without waiting for the disk (no fsync): it is rewritten twice
    a second, a power cut loses nothing the next run needs (the chunks are synced), and a sync
    each time would slow the prediction down. The other states are written durably.
    """
    path = job_dir / STATUS_FILE
    if status.state != "running":
        atomic_write_json(path, status.to_json())
        return
    temp = path.with_name(f".{STATUS_FILE}.tmp-{os.getpid()}")
    temp.write_text(json.dumps(status.to_json()), encoding="utf-8")
    os.replace(temp, path)


def _alive(pid: int | None, started_at: float | None) -> bool:
    if pid is None or started_at is None:
        return False
    try:
        return abs(psutil.Process(pid).create_time() - started_at) < START_TIME_TOLERANCE_S
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError, OverflowError):
        return False


def _well_typed(status: PredictionStatus) -> bool:
    """Whether each field holds what it should (the file may have been edited by anyone)."""
    numbers = (status.rows_done, status.rows_total, status.chunks_done, status.chunks_total)
    optional_numbers = (status.rows_per_s, status.eta_s, status.process_started_at)
    texts = (status.session_id, status.file, status.output)
    return (
        all(type(value) is int for value in (*numbers, status.chunks_reused))
        and all(value is None or type(value) in (int, float) for value in optional_numbers)
        and type(status.elapsed_s) in (int, float)
        and (status.pid is None or type(status.pid) is int)
        and all(isinstance(value, str) for value in texts)
        and (status.message is None or isinstance(status.message, str))
        and status.state in ("running", "completed", "failed", "interrupted")
    )


def read_status(job_dir: Path) -> PredictionStatus | None:
    """The job's status, ``interrupted`` when its process is gone; None when there is none yet
    or it cannot be read (the file is ours, but lives under logs/: it is checked, not trusted)."""
    try:
        document = json.loads(read_regular(job_dir / STATUS_FILE, MAX_STATUS_BYTES))
        known = {field.name for field in fields(PredictionStatus)}
        status = PredictionStatus(**{k: v for k, v in document.items() if k in known})
    except (OSError, ValueError, TypeError, AttributeError):
        return None
    if not _well_typed(status):
        return None
    status = replace(status, job_dir=str(job_dir))
    if status.state == "running" and not _alive(status.pid, status.process_started_at):
        return replace(
            status,
            state="interrupted",
            message="the prediction's process ended before it finished; run it again to continue"
            " from its last chunk",
        )
    return status


def this_process() -> tuple[int, float]:
    """This process's pid and kernel start time (which tell it from a later one of that pid)."""
    pid = os.getpid()
    return pid, psutil.Process(pid).create_time()
