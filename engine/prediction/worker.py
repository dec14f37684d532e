"""The prediction worker: ``python -m engine.prediction.worker JOB_DIR``, started detached by the
app (``Engine.start_prediction``) so that a long prediction neither blocks the app nor dies with
it.

The job's folder holds the request (``request.json``); the worker checks it again (the file or
the session may have changed since), predicts, and keeps ``status.json`` up to date. Its output
goes to ``worker.out`` in the same folder. Exit codes: 0 written, 1 failed, 2 refused.

The workspace is ``$LLMTOOL_WORKSPACE``, else the one holding the job's folder
(``<ws>/logs/training_runs/<session_id>/predictions/<key>``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from engine.errors import BadInputError, OperationError
from engine.files import read_regular
from engine.prediction.plan import PredictionRequest, plan_prediction
from engine.prediction.status import REQUEST_FILE, PredictionStatus, read_status, write_status
from engine.store import MetadataError, SessionStore, StoreError
from engine.workspace import WORKSPACE_ENV, Workspace

MAX_REQUEST_BYTES = 64 * 1024


def _refused(job_dir: Path, request: PredictionRequest | None, message: str) -> None:
    """Say why in worker.out and in the status the app follows."""
    print(f"worker: {message}", flush=True)
    earlier = read_status(job_dir)
    write_status(
        job_dir,
        PredictionStatus(
            session_id=earlier.session_id if earlier else "",
            file=str(request.file) if request else "",
            output=str(request.output or "") if request else "",
            state="failed",
            rows_done=earlier.rows_done if earlier else 0,
            rows_total=earlier.rows_total if earlier else 0,
            message=message,
        ),
    )


def run(job_dir: Path) -> int:
    """Predict the job of ``job_dir``; the exit code."""
    from engine.prediction.runner import run_prediction

    workspace = Workspace(
        Path(os.environ.get(WORKSPACE_ENV) or job_dir.parents[4]).expanduser().resolve()
    )
    request: PredictionRequest | None = None
    try:
        request = PredictionRequest.from_document(
            json.loads(read_regular(job_dir / REQUEST_FILE, MAX_REQUEST_BYTES))
        )
        store = SessionStore(workspace)
        plan = plan_prediction(workspace, store.load(request.session_path), request)
        if plan.job_dir.resolve() != job_dir.resolve():
            raise BadInputError(
                "the file, the model or the session changed since the prediction was asked for;"
                " ask for it again"
            )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        _refused(job_dir, request, f"cannot read the request in {job_dir}: {exc}")
        return 2
    except (BadInputError, MetadataError) as exc:
        _refused(job_dir, request, str(exc))
        return 2
    try:
        result = run_prediction(plan, store)
    except BadInputError as exc:
        print(f"worker: {exc}", flush=True)
        return 2
    except (OperationError, StoreError) as exc:
        print(f"worker: {exc}", flush=True)
        return 1
    print(f"worker: {result.status.message}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse the arguments and run the job; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m engine.prediction.worker",
        description="Predict the job whose folder holds request.json.",
    )
    parser.add_argument("job_dir", type=Path, help="the job's folder")
    args = parser.parse_args(argv)
    return run(args.job_dir.resolve())


if __name__ == "__main__":
    sys.exit(main())
