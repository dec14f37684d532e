"""Typed events of ``logs/training_runs/<session_id>/progress.jsonl``.

The worker appends one JSON object per line (``ProgressWriter``); the tailer reads them back
(``parse_event``). Every event has ``time`` and ``event``; unknown event kinds from newer
versions are kept as plain ``ProgressEvent`` rather than rejected.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from engine.files import open_append


def utc_now() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


#: Longest line of progress.jsonl that is read. A real event is a few KB; a file without
#: newlines (a hostile or corrupt one) must not be read into memory whole: longer lines are
#: skipped.
MAX_LINE_BYTES = 1 << 20


class ProgressEvent(BaseModel):
    """Base of all events."""

    model_config = ConfigDict(extra="allow")

    time: datetime = Field(default_factory=utc_now)
    event: str


class StatusChanged(ProgressEvent):
    """The session's status changed (running, completed, failed, interrupted)."""

    event: Literal["status"] = "status"
    status: str
    message: str | None = None


class ModelStarted(ProgressEvent):
    """Training of one model started (``index`` of ``total``, 1-based)."""

    event: Literal["model_started"] = "model_started"
    model: str
    index: int = 1
    total: int = 1
    resumed_from: str | None = None
    from_step: int = 0
    """The step training starts from: the checkpoint's when it resumes (0 in older files)."""
    label: str | None = None
    """Distributed mode: the label this model is trained for (one model per label)."""

    def position(self) -> str:
        """``joy: 2/4`` in distributed mode, ``2/4`` otherwise."""
        where = f"{self.index}/{self.total}"
        return f"{self.label}: {where}" if self.label else where


class StepLogged(ProgressEvent):
    """A logging step of the trainer."""

    event: Literal["step"] = "step"
    model: str | None = None
    step: int
    max_steps: int
    epoch: float | None = None
    loss: float | None = None
    learning_rate: float | None = None
    samples_per_second: float | None = None


class EvaluationDone(ProgressEvent):
    """An evaluation on the validation set."""

    event: Literal["evaluation"] = "evaluation"
    model: str | None = None
    split: str = "validation"
    """``validation`` during training; ``test`` for the final evaluation on a held-out part."""
    step: int
    epoch: float | None = None
    eval_loss: float | None = None
    macro_f1: float | None = None
    accuracy: float | None = None
    per_class_f1: dict[str, float] = Field(default_factory=dict)
    predicted_counts: dict[str, int] = Field(default_factory=dict)
    """Texts predicted as each class (multi-label: given each label); empty in older files."""


class CheckpointSaved(ProgressEvent):
    """A complete checkpoint was written."""

    event: Literal["checkpoint_saved"] = "checkpoint_saved"
    model: str | None = None
    step: int
    path: str


class ModelFinished(ProgressEvent):
    """Training of one model ended."""

    event: Literal["model_finished"] = "model_finished"
    model: str
    best_f1: float | None = None
    path: str | None = None


StopReason = Literal["finished", "early_stopping", "stopped", "failed"]


class TrainingStopped(ProgressEvent):
    """Training of one model stopped: why, where, and where its best model came from."""

    event: Literal["stopped"] = "stopped"
    model: str
    label: str | None = None
    reason: StopReason
    message: str
    """``finished``, ``early stopping: no better macro F1 for 3 evaluations``, ``stopped by the
    user``, ``failed: …``."""
    step: int | None = None
    max_steps: int | None = None
    epoch: float | None = None
    best_step: int | None = None
    best_epoch: float | None = None
    best_f1: float | None = None


class LogLine(ProgressEvent):
    """A human-readable message."""

    event: Literal["log"] = "log"
    level: str = "info"
    message: str


KnownEvent = Annotated[
    StatusChanged
    | ModelStarted
    | StepLogged
    | EvaluationDone
    | CheckpointSaved
    | ModelFinished
    | TrainingStopped
    | LogLine,
    Field(discriminator="event"),
]
_KNOWN = TypeAdapter(KnownEvent)
_KNOWN_KINDS = {
    "status",
    "model_started",
    "step",
    "evaluation",
    "checkpoint_saved",
    "model_finished",
    "stopped",
    "log",
}


