"""Archive old sessions: their files and run folders move to ``logs/archive/``; models never move.

Cleanup is two steps so that the TUI can show the plan and ask before acting: ``plan_cleanup``
decides (reading only), ``apply_cleanup`` moves. A session is old when its file was last modified
before the cut-off. Running sessions (live status, so a dead worker's ``running`` is not one) and
stale remote ones are never archived. Trained models (``models/<id>/``) stay where they are and are
listed as kept, so that nothing the user may want disappears silently. Archiving moves, never
deletes: ``logs/archive/training_sessions/`` and ``logs/archive/training_runs/``. The only files
deleted are the store's own temporary files left by killed writers, once they are an hour old.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from filelock import Timeout

from engine.errors import BadInputError
from engine.files import TEMP_SUFFIX
from engine.history import History
from engine.store import SessionStore
from engine.vocabulary import ACTIVE_STATUSES
from engine.workspace import Workspace

#: A writer renames its temporary file within milliseconds: one an hour old belongs to a writer
#: that was killed, and nothing will ever rename it.
STALE_TEMP_AGE = timedelta(hours=1)
ARCHIVABLE_STATUSES = ("pending", "completed", "failed", "interrupted")
DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DURATION = re.compile(r"(\d+)\s*([smhdw])")


def parse_duration(text: str) -> timedelta:
    """``90d``, ``12h``, ``2w``, ``30m``, ``45s`` as a timedelta.

    Raises:
        BadInputError: not a number followed by one of the units.
    """
    found = _DURATION.fullmatch(text.strip().lower())
    if found is None:
        raise BadInputError(
            f"bad duration {text!r}: write a number and a unit, e.g. 90d, 12h or 2w"
            f" (units: {', '.join(f'{u}={n}' for u, n in DURATION_UNITS.items())})"
        )
    amount, unit = found.groups()
    return timedelta(**{DURATION_UNITS[unit]: int(amount)})


@dataclass(frozen=True)
class ArchiveItem:
    """A session file to archive, with its run folder and (kept) models folder."""

    session_file: Path
    mtime_ns: int
    """The file's modification time when planned: a file changed since is left alone."""
    session_id: str | None
    """None for an unreadable file."""
    status: str | None
    """The live status; None for an unreadable file."""
    run_dir: Path | None
    """The run folder, when it exists; it moves with the session."""
    models_dir: Path | None
    """The trained models' folder, when it exists; it is kept where it is."""
    error: str | None = None
    """Why the file cannot be read, for an unreadable file."""


@dataclass(frozen=True)
class LeftSession:
    """A session that cleanup leaves in place, and why."""

    session_file: Path
    session_id: str | None
    reason: str

    def to_json(self, relative: Callable[[Path], str]) -> dict[str, Any]:
        """The JSON form, paths shown by ``relative``."""
        return {
            "file": relative(self.session_file),
            "session_id": self.session_id,
            "reason": self.reason,
        }


@dataclass
class CleanupPlan:
    """What ``apply_cleanup`` would do; building it changes nothing."""

    workspace: Workspace
    store: SessionStore
    older_than: timedelta
    status: str | None
    now: datetime
    include_unreadable: bool
    to_archive: list[ArchiveItem] = field(default_factory=list)
    protected: list[LeftSession] = field(default_factory=list)
    """Old sessions left because they are running (or may be, on another host)."""
    unreadable_left: list[LeftSession] = field(default_factory=list)
    """Old unreadable files left because ``include_unreadable`` is off."""
    stale_temp_files: list[Path] = field(default_factory=list)

    @property
    def kept_models(self) -> list[Path]:
        """Models folders of archived sessions: never moved."""
        return [item.models_dir for item in self.to_archive if item.models_dir is not None]

    def relative(self, path: Path) -> str:
        """A path as shown: relative to the workspace when inside it."""
        with contextlib.suppress(ValueError):
            return str(path.relative_to(self.workspace.root))
        return str(path)

    def to_json(self) -> dict[str, Any]:
        """The ``cleanup --dry-run --json`` document."""
        return {
            "workspace": str(self.workspace.root),
            "older_than_s": self.older_than.total_seconds(),
            "status": self.status,
            "archive": [self._item_json(item) for item in self.to_archive],
            "kept_models": [self.relative(path) for path in self.kept_models],
            "protected": [left.to_json(self.relative) for left in self.protected],
            "unreadable_left": [left.to_json(self.relative) for left in self.unreadable_left],
            "stale_temp_files": len(self.stale_temp_files),
        }

    def _item_json(self, item: ArchiveItem) -> dict[str, Any]:
        return {
            "file": self.relative(item.session_file),
            "session_id": item.session_id,
            "status": item.status,
            "modified": datetime.fromtimestamp(item.mtime_ns / 1e9).isoformat(timespec="seconds"),
            "run_dir": self.relative(item.run_dir) if item.run_dir else None,
            "models_dir": self.relative(item.models_dir) if item.models_dir else None,
            "error": item.error,
        }


