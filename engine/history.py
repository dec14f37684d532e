"""The history as shown: a window of session rows, numbered, with their live status.

The window is the ``limit`` newest session files (all of them when ``limit`` is None), newest
first by modification time, or the first matches of a search. The stat values of every session
file are kept with it, so that a batch of changes from the watcher can be applied by key (see
``Engine.updated``): a new or changed row takes its place, a removed one leaves, and only a row
that enters the window from outside it is read. Nothing here reads files or looks at processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.rows import SessionRow, StatKey

if TYPE_CHECKING:
    from engine.filters import SessionFilter

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


def f1_label(best_f1: float | None) -> str:
    """The Best F1 column: ``0.891``, or ``-`` for a session without one."""
    return "-" if best_f1 is None else f"{best_f1:.3f}"


def best_f1_first(rows: list[SessionRow]) -> list[SessionRow]:
    """``rows`` by best F1, best first, those without one last; ties keep their order."""
    return sorted(rows, key=lambda row: (row.best_f1 is None, -(row.best_f1 or 0.0)))


def numbered(rows: list[SessionRow], first: int = 1) -> list[SessionRow]:
    """``rows`` (newest first) with history numbers: readable rows count from ``first``."""
    index = first
    result = []
    for row in rows:
        if row.readable:
            result.append(row.numbered(index))
            index += 1
        else:
            result.append(row.numbered(None))
    return result


@dataclass(frozen=True)
class History:
    """Session rows as the history shows them: readable and unreadable, newest first."""

    rows: list[SessionRow] = field(default_factory=list)
    limit: int | None = None
    """How many of the newest files the window holds; None for every file."""
    total_files: int = 0
    """Session files in the directory (listed or not)."""
    directory_exists: bool = True
    keys: dict[str, StatKey] = field(default_factory=dict, repr=False)
    """Stat values of every session file, by path: what the window is taken from, and what a
    watcher started from this history compares with."""
    search: SessionFilter | None = None
    """The search these rows match; None for the newest files."""

    @property
    def sessions(self) -> list[SessionRow]:
        """The readable rows."""
        return [row for row in self.rows if row.readable]

    @property
    def unreadable(self) -> list[SessionRow]:
        """The rows of files that cannot be read, with their reason."""
        return [row for row in self.rows if not row.readable]

    @property
    def validated(self) -> bool:
        """Whether every row was validated (the app's first frame shows rows before)."""
        return all(row.validated for row in self.rows)

    def to_json(self) -> dict[str, Any]:
        """The ``sessions --json`` document."""
        return {
            "sessions": [row.to_json() for row in self.sessions],
            "unreadable": [{"file": row.path.name, "error": row.error} for row in self.unreadable],
        }
