"""The training worker: ``python -m engine.training.worker METADATA [--resume] [--force]``.

Everything it needs is in the metadata file. It keeps ``execution_status`` true at every moment:
``running`` (pid, host, kernel start time, heartbeat, progress) while it trains, then
``completed``, ``failed`` (error, type, traceback file) or, after SIGTERM/SIGINT, ``interrupted``
once a checkpoint is written. Errors are never recorded as completed.

Exit codes: 0 completed, 1 failed, 2 refused (bad input, cannot resume), 3 interrupted.

Under torchrun (a session with ``nproc_per_node`` x ``nnodes`` above 1) every rank runs this
module; rank 0 alone decides admission and writes the session's files, recording the launcher's
pid (its parent) so that liveness and ``stop`` target the process that forwards SIGTERM to all
ranks. Every rank joins the process group before the admission and exits with rank 0's
refusal; a rank whose launcher dies asks the others to stop. torchrun itself exits 1 whenever a
rank fails: ``engine.training.launcher`` runs it and exits with the ranks' own codes.

The workspace is the one holding the metadata file (``<ws>/logs/training_sessions/`` or, for an
unsaved session, ``<ws>/logs/training_runs/<id>/``), else ``$LLMTOOL_WORKSPACE``.
"""

from __future__ import annotations

import argparse
import errno
import os
import platform
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Literal

import psutil

from engine.errors import BadInputError
from engine.evaluations import best_evaluation, read_evaluations
from engine.liveness import check_liveness, current_host, current_process_started_at
from engine.progress import EvaluationDone, utc_now
from engine.schema import Environment, Precision, SplitConfig, TrainingMetadata
from engine.sessions.checkpoints import discard_all_incomplete
from engine.sessions.resumability import (
    assess_resume,
    dataset_blocker,
    planned_torch_threads,
    workspace_of_metadata,
)
from engine.store import MetadataError, SessionStore, StoreError, read_metadata
from engine.training.distributed import Ranks, any_rank, init_process_group
from engine.training.precision import Hardware, detect_hardware, resolve_precision
from engine.training.recorder import RESULTS_FILE, FollowerRecorder, Recorder, RunRecorder
from engine.training.signals import StopRequest

if TYPE_CHECKING:
    from engine.training.data import SessionData
    from engine.training.runner import UnitResult

EXIT_COMPLETED = 0
EXIT_FAILED = 1
EXIT_REFUSED = 2
EXIT_INTERRUPTED = 3


class AlreadyRunning(Exception):
    """Another live worker runs the session."""


def _environment(torch_threads: int, device: str, precision: Precision) -> Environment:
    import accelerate
    import numpy
    import sklearn
    import tokenizers
    import torch
    import transformers

    return Environment(
        python=platform.python_version(),
        torch=torch.__version__,
        transformers=transformers.__version__,
        platform=platform.platform(),
        device=device,
        torch_threads=torch_threads,
        precision=precision,
        host=current_host(),
        accelerate=accelerate.__version__,
        tokenizers=tokenizers.__version__,
        scikit_learn=sklearn.__version__,
        numpy=numpy.__version__,
    )


def _is_disk_full(error: BaseException) -> bool:
    """ENOSPC, raised as OSError by Python or as a message by tokenizers/safetensors (Rust)."""
    return (isinstance(error, OSError) and error.errno == errno.ENOSPC) or (
        "No space left on device" in str(error)
    )


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text[:500] or type(error).__name__


