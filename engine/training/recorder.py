"""Everything the worker writes about its run: metadata status, progress events, log, results.

One ``RunRecorder`` per worker process. It keeps ``execution_status`` true (running with pid,
host and kernel start time; a heartbeat thread writing ``last_heartbeat_at`` and the latest
step every ``HEARTBEAT_S``; the final status), appends typed events to ``progress.jsonl``, writes
the human log ``train.log`` and one ``results.csv`` row per unit per evaluation.

A resumed run redoes the steps and evaluations between its checkpoint and the crash. They come
out identical (the training is exact), so events and rows already recorded by the interrupted run
are not written twice: the history keeps each evaluation once. Should a re-done evaluation differ
(a forced resume on changed data), the new row replaces the old one and a warning says so.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import os
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from engine.files import atomic_write_bytes, bounded_lines, open_append, open_regular, read_regular
from engine.progress import (
    MAX_LINE_BYTES,
    CheckpointSaved,
    EvaluationDone,
    LogLine,
    ModelFinished,
    ModelStarted,
    ProgressWriter,
    StatusChanged,
    StepLogged,
    StopReason,
    TrainingStopped,
    parse_event,
    utc_now,
)
from engine.schema import TrainingEnding, TrainingMetadata
from engine.sessions.checkpoints import checkpoint_step
from engine.store import SessionStore
from engine.workspace import PROGRESS_FILE, TRAIN_LOG_FILE

HEARTBEAT_S = 10.0
RESULTS_FILE = "results.csv"
#: results.csv holds one short row per evaluation: a larger file is not ours, and is replaced.
MAX_RESULTS_BYTES = 64 << 20
TRACEBACK_FILE = "traceback.txt"
RESULT_KEY_COLUMNS = ("unit", "split", "step")
RESULT_COLUMNS = (
    "unit",
    "model",
    "label",
    "split",
    "step",
    "epoch",
    "eval_loss",
    "accuracy",
    "macro_f1",
)


@dataclass
class Snapshot:
    """Latest progress of the current unit, written by the heartbeat."""

    step: int | None = None
    max_steps: int | None = None
    epoch: float | None = None


@dataclass(frozen=True)
class BestEvaluation:
    """Where a unit's best validation macro F1 so far was reached."""

    step: int
    epoch: float | None
    macro_f1: float


@dataclass
class EvaluationRecord:
    """One evaluation of one unit."""

    unit: str
    model: str
    label: str | None
    split: str
    step: int
    epoch: float | None
    eval_loss: float | None
    accuracy: float
    macro_f1: float
    per_class_f1: dict[str, float] = field(default_factory=dict)
    predicted_counts: dict[str, int] = field(default_factory=dict)
    """Texts predicted as each class: a model predicting one class for all is warned about."""


class ResultsTable:
    """``results.csv``: one row per unit, split and step, columns fixed by the label set."""

    def __init__(self, path: Path, label_names: list[str]) -> None:
        self.path = path
        self.columns = [*RESULT_COLUMNS, *(f"f1:{name}" for name in label_names)]
        self.rows: dict[tuple[str, ...], dict[str, str]] = {}
        self._load()

    def _load(self) -> None:
        try:
            raw = read_regular(self.path, MAX_RESULTS_BYTES, follow_symlinks=False).decode("utf-8")
        except (OSError, UnicodeDecodeError):
            # Missing, or something else than our table (a link, a FIFO, garbage): replaced by
            # a table of what this run records (the rename replaces a link, never follows it).
            self._rewrite()
            return
        complete = raw if raw.endswith("\n") else raw[: raw.rfind("\n") + 1]
        reader = csv.DictReader(io.StringIO(complete))
        for row in reader:
            self.rows[self._key(row)] = {column: row.get(column) or "" for column in self.columns}
        if complete != raw or reader.fieldnames != self.columns:
            # A torn last line (crash in the middle of a write) or another layout: rewrite whole.
            self._rewrite()

    @staticmethod
    def _key(row: dict[str, str]) -> tuple[str, ...]:
        return tuple(row.get(column) or "" for column in RESULT_KEY_COLUMNS)

    def _render(self, rows: list[dict[str, str]], header: bool) -> bytes:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.columns, lineterminator="\n")
        if header:
            writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue().encode("utf-8")

    def _rewrite(self) -> None:
        atomic_write_bytes(self.path, self._render(list(self.rows.values()), header=True))

    def add(self, record: EvaluationRecord) -> str:
        """Record an evaluation: ``added``, ``same`` (already there, identical) or ``replaced``."""
        row = {
            "unit": record.unit,
            "model": record.model,
            "label": record.label or "",
            "split": record.split,
            "step": str(record.step),
            "epoch": "" if record.epoch is None else repr(float(record.epoch)),
            "eval_loss": "" if record.eval_loss is None else repr(float(record.eval_loss)),
            "accuracy": repr(float(record.accuracy)),
            "macro_f1": repr(float(record.macro_f1)),
        }
        for name, value in record.per_class_f1.items():
            column = f"f1:{name}"
            if column in self.columns:
                row[column] = repr(float(value))
        row = {column: row.get(column, "") for column in self.columns}
        key = self._key(row)
        existing = self.rows.get(key)
        if existing == row:
            return "same"
        self.rows[key] = row
        if existing is not None:
            self._rewrite()
            return "replaced"
        # One write on an O_APPEND descriptor: a crash leaves at most a torn last line, which
        # _load drops.
        fd = open_append(self.path)
        try:
            os.write(fd, self._render([row], header=False))
        finally:
            os.close(fd)
        return "added"