@dataclass(frozen=True)
class ArchivedSession:
    """A session that was moved: where its file and run folder went."""

    item: ArchiveItem
    session_file: Path
    run_dir: Path | None


@dataclass
class CleanupResult:
    """What ``apply_cleanup`` did."""

    plan: CleanupPlan
    archived: list[ArchivedSession] = field(default_factory=list)
    skipped: list[LeftSession] = field(default_factory=list)
    """Planned sessions left because they changed or vanished since the plan."""
    errors: list[str] = field(default_factory=list)
    temp_files_removed: int = 0

    @property
    def kept_models(self) -> list[Path]:
        """Models folders of the archived sessions, left in place."""
        return [a.item.models_dir for a in self.archived if a.item.models_dir is not None]

    def to_json(self) -> dict[str, Any]:
        """The ``cleanup --json`` document."""
        relative = self.plan.relative
        return {
            "workspace": str(self.plan.workspace.root),
            "archived": [
                {
                    "session_id": a.item.session_id,
                    "status": a.item.status,
                    "file": relative(a.item.session_file),
                    "archived_to": relative(a.session_file),
                    "run_dir_archived_to": relative(a.run_dir) if a.run_dir else None,
                }
                for a in self.archived
            ],
            "kept_models": [relative(path) for path in self.kept_models],
            "skipped": [left.to_json(relative) for left in self.skipped],
            "protected": [left.to_json(relative) for left in self.plan.protected],
            "unreadable_left": [left.to_json(relative) for left in self.plan.unreadable_left],
            "temp_files_removed": self.temp_files_removed,
            "errors": self.errors,
        }


def _existing_dir(path: Path) -> Path | None:
    return path if path.is_dir() else None


def _stale_temp_files(directory: Path, cutoff: float) -> list[Path]:
    found: list[Path] = []
    with contextlib.suppress(FileNotFoundError), os.scandir(directory) as entries:
        for entry in entries:
            if not (entry.name.startswith(".") and entry.name.endswith(TEMP_SUFFIX)):
                continue
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                    found.append(Path(entry.path))
    return found