def choose_best(
    results: list[UnitResult], evaluations: list[EvaluationDone]
) -> tuple[UnitResult, str | None]:
    """The benchmark's best model, and how it was chosen (None for a single model).

    The highest macro F1 wins. Models tied on it (common with small validation sets, where
    F1 moves in coarse steps) are told apart by the lower validation loss at their best
    evaluation, a sign of more confident right answers; should that tie too, the first model
    listed wins.
    """
    if len(results) < 2:
        return results[0], None
    top = max(result.best_f1 for result in results)
    tied = [result for result in results if result.best_f1 == top]
    if len(tied) == 1:
        runner_up = max(result.best_f1 for result in results if result is not tied[0])
        return tied[0], f"highest macro F1 ({top:.4f}, next {runner_up:.4f})"
    names = ", ".join(result.name for result in tied)
    losses = [_loss_at_best(result.name, evaluations) for result in tied]
    if None in losses:
        return tied[0], f"tie on macro F1 {top:.4f} between {names}: the first model listed won"
    lowest = min(loss for loss in losses if loss is not None)
    by_loss = [result for result, loss in zip(tied, losses, strict=True) if loss == lowest]
    if len(by_loss) > 1:
        return by_loss[0], (
            f"tie on macro F1 {top:.4f} between {names}, and on validation loss between"
            f" {', '.join(result.name for result in by_loss)}: the first model listed won"
        )
    shown = ", ".join(
        f"{result.name} {loss:.4f}" for result, loss in zip(tied, losses, strict=True)
    )
    return by_loss[0], (
        f"tie on macro F1 {top:.4f} between {names}: the lower validation loss at the best"
        f" evaluation won ({shown})"
    )


def _loss_at_best(unit: str, evaluations: list[EvaluationDone]) -> float | None:
    """The validation loss at ``unit``'s best evaluation (None when not recorded)."""
    best = best_evaluation([e for e in evaluations if e.model == unit and e.split == "validation"])
    return best.eval_loss if best is not None else None