def parse_event(line: str | bytes) -> ProgressEvent | None:
    """One line of progress.jsonl as a typed event; None for a blank or unparsable line.

    The file is untrusted: whatever the parser or the validation raises on a hostile line (an
    integer of 5,000 digits is a ValueError, deep nesting a RecursionError) skips that line.
    """
    try:
        data = json.loads(line)
    except (ValueError, RecursionError, MemoryError):
        # ValueError covers JSONDecodeError and UnicodeDecodeError.
        return None
    if not isinstance(data, dict) or not isinstance(data.get("event"), str):
        return None
    try:
        if data["event"] in _KNOWN_KINDS:
            return _KNOWN.validate_python(data)
        return ProgressEvent.model_validate(data)
    except (ValidationError, ValueError, RecursionError, MemoryError):
        return None


#: The summary's name beside progress.jsonl (see ProgressWriter).
SUMMARY_FILE = "progress.summary.jsonl"
#: Step events the summary keeps at each stride before the stride doubles.
KEPT_PER_STRIDE = 64


def summary_path(progress_file: Path) -> Path:
    """The summary kept beside ``progress_file`` (see ProgressWriter)."""
    return progress_file.with_name(SUMMARY_FILE)


class StepThinning:
    """Which step events of one model the summary keeps: each one at first, then one in 2, 4,
    8… as the run grows, so that a run of N steps keeps about KEPT_PER_STRIDE × log2(N) of them.

    The loss kept is the mean of the losses since the step kept before: thinning smooths the
    curve instead of picking one noisy step in a thousand.
    """

    def __init__(self) -> None:
        self.stride = 1
        self.kept = 0
        self.next_step = 0
        self._loss_sum = 0.0
        self._losses = 0

    def take(self, step: int, loss: float | None) -> tuple[bool, float | None]:
        """Whether the event of ``step`` is kept, and the loss to keep with it."""
        if loss is not None:
            self._loss_sum += loss
            self._losses += 1
        if step < self.next_step:
            return False, None
        mean = self._loss_sum / self._losses if self._losses else None
        self._loss_sum, self._losses = 0.0, 0
        self.kept += 1
        if self.kept % KEPT_PER_STRIDE == 0:
            self.stride *= 2
        self.next_step = step + self.stride
        return True, mean


class ProgressWriter:
    """Appends events to a progress.jsonl file, one complete line per write, and keeps its
    summary.

    Each event is written with a single ``os.write`` on an ``O_APPEND`` descriptor, so a reader
    never sees two events interleaved, and a crash leaves at most one partial last line (which
    the tailer skips).

    The summary (``progress.summary.jsonl``, same format) holds every event but most steps
    (StepThinning), so that a view opens a run of millions of steps at once: it reads the
    summary and the end of progress.jsonl, never the whole log. It is written after
    progress.jsonl, so it never holds an event the log lacks. It is only started with the log: a
    log written before summaries existed has none (readers then read the log whole).
    """

    def __init__(self, path: Path) -> None:
        """Open (or create) ``path`` for appending.

        Raises:
            UnsafeFileError: a link, FIFO or other non-regular file stands at ``path`` (the run
                folder is untrusted; writing through a link would write outside it).
            OSError: it cannot be opened.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fd = open_append(path)
        self._summary_fd = self._open_summary(os.fstat(self._fd).st_size == 0)
        self._thinning = StepThinning()
        self._end_partial_line(self._fd)
        if self._summary_fd >= 0:
            self._end_partial_line(self._summary_fd)

    def _open_summary(self, new_log: bool) -> int:
        summary = summary_path(self.path)
        if not new_log and not summary.exists():
            return -1
        try:
            return open_append(summary)
        except OSError:
            # A link or FIFO planted there: the log alone is written, and read whole.
            return -1

    @staticmethod
    def _end_partial_line(fd: int) -> None:
        # A worker killed mid-write leaves a partial last line; the next writer (a resume) ends
        # it so that its own first event starts on a line of its own.
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            os.write(fd, b"\n")

    def write(self, event: ProgressEvent) -> None:
        """Append one event (and to the summary, unless it is a step the summary leaves out)."""
        line = event.model_dump_json() + "\n"
        os.write(self._fd, line.encode("utf-8"))
        if self._summary_fd < 0:
            return
        if isinstance(event, ModelStarted):
            self._thinning = StepThinning()
        elif isinstance(event, StepLogged):
            kept, loss = self._thinning.take(event.step, event.loss)
            if not kept:
                return
            line = event.model_copy(update={"loss": loss}).model_dump_json() + "\n"
        os.write(self._summary_fd, line.encode("utf-8"))

    def close(self) -> None:
        """Close the files."""
        for fd in (self._fd, self._summary_fd):
            if fd >= 0:
                os.close(fd)
        self._fd = self._summary_fd = -1
