"""A stand-in for ``engine.training.worker`` that trains nothing, for the supervisor tests.

It follows the worker's contract: records ``running`` with its pid, host and kernel start time
through SessionStore.update, heartbeats, appends progress events, and answers SIGTERM by marking
the session interrupted. Environment variables choose its behaviour:

- ``FAKE_WORKER_STEPS``: steps before it completes (default 20; ``0`` runs until stopped).
- ``FAKE_WORKER_STEP_S``: seconds per step (default 0.05).
- ``FAKE_WORKER_ON_TERM``: ``interrupt`` (default) or ``ignore`` (to test the SIGKILL escalation).
- ``FAKE_WORKER_START_S``: seconds of start-up before it records ``running`` (the real worker
  imports torch then); a SIGTERM meanwhile is honoured once running is recorded, as the real one.
- ``FAKE_WORKER_CRASH``: ``1`` to exit with code 3 after the steps without a final status.

Run as ``python -m tests.fakes.worker METADATA [--resume] [--force]`` with the repository on
PYTHONPATH.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from engine.liveness import current_host, current_process_started_at
from engine.progress import ProgressWriter, StatusChanged, StepLogged, utc_now
from engine.schema import TrainingMetadata
from engine.store import SessionStore
from engine.workspace import Workspace

HEARTBEAT_EVERY_S = 1.0


class _Stop:
    requested = False


def _on_term(signum: int, frame: FrameType | None) -> None:
    _Stop.requested = True


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("metadata")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    steps = int(os.environ.get("FAKE_WORKER_STEPS", "20"))
    step_s = float(os.environ.get("FAKE_WORKER_STEP_S", "0.05"))
    on_term = os.environ.get("FAKE_WORKER_ON_TERM", "interrupt")
    crash = os.environ.get("FAKE_WORKER_CRASH") == "1"
    start_s = float(os.environ.get("FAKE_WORKER_START_S", "0"))

    signal.signal(signal.SIGTERM, signal.SIG_IGN if on_term == "ignore" else _on_term)
    print(f"fake worker {os.getpid()} starting", flush=True)
    store = SessionStore(Workspace.resolve())
    path = Path(args.metadata)
    start_deadline = time.monotonic() + start_s
    while time.monotonic() < start_deadline and not _Stop.requested:
        time.sleep(0.01)

    def start(metadata: TrainingMetadata) -> None:
        status = metadata.execution_status
        status.status = "running"
        status.pid = os.getpid()
        status.host = current_host()
        status.process_started_at = current_process_started_at()
        status.started_at = status.last_heartbeat_at = utc_now()
        status.error_message = None
        status.launch = None  # as the real worker: its own launch record ends with this
        if args.resume:
            status.resume_count += 1

    session_id = store.update(path, start).session_id
    progress = ProgressWriter(store.workspace.run_dir(session_id) / "progress.jsonl")
    progress.write(StatusChanged(status="running"))
    print(f"fake worker {os.getpid()} running {session_id}", flush=True)

    last_beat = time.monotonic()
    step = 0
    while steps == 0 or step < steps:
        if _Stop.requested:

            def interrupt(metadata: TrainingMetadata) -> None:
                metadata.execution_status.status = "interrupted"
                metadata.execution_status.error_message = "stopped by user (SIGTERM)"
                metadata.execution_status.ended_at = utc_now()

            store.update(path, interrupt)
            progress.write(StatusChanged(status="interrupted", message="stopped by user"))
            return 0
        time.sleep(step_s)
        step += 1
        progress.write(StepLogged(step=step, max_steps=steps, loss=1.0 / step))
        if time.monotonic() - last_beat >= HEARTBEAT_EVERY_S:
            last_beat = time.monotonic()

            def beat(metadata: TrainingMetadata) -> None:
                metadata.execution_status.last_heartbeat_at = utc_now()

            store.update(path, beat)
    if crash:
        print("fake worker crashing", flush=True)
        os._exit(3)

    def complete(metadata: TrainingMetadata) -> None:
        metadata.execution_status.status = "completed"
        metadata.execution_status.completed_at = metadata.execution_status.ended_at = utc_now()

    store.update(path, complete)
    progress.write(StatusChanged(status="completed"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