class Worker:
    """One training run of one session."""

    def __init__(self, metadata_path: Path, *, resume: bool, force: bool) -> None:
        self.metadata_path = metadata_path
        self.resume = resume
        self.force = force
        self.workspace = workspace_of_metadata(metadata_path)
        self.store = SessionStore(self.workspace)
        self.stop = StopRequest()
        self.warnings: tuple[str, ...] = ()
        self.ranks = Ranks.from_environment()
        self.recorded_pid = os.getppid() if self.ranks.distributed else os.getpid()
        """The pid recorded as running the session: under torchrun, the launcher's (its parent),
        which is also the one a launch record names."""
        self.precision: Precision = "fp32"
        """The precision this run trains in, once admitted."""

    # -- admission -------------------------------------------------------------------------

    def _refusal(self, metadata: TrainingMetadata) -> str | None:
        if self.resume:
            assessment = assess_resume(
                self.workspace, metadata, force=self.force, precision=self.precision
            )
            self.warnings = assessment.warnings
            return None if assessment.resumable else assessment.blocker
        if metadata.status != "pending":
            return (
                f"session {metadata.session_id} is {metadata.status}, not pending; use"
                f" `llmtool-tui resume {metadata.session_id}` or `llmtool-tui relaunch`"
            )
        obstacle = dataset_blocker(metadata)
        if obstacle is not None and not self.force:
            return f"{obstacle.problem}; relaunch the session (its dataset is analysed again)"
        return None

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stop.request(signal.Signals(signum).name)

    def run(self) -> int:
        """Train the session; returns the exit code."""
        try:
            metadata = read_metadata(self.metadata_path)
        except MetadataError as exc:
            print(f"worker: {exc}", file=sys.stderr)
            return EXIT_REFUSED
        # From here on a stop request is honoured at the next safe point, never mid-write (torch
        # takes seconds to import: a stop may come meanwhile).
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        hardware = detect_hardware(self.ranks.local_rank)
        # Every rank joins before the admission, so that rank 0's refusal ends them all with its
        # exit code: left to torchrun they would end as failures, and on another node they
        # would wait for a rank 0 that never comes.
        init_process_group(self.ranks, use_cpu=not hardware.cuda)
        # Rank 0 decides for all: the others would see the status it just wrote.
        try:
            self.precision = resolve_precision(metadata.training_model_config.precision, hardware)
            refusal = self._refusal(metadata) if self.ranks.primary else None
        except BadInputError as exc:
            refusal = str(exc)
        if any_rank(refusal is not None):
            if refusal is not None:
                print(f"worker: cannot train {metadata.session_id}: {refusal}", file=sys.stderr)
            if self.ranks.primary:
                self._withdraw_launch(f"refused to train: {refusal}")
            return EXIT_REFUSED
        if self.ranks.distributed:
            self.stop.follow_launcher(self.ranks.rank)
        run_dir = self.workspace.run_dir(metadata.session_id)
        recorder: RunRecorder | FollowerRecorder = (
            RunRecorder(self.store, self.metadata_path, run_dir, pid=self.recorded_pid)
            if self.ranks.primary
            else FollowerRecorder(run_dir)
        )
        try:
            return self._train(metadata, recorder, hardware)
        except AlreadyRunning as exc:
            print(f"worker: {exc}", file=sys.stderr)
            self._withdraw_launch(f"refused to train: {exc}")
            return EXIT_REFUSED
        finally:
            recorder.close()

    # -- status ----------------------------------------------------------------------------

    def _withdraw_launch(self, reason: str) -> None:
        """Remove this process's launch record, leaving the status as it was, with the reason.

        A refused launch is not a failure of the session: it did not start.
        """

        def mutate(metadata: TrainingMetadata) -> None:
            status = metadata.execution_status
            if status.launch is not None and status.launch.pid == self.recorded_pid:
                status.launch = None
                status.error_message = reason

        try:
            self.store.update(self.metadata_path, mutate)
        except (MetadataError, StoreError) as exc:
            print(f"worker: the launch record could not be removed: {exc}", file=sys.stderr)

    def _mark_running(self, recorder: RunRecorder, threads: int, device: str) -> TrainingMetadata:
        environment = _environment(threads, device, self.precision)
        workspace = self.workspace

        def mutate(metadata: TrainingMetadata) -> None:
            status = metadata.execution_status
            # Checked under the file's lock: of two workers started at once, one wins. A launch
            # record naming this very process is its own launch.
            shown = check_liveness(metadata, self.metadata_path).status_to_show
            holder = status.launch if shown == "starting" and status.launch else status
            if shown in ("running", "stale", "starting") and holder.pid != recorder.pid:
                raise AlreadyRunning(
                    f"session {metadata.session_id} is already {shown} (pid {holder.pid} on"
                    f" {holder.host}); stop it first"
                )
            status.launch = None
            if self.resume and status.status != "pending":
                status.resume_count += 1
            now = utc_now()
            status.status = "running"
            # "Started" stays the first start: a resume is recorded beside it.
            if self.resume and status.started_at is not None:
                status.resumed_at = [*status.resumed_at, now]
            else:
                status.started_at = now
            status.last_heartbeat_at = now
            status.pid = recorder.pid
            status.host = current_host()
            status.process_started_at = (
                psutil.Process(recorder.pid).create_time()
                if self.ranks.distributed
                else current_process_started_at()
            )
            status.world_size = self.ranks.world_size
            for name in (
                "completed_at",
                "ended_at",
                "error_message",
                "error_type",
                "traceback_path",
                "current_model",
                "current_model_index",
                "step",
                "max_steps",
                "epoch",
            ):
                setattr(status, name, None)
            metadata.training_model_config.torch_threads = threads
            metadata.environment = environment
            paths = metadata.output_paths
            paths.run_dir = str(recorder.run_dir)
            paths.models_dir = str(workspace.session_models_dir(metadata.session_id))
            paths.logs_dir = str(workspace.logs_dir)
            paths.results_csv = str(recorder.run_dir / RESULTS_FILE)

        written = recorder.update(mutate)
        recorder.status_changed("running", "resumed" if self.resume else "started")
        for warning in self.warnings:
            recorder.warning(f"forced: {warning}")
        return written

    def _record_split(self, recorder: RunRecorder, data: SessionData) -> None:
        digest = data.digest()

        def mutate(metadata: TrainingMetadata) -> None:
            split = metadata.dataset_config.split
            previous = getattr(split, "indices_sha256", None)
            if previous is not None and previous != digest:
                recorder.warning(
                    "the train/validation split differs from the one of the earlier run"
                    " (the data changed); the resumed training is not the same training"
                )
            # indices_sha256 is an extra key (the schema keeps unknown keys): it proves on resume
            # that the split is the same one.
            metadata.dataset_config.split = SplitConfig.model_validate(
                {
                    **split.model_dump(),
                    "train_size": len(data.train),
                    "validation_size": len(data.validation),
                    "test_size": len(data.test),
                    "indices_sha256": digest,
                }
            )

        recorder.update(mutate)

    def _unit_started(self, recorder: RunRecorder, name: str, index: int, total: int) -> None:
        def mutate(metadata: TrainingMetadata) -> None:
            status = metadata.execution_status
            status.current_model = name
            status.current_model_index = index
            status.models_total = total
            status.step = status.max_steps = status.epoch = None

        recorder.update(mutate)

    def _unit_finished(self, recorder: RunRecorder, name: str) -> None:
        def mutate(metadata: TrainingMetadata) -> None:
            trained = metadata.execution_status.models_trained
            if name not in trained:
                metadata.execution_status.models_trained = [*trained, name]

        recorder.update(mutate)

    def _mark_completed(self, recorder: RunRecorder, mode: str, results: list[UnitResult]) -> None:
        from engine.training.runner import write_one_vs_all_map

        if mode == "distributed":
            best_model = results[0].model
            best_f1 = sum(result.best_f1 for result in results) / len(results)
            best_path = results[0].model_path.parent
            write_one_vs_all_map(best_path, results)
            choice = None
        else:
            winner, choice = choose_best(results, read_evaluations(recorder.progress_path))
            best_model, best_f1, best_path = winner.model, winner.best_f1, winner.model_path
        snapshot = recorder.snapshot

        def mutate(metadata: TrainingMetadata) -> None:
            status = metadata.execution_status
            now = utc_now()
            status.status = "completed"
            status.completed_at = now
            status.ended_at = now
            status.last_heartbeat_at = now
            status.models_trained = [result.name for result in results]
            status.best_model = best_model
            status.best_f1 = best_f1
            status.best_model_choice = choice
            status.best_model_path = str(best_path)
            status.current_model = None
            status.current_model_index = None
            status.step = snapshot.step
            status.max_steps = snapshot.max_steps
            status.epoch = snapshot.epoch

        recorder.stop_heartbeat()
        recorder.update(mutate)
        recorder.status_changed("completed", f"best {best_model}: macro F1 {best_f1:.4f}")

    def _mark_ended(
        self,
        recorder: RunRecorder,
        status_name: Literal["failed", "interrupted"],
        message: str,
        error: BaseException | None,
    ) -> None:
        traceback_path = recorder.write_traceback(error) if error is not None else None
        # Interrupted is a stop request (SIGTERM from the app's or the CLI's stop, or Ctrl+C).
        try:
            if status_name == "interrupted":
                recorder.training_stopped("stopped", "stopped by the user")
            else:
                recorder.training_stopped("failed", f"failed: {message}")
        except OSError as exc:
            # A full disk: the status below matters more than how the unit ended.
            print(f"worker: how the training ended was not recorded: {exc}", file=sys.stderr)

        def mutate(metadata: TrainingMetadata) -> None:
            status = metadata.execution_status
            status.status = status_name
            status.ended_at = utc_now()
            status.error_message = message
            status.error_type = type(error).__name__ if error is not None else None
            status.traceback_path = str(traceback_path) if traceback_path else None

        recorder.stop_heartbeat()
        recorder.update(mutate)
        recorder.status_changed(status_name, message)

    # -- training --------------------------------------------------------------------------

    def _train(
        self,
        metadata: TrainingMetadata,
        recorder: RunRecorder | FollowerRecorder,
        hardware: Hardware,
    ) -> int:
        import torch
        from huggingface_hub.utils.tqdm import disable_progress_bars
        from transformers.utils import logging as transformers_logging

        # Progress bars of weight loading and saving would fill worker.out with carriage returns.
        disable_progress_bars()
        transformers_logging.disable_progress_bar()

        threads = planned_torch_threads(metadata) or torch.get_num_threads()
        # Fixed per session: the thread count changes how sums are split, hence the weights.
        torch.set_num_threads(threads)
        # accelerate sets its own count (cores / processes on this node) on a CPU run under
        # torchrun when OMP_NUM_THREADS is unset, as it is with one process per node.
        os.environ["OMP_NUM_THREADS"] = str(threads)
        local = self.ranks.local_rank
        device = f"cuda:{local} ({torch.cuda.get_device_name(local)})" if hardware.cuda else "cpu"
        if self.ranks.distributed:
            device += f", {self.ranks.world_size} processes (DDP)"
        # Rank 0 alone writes the session's status.
        writer = recorder if isinstance(recorder, RunRecorder) else None
        if writer is not None:
            metadata = self._mark_running(writer, threads, device)
            writer.start_heartbeat()
        try:
            results = self._train_units(metadata, recorder, writer, threads, hardware)
        except Exception as error:
            from engine.training.runner import Interrupted

            if writer is None:
                if not isinstance(error, Interrupted):
                    print(f"worker rank {self.ranks.rank}: {_one_line(error)}", file=sys.stderr)
                return EXIT_INTERRUPTED if isinstance(error, Interrupted) else EXIT_FAILED
            if isinstance(error, Interrupted):
                checkpoint = read_metadata(self.metadata_path).execution_status.last_checkpoint
                where = f"; resume continues from {Path(checkpoint).name}" if checkpoint else ""
                self._mark_ended(writer, "interrupted", f"{error}{where}", None)
                return EXIT_INTERRUPTED
            message = f"{type(error).__name__}: {_one_line(error)}"
            if _is_disk_full(error):
                # The partial checkpoint holds the last free bytes: free them first, or not
                # even the failure could be recorded. The previous complete one stays.
                discard_all_incomplete(recorder.run_dir)
                message = (
                    f"disk full while saving a checkpoint ({_one_line(error)}): free space,"
                    " then resume"
                )
            self._mark_ended(writer, "failed", message, error)
            return EXIT_FAILED
        if writer is not None:
            self._mark_completed(writer, metadata.training_model_config.training_mode, results)
        return EXIT_COMPLETED

    def _train_units(
        self,
        metadata: TrainingMetadata,
        recorder: Recorder,
        writer: RunRecorder | None,
        threads: int,
        hardware: Hardware,
    ) -> list[UnitResult]:
        from engine.sessions.models import check_models
        from engine.training import faults
        from engine.training.data import load_session_data
        from engine.training.runner import Interrupted, UnitTrainer, plan_units

        config = metadata.training_model_config
        resolved = check_models(config.models())
        recorder.info(f"loading {metadata.dataset_config.primary_file}")
        data = load_session_data(metadata.dataset_config)
        recorder.open_results(data.label_names)
        if writer is not None:
            self._record_split(writer, data)
        units = plan_units(
            config,
            resolved,
            data,
            self.workspace.session_models_dir(metadata.session_id),
            recorder.run_dir,
        )
        trainer = UnitTrainer(
            config, data, recorder, self.stop, threads, hardware, self.precision, self.ranks
        )
        results: list[UnitResult] = []
        for index, unit in enumerate(units, start=1):
            if any_rank(self.stop.requested):
                raise Interrupted(f"stopped by {self.stop.signal_name} before {unit.name}")
            done = trainer.finished(unit)
            if done is not None:
                recorder.info(f"{unit.name}: already trained (macro F1 {done.best_f1:.4f})")
                if writer is not None:
                    self._unit_finished(writer, unit.name)
                results.append(done)
                continue
            if writer is not None:
                self._unit_started(writer, unit.name, index, len(units))
            results.append(trainer.train(unit, index, len(units)))
            if writer is not None:
                self._unit_finished(writer, unit.name)
            faults.reached("between_units")
        return results


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse the arguments and run the worker; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m engine.training.worker",
        description="Train the session described by a metadata file.",
    )
    parser.add_argument("metadata", type=Path, help="the session's metadata JSON file")
    parser.add_argument(
        "--resume", action="store_true", help="continue from the newest complete checkpoint"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="run even if the dataset, the thread count, the world size or the precision changed",
    )
    args = parser.parse_args(argv)
    return Worker(args.metadata.resolve(), resume=args.resume, force=args.force).run()


if __name__ == "__main__":
    sys.exit(main())
