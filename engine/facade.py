"""The one facade the UI and the headless commands talk to.

It composes the store, liveness, resumability, watcher, tailer and supervisor. Its methods do
blocking I/O: the CLI calls them, the app runs them in a thread (``asyncio.to_thread``, or a thread
worker) so that its event loop never reads or parses files itself.

Heavy modules (pandas for analysis, torch for training) are imported inside the methods that need
them: the app imports this module at start-up and must stay fast.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.details import (
    ModelResult,
    detail_rows,
    ending_text,
    model_results,
    prediction_warnings,
)
from engine.errors import (
    BadInputError,
    DatasetMissingError,
    Obstacle,
    OperationError,
    Remedy,
    ResumeRefusedError,
)
from engine.files import expand_user
from engine.filters import SessionFilter, normalize_tags
from engine.history import History, numbered
from engine.liveness import (
    STOP_GRACE_S,
    WORKER_MODULE,
    Liveness,
    check_liveness,
    current_host,
    reconcile_dead_session,
    refuse_if_active,
)
from engine.rows import SessionRow
from engine.sessions.hyperparameters import hyperparameter_warnings, validate_hyperparameters
from engine.store import (
    DEFAULT_LIMIT,
    MetadataError,
    SessionStore,
    collector_paused,
    may_mention,
    newest_first,
)
from engine.workspace import Workspace

if TYPE_CHECKING:
    import asyncio
    from datetime import datetime, timedelta

    from engine.analysis import DatasetAnalysis
    from engine.analysis.catalog import ModelInfo
    from engine.cleanup import CleanupPlan, CleanupResult
    from engine.comparison import Comparison
    from engine.evaluations import SessionScore
    from engine.first_listing import FirstListing
    from engine.prediction.plan import PredictionPlan
    from engine.prediction.runner import PredictionResult
    from engine.prediction.status import PredictionStatus
    from engine.progress import EvaluationDone, ProgressEvent
    from engine.schema import ModelConfig, SplitConfig, TrainingMetadata
    from engine.supervisor import StopReport, WorkerHandle
    from engine.templates import ExportedTemplate, ImportResult
    from engine.watcher import SessionChanges


def _is_path(model: str) -> bool:
    """Whether a recorded model names a directory rather than a hub id (``org/name``)."""
    return expand_user(model).is_absolute() or model.startswith((".", "~"))


def _is_dead_local(liveness: Liveness) -> bool:
    return liveness.local and liveness.alive is False


@dataclass
class SessionView:
    """One session as the detail view shows it."""

    path: Path
    metadata: TrainingMetadata
    liveness: Liveness
    resumable: bool
    resume_obstacle: Obstacle | None
    """Why it cannot be resumed now, and the fix (None when it can)."""
    evaluations: list[EvaluationDone] = field(default_factory=list)
    """The run's evaluations so far (from its progress file)."""
    evaluations_error: str | None = None
    """Why the progress file cannot be read (the details still show the metadata)."""

    @property
    def status(self) -> str:
        return self.liveness.status_to_show

    @property
    def resume_blocker(self) -> str | None:
        """Why it cannot be resumed now, in the shell's words."""
        return None if self.resume_obstacle is None else str(self.resume_obstacle)

    @property
    def resume_needs_answer(self) -> bool:
        """Resuming is possible after the user answers: where the dataset moved, or whether to
        accept a change (``force``)."""
        obstacle = self.resume_obstacle
        return obstacle is not None and obstacle.kind in ("dataset-missing", "forceable")

    def detail_rows(self, *, in_app: bool = False) -> list[tuple[str, str]]:
        """The "Selected Session Details" rows, fixes worded for the app or for the shell."""
        rows = list(detail_rows(self.metadata, self.status, self.evaluations))
        if self.evaluations_error:
            rows.append(("Evaluations", self.evaluations_error))
        if self.liveness.reason:
            rows.append(("Liveness", self.liveness.reason))
        obstacle = self.resume_obstacle
        if obstacle is None:
            rows.append(("Resumable", "yes"))
        else:
            rows.append(("Resumable", f"no: {obstacle.in_app() if in_app else obstacle}"))
        return rows

    def to_json(self) -> dict[str, Any]:
        """The ``show --json`` document."""
        return {
            "file": str(self.path),
            "metadata": self.metadata.to_document(),
            "status": self.status,
            "resumable": self.resumable,
            "resume_blocker": self.resume_blocker,
            "models": [result.to_json() for result in self.model_results()],
            "warnings": prediction_warnings(self.evaluations),
            # Also in the metadata (execution_status.endings); here with the detail's words.
            "how_it_ended": [
                {"model": ending.model, "label": ending.label, "text": ending_text(ending)}
                for ending in self.metadata.execution_status.endings
            ],
        }

    def model_results(self) -> list[ModelResult]:
        """A benchmark's models with their best F1 so far and status; empty otherwise."""
        return model_results(self.metadata, self.status, self.evaluations)


