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


class ProgressWriter:
    """Appends events to a progress.jsonl file, one complete line per write.

    Each event is written with a single ``os.write`` on an ``O_APPEND`` descriptor, so a reader
    never sees two events interleaved, and a crash leaves at most one partial last line (which
    the tailer skips).
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
        self._end_partial_line()

    def _end_partial_line(self) -> None:
        # A worker killed mid-write leaves a partial last line; the next writer (a resume) ends
        # it so that its own first event starts on a line of its own.
        size = os.fstat(self._fd).st_size
        if size and os.pread(self._fd, 1, size - 1) != b"\n":
            os.write(self._fd, b"\n")

    def write(self, event: ProgressEvent) -> None:
        """Append one event."""
        line = event.model_dump_json() + "\n"
        os.write(self._fd, line.encode("utf-8"))

    def close(self) -> None:
        """Close the file."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
