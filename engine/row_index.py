"""The rows of every session file, kept between runs: a full listing reads only what changed.

``logs/.cache/rows.json`` holds, for each session file, its validated row (what the history
shows, or why the file is unreadable) with the file's stat values, ctime included. A listing of
every session (``sessions --all``, the app's ``a``, cleanup) takes a row from it only when the
file's stat values are unchanged, so a file edited, replaced or restored while no tool ran is
read again; everything else is a stat, not a read and a validation. It is a cache: losing it, or
finding it unreadable, only costs one slow listing, which writes it again.

The file is under ``logs/`` and, like every file there, untrusted: any entry that is not exactly
what this module writes makes the whole index ignored (and rewritten by the next full listing).
What it could claim about a session file, whoever can write it could write in that file itself.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from engine.files import atomic_write_bytes, read_regular
from engine.rows import UNREADABLE, SessionRow, StatKey
from engine.workspace import Workspace

INDEX_VERSION = 1
#: 10,000 sessions take about 3 MB; far beyond that it is no index of ours.
MAX_INDEX_BYTES = 64 * 1024 * 1024
_TEXT_FIELDS = ("error", "session_id", "timestamp", "date", "mode", "dataset", "model")
_COUNT_FIELDS = ("step", "max_steps", "current_model_index", "models_total")


def index_path(workspace: Workspace) -> Path:
    """``logs/.cache/rows.json``."""
    return workspace.logs_dir / ".cache" / "rows.json"


def _entry(row: SessionRow) -> dict[str, Any]:
    return {
        "name": row.path.name,
        "stat": list(row.stat),
        **{name: getattr(row, name) for name in _TEXT_FIELDS},
        "status": row.recorded_status,
        "best_f1": row.best_f1,
        **{name: getattr(row, name) for name in _COUNT_FIELDS},
        "launching": row.launching,
    }


def save_index(workspace: Workspace, rows: Iterable[SessionRow]) -> None:
    """Write the validated ``rows`` as the index, atomically; a failure is not an error."""
    entries = [_entry(row) for row in rows if row.validated]
    payload = json.dumps({"version": INDEX_VERSION, "rows": entries}, ensure_ascii=False)
    path = index_path(workspace)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, payload.encode("utf-8"))
    except OSError:
        return  # a read-only workspace lists as fast as before, no faster


class _NotOurs(Exception):
    """An entry that this module did not write."""


def _text(entry: dict[str, Any], name: str, *, optional: bool = False) -> Any:
    value = entry[name]
    if isinstance(value, str) or (optional and value is None):
        return value
    raise _NotOurs(name)


def _count(entry: dict[str, Any], name: str) -> int | None:
    value = entry[name]
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise _NotOurs(name)


def _row(directory: Path, entry: Any) -> SessionRow:
    if not isinstance(entry, dict):
        raise _NotOurs("entry")
    name = _text(entry, "name")
    if "/" in name or name.startswith(".") or not name.endswith(".json"):
        raise _NotOurs("name")
    stat = entry["stat"]
    if not (
        isinstance(stat, list)
        and len(stat) == 4
        and all(isinstance(value, int) and not isinstance(value, bool) for value in stat)
    ):
        raise _NotOurs("stat")
    best_f1 = entry["best_f1"]
    if best_f1 is not None and not (
        isinstance(best_f1, float | int)
        and not isinstance(best_f1, bool)
        and math.isfinite(best_f1)
    ):
        raise _NotOurs("best_f1")
    launching = entry["launching"]
    if not isinstance(launching, bool):
        raise _NotOurs("launching")
    status = _text(entry, "status")
    error = _text(entry, "error", optional=True)
    key: StatKey = (stat[0], stat[1], stat[2], stat[3])
    return SessionRow(
        directory / name,
        key,
        error=error,
        session_id=_text(entry, "session_id"),
        timestamp=_text(entry, "timestamp"),
        date=_text(entry, "date"),
        mode=_text(entry, "mode"),
        dataset=_text(entry, "dataset"),
        model=_text(entry, "model"),
        recorded_status=status,
        status=status if error is None else UNREADABLE,
        best_f1=None if best_f1 is None else float(best_f1),
        step=_count(entry, "step"),
        max_steps=_count(entry, "max_steps"),
        current_model_index=_count(entry, "current_model_index"),
        models_total=_count(entry, "models_total"),
        launching=launching,
        validated=True,
    )


def load_index(workspace: Workspace) -> dict[Path, SessionRow]:
    """The rows of the index by path; empty when there is none or it is not ours."""
    try:
        document = json.loads(read_regular(index_path(workspace), MAX_INDEX_BYTES))
        if not isinstance(document, dict) or document.get("version") != INDEX_VERSION:
            return {}
        entries = document["rows"]
        if not isinstance(entries, list):
            return {}
        rows = [_row(workspace.sessions_dir, entry) for entry in entries]
    except (OSError, ValueError, RecursionError, MemoryError, KeyError, _NotOurs):
        return {}
    return {row.path: row for row in rows}