@dataclass(frozen=True)
class ModelStatus:
    """A model as the wizard lists it: catalogue facts when known, and whether it is on disk."""

    model_id: str
    info: ModelInfo | None
    """The catalogue entry (languages, size, description); None for other models."""
    max_tokens: int
    offline: bool
    """Available without network: a local directory, or in the local Hugging Face cache."""
    local_directory: bool


@dataclass(frozen=True)
class LastChoices:
    """What the newest session was made of: the wizard proposes it for the next one."""

    dataset_directory: Path | None
    """The folder of its dataset, when it still is one."""
    model: ModelStatus | None
    """Its (first) model, unless this machine cannot have it (a local directory now gone)."""


@dataclass(frozen=True)
class DemoModel:
    """A tiny BERT model built offline, and what its tokenizer was trained on."""

    path: Path
    corpus: Path
    texts: int


#: ``models/demo-bert``: the workspace's demo model, built by ``train --demo`` when missing.
DEMO_MODEL_DIR = "demo-bert"


@dataclass(frozen=True)
class PreparedRun:
    """A session checked and written, ready for its worker: what was read and decided.

    The launch takes it as it is: the metadata is not read again, nor the resume assessed again,
    before the worker starts (the launch only re-checks, under the file's lock, that no other
    worker started meanwhile; the worker re-checks the rest, as another process may race it).
    """

    path: Path
    """The metadata file the worker is given."""
    metadata: TrainingMetadata
    """The document as it was checked (or written)."""
    resume: bool = False
    force: bool = False
    warnings: tuple[str, ...] = ()
    """What ``force`` overrode (resume only)."""

    @property
    def session_id(self) -> str:
        return self.metadata.session_id


@dataclass(frozen=True)
class LaunchedSession:
    """A worker that was started: which session, where its metadata is, its process."""

    session_id: str
    metadata_path: Path
    pid: int
    saved: bool