class RunRecorder:
    """The worker's single writer of metadata status, progress, log and results."""

    def __init__(
        self, store: SessionStore, metadata_path: Path, run_dir: Path, pid: int | None = None
    ) -> None:
        """``pid``: the process recorded as running the session (default: this one; under torchrun,
        the launcher's)."""
        self.store = store
        self.metadata_path = metadata_path
        self.run_dir = run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        self.progress_path = run_dir / PROGRESS_FILE
        self.best: dict[str, BestEvaluation] = {}
        """Each unit's best validation evaluation so far (the first of equals, as Trainer)."""
        self.current: tuple[str, str | None] | None = None
        """The unit being trained and its label, until its ending is recorded."""
        self._seen = self._events_already_recorded()
        self.progress = ProgressWriter(self.progress_path)
        self.results: ResultsTable | None = None
        self.log = self._open_log(run_dir / TRAIN_LOG_FILE)
        self.snapshot = Snapshot()
        self._lock = threading.Lock()
        self._stop_heartbeat = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self.pid = pid if pid is not None else os.getpid()

    # -- files -----------------------------------------------------------------------------

    def _events_already_recorded(self) -> set[tuple[Any, ...]]:
        seen: set[tuple[Any, ...]] = set()
        try:
            handle = open_regular(self.progress_path, follow_symlinks=False)
        except FileNotFoundError:
            return seen
        with handle:
            for line in bounded_lines(handle, MAX_LINE_BYTES):
                event = parse_event(line)
                if isinstance(event, StepLogged):
                    seen.add(("step", event.model, event.step))
                elif isinstance(event, EvaluationDone):
                    if event.macro_f1 is not None and event.model is not None:
                        self._note_best(
                            event.model, event.split, event.step, event.epoch, event.macro_f1
                        )
                    seen.add(
                        self._evaluation_key(
                            event.model, getattr(event, "split", None), event.step, event.macro_f1
                        )
                    )
        return seen

    def _note_best(
        self, unit: str, split: str, step: int, epoch: float | None, macro_f1: float
    ) -> None:
        best = self.best.get(unit)
        if split == "validation" and (best is None or macro_f1 > best.macro_f1):
            self.best[unit] = BestEvaluation(step, epoch, macro_f1)

    @staticmethod
    def _evaluation_key(
        unit: str | None, split: str | None, step: int, macro_f1: float | None
    ) -> tuple[Any, ...]:
        return ("evaluation", unit, split or "validation", step, macro_f1)

    def _open_log(self, path: Path) -> logging.Logger:
        logger = logging.getLogger(f"llmtool.train.{id(self)}")
        logger.propagate = False
        logger.setLevel(logging.INFO)
        # Not logging.FileHandler: it would follow a link planted in the run folder.
        handler = logging.StreamHandler(os.fdopen(open_append(path), "a", encoding="utf-8"))
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        return logger

    def open_results(self, label_names: list[str]) -> None:
        """Open results.csv, whose per-class columns follow the label set."""
        self.results = ResultsTable(self.run_dir / RESULTS_FILE, label_names)

    def close(self) -> None:
        """Stop the heartbeat and close the files."""
        self.stop_heartbeat()
        self.progress.close()
        for handler in list(self.log.handlers):
            handler.close()
            if isinstance(handler, logging.StreamHandler):
                handler.stream.close()
            self.log.removeHandler(handler)

    # -- metadata --------------------------------------------------------------------------

    def update(self, mutate: Callable[[TrainingMetadata], None]) -> TrainingMetadata:
        """A locked read-modify-write of the metadata, serialised with the heartbeat thread."""
        with self._lock:
            return self.store.update(self.metadata_path, mutate)

    def start_heartbeat(self) -> None:
        """Write ``last_heartbeat_at`` and the latest progress every ``HEARTBEAT_S`` seconds."""
        self._stop_heartbeat.clear()
        self._heartbeat = threading.Thread(target=self._beat, name="heartbeat", daemon=True)
        self._heartbeat.start()

    def stop_heartbeat(self) -> None:
        """Stop the heartbeat thread (before a final status is written)."""
        self._stop_heartbeat.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
            self._heartbeat = None

    def _beat(self) -> None:
        while not self._stop_heartbeat.wait(HEARTBEAT_S):
            try:
                self.beat()
            except Exception as exc:
                # A failed heartbeat (disk full, lock held too long) must not kill the training;
                # the next one retries, and the log says why it was missed.
                self.log.warning("heartbeat not written: %s", exc)

    def beat(self) -> None:
        """Write one heartbeat now (only while the file still says this process runs it)."""
        snapshot = self.snapshot

        def mutate(metadata: TrainingMetadata) -> None:
            status = metadata.execution_status
            if status.status != "running" or status.pid != self.pid:
                return
            status.last_heartbeat_at = utc_now()
            status.step = snapshot.step
            status.max_steps = snapshot.max_steps
            status.epoch = snapshot.epoch

        self.update(mutate)

    # -- events ----------------------------------------------------------------------------

    def info(self, message: str) -> None:
        """A line in train.log and a log event."""
        self.log.info(message)
        self.progress.write(LogLine(level="info", message=message))

    def warning(self, message: str) -> None:
        """A warning line in train.log and a log event."""
        self.log.warning(message)
        self.progress.write(LogLine(level="warning", message=message))

    def status_changed(self, status: str, message: str | None = None) -> None:
        self.log.info("status: %s%s", status, f" ({message})" if message else "")
        self.progress.write(StatusChanged(status=status, message=message))

    def model_started(
        self,
        unit: str,
        index: int,
        total: int,
        resumed_from: str | None,
        label: str | None = None,
    ) -> None:
        # A live view shows the checkpoint's step at once, not 0 until the first logged step.
        from_step = checkpoint_step(Path(resumed_from)) if resumed_from else None
        event = ModelStarted(
            model=unit,
            index=index,
            total=total,
            resumed_from=resumed_from,
            from_step=from_step or 0,
            label=label,
        )
        self.current = (unit, label)
        self.log.info(
            "model %s: %s%s",
            event.position(),
            unit,
            f", resumed from {resumed_from}" if resumed_from else "",
        )
        self.progress.write(event)

    def step(
        self,
        unit: str,
        step: int,
        max_steps: int,
        epoch: float | None,
        loss: float | None,
        learning_rate: float | None,
        samples_per_second: float | None,
    ) -> None:
        """A logged training step (progress bar and heartbeat)."""
        self.snapshot = Snapshot(step=step, max_steps=max_steps, epoch=epoch)
        key = ("step", unit, step)
        if key in self._seen:
            return
        self.progress.write(
            StepLogged(
                model=unit,
                step=step,
                max_steps=max_steps,
                epoch=epoch,
                loss=loss,
                learning_rate=learning_rate,
                samples_per_second=samples_per_second,
            )
        )

    def evaluation(self, record: EvaluationRecord) -> None:
        """An evaluation: results.csv, progress event and log line, each once."""
        if self.results is None:
            raise RuntimeError("open_results must be called before evaluations are recorded")
        outcome = self.results.add(record)
        if outcome == "replaced":
            self.warning(
                f"{record.unit}: evaluation at step {record.step} differs from the one the"
                " interrupted run recorded (the data or environment changed); replaced it"
            )
        self._note_best(record.unit, record.split, record.step, record.epoch, record.macro_f1)
        key = self._evaluation_key(record.unit, record.split, record.step, record.macro_f1)
        if key not in self._seen:
            self._seen.add(key)
            self.progress.write(
                EvaluationDone(
                    model=record.unit,
                    step=record.step,
                    epoch=record.epoch,
                    eval_loss=record.eval_loss,
                    macro_f1=record.macro_f1,
                    accuracy=record.accuracy,
                    per_class_f1=record.per_class_f1,
                    predicted_counts=record.predicted_counts,
                    split=record.split,
                )
            )
        self.log.info(
            "%s: %s evaluation at step %d (epoch %s): macro F1 %.4f, accuracy %.4f, loss %s",
            record.unit,
            record.split,
            record.step,
            "-" if record.epoch is None else f"{record.epoch:.2f}",
            record.macro_f1,
            record.accuracy,
            "-" if record.eval_loss is None else f"{record.eval_loss:.4f}",
        )

    def checkpoint_saved(self, unit: str, step: int, path: Path) -> None:
        self.log.info("%s: checkpoint saved at step %d: %s", unit, step, path)
        self.progress.write(CheckpointSaved(model=unit, step=step, path=str(path)))

        snapshot = self.snapshot

        def mutate(metadata: TrainingMetadata) -> None:
            status = metadata.execution_status
            status.last_checkpoint = str(path)
            status.step, status.max_steps, status.epoch = (
                snapshot.step,
                snapshot.max_steps,
                snapshot.epoch,
            )

        self.update(mutate)

    def model_finished(self, unit: str, best_f1: float | None, path: Path) -> None:
        self.log.info(
            "%s: finished, best macro F1 %s, saved in %s",
            unit,
            "-" if best_f1 is None else f"{best_f1:.4f}",
            path,
        )
        self.progress.write(ModelFinished(model=unit, best_f1=best_f1, path=str(path)))

    def training_stopped(self, reason: StopReason, message: str) -> None:
        """Record why the current unit's training stopped, where, and where its best model is
        (a progress event and the metadata's ``endings``); nothing when no unit is current."""
        if self.current is None:
            return
        unit, label = self.current
        self.current = None
        snapshot, best = self.snapshot, self.best.get(unit)
        ending = TrainingEnding(
            model=unit,
            label=label,
            reason=reason,
            message=message,
            step=snapshot.step,
            max_steps=snapshot.max_steps,
            epoch=snapshot.epoch,
            best_step=best.step if best else None,
            best_epoch=best.epoch if best else None,
            best_f1=best.macro_f1 if best else None,
        )
        self.log.info("%s: %s at step %s", unit, message, snapshot.step)
        self.progress.write(TrainingStopped.model_validate(ending.model_dump()))

        def mutate(metadata: TrainingMetadata) -> None:
            status = metadata.execution_status
            kept = [entry for entry in status.endings if entry.model != unit]
            status.endings = [*kept, ending]

        self.update(mutate)

    # -- failures --------------------------------------------------------------------------

    def write_traceback(self, error: BaseException) -> Path | None:
        """The full traceback in ``traceback.txt`` (appended: a resumed run keeps older ones).

        Returns None when it cannot be written (a full disk): the failure itself must still be
        recorded in the metadata, which matters more than its traceback.
        """
        path = self.run_dir / TRACEBACK_FILE
        text = "".join(traceback.format_exception(error))
        try:
            with path.open("a", encoding="utf-8") as handle:
                handle.write(f"--- {utc_now().isoformat()}\n{text}\n")
        except OSError:
            path_written = None
        else:
            path_written = path
        with contextlib.suppress(OSError):
            self.log.error("failed: %s", text)
        return path_written


