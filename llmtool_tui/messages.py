"""App-wide messages: what happened on a screen that the app, which routes between screens, acts on.

Screens never push each other: they post one of these and the app decides what comes next.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from engine.facade import LaunchedSession
    from llmtool_tui.dialogs.relaunch_edit import RelaunchEdits


@dataclass
class SessionChosen(Message):
    """A session was chosen in the history: show its details."""

    path: Path


@dataclass
class LiveViewRequested(Message):
    """The user asked for a session's live monitoring."""

    path: Path
    session_id: str


@dataclass
class ResumeRequested(Message):
    """The user asked to resume a session from its last checkpoint."""

    path: Path


@dataclass
class RelaunchRequested(Message):
    """The user asked for a new session with a session's parameters (edited or not)."""

    path: Path
    edits: RelaunchEdits | None = None


@dataclass
class StopRequested(Message):
    """The user asked to stop a running session (the app asks for confirmation)."""

    path: Path
    session_id: str


@dataclass
class SessionLaunched(Message):
    """A training worker was started: follow it in its live view."""

    launched: LaunchedSession


@dataclass
class CompareRequested(Message):
    """The user asked to compare the marked sessions (two or more)."""

    paths: list[Path]


@dataclass
class PerformanceChartRequested(Message):
    """The user asked for the chart of the best F1 of sessions over time."""
