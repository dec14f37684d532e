"""The one facade the UI and the headless commands talk to.

It composes the store, liveness, resumability, watcher, tailer and supervisor. Synchronous methods
do blocking I/O and are what the CLI calls; their ``a``-prefixed async twins run them in a thread
(``asyncio.to_thread``) so that the TUI's event loop never parses files itself.

Heavy modules (pandas for analysis, torch for training) are imported inside the methods that need
them: the app imports this module at start-up and must stay fast.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.details import detail_rows
from engine.errors import BadInputError, DatasetMissingError
from engine.filters import SessionFilter, normalize_tags
from engine.history import SessionSummary
from engine.liveness import Liveness, check_liveness, current_host, reconcile_dead_session
from engine.progress import ProgressEvent
from engine.schema import TrainingMetadata
from engine.store import DEFAULT_LIMIT, SessionRecord, SessionStore, UnreadableFile
from engine.workspace import Workspace

if TYPE_CHECKING:
    from engine.analysis import DatasetAnalysis
    from engine.schema import ModelConfig, SplitConfig
    from engine.supervisor import StopReport, WorkerHandle
    from engine.watcher import SessionChanges

PROGRESS_FILE = "progress.jsonl"


def _is_dead_local(liveness: Liveness) -> bool:
    return liveness.local and liveness.alive is False


@dataclass
class History:
    """The history as shown: summaries with their live status, and unreadable files."""

    sessions: list[SessionSummary] = field(default_factory=list)
    unreadable: list[UnreadableFile] = field(default_factory=list)
    total_files: int = 0
    directory_exists: bool = True

    def to_json(self) -> dict[str, Any]:
        """The ``sessions --json`` document."""
        return {
            "sessions": [summary.to_json() for summary in self.sessions],
            "unreadable": [{"file": u.path.name, "error": u.error} for u in self.unreadable],
        }


@dataclass
class SessionView:
    """One session as the detail view shows it."""

    path: Path
    metadata: TrainingMetadata
    liveness: Liveness
    resumable: bool
    resume_blocker: str | None

    @property
    def status(self) -> str:
        return self.liveness.status_to_show

    def detail_rows(self) -> list[tuple[str, str]]:
        """The "Selected Session Details" rows."""
        rows = list(detail_rows(self.metadata, self.status))
        if self.liveness.reason:
            rows.append(("Liveness", self.liveness.reason))
        rows.append(("Resumable", "yes" if self.resumable else f"no: {self.resume_blocker}"))
        return rows

    def to_json(self) -> dict[str, Any]:
        """The ``show --json`` document."""
        return {
            "file": str(self.path),
            "metadata": self.metadata.to_document(),
            "status": self.status,
            "resumable": self.resumable,
            "resume_blocker": self.resume_blocker,
        }


@dataclass(frozen=True)
class LaunchedSession:
    """A worker that was started: which session, where its metadata is, its process."""

    session_id: str
    metadata_path: Path
    pid: int
    saved: bool


class Engine:
    """Facade over one workspace."""

    def __init__(self, workspace: Workspace, *, poll: bool = False) -> None:
        self.workspace = workspace
        self.store = SessionStore(workspace)
        self.poll = poll
        self.host = current_host()

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Engine:
        """The engine of a command's ``--workspace`` (or its default)."""
        return cls(
            Workspace.resolve(getattr(args, "workspace", None)), poll=getattr(args, "poll", False)
        )

    # -- reading -------------------------------------------------------------------------------

    def live_status(self, record_path: Path, metadata: TrainingMetadata) -> Liveness:
        """The status to show, writing ``interrupted`` back when a local worker died."""
        liveness = check_liveness(metadata, this_host=self.host)
        if _is_dead_local(liveness):
            reconcile_dead_session(self.store, record_path)
        return liveness

    def summarize(self, index: int, record: SessionRecord) -> SessionSummary:
        """A history row with the live status."""
        liveness = self.live_status(record.path, record.metadata)
        return SessionSummary.from_record(index, record, status=liveness.status_to_show)

    def history(
        self, limit: int | None = DEFAULT_LIMIT, session_filter: SessionFilter | None = None
    ) -> History:
        """The ``limit`` most recent sessions (all when None).

        With a filter, every file is considered and the first ``limit`` matches are returned;
        they keep their unfiltered history number so that ``show N`` still finds them, and
        unreadable files are left out.
        """
        if session_filter is not None:
            return self._filtered_history(limit, session_filter)
        listing = self.store.list(limit)
        return History(
            sessions=[self.summarize(i, r) for i, r in enumerate(listing.records, start=1)],
            unreadable=listing.unreadable,
            total_files=listing.total_files,
            directory_exists=listing.directory_exists,
        )

    def _filtered_history(self, limit: int | None, session_filter: SessionFilter) -> History:
        listing = self.store.list(None)
        matches: list[SessionSummary] = []
        for index, record in enumerate(listing.records, start=1):
            summary = self.summarize(index, record)
            if session_filter.matches(record.metadata, summary.status):
                matches.append(summary)
                if limit is not None and len(matches) >= limit:
                    break
        return History(
            sessions=matches,
            total_files=listing.total_files,
            directory_exists=listing.directory_exists,
        )

    def inspect(self, path: Path) -> SessionView:
        """One session with its live status and whether it can be resumed."""
        from engine.training.resumability import assess_resume

        metadata = self.store.load(path)
        liveness = self.live_status(path, metadata)
        if _is_dead_local(liveness):
            metadata = self.store.load(path)
        assessment = assess_resume(self.workspace, metadata)
        blocker = assessment.blocker
        if liveness.status_to_show in ("running", "stale"):
            blocker = "the session is running; stop it first"
        return SessionView(
            path, metadata, liveness, assessment.resumable and blocker is None, blocker
        )

    def progress_path(self, session_id: str) -> Path:
        """``logs/training_runs/<session_id>/progress.jsonl``."""
        return self.workspace.run_dir(session_id) / PROGRESS_FILE

    async def ahistory(self, limit: int | None = DEFAULT_LIMIT) -> History:
        """history() in a thread."""
        return await asyncio.to_thread(self.history, limit)

    async def ainspect(self, path: Path) -> SessionView:
        """inspect() in a thread."""
        return await asyncio.to_thread(self.inspect, path)

    # -- live updates --------------------------------------------------------------------------

    def watch(self) -> AsyncIterator[SessionChanges]:
        """Changes of the sessions folder as they happen (inotify, or polling with --poll)."""
        from engine.watcher import SessionWatcher

        # The watcher shares the store's parse cache: a changed file is parsed once, by whoever
        # looks first, and the history listing that follows reuses it.
        watcher = SessionWatcher(
            self.workspace.sessions_dir, poll=self.poll, cache=self.store.cache
        )
        return watcher.changes()

    def tail(self, session_id: str, *, from_start: bool = True) -> AsyncIterator[ProgressEvent]:
        """A session's progress events, following the file as the worker appends to it."""
        from engine.tailer import tail_progress

        return tail_progress(self.progress_path(session_id), from_start=from_start)

    # -- actions -------------------------------------------------------------------------------

    def analyze(
        self,
        dataset: Path,
        *,
        text_column: str | None = None,
        label_columns: list[str] | None = None,
        language_column: str | None = None,
        model: str | None = None,
        sheet: str | None = None,
        drop_rare_classes: bool = False,
        split: SplitConfig | None = None,
        progress: Callable[[str, float], None] | None = None,
    ) -> DatasetAnalysis:
        """Analyse a dataset file (see engine.analysis). Raises BadInputError."""
        from engine.analysis import analyze_dataset

        return analyze_dataset(
            dataset,
            text_column=text_column,
            label_columns=label_columns,
            language_column=language_column,
            model=model,
            sheet=sheet,
            drop_rare_classes=drop_rare_classes,
            split=split,
            progress=progress,
        )

    def _launch(
        self,
        metadata_path: Path,
        metadata: TrainingMetadata,
        *,
        resume: bool,
        force: bool,
        saved: bool,
    ) -> LaunchedSession:
        from engine.supervisor import launch_worker

        handle: WorkerHandle = launch_worker(
            self.workspace, metadata_path, resume=resume, force=force, detach=True
        )
        return LaunchedSession(metadata.session_id, metadata_path, handle.pid, saved)

    def start(
        self,
        analysis: DatasetAnalysis,
        model_config: ModelConfig,
        *,
        save: bool = True,
        workflow: str | None = None,
    ) -> LaunchedSession:
        """Create a new session from an analysis and hyperparameters and start its worker.

        With ``save=False`` the metadata is kept only in the run folder: the session trains but
        is neither listed nor resumable.
        """
        from engine.training.sessions import build_session_metadata, create_session

        metadata = build_session_metadata(analysis, model_config, workflow=workflow)
        path = create_session(self.store, metadata, save=save)
        metadata = self.store.load(path)
        return self._launch(path, metadata, resume=False, force=False, saved=save)

    def resume(self, path: Path, *, force: bool = False) -> LaunchedSession:
        """Continue an incomplete session from its newest complete checkpoint.

        Raises DatasetMissingError when the dataset moved, BadInputError with the reason when
        the session cannot be resumed otherwise.
        """
        from engine.training.resumability import assess_resume

        metadata = self.store.load(path)
        _check_dataset_present(metadata)
        if check_liveness(metadata, this_host=self.host).status_to_show in ("running", "stale"):
            raise BadInputError(
                f"session {metadata.session_id} is running; stop it first (`llmtool-tui stop`)"
            )
        assessment = assess_resume(self.workspace, metadata, force=force)
        if not assessment.resumable:
            raise BadInputError(f"cannot resume {metadata.session_id}: {assessment.blocker}")
        return self._launch(path, metadata, resume=True, force=force, saved=True)

    def relaunch(
        self, path: Path, *, dataset: Path | None = None, overrides: dict[str, str] | None = None
    ) -> LaunchedSession:
        """Start a new session with the same (or edited) parameters."""
        from engine.training.sessions import create_session, relaunch_metadata

        source = self.store.load(path)
        if dataset is None:
            _check_dataset_present(source)
        metadata = relaunch_metadata(source, dataset=dataset, overrides=overrides)
        new_path = create_session(self.store, metadata, save=True)
        metadata = self.store.load(new_path)
        return self._launch(new_path, metadata, resume=False, force=False, saved=True)

    def stop(self, path: Path, *, grace_s: float = 30.0) -> StopReport:
        """SIGTERM the session's worker, SIGKILL after the grace period; report what happened."""
        from engine.supervisor import stop_worker

        return stop_worker(self.store, path, grace_s=grace_s)

    def save_notes(
        self, path: Path, *, notes: str | None = None, tags: list[str] | None = None
    ) -> TrainingMetadata:
        """Save notes and tags under the file's lock, keeping the worker's concurrent updates."""

        def apply(metadata: TrainingMetadata) -> None:
            if notes is not None:
                metadata.notes = notes
            if tags is not None:
                metadata.tags = normalize_tags(tags)

        return self.store.update(path, apply)

    def locate_dataset(self, path: Path, new_dataset: Path) -> TrainingMetadata:
        """Point a session at its dataset's new location, after checking it is the same file.

        The new file's fingerprint (sha256 and size) must match the recorded one; a session
        without a fingerprint accepts any readable file. The path is saved under the file lock.
        Raises BadInputError when the file is missing or differs.
        """
        from engine.analysis.fingerprint import fingerprint_file

        new_dataset = new_dataset.expanduser().resolve()
        if not new_dataset.is_file():
            raise BadInputError(f"{new_dataset} is not a file; give the dataset's new path")
        recorded = self.store.load(path).dataset_config.fingerprint
        if recorded is not None:
            found = fingerprint_file(new_dataset)
            if (found.sha256, found.size_bytes) != (recorded.sha256, recorded.size_bytes):
                raise BadInputError(
                    f"{new_dataset.name} is not the session's dataset (sha256 or size differ:"
                    f" {found.size_bytes:,} bytes vs {recorded.size_bytes:,} recorded); pick the"
                    " original file, or relaunch with --dataset to train on new data"
                )

        def point_to_new_file(metadata: TrainingMetadata) -> None:
            metadata.dataset_config.primary_file = str(new_dataset)

        return self.store.update(path, point_to_new_file)

    def running_sessions(self) -> list[SessionSummary]:
        """Sessions running now (all files, live status): the app warns before quitting."""
        return [s for s in self.history(limit=None).sessions if s.status == "running"]

    async def arun(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run any blocking facade method in a thread."""
        return await asyncio.to_thread(method, *args, **kwargs)


def _check_dataset_present(metadata: TrainingMetadata) -> None:
    """Raise DatasetMissingError when the recorded dataset file is gone."""
    recorded = metadata.dataset_config.primary_file
    if recorded and not Path(recorded).expanduser().is_file():
        raise DatasetMissingError(metadata.session_id, recorded)


def default_engine(
    workspace: str | os.PathLike[str] | None = None, *, poll: bool = False
) -> Engine:
    """The engine of a workspace (``--workspace``, ``$LLMTOOL_WORKSPACE`` or the current dir)."""
    return Engine(Workspace.resolve(workspace), poll=poll)