class Recorder(Protocol):
    """What the training loop (runner, callbacks) reports to, on every rank."""

    run_dir: Path
    snapshot: Snapshot

    def info(self, message: str) -> None: ...

    def warning(self, message: str) -> None: ...

    def model_started(
        self,
        unit: str,
        index: int,
        total: int,
        resumed_from: str | None,
        label: str | None = None,
    ) -> None: ...

    def step(
        self,
        unit: str,
        step: int,
        max_steps: int,
        epoch: float | None,
        loss: float | None,
        learning_rate: float | None,
        samples_per_second: float | None,
    ) -> None: ...

    def evaluation(self, record: EvaluationRecord) -> None: ...

    def checkpoint_saved(self, unit: str, step: int, path: Path) -> None: ...

    def model_finished(self, unit: str, best_f1: float | None, path: Path) -> None: ...

    def training_stopped(self, reason: StopReason, message: str) -> None: ...

    def open_results(self, label_names: list[str]) -> None: ...

    def close(self) -> None: ...


class FollowerRecorder:
    """The recorder of a torchrun rank other than 0: rank 0 alone writes the session's files.

    Every rank runs the same training code, and its callbacks report the same (globally gathered)
    steps and evaluations; only rank 0's reports reach the files, so each is written once. This
    one keeps the progress snapshot (the loop reads it back) and writes nothing.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.snapshot = Snapshot()

    def info(self, message: str) -> None:
        """Written by rank 0 only."""

    def warning(self, message: str) -> None:
        """Written by rank 0 only."""

    def model_started(
        self,
        unit: str,
        index: int,
        total: int,
        resumed_from: str | None,
        label: str | None = None,
    ) -> None:
        """Written by rank 0 only."""

    def step(
        self,
        unit: str,
        step: int,
        max_steps: int,
        epoch: float | None,
        loss: float | None,
        learning_rate: float | None,
        samples_per_second: float | None,
    ) -> None:
        self.snapshot = Snapshot(step=step, max_steps=max_steps, epoch=epoch)

    def evaluation(self, record: EvaluationRecord) -> None:
        """Written by rank 0 only."""

    def checkpoint_saved(self, unit: str, step: int, path: Path) -> None:
        """Written by rank 0 only."""

    def model_finished(self, unit: str, best_f1: float | None, path: Path) -> None:
        """Written by rank 0 only."""

    def training_stopped(self, reason: StopReason, message: str) -> None:
        """Written by rank 0 only."""

    def open_results(self, label_names: list[str]) -> None:
        """Written by rank 0 only."""

    def close(self) -> None:
        """Nothing was opened."""
