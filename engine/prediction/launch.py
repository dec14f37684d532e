"""Starting a planned prediction as a detached worker process, for the app.

Like training, a prediction runs in a process of its own (``python -m engine.prediction.worker
JOB_DIR``), in its own session: the app's event loop never waits on the model, and the
prediction goes on when the app is closed or the SSH connection lost. The job's status file is
written before this returns, naming the process, so that any app sees it running at once (and as
interrupted if the process dies before it writes its own).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

from engine.errors import BadInputError, OperationError
from engine.files import open_append
from engine.prediction.plan import PredictionPlan
from engine.prediction.status import (
    REQUEST_FILE,
    WORKER_OUTPUT_FILE,
    PredictionStatus,
    read_status,
    write_status,
)
from engine.store import atomic_write_json
from engine.workspace import WORKSPACE_ENV, Workspace

WORKER_MODULE = "engine.prediction.worker"


def launch_prediction(workspace: Workspace, plan: PredictionPlan) -> PredictionStatus:
    """Start the worker of ``plan`` detached; its first status.

    Raises:
        BadInputError: the same prediction is running already.
        OperationError: the job's folder cannot be written or the process cannot start.
    """
    import psutil

    earlier = read_status(plan.job_dir)
    if earlier is not None and earlier.state == "running":
        raise BadInputError(
            f"the prediction of {plan.file.name} into {plan.output.name} is already running"
            f" (pid {earlier.pid}); let it finish"
        )
    try:
        plan.job_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(plan.job_dir / REQUEST_FILE, plan.request.to_document())
        log_fd = open_append(plan.job_dir / WORKER_OUTPUT_FILE)
    except OSError as exc:
        raise OperationError(
            f"cannot write the prediction's folder {plan.job_dir}: {exc.strerror or exc}"
        ) from None
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env[WORKSPACE_ENV] = str(workspace.root)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", WORKER_MODULE, str(plan.job_dir)],
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=subprocess.STDOUT,
            cwd=workspace.root,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    except OSError as exc:
        raise OperationError(f"cannot start the prediction: {exc.strerror or exc}") from None
    finally:
        os.close(log_fd)
    # Reaped as soon as it ends (no zombie while the app runs for days); see engine.supervisor.
    threading.Thread(target=process.wait, name=f"reap-{process.pid}", daemon=True).start()
    try:
        started_at = psutil.Process(process.pid).create_time()
    except psutil.NoSuchProcess:
        started_at = None
    status = PredictionStatus(
        session_id=plan.session_id,
        file=str(plan.file),
        output=str(plan.output),
        state="running",
        rows_done=0,
        rows_total=plan.rows,
        chunks_total=plan.chunks,
        pid=process.pid,
        process_started_at=started_at,
        message="starting",
        job_dir=str(plan.job_dir),
    )
    write_status(plan.job_dir, status)
    return status
