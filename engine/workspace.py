"""The workspace: the directory whose ``logs/`` holds the sessions, and its layout.

Layout inside a workspace::

    logs/training_sessions/            one metadata JSON per session (the only list of sessions)
    logs/training_runs/<session_id>/   progress.jsonl, train.log, checkpoints/, results.csv
    logs/archive/                      sessions moved away by cleanup
    logs/.locks/                       lock files of read-modify-write updates
    models/<session_id>/<model>/       trained models
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

WORKSPACE_ENV = "LLMTOOL_WORKSPACE"
#: The files of a run folder, named once: the worker writes them, everyone else reads them.
PROGRESS_FILE = "progress.jsonl"
TRAIN_LOG_FILE = "train.log"
WORKER_OUTPUT_FILE = "worker.out"

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
#: Longest folder name made from an id; file systems allow 255 bytes, and names are ASCII here.
MAX_NAME_CHARACTERS = 120


def safe_name(name: str) -> str:
    """A file-system-safe name for a model id or session id (``org/model`` -> ``org__model``).

    Untrusted ids (from a collaborator's file) must never escape their parent directory, nor
    exceed what a file name may hold (255 bytes): a longer one keeps its start and a hash of
    the whole, so that two long ids still name two folders.
    """
    cleaned = _SAFE_NAME.sub("_", name.replace("/", "__")).strip("._") or "unnamed"
    if len(cleaned) <= MAX_NAME_CHARACTERS:
        return cleaned
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{cleaned[: MAX_NAME_CHARACTERS - 17]}-{digest}"


@dataclass(frozen=True)
class Workspace:
    """Paths of one workspace."""

    root: Path

    @classmethod
    def resolve(cls, explicit: str | os.PathLike[str] | None = None) -> Workspace:
        """The workspace from ``--workspace``, else ``$LLMTOOL_WORKSPACE``, else the current dir."""
        chosen = explicit or os.environ.get(WORKSPACE_ENV) or os.getcwd()
        return cls(Path(chosen).expanduser().resolve())

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def sessions_dir(self) -> Path:
        return self.logs_dir / "training_sessions"

    @property
    def runs_dir(self) -> Path:
        return self.logs_dir / "training_runs"

    @property
    def archive_dir(self) -> Path:
        return self.logs_dir / "archive"

    @property
    def locks_dir(self) -> Path:
        return self.logs_dir / ".locks"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    def run_dir(self, session_id: str) -> Path:
        """``logs/training_runs/<session_id>/``."""
        return self.runs_dir / safe_name(session_id)

    def progress_file(self, session_id: str) -> Path:
        """``logs/training_runs/<session_id>/progress.jsonl``: one JSON event per line."""
        return self.run_dir(session_id) / PROGRESS_FILE

    def train_log(self, session_id: str) -> Path:
        """``logs/training_runs/<session_id>/train.log``: the worker's log."""
        return self.run_dir(session_id) / TRAIN_LOG_FILE

    def worker_output(self, session_id: str) -> Path:
        """``logs/training_runs/<session_id>/worker.out``: the worker's stdout and stderr."""
        return self.run_dir(session_id) / WORKER_OUTPUT_FILE

    def session_models_dir(self, session_id: str) -> Path:
        """``models/<session_id>/``."""
        return self.models_dir / safe_name(session_id)

    def ensure(self) -> None:
        """Create the log directories (not the workspace itself: a typo must not create trees)."""
        if not self.root.is_dir():
            raise FileNotFoundError(
                f"workspace {self.root} does not exist; create it or pass an existing --workspace"
            )
        for path in (self.sessions_dir, self.runs_dir, self.locks_dir):
            path.mkdir(parents=True, exist_ok=True)
