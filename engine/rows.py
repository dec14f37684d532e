"""One session file as one row, from its bytes and its stat: the history's only shape of a session.

A row is made once per version of a file (its ``(mtime_ns, size, inode)``), by the store's cache,
and used as it is by the watcher, the facade, the ``sessions`` command and the app's table. The
facade fills in what depends on more than the file: the history number and the live status.

The shown fields (date, mode, dataset, model, status, progress) are read from the parsed JSON
with plain type checks, without pydantic: the app can show the 20 newest rows of 10,000 files in
its first frame, before pydantic is even imported. A row is then *validated* (the whole document,
by the pydantic models of engine.schema, in engine.store): that gives it its ``metadata``, or
makes it unreadable with the precise reason. Listings for commands are validated at once; the app
validates after its first frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.schema import TrainingMetadata

StatKey = tuple[int, int, int, int]
"""(mtime_ns, size, inode, ctime_ns): a file whose key is unchanged is not read again. The ctime
cannot be set back (``utime`` sets only the mtime), so a rewrite is seen even when the mtime
and size were restored."""

UTF8_BOM = b"\xef\xbb\xbf"
UNREADABLE = "unreadable"
"""The status shown for a file that cannot be read."""
#: Recorded statuses whose worker may be alive: their shown status needs a look at the process.
_MAY_RUN = "running"


def dataset_label(primary_file: str | None) -> str:
    """The dataset column: the file name of the dataset."""
    if not primary_file:
        return "-"
    # Either separator: a collaborator's Windows path should still show its file name. (String
    # operations, not PurePath: a listing makes one label per file.)
    return primary_file.replace("\\", "/").rstrip("/").rpartition("/")[2] or primary_file


def model_label(mode: str, models: list[str]) -> str:
    """The model of a row: the model as recorded, or ``(multiple)`` for several or distributed.

    The table shows it by ``short_model_name``; ``sessions --json`` gives it as it is.
    """
    if mode == "distributed" or len(models) > 1:
        return "(multiple)"
    return models[0] if models else "-"


#: What a local path starts with (a hub id never does): root, home, here, up, a UNC share.
_PATH_PREFIXES = ("/", "\\", "~", "./", "../", ".\\", "..\\")
#: A last part that names no directory by itself: the whole path is shown instead.
_NAMELESS_PARTS = frozenset({"", ".", "..", "~"})


def is_local_model_path(model: str) -> bool:
    """Whether ``model`` is a local directory's path rather than a hub id, by its text alone.

    A path is absolute, or starts with ``~``, ``./``, ``../`` or a drive (``C:\\``), or has a
    backslash, or has two slashes or more (``models/bert/demo-bert``). A hub id has at most one
    slash (``camembert-base``, ``FacebookAI/xlm-roberta-base``), so a relative ``models/demo-bert``
    reads as one too: telling them apart would take a look at the disk, which a listing of 10,000
    rows cannot afford. Trailing separators are not counted.
    """
    if model.startswith(_PATH_PREFIXES) or (_is_drive(model[:2]) and model[2:3] in ("/", "\\")):
        return True
    stripped = model.rstrip("/\\")
    return "\\" in stripped or stripped.count("/") >= 2


def short_model_name(model: str) -> str:
    """The name a model is shown by: a local directory's name, anything else as recorded.

    ``/srv/models/demo-bert/``, ``~/demo-bert``, ``./demo-bert`` and ``C:\\models\\demo-bert``
    all give ``demo-bert``; ``camembert-base``, ``FacebookAI/xlm-roberta-base``, ``(multiple)``
    and ``-`` are returned as they are. A path whose last part names nothing (``/``, ``../..``,
    ``C:\\``) is returned whole. Never raises: the value comes from a file anyone may write, and
    it is escaped where it is shown, not here.
    """
    if not is_local_model_path(model):
        return model
    # String operations, not PurePath: a listing makes one name per row, and either separator
    # may come from a collaborator's machine.
    name = model.replace("\\", "/").rstrip("/").rpartition("/")[2]
    return model if name in _NAMELESS_PARTS or _is_drive(name) else name


def model_without_organisation(model: str) -> str:
    """A model's shown name (``short_model_name``) without a hub organisation, for a column too
    narrow for the whole id: ``FacebookAI/xlm-roberta-base`` gives ``xlm-roberta-base``, where
    the id cut to fit would keep the organisation and lose the model."""
    name = short_model_name(model)
    if is_local_model_path(name):
        return name
    return name.partition("/")[2] or name


def _is_drive(text: str) -> bool:
    """Whether ``text`` is a Windows drive (``C:``)."""
    return len(text) == 2 and text[1] == ":" and text[0].isascii() and text[0].isalpha()


def session_date(timestamp: str, fallback_mtime: float) -> str:
    """Creation date as ``YYYY-MM-DD HH:MM`` from the session timestamp (else the file's mtime).

    ``YYYYMMDD_HHMMSS`` (this tool's) and ISO ``YYYY-MM-DDTHH:MM`` (other tools') are read by
    slicing: strptime costs more than the rest of a row together.
    """
    stamp = timestamp
    if len(stamp) >= 13 and stamp[8] == "_" and stamp[:8].isdigit() and stamp[9:13].isdigit():
        shown = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]} {stamp[9:11]}:{stamp[11:13]}"
    elif len(stamp) >= 16 and stamp[4] == stamp[7] == "-" and stamp[10] in "T ":
        shown = f"{stamp[:10]} {stamp[11:16]}"
    else:
        shown = ""
    if shown and _is_date(shown):
        return shown
    return datetime.fromtimestamp(fallback_mtime).strftime("%Y-%m-%d %H:%M")


def _is_date(shown: str) -> bool:
    digits = shown.replace("-", "").replace(" ", "").replace(":", "")
    if not (digits.isascii() and digits.isdigit()):
        return False
    month, day = int(shown[5:7]), int(shown[8:10])
    hour, minute = int(shown[11:13]), int(shown[14:16])
    return 1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60


def _section(document: dict[str, Any], name: str) -> dict[str, Any]:
    value = document.get(name)
    return value if isinstance(value, dict) else {}


def _text(section: dict[str, Any], name: str, default: str = "") -> str:
    value = section.get(name)
    return value if isinstance(value, str) else default


def _count(section: dict[str, Any], name: str) -> int | None:
    value = section.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _score(section: dict[str, Any], name: str) -> float | None:
    value = section.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _models(config: dict[str, Any]) -> list[str]:
    listed = config.get("selected_models")
    if isinstance(listed, list) and listed:
        return [model for model in listed if isinstance(model, str)]
    single = config.get("selected_model")
    return [single] if isinstance(single, str) and single else []


@dataclass(frozen=True, slots=True)
class SessionRow:
    """One session file of the history: what a row shows, and why it is unreadable if it is."""

    path: Path
    stat: StatKey
    """The file's stat values when this row was made from it."""
    error: str | None = None
    """Why the file cannot be read or validated; None for a session."""
    session_id: str = ""
    timestamp: str = ""
    date: str = ""
    """``YYYY-MM-DD HH:MM``: the session's creation, else the file's modification."""
    mode: str = "-"
    dataset: str = "-"
    model: str = "-"
    recorded_status: str = ""
    """The status the file records."""
    status: str = ""
    """The status to show: the recorded one, or the live one once the process was looked at
    (``interrupted`` for a local run whose worker is gone, ``starting``, ``stale``)."""
    status_reason: str | None = None
    """Why the shown status differs from the recorded one."""
    best_f1: float | None = None
    step: int | None = None
    """Progress of a running session: steps done of ``max_steps`` for the current model."""
    max_steps: int | None = None
    current_model_index: int | None = None
    """1-based position of the model being trained among ``models_total``."""
    models_total: int | None = None
    launching: bool = False
    """The file holds a launch record: a worker was started and has not yet reported."""
    index: int | None = None
    """The history number (``llmtool-tui show N``) of a readable row in a listing."""
    validated: bool = False
    """Whether the whole document was checked: the row is then readable, or unreadable with the
    validation's reason."""
    metadata: TrainingMetadata | None = field(default=None, compare=False, repr=False)
    """The validated document when it was asked for (a search, a liveness check); None
    otherwise, and for an unreadable row."""

    @property
    def readable(self) -> bool:
        return self.error is None

    @property
    def key(self) -> str:
        """The row's identity in a listing or a table: its file's path (unique, unlike ids)."""
        return str(self.path)

    @property
    def mtime(self) -> float:
        """Modification time in seconds since the epoch."""
        return self.stat[0] / 1e9

    @property
    def needs_liveness(self) -> bool:
        """Whether the shown status depends on a process (running, or launched)."""
        return self.readable and (self.recorded_status == _MAY_RUN or self.launching)

    def with_status(self, status: str, reason: str | None) -> SessionRow:
        """The same row showing ``status`` (a live status) for ``reason``."""
        return replace(self, status=status, status_reason=reason)

    @property
    def model_name(self) -> str:
        """The model as the history shows it: a local directory by its name (``demo-bert``)."""
        return short_model_name(self.model)

    def numbered(self, index: int | None) -> SessionRow:
        """The same row with its history number."""
        if self.index == index:
            return self
        # Copied slot by slot: dataclasses.replace inspects the fields at every call, which
        # took twice as long, and a full listing numbers 10,000 rows.
        row = object.__new__(SessionRow)
        for name in _SLOTS:
            object.__setattr__(row, name, getattr(self, name))
        object.__setattr__(row, "index", index)
        return row

    def to_json(self) -> dict[str, Any]:
        """The ``sessions --json`` form of a readable row."""
        return {
            "index": self.index,
            "session_id": self.session_id,
            "file": self.path.name,
            "date": self.date,
            "mode": self.mode,
            "dataset": self.dataset,
            # The model as recorded, a local directory's whole path included, not the short name
            # the tables show: a script may hand it to `train --model` or to from_pretrained, and
            # two directories of one name stay apart. (Its name is a basename away.)
            "model": self.model,
            "status": self.status,
            "best_f1": self.best_f1,
        }


_SLOTS: tuple[str, ...] = SessionRow.__slots__


def unreadable_row(path: Path, stat: StatKey, reason: str, *, validated: bool = True) -> SessionRow:
    """The row of a file that cannot be read: its name stands where the dataset would."""
    return SessionRow(
        path,
        stat,
        error=reason,
        date=datetime.fromtimestamp(stat[0] / 1e9).strftime("%Y-%m-%d %H:%M"),
        dataset=path.name,
        status=UNREADABLE,
        validated=validated,
    )


def row_from_document(path: Path, stat: StatKey, document: dict[str, Any]) -> SessionRow:
    """The row of a parsed document that was not validated: its shown fields, type-checked."""
    session = _section(document, "training_session")
    config = _section(document, "model_config")
    execution = _section(document, "execution_status")
    timestamp = _text(session, "timestamp")
    return _session_row(
        path,
        stat,
        session_id=_text(session, "session_id") or f"train_{timestamp}",
        timestamp=timestamp,
        mode=_text(config, "training_mode", "quick"),
        primary_file=_text(_section(document, "dataset_config"), "primary_file"),
        models=_models(config),
        status=_text(execution, "status", "pending"),
        best_f1=_score(execution, "best_f1"),
        step=_count(execution, "step"),
        max_steps=_count(execution, "max_steps"),
        current_model_index=_count(execution, "current_model_index"),
        models_total=_count(execution, "models_total"),
        launching=isinstance(execution.get("launch"), dict),
    )


def row_from_metadata(
    path: Path, stat: StatKey, metadata: TrainingMetadata, *, keep_metadata: bool
) -> SessionRow:
    """The row of a validated document (its fields need no checks); it carries the document
    with ``keep_metadata``. (Taken from the models rather than from a second parse of the
    bytes: that parse cost a fifth of a full listing.)"""
    session = metadata.training_session
    config = metadata.training_model_config
    execution = metadata.execution_status
    return _session_row(
        path,
        stat,
        session_id=session.session_id,
        timestamp=session.timestamp,
        mode=config.training_mode,
        primary_file=metadata.dataset_config.primary_file,
        models=config.models(),
        status=execution.status,
        best_f1=execution.best_f1,
        step=execution.step,
        max_steps=execution.max_steps,
        current_model_index=execution.current_model_index,
        models_total=execution.models_total,
        launching=execution.launch is not None,
        validated=True,
        metadata=metadata if keep_metadata else None,
    )


def _session_row(
    path: Path,
    stat: StatKey,
    *,
    session_id: str,
    timestamp: str,
    mode: str,
    primary_file: str | None,
    models: list[str],
    status: str,
    best_f1: float | None,
    step: int | None,
    max_steps: int | None,
    current_model_index: int | None,
    models_total: int | None,
    launching: bool,
    validated: bool = False,
    metadata: TrainingMetadata | None = None,
) -> SessionRow:
    return SessionRow(
        path,
        stat,
        session_id=session_id,
        timestamp=timestamp,
        date=session_date(timestamp, stat[0] / 1e9),
        mode=mode,
        dataset=dataset_label(primary_file),
        model=model_label(mode, models),
        recorded_status=status,
        status=status,
        best_f1=best_f1,
        step=step,
        max_steps=max_steps,
        current_model_index=current_model_index,
        models_total=models_total,
        launching=launching,
        validated=validated,
        metadata=metadata,
    )
