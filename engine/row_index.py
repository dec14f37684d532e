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

INDEX_VERSION = 2
#: 10,000 sessions take about 3 MB; far beyond that it is no index of ours.
MAX_INDEX_BYTES = 64 * 1024 * 1024
_TEXT_FIELDS = ("session_id", "timestamp", "date", "mode", "dataset", "model", "recorded_status")
_COUNT_FIELDS = ("step", "max_steps", "current_model_index", "models_total")
#: An entry is a list, not an object: without a key per value, writing the index after a first
#: listing of 10,000 files takes 35 ms instead of 85 (and reading it is faster too).
#: ``[name, mtime_ns, size, inode, ctime_ns, error, *_TEXT_FIELDS, best_f1, *_COUNT_FIELDS,
#: launching]``.
_ENTRY_LENGTH = 5 + 1 + len(_TEXT_FIELDS) + 1 + len(_COUNT_FIELDS) + 1


def index_path(workspace: Workspace) -> Path:
    """``logs/.cache/rows.json``."""
    return workspace.logs_dir / ".cache" / "rows.json"


def _entry(row: SessionRow) -> list[Any]:
    return [
        row.path.name,
        *row.stat,
        row.error,
        *[getattr(row, name) for name in _TEXT_FIELDS],
        row.best_f1,
        *[getattr(row, name) for name in _COUNT_FIELDS],
        row.launching,
    ]


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


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _row(directory: Path, entry: Any) -> SessionRow:
    if not (isinstance(entry, list) and len(entry) == _ENTRY_LENGTH):
        raise _NotOurs("entry")
    name, *stat = entry[:5]
    error = entry[5]
    texts = entry[6 : 6 + len(_TEXT_FIELDS)]
    best_f1, *counts, launching = entry[6 + len(_TEXT_FIELDS) :]
    if not (
        isinstance(name, str)
        and "/" not in name
        and not name.startswith(".")
        and name.endswith(".json")
    ):
        raise _NotOurs("name")
    if not all(_is_int(value) for value in stat):
        raise _NotOurs("stat")
    if not (error is None or isinstance(error, str)):
        raise _NotOurs("error")
    if not all(isinstance(value, str) for value in texts):
        raise _NotOurs("text")
    if best_f1 is not None and not (
        (isinstance(best_f1, float) or _is_int(best_f1)) and math.isfinite(best_f1)
    ):
        raise _NotOurs("best_f1")
    if not all(value is None or _is_int(value) for value in counts):
        raise _NotOurs("count")
    if not isinstance(launching, bool):
        raise _NotOurs("launching")
    fields = dict(zip(_TEXT_FIELDS, texts, strict=True))
    key: StatKey = (stat[0], stat[1], stat[2], stat[3])
    return SessionRow(
        directory / name,
        key,
        error=error,
        **fields,
        status=fields["recorded_status"] if error is None else UNREADABLE,
        best_f1=None if best_f1 is None else float(best_f1),
        **dict(zip(_COUNT_FIELDS, counts, strict=True)),
        launching=launching,
        validated=True,
    )


def load_index(workspace: Workspace) -> list[SessionRow]:
    """The rows of the index; none when there is none or it is not ours."""
    try:
        document = json.loads(read_regular(index_path(workspace), MAX_INDEX_BYTES))
        if not isinstance(document, dict) or document.get("version") != INDEX_VERSION:
            return []
        entries = document["rows"]
        if not isinstance(entries, list):
            return []
        return [_row(workspace.sessions_dir, entry) for entry in entries]
    except (OSError, ValueError, RecursionError, MemoryError, KeyError, _NotOurs):
        return []
