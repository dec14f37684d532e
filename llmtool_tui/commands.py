"""The command palette's session commands: the main actions, offered where they apply.

A screen's action is offered only when the screen has it and its ``check_action`` allows it, so
the palette offers exactly what the footer shows (plus the app-wide actions).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

#: (command, help, action). ``app.`` actions work everywhere; the others are the screen's.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("Resume/Relaunch Training", "Browse previous training sessions", "app.open_history"),
    (
        "New Training Session",
        "Start fresh with dataset selection and configuration",
        "app.new_session",
    ),
    ("Resume session", "Continue this incomplete session from its last checkpoint", "resume"),
    ("Relaunch session", "Start a new session with the same parameters", "relaunch"),
    (
        "Relaunch with edits",
        "Change dataset, model, epochs, batch size or learning rate, then relaunch",
        "relaunch_edited",
    ),
    ("Stop session", "Stop this running session (it can be resumed later)", "stop"),
    ("Live view", "Follow this session's progress, evaluations and log", "live"),
    ("Session details", "Show this session's parameters", "details"),
    ("Toggle all sessions", "List every session, or the 20 most recent", "toggle_all"),
    (
        "Search sessions",
        "Search all sessions by words and fields: status:failed model:camembert tag:paper",
        "filter",
    ),
    ("Compare marked sessions", "Parameters, F1 and F1 curves side by side", "compare"),
    ("F1 chart", "Best F1 of sessions over time, by dataset or model", "chart"),
    ("Edit notes", "Write notes on this session", "notes"),
    ("Edit tags", "Tag this session (search with tag:)", "tags"),
    (
        "Export template",
        "Write this session's configuration as a shareable file",
        "export_template",
    ),
    ("Import template", "Make a new session from a template or metadata file", "import_template"),
    (
        "Archive old sessions…",
        "Move old sessions to logs/archive/ after showing the plan (models are kept)",
        "cleanup",
    ),
    ("Keys", "Show the keys of this screen", "app.help"),
    ("Quit", "Leave the app (running sessions keep running)", "app.quit"),
)


class SessionCommands(Provider):
    """Session commands for the palette."""

    def _available(self) -> list[tuple[str, str, str]]:
        screen = self.screen
        available = []
        for name, help_text, action in COMMANDS:
            if action.startswith("app.") or (
                hasattr(screen, f"action_{action}") and screen.check_action(action, ()) is True
            ):
                available.append((name, help_text, action))
        return available

    def _command(self, action: str) -> Callable[[], Awaitable[bool]]:
        return partial(self.app.run_action, action, self.screen)

    async def discover(self) -> Hits:
        for name, help_text, action in self._available():
            yield DiscoveryHit(name, self._command(action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, action in self._available():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), self._command(action), help=help_text)