class Engine:
    """Facade over one workspace."""

    def __init__(
        self,
        workspace: Workspace,
        *,
        poll: bool = False,
        worker_module: str | None = None,
        clock: Callable[[], datetime] | None = None,
        listing_processes: int = 1,
    ) -> None:
        self.workspace = workspace
        self.clock = clock
        """The current time that heartbeats are aged against; None for the real clock
        (screenshots pass a frozen one, so that a remote run stays fresh)."""
        self.worker_module = worker_module or WORKER_MODULE
        """Module run as the training worker (tests substitute a stand-in); only a process
        running it on a session's file is ever taken for that session's worker."""
        self.store = SessionStore(workspace, processes=listing_processes)
        self.poll = poll
        self.host = current_host()

    # -- reading -------------------------------------------------------------------------------

    def live_status(self, record_path: Path, metadata: TrainingMetadata) -> Liveness:
        """The status to show, writing the truth back when a local worker is gone.

        A ``running`` session without its worker becomes ``interrupted``; one whose worker died
        while starting becomes ``failed``.
        """
        liveness = check_liveness(
            metadata,
            record_path,
            now=self.clock() if self.clock is not None else None,
            this_host=self.host,
            worker_module=self.worker_module,
        )
        if _is_dead_local(liveness):
            reconcile_dead_session(self.store, record_path, worker_module=self.worker_module)
        return liveness

    def _live(self, row: SessionRow) -> SessionRow:
        """``row`` showing its live status: its process is looked at only when it may run."""
        if not row.needs_liveness:
            return row
        if row.metadata is None:
            checked = self.store.cache.get(row.path, metadata=True)
            if checked is None or checked.metadata is None:
                return checked.numbered(row.index) if checked is not None else row
            row = checked.numbered(row.index)
        assert row.metadata is not None
        liveness = self.live_status(row.path, row.metadata)
        return row.with_status(liveness.status_to_show, liveness.reason)

    def history(
        self,
        limit: int | None = DEFAULT_LIMIT,
        session_filter: SessionFilter | None = None,
        *,
        validate: bool = True,
    ) -> History:
        """The ``limit`` most recent sessions (all when None), numbered, with live statuses.

        With a filter, every file is considered and the first ``limit`` matches are returned;
        they keep their unfiltered history number so that ``show N`` still finds them, and
        unreadable files are left out. Without ``validate`` (the app's first frame) the rows
        are made without pydantic and show their recorded status: ``checked`` completes them.
        """
        with collector_paused():
            listing = self.store.list(
                None if session_filter else limit,
                validate=validate,
                metadata=session_filter is not None,
            )
            rows = numbered(listing.rows)
        if validate:
            rows = [self._live(row) for row in rows]
        if session_filter is not None:
            matching = (
                row
                for row in rows
                if row.metadata is not None and session_filter.matches(row.metadata, row.status)
            )
            rows = [row for _, row in zip(range(limit or len(rows)), matching, strict=False)]
        return History(
            rows,
            limit,
            listing.total_files,
            listing.directory_exists,
            listing.keys,
            session_filter,
        )

    def list_in_background(self) -> FirstListing | None:
        """Start listing the default window in a child process (``engine.first_listing``).

        The app calls it before importing its interface; None where no child can be forked
        (then ``history`` lists as usual).
        """
        from engine.first_listing import FirstListing

        return FirstListing.start(self)

    def checked(self, history: History) -> History:
        """A window listed without validation, with every row validated and live.

        Validation may find a row unreadable: the window is numbered again.
        """
        rows = [
            row if row.validated else self.store.cache.get(row.path) or row for row in history.rows
        ]
        return replace(history, rows=[self._live(row) for row in numbered(rows)])

    def updated(self, history: History, changes: SessionChanges) -> History:
        """``history`` after a batch of changes of the sessions folder, applied by key.

        A new or changed row takes its place in the window (newest first), a removed one
        leaves it, and a row that enters the window from beyond it is read; nothing else is
        read or listed again. A search is run again instead (its matches may be anywhere).
        """
        if history.search is not None:
            return self.history(history.limit, history.search)
        keys = dict(history.keys)
        known = {row.key: row for row in history.rows}
        for path in changes.removed:
            keys.pop(str(path), None)
            known.pop(str(path), None)
        for row in [*changes.added, *changes.changed]:
            keys[row.key] = row.stat
            known[row.key] = self._live(row)
        window = newest_first(keys, history.limit)
        entering = [path for path in window if path not in known]
        for row in self.store.rows(entering, keys):
            known[row.key] = self._live(row)
        rows = numbered([known[path] for path in window if path in known])
        return History(rows, history.limit, len(keys), True, keys)

    def rechecked(self, history: History) -> History:
        """``history`` with the live status of its running (or starting) rows looked at again.

        A worker that dies changes no file, so the watcher cannot tell: the app calls this from
        time to time. Returns ``history`` itself when no shown status changed.
        """
        rows = [self._live(row) if row.needs_liveness else row for row in history.rows]
        if all(new.status == old.status for new, old in zip(rows, history.rows, strict=True)):
            return history
        return replace(history, rows=rows)

    def inspect(self, path: Path) -> SessionView:
        """One session with its live status and whether it can be resumed."""
        from engine.sessions.resumability import assess_resume

        metadata = self.store.load(path)
        liveness = self.live_status(path, metadata)
        if _is_dead_local(liveness):
            metadata = self.store.load(path)
        assessment = assess_resume(self.workspace, metadata)
        obstacle = assessment.obstacle
        if liveness.status_to_show in ("running", "stale", "starting"):
            obstacle = Obstacle(f"the session is {liveness.status_to_show}; stop it first", None)
        view = SessionView(path, metadata, liveness, obstacle is None, obstacle)
        try:
            view.evaluations = self.read_evaluations(metadata.session_id)
        except OperationError as exc:
            view.evaluations_error = str(exc)
        return view

    def progress_path(self, session_id: str) -> Path:
        """``logs/training_runs/<session_id>/progress.jsonl``."""
        return self.workspace.progress_file(session_id)

    # -- live updates --------------------------------------------------------------------------

    def watch(self, since: History | None = None) -> AsyncIterator[SessionChanges]:
        """Changes of the sessions folder as they happen (inotify, or polling with --poll).

        Changes since the listing ``since`` are reported (the first batch comes once the watch
        is established); without it, since watching starts.
        """
        from engine.watcher import SessionWatcher

        # The watcher shares the store's parse cache: a changed file is parsed once, by whoever
        # looks first, and the history listing that follows reuses it.
        watcher = SessionWatcher(
            self.workspace.sessions_dir,
            poll=self.poll,
            cache=self.store.cache,
            baseline=since.keys if since is not None and since.directory_exists else None,
        )
        return watcher.changes()

    def tail(
        self, session_id: str, *, from_start: bool = True, caught_up: asyncio.Event | None = None
    ) -> AsyncGenerator[ProgressEvent, None]:
        """A session's progress events, following the file as the worker appends to it;
        ``caught_up`` is set once those already written have been yielded.

        Those already written come from the run's summary and the end of its log (every event
        but most steps, the latest step included): a long run opens at once, in bounded memory.
        """
        from engine.progress import summary_path
        from engine.tailer import tail_progress

        progress = self.progress_path(session_id)
        return tail_progress(
            progress, from_start=from_start, caught_up=caught_up, summary=summary_path(progress)
        )

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
        header: bool | None = None,
        delimiter: str | None = None,
        encoding: str | None = None,
        label_delimiter: str | None = None,
        drop_rare_classes: bool = False,
        split: SplitConfig | None = None,
        progress: Callable[[str, float], None] | None = None,
    ) -> DatasetAnalysis:
        """Analyse a dataset file (see engine.analysis). Raises BadInputError.

        ``sheet``, ``header``, ``delimiter`` and ``encoding`` say how to read the file, and
        ``label_delimiter`` how to split its label cells; each None is detected.
        """
        from engine.analysis import analyze_dataset
        from engine.analysis.readers import ReadOptions

        return analyze_dataset(
            dataset,
            text_column=text_column,
            label_columns=label_columns,
            language_column=language_column,
            model=model,
            read=ReadOptions(header=header, delimiter=delimiter, encoding=encoding, sheet=sheet),
            label_delimiter=label_delimiter,
            drop_rare_classes=drop_rare_classes,
            split=split,
            progress=progress,
        )

    def dataset_columns(self, dataset: Path, *, header: bool | None = None) -> list[str] | None:
        """The columns of a file the analysis refused, so that they can be chosen by hand;
        ``header`` as for ``analyze`` (None: detected)."""
        from engine.analysis import read_table
        from engine.analysis.readers import ReadOptions

        try:
            frame = read_table(dataset, ReadOptions(header=header)).frame
            return [str(column) for column in frame.columns]
        except BadInputError:
            return None

    def sample_dataset(self) -> tuple[Path, str, str]:
        """The bundled sample dataset: its path, text column and label column."""
        from engine.sessions.sample_data import LABEL_COLUMN, SAMPLE_PATH, TEXT_COLUMN

        return SAMPLE_PATH, TEXT_COLUMN, LABEL_COLUMN

    def build_demo_model(
        self, out_dir: Path, corpus: Path | None = None, text_column: str = "text"
    ) -> DemoModel:
        """A tiny BERT model whose tokenizer is trained on ``corpus`` (the sample by default).

        Works offline. Raises BadInputError for an unreadable corpus or output folder.
        """
        from engine.training.demo_model import build_demo_model, read_corpus

        corpus = corpus or self.sample_dataset()[0]
        texts = read_corpus(corpus, text_column)
        return DemoModel(build_demo_model(out_dir, texts), corpus, len(texts))

    def workspace_demo_model(
        self,
        corpus: Path | None = None,
        text_column: str = "text",
        *,
        building: Callable[[Path], None] | None = None,
    ) -> Path:
        """``models/demo-bert`` of the workspace, built first when missing (``building`` is
        told where, before the build starts)."""
        from engine.training.demo_model import is_demo_model

        target = self.workspace.models_dir / DEMO_MODEL_DIR
        if not is_demo_model(target):
            if building is not None:
                building(target)
            self.build_demo_model(target, corpus, text_column)
        return target

    def check_hyperparameters(self, config: ModelConfig) -> None:
        """Raise BadInputError naming the first invalid hyperparameter of ``config``: out of
        the bounds every front end applies, or a max length beyond what a model takes."""
        from engine.analysis.catalog import model_max_tokens

        models = config.models()
        max_tokens = min(model_max_tokens(model) for model in models) if models else None
        problems = validate_hyperparameters(config, max_tokens=max_tokens)
        if problems:
            raise BadInputError(problems[0])

    def suggested_max_length(self, analysis: DatasetAnalysis, models: list[str]) -> int:
        """The max length to train ``models`` with, from the texts' token lengths (p95)."""
        from engine.analysis.catalog import model_max_tokens
        from engine.sessions.creation import suggested_max_length

        p95 = float(analysis.text_analysis.text_length_stats.token_p95 or 0)
        return suggested_max_length(p95, min(model_max_tokens(model) for model in models))

    def check_models(self, models: list[str]) -> list[ModelStatus]:
        """Resolve models as the worker will, before a session is created.

        Raises BadInputError naming a model that is neither on disk nor obtainable now, and how
        to make it available.
        """
        from engine.sessions.models import check_models

        check_models(models)
        return [self._model_status(name) for name in models]

    def _model_status(self, name: str) -> ModelStatus:
        """What the disk says of a model (no hub query)."""
        from engine.analysis.catalog import catalog_entry, is_available_offline, model_max_tokens

        return ModelStatus(
            model_id=name,
            info=catalog_entry(name),
            max_tokens=model_max_tokens(name),
            offline=is_available_offline(name),
            local_directory=expand_user(name).is_dir(),
        )

    def last_choices(self, history: History) -> LastChoices | None:
        """The dataset folder and the model of the newest readable session of ``history``.

        ``history`` is one the caller already has (the app's window): only the newest session's
        file is read, never the directory. None when there is no readable session.
        """
        newest = next(iter(history.sessions), None)
        if newest is None:
            return None
        try:
            metadata = newest.metadata or self.store.load(newest.path)
        except MetadataError:
            return None
        primary = metadata.dataset_config.primary_file
        # A template's dataset is a bare file name: it names no folder.
        folder = expand_user(primary).parent if primary else None
        models = metadata.training_model_config.models()
        model = models[0] if models else None
        if model and _is_path(model) and not expand_user(model).is_dir():
            # A local model directory since removed (or on the machine the session came from).
            model = None
        return LastChoices(
            dataset_directory=folder
            if folder and folder.is_absolute() and folder.is_dir()
            else None,
            model=self._model_status(model) if model else None,
        )

    def preview_session(
        self, analysis: DatasetAnalysis, model_config: ModelConfig
    ) -> TrainingMetadata:
        """The metadata a new session would start with (ids and timestamps aside)."""
        from engine.sessions.creation import build_session_metadata

        return build_session_metadata(analysis, model_config)

    # Preparing a run: everything is checked and the metadata written before a worker starts,
    # so that a bad request fails in seconds, with its reason, and never as a failed session.
    # The CLI (which may follow the worker in the foreground) and the app share these.

    def prepare_new_session(
        self,
        analysis: DatasetAnalysis,
        model_config: ModelConfig,
        *,
        save: bool = True,
        workflow: str | None = None,
    ) -> PreparedRun:
        """Validate a new session's parameters and models, write its metadata as ``pending``.

        With ``save=False`` the metadata is kept only in the run folder: the session trains
        but is neither listed nor resumable. Raises BadInputError (bad value, unavailable
        model).
        """
        from engine.sessions.creation import build_session_metadata, create_session
        from engine.sessions.models import absolute_model_name, check_models

        self.check_hyperparameters(model_config)
        # Local model paths are recorded absolute: the worker runs in the workspace.
        models = [absolute_model_name(name) for name in model_config.models()]
        config = model_config.model_copy(
            update={"selected_model": models[0] if models else None, "selected_models": models}
        )
        check_models(config.models())
        metadata = build_session_metadata(analysis, config, workflow=workflow)
        path = create_session(self.store, metadata, save=save)
        return PreparedRun(path, metadata, warnings=_hyperparameter_warnings(metadata))

    def prepare_resume(
        self, path: Path, *, force: bool = False, dataset: Path | None = None
    ) -> PreparedRun:
        """Check, once, that a session can be resumed now.

        ``dataset`` is the dataset's new place when it moved: it must be the same file (its
        fingerprint is checked, unless ``force``), and is saved into the session before it
        resumes. Raises DatasetMissingError when the dataset moved and no new place is given,
        ResumeRefusedError with the obstacle when it cannot be resumed otherwise (completed, no
        checkpoint, a model missing, changed data, thread count or world size without
        ``force``), BadInputError when it runs or was trained without saved metadata.
        """
        from engine.sessions.resumability import assess_resume

        metadata = self.store.load(path)
        if path.parent.parent == self.workspace.runs_dir:
            raise BadInputError(
                f"{metadata.session_id} was trained with --no-save: it cannot be resumed",
                Remedy(
                    shell=f"relaunch it with `llmtool-tui relaunch {path}`",
                    app="press l to relaunch it",
                ),
            )
        liveness = self.live_status(path, metadata)
        refuse_if_active(liveness, metadata)
        if _is_dead_local(liveness) or dataset is not None:
            # live_status has just written the truth (interrupted) into the file, or
            # locate_dataset the dataset's new place.
            if dataset is not None:
                self.locate_dataset(path, dataset, accept_changed=force)
            metadata = self.store.load(path)
        _check_dataset_present(metadata)
        assessment = assess_resume(self.workspace, metadata, force=force)
        if assessment.obstacle is not None:
            raise ResumeRefusedError(metadata.session_id, assessment.obstacle)
        return PreparedRun(path, metadata, resume=True, force=force, warnings=assessment.warnings)

    def prepare_relaunch(
        self, path: Path, *, dataset: Path | None = None, overrides: dict[str, str] | None = None
    ) -> PreparedRun:
        """Write a new pending session with the parameters of ``path``, optionally edited.

        Raises DatasetMissingError when the original dataset moved and no other is given,
        BadInputError for a bad override or an unavailable model.
        """
        from engine.schema import TrainingMetadata
        from engine.sessions.creation import create_session, relaunch_metadata
        from engine.sessions.models import check_models
        from engine.templates import without_unsafe_keys

        source = self.store.load(path)
        if dataset is None:
            _check_dataset_present(source)
        metadata = relaunch_metadata(source, dataset=dataset, overrides=overrides)
        document, _removed = without_unsafe_keys(metadata.to_document())
        metadata = TrainingMetadata.from_document(document)
        self.check_hyperparameters(metadata.training_model_config)
        check_models(metadata.training_model_config.models())
        path = create_session(self.store, metadata, save=True)
        return PreparedRun(path, metadata, warnings=_hyperparameter_warnings(metadata))

    def launch(self, prepared: PreparedRun, *, detach: bool = True) -> WorkerHandle:
        """Start the worker of a prepared session (detached: it outlives this process)."""
        from engine.supervisor import launch_worker

        return launch_worker(
            self.workspace,
            prepared.path,
            resume=prepared.resume,
            force=prepared.force,
            detach=detach,
            worker_module=self.worker_module,
        )

    def _launched(self, prepared: PreparedRun) -> LaunchedSession:
        handle = self.launch(prepared)
        saved = prepared.path.parent == self.workspace.sessions_dir
        return LaunchedSession(prepared.session_id, prepared.path, handle.pid, saved)

    def start(
        self,
        analysis: DatasetAnalysis,
        model_config: ModelConfig,
        *,
        save: bool = True,
        workflow: str | None = None,
    ) -> LaunchedSession:
        """Create a new session and start its worker detached (see prepare_new_session)."""
        return self._launched(
            self.prepare_new_session(analysis, model_config, save=save, workflow=workflow)
        )

    def resume(
        self, path: Path, *, force: bool = False, dataset: Path | None = None
    ) -> LaunchedSession:
        """Continue an incomplete session from its newest complete checkpoint, detached."""
        return self._launched(self.prepare_resume(path, force=force, dataset=dataset))

    def relaunch(
        self, path: Path, *, dataset: Path | None = None, overrides: dict[str, str] | None = None
    ) -> LaunchedSession:
        """Start a new session with the same (or edited) parameters, detached."""
        return self._launched(self.prepare_relaunch(path, dataset=dataset, overrides=overrides))

    def stop(self, path: Path, *, grace_s: float = STOP_GRACE_S) -> StopReport:
        """SIGTERM the session's worker, SIGKILL after the grace period; report what happened."""
        from engine.supervisor import stop_worker

        return stop_worker(self.store, path, grace_s=grace_s, worker_module=self.worker_module)

    def save_notes(
        self, path: Path, *, notes: str | None = None, tags: list[str] | None = None
    ) -> TrainingMetadata:
        """Save notes and tags under the file's lock, keeping the worker's concurrent updates.

        The file keeps its modification time: the history is ordered by training activity, and
        a session annotated keeps its place and its number (``show 2`` names the same one).
        """

        def apply(metadata: TrainingMetadata) -> None:
            if notes is not None:
                metadata.notes = notes
            if tags is not None:
                metadata.tags = normalize_tags(tags)

        return self.store.update(path, apply, keep_mtime=True)

    def locate_dataset(
        self, path: Path, new_dataset: Path, *, accept_changed: bool = False
    ) -> TrainingMetadata:
        """Point a session at its dataset's new location, after checking it is the same file.

        The new file's fingerprint (sha256 and size) must match the recorded one, unless
        ``accept_changed`` (resuming with ``force``: the resume then warns that the data
        changed); a session without a fingerprint accepts any readable file. The path is saved
        under the file lock. Raises BadInputError when the file is missing or differs.
        """
        from engine.analysis.dataset_file import open_dataset
        from engine.analysis.fingerprint import fingerprint_file

        new_dataset = expand_user(str(new_dataset))
        # One clear line for anything that is not a readable data file (missing, a FIFO, a
        # directory, a NUL in the name), before the path is resolved or hashed.
        open_dataset(new_dataset).close()
        new_dataset = new_dataset.resolve()
        recorded = self.store.load(path).dataset_config.fingerprint
        if recorded is not None and not accept_changed:
            found = fingerprint_file(new_dataset)
            if (found.sha256, found.size_bytes) != (recorded.sha256, recorded.size_bytes):
                raise BadInputError(
                    f"{new_dataset.name} is not the session's dataset (sha256 or size differ:"
                    f" {found.size_bytes:,} bytes vs {recorded.size_bytes:,} recorded)",
                    Remedy(
                        shell="give the original file, resume with --force to continue on this"
                        " one anyway, or relaunch with --dataset to train on new data",
                        app="give the original file, or press e to relaunch on new data",
                    ),
                )

        def point_to_new_file(metadata: TrainingMetadata) -> None:
            metadata.dataset_config.primary_file = str(new_dataset)

        return self.store.update(path, point_to_new_file)

    def running_sessions(self) -> list[SessionRow]:
        """Sessions whose worker runs now, or is starting (all files, live status).

        The app warns before quitting. Only the files whose text says ``"running"`` or holds a
        launch record are validated (see ``may_mention``).
        """
        running = []
        for path in self.store.candidate_paths():
            if not may_mention(path, "running", "launched_at"):
                continue
            row = self.store.cache.get(path, metadata=True)
            if row is not None and row.readable:
                row = self._live(row)
                if row.status in ("running", "starting"):
                    running.append(row)
        return running

    # -- results, templates, cleanup -----------------------------------------------------------
    # Imported inside the methods: engine.cleanup imports this module, and none of them is
    # needed to start the app.

    def read_evaluations(self, session_id: str) -> list[EvaluationDone]:
        """A session's evaluations from its progress file (see engine.evaluations).

        Read from the run's summary, which holds every evaluation in a fraction of the log's
        size; from the log itself when the run has none (written before summaries existed).

        Raises OperationError when the file exists but cannot be read.
        """
        from engine.evaluations import read_evaluations
        from engine.progress import summary_path

        progress = self.progress_path(session_id)
        summary = summary_path(progress)
        found = summary.is_file() and not summary.is_symlink()
        return read_evaluations(summary if found else progress)

    def compare(self, paths: Sequence[Path]) -> Comparison:
        """Sessions side by side: parameters, results and macro F1 curves (engine.comparison).

        A file that cannot be read is kept in the comparison with its reason.
        """
        from engine.comparison import ComparedSession, compare_sessions

        compared = []
        for path in paths:
            try:
                view = self.inspect(path)
            except MetadataError as exc:
                compared.append(ComparedSession.unreadable(path, exc.reason))
                continue
            compared.append(
                ComparedSession(
                    path=path,
                    session_id=view.metadata.session_id,
                    rows=tuple(view.detail_rows()),
                    evaluations=tuple(view.evaluations),
                    recorded_best_f1=view.metadata.execution_status.best_f1,
                    error=view.evaluations_error,
                )
            )
        return compare_sessions(compared)

    def session_scores(self) -> list[SessionScore]:
        """The best F1 of every readable session, oldest first (the performance chart)."""
        from engine.evaluations import session_scores

        return session_scores(self.store)

    def export_template(
        self, path: Path, output: Path | None = None, *, overwrite: bool = False
    ) -> ExportedTemplate:
        """The shareable template of the session at ``path``, written to ``output`` atomically
        (returned only, when ``output`` is None).

        Raises:
            BadInputError: ``output`` exists (and ``overwrite`` is off), its folder does not
                exist, or it is the sessions folder (where it would be listed as a session).
            OperationError: the file cannot be written.
        """
        from engine.errors import OperationError
        from engine.store import atomic_write_json
        from engine.templates import export_template

        exported = export_template(self.store.load(path))
        if output is None:
            return exported
        output = expand_user(str(output))
        if output.exists() and not overwrite:
            raise BadInputError(
                f"{output} exists",
                Remedy(
                    shell="choose another file or pass --force to replace it",
                    app="choose another file, or confirm the replacement",
                ),
            )
        if not output.parent.is_dir():
            raise BadInputError(f"folder {output.parent} does not exist; create it first")
        if output.parent.resolve() == self.workspace.sessions_dir.resolve():
            raise BadInputError(
                f"a template in {self.workspace.sessions_dir} would be listed as an unreadable"
                " session; write it to another folder"
            )
        try:
            atomic_write_json(output, exported.document)
        except OSError as exc:
            raise OperationError(f"cannot write {output}: {exc.strerror or exc}") from None
        return exported

    def import_template(
        self, source: Path, *, dataset: Path | None = None, models: Sequence[Path] = ()
    ) -> ImportResult:
        """A new pending session from a template or metadata file (see engine.templates), or the
        dataset and model folders given here for the session it became already.

        Raises BadInputError for a bad file, dataset or model folder, StoreError when nothing
        can be written.
        """
        from engine.templates import import_session

        return import_session(
            self.store,
            expand_user(str(source)),
            dataset=dataset,
            models=[expand_user(str(model)) for model in models],
        )

    def plan_cleanup(
        self,
        older_than: timedelta,
        status: str | None = None,
        *,
        include_unreadable: bool = False,
        now: datetime | None = None,
    ) -> CleanupPlan:
        """Which sessions archiving would move (see engine.cleanup); nothing is moved.

        Raises BadInputError for a status that is never archived or is none.
        """
        from engine.cleanup import plan_cleanup

        return plan_cleanup(
            self.store,
            self.history(limit=None),
            older_than,
            status,
            now,
            include_unreadable=include_unreadable,
        )

    def apply_cleanup(self, plan: CleanupPlan) -> CleanupResult:
        """Archive what ``plan`` lists that did not change since; failures are collected."""
        from engine.cleanup import apply_cleanup

        return apply_cleanup(plan)

    # -- predictions ---------------------------------------------------------------------------
    # The plan reads the file with pandas and the runner needs torch: imported in the methods.
    # The app calls the torch-free ones in a thread and runs predictions as detached workers.

    def plan_prediction(
        self,
        path: Path,
        file: Path,
        output: Path | None = None,
        *,
        text_column: str | None = None,
        batch_size: int | None = None,
        threshold: float | None = None,
    ) -> PredictionPlan:
        """Check a prediction with the best model of the session at ``path`` over ``file``
        (see engine.prediction.plan); nothing is written.

        Raises BadInputError (no best model, an output that is the input or of an unknown
        format, an unreadable file, a missing text column), MetadataError.
        """
        from engine.prediction.plan import PredictionRequest, plan_prediction

        request = PredictionRequest(path, file, output, text_column, batch_size, threshold)
        return plan_prediction(self.workspace, self.store.load(path), request)

    def predict(
        self, plan: PredictionPlan, progress: Callable[[PredictionStatus], None] | None = None
    ) -> PredictionResult:
        """Run a planned prediction in this process (torch), continuing from the chunks a
        stopped run of the same request saved; ``progress`` is told after each batch.

        Raises BadInputError (the same prediction runs elsewhere), OperationError.
        """
        from engine.prediction.runner import run_prediction

        return run_prediction(plan, self.store, progress=progress)

    def start_prediction(self, plan: PredictionPlan) -> PredictionStatus:
        """Start a planned prediction in a detached worker process; its first status.

        Raises BadInputError (the same prediction runs already), OperationError.
        """
        from engine.prediction.launch import launch_prediction

        return launch_prediction(self.workspace, plan)

    def prediction_status(self, job_dir: Path) -> PredictionStatus | None:
        """Where a prediction stands (``interrupted`` when its process is gone); None before
        its first status."""
        from engine.prediction.status import read_status

        return read_status(job_dir)

    def running_predictions(self, session_id: str) -> list[PredictionStatus]:
        """The session's predictions running now, from any process."""
        from engine.prediction.plan import PREDICTIONS_DIR
        from engine.prediction.status import read_status

        folder = self.workspace.run_dir(session_id) / PREDICTIONS_DIR
        statuses = (read_status(job) for job in sorted(folder.glob("*")) if job.is_dir())
        return [status for status in statuses if status is not None and status.state == "running"]


def _hyperparameter_warnings(metadata: TrainingMetadata) -> tuple[str, ...]:
    return tuple(
        hyperparameter_warnings(
            metadata.training_model_config, metadata.dataset_config, metadata.text_analysis
        )
    )


def _check_dataset_present(metadata: TrainingMetadata) -> None:
    """Raise DatasetMissingError when the recorded dataset file is gone."""
    recorded = metadata.dataset_config.primary_file
    if recorded and not expand_user(recorded).is_file():
        raise DatasetMissingError(metadata.session_id, recorded)


def default_engine(
    workspace: str | os.PathLike[str] | None = None, *, poll: bool = False
) -> Engine:
    """The engine of a workspace (``--workspace``, ``$LLMTOOL_WORKSPACE`` or the current dir)."""
    return Engine(Workspace.resolve(workspace), poll=poll)