def plan_cleanup(
    store: SessionStore,
    history: History,
    older_than: timedelta,
    status: str | None = None,
    now: datetime | None = None,
    *,
    include_unreadable: bool = False,
) -> CleanupPlan:
    """Decide which sessions to archive; nothing is moved.

    Args:
        store: the workspace's store.
        history: every session, with live statuses (``Engine.history(limit=None)``: it also
            writes ``interrupted`` into sessions whose local worker died, whose age is
            therefore taken again here).
        older_than: sessions whose file was last modified longer ago than this are archived.
        status: archive only sessions with this live status.
        now: the clock.
        include_unreadable: archive old files that cannot be read too (they have no status).

    Raises:
        BadInputError: ``status`` is running, stale or not a status.
    """
    if status is not None and status not in ARCHIVABLE_STATUSES:
        raise BadInputError(
            f"cannot clean up sessions with status {status!r}: running sessions are never"
            f" archived; choose one of {', '.join(ARCHIVABLE_STATUSES)}"
        )
    workspace = store.workspace
    now = now or datetime.now()
    cutoff = (now - older_than).timestamp()
    plan = CleanupPlan(workspace, store, older_than, status, now, include_unreadable)
    for summary in history.sessions:
        path = summary.path
        if summary.mtime >= cutoff:
            continue
        try:
            mtime_ns = path.stat().st_mtime_ns
        except FileNotFoundError:
            continue
        if mtime_ns / 1e9 >= cutoff:
            continue
        if summary.status in ACTIVE_STATUSES:
            if status is None:
                plan.protected.append(
                    LeftSession(path, summary.session_id, f"{summary.status}: never archived")
                )
            continue
        if status is not None and summary.status != status:
            continue
        plan.to_archive.append(
            ArchiveItem(
                path,
                mtime_ns,
                summary.session_id,
                summary.status,
                _existing_dir(workspace.run_dir(summary.session_id)),
                _existing_dir(workspace.session_models_dir(summary.session_id)),
            )
        )
    for unreadable in history.unreadable:
        if unreadable.mtime >= cutoff:
            continue
        if not include_unreadable:
            plan.unreadable_left.append(
                LeftSession(
                    unreadable.path,
                    None,
                    f"unreadable ({unreadable.error}); --include-unreadable archives it",
                )
            )
            continue
        with contextlib.suppress(FileNotFoundError):
            # Without a readable session id the run folder cannot be told: only the file moves.
            plan.to_archive.append(
                ArchiveItem(
                    unreadable.path,
                    unreadable.path.stat().st_mtime_ns,
                    None,
                    None,
                    None,
                    None,
                    unreadable.error,
                )
            )
    plan.stale_temp_files = _stale_temp_files(store.directory, (now - STALE_TEMP_AGE).timestamp())
    return plan


def _free_destination(directory: Path, name: str) -> Path:
    """``directory/name``, or ``name_2``, ``name_3``... when an earlier archive took it."""
    candidate = directory / name
    stem, suffix = (candidate.stem, candidate.suffix) if candidate.suffix == ".json" else (name, "")
    attempt = 1
    while candidate.exists() or candidate.is_symlink():
        attempt += 1
        candidate = directory / f"{stem}_{attempt}{suffix}"
    return candidate


def _move(source: Path, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    destination = _free_destination(directory, source.name)
    # shutil.move renames, and copies then deletes when logs/archive is on another filesystem.
    shutil.move(source, destination)
    return destination


def _archive_one(plan: CleanupPlan, item: ArchiveItem, result: CleanupResult) -> None:
    archive = plan.workspace.archive_dir
    path = item.session_file
    try:
        # Under the file's lock no update is half done; a file whose modification time changed
        # since the plan was written meanwhile (a resume, a note, a reconciled status), so the
        # plan's reading of it is out of date and it is left for the next cleanup. An unchanged
        # file still has the status it was planned with, so running sessions stay out.
        with plan.store.lock(path):
            try:
                current_ns = path.stat().st_mtime_ns
            except FileNotFoundError:
                result.skipped.append(LeftSession(path, item.session_id, "no longer exists"))
                return
            if current_ns != item.mtime_ns:
                result.skipped.append(LeftSession(path, item.session_id, "modified since the plan"))
                return
            archived_file = _move(path, archive / "training_sessions")
    except Timeout:
        result.errors.append(f"{path.name}: locked by another process; left in place")
        return
    except OSError as exc:
        result.errors.append(f"{path.name}: cannot move to the archive: {exc.strerror or exc}")
        return
    archived_run: Path | None = None
    if item.run_dir is not None and item.run_dir.is_dir():
        try:
            archived_run = _move(item.run_dir, archive / "training_runs")
        except OSError as exc:
            result.errors.append(
                f"{item.run_dir.name}: session archived but its run folder could not be moved:"
                f" {exc.strerror or exc}"
            )
    result.archived.append(ArchivedSession(item, archived_file, archived_run))


def apply_cleanup(plan: CleanupPlan) -> CleanupResult:
    """Carry out a plan: archive its sessions and run folders, delete stale temporary files.

    Sessions modified or removed since the plan are skipped; failures are collected in
    ``errors`` and never stop the others.
    """
    result = CleanupResult(plan)
    for item in plan.to_archive:
        _archive_one(plan, item, result)
    cutoff = (plan.now - STALE_TEMP_AGE).timestamp()
    for temp in plan.stale_temp_files:
        with contextlib.suppress(FileNotFoundError):
            if temp.stat().st_mtime < cutoff:
                temp.unlink()
                result.temp_files_removed += 1
    return result
