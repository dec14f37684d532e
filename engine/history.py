"""One row of the history, as both the ``sessions`` command and the TUI's table show it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from engine.store import SessionRecord

if TYPE_CHECKING:
    from engine.schema import TrainingMetadata

STATUS_SYMBOLS = {
    "completed": "✓",
    "failed": "✗",
    "pending": "⏸",
    "running": "▶",
    "starting": "▶",
    "interrupted": "⚠",
    "stale": "?",
}


def status_label(status: str) -> str:
    """``✓ completed`` and so on: a symbol and a word, so status is never colour alone."""
    return f"{STATUS_SYMBOLS.get(status, '•')} {status}"


def session_date(metadata: TrainingMetadata, fallback_mtime: float) -> str:
    """Creation date as ``YYYY-MM-DD HH:MM`` from the session timestamp (else the file's mtime)."""
    stamp = metadata.training_session.timestamp
    for fmt in ("%Y%m%d_%H%M%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(
                stamp[:15] if fmt.startswith("%Y%m") else stamp[:19], fmt
            ).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            continue
    return datetime.fromtimestamp(fallback_mtime).strftime("%Y-%m-%d %H:%M")


def model_label(metadata: TrainingMetadata) -> str:
    """The model column: the model, or ``(multiple)`` for several or for distributed mode."""
    config = metadata.training_model_config
    models = config.models()
    if config.training_mode == "distributed" or len(models) > 1:
        return "(multiple)"
    return models[0] if models else "-"


def dataset_label(metadata: TrainingMetadata) -> str:
    """The dataset column: the file name of the dataset."""
    primary = metadata.dataset_config.primary_file
    if not primary:
        return "-"
    # PurePath of either flavour: a collaborator's Windows path should still show its file name.
    return PurePath(primary.replace("\\", "/")).name or primary


@dataclass(frozen=True)
class SessionSummary:
    """One history row."""

    index: int
    session_id: str
    file: str
    date: str
    mode: str
    dataset: str
    model: str
    status: str
    best_f1: float | None
    mtime: float
    step: int | None = None
    """Progress of a running session: steps done of ``max_steps`` for the current model."""
    max_steps: int | None = None
    current_model_index: int | None = None
    """1-based position of the model being trained among ``models_total``."""
    models_total: int | None = None

    @classmethod
    def from_record(
        cls, index: int, record: SessionRecord, status: str | None = None
    ) -> SessionSummary:
        """Summarise a record; ``status`` overrides the recorded one (liveness)."""
        metadata = record.metadata
        return cls(
            index=index,
            session_id=metadata.session_id,
            file=record.path.name,
            date=session_date(metadata, record.mtime),
            mode=metadata.training_model_config.training_mode,
            dataset=dataset_label(metadata),
            model=model_label(metadata),
            status=status or metadata.status,
            best_f1=metadata.execution_status.best_f1,
            mtime=record.mtime,
            step=metadata.execution_status.step,
            max_steps=metadata.execution_status.max_steps,
            current_model_index=metadata.execution_status.current_model_index,
            models_total=metadata.execution_status.models_total,
        )

    def to_json(self) -> dict[str, Any]:
        """The ``sessions --json`` form."""
        return {
            "index": self.index,
            "session_id": self.session_id,
            "file": self.file,
            "date": self.date,
            "mode": self.mode,
            "dataset": self.dataset,
            "model": self.model,
            "status": self.status,
            "best_f1": self.best_f1,
        }
